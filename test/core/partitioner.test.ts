import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DirectPartitioner,
  HashPartitioner,
  RangePartitioner,
  determineBounds,
  partitionOfHash,
  partitionerFromWire,
  powerOfTwoMask,
  type Partitioner,
} from '../../src/core/partitioner.js';
import { compareKeys, hashKey } from '../../src/core/keys.js';
import { SeededRandom } from '../../src/core/random.js';
import { smallKey, twin, wideKey } from './key-arbitraries.js';

const badCounts: unknown[] = [0, -1, 1.5, NaN, Infinity, 2 ** 31, '4', undefined];

/** Sorted, distinct bounds drawn from arbitrary keys. */
const boundsArb = fc.array(smallKey, { maxLength: 8 }).map((keys) => {
  const sorted = keys
    .map((k) => [k] as const)
    .sort((x, y) => compareKeys(x[0], y[0]))
    .map((b) => b[0]);
  return sorted.filter((k, i) => i === 0 || compareKeys(sorted[i - 1], k) < 0);
});

function roundTrip(p: Partitioner): Partitioner {
  return partitionerFromWire(structuredClone(p.toWire()));
}

describe('HashPartitioner', () => {
  it('rejects partition counts that are not positive integers', () => {
    for (const n of badCounts) expect(() => new HashPartitioner(n as number)).toThrow(RangeError);
  });

  it('places every key in range, equal keys together, identically after a trip over the wire', () => {
    fc.assert(
      fc.property(wideKey, fc.integer(), fc.integer({ min: 1, max: 1000 }), (k, seed, n) => {
        const p = new HashPartitioner(n);
        const i = p.getPartition(k);
        expect(Number.isInteger(i) && i >= 0 && i < n).toBe(true);
        expect(p.getPartition(twin(k, seed))).toBe(i);
        expect(roundTrip(p).getPartition(k)).toBe(i);
      }),
    );
  });

  it('pins placement: unsigned hash modulo the partition count', () => {
    const p = new HashPartitioner(8);
    expect(['spark', 'a', 'hello world', 42].map((k) => p.getPartition(k))).toEqual([2, 2, 4, 4]);
    expect(new HashPartitioner(7).getPartition(-1)).toBe((hashKey(-1) >>> 0) % 7);
  });

  it('places a key at its unsigned hash modulo the count, powers of two (a mask) and others alike', () => {
    // Counts drawn so that every power of two up to 2^30 (the mask's path) and the counts around them are reached.
    const count = fc.oneof(
      fc.integer({ min: 0, max: 30 }).map((b) => 2 ** b),
      fc
        .integer({ min: 0, max: 30 })
        .chain((b) => fc.constantFrom(2 ** b - 1, 2 ** b + 1))
        .filter((n) => n >= 1),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    );
    const hash = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-(2 ** 31), -1, 0, 2 ** 31 - 1));
    let powers = 0;
    fc.assert(
      fc.property(wideKey, count, hash, (k, n, h) => {
        if ((n & (n - 1)) === 0) powers++;
        expect(powerOfTwoMask(n)).toBe((n & (n - 1)) === 0 ? n - 1 : -1);
        expect(new HashPartitioner(n).getPartition(k)).toBe((hashKey(k) >>> 0) % n);
        expect(partitionOfHash(h, n, powerOfTwoMask(n))).toBe((h >>> 0) % n);
      }),
      { numRuns: 2000 },
    );
    expect(powers).toBeGreaterThan(200);
  });

  it('is equal exactly to hash partitioners with the same count', () => {
    expect(new HashPartitioner(4).equals(new HashPartitioner(4))).toBe(true);
    expect(new HashPartitioner(4).equals(new HashPartitioner(5))).toBe(false);
    expect(new HashPartitioner(4).equals(new DirectPartitioner(4))).toBe(false);
    expect(new HashPartitioner(4).equals(undefined)).toBe(false);
    expect(roundTrip(new HashPartitioner(4)).equals(new HashPartitioner(4))).toBe(true);
  });

  it('spreads 100k distinct Zipf-vocabulary words evenly over 8 partitions, by key and by record', () => {
    // Word shapes follow a Zipf-like vocabulary: short common words, long rare ones, shared prefixes.
    const rng = new SeededRandom(7);
    const letters = 'etaoinshrdlucmfwypvbgkjqxz';
    const words = new Set<string>();
    while (words.size < 100_000) {
      const len = 1 + Math.floor(-Math.log(1 - rng.nextFloat()) * 5);
      let w = '';
      for (let i = 0; i < len; i++) w += letters[Math.min(25, Math.floor(-Math.log(1 - rng.nextFloat()) * 6))];
      words.add(words.size % 3 === 0 ? `user_${words.size}` : w);
    }
    const p = new HashPartitioner(8);
    const byKey = new Array<number>(8).fill(0);
    const byRecord = new Array<number>(8).fill(0);
    let rank = 1;
    for (const w of words) {
      const i = p.getPartition(w);
      byKey[i]! += 1;
      byRecord[i]! += 1 / rank++; // Zipf frequency of the rank-th word
    }
    const meanKeys = 100_000 / 8;
    expect(Math.max(...byKey)).toBeLessThan(2 * meanKeys);
    expect(Math.max(...byKey)).toBeLessThan(1.05 * meanKeys); // what a good hash actually achieves
    expect(Math.min(...byKey)).toBeGreaterThan(0.95 * meanKeys);
    const meanRecords = byRecord.reduce((a, b) => a + b) / 8;
    expect(Math.max(...byRecord)).toBeLessThan(2 * meanRecords);
  });

  it('spreads sequential integer keys evenly', () => {
    const p = new HashPartitioner(8);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[p.getPartition(i)]! += 1;
    expect(Math.max(...counts)).toBeLessThan(1.05 * 10_000);
  });
});

describe('DirectPartitioner', () => {
  it('sends integer key k to partition k mod n, round-robin', () => {
    const p = new DirectPartitioner(3);
    expect([0, 1, 2, 3, 4, -1, -3, 2 ** 40].map((k) => p.getPartition(k))).toEqual([0, 1, 2, 0, 1, 2, 0, 1]);
    expect(() => p.getPartition('1')).toThrow(TypeError);
    expect(() => p.getPartition(1.5)).toThrow(TypeError);
    expect(roundTrip(p).equals(p)).toBe(true);
    expect(p.equals(new HashPartitioner(3))).toBe(false);
    for (const n of badCounts) expect(() => new DirectPartitioner(n as number)).toThrow(RangeError);
  });
});

describe('RangePartitioner', () => {
  it('validates its partition count and bounds', () => {
    for (const n of badCounts) expect(() => new RangePartitioner(n as number, [])).toThrow(RangeError);
    expect(() => new RangePartitioner(2, [1, 2])).toThrow(/at most 1 bounds/);
    expect(() => new RangePartitioner(4, [2, 1])).toThrow(/strictly increasing/);
    expect(() => new RangePartitioner(4, [1, 1])).toThrow(/strictly increasing/);
    expect(() => new RangePartitioner(4, [[1], { a: 1 }, { a: 2 }])).not.toThrow();
  });

  it("puts a key equal to a bound in that bound's partition and keys past the last bound after it", () => {
    const p = new RangePartitioner(5, [10, 20]);
    expect([-Infinity, 10, 10.5, 20, 21, NaN].map((k) => p.getPartition(k))).toEqual([0, 0, 1, 1, 2, 2]);
    const d = new RangePartitioner(5, [10, 20], false);
    expect([-Infinity, 10, 10.5, 20, 21, NaN].map((k) => d.getPartition(k))).toEqual([2, 2, 1, 1, 0, 0]);
    expect(new RangePartitioner(3, []).getPartition('anything')).toBe(0);
  });

  it('agrees with a linear count of smaller bounds and is monotone in the key, both directions', () => {
    fc.assert(
      fc.property(boundsArb, fc.array(fc.oneof(smallKey, wideKey), { maxLength: 20 }), fc.integer({ min: 0, max: 3 }), (bounds, keys, extra) => {
        const n = bounds.length + 1 + extra;
        const asc = new RangePartitioner(n, bounds);
        const desc = new RangePartitioner(n, bounds, false);
        const sorted = keys
          .map((k) => [k] as const)
          .sort((x, y) => compareKeys(x[0], y[0]))
          .map((b) => b[0]);
        let previous = 0;
        for (const k of sorted) {
          const i = asc.getPartition(k);
          expect(i).toBe(bounds.filter((b) => compareKeys(k, b) > 0).length);
          expect(i).toBeGreaterThanOrEqual(previous);
          expect(desc.getPartition(k)).toBe(bounds.length - i);
          expect(roundTrip(asc).getPartition(k)).toBe(i);
          previous = i;
        }
      }),
    );
  });

  it('is equal to range partitioners with structurally equal bounds, direction and count', () => {
    const p = new RangePartitioner(4, ['m', { a: 1, b: [2] }]);
    expect(p.equals(new RangePartitioner(4, ['m', { b: [2], a: 1 }]))).toBe(true);
    expect(p.equals(roundTrip(p))).toBe(true);
    expect(p.equals(new RangePartitioner(5, ['m', { a: 1, b: [2] }]))).toBe(false);
    expect(p.equals(new RangePartitioner(4, ['m', { a: 1, b: [2] }], false))).toBe(false);
    expect(p.equals(new RangePartitioner(4, ['m', { a: 1, b: [3] }]))).toBe(false);
    expect(p.equals(new HashPartitioner(4))).toBe(false);
  });

  it("is not affected by later changes to the caller's bounds array", () => {
    const bounds = [5];
    const p = new RangePartitioner(2, bounds);
    bounds[0] = 100;
    expect(p.getPartition(50)).toBe(1);
  });
});

describe('partitionerFromWire', () => {
  it('rejects unknown kinds', () => {
    expect(() => partitionerFromWire({ kind: 'list' } as never)).toThrow(TypeError);
  });
});

describe('determineBounds', () => {
  it('follows the documented example and degenerate cases', () => {
    const unit = [5, 1, 3, 4, 2, 6].map((k): [number, number] => [k, 1]);
    expect(determineBounds(unit, 3)).toEqual([2, 4]);
    expect(determineBounds(unit, 1)).toEqual([]);
    expect(determineBounds([], 4)).toEqual([]);
    expect(determineBounds([['x', 10]], 4)).toEqual(['x']);
    expect(() => determineBounds(unit, 0)).toThrow(RangeError);
    expect(() => determineBounds([[1, -1]], 2)).toThrow(RangeError);
  });

  it('returns at most partitions-1 strictly increasing candidate keys', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(smallKey, fc.double({ min: 0, max: 100, noNaN: true }))), fc.integer({ min: 1, max: 12 }), (cands, parts) => {
        const bounds = determineBounds(cands, parts);
        expect(bounds.length).toBeLessThanOrEqual(parts - 1);
        for (let i = 1; i < bounds.length; i++) expect(compareKeys(bounds[i - 1], bounds[i])).toBe(-1);
        for (const b of bounds) expect(cands.some(([k]) => compareKeys(k, b) === 0)).toBe(true);
        expect(() => new RangePartitioner(parts, bounds)).not.toThrow();
      }),
    );
  });

  it('balances weight: with distinct keys each range carries less than total/partitions + max weight', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 200, maxLength: 200 }),
        fc.integer({ min: 2, max: 16 }),
        (keys, weights, parts) => {
          const cands = keys.map((k, i): [number, number] => [k, weights[i]!]);
          const p = new RangePartitioner(parts, determineBounds(cands, parts));
          const load = new Array<number>(parts).fill(0);
          for (const [k, w] of cands) load[p.getPartition(k)]! += w;
          const total = cands.reduce((s, [, w]) => s + w, 0);
          const maxWeight = Math.max(...cands.map(([, w]) => w));
          for (const l of load) expect(l).toBeLessThan(total / parts + maxWeight + 1e-9);
        },
      ),
    );
  });

  it('splits many unit-weight keys into equal ranges, ignoring duplicates', () => {
    const cands: Array<[unknown, number]> = [];
    for (let i = 0; i < 1000; i++) cands.push([`k${String(i).padStart(4, '0')}`, 1]);
    const p = new RangePartitioner(4, determineBounds(cands, 4));
    const load = [0, 0, 0, 0];
    for (const [k] of cands) load[p.getPartition(k)]! += 1;
    expect(load).toEqual([250, 250, 250, 250]);
    const dups = determineBounds(
      [1, 1, 1, 1, 1, 1, 2, 3].map((k): [number, number] => [k, 1]),
      4,
    );
    expect(dups).toEqual([1, 2, 3]);
  });
});
