/**
 * CSV parsing for `sc.csvFile`, one line at a time, so a reader can stream a file (or a byte range of it)
 * through the parser without holding the file.
 */
import { InvalidArgumentError, InvalidDataError } from '../core/errors.js';

/**
 * Checks a CSV delimiter: one character other than a quote or a line break.
 *
 * @example
 * ```ts
 * checkCsvDelimiter('\t'); // ok
 * checkCsvDelimiter('"'); // throws InvalidArgumentError
 * ```
 */
/**
 * What `sc.csvFile` does with a malformed record (Spark's CSV `mode`): one whose field count differs from the
 * header's, or, one record per line, whose quoted field is not closed on its line. `FAILFAST` fails the job naming
 * file and line; `DROPMALFORMED` skips the record; `PERMISSIVE` keeps it: missing fields are `null`, extra fields
 * are dropped, and an unclosed quoted field holds the rest of its line (or, `multiLine`, of its file).
 */
export type CsvMode = 'FAILFAST' | 'DROPMALFORMED' | 'PERMISSIVE';

/**
 * Checks a CSV mode, case-insensitively as Spark reads it, and returns it in capitals.
 *
 * @example
 * ```ts
 * csvModeOf('permissive'); // 'PERMISSIVE'
 * ```
 */
export function csvModeOf(mode: unknown, where = 'CSV'): CsvMode {
  const m = typeof mode === 'string' ? mode.toUpperCase() : mode;
  if (m === 'FAILFAST' || m === 'DROPMALFORMED' || m === 'PERMISSIVE') return m;
  throw new InvalidArgumentError(`${where}: mode must be 'FAILFAST', 'DROPMALFORMED' or 'PERMISSIVE', got ${JSON.stringify(mode)}`);
}

export function checkCsvDelimiter(delimiter: string, where = 'CSV'): void {
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new InvalidArgumentError(
      `${where}: the delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`,
    );
  }
}

/**
 * An RFC 4180 parser fed one line at a time (without its `\n`): fields separated by `delimiter`; a field that
 * starts with a double quote runs to the closing quote and may hold delimiters, doubled quotes (`""`) and line
 * breaks. `push` returns the record a line completes, or `undefined` while a quoted field is still open: the
 * line break belongs to the field, and the next line continues it (read as `\n`; a `\r` before it stays, as a
 * `\r` ending a complete record is dropped). A `\r` anywhere else outside quotes throws an {@link InvalidDataError}:
 * records end at `\n` or `\r\n` here, and a file whose lines end in `\r` alone (classic Mac, old Excel exports)
 * read as one line gave its first line's fields as the header and no records, without an error (Spark splits
 * its lines at a lone `\r`).
 *
 * @example
 * ```ts
 * const p = new CsvLineParser(',');
 * p.push('ann,"said ""hi"", left"'); // ['ann', 'said "hi", left']
 * p.push('bob,"two'); // undefined: the quoted field goes on
 * p.push('lines"'); // ['bob', 'two\nlines']
 * ```
 */
export class CsvLineParser {
  readonly #delimiter: string;
  /** The fields of a record whose last field is an open quoted field, and that field's text so far. */
  #row: string[] | undefined;
  #field = '';

  constructor(delimiter: string) {
    checkCsvDelimiter(delimiter);
    this.#delimiter = delimiter;
  }

  /** Whether the last line ended inside a quoted field. */
  get open(): boolean {
    return this.#row !== undefined;
  }

  /**
   * Ends the record whose quoted field is open (the line ran out before the closing quote), as a permissive reader
   * takes it: the field holds what was read. Undefined when no field is open.
   */
  closeOpen(): string[] | undefined {
    const row = this.#row;
    if (row === undefined) return undefined;
    row.push(this.#field);
    this.#row = undefined;
    this.#field = '';
    return row;
  }

  push(line: string): string[] | undefined {
    const d = this.#delimiter;
    const n = line.length;
    const row = this.#row ?? [];
    let field = this.#field;
    let quoted = this.#row !== undefined;
    if (quoted) field += '\n';
    // Where to look for a lone \r: only lines holding one that is not their last character pay for the check.
    let cr = line.indexOf('\r');
    if (cr === n - 1) cr = -1;
    this.#row = undefined;
    this.#field = '';
    let i = 0;
    for (;;) {
      if (quoted) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          this.#row = row;
          this.#field = field + line.slice(i);
          return undefined;
        }
        field += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 34) {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          quoted = false;
        }
        continue;
      }
      if (i >= n) {
        row.push(field);
        return row;
      }
      const c = line[i]!;
      if (c === '"' && field === '') {
        quoted = true;
        i++;
        continue;
      }
      if (c === d) {
        row.push(field);
        field = '';
        i++;
        continue;
      }
      // Unquoted text runs to the next delimiter (a quote inside it is an ordinary character).
      const next = line.indexOf(d, i);
      const end = next < 0 ? n : next;
      if (cr >= 0 && cr < end) {
        const k = line.indexOf('\r', i);
        if (k >= 0 && k < end && k < n - 1) throw loneCarriageReturn();
      }
      field += end === n && line.charCodeAt(n - 1) === 13 ? line.slice(i, n - 1) : line.slice(i, end);
      i = end;
    }
  }
}

function loneCarriageReturn(): InvalidDataError {
  return new InvalidDataError(
    'a carriage return (\\r) outside quotes: records end at \\n or \\r\\n, and a file whose lines end in \\r alone ' +
      "(classic Mac) reads as one line; convert its line ends first (tr '\\r' '\\n').",
  );
}

/**
 * Parses CSV text (RFC 4180; see {@link CsvLineParser}): records end at `\n` or `\r\n`. A final line break
 * does not start a record; an empty line is a record with one empty field, except at the end; a leading
 * byte-order mark is dropped.
 *
 * @example
 * ```ts
 * parseCsv('name,quote\nann,"said ""hi"", left"\n'); // [['name', 'quote'], ['ann', 'said "hi", left']]
 * parseCsv('a;b', ';'); // [['a', 'b']]
 * ```
 */
export function parseCsv(text: string, delimiter = ','): string[][] {
  const parser = new CsvLineParser(delimiter);
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const rows: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    let row: string[] | undefined;
    try {
      row = parser.push(lines[i]!);
    } catch (err) {
      throw new InvalidDataError(`CSV: line ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
    if (row !== undefined) rows.push(row);
  }
  if (parser.open) throw new InvalidDataError(`CSV: a quoted field that starts in record ${rows.length + 1} is never closed`);
  return rows;
}
