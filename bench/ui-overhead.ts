/**
 * What the web UI and the event log cost a program: word count and a job of 4,000 empty tasks (the scheduler's
 * 20k tasks/s target), each with the UI and an event log on and with both off, measured in alternating
 * rounds in one process so that both see the same machine load. Target: at most 5 % apart. Also the start-up
 * cost of a context with the UI on versus off (cold: the first context of the process; warm: later ones).
 *
 * At the end: empty-task jobs in alternating pairs (medians), and the CPU time the status store and the event log
 * spend per task, replaying recorded events (a measure that other processes' load barely disturbs).
 *
 * With `--baseline DIR` (a copy of an earlier build's dist/ inside this checkout, so that it finds node_modules),
 * also empty-task jobs of that build with the UI on, in the same alternation: before and after side by side.
 *
 *   npx tsx bench/ui-overhead.ts [--mb 20] [--rounds 3] [--pairs 20] [--baseline .bench-old/dist]
 *
 * With `--processes N`, only this: empty-task jobs in fresh processes, one context each, UI and log on or off (and
 * the baseline build's on), N processes per setting, alternating (on, off, baseline, on, off, ...). Contexts that
 * share a process disturb each other: work one leaves behind (a log write landing, a collection of its garbage)
 * runs during the next job, whichever context it belongs to, and two identical contexts of one process measured
 * 15-20 % apart here. Each process reports the medians of its jobs (wall, driver busy, CPU of all its threads and of the driver thread
 * per task) and its minor page faults per task (a count, which the machine's load does not stretch); the result is the median over processes of each on process against the off process next to it.
 *
 *   npx tsx bench/ui-overhead.ts --processes 12 [--jobs 20] [--baseline .bench-old/dist]
 *
 * It ends with the judgement (printBudget): the target as a budget of CPU µs per task that the UI may add to the
 * driver thread (and to libuv's pool, which writes the log), paired with bootstrap intervals, beside the wall; counts
 * per 1,000 tasks that no load stretches (timers set, log writes, posts to the workers, scavenges); and no verdict
 * when the load average is above the cores + 3, where neither the wall nor the CPU figures resolve 5 %.
 *
 * With `--processes N --wordcount`, the same for word count of `--mb` MiB instead: each fresh process runs it once,
 * cold (the process's first job: module loading, worker start-up and compilation included, as a script meets
 * them), then `--jobs` more times warm; it reports the cold run, and the median of the warm ones. Each process also
 * reports its threads' CPU in the cold run (the driver's, the context's workers', Node's own) and the driver thread's
 * minor page faults (a count no load stretches); the verdict (printWordCountVerdict) reads the wall and the CPU of all
 * threads against 5 %, with the per-thread shares beside them, and says "not shown" when neither interval decides.
 *
 *   npx tsx bench/ui-overhead.ts --processes 8 --wordcount [--mb 20] [--jobs 3] [--baseline .bench-old/dist]
 */
import { execFileSync } from 'node:child_process';
import { performance as perf } from 'node:perf_hooks';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { compare, machine } from './harness.js';
import { bootstrapMedian, formatPaired, pairedDifference } from './paired.js';
// The UI's own classes' types, for the replay below (the package exports only the context's API).
import type { StatusStore } from '../src/ui/status-store.js';
import type { EventLogWriter } from '../src/ui/event-log.js';
import type { AppEvent } from '../src/ui/app-events.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const mb = arg('--mb', 20);
const rounds = arg('--rounds', 3);
const TASKS = 4000;
const PAIRS = arg('--pairs', 20);
const baselineAt = process.argv.indexOf('--baseline');
const baseline = baselineAt > 0 ? path.resolve(process.argv[baselineAt + 1]!) : undefined;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-bench-log-'));
/**
 * The baseline build as `import('kindling')` loads it: its package entry (`entry.js`, the driver bundle since
 * session 19), or `index.js` in a build without one. Loading the baseline's modules (`index.js`) while this build
 * ran its bundle compared two code layouts as well as two builds (start-up and steady state).
 */
const baselineEntry = (): string => {
  const entry = path.join(baseline!, 'entry.js');
  return pathToFileURL(existsSync(entry) ? entry : path.join(baseline!, 'index.js')).href;
};
const processes = arg('--processes', 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const wordcountMode = process.argv.includes('--wordcount');
const split = process.argv.includes('--split');
if (processes > 0) {
  if (wordcountMode) await wordCountInProcesses(processes, arg('--jobs', 3), await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 }));
  else await inProcesses(processes, arg('--jobs', 20));
  rmSync(logDir, { recursive: true, force: true });
  process.exit(0);
}

console.log(
  `UI and event log on vs off, ${machine()}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

// Start-up: the constructor's cost (what a script waits for) and when the UI answers. Cold: a fresh process
// each time (module loading included); warm: later contexts of this process. Medians, on and off alternating.
const probe = (ui: boolean) => `
  const t0 = performance.now();
  const { Context } = await import('kindling');
  const t1 = performance.now();
  const sc = new Context({ master: 'local[2]', progress: false, ${ui ? `ui: { port: 0 }, eventLog: { dir: ${JSON.stringify(logDir)} }` : 'ui: false'} });
  const t2 = performance.now();
  await sc.uiWebUrl();
  const t3 = performance.now();
  await sc.stop();
  console.log(JSON.stringify({ importMs: t1 - t0, ctorMs: t2 - t1, readyMs: t3 - t1 }));
`;
const cold: Record<'on' | 'off', Array<{ importMs: number; ctorMs: number; readyMs: number }>> = { on: [], off: [] };
for (let i = 0; i < 10; i++) {
  const ui = i % 2 === 0;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(ui)], { encoding: 'utf8' });
  cold[ui ? 'on' : 'off'].push(JSON.parse(out.trim().split('\n').at(-1)!));
}
const warm: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < 20; i++) {
  const ui = i % 2 === 0;
  const t0 = performance.now();
  const sc = new Context({ master: 'local[2]', progress: false, ...(ui ? { ui: { port: 0 }, eventLog: { dir: logDir } } : { ui: false }) });
  warm[ui ? 'on' : 'off'].push(performance.now() - t0);
  await sc.uiWebUrl();
  await sc.stop();
}
for (const w of ['on', 'off'] as const) {
  const c = cold[w];
  console.log(
    `  start-up, ui ${w.padEnd(3)}: cold import ${median(c.map((x) => x.importMs)).toFixed(1)} ms + constructor ${median(c.map((x) => x.ctorMs)).toFixed(2)} ms` +
      ` (UI listening ${median(c.map((x) => x.readyMs)).toFixed(1)} ms after); warm constructor ${median(warm[w]).toFixed(2)} ms`,
  );
}

const on = new Context({ master: 'local[2]', progress: false, appName: 'bench-ui-on', ui: { port: 0 }, eventLog: { dir: logDir } });
const off = new Context({ master: 'local[2]', progress: false, appName: 'bench-ui-off', ui: false });
const file = await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 });
const wordCount = (sc: Context) => () =>
  sc
    .textFile(file)
    .flatMap((l) => l.split(' '))
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b)
    .count();
const emptyOn = on.parallelize([], TASKS);
const emptyOff = off.parallelize([], TASKS);

const totals = { wcOn: 0, wcOff: 0, tOn: 0, tOff: 0 };
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so neither always runs on the warmer (or the more loaded) side of a round.
  const order = r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
  const wc = await compare(
    `ui-overhead-wordcount-${mb}MiB`,
    order.map((w) => ({ name: `word count ${mb} MiB, ui ${w}`, run: wordCount(w === 'on' ? on : off) })),
  );
  const tasks = await compare(
    'ui-overhead-empty-tasks',
    order.map((w) => ({ name: `${TASKS} empty tasks, ui ${w}`, run: () => (w === 'on' ? emptyOn : emptyOff).count() })),
    20,
  );
  order.forEach((w, i) => {
    if (w === 'on') {
      totals.wcOn += wc[i]!.meanMs;
      totals.tOn += tasks[i]!.meanMs;
    } else {
      totals.wcOff += wc[i]!.meanMs;
      totals.tOff += tasks[i]!.meanMs;
    }
  });
}
// The driver's own work per job (event-loop busy time, which other processes' load disturbs less than wall
// time): the UI and the log run on the driver's thread, so this is where they cost.
const busy: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < 40; i++) {
  const w = i % 2 === 0 ? 'on' : 'off';
  const before = perf.eventLoopUtilization();
  await (w === 'on' ? emptyOn : emptyOff).count();
  busy[w].push(perf.eventLoopUtilization(before).active);
}
const medianBusy = { on: [...busy.on].sort((a, b) => a - b)[20 / 2]!, off: [...busy.off].sort((a, b) => a - b)[20 / 2]! };
console.log(
  `driver busy per ${TASKS}-task job (median of 20): on ${medianBusy.on.toFixed(1)} ms, off ${medianBusy.off.toFixed(1)} ms: ` +
    `${(((medianBusy.on - medianBusy.off) / TASKS) * 1000).toFixed(2)} µs more per task`,
);
// Empty-task jobs one by one, on and off alternating (ABAB...), medians of wall time: under a changing load this
// pairs each job with a neighbour run moments apart, which the per-case blocks of compare() above do not.
const pairs: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < 2 * PAIRS; i++) {
  const w = i % 2 === 0 ? 'on' : 'off';
  const t0 = perf.now();
  await (w === 'on' ? emptyOn : emptyOff).count();
  pairs[w].push(perf.now() - t0);
}
const medianPairs = { on: median(pairs.on), off: median(pairs.off) };
console.log(
  `empty tasks, ${PAIRS} alternating pairs (median wall): on ${Math.round(TASKS / (medianPairs.on / 1000))}, off ${Math.round(TASKS / (medianPairs.off / 1000))} tasks/s: ` +
    `on is ${(((medianPairs.on - medianPairs.off) / medianPairs.off) * 100).toFixed(1)} % slower (target <= 5 %)`,
);

// Before and after: the baseline build's UI on, this build's UI on, and off, one job each in turn (the order
// rotating), medians of wall time and of the driver's busy time.
if (baseline !== undefined) {
  const old = (await import(baselineEntry())) as typeof import('kindling');
  const before = new old.Context({ master: 'local[2]', progress: false, appName: 'bench-ui-baseline', ui: { port: 0 }, eventLog: { dir: logDir } });
  const emptyBefore = before.parallelize([], TASKS);
  const jobs = { baseline: () => emptyBefore.count(), on: () => emptyOn.count(), off: () => emptyOff.count() };
  const names = ['baseline', 'on', 'off'] as const;
  const wall: Record<(typeof names)[number], number[]> = { baseline: [], on: [], off: [] };
  const driver: Record<(typeof names)[number], number[]> = { baseline: [], on: [], off: [] };
  for (const w of names) await jobs[w]();
  for (let i = 0; i < 3 * PAIRS; i++) {
    const w = names[(i + Math.floor(i / 3)) % 3]!;
    const t0 = perf.now();
    const elu = perf.eventLoopUtilization();
    await jobs[w]();
    driver[w].push(perf.eventLoopUtilization(elu).active);
    wall[w].push(perf.now() - t0);
  }
  const rel = (w: 'baseline' | 'on', of: Record<string, number[]>) =>
    `${(((median(of[w]!) - median(of.off!)) / median(of.off!)) * 100).toFixed(1)} %`;
  console.log(
    `before/after, empty tasks, ${PAIRS} rotating triples (medians): wall baseline-on ${median(wall.baseline).toFixed(1)} ms (${rel('baseline', wall)} over off), ` +
      `on ${median(wall.on).toFixed(1)} ms (${rel('on', wall)}), off ${median(wall.off).toFixed(1)} ms; driver busy baseline-on ` +
      `${median(driver.baseline).toFixed(1)} ms (${rel('baseline', driver)}), on ${median(driver.on).toFixed(1)} ms (${rel('on', driver)}), off ${median(driver.off).toFixed(1)} ms`,
  );
  await before.stop();
}

// The listeners' own CPU time, which other processes' load barely disturbs: the events of 10 empty-task jobs,
// recorded, replayed into a status store and an event log (process CPU time, the log's writes included).
const recorded: AppEvent[] = [];
const offRecord = off.events.onAny((e) => void (e.type !== 'taskBatch' && recorded.push(e)));
for (let i = 0; i < 10; i++) await emptyOff.count();
offRecord();
const replayTasks = recorded.filter((e) => e.type === 'taskEnd').length;
type Replayed = { store: { apply(e: AppEvent): void }; log: { write(e: AppEvent): void; close(): void } };
// The built classes (what a program runs; the sources as tsx compiles them run at another speed).
const replayed = async (dist: string, name: string) => {
  const { StatusStore: Store } = (await import(pathToFileURL(path.join(dist, 'ui/status-store.js')).href)) as { StatusStore: typeof StatusStore };
  const { EventLogWriter: Log } = (await import(pathToFileURL(path.join(dist, 'ui/event-log.js')).href)) as { EventLogWriter: typeof EventLogWriter };
  return (r: number): Replayed => ({ store: new Store(), log: new Log(logDir, `replay-${name}${r}`) });
};
const builds: Record<string, (r: number) => Replayed> = { '': await replayed(fileURLToPath(new URL('../dist', import.meta.url)), '') };
if (baseline !== undefined) builds['baseline '] = await replayed(baseline, 'old-');
const cpu: Record<string, number[]> = {};
for (let r = 0; r < 5; r++) {
  for (const [build, make] of r % 2 === 0 ? Object.entries(builds) : Object.entries(builds).reverse()) {
    for (const what of ['store', 'log'] as const) {
      const { store, log } = make(r);
      const c0 = process.cpuUsage();
      for (const e of recorded) {
        if (what === 'store') store.apply(e);
        else log.write(e);
      }
      log.close();
      const d = process.cpuUsage(c0);
      (cpu[build + what] ??= []).push((d.user + d.system) / replayTasks);
    }
  }
}
const offBusyPerTask = (medianBusy.off / TASKS) * 1000;
console.log(
  `listener CPU per task (replay of ${replayTasks} task events, median of 5): status store ${median(cpu.store!).toFixed(2)} µs, ` +
    `event log ${median(cpu.log!).toFixed(2)} µs; ${(((median(cpu.store!) + median(cpu.log!)) / offBusyPerTask) * 100).toFixed(1)} % of the ` +
    `driver's ${offBusyPerTask.toFixed(1)} µs per task with both off` +
    (baseline === undefined
      ? ''
      : `; baseline build, same replay alternating: status store ${median(cpu['baseline store']!).toFixed(2)} µs, event log ${median(cpu['baseline log']!).toFixed(2)} µs`),
);
const loadNow = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(`load average at the end: ${loadNow}; peak RSS of this process ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);

const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;
console.log(
  `word count: on ${(totals.wcOn / rounds).toFixed(0)} ms, off ${(totals.wcOff / rounds).toFixed(0)} ms: on is ${pct(totals.wcOn, totals.wcOff)} slower (target <= 5 %)`,
);
console.log(
  `empty tasks/s: on ${Math.round(TASKS / (totals.tOn / rounds / 1000))}, off ${Math.round(TASKS / (totals.tOff / rounds / 1000))}: on is ${pct(totals.tOn, totals.tOff)} slower (target <= 5 %)`,
);
await Promise.all([on.stop(), off.stop()]);
rmSync(logDir, { recursive: true, force: true });

/** One process per measurement: see the header. */
async function inProcesses(n: number, jobs: number): Promise<void> {
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`UI and event log on vs off, fresh process each, ${machine()}, load average ${load()}`);
  const loadAtStart = os.loadavg()[0]!;
  // With --split, also the UI alone and the log alone: which of the two the driver's added cost is.
  const settingOf: Record<ProcessKind, string> = {
    on: 'ui: { port: 0 }, eventLog: { dir }',
    baseline: 'ui: { port: 0 }, eventLog: { dir }',
    off: 'ui: false',
    'ui-only': 'ui: { port: 0 }',
    'log-only': 'ui: false, eventLog: { dir }',
  };
  const child = (kind: ProcessKind) => `
    const { performance: perf, PerformanceObserver } = await import('node:perf_hooks');
    const fs = await import('node:fs');
    const { syncBuiltinESMExports } = await import('node:module');
    const { Worker } = await import('node:worker_threads');
    // Counts, which the machine's load does not stretch: the calls "on" adds (an fs write is a chunk of the event log,
    // a timer set is the batch's or the log's), the driver's posts to its workers, and scavenges (allocation).
    const calls = { setTimeout: 0, write: 0, postMessage: 0, scavenges: 0 };
    const count = (o, name) => { const f = o[name]; o[name] = function (...args) { calls[name]++; return f.apply(this, args); }; };
    count(globalThis, 'setTimeout');
    count(fs.default, 'write');
    count(Worker.prototype, 'postMessage');
    syncBuiltinESMExports();
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === 1) calls.scavenges++; }).observe({ entryTypes: ['gc'] });
    // Threads by role, from their CPU time on Linux (ns from the scheduler): V8's platform threads (garbage collection,
    // compilation, for every isolate) are there from the start; libuv's pool is what an async read starts (the event
    // log's writes run there); the workers are what the context starts.
    const tids = () => { try { return fs.readdirSync('/proc/self/task'); } catch { return []; } };
    const atStart = new Set(tids());
    await fs.promises.readFile('/proc/self/stat');
    const before = new Set(tids());
    const ns = (t) => { try { return Number(fs.readFileSync('/proc/self/task/' + t + '/schedstat', 'utf8').split(' ')[0]); } catch { return 0; } };
    const { Context } = await import(${JSON.stringify(kind === 'baseline' ? baselineEntry() : 'kindling')});
    const dir = fs.mkdtempSync(${JSON.stringify(`${logDir}/${kind}-`)});
    const sc = new Context({ master: 'local[2]', progress: false, ${settingOf[kind]} });
    // The context starts its workers' threads in its constructor; a thread that comes later is the UI's (its status
    // store's, started when the store loads, since session 31): its CPU is the UI's, not the workers'.
    const atContext = new Set(tids());
    const rdd = sc.parallelize([], ${TASKS});
    for (let i = 0; i < 5; i++) await rdd.count();
    // The driver thread's own CPU time (Linux: ns on a CPU, from the scheduler): what the UI adds to the thread that
    // bounds empty tasks, without the workers' time and without the time the thread waited for a core.
    const mainNs = () => { try { return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]); } catch { return Number.NaN; } };
    const workerTids = [...atContext].filter((t) => !before.has(t));
    const uiTids = tids().filter((t) => !atContext.has(t));
    const helperTids = [...before].filter((t) => !atStart.has(t));
    const platformTids = [...atStart].filter((t) => t !== String(process.pid));
    const sum = (ts) => ts.reduce((a, t) => a + ns(t), 0);
    const logBytes = () => fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(dir + '/' + f).size, 0);
    const wall = [], busy = [], cpu = [], main = [], helpers = [], workers = [], ui = [], platform = [], faults = [];
    const b0 = logBytes(), k0 = { ...calls };
    for (let i = 0; i < ${jobs}; i++) {
      const h0 = sum(helperTids), w0 = sum(workerTids), u0 = sum(uiTids), p0 = sum(platformTids);
      const t0 = perf.now(), e0 = perf.eventLoopUtilization(), c0 = process.cpuUsage(), m0 = mainNs(), f0 = process.resourceUsage().minorPageFault;
      await rdd.count();
      const c = process.cpuUsage(c0);
      helpers.push((sum(helperTids) - h0) / 1000 / ${TASKS});
      workers.push((sum(workerTids) - w0) / 1000 / ${TASKS});
      ui.push((sum(uiTids) - u0) / 1000 / ${TASKS});
      platform.push((sum(platformTids) - p0) / 1000 / ${TASKS});
      faults.push((process.resourceUsage().minorPageFault - f0) / ${TASKS});
      main.push((mainNs() - m0) / 1000 / ${TASKS});
      wall.push(perf.now() - t0); busy.push(perf.eventLoopUtilization(e0).active); cpu.push((c.user + c.system) / ${TASKS});
    }
    const per1k = Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, ((v - k0[k]) / ${jobs * TASKS}) * 1000]));
    const logBytesPerTask = (logBytes() - b0) / ${jobs * TASKS};
    await sc.stop();
    const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    console.log(JSON.stringify({ wall: med(wall), busy: med(busy), cpu: med(cpu), main: med(main), helpers: med(helpers), workers: med(workers), ui: med(ui), platform: med(platform), threads: [workerTids.length, helperTids.length, platformTids.length, uiTids.length], faults: faults.reduce((a, b) => a + b, 0) / faults.length, rss: process.resourceUsage().maxRSS / 1024, per1k, logBytesPerTask }));
  `;
  const kinds: ProcessKind[] = [
    'on',
    'off',
    ...(baseline === undefined ? [] : (['baseline'] as const)),
    ...(split ? (['ui-only', 'log-only'] as const) : []),
  ];
  const got: Record<string, ProcessRow[]> = {};
  for (let i = 0; i < n; i++) {
    // The order within a round alternates, so neither setting always follows the other.
    for (const kind of i % 2 === 0 ? kinds : [...kinds].reverse()) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(kind)], { encoding: 'utf8' });
      (got[kind] ??= []).push(JSON.parse(out.trim().split('\n').at(-1)!));
    }
  }
  const pct = (a: number, b: number) => ((a - b) / b) * 100;
  const rel = (kind: string, k: 'wall' | 'busy' | 'cpu' | 'main') => median(got[kind]!.map((r, i) => pct(r[k], got.off![i]![k])));
  for (const kind of kinds) {
    const r = got[kind]!;
    const vs =
      kind === 'off'
        ? ''
        : `; against the off process of its round, median ${rel(kind, 'wall').toFixed(1)} % wall, ${rel(kind, 'busy').toFixed(1)} % busy, ${rel(kind, 'cpu').toFixed(1)} % CPU, ${rel(kind, 'main').toFixed(1)} % driver-thread CPU`;
    console.log(
      `  ${kind.padEnd(8)} ${n} processes x ${jobs} jobs of ${TASKS} empty tasks: median wall ${median(r.map((x) => x.wall)).toFixed(1)} ms ` +
        `(${Math.round(TASKS / (median(r.map((x) => x.wall)) / 1000))} tasks/s), driver busy ${median(r.map((x) => x.busy)).toFixed(1)} ms, ` +
        `CPU ${median(r.map((x) => x.cpu)).toFixed(2)} µs per task (driver thread ${median(r.map((x) => x.main)).toFixed(2)} µs), ` +
        `minor page faults ${median(r.map((x) => x.faults)).toFixed(3)} per task (all threads, mean over the jobs), peak RSS ${Math.round(Math.max(...r.map((x) => x.rss)))} MiB${vs}`,
    );
  }
  for (const k of ['wall', 'busy', 'cpu', 'main'] as const) {
    const rounds = (kind: 'on' | 'baseline') => got[kind]!.map((r, i) => pct(r[k], got.off![i]![k]).toFixed(1)).join(', ');
    console.log(`  per round, ${k}: on vs off ${rounds('on')} %${got.baseline === undefined ? '' : `; baseline vs off ${rounds('baseline')} %`}`);
  }
  printPaired(got, ['main', 'cpu', 'busy', 'wall']);
  if (got.baseline !== undefined) {
    // The two threads the UI's work runs on, in µs per task against the baseline build's, paired by round: what a change
    // of the UI's code saves, read without the off process (whose wall the load spreads most).
    const dUs = (k: 'main' | 'ui') => {
      const d = bootstrapMedian(got.on!.map((r, i) => (r[k] ?? 0) - (got.baseline![i]![k] ?? 0)));
      return `${d.median >= 0 ? '+' : ''}${d.median.toFixed(2)} µs (95 % CI ${d.lo.toFixed(2)} … ${d.hi.toFixed(2)})`;
    };
    console.log(`  on minus baseline, CPU per task paired by round: driver thread ${dUs('main')}, UI thread ${dUs('ui')}`);
  }
  if (split) {
    // Each part's own share of "on", the other part on in both: the log's (on against the UI alone) and the UI's (on
    // against the log alone), and what both need (the scheduler's task rows): on - each alone - off's, in reverse.
    const dMain = (a: string, b: string) => {
      const d = bootstrapMedian(got[a]!.map((r, i) => r.main - got[b]![i]!.main));
      return `${d.median >= 0 ? '+' : ''}${d.median.toFixed(2)} µs (95 % CI ${d.lo.toFixed(2)} … ${d.hi.toFixed(2)})`;
    };
    const shared = bootstrapMedian(got['ui-only']!.map((r, i) => r.main + got['log-only']![i]!.main - got.on![i]!.main - got.off![i]!.main));
    console.log(
      `  split, driver-thread CPU per task, paired by round: the log's share (on - ui-only) ${dMain('on', 'ui-only')}, the UI's (on - log-only) ` +
        `${dMain('on', 'log-only')}; both's common part (ui-only + log-only - on - off) ${shared.median.toFixed(2)} µs (95 % CI ${shared.lo.toFixed(2)} … ${shared.hi.toFixed(2)})`,
    );
  }
  for (const kind of kinds) {
    const r = got[kind]!;
    const calls = Object.keys(r[0]!.per1k).map((c) => `${c} ${median(r.map((x) => x.per1k[c]!)).toFixed(1)}`);
    console.log(
      `  counts per 1,000 tasks, ${kind.padEnd(8)} (median over processes): ${calls.join(', ')}; event log ${median(r.map((x) => x.logBytesPerTask)).toFixed(1)} bytes per task; ` +
        `CPU µs per task by thread: driver ${median(r.map((x) => x.main)).toFixed(2)}, helpers ${median(r.map((x) => x.helpers)).toFixed(2)} ` +
        `(libuv's pool, ${r[0]!.threads[1]} threads), UI thread ${median(r.map((x) => x.ui ?? 0)).toFixed(2)} (${r[0]!.threads[3] ?? 0} threads), ` +
        `workers ${median(r.map((x) => x.workers)).toFixed(2)} (${r[0]!.threads[0]} threads), ` +
        `V8's platform ${median(r.map((x) => x.platform)).toFixed(2)} (${r[0]!.threads[2]} threads)`,
    );
  }
  printBudget(got, kinds, Math.max(loadAtStart, os.loadavg()[0]!));
  console.log(`  load average at the end ${load()}`);
}

/** The settings `inProcesses` compares: both on, both off, the baseline build's on; with --split, each alone. */
type ProcessKind = 'on' | 'off' | 'baseline' | 'ui-only' | 'log-only';

/** What one fresh process of `inProcesses` reports: medians over its jobs (wall, busy in ms; CPU in µs per task). */
interface ProcessRow {
  wall: number;
  busy: number;
  cpu: number;
  main: number;
  /**
   * CPU µs per task of libuv's pool (the log's writes), of the threads the context started (its workers), of the UI's
   * thread (its status store), and of V8's platform threads.
   */
  helpers: number;
  workers: number;
  ui: number;
  platform: number;
  /** How many threads of each: workers, pool, platform, UI. */
  threads: [number, number, number, number];
  faults: number;
  rss: number;
  per1k: Record<string, number>;
  logBytesPerTask: number;
}

/**
 * "At most 5 % apart at 20k tasks/s" in figures that can be checked. At 20k tasks/s a task has 50 µs of wall; at the
 * rate "off" measured it has less (27k tasks/s: 37 µs). The budget is 5 % of the smaller: on may add at most that
 * much wall per task. Three readings, each a paired median over rounds with its bootstrap 95 % interval:
 *
 * - wall, on against off: the target itself, but a round's spread under load (±15-60 %) is wider than 5 %;
 * - the CPU "on" adds to the driver thread per task, as a share of the budget's 50-or-less µs: the driver thread is
 *   the serial part of an empty-task job, so work added there can lengthen the wall by at most its own time (the
 *   serial bound). CPU time is what the thread ran, not how long it waited for a core, so load stretches it little;
 * - the CPU "on" adds to the driver thread, to libuv's pool, which writes the log, and to the UI's thread (the status
 *   store's, since session 31), as the same share: the conservative bound, if every µs of it lay on the job's
 *   critical path. Left out: the workers' threads, which run
 *   the same tasks either way and whose CPU per task moves with how outcomes bunch (±10-30 % between neighbouring
 *   processes), and V8's platform threads (garbage collection and compilation for every isolate: 4-8 µs per task,
 *   differing by 2x between processes of one setting). Their noise hid a 2 µs difference in the CPU of all threads
 *   (printed too); what the UI allocates shows instead in the count of scavenges.
 *
 * Met, without relying on the wall: the conservative bound's interval ends at or below 5 %. Only on a quiet machine:
 * at a load of 17-28 on these 2 cores (session 26) the driver thread's CPU per task itself moved by ±3 µs between
 * neighbouring processes of one setting (cache contention), wider than the budget, so above a load average of the
 * cores + 3 (the bench's own driver, two workers and its parent make ~3) it prints no verdict. In one run at load
 * 17-34, the baseline (the same code as "on") read +0.22 µs (CI -0.61 … +1.64) where "on" read +2.02 µs (CI +0.66 …
 * +4.31), and its wall -9.7 % (CI -32.5 … -2.2 %): the rounds are not alike when the load drifts through the run.
 */
function printBudget(got: Record<string, ProcessRow[]>, kinds: readonly string[], load: number): void {
  const off = got.off!;
  // µs per task the budget is 5 % of: off's own wall per task, or 50 µs (20k tasks/s) when off runs slower than that.
  const perTask = off.map((r) => Math.min((r.wall * 1000) / TASKS, 1e6 / 20_000));
  const ci = (xs: number[], unit: string) => {
    const b = bootstrapMedian(xs);
    const f = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
    return `${f(b.median)}${unit} (95 % CI ${f(b.lo)} … ${f(b.hi)}${unit})`;
  };
  console.log(`  budget: 5 % of min(off's wall per task, 50 µs) = median ${((median(perTask) * 5) / 100).toFixed(2)} µs per task`);
  for (const kind of kinds.filter((k) => k !== 'off')) {
    const r = got[kind]!;
    const wall = r.map((x, i) => (x.wall / off[i]!.wall - 1) * 100);
    const dMain = r.map((x, i) => x.main - off[i]!.main);
    const dServed = r.map((x, i) => x.main + x.helpers + x.ui - off[i]!.main - off[i]!.helpers - off[i]!.ui);
    const dAll = r.map((x, i) => x.cpu - off[i]!.cpu);
    const share = (d: number[]) => d.map((x, i) => (x / perTask[i]!) * 100);
    const serial = bootstrapMedian(share(dMain));
    const conservative = bootstrapMedian(share(dServed));
    const w = bootstrapMedian(wall);
    const loaded = load > os.cpus().length + 3;
    const verdict = loaded
      ? `none: the load average reached ${load.toFixed(1)} on ${os.cpus().length} cores (run it on a quiet machine)`
      : conservative.hi <= 5
        ? 'met: even if all of it were on the critical path'
        : serial.hi <= 5
          ? 'met by the serial bound (the driver thread), not by the conservative one'
          : serial.median <= 5
            ? 'not shown: the serial bound is under 5 % but its interval is not'
            : 'missed: the driver thread alone adds more than 5 %';
    console.log(
      `  ${kind} vs off, against the budget: wall ${ci(wall, ' %')} [${loaded ? 'no verdict under this load' : w.hi <= 5 ? 'shown within 5 %' : w.lo > 5 ? 'shown over 5 %' : 'not resolved'}]; ` +
        `driver thread ${ci(dMain, ' µs')} per task = ${ci(share(dMain), ' %')} of the task's wall (serial bound); ` +
        `driver thread, libuv's pool and the UI's thread ${ci(dServed, ' µs')} = ${ci(share(dServed), ' %')} (conservative bound); ` +
        `all threads (workers included) ${ci(dAll, ' µs')}. Verdict: ${verdict}`,
    );
  }
}

/** Word count in fresh processes, cold and warm: see the header. */
async function wordCountInProcesses(n: number, jobs: number, file: string): Promise<void> {
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  const loadAtStart = os.loadavg()[0]!;
  console.log(`word count ${mb} MiB, UI and event log on vs off, fresh process each, ${machine()}, load average ${load()}`);
  const child = (kind: 'on' | 'off' | 'baseline') => `
    const { performance: perf } = await import('node:perf_hooks');
    const { readFileSync, readdirSync } = await import('node:fs');
    // Each thread's CPU (ns on a CPU, from the scheduler) and the driver thread's minor page faults (a count: no load
    // stretches it; a fault costs ~25-35 µs on this VM, so fresh memory the UI touches shows here first).
    const ns = (t) => { try { return Number(readFileSync('/proc/self/task/' + t + '/schedstat', 'utf8').split(' ')[0]); } catch { return 0; } };
    const faults = () => { try { const st = readFileSync('/proc/thread-self/stat', 'utf8'); return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[7]); } catch { return Number.NaN; } };
    const tids = () => { try { return readdirSync('/proc/self/task'); } catch { return []; } };
    const atStart = tids();
    const s0 = new Map(atStart.map((t) => [t, ns(t)]));
    const t0 = perf.now(), c0 = process.cpuUsage(), f0 = faults();
    const { Context } = await import(${JSON.stringify(kind === 'baseline' ? baselineEntry() : 'kindling')});
    const sc = new Context({ master: 'local[2]', progress: false, ${kind === 'off' ? 'ui: false' : `ui: { port: 0 }, eventLog: { dir: ${JSON.stringify(logDir)} }`} });
    const run = () => sc.textFile(${JSON.stringify(file)}).flatMap((l) => l.split(' ')).map((w) => [w, 1]).reduceByKey((a, b) => a + b).count();
    await run();
    const c = process.cpuUsage(c0);
    const ms = (ts) => ts.reduce((a, t) => a + ns(t) - (s0.get(t) ?? 0), 0) / 1e6;
    const all = tids();
    const cold = {
      wall: perf.now() - t0, cpu: (c.user + c.system) / 1000, main: ms([String(process.pid)]), faults: faults() - f0,
      // Threads the program started (the context's workers; libuv's pool too if it started after start-up), and the
      // threads Node had at start but the driver's (V8's platform: compilation and GC helpers; libuv's pool).
      workers: ms(all.filter((t) => !s0.has(t))), node: ms(all.filter((t) => s0.has(t) && t !== String(process.pid))),
    };
    const warm = [];
    for (let i = 0; i < ${jobs}; i++) {
      const w0 = perf.now();
      await run();
      warm.push(perf.now() - w0);
    }
    await sc.stop();
    const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    console.log(JSON.stringify({ ...cold, warm: ${jobs} > 0 ? med(warm) : Number.NaN }));
  `;
  const kinds = baseline === undefined ? (['on', 'off'] as const) : (['on', 'off', 'baseline'] as const);
  type Row = { wall: number; cpu: number; main: number; faults: number; workers: number; node: number; warm: number };
  const got: Record<string, Row[]> = {};
  for (let i = 0; i < n; i++) {
    for (const kind of i % 2 === 0 ? kinds : [...kinds].reverse()) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(kind)], { encoding: 'utf8' });
      const row = JSON.parse(out.trim().split('\n').at(-1)!) as Row;
      // With --jobs 0 there is no warm run: JSON wrote its NaN as null.
      (got[kind] ??= []).push({ ...row, warm: row.warm ?? Number.NaN });
    }
  }
  const pct = (a: number, b: number) => ((a - b) / b) * 100;
  const keys = ['wall', 'cpu', 'main', 'workers', 'node', 'faults', 'warm'] as const;
  const rel = (kind: string, k: (typeof keys)[number]) => median(got[kind]!.map((r, i) => pct(r[k], got.off![i]![k])));
  for (const kind of kinds) {
    const r = got[kind]!;
    const vs =
      kind === 'off'
        ? ''
        : `; against the off process of its round, median ${rel(kind, 'wall').toFixed(1)} % cold wall, ${rel(kind, 'cpu').toFixed(1)} % cold CPU, ` +
          `${rel(kind, 'main').toFixed(1)} % cold driver-thread CPU, ${rel(kind, 'warm').toFixed(1)} % warm wall`;
    console.log(
      `  ${kind.padEnd(8)} ${n} processes: cold wall ${median(r.map((x) => x.wall)).toFixed(0)} ms, CPU of all threads ${median(r.map((x) => x.cpu)).toFixed(0)} ms ` +
        `(driver thread ${median(r.map((x) => x.main)).toFixed(0)} ms, workers ${median(r.map((x) => x.workers)).toFixed(0)} ms, Node's own ${median(r.map((x) => x.node)).toFixed(0)} ms; ` +
        `driver-thread minor page faults ${median(r.map((x) => x.faults)).toFixed(0)}); warm wall ${median(r.map((x) => x.warm)).toFixed(0)} ms${vs}`,
    );
  }
  for (const k of keys) {
    const rounds = (kind: 'on' | 'baseline') => got[kind]!.map((r, i) => pct(r[k], got.off![i]![k]).toFixed(1)).join(', ');
    console.log(`  per round, ${k}: on vs off ${rounds('on')} %${got.baseline === undefined ? '' : `; baseline vs off ${rounds('baseline')} %`}`);
  }
  printPaired(got, ['main', 'workers', 'node', 'faults', 'cpu', 'wall', 'warm']);
  printWordCountVerdict(got, kinds, Math.max(loadAtStart, os.loadavg()[0]!));
  console.log(`  load average at the end ${load()}`);
}

/** A paired difference's interval against 5 %: which side of it the interval lies, or neither. */
function side(lo: number, hi: number): 'within 5 %' | 'over 5 %' | 'not shown' {
  return hi <= 5 ? 'within 5 %' : lo > 5 ? 'over 5 %' : 'not shown';
}

/**
 * Word count's verdict, honest about what the rounds resolve. The cold wall of a ~2 s job moves by ±10-30 % between
 * neighbouring processes on a shared 2-core machine, wider than the 5 % it is judged against; CPU time is what the
 * threads ran, which load stretches less. So, each as a share of off's cold CPU of all threads (the job's work), a
 * paired median and its bootstrap 95 % interval: the wall; the CPU of all threads; and per thread (the driver's,
 * the workers', Node's own), which says where a difference lies. Each reads "within 5 %", "over 5 %" or "not shown"
 * (the interval spans 5 %). The verdict: met when the wall or the CPU of all threads is within 5 %; missed when
 * either is over; else not shown. None with fewer than 6 pairs (no interval), or above a load average of the cores + 3
 * (as printBudget: the same code then reads apart by more than 5 %).
 */
function printWordCountVerdict(
  got: Record<string, Array<Record<'wall' | 'cpu' | 'main' | 'workers' | 'node', number>>>,
  kinds: readonly string[],
  load: number,
): void {
  const off = got.off!;
  for (const kind of kinds.filter((k) => k !== 'off')) {
    const r = got[kind]!;
    const of = (k: 'cpu' | 'main' | 'workers' | 'node') => bootstrapMedian(r.map((x, i) => ((x[k] - off[i]![k]) / off[i]!.cpu) * 100));
    const wall = bootstrapMedian(r.map((x, i) => (x.wall / off[i]!.wall - 1) * 100));
    const f = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    const show = (name: string, b: { median: number; lo: number; hi: number }) =>
      `${name} ${f(b.median)} % (CI ${f(b.lo)} … ${f(b.hi)}) [${side(b.lo, b.hi)}]`;
    const cpu = of('cpu');
    const verdicts = [side(wall.lo, wall.hi), side(cpu.lo, cpu.hi)];
    const verdict =
      r.length < 6
        ? `none: ${r.length} pairs give no interval (use --processes 6 or more)`
        : load > os.cpus().length + 3
          ? `none: the load average reached ${load.toFixed(1)} on ${os.cpus().length} cores (run it on a quieter machine)`
          : verdicts.includes('over 5 %')
            ? 'missed'
            : verdicts.includes('within 5 %')
              ? `met (${side(wall.lo, wall.hi) === 'within 5 %' ? 'wall' : 'CPU of all threads'})`
              : 'not shown: neither the wall nor the CPU of all threads resolves 5 % in these rounds (more processes, or a quieter machine)';
    console.log(
      `  word count, ${kind} vs off, cold: ${show('wall', wall)}; as shares of off's cold CPU: ${show('CPU of all threads', cpu)}, ` +
        `${show('driver thread', of('main'))}, ${show('workers', of('workers'))}, ${show("Node's own threads", of('node'))}. Verdict: ${verdict}`,
    );
  }
}

/**
 * The judgement: each setting's process against the off process of its round (moments apart), the median of those
 * differences and its bootstrap 95 % interval (bench/paired.ts); and, with a baseline, this build's on against the
 * baseline's on, round by round.
 */
function printPaired<K extends string>(got: Record<string, Array<Record<K, number>>>, keys: readonly K[]): void {
  for (const k of keys) {
    const of = (kind: string) => got[kind]!.map((r) => r[k]);
    const parts = [`on vs off ${formatPaired(pairedDifference(of('on'), of('off')))}`];
    if (got.baseline !== undefined) {
      parts.push(`baseline vs off ${formatPaired(pairedDifference(of('baseline'), of('off')))}`);
      parts.push(`on vs baseline ${formatPaired(pairedDifference(of('on'), of('baseline')))}`);
    }
    console.log(`  paired, ${k}: ${parts.join('; ')}`);
  }
}
