/**
 * Where the driver's thread spends its time with the UI and the event log on: CPU profiles (`node --cpu-prof`) of
 * fresh processes running empty-task jobs on one context, this build and (with `--baseline DIR`) an earlier build
 * alternating. Reported per build: the share of the driver thread's busy samples (idle excluded) inside the UI's
 * listeners (`LiveUi.apply`, status store and event log), in any code of the UI's modules (the listeners, and the
 * event log's timed flushes and write callbacks, which run outside them), inside the event bus's `emit` (the listeners included),
 * in the stage-end quantiles (`summarizeTaskMetrics`), and in garbage collection, also for this build with the UI and
 * the log off (what the UI adds to collection shows there). A share is a ratio within one process, so the machine's
 * load, which stretches every sample alike, disturbs it much less than a time.
 *
 * With `--top N`, also the N functions whose self time on the driver thread grows most with the UI on (this build on
 * minus off, and the baseline's on minus this build's off), in µs per task summed over the processes of each setting:
 * where to look, not a measure to quote on its own (a few ms of samples per function at low load).
 *
 *   npx tsx bench/ui-profile.ts [--runs 3] [--jobs 40] [--baseline .bench-old/dist] [--top 25]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './harness.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 3);
const top = arg('--top', 0);
const jobs = arg('--jobs', 40);
const baselineAt = process.argv.indexOf('--baseline');
const dist = fileURLToPath(new URL('../dist', import.meta.url));
const builds: Record<string, { dist: string; ui: boolean }> = { 'this build': { dist, ui: true }, 'UI off': { dist, ui: false } };
if (baselineAt > 0) builds.baseline = { dist: path.resolve(process.argv[baselineAt + 1]!), ui: true };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-profile-'));
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`UI share of the driver's busy time, ${machine()}, load average ${load()}`);

const child = (b: { dist: string; ui: boolean }) => `
  const { Context } = await import(${JSON.stringify(pathToFileURL(path.join(b.dist, 'index.js')).href)});
  const sc = new Context({ master: 'local[2]', progress: false, ${b.ui ? `ui: { port: 0 }, eventLog: { dir: ${JSON.stringify(path.join(tmp, 'log'))} }` : 'ui: false'} });
  const rdd = sc.parallelize([], 4000);
  for (let i = 0; i < ${jobs + 5}; i++) await rdd.count();
  await sc.stop();
`;

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
/** Self time (ms) per function of the main thread's profile, keyed `name file:line`, summed over the setting's processes. */
const selfMs: Record<string, Map<string, number>> = {};
function addSelf(into: Map<string, number>, p: { nodes: Node[]; samples: number[]; timeDeltas: number[] }): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame as Node['callFrame'] & { lineNumber?: number };
    if (f.functionName === '(idle)') return;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '')}:${(f.lineNumber ?? -1) + 1}`;
    into.set(key, (into.get(key) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
}
/** Busy samples (ms) of the main thread's profile, in total and inside functions matching each pattern. */
function shares(file: string, patterns: Record<string, RegExp>, name: string): Record<string, number> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  addSelf((selfMs[name] ??= new Map()), p);
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out: Record<string, number> = { busy: 0 };
  for (const k of Object.keys(patterns)) out[k] = 0;
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') return;
    out.busy! += ms;
    for (const [k, re] of Object.entries(patterns)) {
      for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
        const f = byId.get(c)!.callFrame;
        if (re.test(`${f.functionName} ${f.url}`)) {
          out[k]! += ms;
          break;
        }
      }
    }
  });
  return out;
}

const patterns = {
  listeners: /^apply .*\/ui\/live-ui\.js$/,
  // Everything the UI's modules run, also outside the listeners: the event log's timed flushes and the callbacks
  // of its writes (the native write call included) run from timers and I/O, not from an event.
  ui: / .*\/ui\/[^/]+\.js$/,
  emit: /^emit .*\/scheduler\/event-bus\.js$/,
  quantiles: /^summarizeTaskMetrics /,
  gc: /^\(garbage collector\) /,
  // Which part of the UI: the event log's writer (its task path, its flushes and their writes), the live UI's posts to
  // its thread (live-ui.js or its bundle), and the scheduler's task rows (filled for either, copied into the UI's ring).
  eventLog: / .*\/ui\/event-log\.js$/,
  liveUi: / .*\/ui\/live-ui(-bundle)?\.js$/,
  taskRows: / .*\/scheduler\/task-event-batch\.js$/,
};
const got: Record<string, Array<Record<string, number>>> = {};
for (let r = 0; r < runs; r++) {
  for (const [name, build] of r % 2 === 0 ? Object.entries(builds) : Object.entries(builds).reverse()) {
    const dir = path.join(tmp, `${r}-${name.replace(' ', '-')}`);
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--input-type=module', '-e', child(build)], { stdio: 'ignore' });
    // The main thread's profile is thread 0 (CPU.date.time.pid.thread.seq): workers write their own, and one of
    // theirs can be the largest file (it was with the UI off, so that column measured a worker before).
    const main = path.join(dir, readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f))!);
    (got[name] ??= []).push(shares(main, patterns, name));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, rs] of Object.entries(got)) {
  const pct = (k: string) => median(rs.map((x) => (x[k]! / x.busy!) * 100)).toFixed(1);
  console.log(
    `  ${name.padEnd(10)} ${runs} processes x ${jobs + 5} jobs of 4000 empty tasks (medians): UI listeners ${pct('listeners')} %, all UI code ${pct('ui')} %, ` +
      `bus emit (listeners included) ${pct('emit')} %, stage-end quantiles ${pct('quantiles')} %, garbage collection ${pct('gc')} % of the driver's busy samples; ` +
      `inside the event log's code ${pct('eventLog')} %, the live UI's ${pct('liveUi')} %, the scheduler's task rows ${pct('taskRows')} % ` +
      `(${median(rs.map((x) => x.busy!)).toFixed(0)} ms busy)`,
  );
}
if (top > 0) {
  const perTask = (ms: number) => (ms * 1000) / (runs * jobs + runs * 5) / 4000;
  const diff = (on: string) => {
    const a = selfMs[on]!;
    const b = selfMs['UI off']!;
    const keys = new Set([...a.keys(), ...b.keys()]);
    const rows = [...keys].map((k) => [k, (a.get(k) ?? 0) - (b.get(k) ?? 0)] as const).sort((x, y) => y[1] - x[1]);
    const total = [...a.values()].reduce((s, x) => s + x, 0) - [...b.values()].reduce((s, x) => s + x, 0);
    console.log(`  ${on} minus UI off, self time per task on the driver thread (busy samples: ${perTask(total).toFixed(2)} µs):`);
    for (const [k, ms] of rows.slice(0, top)) console.log(`    ${perTask(ms).toFixed(3).padStart(7)} µs  ${k}`);
  };
  diff('this build');
  if (selfMs.baseline !== undefined) diff('baseline');
}
console.log(`  load average at the end ${load()}`);
rmSync(tmp, { recursive: true, force: true });
