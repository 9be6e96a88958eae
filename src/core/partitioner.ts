/**
 * Partitioners decide which reduce partition each key of a shuffle goes to. Map and reduce sides may run
 * on different workers, so a partitioner travels as plain data (`PartitionerWire`) and must place a key
 * identically wherever it is rebuilt; that is why placement rests only on `hashKey` and `compareKeys`.
 */

import { compareKeys, hashKey, keysEqual, nonNegativeMod } from './keys.js';
import { SeededRandom } from './random.js';
import { InvalidArgumentError, ArgumentTypeError } from './errors.js';

/** A partitioner as plain, structured-clone-safe data, for sending to workers. */
export type PartitionerWire =
  | { kind: 'hash'; numPartitions: number }
  | { kind: 'direct'; numPartitions: number }
  | { kind: 'range'; numPartitions: number; bounds: unknown[]; ascending: boolean }
  /** A user's partitioner: `getPartition` is a shipped function, compiled by the worker before its task runs. */
  | { kind: 'custom'; numPartitions: number; getPartition: unknown };

/**
 * `n - 1` when `n` is a power of two, else -1: then `(h >>> 0) % n === (h & (n - 1))` for every int32 `h`, and the
 * mask costs a cycle where the unsigned division took ~10 ns a key (a map task of PageRank buckets 77k keys).
 */
export function powerOfTwoMask(n: number): number {
  return n > 0 && (n & (n - 1)) === 0 ? n - 1 : -1;
}

/**
 * What {@link HashPartitioner.getPartition} makes of a key's `hashKey` value `h`, for `numPartitions` with its
 * {@link powerOfTwoMask} `mask`: for loops that have the hashes already.
 *
 * @example
 * ```ts
 * partitionOfHash(hashKey('spark'), 4, powerOfTwoMask(4)) === new HashPartitioner(4).getPartition('spark'); // true
 * ```
 */
export function partitionOfHash(h: number, numPartitions: number, mask: number): number {
  return mask >= 0 ? h & mask : (h >>> 0) % numPartitions;
}

/** Maps each key to a partition index in `[0, numPartitions)`. */
export interface Partitioner {
  readonly numPartitions: number;
  getPartition(key: unknown): number;
  /** Whether `other` places every key in the same partition, so a shuffle between them can be skipped. */
  equals(other: Partitioner | undefined): boolean;
  toWire(): PartitionerWire;
  /**
   * For a partitioner whose placement is decided when a job runs (sortByKey's samples its input then): decides it,
   * once. Every RDD or shuffle that holds it must call this before a key is placed or the partitioner is described.
   */
  settle?(): Promise<void>;
  /** What such a partitioner has become once settled (a RangePartitioner); compared in its place by `equals`. */
  readonly settled?: Partitioner | undefined;
}

/** `p`, or what it settled into: a sort's partitioner equals another once its bounds are known. */
export function settledPartitioner(p: Partitioner | undefined): Partitioner | undefined {
  return p?.settled ?? p;
}

// The hash is a signed 32-bit integer, so more partitions than this could never all be reached.
const MAX_PARTITIONS = 2 ** 31 - 1;

/** True only while {@link HashPartitioner.ofNoPartitions} constructs: users' partitioners have 1 partition or more. */
let makingNoPartitions = false;

function checkNumPartitions(n: unknown, who: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw new InvalidArgumentError(`kindling: ${who} numPartitions must be an integer in [1, ${MAX_PARTITIONS}], got ${String(n)}`);
  }
  return n;
}

/**
 * Places a key in partition `(hashKey(key) >>> 0) % numPartitions` (the hash read as unsigned), like
 * Spark's HashPartitioner but with a structural, process-independent hash. The formula is part of the
 * contract: every worker must agree on it.
 *
 * @example
 * ```ts
 * const p = new HashPartitioner(4);
 * p.getPartition('spark');                 // same value on every worker, in [0, 4)
 * p.equals(new HashPartitioner(4));        // true
 * ```
 */
export class HashPartitioner implements Partitioner {
  readonly numPartitions: number;
  /** `numPartitions - 1` when it is a power of two (see {@link partitionOfHash}), else -1. */
  readonly #mask: number;

  /** @throws RangeError unless `numPartitions` is a positive integer below 2^31. */
  constructor(numPartitions: number) {
    this.numPartitions = makingNoPartitions && numPartitions === 0 ? 0 : checkNumPartitions(numPartitions, 'HashPartitioner');
    this.#mask = powerOfTwoMask(this.numPartitions);
  }

  /**
   * @internal Spark's `HashPartitioner(0)`: the default partitioner of a shuffle whose inputs have no partitions
   * (`emptyRDD`, `textFile` of an empty file), so that its result has none either, as in Spark, rather than one empty
   * partition that `mapPartitions`, `foreachPartition`, `pipe` and `saveAsTextFile` (an empty part file) would see.
   * No record ever reaches it; a key asked for anyway (`lookup`) throws, so that nothing is placed at `NaN`.
   */
  static ofNoPartitions(): HashPartitioner {
    makingNoPartitions = true;
    try {
      const p = new HashPartitioner(0);
      Object.defineProperty(p, 'getPartition', {
        value: (): never => {
          // internal: callers that may meet it (lookup) catch this and scan the RDD's partitions, of which there are none
          throw new Error('internal: a partitioner of no partitions places no key');
        },
      });
      return p;
    } finally {
      makingNoPartitions = false;
    }
  }

  getPartition(key: unknown): number {
    const h = hashKey(key);
    return this.#mask >= 0 ? h & this.#mask : (h >>> 0) % this.numPartitions;
  }

  equals(other: Partitioner | undefined): boolean {
    return other instanceof HashPartitioner && other.numPartitions === this.numPartitions;
  }

  toWire(): PartitionerWire {
    return { kind: 'hash', numPartitions: this.numPartitions };
  }
}

/**
 * For integer keys that already are partition numbers: key `k` goes to partition
 * `nonNegativeMod(k, numPartitions)`. `repartition` keys each element by a running counter and shuffles
 * with this partitioner, which spreads elements round-robin (Spark gets the same effect from its
 * HashPartitioner because Java hashes an Int to itself; `hashKey` mixes integers, so it would not).
 *
 * @example
 * ```ts
 * const p = new DirectPartitioner(3);
 * [0, 1, 2, 3, -1].map((k) => p.getPartition(k)); // [0, 1, 2, 0, 2]
 * ```
 */
export class DirectPartitioner implements Partitioner {
  readonly numPartitions: number;

  /** @throws RangeError unless `numPartitions` is a positive integer below 2^31. */
  constructor(numPartitions: number) {
    this.numPartitions = checkNumPartitions(numPartitions, 'DirectPartitioner');
  }

  /** @throws TypeError if `key` is not a safe integer. */
  getPartition(key: unknown): number {
    if (!Number.isSafeInteger(key)) {
      throw new ArgumentTypeError(`kindling: DirectPartitioner keys must be safe integers, got ${typeof key === 'number' ? key : typeof key}`);
    }
    return nonNegativeMod(key as number, this.numPartitions);
  }

  equals(other: Partitioner | undefined): boolean {
    return other instanceof DirectPartitioner && other.numPartitions === this.numPartitions;
  }

  toWire(): PartitionerWire {
    return { kind: 'direct', numPartitions: this.numPartitions };
  }
}

/**
 * Places keys into contiguous ranges split at `bounds` (strictly increasing under `compareKeys`): keys up
 * to and including `bounds[0]` go to partition 0, keys in `(bounds[i-1], bounds[i]]` to partition `i`,
 * keys above every bound to partition `bounds.length`. When `ascending` is false the partition order is
 * reversed (largest keys in partition 0), which is how `sortByKey(false)` stays globally sorted. With
 * fewer than `numPartitions - 1` bounds (few distinct keys), the trailing partitions are empty.
 *
 * @example
 * ```ts
 * const p = new RangePartitioner(3, [10, 20]);
 * [5, 10, 15, 25].map((k) => p.getPartition(k));           // [0, 0, 1, 2]
 * new RangePartitioner(3, [10, 20], false).getPartition(5); // 2
 * ```
 */
export class RangePartitioner implements Partitioner {
  readonly numPartitions: number;
  readonly bounds: readonly unknown[];
  readonly ascending: boolean;

  /** @throws RangeError on a bad `numPartitions`, more than `numPartitions - 1` bounds, or unsorted bounds. */
  constructor(numPartitions: number, bounds: readonly unknown[], ascending = true) {
    this.numPartitions = checkNumPartitions(numPartitions, 'RangePartitioner');
    if (bounds.length > numPartitions - 1) {
      throw new InvalidArgumentError(
        `kindling: RangePartitioner with ${numPartitions} partitions takes at most ${numPartitions - 1} bounds, got ${bounds.length}`,
      );
    }
    for (let i = 1; i < bounds.length; i++) {
      if (compareKeys(bounds[i - 1], bounds[i]) >= 0) {
        throw new InvalidArgumentError(`kindling: RangePartitioner bounds must be strictly increasing (at index ${i})`);
      }
    }
    // A private frozen copy: a caller mutating its array later must not move keys between partitions.
    this.bounds = Object.freeze(bounds.slice());
    this.ascending = ascending;
  }

  getPartition(key: unknown): number {
    const bounds = this.bounds;
    // Binary search for the number of bounds strictly below `key`.
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(key, bounds[mid]) > 0) lo = mid + 1;
      else hi = mid;
    }
    return this.ascending ? lo : bounds.length - lo;
  }

  equals(given: Partitioner | undefined): boolean {
    const other = settledPartitioner(given);
    if (!(other instanceof RangePartitioner)) return false;
    if (other === this) return true;
    if (other.numPartitions !== this.numPartitions || other.ascending !== this.ascending) return false;
    const a = this.bounds;
    const b = other.bounds;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!keysEqual(a[i], b[i])) return false;
    return true;
  }

  toWire(): PartitionerWire {
    return { kind: 'range', numPartitions: this.numPartitions, bounds: this.bounds.slice(), ascending: this.ascending };
  }
}

/**
 * Rebuild a partitioner sent as {@link PartitionerWire}; the result `equals` the original.
 *
 * @example
 * ```ts
 * const p = partitionerFromWire(new RangePartitioner(4, ['g', 'p']).toWire());
 * p.getPartition('k'); // 1
 * ```
 */
export function partitionerFromWire(w: PartitionerWire): Partitioner {
  switch (w.kind) {
    case 'hash':
      return w.numPartitions === 0 ? HashPartitioner.ofNoPartitions() : new HashPartitioner(w.numPartitions);
    case 'direct':
      return new DirectPartitioner(w.numPartitions);
    case 'range':
      return new RangePartitioner(w.numPartitions, w.bounds, w.ascending);
    case 'custom':
      // internal: the executor compiles custom partitioners before the shuffle writer needs one
      throw new TypeError('kindling: a custom partitioner must be compiled by the worker, not rebuilt from its description');
    default:
      // internal: wire data comes from toWire() of a known partitioner; another kind means a bug
      throw new TypeError(`kindling: unknown partitioner kind ${JSON.stringify((w as { kind: unknown }).kind)}`);
  }
}

/**
 * Spark's determineBounds: from weighted candidate keys (typically a sample, each weighted by how many
 * records it stands for), choose at most `partitions - 1` distinct, increasing bounds that split the total
 * weight as evenly as the candidates allow. With distinct candidate keys every resulting range carries
 * less than `totalWeight / partitions + maxWeight`.
 *
 * @example
 * ```ts
 * determineBounds([[5, 1], [1, 1], [3, 1], [4, 1], [2, 1], [6, 1]], 3); // [2, 4]
 * ```
 */
export function determineBounds(
  candidates: ReadonlyArray<readonly [unknown, number]>,
  partitions: number,
  /** The key order (a user's comparator for sortByKey with `compare`); the engine's by default. */
  compare: (a: unknown, b: unknown) => number = compareKeys,
): unknown[] {
  checkNumPartitions(partitions, 'determineBounds');
  const bounds: unknown[] = [];
  if (partitions === 1 || candidates.length === 0) return bounds;
  let total = 0;
  for (const [, w] of candidates) {
    if (!(w >= 0) || w === Infinity) throw new InvalidArgumentError(`kindling: determineBounds weights must be finite and non-negative, got ${w}`);
    total += w;
  }
  const sorted = candidates.slice().sort((x, y) => compare(x[0], y[0]));
  const step = total / partitions;
  let cumulative = 0;
  let nextTarget = step;
  for (let i = 0; i < sorted.length && bounds.length < partitions - 1; i++) {
    const [key, weight] = sorted[i]!;
    cumulative += weight;
    if (cumulative < nextTarget) continue;
    // A key equal to the previous bound cannot start a new range; wait for the next larger key, keeping
    // the same target so the lost split is made up as soon as possible.
    if (bounds.length > 0 && compare(key, bounds[bounds.length - 1]) <= 0) continue;
    bounds.push(key);
    nextTarget += step;
  }
  return bounds;
}

/**
 * Uniform reservoir sample (Algorithm R) of up to `k` items in one pass, reproducible for a given `seed`.
 * Also returns how many items were seen, which range partitioning uses to weight each sample.
 *
 * @example
 * ```ts
 * const { sample, count } = reservoirSample(['a', 'b', 'c', 'd'], 2, 7);
 * // sample.length === 2, count === 4; the same seed always picks the same two
 * ```
 */
export function reservoirSample<T>(items: Iterable<T>, k: number, seed: number): { sample: T[]; count: number } {
  if (!Number.isInteger(k) || k < 0) throw new InvalidArgumentError(`kindling: reservoirSample size must be a non-negative integer, got ${k}`);
  const sample: T[] = [];
  let count = 0;
  const rng = new SeededRandom(seed);
  for (const item of items) {
    if (count < k) {
      sample.push(item);
    } else if (k > 0) {
      // Item number count+1 replaces a random slot with probability k / (count + 1).
      const j = rng.nextInt(count + 1);
      if (j < k) sample[j] = item;
    }
    count++;
  }
  return { sample, count };
}
