/**
 * Task starts and ends gathered by the scheduler during one turn and delivered as one `taskBatch` event (see
 * TaskBatchEvent): a listener that takes them so (the web UI's status store and event log) costs the scheduler a
 * few field writes per task instead of an event dispatched per task through the bus.
 */
import type { TaskMetrics } from '../exec/protocol.js';
import {
  TASK_ROW_CODES,
  TASK_ROW_FLAG,
  TASK_ROW_METRICS,
  TASK_ROW_WIDTH,
  type TaskEndEvent,
  type TaskEvents,
  type TaskRows,
  type TaskStartEvent,
} from './events.js';
import { writeMetrics } from './task-metrics.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What a batch's rows need besides their typed columns on another thread: its strings, as small arrays. */
export interface TaskRowsExtras {
  /** The batch's distinct executor ids (a few: one per worker); each row's index among them is in `idOf`. */
  readonly ids: readonly string[];
  /** Absent when no end of the batch has an error. */
  readonly errors?: ReadonlyArray<string | undefined>;
  /** Absent when no end of the batch has a key sample. */
  readonly keySamples?: ReadonlyArray<readonly string[] | undefined>;
}

/** Typed columns of rows another thread reads: TASK_ROW_WIDTH numbers, TASK_ROW_CODES codes and an id index a row. */
export interface TaskRowColumns {
  readonly numbers: Float64Array;
  readonly codes: Uint8Array;
  readonly idOf: Uint32Array;
}

/**
 * A batch's rows as plain data for another thread ({@link TaskEventBatch.toWire}, {@link TaskEventBatch.copyRows}): the
 * typed columns (copies whose buffers can be transferred, or views of shared memory), the strings as arrays. No
 * metrics objects: the rows hold the summarized metrics.
 */
export interface TaskRowsWire extends TaskRowColumns, TaskRowsExtras {
  readonly size: number;
}

/** The fields task starts and ends share, blank (a record is made once and refilled for every task). */
const blankTask = () => ({ stageId: 0, stageAttempt: 0, partition: 0, attempt: 0, workerIndex: 0, executorId: '', speculative: false });

const RESULTS = ['success', 'failed', 'killed'] as const;
const LOCALITIES = ['PROCESS_LOCAL', 'ANY', 'NO_PREF'] as const;

/**
 * The events of a batch, in order. The scheduler writes each as a typed row ({@link TaskEventBatch.start},
 * {@link TaskEventBatch.end}) while the task's outcome is in the cache, once for every listener: the status store and
 * the event log copy rows, where each read a record and the worker's metrics object again a batch later (cold,
 * docs/benchmarks.md sessions 17-21). `event(i)` makes a record of a row when a listener asks for one; records are
 * reused from batch to batch: read them while the batch is delivered, and copy what is kept.
 *
 * @example
 * ```ts
 * bus.onAny((e) => {
 *   if (e.type !== 'taskBatch') return;
 *   for (let i = 0; i < e.tasks.size; i++) count(e.tasks.event(i));
 * }, { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } });
 * ```
 */
export class TaskEventBatch implements TaskEvents, TaskRows {
  /** Records by event index, made from rows when asked for, or filled by hand (nextStart / nextEnd). */
  readonly #starts: Array<Mutable<TaskStartEvent> | undefined> = [];
  readonly #ends: Array<Mutable<TaskEndEvent> | undefined> = [];
  /** Per event: 0 a row not yet made a record, 1 a start record, 2 an end record (current for this batch). */
  #made = new Uint8Array(0);
  #size = 0;
  /** Events added as records (nextStart / nextEnd): the batch then has no rows. */
  #byHand = 0;
  /** End records handed out since the last clear (their metrics and errors are let go there). */
  #records = 0;
  /** Ends with an error, and with a key sample, since the last clear: toWire leaves out a column of none. */
  #withError = 0;
  #withKeySample = 0;
  #capacity = 0;
  numbers: Float64Array = new Float64Array(0);
  codes: Uint8Array = new Uint8Array(0);
  readonly executorIds: string[] = [];
  readonly errors: Array<string | undefined> = [];
  readonly metrics: Array<TaskMetrics | undefined> = [];
  readonly keySamples: Array<readonly string[] | undefined> = [];

  get size(): number {
    return this.#size;
  }

  get rows(): TaskRows | undefined {
    return this.#byHand === 0 ? this : undefined;
  }

  #next(): number {
    if (this.#size === this.#capacity) this.#grow();
    return this.#size++;
  }

  #grow(): void {
    const capacity = Math.max(64, this.#capacity * 2);
    const numbers = new Float64Array(capacity * TASK_ROW_WIDTH);
    numbers.set(this.numbers);
    const codes = new Uint8Array(capacity * TASK_ROW_CODES);
    codes.set(this.codes);
    const made = new Uint8Array(capacity);
    // An adopted batch's flags may be longer than its rows (see adopt).
    made.set(this.#made.subarray(0, this.#capacity));
    this.numbers = numbers;
    this.codes = codes;
    this.#made = made;
    for (let i = this.executorIds.length; i < capacity; i++) {
      this.executorIds.push('');
      this.errors.push(undefined);
      this.metrics.push(undefined);
      this.keySamples.push(undefined);
      this.#starts.push(undefined);
      this.#ends.push(undefined);
    }
    this.#capacity = capacity;
  }

  /** Adds a task start as a row. */
  start(
    stageId: number,
    stageAttempt: number,
    partition: number,
    attempt: number,
    workerIndex: number,
    executorId: string,
    speculative: boolean,
    time: number,
  ): void {
    const i = this.#head(stageId, stageAttempt, partition, attempt, workerIndex, executorId, speculative, 0, time);
    this.numbers[i * TASK_ROW_WIDTH + TASK_ROW_FLAG] = 0;
    const c = this.codes;
    c[i * TASK_ROW_CODES] = 0;
    c[i * TASK_ROW_CODES + 2] = 0;
    c[i * TASK_ROW_CODES + 3] = 0;
  }

  /** Adds a task end as a row (its metrics copied now, while the worker's object is in the cache). */
  end(
    stageId: number,
    stageAttempt: number,
    partition: number,
    attempt: number,
    workerIndex: number,
    executorId: string,
    speculative: boolean,
    result: TaskEndEvent['result'],
    error: string | undefined,
    durationMs: number,
    metrics: TaskMetrics | undefined,
    locality: TaskEndEvent['locality'],
    time: number,
  ): void {
    const i = this.#head(stageId, stageAttempt, partition, attempt, workerIndex, executorId, speculative, durationMs, time);
    const n = this.numbers;
    const o = i * TASK_ROW_WIDTH;
    if (metrics === undefined) {
      n.fill(0, o + TASK_ROW_FLAG, o + TASK_ROW_WIDTH);
      this.keySamples[i] = undefined;
    } else {
      n[o + TASK_ROW_FLAG] = 1;
      writeMetrics(n, o + TASK_ROW_METRICS, metrics);
      const keySample = metrics.keySample;
      this.keySamples[i] = keySample;
      if (keySample !== undefined) this.#withKeySample++;
    }
    if (error !== undefined) this.#withError++;
    const c = this.codes;
    c[i * TASK_ROW_CODES] = 1;
    c[i * TASK_ROW_CODES + 2] = result === 'success' ? 0 : result === 'failed' ? 1 : 2;
    c[i * TASK_ROW_CODES + 3] = locality === 'PROCESS_LOCAL' ? 0 : locality === 'ANY' ? 1 : 2;
    this.errors[i] = error;
    this.metrics[i] = metrics;
  }

  /** The next row with the fields a start and an end share written; returns its index. */
  #head(
    stageId: number,
    stageAttempt: number,
    partition: number,
    attempt: number,
    workerIndex: number,
    executorId: string,
    speculative: boolean,
    durationMs: number,
    time: number,
  ): number {
    const i = this.#next();
    const n = this.numbers;
    const o = i * TASK_ROW_WIDTH;
    n[o] = stageId;
    n[o + 1] = stageAttempt;
    n[o + 2] = partition;
    n[o + 3] = attempt;
    n[o + 4] = workerIndex;
    n[o + 5] = durationMs;
    n[o + 6] = time;
    this.codes[i * TASK_ROW_CODES + 1] = speculative ? 1 : 0;
    this.executorIds[i] = executorId;
    this.#made[i] = 0;
    return i;
  }

  /** Adds an event as a row (tests, replays). */
  add(e: TaskStartEvent | TaskEndEvent): void {
    if (e.type === 'taskStart') this.start(e.stageId, e.stageAttempt, e.partition, e.attempt, e.workerIndex, e.executorId, e.speculative, e.time);
    else
      this.end(
        e.stageId,
        e.stageAttempt,
        e.partition,
        e.attempt,
        e.workerIndex,
        e.executorId,
        e.speculative,
        e.result,
        e.error,
        e.durationMs,
        e.metrics,
        e.locality,
        e.time,
      );
  }

  /** The i-th event (0 ≤ i < size): a record of this batch, valid until the batch is cleared. */
  event(i: number): TaskStartEvent | TaskEndEvent {
    const made = this.#made[i];
    if (made === 1) return this.#starts[i]!;
    if (made === 2) return this.#ends[i]!;
    const n = this.numbers;
    const o = i * TASK_ROW_WIDTH;
    const c = this.codes;
    if (c[i * TASK_ROW_CODES] === 0) {
      const r = (this.#starts[i] ??= { type: 'taskStart', ...blankTask(), time: 0 });
      r.stageId = n[o]!;
      r.stageAttempt = n[o + 1]!;
      r.partition = n[o + 2]!;
      r.attempt = n[o + 3]!;
      r.workerIndex = n[o + 4]!;
      r.executorId = this.executorIds[i]!;
      r.speculative = c[i * TASK_ROW_CODES + 1] === 1;
      r.time = n[o + 6]!;
      this.#made[i] = 1;
      return r;
    }
    const r = this.#endRecord(i);
    this.#records++;
    r.stageId = n[o]!;
    r.stageAttempt = n[o + 1]!;
    r.partition = n[o + 2]!;
    r.attempt = n[o + 3]!;
    r.workerIndex = n[o + 4]!;
    r.executorId = this.executorIds[i]!;
    r.speculative = c[i * TASK_ROW_CODES + 1] === 1;
    r.result = RESULTS[c[i * TASK_ROW_CODES + 2]!]!;
    r.error = this.errors[i];
    r.durationMs = n[o + 5]!;
    r.metrics = this.metrics[i];
    r.locality = LOCALITIES[c[i * TASK_ROW_CODES + 3]!]!;
    r.time = n[o + 6]!;
    this.#made[i] = 2;
    return r;
  }

  #endRecord(i: number): Mutable<TaskEndEvent> {
    // One shape for every record: an absent error or metrics is an undefined field.
    return (this.#ends[i] ??= {
      type: 'taskEnd',
      ...blankTask(),
      result: 'success',
      error: undefined,
      durationMs: 0,
      metrics: undefined,
      locality: 'NO_PREF',
      time: 0,
    });
  }

  /** The record of a new task start, to fill in by hand (the batch then has no rows). */
  nextStart(): Mutable<TaskStartEvent> {
    const i = this.#next();
    this.#byHand++;
    this.#made[i] = 1;
    return (this.#starts[i] ??= { type: 'taskStart', ...blankTask(), time: 0 });
  }

  /** The record of a new task end, to fill in by hand (every field: a record keeps the previous task's values). */
  nextEnd(): Mutable<TaskEndEvent> {
    const i = this.#next();
    this.#byHand++;
    this.#records++;
    this.#made[i] = 2;
    return this.#endRecord(i);
  }

  /**
   * The rows as plain data for another thread (the web UI's): each typed column one native copy, whose buffer the
   * caller may transfer; only for a batch of rows ({@link TaskEventBatch.rows} defined). {@link TaskEventBatch.fromWire}
   * makes a batch of it again.
   *
   * @example
   * ```ts
   * const wire = batch.toWire();
   * port.postMessage(wire, [wire.numbers.buffer, wire.codes.buffer, wire.idOf.buffer]);
   * ```
   */
  toWire(): TaskRowsWire {
    const size = this.#size;
    const idOf = new Uint32Array(size);
    return {
      size,
      numbers: this.numbers.slice(0, size * TASK_ROW_WIDTH),
      codes: this.codes.slice(0, size * TASK_ROW_CODES),
      idOf,
      ...this.#extras(idOf, 0),
    };
  }

  /**
   * Copies the rows into `to` from its row `at` on (columns another thread reads, e.g. a ring of shared memory:
   * nothing is allocated but the extras' small arrays), and gives the rest that thread needs. `to` must have room for
   * {@link TaskEventBatch.size} rows from `at`.
   *
   * @example
   * ```ts
   * const extras = batch.copyRows(ring, at);
   * port.postMessage({ at, size: batch.size, ...extras });
   * ```
   */
  copyRows(to: TaskRowColumns, at: number): TaskRowsExtras {
    const size = this.#size;
    to.numbers.set(this.numbers.subarray(0, size * TASK_ROW_WIDTH), at * TASK_ROW_WIDTH);
    to.codes.set(this.codes.subarray(0, size * TASK_ROW_CODES), at * TASK_ROW_CODES);
    return this.#extras(to.idOf, at);
  }

  /** Writes each row's executor id index into `idOf` from `at` on; the distinct ids, errors and key samples. */
  #extras(idOf: Uint32Array, at: number): TaskRowsExtras {
    const size = this.#size;
    // The ids as a dictionary: cloning, and making again on the other side, a string per row was most of a post's cost.
    const ids: string[] = [];
    const executorIds = this.executorIds;
    let last: string | undefined;
    let lastIndex = 0;
    for (let i = 0; i < size; i++) {
      const id = executorIds[i]!;
      if (id !== last) {
        lastIndex = ids.indexOf(id);
        if (lastIndex < 0) lastIndex = ids.push(id) - 1;
        last = id;
      }
      idOf[at + i] = lastIndex;
    }
    return {
      ids,
      ...(this.#withError > 0 ? { errors: this.errors.slice(0, size) } : {}),
      ...(this.#withKeySample > 0 ? { keySamples: this.keySamples.slice(0, size) } : {}),
    };
  }

  /**
   * A batch of the rows another thread sent ({@link TaskEventBatch.toWire}), adopting its arrays. Its end records
   * (`event(i)`) carry no metrics object: the rows have the summarized metrics, which is what the status store reads.
   *
   * @example
   * ```ts
   * port.on('message', (wire: TaskRowsWire) => store.applyTasks(TaskEventBatch.fromWire(wire)));
   * ```
   */
  static fromWire(w: TaskRowsWire): TaskEventBatch {
    return new TaskEventBatch().adopt(w);
  }

  /**
   * Makes this batch the rows another thread sent, as {@link TaskEventBatch.fromWire} does, reusing its own arrays and
   * records: a reader that takes batch after batch (the UI's thread) allocates nothing per row. A fresh batch per message
   * pushed six arrays per row, ~0.1 µs a task of the UI thread's CPU with its collection (docs/benchmarks.md, session
   * 41). The batch before is gone: read each batch before adopting the next.
   *
   * @example
   * ```ts
   * const batch = new TaskEventBatch();
   * port.on('message', (wire: TaskRowsWire) => store.applyTasks(batch.adopt(wire)));
   * ```
   */
  adopt(w: TaskRowsWire): this {
    const size = w.size;
    this.numbers = w.numbers;
    this.codes = w.codes;
    if (this.#made.length < size) this.#made = new Uint8Array(Math.max(size, this.#made.length * 2));
    else this.#made.fill(0, 0, size);
    const executorIds = this.executorIds;
    for (let i = executorIds.length; i < size; i++) {
      executorIds.push('');
      this.errors.push(undefined);
      this.metrics.push(undefined);
      this.keySamples.push(undefined);
      this.#starts.push(undefined);
      this.#ends.push(undefined);
    }
    const ids = w.ids;
    const idOf = w.idOf;
    for (let i = 0; i < size; i++) executorIds[i] = ids[idOf[i]!]!;
    this.#withError = this.#copyOrBlank(this.errors, w.errors, size);
    this.#withKeySample = this.#copyOrBlank(this.keySamples, w.keySamples, size);
    this.metrics.fill(undefined, 0, size);
    this.#size = size;
    this.#capacity = size;
    this.#byHand = 0;
    this.#records = 0;
    return this;
  }

  /** `to`'s first `size` entries: `from`'s, or undefined when there is no `from`; returns how many are defined. */
  #copyOrBlank<T>(to: Array<T | undefined>, from: ReadonlyArray<T | undefined> | undefined, size: number): number {
    if (from === undefined) {
      to.fill(undefined, 0, size);
      return 0;
    }
    let defined = 0;
    for (let i = 0; i < size; i++) if ((to[i] = from[i]) !== undefined) defined++;
    return defined;
  }

  /** Empties the batch; its records and rows are reused. */
  clear(): void {
    // The worker's metrics and errors go with their tasks, not with the batch.
    const size = this.#size;
    this.errors.fill(undefined, 0, size);
    this.metrics.fill(undefined, 0, size);
    this.keySamples.fill(undefined, 0, size);
    if (this.#records > 0) {
      for (let i = 0; i < size; i++) {
        const r = this.#ends[i];
        if (r !== undefined) {
          r.metrics = undefined;
          r.error = undefined;
        }
      }
    }
    this.#size = 0;
    this.#byHand = 0;
    this.#records = 0;
    this.#withError = 0;
    this.#withKeySample = 0;
  }
}
