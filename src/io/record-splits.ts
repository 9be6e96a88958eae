/**
 * Fixed-length binary records (`sc.binaryRecords`): planning record-aligned splits on the driver, reading a split's
 * records in a worker. As Spark's FixedLengthBinaryInputFormat, a file is a run of records of one length with no
 * separator, so any record starts at a multiple of that length and a split can be cut there, never inside a record.
 */

import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { InputPathError, InvalidArgumentError, InvalidDataError } from '../core/errors.js';
import { codecForPath, checkReadableCompression } from './codecs.js';
import { inputReadError } from './line-reader.js';
import { DEFAULT_BLOCK_SIZE } from './text-splits.js';

/** The records of `path` whose first byte lies in `[start, start + length)`. */
export interface RecordSplit {
  readonly path: string;
  readonly start: number;
  readonly length: number;
  readonly recordLength: number;
}

/** Hadoop's SPLIT_SLOP, as for text splits: a last piece up to 10% larger than the split size stays whole. */
const SPLIT_SLOP = 1.1;

/** Bytes read at a time, rounded down to whole records (one record at least). */
const READ_BYTES = 4 * 1024 * 1024;

/**
 * Throws unless `recordLength` is a positive safe integer.
 *
 * @example
 * ```ts
 * checkRecordLength(0, 'binaryRecords'); // throws InvalidArgumentError
 * ```
 */
export function checkRecordLength(recordLength: unknown, op: string): asserts recordLength is number {
  if (typeof recordLength !== 'number' || !Number.isSafeInteger(recordLength) || recordLength < 1) {
    throw new InvalidArgumentError(`${op}: recordLength must be a positive integer (bytes per record), got ${String(recordLength)}`);
  }
}

function recordFileSize(path: string, recordLength: number): number {
  if (codecForPath(path) !== undefined) {
    throw new InputPathError(
      `binaryRecords: ${path} is compressed (by its name); fixed-length records are read from uncompressed files only, ` +
        "as Spark's FixedLengthBinaryRecordReader. Decompress it first, or read it with binaryFiles.",
      path,
    );
  }
  checkReadableCompression(path);
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw inputReadError(path, err);
  }
  if (size % recordLength !== 0) throw partialRecord(path, size, recordLength);
  return size;
}

function partialRecord(path: string, size: number, recordLength: number): InvalidDataError {
  return new InvalidDataError(
    `binaryRecords: ${path} holds ${size} bytes, not a whole number of ${recordLength}-byte records ` +
      `(${size % recordLength} bytes left over after ${Math.floor(size / recordLength)} records). Check recordLength, or ` +
      'whether the file is complete.',
  );
}

/**
 * Cuts files of fixed-length records into splits of whole records, with Hadoop's FileInputFormat sizing (as text
 * splits: goal size from `minPartitions`, at most `maxSplitBytes`, 32 MiB by default) rounded down to whole records
 * (one record at least). An empty file gives no split (one empty split with `ignoreEmptySplits: false`, as text splits).
 *
 * @throws InvalidDataError naming the file when its size is not a multiple of `recordLength`; InputPathError for
 * a compressed file (by its name) or one that cannot be read.
 * @example
 * ```ts
 * computeRecordSplitsSync(['/data/r.bin'], 10, 2); // a 100-byte file: starts 0 and 50, 5 records each
 * ```
 */
export function computeRecordSplitsSync(
  files: readonly string[],
  recordLength: number,
  minPartitions: number,
  opts: { maxSplitBytes?: number; ignoreEmptySplits?: boolean } = {},
): RecordSplit[] {
  checkRecordLength(recordLength, 'binaryRecords');
  const blockSize = opts.maxSplitBytes ?? DEFAULT_BLOCK_SIZE;
  const sizes = files.map((f) => recordFileSize(f, recordLength));
  const total = sizes.reduce((a, b) => a + b, 0);
  const goal = Math.floor(total / Math.max(Math.floor(minPartitions) || 0, 1));
  const splitSize = Math.max(1, Math.floor(Math.min(goal, blockSize) / recordLength)) * recordLength;
  const splits: RecordSplit[] = [];
  files.forEach((path, i) => {
    const size = sizes[i]!;
    if (size === 0 && opts.ignoreEmptySplits === false) splits.push({ path, start: 0, length: 0, recordLength });
    let remaining = size;
    while (remaining / splitSize > SPLIT_SLOP) {
      splits.push({ path, start: size - remaining, length: splitSize, recordLength });
      remaining -= splitSize;
    }
    if (remaining > 0) splits.push({ path, start: size - remaining, length: remaining, recordLength });
  });
  return splits;
}

/**
 * Pushes each record of a split to `fn`, in order, as its own `Uint8Array` (a copy: records cross threads and are
 * cached, and a view would carry its whole read buffer along). A record belongs to the split holding its first
 * byte, so splits cut anywhere still read every record once.
 *
 * @throws InvalidDataError naming the file when it is no longer a whole number of records (it changed after planning).
 * @example
 * ```ts
 * forEachRecord({ path: '/data/r.bin', start: 0, length: 50, recordLength: 10 }, (r) => console.log(r.length)); // 10, 5 times
 * ```
 */
export function forEachRecord(split: RecordSplit, fn: (record: Uint8Array) => void): number {
  const { path, recordLength } = split;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw inputReadError(path, err);
  }
  let records = 0;
  try {
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (err) {
      throw inputReadError(path, err);
    }
    if (size % recordLength !== 0) throw partialRecord(path, size, recordLength);
    const first = Math.ceil(split.start / recordLength) * recordLength;
    // Not clipped to the file's size: a file cut short since planning fails (as Spark's readFully), never reads fewer.
    const end = Math.ceil((split.start + split.length) / recordLength) * recordLength;
    const buf = new Uint8Array(Math.max(0, Math.min(end - first, Math.max(1, Math.floor(READ_BYTES / recordLength)) * recordLength)));
    for (let pos = first; pos < end; ) {
      const want = Math.min(buf.length, end - pos);
      let got = 0;
      while (got < want) {
        let n: number;
        try {
          n = readSync(fd, buf, got, want - got, pos + got);
        } catch (err) {
          throw inputReadError(path, err);
        }
        if (n === 0) {
          throw new InputPathError(
            `binaryRecords: ${path} ended at byte ${pos + got}, before the ${end} bytes planned; it changed after the job was planned.`,
            path,
          );
        }
        got += n;
      }
      for (let off = 0; off < want; off += recordLength) {
        records++;
        fn(buf.slice(off, off + recordLength));
      }
      pos += want;
    }
  } finally {
    closeSync(fd);
  }
  return records;
}
