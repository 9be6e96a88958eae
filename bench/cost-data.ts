/**
 * The data set of each COST workload. bench/cost.ts makes it before anything is timed and hands its path to the plain
 * side (bench/cost-run-plain.ts), which therefore needs no generator; the kindling side's programs find it themselves,
 * as a user's script does.
 */
import { ensureDataset } from 'kindling/datagen';

/** The text of a word-count workload: the default Zipf corpus (50 MiB, 4 with --small), or the high-cardinality one. */
export function textParams(workload: string, small: boolean): { bytes: number; vocabulary?: number } {
  return { bytes: (small ? 4 : 50) * 1024 * 1024, ...(workload === 'wordcount-hc' ? { vocabulary: 2_000_000 } : {}) };
}

/** Writes the workload's data set under data/ unless it is there, and returns its path. */
export async function datasetFor(workload: string, small: boolean): Promise<string> {
  // The examples' parameters are imported only here: the kindling side of a word count imports textParams from this
  // module, and must not load (through tsx) the programs of the other workloads with it.
  switch (workload) {
    case 'wordcount':
    case 'wordcount-hc':
      return ensureDataset('text', 'data', textParams(workload, small));
    case 'pagerank':
      return ensureDataset('graph', 'data', (await import('../examples/pagerank.js')).graphParams(small));
    case 'lr':
    case 'kmeans':
      return ensureDataset('points', 'data', (await import('../examples/logistic-regression.js')).pointsParams(small));
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}
