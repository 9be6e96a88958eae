/**
 * CSV-to-JSONL example: the CSV parser on the awkward cases, and the job's output round-trips the CSV files
 * (every data row exactly once, keyed by its own file's header, values and row order preserved).
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, generateCsv, parseCsv, run } from '../../examples/csv-to-jsonl.js';
import { ENGINES, useContext, useTempDir } from './helpers.js';

describe('parseCsv', () => {
  it('parses quoted fields with commas, doubled quotes and line breaks; LF, CRLF, BOM, empty fields', () => {
    expect(parseCsv('a,b\n"x, y","say ""hi"""\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
    ]);
    expect(parseCsv('\ufeffa,b\r\n1,"two\r\nlines"\r\n,\r\n')).toEqual([
      ['a', 'b'],
      ['1', 'two\r\nlines'],
      ['', ''],
    ]);
    expect(parseCsv('a,b,c\n1,,3')).toEqual([
      ['a', 'b', 'c'],
      ['1', '', '3'],
    ]);
    expect(parseCsv('a\n\nb\n')).toEqual([['a'], [''], ['b']]);
    expect(parseCsv('x,\n')).toEqual([['x', '']]);
    expect(parseCsv('""\n"",""')).toEqual([[''], ['', '']]);
    expect(parseCsv('')).toEqual([]);
    expect(() => parseCsv('a\n"open')).toThrow(/unterminated/);
  });

  it('inverts csvField', () => {
    const row = ['plain', 'with, comma', 'with "quotes"', 'two\nlines', ' padded ', '', 'é日本'];
    expect(parseCsv(row.map(csvField).join(',') + '\n')).toEqual([row]);
  });
});

describe.each(ENGINES)('csv-to-jsonl example (%s engine)', (engine) => {
  const ctx = useContext(engine);
  const tmp = useTempDir('csv');

  /** The output's JSON objects, part files in order. */
  const readJsonl = (dir: string): Array<Record<string, string>> =>
    readdirSync(dir)
      .filter((f) => f.startsWith('part-'))
      .sort()
      .flatMap((f) =>
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter((l) => l.length > 0),
      )
      .map((l) => JSON.parse(l) as Record<string, string>);

  it('round-trips the generated CSV files exactly (per file: header as keys, rows in order)', async () => {
    const input = join(tmp(), 'csv');
    const output = join(tmp(), 'jsonl');
    const written = generateCsv(input, { files: 5, rowsPerFile: 300, seed: 3 });
    const { summary } = await run(ctx(), { input, output, fileField: '_file' });
    expect([summary.files, summary.rows, summary.malformed]).toEqual([5, 1500, 0]);
    expect(readdirSync(output)).toContain('_SUCCESS');
    const objects = readJsonl(output);
    expect(objects).toHaveLength(1500);
    // Back to rows, grouped by source file in output order.
    const back = new Map<string, string[][]>();
    for (const o of objects) {
      const { _file, ...fields } = o;
      if (!back.has(_file!)) back.set(_file!, [Object.keys(fields)]);
      const rows = back.get(_file!)!;
      expect(Object.keys(fields)).toEqual(rows[0]); // keys in the file's header order
      rows.push(Object.values(fields));
    }
    expect(new Map([...back].sort())).toEqual(new Map([...written].sort()));
  });

  it('without a file field, the objects are exactly the rows; malformed rows and blank lines are skipped', async () => {
    const input = join(tmp(), 'mixed');
    const output = join(tmp(), 'mixed-jsonl');
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, 'a.csv'), 'id,text\n1,"hello, world"\n\n2,too,many\n3,"line\nbreak"\n');
    writeFileSync(join(input, 'b.csv'), 'x\r\n"only ""one"""\r\n');
    writeFileSync(join(input, 'notes.txt'), 'not,a,csv\n');
    const { summary } = await run(ctx(), { input, output });
    expect([summary.files, summary.rows, summary.malformed]).toEqual([2, 3, 1]);
    const objects = readJsonl(output)
      .map((o) => JSON.stringify(o))
      .sort();
    expect(objects).toEqual(
      [{ id: '1', text: 'hello, world' }, { id: '3', text: 'line\nbreak' }, { x: 'only "one"' }].map((o) => JSON.stringify(o)).sort(),
    );
  });
});
