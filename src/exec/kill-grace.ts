/**
 * The grace a cancelled task's thread has to reach its next record check (core/task-interrupt.ts) before its host
 * terminates it. The grace is time the thread could have computed in: on a loaded machine a thread on its way to its
 * next record can wait for a CPU longer than the grace, and replacing it then loses its worker's cached blocks and
 * map outputs for a task that was stopping as asked. So while the thread has had less CPU than the grace since the
 * request and is runnable (on a CPU or waiting for one), the grace waits, up to {@link GRACE_CAP} graces. A task
 * looping without a record uses the CPU, one asleep is not runnable: each is terminated after the grace, as before.
 * Where the thread's state cannot be read (not Linux, no thread id written yet) the grace is wall time.
 */
import { readFileSync } from 'node:fs';

/** A cancelled task's kill grace, stretched while its thread waits for a CPU, ends by this many graces at the latest. */
export const GRACE_CAP = 10;

/**
 * Calls `kill` (with the ms waited) once the grace of a task asked to stop now has passed, unless `stillComputing`
 * says it ended meanwhile; `osThread` holds the thread's OS id once the thread wrote it (WorkerInit.osThread).
 *
 * @example
 * ```ts
 * requestInterrupt(slot.interrupts, taskId);
 * afterKillGrace(slot.osThread, 1000, () => slot.inflight.has(taskId), () => void slot.worker.terminate());
 * ```
 */
export function afterKillGrace(
  osThread: Int32Array | undefined,
  graceMs: number,
  stillComputing: () => boolean,
  kill: (waitedMs: number) => void,
): void {
  const askedAt = Date.now();
  const cpuAtAsk = threadSched(osThread)?.cpuMs;
  const expire = (): void => {
    if (!stillComputing()) return;
    const now = cpuAtAsk === undefined ? undefined : threadSched(osThread);
    const cpuMs = now === undefined ? graceMs : now.cpuMs - cpuAtAsk!;
    const capAt = askedAt + GRACE_CAP * graceMs;
    if (now?.runnable === true && cpuMs < graceMs && Date.now() < capAt) {
      setTimeout(expire, Math.max(10, Math.min(graceMs - cpuMs, capAt - Date.now()))).unref();
      return;
    }
    kill(Date.now() - askedAt);
  };
  setTimeout(expire, graceMs).unref();
}

/**
 * The thread's on-CPU time so far and whether it is runnable now, from Linux's /proc; undefined where that cannot be
 * read. Linux adds a thread's run-queue wait to its schedstat only when it next runs, so a starved thread is told by
 * its state, not by that.
 */
function threadSched(osThread: Int32Array | undefined): { cpuMs: number; runnable: boolean } | undefined {
  const tid = osThread === undefined ? 0 : Atomics.load(osThread, 0);
  if (tid === 0) return undefined;
  try {
    // The thread is this process's (a local pool's, or a cluster executor process's own worker thread).
    const cpuNs = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // "tid (name) S …": the name may hold spaces and parentheses, the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return Number.isFinite(cpuNs) ? { cpuMs: cpuNs / 1e6, runnable: state === 'R' } : undefined;
  } catch {
    return undefined;
  }
}
