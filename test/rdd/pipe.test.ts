/**
 * pipe() against Spark's PipedRDD: the command runs once per partition (an empty one too), each element is written
 * as a line, and each line of its output is an element, read with Java's `readLine` (`\n`, `\r\n` or a lone `\r`).
 */
import { describe, expect, test } from 'vitest';
import { MODES, useContext } from './helpers.js';

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

  test('an element holding a line end is written as it is, so it comes back as several lines', async () => {
    expect(await ctx().parallelize(['a\nb', 'c'], 1).pipe('cat').collect()).toEqual(['a', 'b', 'c']);
    expect(await ctx().parallelize(['a', 'b'], 1).pipe('true').collect()).toEqual([]);
    expect(await ctx().parallelize(['a'], 1).pipe('printf "no end"').collect()).toEqual(['no end']);
  });
});
