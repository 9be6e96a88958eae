/**
 * joinColumns (shuffle/column-join.ts) joins two partitions cached as pair columns by row. It must push exactly
 * what the inner join of their elements pushes (CoGroupedRDD.pushInnerJoin: keys in the left side's first-seen
 * order, left values outer, right values inner, each value built once per key), for every number a right key can
 * be (int32, -0, NaN, fractions, beyond int32), duplicate keys on either side, and values that are numbers or
 * lists of numbers. joinColumnsWithPairs (shuffle/column-pairs-join.ts) joins a left side cached as pair columns
 * with a right side read as pairs of any kind, and must push the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntColumnIndex, joinColumns, setKeptIndexBytes } from '../../src/shuffle/column-join.js';
import { joinColumnsWithPairs } from '../../src/shuffle/column-pairs-join.js';
import { pairColumns, packPartition, type PairColumns } from '../../src/storage/columnar-block.js';
import { MIN_POOLED_BYTES, pooledBytes, setMinPooledBytes } from '../../src/util/scratch-arrays.js';

type P = [number, unknown];

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

/** The definition: the engine's key equality on numbers (-0 is 0, NaN is NaN), left first-seen order. */
function reference(left: readonly P[], right: readonly P[]): unknown[] {
  const eq = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));
  const order: number[] = [];
  for (const [k] of left) if (!order.some((o) => eq(o, k))) order.push(k);
  const out: unknown[] = [];
  for (const k of order) {
    const vs = left.filter(([l]) => eq(l, k)).map(([, v]) => v);
    const ws = right.filter(([r]) => eq(r, k)).map(([, w]) => w);
    for (const v of vs) for (const w of ws) out.push([k, [v, w]]);
  }
  return out;
}

const intKey = fc.integer({ min: -5, max: 25 });
const rightKey = fc.oneof(intKey, fc.constantFrom(-0, NaN, 0.5, -1.5, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 1e300));
const numberValue = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, NaN, Infinity));
const listValue = fc.array(fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double()), { maxLength: 6 });
/** Pairs of one value shape (all numbers or all lists), so that they pack as columns. */
const side = (key: fc.Arbitrary<number>): fc.Arbitrary<P[]> =>
  fc.oneof(
    fc.array(fc.tuple(key, numberValue), { minLength: 1, maxLength: 60 }),
    fc.array(fc.tuple(key, listValue), { minLength: 1, maxLength: 60 }),
  ) as fc.Arbitrary<P[]>;

function columns(xs: readonly P[]): PairColumns {
  const block = packPartition(xs);
  const cols = block === undefined ? undefined : pairColumns(block);
  if (cols === undefined) throw new Error('not packed as pair columns');
  return cols;
}

describe('joinColumns', () => {
  it('pushes what the inner join of the elements pushes, in the same order', () => {
    fc.assert(
      fc.property(side(intKey), side(rightKey), (l, r) => {
        const left = columns(l);
        expect(left.keys).toBeInstanceOf(Int32Array);
        const got: unknown[] = [];
        joinColumns(left as PairColumns & { keys: Int32Array }, columns(r), (kv) => got.push(kv));
        const want = reference(l, r);
        expect(same(got, want)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('builds each value once per key: the records of one key share it, as the element-wise join does', () => {
    const left = columns([
      [1, [10, 11]],
      [1, [12]],
      [2, [20]],
    ]) as PairColumns & { keys: Int32Array };
    const right = columns([
      [1, 0.5],
      [2, 0.25],
      [1, 0.75],
    ]);
    const got: Array<[number, [number[], number]]> = [];
    joinColumns(left, right, (kv) => got.push(kv as [number, [number[], number]]));
    expect(got).toEqual([
      [1, [[10, 11], 0.5]],
      [1, [[10, 11], 0.75]],
      [1, [[12], 0.5]],
      [1, [[12], 0.75]],
      [2, [[20], 0.25]],
    ]);
    expect(got[0]![1][0]).toBe(got[1]![1][0]);
    expect(got[0]![1][0]).not.toBe(got[2]![1][0]);
    // A later read builds new lists: changing one read does not change the next.
    got[0]![1][0].push(99);
    const again: Array<[number, [number[], number]]> = [];
    joinColumns(left, right, (kv) => again.push(kv as [number, [number[], number]]));
    expect(again[0]![1][0]).toEqual([10, 11]);
  });

  it('a cached block joined again and again (its index kept with it) pushes what a fresh index pushes, blocks and right sides interleaved (property)', () => {
    // Wide keys too, so that kept indexes of both layouts (direct and hashed) are reused.
    const leftKey = fc.oneof(intKey, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    fc.assert(
      fc.property(
        fc.array(side(leftKey), { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), side(rightKey)), { minLength: 1, maxLength: 6 }),
        (lefts, joins) => {
          const blocks = lefts.map((l) => columns(l) as PairColumns & { keys: Int32Array });
          for (const [which, r] of joins) {
            const i = which % lefts.length;
            const block = blocks[i]!;
            // The same columns, but not a cached block: its index is built for this join and given back after it.
            const plain: PairColumns & { keys: Int32Array } = { keys: block.keys, valueAt: (row) => block.valueAt(row) };
            const right = columns(r);
            for (const values of [false, true]) {
              const got: unknown[] = [];
              const fresh: unknown[] = [];
              const push = (out: unknown[]) => (x: unknown) => out.push(x);
              joinColumns(block, right, push(got), values ? push(got) : undefined);
              joinColumns(plain, right, push(fresh), values ? push(fresh) : undefined);
              expect(same(got, fresh)).toBe(true);
              const want = reference(lefts[i]!, r);
              expect(same(got, values ? want.map((kv) => (kv as [number, unknown])[1]) : want)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps a cached block's index only within the thread's budget; past it a join builds its own, with the same records", () => {
    const DEFAULT = 16 * 2 ** 20;
    const l: P[] = Array.from({ length: 5000 }, (_, i) => [(i * 7) % 3000, [i, i + 1]]);
    const r: P[] = Array.from({ length: 4000 }, (_, i) => [(i * 5) % 3500, i / 2]);
    const want = reference(l, r);
    const join = (left: PairColumns & { keys: Int32Array }): unknown[] => {
      const got: unknown[] = [];
      joinColumns(left, columns(r), (kv) => got.push(kv));
      return got;
    };
    try {
      const before = setKeptIndexBytes(0);
      const unkept = columns(l) as PairColumns & { keys: Int32Array };
      expect(same(join(unkept), want)).toBe(true);
      expect(same(join(unkept), want)).toBe(true);
      expect(setKeptIndexBytes(DEFAULT)).toBe(before); // nothing kept past the budget
      const kept = columns(l) as PairColumns & { keys: Int32Array };
      expect(same(join(kept), want)).toBe(true);
      const after = setKeptIndexBytes(DEFAULT);
      expect(after).toBeGreaterThanOrEqual(before + 5000 * 4); // its index (at least `next`, a row each) is kept
      expect(same(join(kept), want)).toBe(true);
      expect(setKeptIndexBytes(DEFAULT)).toBe(after); // and used again, not built a second time
    } finally {
      setKeptIndexBytes(DEFAULT);
    }
  });

  it('IntColumnIndex finds the first row of every key and chains the rest in row order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 300 }),
        fc.array(intKey, { maxLength: 100 }),
        (wide, narrow) => {
          for (const keys of [Int32Array.from(wide), Int32Array.from(narrow)]) {
            const index = new IntColumnIndex(keys);
            for (let r = 0; r < keys.length; r++) {
              const first = keys.indexOf(keys[r]!);
              expect(index.find(keys[r]!)).toBe(first);
              const rows: number[] = [];
              for (let x = first; x >= 0; x = index.next[x]!) rows.push(x);
              expect(rows).toEqual([...keys.keys()].filter((i) => keys[i] === keys[r]));
            }
            for (const absent of [-7, 26, 2 ** 30]) if (!keys.includes(absent)) expect(index.find(absent)).toBe(-1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('IntColumnIndex addresses dense keys directly and answers exactly as the hashed index (property)', () => {
    const INT32_MIN = -(2 ** 31);
    const INT32_MAX = 2 ** 31 - 1;
    const base = fc.oneof(
      fc.integer({ min: -500, max: 500 }),
      fc.constant(INT32_MIN),
      fc.constant(INT32_MAX - 600),
      fc.integer({ min: INT32_MIN, max: INT32_MAX - 600 }),
    );
    // Dense blocks (duplicates included), strided ones (a hash partition's ids), sparse keys, and mixes of them.
    const block = fc.oneof(
      fc.tuple(base, fc.array(fc.nat(600), { maxLength: 200 })).map(([b, xs]) => xs.map((x) => b + x)),
      fc.tuple(base, fc.integer({ min: 2, max: 6 }), fc.array(fc.nat(100), { maxLength: 200 })).map(([b, k, xs]) => xs.map((x) => b + k * x)),
      fc.array(fc.integer({ min: INT32_MIN, max: INT32_MAX }), { maxLength: 30 }),
    );
    let direct = 0;
    fc.assert(
      fc.property(
        fc.array(block, { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: INT32_MIN, max: INT32_MAX }), { maxLength: 20 }),
        (blocks, probes) => {
          const keys = Int32Array.from(blocks.flat());
          const dense = new IntColumnIndex(keys);
          const hashed = new IntColumnIndex(keys, { dense: false });
          expect(hashed.dense).toBe(false);
          if (dense.dense) direct++;
          expect(Array.from(dense.next)).toEqual(Array.from(hashed.next));
          const ends = keys.length === 0 ? [] : [Math.min(...keys) - 1, Math.max(...keys) + 1].filter((k) => k >= INT32_MIN && k <= INT32_MAX);
          for (const k of [...keys, ...probes, ...ends, 0, -1, INT32_MIN, INT32_MAX]) expect(dense.find(k)).toBe(hashed.find(k));
        },
      ),
      { numRuns: 300 },
    );
    expect(direct).toBeGreaterThan(50);
    expect(new IntColumnIndex(Int32Array.from([5, 1e9, -3])).dense).toBe(false);
    expect(new IntColumnIndex(Int32Array.from({ length: 5000 }, (_, i) => 2 * i + 7)).dense).toBe(true);
  });
});

describe('joinColumns with its arrays from the thread pool (util/scratch-arrays.ts)', () => {
  it("a join run inside another join's sink (both holding pooled arrays) pushes what each pushes alone (property)", () => {
    // Every array pooled: the inner join takes the arrays the outer one would share or give back too early.
    setMinPooledBytes(1);
    try {
      fc.assert(
        fc.property(side(intKey), side(rightKey), side(intKey), side(rightKey), (l, r, l2, r2) => {
          const inner = (): unknown[] => {
            const out: unknown[] = [];
            joinColumns(columns(l2) as PairColumns & { keys: Int32Array }, columns(r2), (kv) => out.push(kv));
            return out;
          };
          const alone = inner();
          const outer: unknown[] = [];
          joinColumns(columns(l) as PairColumns & { keys: Int32Array }, columns(r), (kv) => {
            outer.push(kv);
            expect(same(inner(), alone)).toBe(true);
          });
          expect(same(outer, reference(l, r))).toBe(true);
        }),
        { numRuns: 150 },
      );
    } finally {
      setMinPooledBytes(MIN_POOLED_BYTES);
    }
  });
});

describe('joinColumnsWithPairs', () => {
  // Right keys of every kind the engine supports: only an int32 number (or -0) equals an int32 left key; strings of
  // digits, arrays, objects, booleans, null, bigints, NaN, fractions and numbers beyond int32 match nothing.
  const anyKey = fc.oneof(
    rightKey,
    fc.constantFrom<unknown>('1', '', 'a long string key', [1], [1, 2], { x: 1 }, true, false, null, undefined, 1n, 3n),
  );
  const anyValue = fc.oneof(
    numberValue,
    listValue,
    fc.string({ maxLength: 3 }),
    fc.constant(null),
    fc.constant(undefined),
    fc.object({ maxDepth: 1 }),
  );

  it('pushes what the inner join of the elements pushes, right keys and values of any kind, with and without values()', () => {
    const eq = (a: number, b: unknown): boolean => typeof b === 'number' && a === b;
    fc.assert(
      fc.property(side(intKey), fc.array(fc.tuple(anyKey, anyValue), { maxLength: 60 }), (l, r) => {
        const left = columns(l) as PairColumns & { keys: Int32Array };
        expect(left.keys).toBeInstanceOf(Int32Array);
        const order: number[] = [];
        for (const [k] of l) if (!order.includes(k)) order.push(k);
        const want: Array<[number, [unknown, unknown]]> = [];
        for (const k of order) {
          const vs = l.filter(([x]) => x === k).map(([, v]) => v);
          const ws = r.filter(([x]) => eq(k, x)).map(([, w]) => w);
          for (const v of vs) for (const w of ws) want.push([k, [v, w]]);
        }
        const got: Array<[number, [unknown, unknown]]> = [];
        joinColumnsWithPairs(
          left,
          (each) => r.forEach((kv) => each(kv)),
          (kv) => got.push(kv),
        );
        expect(same(got, want)).toBe(true);
        // Right values are pushed as they are (the very objects, undefined included), left keys as the left's numbers.
        got.forEach((kv, i) => expect(kv[1][1]).toBe(want[i]![1][1]));
        for (const kv of got) expect(Object.is(kv[0], -0)).toBe(false);
        const values: unknown[] = [];
        joinColumnsWithPairs(
          left,
          (each) => r.forEach((kv) => each(kv)),
          () => {
            throw new Error('pushed a pair with its key to the sink while values() was asked for');
          },
          (vw) => values.push(vw),
        );
        expect(
          same(
            values,
            want.map((kv) => kv[1]),
          ),
        ).toBe(true);
        // And the same as joinColumns when the right side packs as columns too.
        const numeric = r.filter((kv): kv is [number, number] => typeof kv[0] === 'number' && typeof kv[1] === 'number');
        const block = numeric.length > 0 ? packPartition(numeric) : undefined;
        const rightColumns = block === undefined ? undefined : pairColumns(block);
        if (rightColumns !== undefined) {
          const byColumns: unknown[] = [];
          joinColumns(left, rightColumns, (kv) => byColumns.push(kv));
          const byPairs: unknown[] = [];
          joinColumnsWithPairs(
            left,
            (each) => numeric.forEach((kv) => each(kv)),
            (kv) => byPairs.push(kv),
          );
          expect(same(byPairs, byColumns)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('builds each left value once per key, when its records are pushed, and none of a key without right values', () => {
    const packed = columns([
      [1, [10, 11]],
      [1, [12]],
      [2, [20]],
      [3, [30]],
    ]) as PairColumns & { keys: Int32Array };
    const got: Array<[number, [number[], unknown]]> = [];
    // Each row built, with how many records had been pushed then.
    const builtAt: Array<[number, number]> = [];
    const left = {
      keys: packed.keys,
      valueAt: (i: number): unknown => {
        builtAt.push([i, got.length]);
        return packed.valueAt(i);
      },
    };
    const shared = { w: 1 };
    joinColumnsWithPairs(
      left,
      (each) => {
        each([1, 'a']);
        each([2, shared]);
        each([1, 'b']);
        each(['2', 'no']);
        each([4, 'none']);
      },
      (kv) => got.push(kv as [number, [number[], unknown]]),
    );
    expect(got).toEqual([
      [1, [[10, 11], 'a']],
      [1, [[10, 11], 'b']],
      [1, [[12], 'a']],
      [1, [[12], 'b']],
      [2, [[20], shared]],
    ]);
    expect(builtAt).toEqual([
      [0, 0],
      [1, 0],
      [2, 4],
    ]);
    expect(got[0]![1][0]).toBe(got[1]![1][0]);
    expect(got[0]![1][0]).not.toBe(got[2]![1][0]);
    expect(got[4]![1][1]).toBe(shared);
  });

  it('gives its pooled arrays back when the right side throws, and joins correctly afterwards', () => {
    const left = columns(Array.from({ length: 40_000 }, (_, i): P => [i, i / 2])) as PairColumns & { keys: Int32Array };
    const right = (each: (kv: readonly [unknown, unknown]) => void): void => {
      each([7, 'y']);
      each([39_999, 'z']);
    };
    const got: unknown[] = [];
    // A first join leaves its arrays (index, counts) in the pool; the failing one takes them again.
    joinColumnsWithPairs(left, right, () => undefined);
    const pooled = pooledBytes();
    expect(pooled).toBeGreaterThanOrEqual(3 * 40_000 * 4);
    expect(() =>
      joinColumnsWithPairs(
        left,
        (each) => {
          each([1, 'x']);
          throw new Error('not a pair');
        },
        () => undefined,
      ),
    ).toThrow('not a pair');
    expect(pooledBytes()).toBe(pooled);
    joinColumnsWithPairs(left, right, (kv) => got.push(kv));
    expect(got).toEqual([
      [7, [3.5, 'y']],
      [39_999, [19_999.5, 'z']],
    ]);
  });
});
