/**
 * Operators a Spark user reaches for, each against a naive in-memory model of Spark's documented behaviour on random
 * data (empty partitions, one hot key, keys of mixed kinds). The model sees the input's partitions (`glom`), since
 * Spark's meaning depends on them: zero values apply once per key per map partition, createCombiner once per key per
 * partition, fold's zero once per partition and once on the driver, zipWithUniqueId's ids k, n+k, 2n+k, cartesian's
 * partition (i, j) holding partition i of the left times partition j of the right.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/core/keys.js';
import { MODES, canonical as canonicalJson, numSorted, useContext } from './helpers.js';

const RUNS = { numRuns: 15 };

/** The helpers' canonical JSON, with the numbers JSON writes as null (±Infinity, NaN) kept apart. */
function canonical(x: unknown): string {
  return canonicalJson(JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `#${v}` : v)) ?? 'null'));
}

/** Sorts a copy by `canonical` (a multiset comparison). */
function sorted<T>(xs: readonly T[]): string[] {
  return xs.map(canonical).sort();
}

/** Keys of every orderable kind, with a hot key (skew) and equal keys written two ways (-0 and 0). */
const key: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constant('hot'), weight: 4 },
  { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 3 },
  { arbitrary: fc.constantFrom(-0, 0.5, -Infinity, Infinity), weight: 1 },
  { arbitrary: fc.constantFrom('a', 'b', '', '\u{1F600}', '\uFFFF'), weight: 2 },
  { arbitrary: fc.constantFrom(true, false, null), weight: 1 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('x', 'y')), weight: 1 },
);
const value = fc.integer({ min: -50, max: 50 });
const pairs = fc.array(fc.tuple(key, value), { maxLength: 40 });
const slices = fc.integer({ min: 1, max: 8 });
const parts = fc.integer({ min: 1, max: 6 });

/** The partitions of the input as the engine slices it (the model of per-partition semantics). */
type Slices<T> = T[][];

/** Per key (canonical id): the key, and the number of input partitions holding it. */
function partitionsPerKey(glommed: Slices<readonly [unknown, unknown]>): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of glommed) for (const id of new Set(p.map(([k]) => canonical(k)))) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

function groupsRef<V>(xs: ReadonlyArray<readonly [unknown, V]>): Map<string, V[]> {
  const m = new Map<string, V[]>();
  for (const [k, v] of xs) {
    const id = canonical(k);
    m.set(id, [...(m.get(id) ?? []), v]);
  }
  return m;
}

describe.each(MODES)('Spark operators against a naive model (%s)', (master) => {
  const ctx = useContext(master);

  it('sortByKey(ascending, n): keys in order across all partitions, exactly n partitions, every pair kept', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, parts, fc.boolean(), async (xs, n, out, ascending) => {
        const sortedRdd = ctx().parallelize(xs, n).sortByKey(ascending, out);
        const glommed = await sortedRdd.glom().collect();
        expect(glommed).toHaveLength(out);
        const flat = glommed.flat();
        expect(sorted(flat)).toEqual(sorted(xs));
        const keys = flat.map(([k]) => k);
        const want = [...keys].sort((a, b) => (ascending ? compareKeys(a, b) : compareKeys(b, a)));
        expect(keys.map(canonical)).toEqual(want.map(canonical));
        // A range partitioner: one key never straddles two partitions.
        const home = new Map<string, number>();
        glommed.forEach((p, i) => {
          for (const [k] of p) {
            expect(home.get(canonical(k)) ?? i).toBe(i);
            home.set(canonical(k), i);
          }
        });
      }),
      RUNS,
    );
  });

  it('sortByKey of all-equal keys puts them in one partition, the others empty', async () => {
    const glommed = await ctx()
      .parallelize(
        Array.from({ length: 50 }, (_, i) => [7, i] as [number, number]),
        5,
      )
      .sortByKey(false, 4)
      .glom()
      .collect();
    expect(glommed.map((p) => p.length).sort((a, b) => b - a)).toEqual([50, 0, 0, 0]);
  });

  it('repartitionAndSortWithinPartitions(n): the hash placement of partitionBy(n), each partition sorted by key', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, parts, fc.boolean(), async (xs, n, out, ascending) => {
        const rdd = ctx().parallelize(xs, n);
        const got = await rdd.repartitionAndSortWithinPartitions(out, ascending).glom().collect();
        const placed = await rdd.partitionBy(out).glom().collect();
        expect(got.map((p) => sorted(p))).toEqual(placed.map((p) => sorted(p)));
        for (const p of got) {
          const keys = p.map(([k]) => k);
          const want = [...keys].sort((a, b) => (ascending ? compareKeys(a, b) : compareKeys(b, a)));
          expect(keys.map(canonical)).toEqual(want.map(canonical));
        }
      }),
      RUNS,
    );
  });

  it('aggregateByKey and foldByKey: a fresh copy of a mutable zero per key per input partition', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, fc.option(parts, { nil: undefined }), async (xs, n, out) => {
        const rdd = ctx().parallelize(xs, n);
        const perKey = partitionsPerKey(await rdd.glom().collect());
        const want = new Map([...groupsRef(xs)].map(([id, vs]) => [id, numSorted([...vs, ...Array<number>(perKey.get(id)!).fill(1000)])]));
        const agg = await rdd
          .aggregateByKey(
            [1000],
            (acc: number[], v: number) => {
              acc.push(v);
              return acc;
            },
            (a: number[], b: number[]) => {
              a.push(...b);
              return a;
            },
            out,
          )
          .collect();
        expect(new Map(agg.map(([k, vs]) => [canonical(k), numSorted(vs)]))).toEqual(want);
        const folded = await rdd
          .mapValues((v) => [v])
          .foldByKey(
            [1000],
            (a, b) => {
              a.push(...b);
              return a;
            },
            out,
          )
          .collect();
        expect(new Map(folded.map(([k, vs]) => [canonical(k), numSorted(vs)]))).toEqual(want);
      }),
      RUNS,
    );
  });

  it('combineByKey: createCombiner once per key per input partition, mergeCombiners joining them', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, fc.option(parts, { nil: undefined }), async (xs, n, out) => {
        const rdd = ctx().parallelize(xs, n);
        const perKey = partitionsPerKey(await rdd.glom().collect());
        const got = await rdd
          .combineByKey(
            (v: number) => ({ created: 1, values: [v] }),
            (c: { created: number; values: number[] }, v: number) => {
              c.values.push(v);
              return c;
            },
            (a: { created: number; values: number[] }, b: { created: number; values: number[] }) => ({
              created: a.created + b.created,
              values: [...a.values, ...b.values],
            }),
            out,
          )
          .collect();
        const groups = groupsRef(xs);
        expect(got).toHaveLength(groups.size);
        for (const [k, c] of got) {
          expect(c.created).toBe(perKey.get(canonical(k)));
          expect(numSorted(c.values)).toEqual(numSorted(groups.get(canonical(k))!));
        }
      }),
      RUNS,
    );
  });

  it('groupWith of 2 to 4 RDDs (some empty): every key of any input, its values from each', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(pairs, slices), { minLength: 2, maxLength: 4 }), async (inputs) => {
        const rdds = inputs.map(([xs, n]) => ctx().parallelize(xs, n));
        const [first, ...others] = rdds;
        const got = await first!.groupWith(...others).collect();
        expect(await first!.groupWith(...others).getNumPartitions()).toBe(Math.max(...inputs.map(([, n]) => n)));
        const refs = inputs.map(([xs]) => groupsRef(xs));
        const ids = new Set(refs.flatMap((r) => [...r.keys()]));
        expect(got).toHaveLength(ids.size);
        for (const [k, groups] of got) {
          expect(groups.map((g) => numSorted(g as number[]))).toEqual(refs.map((r) => numSorted(r.get(canonical(k)) ?? [])));
        }
      }),
      RUNS,
    );
  });

  it('subtractByKey keeps the left pairs whose key the right lacks, duplicates included; intersection dedups', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, pairs, slices, slices, async (xs, ys, n, m) => {
        const a = ctx().parallelize(xs, n);
        const b = ctx().parallelize(ys, m);
        const right = new Set(ys.map(([k]) => canonical(k)));
        expect(sorted(await a.subtractByKey(b).collect())).toEqual(sorted(xs.filter(([k]) => !right.has(canonical(k)))));
        expect(await a.subtractByKey(b).getNumPartitions()).toBe(n);
        const keysA = xs.map(([k]) => k);
        const inB = new Set(ys.map(([k]) => canonical(k)));
        const both = [...new Map(keysA.filter((k) => inB.has(canonical(k))).map((k) => [canonical(k), k])).values()];
        expect(sorted(await a.keys().intersection(b.keys()).collect())).toEqual(sorted(both));
      }),
      RUNS,
    );
  });

  it('cartesian: partition (i, j) is left partition i times right partition j, in that order; an empty side gives nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { maxLength: 8 }),
        fc.array(fc.string({ maxLength: 2 }), { maxLength: 8 }),
        slices,
        slices,
        async (xs, ys, n, m) => {
          const a = ctx().parallelize(xs, n);
          const b = ctx().parallelize(ys, m);
          const [pa, pb] = [await a.glom().collect(), await b.glom().collect()];
          const want = pa.flatMap((l) => pb.map((r) => l.flatMap((x) => r.map((y) => [x, y]))));
          const got = a.cartesian(b);
          expect(got.getNumPartitions()).toBe(n * m);
          expect(await got.glom().collect()).toEqual(want);
        },
      ),
      RUNS,
    );
  });

  it('zipWithIndex numbers in partition order; zipWithUniqueId gives partition k the ids k, n+k, 2n+k, ...', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 40 }), slices, async (xs, n) => {
        const rdd = ctx()
          .parallelize(xs, n)
          .filter((x) => x % 3 !== 0);
        const glommed = await rdd.glom().collect();
        expect(await rdd.zipWithIndex().collect()).toEqual(glommed.flat().map((x, i) => [x, i]));
        expect(await rdd.zipWithUniqueId().glom().collect()).toEqual(glommed.map((p, k) => p.map((x, i) => [x, i * n + k])));
      }),
      RUNS,
    );
  });

  it('top and takeOrdered with a key function: the n largest / smallest keys, elements of the input', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, fc.integer({ min: 0, max: 12 }), async (xs, n, num) => {
        const rdd = ctx().parallelize(xs, n);
        const byKey = [...xs].sort((a, b) => compareKeys(a[0], b[0]));
        const low = await rdd.takeOrdered(num, ([k]) => k);
        const high = await rdd.top(num, ([k]) => k);
        expect(low.map(([k]) => canonical(k))).toEqual(byKey.slice(0, num).map(([k]) => canonical(k)));
        expect(high.map(([k]) => canonical(k))).toEqual(
          byKey
            .reverse()
            .slice(0, num)
            .map(([k]) => canonical(k)),
        );
        const input = new Set(xs.map(canonical));
        for (const x of [...low, ...high]) expect(input.has(canonical(x))).toBe(true);
      }),
      RUNS,
    );
  });

  it('takeSample: min(num, count) distinct positions without replacement, num with it, the same for a seed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        slices,
        fc.integer({ min: 0, max: 40 }),
        fc.boolean(),
        fc.nat(),
        async (count, n, num, withReplacement, seed) => {
          const rdd = ctx().parallelize(
            Array.from({ length: count }, (_, i) => i),
            n,
          );
          const got = await rdd.takeSample(withReplacement, num, seed);
          expect(got).toHaveLength(count === 0 ? 0 : withReplacement ? num : Math.min(num, count));
          if (!withReplacement) expect(new Set(got).size).toBe(got.length);
          for (const x of got) expect(x >= 0 && x < count).toBe(true);
          expect(await rdd.takeSample(withReplacement, num, seed)).toEqual(got);
        },
      ),
      RUNS,
    );
  });

  it('randomSplit: disjoint splits covering the input, weights normalised (k times the weights split alike)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }).filter((w) => w.some((x) => x > 0)),
        fc.integer({ min: 1, max: 7 }),
        slices,
        fc.nat(),
        async (weights, k, n, seed) => {
          const rdd = ctx().range(60, undefined, 1, n);
          const splits = await Promise.all(rdd.randomSplit(weights, seed).map((r) => r.collect()));
          expect(numSorted(splits.flat())).toEqual(Array.from({ length: 60 }, (_, i) => i));
          splits.forEach((s, i) => weights[i] === 0 && expect(s).toEqual([]));
          const scaled = await Promise.all(
            rdd
              .randomSplit(
                weights.map((w) => w * k),
                seed,
              )
              .map((r) => r.collect()),
          );
          expect(scaled).toEqual(splits);
        },
      ),
      RUNS,
    );
  });

  it('treeAggregate and treeReduce at depths 1 to 4 equal aggregate and reduce', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 4 }),
        async (xs, n, depth) => {
          const rdd = ctx().parallelize(xs, n);
          const sum = xs.reduce((a, b) => a + b, 0);
          expect(
            await rdd.treeAggregate(
              [0, 0],
              (acc: number[], x: number) => [acc[0]! + x, acc[1]! + 1],
              (a, b) => [a[0]! + b[0]!, a[1]! + b[1]!],
              depth,
            ),
          ).toEqual([sum, xs.length]);
          expect(await rdd.treeReduce((a, b) => Math.max(a, b), depth)).toBe(Math.max(...xs));
        },
      ),
      RUNS,
    );
  });

  it("fold and aggregate: the zero once per partition and once on the driver, partition results merged in partition order (PySpark's)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<string>('a', 'b', 'c', 'd'), { maxLength: 20 }), slices, async (xs, n) => {
        const rdd = ctx().parallelize(xs, n);
        const glommed = await rdd.glom().collect();
        const want = 'z' + glommed.map((p) => 'z' + p.join('')).join('');
        expect(await rdd.fold('z', (a, b) => a + b)).toBe(want);
        expect(
          await rdd.aggregate(
            'z',
            (a, b) => a + b,
            (a, b) => a + b,
          ),
        ).toBe(want);
      }),
      RUNS,
    );
  });

  it('distinct compares elements as keys: by structure and kind, a property holding undefined counts', async () => {
    const sc = ctx();
    const got = await sc
      .parallelize<unknown>(
        [{ a: { x: 1, y: 2 } }, { a: { y: 2, x: 1 } }, { a: 1, b: undefined }, { a: 1 }, 1n, 1, '1', new Date(5), new Date(5), null, undefined, null],
        3,
      )
      .distinct()
      .collect();
    expect(got).toHaveLength(9);
    const holey: unknown[] = new Array(3);
    holey[0] = 1;
    holey[2] = 3;
    expect(
      await sc
        .parallelize([holey, [1, undefined, 3]], 2)
        .distinct()
        .count(),
    ).toBe(1);
    await expect(
      sc
        .parallelize([new Map([[1, 2]])], 1)
        .distinct()
        .collect(),
    ).rejects.toThrow(/cannot be a key/);
  });

  it("lookup on a sorted RDD runs one task, on the key's range partition, in both directions", async () => {
    const sc = ctx();
    for (const ascending of [true, false]) {
      const rdd = sc
        .parallelize(
          Array.from({ length: 300 }, (_, i): [number, number] => [(i * 7) % 100, i]),
          4,
        )
        .sortByKey(ascending, 6)
        .cache();
      const glommed = await rdd.glom().collect();
      for (const k of [-1, 0, 42, 99, 100, 50.5]) {
        const tasks: number[] = [];
        const off = sc.events.on('taskStart', (e: { partition: number }): void => void tasks.push(e.partition));
        let got: number[];
        try {
          got = await rdd.lookup(k);
        } finally {
          off();
        }
        expect(numSorted(got)).toEqual(
          numSorted(
            glommed
              .flat()
              .filter(([key]) => key === k)
              .map(([, v]) => v),
          ),
        );
        expect(tasks).toHaveLength(1);
        if (got.length > 0) expect(glommed[tasks[0]!]!.some(([key]) => key === k)).toBe(true);
      }
    }
  });

  it('countByValue and lookup on a partitioned RDD equal the model', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, parts, key, async (xs, n, out, probe) => {
        const rdd = ctx().parallelize(xs, n);
        const counts = await rdd.keys().countByValue();
        const want = new Map<string, number>();
        for (const [k] of xs) want.set(canonical(k), (want.get(canonical(k)) ?? 0) + 1);
        expect(new Map([...counts].map(([k, c]) => [canonical(k), c]))).toEqual(want);
        const hit = xs.filter(([k]) => canonical(k) === canonical(probe)).map(([, v]) => v);
        expect(numSorted(await rdd.partitionBy(out).lookup(probe))).toEqual(numSorted(hit));
      }),
      RUNS,
    );
  });
});
