import { closeSync, openSync, readSync } from 'node:fs';
import type { RddWireBody } from './wire.js';
import { InvalidDataError, tagInputRecord } from '../core/errors.js';
import {
  CsvLineParser,
  type CsvMode,
  type CsvParseOptions,
  computeTextSplitsSync,
  forEachSplitLine,
  firstLineNumber,
  inputReadError,
  isCompressedPath,
  type TextSplit,
} from '../io/index.js';
import type { RddContext } from './rdd-context.js';
import type { TaskContext } from './task-context.js';
import { InputFilesRDD, type InputFilesOptions, type RddOptions, type Sink } from './internal.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/**
 * CSV records end at `\n` or `\r\n` only: a `\r` inside a quoted field is the field's, and one outside quotes is
 * refused by the parser, naming the line (see CsvLineParser), rather than cutting a record at a quoted `\r`.
 */
const CSV_LINES = { loneCR: false } as const;

/**
 * How `sc.csvFile` reads: a header row or not, the delimiter, whether quoted fields may hold line breaks, what
 * a malformed record does (see CsvMode), Spark's quote, escape, white space, null and empty value options (see
 * CsvParseOptions) and `comment`, a character that makes a line starting with it no record.
 */
export interface CsvReadOptions extends CsvParseOptions {
  readonly header: boolean;
  readonly delimiter: string;
  readonly multiLine: boolean;
  readonly mode: CsvMode;
  readonly comment?: string;
}

/**
 * `sc.csvFile(path)`: the records of CSV files, as objects named by each file's header row or as arrays.
 *
 * Spark's choice (its CSV source's `multiLine` option): by default a record is a line, so files are cut into
 * line-aligned byte ranges like `textFile`'s and read by the workers in a stream; a split that does not start
 * its file reads the header from the file's first line. A quoted field that does not close on its line fails
 * the task, naming file and line, and says to use `multiLine: true`: then each file is one split, still read in
 * a stream, and a record may span lines. (Telling a line break inside quotes from one between records from the
 * middle of a file would need the whole file before it, which is what a split must not read.)
 */
export class CsvFileRDD extends InputFilesRDD<Record<string, string | null> | string[], TextSplit> {
  readonly kind = 'CsvFileRDD';

  constructor(
    context: RddContext,
    path: string,
    minPartitions: number,
    readonly csv: CsvReadOptions,
    options: RddOptions & InputFilesOptions = {},
  ) {
    super(context, path, minPartitions, 'csvFile', options);
  }
  // multiLine: one split per file (a minimum of 1 partition makes the split size the total size).
  protected planPartitions(files: readonly string[]): readonly TextSplit[] {
    return this.csv.multiLine
      ? computeTextSplitsSync(files, 1, { maxSplitBytes: Number.MAX_SAFE_INTEGER, ignoreEmptySplits: this.ignoreEmptySplits })
      : computeTextSplitsSync(files, this.minPartitions, { ignoreEmptySplits: this.ignoreEmptySplits });
  }
  protected payloadOf(split: TextSplit | undefined): readonly unknown[] {
    return [split];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'CsvFileRDD', args: { path: this.path, numPartitions: this.getNumPartitions(), ...this.csv } };
  }
  compute(p: number, tc: TaskContext): Iterable<Record<string, string | null> | string[]> {
    const out: Array<Record<string, string | null> | string[]> = [];
    this.pushCompute(p, tc, (r) => out.push(r));
    return out;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<Record<string, string | null> | string[]>): void {
    const split = tc.payload(this.id, p)[0] as TextSplit;
    const { header, delimiter, multiLine, mode, comment } = this.csv;
    const fromFileStart = split.start === 0 || split.whole || isCompressedPath(split.path);
    const parser = new CsvLineParser(delimiter, this.csv);
    // Lines read so far, and the line (counted in this split) where the record being read started; file line
    // numbers are computed only for an error (they need the bytes before the split).
    let n = 0;
    let recordLine = 1;
    const lineInFile = (k: number): string => {
      try {
        return `${split.path}, line ${firstLineNumber(split, CSV_LINES) + k - 1}`;
      } catch {
        return split.path; // the file went away meanwhile: name the file only
      }
    };
    // The header is the file's first line that is not blank. A split that does not start the file reads it, unless
    // the split holds it (blank lines before it pushed it past the first split): then, as in the first split, the
    // first record it reads is the header.
    const found = header && !fromFileStart ? readHeader(split.path, this.csv) : undefined;
    const holdsHeader = found !== undefined && found.start >= split.start && found.start < split.start + split.length;
    let names: string[] | undefined = found !== undefined && !holdsHeader ? found.names : undefined;
    let inSink = false;
    const emit = (fields: Array<string | null>): void => {
      if (header && names === undefined) {
        names = safeHeader(fields);
        return;
      }
      let record: Record<string, string | null> | Array<string | null> = fields;
      if (names !== undefined) {
        if (fields.length !== names.length) {
          if (mode === 'DROPMALFORMED') return;
          if (mode === 'FAILFAST') {
            throw new InvalidDataError(
              `csvFile: ${lineInFile(recordLine)}: the record has ${fields.length} fields but the header names ${names.length}. ` +
                "To read such files as Spark's CSV source does by default, pass { mode: 'PERMISSIVE' } (missing fields null, " +
                "extra ones dropped), or { mode: 'DROPMALFORMED' } to skip such records.",
            );
          }
        }
        const o: Record<string, string | null> = {};
        for (let j = 0; j < names.length; j++) {
          const value = j < fields.length ? fields[j]! : null;
          // An assignment to '__proto__' would set the prototype (a string is ignored): the column would vanish.
          if (names[j] === '__proto__') Object.defineProperty(o, '__proto__', { value, enumerable: true, writable: true, configurable: true });
          else o[names[j]!] = value;
        }
        record = o;
      }
      inSink = true;
      sink(record as Record<string, string | null> | string[]);
      inSink = false;
    };
    try {
      forEachSplitLine(
        split,
        (raw) => {
          if ((n & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
          n++;
          const line = n === 1 && fromFileStart && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
          if (!parser.open) {
            // Spark's CSV source skips blank lines (nothing but characters up to the space) between records; read as
            // a record of one empty field, a blank line failed the whole job against the header's field count.
            if (isBlankLine(line) || (comment !== undefined && line.startsWith(comment))) return;
            recordLine = n;
          }
          let fields: Array<string | null> | undefined;
          try {
            fields = parser.push(line);
          } catch (err) {
            throw new InvalidDataError(`csvFile: ${lineInFile(n)}: ${(err as Error).message}`, { cause: err });
          }
          if (fields !== undefined) emit(fields);
          else if (!multiLine) {
            if (mode === 'FAILFAST') throw notClosedOnItsLine(lineInFile(n));
            const open = parser.closeOpen()!;
            if (mode === 'PERMISSIVE') emit(open);
          }
        },
        CSV_LINES,
      );
      if (parser.open) {
        if (mode === 'FAILFAST') {
          throw new InvalidDataError(`csvFile: ${lineInFile(recordLine)}: a quoted field that starts on this line is never closed`);
        }
        const open = parser.closeOpen()!;
        if (mode === 'PERMISSIVE') emit(open);
      }
    } catch (e) {
      if (!inSink) throw e;
      throw tagInputRecord(e, lineInFile(recordLine));
    }
    tc.inputRead?.(n, split.length);
  }
}

function notClosedOnItsLine(where: string): InvalidDataError {
  return new InvalidDataError(
    `csvFile: ${where}: a quoted field is not closed on its line. By default a CSV record is one line, so that ` +
      'files can be split; for quoted fields that hold line breaks, read with csvFile(path, { multiLine: true }) ' +
      "(one task per file); to skip or keep such records, pass { mode: 'DROPMALFORMED' } or { mode: 'PERMISSIVE' }.",
  );
}

/** Java's `String.trim().isEmpty()`, Spark's test for a blank CSV line: no character above U+0020. */
function isBlankLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) > 32) return false;
  return true;
}

/**
 * The header of a file, for a split that does not start it: the first line that is not blank (without a
 * byte-order mark), and the byte where it starts (-1 when every line is blank).
 */
function readHeader(path: string, csv: CsvReadOptions): { names: string[]; start: number } {
  const { start, lineNumber } = firstNonBlankLine(path, csv.comment);
  if (start < 0) return { names: [], start };
  let first: string | undefined;
  // A split of one byte owns exactly the line that starts there (the file's first line for byte 0, BOM dropped).
  forEachSplitLine(
    { path, start: lineNumber === 1 ? 0 : start, length: 1, whole: false },
    (line) => {
      first ??= line;
    },
    CSV_LINES,
  );
  let fields: Array<string | null> | undefined;
  try {
    fields = new CsvLineParser(csv.delimiter, csv).push((first ?? '').replace(/^\ufeff/, ''));
  } catch (err) {
    throw new InvalidDataError(`csvFile: ${path}, line ${lineNumber}: ${(err as Error).message}`, { cause: err });
  }
  if (fields === undefined) throw notClosedOnItsLine(`${path}, line ${lineNumber}`);
  return { names: safeHeader(fields), start };
}

/**
 * Where the first line that is not blank starts, in bytes, and its 1-based line number; `start` -1 when there is
 * none. Blank lines hold only bytes up to 0x20, so this reads bytes, a chunk at a time, up to that line only.
 */
function firstNonBlankLine(path: string, comment?: string): { start: number; lineNumber: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw inputReadError(path, err);
  }
  const mark = comment === undefined ? undefined : Buffer.from(comment);
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let lineStart = 0;
    let lineNumber = 1;
    // Whether the line being read is a comment (its first character is the comment's), so no header.
    let skipping = false;
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return { start: -1, lineNumber };
      for (let i = 0; i < n; i++) {
        const b = buf[i]!;
        const at = pos + i;
        if (b === 0x0a) {
          lineStart = at + 1;
          lineNumber++;
          skipping = false;
        } else if (skipping) {
          continue;
        } else if (b > 0x20 && !(at < 3 && lineNumber === 1 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf && pos === 0)) {
          const bom = lineNumber === 1 && lineStart === 0 && at === 3 && startsWithBom(fd);
          if (mark !== undefined && (at === lineStart || bom) && startsWith(fd, at, mark)) {
            skipping = true;
            continue;
          }
          return { start: lineStart, lineNumber };
        }
      }
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

function startsWith(fd: number, at: number, mark: Buffer): boolean {
  const got = Buffer.alloc(mark.length);
  return readSync(fd, got, 0, mark.length, at) === mark.length && got.equals(mark);
}

const startsWithBom = (fd: number): boolean => startsWith(fd, 0, Buffer.from([0xef, 0xbb, 0xbf]));

/**
 * Spark's CSV source's rule for header names that cannot name a field (its default, case-insensitive): an empty
 * name becomes `_c` and the column's index, and names that repeat (ignoring case) get their column's index
 * appended, `a,a,` reading as `a0`, `a1`, `_c2`. Taken as they were, a repeated name kept only its last column's
 * value and the others were lost without a word.
 */
function safeHeader(names: ReadonlyArray<string | null>): string[] {
  const seen = new Map<string, number>();
  for (const n of names) if (n !== '' && n !== null) seen.set(n.toLowerCase(), (seen.get(n.toLowerCase()) ?? 0) + 1);
  // A name read as null (it equals nullValue) is no name either.
  return names.map((n, i) => (n === '' || n === null ? `_c${i}` : seen.get(n.toLowerCase())! > 1 ? `${n}${i}` : n));
}
