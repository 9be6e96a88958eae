import { oneToOne, type Dependency } from '../core/dependency.js';
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
    this.inheritPartitionCount(left as RDD<unknown>);
  }
  getNumPartitions(): number {
    return this.inheritedNumPartitions();
  }
  protected getDependencies(): readonly Dependency[] {
    return [oneToOne(this.left as RDD<unknown>), oneToOne(this.right as RDD<unknown>)];
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return [this.left as RDD<unknown>, this.right as RDD<unknown>];
  }
  protected wireArgs(): unknown {
    return null;
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
