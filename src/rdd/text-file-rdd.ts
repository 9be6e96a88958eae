import type { RddWireBody } from './wire.js';
import { tagInputRecord } from '../core/errors.js';
import { computeTextSplitsSync, forEachSplitLine, firstLineNumber, type TextSplit } from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { InputFilesRDD, type InputFilesOptions, type RddOptions, type Sink } from './internal.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/**
 * `sc.textFile(path)`: the lines of files, split into byte ranges aligned to lines that the workers read
 * themselves. Files are listed and split on first use (like Spark, a missing path fails the first job, not the
 * call); each task carries only its own split.
 */
export class TextFileRDD extends InputFilesRDD<string, TextSplit> {
  readonly kind = 'TextFileRDD';

  constructor(context: RddContext, path: string, minPartitions: number, options: RddOptions & InputFilesOptions = {}) {
    super(context, path, minPartitions, 'textFile', options);
  }
  protected planPartitions(files: readonly string[]): readonly TextSplit[] {
    return computeTextSplitsSync(files, this.minPartitions, { ignoreEmptySplits: this.ignoreEmptySplits });
  }
  protected payloadOf(split: TextSplit | undefined): readonly unknown[] {
    return [split];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'TextFileRDD', args: { path: this.path, numPartitions: this.getNumPartitions() } };
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
        if ((n & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
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
