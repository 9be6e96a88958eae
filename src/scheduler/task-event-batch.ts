/**
 * Task starts and ends gathered by the scheduler during one turn and delivered as one `taskBatch` event (see
 * TaskBatchEvent): a listener that takes them so (the web UI's status store and event log) costs the scheduler a
 * few field writes per task instead of an event dispatched per task through the bus.
 */
import type { TaskEndEvent, TaskEvents, TaskStartEvent } from './events.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The fields task starts and ends share, blank (a record is made once and refilled for every task). */
const blankTask = () => ({ stageId: 0, stageAttempt: 0, partition: 0, attempt: 0, workerIndex: 0, executorId: '', speculative: false });

/**
 * The events of a batch, in order, in records reused from batch to batch (a new object per task was garbage for
 * every task): read them while the batch is delivered, and copy what is kept.
 *
 * @example
 * ```ts
 * bus.onAny((e) => {
 *   if (e.type !== 'taskBatch') return;
 *   for (let i = 0; i < e.tasks.size; i++) count(e.tasks.event(i));
 * }, { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } });
 * ```
 */
export class TaskEventBatch implements TaskEvents {
  readonly #starts: Array<Mutable<TaskStartEvent>> = [];
  readonly #ends: Array<Mutable<TaskEndEvent>> = [];
  readonly #order: Array<TaskStartEvent | TaskEndEvent> = [];
  #size = 0;
  #startsUsed = 0;
  #endsUsed = 0;

  get size(): number {
    return this.#size;
  }

  /** The i-th event (0 ≤ i < size): a record of this batch, valid until the batch is cleared. */
  event(i: number): TaskStartEvent | TaskEndEvent {
    return this.#order[i]!;
  }

  /** The record of a new task start, to fill in. */
  nextStart(): Mutable<TaskStartEvent> {
    const r = (this.#starts[this.#startsUsed++] ??= { type: 'taskStart', ...blankTask(), time: 0 });
    this.#order[this.#size++] = r;
    return r;
  }

  /** The record of a new task end, to fill in (every field: a record keeps the previous task's values). */
  nextEnd(): Mutable<TaskEndEvent> {
    // One shape for every record: an absent error or metrics is an undefined field.
    const r = (this.#ends[this.#endsUsed++] ??= {
      type: 'taskEnd',
      ...blankTask(),
      result: 'success',
      error: undefined,
      durationMs: 0,
      metrics: undefined,
      locality: 'NO_PREF',
      time: 0,
    });
    this.#order[this.#size++] = r;
    return r;
  }

  /** Empties the batch; its records are reused. */
  clear(): void {
    // The worker's metrics and errors go with their tasks, not with the records.
    for (let i = 0; i < this.#endsUsed; i++) {
      this.#ends[i]!.metrics = undefined;
      this.#ends[i]!.error = undefined;
    }
    this.#size = 0;
    this.#startsUsed = 0;
    this.#endsUsed = 0;
  }
}
