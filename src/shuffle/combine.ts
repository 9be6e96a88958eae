/**
 * Combining by key, the inner loop of every aggregating shuffle (map-side combine, reduce-side merge, and a
 * combine inside already-partitioned data). Primitive keys go straight into one Map; structural keys go in by
 * their canonical id and keep the first-seen key object.
 */
import { keyId } from '../core/keys.js';
import { tagUserError } from '../core/errors.js';
import type { Aggregator } from './aggregator.js';

export type Pair = [unknown, unknown];
type Source = (each: (kv: Pair) => void) => void;

function combine(source: Source, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown, rddId: number, label: string): Pair[] {
  const combiners = new Map<unknown, unknown>();
  // Only structural keys need their first-seen object remembered; primitive keys are their own id.
  const keyObjects = new Map<unknown, unknown>();
  try {
    source((kv) => {
      const k = kv[0];
      const id = keyId(k);
      const cur = combiners.get(id);
      if (cur === undefined && !combiners.has(id)) {
        combiners.set(id, first(kv[1]));
        if (id !== k) keyObjects.set(id, k);
      } else {
        combiners.set(id, merge(cur, kv[1]));
      }
    });
  } catch (e) {
    throw tagUserError(e, rddId, label);
  }
  const out: Pair[] = new Array(combiners.size);
  let i = 0;
  for (const [id, c] of combiners) out[i++] = [keyObjects.size > 0 && keyObjects.has(id) ? keyObjects.get(id) : id, c];
  return out;
}

/** Combines raw values: createCombiner for a key's first value, mergeValue for the rest. */
export function combineValuesByKey(source: Source, agg: Aggregator, rddId: number, label: string): Pair[] {
  return combine(source, agg.createCombiner, agg.mergeValue, rddId, label);
}

/** Merges combiners that map tasks already built. */
export function combineCombinersByKey(source: Source, agg: Aggregator, rddId: number, label: string): Pair[] {
  return combine(source, (c) => c, agg.mergeCombiners, rddId, label);
}
