/**
 * joinColumns (shuffle/column-join.ts) joins two partitions cached as pair columns by row. It must push exactly
 * what the inner join of their elements pushes (CoGroupedRDD.pushInnerJoin: keys in the left side's first-seen
 * order, left values outer, right values inner, each value built once per key), for every number a right key can
 * be (int32, -0, NaN, fractions, beyond int32), duplicate keys on either side, and values that are numbers or
 * lists of numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntColumnIndex, joinColumns } from '../../src/shuffle/column-join.js';
import { pairColumns, packPartition, type PairColumns } from '../../src/storage/columnar-block.js';

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
});
