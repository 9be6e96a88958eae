import type { Dependency } from './dependency.js';
import { tagInputRecord } from '../core/errors.js';
import { listInputFilesSync, groupFilesIntoPartitions } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/**
 * The shape of `wholeTextFiles` and `binaryFiles`: one `[absolutePath, content]` pair per file, the files listed
 * on the driver and grouped into partitions, each group travelling with its task, each file read whole inside
 * the worker. Subclasses say how a file is read and what they send on the wire.
 */
export abstract class WholeFilesRDD<V> extends RDD<[string, V]> {
  #groups: readonly (readonly string[])[] | undefined;
  #numPartitions: number | undefined;
  /** Whether files in subdirectories of input directories are read (listing happens on the driver only). */
  readonly recursive: boolean;

  constructor(
    context: RddContext,
    readonly path: string,
    readonly minPartitions: number,
    op: string,
    options: RddOptions & { numPartitions?: number; recursive?: boolean } = {},
  ) {
    super(context, { op, ...options });
    this.#numPartitions = options.numPartitions;
    this.recursive = options.recursive ?? false;
  }

  /** Reads one file whole, in the worker. */
  protected abstract readFile(file: string): V;
  /** The size the task's input metrics count for one file's content. */
  protected abstract sizeOf(content: V): number;

  #getGroups(): readonly (readonly string[])[] {
    if (this.#groups === undefined) {
      const files = listInputFilesSync(this.path, { recursive: this.recursive });
      this.#groups = groupFilesIntoPartitions(files, Math.max(1, Math.min(files.length, this.minPartitions)));
    }
    return this.#groups;
  }
  getNumPartitions(): number {
    this.#numPartitions ??= this.#getGroups().length;
    return this.#numPartitions;
  }
  protected getDependencies(): readonly Dependency[] {
    return [];
  }
  override partitionPayload(p: number): readonly unknown[] {
    return this.#getGroups()[p] ?? [];
  }
  compute(p: number, tc: TaskContext): Iterable<[string, V]> {
    const out: Array<[string, V]> = [];
    this.pushCompute(p, tc, (x) => out.push(x));
    return out;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<[string, V]>): void {
    let size = 0;
    const files = tc.payload(this.id, p) as string[];
    for (const f of files) {
      const content = this.readFile(f);
      size += this.sizeOf(content);
      try {
        sink([f, content]);
      } catch (e) {
        // A failure downstream names the file being processed.
        throw tagInputRecord(e, f);
      }
    }
    tc.inputRead?.(files.length, size);
  }
}
