/**
 * Every shuffle path under a tiny memory pool, at random. Each run makes a context of its own whose worker shuffle
 * pool (`memory.workerMB x shuffleFraction`) is 1 KiB to 256 KiB, so that map outputs, combine tables, fetched input
 * and sort buffers spill key-sorted runs to disk mid-task, and checks the contract of a spilling shuffle:
 * - results equal the model, as with a big pool: the random programs of random-programs.ts (both engines, twice in
 *   one context, and with a worker killed at a random task), and keyed data of every key kind (key-arbitraries.ts
 *   and the cases engines mix up: -0/0, NaN, '1'/1, '', latin1 and non-latin1 strings, arrays, objects, null,
 *   booleans, bigints, dates), values of mixed kinds, wide and long values, one hot key holding most records, up to
 *   64 partitions (1,500 reducers now and then), a worker killed in half the runs; sortByKey, sortBy and
 *   repartitionAndSortWithinPartitions keep their order, groupByKey's values are complete, no two results share a key;
 * - one key holding more than a 32 MiB worker can is grouped whole or the job fails naming the heap limit;
 * - a task's spill runs (combine_, sort_, input_) are gone once every task of its job has ended, and the context's
 *   spill folder once it stops;
 * - the pool did spill in a good share of the runs (counted from the task metrics), else the search tests nothing.
 * `FUZZ_RUNS=200 FUZZ_SEED=n` searches longer; a failure prints its seed and path (fast-check's counterexample).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, HashPartitioner, type ContextOptions, type RDD } from 'kindling';
import { canonical, smallKey } from '../core/key-arbitraries.js';
import { modelCompare, programs, rng, runKillingKthTask, runTwice, setRecomputedShufflesKeepOrder, type Program } from '../rdd/random-programs.js';

// 3 runs per property (4 of keyed data, 1 of a hot key past the worker) keep the file near a minute on two busy
// cores (80 s at load 20 with 6 and 2); searches raise it.
const RUNS = Number(process.env.FUZZ_RUNS ?? 3);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
// A long search takes minutes per property (a 1 KiB pool spills thousands of times a run).
const TIMEOUT = 600_000 * Math.max(1, RUNS / 10);
const ENGINES = ['memory', 'mapreduce'] as const;
type Engine = (typeof ENGINES)[number];

/** A worker heap and a shuffle pool of 1 KiB to 256 KiB in it (powers of two: the thresholds that matter are far apart). */
interface Pool {
  readonly workerMB: number;
  readonly poolKiB: number;
}
const pools: fc.Arbitrary<Pool> = fc.record({
  workerMB: fc.constantFrom(16, 32, 64, 128),
  poolKiB: fc.integer({ min: 0, max: 8 }).map((e) => 2 ** e),
});

/** One folder for every context's spill files in this file, so that what a run leaves behind can be listed. */
let root = '';
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'kindling-random-spill-'));
  // A spilling reduce partition computed again may come back in another order (Spark's too): randomSplit's parts,
  // each its own computation of a shuffle's output, then need not tile it (seed 500: a groupWith's 325 records).
  setRecomputedShufflesKeepOrder(false);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** A task's own spill runs: the combine's, the sorter's and fetched input's (shuffle_ files are stored map outputs). */
const TASK_RUN = /^(combine|sort|input)_/;

interface Tally {
  runs: number;
  spilledRuns: number;
  kills: number;
}

/**
 * Runs `body` on a fresh context with the pool `p`: counts whether its tasks spilled, checks that no task's spill
 * run outlives `body` and that the context leaves no file once stopped.
 */
async function withPool(engine: Engine, p: Pool, tally: Tally, body: (sc: Context) => Promise<void>, options: ContextOptions = {}): Promise<void> {
  const localDir = mkdtempSync(path.join(root, 'ctx-'));
  const sc = new Context({
    master: 'local[2]',
    engine,
    progress: false,
    hints: false,
    ui: false,
    localDir,
    memory: { workerMB: p.workerMB, shuffleFraction: (p.poolKiB * 1024) / (p.workerMB * 2 ** 20) },
    ...options,
  });
  sc.setCheckpointDir(path.join(localDir, 'checkpoints'));
  let spills = 0;
  let running = 0;
  sc.events.on('taskStart', () => void running++);
  sc.events.on('taskEnd', (e) => {
    running--;
    spills += e.metrics?.spillCount ?? 0;
  });
  try {
    await body(sc);
    // A failed job's other running tasks compute to their end (the scheduler stops launching, it kills none): their
    // runs go when they end.
    for (const until = Date.now() + 60_000; running > 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    // So does a copy of a task that the driver moved to a free worker after it had started fetching where it was first
    // queued (the driver counts only the copy it moved): it ends, killed, once its fetch is done, and its runs go then
    // (seen at load 15–20: the job ended with such a copy's fetched-input runs still on disk, gone 3 s later).
    const taskRuns = (): string[] => filesUnder(localDir).filter((f) => TASK_RUN.test(path.basename(f)));
    for (const until = Date.now() + 60_000; taskRuns().length > 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    const left = taskRuns();
    expect(left, 'task spill runs left after the job').toEqual([]);
  } finally {
    await sc.stop();
  }
  expect(
    filesUnder(localDir).filter((f) => !f.startsWith(path.join(localDir, 'checkpoints'))),
    'files left after stop()',
  ).toEqual([]);
  rmSync(localDir, { recursive: true, force: true });
  tally.runs++;
  if (spills > 0) tally.spilledRuns++;
}

function report(what: string, t: Tally, seed: number): void {
  console.log(`${what}: ${t.runs} runs, ${t.spilledRuns} spilled, ${t.kills} kills, seed ${seed}`);
}

// ---- random programs ----------------------------------------------------------------------------------------------

/**
 * The random programs with a source of at least 1,024 records in 3 of 4 runs: combine tables and sort buffers
 * measure themselves every 1,024 records, so a shorter source never spills whatever the pool (most random programs
 * draw fewer than 40 records).
 */
const anyProgram = (engine: Engine): fc.Arbitrary<Program> =>
  fc
    .tuple(
      fc.oneof(programs(engine === 'memory' ? 5000 : 2500, 6), programs(engine === 'memory' ? 2500 : 1200, 5, 'extended')),
      fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 1024, max: engine === 'memory' ? 4000 : 2000 }), weight: 3 }),
    )
    .map(([prog, atLeast]) => ({ ...prog, src: { ...prog.src, n: Math.max(prog.src.n, atLeast) } }));

describe.each(ENGINES)('random programs under a tiny shuffle pool equal the model (local[2], %s engine)', (engine) => {
  const seed = SEED + (engine === 'memory' ? 0 : 1);
  it(`give the model's result twice in one context, and leave no spill file (seed ${seed})`, { timeout: TIMEOUT }, async () => {
    const t: Tally = { runs: 0, spilledRuns: 0, kills: 0 };
    await fc.assert(
      fc.asyncProperty(anyProgram(engine), pools, async (prog, p) => {
        await withPool(engine, p, t, async (sc) => void (await runTwice(sc, prog)));
      }),
      { numRuns: RUNS, seed },
    );
    report(`random programs, tiny pool (${engine})`, t, seed);
  });

  it(`give the model's result with a worker killed at a random task (seed ${seed + 2})`, { timeout: TIMEOUT }, async () => {
    const t: Tally = { runs: 0, spilledRuns: 0, kills: 0 };
    await fc.assert(
      fc.asyncProperty(anyProgram(engine), pools, fc.nat(12), async (prog, p, k) => {
        await withPool(engine, p, t, async (sc) => {
          if (await runKillingKthTask(sc, prog, k)) t.kills++;
        });
      }),
      // A kill's moment is not replayed by a shrink (each attempt starts a context and kills again, past the timeout):
      // the first counterexample is reported as found.
      { numRuns: RUNS, seed: seed + 2, endOnFailure: true },
    );
    report(`random programs, tiny pool, a worker killed (${engine})`, t, seed + 2);
  });
});

// ---- keyed data of every kind -------------------------------------------------------------------------------------

/** Keys engines confuse: -0 and 0, '1' and 1, '' and empty containers, latin1 and not, large and fractional numbers. */
const TRICKY: readonly unknown[] = [
  0,
  -0,
  1,
  '1',
  '',
  [],
  {},
  NaN,
  2 ** 53,
  -(2 ** 31),
  0.1,
  1e300,
  'caf\u00e9',
  'caf\u00e9\u00ff long latin1 key past twelve chars',
  '\u0101',
  '\ud83d\ude00',
  true,
  false,
  null,
  [1, '1'],
  ['1', 1],
  [[0]],
  { a: 1, b: [2] },
  { b: [2], a: 1 },
  7n,
];

type ValueKind = 'int' | 'float' | 'latin1' | 'wide' | 'mixed';
const OPS = [
  'groupByKey',
  'reduceByKey',
  'aggregateByKey',
  'sortByKey',
  'sortByKeyWithCompare',
  'sortBy',
  'repartitionAndSort',
  'distinct',
  'join',
  'cogroup',
  'countByKey',
] as const;
type Op = (typeof OPS)[number];

interface KeyedCase {
  readonly pool: readonly unknown[];
  readonly n: number;
  /** Share of the records on the pool's first key (0: none hot). */
  readonly hot: number;
  readonly values: ValueKind;
  readonly slices: number;
  readonly reducers: number;
  readonly op: Op;
  readonly ascending: boolean;
  readonly seed: number;
}

const keyedCases: fc.Arbitrary<KeyedCase> = fc.record({
  pool: fc.uniqueArray(fc.oneof(fc.constantFrom(...TRICKY), smallKey, fc.string({ unit: 'binary', maxLength: 20 }), fc.double()), {
    minLength: 1,
    maxLength: 400,
    selector: canonical,
  }),
  // Mostly past 1,024 records: tables and sort buffers measure themselves every 1,024, so shorter input never spills.
  n: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 200 }), weight: 1 }, { arbitrary: fc.integer({ min: 1024, max: 6000 }), weight: 3 }),
  hot: fc.oneof(fc.constant(0), fc.double({ min: 0.5, max: 0.95, noNaN: true })),
  values: fc.constantFrom<ValueKind>('int', 'float', 'latin1', 'wide', 'mixed'),
  slices: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 64 })),
  // Past 1,024 reducers a map output's buckets are kept sparse (sparse-buckets.ts): now and then, that many.
  reducers: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 4 },
    { arbitrary: fc.integer({ min: 9, max: 64 }), weight: 4 },
    { arbitrary: fc.integer({ min: 1025, max: 1500 }), weight: 1 },
  ),
  op: fc.constantFrom(...OPS),
  ascending: fc.boolean(),
  seed: fc.integer(),
});

const FLOAT_VALUES = [0, -0, NaN, 1.5, -2.25, 2 ** 40 + 3, Infinity, 1e-300, 0.1];

function valueOf(kind: ValueKind, i: number, r: () => number): unknown {
  switch (kind) {
    case 'int':
      return i;
    case 'float':
      return FLOAT_VALUES[i % FLOAT_VALUES.length]! + (i % 3 === 0 ? 0 : i * 0.5);
    case 'latin1':
      return `v\u00e9${i}`;
    case 'wide':
      // Long values make a few records fill the pool.
      return `${i}:${'\u00ff\u0101x'.repeat(1 + Math.floor(r() * 300))}`;
    case 'mixed': {
      const kinds: unknown[] = [i, -0, `s${i}`, `\u0101${i}`, null, true, [i, '1'], { v: i, w: [null] }, 10n ** 20n + BigInt(i), ''];
      return kinds[i % kinds.length];
    }
  }
}

function recordsOf(c: KeyedCase): Array<[unknown, unknown]> {
  const r = rng(c.seed);
  return Array.from({ length: c.n }, (_, i) => {
    const k = c.hot > 0 && r() < c.hot ? c.pool[0] : c.pool[Math.floor(r() * c.pool.length)];
    return [k, valueOf(c.values, i, r)];
  });
}

/** A value's identity, -0 told from 0 (the engine must not change values, only group them). */
function vid(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'number') return Object.is(x, -0) ? 'n:-0' : `n:${x}`;
    if (typeof x === 'string') return `s:${x}`;
    if (typeof x === 'bigint') return `i:${x}`;
    return x === undefined ? 'u' : x;
  });
}

const kid = (k: unknown): string => canonical(k);
const sortedIds = (xs: readonly unknown[], id: (x: unknown) => string): string[] => xs.map(id).sort();
const pairId = ([k, v]: readonly [unknown, unknown]): string => `${kid(k)} ${vid(v)}`;

function groupsOf<V>(xs: ReadonlyArray<readonly [unknown, V]>): Map<string, V[]> {
  const m = new Map<string, V[]>();
  for (const [k, v] of xs) {
    const g = m.get(kid(k));
    if (g === undefined) m.set(kid(k), [v]);
    else g.push(v);
  }
  return m;
}

/** Each key once, and the groups' values the model's as multisets. */
function expectGroups(got: ReadonlyArray<readonly [unknown, readonly unknown[]]>, want: Map<string, unknown[]>, what: string): void {
  const keys = got.map(([k]) => kid(k));
  expect(new Set(keys).size, `${what}: a key in two results`).toBe(keys.length);
  expect([...keys].sort(), `${what}: keys`).toEqual([...want.keys()].sort());
  for (const [k, vs] of got) expect(sortedIds(vs, vid), `${what}: values of ${kid(k)}`).toEqual(sortedIds(want.get(kid(k))!, vid));
}

function expectSorted<X>(xs: readonly X[], by: (x: X) => unknown, ascending: boolean, what: string): void {
  for (let i = 1; i < xs.length; i++) {
    const c = modelCompare(by(xs[i - 1]!), by(xs[i]!));
    if ((ascending ? c : -c) > 0) expect.fail(`${what}: out of order at ${i}: ${vid(by(xs[i - 1]!))} before ${vid(by(xs[i]!))}`);
  }
}

/** The other side of a join: each key of the pool at most twice, a record of its own each. */
function otherOf(c: KeyedCase): Array<[unknown, string]> {
  const r = rng(c.seed ^ 0x2545f491);
  return c.pool.flatMap((k, i) => Array.from({ length: Math.floor(r() * 3) }, (_, j) => [k, `w${i}.${j}`] as [unknown, string]));
}

async function checkKeyed(sc: Context, c: KeyedCase): Promise<void> {
  const xs = recordsOf(c);
  const rdd: RDD<[unknown, unknown]> = sc.parallelize(xs, c.slices);
  const what = `${c.op} of ${c.n} ${c.values} records, ${c.pool.length} keys, hot ${c.hot.toFixed(2)}, ${c.slices} -> ${c.reducers} partitions`;
  switch (c.op) {
    case 'groupByKey':
      return expectGroups(await rdd.groupByKey(c.reducers).collect(), groupsOf(xs), what);
    case 'reduceByKey': {
      // Number values (the number table's combiners) or string values: min is commutative, so the model is exact.
      const strings = c.values === 'latin1' || c.values === 'wide';
      const ys = xs.map(([k, v], i) => [k, strings ? v : i] as [unknown, number | string]);
      const min = (a: number | string, b: number | string): number | string => (a < b ? a : b);
      const got = await sc.parallelize(ys, c.slices).reduceByKey(min, c.reducers).collect();
      const want = [...groupsOf(ys)].map(([k, vs]) => [k, [vs.reduce(min)]] as [string, unknown[]]);
      return expectGroups(
        got.map(([k, v]) => [k, [v]]),
        new Map(want),
        what,
      );
    }
    case 'aggregateByKey': {
      const got = await rdd
        .aggregateByKey(
          [] as unknown[],
          (acc, v) => {
            acc.push(v);
            return acc;
          },
          (a, b) => a.concat(b),
          c.reducers,
        )
        .collect();
      return expectGroups(got, groupsOf(xs), what);
    }
    case 'sortByKey': {
      const got = await rdd.sortByKey(c.ascending, c.reducers).collect();
      expect(sortedIds(got, pairId as (x: unknown) => string), `${what}: records`).toEqual(sortedIds(xs, pairId as (x: unknown) => string));
      return expectSorted(got, ([k]) => k, c.ascending, what);
    }
    case 'sortByKeyWithCompare': {
      // A user comparator the sorter orders by (its runs too); many keys tie under it ('1' and 1, objects).
      const byText = (a: unknown, b: unknown): number => {
        const x = typeof a + String(a);
        const y = typeof b + String(b);
        return x < y ? -1 : x > y ? 1 : 0;
      };
      const got = await rdd.sortByKey(c.ascending, c.reducers, byText).collect();
      expect(sortedIds(got, pairId as (x: unknown) => string), `${what}: records`).toEqual(sortedIds(xs, pairId as (x: unknown) => string));
      for (let i = 1; i < got.length; i++) {
        const o = byText(got[i - 1]![0], got[i]![0]);
        if ((c.ascending ? o : -o) > 0) expect.fail(`${what}: out of the comparator's order at ${i}`);
      }
      return;
    }
    case 'sortBy': {
      const got = await rdd.sortBy(([, v]) => v, c.ascending, c.reducers).collect();
      expect(sortedIds(got, pairId as (x: unknown) => string), `${what}: records`).toEqual(sortedIds(xs, pairId as (x: unknown) => string));
      return expectSorted(got, ([, v]) => v, c.ascending, what);
    }
    case 'repartitionAndSort': {
      const parts = await rdd.repartitionAndSortWithinPartitions(new HashPartitioner(c.reducers), c.ascending).glom().collect();
      expect(parts).toHaveLength(c.reducers);
      const owner = new Map<string, number>();
      for (const [i, p] of parts.entries()) {
        expectSorted(p, ([k]) => k, c.ascending, `${what}, partition ${i}`);
        for (const [k] of p) {
          expect(owner.get(kid(k)) ?? i, `${what}: key ${kid(k)} in two partitions`).toBe(i);
          owner.set(kid(k), i);
        }
      }
      const flat = parts.flat();
      return void expect(sortedIds(flat, pairId as (x: unknown) => string), `${what}: records`).toEqual(
        sortedIds(xs, pairId as (x: unknown) => string),
      );
    }
    case 'distinct': {
      const got = await rdd.keys().distinct(c.reducers).collect();
      return void expect(sortedIds(got, kid), what).toEqual([...groupsOf(xs).keys()].sort());
    }
    case 'join': {
      const ys = otherOf(c);
      const got = await rdd.join(sc.parallelize(ys, 3), c.reducers).collect();
      const right = groupsOf(ys);
      const want = xs.flatMap(([k, v]) => (right.get(kid(k)) ?? []).map((w) => `${kid(k)} ${vid([v, w])}`));
      return void expect(got.map(([k, vw]) => `${kid(k)} ${vid(vw)}`).sort(), what).toEqual(want.sort());
    }
    case 'cogroup': {
      const ys = otherOf(c);
      const got = await rdd.cogroup(sc.parallelize(ys, 3), c.reducers).collect();
      const left = groupsOf(xs);
      const right = groupsOf(ys);
      const keys = new Set([...left.keys(), ...right.keys()]);
      expect(new Set(got.map(([k]) => kid(k))).size, `${what}: a key in two results`).toBe(got.length);
      expect(got.map(([k]) => kid(k)).sort(), `${what}: keys`).toEqual([...keys].sort());
      for (const [k, [vs, ws]] of got) {
        expect(sortedIds(vs, vid), `${what}: left of ${kid(k)}`).toEqual(sortedIds(left.get(kid(k)) ?? [], vid));
        expect(sortedIds(ws, vid), `${what}: right of ${kid(k)}`).toEqual(sortedIds(right.get(kid(k)) ?? [], vid));
      }
      return;
    }
    case 'countByKey': {
      const got = await rdd.countByKey();
      const want = new Map([...groupsOf(xs)].map(([k, vs]) => [k, vs.length]));
      return void expect(new Map([...got].map(([k, n]) => [kid(k), n])), what).toEqual(want);
    }
  }
}

const SPILLS: KeyedCase = {
  pool: TRICKY,
  n: 3000,
  hot: 0.8,
  values: 'mixed',
  slices: 4,
  reducers: 3,
  op: 'groupByKey',
  ascending: true,
  seed: 1,
};

describe.each(ENGINES)('keyed data of every kind under a tiny shuffle pool (local[2], %s engine)', (engine) => {
  const seed = SEED + (engine === 'memory' ? 4 : 5);
  it(`groups, aggregates, sorts and joins as the model does, and leaves no spill file (seed ${seed})`, { timeout: TIMEOUT }, async () => {
    const t: Tally = { runs: 0, spilledRuns: 0, kills: 0 };
    await fc.assert(
      // In half the runs the worker of the k-th task started is killed as it starts (lost map outputs and spill runs).
      fc.asyncProperty(keyedCases, pools, fc.option(fc.nat(10), { freq: 2 }), async (c, p, k) => {
        await withPool(engine, p, t, async (sc) => {
          let started = 0;
          let killed: Promise<void> | undefined;
          const off = sc.events.on('taskStart', (e) => {
            if (k !== null && started++ === k) killed = sc.faults.killWorker(e.workerIndex);
          });
          try {
            await checkKeyed(sc, c);
          } finally {
            off();
          }
          if (killed !== undefined) {
            await killed;
            t.kills++;
          }
        });
      }),
      // A case that spills whatever the seed (3,000 mixed records through a 4 KiB pool), run before the drawn ones.
      { numRuns: RUNS + 1, seed, examples: [[SPILLS, { workerMB: 32, poolKiB: 4 }, null]] },
    );
    report(`keyed data, tiny pool (${engine})`, t, seed);
    // The search must have spilled, or it tests nothing (3 in 4 drawn cases spill too: see the report).
    expect(t.spilledRuns).toBeGreaterThan(0);
  });
});

// ---- a group larger than the worker -------------------------------------------------------------------------------

describe.each(ENGINES)('one key holding more than a worker can (local[2], %s engine)', (engine) => {
  const seed = SEED + (engine === 'memory' ? 6 : 7);
  it(`is grouped whole or fails the job naming the heap limit, never a wrong count or a hang (seed ${seed})`, { timeout: TIMEOUT }, async () => {
    const t: Tally = { runs: 0, spilledRuns: 0, kills: 0 };
    const refused: string[] = [];
    await fc.assert(
      // 800-char values in a 32 MiB worker: the hot key's group holds 0.5 to 20 MiB of them.
      fc.asyncProperty(fc.integer({ min: 700, max: 25_000 }), fc.integer({ min: 1, max: 8 }), async (n, slices) => {
        await withPool(
          engine,
          { workerMB: 32, poolKiB: 64 },
          t,
          async (sc) => {
            const want = new Map<string, number>();
            for (let i = 0; i < n; i++) {
              const k = i % 8 === 0 ? String(i % 3) : 'hot';
              want.set(k, (want.get(k) ?? 0) + 1);
            }
            let got: Array<[string, number]>;
            try {
              got = await sc
                .range(0, n, 1, slices)
                .map((i): [string, string] => [i % 8 === 0 ? String(i % 3) : 'hot', String(i).padEnd(800, 'x')])
                .groupByKey(2)
                .mapValues((vs) => vs.length)
                .collect();
            } catch (e) {
              // The heap guard's HeapLimitError, or (the guard checks now and then) the worker's death at the limit.
              expect(String(e)).toMatch(/heap limit 32 MiB( \(|, )the context's memory\.workerMB\)/);
              refused.push(`n=${n}: ${String(e).slice(0, 160)}`);
              // The workers live on: the context runs the next job.
              expect(await sc.parallelize([1, 2, 3], 2).count()).toBe(3);
              return;
            }
            expect(new Map(got)).toEqual(want);
          },
          { maxTaskFailures: 1 },
        );
      }),
      { numRuns: Math.max(1, Math.floor(RUNS / 3)), seed },
    );
    report(`a hot key past the worker (${engine}), ${refused.length} refused`, t, seed);
    for (const r of refused) console.log(`  refused ${r}`);
  });
});
