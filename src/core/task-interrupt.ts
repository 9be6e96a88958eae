/**
 * Cooperative interruption of the task a worker thread computes (Spark's `TaskContext.isInterrupted`, checked by its
 * InterruptibleIterator at every record of a source). A worker computes a task synchronously, so the driver's
 * "cancel" message waits in its port until the computation ends: a cancelled job's task, or the loser of a speculative
 * race, went on computing, and past the kill grace its worker was terminated and replaced, taking every cached block
 * and map output of that worker with it (a cancelled long job emptied the whole cache). The host of the thread (the
 * local pool, or a cluster executor process) writes the task's id into a small shared buffer the thread was started
 * with; the engine's record loops (sources, the shuffle writer, the heap guard's periodic checks) look at it every so
 * many records and end the task with a {@link TaskInterruptedError}, which the executor reports as killed. Only code
 * that loops without passing a record (a user's `while (true)`) still needs the terminate after the grace.
 *
 * A check is one atomic load of a counter while nothing was asked; the ids sit in a ring of {@link SLOTS}, since a
 * request may come for a task that is not computing yet (it is found when that task starts) and a later request
 * must not hide it.
 */

/** Record loops check every INTERRUPT_MASK + 1 records: `if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted()`. */
export const INTERRUPT_MASK = 1023;

/** Requests remembered (a worker holds a few tasks at a time). */
const SLOTS = 16;

/** Thrown inside a task whose host asked it to stop; the executor reports the task killed, not failed. */
export class TaskInterruptedError extends Error {
  override readonly name = 'TaskInterruptedError';
  constructor(readonly taskId: number) {
    super(`task ${taskId} was interrupted: its job was cancelled or another attempt had already finished it`);
  }
}

/**
 * The buffer a host shares with one worker thread (passed in its workerData).
 *
 * @example
 * ```ts
 * const interrupts = newInterruptBuffer();
 * const worker = new Worker(entry, { workerData: { interrupts } });
 * requestInterrupt(interrupts, 42); // task 42 ends at its next check
 * ```
 */
export function newInterruptBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * (1 + SLOTS));
}

/** A task's id as a slot holds it: never 0, the value of a slot not written yet (task ids start at 0). */
const slotValue = (taskId: number): number => (taskId + 1) | 0;

/** Host side (one writer per buffer: the thread's host): asks the thread to stop task `taskId` at its next check. */
export function requestInterrupt(buffer: SharedArrayBuffer, taskId: number): void {
  const a = new Int32Array(buffer);
  const n = Atomics.load(a, 0);
  Atomics.store(a, 1 + (n & (SLOTS - 1)), slotValue(taskId));
  // The count last: a thread that sees it changed finds the id already written.
  Atomics.store(a, 0, (n + 1) | 0);
}

// ---- the worker thread's side ----------------------------------------------------------------------------------

let flags: Int32Array | undefined;
/** The count of requests last looked through; NaN forces a look (a task just started). */
let seen = Number.NaN;
let current: number | undefined;

/** Arms this thread's checks with its host's buffer (undefined: none, every check returns at once). */
export function armInterrupts(buffer: SharedArrayBuffer | undefined): void {
  flags = buffer === undefined ? undefined : new Int32Array(buffer);
  seen = Number.NaN;
}

/** The task computing now (undefined between tasks): a request for it, even one made before it started, stops it. */
export function setInterruptibleTask(taskId: number | undefined): void {
  current = taskId;
  seen = Number.NaN;
}

/** Whether the host asked this thread to stop `taskId` (no state changed: for a user's `taskContext().isInterrupted()`). */
export function interruptRequested(taskId: number): boolean {
  // Most threads are never asked: one load says so.
  return flags !== undefined && Atomics.load(flags, 0) !== 0 && inRing(flags, taskId);
}

function inRing(a: Int32Array, taskId: number): boolean {
  const id = slotValue(taskId);
  for (let i = 1; i <= SLOTS; i++) if (Atomics.load(a, i) === id) return true;
  return false;
}

/** Forgets `taskId` if it is still the task set (another may have started while it awaited). */
export function clearInterruptibleTask(taskId: number): void {
  if (current === taskId) current = undefined;
}

/** Throws a {@link TaskInterruptedError} if the host asked the computing task to stop. Cheap: call it every ~1,000 records. */
export function checkInterrupted(): void {
  if (flags === undefined) return;
  const n = Atomics.load(flags, 0);
  if (n === seen) return;
  seen = n;
  if (current !== undefined && inRing(flags, current)) throw new TaskInterruptedError(current);
}
