/**
 * The kindling side of one COST workload, run in a fresh process by bench/cost.ts (as a user runs a script: start-up
 * included): the ordinary program of examples/ on local[2] with default options. It prints the result (for the
 * check that both sides agree), the program's own phase timings (so that cost.ts can compare iterations, not only
 * whole runs) and its peak RSS, each on a line of its own. The plain side is bench/cost-run-plain.ts, a process that
 * loads only its own program (until session 19 both sides ran this file, so the plain programs also paid for
 * importing kindling: ~0.35 s of each cold run).
 *
 *   npx tsx bench/cost-run.ts kindling wordcount|wordcount-hc|pagerank|lr|kmeans|kmeans-agg [--small] [--verify]
 *
 * `--verify`: a word count's result carries a fingerprint of every (word, count) (bench/cost-report.ts).
 *
 * `wordcount-hc` is the high-cardinality text: the same generator over a 2M-word vocabulary, which leaves most
 * of its ~1M distinct words (~0.2M with --small) seen once or a few times, as in real text with names, numbers
 * and typos (at least 500k distinct at full size), so the shuffle and the result carry most keys once.
 *
 * Each workload's program is imported when it runs, as a user's script imports only its own: until session 42 the
 * word count's process also loaded (through tsx) the PageRank, logistic regression and k-means examples and their
 * baselines, ~0.1-0.2 s of each cold word count that no word-count program pays.
 */
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { printRun, wordDigest } from './cost-report.js';
import { textParams } from './cost-data.js';

const [side, workload] = process.argv.slice(2);
const small = process.argv.includes('--small');
const verify = process.argv.includes('--verify');
/** The text of a word-count workload: the default Zipf corpus, or the high-cardinality one. */
const textInput = (): Promise<string> => ensureDataset('text', 'data', textParams(workload!, small));
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
        return wordDigest(counts, verify);
      }
      case 'pagerank': {
        const { run: pageRank } = await import('../examples/pagerank.js');
        const { summary, timings: t } = await pageRank(sc, { small, iterations: 10 });
        timings = t;
        return { vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) };
      }
      case 'lr': {
        const { run: logisticRegression } = await import('../examples/logistic-regression.js');
        const { summary, timings: t } = await logisticRegression(sc, { small, iterations: 10 });
        timings = t;
        return { points: summary.points, weights: summary.weights };
      }
      case 'kmeans':
      case 'kmeans-agg': {
        // kmeans-agg: the example's --aggregate program (aggregateByKey into accumulators updated in place).
        const combine = workload === 'kmeans-agg' ? 'aggregateByKey' : 'reduceByKey';
        const { run: kMeans } = await import('../examples/kmeans.js');
        const { summary, timings: t } = await kMeans(sc, { small, iterations: 10, combine });
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

if (side !== 'kindling') throw new Error(`bench/cost-run.ts runs the kindling side; the plain ones are bench/cost-run-plain.ts (got ${side})`);
printRun(await kindling(), timings);
