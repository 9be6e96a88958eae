/**
 * Fixed-length records (Spark's FixedLengthBinaryInputFormat): splits hold whole records, and however a file is
 * cut, every record is read exactly once, in order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { computeRecordSplitsSync, forEachRecord, type RecordSplit } from '../../src/io/record-splits.js';
import { InputPathError, InvalidArgumentError, InvalidDataError } from '../../src/core/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A file of `count` records of `length` bytes, record i's bytes all (i * 7 + j) & 255 so each record is told apart. */
function recordFile(count: number, length: number, name = `r${files++}.bin`): string {
  const bytes = new Uint8Array(count * length);
  for (let i = 0; i < count; i++) for (let j = 0; j < length; j++) bytes[i * length + j] = (i * 7 + j) & 255;
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

function readAll(splits: readonly RecordSplit[]): number[][] {
  const out: number[][] = [];
  for (const s of splits) forEachRecord(s, (r) => out.push([...r]));
  return out;
}

function expectedRecords(count: number, length: number): number[][] {
  return Array.from({ length: count }, (_, i) => Array.from({ length }, (_, j) => (i * 7 + j) & 255));
}

describe('computeRecordSplitsSync', () => {
  it('cuts at record boundaries only, with the text splits sizing (minPartitions, maxSplitBytes)', () => {
    const f = recordFile(10, 10);
    expect(computeRecordSplitsSync([f], 10, 2)).toEqual([
      { path: f, start: 0, length: 50, recordLength: 10 },
      { path: f, start: 50, length: 50, recordLength: 10 },
    ]);
    // A goal of 33 bytes is 3 records a split; a last piece of 1 record is past the 10% slop, so it stands alone.
    expect(computeRecordSplitsSync([f], 10, 3).map((s) => [s.start, s.length])).toEqual([
      [0, 30],
      [30, 30],
      [60, 30],
      [90, 10],
    ]);
    // A split is never smaller than one record.
    expect(computeRecordSplitsSync([f], 10, 1, { maxSplitBytes: 3 })).toHaveLength(10);
  });

  it('every record is read exactly once, in order, for any record length, file sizes and split size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
        (length, counts, minPartitions, maxSplitBytes) => {
          const paths = counts.map((c) => recordFile(c, length));
          const splits = computeRecordSplitsSync(paths, length, minPartitions, { maxSplitBytes });
          for (const s of splits) {
            expect(s.start % length).toBe(0);
            expect(s.length % length).toBe(0);
            expect(s.length).toBeGreaterThan(0);
          }
          expect(readAll(splits)).toEqual(counts.flatMap((c) => expectedRecords(c, length)));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('a file that is not a whole number of records fails naming the file, its size and the record length', () => {
    const good = recordFile(3, 4);
    const bad = path.join(dir, 'partial.bin');
    writeFileSync(bad, new Uint8Array(10));
    expect(() => computeRecordSplitsSync([good, bad], 4, 1)).toThrow(InvalidDataError);
    expect(() => computeRecordSplitsSync([good, bad], 4, 1)).toThrow(`${bad} holds 10 bytes, not a whole number of 4-byte records`);
  });

  it('an empty file gives no split; a compressed file (by name) is refused naming it; a bad record length is refused', () => {
    const empty = recordFile(0, 8, 'empty.bin');
    expect(computeRecordSplitsSync([empty], 8, 2)).toEqual([]);
    const gz = path.join(dir, 'records.bin.gz');
    writeFileSync(gz, new Uint8Array(16));
    expect(() => computeRecordSplitsSync([gz], 8, 1)).toThrow(InputPathError);
    expect(() => computeRecordSplitsSync([gz], 8, 1)).toThrow(`${gz} is compressed`);
    expect(() => computeRecordSplitsSync([empty], 0, 1)).toThrow(InvalidArgumentError);
    expect(() => computeRecordSplitsSync([empty], 2.5, 1)).toThrow(/recordLength must be a positive integer/);
  });
});

describe('forEachRecord', () => {
  it('reads the records starting in a range cut anywhere, so splits not on boundaries still read each record once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.integer({ min: 1, max: 100 })),
        (length, count, cuts) => {
          const f = recordFile(count, length);
          const size = count * length;
          const points = [...new Set([0, ...cuts.map((c) => c % (size + 1)), size])].sort((a, b) => a - b);
          const splits = points.slice(1).map((end, i) => ({ path: f, start: points[i]!, length: end - points[i]!, recordLength: length }));
          expect(readAll(splits)).toEqual(expectedRecords(count, length));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('hands out each record as its own copy, not a view of a shared buffer', () => {
    const f = recordFile(3, 5);
    const got: Uint8Array[] = [];
    expect(forEachRecord({ path: f, start: 0, length: 15, recordLength: 5 }, (r) => got.push(r))).toBe(3);
    for (const r of got) expect(r.buffer.byteLength).toBe(5);
  });

  it('fails naming the file when it changed after planning', () => {
    const f = recordFile(4, 4, 'shrinks.bin');
    const split = { path: f, start: 0, length: 16, recordLength: 4 };
    writeFileSync(f, new Uint8Array(6));
    expect(() => forEachRecord(split, () => {})).toThrow(`${f} holds 6 bytes`);
    writeFileSync(f, new Uint8Array(8));
    expect(() => forEachRecord(split, () => {})).toThrow(`${f} ended at byte 8`);
  });
});
