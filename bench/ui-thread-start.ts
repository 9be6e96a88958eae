/**
 * What starting the live UI's thread costs: in fresh processes, the CPU time of all threads (process.cpuUsage) and
 * the wall from `new Worker` until the thread answers its first request (`version`), alternating: the UI thread's
 * bundle (what live-ui.ts starts), and an empty worker that only answers (Node's own start of a worker thread, the
 * floor no entry file can go under). Medians and the paired difference with a bootstrap 95 % interval. (Session 31
 * also tried the bundle compiled with V8's code cache, as the pool's workers start: no difference, see
 * docs/benchmarks.md.)
 *
 *   npx tsx bench/ui-thread-start.ts [--processes 20]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './harness.js';
import { formatPaired, median, pairedDifference } from './paired.js';

const i = process.argv.indexOf('--processes');
const processes = i > 0 ? Number(process.argv[i + 1]) : 20;
const dir = fileURLToPath(new URL('../dist/ui/', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-thread-start-'));
const empty = path.join(tmp, 'empty.cjs');
writeFileSync(
  empty,
  "const { parentPort } = require('node:worker_threads');\nparentPort.on('message', (m) => parentPort.postMessage({ k: 'version', id: m.id, version: 0 }));\n",
);
const entries = { bundle: `${dir}ui-thread-bundle.cjs`, empty };
const child = (file: string) => `
  const { Worker } = await import('node:worker_threads');
  const shared = (T, n) => new T(new SharedArrayBuffer(n * T.BYTES_PER_ELEMENT));
  const ring = { numbers: shared(Float64Array, 8), codes: shared(Uint8Array, 8), idOf: shared(Uint32Array, 8), tail: shared(Int32Array, 1) };
  const t0 = performance.now(), c0 = process.cpuUsage();
  const thread = new Worker(${JSON.stringify(file)}, { workerData: { appId: 'a', retainedJobs: 1000, retainedStages: 1000, ring, processFlags: process.execArgv.join('\\0') } });
  await new Promise((resolve) => { thread.once('message', resolve); thread.postMessage({ k: 'version', id: 0 }); });
  const wall = performance.now() - t0, c = process.cpuUsage(c0);
  await thread.terminate();
  console.log(JSON.stringify({ wall, cpu: (c.user + c.system) / 1000 }));
`;
const run = (file: string) =>
  JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child(file)], { encoding: 'utf8' }).trim()) as {
    wall: number;
    cpu: number;
  };
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`the UI's thread's start, ${processes} fresh processes each, alternating, ${machine()}, load average ${load()}`);
const got: Record<string, { wall: number; cpu: number }[]> = { bundle: [], empty: [] };
for (let p = 0; p < processes; p++) {
  const order = p % 2 === 0 ? (['bundle', 'empty'] as const) : (['empty', 'bundle'] as const);
  for (const k of order) got[k]!.push(run(entries[k]));
}
for (const [k, rows] of Object.entries(got)) {
  console.log(
    `  ${k.padEnd(10)} CPU ${median(rows.map((r) => r.cpu)).toFixed(1)} ms, wall to first answer ${median(rows.map((r) => r.wall)).toFixed(1)} ms`,
  );
}
rmSync(tmp, { recursive: true, force: true });
const [a, b] = [got.bundle!, got.empty!];
console.log(
  `  bundle vs empty worker: CPU ${formatPaired(
    pairedDifference(
      a.map((r) => r.cpu),
      b.map((r) => r.cpu),
    ),
  )}; wall ${formatPaired(
    pairedDifference(
      a.map((r) => r.wall),
      b.map((r) => r.wall),
    ),
  )} (load ${load()})`,
);
