/**
 * Faults with random timing: many short runs, each a fresh local[2] context with one fault plan (a death kind,
 * a moment, a random delay, one worker or two at once; see fault-harness.ts). Counts per kind and moment of
 * runs that gave the fault-free result, a clear error, or anything else, and of runs after which the next job
 * failed or the context was not whole again. Exit status 1 if any run was wrong.
 *
 *   npx tsx bench/faults.ts [--runs 1000] [--seed 7] [--max-delay 400] [--verbose]
 */
import { Context } from 'kindling';
import { SeededRandom } from 'kindling/datagen';
import { appendFileSync, mkdirSync } from 'node:fs';
import { machine, numberArg as arg } from './harness.js';
import { expectedSum, randomPlan, runWithFault, type RunResult } from './fault-harness.js';

const RUNS = arg('--runs', 1000);
const SEED = arg('--seed', 7);
const MAX_DELAY = arg('--max-delay', 400);
const N = 200_000;

const rng = new SeededRandom(SEED);
const random = () => rng.nextFloat();
const expected = expectedSum(N);
const results: RunResult[] = [];
const started = performance.now();
const VERBOSE = process.argv.includes('--verbose');
for (let run = 0; run < RUNS; run++) {
  const plan = randomPlan(random, MAX_DELAY);
  if (VERBOSE) console.log(`run ${run}: ${JSON.stringify(plan)}`);
  const r = await runWithFault({
    context: (localDir) =>
      new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 160 }, fetchTimeoutMs: 10_000, localDir }),
    plan,
    n: N,
    expected,
    random,
  });
  results.push(r);
  if (r.outcome === 'wrong' || !r.nextJobOk || r.whole !== true || r.clean !== true) {
    console.log(`run ${run} ${JSON.stringify(plan)}: ${r.outcome} ${r.detail} next=${r.nextJobOk} whole=${r.whole} clean=${r.clean}`);
  }
  if ((run + 1) % 50 === 0) console.log(`${run + 1} runs, ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

const rows = new Map<
  string,
  { runs: number; correct: number; error: number; wrong: number; nextFailed: number; notWhole: number; notClean: number }
>();
for (const r of results) {
  const key = `${r.plan.kind.padEnd(9)} ${r.plan.moment.padEnd(12)} x${r.plan.workers}`;
  const row = rows.get(key) ?? { runs: 0, correct: 0, error: 0, wrong: 0, nextFailed: 0, notWhole: 0, notClean: 0 };
  row.runs++;
  row[r.outcome]++;
  if (!r.nextJobOk) row.nextFailed++;
  if (r.whole !== true) row.notWhole++;
  if (r.clean !== true) row.notClean++;
  rows.set(key, row);
}
console.log(`\nfaults: ${RUNS} runs (seed ${SEED}, delays 0-${MAX_DELAY} ms), ${((performance.now() - started) / 1000).toFixed(0)} s, ${machine()}`);
console.log('| kind, moment, workers | runs | fault-free result | clear error | wrong | next job failed | not whole after | files left after stop |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [key, r] of [...rows].sort()) {
  console.log(
    `| ${key.replace(/\s+/g, ' ')} | ${r.runs} | ${r.correct} | ${r.error} | ${r.wrong} | ${r.nextFailed} | ${r.notWhole} | ${r.notClean} |`,
  );
}
const bad = results.filter((r) => r.outcome === 'wrong' || !r.nextJobOk || r.whole !== true || r.clean !== true).length;
console.log(
  `total: ${results.filter((r) => r.outcome === 'correct').length} fault-free results, ${results.filter((r) => r.outcome === 'error').length} clear errors, ${bad} bad runs`,
);
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  JSON.stringify({ workload: 'faults', time: new Date().toISOString(), machine: machine(), runs: RUNS, seed: SEED, rows: Object.fromEntries(rows) }) +
    '\n',
);
if (bad > 0) process.exit(1);
