/**
 * A nightly batch job: a folder of server log files (timestamped lines, each file covering several days) becomes
 * one gzip archive per day, `YYYY-MM-DD.log.gz`, holding that day's lines from every file in time order, plus a
 * per-day summary (lines, bytes, errors, archive size) printed and written as `summary.json` next to the
 * archives.
 *
 * The lines are grouped by day (`keyBy` + `groupByKey`); each day is sorted, compressed and written by a worker
 * (`useModule('node:zlib')` and `useModule('node:fs')` inside the shipped function; written under a temporary
 * name, then renamed, so a reader never sees half an archive). Lines that do not start with a timestamp are
 * counted with an accumulator and skipped.
 *
 * When the input folder does not exist, small generated logs are written there first (seeded).
 *
 *   npx tsx examples/logs-to-gzip.ts --master local[2] [--small] [--input data/logs] [--output data/logs-archive]
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { capture, useModule, type Context } from 'kindling';
import { SeededRandom } from 'kindling/datagen';
import { Timer, check, isMain, parseCli, printTable, runMain, type ExampleResult } from './common.js';

export interface LogsOptions {
  /** Folder of log files; generated when missing (default `<dataDir>/logs`, or `logs-small` with `small`). */
  readonly input?: string;
  /** Folder for the archives and summary.json (default the input folder's name + `-archive`). */
  readonly output?: string;
  readonly small?: boolean;
  readonly dataDir?: string;
  /** Parameters of generated logs. */
  readonly generate?: LogGenOptions;
}

export interface DaySummary {
  readonly day: string;
  readonly lines: number;
  /** Bytes of the day's lines, newlines included (the uncompressed archive's size). */
  readonly bytes: number;
  /** Lines at level ERROR. */
  readonly errors: number;
  /** Size of the archive. */
  readonly gzipBytes: number;
  /** The archive's path. */
  readonly archive: string;
}

export interface LogsSummary {
  readonly input: string;
  readonly output: string;
  readonly days: readonly DaySummary[];
  readonly lines: number;
  readonly bytes: number;
  readonly errors: number;
  readonly gzipBytes: number;
  /** Lines without a leading timestamp, skipped. */
  readonly skipped: number;
}

// ---- generated logs -------------------------------------------------------------------------------------------

export interface LogGenOptions {
  readonly files?: number;
  readonly days?: number;
  readonly linesPerFile?: number;
  readonly seed?: number;
  /** First day, `YYYY-MM-DD` (default 2024-03-01). */
  readonly start?: string;
}

const LEVELS = [
  ['DEBUG', 0.2],
  ['INFO', 0.65],
  ['WARN', 0.1],
  ['ERROR', 0.05],
] as const;
const PATHS = ['/api/items', '/api/users', '/api/orders', '/login', '/static/app.js', '/health'];
const MESSAGES = ['cache miss', 'retrying request', 'connection reset by peer', 'slow query', 'user logged in', 'payment declined'];

function resolveGen(o: LogGenOptions, small: boolean): Required<LogGenOptions> {
  return {
    files: o.files ?? (small ? 4 : 8),
    days: o.days ?? (small ? 3 : 7),
    linesPerFile: o.linesPerFile ?? (small ? 5_000 : 100_000),
    seed: o.seed ?? 42,
    start: o.start ?? '2024-03-01',
  };
}

/**
 * Writes `files` log files `server-NN.log` into `dir`, each with `linesPerFile` lines in time order spread
 * over `days` days from `start` (replacing `dir`). Deterministic in its options.
 *
 * @example
 * ```ts
 * generateLogs('/tmp/logs', { files: 2, days: 2, linesPerFile: 100 });
 * ```
 */
export function generateLogs(dir: string, options: LogGenOptions = {}, small = false): void {
  const o = resolveGen(options, small);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const startMs = Date.parse(`${o.start}T00:00:00.000Z`);
  if (Number.isNaN(startMs)) throw new RangeError(`start must be YYYY-MM-DD, got '${o.start}'`);
  const spanMs = o.days * 86_400_000;
  for (let f = 0; f < o.files; f++) {
    const rng = new SeededRandom(o.seed, f + 1);
    const server = `server-${String(f).padStart(2, '0')}`;
    // Sorted random instants over the span: each file is in time order, as a real log is.
    const times = new Float64Array(o.linesPerFile);
    for (let i = 0; i < times.length; i++) times[i] = startMs + Math.floor(rng.nextFloat() * spanMs);
    times.sort();
    const lines: string[] = [];
    for (let i = 0; i < times.length; i++) {
      let u = rng.nextFloat();
      let level: string = LEVELS[0][0];
      for (const [name, p] of LEVELS) {
        if (u < p) {
          level = name;
          break;
        }
        u -= p;
      }
      const ts = new Date(times[i]!).toISOString();
      const msg =
        level === 'INFO' || level === 'DEBUG'
          ? `GET ${PATHS[rng.nextInt(PATHS.length)]}/${rng.nextInt(10_000)} ${level === 'INFO' ? 200 : 304} ${1 + rng.nextInt(500)}ms`
          : `${MESSAGES[rng.nextInt(MESSAGES.length)]} (request ${rng.nextUint32().toString(16)})`;
      lines.push(`${ts} ${level.padEnd(5)} [${server}] ${msg}`);
      // Now and then a stack-trace line without a timestamp, which the job must skip.
      if (level === 'ERROR' && rng.nextFloat() < 0.1) lines.push('    at handler (server.js:42:13)');
    }
    writeFileSync(join(dir, `${server}.log`), lines.join('\n') + '\n');
  }
}

/**
 * Generates logs into `dir` when it does not exist or holds no files; an existing folder is used as it is.
 * The files are written into a temporary sibling folder first and renamed into place, so an interrupted run
 * leaves no half-generated input behind.
 */
export function ensureLogs(dir: string, options: LogGenOptions = {}, small = false): void {
  if (existsSync(dir) && readdirSync(dir).some((f) => !f.startsWith('.') && !f.startsWith('_'))) return;
  const tmp = `${dir}.${process.pid}.generating`;
  generateLogs(tmp, options, small);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

// ---- the job --------------------------------------------------------------------------------------------------

/** `YYYY-MM-DD` at the start of a line (an ISO timestamp), or undefined. Shipped to workers as a helper. */
export function dayOf(line: string): string | undefined {
  return /^\d{4}-\d{2}-\d{2}T/.test(line) ? line.slice(0, 10) : undefined;
}

/**
 * Archives the logs by day and returns the per-day summary and the timing of each phase.
 *
 * @example
 * ```ts
 * const { summary } = await run(sc, { input: 'logs', output: 'archive' });
 * ```
 */
export async function run(sc: Context, options: LogsOptions = {}): Promise<ExampleResult<LogsSummary>> {
  const timer = new Timer();
  const input = resolve(options.input ?? join(options.dataDir ?? 'data', options.small ? 'logs-small' : 'logs'));
  const output = resolve(options.output ?? `${input}-archive`);
  await timer.time(
    'prepare input',
    async () => ensureLogs(input, options.generate, options.small),
    () => input,
  );
  mkdirSync(output, { recursive: true });

  const zlib = useModule<typeof import('node:zlib')>('node:zlib');
  const fs = useModule<typeof import('node:fs')>('node:fs');
  const path = useModule<typeof import('node:path')>('node:path');
  const skippedLines = sc.accumulator(0, 'lines without a timestamp');
  const days = await timer.time(
    'group by day, sort, gzip, write',
    () =>
      sc
        .textFile(input)
        .filter(
          capture({ dayOf, skippedLines }, (line: string) => {
            if (dayOf(line) !== undefined) return true;
            if (line.length > 0) skippedLines.add(1);
            return false;
          }),
        )
        .keyBy((line) => line.slice(0, 10))
        .groupByKey()
        .map(
          capture({ zlib, fs, path, output }, ([day, lines]: [string, string[]]): DaySummary => {
            lines.sort(); // the timestamp leads: time order, ties by the rest of the line
            const text = lines.join('\n') + '\n';
            const gz = zlib.gzipSync(text);
            const archive = path.join(output, `${day}.log.gz`);
            const tmp = path.join(output, `.${day}.log.gz.${Math.random().toString(36).slice(2)}.tmp`);
            fs.writeFileSync(tmp, gz);
            fs.renameSync(tmp, archive);
            let errors = 0;
            for (const l of lines) if (l.split(' ', 2)[1] === 'ERROR') errors++;
            return { day, lines: lines.length, bytes: Buffer.byteLength(text), errors, gzipBytes: gz.length, archive };
          }),
        )
        .collect(),
    (ds) => `${ds.length} days`,
  );
  days.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const total = (f: (d: DaySummary) => number): number => days.reduce((s, d) => s + f(d), 0);
  const summary: LogsSummary = {
    input,
    output,
    days,
    lines: total((d) => d.lines),
    bytes: total((d) => d.bytes),
    errors: total((d) => d.errors),
    gzipBytes: total((d) => d.gzipBytes),
    skipped: skippedLines.value,
  };
  writeFileSync(join(output, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return { summary, timings: timer.timings };
}

/** Decompresses every archive and checks it against its summary line (count, bytes, order, day). */
export function validateArchives(s: LogsSummary): void {
  for (const d of s.days) {
    const text = gunzipSync(readFileSync(d.archive)).toString('utf8');
    check(Buffer.byteLength(text) === d.bytes, `${d.archive} holds ${Buffer.byteLength(text)} bytes, the summary says ${d.bytes}`);
    const lines = text.split('\n');
    check(lines.pop() === '', `${d.archive} does not end with a newline`);
    check(lines.length === d.lines, `${d.archive} holds ${lines.length} lines, the summary says ${d.lines}`);
    check(
      lines.every((l, i) => l.startsWith(d.day) && (i === 0 || lines[i - 1]! <= l)),
      `${d.archive} is not the day's lines in time order`,
    );
  }
}

export function printSummary(s: LogsSummary): void {
  console.log(`\nlogs of ${s.input} archived by day into ${s.output} (${s.skipped} lines without a timestamp skipped)`);
  const pct = (a: number, b: number): string => `${((100 * a) / Math.max(b, 1)).toFixed(1)}%`;
  printTable(
    ['day', 'lines', 'bytes', 'errors', 'gzip bytes', 'ratio'],
    [
      ...s.days.map((d) => [d.day, d.lines, d.bytes, d.errors, d.gzipBytes, pct(d.gzipBytes, d.bytes)]),
      ['total', s.lines, s.bytes, s.errors, s.gzipBytes, pct(s.gzipBytes, s.bytes)],
    ],
    [5],
  );
  console.log(`  summary written to ${join(s.output, 'summary.json')}`);
}

if (isMain(import.meta.url)) {
  const cli = parseCli(
    'logs-to-gzip',
    'Archive a folder of log files into one gzip file per day, with a per-day summary',
    {
      input: { type: 'string', help: 'folder of log files (generated when missing; default data/logs or data/logs-small)' },
      output: { type: 'string', help: 'folder for the archives and summary.json (default <input>-archive)' },
    },
    undefined,
    'input-folder',
  );
  await runMain(cli, 'logs-to-gzip', async (sc) => {
    const result = await run(sc, {
      input: cli.string('input') ?? cli.positional,
      output: cli.string('output'),
      small: cli.small,
      dataDir: cli.dataDir,
    });
    printSummary(result.summary);
    if (cli.validate) {
      const s = result.summary;
      validateArchives(s);
      const inputLines = await sc
        .textFile(s.input)
        .filter((l) => l.length > 0)
        .count();
      check(inputLines === s.lines + s.skipped, `the input has ${inputLines} lines, the archives ${s.lines} and ${s.skipped} were skipped`);
      console.log("validated: every input line is in its day's archive, which decompresses to the summary's lines and bytes, in time order");
    }
    return result;
  });
}
