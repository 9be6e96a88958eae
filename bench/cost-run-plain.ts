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
 */
import { kMeansBaseline } from './baselines/kmeans.js';
import { logisticRegressionBaseline } from './baselines/logistic-regression.js';
import { pageRankBaseline } from './baselines/pagerank.js';
import { wordCountBaseline } from './baselines/wordcount.js';
import { wordCountScanBaseline } from './baselines/wordcount-scan.js';
import { printRun, wordDigest } from './cost-report.js';

const [side, workload, path] = process.argv.slice(2);
const verify = process.argv.includes('--verify');
if ((side !== 'plain' && side !== 'scan') || workload === undefined || path === undefined)
  throw new Error('usage: bench/cost-run-plain.ts plain|scan WORKLOAD PATH');

function run(data: string): { result: unknown; timings: ReadonlyArray<{ phase: string; ms: number }> } {
  switch (workload) {
    case 'wordcount':
    case 'wordcount-hc':
      return { result: wordDigest((side === 'scan' ? wordCountScanBaseline : wordCountBaseline)(data), verify), timings: [] };
    case 'pagerank': {
      const { summary, timings } = pageRankBaseline(data, 10);
      return { result: { vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) }, timings };
    }
    case 'lr': {
      const { summary, timings } = logisticRegressionBaseline(data, { iterations: 10 });
      return { result: { points: summary.points, weights: summary.weights }, timings };
    }
    case 'kmeans': {
      const { summary, timings } = kMeansBaseline(data, { iterations: 10 });
      return { result: { points: summary.points, centers: summary.centers }, timings };
    }
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

const { result, timings } = run(path);
printRun(result, timings);
