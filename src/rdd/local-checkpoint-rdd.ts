import type { RddWireBody } from './wire.js';
import type { Dependency } from './dependency.js';
import { CheckpointError } from '../core/errors.js';
import type { RddContext } from './rdd-context.js';
import { RDD, type RddOptions } from './internal.js';

/**
 * What a locally checkpointed RDD's lineage ends at (Spark's LocalCheckpointRDD): nothing to compute from. The RDD's
 * partitions live only as cached blocks on the workers (the checkpointed RDD reads its block, from its own worker or
 * another's, before it would ever compute); a partition computed here means its block is lost, and the task fails
 * naming the RDD, the partition and the remedy.
 */
export class LocalCheckpointRDD<T> extends RDD<T> {
  readonly kind = 'LocalCheckpointRDD';
  constructor(
    context: RddContext,
    readonly numPartitions: number,
    /** The label of the RDD that was checkpointed (the error names it; this RDD takes its id on workers). */
    readonly of: string,
    options: RddOptions = {},
  ) {
    super(context, { op: 'localCheckpoint', ...options });
  }
  getNumPartitions(): number {
    return this.numPartitions;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'LocalCheckpointRDD', args: { of: this.of } };
  }
  compute(p: number): Iterable<T> {
    throw new CheckpointError(
      `Checkpoint block ${this.#block(p)} of ${this.of}, partition ${p}, not found: either the worker that held it is no ` +
        'longer alive, or the RDD was unpersisted. Local checkpoints are not fault-tolerant: use rdd.checkpoint() ' +
        '(with sc.setCheckpointDir), which writes the partitions to files, if the program must survive a lost worker.',
    );
  }
  #block(p: number): string {
    return `rdd_${this.id}_${p}`;
  }
}
