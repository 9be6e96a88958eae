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
 * How a CSV line is read besides its delimiter: Spark's CSV reader options of the same names.
 *
 * - `quote` (default `"`): opens and closes a quoted field; `''` turns quoting off (as in Spark).
 * - `escape` (default: the quote, so `""` inside quotes is one quote, RFC 4180): another character (Spark's default
 *   is `\`) escapes the quote and itself inside a quoted field (`\"` is `"`, `\\` is `\`); before anything else it
 *   is an ordinary character. `""` is then no escape.
 * - `ignoreLeadingWhiteSpace` / `ignoreTrailingWhiteSpace` (default false): drop characters up to the space
 *   (U+0020) before / after a value; a quote after leading white space still opens a quoted field.
 * - `nullValue` (default none, so no field is null; Spark's default is `''`): a field equal to it reads `null`,
 *   except a quoted empty field, which reads `emptyValue` (as Spark since 2.4).
 * - `emptyValue` (default `''`): what a quoted empty field (`""`) reads as.
 */
export interface CsvParseOptions {
  readonly quote?: string;
  readonly escape?: string;
  readonly ignoreLeadingWhiteSpace?: boolean;
  readonly ignoreTrailingWhiteSpace?: boolean;
  readonly nullValue?: string;
  readonly emptyValue?: string;
}

/**
 * Checks the characters a CSV reader is given, together: each one character (a quote may be `''`, no quoting),
 * none a line break, and the delimiter neither the quote nor the escape.
 *
 * @example
 * ```ts
 * checkCsvOptions(';', { quote: "'", escape: '\\', comment: '#' }); // ok
 * checkCsvOptions(',', { quote: ',' }); // throws InvalidArgumentError
 * ```
 */
export function checkCsvOptions(delimiter: string, options: CsvParseOptions & { readonly comment?: string }, where = 'CSV'): void {
  const char = (name: string, v: unknown, emptyAllowed = false): void => {
    if (v === undefined) return;
    if (typeof v !== 'string' || v.length > 1 || (v.length === 0 && !emptyAllowed) || v === '\n' || v === '\r') {
      throw new InvalidArgumentError(
        `${where}: ${name} must be one character other than a line break${emptyAllowed ? " (or '' for none)" : ''}, got ${JSON.stringify(v)}`,
      );
    }
  };
  char('quote', options.quote, true);
  char('escape', options.escape);
  char('comment', options.comment);
  for (const name of ['nullValue', 'emptyValue'] as const) {
    const v = options[name];
    if (v !== undefined && typeof v !== 'string') throw new InvalidArgumentError(`${where}: ${name} must be a string, got ${typeof v}`);
  }
  const quote = options.quote ?? '"';
  if (
    typeof delimiter !== 'string' ||
    delimiter.length !== 1 ||
    delimiter === '\n' ||
    delimiter === '\r' ||
    delimiter === quote ||
    delimiter === options.escape
  ) {
    throw new InvalidArgumentError(
      `${where}: the delimiter must be one character other than the quote, the escape or a line break, got ${JSON.stringify(delimiter)}`,
    );
  }
}

/** Java's `Character.isWhitespace`-like test univocity uses for trimming: a character up to the space. */
const isSpace = (c: number): boolean => c <= 32;

/**
 * An RFC 4180 parser fed one line at a time (without its `\n`): fields separated by `delimiter`; a field that
 * starts with a double quote runs to the closing quote and may hold delimiters, doubled quotes (`""`) and line
 * breaks. `push` returns the record a line completes, or `undefined` while a quoted field is still open: the
 * line break belongs to the field, and the next line continues it (read as `\n`; a `\r` before it stays, as a
 * `\r` ending a complete record is dropped). A `\r` anywhere else outside quotes throws an {@link InvalidDataError}:
 * records end at `\n` or `\r\n` here, and a file whose lines end in `\r` alone (classic Mac, old Excel exports)
 * read as one line gave its first line's fields as the header and no records, without an error (Spark splits
 * its lines at a lone `\r`). Spark's quote, escape, white space, null and empty value options change this as
 * {@link CsvParseOptions} says; a field is `null` only with `nullValue`.
 *
 * @example
 * ```ts
 * const p = new CsvLineParser(',');
 * p.push('ann,"said ""hi"", left"'); // ['ann', 'said "hi", left']
 * p.push('bob,"two'); // undefined: the quoted field goes on
 * p.push('lines"'); // ['bob', 'two\nlines']
 * new CsvLineParser(';', { quote: "'", escape: '\\', nullValue: 'NA' }).push("NA;'it\\'s'"); // [null, "it's"]
 * ```
 */
export class CsvLineParser {
  readonly #delimiter: string;
  readonly #quote: string;
  /** The escape when it is not the quote (then `""` is no escape), else ''. */
  readonly #escape: string;
  readonly #trimLeading: boolean;
  readonly #trimTrailing: boolean;
  readonly #nullValue: string | undefined;
  readonly #emptyValue: string;
  /** No trimming after values, no nullValue, no emptyValue: every field is its text (the common case, kept cheap). */
  readonly #plain: boolean;
  readonly #quoteCode: number;
  /** The fields of a record whose last field is an open quoted field, and that field's text so far. */
  #row: Array<string | null> | undefined;
  #field = '';

  constructor(delimiter: string, options: CsvParseOptions = {}) {
    if (options.quote === undefined && options.escape === undefined) checkCsvDelimiter(delimiter);
    else checkCsvOptions(delimiter, options);
    this.#delimiter = delimiter;
    this.#quote = options.quote ?? '"';
    this.#escape = options.escape !== undefined && options.escape !== this.#quote ? options.escape : '';
    this.#trimLeading = options.ignoreLeadingWhiteSpace === true;
    this.#trimTrailing = options.ignoreTrailingWhiteSpace === true;
    this.#nullValue = options.nullValue;
    this.#emptyValue = options.emptyValue ?? '';
    this.#plain = !this.#trimTrailing && this.#nullValue === undefined && this.#emptyValue === '';
    this.#quoteCode = this.#quote === '' ? -1 : this.#quote.charCodeAt(0);
  }

  /** Whether the last line ended inside a quoted field. */
  get open(): boolean {
    return this.#row !== undefined;
  }

  /**
   * Ends the record whose quoted field is open (the line ran out before the closing quote), as a permissive reader
   * takes it: the field holds what was read. Undefined when no field is open.
   */
  closeOpen(): Array<string | null> | undefined {
    const row = this.#row;
    if (row === undefined) return undefined;
    row.push(this.#field);
    this.#row = undefined;
    this.#field = '';
    return row;
  }

  /** A finished field's value: a quoted empty one is `emptyValue`; one equal to `nullValue` is null. */
  #value(field: string, quoted: boolean, closedAt: number): string | null {
    if (this.#trimTrailing) {
      let end = field.length;
      while (end > closedAt && isSpace(field.charCodeAt(end - 1))) end--;
      if (end < field.length) field = field.slice(0, end);
    }
    if (quoted && field === '') return this.#emptyValue;
    return field === this.#nullValue ? null : field;
  }

  push(line: string): Array<string | null> | undefined {
    const d = this.#delimiter;
    const q = this.#quote;
    const e = this.#escape;
    const plain = this.#plain;
    const qc = this.#quoteCode;
    const trimLeading = this.#trimLeading;
    const n = line.length;
    const row = this.#row ?? [];
    let field = this.#field;
    let quoted = this.#row !== undefined;
    // Whether the field being read was quoted, and where its text after the closing quote starts (trailing white
    // space is trimmed only from there).
    let wasQuoted = quoted;
    let closedAt = 0;
    let atStart = !quoted;
    if (quoted) field += '\n';
    // Where to look for a lone \r: only lines holding one that is not their last character pay for the check.
    let cr = line.indexOf('\r');
    if (cr === n - 1) cr = -1;
    this.#row = undefined;
    this.#field = '';
    let i = 0;
    for (;;) {
      if (quoted) {
        const qi = line.indexOf(q, i);
        const ei = e === '' ? -1 : line.indexOf(e, i);
        if (ei >= 0 && (qi < 0 || ei < qi)) {
          // The escape before a quote or itself stands for that character; before anything else it is itself.
          field += line.slice(i, ei);
          const next = line[ei + 1];
          if (next === q || next === e) {
            field += next;
            i = ei + 2;
          } else {
            field += e;
            i = ei + 1;
          }
          continue;
        }
        if (qi < 0) {
          this.#row = row;
          this.#field = field + line.slice(i);
          return undefined;
        }
        field += line.slice(i, qi);
        if (e === '' && line.charCodeAt(qi + 1) === qc) {
          field += q;
          i = qi + 2;
        } else {
          i = qi + 1;
          quoted = false;
          closedAt = field.length;
        }
        continue;
      }
      if (atStart && trimLeading) {
        // White space, but not a delimiter that is white space itself (a tab).
        while (i < n && isSpace(line.charCodeAt(i)) && line[i] !== d) i++;
      }
      if (i >= n) {
        row.push(plain ? field : this.#value(field, wasQuoted, closedAt));
        return row;
      }
      const c = line[i]!;
      if (atStart && c === q) {
        quoted = true;
        wasQuoted = true;
        atStart = false;
        i++;
        continue;
      }
      atStart = false;
      if (c === d) {
        row.push(plain ? field : this.#value(field, wasQuoted, closedAt));
        field = '';
        wasQuoted = false;
        closedAt = 0;
        atStart = true;
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
  // No nullValue: every field is a string.
  const parser = new CsvLineParser(delimiter) as unknown as { push(line: string): string[] | undefined; readonly open: boolean };
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
