/**
 * Task starts and ends gathered by the scheduler during one turn and delivered as one `taskBatch` event (see
 * TaskBatchEvent): a listener that takes them so (the web UI's status store and event log) costs the scheduler a
 * few typed-array writes per task instead of an event dispatched per task through the bus.
 */
import type { TaskMetrics } from '../exec/protocol.js';
import type { TaskEndEvent, TaskEvents, TaskStartEvent } from './events.js';
import { SUMMARIZED_METRICS, writeMetrics } from './task-metrics.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Where a task event's numbers lie in its row of {@link TaskEvents.numbers}: the fields of a task end in the order
 * the event log's block keeps them, then 1 when it has metrics, then its metrics in SUMMARIZED_METRICS order (all 0
 * when it has none). A start sets the fields up to `time`, but for `durationMs`.
 */
export const TASK_ROW = {
  stageId: 0,
  stageAttempt: 1,
  partition: 2,
  attempt: 3,
  workerIndex: 4,
  durationMs: 5,
  time: 6,
  hasMetrics: 7,
  metrics: 8,
} as const;
export const TASK_ROW_WIDTH = TASK_ROW.metrics + SUMMARIZED_METRICS.length;

/** Where a task event's codes lie in its row of {@link TaskEvents.codes} (a start sets kind and speculative). */
export const TASK_CODE = { kind: 0, speculative: 1, result: 2, locality: 3 } as const;
export const TASK_CODES = 4;
/** `codes[TASK_CODE.kind]`. */
export const TASK_START = 0;
export const TASK_END = 1;
/** `codes[TASK_CODE.result]`: an index into this. */
export const TASK_RESULTS = ['success', 'failed', 'killed'] as const;
/** `codes[TASK_CODE.locality]`: an index into this; 3 is a value the type does not know (an old or odd log). */
export const TASK_LOCALITIES = ['PROCESS_LOCAL', 'ANY', 'NO_PREF'] as const;
export const OTHER_LOCALITY = 3;

const resultCode = (r: string): number => (r === 'success' ? 0 : r === 'failed' ? 1 : 2);
const localityCode = (l: string): number => (l === 'PROCESS_LOCAL' ? 0 : l === 'ANY' ? 1 : l === 'NO_PREF' ? 2 : OTHER_LOCALITY);

/** The fields task starts and ends share, blank (a record is made once and refilled for every task). */
const blankTask = () => ({ stageId: 0, stageAttempt: 0, partition: 0, attempt: 0, workerIndex: 0, executorId: '', speculative: false });

/**
 * The events of a batch, in order, as rows of a typed array reused from batch to batch, which the scheduler fills
 * while each task's outcome and metrics are in the processor's caches. The status store and the event log read the
 * rows; `event(i)` makes a record of one (reused like the rows) for other listeners.
 *
 * Why rows: the store and the log read each task's worker-made metrics object, and the batch's records, up to 10 ms
 * and ~100 messages after the task ended, when they had left the nearer caches: in a program, the store cost 2-3x
 * what it cost replaying the same events (docs/benchmarks.md, sessions 17 and 18), and writing a record's two
 * time fields was most of the scheduler's own cost per batched task (a double field is a box of its own).
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
  #numbers: Float64Array;
  #codes: Uint8Array;
  #executorIds: Array<string | undefined> = [];
  #errors: Array<string | undefined> = [];
  #metrics: Array<TaskMetrics | undefined> = [];
  #keySamples: Array<readonly string[] | undefined> = [];
  /** Which start or end record `event(i)` fills. */
  #slots: Int32Array;
  #capacity: number;
  #size = 0;
  #startsUsed = 0;
  #endsUsed = 0;
  readonly #starts: Array<Mutable<TaskStartEvent>> = [];
  readonly #ends: Array<Mutable<TaskEndEvent>> = [];
  /** event(i) filled a record since the last clear (which then lets go of its metrics and error). */
  #madeRecords = false;

  constructor(capacity = 256) {
    this.#capacity = Math.max(1, capacity);
    this.#numbers = new Float64Array(this.#capacity * TASK_ROW_WIDTH);
    this.#codes = new Uint8Array(this.#capacity * TASK_CODES);
    this.#slots = new Int32Array(this.#capacity);
  }

  get size(): number {
    return this.#size;
  }

  get numbers(): Float64Array {
    return this.#numbers;
  }

  get codes(): Uint8Array {
    return this.#codes;
  }

  executorId(i: number): string | undefined {
    return this.#executorIds[i];
  }

  error(i: number): string | undefined {
    return this.#errors[i];
  }

  keySample(i: number): readonly string[] | undefined {
    return this.#keySamples[i];
  }

  #next(): number {
    if (this.#size === this.#capacity) this.#grow();
    return this.#size++;
  }

  #grow(): void {
    const capacity = this.#capacity * 2;
    const numbers = new Float64Array(capacity * TASK_ROW_WIDTH);
    numbers.set(this.#numbers);
    const codes = new Uint8Array(capacity * TASK_CODES);
    codes.set(this.#codes);
    const slots = new Int32Array(capacity);
    slots.set(this.#slots);
    this.#numbers = numbers;
    this.#codes = codes;
    this.#slots = slots;
    this.#capacity = capacity;
  }

  /** Adds a task start. */
  start(
    stageId: number,
    stageAttempt: number,
    partition: number,
    attempt: number,
    workerIndex: number,
    executorId: string | undefined,
    speculative: boolean,
    time: number,
  ): void {
    const i = this.#next();
    const n = this.#numbers;
    const o = i * TASK_ROW_WIDTH;
    n[o] = stageId;
    n[o + 1] = stageAttempt;
    n[o + 2] = partition;
    n[o + 3] = attempt;
    n[o + 4] = workerIndex;
    n[o + 6] = time;
    const c = this.#codes;
    c[i * TASK_CODES] = TASK_START;
    c[i * TASK_CODES + 1] = speculative ? 1 : 0;
    this.#executorIds[i] = executorId;
    this.#errors[i] = undefined;
    this.#metrics[i] = undefined;
    this.#keySamples[i] = undefined;
    this.#slots[i] = this.#startsUsed++;
  }

  /** Adds a task end; its metrics are copied into its row now (and kept, by reference, only for `event(i)`). */
  end(
    stageId: number,
    stageAttempt: number,
    partition: number,
    attempt: number,
    workerIndex: number,
    executorId: string | undefined,
    speculative: boolean,
    result: TaskEndEvent['result'],
    error: string | undefined,
    durationMs: number,
    metrics: TaskMetrics | undefined,
    locality: TaskEndEvent['locality'],
    time: number,
  ): void {
    const i = this.#next();
    const n = this.#numbers;
    const o = i * TASK_ROW_WIDTH;
    n[o] = stageId;
    n[o + 1] = stageAttempt;
    n[o + 2] = partition;
    n[o + 3] = attempt;
    n[o + 4] = workerIndex;
    n[o + 5] = durationMs;
    n[o + 6] = time;
    if (metrics === undefined) {
      // The row may hold a previous batch's values.
      n.fill(0, o + 7, o + TASK_ROW_WIDTH);
      this.#keySamples[i] = undefined;
    } else {
      n[o + 7] = 1;
      writeMetrics(n, o + 8, metrics);
      this.#keySamples[i] = metrics.keySample;
    }
    const c = this.#codes;
    const k = i * TASK_CODES;
    c[k] = TASK_END;
    c[k + 1] = speculative ? 1 : 0;
    c[k + 2] = resultCode(result);
    c[k + 3] = localityCode(locality);
    this.#executorIds[i] = executorId;
    this.#errors[i] = error;
    this.#metrics[i] = metrics;
    this.#slots[i] = this.#endsUsed++;
  }

  /** Adds an event as it is (a log's, a test's): the rows then read as it does. */
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

  /** The i-th event (0 ≤ i < size): a record of this batch, refilled from the row, valid until the batch is cleared. */
  event(i: number): TaskStartEvent | TaskEndEvent {
    this.#madeRecords = true;
    const n = this.#numbers;
    const o = i * TASK_ROW_WIDTH;
    const k = i * TASK_CODES;
    const c = this.#codes;
    const slot = this.#slots[i]!;
    if (c[k] === TASK_START) {
      const r = (this.#starts[slot] ??= { type: 'taskStart', ...blankTask(), time: 0 });
      fillShared(r, n, o, c[k + 1] === 1, this.#executorIds[i]);
      r.time = n[o + 6]!;
      return r;
    }
    // One shape for every record: an absent error or metrics is an undefined field.
    const r = (this.#ends[slot] ??= {
      type: 'taskEnd',
      ...blankTask(),
      result: 'success',
      error: undefined,
      durationMs: 0,
      metrics: undefined,
      locality: 'NO_PREF',
      time: 0,
    });
    fillShared(r, n, o, c[k + 1] === 1, this.#executorIds[i]);
    r.result = TASK_RESULTS[c[k + 2]!]!;
    r.error = this.#errors[i];
    r.durationMs = n[o + 5]!;
    r.metrics = this.#metrics[i];
    // A locality the type does not know came in through add() only; the record says NO_PREF, as a log's reader would.
    r.locality = TASK_LOCALITIES[c[k + 3]!] ?? 'NO_PREF';
    r.time = n[o + 6]!;
    return r;
  }

  /** Empties the batch; its rows and records are reused. */
  clear(): void {
    // The worker's metrics and errors go with their tasks, not with the batch.
    for (let i = 0; i < this.#size; i++) {
      this.#metrics[i] = undefined;
      this.#errors[i] = undefined;
      this.#keySamples[i] = undefined;
    }
    if (this.#madeRecords) {
      for (let i = 0; i < this.#endsUsed; i++) {
        const r = this.#ends[i];
        if (r === undefined) continue;
        r.metrics = undefined;
        r.error = undefined;
      }
      this.#madeRecords = false;
    }
    this.#size = 0;
    this.#startsUsed = 0;
    this.#endsUsed = 0;
  }
}

function fillShared(
  r: Mutable<TaskStartEvent> | Mutable<TaskEndEvent>,
  n: Float64Array,
  o: number,
  speculative: boolean,
  executorId: string | undefined,
): void {
  r.stageId = n[o]!;
  r.stageAttempt = n[o + 1]!;
  r.partition = n[o + 2]!;
  r.attempt = n[o + 3]!;
  r.workerIndex = n[o + 4]!;
  r.executorId = executorId as string;
  r.speculative = speculative;
}
