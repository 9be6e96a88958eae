/**
 * Spark's SparkTC at Spark's size (200 edges on 100 vertices, `tc.union(tc.join(edges).map(...)).distinct().cache()`
 * until the count is stable): the paths have twice as many partitions each round (union adds, distinct keeps), in
 * Spark as here, so the last rounds run tens of thousands of tasks over shuffles of 8,192+ maps into as many reducers
 * while the data stays under 10k pairs. Per round: partitions, wall, the driver's heap and each worker's heap (read by
 * a task through `useModule('node:v8')`; no collection is forced, so live and not yet collected).
 *
 *   npx tsx bench/sparktc.ts [--rounds 14] [--engine memory|mapreduce] [--master local[2]] [--tree /other/checkout]
 *                            [--edges 200 --vertices 100 --seed 42] [--snapshot-round N]
 *
 * `--tree` runs against another checkout's build (its dist/entry.js), for a paired before/after.
 * `--snapshot-round N` writes heap snapshots of the workers after round N (cwd, Heap-*.heapsnapshot; one per probe
 * task, four per worker: keep one).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { sparkTcGraph } from './sparktc-graph.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const here = path.dirname(fileURLToPath(import.meta.url));
const tree = opt('tree', path.join(here, '..'));
const kindling = (await import(pathToFileURL(path.join(tree, 'dist/entry.js')).href)) as typeof import('kindling');
const { Context, capture, useModule } = kindling;
type RDD<T> = import('kindling').RDD<T>;

const generateGraph = sparkTcGraph;

const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
const engine = opt('engine', 'memory') as 'memory';
const workers = Number(/local\[(\d+)/.exec(opt('master', 'local[2]'))?.[1] ?? 2);
const sc = new Context({ master: opt('master', 'local[2]'), engine, progress: false, hints: false });
const snapshotRound = Number(opt('snapshot-round', '-1'));

/** Each worker's used heap, from tasks spread one per worker (a few per worker so that both answer). */
async function workerHeaps(snapshot: boolean): Promise<string> {
  const v8w = useModule('node:v8');
  const wt = useModule('node:worker_threads');
  const rows = await sc
    .parallelize(
      Array.from({ length: workers * 4 }, (_, i) => i),
      workers * 4,
    )
    .map(
      capture({ v8w, wt, snapshot }, () => {
        if (snapshot) v8w.writeHeapSnapshot();
        return [wt.threadId, v8w.getHeapStatistics().used_heap_size] as [number, number];
      }),
    )
    .collect();
  const byThread = new Map(rows);
  return [...byThread.entries()].map(([t, h]) => `w${t} ${mib(h)}`).join(', ');
}

const graph = generateGraph(Number(opt('edges', '200')), Number(opt('vertices', '100')), Number(opt('seed', '42')));
const maxRounds = Number(opt('rounds', '14'));
console.log(`SparkTC ${graph.length} edges, engine ${engine}, tree ${tree}`);
const t00 = performance.now();
let tc: RDD<[number, number]> = sc.parallelize(graph, 2).cache();
const edges = tc.map(([x, y]) => [y, x] as [number, number]);
let oldCount = 0;
let nextCount = await tc.count();
let round = 0;
try {
  do {
    oldCount = nextCount;
    const t0 = performance.now();
    tc = tc
      .union(tc.join(edges).map(([, [z, x]]) => [x, z] as [number, number]))
      .distinct()
      .cache();
    nextCount = await tc.count();
    round++;
    const wall = performance.now() - t0;
    const heaps = await workerHeaps(round === snapshotRound);
    console.log(
      `round ${round}: ${tc.getNumPartitions()} partitions, count ${nextCount}, ${(wall / 1000).toFixed(2)} s, ` +
        `driver heap ${mib(v8.getHeapStatistics().used_heap_size)} MiB, workers ${heaps} MiB`,
    );
  } while (nextCount !== oldCount && round < maxRounds);
  console.log(`done: ${round} rounds, ${nextCount} paths, ${((performance.now() - t00) / 1000).toFixed(1)} s`);
} catch (e) {
  console.log(`FAILED in round ${round + 1}: ${(e as Error).name}: ${(e as Error).message.slice(0, 600)}`);
  process.exitCode = 1;
} finally {
  await sc.stop();
}
