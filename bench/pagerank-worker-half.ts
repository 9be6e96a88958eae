/**
 * One worker's half of PageRank's links on the generated graph (100k nodes, 1M edges): the out-lists of the sources
 * with an even id, or of one hash partition of two (kindling's HashPartitioner, as the program's groupByKey splits
 * them), as groupByKey leaves them, and a rank for each source. What the map-side benchmarks
 * (pagerank-map-combine.ts, pagerank-map-task.ts, pagerank-vcpus.ts) feed one worker's task; {@link mapTaskOf} is
 * that task run through one build's own classes.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HashPartitioner } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { machine } from './harness.js';

export interface WorkerHalf {
  /** [source, distinct destinations] in first-seen order. */
  readonly links: Array<[number, number[]]>;
  /** A rank per source of `links`, at the same index. */
  readonly ranks: number[];
  /** Destinations in all lists: the records one iteration's flatMap makes. */
  readonly contributions: number;
}

/**
 * `partition` 0 or 1: the sources of that partition of `HashPartitioner(2)` (PageRank's two map tasks on `local[2]`);
 * default the sources with an even id (what the benchmarks measured before session 31).
 */
export async function workerHalf(partition?: number): Promise<WorkerHalf> {
  const file = await ensureDataset('graph', 'data', { nodes: 100_000, edges: 1_000_000 });
  const byNode = new Map<number, number[]>();
  const hash = new HashPartitioner(2);
  const mine = partition === undefined ? (s: number) => s % 2 === 0 : (s: number) => hash.getPartition(s) === partition;
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const [s, d] = line.split(/\s+/).map(Number) as [number, number];
    if (!mine(s)) continue;
    let l = byNode.get(s);
    if (l === undefined) byNode.set(s, (l = []));
    if (!l.includes(d)) l.push(d);
  }
  const links = [...byNode.entries()];
  return {
    links,
    ranks: links.map((_, i) => 0.15 + ((i * 7919) % 1000) / 500),
    contributions: links.reduce((n, [, l]) => n + l.length, 0),
  };
}

// Each build's modules are loaded by path at run time: untyped here.
// biome-ignore lint/suspicious/noExplicitAny: modules of other builds, loaded by path
type Any = any;
const load = async (root: string, file: string): Promise<Record<string, Any>> =>
  (await import(pathToFileURL(path.join(root, 'dist', file)).href)) as Record<string, Any>;

/**
 * The user's functions as a worker compiles them: the source into a factory once (closure/compile.ts caches it per
 * worker), then a new closure of it per task. A new factory per task would give V8 a new function each time, whose
 * call sites never see the same one twice, which a worker's do.
 */
const factories = new Map<string, () => Function>();
export const compiled = (src: string): Function => {
  let factory = factories.get(src);
  if (factory === undefined) factories.set(src, (factory = new Function(`"use strict";\nreturn (${src}\n);`) as () => Function));
  return factory();
};
export const FLAT_MAP = `([urls, rank]) => {
        const share = rank / urls.length;
        return urls.map((url) => [url, share]);
      }`;
/**
 * A flatMap of the same shape that leaves out the per-edge work: one record per source (its rank to its first
 * neighbour), so a map task is the join, the lists the user is given, the pipeline and one combine call per source
 * into a table of ~20k random vertex ids, without the user's `[dst, share]` pair per edge and its garbage. (One key for
 * every record would keep the number table in its hashed layout, a path the program never takes.)
 */
export const FLAT_MAP_ONE = '([urls, rank]) => [[urls[0], rank]]';
export const SUM = '(a, b) => a + b';

/** One build's later-iteration map task over a worker's half, ready to run again and again. */
export interface MapTask {
  /** Runs the task once; returns the groups it wrote. */
  run(): number;
  /** The build's cached blocks of links and ranks. */
  packed: [unknown, unknown];
  /** The build's HashPartitioner class. */
  HashPartitioner: Any;
}

/**
 * The RDDs a worker rebuilds for a later PageRank iteration's map task (the cached links' partition as CSR columns,
 * the cached ranks' as pair columns, their narrow join, `values()`, the example's `flatMap`, the `reduceByKey` map
 * side into a shuffle writer), through the classes of the build at `root` (its `dist/`), as partition `partition`
 * of two, with the user's function `flatMap` (the example's by default). Scheduling, fetching and the reduce side are
 * left out.
 */
export async function mapTaskOf(root: string, half: WorkerHalf, partition: number, scratch: string, flatMap = FLAT_MAP): Promise<MapTask> {
  const links = half.links;
  const ranks = links.map(([s], i): [number, number] => [s, half.ranks[i]!]);
  const rdd = await load(root, 'rdd/index.js');
  const cogroup = await load(root, 'rdd/cogrouped-rdd.js');
  const blocks = await load(root, 'storage/columnar-block.js');
  const writer = await load(root, 'shuffle/shuffle-writer.js');
  const manager = await load(root, 'shuffle/spilling-shuffle-manager.js');
  const mb = await load(root, 'shuffle/memory-budget.js');
  const { HashPartitioner } = await load(root, 'core/partitioner.js');
  const budget = new mb.MemoryBudget!(2048 * 0.2 * 2 ** 20, scratch);
  const shuffles = new manager.SpillingShuffleManager!({ workerIndex: 0, dir: scratch, spillBytes: 1 << 30, writeAllToDisk: false, budget });
  const packed: [unknown, unknown] = [blocks.packPartition!(links), blocks.packPartition!(ranks)];
  const W = rdd.WORKER_RDD_CONTEXT;
  const partitioner = new HashPartitioner(2);
  let shuffleId = 0;
  const run = (): number => {
    // The stage's RDDs, rebuilt as a worker rebuilds them for each iteration (links and ranks cached).
    const linksRdd = new rdd.ParallelCollectionRDD!(W, 1, { id: 1, label: 'links' });
    linksRdd.restoreStorageLevel('MEMORY_ONLY');
    const ranksRdd = new rdd.ParallelCollectionRDD!(W, 1, { id: 2, label: 'ranks' });
    ranksRdd.restoreStorageLevel('MEMORY_ONLY');
    const co = new cogroup.CoGroupedRDD!(
      W,
      [
        { type: 'narrow', rdd: linksRdd },
        { type: 'narrow', rdd: ranksRdd },
      ],
      partitioner,
      { id: 3, label: 'cogroup' },
    );
    const joined = new rdd.MappedRDD!(co, 'joinInner', undefined, { id: 4, label: 'join' });
    const values = new rdd.MappedRDD!(joined, 'values', undefined, { id: 5, label: 'values' });
    const contribs = new rdd.MappedRDD!(values, 'flatMap', compiled(flatMap), { id: 6, label: 'flatMap' });
    const sum = compiled(SUM);
    const tc = {
      stageId: 0,
      partition,
      attempt: 0,
      blocks: { get: (r: number, p: number) => (p === partition ? packed[r - 1] : undefined), put: () => undefined },
      shuffleInput: () => [],
      payload: () => [],
    };
    const wire = { shuffleId: ++shuffleId, partitioner: partitioner.toWire(), mapSideCombine: true, rddId: 7, rddLabel: 'reduceByKey' };
    mb.setWorkerMemoryBudget!(budget);
    try {
      const status = writer.writeShuffleOutput!(
        (each: (x: unknown) => void) => contribs.forEach(partition, tc, each),
        contribs.label,
        wire,
        { createCombiner: (v: unknown) => v, mergeValue: sum, mergeCombiners: sum },
        shuffles.writer(shuffleId, partition, 2),
        partitioner,
      );
      // Dense sizes by reducer, or sparse ones (`{ list }`) when few reducers got records (none: a build's hack that writes nothing).
      const sizes = status.sizes as number[] | { list: number[] };
      return (Array.isArray(sizes) ? sizes : sizes.list).reduce((a, b) => a + b, 0);
    } finally {
      mb.setWorkerMemoryBudget!(undefined);
      shuffles.remove(shuffleId);
    }
  };
  return { run, packed, HashPartitioner };
}

/** CPU time (user + system) of this process so far, in ms. */
export function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** The middle sample (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** The machine and its load averages now, for a benchmark's first line. */
export function machineAndLoad(): string {
  return `${machine()}; load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}
