/**
 * Deterministic, seeded data generators for tests, benchmarks and the CLI: a Zipf text corpus, a
 * power-law graph and labelled points for logistic regression, plus {@link ensureDataset} to materialise
 * them on disk once.
 */

export { SeededRandom } from '../core/random.js';
export { ZipfDistribution } from './zipf.js';
export {
  DEFAULT_SEED,
  DEFAULT_VOCABULARY,
  MAX_WORDS_PER_LINE,
  MIN_WORDS_PER_LINE,
  TEXT_ZIPF_EXPONENT,
  generateText,
  textLines,
  wordForRank,
  writeTextCorpus,
  type TextOptions,
} from './text.js';
export {
  IN_DEGREE_EXPONENT,
  MIN_OUT_DEGREE,
  OUT_DEGREE_EXPONENT,
  generateGraphEdges,
  shuffledRange,
  writeGraph,
  type GraphEdges,
  type GraphOptions,
} from './graph.js';
export {
  FEATURE_DECIMALS,
  LABEL_NOISE_STD,
  generatePoints,
  lrWeights,
  writePoints,
  type Points,
  type PointsOptions,
} from './points.js';
export {
  DATAGEN_VERSION,
  DATASET_NAMES,
  DEFAULT_TEXT_BYTES,
  ensureDataset,
  type DatasetName,
  type DatasetOptions,
  type TextDatasetOptions,
} from './datasets.js';
