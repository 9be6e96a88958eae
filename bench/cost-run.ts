/**
 * One side of one COST workload, run in a fresh process by bench/cost.ts (as a user runs a script: start-up
 * included): `kindling` runs the ordinary program of examples/ on local[2] with default options; `plain` runs the
 * hand-written single-thread program of bench/baselines/ on the same data; `scan` (word counts only) the
 * character-scanning loop. It prints the result (for the check that both agree), the program's own phase timings
 * (so that cost.ts can compare iterations, not only whole runs) and its peak RSS, each on a line of its own.
 *
 *   npx tsx bench/cost-run.ts kindling|plain|scan wordcount|wordcount-hc|pagerank|lr|kmeans [--small]
 *
 * `wordcount-hc` is the high-cardinality text: the same generator over a 2M-word vocabulary, which leaves most
 * of its ~1M distinct words (~0.2M with --small) seen once or a few times, as in real text with names, numbers
 * and typos (at least 500k distinct at full size), so the shuffle and the result carry most keys once.
 */
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { wordCountBaseline } from './baselines/wordcount.js';
import { wordCountScanBaseline } from './baselines/wordcount-scan.js';
import { pageRankBaseline } from './baselines/pagerank.js';
import { logisticRegressionBaseline } from './baselines/logistic-regression.js';
import { kMeansBaseline } from './baselines/kmeans.js';
import { graphParams, run as pageRank } from '../examples/pagerank.js';
import { pointsParams, run as logisticRegression } from '../examples/logistic-regression.js';
import { run as kMeans } from '../examples/kmeans.js';

const [side, workload] = process.argv.slice(2);
const small = process.argv.includes('--small');
const textMb = small ? 4 : 50;
/** The text of a word-count workload: the default Zipf corpus, or the high-cardinality one. */
const textInput = (): Promise<string> =>
  ensureDataset('text', 'data', { bytes: textMb * 1024 * 1024, ...(workload === 'wordcount-hc' ? { vocabulary: 2_000_000 } : {}) });
/** Phase timings of the program (iterations included), printed for cost.ts. */
let timings: ReadonlyArray<{ phase: string; ms: number }> = [];

/** What both sides must agree on, per workload (numbers compared with a relative tolerance by cost.ts). */
async function kindling(): Promise<unknown> {
  const sc = new Context({ master: 'local[2]' });
  try {
    switch (workload) {
      case 'wordcount':
      case 'wordcount-hc': {
        const path = await textInput();
        const counts = await sc
          .textFile(path)
          .flatMap((line) => line.split(' '))
          .map((word): [string, number] => [word, 1])
          .reduceByKey((a, b) => a + b)
          .collectAsMap();
        return wordDigest(counts);
      }
      case 'pagerank': {
        const { summary, timings: t } = await pageRank(sc, { small, iterations: 10 });
        timings = t;
        return { vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) };
      }
      case 'lr': {
        const { summary } = await logisticRegression(sc, { small, iterations: 10 });
        return { points: summary.points, weights: summary.weights };
      }
      case 'kmeans': {
        const { summary, timings: t } = await kMeans(sc, { small, iterations: 10 });
        timings = t;
        return { points: summary.points, centers: summary.centers };
      }
      default:
        throw new Error(`unknown workload ${workload}`);
    }
  } finally {
    await sc.stop();
  }
}

async function plain(): Promise<unknown> {
  switch (workload) {
    case 'wordcount':
    case 'wordcount-hc':
      return wordDigest((side === 'scan' ? wordCountScanBaseline : wordCountBaseline)(await textInput()));
    case 'pagerank': {
      const { summary, timings: t } = pageRankBaseline(await ensureDataset('graph', 'data', graphParams(small)), 10);
      timings = t;
      return { vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) };
    }
    case 'lr': {
      const { summary } = logisticRegressionBaseline(await ensureDataset('points', 'data', pointsParams(small)), { iterations: 10 });
      return { points: summary.points, weights: summary.weights };
    }
    case 'kmeans': {
      const { summary, timings: t } = kMeansBaseline(await ensureDataset('points', 'data', pointsParams(small)), { iterations: 10 });
      timings = t;
      return { points: summary.points, centers: summary.centers };
    }
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

/**
 * The check both sides print: distinct words, total words and the five most frequent (ties by word). It is the
 * harness's, not the program's, so it is one pass keeping the best five: until session 15 it sorted every entry
 * (`[...counts].sort(...)`), which took ~0.3 s of the Zipf runs and ~3.3 s of the high-cardinality ones on both
 * sides, a third of a run that measured the check rather than the word count.
 */
function wordDigest(counts: ReadonlyMap<string, number>): unknown {
  const before = (a: readonly [string, number], b: readonly [string, number]): boolean => a[1] > b[1] || (a[1] === b[1] && a[0] < b[0]);
  const top: Array<[string, number]> = [];
  let total = 0;
  for (const entry of counts) {
    total += entry[1];
    if (top.length === 5 && !before(entry, top[4]!)) continue;
    let i = top.length < 5 ? top.length : 4;
    while (i > 0 && before(entry, top[i - 1]!)) i--;
    top.splice(i, 0, [entry[0], entry[1]]);
    if (top.length > 5) top.pop();
  }
  return { distinct: counts.size, total, top };
}

const result = side === 'kindling' ? await kindling() : await plain();
console.log(`RESULT ${JSON.stringify(result)}`);
console.log(`TIMINGS ${JSON.stringify(timings.map(({ phase, ms }) => ({ phase, ms })))}`);
console.log(`MAXRSS ${process.resourceUsage().maxRSS}`);
