/**
 * The plain side of one COST workload, run in a fresh process by bench/cost.ts: the hand-written single-thread
 * program of bench/baselines/ (`plain`), or for the word counts the character-scanning loop (`scan`), on the data set
 * at PATH (made by cost.ts before anything is timed). It loads nothing of kindling: a plain program would not, and
 * importing it costs a cold process ~0.35 s (test/bench/cost-run-plain.test.ts checks the modules it loads). Prints
 * the same three lines as the kindling side (bench/cost-report.ts).
 *
 *   npx tsx bench/cost-run-plain.ts plain|scan wordcount|wordcount-hc|pagerank|lr|kmeans PATH [--verify]
 *
 * `--verify`: a word count's result carries a fingerprint of every (word, count) (bench/cost-report.ts).
 *
 * Only the program of the workload run is imported, as on the kindling side (bench/cost-run.ts).
 */
import { printRun, wordDigest } from './cost-report.js';

const [side, workload, path] = process.argv.slice(2);
const verify = process.argv.includes('--verify');
if ((side !== 'plain' && side !== 'scan') || workload === undefined || path === undefined)
  throw new Error('usage: bench/cost-run-plain.ts plain|scan WORKLOAD PATH');

async function run(data: string): Promise<{ result: unknown; timings: ReadonlyArray<{ phase: string; ms: number }> }> {
  switch (workload) {
    case 'wordcount':
    case 'wordcount-hc': {
      const count =
        side === 'scan'
          ? (await import('./baselines/wordcount-scan.js')).wordCountScanBaseline
          : (await import('./baselines/wordcount.js')).wordCountBaseline;
      return { result: wordDigest(count(data), verify), timings: [] };
    }
    case 'pagerank': {
      const { pageRankBaseline } = await import('./baselines/pagerank.js');
      const { summary, timings } = pageRankBaseline(data, 10);
      return { result: { vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) }, timings };
    }
    case 'lr': {
      const { logisticRegressionBaseline } = await import('./baselines/logistic-regression.js');
      const { summary, timings } = logisticRegressionBaseline(data, { iterations: 10 });
      return { result: { points: summary.points, weights: summary.weights }, timings };
    }
    case 'kmeans': {
      const { kMeansBaseline } = await import('./baselines/kmeans.js');
      const { summary, timings } = kMeansBaseline(data, { iterations: 10 });
      return { result: { points: summary.points, centers: summary.centers }, timings };
    }
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

const { result, timings } = await run(path);
printRun(result, timings);
