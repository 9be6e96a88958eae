/**
 * Rebuilding RDDs inside a worker from their wire descriptions: one factory per kind, explicit, so a worker can
 * only ever construct the engine's own classes. User functions are compiled here, against the task's runtime.
 */
import type { ShippedFunction } from '../closure/index.js';
import { DirectPartitioner } from '../core/partitioner.js';
import { compileAggregator, type AggregatorWire } from '../shuffle/aggregator.js';
import { WORKER_RDD_CONTEXT as W } from './rdd-context.js';
import type { Pair } from './task-context.js';
import {
  RDD,
  ParallelCollectionRDD,
  RangeRDD,
  EmptyRDD,
  MappedRDD,
  MapPartitionsRDD,
  UnionRDD,
  CoalescedRDD,
  CartesianRDD,
  ZippedPartitionsRDD,
  ZippedWithIndexRDD,
  ShuffledRDD,
  CoGroupedRDD,
  TextFileRDD,
  WholeTextFilesRDD,
  BinaryFilesRDD,
  CheckpointRDD,
  type RddWire,
  type ElementOp,
  type PartitionOp,
  type RangeArgs,
  type ShuffleSpec,
  type CoGroupSource,
} from './internal.js';

type Fn = (...args: unknown[]) => unknown;
export type Compile = (f: ShippedFunction) => Promise<Fn>;
type Factory = (w: RddWire, parents: RDD<unknown>[], compile: Compile, byId: ReadonlyMap<number, RDD<unknown>>) => Promise<RDD<unknown>> | RDD<unknown>;

const FACTORIES: Record<string, Factory> = {
  ParallelCollectionRDD: (w) => new ParallelCollectionRDD(W, w.numPartitions, opts(w)),
  RangeRDD: (w) => new RangeRDD(W, w.args as RangeArgs, opts(w)),
  EmptyRDD: (w) => new EmptyRDD(W, opts(w)),
  MappedRDD: async (w, [parent], compile) => {
    const a = w.args as { op: ElementOp; fn?: ShippedFunction };
    return new MappedRDD(parent!, a.op, a.fn ? await compile(a.fn) : undefined, opts(w));
  },
  MapPartitionsRDD: async (w, [parent], compile) => {
    const a = w.args as PartitionOp & { fn?: ShippedFunction; aggregator?: AggregatorWire };
    if (a.mode === 'user' || a.mode === 'userWithIndex') {
      const fn = await compile(a.fn as unknown as ShippedFunction);
      return new MapPartitionsRDD(parent!, { mode: a.mode, fn, op: a.op }, { ...opts(w), compiled: { fn } });
    }
    if (a.mode === 'combineLocal') {
      const aggregator = await compileAggregator(a.aggregator, compile);
      return new MapPartitionsRDD(parent!, a, { ...opts(w), compiled: { aggregator } });
    }
    return new MapPartitionsRDD(parent!, a, opts(w));
  },
  UnionRDD: (w, parents) => new UnionRDD(W, parents, opts(w)),
  CoalescedRDD: (w, [parent]) => new CoalescedRDD(parent!, (w.args as { numPartitions: number }).numPartitions, opts(w)),
  CartesianRDD: (w, [left, right]) => new CartesianRDD(left!, right!, opts(w)),
  ZippedPartitionsRDD2: (w, [left, right]) => new ZippedPartitionsRDD(left!, right!, opts(w)),
  ZippedWithIndexRDD: (w, [parent]) => new ZippedWithIndexRDD(parent!, { ...opts(w), offsets: (w.args as { offsets: number[] }).offsets }),
  ShuffledRDD: async (w, _parents, compile) => {
    const a = w.args as { shuffleId: number; spec: ShuffleSpec; numPartitions: number };
    const aggregator = a.spec.aggregator ? await compileAggregator(a.spec.aggregator, compile) : undefined;
    // The reduce side only needs the partition count; which keys landed where was decided by the map side.
    return new ShuffledRDD(W, undefined, new DirectPartitioner(a.numPartitions), a.spec, {
      ...opts(w),
      shuffleId: a.shuffleId,
      ...(aggregator ? { aggregator } : {}),
    });
  },
  CoGroupedRDD: (w, _parents, _compile, byId) => {
    const a = w.args as { numPartitions: number; sources: Array<{ type: 'narrow'; rddId: number } | { type: 'shuffle'; shuffleId: number }> };
    const sources = a.sources.map((s): CoGroupSource =>
      s.type === 'narrow' ? { type: 'narrow', rdd: byId.get(s.rddId) as RDD<Pair> } : { type: 'shuffle', shuffleId: s.shuffleId },
    );
    return new CoGroupedRDD(W, sources, undefined, { ...opts(w), numPartitions: a.numPartitions });
  },
  TextFileRDD: (w) => new TextFileRDD(W, (w.args as { path: string }).path, 0, { ...opts(w), numPartitions: w.numPartitions }),
  ReliableCheckpointRDD: (w) => new CheckpointRDD(W, (w.args as { dir: string }).dir, w.numPartitions, opts(w)),
  WholeTextFileRDD: (w) => new WholeTextFilesRDD(W, (w.args as { path: string }).path, 0, { ...opts(w), numPartitions: w.numPartitions }),
  BinaryFileRDD: (w) => new BinaryFilesRDD(W, (w.args as { path: string }).path, 0, { ...opts(w), numPartitions: w.numPartitions }),
};

function opts(w: RddWire): { id: number; label: string } {
  return { id: w.id, label: w.label };
}

/**
 * Rebuilds the RDDs of a stage, parents first (the driver lists them in that order), and returns them by id.
 */
export async function rebuildRdds(wires: readonly RddWire[], compile: Compile): Promise<Map<number, RDD<unknown>>> {
  const byId = new Map<number, RDD<unknown>>();
  for (const w of wires) {
    const factory = FACTORIES[w.kind];
    if (factory === undefined) throw new Error(`worker cannot rebuild RDD kind ${w.kind} (RDD ${w.id})`);
    const parents = w.parents.map((id) => {
      const r = byId.get(id);
      if (r === undefined) throw new Error(`RDD ${w.id} needs RDD ${id}, which was not sent before it`);
      return r;
    });
    const rdd = await factory(w, parents, compile, byId);
    rdd.restoreStorageLevel(w.storageLevel);
    byId.set(w.id, rdd);
  }
  return byId;
}
