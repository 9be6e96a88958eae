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

/**
 * `xs`, handed out with a check every INTERRUPT_MASK + 1 elements (Spark's InterruptibleIterator): what an RDD's
 * `iterator` returns, so that code pulling a partition (a user's mapPartitions generator, zip, take, a save) passes
 * checks as the engine's push loops do. Iterable again as `xs` is; an early `return` reaches `xs`'s iterator (a
 * generator's `finally` closes its file). Iterator classes, not generators: a generator wrapping an array took about
 * 1.5 times as long as the class in a micro-benchmark (the class about as long as the array's own iterator).
 */
export function interruptible<T>(xs: Iterable<T>): Iterable<T> {
  if (Array.isArray(xs)) return new InterruptibleArray(xs as readonly T[]);
  if (xs instanceof InterruptibleArray || xs instanceof InterruptibleIterable || xs instanceof InterruptibleIterator) return xs;
  // A generator stays an iterator (one pass, with `next`), as code written against Spark's Iterator may use it.
  if (typeof (xs as Partial<Iterator<T>>).next === 'function') return new InterruptibleIterator(xs as unknown as Iterator<T>);
  return new InterruptibleIterable(xs);
}

class InterruptibleArray<T> implements Iterable<T> {
  constructor(readonly xs: readonly T[]) {}
  [Symbol.iterator](): Iterator<T> {
    return new InterruptibleArrayIterator(this.xs);
  }
}

/**
 * A pulled partition's check, for the task computing when its iteration began: code may pull after an await (an async
 * foreachPartition), when another task of the thread is the one set, and that task's stop must not end this one.
 */
class PulledBy {
  readonly task = current;
  seen = Number.NaN;
  check(): void {
    if (flags === undefined || this.task === undefined) return;
    const n = Atomics.load(flags, 0);
    if (n === this.seen) return;
    this.seen = n;
    if (inRing(flags, this.task)) throw new TaskInterruptedError(this.task);
  }
}

class InterruptibleArrayIterator<T> implements Iterator<T> {
  i = 0;
  readonly by = new PulledBy();
  constructor(readonly xs: readonly T[]) {}
  next(): IteratorResult<T> {
    const i = this.i;
    if (i >= this.xs.length) return { done: true, value: undefined };
    this.i = i + 1;
    if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) this.by.check();
    return { done: false, value: this.xs[i] as T };
  }
}

class InterruptibleIterable<T> implements Iterable<T> {
  constructor(readonly xs: Iterable<T>) {}
  [Symbol.iterator](): Iterator<T> {
    return new InterruptibleIterator(this.xs[Symbol.iterator]());
  }
}

class InterruptibleIterator<T> implements IterableIterator<T> {
  i = 0;
  readonly by = new PulledBy();
  constructor(readonly it: Iterator<T>) {}
  [Symbol.iterator](): IterableIterator<T> {
    return this;
  }
  next(): IteratorResult<T> {
    if ((++this.i & INTERRUPT_MASK) === 0) this.by.check();
    return this.it.next();
  }
  return(value?: unknown): IteratorResult<T> {
    return this.it.return === undefined ? { done: true, value: value as T } : this.it.return(value);
  }
}
