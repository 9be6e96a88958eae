import type { Dependency } from './dependency.js';
import { listInputFilesSync } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import { RDD, type RddOptions } from './internal.js';

/** How a file-reading RDD lists and plans its input (see {@link InputFilesRDD}). */
export interface InputFilesOptions {
  readonly numPartitions?: number;
  readonly recursive?: boolean;
  readonly ignoreEmptySplits?: boolean;
}

/**
 * The shape of every RDD that reads files (`textFile`, `csvFile`, `wholeTextFiles`, `binaryFiles`): the files
 * are listed and planned into partitions on first use (like Spark, a missing path fails the first job, not the
 * call), on the driver only; each task carries only its own part of the plan (a byte range, or a group of whole
 * files) and the worker reads it itself. Subclasses say how files are planned and how a part is read.
 */
export abstract class InputFilesRDD<T, Part> extends RDD<T> {
  #plan: readonly Part[] | undefined;
  #numPartitions: number | undefined;
  /** Whether files in subdirectories of input directories are read (listing happens on the driver only). */
  readonly recursive: boolean;
  /**
   * Whether an empty file plans no partition (Spark >= 3.2's `spark.hadoopRDD.ignoreEmptySplits`, the default) or,
   * with false, one empty partition as Hadoop's FileInputFormat and Spark before 3.2. For the split readers.
   */
  readonly ignoreEmptySplits: boolean;

  constructor(
    context: RddContext,
    readonly path: string,
    readonly minPartitions: number,
    op: string,
    options: RddOptions & InputFilesOptions = {},
  ) {
    super(context, { op, ...options });
    this.#numPartitions = options.numPartitions;
    this.recursive = options.recursive ?? false;
    this.ignoreEmptySplits = options.ignoreEmptySplits ?? true;
  }

  /** Cuts or groups the listed files into one part per partition. */
  protected abstract planPartitions(files: readonly string[]): readonly Part[];
  /** What partition `p`'s task carries of the plan. */
  protected abstract payloadOf(part: Part | undefined): readonly unknown[];

  #getPlan(): readonly Part[] {
    this.#plan ??= this.planPartitions(listInputFilesSync(this.path, { recursive: this.recursive }));
    return this.#plan;
  }
  getNumPartitions(): number {
    this.#numPartitions ??= this.#getPlan().length;
    return this.#numPartitions;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  override partitionPayload(p: number): readonly unknown[] {
    return this.payloadOf(this.#getPlan()[p]);
  }
}
