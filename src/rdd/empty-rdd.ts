import type { RddWireBody } from './wire.js';
import type { Dependency } from './dependency.js';
import type { RddContext } from './rdd-context.js';
import { RDD, type RddOptions } from './internal.js';

/** `sc.emptyRDD()`: no partitions at all, so its jobs run no task. */
export class EmptyRDD<T> extends RDD<T> {
  readonly kind = 'EmptyRDD';
  constructor(context: RddContext, options: RddOptions = {}) {
    super(context, { op: 'emptyRDD', ...options });
  }
  getNumPartitions(): number {
    return 0;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'EmptyRDD', args: null };
  }
  override get cheapToRecompute(): boolean {
    return true;
  }
  compute(): Iterable<T> {
    return [];
  }
}
