/**
 * The `kindling` command. Scripts, examples and benchmarks run in a child Node.js process with tsx's loader,
 * so TypeScript needs no build step; `--master` and `--engine` reach the script's Context through the
 * KINDLING_MASTER / KINDLING_ENGINE environment variables (options written in the script take precedence, as
 * spark-submit flags yield to settings in code).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DATASET_NAMES, ensureDataset, type DatasetName } from '../datagen/index.js';
import { parseConf, parseMaster, resolveOptions } from '../context/options.js';
import { VERSION } from '../version.js';
import { esmEntryFlags, needsEsmEntry } from './esm-entry.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

function masterOption(value: string): string {
  try {
    parseMaster(value, 1);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

function redisUrlOption(value: string): string {
  if (!/^rediss?:\/\/[^/]+/.test(value)) throw new InvalidArgumentError(`expected redis://HOST:PORT, got '${value}'`);
  return value;
}

function positiveIntOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

function portOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port (0-65535), got '${value}'`);
  return n;
}

/** `2g`, `512m`, `1024` (MiB). */
function memoryOption(value: string): number {
  const m = /^(\d+)([mMgG]?)$/.exec(value.trim());
  if (m === null || Number(m[1]) === 0) throw new InvalidArgumentError(`expected a size like 2g or 512m, got '${value}'`);
  return Number(m[1]) * (m[2]?.toLowerCase() === 'g' ? 1024 : 1);
}

function collectConf(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function engineOption(value: string): string {
  if (value !== 'memory' && value !== 'mapreduce') throw new InvalidArgumentError(`use 'memory' or 'mapreduce', not '${value}'`);
  return value;
}

/**
 * Runs a script in one child process with tsx's loader registered by `--import` (the way `bench cost` runs its
 * programs), not through tsx's own CLI, which would start a third Node.js process; resolves with its exit code.
 * The parent outlives the child: a terminal's Ctrl-C reaches both (one process group), and the script's own
 * handler cancels its jobs and cleans up, so the parent waits for that instead of returning the prompt early;
 * a signal sent to the parent alone (SIGTERM, SIGHUP, or SIGINT without a terminal) is passed on.
 */
async function runScript(script: string, args: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const esm = (await needsEsmEntry(script)) ? esmEntryFlags(script) : { flags: [], env: {} };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, ...esm.flags, script, ...args], {
      stdio: 'inherit',
      env: { ...process.env, ...env, ...esm.env },
    });
    // A terminal's Ctrl-C already reached the child; a second SIGINT could cut its clean-up short.
    const fromTerminal = process.stdin.isTTY === true;
    const pass = (signal: NodeJS.Signals) => () => {
      if (signal !== 'SIGINT' || !fromTerminal) child.kill(signal);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, pass(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const settle = (code: number) => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      resolve(code);
    };
    // A child ended by a signal exits as a shell reports it: 128 + the signal's number (130 for SIGINT).
    child.on('exit', (code, signal) => settle(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 0)));
    child.on('error', (e) => {
      console.error(`kindling: cannot start ${script}: ${e.message}`);
      settle(1);
    });
  });
}

function listTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_') && f !== 'common.ts' && f !== 'harness.ts')
    .map((f) => f.slice(0, -3))
    .sort();
}

/** A benchmark's usage: the comment that opens its file, which says what it measures and how it is run. */
function benchUsage(file: string): string {
  const head = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'));
  if (head === null) return `${path.basename(file)}: no usage written`;
  return head[1]!
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** The shared secret in `file` (trimmed); a missing or empty file is a one-line error. */
function readSecretFile(file: string): string {
  let secret = '';
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (e) {
    fail(`--secret-file: ${(e as Error).message}`);
  }
  if (secret === '') fail(`--secret-file: ${file} is empty`);
  return secret;
}

/**
 * commander's `error: unknown option '--x'` (with its `(Did you mean --y?)` on a line of its own) as one line,
 * prefixed like the command's other errors and pointing at the help.
 */
function usageError(message: string): string {
  const reason = message
    .replace(/^error: /, '')
    .trim()
    .split('\n')
    .filter(Boolean)
    .join(' ');
  return `kindling: ${reason}; see kindling --help\n`;
}

/** A number option (`--seed`), refused at parse time rather than reaching a generator as NaN. */
function numberOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
}

function positiveNumberOption(value: string): number {
  const n = numberOption(value);
  if (n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

/** A script path that names a file: a folder, or an option put before the path, fails here in one line. */
function checkScript(script: string): void {
  if (script.startsWith('-')) fail(`unknown option '${script}' before the script; the script's own options go after its path`);
  if (!existsSync(script)) fail(`no such script: ${script}`);
  if (!statSync(script).isFile()) fail(`not a script file: ${script}`);
}

function fail(message: string): never {
  console.error(`kindling: ${message}`);
  process.exit(1);
}

export function buildProgram(): Command {
  const program = new Command('kindling')
    .description('A Spark-like in-memory RDD engine for TypeScript: run scripts, demos, benchmarks, data generators.')
    .version(VERSION, '-V, --version', 'print the kindling version')
    // A usage error is one line, as every other error of this command (the subcommands inherit this output);
    // the help it used to print after the error buried the reason under a screenful.
    .configureOutput({ outputError: (message, write) => write(usageError(message)) })
    // Lets `bench` pass what follows a benchmark's name through to it (passThroughOptions needs this).
    .enablePositionalOptions();

  program
    .command('run')
    .description('run a kindling script (TypeScript or JavaScript)')
    .argument('<script>', 'path of the script')
    .argument('[args...]', 'arguments passed to the script, its own flags included (e.g. --iterations 5)')
    .option('--master <master>', 'local, local[N], local[*], local-cluster[N] or redis://HOST:PORT', masterOption)
    .option('--engine <engine>', 'memory or mapreduce', engineOption)
    .option('--conf <key=value>', 'a Context option, e.g. --conf memory.workerMB=1024 --conf hints=false (repeatable)', collectConf, [])
    .option('--secret-file <file>', "file holding the cluster's shared secret (given to the script as KINDLING_SECRET)")
    .allowUnknownOption()
    .action(async (script: string, args: string[], opts: { master?: string; engine?: string; conf: string[]; secretFile?: string }) => {
      checkScript(script);
      const secret = opts.secretFile === undefined ? undefined : readSecretFile(opts.secretFile);
      let conf: string | undefined;
      try {
        const options = parseConf(opts.conf);
        // A wrong value (memory.workerMB=abc) is refused here, in one line, rather than by the script's Context as
        // an uncaught error with a stack trace. Code may still override what is given here.
        if (opts.conf.length > 0) resolveOptions(options, os.availableParallelism());
        conf = opts.conf.length > 0 ? JSON.stringify(options) : undefined;
      } catch (e) {
        fail(`--conf: ${(e as Error).message}`);
      }
      process.exitCode = await runScript(path.resolve(script), args, {
        KINDLING_MASTER: opts.master,
        KINDLING_ENGINE: opts.engine,
        KINDLING_CONF: conf,
        KINDLING_SECRET: secret ?? process.env.KINDLING_SECRET,
      });
    });

  program
    .command('example')
    .description(`run a demo program (${listTs(path.join(packageRoot, 'examples')).join(', ')})`)
    .argument('<name>', 'demo name')
    .argument('[args...]', 'options of the demo, e.g. --iterations 5 --small')
    .option('--master <master>', 'local, local[N], local[*], local-cluster[N] or redis://HOST:PORT', masterOption)
    .option('--engine <engine>', 'memory or mapreduce', engineOption)
    .allowUnknownOption()
    // Everything after the demo's name is the demo's (each reads --master and --engine too): `example wordcount
    // --help` printed this command's help, so a demo's own options (--mb, --iterations, a path) were nowhere to be read.
    .passThroughOptions()
    .action(async (name: string, args: string[], opts: { master?: string; engine?: string }) => {
      const names = listTs(path.join(packageRoot, 'examples'));
      if (!names.includes(name)) fail(`no example '${name}'; choose one of: ${names.join(', ')}`);
      const extra = [...args, ...(opts.master ? ['--master', opts.master] : []), ...(opts.engine ? ['--engine', opts.engine] : [])];
      process.exitCode = await runScript(path.join(packageRoot, 'examples', `${name}.ts`), extra, {
        KINDLING_MASTER: opts.master,
        KINDLING_ENGINE: opts.engine,
      });
    });

  program
    .command('bench')
    .description(`run a benchmark (${listTs(path.join(packageRoot, 'bench')).join(', ')}), or all of them`)
    .argument('[workload]', 'benchmark name')
    .argument('[args...]', 'options of the benchmark (`kindling bench NAME --help` prints its own usage)')
    .allowUnknownOption()
    // Everything after the benchmark's name is the benchmark's: `bench cost --help` is cost's help, not this one's.
    .passThroughOptions()
    .action(async (workload: string | undefined, args: string[]) => {
      const names = listTs(path.join(packageRoot, 'bench'));
      if (workload?.startsWith('-'))
        fail(`bench: the benchmark's name comes first, then its options (kindling bench NAME ${workload} ...); choose one of: ${names.join(', ')}`);
      if (workload !== undefined && !names.includes(workload)) fail(`no benchmark '${workload}'; choose one of: ${names.join(', ')}`);
      if (workload !== undefined && (args.includes('--help') || args.includes('-h'))) {
        console.log(benchUsage(path.join(packageRoot, 'bench', `${workload}.ts`)));
        return;
      }
      for (const name of workload ? [workload] : names) {
        const code = await runScript(path.join(packageRoot, 'bench', `${name}.ts`), args, {});
        if (code !== 0) {
          process.exitCode = code;
          fail(`benchmark ${name} failed with exit code ${code}`);
        }
      }
    });

  program
    .command('gen')
    .description(`write a generated data set (${DATASET_NAMES.join(', ')}) if it is not there yet`)
    .argument('<dataset>', 'data set name')
    .option('--dir <dir>', 'output folder', 'data')
    .option('--seed <n>', 'random seed', numberOption)
    .option('--mb <n>', 'text size in MiB (text)', positiveNumberOption)
    .action(async (dataset: string, opts: { dir: string; seed?: number; mb?: number }) => {
      if (!(DATASET_NAMES as readonly string[]).includes(dataset)) fail(`no data set '${dataset}'; choose one of: ${DATASET_NAMES.join(', ')}`);
      const params: Record<string, number> = {};
      if (opts.seed !== undefined) params.seed = opts.seed;
      if (opts.mb !== undefined && dataset === 'text') params.bytes = opts.mb * 2 ** 20;
      const file = await ensureDataset(dataset as DatasetName, opts.dir, params as never);
      console.log(file);
    });

  program
    .command('executor')
    .description('run an executor of a cluster: registers in Redis, runs the tasks of the driver that leases it, serves its blocks to peers')
    .requiredOption('--master <url>', 'the Redis that drivers and executors meet through: redis://[user:password@]HOST:PORT[/db]', redisUrlOption)
    .option('--cluster <name>', 'cluster name (drivers lease executors of their cluster only)', 'default')
    .option('--cores <n>', 'task slots (worker threads)', positiveIntOption, os.availableParallelism())
    .option('--memory <size>', 'memory for all slots, e.g. 2g or 512m (each thread gets memory / cores)', memoryOption, 2048)
    .option('--host <host>', 'address to bind and advertise to peers (not loopback: needs a shared secret)', '127.0.0.1')
    .option('--port <port>', 'port for peers and the driver (0: any free port)', portOption, 0)
    .option('--secret-file <file>', 'file holding the shared secret (or set KINDLING_SECRET)')
    .option('--local-dir <dir>', "this executor's own folder for spills, shuffle files and job output (default: the OS temp folder)")
    .addOption(new Option('--exit-with-parent', 'exit when stdin closes (local-cluster)').hideHelp())
    .showHelpAfterError(false)
    .action(
      async (opts: {
        master: string;
        cluster: string;
        cores: number;
        memory: number;
        host: string;
        port: number;
        secretFile?: string;
        localDir?: string;
        exitWithParent?: boolean;
      }) => {
        // Handlers first: a SIGTERM as the ready line is printed (which scripts and supervisors wait for) ended the
        // process by the default action, its registration left in Redis for a driver to lease. One during the
        // start-up waits for it, then leaves as any other.
        let started: Promise<void> | undefined;
        let leaving = false;
        const leave = (signal: string) => {
          if (leaving) return;
          leaving = true;
          void (async () => {
            if (started === undefined) process.exit(0);
            // A start that fails is reported (one line, exit 1) where it is awaited below.
            const ok = await started.then(
              () => true,
              () => false,
            );
            if (!ok) return;
            console.log(`kindling executor ${executor.id}: ${signal}, leaving the cluster`);
            await executor.stop(signal);
            process.exit(0);
          })();
        };
        process.once('SIGTERM', () => leave('SIGTERM'));
        process.once('SIGINT', () => leave('SIGINT'));
        const secret = opts.secretFile === undefined ? process.env.KINDLING_SECRET : readSecretFile(opts.secretFile);
        const { ExecutorProcess } = await import('../exec/cluster/index.js');
        const executor = new ExecutorProcess({
          master: opts.master,
          cluster: opts.cluster,
          cores: opts.cores,
          memoryMB: opts.memory,
          host: opts.host,
          port: opts.port,
          ...(secret ? { secret } : {}),
          ...(opts.localDir !== undefined ? { localDir: path.resolve(opts.localDir) } : {}),
          log: (line) => console.log(line),
        });
        started = executor.start();
        try {
          await started;
        } catch (e) {
          fail((e as Error).message);
        }
        if (opts.exitWithParent) {
          process.stdin.on('end', () => leave('driver gone'));
          process.stdin.on('close', () => leave('driver gone'));
          process.stdin.resume();
        }
      },
    );

  program
    .command('history')
    .description('serve the web UI and REST API for the event logs in a folder (written with eventLog / KINDLING_EVENT_LOG_DIR)')
    .argument('<dir>', 'event log folder')
    .option(
      '--port <port>',
      'first port to try (the next free one is taken when it is in use; 0: any free port)',
      (v) => {
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`a port is an integer in 0..65535, got '${v}'`);
        return Number(v);
      },
      18080,
    )
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .action(async (dir: string, opts: { port: number; host: string }) => {
      // Loaded here: the other commands never pay for the UI.
      const { startHistoryServer } = await import('../ui/history.js');
      const server = await startHistoryServer({ dir, port: opts.port, host: opts.host });
      console.log(`kindling history server at ${server.url} (Ctrl-C to stop)`);
      // The server's sockets are unref'd (a live UI must never hold a program open); this one is the program.
      setInterval(() => undefined, 1 << 30);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (e) {
    fail((e as Error).message);
  }
}
