/**
 * User-defined partitioners (Spark's custom Partitioner subclasses): an object with `numPartitions` and
 * `getPartition(key)`. Its `getPartition` ships to the workers like any user function (declare what it uses
 * with `capture`), so map tasks place keys with it; on the driver it answers `lookup` and co-partitioning.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { ShippedFunction } from '../closure/index.js';
import { settledPartitioner, type Partitioner, type PartitionerWire } from '../core/partitioner.js';
import type { RddContext } from './rdd-context.js';

/**
 * A partitioner of your own: `getPartition` must return an integer in `[0, numPartitions)` and place equal keys
 * alike on every worker. Two RDDs partitioned by the same object (or by objects whose `equals` says so) are
 * co-partitioned: joining them needs no shuffle.
 *
 * @example
 * ```ts
 * const byParity: CustomPartitioner<number> = { numPartitions: 2, getPartition: (k) => k % 2 };
 * pairs.partitionBy(byParity);
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: a partitioner declared without a key type accepts any key
export interface CustomPartitioner<K = any> {
  readonly numPartitions: number;
  getPartition(key: K): number;
  /** Whether `other` places every key where this one does (default: only the same object). */
  equals?(other: CustomPartitioner<K>): boolean;
}

/** True for an object that looks like a user partitioner rather than one of the engine's. */
export function isCustomPartitioner(x: unknown): x is CustomPartitioner {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as CustomPartitioner).getPartition === 'function' &&
    typeof (x as { toWire?: unknown }).toWire !== 'function'
  );
}

function checkedPartition(p: unknown, n: number, key: unknown, who: string): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= n) {
    let shown: string;
    try {
      shown = JSON.stringify(key) ?? String(key);
    } catch {
      shown = String(key);
    }
    throw new InvalidArgumentError(`${who} returned ${String(p)} for key ${shown}; it must be an integer in [0, ${n})`);
  }
  return p;
}

/** The driver's view of a user partitioner: the user's object, and its getPartition shipped for the workers. */
export class ShippedPartitioner implements Partitioner {
  readonly numPartitions: number;
  readonly #fn: ShippedFunction;

  constructor(
    readonly user: CustomPartitioner,
    context: RddContext,
  ) {
    const n = user.numPartitions;
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`a custom partitioner's numPartitions must be a positive integer, got ${String(n)}`);
    this.numPartitions = n;
    this.#fn = context.ship(user.getPartition, 'getPartition function of a custom partitioner')!;
  }

  getPartition(key: unknown): number {
    return checkedPartition(this.user.getPartition(key), this.numPartitions, key, 'getPartition of a custom partitioner');
  }

  equals(given: Partitioner | undefined): boolean {
    const other = settledPartitioner(given);
    if (!(other instanceof ShippedPartitioner)) return false;
    return other.user === this.user || (this.user.equals?.(other.user) ?? false);
  }

  toWire(): PartitionerWire {
    return { kind: 'custom', numPartitions: this.numPartitions, getPartition: this.#fn };
  }
}

/** The worker's view: the compiled getPartition, checked on every key. */
export class CompiledPartitioner implements Partitioner {
  constructor(
    readonly numPartitions: number,
    readonly fn: (key: unknown) => unknown,
  ) {}
  getPartition(key: unknown): number {
    return checkedPartition(this.fn(key), this.numPartitions, key, 'getPartition of a custom partitioner');
  }
  equals(): boolean {
    return false;
  }
  toWire(): never {
    // internal: only the driver-side wrapper is described on the wire
    throw new Error('a compiled custom partitioner is not sent on');
  }
}
