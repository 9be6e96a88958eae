import type { RddWireBody } from './wire.js';
import { cachedPreferredLocations, customNarrow, type Dependency } from './dependency.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/**
 * The parent partitions each of `n` coalesced partitions reads, for a parent of `parentN` partitions whose partition
 * `q` is held by worker `locationOf(q)` (undefined: nowhere, it will be computed). Spark's DefaultPartitionCoalescer
 * in spirit, made deterministic: without any location, neighbouring ranges [floor(i*N/n), floor((i+1)*N/n)), so
 * element order is kept; with locations, each worker gets groups in proportion to the partitions it holds (largest
 * remainder) and its partitions are split among them in order, so a group reads its parents on one worker; partitions
 * of a worker left without a group (or held nowhere) join the smallest group. Every group is non-empty, sorted, and
 * groups follow their first partition.
 *
 * @example
 * ```ts
 * coalesceGroups(4, 2, () => undefined);           // [[0, 1], [2, 3]]
 * coalesceGroups(4, 2, (q) => q % 2);              // [[0, 2], [1, 3]]: partitions 0 and 2 sit on worker 0
 * ```
 */
export function coalesceGroups(parentN: number, n: number, locationOf: (q: number) => number | undefined): number[][] {
  const buckets = new Map<number | undefined, number[]>();
  for (let q = 0; q < parentN; q++) {
    const w = locationOf(q);
    const b = buckets.get(w);
    if (b === undefined) buckets.set(w, [q]);
    else b.push(q);
  }
  if (buckets.size === 1 && buckets.has(undefined)) {
    return Array.from({ length: n }, (_, i) => {
      const out: number[] = [];
      for (let q = Math.floor((i * parentN) / n); q < Math.floor(((i + 1) * parentN) / n); q++) out.push(q);
      return out;
    });
  }
  // Groups per bucket by largest remainder of n * size / parentN (never more than its partitions, as n <= parentN);
  // ties go to the bucket with fewer groups, so a worker's partitions stay home where balance allows.
  const entries = [...buckets.entries()].map(([w, qs]) => ({ w, qs, quota: (n * qs.length) / parentN, k: 0 }));
  let left = n;
  for (const e of entries) {
    e.k = Math.floor(e.quota);
    left -= e.k;
  }
  const byRemainder = [...entries].sort((a, b) => b.quota - b.k - (a.quota - a.k) || a.k - b.k || b.qs.length - a.qs.length || a.qs[0]! - b.qs[0]!);
  for (let i = 0; left > 0; i = (i + 1) % byRemainder.length) {
    const e = byRemainder[i]!;
    if (e.k < e.qs.length) {
      e.k++;
      left--;
    }
  }
  const groups: number[][] = [];
  const homeless: number[] = [];
  for (const { qs, k } of entries) {
    if (k === 0) homeless.push(...qs);
    for (let j = 0; j < k; j++) groups.push(qs.slice(Math.floor((j * qs.length) / k), Math.floor(((j + 1) * qs.length) / k)));
  }
  for (const q of homeless) {
    let smallest = groups[0]!;
    for (const g of groups) if (g.length < smallest.length) smallest = g;
    smallest.push(q);
  }
  for (const g of groups) g.sort((a, b) => a - b);
  return groups.sort((a, b) => a[0]! - b[0]!);
}

/**
 * coalesce(n) without a shuffle: each partition reads a group of parent partitions ({@link coalesceGroups}). Parent
 * partitions cached on a worker are grouped by that worker (Spark's preferred locations), so each task reads its
 * cached parents where it runs instead of fetching them; with nothing cached, neighbouring ranges, keeping element
 * order. The groups are fixed when first asked for (the first job, usually), as Spark's partitions are. Asking for
 * more partitions than the parent has keeps the parent's count (growing needs a shuffle: repartition).
 */
export class CoalescedRDD<T> extends RDD<T> {
  readonly kind = 'CoalescedRDD';
  readonly #n: number;
  #groups: readonly (readonly number[])[] | undefined;
  constructor(
    readonly parent: RDD<T>,
    numPartitions: number,
    options: RddOptions & { groups?: readonly (readonly number[])[] } = {},
  ) {
    super(parent.context, { op: 'coalesce', ...options });
    this.#n = Math.min(numPartitions, parent.getNumPartitions());
    this.#groups = options.groups;
  }
  getNumPartitions(): number {
    return this.#n;
  }
  #groupsNow(): readonly (readonly number[])[] {
    if (this.#groups !== undefined) return this.#groups;
    const locations = this.context.cachedLocations;
    const parent = this.parent as RDD<unknown>;
    // Where the scheduler would run a task reading parent partition q (its first preferred worker).
    const locationOf = (q: number): number | undefined => (locations === undefined ? undefined : cachedPreferredLocations(parent, q, locations)[0]);
    this.#groups = coalesceGroups(parent.getNumPartitions(), this.#n, locationOf);
    return this.#groups;
  }
  parentsOf(p: number): readonly number[] {
    return this.#groupsNow()[p] ?? [];
  }
  protected getDependencies(): readonly Dependency[] {
    return [customNarrow(this.parent, (p) => this.parentsOf(p))];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'CoalescedRDD', args: { numPartitions: this.#n, groups: this.#groupsNow() } };
  }
  *compute(p: number, tc: TaskContext): Iterable<T> {
    for (const q of this.parentsOf(p)) yield* this.parent.iterator(q, tc);
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<T>): void {
    for (const q of this.parentsOf(p)) this.parent.forEach(q, tc, sink);
  }
}
