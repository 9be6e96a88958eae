/**
 * Combining by key, the inner loop of every aggregating shuffle (map-side combine, reduce-side merge, and a
 * combine inside already-partitioned data). Primitive keys are their own Map key; structural keys go in by their
 * canonical id and keep the first-seen key object.
 */
import { keyId } from '../core/keys.js';
import { tagUserError } from '../core/errors.js';
import type { Aggregator } from './aggregator.js';

export type Pair = [unknown, unknown];
type Source = (each: (kv: Pair) => void) => void;

function combine(source: Source, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown, rddId: number, label: string): Pair[] {
  // Each group is stored as its output pair [first-seen key, combiner], updated in place: a key already seen
  // costs one Map lookup, a new key one lookup and one insert.
  const groups = new Map<unknown, Pair>();
  try {
    source((kv) => {
      const id = keyId(kv[0]);
      const g = groups.get(id);
      if (g === undefined) groups.set(id, [kv[0], first(kv[1])]);
      else g[1] = merge(g[1], kv[1]);
    });
  } catch (e) {
    throw tagUserError(e, rddId, label);
  }
  return Array.from(groups.values());
}

/** Combines raw values: createCombiner for a key's first value, mergeValue for the rest. */
export function combineValuesByKey(source: Source, agg: Aggregator, rddId: number, label: string): Pair[] {
  return combine(source, agg.createCombiner, agg.mergeValue, rddId, label);
}

/** Merges combiners that map tasks already built. */
export function combineCombinersByKey(source: Source, agg: Aggregator, rddId: number, label: string): Pair[] {
  return combine(source, (c) => c, agg.mergeCombiners, rddId, label);
}
