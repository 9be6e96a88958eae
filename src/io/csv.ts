/**
 * CSV parsing for `sc.csvFile`. Self-contained (only its arguments and standard globals), so it ships to the
 * workers as a helper function.
 */

/**
 * Parses CSV text (RFC 4180): fields separated by `delimiter`, records by `\n` or `\r\n`; a field in double
 * quotes may hold delimiters, line breaks and doubled quotes (`""`). A final line break does not start a
 * record; an empty line is a record with one empty field, except at the end.
 *
 * @example
 * ```ts
 * parseCsv('name,quote\nann,"said ""hi"", left"\n'); // [['name', 'quote'], ['ann', 'said "hi", left']]
 * parseCsv('a;b', ';'); // [['a', 'b']]
 * ```
 */
export function parseCsv(text: string, delimiter = ','): string[][] {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    // internal: sc.csvFile checks the delimiter on the driver first; this file stays self-contained (it ships)
    throw new RangeError(`CSV delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
  }
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  const n = text.length;
  // A byte-order mark is not part of the first field.
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  let atRecordStart = true;
  while (i < n) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      // Quoted field: up to the closing quote, "" standing for one quote.
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new SyntaxError(`CSV: a quoted field that starts in record ${rows.length + 1} is never closed`);
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      atRecordStart = false;
      continue;
    }
    if (c === delimiter) {
      row.push(field);
      field = '';
      i++;
      atRecordStart = false;
      continue;
    }
    if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += c === '\r' ? 2 : 1;
      atRecordStart = true;
      continue;
    }
    field += c;
    i++;
    atRecordStart = false;
  }
  if (!atRecordStart) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
