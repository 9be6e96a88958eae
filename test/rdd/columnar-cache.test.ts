/**
 * Cached partitions of numbers and pairs of numbers live in workers as typed-array columns; everything else as
 * arrays. On the real worker path, in every master mode, an RDD read from the cache must give exactly what the
 * uncached lineage gives, for random data of each shape and for mixes that leave a partition an array; and a
 * task that changes an element it read from the cache does not change what later jobs read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MODES, useContext } from './helpers.js';

/** Deep equality that tells -0 from 0 and NaN from nothing. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

const num = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer(), fc.double(), fc.constantFrom(-0, NaN, 2 ** 31));
const shapes = fc.oneof(
  fc.array(num, { maxLength: 40 }),
  fc.array(fc.tuple(num, num), { maxLength: 40 }),
  fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.array(num, { maxLength: 5 })), { maxLength: 30 }),
  // Mixed: a partition with a string, a longer tuple or an object in it stays an array of its elements.
  fc.array(fc.oneof(num, fc.tuple(num, num), fc.constantFrom('a', [1, 2, 3], { k: 1 }, [1, 'x'])), { maxLength: 40 }),
);

describe.each(MODES)('cached partitions as columns (%s)', (master) => {
  const ctx = useContext(master);

  it('read back from the cache exactly as computed, for numbers, pairs of numbers, number lists and mixes', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, fc.integer({ min: 1, max: 4 }), async (data, slices) => {
        const rdd = ctx()
          .parallelize<unknown>(data, slices)
          .map((x) => x)
          .cache();
        const first = await rdd.collect();
        const fromCache = await rdd.collect();
        expect(same(first, data)).toBe(true);
        expect(same(fromCache, data)).toBe(true);
        rdd.unpersist();
      }),
      { numRuns: 15 },
    );
  });

  it('a task changing a pair it read from the cache leaves the cached pairs as they were', async () => {
    const ranks = ctx()
      .range(0, 1000, 1, 3)
      .map((i): [number, number] => [i, i / 4])
      .cache();
    await ranks.count();
    const changed = await ranks
      .map((kv) => {
        kv[1] = -1;
        return kv[1];
      })
      .sum();
    expect(changed).toBe(-1000);
    expect(await ranks.values().sum()).toBe((999 * 1000) / 8);
    const storage = ctx()
      .getRDDStorageInfo()
      .find((r) => r.id === ranks.id);
    // 1000 pairs of an int32 and a double: 12 bytes each in columns, plus the blocks' few hundred bytes each.
    expect(storage?.memoryBytes).toBeGreaterThan(12_000);
    expect(storage?.memoryBytes).toBeLessThan(12_000 + 3 * 600);
    ranks.unpersist();
  });
});
