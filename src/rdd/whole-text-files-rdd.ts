import type { RddWireBody } from './wire.js';
import type { Dependency } from './dependency.js';
import { tagInputRecord } from '../core/errors.js';
import { listInputFilesSync, groupFilesIntoPartitions, readWholeTextFile } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/** `sc.wholeTextFiles(path)`: one `[absolutePath, content]` pair per file, files grouped into partitions. */
export class WholeTextFilesRDD extends RDD<[string, string]> {
  readonly kind = 'WholeTextFileRDD';
  #groups: readonly (readonly string[])[] | undefined;
  #numPartitions: number | undefined;

  constructor(
    context: RddContext,
    readonly path: string,
    readonly minPartitions: number,
    options: RddOptions & { numPartitions?: number; recursive?: boolean } = {},
  ) {
    super(context, { op: 'wholeTextFiles', ...options });
    this.#numPartitions = options.numPartitions;
    this.recursive = options.recursive ?? false;
  }
  /** Whether files in subdirectories of input directories are read (listing happens on the driver only). */
  readonly recursive: boolean;
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
  protected wireBody(): RddWireBody {
    return { kind: 'WholeTextFileRDD', args: { path: this.path, numPartitions: this.getNumPartitions() } };
  }
  override partitionPayload(p: number): readonly unknown[] {
    return this.#getGroups()[p] ?? [];
  }
  compute(p: number, tc: TaskContext): Iterable<[string, string]> {
    return (tc.payload(this.id, p) as string[]).map((f): [string, string] => [f, readWholeTextFile(f)]);
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<[string, string]>): void {
    let chars = 0;
    const files = tc.payload(this.id, p) as string[];
    for (const f of files) {
      const content = readWholeTextFile(f);
      chars += content.length;
      try {
        sink([f, content]);
      } catch (e) {
        throw tagInputRecord(e, f);
      }
    }
    // Characters stand in for bytes: the decoded text is what the task read.
    tc.inputRead?.(files.length, chars);
  }
}
