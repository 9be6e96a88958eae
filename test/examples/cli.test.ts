/**
 * The examples as commands: `npx tsx examples/<name>.ts ...` runs, validates and prints its timing table; a bad
 * option exits 2 with a one-line reason. Also the shared helpers' parsing and printing.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatMs, maxRelativeDiff, parseCli } from '../../examples/common.js';
import { parsePoint } from '../../examples/logistic-regression.js';
import { parseEdge } from '../../examples/pagerank.js';
import { DATA_DIR } from './helpers.js';

const exec = promisify(execFile);
const script = (name: string): string => fileURLToPath(new URL(`../../examples/${name}.ts`, import.meta.url));
/**
 * An example run as `npx tsx examples/<name>.ts ARGS`, in one process (`node --import tsx`, which is what the tsx
 * command starts; npx and tsx's own launcher would be two more node processes). A fresh node compiling the example
 * and loading kindling costs 1.5-3 s of CPU: at load 20 on two cores that was 25-45 s of wall time per process
 * (measured 20:27 UTC, 2026-12-02), so each spawn gets 110 s and its own test of 120 s.
 */
const tsx = (name: string, args: readonly string[]) => exec(process.execPath, ['--import', 'tsx', script(name), ...args], { timeout: 110_000 });
const SPAWN_TEST_MS = 120_000;

describe('example commands', () => {
  it(
    'pagerank --small --partitioned runs, validates against the baseline and prints per-iteration timings',
    async () => {
      const { stdout } = await tsx('pagerank', [
        '--small',
        '--partitioned',
        '--master',
        'local[2]',
        '--engine',
        'memory',
        '--iterations',
        '3',
        '--no-progress',
        '--data',
        DATA_DIR,
      ]);
      expect(stdout).toContain('PageRank (partitioned), 3 iterations over 20000 edges');
      expect(stdout).toContain('validated: every rank equals the single-thread CSR baseline');
      expect(stdout).toMatch(/iteration 3\s+[\d.]+ m?s/);
      expect(stdout).toContain('engine memory');
    },
    SPAWN_TEST_MS,
  );

  // Every program the README lists, one process per test.
  it.each(['main', 'wordcount', 'pagerank', 'kmeans'])(
    '%s --help prints the usage and exits 0 without running the job',
    async (name) => {
      const { stdout } = await tsx(name, ['--help']);
      expect(stdout).toMatch(/Usage/i);
      // A run would print a result; --help stops before any context starts.
      expect(stdout).not.toMatch(/validated|distinct words|iteration 1/);
    },
    SPAWN_TEST_MS,
  );

  it(
    'a bad option exits with status 2 and a one-line reason',
    async () => {
      const err = (await tsx('kmeans', ['--engine', 'spark']).catch((e: unknown) => e)) as {
        code: number;
        stderr: string;
      };
      expect(err.code).toBe(2);
      expect(err.stderr.trim()).toBe("kmeans: --engine must be memory or mapreduce, got 'spark' (see --help)");
    },
    SPAWN_TEST_MS,
  );

  // main and wordcount parse their own command lines: they accepted any option and ran the whole job anyway
  // (wordcount --bogus, main --iterations abc ran with NaN iterations) or died with a stack trace (main --bogus,
  // and `kindling example main --engine X`, which passes --engine on). Each case stops before any job runs.
  it.each([
    ['main', ['--bogus'], /^main: Unknown option '--bogus'\./],
    ['main', ['--engine', 'mapreduce'], /^main: Unknown option '--engine'\./],
    ['main', ['--iterations', 'abc'], /^main: --iterations expects a non-negative integer, got 'abc' \(see --help\)$/],
    ['main', ['--iterations', '0'], /^main: --iterations expects a positive integer, got '0' \(see --help\)$/],
    ['wordcount', ['--bogus'], /^wordcount: Unknown option '--bogus'\./],
    ['wordcount', ['--engine'], /^wordcount: Option '--engine <value>' argument missing \(see --help\)$/],
    ['wordcount', ['--mb', 'abc'], /^wordcount: --mb expects a number, got 'abc' \(see --help\)$/],
    ['wordcount', ['--mb=-5'], /^wordcount: --mb expects a positive number of MiB, got '-5' \(see --help\)$/],
    ['wordcount', ['a.txt', 'b.txt'], /^wordcount: unexpected argument 'b.txt' \(see --help\)$/],
  ])(
    '%s %j exits 2 with a one-line reason and runs nothing',
    async (name, args, reason) => {
      const err = (await tsx(name, args).catch((e: unknown) => e)) as { code: number; stdout: string; stderr: string };
      expect(err.code).toBe(2);
      expect(err.stderr.trim()).toMatch(reason);
      expect(err.stderr.trim().split('\n')).toHaveLength(1);
      expect(err.stdout).toBe('');
    },
    SPAWN_TEST_MS,
  );

  it(
    'wordcount of a missing file exits 1 with one line naming the path, not a stack trace',
    async () => {
      const err = (await tsx('wordcount', ['--master', 'local[1]', '/nonexistent/words.txt']).catch((e: unknown) => e)) as {
        code: number;
        stderr: string;
      };
      expect(err.code).toBe(1);
      expect(err.stderr.trim()).toBe('wordcount failed: Input path does not exist: /nonexistent/words.txt');
    },
    SPAWN_TEST_MS,
  );
});

describe('common helpers', () => {
  it('parseCli: common options with defaults, example options, negations', () => {
    const cli = parseCli(
      'x',
      'about',
      { iterations: { type: 'string', help: '' }, partitioned: { type: 'boolean', help: '' } },
      ['--master', 'local[2]', '--iterations', '7', '--partitioned', '--no-validate', 'input.txt'],
      'input',
    );
    expect([cli.master, cli.engine, cli.small, cli.dataDir, cli.progress, cli.validate, cli.positional]).toEqual([
      'local[2]',
      'memory',
      false,
      'data',
      true,
      false,
      'input.txt',
    ]);
    expect([cli.int('iterations', 10), cli.flag('partitioned'), cli.int('missing', 3), cli.string('missing')]).toEqual([7, true, 3, undefined]);
    expect(parseCli('x', 'about', {}, ['--engine', 'mapreduce', '--small']).engine).toBe('mapreduce');
  });

  it('parseEdge and parsePoint: spaces, tabs, CR, extra columns; a bad edge line names itself', () => {
    expect(parseEdge('3 4')).toEqual([3, 4]);
    expect(parseEdge('  3\t 4 0.5\r')).toEqual([3, 4]);
    expect(() => parseEdge('3')).toThrow('not an edge (\'src dst\'): "3"');
    expect(() => parseEdge('a b')).toThrow(/not an edge/);
    expect(parsePoint('-1 0.5000 -1.2500\t3e-2\r')).toEqual([-1, 0.5, -1.25, 0.03]);
    expect(parsePoint('')).toEqual([]);
  });

  it('formatMs and maxRelativeDiff', () => {
    expect([formatMs(12.34), formatMs(1234), formatMs(12_345)]).toEqual(['12.3 ms', '1.23 s', '12.3 s']);
    expect(maxRelativeDiff([1, 200, 1e-7], [1, 200.0002, 0])).toBeCloseTo(1e-6, 9); // relative above 1, absolute below
    expect(maxRelativeDiff([1], [1, 2])).toBe(Infinity);
  });
});
