import { rangeDependency, type Dependency } from '../core/dependency.js';
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
  getNumPartitions(): number {
    return this.rdds.reduce((n, r) => n + r.getNumPartitions(), 0);
  }
  protected getDependencies(): readonly Dependency[] {
    let offset = 0;
    return this.rdds.map((r) => {
      const n = r.getNumPartitions();
      const dep = rangeDependency(r as RDD<unknown>, 0, offset, n);
      offset += n;
      return dep;
    });
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return this.rdds as readonly RDD<unknown>[];
  }
  protected wireArgs(): unknown {
    return { counts: this.rdds.map((r) => r.getNumPartitions()) };
  }
  /** Which parent, and which of its partitions, partition p is. */
  #locate(p: number): [RDD<T>, number] {
    let q = p;
    for (const r of this.rdds) {
      const n = r.getNumPartitions();
      if (q < n) return [r, q];
      q -= n;
    }
    throw new RangeError(`${this.label} has no partition ${p}`);
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
