/**
 * Dependencies between RDDs, the edges of the lineage graph. The DAG scheduler cuts stages at shuffle
 * dependencies and pipelines narrow ones inside one task; it looks only at the dependency's kind, never at the
 * RDD's class.
 */
import type { RDD } from './rdd.js';
import type { Partitioner } from '../core/partitioner.js';
import type { AggregatorWire } from '../shuffle/aggregator.js';

/** Each partition of the child depends on a small, known set of parent partitions. */
export interface NarrowDependency {
  readonly type: 'narrow';
  readonly rdd: RDD<unknown>;
  /** The parent partitions that child partition `p` reads. */
  getParents(p: number): readonly number[];
}

/** Every child partition may read every parent partition: data is redistributed by a partitioner. */
export interface ShuffleDependency {
  readonly type: 'shuffle';
  readonly rdd: RDD<unknown>;
  readonly shuffleId: number;
  readonly partitioner: Partitioner;
  /** How values of one key are combined, if they are. */
  readonly aggregator: AggregatorWire | undefined;
  /** Combine on the map side before writing (reduceByKey-like operations). */
  readonly mapSideCombine: boolean;
  /** Sort each reduce partition by key (sortByKey). */
  readonly keyOrdering: 'ascending' | 'descending' | undefined;
  /** The RDD on the reduce side (whose functions run in the map-side combine), for error messages. */
  readonly childId: number;
  readonly childLabel: string;
}

export type Dependency = NarrowDependency | ShuffleDependency;

/** Child partition p reads parent partition p. */
export function oneToOne(rdd: RDD<unknown>): NarrowDependency {
  return { type: 'narrow', rdd, getParents: (p) => [p] };
}

/** Child partitions [outStart, outStart+length) read parent partitions [inStart, ...) (union). */
export function rangeDependency(rdd: RDD<unknown>, inStart: number, outStart: number, length: number): NarrowDependency {
  return {
    type: 'narrow',
    rdd,
    getParents: (p) => (p >= outStart && p < outStart + length ? [p - outStart + inStart] : []),
  };
}

/** Child partition p reads the listed parent partitions (coalesce, cartesian). */
export function customNarrow(rdd: RDD<unknown>, parentsOf: (p: number) => readonly number[]): NarrowDependency {
  return { type: 'narrow', rdd, getParents: parentsOf };
}

/**
 * Walks the partitions that one partition reads through narrow dependencies (a stage's pipeline below it), depth
 * first, each (RDD, partition) once per `seen` (keys `${rdd.id}/${partition}`). `visit` answers 'descend' to go on
 * to the pair's narrow parents, 'skip' not to, or 'stop' to end the walk; shuffle dependencies end a stage and are
 * left to the visitor.
 *
 * @example
 * ```ts
 * // Is any partition below partition 0 of `rdd` cached?
 * let cached = false;
 * walkNarrowPartitions([[rdd, 0]], new Set(), (r) => (r.storageLevel.name !== 'NONE' ? ((cached = true), 'stop') : 'descend'));
 * ```
 */
export function walkNarrowPartitions(
  stack: Array<[RDD<unknown>, number]>,
  seen: Set<string>,
  visit: (rdd: RDD<unknown>, partition: number) => 'descend' | 'skip' | 'stop',
): void {
  while (stack.length > 0) {
    const [r, p] = stack.pop()!;
    const key = `${r.id}/${p}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const next = visit(r, p);
    if (next === 'stop') return;
    if (next === 'skip') continue;
    for (const d of r.dependencies) if (d.type === 'narrow') for (const q of d.getParents(p)) stack.push([d.rdd, q]);
  }
}

/**
 * The workers holding the nearest cached partition at or below `partition` of `rdd` through narrow dependencies,
 * per `locations` (the driver's cache tracker): where a task reading that partition prefers to run (Spark's
 * preferred locations), and so what coalesce groups by. Empty when nothing below it is cached anywhere.
 *
 * @example
 * ```ts
 * const workers = cachedPreferredLocations(rdd, 0, (id, p) => cacheTracker.locations(id, p));
 * ```
 */
export function cachedPreferredLocations(
  rdd: RDD<unknown>,
  partition: number,
  locations: (rddId: number, partition: number) => readonly number[],
): readonly number[] {
  let found: readonly number[] = [];
  walkNarrowPartitions([[rdd, partition]], new Set(), (r, p) => {
    if (r.storageLevel.name === 'NONE') return 'descend';
    found = locations(r.id, p);
    return found.length > 0 ? 'stop' : 'descend';
  });
  return found;
}
