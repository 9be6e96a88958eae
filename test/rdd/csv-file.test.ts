/**
 * `sc.csvFile` on files larger than a split. By default (Spark's `multiLine: false`) a record is a line: files
 * are cut into line-aligned byte ranges read by the workers, each split learns its file's header from the
 * file's first line, and the records are exactly those of parsing the whole file. With `multiLine: true` each
 * file is one split, so quoted fields may hold line breaks wherever the byte ranges would have fallen.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { capture, JobFailedError } from 'kindling';
import { parseCsv } from '../../src/io/csv.js';
import { mulberry32 as random } from '../fixtures/seeded-random.js';
import { MODES, useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-csv-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A field as a CSV writer quotes it: quoted when it holds the delimiter, a quote or a line break. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * CSV text of `rows` records under a header: fields with commas, doubled quotes, empty values, and (when
 * `lineBreaks`) quoted line breaks; CRLF or LF line ends, a byte-order mark at the start.
 */
function csvText(rows: number, seed: number, lineBreaks: boolean, eol: string): string {
  const next = random(seed);
  const pick = (): string => {
    const r = next();
    if (r < 0.1) return '';
    if (r < 0.25) return `a, b ${Math.floor(next() * 1000)}`;
    if (r < 0.35) return `say "hi" ${Math.floor(next() * 100)}`;
    if (lineBreaks && r < 0.5) return `two\nlines ${Math.floor(next() * 100)}`;
    return 'x'.repeat(Math.floor(next() * 40));
  };
  const lines = ['id,name,note'];
  for (let i = 0; i < rows; i++) lines.push([String(i), pick(), pick()].map(csvField).join(','));
  return `\ufeff${lines.join(eol)}${eol}`;
}

/** The records `csvFile` must return for `text`: the whole-text parser's, the header naming the fields. */
function expected(text: string): Array<Record<string, string>> {
  const [names, ...records] = parseCsv(text);
  return records.map((r) => Object.fromEntries(names!.map((n, j) => [n, r[j]!])));
}

describe.each(MODES)('csvFile on files larger than a split (%s)', (master) => {
  const ctx = useContext(master);
  const dir = (name: string): string => {
    const d = path.join(root, `${master}-${name}`);
    mkdirSync(d, { recursive: true });
    return d;
  };

  test('split by byte ranges: every record once, in order, the header read once per file; any split count', async () => {
    const d = dir('split');
    const seed = Math.floor(Math.random() * 1e9);
    const texts = [csvText(3000, seed, false, '\r\n'), csvText(1000, seed + 1, false, '\n')];
    texts.forEach((t, i) => writeFileSync(path.join(d, `part-${i}.csv`), t));
    const size = statSync(path.join(d, 'part-0.csv')).size;
    expect(size).toBeGreaterThan(60_000);
    const want = texts.flatMap(expected);
    for (const minPartitions of [1, 3, 7, 16]) {
      const people = ctx().csvFile(d, { minPartitions });
      // Several byte ranges per file once minPartitions asks for them.
      expect(people.getNumPartitions(), `seed ${seed}`).toBeGreaterThanOrEqual(minPartitions);
      expect(await people.collect(), `seed ${seed}, minPartitions ${minPartitions}`).toEqual(want);
    }
    const rows = await ctx().csvFile(d, { header: false, minPartitions: 5 }).collect();
    expect(rows).toEqual(texts.flatMap((t) => parseCsv(t)));
  });

  test('a quoted line break fails a split read naming file and line; multiLine reads it, wherever splits would fall', async () => {
    const d = dir('multiline');
    const seed = Math.floor(Math.random() * 1e9);
    const text = csvText(3000, seed, true, '\n');
    const file = path.join(d, 'notes.csv');
    writeFileSync(file, text);
    const firstBroken = text.split('\n').findIndex((l) => /"two$/.test(l)) + 1;
    const e = await ctx()
      .csvFile(file, { minPartitions: 1 })
      .count()
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobFailedError);
    expect((e as Error).message).toContain(`notes.csv, line ${firstBroken}: a quoted field is not closed on its line`);
    expect((e as Error).message).toContain('multiLine: true');

    const notes = ctx().csvFile(d, { multiLine: true, minPartitions: 8 });
    expect(notes.getNumPartitions()).toBe(1);
    expect(await notes.collect(), `seed ${seed}`).toEqual(expected(text));
    // Two files, one task each; gzip too.
    writeFileSync(path.join(d, 'more.csv.gz'), gzipSync(csvText(50, seed + 2, true, '\r\n')));
    const both = ctx().csvFile(d, { multiLine: true });
    expect(both.getNumPartitions()).toBe(2);
    expect(await both.count()).toBe(3050);
  });

  test("a user function's error names the file and line of the record, in a split that does not start the file", async () => {
    const d = dir('user-error');
    const lines = ['k,v', ...Array.from({ length: 2000 }, (_, i) => `${i},${'v'.repeat(30)}`)];
    writeFileSync(path.join(d, 'data.csv'), `${lines.join('\n')}\n`);
    const bad = 1700;
    const e = await ctx()
      .csvFile(d, { minPartitions: 4 })
      .map(
        capture({ bad }, (r: Record<string, string>) => {
          if (Number(r.k) === bad) throw new Error(`bad record ${r.k}`);
          return r.k;
        }),
      )
      .count()
      .catch((x: unknown) => x);
    expect((e as Error).message).toContain(`bad record ${bad}`);
    // The header is line 1, record k is line k + 2.
    expect((e as Error).message).toContain(`data.csv, line ${bad + 2}`);
  });

  test("header names that repeat (ignoring case) or are empty are renamed as Spark's CSV source does; no column is lost", async () => {
    // Before, a repeated name kept only its last column's value, and a column named __proto__ vanished.
    const d = dir('safe-header');
    const rows = Array.from({ length: 3000 }, (_, i) => `${i},x${i},y${i},z${i},p${i},q${i}`);
    writeFileSync(path.join(d, 'data.csv'), `id,a,A,,__proto__,b\n${rows.join('\n')}\n`);
    const want = (i: number): Record<string, string> => {
      const o: Record<string, string> = { id: String(i), a1: `x${i}`, A2: `y${i}`, _c3: `z${i}` };
      Object.defineProperty(o, '__proto__', { value: `p${i}`, enumerable: true, writable: true, configurable: true });
      o.b = `q${i}`;
      return o;
    };
    // One split (the header read in the same pass) and splits that read the header from the file's first line.
    for (const minPartitions of [1, 5]) {
      const got = await ctx().csvFile(d, { minPartitions }).collect();
      expect(got).toHaveLength(3000);
      for (const i of [0, 1499, 2999]) {
        expect(Object.keys(got[i]!)).toEqual(['id', 'a1', 'A2', '_c3', '__proto__', 'b']);
        expect(Object.entries(got[i]!)).toEqual(Object.entries(want(i)));
        expect(Object.getPrototypeOf(got[i])).toBe(Object.prototype);
      }
    }
  });

  test("blank lines before the header, between records and at the end are skipped, as Spark's CSV source does; any split count", async () => {
    // Before, a blank line was a record of one empty field: a trailing empty line (common in exported files) failed
    // the job ("the record has 1 fields but the header names 3"), and blank lines before the header made the header
    // of the splits after the first.
    const d = dir('blank-lines');
    const seed = Math.floor(Math.random() * 1e9);
    const next = random(seed);
    const blanks = (): string => ['', ' ', '\t', '  \r', '\r'][Math.floor(next() * 5)]!;
    const records: string[][] = [];
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(blanks()); // ~200 bytes of blank lines: splits of 1 and 7 bytes fall in them
    lines.push('id,name,note');
    for (let i = 0; i < 300; i++) {
      if (next() < 0.3) lines.push(blanks());
      // A quoted field of spaces and an empty first field are data, not blank lines.
      const rec = [i % 50 === 0 ? '' : String(i), i % 7 === 0 ? '  ' : `n${i}`, `x${i}`];
      records.push(rec);
      lines.push(rec.map((f, j) => (j === 1 && f === '  ' ? '"  "' : f)).join(','));
    }
    lines.push('', ' ', '');
    const text = `\ufeff${lines.join(next() < 0.5 ? '\n' : '\r\n')}`;
    writeFileSync(path.join(d, 'data.csv'), text);
    const want = records.map(([id, name, note]) => ({ id: id!, name: name!, note: note! }));
    for (const minPartitions of [1, 4, 30, 200]) {
      expect(await ctx().csvFile(d, { minPartitions }).collect(), `seed ${seed}, minPartitions ${minPartitions}`).toEqual(want);
    }
    expect(await ctx().csvFile(d, { multiLine: true }).collect(), `seed ${seed}`).toEqual(want);
    expect(await ctx().csvFile(d, { header: false, minPartitions: 9 }).collect(), `seed ${seed}`).toEqual([['id', 'name', 'note'], ...records]);
    // A file of blank lines only has no header and no records.
    writeFileSync(path.join(d, 'data.csv'), '\n \n\r\n');
    expect(await ctx().csvFile(d, { minPartitions: 3 }).collect()).toEqual([]);
  });

  test("malformed records (Spark's mode): FAILFAST by default names file and line; DROPMALFORMED skips them; PERMISSIVE keeps them with nulls; any split count", async () => {
    const d = dir('modes');
    const seed = Math.floor(Math.random() * 1e9);
    const next = random(seed);
    const field = (): string => ['', 'a, b', 'say "hi"', 'x'.repeat(Math.floor(next() * 30)), 'plain'][Math.floor(next() * 5)]!;
    // Each line: a record of 3 fields, or one of 1-2 or 4-5 fields, or (one record per line only) a quoted field
    // left open, which ends with its line; the reference outcome of each under each mode.
    const lines: string[] = ['id,name,note'];
    const permissive: Array<Record<string, string | null>> = [];
    const wellFormed: Array<Record<string, string | null>> = [];
    let firstBad = -1;
    for (let i = 0; i < 2000; i++) {
      const r = next();
      const count = r < 0.8 ? 3 : r < 0.9 ? 1 + Math.floor(next() * 2) : 4 + Math.floor(next() * 2);
      const open = r >= 0.8 && next() < 0.3;
      const fields = [String(i), ...Array.from({ length: count - 1 }, field)];
      if (open) {
        lines.push(`${i},"open ${i}`);
        permissive.push({ id: String(i), name: `open ${i}`, note: null });
      } else {
        lines.push(fields.map(csvField).join(','));
        const rec = { id: fields[0]!, name: fields[1] ?? null, note: fields[2] ?? null };
        permissive.push(rec);
        if (count === 3) wellFormed.push(rec);
      }
      if (firstBad < 0 && (open || count !== 3)) firstBad = lines.length;
    }
    const file = path.join(d, 'messy.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    for (const minPartitions of [1, 5, 40]) {
      const where = `seed ${seed}, minPartitions ${minPartitions}`;
      expect(await ctx().csvFile(file, { minPartitions, mode: 'PERMISSIVE' }).collect(), where).toEqual(permissive);
      expect(await ctx().csvFile(file, { minPartitions, mode: 'dropmalformed' }).collect(), where).toEqual(wellFormed);
    }
    const failed = await ctx()
      .csvFile(file, { minPartitions: 1 })
      .collect()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failed, `seed ${seed}`).toBeInstanceOf(JobFailedError);
    expect((failed as Error).message).toContain(`messy.csv, line ${firstBad}:`);
    expect((failed as Error).message).toMatch(/mode: 'PERMISSIVE'|mode: 'DROPMALFORMED'/);
    // multiLine: field counts decide alone (an open quote would run to the end of the file).
    const closed = lines.filter((l) => !l.includes('"open '));
    writeFileSync(file, `${closed.join('\r\n')}\r\n`);
    const keep = (r: Record<string, string | null>): boolean => !r.name?.startsWith('open ');
    expect(await ctx().csvFile(file, { multiLine: true, mode: 'PERMISSIVE' }).collect(), `seed ${seed}`).toEqual(permissive.filter(keep));
    expect(await ctx().csvFile(file, { multiLine: true, mode: 'DROPMALFORMED' }).collect(), `seed ${seed}`).toEqual(wellFormed);
    // Without a header there is no field count to miss: only an open quote is malformed.
    writeFileSync(file, 'a,"open\nb,c\n');
    expect(await ctx().csvFile(file, { header: false, mode: 'PERMISSIVE' }).collect()).toEqual([
      ['a', 'open'],
      ['b', 'c'],
    ]);
    expect(await ctx().csvFile(file, { header: false, mode: 'DROPMALFORMED' }).collect()).toEqual([['b', 'c']]);
    expect(() => ctx().csvFile(file, { mode: 'lenient' as never })).toThrow(
      /mode must be 'FAILFAST', 'DROPMALFORMED' or 'PERMISSIVE', got "lenient"/,
    );
  });

  test('a carriage return alone outside quotes (a classic Mac file) fails naming file and line; inside quotes it is data', async () => {
    // Before, such a file was one line: its fields became the header, and the job returned no records, no error.
    const d = dir('lone-cr');
    const file = path.join(d, 'mac.csv');
    writeFileSync(file, 'a,b\r1,2\r3,4\r');
    await expect(ctx().csvFile(file).collect()).rejects.toThrow(/mac\.csv, line 1: a carriage return \(\\r\) outside quotes/);
    await expect(ctx().csvFile(file, { header: false }).collect()).rejects.toThrow(/mac\.csv, line 1: a carriage return/);
    writeFileSync(file, 'a,b\n1,"x\ry"\r\n2,z\r\n');
    expect(await ctx().csvFile(file).collect()).toEqual([
      { a: '1', b: 'x\ry' },
      { a: '2', b: 'z' },
    ]);
  });
});
