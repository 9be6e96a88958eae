import type { RddWireBody } from './wire.js';
import { readWholeTextFile } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import { WholeFilesRDD } from './internal.js';
import type { RddOptions } from './internal.js';

/** `sc.wholeTextFiles(path)`: one `[absolutePath, content]` pair per file, files grouped into partitions. */
export class WholeTextFilesRDD extends WholeFilesRDD<string> {
  readonly kind = 'WholeTextFileRDD';

  constructor(context: RddContext, path: string, minPartitions: number, options: RddOptions & { numPartitions?: number; recursive?: boolean } = {}) {
    super(context, path, minPartitions, 'wholeTextFiles', options);
  }
  protected readFile(file: string): string {
    return readWholeTextFile(file);
  }
  /** Characters stand in for bytes: the decoded text is what the task read. */
  protected sizeOf(content: string): number {
    return content.length;
  }
  protected wireBody(): RddWireBody {
    return { kind: 'WholeTextFileRDD', args: { path: this.path, numPartitions: this.getNumPartitions() } };
  }
}
