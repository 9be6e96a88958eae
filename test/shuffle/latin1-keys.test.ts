/**
 * A served bucket of string keys travels to a peer as chars (bucket-codec.ts `stringColumn`: one byte a char when
 * every char is below 256, `latin1`, else one UTF-16 code unit a char, `utf16`, with the strings' ends), and the
 * reduce side reads it in place (`Latin1Keys`, `Utf16Keys`: the string table finds a key by its chars and makes a
 * string only for a new one it does not pack). Reading such a column must give exactly what the plain array of
 * strings gives: the same strings (empty, long, `__proto__`, every char from 0 to 255, chars above 255, astral pairs,
 * lone surrogates), and, through the combine, the same groups in the same order and the same createCombiner / merge
 * calls, mixed with buckets of plain keys (a reducer's own output) and keys of other kinds; a column with a key that
 * is not a string travels as before. End to end on local[2] and local-cluster[2]: a word count of such words equals a
 * plain count.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  StringKeys,
  Utf16Keys,
  buffersOf,
  concatEncoded,
  copyEncoded,
  decodeBucket,
  decodeRange,
  eachPair,
  encodeBucket,
  isStringColumn,
  sliceEncoded,
  stringColumn,
  stringKeysOf,
  withStringColumns,
  type EncodedBucket,
} from '../../src/shuffle/bucket-codec.js';
import { wideWord } from '../fixtures/column-arbitraries.js';
import { grouping, type Pair } from '../../src/shuffle/combine.js';
import { FetchedInput } from '../../src/shuffle/fetched-input.js';
import { MODES, useContext } from '../rdd/helpers.js';

/** Deep equality that tells -0 from 0 and NaN from nothing. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
/** Words a latin1 column carries: from a small pool (so that they repeat), any chars below 256, up to 8 and longer. */
const latin1Word = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'a',
      'ba',
      '',
      'é',
      '\u0000',
      '\u00ff\u0080',
      '__proto__',
      'constructor',
      'eight ch',
      'nine char',
      'a word over nine characters',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: latin1Char, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: latin1Char, minLength: 9, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.nat(300).map((n) => `w${n}`) },
);
/** Keys no column of chars carries. */
const otherKey = fc.constantFrom<unknown>(7, -0, NaN, null, ['a'], [1, 2]);
const isLatin1 = (k: unknown): boolean => typeof k === 'string' && [...k].every((c) => c.charCodeAt(0) < 256 && c.length === 1);
const double = fc.oneof(fc.double(), fc.constantFrom(-0, NaN, Infinity, 0.25));
// Each property's own count unless FUZZ_RUNS asks for another (a search, or a quick replay).
const RUNS = process.env.FUZZ_RUNS === undefined ? undefined : Number(process.env.FUZZ_RUNS);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const params = (numRuns: number) => ({ numRuns: RUNS ?? numRuns, seed: SEED });
console.log(`latin1-keys: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS ?? 'default'}`);

/**
 * A bucket's keys: latin1 words only (mostly 256 or more, enough for a column of chars), or with words of wider chars
 * among them (a few, as in real text, or many), sometimes with a key that is not a string.
 */
const keyColumn = fc.oneof(
  { weight: 3, arbitrary: fc.array(latin1Word, { minLength: 256, maxLength: 600 }) },
  { weight: 1, arbitrary: fc.array(latin1Word, { maxLength: 300 }) },
  {
    weight: 2,
    arbitrary: fc.array(fc.oneof({ weight: 20, arbitrary: latin1Word }, { weight: 1, arbitrary: wideWord }), { minLength: 256, maxLength: 500 }),
  },
  { weight: 1, arbitrary: fc.array(fc.oneof(latin1Word, wideWord), { minLength: 200, maxLength: 400 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(latin1Word, { minLength: 256, maxLength: 400 }), otherKey, fc.nat())
      .map(([ks, k, at]) => [...ks.slice(0, at % (ks.length + 1)), k, ...ks.slice(at % (ks.length + 1))]),
  },
);
const bucketOf = (keys: unknown[], values: number[], ints: boolean): EncodedBucket =>
  withStringColumns(encodeBucket(keys.map((k, i): Pair => [k, ints ? Math.trunc(values[i]!) | 0 : values[i]!])));
const bucket = keyColumn.chain((ks) =>
  fc.tuple(fc.array(double, { minLength: ks.length, maxLength: ks.length }), fc.boolean()).map(([vs, ints]) => ({
    keys: ks,
    bucket: bucketOf(
      ks,
      vs.map((v) => (ints && !Number.isFinite(v) ? 1 : v)),
      ints,
    ),
  })),
);

describe('string keys as chars (latin1 bytes or utf16 code units)', () => {
  it('a column of 256+ strings becomes latin1 bytes when every char is below 256, else utf16 code units, and reads back as the same strings; any other stays as it is (property)', () => {
    fc.assert(
      fc.property(bucket, ({ keys, bucket: b }) => {
        const strings = keys.length >= 256 && keys.every((k) => typeof k === 'string');
        expect(isStringColumn(b.keys) ? b.keys.kind : 'not chars').toBe(!strings ? 'not chars' : keys.every(isLatin1) ? 'latin1' : 'utf16');
        const pairs = decodeBucket(b);
        expect(
          same(
            pairs.map((p) => p[0]),
            keys,
          ),
        ).toBe(true);
        // Every reader of encoded buckets gives the same records.
        const each: unknown[] = [];
        eachPair(b, (k) => each.push(k));
        expect(same(each, keys)).toBe(true);
        const cut = Math.floor(keys.length / 3);
        expect(same(decodeBucket(sliceEncoded(b, cut, keys.length)), pairs.slice(cut))).toBe(true);
        expect(same(decodeBucket(sliceEncoded(b, 0, cut)), pairs.slice(0, cut))).toBe(true);
        expect(same(decodeBucket(copyEncoded(b)), pairs)).toBe(true);
        expect(same(decodeBucket(concatEncoded([b, sliceEncoded(b, 0, cut)])), [...pairs, ...pairs.slice(0, cut)])).toBe(true);
        if (isStringColumn(b.keys)) {
          const keysOf = stringKeysOf(b.keys);
          expect(keys.every((k, i) => keysOf.key(i) === k)).toBe(true);
          // Both buffers move with the bucket.
          expect(buffersOf([b])).toContain(b.keys.ends.buffer);
          expect(buffersOf([b])).toContain(b.keys.data.buffer);
        }
      }),
      params(200),
    );
  });

  it('any range of a column of chars decodes to the same strings, and only its own chars are decoded (property)', () => {
    fc.assert(
      fc.property(bucket, fc.nat(), fc.nat(), ({ keys, bucket: b }, x, y) => {
        const from = x % (keys.length + 1);
        const to = from + (y % (keys.length - from + 1));
        expect(
          same(
            decodeRange(b, from, to).map((p) => p[0]),
            keys.slice(from, to),
          ),
        ).toBe(true);
        if (!isStringColumn(b.keys)) return;
        // A reader that takes one record at a time (a writer's size sample, a slice of a fetched bucket) must not
        // make a string of the whole column each time: count the chars decoded.
        const { ends } = b.keys;
        const decode = vi.spyOn(Buffer.prototype, 'toString');
        try {
          for (let i = from; i < to; i++) expect(decodeRange(b, i, i + 1)[0]![0]).toBe(keys[i]);
          const decoded = decode.mock.results.reduce((n, r) => n + (r.value as string).length, 0);
          const own = to > from ? ends[to - 1]! - (from === 0 ? 0 : ends[from - 1]!) : 0;
          expect(decoded).toBeLessThanOrEqual(own);
        } finally {
          decode.mockRestore();
        }
      }),
      params(200),
    );
  });

  it('a string with a char above 255 (an astral pair, a lone surrogate of either half) makes the column utf16, which gives back each code unit; a key of another kind keeps the plain column', () => {
    for (const odd of ['\u0100', '\ud800', '\udc00', 'x\udc00y', '😀', '\ude00\ud83d', '–', '日本語']) {
      const keys: unknown[] = Array.from({ length: 300 }, (_, i) => `w${i}`);
      keys[150] = odd;
      keys[299] = `${odd}${odd}${odd}${odd}long`;
      const c = stringColumn(keys);
      expect(c?.kind).toBe('utf16');
      const read = new Utf16Keys(c!.data as Uint16Array, c!.ends);
      expect(read.keys(0, 300)).toEqual(keys);
      expect(read.key(150)).toBe(odd);
      expect(read.key(299)).toBe(keys[299]);
    }
    for (const odd of [5, null, ['a']]) {
      const keys: unknown[] = Array.from({ length: 300 }, (_, i) => `w${i}`);
      keys[150] = odd;
      expect(stringColumn(keys)).toBeUndefined();
    }
    expect(stringColumn(Array.from({ length: 255 }, (_, i) => `w${i}`))).toBeUndefined();
    expect(stringColumn(Array.from({ length: 256 }, (_, i) => `w${i}`))?.kind).toBe('latin1');
  });

  it('the combine of buckets of chars (latin1, utf16) does what adding their records as pairs does, among plain buckets and other keys (property)', () => {
    const aggregators = {
      sum: { first: (v: unknown) => v, merge: (a: unknown, b: unknown) => (a as number) + (b as number) },
      capped: {
        first: (v: unknown) => v,
        merge: (a: unknown, b: unknown) => (typeof a === 'number' && Math.abs(a) > 5e2 ? `big ${a}` : typeof a === 'number' ? a + (b as number) : a),
      },
      list: { first: (v: unknown) => [v], merge: (c: unknown, v: unknown) => [...(c as unknown[]), v] },
    };
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 4, arbitrary: bucket }, { weight: 1, arbitrary: fc.array(fc.tuple(otherKey, double), { maxLength: 5 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom<keyof typeof aggregators>('sum', 'capped', 'list'),
        fc.constantFrom(0, 100, 5_000),
        fc.boolean(),
        (chunks, name, expected, plainFirst) => {
          const calls: unknown[][] = [[], []];
          const agg = (j: number) => ({
            first: (v: unknown) => {
              calls[j]!.push(['first', v]);
              return aggregators[name].first(v);
            },
            merge: (c: unknown, v: unknown) => {
              calls[j]!.push(['merge', c, v]);
              return aggregators[name].merge(c, v);
            },
          });
          const a = agg(0);
          const b = agg(1);
          const byBytes = grouping(a.first, a.merge, expected);
          const byPairs = grouping(b.first, b.merge, expected);
          for (const [i, c] of chunks.entries()) {
            if (Array.isArray(c)) {
              for (const kv of c) {
                byBytes.add(kv as Pair);
                byPairs.add(kv as Pair);
              }
              continue;
            }
            const e = c.bucket;
            const pairs = decodeBucket(e);
            // A reducer's own bucket comes as a plain array: sometimes the first one, as the local output often is.
            if (plainFirst && i === 0)
              byBytes.addNumbers(
                pairs.map((p) => p[0]),
                e.values.kind === 'i32' || e.values.kind === 'f64' ? e.values.data : Float64Array.from([]),
                0,
                pairs.length,
              );
            else if (isStringColumn(e.keys) && (e.values.kind === 'f64' || e.values.kind === 'i32')) {
              const keys = stringKeysOf(e.keys);
              // In two slices, as the external combine hands them over.
              const cut = Math.floor(pairs.length / 2);
              byBytes.addNumbers(keys, e.values.data, 0, cut);
              byBytes.addNumbers(keys, e.values.data, cut, pairs.length);
            } else for (const kv of pairs) byBytes.add(kv);
            for (const kv of pairs) byPairs.add(kv);
          }
          expect(same(byBytes.groups(), byPairs.groups())).toBe(true);
          expect(same(calls[0], calls[1])).toBe(true);
        },
      ),
      params(200),
    );
  });

  it("FetchedInput hands a bucket of chars and number values to the combine's columns, and its pairs to every other reader", () => {
    fc.assert(
      fc.property(fc.array(bucket, { minLength: 1, maxLength: 3 }), (bs) => {
        const buckets = bs.map((b) => b.bucket);
        const expected = buckets.flatMap(decodeBucket);
        const read = (): { pairs: Pair[]; latin1: number } => {
          const input = new FetchedInput(undefined);
          input.add(
            buckets.map((_, i) => i),
            buckets,
          );
          const pairs: Pair[] = [];
          let latin1 = 0;
          input.parts().read(
            (kv) => pairs.push(kv),
            (keys, values, from, to) => {
              if (keys instanceof StringKeys) latin1++;
              for (let i = from; i < to; i++) pairs.push([keys instanceof StringKeys ? keys.key(i) : (keys as readonly unknown[])[i], values[i]]);
            },
          );
          return { pairs, latin1 };
        };
        const { pairs, latin1 } = read();
        expect(same(pairs, expected)).toBe(true);
        expect(latin1).toBe(buckets.filter((b) => isStringColumn(b.keys) && b.length > 0).length);
        const all = new FetchedInput(undefined);
        all.add(
          buckets.map((_, i) => i),
          buckets,
        );
        expect(same([...all.all()].flat(), expected)).toBe(true);
      }),
      params(100),
    );
  });
});

describe.each(MODES.filter((m) => m !== 'local'))('a word count whose buckets travel as chars (%s)', (master) => {
  const ctx = useContext(master);

  it('equals a plain count, for words of every kind (property)', async () => {
    const words = fc.array(fc.oneof({ weight: 12, arbitrary: latin1Word }, { weight: 1, arbitrary: wideWord }), {
      minLength: 1500,
      maxLength: 4000,
    });
    await fc.assert(
      fc.asyncProperty(words, async (ws) => {
        // Many distinct words, so that each map output's bucket holds hundreds (enough to travel as bytes).
        const all = [...ws, ...Array.from({ length: 2000 }, (_, i) => `u${i}`)];
        const counts = await ctx()
          .parallelize(all, 2)
          .map((w): [string, number] => [w, 1])
          .reduceByKey((a, b) => a + b)
          .collectAsMap();
        const expected = new Map<string, number>();
        for (const w of all) expected.set(w, (expected.get(w) ?? 0) + 1);
        expect(counts.size).toBe(expected.size);
        for (const [w, n] of expected) expect(counts.get(w)).toBe(n);
      }),
      { numRuns: 8, seed: SEED },
    );
  });
});
