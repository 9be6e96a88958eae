import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  computeTextSplits,
  computeTextSplitsSync,
  DEFAULT_BLOCK_SIZE,
  groupFilesIntoPartitions,
  type TextSplitOptions,
} from '../../src/io/text-splits.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-splits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileOfSize(name: string, bytes: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.alloc(bytes, 0x61));
  return file;
}

// The sync entry point is wrapped in a promise so one set of cases proves both cut files the same way.
describe.each([
  { name: 'computeTextSplits', compute: computeTextSplits },
  {
    name: 'computeTextSplitsSync',
    compute: async (files: readonly string[], minPartitions: number, opts?: TextSplitOptions) => computeTextSplitsSync(files, minPartitions, opts),
  },
])('$name', ({ compute }) => {
  it('cuts by goalSize = total / minPartitions', async () => {
    const f = fileOfSize('thousand.txt', 1000);
    expect(await compute([f], 2)).toEqual([
      { path: f, start: 0, length: 500, whole: false },
      { path: f, start: 500, length: 500, whole: false },
    ]);
    expect((await compute([f], 3)).map((s) => s.length)).toEqual([333, 333, 334]);
  });

  it('lets the last split be up to 1.1x the split size (SPLIT_SLOP)', async () => {
    const f = fileOfSize('slop.txt', 110);
    expect((await compute([f], 1, { maxSplitBytes: 100 })).map((s) => s.length)).toEqual([110]);
    const g = fileOfSize('slop2.txt', 111);
    expect((await compute([g], 1, { maxSplitBytes: 100 })).map((s) => s.length)).toEqual([100, 11]);
  });

  it('caps splits at the 32 MiB block size by default, or maxSplitBytes', async () => {
    expect(DEFAULT_BLOCK_SIZE).toBe(32 * 1024 * 1024);
    const f = fileOfSize('blocks.txt', 1000);
    expect((await compute([f], 1, { maxSplitBytes: 300 })).map((s) => s.start)).toEqual([0, 300, 600, 900]);
  });

  it('computes one split size from the total over all files', async () => {
    const a = fileOfSize('multi-a.txt', 300);
    const b = fileOfSize('multi-b.txt', 100);
    // goal = 400 / 4 = 100
    const splits = await compute([a, b], 4);
    expect(splits.map((s) => [path.basename(s.path), s.start, s.length])).toEqual([
      ['multi-a.txt', 0, 100],
      ['multi-a.txt', 100, 100],
      ['multi-a.txt', 200, 100],
      ['multi-b.txt', 0, 100],
    ]);
  });

  it('gives no split for an empty file unless asked to keep empty splits', async () => {
    const e = fileOfSize('empty.txt', 0);
    expect(await compute([e], 2)).toEqual([]);
    expect(await compute([e], 2, { ignoreEmptySplits: false })).toEqual([{ path: e, start: 0, length: 0, whole: false }]);
  });

  it('makes one whole split per gzip file', async () => {
    const gz = path.join(dir, 'c.txt.gz');
    writeFileSync(gz, gzipSync(Buffer.alloc(5000, 0x62)));
    const size = gzipSync(Buffer.alloc(5000, 0x62)).length;
    expect(await compute([gz], 8, { maxSplitBytes: 3 })).toEqual([{ path: gz, start: 0, length: size, whole: true }]);
  });

  it('covers each file exactly, with contiguous splits (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 12 }),
        fc.option(fc.integer({ min: 1, max: 700 }), { nil: undefined }),
        async (sizes, minPartitions, maxSplitBytes) => {
          const files = sizes.map((s, i) => fileOfSize(`prop-${i}.txt`, s));
          const splits = await compute(files, minPartitions, maxSplitBytes === undefined ? {} : { maxSplitBytes });
          files.forEach((f, i) => {
            const mine = splits.filter((s) => s.path === f);
            let next = 0;
            for (const s of mine) {
              expect(s.start).toBe(next);
              expect(s.length).toBeGreaterThan(0);
              next += s.length;
            }
            expect(next).toBe(sizes[i]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects a missing file naming it, and a bad maxSplitBytes', async () => {
    const missing = path.join(dir, 'missing.txt');
    await expect(compute([missing], 1)).rejects.toThrow(`Input path does not exist: ${missing}`);
    await expect(compute([], 1, { maxSplitBytes: 0 })).rejects.toThrow(/maxSplitBytes/);
  });
});

describe('compressed inputs', () => {
  it('are refused by name when Node cannot decode them (xz, zstd, lz4, snappy), naming the file and the format, whatever their case', () => {
    // Read as bytes, such a file gave lines of binary garbage and no error.
    for (const [name, codec] of [
      ['a.log.XZ', 'xz'],
      ['b.zst', 'zstd'],
      ['c.lz4', 'lz4'],
      ['d.snappy', 'snappy'],
    ]) {
      const f = fileOfSize(name!, 10);
      expect(() => computeTextSplitsSync([f], 1)).toThrow(
        new RegExp(`^Input ${f.replace(/[.]/g, '[.]')} is ${codec}-compressed .*it reads \\.gz, \\.deflate, \\.bz2, \\.br`),
      );
    }
    // Names that merely contain such a suffix elsewhere are read as text.
    const plain = fileOfSize('notes.zst.txt', 3);
    expect(computeTextSplitsSync([plain], 1)).toEqual([{ path: plain, start: 0, length: 3, whole: false }]);
  });

  it('that kindling decodes (gzip, deflate, bzip2, brotli) are one whole split each, whatever the minimum of partitions', () => {
    const files = ['dump.xml.bz2', 'part-00000.deflate', 'e.json.BR', 'f.gz'].map((n) => fileOfSize(n, 1000));
    expect(computeTextSplitsSync(files, 16)).toEqual(files.map((f) => ({ path: f, start: 0, length: 1000, whole: true })));
  });
});

describe('computeTextSplitsSync', () => {
  it('returns the splits directly and throws synchronously', () => {
    const f = fileOfSize('sync.txt', 10);
    expect(computeTextSplitsSync([f], 1)).toEqual([{ path: f, start: 0, length: 10, whole: false }]);
    expect(() => computeTextSplitsSync([path.join(dir, 'gone.txt')], 1)).toThrow(/Input path does not exist/);
    expect(() => computeTextSplitsSync([], 1, { maxSplitBytes: -1 })).toThrow(RangeError);
  });
});

describe('groupFilesIntoPartitions', () => {
  it('keeps order, never returns empty groups, and balances by size', () => {
    const files = [1000, 10, 10, 10, 1000, 500, 500].map((s, i) => fileOfSize(`g${i}`, s));
    const groups = groupFilesIntoPartitions(files, 3);
    expect(groups.flat()).toEqual(files);
    expect(groups.map((g) => g.map((f) => path.basename(f)))).toEqual([
      ['g0', 'g1', 'g2'],
      ['g3', 'g4'],
      ['g5', 'g6'],
    ]);
  });

  it('uses one group per file when there are enough partitions', () => {
    const files = [5, 500, 5].map((s, i) => fileOfSize(`h${i}`, s));
    expect(groupFilesIntoPartitions(files, 10)).toEqual(files.map((f) => [f]));
    expect(groupFilesIntoPartitions(files, 3)).toEqual(files.map((f) => [f]));
  });

  it('handles no files, one partition, and empty files', () => {
    expect(groupFilesIntoPartitions([], 4)).toEqual([]);
    const files = [0, 0, 0, 0].map((s, i) => fileOfSize(`z${i}`, s));
    expect(groupFilesIntoPartitions(files, 1)).toEqual([files]);
    expect(groupFilesIntoPartitions(files, 2)).toEqual([files.slice(0, 2), files.slice(2)]);
  });
});
