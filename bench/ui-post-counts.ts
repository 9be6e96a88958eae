/**
 * Counts, with the UI and event log on and off, what the driver's task launches cost in messages rather than in
 * time: per task, the driver's `postMessage` calls (TaskChannel.flush), tasks and bytes per call, the worker
 * threads' messages received and the event-loop turns that received one (wake-ups), the outcome messages back, and
 * the driver thread's involuntary context switches. Load stretches time, not these counts; the one timing shown
 * (postMessage's wall time, split by whether the driver lost its core during the call) tells preemption from work.
 *
 * Linux only (`/proc/thread-self/schedstat`, `/proc/thread-self/status`). It instruments a copy of `dist/` in a
 * temporary directory (the checkout's build is not touched): a call counter and a timer around the post in the
 * driver bundle, a message counter in the worker bundle. Each process is a `local[2]` context, 5 warm-up jobs,
 * then `--jobs` jobs of 4,000 empty tasks (the `bench/ui-overhead.ts --processes` program); on and off alternate.
 * Written for issue 10 (docs/benchmarks.md, session 20, helper ui2): whether the UI makes launches go in more,
 * smaller messages (it does not).
 *
 *   npm run build && npx tsx bench/ui-post-counts.ts [--pairs 3] [--jobs 20] [--bytes] [--slots N] [--burn US]
 *
 * `--slots N` sets the context's `slotsPerWorker` (tasks queued per worker). `--burn US` adds a third setting (UI and log
 * off, a listener taking the task events in batches and spinning US µs per task): whether any driver work, not only the
 * UI's, changes the posts. Per worker thread, its sleeps (voluntary context switches) and CPU per task are read too. `--bytes` also measures each post's structured-clone size (`v8.serialize` of the tasks, outside the timed call).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
if (process.platform !== 'linux' || !existsSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '../node_modules'))) {
  // Part of `npx kindling bench` (every benchmark): it reads Linux's /proc and runs from a checkout.
  console.log('ui-post-counts: Linux and a checkout (with node_modules) only; skipped');
  process.exit(0);
}
const pairs = arg('--pairs', 3);
const jobs = arg('--jobs', 20);
const bytes = process.argv.includes('--bytes');
// The tasks queued per worker (the context's `slotsPerWorker`; the local backend's default is 2).
const slots = arg('--slots', 0);
// `--burn US`: a third setting, the UI and log off and a listener taking the task events in batches (as the UI does)
// that spins US µs of the driver's thread per task: whether any driver work, not the UI's own, makes the posts dearer.
const burn = arg('--burn', 0);
const settings = burn > 0 ? (['on', 'off', 'burn'] as const) : (['on', 'off'] as const);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kindling-post-counts-'));
const dist = path.join(tmp, 'dist');
cpSync(path.join(root, 'dist'), dist, { recursive: true });
// dist/version.js reads ../package.json; the driver bundle imports a few packages.
cpSync(path.join(root, 'package.json'), path.join(tmp, 'package.json'));
symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
mkdirSync(path.join(tmp, 'w'));

function patch(file: string, edits: [string, string][]): void {
  let text = readFileSync(file, 'utf8');
  for (const [anchor, replacement] of edits) {
    if (text.split(anchor).length !== 2) throw new Error(`${file}: anchor not found once: ${anchor.slice(0, 60)}`);
    text = text.replace(anchor, replacement);
  }
  writeFileSync(file, text);
}

// Driver: around the one post of TaskChannel.flush. schedstat's third field (times the thread got a core) moves
// during the call when the woken worker (or anyone) took the driver's core.
patch(path.join(dist, 'driver/kindling.cjs'), [
  [
    '      this.#port.postMessage(before !== void 0 ? { runTasks: tasks, ...before } : { runTasks: tasks });\n',
    `      const __C = globalThis.__postCounts;
      if (__C !== undefined && __C.bytes !== undefined) __C.bytes += require('node:v8').serialize(tasks).length;
      const __s0 = __C === undefined ? 0 : __C.slices();
      const __t0 = process.hrtime.bigint();
      this.#port.postMessage(before !== void 0 ? { runTasks: tasks, ...before } : { runTasks: tasks });
      if (__C !== undefined) __C.post(tasks.length, Number(process.hrtime.bigint() - __t0), __C.slices() !== __s0);
`,
  ],
  [
    '      hop("chan.outcomes", -1, taskIds.length);\n',
    '      hop("chan.outcomes", -1, taskIds.length);\n      if (globalThis.__postCounts !== undefined) globalThis.__postCounts.outcomeMessages++;\n',
  ],
]);
// Worker: messages with tasks, and the turns of its event loop that received at least one (a wake-up, or a turn
// that found several waiting); written to a file every 100 ms (a worker thread ends without an exit event).
patch(path.join(dist, 'exec/local/worker-bundle.cjs'), [
  [
    'import_node_worker_threads3.parentPort.on("message", (m) => {\n  const tasks = m?.runTasks;\n  if (tasks === void 0)\n    return;\n',
    `const __W = { messages: 0, turns: 0, tasks: 0, sleeps: 0, cpuNs: 0 };
let __inTurn = false;
setInterval(() => {
  const fs = require("node:fs");
  __W.sleeps = Number(fs.readFileSync("/proc/thread-self/status", "utf8").match(/^voluntary_ctxt_switches:\\s+(\\d+)/m)[1]);
  __W.cpuNs = Number(fs.readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
  fs.writeFileSync(${JSON.stringify(path.join(tmp, 'w'))} + "/" + process.pid + "-" + import_node_worker_threads3.threadId + ".json", JSON.stringify(__W));
}, 100).unref();
import_node_worker_threads3.parentPort.on("message", (m) => {
  const tasks = m?.runTasks;
  if (tasks === void 0)
    return;
  __W.messages++;
  __W.tasks += tasks.length;
  if (!__inTurn) { __inTurn = true; __W.turns++; setImmediate(() => { __inTurn = false; }); }
`,
  ],
]);

const program = `
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
const fd = fs.openSync('/proc/thread-self/schedstat', 'r'); const buf = Buffer.alloc(128);
const C = globalThis.__postCounts = { posts: 0, tasks: 0, outcomeMessages: 0, bytes: ${bytes ? 0 : 'undefined'}, calm: [], preempted: [],
  slices() { const n = fs.readSync(fd, buf, 0, 128, 0); return buf.toString('latin1', 0, n).split(' ')[2]; },
  post(n, ns, lost) { this.posts++; this.tasks += n; (lost ? this.preempted : this.calm).push(ns); } };
const { Context } = await import(${JSON.stringify(`${path.join(dist, 'entry.js')}`)});
const on = process.argv[2] === 'on';
const burning = process.argv[2] === 'burn';
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-post-counts-log-'));
const sc = new Context({ master: 'local[2]', progress: false, ${slots > 0 ? `slotsPerWorker: ${slots}, ` : ''}...(on ? { ui: { port: 0 }, eventLog: { dir: logDir } } : { ui: false }) });
if (burning) sc.events.onAny((e) => { if (e.type !== 'taskBatch') return; const until = performance.now() + (e.tasks.size / 2) * ${burn} / 1000; while (performance.now() < until); },
  { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } });
const rdd = sc.parallelize([], 4000);
for (let i = 0; i < 5; i++) await rdd.count();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const workers = () => { const t = { messages: 0, turns: 0, tasks: 0, sleeps: 0, cpuNs: 0 }; for (const f of fs.readdirSync(${JSON.stringify(path.join(tmp, 'w'))})) { if (!f.startsWith(process.pid + '-')) continue;
  try { const o = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(tmp, 'w'))} + '/' + f, 'utf8')); for (const k in t) t[k] += o[k]; } catch {} } return t; };
const status = () => { const s = fs.readFileSync('/proc/thread-self/status', 'utf8'); return [Number(s.match(/^nonvoluntary_ctxt_switches:\\s+(\\d+)/m)[1]), Number(s.match(/^voluntary_ctxt_switches:\\s+(\\d+)/m)[1])]; };
const ticks = () => { const f = fs.readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' '); return [Number(f[11]), Number(f[12])]; };
const cpu = () => { const n = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' '); return Number(n[0]); };
await sleep(300);
const k0 = ticks(), c0 = cpu();
const w0 = workers(); const p0 = C.posts, t0 = C.tasks, o0 = C.outcomeMessages, b0 = C.bytes ?? 0, cs0 = status();
C.calm.length = 0; C.preempted.length = 0;
for (let i = 0; i < ${jobs}; i++) await rdd.count();
const k1 = ticks(), c1 = cpu();
const cs1 = status(); const p = C.posts - p0, t = C.tasks - t0, o = C.outcomeMessages - o0, b = (C.bytes ?? 0) - b0, cs = cs1[0] - cs0[0], vs = cs1[1] - cs0[1];
await sleep(300);
const w1 = workers();
await sc.stop();
fs.rmSync(logDir, { recursive: true, force: true });
const T = ${jobs} * 4000; const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1] ?? 0;
console.log(JSON.stringify({ on, burning, postsPerTask: p / T, tasksPerPost: t / p, bytesPerPost: C.bytes === undefined ? undefined : b / p,
  workerMessagesPerTask: (w1.messages - w0.messages) / T, workerTurnsPerTask: (w1.turns - w0.turns) / T, outcomeMessagesPerTask: o / T,
  workerSleepsPerTask: (w1.sleeps - w0.sleeps) / T, workerCpuUsPerTask: (w1.cpuNs - w0.cpuNs) / 1000 / T, driverSleepsPerTask: vs / T,
  driverInvoluntarySwitchesPerTask: cs / T, driverCpuUsPerTask: (c1 - c0) / 1000 / T, driverUserUsPerTask: (k1[0] - k0[0]) * 10000 / T, driverSystemUsPerTask: (k1[1] - k0[1]) * 10000 / T, preemptedShare: C.preempted.length / p, calmPostNs: med(C.calm), preemptedPostNs: med(C.preempted),
  postWallUsPerTask: (C.calm.reduce((a, x) => a + x, 0) + C.preempted.reduce((a, x) => a + x, 0)) / 1000 / T }));
`;
const programFile = path.join(tmp, 'program.mjs');
writeFileSync(programFile, program);

type Row = Record<string, number | boolean | undefined>;
const rows: Record<'on' | 'off' | 'burn', Row[]> = { on: [], off: [], burn: [] };
console.log(
  `post counts${slots > 0 ? `, slotsPerWorker ${slots}` : ''}, ${pairs} pairs of fresh processes, ${jobs} jobs of 4,000 empty tasks each, load ${os.loadavg()[0]!.toFixed(1)}`,
);
try {
  for (let i = 0; i < pairs; i++) {
    for (const setting of settings) {
      const row = JSON.parse(execFileSync(process.execPath, [programFile, setting], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as Row;
      rows[setting].push(row);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const keys = Object.keys(rows.on[0]!).filter((k) => k !== 'on' && k !== 'burning' && rows.on[0]![k] !== undefined);
const show = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3));
console.log(`${'per process'.padEnd(34)}${settings.map((x) => (x === 'burn' ? `burn ${burn} µs` : x).padEnd(36)).join('')}`);
for (const k of keys) {
  const col = (s: 'on' | 'off' | 'burn') => rows[s].map((r) => show(r[k] as number)).join(' ');
  console.log(`${k.padEnd(34)}${settings.map((x) => col(x).padEnd(36)).join('')}`);
}
