/**
 * One side of one COST workload, run in a fresh process by bench/cost.ts (as a user runs a script: start-up
 * included): `kindling` runs the ordinary program of examples/ on local[2] with default options; `plain` runs the
 * hand-written single-thread program of bench/baselines/ on the same data. It prints the result (for the check
 * that both agree) and its own peak RSS, each on a line of its own.
 *
 *   npx tsx bench/cost-run.ts kindling|plain wordcount|pagerank|lr|kmeans [--small]
 */
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { wordCountBaseline } from './baselines/wordcount.js';
import { pageRankBaseline } from './baselines/pagerank.js';
import { logisticRegressionBaseline } from './baselines/logistic-regression.js';
import { kMeansBaseline } from './baselines/kmeans.js';
import { graphParams, run as pageRank } from '../examples/pagerank.js';
import { pointsParams, run as logisticRegression } from '../examples/logistic-regression.js';
import { run as kMeans } from '../examples/kmeans.js';

const [side, workload] = process.argv.slice(2);
const small = process.argv.includes('--small');
const textMb = small ? 4 : 50;

/** What both sides must agree on, per workload (numbers compared with a relative tolerance by cost.ts). */
async function kindling(): Promise<unknown> {
  const sc = new Context({ master: 'local[2]' });
  try {
    switch (workload) {
      case 'wordcount': {
        const path = await ensureDataset('text', 'data', { bytes: textMb * 1024 * 1024 });
        const counts = await sc
          .textFile(path)
          .flatMap((line) => line.split(' '))
          .map((word): [string, number] => [word, 1])
          .reduceByKey((a, b) => a + b)
          .collectAsMap();
        return wordDigest(counts);
      }
      case 'pagerank': {
        const { summary } = await pageRank(sc, { small, iterations: 10 });
        return { vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) };
      }
      case 'lr': {
        const { summary } = await logisticRegression(sc, { small, iterations: 10 });
        return { points: summary.points, weights: summary.weights };
      }
      case 'kmeans': {
        const { summary } = await kMeans(sc, { small, iterations: 10 });
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
      return wordDigest(wordCountBaseline(await ensureDataset('text', 'data', { bytes: textMb * 1024 * 1024 })));
    case 'pagerank': {
      const { summary } = pageRankBaseline(await ensureDataset('graph', 'data', graphParams(small)), 10);
      return { vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) };
    }
    case 'lr': {
      const { summary } = logisticRegressionBaseline(await ensureDataset('points', 'data', pointsParams(small)), { iterations: 10 });
      return { points: summary.points, weights: summary.weights };
    }
    case 'kmeans': {
      const { summary } = kMeansBaseline(await ensureDataset('points', 'data', pointsParams(small)), { iterations: 10 });
      return { points: summary.points, centers: summary.centers };
    }
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

function wordDigest(counts: ReadonlyMap<string, number>): unknown {
  let total = 0;
  for (const n of counts.values()) total += n;
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
  return { distinct: counts.size, total, top };
}

const result = side === 'kindling' ? await kindling() : await plain();
console.log(`RESULT ${JSON.stringify(result)}`);
console.log(`MAXRSS ${process.resourceUsage().maxRSS}`);
