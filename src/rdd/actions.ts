/**
 * Actions: each runs one job (take may run a few) and merges the per-partition results on the driver. The
 * per-partition half of each action is in result-functions.ts.
 */
import { compareKeys, keyId } from '../core/keys.js';
import { StructuralMap } from '../core/structural-map.js';
import { setupJob, commitJob, abortJob } from '../io/index.js';
import type { ShippedFunction } from '../closure/index.js';
import { emptyStats, mergeStats, type MaybeValue, type StatCounter } from './result-functions.js';
import type { RDD } from './internal.js';

/** Count, mean, sum, min, max, variance (population and sample) and standard deviations. */
export interface Stats {
  readonly count: number;
  readonly mean: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly variance: number;
  readonly sampleVariance: number;
  readonly stdev: number;
  readonly sampleStdev: number;
}

const any = (rdd: RDD<unknown>): RDD<unknown> => rdd;
const cloneZero = <T>(z: T): T => (z === null || typeof z !== 'object' ? z : structuredClone(z));

function ship(rdd: RDD<unknown>, op: string, fn: Function): ShippedFunction {
  if (typeof fn !== 'function') throw new TypeError(`${op} expects a function, got ${typeof fn}`);
  return rdd.context.ship(fn, `${op} function of an action on ${rdd.label}`)!;
}

function emptyError(rdd: RDD<unknown>, op: string): Error {
  return new Error(`${op}() on an empty collection: ${rdd.label} is empty`);
}

export async function collect<T>(rdd: RDD<T>): Promise<T[]> {
  const parts = await rdd.context.runJob<T[]>(any(rdd), { kind: 'collect' }, undefined, `collect at ${rdd.label}`);
  return parts.flat() as T[];
}

export async function count(rdd: RDD<unknown>): Promise<number> {
  const parts = await rdd.context.runJob<number>(rdd, { kind: 'count' }, undefined, `count at ${rdd.label}`);
  return parts.reduce((a, b) => a + b, 0);
}

/**
 * Spark's take: scan one partition first, then more partitions each round (up to 4x the scanned count,
 * estimated from how many elements the scanned ones gave), stopping as soon as `n` are found.
 */
export async function take<T>(rdd: RDD<T>, n: number): Promise<T[]> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`take: n must be a non-negative integer, got ${n}`);
  const buf: T[] = [];
  const total = rdd.getNumPartitions();
  let scanned = 0;
  while (buf.length < n && scanned < total) {
    let tryCount = 1;
    if (scanned > 0) {
      tryCount = buf.length === 0 ? scanned * 4 : Math.min(Math.max(Math.ceil((1.5 * n * scanned) / buf.length) - scanned, 1), scanned * 4);
    }
    const parts = Array.from({ length: Math.min(tryCount, total - scanned) }, (_, i) => scanned + i);
    const results = await rdd.context.runJob<T[]>(any(rdd), { kind: 'take', n: n - buf.length }, parts, `take at ${rdd.label}`);
    for (const r of results) for (const x of r) if (buf.length < n) buf.push(x);
    scanned += parts.length;
  }
  return buf;
}

export async function first<T>(rdd: RDD<T>): Promise<T> {
  const xs = await take(rdd, 1);
  if (xs.length === 0) throw emptyError(any(rdd), 'first');
  return xs[0] as T;
}

export async function takeOrdered<T>(rdd: RDD<T>, n: number, keyFn: ((x: T) => unknown) | undefined, descending: boolean): Promise<T[]> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`takeOrdered/top: n must be a non-negative integer, got ${n}`);
  const wire = { kind: 'takeOrdered' as const, n, descending, ...(keyFn ? { keyFn: ship(any(rdd), descending ? 'top' : 'takeOrdered', keyFn) } : {}) };
  const parts = await rdd.context.runJob<Array<[unknown, T]>>(any(rdd), wire, undefined, `takeOrdered at ${rdd.label}`);
  const sign = descending ? -1 : 1;
  // Stable sort over partition order keeps earlier elements first among equal keys.
  return parts
    .flat()
    .sort((a, b) => sign * compareKeys(a[0], b[0]))
    .slice(0, n)
    .map((kx) => kx[1]);
}

export async function reduce<T>(rdd: RDD<T>, fn: (a: T, b: T) => T): Promise<T> {
  const parts = await rdd.context.runJob<MaybeValue>(any(rdd), { kind: 'reduce', fn: ship(any(rdd), 'reduce', fn) }, undefined, `reduce at ${rdd.label}`);
  let has = false;
  let acc: T | undefined;
  for (const r of parts) {
    if (r.empty) continue;
    acc = has ? fn(acc as T, r.value as T) : (r.value as T);
    has = true;
  }
  if (!has) throw emptyError(any(rdd), 'reduce');
  return acc as T;
}

export async function fold<T>(rdd: RDD<T>, zero: T, fn: (a: T, b: T) => T): Promise<T> {
  const parts = await rdd.context.runJob<T>(any(rdd), { kind: 'fold', zero, fn: ship(any(rdd), 'fold', fn) }, undefined, `fold at ${rdd.label}`);
  return parts.reduce((acc, x) => fn(acc, x), cloneZero(zero));
}

export async function aggregate<T, U>(rdd: RDD<T>, zero: U, seqOp: (acc: U, x: T) => U, combOp: (a: U, b: U) => U): Promise<U> {
  ship(any(rdd), 'aggregate combOp', combOp);
  const parts = await rdd.context.runJob<U>(
    any(rdd),
    { kind: 'aggregate', zero, seqOp: ship(any(rdd), 'aggregate seqOp', seqOp) },
    undefined,
    `aggregate at ${rdd.label}`,
  );
  return parts.reduce((acc, x) => combOp(acc, x), cloneZero(zero));
}

export async function foreach<T>(rdd: RDD<T>, fn: (x: T) => void): Promise<void> {
  await rdd.context.runJob(any(rdd), { kind: 'foreach', fn: ship(any(rdd), 'foreach', fn) }, undefined, `foreach at ${rdd.label}`);
}

export async function foreachPartition<T>(rdd: RDD<T>, fn: (it: Iterable<T>) => void): Promise<void> {
  await rdd.context.runJob(any(rdd), { kind: 'foreachPartition', fn: ship(any(rdd), 'foreachPartition', fn) }, undefined, `foreachPartition at ${rdd.label}`);
}

/** Counts per distinct element, in a Map keyed structurally; the first-seen element object stands for its group. */
export async function countByValue<T>(rdd: RDD<T>): Promise<Map<T, number>> {
  const parts = await rdd.context.runJob<Array<[T, number]>>(any(rdd), { kind: 'countByValue' }, undefined, `countByValue at ${rdd.label}`);
  const merged = new Map<unknown, [T, number]>();
  for (const part of parts) {
    for (const [x, c] of part) {
      const id = keyId(x);
      const cur = merged.get(id);
      if (cur === undefined) merged.set(id, [x, c]);
      else cur[1] += c;
    }
  }
  return new StructuralMap(merged.values());
}

export function countByKey<K, V>(rdd: RDD<[K, V]>): Promise<Map<K, number>> {
  return countByValue(rdd.keys());
}

export async function collectAsMap<K, V>(rdd: RDD<[K, V]>): Promise<Map<K, V>> {
  const pairs = await collect(rdd);
  const byId = new Map<unknown, [K, V]>();
  for (const [k, v] of pairs) {
    const id = keyId(k);
    const cur = byId.get(id);
    if (cur === undefined) byId.set(id, [k, v]);
    else cur[1] = v;
  }
  return new StructuralMap(byId.values());
}

export async function lookup<K, V>(rdd: RDD<[K, V]>, key: K): Promise<V[]> {
  const p = rdd.partitioner;
  let parts: number[] | undefined;
  try {
    if (p !== undefined) parts = [p.getPartition(key)];
  } catch {
    parts = undefined; // a partitioner without bounds yet: scan everything
  }
  const results = await rdd.context.runJob<V[]>(any(rdd), { kind: 'lookup', key }, parts, `lookup at ${rdd.label}`);
  return results.flat() as V[];
}

export async function stats(rdd: RDD<number>): Promise<Stats> {
  const parts = await rdd.context.runJob<StatCounter>(any(rdd), { kind: 'stats' }, undefined, `stats at ${rdd.label}`);
  const s = parts.reduce(mergeStats, emptyStats());
  const variance = s.n === 0 ? NaN : s.m2 / s.n;
  const sampleVariance = s.n <= 1 ? NaN : s.m2 / (s.n - 1);
  return {
    count: s.n,
    mean: s.n === 0 ? NaN : s.mu,
    sum: s.sum,
    min: s.min,
    max: s.max,
    variance,
    sampleVariance,
    stdev: Math.sqrt(variance),
    sampleStdev: Math.sqrt(sampleVariance),
  };
}

export async function extreme<T>(rdd: RDD<T>, which: 'max' | 'min'): Promise<T> {
  const parts = await rdd.context.runJob<MaybeValue>(any(rdd), { kind: 'extreme', which }, undefined, `${which} at ${rdd.label}`);
  let has = false;
  let best: unknown;
  const sign = which === 'max' ? 1 : -1;
  for (const r of parts) {
    if (r.empty) continue;
    if (!has || sign * compareKeys(r.value, best) > 0) best = r.value;
    has = true;
  }
  if (!has) throw emptyError(any(rdd), which);
  return best as T;
}

/** The input specs of the files `rdd` reads (its textFile and wholeTextFiles ancestors), found without listing. */
function inputSpecs(rdd: RDD<unknown>): string[] {
  const specs: string[] = [];
  const seen = new Set<number>();
  const stack = [rdd];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    if (r.kind === 'TextFileRDD' || r.kind === 'WholeTextFileRDD') specs.push((r as RDD<unknown> & { path: string }).path);
    for (const d of r.dependencies) stack.push(d.rdd);
  }
  return specs;
}

/** Hadoop's commit protocol: tasks write and commit into a staging folder; the job is moved into place at the end. */
export async function saveAsTextFile(rdd: RDD<unknown>, path: string, overwrite: boolean): Promise<void> {
  const plan = await setupJob(path, {
    overwrite,
    jobId: `rdd${rdd.id}`,
    numPartitions: rdd.getNumPartitions(),
    inputs: inputSpecs(rdd),
  });
  try {
    await rdd.context.runJob(rdd, { kind: 'save', plan }, undefined, `saveAsTextFile at ${rdd.label}`);
    await commitJob(plan);
  } catch (e) {
    await abortJob(plan);
    throw e;
  }
}
