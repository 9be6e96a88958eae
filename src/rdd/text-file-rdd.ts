import type { RddWireBody } from './wire.js';
import type { Dependency } from './dependency.js';
import { tagInputRecord } from '../core/errors.js';
import { listInputFilesSync, computeTextSplitsSync, forEachSplitLine, firstLineNumber, type TextSplit } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/**
 * `sc.textFile(path)`: the lines of files, split into byte ranges aligned to lines that the workers read
 * themselves. Files are listed and split on first use (like Spark, a missing path fails the first job, not the
 * call); each task carries only its own split.
 */
export class TextFileRDD extends RDD<string> {
  readonly kind = 'TextFileRDD';
  #splits: readonly TextSplit[] | undefined;

  constructor(
    context: RddContext,
    readonly path: string,
    readonly minPartitions: number,
    options: RddOptions & { numPartitions?: number; recursive?: boolean } = {},
  ) {
    super(context, { op: 'textFile', ...options });
    this.#numPartitions = options.numPartitions;
    this.recursive = options.recursive ?? false;
  }
  /** Whether files in subdirectories of input directories are read (listing happens on the driver only). */
  readonly recursive: boolean;
  #numPartitions: number | undefined;

  #getSplits(): readonly TextSplit[] {
    this.#splits ??= computeTextSplitsSync(listInputFilesSync(this.path, { recursive: this.recursive }), this.minPartitions);
    return this.#splits;
  }
  getNumPartitions(): number {
    this.#numPartitions ??= this.#getSplits().length;
    return this.#numPartitions;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'TextFileRDD', args: { path: this.path, numPartitions: this.getNumPartitions() } };
  }
  override partitionPayload(p: number): readonly unknown[] {
    return [this.#getSplits()[p]];
  }
  compute(p: number, tc: TaskContext): Iterable<string> {
    const out: string[] = [];
    this.pushCompute(p, tc, (l) => out.push(l));
    return out;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<string>): void {
    const split = tc.payload(this.id, p)[0] as TextSplit;
    // Counting lines costs one increment per line; it lets a failure downstream name the line it was processing.
    let n = 0;
    let inSink = false;
    try {
      forEachSplitLine(split, (line) => {
        n++;
        inSink = true;
        sink(line);
        inSink = false;
      });
    } catch (e) {
      if (!inSink) throw e;
      let line: number | undefined;
      try {
        line = firstLineNumber(split) + n - 1;
      } catch {
        line = undefined; // the file went away meanwhile: name the file only
      }
      throw tagInputRecord(e, line === undefined ? split.path : `${split.path}, line ${line}`);
    }
    tc.inputRead?.(n, split.length);
  }
}
