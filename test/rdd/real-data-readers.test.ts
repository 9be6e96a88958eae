/**
 * The readers on inputs shaped like real data sets nobody generated for them, each checked against a plain read of
 * the same bytes on `local[2]` with many small splits, so that record boundaries fall everywhere: a directory as a
 * job leaves it (`_SUCCESS`, `.crc` files, empty parts, a hidden folder), a byte-order mark and CRLF before a CSV
 * header, a header alone, JSON lines with blank lines and huge numbers, and files that change between the job's
 * planning and its reading; and what `saveAsTextFile` does with such data and such folders.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { Context } from 'kindling';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-real-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => {
  const dir = path.join(root, `${name}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const BOM = '\ufeff';

/** The lines of a file read whole: UTF-8, a leading BOM dropped, cut at `\n`, `\r\n` and a lone `\r`. */
function plainLines(text: string): string[] {
  const t = text.startsWith(BOM) ? text.slice(1) : text;
  if (t === '') return [];
  const lines = t.split(/\r\n|\r|\n/);
  if (/[\r\n]$/.test(t)) lines.pop();
  return lines;
}

describe.each(['memory', 'mapreduce'] as const)('readers on real-world-shaped data (local[2], %s engine)', (engine) => {
  let sc: Context | undefined;
  const ctx = (): Context => (sc ??= new Context({ master: 'local[2]', engine, progress: false, ui: false, hints: false }));
  afterAll(async () => {
    await sc?.stop();
  });

  test("textFile of a job's output folder reads the visible parts only, in name order, every line once (property)", async () => {
    const text = fc.array(fc.constantFrom('\n', '\r\n', '\r', 'é', '😀', 'word ', '\t', 'x'.repeat(300)), { maxLength: 30 }).map((p) => p.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 60 }),
        async (parts, bom, minPartitions) => {
          const dir = fresh('parts');
          const want: string[] = [];
          parts.forEach((t, i) => {
            const body = i === 0 && bom ? BOM + t : t;
            writeFileSync(path.join(dir, `part-${String(i).padStart(5, '0')}`), body);
            writeFileSync(path.join(dir, `.part-${String(i).padStart(5, '0')}.crc`), 'crc garbage\n');
            want.push(...plainLines(body));
          });
          writeFileSync(path.join(dir, '_SUCCESS'), '');
          writeFileSync(path.join(dir, '_committed_123'), 'not input\n');
          mkdirSync(path.join(dir, '_temporary'));
          writeFileSync(path.join(dir, '_temporary', 'part-99999'), 'half written\n');
          const lines = ctx().textFile(dir, minPartitions);
          expect(await lines.collect()).toEqual(want);
          expect(await lines.count()).toBe(want.length);
        },
      ),
      { numRuns: 25 },
    );
  });

  // A file removed after planning: test/rdd/changed-input.test.ts.
  test('a file cut short after the job was planned fails the job naming it, instead of reading other lines; the context stays usable', async () => {
    const dir = fresh('shrunk');
    const file = path.join(dir, 'events.log');
    writeFileSync(file, 'line\n'.repeat(200));
    const lines = ctx().textFile(dir, 4);
    expect(lines.getNumPartitions()).toBe(4);
    writeFileSync(file, 'line\n');
    // Read without a check, the first split gave ['line', ''] (the final line end taken for one more line).
    await expect(lines.collect()).rejects.toThrow(/events\.log.*(changed|shorter)/s);
    writeFileSync(file, 'line\n'.repeat(200));
    expect(await lines.count()).toBe(200);
    expect(await ctx().parallelize([1, 2], 2).sum()).toBe(3);
  });

  test("gzip'd logs: members back to back read as one text, zero padding ignored, other trailing bytes or a cut file name it", async () => {
    const dir = fresh('gz');
    const day = (d: number): string => Array.from({ length: 300 }, (_, i) => `2024-03-0${d}T00:00:${i} INFO é ${i}`).join('\n') + '\n';
    writeFileSync(path.join(dir, 'a.log.gz'), Buffer.concat([gzipSync(day(1)), gzipSync(day(2))]));
    writeFileSync(path.join(dir, 'b.log.GZ'), Buffer.concat([gzipSync(day(3)), Buffer.alloc(512)]));
    writeFileSync(path.join(dir, 'c.log'), day(4));
    const lines = ctx().textFile(dir, 8);
    expect(lines.getNumPartitions()).toBeGreaterThanOrEqual(4); // one per .gz, the plain file cut
    expect(await lines.collect()).toEqual(plainLines(day(1) + day(2) + day(3) + day(4)));
    const gz = gzipSync(day(5));
    writeFileSync(path.join(dir, 'd.log.gz'), Buffer.concat([gz, Buffer.from('garbage')]));
    await expect(ctx().textFile(path.join(dir, 'd.log.gz')).count()).rejects.toThrow(/d\.log\.gz \(gzip/);
    writeFileSync(path.join(dir, 'e.log.gz'), gz.subarray(0, gz.length >> 1));
    await expect(ctx().textFile(path.join(dir, 'e.log.gz')).count()).rejects.toThrow(/e\.log\.gz \(gzip.*truncated/s);
  });

  test("csvFile: a BOM and CRLF before the header, quoted commas, doubled quotes and line breaks read as Spark's multiLine; a header alone is no record", async () => {
    const dir = fresh('csv');
    const file = path.join(dir, 'export.csv');
    const rows = Array.from({ length: 60 }, (_, i) => [`n${i}`, `"a, ""b""\r\nc ${i}"`, `${i}é`]);
    writeFileSync(file, `${BOM}id,note,v\r\n${rows.map((r) => r.join(',')).join('\r\n')}\r\n`);
    // A CRLF inside quotes reads as `\n`, as Spark's multiLine reader gives it (univocity normalises line ends within
    // quotes unless a lineSep is set).
    const want = rows.map((_, i) => ({ id: `n${i}`, note: `a, "b"\nc ${i}`, v: `${i}é` }));
    for (const minPartitions of [1, 3, 17, 200]) {
      expect(await ctx().csvFile(file, { multiLine: true, minPartitions }).collect()).toEqual(want);
    }
    writeFileSync(path.join(dir, 'header-only.csv'), `${BOM}id,note,v\r\n`);
    expect(await ctx().csvFile(path.join(dir, 'header-only.csv')).collect()).toEqual([]);
    expect(await ctx().csvFile(path.join(dir, 'header-only.csv'), { multiLine: true }).collect()).toEqual([]);
    // Exports of one table with their columns in another order: each file's header names its own fields.
    const both = fresh('reordered');
    writeFileSync(path.join(both, 'a.csv'), 'x,y\r\n1,2\r\n');
    writeFileSync(path.join(both, 'b.csv'), `${BOM}y,x\n3,4\n`);
    expect(await ctx().csvFile(both).collect()).toEqual([
      { x: '1', y: '2' },
      { y: '3', x: '4' },
    ]);
  });

  test("csvFile: ragged rows fail (FAILFAST) naming file and line, or read as Spark's PERMISSIVE and DROPMALFORMED", async () => {
    const dir = fresh('ragged');
    const file = path.join(dir, 'r.csv');
    writeFileSync(file, `${BOM}a,b\r\n1\r\n1,2,3\r\n4,5\r\n`);
    await expect(ctx().csvFile(file).collect()).rejects.toThrow(/r\.csv, line [23]: the record has [13] fields/);
    expect(await ctx().csvFile(file, { mode: 'PERMISSIVE' }).collect()).toEqual([
      { a: '1', b: null },
      { a: '1', b: '2' },
      { a: '4', b: '5' },
    ]);
    expect(await ctx().csvFile(file, { mode: 'DROPMALFORMED' }).collect()).toEqual([{ a: '4', b: '5' }]);
  });

  test('jsonLinesFile: blank and white-space lines skipped, BOM and CRLF read, huge numbers as doubles (Spark infers decimal(20,0): docs/pyspark.md); a bad line named', async () => {
    const dir = fresh('json');
    const file = path.join(dir, 'dump.jsonl');
    writeFileSync(file, `${BOM}{"id":1}\r\n\r\n   \r\n{"id":12345678901234567890,"s":"é\\n"}\n\t\n`);
    expect(await ctx().jsonLinesFile(file, { minPartitions: 5 }).collect()).toEqual([{ id: 1 }, { id: 12345678901234567000, s: 'é\n' }]);
    writeFileSync(path.join(dir, 'bad.jsonl'), '{"id":1}\n\n{"id":\n');
    await expect(ctx().jsonLinesFile(path.join(dir, 'bad.jsonl')).collect()).rejects.toThrow(/bad\.jsonl, line 3/);
  });

  test('saveAsTextFile writes elements with line ends as they are (as Spark), creates missing parents, and refuses an existing path untouched', async () => {
    const dir = fresh('save');
    const out = path.join(dir, 'no', 'such', 'parent', 'out');
    await ctx().parallelize(['a\nb', 'c\r\nd', '', 'é'], 2).saveAsTextFile(out);
    expect(readdirSync(out).sort()).toEqual(['_SUCCESS', 'part-00000', 'part-00001']);
    expect(readFileSync(path.join(out, 'part-00000'), 'utf8') + readFileSync(path.join(out, 'part-00001'), 'utf8')).toBe('a\nb\nc\r\nd\n\né\n');
    expect(await ctx().textFile(out).collect()).toEqual(['a', 'b', 'c', 'd', '', 'é']);
    await expect(ctx().parallelize(['new'], 1).saveAsTextFile(out)).rejects.toThrow(/already exists/);
    expect(readFileSync(path.join(out, 'part-00000'), 'utf8')).toBe('a\nb\nc\r\nd\n');
    const file = path.join(dir, 'existing.txt');
    writeFileSync(file, 'keep\n');
    await expect(ctx().parallelize(['new'], 1).saveAsTextFile(file)).rejects.toThrow(/already exists/);
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
    // A task failing part-way through its partition: no part file, no _SUCCESS, no folder.
    const failed = path.join(dir, 'failed');
    const rows = ctx()
      .parallelize([1, 2, 3, 4, 5, 6], 2)
      .map((x) => {
        if (x === 5) throw new Error('disk full');
        return `row ${x}`;
      });
    await expect(rows.saveAsTextFile(failed)).rejects.toThrow(/disk full/);
    expect(existsSync(failed)).toBe(false);
  });
});
