/**
 * Planning how input files become partitions, on the driver, from file sizes only.
 *
 * A split is a plain byte range so it can be posted to a worker, which then reads the bytes itself:
 * the driver never touches file contents. Sizing follows Hadoop's (old `mapred`) FileInputFormat so
 * partition counts match what Spark users expect from `textFile(path, minPartitions)`.
 */

import { statSync } from 'node:fs';
import { InvalidArgumentError, InputPathError } from '../core/errors.js';
import { checkReadableCompression, codecForPath } from './codecs.js';

/**
 * One unit of text input: the lines whose first byte lies in `[start, start + length)` of `path`.
 * `whole` marks a compressed file that must be read (and decompressed) from its start to its end.
 */
export interface TextSplit {
  readonly path: string;
  readonly start: number;
  readonly length: number;
  readonly whole: boolean;
}

/** Hadoop's `fs.local.block.size`: the block size a local filesystem reports. */
export const DEFAULT_BLOCK_SIZE = 32 * 1024 * 1024;

/** Hadoop's SPLIT_SLOP: a last piece up to 10% larger than the split size is not cut off on its own. */
const SPLIT_SLOP = 1.1;

/**
 * Whether a file cannot be cut into byte ranges because it is compressed (by its name, as Hadoop picks a codec):
 * `.gz`, `.deflate`, `.bz2` or `.br`.
 *
 * @example
 * ```ts
 * isCompressedPath('/logs/a.log.gz'); // true
 * isCompressedPath('/dumps/enwiki.xml.bz2'); // true
 * ```
 */
export function isCompressedPath(path: string): boolean {
  return codecForPath(path) !== undefined;
}

/** Options for {@link computeTextSplitsSync} and {@link computeTextSplits}. */
export interface TextSplitOptions {
  /** Upper bound of a split's size in bytes, in place of the 32 MiB local block size. */
  readonly maxSplitBytes?: number;
  /**
   * Drop the empty split Hadoop makes for a 0-byte file (default `true`, Spark >= 3.2's
   * `spark.hadoopRDD.ignoreEmptySplits`). With `false`, each empty file gets one empty split.
   */
  readonly ignoreEmptySplits?: boolean;
}

/**
 * Cuts files into byte-range splits with Hadoop's FileInputFormat rule, blocking until done.
 *
 * Synchronous because the driver computes a `textFile`'s splits lazily inside synchronous RDD calls
 * such as `getNumPartitions()`, as Spark does; only file sizes are read, never contents.
 *
 * goalSize = floor(totalSize / max(minPartitions, 1)); splitSize = max(1, min(goalSize, blockSize)),
 * blockSize being `maxSplitBytes` or 32 MiB. Each file is cut into splitSize pieces in order, the last
 * piece of a file may be up to 1.1 x splitSize. Compressed files (`.gz`, `.deflate`, `.bz2`, `.br`) are one `whole`
 * split each. A 0-byte file
 * yields no split (see {@link TextSplitOptions.ignoreEmptySplits}).
 *
 * @param files absolute paths, usually from {@link listInputFilesSync}; their order is kept.
 * @throws RangeError for a `maxSplitBytes` that is not a positive integer; Error when a file is
 * missing or not a regular file.
 *
 * @example
 * ```ts
 * const splits = computeTextSplitsSync(['/data/a.txt'], 2);
 * // a 1000-byte file: [{ path: '/data/a.txt', start: 0, length: 500, whole: false },
 * //                    { path: '/data/a.txt', start: 500, length: 500, whole: false }]
 * ```
 */
export function computeTextSplitsSync(files: readonly string[], minPartitions: number, opts: TextSplitOptions = {}): TextSplit[] {
  const blockSize = opts.maxSplitBytes ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
    throw new InvalidArgumentError(`maxSplitBytes must be a positive integer, got ${blockSize}. Omit it to use 32 MiB.`);
  }
  for (const f of files) checkReadableCompression(f);
  const sizes = files.map(fileSize);
  const totalSize = sizes.reduce((a, b) => a + b, 0);
  const goalSize = Math.floor(totalSize / Math.max(Math.floor(minPartitions) || 0, 1));
  const splitSize = Math.max(1, Math.min(goalSize, blockSize));
  const ignoreEmpty = opts.ignoreEmptySplits ?? true;

  const splits: TextSplit[] = [];
  files.forEach((path, i) => {
    const length = sizes[i] ?? 0;
    if (length === 0) {
      if (!ignoreEmpty) splits.push({ path, start: 0, length: 0, whole: isCompressedPath(path) });
      return;
    }
    if (isCompressedPath(path)) {
      splits.push({ path, start: 0, length, whole: true });
      return;
    }
    let remaining = length;
    while (remaining / splitSize > SPLIT_SLOP) {
      splits.push({ path, start: length - remaining, length: splitSize, whole: false });
      remaining -= splitSize;
    }
    if (remaining > 0) splits.push({ path, start: length - remaining, length: remaining, whole: false });
  });
  return splits;
}

/**
 * Promise form of {@link computeTextSplitsSync}, with the same result and errors (as a rejection).
 *
 * The sizes are still read synchronously: one implementation keeps the two entry points from drifting
 * apart, and a stat per input file is cheap next to the job it plans.
 *
 * @param files absolute paths, usually from {@link listInputFiles}; their order is kept.
 *
 * @example
 * ```ts
 * const splits = await computeTextSplits(['/data/a.txt'], 2);
 * // a 1000-byte file: [{ path: '/data/a.txt', start: 0, length: 500, whole: false },
 * //                    { path: '/data/a.txt', start: 500, length: 500, whole: false }]
 * ```
 */
export async function computeTextSplits(files: readonly string[], minPartitions: number, opts: TextSplitOptions = {}): Promise<TextSplit[]> {
  return computeTextSplitsSync(files, minPartitions, opts);
}

function fileSize(path: string): number {
  try {
    const s = statSync(path);
    if (!s.isFile()) throw new InputPathError(`Input ${path} is not a regular file. Pass files, or list them with listInputFiles.`, path);
    return s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputPathError(`Input path does not exist: ${path} (it may have been removed after listing; re-run the job).`, path, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Groups files into at most `numPartitions` contiguous, non-empty groups of balanced total size, for
 * `wholeTextFiles`. Each file counts as its size plus 1 byte, so empty files are spread out too.
 *
 * The largest group is as small as contiguous grouping allows; remaining partitions are then used
 * by splitting the heaviest groups, so `min(numPartitions, files.length)` groups come back.
 *
 * @example
 * ```ts
 * groupFilesIntoPartitions(['/d/a', '/d/b', '/d/c'], 2); // e.g. [['/d/a'], ['/d/b', '/d/c']]
 * ```
 */
export function groupFilesIntoPartitions(files: readonly string[], numPartitions: number): string[][] {
  if (files.length === 0) return [];
  const n = Math.max(1, Math.floor(numPartitions) || 1);
  const weights = files.map((f) => {
    try {
      return statSync(f).size + 1;
    } catch (err) {
      throw new InputPathError(`Cannot read input file ${f}: ${(err as Error).message}. Check that it still exists.`, f, {
        cause: err,
      });
    }
  });
  const capacity = minimalCapacity(weights, n);
  const groups = packGreedy(weights, capacity);
  while (groups.length < n) {
    // Split the heaviest group that has two or more files at its balance point.
    let best = -1;
    let bestWeight = -1;
    groups.forEach((g, i) => {
      if (g.end - g.start > 1 && g.weight > bestWeight) {
        best = i;
        bestWeight = g.weight;
      }
    });
    const g = groups[best];
    if (g === undefined) break;
    groups.splice(best, 1, ...halve(weights, g));
  }
  return groups.map((g) => files.slice(g.start, g.end));
}

interface Range {
  start: number;
  end: number;
  weight: number;
}

/** Smallest group capacity for which greedy contiguous packing needs at most `n` groups. */
function minimalCapacity(weights: readonly number[], n: number): number {
  let lo = weights.reduce((a, b) => Math.max(a, b), 0);
  let hi = weights.reduce((a, b) => a + b, 0);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (packGreedy(weights, mid).length <= n) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function packGreedy(weights: readonly number[], capacity: number): Range[] {
  const out: Range[] = [];
  let cur: Range = { start: 0, end: 0, weight: 0 };
  weights.forEach((w, i) => {
    if (cur.end > cur.start && cur.weight + w > capacity) {
      out.push(cur);
      cur = { start: i, end: i, weight: 0 };
    }
    cur.end = i + 1;
    cur.weight += w;
  });
  out.push(cur);
  return out;
}

function halve(weights: readonly number[], g: Range): Range[] {
  let acc = 0;
  let cut = g.start + 1;
  let bestGap = Infinity;
  // Cut where the first half's weight comes closest to half of the group.
  for (let i = g.start; i < g.end - 1; i++) {
    acc += weights[i] ?? 0;
    const gap = Math.abs(2 * acc - g.weight);
    if (gap < bestGap) {
      bestGap = gap;
      cut = i + 1;
    }
  }
  const left = weights.slice(g.start, cut).reduce((a, b) => a + b, 0);
  return [
    { start: g.start, end: cut, weight: left },
    { start: cut, end: g.end, weight: g.weight - left },
  ];
}
