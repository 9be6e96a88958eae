/**
 * PageRank, the classic Spark example, on the generated power-law graph (`src dst` lines; 100k nodes and 1M
 * edges, or 2k / 20k with --small):
 *
 *   links = distinct edges grouped by source, cached
 *   ranks = 1.0 for every source
 *   repeat: contribs = links.join(ranks).values().flatMap(each neighbour gets rank / outDegree)
 *           ranks    = contribs.reduceByKey(+).mapValues(r => 0.15 + 0.85 * r)
 *
 * As in Spark's example, a vertex that receives no contribution drops out of `ranks` (and so stops
 * contributing). One action per iteration (count and sum of the ranks) times each iteration; each iteration's
 * ranks are cached for the next one and the previous ones unpersisted.
 *
 * `--partitioned` is the RDD paper's optimisation: links are `partitionBy(new HashPartitioner(n))` before
 * caching and every reduceByKey uses the same partitioner, so `links.join(ranks)` is narrow (links are never
 * shuffled again). Note that, as in Spark, the classic program's join is narrow as well whenever its
 * groupByKey and reduceByKey default to the same partition count (they do here: both take the input's), because
 * a join reuses an existing partitioner of equal size; `--partitioned` makes that explicit and lets
 * `--partitions` choose n.
 *
 *   npx tsx examples/pagerank.ts --master local[2] --engine memory --iterations 10 [--small] [--partitioned]
 *   npx tsx examples/pagerank.ts path/to/edges.txt
 */
import { HashPartitioner, type Context, type Partitioner, type RDD } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { pageRankBaseline, topRanks } from '../bench/baselines/pagerank.js';
import { Timer, check, isMain, parseCli, printTable, runMain, type ExampleResult } from './common.js';

export interface PageRankOptions {
  /** Edge list (`src dst` lines, `#` comments allowed); default the generated graph in `dataDir`. */
  readonly input?: string;
  readonly small?: boolean;
  readonly dataDir?: string;
  /** Default 10. */
  readonly iterations?: number;
  /** Co-partition links and ranks with one HashPartitioner so the join is narrow. */
  readonly partitioned?: boolean;
  /** Links without a partitioner (the paper's setup), so every join shuffles them; see pageRankPlan. */
  readonly unpartitionedLinks?: boolean;
  /** Partitions of the HashPartitioner of the partitioned variant; default the context's parallelism. */
  readonly partitions?: number;
  /** How many top-ranked vertices the summary lists (default 10). */
  readonly top?: number;
}

export interface PageRankSummary {
  readonly variant: 'classic' | 'partitioned';
  readonly iterations: number;
  /** Distinct edges (links). */
  readonly edges: number;
  /** Vertices with a rank after the last iteration. */
  readonly vertices: number;
  readonly rankSum: number;
  /** Highest ranks first; ties by vertex id. */
  readonly top: ReadonlyArray<readonly [number, number]>;
  readonly ranks: ReadonlyMap<number, number>;
}

/** The generated graph's size: the benchmark's 100k nodes / 1M edges, or 2k / 20k with `small`. */
export function graphParams(small = false): { nodes: number; edges: number } {
  return small ? { nodes: 2_000, edges: 20_000 } : { nodes: 100_000, edges: 1_000_000 };
}

/** The input path: `options.input`, or the generated graph (written on first use). */
export async function graphInput(options: { input?: string; small?: boolean; dataDir?: string }): Promise<string> {
  return options.input ?? (await ensureDataset('graph', options.dataDir ?? 'data', graphParams(options.small)));
}

/**
 * Whether a line of an edge list holds an edge: not blank (white space only counts as blank, as a hand-edited or
 * exported list may end with one) and not a `#` comment (SNAP's header lines). Shipped to the workers as it is.
 */
export function isEdgeLine(line: string): boolean {
  const c = line.charCodeAt(0);
  // Most lines start with a digit: only those starting with white space pay for the trim.
  return c > 32 ? c !== 35 : line.trim().length > 0;
}

/**
 * `src dst` (spaces or tabs; further columns ignored) to a pair of integer ids; blank and `#` comment lines are
 * filtered out before ({@link isEdgeLine}). Shipped to the workers as it is: it uses only its argument and standard
 * globals. Ids are doubles, so exact up to 2^53 - 1 (SNAP's ids and 64-bit hashes folded into that range); a larger
 * one would be rounded onto its neighbour's and two vertices silently merged, so it is refused.
 *
 * @throws Error naming the line when it does not start with two integer ids within 2^53 - 1.
 */
export function parseEdge(line: string): [number, number] {
  const ids = [NaN, NaN];
  const n = line.length;
  let i = 0;
  for (let k = 0; k < 2; k++) {
    while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9 || line.charCodeAt(i) === 13)) i++;
    let j = i;
    while (j < n && line.charCodeAt(j) !== 32 && line.charCodeAt(j) !== 9 && line.charCodeAt(j) !== 13) j++;
    if (j > i) ids[k] = Number(line.slice(i, j));
    i = j;
  }
  if (Number.isNaN(ids[0]) || Number.isNaN(ids[1])) throw new Error(`not an edge ('src dst'): ${JSON.stringify(line)}`);
  if (!Number.isSafeInteger(ids[0]) || !Number.isSafeInteger(ids[1])) {
    throw new Error(`not an edge ('src dst'): ${JSON.stringify(line)} (ids must be integers up to 2^53 - 1)`);
  }
  return [ids[0]!, ids[1]!];
}

/** The RDDs of the algorithm, built without running anything (tests inspect their lineage). */
export interface PageRankPlan {
  readonly links: RDD<[number, number[]]>;
  readonly initialRanks: RDD<[number, number]>;
  /** One iteration: the next ranks from these. */
  step(ranks: RDD<[number, number]>): RDD<[number, number]>;
}

/**
 * `unpartitionedLinks` reproduces the RDD paper's baseline Spark setup, where links are read already grouped from a
 * file and so carry no partitioner: every iteration's join then shuffles the links. (Here the grouped links pass
 * through an identity `map`, which, as in Spark, forgets the partitioner.)
 */
export function pageRankPlan(
  sc: Context,
  input: string,
  options: { partitioned?: boolean; partitions?: number; unpartitionedLinks?: boolean } = {},
): PageRankPlan {
  const partitioner: Partitioner | undefined = options.partitioned ? new HashPartitioner(options.partitions ?? sc.defaultParallelism) : undefined;
  let grouped = sc.textFile(input).filter(isEdgeLine).map(parseEdge).distinct().groupByKey();
  if (partitioner !== undefined) grouped = grouped.partitionBy(partitioner);
  else if (options.unpartitionedLinks) grouped = grouped.map((kv) => kv);
  const links = grouped.setName('links').cache();
  const initialRanks = links.mapValues(() => 1.0).setName('ranks 0');
  let n = 0;
  const step = (ranks: RDD<[number, number]>): RDD<[number, number]> => {
    const contribs = links
      .join(ranks)
      .values()
      .flatMap(([urls, rank]) => {
        const share = rank / urls.length;
        return urls.map((url): [number, number] => [url, share]);
      });
    return contribs
      .reduceByKey((a, b) => a + b, partitioner)
      .mapValues((sum) => 0.15 + 0.85 * sum)
      .setName(`ranks ${++n}`);
  };
  return { links, initialRanks, step };
}

/** The top `n` of a rank map (highest rank first, ties by vertex id), shared with the single-thread baseline. */
export { topRanks };

/**
 * Runs PageRank and returns the ranks and one timing per iteration (plus loading the links).
 *
 * @example
 * ```ts
 * const { summary } = await run(sc, { small: true, iterations: 5, partitioned: true });
 * ```
 */
export async function run(sc: Context, options: PageRankOptions = {}): Promise<ExampleResult<PageRankSummary>> {
  const input = await graphInput(options);
  const iterations = options.iterations ?? 10;
  const timer = new Timer();
  const plan = pageRankPlan(sc, input, options);
  const edges = await timer.time(
    'load links (distinct, group, cache)',
    () =>
      plan.links
        .values()
        .map((urls) => urls.length)
        .sum(),
    (e) => `${e} edges`,
  );
  let ranks = plan.initialRanks;
  for (let i = 1; i <= iterations; i++) {
    // Cached so that the next iteration's join and this iteration's action share one computation.
    const previous = ranks;
    const current = plan.step(ranks).cache();
    await timer.time(
      `iteration ${i}`,
      () => current.values().stats(),
      (s) => `${s.count} ranked, sum ${s.sum.toFixed(3)}`,
    );
    if (previous !== plan.initialRanks) previous.unpersist();
    ranks = current;
  }
  const collected = await timer.time('collect ranks', () => ranks.collectAsMap());
  let rankSum = 0;
  for (const r of collected.values()) rankSum += r;
  return {
    summary: {
      variant: options.partitioned ? 'partitioned' : 'classic',
      iterations,
      edges,
      vertices: collected.size,
      rankSum,
      top: topRanks(collected, options.top ?? 10),
      ranks: collected,
    },
    timings: timer.timings,
  };
}

/** Compares two results: same ranked vertices, every rank within `tolerance` (absolute). */
export function compareRanks(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>, tolerance = 1e-9): string | undefined {
  if (a.size !== b.size) return `${a.size} ranked vertices vs ${b.size}`;
  for (const [v, r] of a) {
    const o = b.get(v);
    if (o === undefined) return `vertex ${v} ranked on one side only`;
    if (Math.abs(r - o) > tolerance) return `vertex ${v}: ${r} vs ${o}`;
  }
  return undefined;
}

export function printSummary(s: PageRankSummary): void {
  console.log(
    `\nPageRank (${s.variant}), ${s.iterations} iterations over ${s.edges} edges: ${s.vertices} ranked vertices, rank sum ${s.rankSum.toFixed(4)}`,
  );
  printTable(
    ['vertex', 'rank'],
    s.top.map(([v, r]) => [v, r]),
  );
}

if (isMain(import.meta.url)) {
  const cli = parseCli(
    'pagerank',
    'PageRank (the classic Spark example) on the generated graph or an edge list',
    {
      iterations: { type: 'string', help: 'iterations (default 10)' },
      partitioned: { type: 'boolean', help: 'co-partition links and ranks (partitionBy) so the join is narrow' },
      partitions: { type: 'string', help: 'partitions of the HashPartitioner with --partitioned (default: workers)' },
    },
    undefined,
    'edges.txt',
  );
  await runMain(cli, `pagerank${cli.flag('partitioned') ? ' (partitioned)' : ''}`, async (sc) => {
    const options: PageRankOptions = {
      input: cli.positional,
      small: cli.small,
      dataDir: cli.dataDir,
      iterations: cli.int('iterations', 10),
      partitioned: cli.flag('partitioned'),
      partitions: cli.string('partitions') === undefined ? undefined : cli.int('partitions', 1),
    };
    const result = await run(sc, options);
    printSummary(result.summary);
    if (cli.validate) {
      const base = pageRankBaseline(await graphInput(options), options.iterations);
      const diff = compareRanks(result.summary.ranks, base.summary.ranks);
      check(diff === undefined, `ranks differ from the single-thread baseline: ${diff}`);
      console.log('validated: every rank equals the single-thread CSR baseline within 1e-9');
    }
    return result;
  });
}
