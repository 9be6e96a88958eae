import type { RddWireBody } from './wire.js';
import { oneToOne, rangeDependency, type Dependency } from './dependency.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/** The partitions of several RDDs side by side (no shuffle). */
export class UnionRDD<T> extends RDD<T> {
  readonly kind = 'UnionRDD';
  constructor(
    context: RddContext,
    readonly rdds: readonly RDD<T>[],
    options: RddOptions = {},
  ) {
    super(context, { op: 'union', ...options });
  }
  /** offsets[i]: this RDD's first partition that comes from rdds[i]; offsets[rdds.length]: the total. */
  #offsets: readonly number[] | undefined;

  /**
   * The partition offsets of the inputs, computed once (partition counts never change). Recomputing them on every
   * call made jobs on nested unions (`acc = acc.union(x)` in a loop) cubic in the nesting depth; nested unions are
   * laid out innermost first, in a loop, so that deep nesting cannot overflow the stack either.
   */
  #layout(): readonly number[] {
    if (this.#offsets !== undefined) return this.#offsets;
    const pending: UnionRDD<unknown>[] = [this as UnionRDD<unknown>];
    while (pending.length > 0) {
      const u = pending[pending.length - 1]!;
      const inner = u.rdds.filter((r): r is UnionRDD<unknown> => r instanceof UnionRDD && r.#offsets === undefined);
      if (inner.length > 0) {
        pending.push(...inner);
        continue;
      }
      pending.pop();
      if (u.#offsets === undefined) {
        const offsets = [0];
        for (const r of u.rdds) offsets.push(offsets[offsets.length - 1]! + r.getNumPartitions());
        u.#offsets = offsets;
      }
    }
    return this.#offsets!;
  }

  getNumPartitions(): number {
    const offsets = this.#layout();
    return offsets[offsets.length - 1]!;
  }
  protected getDependencies(): readonly Dependency[] {
    const offsets = this.#layout();
    return this.rdds.map((r, i) => rangeDependency(r, 0, offsets[i]!, offsets[i + 1]! - offsets[i]!));
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return this.rdds as readonly RDD<unknown>[];
  }
  protected wireBody(): RddWireBody {
    const offsets = this.#layout();
    return { kind: 'UnionRDD', args: { counts: this.rdds.map((_, i) => offsets[i + 1]! - offsets[i]!) } };
  }
  /** Which parent, and which of its partitions, partition p is (binary search over the offsets). */
  #locate(p: number): [RDD<T>, number] {
    const offsets = this.#layout();
    // internal: partition indices come from the scheduler, which checks them against getNumPartitions()
    if (!(p >= 0 && p < offsets[offsets.length - 1]!)) throw new RangeError(`${this.label} has no partition ${p}`);
    // The first input whose range ends after p (inputs with no partitions have empty ranges and are skipped).
    let lo = 0;
    let hi = this.rdds.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid + 1]! > p) hi = mid;
      else lo = mid + 1;
    }
    return [this.rdds[lo]!, p - offsets[lo]!];
  }
  compute(p: number, tc: TaskContext): Iterable<T> {
    const [r, q] = this.#locate(p);
    return r.iterator(q, tc);
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<T>): void {
    const [r, q] = this.#locate(p);
    r.forEach(q, tc, sink);
  }
}

/**
 * Spark's PartitionerAwareUnionRDD: the union of RDDs that share a partitioner, partition `i` being every input's
 * partition `i` in turn. It keeps their partitioner and partition count, so a join or reduce after it needs no
 * shuffle (a plain union would have the sum of their partitions and no partitioner).
 */
export class PartitionerAwareUnionRDD<T> extends RDD<T> {
  readonly kind = 'PartitionerAwareUnionRDD';
  constructor(
    context: RddContext,
    readonly rdds: readonly RDD<T>[],
    options: RddOptions = {},
  ) {
    super(context, { op: 'union', ...options });
    this.inheritPartitionCount(rdds[0]!);
    this.partitioner = rdds[0]!.partitioner;
  }
  getNumPartitions(): number {
    return this.inheritedNumPartitions();
  }
  protected getDependencies(): readonly Dependency[] {
    return this.rdds.map((r) => oneToOne(r));
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return this.rdds as readonly RDD<unknown>[];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'PartitionerAwareUnionRDD', args: null };
  }
  *compute(p: number, tc: TaskContext): Iterable<T> {
    for (const r of this.rdds) yield* r.iterator(p, tc);
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<T>): void {
    for (const r of this.rdds) r.forEach(p, tc, sink);
  }
}

/**
 * The union of `rdds`: partitioner-aware when every input has one partitioner (equal by `equals`), as Spark's
 * `union` and `SparkContext.union` choose; inputs without partitions are left out of that test, as in Spark.
 */
export function unionOf<T>(context: RddContext, rdds: readonly RDD<T>[]): RDD<T> {
  const nonEmpty = rdds.filter((r) => r.getNumPartitions() > 0);
  const first = nonEmpty[0]?.partitioner;
  if (first !== undefined && nonEmpty.every((r) => r.partitioner !== undefined && first.equals(r.partitioner))) {
    return new PartitionerAwareUnionRDD<T>(context, nonEmpty);
  }
  return new UnionRDD<T>(context, rdds);
}
