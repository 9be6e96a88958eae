/**
 * Joins and cogroup: inner and outer joins with `null` for the missing side, cogroup's `[k, [vs, ws]]` shape,
 * subtractByKey, partition counts, and the narrow (co-partitioned) join.
 */
import { describe, expect, it } from 'vitest';
import { HashPartitioner, type RDD } from 'kindling';
import { MODES, sorted, useContext } from './helpers.js';

/** Sorts the inner arrays of cogroup output so that results compare regardless of fetch order. */
function normCogroup<K, V, W>(xs: Array<[K, [V[], W[]]]>): Array<[K, [V[], W[]]]> {
  return sorted(xs.map(([k, [vs, ws]]) => [k, [sorted(vs), sorted(ws)]] as [K, [V[], W[]]]));
}

describe.each(MODES)('joins (%s)', (master) => {
  const ctx = useContext(master);
  const left = (): RDD<[string, number]> =>
    ctx().parallelize<[string, number]>(
      [
        ['a', 1],
        ['b', 2],
        ['a', 3],
        ['d', 7],
      ],
      2,
    );
  const right = (): RDD<[string, string]> =>
    ctx().parallelize<[string, string]>(
      [
        ['a', 'x'],
        ['c', 'y'],
        ['a', 'z'],
        ['d', 'w'],
      ],
      3,
    );

  it('join: every matching pair, [k, [v, w]]', async () => {
    expect(sorted(await left().join(right()).collect())).toEqual(
      sorted([
        ['a', [1, 'x']],
        ['a', [1, 'z']],
        ['a', [3, 'x']],
        ['a', [3, 'z']],
        ['d', [7, 'w']],
      ]),
    );
  });

  it('leftOuterJoin: missing right side is null', async () => {
    expect(sorted(await left().leftOuterJoin(right()).collect())).toEqual(
      sorted([
        ['a', [1, 'x']],
        ['a', [1, 'z']],
        ['a', [3, 'x']],
        ['a', [3, 'z']],
        ['b', [2, null]],
        ['d', [7, 'w']],
      ]),
    );
  });

  it('rightOuterJoin: missing left side is null', async () => {
    expect(sorted(await left().rightOuterJoin(right()).collect())).toEqual(
      sorted([
        ['a', [1, 'x']],
        ['a', [1, 'z']],
        ['a', [3, 'x']],
        ['a', [3, 'z']],
        ['c', [null, 'y']],
        ['d', [7, 'w']],
      ]),
    );
  });

  it('fullOuterJoin: either missing side is null', async () => {
    expect(sorted(await left().fullOuterJoin(right()).collect())).toEqual(
      sorted([
        ['a', [1, 'x']],
        ['a', [1, 'z']],
        ['a', [3, 'x']],
        ['a', [3, 'z']],
        ['b', [2, null]],
        ['c', [null, 'y']],
        ['d', [7, 'w']],
      ]),
    );
  });

  it('cogroup: [k, [vs, ws]] for every key of either side', async () => {
    const out = await left().cogroup(right()).collect();
    expect(normCogroup(out)).toEqual(
      sorted([
        [
          'a',
          [
            [1, 3],
            ['x', 'z'],
          ],
        ],
        ['b', [[2], []]],
        ['c', [[], ['y']]],
        ['d', [[7], ['w']]],
      ]),
    );
  });

  it("groupWith: Spark's cogroup of more than two RDDs, [k, [vs, ws1, ws2]] in argument order, one shuffle per input", async () => {
    const sc = ctx();
    const third = sc.parallelize<[string, boolean]>(
      [
        ['e', true],
        ['a', false],
      ],
      1,
    );
    const g = left().groupWith(right(), third);
    expect(g.getNumPartitions()).toBe(3);
    const out = (await g.collect()).map(([k, gs]) => [k, gs.map((xs) => sorted<unknown>(xs))]);
    expect(sorted(out)).toEqual(
      sorted([
        ['a', [[1, 3], ['x', 'z'], [false]]],
        ['b', [[2], [], []]],
        ['c', [[], ['y'], []]],
        ['d', [[7], ['w'], []]],
        ['e', [[], [], [true]]],
      ]),
    );
    // With one other RDD it is cogroup.
    expect(normCogroup(await left().groupWith(right()).collect())).toEqual(normCogroup(await left().cogroup(right()).collect()));
    // An input already partitioned as the result is read without a shuffle: only the other two shuffle.
    const hp = new HashPartitioner(4);
    const byKey = left().partitionBy(hp).groupWith(right(), third);
    expect(byKey.partitioner?.equals(hp)).toBe(true);
    expect(byKey.toDebugString().match(/\+-/g)?.length).toBe(3);
    expect(sorted(await byKey.collect()).length).toBe(5);
    expect(() => (left() as any).groupWith()).toThrow(/groupWith: pass at least one other RDD/);
    expect(() => (left() as any).groupWith(right(), 4)).toThrow(/groupWith: argument 2 must be an RDD of pairs, got number/);
  });

  it('joins with an empty side', async () => {
    const sc = ctx();
    const empty = sc.parallelize<[string, string]>([], 2);
    expect(await left().join(empty).collect()).toEqual([]);
    expect(sorted(await left().leftOuterJoin(empty).collect())).toEqual(
      sorted([
        ['a', [1, null]],
        ['b', [2, null]],
        ['a', [3, null]],
        ['d', [7, null]],
      ]),
    );
    expect(await empty.rightOuterJoin(sc.emptyRDD<[string, number]>()).collect()).toEqual([]);
    expect(sorted(await sc.emptyRDD<[string, number]>().fullOuterJoin(right()).collect())).toEqual(
      sorted([
        ['a', [null, 'x']],
        ['a', [null, 'z']],
        ['c', [null, 'y']],
        ['d', [null, 'w']],
      ]),
    );
  });

  it('self-join', async () => {
    const r = ctx().parallelize<[number, string]>(
      [
        [1, 'p'],
        [2, 'q'],
        [1, 'r'],
      ],
      2,
    );
    expect(sorted(await r.join(r).collect())).toEqual(
      sorted([
        [1, ['p', 'p']],
        [1, ['p', 'r']],
        [1, ['r', 'p']],
        [1, ['r', 'r']],
        [2, ['q', 'q']],
      ]),
    );
  });

  it('joins on structural keys', async () => {
    const sc = ctx();
    const a = sc.parallelize<[unknown, number]>(
      [
        [[1, 'x'], 1],
        [{ p: 1, q: 2 }, 2],
      ],
      2,
    );
    const b = sc.parallelize<[unknown, string]>(
      [
        [{ q: 2, p: 1 }, 'obj'],
        [[1, 'x'], 'arr'],
        [[1, 'y'], 'other'],
      ],
      3,
    );
    expect(sorted(await a.join(b).collect())).toEqual(
      sorted([
        [
          [1, 'x'],
          [1, 'arr'],
        ],
        [{ p: 1, q: 2 }, [2, 'obj']],
      ]),
    );
    expect(await a.cogroup(b).count()).toBe(3);
  });

  it('default partition count is the largest parent count; an explicit count wins', () => {
    expect(left().join(right()).getNumPartitions()).toBe(3);
    expect(right().join(left()).getNumPartitions()).toBe(3);
    expect(left().cogroup(right()).getNumPartitions()).toBe(3);
    expect(left().fullOuterJoin(right(), 5).getNumPartitions()).toBe(5);
    expect(left().leftOuterJoin(right(), new HashPartitioner(4)).getNumPartitions()).toBe(4);
    expect(() => left().join(right(), 0)).toThrow(RangeError);
  });

  it('a join reuses an existing partitioner and shuffles only the other side', async () => {
    const hp = new HashPartitioner(4);
    const a = left().partitionBy(hp);
    const j = a.join(right());
    expect(j.getNumPartitions()).toBe(4);
    expect(j.partitioner?.equals(hp)).toBe(true);
    // partitionBy's shuffle plus one for the right side only
    expect(j.toDebugString().match(/\+-/g)?.length).toBe(2);
    expect(sorted(await j.collect())).toEqual(sorted(await left().join(right()).collect()));
  });

  it('co-partitioned inputs join without a shuffle', async () => {
    const hp = new HashPartitioner(3);
    const a = left().partitionBy(hp).cache();
    const b = right().partitionBy(new HashPartitioner(3)).cache();
    const j = a.join(b);
    expect(j.getNumPartitions()).toBe(3);
    // only the two partitionBy shuffles
    expect(j.toDebugString().match(/\+-/g)?.length).toBe(2);
    expect(sorted(await j.collect())).toEqual(
      sorted([
        ['a', [1, 'x']],
        ['a', [1, 'z']],
        ['a', [3, 'x']],
        ['a', [3, 'z']],
        ['d', [7, 'w']],
      ]),
    );
    expect(normCogroup(await a.cogroup(b).collect())).toEqual(normCogroup(await left().cogroup(right()).collect()));
    // mapValues keeps the partitioner, so this join is narrow too
    const j2 = a.mapValues((v) => v * 2).fullOuterJoin(b);
    expect(j2.toDebugString().match(/\+-/g)?.length).toBe(2);
    expect(sorted(await j2.collect())).toEqual(
      sorted([
        ['a', [2, 'x']],
        ['a', [2, 'z']],
        ['a', [6, 'x']],
        ['a', [6, 'z']],
        ['b', [4, null]],
        ['c', [null, 'y']],
        ['d', [14, 'w']],
      ]),
    );
  });

  it('join results keep the partitioner: a later reduceByKey does not shuffle', async () => {
    const j = left().join(right());
    const r = j.mapValues(([v]) => v).reduceByKey((x, y) => x + y);
    expect(r.toDebugString().match(/\+-/g)?.length).toBe(2);
    expect(sorted(await r.collect())).toEqual([
      ['a', 8],
      ['d', 7],
    ]);
  });

  describe('subtractByKey', () => {
    it('keeps pairs whose key is absent on the right, duplicates included', async () => {
      const sc = ctx();
      const a = sc.parallelize<[string, number]>(
        [
          ['a', 1],
          ['b', 2],
          ['b', 3],
          ['c', 4],
        ],
        3,
      );
      const b = sc.parallelize<[string, boolean]>(
        [
          ['a', true],
          ['z', false],
        ],
        5,
      );
      const s = a.subtractByKey(b);
      expect(sorted(await s.collect())).toEqual([
        ['b', 2],
        ['b', 3],
        ['c', 4],
      ]);
    });

    it('follows the left side partition count', () => {
      const sc = ctx();
      const a = sc.parallelize<[string, number]>([['a', 1]], 3);
      const b = sc.parallelize<[string, number]>([['a', 1]], 5);
      expect(a.subtractByKey(b).getNumPartitions()).toBe(3);
      expect(b.subtractByKey(a).getNumPartitions()).toBe(5);
      expect(a.subtractByKey(b, 2).getNumPartitions()).toBe(2);
    });

    it("takes a partitioner, a user's { numPartitions, getPartition } too (Scala's subtractByKey(other, p)), placing by it", async () => {
      // A user partitioner failed at the call with a TypeError (reading 'context' of undefined) until session 45.
      const sc = ctx();
      const a = sc.parallelize<[number, string]>(
        [
          [1, 'a'],
          [2, 'b'],
          [4, 'd'],
          [5, 'e'],
        ],
        2,
      );
      const b = sc.parallelize<[number, string]>([[2, 'x']], 2);
      const byThree = { numPartitions: 3, getPartition: (k: number) => k % 3 };
      const s = a.subtractByKey(b, byThree);
      expect(s.getNumPartitions()).toBe(3);
      expect(await s.glom().collect()).toEqual([
        [],
        [
          [1, 'a'],
          [4, 'd'],
        ],
        [[5, 'e']],
      ]);
      expect(await a.subtractByKey(b, new HashPartitioner(4)).count()).toBe(3);
    });

    it('with structural keys', async () => {
      const sc = ctx();
      const a = sc.parallelize<[unknown, number]>(
        [
          [{ x: 1, y: 2 }, 1],
          [[1], 2],
        ],
        2,
      );
      const b = sc.parallelize<[unknown, number]>([[{ y: 2, x: 1 }, 0]], 1);
      expect(await a.subtractByKey(b).collect()).toEqual([[[1], 2]]);
    });
  });
});
