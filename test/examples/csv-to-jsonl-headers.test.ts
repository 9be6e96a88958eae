/**
 * CSV-to-JSONL on the headers real exports have: a name repeated (exactly or in another case), an empty name, a
 * column called `__proto__`, and files that are a header alone, a BOM alone or empty. Every value of a data row
 * must reach the JSON object under the name Spark's CSV reader would give its column.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerKeys, run } from '../../examples/csv-to-jsonl.js';
import { useContext, useTempDir } from './helpers.js';

describe('csv-to-jsonl on real-world headers', () => {
  const ctx = useContext('memory');
  const tmp = useTempDir('csv-headers');

  it('headerKeys names columns as Spark does: _c<i> for an empty name, the index appended to a repeated one (ignoring case)', () => {
    expect(headerKeys(['id', 'Name', 'name', '', 'x', 'x', 'y'])).toEqual(['id', 'Name1', 'name2', '_c3', 'x4', 'x5', 'y']);
    expect(headerKeys(['a', 'b'])).toEqual(['a', 'b']);
  });

  it('keeps every value of a row: repeated, empty and __proto__ names; header-only, BOM-only and empty files give no rows', async () => {
    const input = join(tmp(), 'exports');
    const output = join(tmp(), 'exports-jsonl');
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, 'a.csv'), '\ufeffid,Name,name,,__proto__,constructor\r\n1,x,y,z,p,c\r\n');
    writeFileSync(join(input, 'b.csv'), '\ufeffonly,header\r\n');
    writeFileSync(join(input, 'c.csv'), '');
    writeFileSync(join(input, 'd.csv'), '\ufeff');
    const { summary } = await run(ctx(), { input, output });
    expect([summary.files, summary.rows, summary.malformed]).toEqual([4, 1, 0]);
    const lines = readdirSync(output)
      .filter((f) => f.startsWith('part-'))
      .flatMap((f) => readFileSync(join(output, f), 'utf8').split('\n'))
      .filter((l) => l !== '');
    expect(lines).toEqual(['{"id":"1","Name1":"x","name2":"y","_c3":"z","__proto__":"p","constructor":"c"}']);
  });
});
