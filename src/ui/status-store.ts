/**
 * The UI's model of one application (Spark's AppStatusStore), built only from events: the live UI feeds it from
 * the context's event bus, the history server from an event log, so both show the same thing. It keeps a
 * bounded history (Spark's spark.ui.retainedJobs / retainedStages / retainedTasks) so that a long-running
 * program's UI does not grow without end: the oldest finished entries go first.
 */
import type { TaskMetrics } from '../exec/protocol.js';
import {
  TASK_ROW_CODES,
  TASK_ROW_FLAG,
  TASK_ROW_METRICS,
  TASK_ROW_WIDTH,
  type JobStartEvent,
  type TaskEndEvent,
  type TaskEvents,
  type TaskRows,
  type TaskStartEvent,
} from '../scheduler/events.js';
import type { StageInfo, RddInfo } from '../scheduler/stage-info.js';
import {
  SUMMARIZED_METRICS,
  type SummarizedMetric,
  quantiles,
  summarizeTaskMetrics,
  type MetricQuantiles,
  type SkewReport,
} from '../scheduler/task-metrics.js';
import { StreamingStore } from './streaming-store.js';
import type { AppEvent, ApplicationStartEvent, RunningTask } from './app-events.js';

export interface RetentionLimits {
  /** Finished jobs kept (Spark's spark.ui.retainedJobs). Default 1000. */
  readonly retainedJobs?: number;
  /** Finished stage attempts kept (spark.ui.retainedStages). Default 1000. */
  readonly retainedStages?: number;
  /** Tasks kept per stage attempt, the oldest dropped first (spark.ui.retainedTasks). Default 10000. */
  readonly retainedTasks?: number;
  /**
   * Tasks kept in all: past it, finished stages lose their task lists, oldest stage first (their totals and
   * quantiles stay). Default 100000: a program of many wide stages must not fill the driver with task rows.
   */
  readonly retainedTasksTotal?: number;
}

export type JobStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export type StageStatus = 'ACTIVE' | 'COMPLETE' | 'PENDING' | 'SKIPPED' | 'FAILED';
export type TaskStatus = 'RUNNING' | 'SUCCESS' | 'FAILED' | 'KILLED';

export interface JobData {
  readonly jobId: number;
  readonly description: string;
  readonly jobGroup: string | undefined;
  /** The job group's description (setJobGroup), when one was given. */
  readonly jobDescription: string | undefined;
  readonly submissionTime: number;
  completionTime: number | undefined;
  status: JobStatus;
  error: string | undefined;
  readonly stageIds: readonly number[];
  readonly stages: readonly StageInfo[];
  numTasks: number;
  numActiveTasks: number;
  numCompletedTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
  readonly activeStages: Set<number>;
  readonly completedStages: Set<number>;
  readonly failedStages: Set<number>;
  /** Stages this job ran (submitted attempts), as opposed to those whose output an earlier job left. */
  readonly ranStages: Set<number>;
}

export interface TaskData {
  readonly taskId: number;
  readonly index: number;
  readonly attempt: number;
  readonly launchTime: number;
  readonly executorId: string;
  readonly speculative: boolean;
  duration: number | undefined;
  status: TaskStatus;
  locality: string;
  errorMessage: string | undefined;
  metrics: TaskMetrics | undefined;
}

export interface StageData {
  readonly stageId: number;
  readonly attemptId: number;
  name: string;
  status: StageStatus;
  numTasks: number;
  numActiveTasks: number;
  numCompleteTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
  readonly completedIndices: IndexSet;
  submissionTime: number | undefined;
  firstTaskLaunchedTime: number | undefined;
  completionTime: number | undefined;
  failureReason: string | undefined;
  readonly jobIds: Set<number>;
  /** `jobIds` in the order added, for the loops run per task (iterating a Set allocates an iterator and a result per step). */
  readonly jobList: number[];
  /**
   * The job of each `jobList` entry, by position, once looked up (see StatusStore's `#jobAt`): the per-task loops
   * took a Map lookup per job and task event. A job trimmed from `jobs` stays here while its stage is kept, and
   * what the loops add to it is then never read.
   */
  readonly jobRefs: Array<JobData | undefined>;
  readonly rdds: readonly RddInfo[];
  readonly parentIds: readonly number[];
  /** Sums over successful tasks, keyed like TaskMetrics. */
  readonly totals: MetricTotals;
  /** The retained task attempts, oldest first. */
  readonly tasks: TaskTable;
  /** False while replaying an event log (it has no taskStart lines): a task's end then creates it. */
  sawTaskStarts: boolean;
  taskMetrics: MetricQuantiles | undefined;
  skew: SkewReport | undefined;
}

/**
 * An executor (Spark's executor id: a worker thread incarnation in `local` modes, a task slot of an executor
 * process on a cluster). A replaced worker is a new executor with a new id in the same worker index; the dead
 * one stays listed, inactive, as Spark's `allexecutors` lists removed executors.
 */
export interface ExecutorData {
  readonly id: string;
  /** The scheduler's worker index (slot) it ran in. */
  readonly workerIndex: number;
  /** `host:port` of its executor process on a cluster; `localhost` for worker threads. */
  readonly hostPort: string;
  isActive: boolean;
  readonly addTime: number;
  removeTime: number | undefined;
  removeReason: string | undefined;
  replacement: boolean;
  activeTasks: number;
  completedTasks: number;
  failedTasks: number;
  killedTasks: number;
  totalDuration: number;
  totalGCTime: number;
  totalInputRecords: number;
  totalInputBytes: number;
  totalShuffleRead: number;
  totalShuffleWrite: number;
}

export interface CachedRdd {
  info: RddInfo;
  /** Where each cached partition lives: executor id to bytes in memory and on disk. */
  readonly partitions: Map<number, Map<string, { memoryBytes: number; diskBytes: number }>>;
}

const TASK_STATUSES: readonly TaskStatus[] = ['RUNNING', 'SUCCESS', 'FAILED', 'KILLED'];
const LOCALITIES: readonly string[] = ['', 'PROCESS_LOCAL', 'ANY', 'NO_PREF'];
/** A row's numbers: its key, then TaskData's numbers (duration NaN while it runs), then each metric. */
const KEY = 0;
const TASK_ID = 1;
const INDEX = 2;
const ATTEMPT = 3;
const LAUNCH = 4;
const DURATION = 5;
const METRICS = 6;
const WIDTH = METRICS + SUMMARIZED_METRICS.length;
/** A row's codes: alive, status, locality, flags. */
const ALIVE = 0;
const STATUS = 1;
const LOCALITY = 2;
const FLAGS = 3;
const SPECULATIVE = 1;
const HAS_METRICS = 2;

/** A task table's typed columns, handed from a table that no longer needs them to the next one. */
interface Columns {
  readonly numbers: Float64Array<ArrayBuffer>;
  readonly codes: Uint8Array<ArrayBuffer>;
  readonly prev: Int32Array<ArrayBuffer>;
}

/**
 * Columns of dropped task tables, kept for the tables of later stages. A stage of 4,000 tasks needs 0.8 MB of
 * columns; fresh memory each stage was paid in page faults on the driver's thread as its rows were first written
 * (1-7 ms per 4,000-task stage, most of what the store cost per task in a running program). A store keeps the
 * task rows of ~25 such stages (retainedTasksTotal), so in a long program a stage's columns are those of one
 * dropped a moment before.
 *
 * @example
 * ```ts
 * const pool = new ColumnPool();
 * const table = new TaskTable(4000, pool);
 * table.clear(); // its columns go to the pool, for the next table made with it
 * ```
 */
export class ColumnPool {
  /** Kept free columns, at most MAX_POOLED. */
  readonly #free: Columns[] = [];

  /** Free columns of at least `rows` rows (and not grossly more), or undefined. */
  take(rows: number): Columns | undefined {
    for (let i = 0; i < this.#free.length; i++) {
      const c = this.#free[i]!;
      const capacity = c.codes.length / 4;
      // A small stage taking a big table's columns would keep them from the big stage that comes next.
      if (capacity >= rows && capacity <= rows * 4 + 256) {
        this.#free.splice(i, 1);
        return c;
      }
    }
    return undefined;
  }

  give(c: Columns): void {
    if (c.codes.length === 0) return;
    if (this.#free.length >= MAX_POOLED) this.#free.shift();
    this.#free.push(c);
  }

  /**
   * Exactly sized columns of compacted tables that were cleared or thawed, by length and type. A compaction copies a
   * table's varying columns (keys, ids, times, durations: 5-10 of them) into arrays of exactly its rows; new ones each
   * time were fresh memory on the driver's thread, 60-80 µs per 4,000-row column here (1-2.5 ms per 4,000-task stage,
   * the status store's largest cost per task), whereas a program that keeps running clears a stage's rows for each
   * new one (retainedTasksTotal), so the same lengths come back.
   */
  readonly #exact = new Map<number, FrozenArray[]>();
  #exactBytes = 0;
  /**
   * The kind each number column (by position) was compacted to last, or UNKNOWN: tried first next time, and a column
   * that needed doubles is kept so without trying narrower kinds (each try converts the whole column; trying them all
   * at every compaction cost ~0.1 ms per 4,000-task stage once the columns came from the pool).
   */
  readonly kinds = new Uint8Array(WIDTH).fill(UNKNOWN);

  /** A column of `rows` values of `kind`, to be overwritten: a kept one, or a new one. */
  column(rows: number, kind: ColumnKind = F64): FrozenArray {
    const kept = this.#exact.get(rows * KINDS + kind)?.pop();
    if (kept === undefined) return kind === I16 ? new Int16Array(rows) : kind === I32 ? new Int32Array(rows) : new Float64Array(rows);
    this.#exactBytes -= kept.byteLength;
    return kept;
  }

  /** The columns of a compacted table that no longer reads them (a number is a column of one value: nothing to keep). */
  giveExact(columns: readonly FrozenColumn[]): void {
    for (const c of columns) {
      if (typeof c === 'number' || this.#exactBytes + c.byteLength > MAX_POOLED_EXACT_BYTES) continue;
      const key = c.length * KINDS + kindOf(c);
      let list = this.#exact.get(key);
      if (list === undefined) this.#exact.set(key, (list = []));
      list.push(c);
      this.#exactBytes += c.byteLength;
    }
  }
}

/**
 * A compacted column's values: whole numbers that fit are kept as 16- or 32-bit integers. Until retainedTasksTotal
 * lets cleared stages give their columns back (~25 stages of 4,000 tasks), every compaction's columns are fresh
 * memory, and the first write into each of its pages was a page fault on the driver's thread: ~20 µs each here, 55-66
 * per 4,000-task stage with every column in doubles (1.3-1.5 ms a stage, 0.16 µs per task over a 50-job run;
 * docs/benchmarks.md, session 14). Ids, indices, keys and whole-ms durations fit in half or a quarter of the room.
 */
type FrozenArray = Float64Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Int16Array<ArrayBuffer>;
type FrozenColumn = number | FrozenArray;
type ColumnKind = 0 | 1 | 2;
const F64 = 0;
const I32 = 1;
const I16 = 2;
const KINDS = 3;
/** No kind known yet (see ColumnPool.kinds). */
const UNKNOWN = 3;
const kindOf = (c: FrozenArray): ColumnKind => (c instanceof Int16Array ? I16 : c instanceof Int32Array ? I32 : F64);

/** Conversion space for {@link narrowest}, grown to the largest table compacted (one thread uses it at a time). */
let scratch16 = new Int16Array(0);
let scratch32 = new Int32Array(0);
let scratchBack = new Float64Array(0);

/**
 * The narrowest kind that holds every value of `src` exactly, and those values in its scratch array (valid until the
 * next call). Native calls only: a typed array's `set` converts each double (modulo 2^16 or 2^32, NaN to 0), the
 * values are converted back, and the bytes compared with the originals, so a fraction, -0, NaN or a value out of range
 * fails the comparison (a loop over the values ran as the interpreter's: compact runs once per stage).
 */
function narrowest(src: Float64Array<ArrayBuffer>, hint: number = UNKNOWN): { kind: ColumnKind; values: FrozenArray } {
  if (hint === F64) return { kind: F64, values: src };
  const rows = src.length;
  if (scratchBack.length < rows) {
    scratch16 = new Int16Array(rows);
    scratch32 = new Int32Array(rows);
    scratchBack = new Float64Array(rows);
  }
  const original = new Uint8Array(src.buffer, src.byteOffset, rows * 8);
  const back = scratchBack.subarray(0, rows);
  const backBytes = new Uint8Array(back.buffer, 0, rows * 8);
  if (hint !== I32) {
    const s16 = scratch16.subarray(0, rows);
    s16.set(src);
    back.set(s16);
    if (Buffer.compare(backBytes, original) === 0) return { kind: I16, values: s16 };
  }
  const s32 = scratch32.subarray(0, rows);
  s32.set(src);
  back.set(s32);
  if (Buffer.compare(backBytes, original) === 0) return { kind: I32, values: s32 };
  return { kind: F64, values: src };
}

/** Memory the pool keeps in exactly sized columns: the varying columns of ~30 stages of 4,000 tasks. */
const MAX_POOLED_EXACT_BYTES = 8 << 20;

/** Free column sets a pool keeps: a few stages' worth, oldest given up first. */
const MAX_POOLED = 4;

/**
 * Tables with room for fewer rows keep them as they are at a stage's end: a small stage's columns are a few pages
 * (64 rows: 12 KB), and compacting them would cost a tiny job more than the faults it saves.
 */
const COMPACT_FROM_ROWS = 1024;

/**
 * A stage attempt's task attempts as rows of typed columns (Spark's task table): adding and finishing a task
 * allocates nothing and keeps no event's objects alive. A TaskData object per task, each holding its event's
 * metrics, was most of the status store's cost per task, and tens of thousands of them retained made every
 * garbage collection slower. Rows are read back as {@link TaskData} objects, made when read.
 *
 * The numbers are column-major (column `j` of row `r` at `j * capacity + r`), so that whole columns are compared,
 * copied and filled by native calls (see {@link TaskTable.compact}); the codes are 4 bytes a row.
 *
 * @example
 * ```ts
 * for (const task of store.stages.get('0.0')!.tasks.values()) console.log(task.index, task.status);
 * ```
 */
export class TaskTable {
  /**
   * Rows found by task index without a Map entry per task: `#head[index]` is the newest row of that index plus 1
   * (0: none), `#prev[row]` the row before it of the same index plus 1. A chain is as long as the index's attempts.
   */
  #head = new Int32Array(0);
  #prev = new Int32Array(0);
  /** Live rows. */
  #live = 0;
  /**
   * Live rows whose task has not ended. Kept as a count because compact() must know there are none, and a scan of the
   * status codes at each stage's end ran as the interpreter's loop (compact runs once per stage, too rarely to be
   * optimized): ~0.1-0.2 µs per task of a 4,000-task stage on the driver's thread.
   */
  #running = 0;
  /** Rows used, dropped ones included. */
  #used = 0;
  /** Rows the columns have room for. */
  #capacity = 0;
  #numbers = new Float64Array(0);
  #codes = new Uint8Array(0);
  /** Each row's executor id (a pointer each: ids are strings shared with the events). */
  #executorIds: string[] = [];
  /** Rare values, by row. */
  #errors = new Map<number, string>();
  #keySamples = new Map<number, readonly string[]>();
  /** No live row before it. */
  #oldest = 0;
  /**
   * Set while compacted ({@link TaskTable.compact}): column `j` of rows `0 .. #used`, as the one value all of them
   * hold, or as a Float64Array of exactly those rows. The columns, the chains and the head are then empty.
   */
  #frozen: FrozenColumn[] | undefined;
  /** Rows to allocate when the first is added. */
  readonly #firstCapacity: number;
  readonly #pool: ColumnPool | undefined;
  /** Tables with room for fewer rows are not compacted. */
  readonly #compactFrom: number;

  /**
   * `capacity`: the rows it will likely hold (the stage's tasks), allocated when the first task starts; `pool`:
   * where its columns come from and go back to when cleared or compacted; `compactFrom`: the least room (rows) a
   * table must have for {@link TaskTable.compact} to compact it.
   */
  constructor(capacity = 64, pool?: ColumnPool, compactFrom = COMPACT_FROM_ROWS) {
    this.#firstCapacity = Math.max(64, capacity);
    this.#pool = pool;
    this.#compactFrom = compactFrom;
  }

  get size(): number {
    return this.#live;
  }

  /**
   * Bytes its compacted number columns hold (0 when not compacted, see {@link TaskTable.compact}): what a finished
   * stage's rows keep of the driver's memory besides their codes and executor ids.
   *
   * @example
   * ```ts
   * if (table.compact()) console.log(`${table.compactedBytes} bytes for ${table.size} finished tasks`);
   * ```
   */
  get compactedBytes(): number {
    let bytes = 0;
    for (const c of this.#frozen ?? []) if (typeof c !== 'number') bytes += c.byteLength;
    return bytes;
  }

  /** The live row of a task attempt (its key, and its task index), or -1. */
  rowOf(key: number, index: number): number {
    if (this.#frozen !== undefined) this.#thaw();
    if (index >= this.#head.length) return -1;
    const n = this.#numbers;
    const c = this.#codes;
    const keys = KEY * this.#capacity;
    for (let r = this.#head[index]! - 1; r >= 0; r = this.#prev[r]! - 1) if (n[keys + r] === key && c[r * 4 + ALIVE] === 1) return r;
    return -1;
  }

  start(key: number, taskId: number, index: number, attempt: number, executorId: string, speculative: boolean, launchTime: number): number {
    if (this.#frozen !== undefined) this.#thaw();
    if (this.#used === this.#capacity) this.#makeRoom();
    // The same attempt on the same worker again (rare): its new row replaces the old one.
    const replaced = this.rowOf(key, index);
    if (replaced >= 0) this.#drop(replaced);
    const row = this.#used++;
    this.#live++;
    this.#link(row, index);
    const n = this.#numbers;
    const cap = this.#capacity;
    n[KEY * cap + row] = key;
    n[TASK_ID * cap + row] = taskId;
    n[INDEX * cap + row] = index;
    n[ATTEMPT * cap + row] = attempt;
    n[LAUNCH * cap + row] = launchTime;
    n[DURATION * cap + row] = Number.NaN;
    this.#executorIds[row] = executorId;
    const c = this.#codes;
    c[row * 4 + ALIVE] = 1;
    c[row * 4 + STATUS] = 0;
    this.#running++;
    c[row * 4 + LOCALITY] = 0;
    c[row * 4 + FLAGS] = speculative ? SPECULATIVE : 0;
    return row;
  }

  /** What a task's end writes besides its metrics (status and locality as codes); returns `hasMetrics`. */
  #ended(row: number, status: number, durationMs: number, locality: number, error: string | undefined, hasMetrics: boolean): boolean {
    this.#numbers[DURATION * this.#capacity + row] = durationMs;
    const c = this.#codes;
    if (c[row * 4 + STATUS] === 0) this.#running--;
    c[row * 4 + STATUS] = status;
    c[row * 4 + LOCALITY] = locality;
    if (error !== undefined) this.#errors.set(row, error);
    else if (this.#errors.size > 0) this.#errors.delete(row);
    c[row * 4 + FLAGS] = hasMetrics ? c[row * 4 + FLAGS]! | HAS_METRICS : c[row * 4 + FLAGS]! & ~HAS_METRICS;
    return hasMetrics;
  }

  /**
   * {@link TaskTable.finish} from a batch's row: `status` 1 success, 2 failed, 3 killed; `locality` 1 PROCESS_LOCAL,
   * 2 ANY, 3 NO_PREF; the metrics at `src[at ..]` (SUMMARIZED_METRICS order), or none when `src` is undefined.
   */
  finishRow(
    row: number,
    status: number,
    durationMs: number,
    locality: number,
    error: string | undefined,
    src: Float64Array | undefined,
    at: number,
    keySample: readonly string[] | undefined,
  ): void {
    if (!this.#ended(row, status, durationMs, locality, error, src !== undefined) || src === undefined) return;
    const n = this.#numbers;
    const cap = this.#capacity;
    for (let k = 0, to = METRICS * cap + row; k < SUMMARIZED_METRICS.length; k++, to += cap) n[to] = src[at + k]!;
    if (keySample !== undefined) this.#keySamples.set(row, keySample);
    else if (this.#keySamples.size > 0) this.#keySamples.delete(row);
  }

  /** `row` from rowOf or start (which thaw a compacted table). */
  finish(
    row: number,
    result: TaskEndEvent['result'],
    durationMs: number,
    locality: string,
    error: string | undefined,
    m: TaskMetrics | undefined,
  ): void {
    const status = result === 'success' ? 1 : result === 'failed' ? 2 : 3;
    const code = locality === 'PROCESS_LOCAL' ? 1 : locality === 'ANY' ? 2 : locality === 'NO_PREF' ? 3 : 0;
    if (!this.#ended(row, status, durationMs, code, error, m !== undefined) || m === undefined) return;
    const n = this.#numbers;
    const cap = this.#capacity;
    // In SUMMARIZED_METRICS order, a column apart; field by field (a loop over the names would be a keyed access each).
    let at = METRICS * cap + row;
    n[at] = m.durationMs;
    n[(at += cap)] = m.runMs;
    n[(at += cap)] = m.compileMs;
    n[(at += cap)] = m.gcMs;
    n[(at += cap)] = m.fetchWaitMs;
    n[(at += cap)] = m.inputRecords;
    n[(at += cap)] = m.inputBytes;
    n[(at += cap)] = m.shuffleReadRecords;
    n[(at += cap)] = m.shuffleReadBytes;
    n[(at += cap)] = m.shuffleWriteRecords;
    n[(at += cap)] = m.shuffleWriteBytes;
    n[(at += cap)] = m.outputRecords;
    n[(at += cap)] = m.outputBytes;
    n[(at += cap)] = m.spillCount;
    n[(at += cap)] = m.memoryBytesSpilled;
    n[(at += cap)] = m.diskBytesSpilled;
    n[(at += cap)] = m.resultRecords;
    n[(at += cap)] = m.resultBytes;
    if (m.keySample !== undefined) this.#keySamples.set(row, m.keySample);
    else if (this.#keySamples.size > 0) this.#keySamples.delete(row);
  }

  /** Drops the oldest task that is not running (Spark's spark.ui.retainedTasks); false when all are running. */
  dropOldestFinished(): boolean {
    if (this.#frozen !== undefined) this.#thaw();
    const c = this.#codes;
    while (this.#oldest < this.#used && c[this.#oldest * 4 + ALIVE] === 0) this.#oldest++;
    for (let row = this.#oldest; row < this.#used; row++) {
      if (c[row * 4 + ALIVE] === 1 && c[row * 4 + STATUS] !== 0) {
        this.#drop(row);
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.#live = 0;
    this.#running = 0;
    this.#head = new Int32Array(0);
    // Its memory goes too (to the pool, for a later stage): clearing is how the store keeps to retainedTasksTotal.
    if (this.#frozen === undefined) this.#pool?.give({ numbers: this.#numbers, codes: this.#codes, prev: this.#prev });
    else this.#pool?.giveExact(this.#frozen);
    this.#frozen = undefined;
    this.#prev = new Int32Array(0);
    this.#numbers = new Float64Array(0);
    this.#codes = new Uint8Array(0);
    this.#capacity = 0;
    this.#executorIds = [];
    this.#errors.clear();
    this.#keySamples.clear();
    this.#used = 0;
    this.#oldest = 0;
  }

  /**
   * Once no task of the table runs (its stage attempt ended): keeps the rows column by column, a column whose rows all
   * hold one value as that value, any other as a typed array of exactly the rows (16- or 32-bit integers when every
   * value is one that fits, see {@link narrowest}), and gives the full-size columns to
   * the pool. Reads are unchanged; a start, a finish or a drop afterwards (a late task end) first thaws it back.
   * Native calls only (a byte comparison of each column with itself one row on, a slice): a loop over the values ran
   * as the interpreter's, boxing every double it read.
   *
   * Why: the store keeps the rows of ~25 stages of 4,000 tasks (retainedTasksTotal) before it drops any, so without
   * this each of those stages took fresh memory for its 24 numbers a row, and the first write into each fresh page
   * was a page fault on the driver's thread. Compacted, an empty-task stage keeps a few numbers a row (most metrics
   * are 0 for every task), and the next stage writes its rows into the columns this one gave back. Returns whether
   * it compacted (never for a table with room for fewer than `compactFrom` rows).
   */
  compact(): boolean {
    if (this.#frozen !== undefined || this.#capacity === 0 || this.#capacity < this.#compactFrom) return false;
    if (this.#running > 0) return false; // a running task's end writes into its row
    const c = this.#codes;
    if (this.#live < this.#used) this.#pack();
    const rows = this.#used;
    const cap = this.#capacity;
    const n = this.#numbers;
    const bytes = new Uint8Array(n.buffer, n.byteOffset, n.byteLength);
    const frozen = new Array<FrozenColumn>(WIDTH);
    for (let j = 0; j < WIDTH; j++) {
      const from = j * cap;
      // Equal to itself one row on, byte for byte: one value (0 and -0 differ, as they should).
      const same =
        rows <= 1 || Buffer.compare(bytes.subarray(from * 8, (from + rows - 1) * 8), bytes.subarray((from + 1) * 8, (from + rows) * 8)) === 0;
      if (same) frozen[j] = rows === 0 ? 0 : n[from]!;
      else {
        const { kind, values } = narrowest(n.subarray(from, from + rows), this.#pool?.kinds[j]);
        if (this.#pool !== undefined) this.#pool.kinds[j] = kind;
        const column =
          this.#pool?.column(rows, kind) ?? (kind === I16 ? new Int16Array(rows) : kind === I32 ? new Int32Array(rows) : new Float64Array(rows));
        column.set(values);
        frozen[j] = column;
      }
    }
    this.#pool?.give({ numbers: n, codes: c, prev: this.#prev });
    this.#codes = c.slice(0, rows * 4);
    this.#executorIds = this.#executorIds.slice(0, rows);
    this.#numbers = new Float64Array(0);
    this.#prev = new Int32Array(0);
    this.#head = new Int32Array(0);
    this.#capacity = 0;
    this.#frozen = frozen;
    return true;
  }

  /** Back into full columns (from the pool, if it has some), every row and number as it was. */
  #thaw(): void {
    const frozen = this.#frozen!;
    this.#frozen = undefined;
    const rows = this.#used;
    this.#setColumns(Math.max(this.#firstCapacity, rows));
    const n = this.#numbers;
    const cap = this.#capacity;
    for (let j = 0; j < WIDTH; j++) {
      const column = frozen[j]!;
      if (typeof column === 'number') n.fill(column, j * cap, j * cap + rows);
      else n.set(column, j * cap);
    }
    this.#pool?.giveExact(frozen);
    this.#relink();
  }

  /**
   * Takes columns for `wanted` rows or more (the pool's, or new), keeping rows `0 .. #used`'s codes and executor
   * ids; the numbers are the caller's to fill, and the chains to rebuild (#relink) once the indices are there.
   */
  #setColumns(wanted: number): void {
    const pooled = this.#pool?.take(wanted);
    const capacity = pooled === undefined ? wanted : pooled.codes.length / 4;
    const codes = pooled?.codes ?? new Uint8Array(capacity * 4);
    codes.set(this.#codes.subarray(0, this.#used * 4));
    const executorIds = new Array<string>(capacity);
    for (let row = 0; row < this.#used; row++) executorIds[row] = this.#executorIds[row]!;
    this.#numbers = pooled?.numbers ?? new Float64Array(capacity * WIDTH);
    this.#codes = codes;
    this.#executorIds = executorIds;
    this.#prev = pooled?.prev ?? new Int32Array(capacity);
    this.#capacity = capacity;
  }

  /** Column `j` of `row`, compacted or not. */
  #number(row: number, j: number): number {
    const f = this.#frozen;
    if (f === undefined) return this.#numbers[j * this.#capacity + row]!;
    const column = f[j]!;
    return typeof column === 'number' ? column : column[row]!;
  }

  /** The retained tasks, oldest first. */
  *values(): IterableIterator<TaskData> {
    for (let row = this.#oldest; row < this.#used; row++) if (this.#codes[row * 4 + ALIVE] === 1) yield this.#read(row);
  }

  #read(row: number): TaskData {
    const c = this.#codes;
    const duration = this.#number(row, DURATION);
    let metrics: TaskMetrics | undefined;
    if ((c[row * 4 + FLAGS]! & HAS_METRICS) !== 0) {
      const m: Record<string, unknown> = {};
      SUMMARIZED_METRICS.forEach((k, j) => {
        m[k] = this.#number(row, METRICS + j);
      });
      const keySample = this.#keySamples.get(row);
      if (keySample !== undefined) m.keySample = keySample;
      metrics = m as unknown as TaskMetrics;
    }
    return {
      taskId: this.#number(row, TASK_ID),
      index: this.#number(row, INDEX),
      attempt: this.#number(row, ATTEMPT),
      launchTime: this.#number(row, LAUNCH),
      executorId: this.#executorIds[row]!,
      speculative: (c[row * 4 + FLAGS]! & SPECULATIVE) !== 0,
      duration: Number.isNaN(duration) ? undefined : duration,
      status: TASK_STATUSES[c[row * 4 + STATUS]!]!,
      locality: LOCALITIES[c[row * 4 + LOCALITY]!]!,
      errorMessage: this.#errors.get(row),
      metrics,
    };
  }

  /** Makes `row` the newest of its task index. */
  #link(row: number, index: number): void {
    if (index >= this.#head.length) {
      const head = new Int32Array(Math.max(index + 1, this.#head.length * 2, 64));
      head.set(this.#head);
      this.#head = head;
    }
    this.#prev[row] = this.#head[index]!;
    this.#head[index] = row + 1;
  }

  /** Chains rebuilt over rows `0 .. #used`, oldest first, so each index's newest row heads its chain again. */
  #relink(): void {
    this.#head.fill(0);
    const indices = INDEX * this.#capacity;
    for (let row = 0; row < this.#used; row++) if (this.#codes[row * 4 + ALIVE] === 1) this.#link(row, this.#numbers[indices + row]!);
  }

  #drop(row: number): void {
    if (this.#codes[row * 4 + STATUS] === 0) this.#running--;
    this.#codes[row * 4 + ALIVE] = 0;
    this.#live--;
    this.#errors.delete(row);
    this.#keySamples.delete(row);
  }

  /** Moves the live rows down to rows `0 .. #live`, in place, in order. */
  #pack(): void {
    const n = this.#numbers;
    const c = this.#codes;
    const cap = this.#capacity;
    const errors = new Map<number, string>();
    const keySamples = new Map<number, readonly string[]>();
    let to = 0;
    for (let row = this.#oldest; row < this.#used; row++) {
      if (c[row * 4 + ALIVE] === 0) continue;
      if (to !== row) {
        for (let j = 0; j < WIDTH; j++) n[j * cap + to] = n[j * cap + row]!;
        c.copyWithin(to * 4, row * 4, row * 4 + 4);
        this.#executorIds[to] = this.#executorIds[row]!;
      }
      const error = this.#errors.get(row);
      if (error !== undefined) errors.set(to, error);
      const keySample = this.#keySamples.get(row);
      if (keySample !== undefined) keySamples.set(to, keySample);
      to++;
    }
    this.#errors = errors;
    this.#keySamples = keySamples;
    this.#used = to;
    this.#oldest = 0;
    this.#relink();
  }

  /** Before a row is added to full columns: moves the live rows down when at least half are dropped, else doubles. */
  #makeRoom(): void {
    if (this.#used > 0 && this.#live * 2 <= this.#used) {
      this.#pack();
      return;
    }
    if (this.#live < this.#used) this.#pack();
    // Pooled columns hold old rows: every field of a row is written when it starts (metrics when it finishes, and
    // read only when its flag says so), and only rows below #used are ever read.
    const old = { numbers: this.#numbers, codes: this.#codes, prev: this.#prev };
    const oldCap = this.#capacity;
    this.#setColumns(Math.max(this.#firstCapacity, this.#used * 2));
    const cap = this.#capacity;
    for (let j = 0; j < WIDTH; j++) this.#numbers.set(old.numbers.subarray(j * oldCap, j * oldCap + this.#used), j * cap);
    this.#relink();
    this.#pool?.give(old);
  }
}

/**
 * A set of small non-negative integers (partition indices) as a growable bitmap: a stage's completed partitions,
 * added once per task end (a Set's hashing and growth was a cost per task).
 */
export class IndexSet {
  #bits = new Uint8Array(64);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(i: number): boolean {
    return i >> 3 < this.#bits.length && (this.#bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  add(i: number): void {
    const at = i >> 3;
    if (at >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(at + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const bit = 1 << (i & 7);
    if ((this.#bits[at]! & bit) === 0) {
      this.#bits[at]! |= bit;
      this.#size++;
    }
  }
}

/**
 * A stage's sums of its successful tasks' metrics, read by metric name (`totals.shuffleReadBytes`); kept in a typed
 * array in SUMMARIZED_METRICS order. Sums in an object's fields took a new heap number per task for every metric
 * that is not a small integer (times): an allocation per task and metric.
 */
export type MetricTotals = Readonly<Record<SummarizedMetric, number>> & { readonly sums: Float64Array };

const totalsPrototype: object = {};
SUMMARIZED_METRICS.forEach((k, j) => {
  Object.defineProperty(totalsPrototype, k, {
    get(this: MetricTotals): number {
      return this.sums[j]!;
    },
    enumerable: true,
  });
});
const emptyTotals = (): MetricTotals => {
  const t = Object.create(totalsPrototype) as { sums: Float64Array };
  t.sums = new Float64Array(SUMMARIZED_METRICS.length);
  return t as MetricTotals;
};

function addJob(s: StageData, jobId: number): void {
  if (s.jobIds.has(jobId)) return;
  s.jobIds.add(jobId);
  s.jobList.push(jobId);
}

/**
 * Applies events in order; reading is through the public maps and the REST layer.
 *
 * @example
 * ```ts
 * const store = new StatusStore();
 * sc.events.onAny((e) => store.apply(e));
 * await sc.parallelize([1, 2, 3]).count();
 * store.jobs.get(0)?.status; // 'SUCCEEDED'
 * ```
 */
/** A task attempt's key among the tasks `tasksRunning` lines listed. */
function loggedKey(t: Omit<RunningTask, 'executorId' | 'speculative' | 'time'>): string {
  return `${t.stageId}.${t.stageAttempt}.${t.partition}.${t.attempt}.${t.workerIndex}`;
}

export class StatusStore {
  readonly jobs = new Map<number, JobData>();
  /** Stage attempts by `stageId.attemptId`, in order of first sight. */
  readonly stages = new Map<string, StageData>();
  readonly executors = new Map<string, ExecutorData>();
  readonly rdds = new Map<number, CachedRdd>();
  app: ApplicationStartEvent | undefined;
  endTime: number | undefined;
  /** Time of the last event applied. */
  get lastUpdated(): number {
    return this.#times[0]!;
  }
  /**
   * Numbers stored per event, in a typed array: a class field that holds a time (a double) took a new heap number
   * at every store, i.e. an allocation per event.
   */
  readonly #times = new Float64Array(1);
  /** Bumped on every change: the server pushes an update to browsers when it moved. */
  version = 0;
  /** The Streaming page's batches. */
  readonly streaming = new StreamingStore();
  readonly #latestAttempt = new Map<number, number>();
  readonly #rddInfo = new Map<number, RddInfo>();
  #nextTaskId = 0;
  /** The highest job id started so far: a job id at or below it was seen before. */
  #maxJobId = -1;
  readonly #retainedJobs: number;
  readonly #retainedStages: number;
  readonly #retainedTasks: number;
  readonly #retainedTasksTotal: number;
  /** `host:port` of each cluster executor process, by its id. */
  readonly #hosts = new Map<string, string>();
  /** The executor of each worker index, as last looked up. */
  readonly #byIndex: Array<ExecutorData | undefined> = [];
  /** Task rows held across all stages. */
  #taskRows = 0;
  /** Columns of dropped stages' task tables, for the next stages'. */
  readonly #pool = new ColumnPool();
  /**
   * The tasks `tasksRunning` lines of a log being replayed listed and no `taskEnd` ended since, by stage attempt and
   * task key (see {@link StatusStore.endOfLog}).
   */
  readonly #loggedRunning = new Map<string, RunningTask & { readonly taskId: number | undefined }>();

  constructor(limits: RetentionLimits = {}) {
    this.#retainedJobs = limits.retainedJobs ?? 1000;
    this.#retainedStages = limits.retainedStages ?? 1000;
    this.#retainedTasks = limits.retainedTasks ?? 10_000;
    this.#retainedTasksTotal = limits.retainedTasksTotal ?? 100_000;
  }

  apply(e: AppEvent): void {
    if (e.type === 'taskBatch') {
      this.applyTasks(e.tasks);
      return;
    }
    this.version++;
    this.#times[0] = e.time;
    switch (e.type) {
      case 'applicationStart':
        this.app = e;
        return;
      case 'applicationEnd':
        this.endTime = e.time;
        return;
      case 'jobStart':
        this.#jobStart(e);
        return;
      case 'jobEnd': {
        const job = this.jobs.get(e.jobId);
        if (job === undefined) return;
        job.status = e.result === 'succeeded' ? 'SUCCEEDED' : 'FAILED';
        job.completionTime = e.time;
        job.error = e.error;
        // Stages the job listed but never ran were skipped (their output was already there), or, when the job
        // failed, will not run for it.
        for (const id of job.stageIds) {
          const s = this.#stage(id);
          if (s !== undefined && s.status === 'PENDING') s.status = 'SKIPPED';
          if (
            s !== undefined &&
            s.status === 'ACTIVE' &&
            job.status === 'FAILED' &&
            [...s.jobIds].every((j) => this.jobs.get(j)?.status !== 'RUNNING')
          ) {
            s.status = 'FAILED';
            s.completionTime = e.time;
          }
        }
        job.numActiveTasks = 0;
        this.#trimJobs();
        return;
      }
      case 'stageSubmitted': {
        const key = `${e.stageId}.${e.attempt}`;
        let s = this.stages.get(key);
        const info = this.#stageInfo(e.stageId);
        if (s === undefined) {
          s = this.#newStage(e.stageId, e.attempt, e.name, e.numTasks, info?.rdds ?? [], info?.parentIds ?? []);
          this.stages.set(key, s);
        }
        s.name = e.name;
        s.status = 'ACTIVE';
        s.numTasks = e.numTasks;
        s.submissionTime = e.time;
        addJob(s, e.jobId);
        this.#latestAttempt.set(e.stageId, e.attempt);
        const job = this.jobs.get(e.jobId);
        if (job !== undefined) {
          job.activeStages.add(e.stageId);
          // A job's task total is fixed by its stages' first attempts, as Spark's is at job start: a stage attempted
          // again (lost map output) does not add its missing tasks a second time.
          if (!job.ranStages.has(e.stageId)) job.numTasks += e.numTasks;
          job.ranStages.add(e.stageId);
        }
        this.#trimStages();
        return;
      }
      case 'stageCompleted': {
        const s = this.stages.get(`${e.stageId}.${e.attempt}`);
        if (s === undefined) return;
        s.status = e.result === 'succeeded' ? 'COMPLETE' : 'FAILED';
        s.completionTime = e.time;
        s.failureReason = e.failureReason;
        s.numActiveTasks = 0;
        if (e.taskMetrics !== undefined) s.taskMetrics = e.taskMetrics;
        if (e.skew !== undefined) s.skew = e.skew;
        // Its rows (unless a task of it still runs) become columns, and their memory goes to the next stage's table.
        s.tasks.compact();
        for (const j of s.jobIds) {
          const job = this.jobs.get(j);
          if (job === undefined) continue;
          job.activeStages.delete(e.stageId);
          (e.result === 'succeeded' ? job.completedStages : job.failedStages).add(e.stageId);
        }
        return;
      }
      case 'stageResubmitted':
        return;
      case 'tasksRunning':
        // Used at the log's end only: a task listed here may end a few lines on, and one started from this line
        // would get its task id, and its stage its first launch time, before the tasks that ended meanwhile.
        for (const [stageId, stageAttempt, partition, attempt, workerIndex, executorId, speculative, age, taskId] of e.tasks) {
          const t = { stageId, stageAttempt, partition, attempt, workerIndex, executorId, speculative, time: e.time - age, taskId };
          this.#loggedRunning.set(loggedKey(t), t);
        }
        return;
      case 'taskStart':
        this.#taskStart(e);
        return;
      case 'taskEnd':
        this.#taskEnd(e);
        return;
      case 'workerAdded': {
        // A replacement worker takes the index of the one it replaces under a new executor id; the dead one stays
        // listed under its own (Spark lists removed executors too).
        const id = executorIdOf(e);
        const dead = this.executors.get(id);
        if (dead !== undefined && !dead.isActive) {
          // Only in a log written before executor ids (the worker index was the id): the dead one keeps its row.
          this.executors.delete(id);
          this.executors.set(`${id}@${dead.addTime}`, dead);
          this.#byIndex[dead.workerIndex] = undefined;
        }
        const ex = this.#executor(e.workerIndex, id, e.time);
        ex.replacement = e.replacement;
        return;
      }
      case 'workerLost': {
        const id = executorIdOf(e);
        const ex = this.#executor(e.workerIndex, id, e.time);
        ex.isActive = false;
        ex.removeTime = e.time;
        ex.removeReason = e.reason;
        ex.activeTasks = 0;
        // Its cached blocks are gone with it.
        for (const r of this.rdds.values()) {
          for (const [p, where] of r.partitions) {
            where.delete(id);
            if (where.size === 0) r.partitions.delete(p);
          }
        }
        return;
      }
      case 'blockUpdated': {
        let r = this.rdds.get(e.rddId);
        if (r === undefined) {
          const info = this.#rddInfo.get(e.rddId) ?? {
            id: e.rddId,
            name: `RDD ${e.rddId}`,
            kind: '',
            numPartitions: 0,
            storageLevel: '',
            parentIds: [],
          };
          this.rdds.set(e.rddId, (r = { info, partitions: new Map() }));
        }
        let where = r.partitions.get(e.partition);
        if (where === undefined) r.partitions.set(e.partition, (where = new Map()));
        const id = executorIdOf(e);
        if (e.memoryBytes === 0 && e.diskBytes === 0) where.delete(id);
        else where.set(id, { memoryBytes: e.memoryBytes, diskBytes: e.diskBytes });
        if (where.size === 0) r.partitions.delete(e.partition);
        return;
      }
      // Cluster executor processes: their task slots reach the store as workers (workerAdded / workerLost), named
      // after the process; the process gives them their address.
      case 'executorAdded':
        this.#hosts.set(e.executorId, `${e.host}:${e.port}`);
        return;
      case 'executorRemoved':
        return;
      // Streaming's events feed the Streaming page (the jobs each batch runs reach the store as jobs).
      case 'streamingStarted':
      case 'batchSubmitted':
      case 'batchStarted':
      case 'batchCompleted':
      case 'rateUpdated':
      case 'watermarkAdvanced':
      case 'receiverError':
      case 'streamingStopped':
        this.streaming.apply(e);
        return;
      default: {
        const never: never = e;
        void never;
      }
    }
  }

  /**
   * A turn's task starts and ends, in order (the scheduler's `taskBatch`): what {@link StatusStore.apply} of each
   * would do, without a dispatch per task. The batch's records are read, not kept.
   */
  applyTasks(batch: TaskEvents): void {
    const n = batch.size;
    if (n === 0) return;
    this.version++;
    const rows = batch.rows;
    if (rows !== undefined) {
      // The scheduler's rows, written while each outcome was hot: no record or metrics object read here.
      const codes = rows.codes;
      for (let i = 0; i < n; i++) {
        if (codes[i * TASK_ROW_CODES] === 0) this.#taskStartRow(rows, i);
        else this.#taskEndRow(rows, i);
      }
      this.#times[0] = rows.numbers[(n - 1) * TASK_ROW_WIDTH + 6]!;
      return;
    }
    for (let i = 0; i < n; i++) {
      const e = batch.event(i);
      if (e.type === 'taskStart') this.#taskStart(e);
      else this.#taskEnd(e);
    }
    this.#times[0] = batch.event(n - 1).time;
  }

  /**
   * An event log was read to its end: the tasks its last `tasksRunning` line lists that have not ended since (an
   * application killed while they computed) become running tasks of their stage, as their `taskStart` would have
   * made them. A log of an application that finished normally has an end for each of them, and so reads as before.
   *
   * @example
   * ```ts
   * const store = new StatusStore();
   * for (const e of eventLogEvents(file)) store.apply(e);
   * store.endOfLog(); // the tasks still running when the log was last written show as RUNNING
   * ```
   */
  endOfLog(): void {
    const running = [...this.#loggedRunning.values()];
    this.#loggedRunning.clear();
    for (const t of running) {
      const s = this.#taskStage(t.stageId, t.stageAttempt);
      if (s === undefined || s.status !== 'ACTIVE' || s.tasks.rowOf(taskKey(t.partition, t.attempt, t.workerIndex), t.partition) >= 0) continue;
      this.version++;
      // The stage's later task ends (if events were applied after this) still make their own rows.
      const sawTaskStarts = s.sawTaskStarts;
      const { taskId, ...start } = t;
      this.#taskStart({ type: 'taskStart', ...start }, taskId);
      s.sawTaskStarts = sawTaskStarts;
    }
  }

  /** Task events are most events: a method each, kept small for the optimizer. */
  #taskStart(e: TaskStartEvent, taskId?: number): void {
    const s = this.#taskStage(e.stageId, e.stageAttempt);
    if (s === undefined) {
      // Its id is taken all the same: the event log numbers every task start (see EventLogWriter's task ids).
      this.#nextTaskId++;
      return;
    }
    s.numActiveTasks++;
    s.firstTaskLaunchedTime = earliest(s.firstTaskLaunchedTime, e.time);
    s.sawTaskStarts = true;
    const ex = this.#executor(e.workerIndex, e.executorId, e.time);
    this.#newTask(s, e.partition, e.attempt, e.workerIndex, ex.id, e.speculative, e.time, taskId);
    ex.activeTasks++;
    for (let i = 0; i < s.jobList.length; i++) {
      const job = this.#jobAt(s, i);
      if (job !== undefined && job.status === 'RUNNING') job.numActiveTasks++;
    }
  }

  /** The job of `s.jobList[i]` (undefined while it is not, or no longer, in `jobs` and was never looked up). */
  #jobAt(s: StageData, i: number): JobData | undefined {
    const known = s.jobRefs[i];
    if (known !== undefined) return known;
    const job = this.jobs.get(s.jobList[i]!);
    if (job !== undefined) s.jobRefs[i] = job;
    return job;
  }

  #taskEnd(e: LoggedTaskEnd): void {
    // A log's task ends come here (batches' rows are live only): the task no longer runs.
    if (this.#loggedRunning.size !== 0) this.#loggedRunning.delete(loggedKey(e));
    const s = this.#taskStage(e.stageId, e.stageAttempt);
    const ex = this.#executor(e.workerIndex, e.executorId, e.time);
    ex.activeTasks = Math.max(0, ex.activeTasks - 1);
    ex.totalDuration += e.durationMs;
    if (e.result === 'success') ex.completedTasks++;
    else if (e.result === 'failed') ex.failedTasks++;
    else ex.killedTasks++;
    const m = e.metrics;
    if (m !== undefined) {
      ex.totalGCTime += m.gcMs;
      ex.totalInputRecords += m.inputRecords;
      ex.totalInputBytes += m.inputBytes;
      ex.totalShuffleRead += m.shuffleReadBytes;
      ex.totalShuffleWrite += m.shuffleWriteBytes;
    }
    if (s === undefined) return;
    s.numActiveTasks = Math.max(0, s.numActiveTasks - 1);
    let row = s.tasks.rowOf(taskKey(e.partition, e.attempt, e.workerIndex), e.partition);
    if (row < 0 && !s.sawTaskStarts) {
      // Replaying an event log, which has no taskStart lines: the task starts where its end says.
      const launchTime = e.time - e.durationMs;
      row = this.#newTask(s, e.partition, e.attempt, e.workerIndex, ex.id, e.speculative, launchTime, e.taskId);
      s.firstTaskLaunchedTime = earliest(s.firstTaskLaunchedTime, launchTime);
    }
    if (row >= 0) s.tasks.finish(row, e.result, e.durationMs, e.locality, e.error, m);
    if (e.result === 'success') {
      s.numCompleteTasks++;
      s.completedIndices.add(e.partition);
      if (m !== undefined) addMetrics(s.totals, m);
    } else if (e.result === 'failed') s.numFailedTasks++;
    else s.numKilledTasks++;
    for (let i = 0; i < s.jobList.length; i++) {
      const job = this.#jobAt(s, i);
      if (job === undefined) continue;
      if (job.status === 'RUNNING') job.numActiveTasks = Math.max(0, job.numActiveTasks - 1);
      if (e.result === 'success') job.numCompletedTasks++;
      else if (e.result === 'failed') job.numFailedTasks++;
      else job.numKilledTasks++;
    }
  }

  /** {@link StatusStore.#taskStart} of row `i` of a batch. */
  #taskStartRow(rows: TaskRows, i: number): void {
    const n = rows.numbers;
    const o = i * TASK_ROW_WIDTH;
    const s = this.#taskStage(n[o]!, n[o + 1]!);
    if (s === undefined) {
      this.#nextTaskId++;
      return;
    }
    const time = n[o + 6]!;
    const workerIndex = n[o + 4]!;
    s.numActiveTasks++;
    s.firstTaskLaunchedTime = earliest(s.firstTaskLaunchedTime, time);
    s.sawTaskStarts = true;
    const ex = this.#executor(workerIndex, rows.executorIds[i], time);
    this.#newTask(s, n[o + 2]!, n[o + 3]!, workerIndex, ex.id, rows.codes[i * TASK_ROW_CODES + 1] === 1, time);
    ex.activeTasks++;
    for (let j = 0; j < s.jobList.length; j++) {
      const job = this.#jobAt(s, j);
      if (job !== undefined && job.status === 'RUNNING') job.numActiveTasks++;
    }
  }

  /** {@link StatusStore.#taskEnd} of row `i` of a batch. */
  #taskEndRow(rows: TaskRows, i: number): void {
    const n = rows.numbers;
    const o = i * TASK_ROW_WIDTH;
    const s = this.#taskStage(n[o]!, n[o + 1]!);
    const partition = n[o + 2]!;
    const attempt = n[o + 3]!;
    const workerIndex = n[o + 4]!;
    const durationMs = n[o + 5]!;
    const time = n[o + 6]!;
    const hasMetrics = n[o + TASK_ROW_FLAG] === 1;
    const m = o + TASK_ROW_METRICS;
    // 0 success, 1 failed, 2 killed.
    const result = rows.codes[i * TASK_ROW_CODES + 2]!;
    const ex = this.#executor(workerIndex, rows.executorIds[i], time);
    ex.activeTasks = Math.max(0, ex.activeTasks - 1);
    ex.totalDuration += durationMs;
    if (result === 0) ex.completedTasks++;
    else if (result === 1) ex.failedTasks++;
    else ex.killedTasks++;
    if (hasMetrics) {
      ex.totalGCTime += n[m + 3]!;
      ex.totalInputRecords += n[m + 5]!;
      ex.totalInputBytes += n[m + 6]!;
      ex.totalShuffleRead += n[m + 8]!;
      ex.totalShuffleWrite += n[m + 10]!;
    }
    if (s === undefined) return;
    s.numActiveTasks = Math.max(0, s.numActiveTasks - 1);
    let row = s.tasks.rowOf(taskKey(partition, attempt, workerIndex), partition);
    if (row < 0 && !s.sawTaskStarts) {
      const launchTime = time - durationMs;
      row = this.#newTask(s, partition, attempt, workerIndex, ex.id, rows.codes[i * TASK_ROW_CODES + 1] === 1, launchTime);
      s.firstTaskLaunchedTime = earliest(s.firstTaskLaunchedTime, launchTime);
    }
    if (row >= 0)
      s.tasks.finishRow(
        row,
        result + 1,
        durationMs,
        rows.codes[i * TASK_ROW_CODES + 3]! + 1,
        rows.errors[i],
        hasMetrics ? n : undefined,
        m,
        rows.keySamples[i],
      );
    if (result === 0) {
      s.numCompleteTasks++;
      s.completedIndices.add(partition);
      if (hasMetrics) {
        const a = s.totals.sums;
        for (let k = 0; k < a.length; k++) a[k]! += n[m + k]!;
      }
    } else if (result === 1) s.numFailedTasks++;
    else s.numKilledTasks++;
    for (let j = 0; j < s.jobList.length; j++) {
      const job = this.#jobAt(s, j);
      if (job === undefined) continue;
      if (job.status === 'RUNNING') job.numActiveTasks = Math.max(0, job.numActiveTasks - 1);
      if (result === 0) job.numCompletedTasks++;
      else if (result === 1) job.numFailedTasks++;
      else job.numKilledTasks++;
    }
  }

  /** Adds a running task's row; its row number holds until the next task is added to the stage. */
  #newTask(
    s: StageData,
    partition: number,
    attempt: number,
    workerIndex: number,
    executorId: string,
    speculative: boolean,
    launchTime: number,
    /** The id the event log gave the task (live, and in older logs: the next one). */
    taskId?: number,
  ): number {
    const before = s.tasks.size;
    const id = taskId ?? this.#nextTaskId++;
    const row = s.tasks.start(taskKey(partition, attempt, workerIndex), id, partition, attempt, executorId, speculative, launchTime);
    if (s.tasks.size > this.#retainedTasks) s.tasks.dropOldestFinished();
    this.#taskRows += s.tasks.size - before;
    if (this.#taskRows > this.#retainedTasksTotal) this.#dropTaskRows();
    return row;
  }

  #dropTaskRows(): void {
    for (const s of this.stages.values()) {
      if (this.#taskRows <= this.#retainedTasksTotal * 0.9) return;
      if (s.status === 'ACTIVE' || s.status === 'PENDING' || s.tasks.size === 0) continue;
      this.#taskRows -= s.tasks.size;
      s.tasks.clear();
    }
  }

  /** Task events come in runs of one stage attempt: remember the last one looked up. */
  #lastStage: StageData | undefined;

  #taskStage(stageId: number, attempt: number): StageData | undefined {
    const last = this.#lastStage;
    if (last !== undefined && last.stageId === stageId && last.attemptId === attempt) return last;
    const s = this.stages.get(`${stageId}.${attempt}`);
    this.#lastStage = s;
    return s;
  }

  #jobStart(e: JobStartEvent): void {
    const { jobId, description, time, stageIds, jobGroup, jobDescription } = e;
    const stages = e.stages ?? [];
    for (const info of stages) {
      for (const r of info.rdds) {
        this.#rddInfo.set(r.id, r);
        const cached = this.rdds.get(r.id);
        if (cached !== undefined) cached.info = r;
      }
      // Spark lists every stage of a job at its start as PENDING until it runs or is skipped.
      if (!this.#latestAttempt.has(info.stageId)) {
        this.stages.set(`${info.stageId}.0`, this.#newStage(info.stageId, 0, info.name, info.numTasks, info.rdds, info.parentIds));
        this.#latestAttempt.set(info.stageId, 0);
      }
      const s = this.#stage(info.stageId);
      if (s !== undefined) addJob(s, jobId);
    }
    // A job id started again (a log that repeats one) replaces its job: no stage may keep adding to the old one,
    // whether the old one is still listed or was already trimmed (a stage may still hold a reference to it).
    if (jobId <= this.#maxJobId) for (const st of this.stages.values()) st.jobRefs.length = 0;
    else this.#maxJobId = jobId;
    this.jobs.set(jobId, {
      jobId,
      description,
      jobGroup,
      jobDescription,
      submissionTime: time,
      completionTime: undefined,
      status: 'RUNNING',
      error: undefined,
      stageIds,
      stages,
      numTasks: 0,
      numActiveTasks: 0,
      numCompletedTasks: 0,
      numFailedTasks: 0,
      numKilledTasks: 0,
      activeStages: new Set(),
      completedStages: new Set(),
      failedStages: new Set(),
      ranStages: new Set(),
    });
    this.#trimJobs();
    this.#trimStages();
  }

  #stageInfo(stageId: number): StageData | undefined {
    return this.#stage(stageId);
  }

  /** The latest attempt of a stage. */
  #stage(stageId: number): StageData | undefined {
    const a = this.#latestAttempt.get(stageId);
    return a === undefined ? undefined : this.stages.get(`${stageId}.${a}`);
  }

  #newStage(stageId: number, attemptId: number, name: string, numTasks: number, rdds: readonly RddInfo[], parentIds: readonly number[]): StageData {
    return {
      stageId,
      attemptId,
      name,
      status: 'PENDING',
      numTasks,
      numActiveTasks: 0,
      numCompleteTasks: 0,
      numFailedTasks: 0,
      numKilledTasks: 0,
      completedIndices: new IndexSet(),
      submissionTime: undefined,
      firstTaskLaunchedTime: undefined,
      completionTime: undefined,
      failureReason: undefined,
      jobIds: new Set(),
      jobList: [],
      jobRefs: [],
      rdds,
      parentIds,
      totals: emptyTotals(),
      // Its first rows are allocated at once for every task it may hold (growing by doubling copied them ~7 times).
      tasks: new TaskTable(Math.min(numTasks, this.#retainedTasks + 1), this.#pool),
      sawTaskStarts: false,
      taskMetrics: undefined,
      skew: undefined,
    };
  }

  /** The executor of an event, made when first seen (an event log replayed from the middle has no workerAdded). */
  #executor(workerIndex: number, executorId: string | undefined, time: number): ExecutorData {
    // Every task event looks its executor up: by worker index first (the id is then almost always the same string).
    const cached = this.#byIndex[workerIndex];
    const id = executorId ?? String(workerIndex);
    if (cached !== undefined && cached.id === id) return cached;
    let ex = this.executors.get(id);
    if (ex === undefined) {
      const hostPort = this.#hosts.get(id.slice(0, id.includes('.') ? id.indexOf('.') : id.length)) ?? 'localhost';
      this.executors.set(id, (ex = newExecutor(id, workerIndex, hostPort, time)));
    }
    // A late event of a dead incarnation does not make it the index's executor again.
    if (ex.isActive || cached === undefined) this.#byIndex[workerIndex] = ex;
    return ex;
  }

  #trimJobs(): void {
    if (this.jobs.size <= this.#retainedJobs) return;
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= this.#retainedJobs) break;
      if (job.status !== 'RUNNING') {
        this.jobs.delete(id);
      }
    }
  }

  #trimStages(): void {
    if (this.stages.size <= this.#retainedStages) return;
    for (const [key, s] of this.stages) {
      if (this.stages.size <= this.#retainedStages) break;
      if (s.status !== 'ACTIVE' && s.status !== 'PENDING') {
        this.stages.delete(key);
        this.#taskRows -= s.tasks.size;
        s.tasks.clear();
        if (this.#lastStage === s) this.#lastStage = undefined;
        if (this.#latestAttempt.get(s.stageId) === s.attemptId) this.#latestAttempt.delete(s.stageId);
      }
    }
  }

  /** Quantiles of a stage attempt's task metrics: from its end event, or live from its retained tasks. */
  stageQuantiles(s: StageData): MetricQuantiles | undefined {
    if (s.taskMetrics !== undefined) return s.taskMetrics;
    const done: Array<{ metrics: TaskMetrics }> = [];
    for (const t of s.tasks.values()) if (t.status === 'SUCCESS' && t.metrics !== undefined) done.push({ metrics: t.metrics });
    return summarizeTaskMetrics(done);
  }

  /** Memory and disk held per executor id, and cached blocks. */
  storageByExecutor(): Map<string, { memoryBytes: number; diskBytes: number; blocks: number }> {
    const out = new Map<string, { memoryBytes: number; diskBytes: number; blocks: number }>();
    for (const r of this.rdds.values()) {
      for (const where of r.partitions.values()) {
        for (const [w, b] of where) {
          const t = out.get(w) ?? { memoryBytes: 0, diskBytes: 0, blocks: 0 };
          t.memoryBytes += b.memoryBytes;
          t.diskBytes += b.diskBytes;
          t.blocks++;
          out.set(w, t);
        }
      }
    }
    return out;
  }
}

export { quantiles };

/** Field by field, in SUMMARIZED_METRICS order: a loop over the names would make every addition a slow keyed access (hot path). */
function addMetrics(t: MetricTotals, m: TaskMetrics): void {
  const a = t.sums;
  a[0]! += m.durationMs;
  a[1]! += m.runMs;
  a[2]! += m.compileMs;
  a[3]! += m.gcMs;
  a[4]! += m.fetchWaitMs;
  a[5]! += m.inputRecords;
  a[6]! += m.inputBytes;
  a[7]! += m.shuffleReadRecords;
  a[8]! += m.shuffleReadBytes;
  a[9]! += m.shuffleWriteRecords;
  a[10]! += m.shuffleWriteBytes;
  a[11]! += m.outputRecords;
  a[12]! += m.outputBytes;
  a[13]! += m.spillCount;
  a[14]! += m.memoryBytesSpilled;
  a[15]! += m.diskBytesSpilled;
  a[16]! += m.resultRecords;
  a[17]! += m.resultBytes;
}

/** A task end read from an event log, with the id the log's writer gave the task (absent in older logs). */
type LoggedTaskEnd = TaskEndEvent & { readonly taskId?: number };

/** The earlier of a stage's first launch so far and a task's launch (a log gives tasks in the order they ended). */
function earliest(first: number | undefined, launch: number): number {
  return first === undefined || launch < first ? launch : first;
}

/** A task attempt's key in its stage: a number (a string built per task event was a cost on the driver). */
function taskKey(partition: number, attempt: number, workerIndex: number): number {
  return partition + 2 ** 24 * (workerIndex + 2 ** 12 * attempt);
}

/** Events logged before executor ids existed name only the worker index. */
function executorIdOf(e: { readonly workerIndex: number; readonly executorId?: string }): string {
  return e.executorId ?? String(e.workerIndex);
}

function newExecutor(id: string, workerIndex: number, hostPort: string, time: number): ExecutorData {
  return {
    id,
    workerIndex,
    hostPort,
    isActive: true,
    addTime: time,
    removeTime: undefined,
    removeReason: undefined,
    replacement: false,
    activeTasks: 0,
    completedTasks: 0,
    failedTasks: 0,
    killedTasks: 0,
    totalDuration: 0,
    totalGCTime: 0,
    totalInputRecords: 0,
    totalInputBytes: 0,
    totalShuffleRead: 0,
    totalShuffleWrite: 0,
  };
}
