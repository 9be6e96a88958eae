/**
 * One later PageRank iteration's map task, in one thread, side by side with other builds in the same process: the
 * RDDs a worker rebuilds for it (the cached links' partition as CSR columns, the cached ranks' as pair columns,
 * their narrow join, `values()`, the example's `flatMap`, the `reduceByKey` map side into a shuffle writer), run
 * through the engine's own classes of each build, on one worker's half of the generated graph (sources with an even
 * id). What it leaves out is scheduling, fetching and the reduce side; what it gains is a measurement on a loaded
 * machine that another process's load moves far less than the whole program's: CPU time (user + system) of this
 * one thread per task, builds interleaved, the order swapped every round.
 *
 *   npx tsx bench/pagerank-map-task.ts [--rounds 40] [--baseline DIR]... [--plain]
 *
 * `--baseline DIR` (repeatable): the root of another checkout whose `dist/` was built.
 * `--plain`: also the same task written as plain loops in the rotation (see {@link plainTask}): the floor that no
 * change to the engine's map task can go below without changing what the program does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuMs, machineAndLoad, median, workerHalf } from './pagerank-worker-half.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] || 40);
const baselines = args.flatMap((a, i) => (a === '--baseline' ? [path.resolve(args[i + 1]!)] : []));
const WARMUP = 6;

// Each build's modules are loaded by path at run time: untyped here.
// biome-ignore lint/suspicious/noExplicitAny: modules of other builds, loaded by path
type Any = any;
const load = async (root: string, file: string): Promise<Record<string, Any>> =>
  (await import(pathToFileURL(path.join(root, 'dist', file)).href)) as Record<string, Any>;

// One worker's half of the links (sources with an even id), as groupByKey leaves them, and a rank per source.
const half = await workerHalf();
const { links, contributions } = half;
const ranks = links.map(([s], i): [number, number] => [s, half.ranks[i]!]);

/**
 * The user's functions as a worker compiles them: the source into a factory once (closure/compile.ts caches it per
 * worker), then a new closure of it per task. A new factory per task would give V8 a new function each time, whose
 * call sites never see the same one twice, which a worker's do.
 */
const factories = new Map<string, () => Function>();
const compiled = (src: string): Function => {
  let factory = factories.get(src);
  if (factory === undefined) factories.set(src, (factory = new Function(`"use strict";\nreturn (${src}\n);`) as () => Function));
  return factory();
};
const FLAT_MAP = `([urls, rank]) => {
        const share = rank / urls.length;
        return urls.map((url) => [url, share]);
      }`;
const SUM = '(a, b) => a + b';

interface Build {
  name: string;
  task: () => number;
  cpu: number[];
  /** The build's cached blocks of links and ranks (read by the plain loops). */
  packed: unknown[];
  HashPartitioner: Any;
}
const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-map-task-'));
const builds: Build[] = [];
for (const root of [path.resolve(import.meta.dirname, '..'), ...baselines]) {
  const rdd = await load(root, 'rdd/index.js');
  const cogroup = await load(root, 'rdd/cogrouped-rdd.js');
  const blocks = await load(root, 'storage/columnar-block.js');
  const writer = await load(root, 'shuffle/shuffle-writer.js');
  const manager = await load(root, 'shuffle/spilling-shuffle-manager.js');
  const mb = await load(root, 'shuffle/memory-budget.js');
  const { HashPartitioner } = await load(root, 'core/partitioner.js');
  const budget = new mb.MemoryBudget!(2048 * 0.2 * 2 ** 20, scratch);
  const shuffles = new manager.SpillingShuffleManager!({ workerIndex: 0, dir: scratch, spillBytes: 1 << 30, writeAllToDisk: false, budget });
  const stored = new Map<string, unknown>([
    ['1/0', blocks.packPartition!(links)],
    ['2/0', blocks.packPartition!(ranks)],
  ]);
  const W = rdd.WORKER_RDD_CONTEXT;
  const partitioner = new HashPartitioner(2);
  let shuffleId = 0;
  const task = (): number => {
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
    const contribs = new rdd.MappedRDD!(values, 'flatMap', compiled(FLAT_MAP), { id: 6, label: 'flatMap' });
    const sum = compiled(SUM);
    const tc = {
      stageId: 0,
      partition: 0,
      attempt: 0,
      blocks: { get: (r: number, p: number) => stored.get(`${r}/${p}`), put: () => undefined },
      shuffleInput: () => [],
      payload: () => [],
    };
    const wire = { shuffleId: ++shuffleId, partitioner: partitioner.toWire(), mapSideCombine: true, rddId: 7, rddLabel: 'reduceByKey' };
    mb.setWorkerMemoryBudget!(budget);
    try {
      const status = writer.writeShuffleOutput!(
        (each: (x: unknown) => void) => contribs.forEach(0, tc, each),
        contribs.label,
        wire,
        { createCombiner: (v: unknown) => v, mergeValue: sum, mergeCombiners: sum },
        shuffles.writer(shuffleId, 0, 2),
        partitioner,
      );
      return (status.sizes as number[]).reduce((a, b) => a + b, 0);
    } finally {
      mb.setWorkerMemoryBudget!(undefined);
      shuffles.remove(shuffleId);
    }
  };
  builds.push({ name: root, task, cpu: [], packed: [stored.get('1/0'), stored.get('2/0')], HashPartitioner });
}

/**
 * The map task as a hand-written program does it, from the same cached columns: per source its list copied out of
 * the CSR items (a new packed array, as the engine gives the user), `[list, rank]`, the same compiled `flatMap`, each
 * `[dst, share]` summed by the same compiled merge into a Float64Array by vertex id (first-seen keys appended), then
 * the groups bucketed by the same HashPartitioner into new typed arrays. No join lookup beyond `rank[src]`, no
 * checks, no memory accounting, no shuffle manager: what is left is the program's own work.
 */
const plainTask = ((): (() => number) => {
  const block = builds[0]!;
  const linksBlock = block.packed[0] as { keys: Int32Array; offsets: Int32Array; items: Int32Array };
  const ranksBlock = block.packed[1] as { keys: Int32Array; values: Float64Array };
  let maxId = 0;
  for (const [s, urls] of links) for (const id of [s, ...urls]) maxId = Math.max(maxId, id);
  const rankById = new Float64Array(maxId + 1);
  for (let i = 0; i < ranksBlock.keys.length; i++) rankById[ranksBlock.keys[i]!] = ranksBlock.values[i]!;
  const { keys: lk, offsets, items } = linksBlock;
  const scratchList: number[] = [0];
  const listOf = (from: number, end: number): number[] => {
    const n = end - from;
    while (scratchList.length < n) scratchList.push(0);
    for (let j = 0; j < n; j++) scratchList[j] = items[from + j]!;
    return scratchList.slice(0, n);
  };
  const partitioner = new block.HashPartitioner(2) as { getPartition(k: number): number };
  return () => {
    const f = compiled(FLAT_MAP) as (x: [number[], number]) => Array<[number, number]>;
    const merge = compiled(SUM) as (a: number, b: number) => number;
    const values = new Float64Array(maxId + 1);
    const present = new Int32Array((maxId >>> 5) + 1);
    const keys = new Int32Array(maxId + 1);
    let size = 0;
    for (let r = 0; r < lk.length; r++) {
      const out = f([listOf(offsets[r]!, offsets[r + 1]!), rankById[lk[r]!]!]);
      for (let i = 0; i < out.length; i++) {
        const k = out[i]![0];
        const v = out[i]![1];
        if ((present[k >>> 5]! & (1 << (k & 31))) !== 0) values[k] = merge(values[k]!, v);
        else {
          present[k >>> 5]! |= 1 << (k & 31);
          values[k] = v;
          keys[size++] = k;
        }
      }
    }
    const of = new Int32Array(size);
    const counts = [0, 0];
    for (let e = 0; e < size; e++) counts[(of[e] = partitioner.getPartition(keys[e]!))]!++;
    const bucketKeys = counts.map((n) => new Int32Array(n));
    const bucketValues = counts.map((n) => new Float64Array(n));
    const at = [0, 0];
    for (let e = 0; e < size; e++) {
      const r = of[e]!;
      const j = at[r]!++;
      bucketKeys[r]![j] = keys[e]!;
      bucketValues[r]![j] = values[keys[e]!]!;
    }
    return size;
  };
})();
if (args.includes('--plain')) builds.push({ name: 'plain loops (--plain)', task: plainTask, cpu: [], packed: [], HashPartitioner: undefined });

const cpu = cpuMs;
let groups = 0;
for (let r = 0; r < rounds + WARMUP; r++) {
  for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
    const c0 = cpu();
    groups = b.task();
    const ms = cpu() - c0;
    if (r >= WARMUP) b.cpu.push(ms);
  }
}
rmSync(scratch, { recursive: true, force: true });

console.log(machineAndLoad());
console.log(
  `${links.length} sources, ${contributions} contributions into ${groups} keys, ${rounds} rounds after ${WARMUP} of warm-up, CPU ms per map task:`,
);
// Paired: each round ran every build once, back to back, so a round's ratio leaves out most of the load's drift.
const pairedRatio = (b: Build): string => {
  const ratios = b.cpu.map((ms, i) => ms / builds[0]!.cpu[i]!).sort((x, y) => x - y);
  const q = (f: number): string => ratios[Math.floor(f * (ratios.length - 1))]!.toFixed(3);
  return `; per round against the first: median ${q(0.5)}, quartiles ${q(0.25)}–${q(0.75)}`;
};
for (const b of builds) {
  const s = [...b.cpu].sort((x, y) => x - y);
  console.log(
    `  ${b.name}: median ${median(b.cpu).toFixed(1)} ms, min ${s[0]!.toFixed(1)}, quartiles ${s[Math.floor(s.length / 4)]!.toFixed(1)}–${s[Math.floor((3 * s.length) / 4)]!.toFixed(1)}${b === builds[0] ? '' : pairedRatio(b)}`,
  );
}
