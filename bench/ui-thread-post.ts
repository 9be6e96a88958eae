/**
 * What the UI's per-task work costs the driver's thread where it is done, measured inside the listener call (so that
 * the workers, the scheduler and other processes' load barely enter): the scheduler's task batches of empty-task jobs,
 * either folded into a status store on the driver (before session 31) or handed to the live UI's thread as
 * live-ui.ts does since session 31 (`startLiveUi`'s `applyTasks` / `apply`: `toWire`, queued, posted with the
 * columns transferred). Jobs alternate between the
 * two; each job's listener time is summed (hrtime, µs per task) and so is the driver thread's CPU time over the job
 * minus an off job's.
 *
 *   npx tsx bench/ui-thread-post.ts [--jobs 30] [--tasks 4000]
 */
import { readFileSync } from 'node:fs';
import { Context } from 'kindling';
import type { SchedulerEvent, TaskEvents } from '../src/scheduler/events.js';
import { StatusStore } from '../src/ui/status-store.js';
import { startLiveUi } from '../src/ui/live-ui.js';
import type { AppEvent } from '../src/ui/app-events.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg('--jobs', 30);
const TASKS = arg('--tasks', 4000);
const threadNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const ui = { host: '127.0.0.1', port: 0, retainedJobs: 1000, retainedStages: 1000, killEnabled: false };
const live = startLiveUi({ appName: 'bench', numWorkers: 2, storageBytesPerWorker: 0, options: {}, ui, eventLog: false }, ui, 'app-bench', undefined);
const store = new StatusStore();
let mode: 'driver' | 'thread' | 'off' = 'off';
let listenerNs = 0n;
let listenerCpuNs = 0;
let batches = 0;
const sc = new Context({ master: 'local[2]', progress: false, ui: false });
sc.events.onAny(
  (e: SchedulerEvent) => {
    // Off reads the thread's CPU clock around nothing: what the reads themselves cost, subtracted below.
    const c0 = threadNs();
    const t0 = process.hrtime.bigint();
    if (mode === 'off') void 0;
    else if (e.type === 'taskBatch') {
      const tasks = (e as { tasks: TaskEvents }).tasks;
      batches++;
      if (mode === 'driver') store.applyTasks(tasks);
      else live.applyTasks(tasks);
    } else if (mode === 'driver') store.apply(e as AppEvent);
    else live.apply(e as AppEvent);
    listenerNs += process.hrtime.bigint() - t0;
    listenerCpuNs += threadNs() - c0;
  },
  { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } },
);
const rdd = sc.parallelize([], TASKS);
for (let i = 0; i < 3; i++) await rdd.count();
batches = 0;
const got: Record<string, { listener: number[]; cpu: number[]; thread: number[] }> = {
  driver: { listener: [], cpu: [], thread: [] },
  thread: { listener: [], cpu: [], thread: [] },
  off: { listener: [], cpu: [], thread: [] },
};
const order = ['driver', 'thread', 'off'] as const;
for (let j = 0; j < JOBS; j++) {
  for (const m of j % 2 === 0 ? order : [...order].reverse()) {
    mode = m;
    listenerNs = 0n;
    listenerCpuNs = 0;
    const c0 = threadNs();
    await rdd.count();
    got[m]!.thread.push((threadNs() - c0) / 1000 / TASKS);
    got[m]!.listener.push(Number(listenerNs) / 1000 / TASKS);
    got[m]!.cpu.push(listenerCpuNs / 1000 / TASKS);
  }
}
await sc.stop();
await live.stop();
const off = median(got.off!.thread);
console.log(`${(batches / (JOBS * 2)).toFixed(1)} task batches per job of ${TASKS} tasks`);
const offCpu = median(got.off!.cpu);
for (const m of ['driver', 'thread'] as const) {
  console.log(
    `${m.padEnd(6)}: listener CPU ${(median(got[m]!.cpu) - offCpu).toFixed(3)} µs per task (the driver thread's CPU clock in the call, ` +
      `less the clock reads' own ${offCpu.toFixed(3)}), wall in the call ${median(got[m]!.listener).toFixed(3)} µs; driver thread CPU ` +
      `${median(got[m]!.thread).toFixed(2)} µs per task, ${(median(got[m]!.thread) - off).toFixed(2)} over no listener work (${off.toFixed(2)})`,
  );
}
