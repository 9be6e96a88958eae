/**
 * Rebuilding RDDs inside a worker from their wire descriptions: one factory per kind, explicit, so a worker can
 * only ever construct the engine's own classes. User functions are compiled here, against the task's runtime.
 */
import type { RddKind, RddWireOf } from './wire.js';
import type { Compile } from '../closure/index.js';
import { DirectPartitioner, HashPartitioner } from '../core/partitioner.js';
import { compileAggregator } from '../shuffle/aggregator.js';
import { WORKER_RDD_CONTEXT as W } from './rdd-context.js';
import type { Pair } from './task-context.js';
import {
  type RDD,
  ParallelCollectionRDD,
  RangeRDD,
  EmptyRDD,
  MappedRDD,
  MapPartitionsRDD,
  UnionRDD,
  PartitionerAwareUnionRDD,
  CoalescedRDD,
  CartesianRDD,
  ZippedPartitionsRDD,
  ZippedWithIndexRDD,
  ShuffledRDD,
  CoGroupedRDD,
  TextFileRDD,
  MapAsyncRDD,
  CsvFileRDD,
  WholeTextFilesRDD,
  BinaryFilesRDD,
  BinaryRecordsRDD,
  CheckpointRDD,
  LocalCheckpointRDD,
  type RddWire,
  type CoGroupSource,
} from './internal.js';

type Factory<K extends RddKind> = (
  w: RddWireOf<K>,
  parents: RDD<unknown>[],
  compile: Compile,
  byId: ReadonlyMap<number, RDD<unknown>>,
) => Promise<RDD<unknown>> | RDD<unknown>;

/** One factory per RDD kind of the wire contract (wire.ts): a kind without a factory does not compile. */
const FACTORIES: { readonly [K in RddKind]: Factory<K> } = {
  ParallelCollectionRDD: (w) => new ParallelCollectionRDD(W, w.numPartitions, opts(w)),
  RangeRDD: (w) => new RangeRDD(W, w.args, opts(w)),
  EmptyRDD: (w) => new EmptyRDD(W, opts(w)),
  MappedRDD: async (w, [parent], compile) => new MappedRDD(parent!, w.args.op, w.args.fn ? await compile(w.args.fn) : undefined, opts(w)),
  MapAsyncRDD: async (w, [parent], compile) => new MapAsyncRDD(parent!, await compile(w.args.fn), w.args.concurrency, opts(w)),
  MapPartitionsRDD: async (w, [parent], compile) => {
    const a = w.args;
    if (a.mode === 'user' || a.mode === 'userWithIndex') {
      const fn = await compile(a.fn);
      return new MapPartitionsRDD(parent!, { mode: a.mode, fn, op: a.op }, { ...opts(w), compiled: { fn } });
    }
    if (a.mode === 'combineLocal') {
      const aggregator = await compileAggregator(a.aggregator, compile);
      return new MapPartitionsRDD(parent!, a, { ...opts(w), compiled: { aggregator } });
    }
    return new MapPartitionsRDD(parent!, a, opts(w));
  },
  UnionRDD: (w, parents) => new UnionRDD(W, parents, opts(w)),
  PartitionerAwareUnionRDD: (w, parents) => new PartitionerAwareUnionRDD(W, parents, opts(w)),
  CoalescedRDD: (w, [parent]) => new CoalescedRDD(parent!, w.args.numPartitions, { ...opts(w), ...(w.args.groups ? { groups: w.args.groups } : {}) }),
  CartesianRDD: (w, [left, right]) => new CartesianRDD(left!, right!, opts(w)),
  ZippedPartitionsRDD2: (w, [left, right]) => new ZippedPartitionsRDD(left!, right!, opts(w)),
  ZippedWithIndexRDD: (w, [parent]) => new ZippedWithIndexRDD(parent!, { ...opts(w), ...(w.args.offsets ? { offsets: w.args.offsets } : {}) }),
  ShuffledRDD: async (w, _parents, compile) => {
    const a = w.args;
    const aggregator = a.spec.aggregator ? await compileAggregator(a.spec.aggregator, compile) : undefined;
    const sortKey = a.spec.sortKey ? ((await compile(a.spec.sortKey)) as (k: unknown) => unknown) : undefined;
    const compare = a.spec.compare ? ((await compile(a.spec.compare)) as (a: unknown, b: unknown) => number) : undefined;
    // The reduce side only needs the partition count; which keys landed where was decided by the map side. A
    // shuffle of no partitions reaches a worker as a parent of a union, whose tasks never read it.
    const partitioner = a.numPartitions === 0 ? HashPartitioner.ofNoPartitions() : new DirectPartitioner(a.numPartitions);
    return new ShuffledRDD(W, undefined, partitioner, a.spec, {
      ...opts(w),
      shuffleId: a.shuffleId,
      ...(aggregator ? { aggregator } : {}),
      ...(sortKey ? { sortKey } : {}),
      ...(compare ? { compare } : {}),
    });
  },
  CoGroupedRDD: (w, _parents, _compile, byId) => {
    const sources = w.args.sources.map((s): CoGroupSource => {
      if (s.type === 'shuffle') return { type: 'shuffle', shuffleId: s.shuffleId };
      const rdd = byId.get(s.rddId);
      // internal: the driver sends a stage's RDDs parents first
      if (rdd === undefined) throw new Error(`cogroup RDD ${w.id} reads RDD ${s.rddId}, which was not sent before it`);
      return { type: 'narrow', rdd: rdd as RDD<Pair> };
    });
    return new CoGroupedRDD(W, sources, undefined, { ...opts(w), numPartitions: w.args.numPartitions });
  },
  TextFileRDD: (w) => new TextFileRDD(W, w.args.path, 0, { ...opts(w), numPartitions: w.numPartitions }),
  CsvFileRDD: (w) => {
    const { path, numPartitions: _, ...csv } = w.args;
    return new CsvFileRDD(W, path, 0, csv, { ...opts(w), numPartitions: w.numPartitions });
  },
  ReliableCheckpointRDD: (w) => new CheckpointRDD(W, w.args.dir, w.numPartitions, opts(w)),
  LocalCheckpointRDD: (w) => new LocalCheckpointRDD(W, w.numPartitions, w.args.of, opts(w)),
  WholeTextFileRDD: (w) => new WholeTextFilesRDD(W, w.args.path, 0, { ...opts(w), numPartitions: w.numPartitions }),
  BinaryFileRDD: (w) => new BinaryFilesRDD(W, w.args.path, 0, { ...opts(w), numPartitions: w.numPartitions }),
  BinaryRecordsRDD: (w) => new BinaryRecordsRDD(W, w.args.path, w.args.recordLength, 0, { ...opts(w), numPartitions: w.numPartitions }),
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
    // The one place the union is dispatched: each factory is typed for its own kind (see FACTORIES).
    const factory = FACTORIES[w.kind] as Factory<RddKind> | undefined;
    // internal: every RDD kind registers its factory in this module (a kind from a newer driver would fail here)
    if (factory === undefined) throw new Error(`worker cannot rebuild RDD kind ${w.kind} (RDD ${w.id})`);
    const parents = w.parents.map((id) => {
      const r = byId.get(id);
      // internal: stage descriptions list parents before children
      if (r === undefined) throw new Error(`RDD ${w.id} needs RDD ${id}, which was not sent before it`);
      return r;
    });
    const rdd = await factory(w, parents, compile, byId);
    rdd.restoreStorageLevel(w.storageLevel, w.cacheGeneration);
    byId.set(w.id, rdd);
  }
  return byId;
}
