/**
 * One later PageRank iteration's map task, in one thread, side by side with other builds in the same process: the
 * RDDs a worker rebuilds for it (the cached links' partition as CSR columns, the cached ranks' as pair columns,
 * their narrow join, `values()`, the example's `flatMap`, the `reduceByKey` map side into a shuffle writer), run
 * through the engine's own classes of each build, on one worker's half of the generated graph (sources with an even
 * id). What it leaves out is scheduling, fetching and the reduce side; what it gains is a measurement on a loaded
 * machine that another process's load moves far less than the whole program's: CPU time (user + system) of this
 * one thread per task, builds interleaved, the order swapped every round.
 *
 *   npx tsx bench/pagerank-map-task.ts [--rounds 40] [--baseline DIR]...
 *
 * `--baseline DIR` (repeatable): the root of another checkout whose `dist/` was built.
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
  builds.push({ name: root, task, cpu: [] });
}

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
for (const b of builds) {
  const s = [...b.cpu].sort((x, y) => x - y);
  console.log(
    `  ${b.name}: median ${median(b.cpu).toFixed(1)} ms, min ${s[0]!.toFixed(1)}, quartiles ${s[Math.floor(s.length / 4)]!.toFixed(1)}–${s[Math.floor((3 * s.length) / 4)]!.toFixed(1)}`,
  );
}
