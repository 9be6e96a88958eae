/**
 * Random chains of pair transformations against a plain JavaScript interpreter of the same program: the fast
 * paths (flatMap arrays into the combine, int and string tables moving to the structural table, cached pair
 * columns, the first-iteration join of cached columns with pairs, collectAsMap merged as results arrive) are each
 * specified alone elsewhere; here they meet each other in the orders a user's program puts them, with a shuffle
 * pool small enough to spill, keys of every supported kind and empty partitions.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, type RDD } from 'kindling';

type K = number | string | null | number[];
type P = [K, number];

/** Engine key identity for the keys generated here: -0 is 0, NaN is NaN, arrays by items. */
function kid(k: K): string {
  if (typeof k === 'number') return `n${Object.is(k, -0) ? 0 : k}`;
  if (typeof k === 'string') return `s${k}`;
  if (k === null) return 'null';
  return `a${k.map((x) => kid(x)).join(',')}`;
}

const M = 1_000_003;

/** One step of a chain: the engine's version and the reference's, on the same data. */
interface Step {
  readonly name: string;
  run(r: RDD<P>): RDD<P>;
  ref(xs: P[]): P[];
}

function groupRef(xs: P[]): Map<string, [K, number[]]> {
  const g = new Map<string, [K, number[]]>();
  for (const [k, v] of xs) {
    const id = kid(k);
    const e = g.get(id);
    if (e === undefined) g.set(id, [k, [v]]);
    else e[1].push(v);
  }
  return g;
}

const shifted = (k: K): K => (typeof k === 'number' ? (Number.isInteger(k) ? k + 1 : k) : typeof k === 'string' ? `${k}x` : k);

function steps(parts: number): Step[] {
  return [
    {
      name: 'mapValues',
      run: (r) => r.mapValues((v) => (v * 7 + 3) % 1_000_003),
      ref: (xs) => xs.map(([k, v]) => [k, (v * 7 + 3) % M]),
    },
    {
      name: 'flatMap (arrays)',
      run: (r) =>
        r.flatMap(([k, v]): P[] => {
          const sh = typeof k === 'number' ? (Number.isInteger(k) ? k + 1 : k) : typeof k === 'string' ? `${k}x` : k;
          return v % 5 === 0
            ? []
            : [
                [k, v],
                [sh, v + 1],
              ];
        }),
      ref: (xs) =>
        xs.flatMap(([k, v]): P[] =>
          v % 5 === 0
            ? []
            : [
                [k, v],
                [shifted(k), v + 1],
              ],
        ),
    },
    {
      name: 'widen (8 records each, distinct keys)',
      run: (r) =>
        r.flatMap(([k, v]): P[] => Array.from({ length: 8 }, (_, i): P => [typeof k === 'number' && Number.isInteger(k) ? k * 16 + i : k, v + i])),
      ref: (xs) =>
        xs.flatMap(([k, v]) => Array.from({ length: 8 }, (_, i): P => [typeof k === 'number' && Number.isInteger(k) ? k * 16 + i : k, v + i])),
    },
    {
      name: 'filter',
      run: (r) => r.filter(([, v]) => v % 3 !== 0),
      ref: (xs) => xs.filter(([, v]) => v % 3 !== 0),
    },
    {
      name: 'reduceByKey',
      run: (r) => r.reduceByKey((a, b) => (a + b) % 1_000_003, parts),
      ref: (xs) => [...groupRef(xs).values()].map(([k, vs]) => [k, vs.reduce((a, b) => (a + b) % M)]),
    },
    {
      name: 'foldByKey',
      run: (r) => r.foldByKey(0, (a, b) => (a + b) % 1_000_003),
      ref: (xs) => [...groupRef(xs).values()].map(([k, vs]) => [k, vs.reduce((a, b) => (a + b) % M, 0)]),
    },
    {
      name: 'groupByKey',
      run: (r) => r.groupByKey(parts).mapValues((vs) => (vs.length * 1000 + vs.reduce((a, b) => a + b, 0)) % 1_000_003),
      ref: (xs) => [...groupRef(xs).values()].map(([k, vs]) => [k, (vs.length * 1000 + vs.reduce((a, b) => a + b, 0)) % M]),
    },
    {
      name: 'cache',
      run: (r) => r.cache(),
      ref: (xs) => xs,
    },
    {
      name: 'partitionBy + cache',
      run: (r) => r.partitionBy(parts).cache(),
      ref: (xs) => xs,
    },
    {
      // The right side reduced to one value per key, so that a chain of joins stays linear in size.
      name: 'join with its own maximum per key',
      run: (r) => r.join(r.reduceByKey((a, b) => Math.max(a, b)).mapValues((v) => v + 1)).mapValues(([a, b]) => (a * 31 + b) % 1_000_003),
      ref: (xs) => {
        const right = new Map([...groupRef(xs).values()].map(([k, vs]) => [kid(k), Math.max(...vs) + 1]));
        return xs.map(([k, a]): P => [k, (a * 31 + right.get(kid(k))!) % M]);
      },
    },
    {
      name: 'leftOuterJoin with a filtered reduce',
      run: (r) =>
        r
          .leftOuterJoin(r.filter(([, v]) => v % 2 === 0).reduceByKey((a, b) => Math.max(a, b)))
          .mapValues(([a, b]) => (b === null ? 1_000_003 - a : (a + b) % 1_000_003) % 1_000_003),
      ref: (xs) => {
        const right = new Map([...groupRef(xs.filter(([, v]) => v % 2 === 0)).values()].map(([k, vs]) => [kid(k), Math.max(...vs)]));
        return xs.map(([k, a]) => {
          const b = right.get(kid(k));
          return [k, (b === undefined ? M - a : (a + b) % M) % M];
        });
      },
    },
    {
      name: 'subtractByKey',
      run: (r) => r.subtractByKey(r.filter(([, v]) => v % 4 === 1)),
      ref: (xs) => {
        const gone = new Set(xs.filter(([, v]) => v % 4 === 1).map(([k]) => kid(k)));
        return xs.filter(([k]) => !gone.has(kid(k)));
      },
    },
    {
      name: 'union with its values shifted',
      run: (r) => r.union(r.mapValues((v) => v + 2)),
      ref: (xs) => [...xs, ...xs.map(([k, v]): P => [k, v + 2])],
    },
    {
      name: 'distinct',
      run: (r) => r.distinct(parts),
      ref: (xs) => {
        const seen = new Map<string, P>();
        for (const p of xs) seen.set(`${kid(p[0])}|${p[1]}`, p);
        return [...seen.values()];
      },
    },
    {
      name: 'repartition',
      run: (r) => r.repartition(parts),
      ref: (xs) => xs,
    },
    {
      name: 'coalesce',
      run: (r) => r.coalesce(Math.max(1, parts - 1)),
      ref: (xs) => xs,
    },
  ];
}

const key = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -50, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  { weight: 3, arbitrary: fc.constantFrom<K>('', 'a', 'é', 'ba', 'a much longer key than the short-string table takes'.repeat(3)) },
  { weight: 1, arbitrary: fc.constantFrom<K>(-0, Number.NaN, 0.5, 2 ** 33, null, [1, 2], [1]) },
);
const records = fc.array(fc.tuple(key, fc.integer({ min: 0, max: 999 })), { maxLength: Number(process.env.CHAINS_MAX ?? 1500), size: 'max' });

/** A multiset of pairs, as sorted canonical strings (keys by engine identity). */
function canon(xs: readonly P[]): string[] {
  return xs.map(([k, v]) => `${kid(k)}=${v}`).sort();
}

// The mapreduce engine runs the same chains Hadoop-style (every shuffle through run files, persist keeps
// nothing): its results must be the interpreter's too. CHAINS_ENGINE narrows the list to one.
const ENGINES = (process.env.CHAINS_ENGINE ? [process.env.CHAINS_ENGINE] : ['memory', 'mapreduce']) as Array<'memory' | 'mapreduce'>;

describe.each(ENGINES)('random chains of pair transformations (local[2], engine %s, a shuffle pool that spills)', (engine) => {
  let sc: Context;
  let spills = 0;
  beforeAll(() => {
    sc = new Context({
      master: process.env.CHAINS_MASTER ?? 'local[2]',
      engine,
      progress: false,
      hints: false,
      ui: false,
      memory: { workerMB: 192, shuffleFraction: 0.002 },
    });
    sc.events.on('taskEnd', (e) => void (spills += e.metrics?.spillCount ?? 0));
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('collect equals the interpreter, as multisets; collectAsMap after a reduce equals its map', async () => {
    await fc.assert(
      fc.asyncProperty(
        records,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
        async (xs, slices, parts, picks) => {
          const all = steps(parts);
          const chain = picks.map((i) => all[i % all.length]!);
          let r: RDD<P> = sc.parallelize(xs, slices);
          let ref: P[] = xs;
          for (const s of chain) {
            r = s.run(r);
            ref = s.ref(ref);
          }
          const what = chain.map((s) => s.name).join(' -> ');
          expect(canon(await r.collect()), what).toEqual(canon(ref));
          const reduced = r.reduceByKey((a, b) => (a + b) % 1_000_003);
          const map = await reduced.collectAsMap();
          const want = new Map([...groupRef(ref).values()].map(([k, vs]) => [kid(k), vs.reduce((a, b) => (a + b) % M)]));
          expect(new Map([...map].map(([k, v]) => [kid(k as K), v])), what).toEqual(want);
        },
      ),
      { numRuns: Number(process.env.CHAINS_RUNS ?? 40) },
    );
    // The runs must have reached the spill paths, or they specify less than they claim.
    expect(spills).toBeGreaterThan(0);
  }, 300_000);
});
