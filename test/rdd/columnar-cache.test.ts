/**
 * Cached partitions of numbers, pairs of numbers and arrays of numbers live in workers as typed-array columns; everything else as
 * arrays. On the real worker path, in every master mode, an RDD read from the cache must give exactly what the
 * uncached lineage gives, for random data of each shape and for mixes that leave a partition an array; and a
 * task that changes an element it read from the cache does not change what later jobs read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capture } from 'kindling';
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
  // Points (rows of one width) and arrays of numbers of any lengths.
  fc.array(fc.array(num, { minLength: 10, maxLength: 10 }), { maxLength: 40 }),
  fc.array(fc.array(num, { maxLength: 12 }), { maxLength: 40 }),
  // Mixed: a partition with a string, a longer tuple or an object in it stays an array of its elements.
  fc.array(fc.oneof(num, fc.tuple(num, num), fc.constantFrom('a', [1, 2, 3], { k: 1 }, [1, 'x'])), { maxLength: 40 }),
);

describe.each(MODES)('cached partitions as columns (%s)', (master) => {
  const ctx = useContext(master);

  it('read back from the cache exactly as computed, for numbers, pairs of numbers, number lists, arrays of numbers and mixes', async () => {
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

  it('k-means over cached points: the same centers as the plain loop, and the points unchanged by the merge', async () => {
    const points = ctx()
      .range(0, 3000, 1, 4)
      .map((i) => [Math.sin(i) * 3, Math.cos(i * 7) * 2, (i % 17) / 7 - 1])
      .cache();
    const plain = await points.collect();
    let centers = plain.slice(0, 3).map((c) => [...c]);
    const closest = (p: readonly number[], cs: readonly (readonly number[])[]): [number, number] => {
      let best = 0;
      let bestDist = Infinity;
      for (let c = 0; c < cs.length; c++) {
        let d = 0;
        for (let j = 0; j < p.length; j++) d += (p[j]! - cs[c]![j]!) ** 2;
        if (d < bestDist) [best, bestDist] = [c, d];
      }
      return [best, bestDist];
    };
    let expected = centers.map((c) => [...c]);
    for (let it = 0; it < 4; it++) {
      const stats = await points
        .map(capture({ centers, closest }, (p: number[]): [number, [number[], number]] => [closest(p, centers)[0], [p, 1]]))
        .reduceByKey(([s1, n1]: [number[], number], [s2, n2]: [number[], number]): [number[], number] => {
          const s = s1.slice();
          for (let j = 0; j < s.length; j++) s[j]! += s2[j]!;
          return [s, n1 + n2];
        })
        .collectAsMap();
      centers = centers.map((old, c) => {
        const s = stats.get(c);
        return s === undefined ? old : s[0].map((v) => v / s[1]);
      });
      // The plain loop on the driver over the same points.
      const sums = expected.map((c) => c.map(() => 0));
      const counts = expected.map(() => 0);
      for (const p of plain) {
        const c = closest(p, expected)[0];
        counts[c]!++;
        for (let j = 0; j < p.length; j++) sums[c]![j]! += p[j]!;
      }
      expected = expected.map((old, c) => (counts[c] === 0 ? old : sums[c]!.map((v) => v / counts[c]!)));
      for (let c = 0; c < centers.length; c++) for (let j = 0; j < 3; j++) expect(centers[c]![j]!).toBeCloseTo(expected[c]![j]!, 9);
    }
    expect(same(await points.collect(), plain)).toBe(true);
    points.unpersist();
  });
});
