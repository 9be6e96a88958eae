/** The `kindling` command: help, errors as one line with a non-zero exit, and scripts run with flags. */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const kindling = (...args: string[]) => spawnSync(process.execPath, ['bin/kindling.js', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('kindling CLI', () => {
  // One process per test: five in one test shared its 60 s, which a loaded machine (3-4 s of wall per `--help`
  // at load 22, for 0.3 s of CPU) used up.
  it.each([['--help'], ['run', '--help'], ['example', '--help'], ['bench', '--help'], ['gen', '--help']].map((args) => ({ args })))(
    'prints help for the program and every command, exit code 0: kindling $args',
    ({ args }) => {
      const r = kindling(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: kindling/);
    },
  );

  it("kindling bench NAME --help prints that benchmark's own usage and runs nothing", () => {
    // commander used to answer with the `bench` command's help, so a benchmark's options were nowhere to be read.
    const r = kindling('bench', 'cost', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^COST \("Scalability! But at what COST\?"\)/);
    expect(r.stdout).toMatch(/npx kindling bench cost \[--rounds 3\]/);
    expect(r.stdout).not.toMatch(/Usage: kindling bench/);
  });

  it("kindling example NAME --help prints that demo's own usage and runs nothing", () => {
    // commander answered with the `example` command's help, which names none of the demo's options.
    const r = kindling('example', 'wordcount', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Word count of a text file/);
    expect(r.stdout).toMatch(/--mb <value> +size of the generated corpus/);
    expect(r.stdout).not.toMatch(/Usage: kindling example/);
  });

  it('fails with a one-line reason and a non-zero exit code', () => {
    const cases: Array<[string[], RegExp]> = [
      [['gen', 'nope'], /^kindling: no data set 'nope'; choose one of: text, graph, points$/],
      [['example', 'nope'], /^kindling: no example 'nope'; choose one of: .*pagerank/],
      [['run', 'missing.ts'], /^kindling: no such script: missing\.ts$/],
    ];
    for (const [args, message] of cases) {
      const r = kindling(...args);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    const bad = kindling('run', 'test/fixtures/print-parallelism.ts', '--master', 'yarn');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/Unknown master 'yarn'/);
  });

  // One process per case, as for --help above. Before: commander printed its whole help after a usage error,
  // a folder given as the script died in Node's loader with a stack trace, `gen --seed x` reached the generator as
  // NaN ("kindling: kindling: seed must be ..."), and an option put before a name was read as the name.
  it.each<{ args: string[]; message: RegExp }>([
    { args: ['frobnicate'], message: /^kindling: unknown command 'frobnicate'; see kindling --help$/ },
    { args: ['histry', 'logs'], message: /^kindling: unknown command 'histry' \(Did you mean history\?\); see kindling --help$/ },
    { args: ['--frob'], message: /^kindling: unknown option '--frob'; see kindling --help$/ },
    { args: ['run'], message: /^kindling: missing required argument 'script'; see kindling --help$/ },
    {
      args: ['run', '--bogus', 'x.ts'],
      message: /^kindling: unknown option '--bogus' before the script; the script's own options go after its path$/,
    },
    { args: ['run', 'test'], message: /^kindling: not a script file: test$/ },
    { args: ['history'], message: /^kindling: missing required argument 'dir'; see kindling --help$/ },
    { args: ['history', 'logs', '--port', 'abc'], message: /^kindling: option '--port <port>' argument 'abc' is invalid\. a port is an integer/ },
    {
      args: ['bench', '--only', 'wordcount'],
      message: /^kindling: bench: the benchmark's name comes first, then its options \(kindling bench NAME --only \.\.\.\); choose one of: .*cost/,
    },
    {
      args: ['gen', 'text', '--seed', 'x'],
      message: /^kindling: option '--seed <n>' argument 'x' is invalid\. expected a number, got 'x'; see kindling --help$/,
    },
    { args: ['gen', 'text', '--mb', '-1'], message: /^kindling: option '--mb <n>' argument '-1' is invalid\. expected a positive number/ },
    { args: ['executor'], message: /^kindling: required option '--master <url>' not specified; see kindling --help$/ },
  ])('a usage error is one line on stderr and a non-zero exit: kindling $args', ({ args, message }) => {
    const r = kindling(...args);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(r.stdout).toBe('');
  });

  it('kindling --help lists every command', () => {
    const r = kindling('--help');
    const listed = [...r.stdout.split('Commands:')[1]!.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]);
    expect(listed).toEqual(['run', 'example', 'bench', 'gen', 'executor', 'history', 'help']);
  });

  it('runs a TypeScript script with --master and --engine, without a build step for the script', () => {
    const r = kindling('run', 'test/fixtures/print-parallelism.ts', '--master', 'local[3]', '--engine', 'mapreduce');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ workers: 3, engine: 'mapreduce', n: 10 });
  });

  it('--conf key=value reaches the Context options (code wins), and the script gets its own flags', () => {
    const r = kindling(
      'run',
      'test/fixtures/print-conf.ts',
      '--conf',
      'maxTaskFailures=2',
      '--conf',
      'hints=false',
      '--conf',
      'memory.workerMB=512',
      '--conf',
      'appName=from-cli',
      '--conf',
      'cluster=2024',
      '--iterations',
      '5',
      '--small',
      'input.txt',
    );
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out).toEqual({
      maxTaskFailures: 2,
      hints: false,
      workerMB: 512,
      appName: 'conf-check',
      cluster: '2024', // a name stays a string, though it reads as a number
      version: JSON.parse(readFileSync('package.json', 'utf8')).version,
      args: ['--iterations', '5', '--small', 'input.txt'],
    });
    const bad = kindling('run', 'test/fixtures/print-conf.ts', '--conf', 'nope=1');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toMatch(/^kindling: --conf: unknown option 'nope'; known: master, /);
    // A value the Context would refuse is refused before the script runs, in one line (it was the script's uncaught
    // InvalidOptionError with a stack trace).
    for (const [pair, message] of [
      ['memory.workerMB=abc', "memory.workerMB must be a positive integer, got 'abc'"],
      ['fetchTimeoutMs=1e12', 'fetchTimeoutMs must be at most 2147483647 ms'],
      ['engine=spark', "Unknown engine 'spark'"],
    ]) {
      const wrong = kindling('run', 'test/fixtures/print-conf.ts', '--conf', pair!);
      expect(wrong.status).toBe(1);
      expect(wrong.stdout).toBe('');
      expect(wrong.stderr.trim().split('\n')).toEqual([expect.stringContaining(`kindling: --conf: ${message}`)]);
    }
  });

  it('--version prints the package version', () => {
    const r = kindling('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('passes %s sent to kindling alone on to the script, waits for its clean-up, and exits as the script did', async (signal, status) => {
    // Sent to the `kindling` process only (a supervisor's stop, or `kill` of the pid it knows), not to the whole
    // process group as a terminal's Ctrl-C is: the script must still get it, run its handler (the context cancels
    // and removes its spill folder), and kindling must not return before that.
    const localDir = mkdtempSync(path.join(tmpdir(), 'kindling-cli-signal-'));
    try {
      const child = spawn(process.execPath, ['bin/kindling.js', 'run', 'test/fixtures/signal-job.mjs', localDir, '1'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let foldersWhileRunning: string[] = [];
      const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error('kindling run did not end in time'));
        }, 50_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          if (chunk.includes('"ready":true')) {
            foldersWhileRunning = readdirSync(localDir);
            child.kill(signal);
          }
        });
        child.on('exit', (code, sig) => {
          clearTimeout(timer);
          resolve({ code, signal: sig });
        });
      });
      expect(foldersWhileRunning).toHaveLength(1);
      expect(ended).toEqual({ code: status, signal: null });
      expect(readdirSync(localDir)).toEqual([]);
    } finally {
      rmSync(localDir, { recursive: true, force: true });
    }
  });

  it('passes a failing script exit code through', () => {
    const r = kindling('run', 'test/fixtures/failing-job.ts');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Job 0 failed[\s\S]*bad record 2/);
  });

  it("runs a script with top-level await in a project whose package.json says CommonJS (npm 11's `npm init -y`)", () => {
    // tsx alone compiles such a .ts file to CommonJS and stops at its first `await`, before a line runs.
    const project = mkdtempSync(path.join(tmpdir(), 'kindling-cjs-project-'));
    try {
      writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-job', version: '1.0.0', type: 'commonjs' }));
      mkdirSync(path.join(project, 'node_modules'));
      symlinkSync(process.cwd(), path.join(project, 'node_modules', 'kindling'), 'dir');
      writeFileSync(path.join(project, 'helper.ts'), 'export const twice = (x: number): number => x * 2;\n');
      writeFileSync(
        path.join(project, 'job.ts'),
        [
          "import { Context } from 'kindling';",
          "import { twice } from './helper';",
          'const sc = new Context({ ui: false });',
          'const sum = await sc.parallelize([1, 2, 3], 2).sum();',
          'console.log(JSON.stringify({ sum: twice(sum), esm: typeof require === "undefined" }));',
          'await sc.stop();',
        ].join('\n'),
      );
      // A CommonJS script without top-level await keeps running as CommonJS: `require` and `__dirname` work.
      writeFileSync(
        path.join(project, 'plain.ts'),
        "const path = require('node:path');\nconsole.log(JSON.stringify({ dir: path.basename(__dirname), esm: false }));\n",
      );
      const job = kindling('run', path.join(project, 'job.ts'));
      expect(job.stderr).not.toMatch(/Top-level await/);
      expect(job.status).toBe(0);
      expect(JSON.parse(job.stdout.trim().split('\n').pop()!)).toEqual({ sum: 12, esm: true });
      const plain = kindling('run', path.join(project, 'plain.ts'));
      expect(plain.status).toBe(0);
      expect(JSON.parse(plain.stdout.trim().split('\n').pop()!)).toEqual({ dir: path.basename(project), esm: false });
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
