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
