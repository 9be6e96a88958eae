/**
 * Walks over lineage graphs. Every walk uses an explicit stack: iterative programs build lineages thousands of
 * RDDs deep, deeper than the call stack allows.
 */
import type { ShuffleDependency } from '../rdd/dependency.js';
import type { RDD } from '../rdd/index.js';

/** The RDDs a stage computes: reachable from `rdd` through narrow dependencies, parents before children. */
export function narrowLineage(rdd: RDD<unknown>): RDD<unknown>[] {
  const order: RDD<unknown>[] = [];
  const state = new Map<number, 'open' | 'done'>();
  const stack: Array<{ rdd: RDD<unknown>; expanded: boolean }> = [{ rdd, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      state.set(top.rdd.id, 'done');
      order.push(top.rdd);
      continue;
    }
    if (state.has(top.rdd.id)) continue;
    state.set(top.rdd.id, 'open');
    stack.push({ rdd: top.rdd, expanded: true });
    const deps = top.rdd.dependencies;
    for (let i = deps.length - 1; i >= 0; i--) {
      const d = deps[i]!;
      if (d.type === 'narrow' && !state.has(d.rdd.id)) stack.push({ rdd: d.rdd, expanded: false });
    }
  }
  return order;
}

/** The shuffle dependencies directly below `rdd`'s stage (found through narrow dependencies). */
export function stageShuffleDeps(rdd: RDD<unknown>, stopAt?: (r: RDD<unknown>) => boolean): ShuffleDependency[] {
  const out: ShuffleDependency[] = [];
  const seen = new Set<number>();
  const stack = [rdd];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    if (stopAt?.(r)) continue;
    for (const d of r.dependencies) {
      if (d.type === 'shuffle') out.push(d);
      else stack.push(d.rdd);
    }
  }
  return out;
}

/** Every RDD reachable from `rdd`, crossing shuffles, parents before children. */
export function fullLineage(rdd: RDD<unknown>): RDD<unknown>[] {
  const order: RDD<unknown>[] = [];
  const seen = new Set<number>();
  const stack: Array<{ rdd: RDD<unknown>; expanded: boolean }> = [{ rdd, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.rdd);
      continue;
    }
    if (seen.has(top.rdd.id)) continue;
    seen.add(top.rdd.id);
    stack.push({ rdd: top.rdd, expanded: true });
    for (const d of top.rdd.dependencies) if (!seen.has(d.rdd.id)) stack.push({ rdd: d.rdd, expanded: false });
  }
  return order;
}

/**
 * Runs each RDD's driver-side preparation (sampling, offsets), parents first. `lineage` is `fullLineage(rdd)` when
 * the caller has it already: an iterative program's lineage grows every iteration, and each walk is O(its length).
 */
export async function prepareLineage(rdd: RDD<unknown>, lineage: readonly RDD<unknown>[] = fullLineage(rdd)): Promise<void> {
  for (const r of lineage) if (r.prepare) await r.prepare();
}
