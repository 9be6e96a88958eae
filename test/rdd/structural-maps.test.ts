/** countByKey, countByValue and collectAsMap return Maps that find array and object keys by an equal new key. */
import { describe, expect, test } from 'vitest';
import { MODES, useContext } from './helpers.js';

describe.each(MODES)('structural keys in Map results (%s)', (master) => {
  const ctx = useContext(master);

  test('countByKey with array keys', async () => {
    const pairs = ctx().parallelize<[[string, number], string]>(
      [
        [['a', 1], 'x'],
        [['a', 1], 'y'],
        [['b', 2], 'z'],
      ],
      2,
    );
    const counts = await pairs.countByKey();
    expect(counts).toBeInstanceOf(Map);
    expect(counts.get(['a', 1])).toBe(2);
    expect(counts.get(['b', 2])).toBe(1);
    expect(counts.get(['a', 2])).toBeUndefined();
    expect(counts.size).toBe(2);
  });

  test('countByValue with object elements, and number keys stay numbers', async () => {
    const counts = await ctx()
      .parallelize(
        [
          { a: 1, b: 2 },
          { b: 2, a: 1 },
          { a: 3, b: 4 },
        ],
        3,
      )
      .countByValue();
    expect(counts.get({ a: 1, b: 2 })).toBe(2);
    expect(counts.get({ a: 3, b: 4 })).toBe(1);
    const numbers = await ctx().parallelize([1, 2, 2, 3, 3, 3]).countByValue();
    expect([...numbers.entries()].sort((x, y) => x[0] - y[0])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(numbers.get(3)).toBe(3);
    expect(numbers.has('3' as unknown as number)).toBe(false);
  });

  test('collectAsMap with array keys: a later value replaces an earlier one (Spark)', async () => {
    const m = await ctx()
      .parallelize<[[number, number], string]>(
        [
          [[0, 0], 'origin'],
          [[1, 2], 'p'],
          [[0, 0], 'again'],
        ],
        1,
      )
      .collectAsMap();
    expect(m.get([0, 0])).toBe('again');
    expect(m.get([1, 2])).toBe('p');
    expect(m.size).toBe(2);
    // pyspark: sc.parallelize([(1, 2), (3, 4)]).collectAsMap() -> {1: 2, 3: 4}
    const simple = await ctx()
      .parallelize<[number, number]>([
        [1, 2],
        [3, 4],
      ])
      .collectAsMap();
    expect(simple.get(1)).toBe(2);
    expect(simple.get(3)).toBe(4);
  });
});
