/**
 * topRanks (the PageRank example's and its baseline's summary): the one-pass selection gives exactly the list that
 * sorting every entry (rank descending, then vertex id) and keeping the first n gives, for any map and any n.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topRanks } from '../../examples/pagerank.js';

const bySort = (ranks: ReadonlyMap<number, number>, n: number): Array<[number, number]> =>
  [...ranks].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, n);

// Ranks drawn from a few values (many ties, -0 and 0 among them) or any double but NaN; ids of any integer.
const rank = fc.oneof(fc.constantFrom(0, -0, 0.15, 1, 1e-300, Number.MAX_VALUE, -1), fc.double({ noNaN: true }));
const id = fc.oneof(fc.integer({ min: -5, max: 20 }), fc.integer());

describe('topRanks', () => {
  it('equals the first n of the fully sorted entries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(id, rank), { maxLength: 300 }), fc.nat(320), (entries, n) => {
        const ranks = new Map(entries);
        expect(topRanks(ranks, n)).toEqual(bySort(ranks, n));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps -0 as the rank it was given and returns fresh pairs', () => {
    const ranks = new Map([
      [3, -0],
      [1, 0],
      [2, 0.5],
    ]);
    const top = topRanks(ranks, 3);
    expect(top).toEqual([
      [2, 0.5],
      [1, 0],
      [3, -0],
    ]);
    expect(Object.is(top[2]![1], -0)).toBe(true);
    expect(topRanks(ranks, 0)).toEqual([]);
    expect(topRanks(new Map(), 5)).toEqual([]);
  });
});
