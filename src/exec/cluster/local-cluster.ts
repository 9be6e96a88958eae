/**
 * `local-cluster[N]` and `local-cluster[N,cores,memoryMB]` (Spark's test-mode name): a redis-server from PATH
 * on a free loopback port and N executor processes (`kindling executor`, the command real clusters run), all on
 * this machine and all torn down at `stop()` and when the driver exits, even by SIGKILL (each child watches its
 * stdin, which closes with the driver). An executor process that dies is started again, as a cluster manager
 * would; the driver sees a lost executor and then a new one. The driver side is the `redis://` backend.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterError } from '../../core/errors.js';
import { ClusterBackend, type ClusterBackendOptions } from './cluster-backend.js';

const KINDLING_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'kindling.js');

export interface LocalClusterSpec {
  readonly executors: number;
  readonly cores: number;
  readonly memoryMB: number;
}

/** Parses `local-cluster[N]` / `local-cluster[N,cores,memoryMB]`; undefined for another master. */
export function parseLocalCluster(master: string): LocalClusterSpec | undefined {
  const m = /^local-cluster\[\s*(\d+)\s*(?:,\s*(\d+)\s*,\s*(\d+)\s*)?\]$/.exec(master);
  if (m === null) return undefined;
  return { executors: Number(m[1]), cores: Number(m[2] ?? 1), memoryMB: Number(m[3] ?? 1024) };
}

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** What redis-server prints when its port was taken between `freePort()` and its own bind. */
const PORT_TAKEN = 'Address already in use';

/**
 * Runs `start` on a port that was free a moment ago, and again on another one when that port was taken before
 * `start` could bind it (another program's listener or outgoing connection in between, likeliest on a busy machine):
 * that is no reason to fail. At most `attempts` ports; any other error is thrown at once.
 *
 * @example
 * const server = await onFreePort((port) => startServer(port));
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (e) {
      if (attempt >= attempts || !String((e as Error).message).includes(PORT_TAKEN)) throw e;
    }
  }
}

/**
 * Resolves when `child` prints a line containing `marker`; rejects with what it printed if it exits first, or as
 * soon as it prints `failure` (a child that reports a failure and stays up, as the shell around redis-server does).
 */
function whenPrinted(child: ChildProcess, marker: string, what: string, timeoutMs: number, failure?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new ClusterError(`${what} did not start within ${timeoutMs} ms: ${out.trim()}`)), timeoutMs);
    timer.unref();
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes(marker)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      } else if (failure !== undefined && out.includes(failure)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        reject(new ClusterError(`${what} failed while starting: ${out.trim()}`));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ClusterError(`${what} exited with code ${code} while starting: ${out.trim()}`));
    });
  });
}

/**
 * The children of every local cluster of this process, killed when it exits. Not the shell around redis-server
 * (`killAtExit` false): a SIGKILL would end it before its trap could end redis-server, which then outlived the
 * process (a script calling process.exit while a job ran); the process's exit closes the shell's stdin, and that
 * ends both.
 */
const children = new Set<ChildProcess>();
/** The shells around redis-server: each ends (and ends its redis-server) once its stdin closes. */
const shells = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess, killAtExit = true): void {
  if (!killAtExit) {
    shells.add(child);
    child.once('exit', () => shells.delete(child));
    return;
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
}

/**
 * Ends every local cluster's processes now, for a signal about to end this process: dying by a signal it emits no
 * 'exit', so the executors outlived it by seconds (and died of EPIPE writing to it), as did redis-server until the
 * shell read the end of its stdin.
 */
export function endLocalClustersSync(): void {
  for (const c of children) c.kill('SIGKILL');
  for (const s of shells) s.stdin?.destroy();
}

export class LocalCluster {
  readonly backend: ClusterBackend;
  readonly #spec: LocalClusterSpec;
  readonly #cluster = `local-${process.pid}-${Date.now().toString(36)}`;
  #redis: ChildProcess | undefined;
  #url = '';
  readonly #executors = new Set<ChildProcess>();
  #stopping = false;
  /** Executor processes that died while starting, in a row: past 3 the cluster stops replacing them. */
  #startFailures = 0;
  /**
   * Each executor process gets a folder of its own below this one (`executor-1`, `executor-2`, ...), as each
   * machine of a real cluster has its own disk: nothing may rely on the driver or a peer seeing it.
   */
  readonly #localDirs = path.join(os.tmpdir(), `kindling-${this.#cluster}`);
  #started = 0;

  constructor(
    spec: LocalClusterSpec,
    backend: Omit<ClusterBackendOptions, 'url' | 'cluster' | 'slots' | 'maxExecutors' | 'waitForAllSlots' | 'killExecutor'>,
  ) {
    this.#spec = spec;
    this.backend = new ClusterBackend({
      ...backend,
      url: this.#start(),
      cluster: this.#cluster,
      slots: spec.executors * spec.cores,
      maxExecutors: spec.executors,
      waitForAllSlots: true,
      killExecutor: (pid) => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      },
    });
    const stop = this.backend.stop.bind(this.backend);
    this.backend.stop = async () => {
      await stop();
      await this.#stopChildren();
    };
  }

  async #start(): Promise<string> {
    await onFreePort((port) => this.#startRedis(port));
    await Promise.all(Array.from({ length: this.#spec.executors }, () => this.#startExecutor()));
    return this.#url;
  }

  async #startRedis(port: number): Promise<void> {
    // The shell ends redis-server when the driver's end of its stdin closes (the driver exited, however).
    const redis = spawn(
      'sh',
      ['-c', `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no & pid=$!; trap 'kill $pid' EXIT; cat >/dev/null`],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    track(redis, false);
    this.#redis = redis;
    redis.unref();
    for (const s of [redis.stdin, redis.stdout, redis.stderr]) (s as unknown as { unref?: () => void })?.unref?.();
    try {
      await whenPrinted(
        redis,
        'Ready to accept connections',
        'redis-server (local-cluster needs redis-server on the PATH: apt-get install redis-server)',
        15_000,
        PORT_TAKEN,
      );
    } catch (e) {
      // The shell outlives a redis-server that aborted: closing its stdin ends it.
      redis.stdin?.end();
      this.#redis = undefined;
      throw new ClusterError(`local-cluster: ${(e as Error).message}`);
    }
    this.#url = `redis://127.0.0.1:${port}`;
  }

  #startExecutor(): Promise<void> {
    const { cores, memoryMB } = this.#spec;
    const child = spawn(
      process.execPath,
      [
        KINDLING_BIN,
        'executor',
        '--master',
        this.#url,
        '--cluster',
        this.#cluster,
        '--cores',
        String(cores),
        '--memory',
        `${memoryMB}m`,
        '--local-dir',
        path.join(this.#localDirs, `executor-${++this.#started}`),
        '--exit-with-parent',
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    track(child);
    this.#executors.add(child);
    child.unref();
    for (const s of [child.stdin, child.stdout]) (s as unknown as { unref?: () => void })?.unref?.();
    const started = whenPrinted(child, 'registered and ready', 'a local-cluster executor', 60_000);
    let replacement: Promise<void> | undefined;
    child.once('exit', (code, signal) => {
      this.#executors.delete(child);
      if (child.pid !== undefined) this.backend.executorExited(child.pid, `its process ${child.pid} ended (${signal ?? `exit code ${code}`})`);
      if (this.#stopping || this.#startFailures >= 3) return;
      replacement = this.#startExecutor();
      replacement.catch(() => undefined);
    });
    return started.then(
      () => {
        this.#startFailures = 0;
      },
      (e: unknown) => {
        this.#startFailures++;
        // One killed while it started (a fault at start-up) has a replacement on its way: the cluster is up when
        // that one is. Failing here failed the context's start, and with it every job of the context.
        if (replacement !== undefined) return replacement;
        throw e;
      },
    );
  }

  async #stopChildren(): Promise<void> {
    this.#stopping = true;
    const all = [...this.#executors, ...(this.#redis ? [this.#redis] : [])];
    // Children are unref'd while the context runs; stopping waits for them, so it must hold the process open.
    for (const c of all) c.ref();
    await Promise.all(
      [...this.#executors].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    // The shell, held here: a redis-server still starting fails its start when the shell goes, and that start
    // forgets this.#redis meanwhile.
    const redis = this.#redis;
    if (redis && redis.exitCode === null) {
      const exited = new Promise((r) => redis.once('exit', r));
      redis.stdin?.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000).unref())]);
      if (redis.exitCode === null) redis.kill('SIGKILL');
    }
    for (const c of all) children.delete(c);
    rmSync(this.#localDirs, { recursive: true, force: true });
  }
}
