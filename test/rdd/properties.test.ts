/**
 * Property tests: RDD operations against plain-JavaScript references on random inputs, including skewed data
 * (one hot key), structural keys, and empty partitions (more partitions than elements).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MODES, canonical, numSorted, sorted, useContext } from './helpers.js';

const RUNS = { numRuns: 25 };

/** Keys: a hot key drawn often (skew), a few primitives, and structural keys (arrays, objects in any key order). */
const key: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constant('hot'), weight: 4 },
  { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 3 },
  { arbitrary: fc.constantFrom('a', 'b', 'c', ''), weight: 2 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('x', 'y')), weight: 1 },
  { arbitrary: fc.constantFrom({ p: 1, q: 2 }, { q: 2, p: 1 }, { p: 2 }), weight: 1 },
);
const value = fc.integer({ min: -50, max: 50 });
const pairs = fc.array(fc.tuple(key, value), { maxLength: 40 });
/** Up to 8 slices over at most 40 elements: empty partitions are common. */
const slices = fc.integer({ min: 1, max: 8 });
const maybeParts = fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined });

/** Groups pairs by structural key: canonical key -> [key, values in input order]. */
function groupRef<V>(xs: ReadonlyArray<readonly [unknown, V]>): Map<string, [unknown, V[]]> {
  const m = new Map<string, [unknown, V[]]>();
  for (const [k, v] of xs) {
    const id = canonical(k);
    const g = m.get(id);
    if (g === undefined) m.set(id, [k, [v]]);
    else g[1].push(v);
  }
  return m;
}

describe.each(MODES)('properties against plain JS (%s)', (master) => {
  const ctx = useContext(master);

  it('parallelize slices and zipWithIndex numbers like the reference', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 30 }), slices, async (xs, n) => {
        const r = ctx().parallelize(xs, n);
        const expected = Array.from({ length: n }, (_, i) => xs.slice(Math.floor((i * xs.length) / n), Math.floor(((i + 1) * xs.length) / n)));
        expect(await r.glom().collect()).toEqual(expected);
        expect(await r.zipWithIndex().collect()).toEqual(xs.map((x, i) => [x, i]));
      }),
      RUNS,
    );
  });

  it('count, sum, stats, take, first', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 40 }), slices, fc.integer({ min: 0, max: 45 }), async (xs, n, k) => {
        const r = ctx().parallelize(xs, n);
        expect(await r.count()).toBe(xs.length);
        expect(await r.sum()).toBe(xs.reduce((a, b) => a + b, 0));
        expect(await r.take(k)).toEqual(xs.slice(0, k));
        if (xs.length > 0) {
          expect(await r.first()).toBe(xs[0]);
          const s = await r.stats();
          expect(s.count).toBe(xs.length);
          expect(s.min).toBe(Math.min(...xs));
          expect(s.max).toBe(Math.max(...xs));
          const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
          expect(s.mean).toBeCloseTo(mean, 9);
          expect(s.variance).toBeCloseTo(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length, 7);
        } else {
          await expect(r.first()).rejects.toThrow(/empty/);
        }
      }),
      RUNS,
    );
  });

  it('takeOrdered and top equal a sorted prefix', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 40 }), slices, fc.integer({ min: 0, max: 10 }), async (xs, n, k) => {
        const r = ctx().parallelize(xs, n);
        expect(await r.takeOrdered(k)).toEqual(numSorted(xs).slice(0, k));
        expect(await r.top(k)).toEqual(numSorted(xs).reverse().slice(0, k));
        expect(await r.takeOrdered(k, (x) => -x)).toEqual(numSorted(xs).reverse().slice(0, k));
      }),
      RUNS,
    );
  });

  it('reduceByKey equals a Map-based reference', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, maybeParts, async (xs, n, p) => {
        const out = ctx()
          .parallelize(xs, n)
          .reduceByKey((a, b) => a + b, p);
        expect(out.getNumPartitions()).toBe(p ?? n);
        const ref = [...groupRef(xs).values()].map(([k, vs]) => [k, vs.reduce((a, b) => a + b, 0)]);
        expect(sorted(await out.collect())).toEqual(sorted(ref));
      }),
      RUNS,
    );
  });

  it('groupByKey and aggregateByKey with a mutable zero equal the reference groups', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, maybeParts, async (xs, n, p) => {
        const r = ctx().parallelize(xs, n);
        const ref = sorted([...groupRef(xs).values()].map(([k, vs]) => [k, numSorted(vs)]));
        const grouped = await r.groupByKey(p).collect();
        expect(sorted(grouped.map(([k, vs]) => [k, numSorted(vs)]))).toEqual(ref);
        const agg = await r
          .aggregateByKey(
            [] as number[],
            (acc, v) => {
              acc.push(v);
              return acc;
            },
            (a, b) => {
              a.push(...b);
              return a;
            },
            p,
          )
          .collect();
        expect(sorted(agg.map(([k, vs]) => [k, numSorted(vs)]))).toEqual(ref);
      }),
      RUNS,
    );
  });

  it('countByKey and countByValue equal reference counts', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, slices, async (xs, n) => {
        const r = ctx().parallelize(xs, n);
        const byKey = await r.countByKey();
        const ref = [...groupRef(xs).values()].map(([k, vs]) => [k, vs.length]);
        expect(sorted([...byKey.entries()])).toEqual(sorted(ref));
        // each Map key is (a copy of) the first-seen key object of its group, with its own property order
        for (const k of byKey.keys()) {
          const first = xs.find(([x]) => canonical(x) === canonical(k))!;
          expect(JSON.stringify(k)).toBe(JSON.stringify(first[0]));
        }
        const byValue = await r.keys().countByValue();
        expect(sorted([...byValue.entries()])).toEqual(sorted(ref));
      }),
      RUNS,
    );
  });

  it('distinct, intersection and subtract equal set references on structural elements', async () => {
    const elems = fc.array(key, { maxLength: 25 });
    await fc.assert(
      fc.asyncProperty(elems, elems, slices, slices, async (xs, ys, n, m) => {
        const sc = ctx();
        const a = sc.parallelize(xs, n);
        const b = sc.parallelize(ys, m);
        const uniq = (zs: unknown[]): unknown[] => [...new Map(zs.map((z) => [canonical(z), z])).values()];
        const inB = new Set(ys.map(canonical));
        expect(sorted(await a.distinct().collect())).toEqual(sorted(uniq(xs)));
        expect(sorted(await a.intersection(b).collect())).toEqual(sorted(uniq(xs.filter((x) => inB.has(canonical(x))))));
        expect(sorted(await a.subtract(b).collect())).toEqual(sorted(xs.filter((x) => !inB.has(canonical(x)))));
      }),
      RUNS,
    );
  });

  it('joins and cogroup equal nested-loop references', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, pairs, slices, slices, maybeParts, async (xs, ys, n, m, p) => {
        const sc = ctx();
        const a = sc.parallelize(xs, n);
        const b = sc.parallelize(ys, m);
        const inner: unknown[] = [];
        const leftOuter: unknown[] = [];
        for (const [k, v] of xs) {
          const ws = ys.filter(([k2]) => canonical(k2) === canonical(k)).map(([, w]) => w);
          for (const w of ws) inner.push([k, [v, w]]);
          if (ws.length === 0) leftOuter.push([k, [v, null]]);
        }
        const rightOnly = ys.filter(([k]) => !xs.some(([k2]) => canonical(k2) === canonical(k))).map(([k, w]) => [k, [null, w]]);
        expect(sorted(await a.join(b, p).collect())).toEqual(sorted(inner));
        expect(sorted(await a.leftOuterJoin(b, p).collect())).toEqual(sorted([...inner, ...leftOuter]));
        expect(sorted(await a.rightOuterJoin(b).collect())).toEqual(sorted([...inner, ...rightOnly]));
        expect(sorted(await a.fullOuterJoin(b).collect())).toEqual(sorted([...inner, ...leftOuter, ...rightOnly]));
        const ga = groupRef(xs);
        const gb = groupRef(ys);
        const cg = [...new Set([...ga.keys(), ...gb.keys()])].map((id) => [
          (ga.get(id) ?? gb.get(id))![0],
          [numSorted(ga.get(id)?.[1] ?? []), numSorted(gb.get(id)?.[1] ?? [])],
        ]);
        const got = await a.cogroup(b, p).collect();
        expect(sorted(got.map(([k, [vs, ws]]) => [k, [numSorted(vs), numSorted(ws)]]))).toEqual(sorted(cg));
        expect(sorted(await a.subtractByKey(b).collect())).toEqual(sorted(xs.filter(([k]) => !gb.has(canonical(k)))));
      }),
      RUNS,
    );
  });

  it('co-partitioned joins equal the shuffled join', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, pairs, slices, fc.integer({ min: 1, max: 5 }), async (xs, ys, n, p) => {
        const sc = ctx();
        const a = sc.parallelize(xs, n);
        const b = sc.parallelize(ys, n);
        const narrow = a.partitionBy(p).join(b.partitionBy(p));
        expect(sorted(await narrow.collect())).toEqual(sorted(await a.join(b).collect()));
      }),
      RUNS,
    );
  });

  it('sortBy and sortByKey equal a JS sort, globally across partitions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -20, max: 20 }), { maxLength: 40 }), slices, maybeParts, fc.boolean(), async (xs, n, p, asc) => {
        const r = ctx().parallelize(xs, n);
        const expected = asc ? numSorted(xs) : numSorted(xs).reverse();
        const s = r.sortBy((x) => x, asc, p);
        expect(s.getNumPartitions()).toBe(p ?? n);
        expect(await s.collect()).toEqual(expected);
        const byKey = r.map((x) => [String.fromCharCode(97 + x + 20), x] as [string, number]).sortByKey(asc, p);
        const keys = (await byKey.collect()).map(([k]) => k);
        const ref = xs.map((x) => String.fromCharCode(97 + x + 20)).sort();
        expect(keys).toEqual(asc ? ref : ref.reverse());
      }),
      RUNS,
    );
  });

  it('repartition and coalesce keep every element; coalesce keeps order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 40 }), slices, fc.integer({ min: 1, max: 8 }), async (xs, n, k) => {
        const r = ctx().parallelize(xs, n);
        const rep = r.repartition(k);
        const parts = await rep.glom().collect();
        expect(parts).toHaveLength(k);
        expect(numSorted(parts.flat())).toEqual(numSorted(xs));
        const sizes = parts.map((q) => q.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(n);
        const co = r.coalesce(k);
        expect(co.getNumPartitions()).toBe(Math.min(k, n));
        expect(await co.collect()).toEqual(xs);
      }),
      RUNS,
    );
  });
});
