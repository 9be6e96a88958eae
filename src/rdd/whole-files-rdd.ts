import { tagInputRecord } from '../core/errors.js';
import { groupFilesIntoPartitions } from '../io/index.js';
import type { TaskContext } from './task-context.js';
import { InputFilesRDD, type Sink } from './internal.js';

/**
 * The shape of `wholeTextFiles` and `binaryFiles`: one `[absolutePath, content]` pair per file, the files listed
 * on the driver and grouped into partitions, each group travelling with its task, each file read whole inside
 * the worker. Subclasses say how a file is read and what they send on the wire.
 */
export abstract class WholeFilesRDD<V> extends InputFilesRDD<[string, V], readonly string[]> {
  /** Reads one file whole, in the worker. */
  protected abstract readFile(file: string): V;
  /** The size the task's input metrics count for one file's content. */
  protected abstract sizeOf(content: V): number;

  protected planPartitions(files: readonly string[]): readonly (readonly string[])[] {
    return groupFilesIntoPartitions(files, Math.max(1, Math.min(files.length, this.minPartitions)));
  }
  protected payloadOf(group: readonly string[] | undefined): readonly unknown[] {
    return group ?? [];
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
