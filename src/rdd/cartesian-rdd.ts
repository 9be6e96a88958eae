import type { RddWireBody } from './wire.js';
import { customNarrow, type Dependency } from './dependency.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/** Every pair of elements: partition p pairs partition floor(p/M) of the left with p%M of the right. */
export class CartesianRDD<T, U> extends RDD<[T, U]> {
  readonly kind = 'CartesianRDD';
  constructor(
    readonly left: RDD<T>,
    readonly right: RDD<U>,
    options: RddOptions = {},
  ) {
    super(left.context, { op: 'cartesian', ...options });
  }
  getNumPartitions(): number {
    return this.left.getNumPartitions() * this.right.getNumPartitions();
  }
  protected getDependencies(): readonly Dependency[] {
    const m = this.right.getNumPartitions();
    return [customNarrow(this.left, (p) => [Math.floor(p / m)]), customNarrow(this.right, (p) => [p % m])];
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return [this.left, this.right];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'CartesianRDD', args: null };
  }
  compute(p: number, tc: TaskContext): Iterable<[T, U]> {
    const out: [T, U][] = [];
    this.pushCompute(p, tc, (x) => out.push(x));
    return out;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<[T, U]>): void {
    const m = this.right.getNumPartitions();
    // The right partition is read once and kept, rather than recomputed for every left element.
    const rights: U[] = [];
    this.right.forEach(p % m, tc, (y) => rights.push(y));
    // One left element pairs with the whole right partition: checked every 1,024 pairs (counted across left
    // elements), not only every 1,024 left elements (the left's own checks).
    let pairs = 0;
    this.left.forEach(Math.floor(p / m), tc, (x) => {
      pairs = pairWithAll(x, rights, sink, pairs);
    });
  }
}

const BLOCK = INTERRUPT_MASK + 1;

/**
 * Pushes `[x, r]` for every r of `rights`, checking for an interrupt once `counted` plus the pairs pushed reach
 * BLOCK; returns the pairs pushed since the last check. The pair loop is the old one, run in blocks, in a module
 * function: a check in the loop, or the blocks in the per-task closure, cost a count of bare pairs +26 … +53 %
 * (docs/benchmarks.md, session 45).
 */
function pairWithAll<T, U>(x: T, rights: readonly U[], sink: Sink<[T, U]>, counted: number): number {
  for (let from = 0; from < rights.length; from += BLOCK) {
    const to = Math.min(rights.length, from + BLOCK);
    for (let i = from; i < to; i++) sink([x, rights[i] as U]);
    counted += to - from;
    if (counted >= BLOCK) {
      counted = 0;
      checkInterrupted();
    }
  }
  return counted;
}
