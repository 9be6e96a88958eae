/**
 * Where a combine's fast paths put each key. A map-side combine buckets its groups by itself when they sit in a
 * typed table (int32 keys in a NumberTable, hashed or addressed directly; words in a StringTable, packed or hashed,
 * written as latin1 byte columns under a HashPartitioner; int32 rows in a RowTable), reading a hash partitioner's
 * choice from hashes the table already holds instead of calling `getPartition`. Every other key goes through the
 * general path, which calls the partitioner. The two must agree for every key, or a narrow join with an RDD
 * partitioned the general way misses the matches (issue 8: "a fast path must serve every program of its shape").
 * So, for keys of every supported kind mixed into each table's favourite shape: each output partition holds exactly
 * the keys its partitioner names, the sums are the definition's, and a narrow join with the same keys partitioned
 * through `partitionBy` (values that no table takes) finds every match.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from 'kindling';
import { HashPartitioner } from '../../src/core/partitioner.js';
import type { CustomPartitioner } from '../../src/rdd/user-partitioner.js';
import { smallKey, wideKey } from '../core/key-arbitraries.js';
import { keyId, type KeyId } from '../../src/core/keys.js';
import { MODES } from './helpers.js';

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
/** Words a StringTable packs (up to 8 chars below 256), longer latin1 ones it hashes, and wide ones. */
const word = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: latin1Char, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: latin1Char, minLength: 9, maxLength: 20 }) },
  { weight: 2, arbitrary: fc.nat(3000).map((n) => `w${n}`) },
);
const wideWord = fc.constantFrom('\u0100', '\ud800', 'x\udc00', '😀', 'ā long word over eight');
/** Each table's favourite key shape; a run draws one and mixes in, rarely, keys of every other kind. */
const favourite = fc.constantFrom<fc.Arbitrary<unknown>>(
  word,
  fc.integer({ min: 0, max: 4000 }), // dense int32: the NumberTable's direct layout
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), // sparse int32: hashed
  fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })), // int32 rows of one width
  fc.constantFrom(-0, 0, NaN, 0.5, 2 ** 31, -1.25, 2 ** 53), // numbers that are not int32
);
const rare = fc.oneof(wideWord, smallKey, wideKey);
/** A value is mostly an int (sums stay exact in any order), at times an object, so a key's combiner is not a number. */
const value = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: -9, max: 9 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((n) => ({ n })) },
);
const records = fc.tuple(favourite, fc.boolean(), fc.boolean()).chain(([fav, mixed, many]) =>
  fc.array(fc.tuple(mixed ? fc.oneof({ weight: 40, arbitrary: fav }, { weight: 1, arbitrary: rare }) : fav, value), {
    // Many distinct words make 256+ groups per bucket: the map output's latin1 byte columns.
    minLength: many ? 1500 : 0,
    maxLength: many ? 3000 : 300,
  }),
);

/** Takes a value's number: what the reduce adds. A key seen once keeps its value as it came. */
const merge = (a: unknown, b: unknown): number =>
  (typeof a === 'number' ? a : (a as { n: number }).n) + (typeof b === 'number' ? b : (b as { n: number }).n);

/** The definition: per structurally equal key, its only value, or the sum of its values' numbers. */
function definition(xs: ReadonlyArray<readonly [unknown, unknown]>): Map<KeyId, [unknown, unknown]> {
  const out = new Map<KeyId, [unknown, unknown]>();
  for (const [k, v] of xs) {
    const id = keyId(k);
    const had = out.get(id);
    out.set(id, had === undefined ? [k, v] : [had[0], merge(had[1], v)]);
  }
  return out;
}

/** One output pair per key of the definition, each with the value `of` makes from the definition's. */
function expectByKey(
  got: ReadonlyArray<readonly [unknown, unknown]>,
  want: ReadonlyMap<KeyId, [unknown, unknown]>,
  of: (v: unknown) => unknown,
): void {
  const byId = new Map(got.map(([k, v]) => [keyId(k), v]));
  expect(got.length).toBe(want.size);
  expect(byId.size).toBe(want.size);
  for (const [id, [k, v]] of want) expect({ key: k, value: byId.get(id) }).toEqual({ key: k, value: of(v) });
}

/** A user's partitioner: not a HashPartitioner, so no table may read its choice from a hash. */
const byLength: CustomPartitioner = {
  numPartitions: 3,
  getPartition: (k: unknown) => (typeof k === 'string' ? k.length % 3 : typeof k === 'number' && Number.isInteger(k) ? Math.abs(k) % 3 : 0),
};

describe.each(MODES)('reduceByKey through every table, the keys where the partitioner says (%s)', (master) => {
  // Every run computes its reduceByKey twice on purpose (glom, then the join): no persist() hints.
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master, progress: false, hints: false });
  });
  afterAll(() => sc.stop());

  it('each output partition holds exactly the keys its partitioner names, with the sums of the definition, and a narrow join with partitionBy finds every match (property)', async () => {
    await fc.assert(
      fc.asyncProperty(records, fc.constantFrom<CustomPartitioner | number>(1, 2, 3, 4, 7, 8, byLength), async (xs, p) => {
        const partitioner = typeof p === 'number' ? new HashPartitioner(p) : p;
        const sums = sc.parallelize(xs, 2).reduceByKey(merge, partitioner);
        const parts = (await sums.glom().collect()) as Array<Array<[unknown, unknown]>>;
        expect(parts).toHaveLength(partitioner.numPartitions);
        parts.forEach((part, i) => {
          for (const [k] of part) expect({ key: k, partition: partitioner.getPartition(k) }).toEqual({ key: k, partition: i });
        });
        const want = definition(xs);
        expectByKey(parts.flat(), want, (v) => v);

        // The same keys partitioned the general way (values no table keeps: strings), joined without a shuffle.
        const tags = sc
          .parallelize(
            [...want.values()].map(([k]): [unknown, string] => [k, 't']),
            3,
          )
          .partitionBy(partitioner);
        const joined = sums.join(tags);
        expect(joined.getNumPartitions()).toBe(partitioner.numPartitions);
        expectByKey(await joined.collect(), want, (v) => [v, 't']);
      }),
      { numRuns: 20 },
    );
  }, 180_000); // ~30 s a mode at load 25 (runs of up to 3,000 records, two jobs each)
});
