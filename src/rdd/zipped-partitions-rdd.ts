import type { RddWireBody } from './wire.js';
import { oneToOne, type Dependency } from './dependency.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions } from './internal.js';
import { InvalidArgumentError } from '../core/errors.js';

/** zip: the i-th elements of the same partition of two RDDs, paired. */
export class ZippedPartitionsRDD<T, U> extends RDD<[T, U]> {
  readonly kind = 'ZippedPartitionsRDD2';
  constructor(
    readonly left: RDD<T>,
    readonly right: RDD<U>,
    options: RddOptions = {},
  ) {
    super(left.context, { op: 'zip', ...options });
    this.inheritPartitionCount(left);
  }
  getNumPartitions(): number {
    return this.inheritedNumPartitions();
  }
  /** Elements are paired by their places in the two partitions. */
  override get orderSensitive(): boolean {
    return true;
  }
  protected getDependencies(): readonly Dependency[] {
    return [oneToOne(this.left), oneToOne(this.right)];
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return [this.left, this.right];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'ZippedPartitionsRDD2', args: null };
  }
  *compute(p: number, tc: TaskContext): Iterable<[T, U]> {
    const a = this.left.iterator(p, tc)[Symbol.iterator]();
    const b = this.right.iterator(p, tc)[Symbol.iterator]();
    for (;;) {
      const x = a.next();
      const y = b.next();
      if (x.done && y.done) return;
      if (x.done || y.done) {
        throw new InvalidArgumentError(
          `Can only zip RDDs with the same number of elements in each partition: partition ${p} of ` +
            `${this.left.label} and ${this.right.label} differ`,
        );
      }
      yield [x.value, y.value];
    }
  }
}
