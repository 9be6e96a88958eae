import type { Dependency } from '../core/dependency.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

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
  protected wireArgs(): unknown {
    return null;
  }
  /** The slice a task for partition `p` carries. */
  partitionPayload(p: number): readonly T[] {
    return this.#slices?.[p] ?? [];
  }
  compute(p: number, tc: TaskContext): Iterable<T> {
    return tc.payload(this.id, p) as readonly T[];
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<T>): void {
    const xs = tc.payload(this.id, p) as readonly T[];
    for (let i = 0; i < xs.length; i++) sink(xs[i] as T);
    tc.inputRead?.(xs.length, 0);
  }
}
