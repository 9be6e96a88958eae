import type { RddWireBody } from './wire.js';
import type { Dependency } from './dependency.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';
import { InvalidArgumentError } from '../core/errors.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

export interface RangeArgs {
  readonly start: number;
  readonly step: number;
  readonly count: number;
  readonly numSlices: number;
}

/** `sc.range(start, end, step, n)`: numbers computed in the workers from the bounds, nothing shipped. */
export class RangeRDD extends RDD<number> {
  readonly kind = 'RangeRDD';
  constructor(
    context: RddContext,
    readonly args: RangeArgs,
    options: RddOptions = {},
  ) {
    super(context, { op: 'range', ...options });
  }

  /** Element count of start, start+step, ... before end (Spark's rule; end exclusive). */
  static countOf(start: number, end: number, step: number): number {
    if (step === 0) throw new InvalidArgumentError('range: step cannot be 0');
    const n = Math.ceil((end - start) / step);
    return n > 0 ? n : 0;
  }

  getNumPartitions(): number {
    return this.args.numSlices;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'RangeRDD', args: this.args };
  }
  override get cheapToRecompute(): boolean {
    return true;
  }
  *compute(p: number): Iterable<number> {
    const { start, step, count, numSlices } = this.args;
    const hi = Math.floor(((p + 1) * count) / numSlices);
    for (let k = Math.floor((p * count) / numSlices); k < hi; k++) yield start + k * step;
  }
  protected override pushCompute(p: number, _tc: TaskContext, sink: Sink<number>): void {
    const { start, step, count, numSlices } = this.args;
    const hi = Math.floor(((p + 1) * count) / numSlices);
    for (let k = Math.floor((p * count) / numSlices); k < hi; k++) {
      if ((k & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      sink(start + k * step);
    }
  }
}
