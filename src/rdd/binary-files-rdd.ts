import { readFileSync } from 'node:fs';
import type { RddWireBody } from './wire.js';
import { inputReadError } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import { WholeFilesRDD } from './internal.js';
import type { RddOptions } from './internal.js';

/**
 * `sc.binaryFiles(path)`: one `[absolutePath, bytes]` pair per file, files grouped into partitions; each file is
 * read whole, inside the worker, and not decompressed.
 */
export class BinaryFilesRDD extends WholeFilesRDD<Uint8Array> {
  readonly kind = 'BinaryFileRDD';

  constructor(context: RddContext, path: string, minPartitions: number, options: RddOptions & { numPartitions?: number; recursive?: boolean } = {}) {
    super(context, path, minPartitions, 'binaryFiles', options);
  }
  protected readFile(file: string): Uint8Array {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw inputReadError(file, err);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  protected sizeOf(content: Uint8Array): number {
    return content.byteLength;
  }
  protected wireBody(): RddWireBody {
    return { kind: 'BinaryFileRDD', args: { path: this.path, numPartitions: this.getNumPartitions() } };
  }
}
