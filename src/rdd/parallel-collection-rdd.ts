import type { RddWireBody } from './wire.js';
import type { Dependency } from './dependency.js';
import { classInstanceError } from '../core/errors.js';
import { findClassInstance } from '../closure/clonable.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/**
 * `sc.parallelize(data, n)`: slice i holds elements floor(i*len/n) to floor((i+1)*len/n). The driver keeps the
 * slices; each task carries only its own slice (a worker never sees the whole collection).
 */
export class ParallelCollectionRDD<T> extends RDD<T> {
  readonly kind = 'ParallelCollectionRDD';
  readonly #slices: readonly (readonly T[])[] | undefined;
  readonly #numSlices: number;

  constructor(context: RddContext, slices: readonly (readonly T[])[] | number, options: RddOptions = {}) {
    super(context, { op: 'parallelize', ...options });
    if (typeof slices === 'number') {
      this.#numSlices = slices;
    } else {
      this.#slices = slices;
      this.#numSlices = slices.length;
      this.#refuseClassInstances(slices);
    }
  }

  /**
   * Slices travel to the workers by structured clone, which drops prototypes: refuse, here at the call, an element
   * that would arrive without its methods (the same rule, and depth, as shuffles and results).
   */
  #refuseClassInstances(slices: readonly (readonly T[])[]): void {
    let index = 0;
    for (const slice of slices) {
      for (let i = 0; i < slice.length; i++, index++) {
        const x: unknown = slice[i];
        if (typeof x === 'function' || typeof x === 'symbol') {
          throw classInstanceError({ path: '', className: typeof x }, `In ${this.label}, element ${index}`, 'would reach the workers');
        }
        if (typeof x !== 'object' || x === null) continue;
        const found = findClassInstance(x, 1);
        if (found !== undefined) throw classInstanceError(found, `In ${this.label}, element ${index}`, 'would reach the workers');
      }
    }
  }

  /** Cuts `data` into `n` slices by Spark's rule. */
  static slice<T>(data: readonly T[], n: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < n; i++) {
      out.push(data.slice(Math.floor((i * data.length) / n), Math.floor(((i + 1) * data.length) / n)));
    }
    return out;
  }

  getNumPartitions(): number {
    return this.#numSlices;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'ParallelCollectionRDD', args: null };
  }
  override get cheapToRecompute(): boolean {
    return true;
  }
  /** The slice a task for partition `p` carries. */
  override partitionPayload(p: number): readonly T[] {
    return this.#slices?.[p] ?? [];
  }
  compute(p: number, tc: TaskContext): Iterable<T> {
    const xs = tc.payload(this.id, p) as readonly T[];
    // The slice came whole with the task: it counts as read even when the consumer stops early (take).
    tc.inputRead?.(xs.length, 0);
    return xs;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<T>): void {
    const xs = tc.payload(this.id, p) as readonly T[];
    for (let i = 0; i < xs.length; i++) {
      if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      sink(xs[i] as T);
    }
    tc.inputRead?.(xs.length, 0);
  }
}
