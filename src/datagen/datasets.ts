/**
 * Named data sets on disk, generated on first use: benchmarks and the CLI call {@link ensureDataset}
 * instead of shipping data files.
 *
 * The parameters are in the file name, so differently sized data sets (a quick benchmark and a full one)
 * live side by side instead of regenerating each other. A sidecar `<file>.json` records the parameters
 * and the generator version; it is written after the data file is complete, so a missing or stale sidecar
 * (an interrupted run, a generator change) means "regenerate".
 */

import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeGraph, type GraphOptions } from './graph.js';
import { writePoints, type PointsOptions } from './points.js';
import { DEFAULT_SEED, DEFAULT_VOCABULARY, writeTextCorpus } from './text.js';
import { InvalidArgumentError } from '../core/errors.js';

/**
 * Bumped whenever a generator's output for the same parameters changes, so that old files on disk are
 * regenerated rather than silently reused.
 */
export const DATAGEN_VERSION = 2;

/** Size of the default text corpus: 50 MiB. */
export const DEFAULT_TEXT_BYTES = 50 * 1024 * 1024;

/** The data sets {@link ensureDataset} knows. */
export type DatasetName = 'text' | 'graph' | 'points';

/** All {@link DatasetName}s, e.g. for a CLI's choices. */
export const DATASET_NAMES: readonly DatasetName[] = ['text', 'graph', 'points'];

/** Options of the text data set; all optional, defaulting to a 50 MiB corpus. */
export interface TextDatasetOptions {
  bytes?: number;
  seed?: number;
  vocabulary?: number;
}

/** Options per data set name. */
export interface DatasetOptions {
  text: TextDatasetOptions;
  graph: GraphOptions;
  points: PointsOptions;
}

interface Sidecar {
  readonly dataset: DatasetName;
  readonly version: number;
  readonly params: Record<string, number>;
}

/** Every parameter with its default filled in, in a fixed order (it is compared as JSON). */
function paramsOf(name: DatasetName, opts: Record<string, number | undefined>): Record<string, number> {
  const seed = opts['seed'] ?? DEFAULT_SEED;
  switch (name) {
    case 'text':
      return { bytes: opts['bytes'] ?? DEFAULT_TEXT_BYTES, vocabulary: opts['vocabulary'] ?? DEFAULT_VOCABULARY, seed };
    case 'graph':
      return { nodes: opts['nodes'] ?? 100_000, edges: opts['edges'] ?? 1_000_000, seed };
    case 'points':
      return { count: opts['count'] ?? 1_000_000, dims: opts['dims'] ?? 10, seed };
  }
}

/** e.g. `text-bytes52428800-vocabulary200000-seed42.txt`. */
function fileNameOf(name: DatasetName, params: Record<string, number>): string {
  const parts = Object.entries(params).map(([key, value]) => `${key}${value}`);
  return `${[name, ...parts].join('-')}.txt`;
}

async function isUpToDate(path: string, expected: Sidecar): Promise<boolean> {
  try {
    await stat(path);
    const sidecar: unknown = JSON.parse(await readFile(`${path}.json`, 'utf8'));
    return JSON.stringify(sidecar) === JSON.stringify(expected);
  } catch {
    return false;
  }
}

async function generate(name: DatasetName, path: string, params: Record<string, number>): Promise<void> {
  switch (name) {
    case 'text':
      await writeTextCorpus(path, { bytes: params['bytes']!, seed: params['seed']!, vocabulary: params['vocabulary']! });
      return;
    case 'graph':
      await writeGraph(path, { nodes: params['nodes']!, edges: params['edges']!, seed: params['seed']! });
      return;
    case 'points':
      await writePoints(path, { count: params['count']!, dims: params['dims']!, seed: params['seed']! });
      return;
  }
}

/**
 * Returns the path of the data set `name` with the given parameters in `dir`, generating it first if it
 * is missing or was made with other parameters or an older generator. Defaults: text 50 MiB over a
 * 200k-word vocabulary; graph 100k nodes, 1M edges; points 1M × 10; seed 42.
 *
 * @example
 * ```ts
 * const words = await ensureDataset('text');                          // data/text-bytes52428800-…txt
 * const graph = await ensureDataset('graph', 'data', { nodes: 10_000, edges: 100_000 });
 * const points = await ensureDataset('points', '/tmp/kindling', { count: 50_000 });
 * ```
 */
export async function ensureDataset<N extends DatasetName>(name: N, dir = 'data', opts: DatasetOptions[N] = {}): Promise<string> {
  // The name often comes from a command line, where the type system cannot vouch for it.
  if (!DATASET_NAMES.includes(name)) {
    throw new InvalidArgumentError(`unknown data set '${String(name)}' (expected one of ${DATASET_NAMES.join(', ')})`);
  }
  const params = paramsOf(name, opts as Record<string, number | undefined>);
  const path = join(dir, fileNameOf(name, params));
  const sidecar: Sidecar = { dataset: name, version: DATAGEN_VERSION, params };
  if (await isUpToDate(path, sidecar)) return path;
  await generate(name, path, params);
  await writeFile(`${path}.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
  return path;
}
