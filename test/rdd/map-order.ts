/**
 * Comparing the Maps that collectAsMap returns: by order, keys and values, or, for a hash-partitioned RDD merged
 * in arrival order, partition by partition in some order.
 */
import { expect } from 'vitest';
import { keyId } from '../../src/core/keys.js';
import { structuralMap } from '../../src/core/structural-map.js';

/** Entries of a map as [key id, key, value] in iteration order, so that two maps compare by order, keys and values. */
export const entries = (m: Map<unknown, unknown>): unknown[] => [...m].map(([k, v]) => [keyId(k), k, v]);

/**
 * Checks that `got` is the map of each partition's pairs merged one partition after another in some order: every
 * partition's own map (its first-seen key objects, its last values, its order) appears whole and contiguous, each
 * once. Returns the partitions in the order found.
 */
export function expectPartitionsInSomeOrder(got: Map<unknown, unknown>, parts: ReadonlyArray<ReadonlyArray<[unknown, unknown]>>): number[] {
  const own = parts.map((p) => entries(structuralMap(p)));
  const all = entries(got);
  const order: number[] = [];
  let at = 0;
  while (at < all.length) {
    const id = (all[at] as unknown[])[0];
    const i = own.findIndex((e, j) => !order.includes(j) && e.length > 0 && Object.is((e[0] as unknown[])[0], id));
    expect(i, `no partition starts with entry ${at} (${String(id)})`).toBeGreaterThanOrEqual(0);
    expect(all.slice(at, at + own[i]!.length)).toEqual(own[i]);
    order.push(i);
    at += own[i]!.length;
  }
  expect(order.length).toBe(own.filter((e) => e.length > 0).length);
  return order;
}
