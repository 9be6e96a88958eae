import type { RddWireBody } from './wire.js';
import type { Dependency } from './dependency.js';
import { readCheckpointPartition } from '../storage/checkpoint-files.js';
import { eachCached } from '../storage/columnar-block.js';
import type { RddContext } from './rdd-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/**
 * The partitions of a checkpointed RDD, read back from its checkpoint files (Spark's ReliableCheckpointRDD).
 * It has no parents: lineage ends here.
 */
export class CheckpointRDD<T> extends RDD<T> {
  readonly kind = 'ReliableCheckpointRDD';
  constructor(
    context: RddContext,
    readonly dir: string,
    readonly numPartitions: number,
    options: RddOptions = {},
  ) {
    super(context, { op: 'checkpoint', ...options });
  }
  getNumPartitions(): number {
    return this.numPartitions;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'ReliableCheckpointRDD', args: { dir: this.dir } };
  }
  compute(p: number): Iterable<T> {
    return readCheckpointPartition(this.dir, p) as Iterable<T>;
  }
  protected override pushCompute(p: number, _tc: unknown, sink: Sink<T>): void {
    eachCached(readCheckpointPartition(this.dir, p), sink as (x: unknown) => void);
  }
}
