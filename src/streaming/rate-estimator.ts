import { InvalidArgumentError } from '../core/errors.js';

/** The PID controller's gains and floor; Spark's defaults (`spark.streaming.backpressure.pid.*`). */
export interface PidOptions {
  /** Weight of the current error (processing rate vs the last rate); default 1.0. */
  proportional?: number;
  /** Weight of the accumulated error, read from the scheduling delay; default 0.2. */
  integral?: number;
  /** Weight of the error's rate of change; default 0. */
  derivative?: number;
  /** The rate never drops below this many records per second, so a stalled batch cannot starve the stream; default 100. */
  minRate?: number;
}

/**
 * Spark's PIDRateEstimator, step for step: after each batch it proposes the records per second the source may
 * deliver so that processing keeps up with the batch interval. The first batch only seeds the estimate.
 *
 * @example
 * ```ts
 * const pid = new PidRateEstimator(1000);
 * pid.compute(1000, 1000, 500, 0);       // undefined: the first batch seeds the estimate
 * pid.compute(2000, 1000, 1000, 0);      // 1000: one second per thousand records
 * ```
 */
export class PidRateEstimator {
  readonly #batchMs: number;
  readonly #p: number;
  readonly #i: number;
  readonly #d: number;
  readonly #minRate: number;
  #firstRun = true;
  #latestTime = -1;
  #latestRate = -1;
  #latestError = -1;

  constructor(batchIntervalMs: number, options: PidOptions = {}) {
    this.#batchMs = batchIntervalMs;
    this.#p = nonNegative(options.proportional ?? 1.0, 'pid.proportional');
    this.#i = nonNegative(options.integral ?? 0.2, 'pid.integral');
    this.#d = nonNegative(options.derivative ?? 0, 'pid.derivative');
    this.#minRate = options.minRate ?? 100;
    if (!(this.#minRate > 0)) throw new InvalidArgumentError(`pid.minRate must be > 0, got ${this.#minRate}`);
  }

  /**
   * A new rate in records per second, or undefined when this batch says nothing (the first batch, no records, no
   * processing time, or a clock that did not move).
   */
  compute(timeMs: number, records: number, processingMs: number, schedulingDelayMs: number): number | undefined {
    if (!(timeMs > this.#latestTime && records > 0 && processingMs > 0)) return undefined;
    const sinceUpdate = (timeMs - this.#latestTime) / 1000;
    const processingRate = (records / processingMs) * 1000;
    const error = this.#latestRate - processingRate;
    // What the scheduling delay says was not processed in time, as a rate over one interval (the integral term).
    const historicalError = (schedulingDelayMs * processingRate) / this.#batchMs;
    const dError = (error - this.#latestError) / sinceUpdate;
    const newRate = Math.max(this.#latestRate - this.#p * error - this.#i * historicalError - this.#d * dError, this.#minRate);
    this.#latestTime = timeMs;
    if (this.#firstRun) {
      this.#latestRate = processingRate;
      this.#latestError = 0;
      this.#firstRun = false;
      return undefined;
    }
    this.#latestRate = newRate;
    this.#latestError = error;
    return newRate;
  }
}

function nonNegative(x: number, what: string): number {
  if (!(x >= 0)) throw new InvalidArgumentError(`${what} must be >= 0, got ${x}`);
  return x;
}

/**
 * A source's rate limit in records per second: a fixed maximum, an optional starting rate, and Spark's PID
 * estimator moving it after every batch (never above the maximum). Undefined rate: no limit yet.
 *
 * @example
 * ```ts
 * const limit = new RateLimit(1000, { maxRate: 50_000 }, (rate) => console.log(`rate now ${rate}/s`));
 * limit.perBatch(); // 50000
 * ```
 */
export class RateLimit {
  readonly #pid: PidRateEstimator | undefined;
  readonly #maxRate: number;
  readonly #batchMs: number;
  readonly #onRate: (rate: number) => void;
  #rate: number | undefined;

  constructor(batchMs: number, o: { maxRate?: number; initialRate?: number; pid?: PidOptions | false }, onRate: (rate: number) => void) {
    this.#batchMs = batchMs;
    this.#maxRate = o.maxRate ?? Number.POSITIVE_INFINITY;
    if (o.initialRate !== undefined) this.#rate = Math.min(o.initialRate, this.#maxRate);
    else if (o.maxRate !== undefined) this.#rate = o.maxRate;
    this.#pid = o.pid === false ? undefined : new PidRateEstimator(batchMs, o.pid ?? {});
    this.#onRate = onRate;
  }

  get rate(): number | undefined {
    return this.#rate;
  }

  /** Records one batch interval may take at the current rate (at least 1), or Infinity without a limit. */
  perBatch(): number {
    return this.#rate === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor((this.#rate * this.#batchMs) / 1000));
  }

  /** The `rateLimit` field of a batch's input report (absent without a limit). */
  reportField(): { rateLimit?: number } {
    return this.#rate === undefined ? {} : { rateLimit: this.#rate };
  }

  /** Moves the limit after a batch; true when the estimator gave a new rate. */
  batchCompleted(report: { endMs: number; records: number; processingMs: number; schedulingDelayMs: number }): boolean {
    if (this.#pid === undefined) return false;
    const rate = this.#pid.compute(report.endMs, report.records, report.processingMs, report.schedulingDelayMs);
    if (rate === undefined) return false;
    this.#rate = Math.min(rate, this.#maxRate);
    this.#onRate(this.#rate);
    return true;
  }
}
