/**
 * `rdd.stats()`'s answer: Spark's StatCounter, with its statistics as properties (as kindling has always given
 * them) and Spark's methods to merge more numbers or another counter into it.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { emptyStats, mergeStats, type StatCounter as Moments } from './result-functions.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Count, mean, sum, min, max, variance (population and sample) and standard deviations of numbers, mergeable
 * (Spark's StatCounter). The statistics are properties; `merge` adds a number, numbers or another counter in
 * place (as Spark's), `copy` makes an independent counter, and `toString()` (also what `console.log` prints)
 * reads as PySpark's: `(count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)`.
 *
 * @example
 * ```ts
 * const s = await sc.parallelize([1, 2, 3]).stats();
 * console.log(s); // (count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)
 * s.sampleStdev; // 1
 * const both = s.copy().merge(await other.stats()); // s itself unchanged
 * new StatCounter([4, 5]).mean; // 4.5
 * ```
 */
export class StatCounter {
  /** How many numbers. */
  readonly count!: number;
  /** Their mean; 0 when there are none, as Spark's and PySpark's StatCounter (NaN when one is NaN). */
  readonly mean!: number;
  /** Their sum; 0 when there are none. */
  readonly sum!: number;
  /** The smallest; Infinity when there are none, NaN when one is NaN (as Scala's `math.min`). */
  readonly min!: number;
  /** The largest; -Infinity when there are none, NaN when one is NaN. */
  readonly max!: number;
  /** The population variance (divided by the count); NaN when there are none. */
  readonly variance!: number;
  /** The sample variance (divided by the count - 1); NaN for fewer than two numbers. */
  readonly sampleVariance!: number;
  /** The population standard deviation. */
  readonly stdev!: number;
  /** The sample standard deviation. */
  readonly sampleStdev!: number;
  // Kept private (not enumerable properties) so that the counter's keys are exactly its statistics, as before.
  #m: Moments;

  /** A counter of `values` (none by default), as Spark's `new StatCounter(values)`. */
  constructor(values: Iterable<number> = []) {
    this.#m = emptyStats();
    this.merge(values);
  }

  /** @internal A counter of moments merged from tasks' results. */
  static of(m: Moments): StatCounter {
    const s = new StatCounter();
    s.#m = { ...m };
    s.#refresh();
    return s;
  }

  /**
   * Adds a number, the numbers of an iterable, or another counter's statistics to this one, in place; returns
   * this counter (Spark's `merge`). Merging a counter into itself doubles it, as in Spark.
   *
   * @example
   * ```ts
   * const s = new StatCounter([1, 2]);
   * s.merge(3).merge([4, 5]).merge(new StatCounter([6])); // s.count === 6
   * ```
   */
  merge(value: number | Iterable<number> | StatCounter): this {
    if (value instanceof StatCounter) {
      this.#m = mergeStats({ ...this.#m }, { ...value.#m });
    } else if (typeof value === 'number') {
      this.#m = mergeStats(this.#m, one(value));
    } else if (value !== null && typeof value === 'object' && Symbol.iterator in value) {
      for (const x of value) this.#m = mergeStats(this.#m, one(x));
    } else {
      throw new InvalidArgumentError(`StatCounter.merge: takes a number, an iterable of numbers or a StatCounter, got ${typeof value}`);
    }
    this.#refresh();
    return this;
  }

  /**
   * An independent counter with the same statistics (Spark's `copy`).
   *
   * @example
   * ```ts
   * const total = s.copy().merge(t); // s unchanged
   * ```
   */
  copy(): StatCounter {
    return StatCounter.of(this.#m);
  }

  /**
   * PySpark's text of a StatCounter: `(count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)`, numbers
   * written as Python writes floats (`2.0`, `1e-05`, `nan`, `inf`). Scala's prints six decimals instead.
   *
   * @example
   * ```ts
   * String(new StatCounter([1, 2, 3])); // '(count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)'
   * ```
   */
  toString(): string {
    return `(count: ${this.count}, mean: ${pyFloat(this.mean)}, stdev: ${pyFloat(this.stdev)}, max: ${pyFloat(this.max)}, min: ${pyFloat(this.min)})`;
  }

  /** What `console.log` and `util.inspect` print: the same as `toString()`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  #refresh(): void {
    const s = this.#m;
    const variance = s.n === 0 ? NaN : s.m2 / s.n;
    const sampleVariance = s.n <= 1 ? NaN : s.m2 / (s.n - 1);
    const self = this as Mutable<StatCounter>;
    self.count = s.n;
    // Spark's and PySpark's `mean` is the running mean itself, 0.0 before any number (`(count: 0, mean: 0.0, ...)`).
    self.mean = s.mu;
    self.sum = s.sum;
    self.min = s.min;
    self.max = s.max;
    self.variance = variance;
    self.sampleVariance = sampleVariance;
    self.stdev = Math.sqrt(variance);
    self.sampleStdev = Math.sqrt(sampleVariance);
  }
}

function one(x: unknown): Moments {
  if (typeof x !== 'number') throw new InvalidArgumentError(`StatCounter.merge: takes numbers, got ${typeof x} ${String(x)}`);
  return { n: 1, mu: x, m2: 0, sum: x, max: x, min: x };
}

/**
 * A number as Python's `repr(float)`: the same shortest digits as JavaScript's, but a whole number keeps `.0`, the
 * exponent form starts below 1e-4 and at 1e16 with at least two exponent digits, and NaN and the infinities read
 * `nan`, `inf`, `-inf`.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const sign = e < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const neg = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  // Whole part: the first e + 1 digits (padded with zeros); fraction: the rest, or zeros then the digits below 1.
  const plain =
    e >= 0
      ? `${digits.slice(0, e + 1).padEnd(e + 1, '0')}${digits.length > e + 1 ? `.${digits.slice(e + 1)}` : ''}`
      : `0.${'0'.repeat(-e - 1)}${digits}`;
  return `${neg ? '-' : ''}${plain.includes('.') ? plain : `${plain}.0`}`;
}
