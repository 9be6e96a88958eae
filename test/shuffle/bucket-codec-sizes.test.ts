/**
 * A map task's shuffle-write metric samples one record in 64 of what it writes. Records written as columns (a
 * combine's output) are sampled from the columns themselves (`sampledPairBytes`), with no record decoded: the
 * estimate must be the one the decoded pair would get (`estimateSize([pair]) - 24`), for every column kind, on
 * either side of the pair, in buckets joined and cut as the stores join and cut them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatEncoded, decodeRange, encodeBucket, sampledPairBytes, sliceEncoded, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { estimateSize } from '../../src/storage/size-estimator.js';
import { column } from '../fixtures/column-arbitraries.js';

/** The estimate the decoding sampler gave: the record as the pair decodeRange makes, through estimateSize. */
const decodedBytes = (e: EncodedBucket, i: number): number => estimateSize(decodeRange(e, i, i + 1)) - 24;

/** A `latin1` column of `words` (chars below 256), as a combine's string table or a peer's bucket holds one. */
function latin1(words: readonly string[]): EncodedBucket['keys'] {
  const data = new Uint8Array(words.reduce((n, w) => n + w.length, 0));
  const ends = new Int32Array(words.length);
  let at = 0;
  words.forEach((w, i) => {
    for (let j = 0; j < w.length; j++) data[at++] = w.charCodeAt(j);
    ends[i] = at;
  });
  return { kind: 'latin1', data, ends };
}

const latin1Word = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 20 });

/** Buckets of every column kind the codec makes: from records of one generated kind per side, and latin1 columns. */
const buckets: fc.Arbitrary<EncodedBucket> = fc.oneof(
  fc
    .tuple(column, column)
    .chain(([k, v]) =>
      fc.array(
        fc.tuple(k, v).map((kv) => kv as Pair),
        { maxLength: 40 },
      ),
    )
    .map((records) => encodeBucket(records)),
  // Latin1 keys (a word count's map output), with values of any kind or latin1 strings too.
  fc
    .tuple(fc.array(latin1Word, { maxLength: 40 }), column)
    .chain(([words, v]) =>
      fc.tuple(
        fc.constant(words),
        fc.array(v, { minLength: words.length, maxLength: words.length }),
        fc.array(latin1Word, { minLength: words.length, maxLength: words.length }),
      ),
    )
    .chain(([words, values, wordValues]) =>
      fc.boolean().map((stringValues): EncodedBucket => {
        const decoded = encodeBucket(words.map((w, i) => [w, values[i]] as Pair));
        return { length: words.length, keys: latin1(words), values: stringValues ? latin1(wordValues) : decoded.values };
      }),
    ),
);

describe('sampledPairBytes: a written record sampled from its columns', () => {
  it('is the estimate of the pair decodeRange makes of it, for every record and column kind (property)', () => {
    fc.assert(
      fc.property(buckets, (e) => {
        for (let i = 0; i < e.length; i++) expect(sampledPairBytes(e, i)).toBe(decodedBytes(e, i));
      }),
      { numRuns: 300 },
    );
  });

  it('is the same for buckets joined and cut as a store joins and serves them (property)', () => {
    fc.assert(
      fc.property(
        buckets.chain((e) => fc.tuple(fc.constant(e), fc.nat({ max: e.length }), fc.nat({ max: e.length }), fc.boolean())),
        ([e, a, b, view]) => {
          const from = Math.min(a, b);
          const to = Math.max(a, b);
          const cut = sliceEncoded(e, from, to, view);
          const joined = concatEncoded([cut, e]);
          for (const x of [cut, joined]) for (let i = 0; i < x.length; i++) expect(sampledPairBytes(x, i)).toBe(decodedBytes(x, i));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reads a word count's record as its word and count", () => {
    const e: EncodedBucket = { length: 3, keys: latin1(['', 'ba', 'tenletters']), values: { kind: 'f64', data: Float64Array.of(1, 2, 3) } };
    // The pair's 32 bytes, the string's 12 + 2 a char, the number's 8.
    expect([0, 1, 2].map((i) => sampledPairBytes(e, i))).toEqual([52, 56, 72]);
    expect([0, 1, 2].map((i) => decodedBytes(e, i))).toEqual([52, 56, 72]);
  });
});
