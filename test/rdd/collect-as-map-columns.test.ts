/**
 * collectAsMap over the columns a long result travels in (local backend): a partition of 512 or more pairs reaches
 * the driver as columns (bucket-codec.ts) and collectAsMap fills its map straight from them (`eachPair`), with no
 * pair built. The map must be the one built from the pairs themselves (`collect`, which decodes them): the same
 * keys in the same order, the same values (numbers bit for bit), for keys and values of every kind. A reduceByKey
 * whose reduce side ends with its groups as columns (string or int32 keys, number combiners) hands those columns to
 * the result as they are (result-functions.ts, `forEachOrColumns`); the map must again be the one from `collect`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context } from 'kindling';
import { decodeBucket, eachPair, encodeBucket } from '../../src/shuffle/bucket-codec.js';
import { structuralMap } from '../../src/core/structural-map.js';
import { entries, expectPartitionsInSomeOrder } from './map-order.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { smallKey, wideKey } from '../core/key-arbitraries.js';

const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const double = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 2 ** 31, 0.5));
const column: fc.Arbitrary<fc.Arbitrary<unknown>> = fc.constantFrom<fc.Arbitrary<unknown>>(
  int,
  fc.integer({ min: 0, max: 50 }), // many repeated keys: later values must win, first key objects stay
  double,
  fc.oneof(int, double),
  fc.constant(null),
  fc.constant(undefined),
  fc.tuple(int),
  fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), // structural keys that repeat
  fc.tuple(double, int, double),
  fc.array(int, { minLength: 6, maxLength: 6 }),
  fc.constantFrom('a', 'bc', '', '\u0001x'),
  smallKey,
  wideKey,
);
const pairsOf = (minLength: number, maxLength: number): fc.Arbitrary<Pair[]> =>
  fc.tuple(column, column).chain(([k, v]) =>
    fc.array(
      fc.tuple(k, v).map((kv) => kv as Pair),
      { minLength, maxLength },
    ),
  );

/** Keys of a reduceByKey: mostly words (or mostly int32), at times one of any other kind, anywhere. */
const word = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('a', 'ba', 'é', '\u0001x', 'a word over nine chars', ''));
const reduceKey = fc.constantFrom<fc.Arbitrary<unknown>>(
  word,
  fc.integer({ min: -3000, max: 3000 }),
  fc.oneof({ weight: 40, arbitrary: word }, { weight: 1, arbitrary: smallKey }),
  fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 0, max: 500 }) }, { weight: 1, arbitrary: fc.oneof(word, smallKey) }),
);
/** Values to sum: numbers of every kind, at times a string (the sum then stops being a number for that key). */
const reduceValue = fc.constantFrom<fc.Arbitrary<unknown>>(
  fc.integer({ min: -5, max: 5 }),
  fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, 2 ** 53, 0.1)),
  fc.oneof({ weight: 60, arbitrary: fc.integer() }, { weight: 1, arbitrary: fc.constant('s') }),
);
const reduceRecords = fc.tuple(reduceKey, reduceValue).chain(([k, v]) =>
  fc.array(
    fc.tuple(k, v).map((kv) => kv as Pair),
    { minLength: 0, maxLength: 3000 },
  ),
);

describe('collectAsMap from result columns', () => {
  it('eachPair gives exactly the keys and values of the decoded pairs, in order', () => {
    fc.assert(
      fc.property(pairsOf(0, 60), (pairs) => {
        const e = structuredClone(encodeBucket(pairs));
        const seen: Pair[] = [];
        eachPair(e, (k, v) => seen.push([k, v]));
        expect(seen).toEqual(decodeBucket(e));
        expect(seen.length).toBe(pairs.length);
        // The comparison tells -0 from 0, so a column that lost its sign would fail here.
        expect(() => expect([[-0, 0]]).toEqual([[0, 0]])).toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('on local[2], the map equals the one built from collect(), for long partitions of every kind', async () => {
    const sc = new Context({ master: 'local[2]', progress: false });
    try {
      await fc.assert(
        fc.asyncProperty(pairsOf(1100, 1500), async (pairs) => {
          const rdd = sc.parallelize(pairs, 2);
          const viaColumns = await rdd.collectAsMap();
          const viaPairs = structuralMap(await rdd.collect());
          expect(entries(viaColumns)).toEqual(entries(viaPairs));
          expect(viaColumns.size).toBe(viaPairs.size);
        }),
        { numRuns: 25 },
      );
      // PageRank's result: int keys, double ranks; repeated keys keep the first position and the last value.
      const ranks: Array<[number, number]> = Array.from({ length: 5000 }, (_, i) => [(i * 37) % 4000, i === 4500 ? -0 : i / 3]);
      const m = await sc.parallelize(ranks, 2).collectAsMap();
      expect(entries(m)).toEqual(entries(structuralMap(ranks)));
      expect(Object.is(m.get(2500), -0)).toBe(true); // i = 4500, after i = 500 with the same key
    } finally {
      await sc.stop();
    }
  });

  it('after a reduceByKey whose reduce ends with its groups as columns (words or int32 keys, number sums), the map equals the one built from collect() (property)', async () => {
    const sc = new Context({ master: 'local[2]', progress: false });
    try {
      await fc.assert(
        fc.asyncProperty(reduceRecords, fc.integer({ min: 1, max: 3 }), async (records, partitions) => {
          const counts = sc.parallelize(records, 2).reduceByKey((a: unknown, b: unknown) => (a as number) + (b as number), partitions);
          const viaColumns = await counts.collectAsMap();
          // Hash-partitioned: merged as the partitions arrive, each whole (rdd.ts, collectAsMap).
          expectPartitionsInSomeOrder(viaColumns, (await counts.glom().collect()) as Array<Array<[unknown, unknown]>>);
          const viaPairs = structuralMap(await counts.collect());
          expect(viaColumns.size).toBe(viaPairs.size);
        }),
        { numRuns: 40 },
      );
      // A word count: the reduce's columns themselves reach the driver.
      const words = Array.from({ length: 20_000 }, (_, i): [string, number] => [`w${(i * 7919) % 3001}`, 1]);
      const m = await sc
        .parallelize(words, 2)
        .reduceByKey((a, b) => a + b, 2)
        .collectAsMap();
      expect(m.size).toBe(3001);
      expect([...m.values()].reduce((a, b) => a + b)).toBe(20_000);
      expect(m.get('w0')).toBe(words.filter(([w]) => w === 'w0').length);
    } finally {
      await sc.stop();
    }
  });
});
