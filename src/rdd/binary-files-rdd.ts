import { readFileSync } from 'node:fs';
import type { Dependency } from './dependency.js';
import type { RddWireBody } from './wire.js';
import { tagInputRecord, InputPathError } from '../core/errors.js';
import { listInputFilesSync, groupFilesIntoPartitions } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/**
 * `sc.binaryFiles(path)`: one `[absolutePath, bytes]` pair per file, files grouped into partitions; each file is
 * read whole, inside the worker, and not decompressed.
 */
export class BinaryFilesRDD extends RDD<[string, Uint8Array]> {
  readonly kind = 'BinaryFileRDD';
  #groups: readonly (readonly string[])[] | undefined;
  #numPartitions: number | undefined;

  constructor(
    context: RddContext,
    readonly path: string,
    readonly minPartitions: number,
    options: RddOptions & { numPartitions?: number; recursive?: boolean } = {},
  ) {
    super(context, { op: 'binaryFiles', ...options });
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
    return { kind: 'BinaryFileRDD', args: { path: this.path, numPartitions: this.getNumPartitions() } };
  }
  override partitionPayload(p: number): readonly unknown[] {
    return this.#getGroups()[p] ?? [];
  }
  compute(p: number, tc: TaskContext): Iterable<[string, Uint8Array]> {
    const out: Array<[string, Uint8Array]> = [];
    this.pushCompute(p, tc, (x) => out.push(x));
    return out;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<[string, Uint8Array]>): void {
    for (const f of tc.payload(this.id, p) as string[]) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(f);
      } catch (err) {
        throw new InputPathError(`Cannot read input file ${f}: ${(err as Error).message}. Check that it still exists and is readable.`, f, {
          cause: err,
        });
      }
      try {
        sink([f, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
      } catch (e) {
        throw tagInputRecord(e, f);
      }
    }
  }
}
