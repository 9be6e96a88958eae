/**
 * COST ("Scalability! But at what COST?"): kindling on local[2] against a well-written single-thread program,
 * measured the way a user meets it: every run a fresh `node` process running the script from start to printed
 * result (process and context start-up included), several interleaved rounds, medians; peak RSS of each whole
 * process (driver and worker threads share it). Every run's result is checked against the plain program's.
 *
 *   npx kindling bench cost [--rounds 3] [--small] [--only wordcount,pagerank,lr,kmeans]
 *
 * Targets (issue 8): word count <= 0.7x the plain split-based loop (bench/baselines/wordcount.ts; <= 1.0x a
 * character-scanning loop, not in this table yet); PageRank end to end <= 6x a CSR loop, peak RSS <= 300 MB;
 * logistic regression <= 1.0x; k-means <= 1.0x; every other peak RSS <= 3x the plain program's.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { machine } from './harness.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROUNDS = Number(flag('--rounds') ?? 3);
const small = args.includes('--small');
const WORKLOADS = (flag('--only') ?? 'wordcount,pagerank,lr,kmeans').split(',');
const TARGETS: Record<string, { ratio: number; rssMb?: number }> = {
  wordcount: { ratio: 0.7 },
  pagerank: { ratio: 6.0, rssMb: 300 },
  lr: { ratio: 1.0 },
  kmeans: { ratio: 1.0 },
};
const runner = fileURLToPath(new URL('./cost-run.ts', import.meta.url));

interface Run {
  readonly ms: number;
  readonly rssMb: number;
  readonly result: unknown;
}

/** One fresh process: wall time from spawn to exit, its result line and its peak RSS. */
function runOnce(side: 'kindling' | 'plain', workload: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', runner, side, workload, ...(small ? ['--small'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - started;
      const result = /^RESULT (.*)$/m.exec(out)?.[1];
      const rss = /^MAXRSS (\d+)$/m.exec(out)?.[1];
      if (code !== 0 || result === undefined || rss === undefined)
        return reject(new Error(`${side} ${workload} exited with ${code}: ${out.slice(-500)}`));
      resolve({ ms, rssMb: Number(rss) / 1024, result: JSON.parse(result) });
    });
  });
}

/** Same shape, strings equal, numbers within a relative 1e-6 (floating-point sums in another order). */
function agree(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => agree(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.join() === kb.join() && ka.every((k) => agree((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// Data sets are written once, before anything is timed (one plain run per workload, untimed).
for (const w of WORKLOADS) await runOnce('plain', w);

const runs = new Map<string, { kindling: Run[]; plain: Run[] }>(WORKLOADS.map((w) => [w, { kindling: [], plain: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const w of WORKLOADS) {
    // Alternate which side goes first, so neither always meets a warmer file cache.
    const order: Array<'kindling' | 'plain'> = round % 2 === 0 ? ['plain', 'kindling'] : ['kindling', 'plain'];
    for (const side of order) runs.get(w)![side].push(await runOnce(side, w));
  }
  console.error(`round ${round + 1}/${ROUNDS} done`);
}

const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(`COST, cold (a fresh process per run), ${ROUNDS} interleaved rounds, medians; ${small ? 'small data; ' : ''}${machine()}; load ${load}`);
console.log('');
console.log('| workload | kindling local[2] | plain, 1 thread | ratio | target | peak RSS kindling / plain | results agree |');
console.log('|---|---|---|---|---|---|---|');
const rows: unknown[] = [];
for (const w of WORKLOADS) {
  const { kindling, plain } = runs.get(w)!;
  const k = median(kindling.map((r) => r.ms));
  const p = median(plain.map((r) => r.ms));
  const kr = Math.max(...kindling.map((r) => r.rssMb));
  const pr = Math.max(...plain.map((r) => r.rssMb));
  const ok = kindling.every((r) => agree(r.result, plain[0]!.result)) && plain.every((r) => agree(r.result, plain[0]!.result));
  const t = TARGETS[w]!;
  const ratio = k / p;
  const met = ratio <= t.ratio && (t.rssMb === undefined ? kr <= 3 * pr : kr <= t.rssMb);
  console.log(
    `| ${w} | ${(k / 1000).toFixed(2)} s | ${(p / 1000).toFixed(2)} s | **${ratio.toFixed(2)}x** | <= ${t.ratio}x${t.rssMb ? `, ${t.rssMb} MB` : ', RSS <= 3x'} ${met ? '(met)' : '(missed)'} | ${kr.toFixed(0)} / ${pr.toFixed(0)} MB | ${ok ? 'yes' : '**NO**'} |`,
  );
  rows.push({ workload: w, kindlingMs: k, plainMs: p, ratio, kindlingRssMb: kr, plainRssMb: pr, agree: ok });
}
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  JSON.stringify({ workload: 'cost', time: new Date().toISOString(), machine: machine(), load, rounds: ROUNDS, small, rows }) + '\n',
);
