// Two equal computations started at the same instant, round after round, either as two worker threads of one
// process (kindling's local[2]) or as two processes: is one of them slower by itself, and only in one process?
// (Session 14: PageRank's two map tasks differ by 6-8 ms on equal halves; this reproduces it without kindling.)
//
//   node bench/isolate-pair.mjs [--mode threads|processes] [--work alloc|spin] [--rounds 100] [--young 24]
//
// `alloc` is a PageRank map task in miniature (a [key, value] array per edge, summed into a Float64Array by key:
// young-generation garbage and scavenges); `spin` is integer arithmetic on registers only. Per round and side:
// wall time, GC pause time, on-CPU time and run-queue wait from /proc/thread-self/schedstat (read after a 1 ms sleep, since the
// kernel updates a running thread's sum only at ticks and switches). Only rounds where neither side waited in
// the run queue (< 0.5 ms) are judged, so other processes' load is left out rather than averaged in. Linux only.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

/** [on-CPU ns, run-queue wait ns] of the calling thread. */
const sched = () => readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
const nap = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);

function makeWork(kind) {
  const acc = new Float64Array(100_000);
  if (kind === 'spin')
    return () => {
      let x = 0;
      for (let i = 0; i < 6_000_000; i++) x = (x * 1664525 + i) | 0;
      acc[0] = x;
    };
  return () => {
    let pairs = [];
    for (let i = 0; i < 500_000; i++) {
      pairs.push([(i * 7919) % 100_000, 1 / (1 + (i & 15))]);
      if (pairs.length === 8) {
        for (const p of pairs) acc[p[0]] += p[1];
        pairs = [];
      }
    }
  };
}

/** GC pauses of this thread, taken after each round (Node makes their entries only after a synchronous run). */
const gcs = new PerformanceObserver(() => undefined);
gcs.observe({ entryTypes: ['gc'] });

/** One round: the work between two settled schedstat reads, and the GC pause time that began within it. */
async function measured(work) {
  gcs.takeRecords();
  nap();
  const s0 = sched();
  const t0 = performance.now();
  work();
  const wall = performance.now() - t0;
  nap();
  const s1 = sched();
  await new Promise((res) => setImmediate(res));
  const gc = gcs
    .takeRecords()
    .filter((e) => e.startTime >= t0 && e.startTime < t0 + wall)
    .reduce((ms, e) => ms + e.duration, 0);
  return { wall, cpu: (s1[0] - s0[0]) / 1e6, rq: (s1[1] - s0[1]) / 1e6, gc };
}

const role = process.env.ISOLATE_PAIR_CHILD;
if (role === 'process') {
  const work = makeWork(process.argv[2]);
  process.on('message', async (m) => (m === 'go' ? process.send(await measured(work)) : process.exit(0)));
  process.send('ready');
} else if (!isMainThread) {
  const work = makeWork(workerData.kind);
  parentPort.on('message', async () => parentPort.postMessage(await measured(work)));
  parentPort.postMessage('ready');
} else {
  const mode = arg('mode', 'threads');
  const kind = arg('work', 'alloc');
  const rounds = Number(arg('rounds', '100'));
  const young = Number(arg('young', '24'));
  // The same young generation either way: kindling's workers take 24 MiB (8 MiB semi-spaces).
  const sides =
    mode === 'threads'
      ? [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: { kind }, resourceLimits: { maxYoungGenerationSizeMb: young } }))
      : [0, 1].map(() =>
          fork(new URL(import.meta.url).pathname, [kind], {
            env: { ...process.env, ISOLATE_PAIR_CHILD: 'process' },
            execArgv: [`--max-semi-space-size=${young / 3}`],
          }),
        );
  const once = (side) => new Promise((res) => side.once('message', res));
  await Promise.all(sides.map(once));
  const results = [[], []];
  for (let r = 0; r < rounds; r++) {
    const got = sides.map(once);
    for (const s of sides) mode === 'threads' ? s.postMessage('go') : s.send('go');
    const [a, b] = await Promise.all(got);
    results[0].push(a);
    results[1].push(b);
    await new Promise((res) => setTimeout(res, 10));
  }
  for (const s of sides) mode === 'threads' ? s.terminate() : s.send('exit');
  const med = (xs) => (xs.length === 0 ? Number.NaN : [...xs].sort((x, y) => x - y)[xs.length >> 1]);
  const quiet = [];
  for (let r = 3; r < rounds; r++) if (results[0][r].rq < 0.5 && results[1][r].rq < 0.5) quiet.push(r);
  const f = (x) => x.toFixed(2);
  const diff = quiet.map((r) => Math.abs(results[0][r].wall - results[1][r].wall) / Math.min(results[0][r].wall, results[1][r].wall));
  const cpuRatio = quiet.map((r) => Math.max(results[0][r].cpu, results[1][r].cpu) / Math.min(results[0][r].cpu, results[1][r].cpu));
  const all = (side, k) => f(med(results[side].slice(3).map((x) => x[k])));
  console.log(
    `${mode} ${kind} young ${young} MiB, all rounds after 3, medians: side 0 wall ${all(0, 'wall')} on-CPU ${all(0, 'cpu')} run-queue ${all(0, 'rq')} GC ${all(0, 'gc')} ms; ` +
      `side 1 wall ${all(1, 'wall')} on-CPU ${all(1, 'cpu')} run-queue ${all(1, 'rq')} GC ${all(1, 'gc')} ms`,
  );
  console.log(
    `${mode} ${kind} young ${young} MiB: ${quiet.length} of ${rounds - 3} rounds quiet; wall median side 0 ${f(med(quiet.map((r) => results[0][r].wall)))} ms, ` +
      `side 1 ${f(med(quiet.map((r) => results[1][r].wall)))} ms; |difference| / faster median ${(100 * med(diff)).toFixed(1)} %; ` +
      `on-CPU slower / faster median ${f(med(cpuRatio))}x; GC ms of the slower / faster side median ${f(med(quiet.map((r) => (results[0][r].wall > results[1][r].wall ? results[0][r].gc : results[1][r].gc))))} / ${f(med(quiet.map((r) => (results[0][r].wall > results[1][r].wall ? results[1][r].gc : results[0][r].gc))))}`,
  );
}
