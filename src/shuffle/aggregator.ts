/**
 * Aggregators: how the values of one key are combined in a shuffle (Spark's Aggregator). The driver describes one
 * as plain data with shipped functions; a worker compiles it into three functions. Zero values are cloned for each
 * key, so a mutable zero (an array, an object) is never shared between keys.
 */
import type { Compile, ShippedFunction } from '../closure/index.js';
import { heldArrays, unboxDeep } from '../util/unbox.js';

export type AggregatorWire =
  | { readonly kind: 'reduce'; readonly fn: ShippedFunction }
  | { readonly kind: 'fold'; readonly zero: unknown; readonly fn: ShippedFunction }
  | { readonly kind: 'aggregate'; readonly zero: unknown; readonly seqOp: ShippedFunction; readonly combOp: ShippedFunction }
  | {
      readonly kind: 'combine';
      readonly create: ShippedFunction;
      readonly mergeValue: ShippedFunction;
      readonly mergeCombiners: ShippedFunction;
    }
  /** groupByKey: values collected into arrays (no map-side combine, as in Spark). */
  | { readonly kind: 'group' }
  /** distinct: keep the first value seen for a key. */
  | { readonly kind: 'first' };

/** A compiled aggregator, used by shuffle writers and readers in a worker. */
export interface Aggregator {
  createCombiner(v: unknown): unknown;
  mergeValue(c: unknown, v: unknown): unknown;
  mergeCombiners(a: unknown, b: unknown): unknown;
}

/**
 * The engine's own combiner functions, one object each per worker rather than a closure per stage: the combine's loops
 * inline them, and V8's optimized code checks the callee's identity, so a new closure each stage deoptimized those
 * loops ("wrong call target") and compiled them again in the next iterations (docs/benchmarks.md, session 22).
 */
const identity = (v: unknown): unknown => v;
const keepFirst = (c: unknown): unknown => c;
const newGroup = (v: unknown): unknown => [v];
const groupValue = (c: unknown, v: unknown): unknown => {
  (c as unknown[]).push(v);
  return c;
};
const groupGroups = (a: unknown, b: unknown): unknown => {
  const xs = a as unknown[];
  for (const v of b as unknown[]) xs.push(v);
  return xs;
};

/** Builds the worker-side aggregator from its description. */
export async function compileAggregator(wire: AggregatorWire, compile: Compile): Promise<Aggregator> {
  switch (wire.kind) {
    case 'reduce': {
      const f = await compile(wire.fn);
      return { createCombiner: identity, mergeValue: f, mergeCombiners: f };
    }
    case 'fold': {
      const f = await compile(wire.fn);
      const zero = wire.zero;
      const copy = zeroCopier(zero);
      return { createCombiner: (v) => f(copy(), v), mergeValue: f, mergeCombiners: f };
    }
    case 'aggregate': {
      const seq = await compile(wire.seqOp);
      const comb = await compile(wire.combOp);
      const zero = wire.zero;
      const copy = zeroCopier(zero);
      return { createCombiner: (v) => seq(copy(), v), mergeValue: seq, mergeCombiners: comb };
    }
    case 'combine': {
      const [create, mergeValue, mergeCombiners] = await Promise.all([compile(wire.create), compile(wire.mergeValue), compile(wire.mergeCombiners)]);
      return { createCombiner: create, mergeValue, mergeCombiners };
    }
    case 'group':
      return { createCombiner: newGroup, mergeValue: groupValue, mergeCombiners: groupGroups };
    case 'first':
      return { createCombiner: identity, mergeValue: keepFirst, mergeCombiners: keepFirst };
    default: {
      const never: never = wire;
      // internal: exhaustive switch over the aggregator kinds
      throw new Error(`unknown aggregator ${(never as { kind: string }).kind}`);
    }
  }
}

/**
 * Primitives need no copy; anything else is deep-copied so each key (or partition) starts from a fresh zero, its
 * arrays of numbers unboxed: a clone stores them boxed, and a seqOp that adds into its accumulator in place (Spark's
 * contract allows it) would then allocate a heap number for every number it stores.
 */
export function cloneZero<T>(zero: T): T {
  return zeroCopier(zero)();
}

/** No Map, Set or class instance in a zero: the same for each of its clones. */
const NOTHING_HELD: ReadonlySet<object> = new Set();

/**
 * {@link cloneZero} for one zero, many times (a copy per key): whether the zero holds anything unboxDeep must leave
 * alone is asked once here, not for every key's copy.
 */
export function zeroCopier<T>(zero: T): () => T {
  if (zero === null || typeof zero !== 'object') return () => zero;
  const held = heldArrays(zero).size === 0 ? NOTHING_HELD : undefined;
  return () => unboxDeep(structuredClone(zero), new Map(), held) as T;
}
