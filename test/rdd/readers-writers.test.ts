/** gzip text output read back, object files, binaryFiles, CSV with a header, JSON Lines. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
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
