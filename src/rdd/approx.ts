/**
 * Spark's approximate actions (`countApprox`, `sumApprox`, `meanApprox`): the job runs, and at the timeout the
 * driver answers from the partitions finished so far, with a confidence interval, as Spark's
 * ApproximateActionListener and its Count/Sum/MeanEvaluator do.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { normalQuantile, poissonQuantile, studentTQuantile } from './approx-distributions.js';
import { emptyStats, mergeStats, type StatCounter as Moments } from './result-functions.js';
import type { ResultFunctionWire } from './result-functions.js';
import type { RDD } from './internal.js';
import { MAX_TIMER_MS } from '../util/timers.js';

/**
 * A number with error bars (Spark's BoundedDouble): the estimate `mean`, and `low`..`high` holding the true value
 * with probability `confidence`. An exact answer has `low === high === mean` and confidence 1.
 *
 * @example
 * ```ts
 * const { initialValue } = await rdd.countApprox(1000);
 * console.log(`${initialValue.mean} in ${initialValue}`); // 400 in [381.000, 420.000]
 * ```
 */
export class BoundedDouble {
  constructor(
    readonly mean: number,
    readonly confidence: number,
    readonly low: number,
    readonly high: number,
  ) {}
  /** Scala's text: the interval with three decimals, `[381.000, 420.000]`. */
  toString(): string {
    return `[${fixed3(this.low)}, ${fixed3(this.high)}]`;
  }
}

/** Scala's `%.3f`: Infinity and NaN spelled as Java does. */
function fixed3(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

/**
 * What an approximate action answers (Spark's PartialResult): `initialValue`, the estimate at the timeout (or the
 * exact value, when the job finished sooner: then `isInitialValueFinal`), and `finalValue()`, which waits for the
 * job, which goes on after the timeout as in Spark, and gives the exact value (or rejects with the job's error).
 *
 * @example
 * ```ts
 * const r = await rdd.countApprox(2000, 0.9);
 * if (!r.isInitialValueFinal) console.log('about', r.initialValue.mean, 'in', String(r.initialValue));
 * const exact = (await r.finalValue()).mean;
 * ```
 */
export class PartialResult<R> {
  readonly #final: Promise<{ ok: true; value: R } | { ok: false; error: unknown }>;
  #settled: R | undefined;
  constructor(
    readonly initialValue: R,
    readonly isInitialValueFinal: boolean,
    final: Promise<R>,
  ) {
    // Settled either way here, so that a job failing after the answer is never an unhandled rejection: it reaches
    // the program through finalValue(), if it asks.
    this.#final = final.then(
      (value) => {
        this.#settled = value;
        return { ok: true as const, value };
      },
      (error: unknown) => ({ ok: false as const, error }),
    );
  }
  /**
   * The exact value, once the job is over (Scala's `getFinalValue`, without blocking); rejects with the job's error
   * if it failed after the timeout, or was cancelled (`sc.stop()`, its job group, its signal).
   */
  async finalValue(): Promise<R> {
    const o = await this.#final;
    if (!o.ok) throw o.error;
    return o.value;
  }
  /** Scala's text: `(final: [400.000, 400.000])` once the final value is in, else `(partial: [381.000, 420.000])`. */
  toString(): string {
    if (this.isInitialValueFinal) return `(final: ${String(this.initialValue)})`;
    return this.#settled !== undefined ? `(final: ${String(this.#settled)})` : `(partial: ${String(this.initialValue)})`;
  }
  /** What `console.log` prints: the same as `toString()`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Merges partitions' results as they come and estimates the whole from them (Spark's ApproximateEvaluator). */
interface Evaluator<P> {
  merge(part: P): void;
  currentResult(): BoundedDouble;
}

/** The approximate actions' own arguments, checked as Spark's `require`s them. */
function checkArguments(action: string, timeout: number, confidence: number): void {
  if (typeof timeout !== 'number' || !(timeout >= 0)) {
    throw new InvalidArgumentError(`${action}: timeout must be a number of milliseconds, 0 or more, got ${String(timeout)}`);
  }
  if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) {
    throw new InvalidArgumentError(`${action}: confidence must be in [0, 1], got ${String(confidence)}`);
  }
}

/**
 * Spark's CountEvaluator: with a fraction p of the partitions counted, `sum` elements seen, the rest is taken as
 * Poisson(sum (1 - p) / p), and the interval comes straight from its quantiles.
 */
function countEvaluator(total: number, confidence: number): Evaluator<number> {
  let merged = 0;
  let sum = 0;
  return {
    merge(n) {
      merged++;
      sum += n;
    },
    currentResult() {
      if (merged === total) return new BoundedDouble(sum, 1, sum, sum);
      if (merged === 0 || sum === 0) return new BoundedDouble(0, 0, 0, Infinity);
      const p = merged / total;
      const rest = (sum * (1 - p)) / p;
      const low = poissonQuantile((1 - confidence) / 2, rest);
      const high = poissonQuantile((1 + confidence) / 2, rest);
      return new BoundedDouble(sum + rest, confidence, sum + low, sum + high);
    },
  };
}

/** The factor of the standard error for a two-sided interval: Student's t up to 100 numbers, the normal's above. */
function confidenceFactor(count: number, confidence: number): number {
  const q = (1 + confidence) / 2;
  return count > 100 ? normalQuantile(q) : studentTQuantile(q, count - 1);
}

/**
 * An evaluator over the seen numbers' statistics (what Spark's Sum and MeanEvaluator merge into a StatCounter):
 * `estimate` turns the partitions merged so far and their moments into the answer.
 */
function statsEvaluator(estimate: (merged: number, s: Moments) => BoundedDouble): Evaluator<Moments> {
  let merged = 0;
  let s = emptyStats();
  return {
    merge(m) {
      merged++;
      s = mergeStats(s, m);
    },
    currentResult: () => estimate(merged, s),
  };
}

/**
 * Spark's SumEvaluator: the unseen part's sum is the seen mean times the unseen count, count (1 - p) / p; its
 * variance is that of a product of independent mean and count (the count's from the negative binomial), and the
 * interval is symmetric, t or normal; the seen sum is added to all three.
 */
function sumEvaluator(total: number, confidence: number): Evaluator<Moments> {
  return statsEvaluator((merged, s) => {
    if (merged === total) return new BoundedDouble(s.sum, 1, s.sum, s.sum);
    if (merged === 0 || s.n === 0) return new BoundedDouble(0, 0, -Infinity, Infinity);
    const p = merged / total;
    const mean = s.mu;
    const countEstimate = (s.n * (1 - p)) / p;
    const sumEstimate = mean * countEstimate;
    const meanVar = s.n <= 1 ? NaN : s.m2 / (s.n - 1) / s.n;
    if (Number.isNaN(meanVar) || s.n === 1) return new BoundedDouble(s.sum + sumEstimate, confidence, -Infinity, Infinity);
    const countVar = (s.n * (1 - p)) / (p * p);
    const sumVar = mean * mean * countVar + countEstimate * countEstimate * meanVar + meanVar * countVar;
    const half = confidenceFactor(s.n, confidence) * Math.sqrt(sumVar);
    return new BoundedDouble(s.sum + sumEstimate, confidence, s.sum + sumEstimate - half, s.sum + sumEstimate + half);
  });
}

/** Spark's MeanEvaluator: the seen mean, with a t (up to 100 numbers) or normal interval from its standard error. */
function meanEvaluator(total: number, confidence: number): Evaluator<Moments> {
  return statsEvaluator((merged, s) => {
    // The running mean: 0 for no numbers, as Spark's StatCounter (and `mean()`) answer, not NaN.
    const mean = s.mu;
    if (merged === total) return new BoundedDouble(mean, 1, mean, mean);
    if (merged === 0 || s.n === 0) return new BoundedDouble(0, 0, -Infinity, Infinity);
    if (s.n === 1) return new BoundedDouble(mean, confidence, -Infinity, Infinity);
    const half = confidenceFactor(s.n, confidence) * Math.sqrt(s.m2 / (s.n - 1) / s.n);
    return new BoundedDouble(mean, confidence, mean - half, mean + half);
  });
}

/**
 * Runs the job and answers at `timeout` ms from the results in by then, or at its end if that comes first (Spark's
 * runApproximateJob). A job that fails before the answer rejects the action; after it, the job runs on and its
 * outcome is `finalValue()`'s. Results are merged as each partition's task ends (with the mapreduce engine, which
 * hands results over at the job's end only, an answer before the end knows nothing: mean 0, confidence 0).
 */
async function runApproximate<P>(
  rdd: RDD<unknown>,
  action: string,
  wire: ResultFunctionWire,
  evaluator: Evaluator<P>,
  timeout: number,
): Promise<PartialResult<BoundedDouble>> {
  const seen = new Set<number>();
  const job = rdd.context
    .runJob<P>(
      rdd,
      wire,
      undefined,
      `${action} at ${rdd.label}`,
      (index, part) => {
        // A partition's result counts once, whatever the attempts that computed it.
        if (seen.has(index)) return;
        seen.add(index);
        evaluator.merge(part);
      },
      true,
    )
    .then(() => evaluator.currentResult());
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A timeout past Node's longest timer (countApprox(Infinity), "wait for the job") would fire after 1 ms: none is set.
  const timedOut = new Promise<undefined>((resolve) => {
    if (timeout <= MAX_TIMER_MS) timer = setTimeout(() => resolve(undefined), timeout);
  });
  try {
    const done = await Promise.race([job, timedOut]);
    if (done !== undefined) return new PartialResult(done, true, job);
    return new PartialResult(evaluator.currentResult(), false, job);
  } finally {
    clearTimeout(timer);
  }
}

/** Spark's `countApprox`: see `RDD.countApprox`. */
export function countApprox(rdd: RDD<unknown>, timeout: number, confidence: number): Promise<PartialResult<BoundedDouble>> {
  checkArguments('countApprox', timeout, confidence);
  return runApproximate(rdd, 'countApprox', { kind: 'count' }, countEvaluator(rdd.getNumPartitions(), confidence), timeout);
}

/** Spark's `sumApprox`: see `RDD.sumApprox`. */
export function sumApprox(rdd: RDD<number>, timeout: number, confidence: number): Promise<PartialResult<BoundedDouble>> {
  checkArguments('sumApprox', timeout, confidence);
  return runApproximate(rdd as RDD<unknown>, 'sumApprox', { kind: 'stats' }, sumEvaluator(rdd.getNumPartitions(), confidence), timeout);
}

/** Spark's `meanApprox`: see `RDD.meanApprox`. */
export function meanApprox(rdd: RDD<number>, timeout: number, confidence: number): Promise<PartialResult<BoundedDouble>> {
  checkArguments('meanApprox', timeout, confidence);
  return runApproximate(rdd as RDD<unknown>, 'meanApprox', { kind: 'stats' }, meanEvaluator(rdd.getNumPartitions(), confidence), timeout);
}
