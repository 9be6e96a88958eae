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

/** Nearest-rank quantiles of `values` (at least one). */
export function quantiles(values: ArrayLike<number>): Quantiles {
  // Most metrics are the same for every task of a stage (0 bytes spilled, 1 result record): no copy, no sort.
  const first = values[0]!;
  let i = 1;
  while (i < values.length && values[i] === first) i++;
  if (i >= values.length) return [first, first, first, first, first];
  // A typed array sorts numerically without a comparator call per comparison (stages can have 100k tasks).
  const v = Float64Array.from(values).sort();
  const at = (q: number): number => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))]!;
  return [v[0]!, at(0.25), at(0.5), at(0.75), v[v.length - 1]!];
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
  if (tasks.length === 0) return undefined;
  const columns = metricColumns(tasks.map((t) => t.metrics));
  const out = {} as Record<SummarizedMetric, Quantiles>;
  for (const k of SUMMARIZED_METRICS) out[k] = quantiles(columns[k]);
  return out;
}

/**
 * Each summarized metric of the tasks as a column (0 for a task without metrics). One pass that names every
 * field: reading them by a variable name (`m[k]`) costs a slow keyed lookup each, and stages have 100k tasks.
 *
 * @example
 * ```ts
 * metricColumns([m1, m2]).runMs; // Float64Array [m1.runMs, m2.runMs]
 * ```
 */
function metricColumns(ms: ReadonlyArray<TaskMetrics | undefined>): Record<SummarizedMetric, Float64Array> {
  const n = ms.length;
  const c = {
    durationMs: new Float64Array(n),
    runMs: new Float64Array(n),
    compileMs: new Float64Array(n),
    gcMs: new Float64Array(n),
    fetchWaitMs: new Float64Array(n),
    inputRecords: new Float64Array(n),
    inputBytes: new Float64Array(n),
    shuffleReadRecords: new Float64Array(n),
    shuffleReadBytes: new Float64Array(n),
    shuffleWriteRecords: new Float64Array(n),
    shuffleWriteBytes: new Float64Array(n),
    outputRecords: new Float64Array(n),
    outputBytes: new Float64Array(n),
    spillCount: new Float64Array(n),
    memoryBytesSpilled: new Float64Array(n),
    diskBytesSpilled: new Float64Array(n),
    resultRecords: new Float64Array(n),
    resultBytes: new Float64Array(n),
  } satisfies Record<SummarizedMetric, Float64Array>;
  for (let i = 0; i < n; i++) {
    const m = ms[i];
    if (m === undefined) continue;
    c.durationMs[i] = m.durationMs;
    c.runMs[i] = m.runMs;
    c.compileMs[i] = m.compileMs;
    c.gcMs[i] = m.gcMs;
    c.fetchWaitMs[i] = m.fetchWaitMs;
    c.inputRecords[i] = m.inputRecords;
    c.inputBytes[i] = m.inputBytes;
    c.shuffleReadRecords[i] = m.shuffleReadRecords;
    c.shuffleReadBytes[i] = m.shuffleReadBytes;
    c.shuffleWriteRecords[i] = m.shuffleWriteRecords;
    c.shuffleWriteBytes[i] = m.shuffleWriteBytes;
    c.outputRecords[i] = m.outputRecords;
    c.outputBytes[i] = m.outputBytes;
    c.spillCount[i] = m.spillCount;
    c.memoryBytesSpilled[i] = m.memoryBytesSpilled;
    c.diskBytesSpilled[i] = m.diskBytesSpilled;
    c.resultRecords[i] = m.resultRecords;
    c.resultBytes[i] = m.resultBytes;
  }
  return c;
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
  if (tasks.length < 2) return undefined;
  let slowest = tasks[0]!;
  for (const t of tasks) if (t.metrics.runMs > slowest.metrics.runMs) slowest = t;
  const medianMs = quantiles(tasks.map((t) => t.metrics.runMs))[2];
  const ms = slowest.metrics.runMs;
  if (!(ms > SKEW_FACTOR * medianMs && ms > SKEW_MIN_MS)) return undefined;
  const records = (m: TaskMetrics): number => m.shuffleReadRecords + m.inputRecords;
  return {
    partition: slowest.partition,
    runMs: Math.round(ms),
    medianMs: Math.round(medianMs),
    records: records(slowest.metrics),
    medianRecords: quantiles(tasks.map((t) => records(t.metrics)))[2],
    keySample: slowest.metrics.keySample ?? [],
  };
}

/** One line for the console and the hint log. */
export function describeSkew(stageId: number, s: SkewReport): string {
  const keys = s.keySample.length > 0 ? `, keys ${s.keySample.join(', ')}` : '';
  return (
    `stage ${stageId} is skewed: partition ${s.partition} computed ${s.runMs} ms (median ${s.medianMs} ms) ` +
    `over ${s.records} records (median ${s.medianRecords})${keys}; repartition or salt the hot key?`
  );
}
