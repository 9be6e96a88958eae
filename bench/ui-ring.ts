/**
 * What the live UI's task rows cost the driver's thread, from the scheduler's batch to the post: jobs of 4,000 empty
 * tasks' starts and ends written into two batches in turn as the task scheduler writes them (`start`/`end` with a
 * worker's metrics object, delivered every 256 rows through the bus's hold), taken by a live UI started as a context
 * starts it (its thread running, the event log on and handed to the thread), each build in its own UI, alternating
 * job by job in one process. Measured: the driver thread's CPU per task (schedstat) of each job, and its UI's thread's
 * (the threads the UI started, read once a request has waited for the job's rows to be folded), the paired
 * differences per round (bench/paired.ts): a change to the rows' wire shows on both sides of it. Not in it: the scheduler's own work around the rows, the workers and their messages,
 * which are the same with either build. A batch is delivered every ~1 ms (a real job delivers one every 10-15 ms), so
 * that the UI's thread keeps up and the ring takes the rows, as in a program.
 *
 *   npx tsx bench/ui-ring.ts [--rounds 15] [--jobs 3] [--baseline .bench-old/dist]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { machine, numberArg } from './harness.js';
import { median } from './paired.js';
import { zeroTaskMetrics } from '../src/exec/protocol.js';
import { loadAverage, printPerTask, threadNs } from './ui-recording.js';
import type { EventBus } from '../src/scheduler/event-bus.js';
import type { SchedulerEvent } from '../src/scheduler/events.js';
import type { TaskEventBatch } from '../src/scheduler/task-event-batch.js';
import type { startUi } from '../src/ui/index.js';

const rounds = numberArg('--rounds', 15);
const jobsPerRound = numberArg('--jobs', 3);
const TASKS = 4000;
const BATCH = 256;
const dists: Record<string, string> = { 'this build': path.resolve('dist') };
const at = process.argv.indexOf('--baseline');
if (at > 0) dists.baseline = path.resolve(process.argv[at + 1]!);
const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-ring-'));
console.log(`the live UI's task rows on the driver's thread, ${machine()}, load average ${loadAverage()}`);

/** An empty task's metrics, as a worker reports them. */
const metrics = zeroTaskMetrics({ durationMs: 0.02, runMs: 0.01, resultRecords: 1, resultBytes: 8 });

/** This process's thread ids. */
const tids = (): string[] => readdirSync('/proc/self/task');
/** CPU ns of the given threads, summed (a thread gone counts 0). */
const threadsNs = (ts: readonly string[]): number =>
  ts.reduce((sum, t) => {
    try {
      return sum + Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      return sum;
    }
  }, 0);

interface Setup {
  /** The driver thread's CPU µs per task of a job, and its UI thread's (once it folded the job's rows). */
  readonly job: (jobId: number) => Promise<{ driver: number; ui: number }>;
  readonly stop: () => Promise<void>;
}

async function setUp(name: string, dist: string): Promise<Setup> {
  const load = async <T>(f: string) => (await import(pathToFileURL(path.join(dist, f)).href)) as T;
  const { EventBus: Bus } = await load<{ EventBus: typeof EventBus }>('scheduler/event-bus.js');
  const { TaskEventBatch: Batch } = await load<{ TaskEventBatch: typeof TaskEventBatch }>('scheduler/task-event-batch.js');
  const { startUi: start } = await load<{ startUi: typeof startUi }>('ui/index.js');
  const bus = new Bus<SchedulerEvent>();
  const before = new Set(tids());
  const ui = start(bus, {
    appName: name,
    numWorkers: 2,
    storageBytesPerWorker: 1,
    options: {},
    ui: { port: 0, host: '127.0.0.1', killEnabled: false, retainedJobs: 1000, retainedStages: 1000 },
    eventLog: { dir },
    runningTasks: () => [],
  } as Parameters<typeof startUi>[1])!;
  // The live UI (its thread, the ring, the log handed over) loads on the first request.
  const url = await ui.url();
  await fetch(`${url}/api/v1/applications/${ui.appId}/jobs`);
  // The threads this UI started: its own thread (libuv's pool was started before any UI).
  const uiThreads = tids().filter((t) => !before.has(t));
  let batch = new Batch();
  let spare = new Batch();
  const deliver = () => {
    const full = batch;
    if (full.size === 0) return;
    batch = spare;
    spare = full;
    try {
      bus.emit({ type: 'taskBatch', tasks: full });
    } finally {
      full.clear();
    }
  };
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1));
  return {
    job: async (jobId) => {
      const stageId = jobId;
      const t0 = Date.now();
      // The whole job's CPU, its pauses' timers included (the same for every build): schedstat is brought up to date
      // only at a tick or a switch, too coarse for a batch's ~50 µs.
      const c0 = threadNs();
      const u0 = threadsNs(uiThreads);
      bus.emit({ type: 'jobStart', jobId, time: t0, description: 'count', stageIds: [stageId] } as SchedulerEvent);
      bus.emit({ type: 'stageSubmitted', jobId, stageId, attempt: 0, name: 'count', numTasks: TASKS, numPartitions: TASKS, time: t0 });
      let rows = 0;
      for (let p = 0, ended = 0; ended < TASKS; ) {
        if (batch.size === 0) bus.hold(deliver);
        // Starts run ahead of ends by up to 64 tasks, as a scheduler's queued tasks.
        if (p < TASKS && p - ended < 64) {
          batch.start(stageId, 0, p, 0, p & 1, String(p & 1), false, t0 + p);
          p++;
        } else {
          batch.end(stageId, 0, ended, 0, ended & 1, String(ended & 1), false, 'success', undefined, 0.02, { ...metrics }, 'NO_PREF', t0 + ended);
          ended++;
        }
        if (++rows % BATCH === 0) {
          bus.flushHeld();
          await pause();
        }
      }
      bus.flushHeld();
      bus.emit({ type: 'stageCompleted', jobId, stageId, attempt: 0, time: Date.now(), result: 'succeeded' } as SchedulerEvent);
      bus.emit({ type: 'jobEnd', jobId, time: Date.now(), result: 'succeeded' });
      await pause();
      const driver = (threadNs() - c0) / 1000 / TASKS;
      // After every row is folded: a request is answered after the events before it.
      await fetch(`${url}/api/v1/version`);
      return { driver, ui: (threadsNs(uiThreads) - u0) / 1000 / TASKS };
    },
    stop: () => ui.stop(),
  };
}

// libuv's pool started before any UI, so that its threads are no UI's.
await stat('.');
const setups: Record<string, Setup> = {};
for (const [name, dist] of Object.entries(dists)) setups[name] = await setUp(name, dist);
const perTask: Record<string, number[]> = {};
const uiPerTask: Record<string, number[]> = {};
let jobId = 0;
// Warm-up: a few jobs each, not measured.
for (let w = 0; w < 3; w++) for (const s of Object.values(setups)) await s.job(jobId++);
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(setups);
  for (const name of r % 2 === 0 ? names : names.reverse()) {
    const xs: number[] = [];
    const us: number[] = [];
    for (let j = 0; j < jobsPerRound; j++) {
      const { driver, ui } = await setups[name]!.job(jobId++);
      xs.push(driver);
      us.push(ui);
    }
    (perTask[name] ??= []).push(median(xs));
    (uiPerTask[name] ??= []).push(median(us));
  }
}
for (const s of Object.values(setups)) await s.stop();
rmSync(dir, { recursive: true, force: true });
printPerTask(perTask, 'driver CPU');
printPerTask(uiPerTask, 'UI thread CPU');
console.log(`  load average at the end ${loadAverage()}`);
process.exit(0);
