/**
 * Chaos: random worker kills during a multi-stage job (word count, join, sortByKey), many runs; every run must
 * return exactly the fault-free result. The count of runs, kills and identical results is recorded.
 *
 *   npx tsx bench/chaos.ts [--runs 50]
 */
import { Context, capture, type RDD } from 'kindling';
import { SeededRandom } from 'kindling/datagen';
import { machine } from './harness.js';
import { appendFileSync, mkdirSync } from 'node:fs';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 50;
const LINES = Array.from({ length: 2000 }, (_, i) => `w${i % 53} w${(i * 7) % 31} x${i % 5} shared`);
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function job(sc: Context): RDD<[number, string]> {
  const words = sc
    .parallelize(LINES, 8)
    .flatMap(
      capture({ sleep }, (l: string) => {
        if (l.startsWith('w0 ')) sleep(2); // keep tasks alive long enough to be hit
        return l.split(' ');
      }),
    )
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b, 4);
  const lengths = words.map(([w]): [string, number] => [w, w.length]);
  return words
    .join(lengths)
    .map(([w, [c, len]]): [number, string] => [c * 100 + len, w])
    .sortByKey(false, 3);
}

const reference = new Context({ master: 'local', progress: false, hints: false });
const expected = JSON.stringify(await job(reference).collect());
await reference.stop();

const rng = new SeededRandom(2026);
let identical = 0;
let totalKills = 0;
const started = performance.now();
for (let run = 0; run < RUNS; run++) {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false });
  let kills = 0;
  const budget = 1 + rng.nextInt(3);
  sc.events.on('taskStart', (e) => {
    if (kills < budget && rng.nextFloat() < 0.08) {
      kills++;
      void sc.faults.killWorker(e.workerIndex);
    }
  });
  const got = JSON.stringify(await job(sc).collect());
  if (got === expected) identical++;
  else console.log(`run ${run}: DIFFERENT result after ${kills} kills`);
  totalKills += kills;
  await sc.stop();
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `chaos: ${RUNS} runs, ${totalKills} worker kills in total, ${identical}/${RUNS} results identical to the fault-free run (${seconds.toFixed(0)} s), ${machine()}`,
);
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  JSON.stringify({ workload: 'chaos', time: new Date().toISOString(), machine: machine(), runs: RUNS, kills: totalKills, identical, seconds }) + '\n',
);
if (identical !== RUNS) process.exit(1);
