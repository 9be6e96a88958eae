import type { RddWireBody } from './wire.js';
import { customNarrow, type Dependency } from './dependency.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/**
 * coalesce(n) without a shuffle: partition i reads the neighbouring parent partitions
 * [floor(i*N/n), floor((i+1)*N/n)), so element order is kept. Asking for more partitions than the parent has
 * keeps the parent's count (growing needs a shuffle: repartition).
 */
export class CoalescedRDD<T> extends RDD<T> {
  readonly kind = 'CoalescedRDD';
  readonly #n: number;
  constructor(
    readonly parent: RDD<T>,
    numPartitions: number,
    options: RddOptions = {},
  ) {
    super(parent.context, { op: 'coalesce', ...options });
    this.#n = Math.min(numPartitions, parent.getNumPartitions());
  }
  getNumPartitions(): number {
    return this.#n;
  }
  parentsOf(p: number): number[] {
    const parentN = this.parent.getNumPartitions();
    const out: number[] = [];
    for (let q = Math.floor((p * parentN) / this.#n); q < Math.floor(((p + 1) * parentN) / this.#n); q++) out.push(q);
    return out;
  }
  protected getDependencies(): readonly Dependency[] {
    return [customNarrow(this.parent, (p) => this.parentsOf(p))];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'CoalescedRDD', args: { numPartitions: this.#n } };
  }
  *compute(p: number, tc: TaskContext): Iterable<T> {
    for (const q of this.parentsOf(p)) yield* this.parent.iterator(q, tc);
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<T>): void {
    for (const q of this.parentsOf(p)) this.parent.forEach(q, tc, sink);
  }
}
