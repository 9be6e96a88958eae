/**
 * What a result task computes from its partition, for each action. The driver names the function and its
 * arguments as plain data; the worker runs it and posts back only the (usually small) result. Merging the
 * per-partition results happens on the driver, in actions.ts.
 */
import type { Compile, Fn, ShippedFunction } from '../closure/index.js';
import { cloneZero } from '../shuffle/aggregator.js';
import { compareKeys, hashKey, keyId, keysEqual } from '../core/keys.js';
import { InvalidDataError, NotAPairError, describeValue, isPair, tagUserError } from '../core/errors.js';
import { reservoirSample } from '../core/partitioner.js';
import { checkHeap } from '../core/heap-guard.js';
import { writeTaskOutput, commitTask, type JobOutputPlan } from '../io/index.js';
import { writeCheckpointPartition } from '../storage/checkpoint-files.js';
import type { TaskContext } from './task-context.js';
import { refuseClassInstances, type RDD } from './internal.js';
import type { EncodedBucket, StringColumn } from '../shuffle/bucket-codec.js';
import type { NumberGroupsSink } from '../shuffle/external-combiner.js';

/** Columns of a partition's pairs as an encoded bucket of their own (copies of views, so they may be transferred). */
function pairColumnsOf(keys: Int32Array | string[], combiners: Float64Array): EncodedBucket {
  return {
    length: keys.length,
    keys: keys instanceof Int32Array ? { kind: 'i32', data: keys.slice() } : { kind: 'any', data: keys },
    values: { kind: 'f64', data: combiners.slice() },
  };
}

export type ResultFunctionWire =
  /**
   * `pairColumns`: the driver may keep a partition's list of pairs in the columns it travelled in (the local
   * backend's long results, see `exec/local/worker-api.ts`) instead of building its pairs: the action reads them
   * (collectAsMap). The task computes the same list either way.
   */
  | { readonly kind: 'collect'; readonly pairColumns?: true }
  | { readonly kind: 'count' }
  | { readonly kind: 'take'; readonly n: number }
  | { readonly kind: 'reduce'; readonly fn: ShippedFunction }
  | { readonly kind: 'fold'; readonly zero: unknown; readonly fn: ShippedFunction }
  | { readonly kind: 'aggregate'; readonly zero: unknown; readonly seqOp: ShippedFunction }
  | { readonly kind: 'foreach'; readonly fn: ShippedFunction }
  | { readonly kind: 'foreachPartition'; readonly fn: ShippedFunction }
  | { readonly kind: 'takeOrdered'; readonly n: number; readonly keyFn?: ShippedFunction; readonly descending: boolean }
  | { readonly kind: 'countByValue' }
  | { readonly kind: 'lookup'; readonly key: unknown }
  | { readonly kind: 'stats' }
  | { readonly kind: 'extreme'; readonly which: 'max' | 'min'; readonly keyFn?: ShippedFunction }
  | { readonly kind: 'hyperLogLog'; readonly p: number }
  | { readonly kind: 'histogram'; readonly buckets: readonly unknown[]; readonly even: boolean }
  | { readonly kind: 'sampleKeys'; readonly k: number; readonly seed: number; readonly for: string }
  | { readonly kind: 'save'; readonly plan: JobOutputPlan }
  | { readonly kind: 'checkpoint'; readonly dir: string };

/** Mergeable summary of numbers (Spark's StatCounter). */
export interface StatCounter {
  n: number;
  mu: number;
  m2: number;
  sum: number;
  max: number;
  min: number;
}

export type MaybeValue = { readonly empty: true } | { readonly empty: false; readonly value: unknown };

/** A task's growing result is measured against the heap every this many elements (a power of 2, minus 1). */
const CHECK_MASK = 4095;
const COLLECT_HINT = 'collect fewer elements (take, sample, a reduction) or write them out with saveAsTextFile';

export type ResultRunner = (rdd: RDD<unknown>, partition: number, tc: TaskContext) => unknown;

/** Builds the runner for one result function, compiling its user functions first. */
export async function prepareResultFunction(wire: ResultFunctionWire, compile: Compile): Promise<ResultRunner> {
  switch (wire.kind) {
    case 'collect':
      if (wire.pairColumns === true) {
        // The driver reads the pairs as columns: where the partition's pairs end as columns (a reduceByKey of
        // words or int32 keys counting numbers), they go as they are, with no pair built (see EncodedBucket).
        return (rdd, p, tc) => {
          const out: unknown[] = [];
          let columns: EncodedBucket | undefined;
          const pairColumns: NumberGroupsSink = Object.assign(
            (keys: Int32Array | string[], combiners: Float64Array): void => {
              columns = pairColumnsOf(keys, combiners);
            },
            {
              // String keys as chars (latin1 or utf16) where the combine holds them so: the driver makes each key's
              // string as it merges (its Map needs them), and the reducer neither makes nor clones ~550k strings (a
              // high-cardinality word count); the arrays are this call's own, so they are moved, not copied.
              stringColumns: (keys: StringColumn, combiners: Float64Array): void => {
                columns = { length: keys.ends.length, keys, values: { kind: 'f64', data: combiners } };
              },
            },
          );
          rdd.forEachOrColumns(
            p,
            tc,
            (x) => {
              if ((out.push(x) & CHECK_MASK) === 0) checkHeap(() => `the collected elements of ${rdd.label} (${out.length} so far)`, COLLECT_HINT);
            },
            pairColumns,
          );
          return columns ?? out;
        };
      }
      return (rdd, p, tc) => {
        const out: unknown[] = [];
        rdd.forEach(p, tc, (x) => {
          if ((out.push(x) & CHECK_MASK) === 0) checkHeap(() => `the collected elements of ${rdd.label} (${out.length} so far)`, COLLECT_HINT);
        });
        return out;
      };
    case 'count':
      return (rdd, p, tc) => {
        let n = 0;
        rdd.forEach(p, tc, () => n++);
        return n;
      };
    case 'take':
      return (rdd, p, tc) => {
        const out: unknown[] = [];
        if (wire.n <= 0) return out;
        // Pull so the scan stops as soon as enough elements are found.
        for (const x of rdd.iterator(p, tc)) {
          out.push(x);
          if (out.length >= wire.n) break;
        }
        return out;
      };
    case 'reduce': {
      const f = await compile(wire.fn);
      return (rdd, p, tc) => {
        let has = false;
        let acc: unknown;
        guarded(rdd, 'reduce', () =>
          rdd.forEach(p, tc, (x) => {
            if (has) acc = f(acc, x);
            else {
              acc = x;
              has = true;
            }
          }),
        );
        return has ? { empty: false, value: acc } : { empty: true };
      };
    }
    case 'fold':
    case 'aggregate': {
      const f = await compile(wire.kind === 'fold' ? wire.fn : wire.seqOp);
      return (rdd, p, tc) => {
        let acc = cloneZero(wire.zero);
        guarded(rdd, wire.kind, () =>
          rdd.forEach(p, tc, (x) => {
            acc = f(acc, x);
          }),
        );
        return acc;
      };
    }
    case 'foreach': {
      const f = await compile(wire.fn);
      return (rdd, p, tc) => {
        guarded(rdd, 'foreach', () =>
          rdd.forEach(p, tc, (x) => {
            const r = f(x);
            if (r instanceof Promise) {
              // Its outcome is not awaited; a rejection must not surface later as an unhandled one.
              r.catch(() => {});
              throw new InvalidDataError(
                `the foreach function of an action on ${rdd.label} returned a Promise, which foreach does not await: ` +
                  'use rdd.foreachPartition(async (it) => { for (const x of it) await ... }), which awaits, or rdd.mapAsync.',
              );
            }
          }),
        );
        return null;
      };
    }
    case 'foreachPartition': {
      const f = await compile(wire.fn);
      return (rdd, p, tc) => {
        let r: unknown;
        guarded(rdd, 'foreachPartition', () => {
          r = f(rdd.iterator(p, tc));
        });
        // An async function (or one returning a Promise) is awaited, so the task ends when its work does.
        if (r instanceof Promise) {
          return r.then(
            () => null,
            (e: unknown) => {
              throw tagUserError(e, rdd.id, `${rdd.label} (foreachPartition function)`);
            },
          );
        }
        return null;
      };
    }
    case 'takeOrdered': {
      const keyFn = wire.keyFn ? await compile(wire.keyFn) : undefined;
      return (rdd, p, tc) => {
        let out: unknown[] = [];
        guarded(rdd, 'takeOrdered key', () => (out = takeOrderedPartition(rdd, p, tc, wire.n, keyFn, wire.descending)));
        return out;
      };
    }
    case 'countByValue':
      return (rdd, p, tc) => {
        const counts = new Map<unknown, [unknown, number]>();
        rdd.forEach(p, tc, (x) => {
          const id = keyId(x);
          const c = counts.get(id);
          if (c === undefined) counts.set(id, [x, 1]);
          else c[1]++;
        });
        return [...counts.values()];
      };
    case 'lookup':
      return (rdd, p, tc) => {
        const out: unknown[] = [];
        rdd.forEach(p, tc, (kv) => {
          if (!isPair(kv)) throw new NotAPairError('lookup', rdd.label, kv);
          const [k, v] = kv as [unknown, unknown];
          if (keysEqual(k, wire.key)) out.push(v);
        });
        return out;
      };
    case 'stats':
      return (rdd, p, tc) => {
        const s = emptyStats();
        rdd.forEach(p, tc, (x) => {
          // `x - mu` and `sum += x` take a string without an error: sum() of ['a', 'b'] was "0a0b" (PySpark raises a
          // TypeError); a bigint failed with V8's "Cannot mix BigInt" naming nothing.
          if (typeof x !== 'number') throw notANumber(rdd.label, x);
          addStat(s, x);
        });
        return s;
      };
    case 'extreme': {
      const keyFn = wire.keyFn ? await compile(wire.keyFn) : undefined;
      return (rdd, p, tc) => {
        let has = false;
        let best: unknown;
        let bestKey: unknown;
        const sign = wire.which === 'max' ? 1 : -1;
        guarded(rdd, `${wire.which} key`, () =>
          rdd.forEach(p, tc, (x) => {
            const k = keyFn ? keyFn(x) : x;
            if (!has || sign * compareKeys(k, bestKey) > 0) {
              best = x;
              bestKey = k;
              has = true;
            }
          }),
        );
        return has ? { empty: false, value: [bestKey, best] } : { empty: true };
      };
    }
    case 'hyperLogLog':
      return (rdd, p, tc) => {
        const registers = new Uint8Array(1 << wire.p);
        rdd.forEach(p, tc, (x) => addToHyperLogLog(registers, wire.p, hashKey(x)));
        return registers;
      };
    case 'histogram':
      return (rdd, p, tc) => {
        const counts = new Array<number>(wire.buckets.length - 1).fill(0);
        const bucketOf = histogramBucketFinder(wire.buckets, wire.even);
        rdd.forEach(p, tc, (x) => {
          const i = bucketOf(x);
          if (i >= 0) counts[i]!++;
        });
        return counts;
      };
    case 'sampleKeys':
      return (rdd, p, tc) => {
        const keys: unknown[] = [];
        rdd.forEach(p, tc, (kv) => {
          if (!isPair(kv)) throw new NotAPairError(wire.for, rdd.label, kv);
          keys.push((kv as [unknown, unknown])[0]);
        });
        return reservoirSample(keys, wire.k, wire.seed * 1000003 + p);
      };
    case 'save':
      return (rdd, p, tc) => {
        const written = writeTaskOutput(wire.plan, p, tc.attempt, rdd.iterator(p, tc));
        tc.outputWritten?.(written.records, written.bytes);
        // Only one attempt per partition commits; a losing (speculative or retried) attempt's file is discarded.
        return commitTask(wire.plan, p, tc.attempt).committed;
      };
    case 'checkpoint':
      return (rdd, p, tc) => {
        const values: unknown[] = [];
        rdd.forEach(p, tc, (x) => values.push(x));
        refuseClassInstances(values, `${rdd.label}, checkpointed,`, 'would be read back from the checkpoint');
        return writeCheckpointPartition(wire.dir, p, tc.attempt, values);
      };
    default: {
      const never: never = wire;
      // internal: exhaustive switch over the result function kinds
      throw new Error(`unknown result function ${(never as ResultFunctionWire).kind}`);
    }
  }
}

/**
 * Runs a loop that calls a user function, tagging what it throws with the RDD (an error from an upstream RDD
 * keeps its own, innermost tag). One try around the loop, not one per element: the hot path stays a plain call.
 */
function guarded(rdd: RDD<unknown>, op: string, loop: () => void): void {
  try {
    loop();
  } catch (e) {
    throw tagUserError(e, rdd.id, `${rdd.label} (${op} function)`);
  }
}

/** The n best `[key, element]` of a partition, best first. */
function takeOrderedPartition(rdd: RDD<unknown>, p: number, tc: TaskContext, n: number, keyFn: Fn | undefined, descending: boolean): unknown[] {
  if (n <= 0) return [];
  const sign = descending ? -1 : 1;
  const best: Array<[unknown, unknown]> = [];
  rdd.forEach(p, tc, (x) => {
    const k = keyFn ? keyFn(x) : x;
    if (best.length === n && sign * compareKeys(k, best[n - 1]![0]) >= 0) return;
    // Binary insertion keeps `best` sorted; ties go after existing ones so earlier elements win.
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sign * compareKeys(best[mid]![0], k) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, [k, x]);
    if (best.length > n) best.pop();
  });
  return best;
}

function notANumber(label: string, x: unknown): InvalidDataError {
  return new InvalidDataError(
    `sum, mean, stats, variance and stdev take numbers, but ${label} holds ${typeof x} ${describeValue(x)}. ` +
      'Convert the elements first, e.g. rdd.map(Number).',
  );
}

export function emptyStats(): StatCounter {
  return { n: 0, mu: 0, m2: 0, sum: 0, max: -Infinity, min: Infinity };
}

function addStat(s: StatCounter, x: number): void {
  const delta = x - s.mu;
  s.n += 1;
  s.mu += delta / s.n;
  s.m2 += delta * (x - s.mu);
  s.sum += x;
  // A NaN makes min and max NaN from then on, as Scala's StatCounter (math.max/min) and PySpark's (numpy's
  // maximum/minimum) do; a plain `x > max` skipped it, so stats() of [1, NaN, 3] gave max 3 while max() gave NaN.
  // (min() still answers 3: it orders NaN after +Infinity, as Scala's Ordering.Double.)
  if (x > s.max || x !== x) s.max = x;
  if (x < s.min || x !== x) s.min = x;
}

/** Chan et al.'s parallel merge of two summaries. */
export function mergeStats(a: StatCounter, b: StatCounter): StatCounter {
  if (b.n === 0) return a;
  if (a.n === 0) return { ...b };
  const n = a.n + b.n;
  const delta = b.mu - a.mu;
  return {
    n,
    mu: a.mu + (delta * b.n) / n,
    m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n,
    sum: a.sum + b.sum,
    max: Math.max(a.max, b.max),
    min: Math.min(a.min, b.min),
  };
}

/**
 * Adds one 32-bit hash to HyperLogLog registers (Flajolet et al.): the top `p` bits pick the register, which
 * keeps the largest position of the first 1 bit among the remaining bits. The hash is mixed again first so
 * small integers, which the key hash leaves close together, spread over the registers.
 */
export function addToHyperLogLog(registers: Uint8Array, p: number, hash: number): void {
  let h = hash | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  const index = h >>> (32 - p);
  const rest = (h << p) >>> 0;
  const rank = rest === 0 ? 32 - p + 1 : Math.clz32(rest) + 1;
  if (rank > registers[index]!) registers[index] = rank;
}

/** The cardinality estimate of HyperLogLog registers, with the small- and large-range corrections. */
export function estimateHyperLogLog(registers: Uint8Array): number {
  const m = registers.length;
  const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
  let sum = 0;
  let zeros = 0;
  for (const r of registers) {
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const e = (alpha * m * m) / sum;
  if (e <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  const two32 = 2 ** 32;
  if (e > two32 / 30) return Math.round(-two32 * Math.log(1 - e / two32));
  return Math.round(e);
}

/**
 * The bucket index of a value for `histogram`, or -1 when it falls outside (or is NaN, null or of another
 * type). Buckets are `[b0, b1), [b1, b2), ..., [b(n-1), bn]`: the last one includes its upper bound.
 */
export function histogramBucketFinder(buckets: readonly unknown[], even: boolean): (x: unknown) => number {
  const n = buckets.length - 1;
  const first = buckets[0];
  const last = buckets[n];
  if (even && typeof first === 'number' && typeof last === 'number') {
    const width = (last - first) / n;
    const edges = buckets as readonly number[];
    return (x) => {
      if (typeof x !== 'number' || !(x >= first && x <= last)) return -1;
      // Spark's fast path: arithmetic, with the last bucket closed. The quotient can round across an edge (37 in
      // the buckets of 6..99 in 9, Spark's SPARK-6480), so it is checked against the edges the caller is given: a
      // value equal to an edge counts in the bucket that edge opens.
      let i = Math.floor((x - first) / width);
      if (i >= n) i = n - 1;
      else if (i < 0) i = 0;
      while (i < n - 1 && x >= edges[i + 1]!) i++;
      while (i > 0 && x < edges[i]!) i--;
      return i;
    };
  }
  const kind = typeof first;
  return (x) => {
    if (typeof x !== kind || (typeof x === 'number' && Number.isNaN(x))) return -1;
    if (compareKeys(x, first) < 0 || compareKeys(x, last) > 0) return -1;
    if (compareKeys(x, last) === 0) return n - 1;
    // The last bucket bound not above x.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (compareKeys(buckets[mid], x) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
}
