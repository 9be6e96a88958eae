/**
 * The web UI's listeners inside a running program, per task on the driver's thread: a `local[2]` context with the UI
 * and an event log on runs jobs of 4,000 empty tasks, and the time spent in the status store's and the event log's
 * entry points is summed (`performance.now()` around each call: a few calls per turn, not per task), with each
 * stage's compaction (`TaskTable.compact`) timed and its minor page faults counted, split into the run's first 25
 * stages (fresh memory: nothing was cleared yet, retainedTasksTotal) and the later ones (columns from cleared stages).
 *
 * A replay of recorded events (bench/ui-overhead.ts) measures the listeners alone; here they share the driver's thread,
 * its caches and its memory with the scheduler and the workers, as in a program (fresh pages cost ~20 µs each on the
 * 2-core VM these figures came from, and the store's cost per task was ~2x its replay's).
 *
 * The UI is asked for once at start, as a user watching it would, so that the status store gets every event as it
 * comes (a program nobody looks at loads it only once 2,048 events are held, src/ui/index.ts).
 *
 * The UI's modules are loaded one by one (from a copy of dist/ without the live UI bundle, made inside this checkout
 * so that it finds node_modules and removed at the end), so that their classes can be wrapped. With `--baseline DIR`
 * (an earlier build's dist/), both builds run in alternating fresh processes.
 *
 *   npx tsx bench/ui-listeners.ts [--runs 3] [--jobs 50] [--baseline .bench-old/dist]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './harness.js';
import { median } from './paired.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 3);
const jobs = arg('--jobs', 50);
const root = fileURLToPath(new URL('..', import.meta.url));
const baselineAt = process.argv.indexOf('--baseline');
const sources: Record<string, string> = { 'this build': path.join(root, 'dist') };
if (baselineAt > 0) sources.baseline = path.resolve(process.argv[baselineAt + 1]!);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

// Unbundled copies: `.bench-listeners-*/dist` inside the checkout (node_modules resolves from there).
const copies: Record<string, string> = {};
for (const [name, dist] of Object.entries(sources)) {
  const dir = mkdtempSync(path.join(root, '.bench-listeners-'));
  cpSync(dist, path.join(dir, 'dist'), { recursive: true });
  rmSync(path.join(dir, 'dist/ui/live-ui-bundle.js'), { force: true });
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  copies[name] = path.join(dir, 'dist');
}
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-listeners-'));

const child = (dist: string) => `
  const { performance: perf } = await import('node:perf_hooks');
  const { readFileSync } = await import('node:fs');
  const imp = (p) => import(${JSON.stringify(pathToFileURL(dist).href)} + '/' + p);
  const { StatusStore, TaskTable } = await imp('ui/status-store.js');
  const { EventLogWriter } = await imp('ui/event-log.js');
  const acc = {};
  const wrap = (proto, name, label) => {
    const f = proto[name];
    acc[label] = 0;
    proto[name] = function (...a) { const t = perf.now(); try { return f.apply(this, a); } finally { acc[label] += perf.now() - t; } };
  };
  wrap(StatusStore.prototype, 'applyTasks', 'storeTasks');
  wrap(StatusStore.prototype, 'apply', 'storeOther');
  wrap(EventLogWriter.prototype, 'writeTasks', 'logTasks');
  wrap(EventLogWriter.prototype, 'write', 'logOther');
  wrap(EventLogWriter.prototype, 'flush', 'logFlush');
  const stages = [];
  const compact = TaskTable.prototype.compact;
  TaskTable.prototype.compact = function () {
    const f0 = process.resourceUsage().minorPageFault, t = perf.now();
    const r = compact.call(this);
    if (r) stages.push([perf.now() - t, process.resourceUsage().minorPageFault - f0]);
    return r;
  };
  const { Context } = await imp('index.js');
  const sc = new Context({ master: 'local[2]', progress: false, ui: { port: 0 }, eventLog: { dir: ${JSON.stringify(logDir)} } });
  // As a user watching: the store listens from the first event (since session 16 it loads on the first connection,
  // or once 2,048 events are held, replaying them through apply(); builds before it loaded it at start anyway).
  await (await fetch((await sc.uiWebUrl()) + '/api/v1/applications')).text();
  const rdd = sc.parallelize([], 4000);
  const mainNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  const m0 = mainNs(), t0 = perf.now();
  for (let i = 0; i < ${jobs}; i++) await rdd.count();
  const main = (mainNs() - m0) / 1000 / (${jobs} * 4000), wall = ((perf.now() - t0) * 1000) / (${jobs} * 4000);
  await sc.stop();
  const per = (ms) => (ms * 1000) / (${jobs} * 4000);
  const part = (a, b) => stages.slice(a, b).reduce((s, [d, f]) => [s[0] + d, s[1] + f], [0, 0]);
  const [freshMs, freshFaults] = part(0, 25), [laterMs, laterFaults] = part(25, stages.length);
  console.log(JSON.stringify({ wall, main, ...Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, per(v)])), compact: per(freshMs + laterMs),
    freshMs: freshMs / Math.min(25, stages.length), freshFaults: freshFaults / Math.min(25, stages.length),
    laterMs: laterMs / Math.max(1, stages.length - 25), laterFaults: laterFaults / Math.max(1, stages.length - 25) }));
`;

type Row = Record<string, number>;
const got: Record<string, Row[]> = {};
console.log(`UI listeners inside a program, ${machine()}, load average ${load()}`);
try {
  for (let r = 0; r < runs; r++) {
    const names = Object.keys(copies);
    for (const name of r % 2 === 0 ? names : names.reverse()) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(copies[name]!)], { encoding: 'utf8' });
      (got[name] ??= []).push(JSON.parse(out.trim().split('\n').at(-1)!) as Row);
    }
  }
} finally {
  for (const dist of Object.values(copies)) rmSync(path.dirname(dist), { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
}
const m = (rows: Row[], k: string) => median(rows.map((x) => x[k]!));
for (const [name, rows] of Object.entries(got)) {
  console.log(
    `  ${name.padEnd(10)} ${rows.length} processes x ${jobs} jobs of 4,000 empty tasks (medians), µs per task: wall ${m(rows, 'wall').toFixed(2)}, ` +
      `driver thread ${m(rows, 'main').toFixed(2)}; status store ${(m(rows, 'storeTasks') + m(rows, 'storeOther')).toFixed(3)} ` +
      `(task batches ${m(rows, 'storeTasks').toFixed(3)}, other events ${m(rows, 'storeOther').toFixed(3)}, of which compaction ${m(rows, 'compact').toFixed(3)}), ` +
      `event log ${(m(rows, 'logTasks') + m(rows, 'logOther') + m(rows, 'logFlush')).toFixed(3)} (task batches ${m(rows, 'logTasks').toFixed(3)}, ` +
      `other events ${m(rows, 'logOther').toFixed(3)}, flushes ${m(rows, 'logFlush').toFixed(3)}, overlapping: a job's end flushes); ` +
      `compaction per stage: first 25 stages ${m(rows, 'freshMs').toFixed(2)} ms, ${m(rows, 'freshFaults').toFixed(0)} page faults; ` +
      `later ${m(rows, 'laterMs').toFixed(2)} ms, ${m(rows, 'laterFaults').toFixed(0)} page faults`,
  );
}
console.log(`  load average at the end ${load()}`);
