/**
 * Stage-level summaries of worker-measured task metrics: the quantiles Spark's stage page shows, and the
 * skew check that names the straggling partition. Computed once per finished stage attempt by the DAG
 * scheduler, from the metrics of its successful tasks, so every consumer of the event bus sees the same numbers.
 */
import type { TaskMetrics } from '../exec/protocol.js';

/** min, 25th, 50th, 75th percentile and max (nearest-rank), as in Spark's task summary. */
export type Quantiles = readonly [min: number, p25: number, p50: number, p75: number, max: number];

/** The numeric task metrics summarized per stage. */
export const SUMMARIZED_METRICS = [
  'durationMs',
  'runMs',
  'compileMs',
  'gcMs',
  'fetchWaitMs',
  'inputRecords',
  'inputBytes',
  'shuffleReadRecords',
  'shuffleReadBytes',
  'shuffleWriteRecords',
  'shuffleWriteBytes',
  'outputRecords',
  'outputBytes',
  'spillCount',
  'memoryBytesSpilled',
  'diskBytesSpilled',
  'resultRecords',
  'resultBytes',
] as const satisfies ReadonlyArray<keyof TaskMetrics>;

export type SummarizedMetric = (typeof SUMMARIZED_METRICS)[number];

/**
 * Writes `m`'s summarized metrics into `n` from `at`, in SUMMARIZED_METRICS order: field by field, since a loop
 * over the names would be a keyed access per metric on a path that runs once per task (status store, event log).
 */
export function writeMetrics(n: Float64Array, at: number, m: TaskMetrics): void {
  n[at] = m.durationMs;
  n[at + 1] = m.runMs;
  n[at + 2] = m.compileMs;
  n[at + 3] = m.gcMs;
  n[at + 4] = m.fetchWaitMs;
  n[at + 5] = m.inputRecords;
  n[at + 6] = m.inputBytes;
  n[at + 7] = m.shuffleReadRecords;
  n[at + 8] = m.shuffleReadBytes;
  n[at + 9] = m.shuffleWriteRecords;
  n[at + 10] = m.shuffleWriteBytes;
  n[at + 11] = m.outputRecords;
  n[at + 12] = m.outputBytes;
  n[at + 13] = m.spillCount;
  n[at + 14] = m.memoryBytesSpilled;
  n[at + 15] = m.diskBytesSpilled;
  n[at + 16] = m.resultRecords;
  n[at + 17] = m.resultBytes;
}

export type MetricQuantiles = { readonly [K in SummarizedMetric]: Quantiles };

/**
 * A stage whose slowest task computed more than 3x as long as the median task, and more than 1 s. Times are
 * `runMs`: a task's wall time on a worker can include other tasks' computing (see TaskMetrics).
 */
export interface SkewReport {
  readonly partition: number;
  readonly runMs: number;
  readonly medianMs: number;
  /** Records the task read (shuffle input and shipped input). */
  readonly records: number;
  readonly medianRecords: number;
  readonly keySample: readonly string[];
}

export const SKEW_FACTOR = 3;
export const SKEW_MIN_MS = 1000;

/**
 * The nearest-rank `q` quantile of `sorted` (ascending, at least one value), as Spark's task summary takes it.
 *
 * @example
 * ```ts
 * nearestRank(Float64Array.of(1, 2, 3, 4), 0.5); // 2
 * ```
 */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Nearest-rank quantiles of `values` (at least one). */
export function quantiles(values: ArrayLike<number>): Quantiles {
  return sortedQuantiles(values, undefined);
}

/** {@link quantiles}, sorting in `scratch` (at least as long as `values`) when given instead of a new array. */
function sortedQuantiles(values: ArrayLike<number>, scratch: Float64Array | undefined): Quantiles {
  // Most metrics are the same for every task of a stage (0 bytes spilled, 1 result record): no copy, no sort.
  const first = values[0]!;
  let i = 1;
  while (i < values.length && values[i] === first) i++;
  if (i >= values.length) return [first, first, first, first, first];
  // A typed array sorts numerically without a comparator call per comparison (stages can have 100k tasks).
  let v: Float64Array;
  if (scratch === undefined) v = Float64Array.from(values);
  else {
    v = scratch.subarray(0, values.length);
    for (let k = 0; k < v.length; k++) v[k] = values[k]!;
  }
  v.sort();
  return [v[0]!, nearestRank(v, 0.25), nearestRank(v, 0.5), nearestRank(v, 0.75), v[v.length - 1]!];
}

/**
 * Quantiles of every summarized metric over the tasks, or undefined without any task.
 *
 * @example
 * ```ts
 * const q = summarizeTaskMetrics([{ partition: 0, metrics }]);
 * q?.durationMs; // [min, p25, median, p75, max]
 * ```
 */
export function summarizeTaskMetrics(tasks: ReadonlyArray<{ readonly metrics: TaskMetrics }>): MetricQuantiles | undefined {
  const c = new StageMetrics(tasks.length);
  for (let i = 0; i < tasks.length; i++) c.add(i, tasks[i]!.metrics);
  return c.summary();
}

/**
 * The skew flag: the slowest task, when it took more than {@link SKEW_FACTOR} times the median and more than
 * {@link SKEW_MIN_MS}. A single task has no median to compare with.
 *
 * @example
 * ```ts
 * const skew = detectSkew(tasks);
 * if (skew) console.warn(`partition ${skew.partition} computed ${skew.runMs} ms`);
 * ```
 */
export function detectSkew(tasks: ReadonlyArray<{ readonly partition: number; readonly metrics: TaskMetrics }>): SkewReport | undefined {
  const c = new StageMetrics(tasks.length);
  // A partition named twice counts twice here, as it always did: only the scheduler's collection counts it once.
  for (let i = 0; i < tasks.length; i++) c.add(i, tasks[i]!.metrics, tasks[i]!.partition);
  return c.skew();
}

const RUN_MS = SUMMARIZED_METRICS.indexOf('runMs');
const INPUT_RECORDS = SUMMARIZED_METRICS.indexOf('inputRecords');
const SHUFFLE_READ_RECORDS = SUMMARIZED_METRICS.indexOf('shuffleReadRecords');

/**
 * The successful tasks' metrics of one stage attempt, kept as numbers in columns as they arrive (the DAG scheduler
 * fills one per running stage while a listener wants stage summaries): holding each task's metrics object until the
 * stage ends kept thousands of them alive through young-generation collections, and the summary then copied them into
 * columns anyway. Only the slowest task's key sample is kept (the skew report names it).
 *
 * @example
 * ```ts
 * const c = new StageMetrics(numTasks);
 * c.add(partition, metrics); // false when the partition was already counted
 * c.summary(); c.skew();
 * ```
 */
export class StageMetrics {
  /** Column-major: metric j of row i at j * capacity + i. */
  #values: Float64Array;
  #capacity: number;
  #rows = 0;
  /** Partitions counted, so that a speculative copy's success counts once. */
  #seen: Uint8Array;
  #slowestRow = -1;
  #slowestPartition = 0;
  #slowestKeys: readonly string[] | undefined;
  /** Where the quantiles sort (a copy per varying column and stage was as much fresh memory again). */
  #scratch: Float64Array | undefined;
  /** runMs's median from summary() for skew(), which would sort the same column again; NaN when not known. */
  #runMedian = Number.NaN;

  constructor(expectedTasks: number) {
    this.#capacity = Math.max(1, expectedTasks);
    this.#values = new Float64Array(this.#capacity * SUMMARIZED_METRICS.length);
    this.#seen = new Uint8Array(this.#capacity);
  }

  /**
   * Empties it for another stage attempt, keeping its memory when it is large enough: a stage's columns are
   * ~150 bytes a task, and fresh memory for them at every stage cost more than filling them (new pages, and
   * external memory that hastens full collections).
   */
  reuse(expectedTasks: number): this {
    if (expectedTasks > this.#capacity) {
      this.#capacity = expectedTasks;
      this.#values = new Float64Array(this.#capacity * SUMMARIZED_METRICS.length);
    }
    if (expectedTasks > this.#seen.length) this.#seen = new Uint8Array(expectedTasks);
    else this.#seen.fill(0);
    this.#rows = 0;
    this.#slowestRow = -1;
    this.#slowestPartition = 0;
    this.#slowestKeys = undefined;
    this.#runMedian = Number.NaN;
    return this;
  }

  get size(): number {
    return this.#rows;
  }

  /** Adds a successful task's metrics, unless its partition was counted already (then false). */
  add(partition: number, m: TaskMetrics, reportedPartition = partition): boolean {
    if (partition >= this.#seen.length) {
      const seen = new Uint8Array(Math.max(partition + 1, this.#seen.length * 2));
      seen.set(this.#seen);
      this.#seen = seen;
    }
    if (this.#seen[partition] === 1) return false;
    this.#seen[partition] = 1;
    this.#runMedian = Number.NaN;
    if (this.#rows === this.#capacity) this.#grow();
    const i = this.#rows++;
    const c = this.#capacity;
    const v = this.#values;
    // Field by field: a loop over the names would be a keyed access per metric, once per task.
    v[i] = m.durationMs;
    v[c + i] = m.runMs;
    v[2 * c + i] = m.compileMs;
    v[3 * c + i] = m.gcMs;
    v[4 * c + i] = m.fetchWaitMs;
    v[5 * c + i] = m.inputRecords;
    v[6 * c + i] = m.inputBytes;
    v[7 * c + i] = m.shuffleReadRecords;
    v[8 * c + i] = m.shuffleReadBytes;
    v[9 * c + i] = m.shuffleWriteRecords;
    v[10 * c + i] = m.shuffleWriteBytes;
    v[11 * c + i] = m.outputRecords;
    v[12 * c + i] = m.outputBytes;
    v[13 * c + i] = m.spillCount;
    v[14 * c + i] = m.memoryBytesSpilled;
    v[15 * c + i] = m.diskBytesSpilled;
    v[16 * c + i] = m.resultRecords;
    v[17 * c + i] = m.resultBytes;
    // The first of equally slow tasks stays the slowest.
    if (this.#slowestRow < 0 || m.runMs > v[RUN_MS * c + this.#slowestRow]!) {
      this.#slowestRow = i;
      this.#slowestPartition = reportedPartition;
      this.#slowestKeys = m.keySample;
    }
    return true;
  }

  #grow(): void {
    const old = this.#values;
    const c = this.#capacity;
    const next = c * 2;
    const values = new Float64Array(next * SUMMARIZED_METRICS.length);
    for (let j = 0; j < SUMMARIZED_METRICS.length; j++) values.set(old.subarray(j * c, j * c + this.#rows), j * next);
    this.#values = values;
    this.#capacity = next;
  }

  #sortSpace(): Float64Array {
    if (this.#scratch === undefined || this.#scratch.length < this.#rows) this.#scratch = new Float64Array(this.#capacity);
    return this.#scratch;
  }

  #column(j: number): Float64Array {
    return this.#values.subarray(j * this.#capacity, j * this.#capacity + this.#rows);
  }

  /** Quantiles of every summarized metric, or undefined without any task. */
  summary(): MetricQuantiles | undefined {
    if (this.#rows === 0) return undefined;
    const out = {} as Record<SummarizedMetric, Quantiles>;
    for (let j = 0; j < SUMMARIZED_METRICS.length; j++) out[SUMMARIZED_METRICS[j]!] = sortedQuantiles(this.#column(j), this.#sortSpace());
    this.#runMedian = out.runMs[2];
    return out;
  }

  /** The skew flag (see {@link detectSkew}). */
  skew(): SkewReport | undefined {
    if (this.#rows < 2) return undefined;
    const run = this.#column(RUN_MS);
    // A median is never NaN here unless a runMs is, and then sorting again gives the same NaN.
    const medianMs = Number.isNaN(this.#runMedian) ? sortedQuantiles(run, this.#sortSpace())[2] : this.#runMedian;
    const ms = run[this.#slowestRow]!;
    if (!(ms > SKEW_FACTOR * medianMs && ms > SKEW_MIN_MS)) return undefined;
    const input = this.#column(INPUT_RECORDS);
    const shuffle = this.#column(SHUFFLE_READ_RECORDS);
    const records = new Float64Array(this.#rows);
    for (let i = 0; i < records.length; i++) records[i] = shuffle[i]! + input[i]!;
    return {
      partition: this.#slowestPartition,
      runMs: Math.round(ms),
      medianMs: Math.round(medianMs),
      records: records[this.#slowestRow]!,
      medianRecords: sortedQuantiles(records, this.#sortSpace())[2],
      keySample: this.#slowestKeys ?? [],
    };
  }
}

/** One line for the console and the hint log. */
export function describeSkew(stageId: number, s: SkewReport): string {
  const keys = s.keySample.length > 0 ? `, keys ${s.keySample.join(', ')}` : '';
  return (
    `stage ${stageId} is skewed: partition ${s.partition} computed ${s.runMs} ms (median ${s.medianMs} ms) ` +
    `over ${s.records} records (median ${s.medianRecords})${keys}; repartition or salt the hot key?`
  );
}
