/**
 * Connected components by label propagation on the generated graph taken as undirected (or any `src dst`
 * edge list): every vertex starts with its own id as label; in each iteration every vertex sends its label to
 * its neighbours and takes the smallest label it sees (its own included). When an iteration changes no label,
 * each component is labelled by its smallest vertex id.
 *
 * Neighbour lists and labels share one HashPartitioner, so both joins of an iteration are narrow; the only
 * shuffle per iteration is the `reduceByKey(min)` of the messages. Each iteration's state is cached and the
 * number of changed labels is counted with an accumulator in the iteration's action (`foreach`).
 *
 *   npx tsx examples/connected-components.ts --master local[2] [--small] [--max-iterations 50] [edges.txt]
 */
import { HashPartitioner, capture, type Context, type RDD } from 'kindling';
import { connectedComponentsBaseline, unionFindComponents } from '../bench/baselines/connected-components.js';
import { Timer, check, isMain, parseCli, printTable, runMain, type ExampleResult } from './common.js';
import { graphInput, isEdgeLine, parseEdge } from './pagerank.js';

export interface ConnectedComponentsOptions {
  /** Edge list (`src dst` lines); default the generated graph in `dataDir`. */
  readonly input?: string;
  readonly small?: boolean;
  readonly dataDir?: string;
  /** Stop after this many iterations even if labels still change (default 100). */
  readonly maxIterations?: number;
  /** Partitions of the shared HashPartitioner (default the context's parallelism). */
  readonly partitions?: number;
}

export interface ConnectedComponentsSummary {
  /** Vertices that occur in some edge. */
  readonly vertices: number;
  readonly components: number;
  /** Size of the largest component. */
  readonly largest: number;
  /** Iterations run, the last one being the one that changed nothing (0 for union-find). */
  readonly iterations: number;
  /** True when labels stopped changing (false when maxIterations cut the run short). */
  readonly converged: boolean;
  /** Vertex to label: the smallest vertex id of its component once converged. */
  readonly labels: ReadonlyMap<number, number>;
}

/**
 * Runs label propagation and returns the components and one timing per iteration.
 *
 * @example
 * ```ts
 * const { summary } = await run(sc, { small: true });
 * summary.components;
 * ```
 */
export async function run(sc: Context, options: ConnectedComponentsOptions = {}): Promise<ExampleResult<ConnectedComponentsSummary>> {
  const input = await graphInput(options);
  const maxIterations = options.maxIterations ?? 100;
  const partitioner = new HashPartitioner(options.partitions ?? sc.defaultParallelism);
  const timer = new Timer();
  const neighbours: RDD<[number, number[]]> = sc
    .textFile(input)
    .filter(isEdgeLine)
    .map(parseEdge)
    .flatMap(
      ([a, b]): Array<[number, number]> =>
        a === b
          ? [[a, b]]
          : [
              [a, b],
              [b, a],
            ],
    )
    .groupByKey(partitioner)
    .setName('neighbours')
    .cache();
  const vertices = await timer.time(
    'load graph (undirected, group, cache)',
    () => neighbours.count(),
    (n) => `${n} vertices`,
  );
  // Every vertex labelled by its own id; mapPartitions keeps the partitioner (preservesPartitioning).
  let labels: RDD<[number, number]> = neighbours.mapPartitions(function* (it) {
    for (const [v] of it) yield [v, v] as [number, number];
  }, true);
  let previousState: RDD<unknown> | undefined;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const messages = neighbours
      .join(labels)
      .flatMap(([, [nbrs, label]]) => nbrs.map((n): [number, number] => [n, label]))
      .reduceByKey((a, b) => (a < b ? a : b), partitioner);
    const state = labels.leftOuterJoin(messages).setName(`labels ${iterations}`).cache();
    const changes = sc.accumulator(0, `changed labels in iteration ${iterations}`);
    await timer.time(
      `iteration ${iterations}`,
      () =>
        state.foreach(
          capture({ changes }, ([, [label, incoming]]: [number, [number, number | null]]) => {
            if (incoming !== null && incoming < label) changes.add(1);
          }),
        ),
      () => `${changes.value} labels changed`,
    );
    converged = changes.value === 0;
    previousState?.unpersist();
    previousState = state;
    labels = state.mapValues(([label, incoming]) => (incoming !== null && incoming < label ? incoming : label));
  }
  const collected = await timer.time('collect labels', () => labels.collectAsMap());
  const { components, largest } = componentStats(collected);
  return { summary: { vertices, components, largest, iterations, converged, labels: collected }, timings: timer.timings };
}

/** Number of distinct labels and the size of the largest group. */
export function componentStats(labels: ReadonlyMap<number, number>): { components: number; largest: number } {
  const sizes = new Map<number, number>();
  for (const l of labels.values()) sizes.set(l, (sizes.get(l) ?? 0) + 1);
  return { components: sizes.size, largest: Math.max(0, ...sizes.values()) };
}

/** First difference between two labelings, or undefined when equal. */
export function compareLabels(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): string | undefined {
  if (a.size !== b.size) return `${a.size} labelled vertices vs ${b.size}`;
  for (const [v, l] of a) if (b.get(v) !== l) return `vertex ${v}: label ${l} vs ${b.get(v)}`;
  return undefined;
}

export function printSummary(s: ConnectedComponentsSummary): void {
  console.log(
    `\nconnected components: ${s.components} over ${s.vertices} vertices, the largest has ${s.largest}; ` +
      `${s.converged ? 'converged after' : 'NOT converged after'} ${s.iterations} iterations`,
  );
  const sizes = new Map<number, number>();
  for (const l of s.labels.values()) sizes.set(l, (sizes.get(l) ?? 0) + 1);
  const top = [...sizes].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 5);
  printTable(['component (smallest vertex)', 'vertices'], top);
}

if (isMain(import.meta.url)) {
  const cli = parseCli(
    'connected-components',
    'Connected components (label propagation) of the generated graph or an edge list, as undirected',
    {
      'max-iterations': { type: 'string', help: 'stop after this many iterations (default 100)' },
      partitions: { type: 'string', help: 'partitions of the shared HashPartitioner (default: workers)' },
    },
    undefined,
    'edges.txt',
  );
  await runMain(cli, 'connected components', async (sc) => {
    const options: ConnectedComponentsOptions = {
      input: cli.positional,
      small: cli.small,
      dataDir: cli.dataDir,
      maxIterations: cli.int('max-iterations', 100),
      partitions: cli.string('partitions') === undefined ? undefined : cli.int('partitions', 1),
    };
    const result = await run(sc, options);
    const s = result.summary;
    printSummary(s);
    if (cli.validate) {
      const path = await graphInput(options);
      const uf = unionFindComponents(path).summary;
      const lp = connectedComponentsBaseline(path, options.maxIterations).summary;
      check(lp.iterations === s.iterations, `${s.iterations} iterations vs the baseline's ${lp.iterations}`);
      const diff = compareLabels(s.labels, lp.labels);
      check(diff === undefined, `labels differ from the single-thread label propagation: ${diff}`);
      if (s.converged) {
        const ufDiff = compareLabels(s.labels, uf.labels);
        check(ufDiff === undefined, `labels differ from union-find: ${ufDiff}`);
      }
      console.log('validated: labels equal single-thread label propagation (same iterations) and union-find');
    }
    return result;
  });
}
