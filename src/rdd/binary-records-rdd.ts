import type { RddWireBody } from './wire.js';
import { tagInputRecord } from '../core/errors.js';
import { computeRecordSplitsSync, forEachRecord, type RecordSplit } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { InputFilesRDD, type InputFilesOptions, type RddOptions, type Sink } from './internal.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/**
 * `sc.binaryRecords(path, recordLength)`: the fixed-length records of files, each a `Uint8Array`, files cut into
 * record-aligned byte ranges that the workers read themselves (Spark's BinaryRecordsRDD over
 * FixedLengthBinaryInputFormat). Listed and planned on first use, as `textFile`.
 */
export class BinaryRecordsRDD extends InputFilesRDD<Uint8Array, RecordSplit> {
  readonly kind = 'BinaryRecordsRDD';

  constructor(
    context: RddContext,
    path: string,
    readonly recordLength: number,
    minPartitions: number,
    options: RddOptions & InputFilesOptions = {},
  ) {
    super(context, path, minPartitions, 'binaryRecords', options);
  }
  protected planPartitions(files: readonly string[]): readonly RecordSplit[] {
    return computeRecordSplitsSync(files, this.recordLength, this.minPartitions, { ignoreEmptySplits: this.ignoreEmptySplits });
  }
  protected payloadOf(split: RecordSplit | undefined): readonly unknown[] {
    return [split];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'BinaryRecordsRDD', args: { path: this.path, recordLength: this.recordLength, numPartitions: this.getNumPartitions() } };
  }
  compute(p: number, tc: TaskContext): Iterable<Uint8Array> {
    const out: Uint8Array[] = [];
    this.pushCompute(p, tc, (r) => out.push(r));
    return out;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<Uint8Array>): void {
    const split = tc.payload(this.id, p)[0] as RecordSplit | undefined;
    if (split === undefined) return;
    let n = 0;
    let inSink = false;
    try {
      forEachRecord(split, (record) => {
        if ((n & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
        inSink = true;
        sink(record);
        inSink = false;
        n++;
      });
    } catch (e) {
      if (!inSink) throw e;
      // A failure downstream names the record (its byte offset in its file) being processed.
      const at = (Math.ceil(split.start / split.recordLength) + n) * split.recordLength;
      throw tagInputRecord(e, `${split.path}, record at byte ${at}`);
    }
    tc.inputRead?.(n, n * split.recordLength);
  }
}
