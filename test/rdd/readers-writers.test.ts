/** gzip and deflate text output read back, codecs by extension, object files, binaryFiles, CSV with a header, JSON Lines. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { parseCsv } from '../../src/io/csv.js';
import { MODES, sorted, useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-rw-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(MODES)('readers and writers (%s)', (master) => {
  const ctx = useContext(master);
  const dir = (name: string): string => path.join(root, `${master}-${name}`);

  test("saveAsTextFile with compression: 'gzip' writes part-NNNNN.gz files that textFile reads back", async () => {
    const out = dir('gz');
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 300)}`);
    await ctx().parallelize(lines, 3).saveAsTextFile(out, { compression: 'gzip' });
    const names = readdirSync(out).sort();
    expect(names).toEqual(['_SUCCESS', 'part-00000.gz', 'part-00001.gz', 'part-00002.gz']);
    // Real gzip (concatenated members are one valid file for any gunzip).
    expect(
      gunzipSync(readFileSync(path.join(out, 'part-00000.gz')))
        .toString()
        .split('\n')[0],
    ).toBe('line 0 ');
    expect(await ctx().textFile(out).collect()).toEqual(lines);
    // overwrite replaces a previous gzip output
    await ctx().parallelize(['only'], 1).saveAsTextFile(out, { compression: 'gzip', overwrite: true });
    expect(await ctx().textFile(out).collect()).toEqual(['only']);
    await expect(
      ctx()
        .parallelize(['x'])
        .saveAsTextFile(dir('bad'), { compression: 'zip' as never }),
    ).rejects.toThrow(/compression/);
  });

  test('saveAsObjectFile / objectFile: any structured-clone value round-trips', async () => {
    const out = dir('objects');
    const values: unknown[] = [
      new Map<unknown, unknown>([
        ['a', 1],
        [[1, 2], { deep: [new Set([1, 2])] }],
      ]),
      new Date(1_700_000_000_000),
      new Float64Array([1.5, -0, NaN]),
      { nested: { arr: [1, 'two', null, undefined], big: 12345678901234567890n } },
      'plain string',
      42,
      /re+gex/gi,
    ];
    const many = Array.from({ length: 3000 }, (_, i) => ({ i, tags: new Set([`t${i % 7}`]) }));
    await ctx()
      .parallelize([...values, ...many], 4)
      .saveAsObjectFile(out);
    const back = await ctx().objectFile(out).collect();
    expect(back).toHaveLength(values.length + many.length);
    expect(back.slice(0, values.length)).toEqual(values);
    expect(back[0]).toBeInstanceOf(Map);
    expect(back[2]).toBeInstanceOf(Float64Array);
    expect(back.slice(values.length)).toEqual(many);
  });

  test('objectFile refuses a file that is not an object file, naming it', async () => {
    const d = dir('not-objects');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'part-00000'), 'hello world, not v8');
    await expect(ctx().objectFile(d).collect()).rejects.toThrow(/part-00000 is truncated or not an object file/);
  });

  test('binaryFiles: [path, bytes] per file, bytes exactly as on disk', async () => {
    const d = dir('bin');
    mkdirSync(d, { recursive: true });
    const a = Buffer.from([0, 1, 2, 255, 254]);
    const b = Buffer.alloc(70_000, 7);
    writeFileSync(path.join(d, 'a.bin'), a);
    writeFileSync(path.join(d, 'b.bin'), b);
    writeFileSync(path.join(d, '.hidden'), 'skipped');
    const files = await ctx().binaryFiles(d).collect();
    expect(files.map(([p]) => p).sort()).toEqual([path.join(d, 'a.bin'), path.join(d, 'b.bin')]);
    const byName = new Map(files.map(([p, bytes]) => [path.basename(p), bytes]));
    expect(byName.get('a.bin')).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(byName.get('a.bin')!).equals(a)).toBe(true);
    expect(Buffer.from(byName.get('b.bin')!).equals(b)).toBe(true);
    const sizes = await ctx()
      .binaryFiles(d)
      .mapValues((bytes) => bytes.length)
      .collectAsMap();
    expect(sizes.get(path.join(d, 'a.bin'))).toBe(5);
    expect(sizes.get(path.join(d, 'b.bin'))).toBe(70_000);
  });

  test('csvFile: a header row names the fields; quoted fields; several files', async () => {
    const d = dir('csv');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'a.csv'), 'name,age,quote\r\nann,31,"said ""hi"", then left"\r\nbob,45,"two\nlines"\r\n');
    writeFileSync(path.join(d, 'b.csv'), 'name,age,quote\ncid,22,\n');
    // A quoted line break needs multiLine (Spark's option): by default a record is a line, so files can be split.
    await expect(ctx().csvFile(d).collect()).rejects.toThrow(/a\.csv, line 3: a quoted field is not closed on its line.*multiLine: true/);
    const people = await ctx().csvFile(d, { multiLine: true }).collect();
    expect(sorted(people)).toEqual(
      sorted([
        { name: 'ann', age: '31', quote: 'said "hi", then left' },
        { name: 'bob', age: '45', quote: 'two\nlines' },
        { name: 'cid', age: '22', quote: '' },
      ]),
    );
    const raw = await ctx().csvFile(path.join(d, 'b.csv'), { header: false }).collect();
    expect(raw).toEqual([
      ['name', 'age', 'quote'],
      ['cid', '22', ''],
    ]);
    writeFileSync(path.join(d, 'c.tsv'), 'x\ty\n1\t2\n');
    expect(await ctx().csvFile(path.join(d, 'c.tsv'), { delimiter: '\t' }).collect()).toEqual([{ x: '1', y: '2' }]);
    writeFileSync(path.join(d, 'bad.csv'), 'a,b\n1,2,3\n');
    await expect(ctx().csvFile(path.join(d, 'bad.csv')).collect()).rejects.toThrow(
      /bad\.csv, line 2: the record has 3 fields but the header names 2/,
    );
    expect(() => ctx().csvFile(d, { delimiter: '"' })).toThrow(RangeError);
  });

  test('saveAsJsonLines / jsonLinesFile round-trip, gzip too; a bad line is named', async () => {
    const out = dir('jsonl');
    const events = [{ user: 'ann', ms: 12 }, { user: 'bob', ms: 7, tags: ['x'] }, 'a string', 3, null];
    await ctx().parallelize(events, 2).saveAsJsonLines(out, { compression: 'gzip' });
    expect(await ctx().jsonLinesFile(out).collect()).toEqual(events);
    const plain = dir('jsonl-plain');
    await ctx().parallelize(events, 1).saveAsJsonLines(plain);
    expect(readFileSync(path.join(plain, 'part-00000'), 'utf8')).toBe(events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const d = dir('jsonl-bad');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'e.jsonl'), '{"a":1}\n\n{"a":2}\n{oops\n');
    await expect(ctx().jsonLinesFile(d).collect()).rejects.toThrow(
      new RegExp(`Input record: ${path.join(d, 'e.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 4`),
    );
    await expect(ctx().parallelize([undefined]).saveAsJsonLines(dir('jsonl-undef'))).rejects.toThrow(/undefined cannot be written as JSON/);
    // JSON.stringify writes a Map or a Set as {}: saved, its entries were lost without a word. Refused, at any
    // depth, and nothing is written; an empty plain object is still {}.
    for (const [i, bad] of [new Map([['k', 1]]), new Set([1]), { a: [new Map()] }].entries()) {
      const out = dir(`jsonl-map-${i}`);
      await expect(ctx().parallelize([{}, bad], 2).saveAsJsonLines(out)).rejects.toThrow(
        /saveAsJsonLines: .* is a (Map|Set), which JSON would write as \{\}/,
      );
      expect(existsSync(out)).toBe(false);
    }
    const empties = dir('jsonl-empty');
    await ctx()
      .parallelize([{}, { a: {} }, [{}]], 2)
      .saveAsJsonLines(empties);
    expect(await ctx().jsonLinesFile(empties).collect()).toEqual([{}, { a: {} }, [{}]]);
    // A Map that says how to write itself (toJSON) is written that way, beside an empty object that makes the check look.
    const told = dir('jsonl-tojson');
    await ctx()
      .parallelize([1], 1)
      .map((x) => {
        const m = Object.assign(new Map([[x, 2]]), { toJSON: () => [[x, 2]] });
        return { m, e: {} };
      })
      .saveAsJsonLines(told);
    expect(await ctx().jsonLinesFile(told).collect()).toEqual([{ m: [[1, 2]], e: {} }]);
  });
});

describe.each(MODES)('compressed text, the codec picked as Hadoop picks it (%s)', (master) => {
  const ctx = useContext(master);
  const dir = (name: string): string => path.join(root, `${master}-codec-${name}`);
  // `bzip2 -9` of "first stream\nline two\n" and `bzip2 -1` of "second stream\n", back to back (as pbzip2 writes).
  const bz2 = Buffer.concat([
    Buffer.from('QlpoOTFBWSZTWRfMrtAAAAPRgAAQQAAjJ5yAIAAxAAAImQwyFTboC5DA5TReIvtF3JFOFCQF8yu0AA==', 'base64'),
    Buffer.from('QlpoMTFBWSZTWYRSkJQAAAXRgAAQQAAuA5wAIAAiANDQQNA0BQS9OE8eHi7kinChIQilISg=', 'base64'),
  ]);

  test("saveAsTextFile with compression 'deflate' (or Hadoop's class name) writes part-NNNNN.deflate zlib files that textFile reads back", async () => {
    const out = dir('deflate');
    // Over 1 MiB in a partition, so a part is written in several compressed chunks.
    const lines = Array.from({ length: 60_000 }, (_, i) => `line ${i} ${'y'.repeat(i % 80)}`);
    await ctx().parallelize(lines, 2).saveAsTextFile(out, { compression: 'deflate' });
    expect(readdirSync(out).sort()).toEqual(['_SUCCESS', 'part-00000.deflate', 'part-00001.deflate']);
    // Each part is one zlib stream (Hadoop's DefaultCodec): inflateSync alone reads it all.
    const first = inflateSync(readFileSync(path.join(out, 'part-00000.deflate'))).toString();
    expect(first.split('\n').slice(0, 2)).toEqual([lines[0], lines[1]]);
    expect(first.length).toBeGreaterThan(1 << 20);
    expect(await ctx().textFile(out).collect()).toEqual(lines);
    // Hadoop's class names, as PySpark's compressionCodecClass; an empty partition is a valid empty stream.
    await ctx().parallelize(['only'], 2).saveAsTextFile(out, { compression: 'org.apache.hadoop.io.compress.DefaultCodec', overwrite: true });
    expect(readdirSync(out).sort()).toEqual(['_SUCCESS', 'part-00000.deflate', 'part-00001.deflate']);
    expect(inflateSync(readFileSync(path.join(out, 'part-00000.deflate'))).length).toBe(0);
    expect(await ctx().textFile(out).collect()).toEqual(['only']);
    await ctx().parallelize(['g'], 1).saveAsTextFile(out, { compression: 'org.apache.hadoop.io.compress.GzipCodec', overwrite: true });
    expect(readdirSync(out).sort()).toEqual(['_SUCCESS', 'part-00000.gz']);
    await expect(ctx().parallelize(['x']).saveAsTextFile(dir('bz'), { compression: 'bzip2' })).rejects.toThrow(
      /compression must be one of .*'deflate'.*writes only gzip and deflate/,
    );
    expect(existsSync(dir('bz'))).toBe(false);
  });

  test('textFile, wholeTextFiles and csvFile decompress .bz2 (multistream), .deflate and .br by name, one partition per file', async () => {
    const d = dir('read');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'a.txt.bz2'), bz2);
    writeFileSync(path.join(d, 'b.txt.deflate'), deflateSync('deflated 1\ndeflated 2\n'));
    writeFileSync(path.join(d, 'c.txt.br'), brotliCompressSync('brotli\n'));
    writeFileSync(path.join(d, 'd.txt.gz'), gzipSync('gzipped\n'));
    const sc = ctx();
    const rdd = sc.textFile(d, 8);
    expect(rdd.getNumPartitions()).toBe(4);
    expect(await rdd.collect()).toEqual(['first stream', 'line two', 'second stream', 'deflated 1', 'deflated 2', 'brotli', 'gzipped']);
    expect(sorted(await sc.wholeTextFiles(d).collect())).toEqual([
      [path.join(d, 'a.txt.bz2'), 'first stream\nline two\nsecond stream\n'],
      [path.join(d, 'b.txt.deflate'), 'deflated 1\ndeflated 2\n'],
      [path.join(d, 'c.txt.br'), 'brotli\n'],
      [path.join(d, 'd.txt.gz'), 'gzipped\n'],
    ]);
    const csv = path.join(dir('csv'), 'people.csv.bz2');
    mkdirSync(path.dirname(csv), { recursive: true });
    writeFileSync(csv, deflateSync('x'));
    await expect(sc.csvFile(csv).collect()).rejects.toThrow(`Cannot decompress ${csv} (bzip2`);
    writeFileSync(csv.replace('.bz2', '.deflate'), deflateSync('name,age\nann,31\nbob,42\n'));
    expect(await sc.csvFile(csv.replace('.bz2', '.deflate'), { minPartitions: 4 }).collect()).toEqual([
      { name: 'ann', age: '31' },
      { name: 'bob', age: '42' },
    ]);
  });

  test('a truncated .bz2 or .deflate fails the job naming the file and codec; a .zst names zstd; the context stays usable', async () => {
    const d = dir('bad');
    mkdirSync(d, { recursive: true });
    const cut = path.join(d, 'cut.txt.bz2');
    writeFileSync(cut, bz2.subarray(0, 40));
    const cutDeflate = path.join(d, 'cut.deflate');
    writeFileSync(cutDeflate, deflateSync('z'.repeat(10_000) + 'abc').subarray(0, 15));
    const zst = path.join(d, 'events.json.zst');
    writeFileSync(zst, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]));
    const sc = ctx();
    await expect(sc.textFile(cut).collect()).rejects.toThrow(`Cannot decompress ${cut} (bzip2`);
    await expect(sc.wholeTextFiles(cutDeflate).collect()).rejects.toThrow(`Cannot decompress ${cutDeflate} (deflate`);
    await expect(sc.textFile(zst).collect()).rejects.toThrow(`Input ${zst} is zstd-compressed`);
    await expect(sc.wholeTextFiles(zst).collect()).rejects.toThrow(`Input ${zst} is zstd-compressed`);
    expect(await sc.parallelize([1, 2, 3], 3).count()).toBe(3);
  });
});

describe('parseCsv', () => {
  test('RFC 4180 records', () => {
    expect(parseCsv('a,b\n1,"x,y"\n')).toEqual([
      ['a', 'b'],
      ['1', 'x,y'],
    ]);
    expect(parseCsv('a,b\r\n,\r\n')).toEqual([
      ['a', 'b'],
      ['', ''],
    ]);
    expect(parseCsv('\ufeffh\n"q""uote"')).toEqual([['h'], ['q"uote']]);
    expect(parseCsv('a\n\nb\n')).toEqual([['a'], [''], ['b']]);
    expect(parseCsv('')).toEqual([]);
    expect(() => parseCsv('"never closed')).toThrow(/never closed/);
    // A line break inside quotes is kept as it was, \r\n included.
    expect(parseCsv('a,"x\r\ny"\r\nb,c\r\n')).toEqual([
      ['a', 'x\r\ny'],
      ['b', 'c'],
    ]);
  });
});
