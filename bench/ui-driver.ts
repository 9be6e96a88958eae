/**
 * What the web UI and the event log cost the driver's thread per task, measured where the machine's load disturbs it
 * least: the DAG and task schedulers alone on one thread (a backend that answers every task at once with a worker's
 * metrics; no worker threads, no messages), jobs of 4,000 empty tasks, with the status store and an event log
 * subscribed as the UI subscribes them (`onAny(..., { batched })`, or `{ copies }` for builds before it) or not (the skew hint's `stageCompleted` listener
 * only, as with the UI off). Process CPU time per task (the log's writes on the thread pool included), medians over
 * rounds, every build and setting asked for alternating job by job in one process; with `off` among the settings,
 * each other setting's jobs against the `off` job of the same round and build: the median of those paired
 * differences and its bootstrap 95 % interval (bench/paired.ts), which is the figure to judge by.
 *
 * Each job is followed by a 3 ms pause inside its measurement: the fake backend answers every task at once, so a
 * job never returns to the event loop, and without it the log's writes never landed (their lines piled up in the
 * writer until the process exited, and their garbage was collected during later jobs of any setting).
 *
 * The fresh-process benchmark (`bench/ui-overhead.ts --processes N`) measures the whole program; at a load of 10-40 its
 * per-round spread is ±20-70 %. This one leaves out the workers, comlink and postMessage (the same with the UI on and
 * off), so its "off" is ~3-4 µs per task rather than the ~35 µs of a real driver, and what it shows is the UI's own
 * part: on minus off. One build per process is measured against the other in the same process, loaded in both
 * orders across runs (the build loaded first ran 0.1-0.3 µs per task faster in every pair of runs here).
 *
 *   npx tsx bench/ui-driver.ts [--settings on,off] [--rounds 25] [--baseline .bench-old/dist [--baseline-first]]
 *
 * (`--setting X` is `--settings X`.)
 *
 * `--setting log-off` is the UI without an event log (the default of a program); `noop`, a batched listener that does
 * nothing (what the scheduler's batches cost by themselves).
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { zeroTaskMetrics, type TaskMessage, type TaskOutcome, type TaskMetrics } from '../src/exec/protocol.js';
import { machine } from './harness.js';
import { formatPaired, median, pairedDifference } from './paired.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
type Setting = 'on' | 'off' | 'log-off' | 'noop';
const settings = arg('--settings', arg('--setting', 'on,off')).split(',') as Setting[];
const rounds = Number(arg('--rounds', '25'));
const baselineAt = process.argv.indexOf('--baseline');
const own = fileURLToPath(new URL('../dist', import.meta.url));
const dists: Record<string, string> =
  baselineAt < 0
    ? { 'this build': own }
    : process.argv.includes('--baseline-first')
      ? { baseline: path.resolve(process.argv[baselineAt + 1]!), 'this build': own }
      : { 'this build': own, baseline: path.resolve(process.argv[baselineAt + 1]!) };
const TASKS = 4000;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-driver-'));

const metrics = (): TaskMetrics => zeroTaskMetrics({ durationMs: 0.013 + Math.random() / 1000, runMs: 0.001, compileMs: 0.002, resultRecords: 1 });

/** One build's schedulers, listeners per `setting`; returns a function running one job of TASKS empty tasks. */
async function setup(dist: string, setting: Setting): Promise<() => Promise<unknown>> {
  const imp = <T>(p: string) => import(pathToFileURL(path.join(dist, p)).href) as Promise<T>;
  const { DAGScheduler } = await imp<typeof import('../src/scheduler/dag-scheduler.js')>('scheduler/dag-scheduler.js');
  const { TaskScheduler } = await imp<typeof import('../src/scheduler/task-scheduler.js')>('scheduler/task-scheduler.js');
  const { TaskBuilder } = await imp<typeof import('../src/scheduler/task-builder.js')>('scheduler/task-builder.js');
  const { MapOutputTracker } = await imp<typeof import('../src/scheduler/map-output-tracker.js')>('scheduler/map-output-tracker.js');
  const { CacheTracker } = await imp<typeof import('../src/scheduler/cache-tracker.js')>('scheduler/cache-tracker.js');
  const { EventBus } = await imp<typeof import('../src/scheduler/event-bus.js')>('scheduler/event-bus.js');
  const { ParallelCollectionRDD } = await imp<typeof import('../src/rdd/index.js')>('rdd/index.js');
  const { shipFunction } = await imp<typeof import('../src/closure/index.js')>('closure/index.js');
  const { StatusStore } = await imp<typeof import('../src/ui/status-store.js')>('ui/status-store.js');
  const { EventLogWriter } = await imp<typeof import('../src/ui/event-log.js')>('ui/event-log.js');
  type Bus = InstanceType<typeof EventBus<import('../src/scheduler/events.js').SchedulerEvent>>;
  const backend = {
    numWorkers: 2,
    setListener() {},
    ready: () => Promise.resolve(),
    isAvailable: () => true,
    epoch: () => 0,
    executorId: (w: number) => String(w),
    releaseStages() {},
    snapshot: async () => ({ configured: 2, givenUp: [], workers: [] }),
    runTask: (_w: number, _msg: TaskMessage): Promise<TaskOutcome> =>
      Promise.resolve({ status: 'success', epoch: 0, value: 0, accumulators: [], computedRdds: [], blockUpdates: [], metrics: metrics() }),
    cancelTask() {},
    killTask() {},
    removeShuffle() {},
    removeRdd: async () => {},
    removeBroadcast() {},
    stop: async () => {},
  };
  const tracker = new MapOutputTracker();
  const cache = new CacheTracker();
  const bus: Bus = new EventBus();
  const builder = new TaskBuilder(tracker, cache, { broadcastValue: () => undefined, accumulatorKind: () => 'sum' });
  const dag = new DAGScheduler(tracker, cache, bus, {
    maxStageAttempts: 4,
    maxResultBytes: 2 ** 30,
    onAccumulatorUpdates: () => {},
    onStagesReleased: (ids) => builder.forgetStages(ids),
  });
  const ts = new TaskScheduler(
    backend as never,
    dag,
    (t, spec, attempt, w, epoch) => builder.build(t.stage, t.stageAttempt, t.jobId, spec.partition, attempt, w, epoch),
    bus,
    { maxTaskFailures: 4, slotsPerWorker: 2, localityWaitMs: 0 },
  );
  dag.attach(ts);
  // The skew hint listens to stage ends with the UI off too.
  bus.on('stageCompleted', () => {});
  if (setting === 'noop')
    bus.onAny(() => undefined, { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] }, copies: ['taskStart', 'taskEnd'] } as never);
  else if (setting !== 'off') {
    const store = new StatusStore();
    const log = setting === 'on' ? new EventLogWriter(logDir, `driver-${Math.random()}`) : undefined;
    // As ui/index.ts subscribes (an older build's bus ignores the option and gets each task event, as it did).
    bus.onAny(
      (e) => {
        if (e.type === 'taskBatch') {
          store.applyTasks(e.tasks);
          log?.writeTasks(e.tasks);
          return;
        }
        store.apply(e);
        log?.write(e);
      },
      { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] }, copies: ['taskStart', 'taskEnd'] } as never,
    );
  }
  let rddId = 0;
  const ctx = {
    isDriver: true,
    defaultParallelism: 2,
    newRddId: () => rddId++,
    newShuffleId: () => 0,
    ship: (fn: never, what: never) => shipFunction(fn, what),
    runJob: () => Promise.reject(new Error('not used')),
    persistRdd: () => {},
    unpersistRdd: async () => {},
    checkpointDir: undefined,
  };
  const rdd = new ParallelCollectionRDD(ctx as never, ParallelCollectionRDD.slice([], TASKS));
  const parts = [...Array(TASKS).keys()];
  return () => dag.runJob(rdd, parts, { kind: 'count' } as never, 'count');
}

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`UI on the driver's thread, schedulers alone, settings ${settings.join(', ')}, ${machine()}, load average ${load()}`);
const jobs: Record<string, () => Promise<unknown>> = {};
for (const [build, dist] of Object.entries(dists)) for (const setting of settings) jobs[`${build} ${setting}`] = await setup(dist, setting);
const names = Object.keys(jobs);
const pause = () => new Promise((resolve) => setTimeout(resolve, 3));
for (const n of names) for (let i = 0; i < 5; i++) await jobs[n]!();
const perTask: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const n of r % 2 === 0 ? names : [...names].reverse()) {
    const c0 = cpu();
    await jobs[n]!();
    await pause();
    (perTask[n] ??= []).push((cpu() - c0) / TASKS);
  }
}
for (const n of names) console.log(`  ${n.padEnd(20)} CPU ${median(perTask[n]!).toFixed(2)} µs per task (median of ${rounds} jobs of ${TASKS})`);
for (const build of Object.keys(dists)) {
  const off = perTask[`${build} off`];
  if (off === undefined) continue;
  for (const setting of settings.filter((x) => x !== 'off')) {
    const on = perTask[`${build} ${setting}`]!;
    const extra = median(on.map((x, i) => x - off[i]!));
    console.log(`  ${build}, ${setting} vs off: ${formatPaired(pairedDifference(on, off))}; ${extra.toFixed(2)} µs per task (median of the pairs)`);
  }
}
console.log(`  loaded in this order: ${Object.keys(dists).join(', ')}; load average at the end ${load()}`);
rmSync(logDir, { recursive: true, force: true });
process.exit(0);
