// The web UI's listeners measured inside a running program: a context with the UI off (CTX_DIST's build) whose task
// events feed, job after job in turn (A B B A ...), build A's and build B's status store and event log, each kept for
// the whole run; the time spent inside the listeners' calls and the log's flushes, µs per task, medians of paired jobs.
// The processor's caches are a program's (a replay of recorded events keeps the listeners' data hot and missed a cache
// miss per task, docs/benchmarks.md session 28). Per-call wall time, calls longer than 2 ms (the thread lost its core)
// left out and counted: /proc/thread-self/schedstat moves only at ticks in some VMs, too coarse for 20-100 µs calls.
//
//   node bench/ui-in-program.mjs dist DIST_A DIST_B [JOBS]     (e.g. dist .bench-old/dist dist 40: A is the baseline)
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
const [CTX, A, B, jobsS] = process.argv.slice(2).map((a, i) => (i < 3 ? path.resolve(a) : a));
const JOBS = Number(jobsS ?? 30),
  TASKS = 4000;
const { Context } = await import(pathToFileURL(path.join(CTX, 'entry.js')).href);
const sc = new Context({ master: 'local[2]', progress: false, ui: false });
const rdd = sc.parallelize([], TASKS);
const dir = mkdtempSync(path.join(os.tmpdir(), 'uifold-insitu-'));
// Wall time of each call (ns); a call longer than CUT (the thread lost its core meanwhile) is left out and counted.
const t = () => performance.now() * 1e6;
const CUT = 2e6;
let cut = 0;
const add = (acc, k, d) => {
  if (d > CUT) cut++;
  else acc[k] += d;
};
const load = async (d, name) => {
  const { StatusStore } = await import(pathToFileURL(path.join(d, 'ui/status-store.js')).href);
  const { EventLogWriter } = await import(pathToFileURL(path.join(d, 'ui/event-log.js')).href);
  const store = new StatusStore();
  const log = new EventLogWriter(dir, `app-${name}`, () => []);
  const acc = { store: 0, log: 0, flush: 0, calls: 0 };
  const flush = log.flush.bind(log);
  log.flush = () => {
    const t0 = t();
    flush();
    const d = t() - t0;
    add(acc, 'log', d);
    add(acc, 'flush', d);
    acc.calls++;
  };
  const listener = (e) => {
    const t0 = t();
    if (e.type === 'taskBatch') store.applyTasks(e.tasks);
    else store.apply(e);
    const t1 = t();
    add(acc, 'store', t1 - t0);
    if (e.type === 'taskBatch') log.writeTasks(e.tasks);
    else log.write(e);
    add(acc, 'log', t() - t1);
    acc.calls += 2;
  };
  return { acc, listener, log, store };
};
const builds = { A: await load(A, 'A'), B: await load(B, 'B') };
for (let i = 0; i < 5; i++) await rdd.count();
const per = { A: { store: [], log: [], flush: [] }, B: { store: [], log: [], flush: [] } };
for (let j = 0; j < 2 * JOBS + 4; j++) {
  const name = (j >> 1) % 2 === j % 2 ? 'A' : 'B'; // A B B A A B ...
  const b = builds[name];
  const a0 = { ...b.acc };
  const off = sc.events.onAny(b.listener, { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } });
  await rdd.count();
  // The log's timer flush of this job's last ends, inside the measure.
  await new Promise((r) => setTimeout(r, 130));
  off();
  if (j < 4) continue;
  per[name].store.push((b.acc.store - a0.store) / 1000 / TASKS);
  per[name].log.push((b.acc.log - a0.log) / 1000 / TASKS);
  per[name].flush.push((b.acc.flush - a0.flush) / 1000 / TASKS);
}
await builds.A.log.close();
await builds.B.log.close();
await sc.stop();
rmSync(dir, { recursive: true, force: true });
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const d = (w) => med(per.A[w].map((x, i) => x - per.B[w][i]));
console.log(
  JSON.stringify({
    cut,
    load: os.loadavg()[0].toFixed(1),
    A: { store: med(per.A.store).toFixed(3), log: med(per.A.log).toFixed(3), flush: med(per.A.flush).toFixed(3) },
    B: { store: med(per.B.store).toFixed(3), log: med(per.B.log).toFixed(3), flush: med(per.B.flush).toFixed(3) },
    pairedAminusB: {
      store: d('store').toFixed(3),
      log: d('log').toFixed(3),
      flush: d('flush').toFixed(3),
      both: med(per.A.store.map((x, i) => x + per.A.log[i] - per.B.store[i] - per.B.log[i])).toFixed(3),
    },
  }),
);
