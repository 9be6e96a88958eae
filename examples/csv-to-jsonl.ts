/**
 * Converts a folder of CSV files to JSON Lines: every data row becomes one JSON object keyed by its file's header
 * (all values strings, keys in header order), written with `saveAsTextFile` (part files and `_SUCCESS`, committed
 * atomically).
 *
 * Each file is read whole (`wholeTextFiles`), so every file's first line is its header even when files have
 * different columns, and quoted fields may hold commas, doubled quotes and line breaks (RFC 4180; LF or CRLF
 * line ends, an optional UTF-8 byte order mark). Rows whose field count differs from the header's are counted
 * with an accumulator and skipped.
 *
 * When the input folder does not exist, small generated CSV files (two schemas, awkward fields) are written
 * there first (seeded).
 *
 *   npx tsx examples/csv-to-jsonl.ts --master local[2] [--small] [--input data/csv] [--output data/csv-jsonl]
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { capture, type Context } from 'kindling';
import { SeededRandom } from 'kindling/datagen';
import { Timer, check, isMain, parseCli, printTable, runMain, type ExampleResult } from './common.js';

export interface CsvOptions {
  /** Folder of `*.csv` files; generated when missing (default `<dataDir>/csv`, or `csv-small` with `small`). */
  readonly input?: string;
  /** Output folder (default the input folder's name + `-jsonl`); replaced if it exists. */
  readonly output?: string;
  readonly small?: boolean;
  readonly dataDir?: string;
  /** Add the source file's name to every object under this key. */
  readonly fileField?: string;
  readonly generate?: CsvGenOptions;
}

export interface CsvSummary {
  readonly input: string;
  readonly output: string;
  readonly files: number;
  /** Data rows converted (JSON lines written). */
  readonly rows: number;
  /** Rows skipped because their field count differs from the header's. */
  readonly malformed: number;
  /** Part files written. */
  readonly parts: number;
}

// ---- CSV ------------------------------------------------------------------------------------------------------

/**
 * Parses CSV text (RFC 4180): fields separated by commas, rows by LF or CRLF; a field in double quotes may
 * contain commas, line breaks and doubled quotes (`""` for `"`). A leading byte order mark is dropped; a
 * final line break does not start a row. Shipped to workers as a captured helper (it uses only its argument
 * and standard globals).
 *
 * @throws Error on an unterminated quoted field.
 *
 * @example
 * ```ts
 * parseCsv('a,b\n"x, y","say ""hi"""\n'); // [['a', 'b'], ['x, y', 'say "hi"']]
 * ```
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let row: string[] = [];
  while (i < n) {
    let field: string;
    if (text.charCodeAt(i) === 34 /* " */) {
      // Quoted: up to the next quote that is not doubled.
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) throw new Error(`unterminated quoted field starting at character ${i}`);
        value += text.slice(from, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          from = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Lenient: characters between the closing quote and the delimiter are kept.
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
      field = value + text.slice(i, j);
      i = j;
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
      field = text.slice(i, j);
      i = j;
    }
    row.push(field);
    if (i >= n) break;
    const c = text[i];
    if (c === ',') {
      i++;
      if (i === n) row.push(''); // a trailing comma ends with an empty field
      continue;
    }
    // End of row: \n, \r\n or a lone \r.
    i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    rows.push(row);
    row = [];
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/**
 * The keys a header's names become, as Spark's CSV reader names its columns: an empty name is `_c<index>`, and a
 * name that occurs more than once (ignoring case, Spark's default) gets its index appended to each occurrence
 * (`id,Name,name` is `id`, `Name1`, `name2`). Used as keys as they were, a repeated name kept only its last value.
 *
 * @example
 * ```ts
 * headerKeys(['a', '', 'b', 'A']); // ['a0', '_c1', 'b', 'A3']
 * ```
 */
export function headerKeys(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  for (const n of names) seen.set(n.toLowerCase(), (seen.get(n.toLowerCase()) ?? 0) + 1);
  return names.map((n, i) => (n === '' ? `_c${i}` : seen.get(n.toLowerCase())! > 1 ? `${n}${i}` : n));
}

/** One CSV field, quoted when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value.startsWith(' ') || value.endsWith(' ') ? `"${value.replaceAll('"', '""')}"` : value;
}

// ---- generated CSV files --------------------------------------------------------------------------------------

export interface CsvGenOptions {
  readonly files?: number;
  readonly rowsPerFile?: number;
  readonly seed?: number;
}

function resolveGen(o: CsvGenOptions, small: boolean): Required<CsvGenOptions> {
  return { files: o.files ?? (small ? 4 : 8), rowsPerFile: o.rowsPerFile ?? (small ? 500 : 25_000), seed: o.seed ?? 42 };
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Zoë', 'José', '李', 'Ngozi'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', "O'Brien", 'Müller', 'García', '王'];
const CITIES = ['Paris', 'Washington, D.C.', 'Zürich', 'São Paulo', 'Tokyo', 'Lagos', "St. John's, NL"];
const NOTES = [
  '',
  'prefers email',
  'said "call me after 5"',
  'VIP, do not lose',
  'multi-line note:\nfirst line\nsecond line',
  'windows line break:\r\nhere',
  '  padded  ',
  '"quoted", with comma',
];
const STATUSES = ['new', 'paid', 'shipped', 'returned, refunded'];

/**
 * Writes `files` CSV files into `dir`, alternating two schemas (`customers-NN.csv` and `orders-NN.csv`), with
 * commas, quotes, line breaks, non-ASCII text and empty values in fields; one file in two has CRLF line ends
 * and the first one starts with a byte order mark. Returns the rows written per file (header first), for tests.
 *
 * @example
 * ```ts
 * const files = generateCsv('/tmp/csv', { files: 2, rowsPerFile: 10 });
 * ```
 */
export function generateCsv(dir: string, options: CsvGenOptions = {}, small = false): Map<string, string[][]> {
  const o = resolveGen(options, small);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const written = new Map<string, string[][]>();
  for (let f = 0; f < o.files; f++) {
    const rng = new SeededRandom(o.seed, f + 1);
    const pick = <T>(xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;
    const customers = f % 2 === 0;
    const name = `${customers ? 'customers' : 'orders'}-${String(f).padStart(2, '0')}.csv`;
    const rows: string[][] = [
      customers ? ['id', 'name', 'email', 'city', 'notes'] : ['order_id', 'customer_id', 'amount', 'status', 'comment', 'date'],
    ];
    for (let r = 0; r < o.rowsPerFile; r++) {
      if (customers) {
        const first = pick(FIRST);
        const last = pick(LAST);
        rows.push([
          String(f * o.rowsPerFile + r),
          `${last}, ${first}`,
          rng.nextFloat() < 0.1 ? '' : `${first}.${r}@example.com`.toLowerCase(),
          pick(CITIES),
          pick(NOTES),
        ]);
      } else {
        const amount = (rng.nextInt(1_000_000) / 100).toFixed(2);
        const day = 1 + rng.nextInt(28);
        rows.push([`o-${f}-${r}`, String(rng.nextInt(10_000)), amount, pick(STATUSES), pick(NOTES), `2024-02-${String(day).padStart(2, '0')}`]);
      }
    }
    const eol = f % 2 === 1 ? '\r\n' : '\n';
    const text = (f === 0 ? '\ufeff' : '') + rows.map((row) => row.map(csvField).join(',')).join(eol) + eol;
    writeFileSync(join(dir, name), text);
    written.set(name, rows);
  }
  return written;
}

/**
 * Generates CSV files into `dir` when it does not exist or holds no files; an existing folder is used as it is.
 * The files are written into a temporary sibling folder first and renamed into place, so an interrupted run
 * leaves no half-generated input behind.
 */
export function ensureCsv(dir: string, options: CsvGenOptions = {}, small = false): void {
  if (existsSync(dir) && readdirSync(dir).some((f) => !f.startsWith('.') && !f.startsWith('_'))) return;
  const tmp = `${dir}.${process.pid}.generating`;
  generateCsv(tmp, options, small);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

// ---- the job --------------------------------------------------------------------------------------------------

/**
 * Converts the CSV folder and returns the summary and the timing of each phase.
 *
 * @example
 * ```ts
 * const { summary } = await run(sc, { input: 'exports/', output: 'exports-jsonl/' });
 * ```
 */
export async function run(sc: Context, options: CsvOptions = {}): Promise<ExampleResult<CsvSummary>> {
  const timer = new Timer();
  const input = resolve(options.input ?? join(options.dataDir ?? 'data', options.small ? 'csv-small' : 'csv'));
  const output = resolve(options.output ?? `${input}-jsonl`);
  await timer.time(
    'prepare input',
    async () => ensureCsv(input, options.generate, options.small),
    () => input,
  );
  const files = sc.accumulator(0, 'CSV files');
  const rows = sc.accumulator(0, 'rows');
  const malformed = sc.accumulator(0, 'malformed rows');
  const fileField = options.fileField ?? null;
  const jsonl = sc.wholeTextFiles(join(input, '*.csv')).flatMap(
    capture({ parseCsv, headerKeys, files, rows, malformed, fileField }, ([path, content]: [string, string]): string[] => {
      let table: string[][];
      try {
        table = parseCsv(content);
      } catch (e) {
        throw new Error(`${path}: ${(e as Error).message}`);
      }
      files.add(1);
      const names = table[0];
      if (names === undefined) return [];
      const header = headerKeys(names);
      const name = path.slice(path.lastIndexOf('/') + 1);
      const out: string[] = [];
      for (let r = 1; r < table.length; r++) {
        const row = table[r]!;
        if (row.length === 1 && row[0] === '' && header.length > 1) continue; // a blank line
        if (row.length !== header.length) {
          malformed.add(1);
          continue;
        }
        const obj: Record<string, string> = {};
        if (fileField !== null) obj[fileField] = name;
        for (let c = 0; c < header.length; c++) {
          // An assignment to '__proto__' sets the prototype instead (a string is ignored): the column would vanish.
          if (header[c] === '__proto__')
            Object.defineProperty(obj, '__proto__', { value: row[c], enumerable: true, writable: true, configurable: true });
          else obj[header[c]!] = row[c]!;
        }
        out.push(JSON.stringify(obj));
      }
      rows.add(out.length);
      return out;
    }),
  );
  await timer.time(
    'parse + write JSON Lines',
    () => jsonl.saveAsTextFile(output, { overwrite: true }),
    () => output,
  );
  const parts = readdirSync(output).filter((f) => f.startsWith('part-')).length;
  return {
    summary: { input, output, files: files.value, rows: rows.value, malformed: malformed.value, parts },
    timings: timer.timings,
  };
}

export function printSummary(s: CsvSummary): void {
  console.log(`\nCSV to JSON Lines: ${s.files} files, ${s.rows} rows converted, ${s.malformed} malformed rows skipped`);
  printTable(
    ['', 'path'],
    [
      ['input', s.input],
      ['output', `${s.output} (${s.parts} part files)`],
    ],
  );
  const first = readdirSync(s.output)
    .filter((f) => f.startsWith('part-'))
    .sort()[0];
  const sample = first === undefined ? undefined : readFileSync(join(s.output, first), 'utf8').split('\n')[0];
  if (sample) console.log(`  first line: ${sample}`);
}

if (isMain(import.meta.url)) {
  const cli = parseCli(
    'csv-to-jsonl',
    'Convert a folder of CSV files (header line per file) to JSON Lines',
    {
      input: { type: 'string', help: 'folder of .csv files (generated when missing; default data/csv or data/csv-small)' },
      output: { type: 'string', help: 'output folder (default <input>-jsonl; replaced)' },
      'file-field': { type: 'string', help: 'add the source file name to every object under this key' },
    },
    undefined,
    'input-folder',
  );
  await runMain(cli, 'csv-to-jsonl', async (sc) => {
    const result = await run(sc, {
      input: cli.string('input') ?? cli.positional,
      output: cli.string('output'),
      small: cli.small,
      dataDir: cli.dataDir,
      fileField: cli.string('file-field'),
    });
    const s = result.summary;
    printSummary(s);
    if (cli.validate) {
      // Read the output back with kindling: as many lines as rows converted, each a JSON object.
      const back = await sc
        .textFile(s.output)
        .map((line) => {
          const v: unknown = JSON.parse(line);
          return typeof v === 'object' && v !== null && !Array.isArray(v) ? 1 : 0;
        })
        .sum();
      check(back === s.rows, `read back ${back} JSON objects, ${s.rows} rows were converted`);
      console.log(`validated: the output reads back as ${back} JSON objects (files named ${basename(s.output)}/part-*)`);
    }
    return result;
  });
}
