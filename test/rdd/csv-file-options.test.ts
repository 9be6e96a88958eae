/**
 * `sc.csvFile` with Spark's reader options (`quote`, `escape`, `comment`, `nullValue`, `emptyValue`,
 * `ignoreLeadingWhiteSpace`, `ignoreTrailingWhiteSpace`): any records written with them read back equal, at any
 * split count and with `multiLine`, on top of the delimiter, line ends and header.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-csv-options-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;

interface Settings {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string | undefined;
  readonly comment: string | undefined;
  readonly nullValue: string | undefined;
  readonly emptyValue: string | undefined;
  readonly ignoreLeadingWhiteSpace: boolean;
  readonly ignoreTrailingWhiteSpace: boolean;
  readonly header: boolean;
  readonly lineBreaks: boolean;
  readonly eol: string;
}

const isBlank = (s: string): boolean => [...s].every((c) => c.charCodeAt(0) <= 32);

/** A field as a writer with these settings puts it: quoted (escaping quote and escape) unless it reads back as is. */
function encodeField(v: string | null, s: Settings, pad: () => string): string {
  const padded = (text: string): string => `${s.ignoreLeadingWhiteSpace ? pad() : ''}${text}${s.ignoreTrailingWhiteSpace ? pad() : ''}`;
  if (v === null) return padded(s.nullValue!);
  const escape = s.escape ?? s.quote;
  const plain =
    v !== '' &&
    v !== s.nullValue &&
    !isBlank(v[0]!) &&
    !isBlank(v[v.length - 1]!) &&
    ![s.delimiter, s.quote, escape, '\n', '\r'].some((c) => v.includes(c)) &&
    (s.comment === undefined || !v.startsWith(s.comment));
  if (plain) return padded(v);
  let out = s.quote;
  for (const c of v) out += c === s.quote ? escape + c : escape !== s.quote && c === escape ? escape + c : c;
  return padded(out + s.quote);
}

const settings: fc.Arbitrary<Settings> = fc.record({
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  quote: fc.constantFrom('"', "'"),
  escape: fc.constantFrom(undefined, '\\'),
  comment: fc.constantFrom(undefined, '#'),
  nullValue: fc.constantFrom(undefined, '', 'NULL', '\\N'),
  emptyValue: fc.constantFrom(undefined, '', 'EMPTY'),
  ignoreLeadingWhiteSpace: fc.boolean(),
  ignoreTrailingWhiteSpace: fc.boolean(),
  header: fc.boolean(),
  lineBreaks: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n'),
});

const CHARS = ['a', 'b', 'N', 'U', 'L', ' ', '\t', ',', ';', '|', '"', "'", '\\', '#', 'é', '\u{1F600}'];

describe('csvFile with Spark reader options', () => {
  const ctx = useContext('local[2]');

  it('reads back any records written with quote, escape, comment, nullValue, emptyValue and white space options; any split count, multiLine', async () => {
    await fc.assert(
      fc.asyncProperty(
        settings,
        fc.integer({ min: 2, max: 4 }),
        fc.array(
          fc.array(
            fc.option(
              fc.array(fc.constantFrom(...CHARS, '\n'), { maxLength: 8 }).map((cs) => cs.join('')),
              { freq: 5 },
            ),
            { minLength: 4, maxLength: 4 },
          ),
          {
            maxLength: 40,
          },
        ),
        fc.infiniteStream(fc.constantFrom('', ' ', '  ', '\t')),
        fc.infiniteStream(fc.constantFrom(0, 0, 0, 1)),
        async (s, width, raw, pads, comments) => {
          // A record as it must read back: null only where nullValue can say it, no line breaks unless multiLine,
          // no string equal to nullValue (which reads null), a quoted empty string reading emptyValue.
          const records = raw.map((r) =>
            r.slice(0, width).map((v) => {
              if (v === null) return s.nullValue === undefined ? 'x' : null;
              const text = s.lineBreaks ? v : v.replaceAll('\n', '');
              return text === s.nullValue ? `${text}x` : text;
            }),
          );
          const padIt = pads[Symbol.iterator]();
          // White space around values, but never the delimiter (a tab).
          const pad = (): string => padIt.next().value!.replaceAll(s.delimiter, ' ');
          const commentIt = comments[Symbol.iterator]();
          const lines: string[] = [];
          const maybeComment = (): void => {
            if (s.comment !== undefined && commentIt.next().value === 1) lines.push(`${s.comment} a note, "unclosed ${s.quote}`);
          };
          const names = Array.from({ length: width }, (_, j) => `c${j}`);
          maybeComment();
          if (s.header) lines.push(names.join(s.delimiter));
          const kept: Array<Array<string | null>> = [];
          for (const r of records) {
            maybeComment();
            const line = r.map((v) => encodeField(v, s, pad)).join(s.delimiter);
            // A line of nothing but white space is no record (Spark skips blank lines): not written.
            if (isBlank(line)) continue;
            lines.push(line);
            kept.push(r);
          }
          const file = path.join(root, `f${files++}.csv`);
          writeFileSync(file, lines.join(s.eol) + (lines.length > 0 && pad() === '' ? s.eol : ''));
          const read = (v: string | null): string | null => (v === '' ? (s.emptyValue ?? '') : v);
          const want = kept.map((r) => (s.header ? Object.fromEntries(names.map((n, j) => [n, read(r[j]!)])) : r.map(read)));
          const options = {
            header: s.header,
            delimiter: s.delimiter,
            quote: s.quote,
            ...(s.escape !== undefined ? { escape: s.escape } : {}),
            ...(s.comment !== undefined ? { comment: s.comment } : {}),
            ...(s.nullValue !== undefined ? { nullValue: s.nullValue } : {}),
            ...(s.emptyValue !== undefined ? { emptyValue: s.emptyValue } : {}),
            ignoreLeadingWhiteSpace: s.ignoreLeadingWhiteSpace,
            ignoreTrailingWhiteSpace: s.ignoreTrailingWhiteSpace,
          };
          const where = JSON.stringify({ s, text: lines.join(s.eol) });
          // The header is a boolean here, which csvFile's overloads (typed by header) do not take as such.
          const readFile = (more: object) =>
            ctx()
              .csvFile(file, { ...options, ...more } as unknown as { header: false })
              .collect();
          expect(await readFile({ multiLine: true }), where).toEqual(want);
          if (!s.lineBreaks || !kept.some((r) => r.some((v) => v?.includes('\n')))) {
            for (const minPartitions of [1, 3, 17]) {
              expect(await readFile({ minPartitions }), `${where} minPartitions ${minPartitions}`).toEqual(want);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("reads Spark's escapes, comments before the header, nulls and trimmed values in a split file", async () => {
    const file = path.join(root, 'spark.csv');
    const body = Array.from({ length: 200 }, (_, i) => ` ${i} ,"say \\"hi\\" \\\\ ${i}",${i % 3 === 0 ? 'NA' : `'${i}'`}, ""`);
    writeFileSync(file, `# exported by a tool\n#name,said,quoted,empty\nid,said,quoted,empty\n${body.join('\n')}\n# end\n`);
    const rows = await ctx()
      .csvFile(file, {
        escape: '\\',
        comment: '#',
        nullValue: 'NA',
        emptyValue: '-',
        ignoreLeadingWhiteSpace: true,
        ignoreTrailingWhiteSpace: true,
        minPartitions: 7,
      })
      .collect();
    expect(rows).toHaveLength(200);
    expect(rows[3]).toEqual({ id: '3', said: 'say "hi" \\ 3', quoted: null, empty: '-' });
    expect(rows[4]).toEqual({ id: '4', said: 'say "hi" \\ 4', quoted: "'4'", empty: '-' });
    // Quoting off: a quote is an ordinary character.
    const off = await ctx().csvFile(file, { quote: '', comment: '#', header: false, minPartitions: 3 }).first();
    expect(off).toEqual(['id', 'said', 'quoted', 'empty']);
    expect((await ctx().csvFile(file, { quote: '', comment: '#', header: false }).take(2))[1]).toEqual([' 0 ', '"say \\"hi\\" \\\\ 0"', 'NA', ' ""']);
  });

  it('refuses option characters that cannot work, naming the option', () => {
    expect(() => ctx().csvFile(root, { quote: ',' })).toThrow(/delimiter must be one character other than the quote/);
    expect(() => ctx().csvFile(root, { escape: '\\\\' })).toThrow(/escape must be one character/);
    expect(() => ctx().csvFile(root, { comment: '\n' })).toThrow(/comment must be one character other than a line break/);
    expect(() => ctx().csvFile(root, { nullValue: 0 as unknown as string })).toThrow(/nullValue must be a string/);
  });
});
