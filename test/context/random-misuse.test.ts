/**
 * The public API misused at random: a random chain of valid steps over numbers, with one misuse injected at a random
 * point: a bad argument to a transformation (at the call) or to an action, a user function that throws a value that is
 * no Error (or an Error with fields that cannot cross threads) on a random record, one that returns a value that cannot
 * cross threads, a key that cannot be hashed, a pair operation on non-pairs, an RDD of a stopped context, a save over
 * existing output, a read of a missing path. Whatever the misuse, its error is a KindlingError that names what and where
 * (the method and argument at the call; job, stage, partition and RDD for a job, with the user's thrown value in the
 * message), nothing hangs or keeps running, existing output is untouched, and the same context then runs the valid
 * chain to the model's result. `FUZZ_RUNS=500 FUZZ_SEED=n` searches longer; a failure prints its seed and path.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capture,
  Context,
  ContextStoppedError,
  InputPathError,
  JobFailedError,
  KindlingError,
  NotAPairError,
  OutputPathError,
  type ContextOptions,
  type RDD,
} from 'kindling';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
/** Only a guard against a hang: each job here takes milliseconds, even at load 20. */
const BOUND_MS = 30_000;

// ---- valid chains and their model --------------------------------------------------------------------------------

type Step =
  | { readonly op: 'map'; readonly k: number }
  | { readonly op: 'filter'; readonly m: number }
  | { readonly op: 'flatMap' }
  | { readonly op: 'distinct' }
  | { readonly op: 'repartition'; readonly n: number }
  | { readonly op: 'coalesce'; readonly n: number }
  | { readonly op: 'sumByMod'; readonly m: number }
  | { readonly op: 'sortBy' };

const steps: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('map' as const), k: fc.integer({ min: -3, max: 5 }) }),
  fc.record({ op: fc.constant('filter' as const), m: fc.integer({ min: 2, max: 5 }) }),
  fc.record({ op: fc.constant('flatMap' as const) }),
  fc.record({ op: fc.constant('distinct' as const) }),
  fc.record({ op: fc.constant('repartition' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('coalesce' as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('sumByMod' as const), m: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ op: fc.constant('sortBy' as const) }),
);

/** Applies a step to an RDD of numbers; the functions use only their arguments and what they capture. */
function apply(rdd: RDD<number>, s: Step): RDD<number> {
  switch (s.op) {
    case 'map': {
      const k = s.k;
      return rdd.map(capture({ k }, (x: number) => x * k + 1));
    }
    case 'filter': {
      const m = s.m;
      return rdd.filter(capture({ m }, (x: number) => x % m !== 0));
    }
    case 'flatMap':
      return rdd.flatMap((x: number) => [x, x + 1]);
    case 'distinct':
      return rdd.distinct();
    case 'repartition':
      return rdd.repartition(s.n);
    case 'coalesce':
      return rdd.coalesce(s.n);
    case 'sumByMod': {
      const m = s.m;
      return rdd
        .map(capture({ m }, (x: number): [number, number] => [((x % m) + m) % m, x]))
        .reduceByKey((a, b) => a + b)
        .values();
    }
    case 'sortBy':
      return rdd.sortBy((x) => x);
  }
}

/** The same step on a plain array (the order is compared as a multiset, so only the elements matter). */
function model(xs: readonly number[], s: Step): number[] {
  switch (s.op) {
    case 'map':
      return xs.map((x) => x * s.k + 1);
    case 'filter':
      return xs.filter((x) => x % s.m !== 0);
    case 'flatMap':
      return xs.flatMap((x) => [x, x + 1]);
    case 'distinct':
      return [...new Set(xs.map((x) => (Object.is(x, -0) ? 0 : x)))];
    case 'repartition':
    case 'coalesce':
    case 'sortBy':
      return [...xs];
    case 'sumByMod': {
      const sums = new Map<number, number>();
      for (const x of xs) {
        const k = ((x % s.m) + s.m) % s.m;
        sums.set(k, (sums.get(k) ?? 0) + x);
      }
      return [...sums.values()];
    }
  }
}

const sorted = (xs: readonly number[]): number[] => [...xs].map((x) => (Object.is(x, -0) ? 0 : x)).sort((a, b) => a - b);

interface Chain {
  readonly data: readonly number[];
  readonly slices: number;
  readonly steps: readonly Step[];
}

const chains: fc.Arbitrary<Chain> = fc.record({
  data: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 40 }),
  slices: fc.integer({ min: 1, max: 4 }),
  steps: fc.array(steps, { maxLength: 5 }),
});

function buildChain(sc: Context, c: Chain, upTo = c.steps.length): RDD<number> {
  let rdd = sc.parallelize(c.data, c.slices);
  for (const s of c.steps.slice(0, upTo)) rdd = apply(rdd, s);
  return rdd;
}

function modelChain(c: Chain, upTo = c.steps.length): number[] {
  let xs: number[] = [...c.data];
  for (const s of c.steps.slice(0, upTo)) xs = model(xs, s);
  return xs;
}

// ---- misuses -----------------------------------------------------------------------------------------------------

/** A call JavaScript lets through and TypeScript would refuse: the misuse itself. */
const loose = (x: unknown): any => x;

/** A bad argument to a transformation, refused at the call; `names` is what the message must name. */
interface BadCall {
  readonly call: (rdd: RDD<number>, other: RDD<number>) => unknown;
  readonly names: RegExp;
}

const BAD_CALLS: Record<string, BadCall> = {
  'map(5)': { call: (r) => loose(r).map(5), names: /map/ },
  'map()': { call: (r) => loose(r).map(), names: /map/ },
  'filter(null)': { call: (r) => loose(r).filter(null), names: /filter/ },
  "flatMap('x => [x]')": { call: (r) => loose(r).flatMap('x => [x]'), names: /flatMap/ },
  'keyBy(undefined)': { call: (r) => loose(r).keyBy(undefined), names: /keyBy/ },
  'groupBy(1)': { call: (r) => loose(r).groupBy(1), names: /^groupBy/ },
  'sortBy({})': { call: (r) => loose(r).sortBy({}), names: /^sortBy/ },
  'mapPartitions(3)': { call: (r) => loose(r).mapPartitions(3), names: /mapPartitions/ },
  'union(5)': { call: (r) => loose(r).union(5), names: /^union: other must be an RDD/ },
  'union()': { call: (r) => loose(r).union(), names: /^union: other must be an RDD/ },
  'union([1, 2])': { call: (r) => loose(r).union([1, 2]), names: /^union: other must be an RDD/ },
  'zip({})': { call: (r) => loose(r).zip({}), names: /^zip: other must be an RDD/ },
  'cartesian(null)': { call: (r) => loose(r).cartesian(null), names: /^cartesian: other must be an RDD/ },
  'intersection(3)': { call: (r) => loose(r).intersection(3), names: /^intersection: other must be an RDD/ },
  "subtract('x')": { call: (r) => loose(r).subtract('x'), names: /^subtract: other must be an RDD/ },
  'join(7)': { call: (r) => loose(r.keyBy((x) => x)).join(7), names: /^join: other must be an RDD/ },
  'cogroup()': { call: (r) => loose(r.keyBy((x) => x)).cogroup(), names: /^cogroup: other must be an RDD/ },
  'subtractByKey(1)': { call: (r) => loose(r.keyBy((x) => x)).subtractByKey(1), names: /^subtractByKey: other must be an RDD/ },
  'zipPartitions(9, f)': { call: (r) => loose(r).zipPartitions(9, (a: Iterable<number>) => a), names: /^zipPartitions: other must be an RDD/ },
  'repartition(0)': { call: (r) => r.repartition(0), names: /^repartition: number of partitions/ },
  'repartition(-1)': { call: (r) => r.repartition(-1), names: /^repartition: number of partitions/ },
  'repartition(NaN)': { call: (r) => r.repartition(Number.NaN), names: /^repartition: number of partitions/ },
  "coalesce('2')": { call: (r) => loose(r).coalesce('2'), names: /^coalesce: number of partitions/ },
  'coalesce(1.5)': { call: (r) => r.coalesce(1.5), names: /^coalesce: number of partitions/ },
  'distinct(0)': { call: (r) => r.distinct(0), names: /^distinct: number of partitions/ },
  'sample(false, 1.5)': { call: (r) => r.sample(false, 1.5), names: /^sample: fraction/ },
  "sample('yes', 0.5)": { call: (r) => loose(r).sample('yes', 0.5), names: /^sample: withReplacement must be a boolean/ },
  "sample(false, '0.5')": { call: (r) => loose(r).sample(false, '0.5'), names: /^sample: fraction must be a number/ },
  'randomSplit(5)': { call: (r) => loose(r).randomSplit(5), names: /^randomSplit: weights/ },
  'randomSplit([-1, 2])': { call: (r) => r.randomSplit([-1, 2]), names: /^randomSplit: weights/ },
  'reduceByKey(1)': { call: (r) => loose(r.keyBy((x) => x)).reduceByKey(1), names: /reduceByKey/ },
  'reduceByKey(f, 0)': { call: (r) => r.keyBy((x) => x).reduceByKey((a, b) => a + b, 0), names: /^reduceByKey: number of partitions/ },
  "groupByKey('x')": { call: (r) => loose(r.keyBy((x) => x)).groupByKey('x'), names: /^groupByKey: the partitioning argument/ },
  'partitionBy({})': { call: (r) => loose(r.keyBy((x) => x)).partitionBy({}), names: /^partitionBy: the partitioning argument/ },
  "sortByKey('asc')": { call: (r) => loose(r.keyBy((x) => x)).sortByKey('asc'), names: /^sortByKey: ascending/ },
  'sampleByKey(false, 0.5)': { call: (r) => loose(r.keyBy((x) => x)).sampleByKey(false, 0.5), names: /^sampleByKey: fractions/ },
  'pipe(5)': { call: (r) => loose(r).pipe(5), names: /^pipe: command/ },
  "persist('MEMORY')": { call: (r) => loose(r).persist('MEMORY'), names: /^persist: unknown storage level/ },
  'an RDD of another, stopped context': { call: (r, other) => r.union(other), names: /^union: RDD \d+ .* belongs to another context/ },
};

/** A bad argument to an action: the returned promise rejects (or the call throws) naming the action. */
interface BadAction {
  readonly call: (rdd: RDD<number>, dir: string) => Promise<unknown>;
  readonly names: RegExp;
}

const BAD_ACTIONS: Record<string, BadAction> = {
  'take(-1)': { call: (r) => r.take(-1), names: /^take: n must be/ },
  'take(NaN)': { call: (r) => r.take(Number.NaN), names: /^take: n must be/ },
  // The string shown as a string: 'got 2' read as the number 2, which take accepts.
  "take('2')": { call: (r) => loose(r).take('2'), names: /^take: n must be a non-negative integer, got "2"$/ },
  'takeOrdered(1.5)': { call: (r) => r.takeOrdered(1.5), names: /^takeOrdered\/top: n must be/ },
  "top(2, 'x')": { call: (r) => loose(r).top(2, 'x'), names: /^top expects a function/ },
  'reduce(5)': { call: (r) => loose(r).reduce(5), names: /^reduce expects a function/ },
  'reduce()': { call: (r) => loose(r).reduce(), names: /^reduce expects a function/ },
  "fold(0, 'x')": { call: (r) => loose(r).fold(0, 'x'), names: /^fold expects a function/ },
  'fold(() => 0, f)': {
    call: (r) =>
      loose(r).fold(
        () => 0,
        (a: number, b: number) => a + b,
      ),
    names: /^fold: the zero value/,
  },
  'aggregate(0, 1, 2)': { call: (r) => loose(r).aggregate(0, 1, 2), names: /^aggregate \w+ expects a function/ },
  'foreach(null)': { call: (r) => loose(r).foreach(null), names: /^foreach expects a function/ },
  "takeSample('x', 1)": { call: (r) => loose(r).takeSample('x', 1), names: /^takeSample: withReplacement must be a boolean/ },
  'takeSample(false, -1)': { call: (r) => r.takeSample(false, -1), names: /^takeSample: num must be/ },
  'collect(5)': { call: (r) => loose(r).collect(5), names: /^collect at RDD \d+ .*: the options argument must be an object/ },
  'count({ signal: 5 })': { call: (r) => loose(r).count({ signal: 5 }), names: /^count at RDD \d+ .*: options.signal must be an AbortSignal/ },
  'histogram(0)': { call: (r) => r.histogram(0), names: /^histogram: the number of buckets/ },
  'treeReduce(f, 0)': { call: (r) => r.treeReduce((a, b) => a + b, 0), names: /^treeReduce: depth/ },
  'saveAsTextFile(5)': { call: (r) => loose(r).saveAsTextFile(5), names: /^saveAsTextFile: path must be a string/ },
  "saveAsObjectFile('')": { call: (r) => r.saveAsObjectFile(''), names: /saveAsObjectFile needs an output directory/ },
  'saveAsJsonLines(null)': { call: (r) => loose(r).saveAsJsonLines(null), names: /^saveAsJsonLines: path must be a string/ },
  "saveAsTextFile(p, 'gzip')": {
    call: (r, dir) => loose(r).saveAsTextFile(path.join(dir, 'never'), 'gzip'),
    names: /^saveAsTextFile: the options argument/,
  },
};

/** What a user function throws on the chosen record. */
const THROWN = ['string', 'undefined', 'null', 'object', 'circular', 'errorWithUnclonableFields', 'errorSubclass', 'number', 'symbol'] as const;
type Thrown = (typeof THROWN)[number];

/** What a user function returns for the chosen record, which cannot cross between threads. */
const RETURNED = ['function', 'symbol', 'weakMap', 'classInstance'] as const;
/** A key the engine cannot hash. */
const KEYS = ['function', 'symbol', 'weakMap', 'circular'] as const;
/** A pair operation given numbers. */
const PAIR_OPS = ['reduceByKey', 'groupByKey', 'mapValues', 'join', 'sortByKey', 'countByKey', 'lookup', 'collectAsMap'] as const;

type Misuse =
  | { readonly kind: 'call'; readonly at: number; readonly name: string }
  | { readonly kind: 'action'; readonly name: string }
  | { readonly kind: 'throw'; readonly at: number; readonly record: number; readonly thrown: Thrown }
  | { readonly kind: 'return'; readonly record: number; readonly returned: (typeof RETURNED)[number] }
  | { readonly kind: 'key'; readonly at: number; readonly record: number; readonly key: (typeof KEYS)[number] }
  | { readonly kind: 'pairs'; readonly op: (typeof PAIR_OPS)[number] }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'cyclicZero'; readonly op: 'fold' | 'aggregate' | 'foldByKey' | 'aggregateByKey' }
  | { readonly kind: 'saveExisting'; readonly format: 'text' | 'object' | 'json' }
  | { readonly kind: 'readMissing'; readonly reader: 'textFile' | 'wholeTextFiles' | 'objectFile' | 'binaryFiles' | 'csvFile' };

const misuses: fc.Arbitrary<Misuse> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), at: fc.nat(5), name: fc.constantFrom(...Object.keys(BAD_CALLS)) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('action' as const), name: fc.constantFrom(...Object.keys(BAD_ACTIONS)) }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('throw' as const), at: fc.nat(5), record: fc.nat(), thrown: fc.constantFrom(...THROWN) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('return' as const), record: fc.nat(), returned: fc.constantFrom(...RETURNED) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('key' as const), at: fc.nat(5), record: fc.nat(), key: fc.constantFrom(...KEYS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pairs' as const), op: fc.constantFrom(...PAIR_OPS) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'stopped' as const }) },
  // Not a misuse, legal data the engine walks: a zero value that refers to itself (it once hung the driver).
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('cyclicZero' as const),
      op: fc.constantFrom('fold' as const, 'aggregate' as const, 'foldByKey' as const, 'aggregateByKey' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('saveExisting' as const),
      format: fc.constantFrom('text' as const, 'object' as const, 'json' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('readMissing' as const),
      reader: fc.constantFrom('textFile' as const, 'wholeTextFiles' as const, 'objectFile' as const, 'binaryFiles' as const, 'csvFile' as const),
    }),
  },
);

/** A map that throws `thrown` on the element `victim` (the tag makes the user's value recognizable in the message). */
function throwing(rdd: RDD<number>, victim: number, thrown: Thrown, tag: string): RDD<number> {
  return rdd.map(
    capture({ victim, thrown, tag }, (x: number) => {
      if (x !== victim) return x;
      switch (thrown) {
        case 'string':
          throw tag;
        case 'undefined':
          throw undefined;
        case 'null':
          throw null;
        case 'object':
          throw { tag, n: x };
        case 'circular': {
          const o: Record<string, unknown> = { tag };
          o.self = o;
          throw o;
        }
        case 'errorWithUnclonableFields': {
          const e = new TypeError(tag) as TypeError & Record<string, unknown>;
          e.fn = () => x;
          e.weak = new WeakMap();
          e.sym = Symbol(tag);
          throw e;
        }
        case 'errorSubclass': {
          class MisuseError extends Error {
            override name = 'MisuseError';
            readonly extra = Symbol('extra');
          }
          throw new MisuseError(tag);
        }
        case 'number':
          throw 4242;
        case 'symbol':
          throw Symbol(tag);
      }
      return x;
    }),
  );
}

/** What the job's message must carry of the user's thrown value. */
const THROWN_IN_MESSAGE: Record<Thrown, (tag: string) => string> = {
  string: (tag) => `the string "${tag}" was thrown, not an Error`,
  undefined: () => 'undefined was thrown, not an Error',
  null: () => 'null was thrown, not an Error',
  object: (tag) => `{"tag":"${tag}"`,
  circular: (tag) => `{"tag":"${tag}"`,
  errorWithUnclonableFields: (tag) => `TypeError: ${tag}`,
  errorSubclass: (tag) => `MisuseError: ${tag}`,
  number: () => 'the number 4242 was thrown, not an Error',
  symbol: (tag) => `Symbol(${tag})`,
};

function returning(rdd: RDD<number>, victim: number, returned: (typeof RETURNED)[number]): RDD<unknown> {
  return rdd.map(
    capture({ victim, returned }, (x: number): unknown => {
      if (x !== victim) return x;
      if (returned === 'function') return () => x;
      if (returned === 'symbol') return Symbol(String(x));
      if (returned === 'weakMap') return new WeakMap();
      class Point {
        constructor(readonly x: number) {}
        norm(): number {
          return Math.abs(this.x);
        }
      }
      return new Point(x);
    }),
  );
}

function badKeys(rdd: RDD<number>, victim: number, key: (typeof KEYS)[number]): RDD<[unknown, number]> {
  return rdd.map(
    capture({ victim, key }, (x: number): [unknown, number] => {
      if (x !== victim) return [x, x];
      if (key === 'function') return [() => x, x];
      if (key === 'symbol') return [Symbol(String(x)), x];
      if (key === 'weakMap') return [new WeakMap(), x];
      const o: Record<string, unknown> = { x };
      o.self = o;
      return [o, x];
    }),
  );
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`misusefuzz: no answer within ${BOUND_MS} ms (a hang)`)), BOUND_MS);
  });
  try {
    return { ok: true, value: await Promise.race([p, bound]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('misusefuzz: no answer')) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

const show = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** A KindlingError whose message matches, thrown by `call` at the call or as the rejection of its promise. */
async function expectRefused(call: () => unknown, names: RegExp, what: string): Promise<unknown> {
  let error: unknown;
  try {
    const p = call();
    if (p instanceof Promise) {
      const r = await settle(p);
      if (r.ok) throw new Error(`${what}: accepted, expected an error`);
      error = r.error;
    } else {
      throw new Error(`${what}: accepted at the call, expected an error`);
    }
  } catch (e) {
    error = e;
  }
  expect(error, `${what}: ${show(error)}`).toBeInstanceOf(KindlingError);
  expect((error as Error).message, what).toMatch(names);
  return error;
}

/** A JobFailedError naming job, stage, partition and the RDD whose function failed, whose cause is `causeName`. */
function expectJobFailure(error: unknown, rdd: RDD<unknown> | undefined, what: string): JobFailedError {
  expect(error, `${what}: ${show(error)}`).toBeInstanceOf(JobFailedError);
  const e = error as JobFailedError;
  expect(e.message, what).toMatch(/^Job \d+ failed: task for partition \d+ of stage \d+ \(.+\) failed \d+ times?, in RDD \d+ /);
  expect(e.location?.jobId, what).toEqual(expect.any(Number));
  expect(e.location?.stageId, what).toEqual(expect.any(Number));
  expect(e.location?.partition, what).toEqual(expect.any(Number));
  if (rdd !== undefined) expect(e.message, what).toContain(rdd.label);
  expect(e.cause, what).toBeInstanceOf(Error);
  return e;
}

/** Nothing of a failed or refused job keeps running on the driver or the workers. */
async function expectIdle(sc: Context, what: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const s = await sc.faults.snapshot();
    if (s.dag.activeJobs === 0 && s.tasks.runningAttempts === 0 && s.tasks.taskSets === 0) return;
    if (Date.now() > deadline) expect.fail(`${what}: still running after ${BOUND_MS} ms: ${JSON.stringify({ dag: s.dag, tasks: s.tasks })}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Collects `rdd`, whose misused step is reached when `reached` (some record gets to it): then a JobFailedError naming
 * `failing` (when given), returned for the caller's checks; else the chain's own result, and undefined.
 */
async function failsWhenReached(
  rdd: RDD<unknown>,
  failing: RDD<unknown> | undefined,
  reached: boolean,
  what: string,
): Promise<JobFailedError | undefined> {
  const r = await settle(rdd.collect());
  if (!reached) {
    // No record reaches the misused function: the chain's own result.
    expect(r.ok, `${what}: ${r.ok ? '' : show(r.error)}`).toBe(true);
    return undefined;
  }
  expect(r.ok, what).toBe(false);
  return expectJobFailure(r.ok ? undefined : r.error, failing, what);
}

/** The accumulator of the cyclic-zero runs: a sum that carries a reference to itself. */
interface Sum {
  n: number;
  self?: unknown;
}

// ---- one run -----------------------------------------------------------------------------------------------------

interface Env {
  readonly sc: Context;
  readonly dir: string;
  /** An RDD of a context that was stopped. */
  readonly stoppedRdd: RDD<number>;
  readonly stopped: Context;
}

let runCounter = 0;

async function runOne(env: Env, c: Chain, m: Misuse, tally: Map<string, number>): Promise<void> {
  const { sc, dir } = env;
  const run = runCounter++;
  const what = `misuse ${JSON.stringify(m)} on ${JSON.stringify(c)}`;
  tally.set(m.kind, (tally.get(m.kind) ?? 0) + 1);
  const at = 'at' in m ? Math.min(m.at, c.steps.length) : c.steps.length;
  const prefix = buildChain(sc, c, at);
  const prefixModel = modelChain(c, at);
  const victim = (record: number): number => prefixModel[record % Math.max(1, prefixModel.length)] ?? Number.NaN;
  switch (m.kind) {
    case 'call': {
      const bad = BAD_CALLS[m.name]!;
      const error = await expectRefused(() => bad.call(prefix, env.stoppedRdd), bad.names, what);
      expect(error instanceof TypeError || error instanceof RangeError, `${what}: an argument error is a TypeError or RangeError`).toBe(true);
      break;
    }
    case 'action': {
      const bad = BAD_ACTIONS[m.name]!;
      const error = await expectRefused(() => bad.call(prefix, dir), bad.names, what);
      expect(
        error instanceof TypeError ||
          error instanceof RangeError ||
          (error as KindlingError).code === 'KINDLING_UNCLONABLE_DATA' ||
          error instanceof OutputPathError,
        what,
      ).toBe(true);
      expect(readdirSync(dir).filter((f) => f === 'never')).toEqual([]);
      break;
    }
    case 'throw': {
      const tag = `misuse-${run}`;
      const thrower = throwing(prefix, victim(m.record), m.thrown, tag);
      const e = await failsWhenReached(c.steps.slice(at).reduce(apply, thrower), thrower, prefixModel.length > 0, what);
      if (e === undefined) break;
      expect(e.location?.rddId, what).toBe(thrower.id);
      expect(e.message, what).toContain(THROWN_IN_MESSAGE[m.thrown](tag));
      break;
    }
    case 'return': {
      const bad = returning(prefix, victim(m.record), m.returned);
      const e = await failsWhenReached(bad, bad, prefixModel.length > 0, what);
      expect(e?.message ?? 'could not be cloned', what).toMatch(/could not be (returned to the driver|cloned)|cannot be cloned|without its methods/);
      break;
    }
    case 'key': {
      const reduced = badKeys(prefix, victim(m.record), m.key).reduceByKey((a, b) => a + b);
      const e = await failsWhenReached(reduced, undefined, prefixModel.length > 0, what);
      expect(e?.message ?? 'cannot be a key', what).toMatch(/cannot be a key|could not be cloned|cannot be cloned/);
      break;
    }
    case 'pairs': {
      const p = loose(prefix);
      const call: () => Promise<unknown> = {
        reduceByKey: () => p.reduceByKey((a: number, b: number) => a + b).collect(),
        groupByKey: () => p.groupByKey().collect(),
        mapValues: () => p.mapValues((v: number) => v).collect(),
        join: () => p.join(p).collect(),
        sortByKey: () => p.sortByKey().collect(),
        countByKey: () => p.countByKey(),
        lookup: () => p.lookup(1),
        collectAsMap: () => p.collectAsMap(),
      }[m.op];
      const r = await settle(call());
      if (prefixModel.length === 0) {
        expect(r.ok, `${what}: ${r.ok ? '' : show(r.error)}`).toBe(true);
        break;
      }
      expect(r.ok, what).toBe(false);
      const error = r.ok ? undefined : r.error;
      // collectAsMap checks the pairs as they arrive on the driver; the others fail their job.
      const notAPair = error instanceof JobFailedError ? expectJobFailure(error, undefined, what).cause : error;
      // A worker's error reaches the driver as its name, code and message (rebuilt, not the worker's instance).
      expect((notAPair as KindlingError).code, `${what}: ${show(error)}`).toBe('KINDLING_NOT_A_PAIR');
      expect((notAPair as Error).name, what).toBe('NotAPairError');
      if (!(error instanceof JobFailedError)) expect(notAPair, what).toBeInstanceOf(NotAPairError);
      expect((notAPair as Error).message, what).toMatch(/needs pairs \[key, value\], but RDD \d+ \(.+\) produced -?\d+/);
      break;
    }
    case 'stopped': {
      const r = await settle(env.stoppedRdd.map((x) => x + 1).count());
      expect(r.ok, what).toBe(false);
      expect(r.ok ? undefined : r.error, what).toBeInstanceOf(ContextStoppedError);
      break;
    }
    case 'cyclicZero': {
      const zero: Sum = { n: 0 };
      zero.self = zero;
      const add = (acc: Sum, x: number): Sum => ({ ...acc, n: acc.n + x });
      const merge = (a: Sum, b: Sum): Sum => ({ ...a, n: a.n + b.n });
      const pairs = prefix.map((x): [number, number] => [((x % 3) + 3) % 3, x]);
      const total = async (): Promise<number> => {
        if (m.op === 'fold') return (await prefix.map((x): Sum => ({ n: x })).fold(zero, merge)).n;
        if (m.op === 'aggregate') return (await prefix.aggregate(zero, add, merge)).n;
        const byKey = m.op === 'foldByKey' ? pairs.mapValues((x): Sum => ({ n: x })).foldByKey(zero, merge) : pairs.aggregateByKey(zero, add, merge);
        return (await byKey.values().collect()).reduce((a, z) => a + z.n, 0);
      };
      const r = await settle(total());
      expect(r.ok ? r.value : show(r.error), what).toBe(prefixModel.reduce((a, x) => a + x, 0));
      break;
    }
    case 'saveExisting': {
      const out = path.join(dir, `existing-${run}`);
      mkdirSync(out);
      writeFileSync(path.join(out, 'keep.txt'), 'precious');
      const save =
        m.format === 'text' ? prefix.saveAsTextFile(out) : m.format === 'object' ? prefix.saveAsObjectFile(out) : prefix.saveAsJsonLines(out);
      const r = await settle(save);
      expect(r.ok, what).toBe(false);
      const error = r.ok ? undefined : r.error;
      expect(error, `${what}: ${show(error)}`).toBeInstanceOf(OutputPathError);
      expect((error as Error).message, what).toContain(`Output path ${out} already exists`);
      // Nothing already written is lost or half-written.
      expect(readdirSync(out), what).toEqual(['keep.txt']);
      expect(readFileSync(path.join(out, 'keep.txt'), 'utf8'), what).toBe('precious');
      break;
    }
    case 'readMissing': {
      const missing = path.join(dir, `missing-${run}`);
      const r = await settle(loose(sc)[m.reader](missing).count());
      expect(r.ok, what).toBe(false);
      const error = r.ok ? undefined : r.error;
      expect(error, `${what}: ${show(error)}`).toBeInstanceOf(InputPathError);
      expect((error as Error).message, what).toContain(`Input path does not exist: ${missing}`);
      break;
    }
  }
  await expectIdle(sc, what);
  // The context is whole: the valid chain, built again, gives the model's result.
  const after = await settle(buildChain(sc, c).collect());
  expect(after.ok, `${what}: the valid chain afterwards failed: ${after.ok ? '' : show(after.error)}`).toBe(true);
  expect(sorted(after.ok ? after.value : []), what).toEqual(sorted(modelChain(c)));
}

// ---- the properties ----------------------------------------------------------------------------------------------

const CONFIGS = [
  { name: 'local[2], memory engine', seed: 0, runs: RUNS, options: { master: 'local[2]', engine: 'memory' } },
  { name: 'local[2], mapreduce engine', seed: 1, runs: Math.max(1, Math.ceil(RUNS / 3)), options: { master: 'local[2]', engine: 'mapreduce' } },
] as const satisfies ReadonlyArray<{ name: string; seed: number; runs: number; options: ContextOptions }>;

describe.each(CONFIGS)('the public API misused at random ($name)', ({ name, seed, runs, options }) => {
  let env: Env;
  let localDir: string;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-misuse-'));
    localDir = path.join(dir, 'local');
    const stopped = new Context({ master: 'local[1]', progress: false, hints: false, ui: false });
    const stoppedRdd = stopped.parallelize([1, 2, 3], 2);
    await stopped.stop();
    const sc = new Context({ progress: false, hints: false, ui: false, localDir, ...options });
    env = { sc, dir, stopped, stoppedRdd };
  });
  afterAll(async () => {
    await env.sc.stop();
    // No spill or shuffle file of a failed job outlives the context.
    expect(existsSync(localDir) ? readdirSync(localDir) : []).toEqual([]);
    rmSync(env.dir, { recursive: true, force: true });
  });

  it(`every misuse is a clear KindlingError; the context then runs the valid chain to the model's result (seed ${SEED + seed})`, async () => {
    const tally = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(chains, misuses, (c, m) => runOne(env, c, m, tally)),
      { numRuns: runs, seed: SEED + seed, endOnFailure: true },
    );
    console.log(`random misuse (${name}): ${JSON.stringify(Object.fromEntries([...tally].sort()))}, seed ${SEED + seed}`);
  }, 600_000);
});
