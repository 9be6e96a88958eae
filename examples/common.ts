/**
 * What the demo programs share: command-line parsing (node:util's parseArgs, no extra dependency), the
 * context they run on, timing of phases and iterations, and printing tables.
 *
 * Every example is a module exporting `run(sc, options)` (returns its result summary and timings, so tests
 * and benchmarks can call it) and a `main` that runs when the file is executed directly:
 *
 *   npx tsx examples/pagerank.ts --master local[2] --engine memory --iterations 10 [--small]
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Context } from 'kindling';

export type Engine = 'memory' | 'mapreduce';

/** How long one phase or iteration took, with an optional one-line note (e.g. the iteration's statistic). */
export interface Timing {
  readonly phase: string;
  readonly ms: number;
  readonly note?: string;
}

/** What every example's `run` returns. */
export interface ExampleResult<S> {
  readonly summary: S;
  readonly timings: readonly Timing[];
}

/** Collects timings in order. */
export class Timer {
  readonly timings: Timing[] = [];

  /** Runs `fn`, records its wall time under `phase`; `note` describes the result in the table. */
  async time<R>(phase: string, fn: () => Promise<R>, note?: (r: R) => string): Promise<R> {
    const t0 = performance.now();
    const r = await fn();
    const ms = performance.now() - t0;
    this.timings.push(note === undefined ? { phase, ms } : { phase, ms, note: note(r) });
    return r;
  }

  /** Total of all recorded timings, in milliseconds. */
  get totalMs(): number {
    return this.timings.reduce((s, t) => s + t.ms, 0);
  }
}

// ---- command line ---------------------------------------------------------------------------------------------

/** An example-specific option; all options are `--name value` strings or `--flag` booleans. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly help: string;
}

/** The parsed command line: the common options, and typed accessors for the example's own. */
export interface Cli {
  readonly master: string;
  readonly engine: Engine;
  /** Small generated data, so the program runs in a few seconds. */
  readonly small: boolean;
  /** Where generated data sets are written (default `data`). */
  readonly dataDir: string;
  readonly progress: boolean;
  /** Check the result (against the single-thread baseline where there is one). */
  readonly validate: boolean;
  /** The positional argument, if the example declares one (an input path). */
  readonly positional: string | undefined;
  string(name: string): string | undefined;
  int(name: string, fallback: number): number;
  number(name: string, fallback: number): number;
  flag(name: string): boolean;
}

const COMMON: Record<string, OptionSpec & { default?: string | boolean }> = {
  // The `kindling` command passes --master and --engine to the examples it runs through these variables.
  master: {
    type: 'string',
    help: 'local, local[N] or local[*] (default $KINDLING_MASTER or local[*])',
    default: process.env['KINDLING_MASTER'] ?? 'local[*]',
  },
  engine: { type: 'string', help: 'memory or mapreduce (default $KINDLING_ENGINE or memory)', default: process.env['KINDLING_ENGINE'] ?? 'memory' },
  small: { type: 'boolean', help: 'small generated data (runs in a few seconds)', default: false },
  data: { type: 'string', help: 'directory for generated data sets (default data)', default: 'data' },
  progress: { type: 'boolean', help: 'console progress bar (--no-progress to hide)', default: true },
  validate: { type: 'boolean', help: 'check the result (--no-validate to skip)', default: true },
  help: { type: 'boolean', help: 'show this help', default: false },
};

/** Thrown for a bad command line; `main` prints its message and exits with status 2. */
export class UsageError extends Error {}

/**
 * Parses the command line of an example: the common options plus `extra`. `--help` prints usage and exits 0;
 * an unknown option or a bad value exits 2 with a one-line reason.
 *
 * @example
 * ```ts
 * const cli = parseCli('pagerank', 'PageRank on the generated graph', { partitioned: { type: 'boolean', help: '...' } });
 * cli.int('iterations', 10);
 * ```
 */
export function parseCli(
  program: string,
  about: string,
  extra: Record<string, OptionSpec> = {},
  argv = process.argv.slice(2),
  /** Name of the optional positional argument in the usage line (e.g. `edges.txt`); none when undefined. */
  positional?: string,
  /**
   * The common options this program takes (all by default): one that would be accepted and then ignored (main
   * runs both engines, so `--engine` means nothing to it) is refused as unknown instead.
   */
  common: readonly string[] = Object.keys(COMMON),
): Cli {
  const taken = Object.fromEntries(Object.entries(COMMON).filter(([name]) => name === 'help' || common.includes(name)));
  const specs = { ...taken, ...extra };
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.type }])) as Record<
    string,
    { type: 'string' | 'boolean' }
  >;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true, allowNegative: true });
  } catch (e) {
    fail(program, (e as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values['help'] === true) {
    console.log(usage(program, about, specs, positional));
    process.exit(0);
  }
  if (parsed.positionals.length > (positional === undefined ? 0 : 1)) {
    fail(program, `unexpected argument '${parsed.positionals.at(-1)}'`);
  }
  const get = (name: string): string | boolean | undefined => values[name] ?? taken[name]?.default;
  const str = (name: string): string | undefined => {
    const v = get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const num = (name: string, fallback: number, integer: boolean): number => {
    const s = str(name);
    if (s === undefined) return fallback;
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n) || (integer && (!Number.isInteger(n) || n < 0))) {
      fail(program, `--${name} expects ${integer ? 'a non-negative integer' : 'a number'}, got '${s}'`);
    }
    return n;
  };
  // A program that does not take --engine (main) gets the default, which it does not read.
  const engine = str('engine') ?? 'memory';
  if (engine !== 'memory' && engine !== 'mapreduce') fail(program, `--engine must be memory or mapreduce, got '${engine}'`);
  return {
    master: str('master')!,
    engine,
    small: get('small') === true,
    dataDir: str('data')!,
    progress: get('progress') === true,
    validate: get('validate') === true,
    positional: parsed.positionals[0],
    string: str,
    int: (name, fallback) => num(name, fallback, true),
    number: (name, fallback) => num(name, fallback, false),
    flag: (name) => get(name) === true,
  };
}

/** A bad command line: one line naming the program and the reason, exit status 2. */
export function fail(program: string, reason: string): never {
  console.error(`${program}: ${reason} (see --help)`);
  process.exit(2);
}

function usage(program: string, about: string, specs: Record<string, OptionSpec>, positional: string | undefined): string {
  const lines = [`${about}\n`, `usage: npx tsx examples/${program}.ts [options]${positional ? ` [${positional}]` : ''}\n`, 'options:'];
  for (const [name, s] of Object.entries(specs)) {
    lines.push(`  ${(`--${name}` + (s.type === 'string' ? ' <value>' : '')).padEnd(24)} ${s.help}`);
  }
  return lines.join('\n');
}

// ---- running --------------------------------------------------------------------------------------------------

/** True when the module with this `import.meta.url` is the script being executed (not imported). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * Runs an example's body on a fresh context built from the command line (master and engine passed through),
 * prints its timings, and stops the context. A failure prints one line and sets exit code 1.
 */
export async function runMain<S>(cli: Cli, appName: string, body: (sc: Context) => Promise<ExampleResult<S>>): Promise<void> {
  let sc: Context | undefined;
  try {
    sc = new Context({ master: cli.master, engine: cli.engine, appName, progress: cli.progress });
    const t0 = performance.now();
    const result = await body(sc);
    const wall = performance.now() - t0;
    console.log(`\n${appName} on ${cli.master} (${sc.defaultParallelism} workers, engine ${cli.engine}): timings`);
    printTimings(result.timings);
    console.log(`total wall time ${formatMs(wall)}`);
  } catch (e) {
    reportFailure(appName, e);
  } finally {
    await sc?.stop();
  }
}

/** A failed run: one line (the stack with KINDLING_DEBUG set), exit code 1. */
export function reportFailure(appName: string, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  console.error(`${appName} failed: ${err.message.split('\n')[0]}`);
  if (process.env['KINDLING_DEBUG']) console.error(err.stack);
  process.exitCode = 1;
}

// ---- printing -------------------------------------------------------------------------------------------------

export function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/** Prints rows as a table with a header line; numbers (and columns listed in `alignRight`) are right-aligned. */
export function printTable(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
  alignRight: readonly number[] = [],
): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const right = headers.map((_, i) => alignRight.includes(i) || (rows.length > 0 && rows.every((r) => typeof r[i] === 'number')));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log('  ' + line(headers));
  console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log('  ' + line(r));
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 1000 ? n.toFixed(1) : n.toPrecision(6);
}

/** The per-phase / per-iteration timing table every example prints. */
export function printTimings(timings: readonly Timing[]): void {
  printTable(
    ['phase', 'time', 'note'],
    timings.map((t) => [t.phase, formatMs(t.ms), t.note ?? '']),
    [1],
  );
}

// ---- comparing results ----------------------------------------------------------------------------------------

/**
 * Largest relative difference between two vectors, |a - b| / max(|b|, 1): relative for entries of magnitude 1
 * or more, absolute below (a coordinate near 0 has no meaningful relative error). Infinity when the lengths
 * differ.
 */
export function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1);
    if (Number.isNaN(d)) return Infinity;
    if (d > worst) worst = d;
  }
  return worst;
}

/** Throws with `what` when `ok` is false; examples use it to validate their own results. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`validation failed: ${what}`);
}
