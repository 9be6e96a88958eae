/**
 * pipe() against Spark's PipedRDD: the command runs once per partition (an empty one too), each element is written
 * as a line, and each line of its output is an element, read with Java's `readLine` (`\n`, `\r\n` or a lone `\r`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MODES, useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-pipe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(MODES)('pipe as Spark (%s)', (master) => {
  const ctx = useContext(master);

  test("output lines end at \\n, \\r\\n and a lone \\r, as Java's readLine that Spark reads them with", async () => {
    const out = await ctx().parallelize(['x'], 1).pipe("printf 'a\\r\\nb\\rc\\n\\r\\nd\\r'").collect();
    expect(out).toEqual(['a', 'b', 'c', '', 'd']);
    // A command writing Windows line ends (unix2dos, a .cmd script) gives the lines, no trailing \r.
    expect(await ctx().parallelize(['p', 'q'], 1).pipe("sed 's/$/\\r/'").collect()).toEqual(['p', 'q']);
  });

  test('the command runs once for every partition, empty ones too', async () => {
    expect(await ctx().parallelize([1], 3).pipe('echo hi').collect()).toEqual(['hi', 'hi', 'hi']);
    expect(await ctx().parallelize([], 2).pipe('wc -l').collect()).toEqual(['0', '0']);
  });

  test('each element goes in as the line saveAsTextFile writes for it: null and undefined as `null` and `undefined`', async () => {
    // Scala's pipe prints each element's toString (`null` for null); JavaScript's analogue is String(x), which
    // saveAsTextFile uses for scalars. An undefined element used to go in as an empty line.
    const xs = [null, undefined, 'a', 1, -0, Number.NaN, 12n, true, new Date(0), [1, undefined, 'x'], { a: 1 }];
    const piped = await ctx().parallelize(xs, 2).pipe('cat').collect();
    expect(piped).toEqual(['null', 'undefined', 'a', '1', '0', 'NaN', '12', 'true', '1970-01-01T00:00:00.000Z', '[1,null,"x"]', '{"a":1}']);
    const dir = path.join(root, `saved-${master}`);
    await ctx().parallelize(xs, 1).saveAsTextFile(dir);
    expect(readFileSync(path.join(dir, 'part-00000'), 'utf8')).toBe(`${piped.join('\n')}\n`);
  });

  test('an element holding a line end is written as it is, so it comes back as several lines', async () => {
    expect(await ctx().parallelize(['a\nb', 'c'], 1).pipe('cat').collect()).toEqual(['a', 'b', 'c']);
    expect(await ctx().parallelize(['a', 'b'], 1).pipe('true').collect()).toEqual([]);
    expect(await ctx().parallelize(['a'], 1).pipe('printf "no end"').collect()).toEqual(['no end']);
  });
});
