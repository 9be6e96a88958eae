/**
 * The UI's thread as background work: it lowers its own scheduling priority, so that on a machine with fewer free
 * cores than busy threads the job's threads (the driver, the workers) run first and a post that wakes the UI's
 * thread does not take the core from the driver. Spark's listener bus runs at the JVM's one priority; here the
 * kernel can do better, since what the UI folds is read only when someone asks.
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * The nice value the UI's thread takes (0 is the driver's; 19 the lowest). Chosen by measurement against 0 and 10
 * (docs/benchmarks.md, session 32, uibg). Not SCHED_IDLE: Node cannot set it, and a thread that only ever runs on an
 * idle core would leave a REST answer waiting for the whole backlog on a loaded machine; at nice 19 it still gets a
 * share of a busy core (~1.5 % against one thread at 0), so an answer waits at most for what was queued before it.
 */
export const UI_THREAD_NICE = 19;

/**
 * Lowers the calling thread's priority to `nice` (Linux: a thread's id names it alone to setpriority(2), so the
 * driver and the workers keep theirs). Returns the thread's id, or undefined where it was not done (another OS:
 * there `setPriority` would renice the whole process; or a refusal): the UI then runs as before, which is no reason
 * to fail it.
 *
 * @example
 * ```ts
 * // first thing in a worker thread's module
 * lowerThreadPriority(UI_THREAD_NICE); // 1234, or undefined off Linux
 * ```
 */
export function lowerThreadPriority(nice: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // '/proc/thread-self' links to '<pid>/task/<tid>'.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (!Number.isInteger(tid) || tid <= 0) return undefined;
    os.setPriority(tid, nice);
    return tid;
  } catch {
    return undefined;
  }
}
