/**
 * Executor processes for the cluster specs: each started with the real command (`kindling executor`), against a
 * redis-server of the test file's own (test/streaming/redis-server.ts), and stopped after the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { capture, type Context } from 'kindling';
import { Redis } from 'ioredis';
import { onFreePort } from '../../../src/exec/cluster/local-cluster.js';

export const BIN = path.resolve(import.meta.dirname, '../../../bin/kindling.js');

export interface ExecutorHandle {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when its output (from now on, or all of it) contains `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its folder (`kindling-executor-PID` in --local-dir or the temp folder), which it removes only at a clean stop. */
  readonly folder: string;
}

export function startExecutor(args: readonly string[], env: Record<string, string> = {}): ExecutorHandle {
  const child = spawn(process.execPath, [BIN, 'executor', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const localDir = args.includes('--local-dir') ? args[args.indexOf('--local-dir') + 1] : undefined;
  return {
    child,
    output: () => out,
    exited,
    folder: path.join(localDir ?? env['TMPDIR'] ?? os.tmpdir(), `kindling-executor-${child.pid}`),
    waitFor(text, timeoutMs = 30_000) {
      const from = 0;
      return new Promise((resolve, reject) => {
        const check = () => {
          const hay = out.slice(from);
          const hit = typeof text === 'string' ? hay.includes(text) : text.test(hay);
          if (hit) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(out);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`executor did not print ${String(text)} within ${timeoutMs} ms; it printed:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * Executors started in a test are killed after it (SIGKILL: a test that wanted a clean exit awaited it), and their
 * folders removed (a killed executor cannot; these were the kindling-executor-* folders left in /tmp).
 */
export function useExecutors(): (args: readonly string[], env?: Record<string, string>) => ExecutorHandle {
  const started: ExecutorHandle[] = [];
  afterEach(async () => {
    for (const e of started.splice(0)) {
      if (e.child.exitCode === null && e.child.signalCode === null) {
        e.child.kill('SIGCONT');
        e.child.kill('SIGKILL');
        await e.exited;
      }
      rmSync(e.folder, { recursive: true, force: true });
    }
  });
  return (args, env) => {
    const e = startExecutor(args, env);
    started.push(e);
    return e;
  };
}

/** The ids registered in a cluster right now. */
export async function registered(url: string, cluster: string): Promise<string[]> {
  const r = new Redis(url);
  try {
    return (await r.smembers(`kindling:${cluster}:executors`)).sort();
  } finally {
    r.disconnect();
  }
}

/**
 * A redis-server of the test's own, on a free loopback port (for tests that stop it on purpose). `onPort`: the same
 * address again after a stop, as a restarted Redis; `aofDir`: an append-only file there, synced on every write, so
 * that a restart (even after SIGKILL) keeps every key.
 */
export async function startRedis(onPort?: number, aofDir?: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  if (onPort !== undefined) return startRedisOn(onPort, aofDir);
  // A port taken by a parallel test file between freePort() and the bind: another port, not a failed spec.
  return onFreePort((port) => startRedisOn(port, aofDir));
}

async function startRedisOn(port: number, aofDir?: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const persistence = aofDir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', aofDir];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    url: `redis://127.0.0.1:${port}`,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A small seeded generator: the fault moments of a failing run can be replayed with KINDLING_FAULT_SEED. */
export function seededRandom(): { seed: number; random: () => number } {
  const seed = Number(process.env.KINDLING_FAULT_SEED ?? Date.now() % 100_000);
  let state = seed;
  return {
    seed,
    random() {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    },
  };
}

/** Busy-waits `ms`: a task that computes for a while (declared here, next to its users: vitest renames imported bindings). */
function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // computing
  }
}

/** Word-count shaped: a map stage of 8 tasks, a reduce stage of 4, each task computing a little while. */
export function job(sc: Context): Promise<Array<[number, number]>> {
  return sc
    .range(0, 4000, 1, 8)
    .map(
      capture({ spin }, (x: number): [number, number] => {
        if (x % 500 === 0) spin(40);
        return [x % 13, x];
      }),
    )
    .reduceByKey((a, b) => a + b, 4)
    .mapValues(
      capture({ spin }, (v: number) => {
        spin(20);
        return v;
      }),
    )
    .collect()
    .then((r) => r.sort((a, b) => a[0] - b[0]));
}

export const expected: Array<[number, number]> = Array.from({ length: 13 }, (_, k) => {
  let s = 0;
  for (let x = k; x < 4000; x += 13) s += x;
  return [k, s];
});

/**
 * A proxy between some Redis clients (an executor, a driver) and a redis-server, which mistreats their traffic on
 * demand, at the one moment a spec needs: its replies held, a request lost with its connection, a reply lost.
 * Matching is on the raw RESP bytes (latin1) of one read from a socket.
 */
export interface MeddlingProxy {
  readonly url: string;
  /**
   * The replies to every connection whose first requests match `of` wait from now on (in order) until `release()`;
   * its requests still reach Redis.
   */
  holdReplies(of: RegExp): { release(): void };
  /**
   * The requests of every connection whose first requests match `of` wait from now on (in order, those the proxy
   * has not read yet among them) until `release()`; they are seen (`requests()`) as they come.
   */
  holdRequests(of: RegExp): { release(): void };
  /**
   * The next request matching `trigger` is not sent: its connection is closed, and the proxy stops listening for
   * `refuseMs` (Redis restarting: a reconnection refused makes ioredis fail the commands it had sent).
   */
  failRequest(trigger: RegExp, refuseMs: number): Promise<void>;
  /** The next request matching `trigger` reaches Redis; its reply does not come back: the connection is closed. */
  dropReply(trigger: RegExp): Promise<void>;
  /** Every request seen since `from` (an index of `requests()`), joined. */
  requests(from?: number): string;
  readonly requestCount: number;
  close(): void;
}

export async function meddlingProxy(target: string): Promise<MeddlingProxy> {
  const to = new URL(target);
  const sockets = new Set<net.Socket>();
  const seenRequests: string[] = [];
  type Conn = {
    sent: string;
    holdingReplies: Buffer[] | undefined;
    holdingRequests: Buffer[] | undefined;
    client: net.Socket;
    upstream: net.Socket;
  };
  const conns = new Set<Conn>();
  /** Each hook sees every read until it returns true (it took the data); then it is done. */
  type Hook = (c: Conn, d: Buffer) => boolean;
  const requestHooks: Hook[] = [];
  const replyHooks: Hook[] = [];
  const hooked = (hooks: Hook[], c: Conn, d: Buffer): boolean => {
    const i = hooks.findIndex((hook) => hook(c, d));
    if (i >= 0) hooks.splice(i, 1);
    return i >= 0;
  };
  const onConnection = (client: net.Socket): void => {
    const upstream = net.connect(Number(to.port), to.hostname);
    const c: Conn = { sent: '', holdingReplies: undefined, holdingRequests: undefined, client, upstream };
    conns.add(c);
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      seenRequests.push(text);
      // A connection's first requests tell what it is for (an executor's INCR of its id, a reader's XREAD).
      if (c.sent.length < 65_536) c.sent += text;
      if (hooked(requestHooks, c, d)) return;
      if (c.holdingRequests !== undefined) c.holdingRequests.push(d);
      else upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (hooked(replyHooks, c, d)) return;
      if (c.holdingReplies !== undefined) c.holdingReplies.push(d);
      else client.write(d);
    });
    const end = () => {
      conns.delete(c);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  };
  let server = net.createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    holdReplies(of) {
      const held = [...conns].filter((c) => of.test(c.sent));
      for (const c of held) c.holdingReplies = [];
      return {
        release() {
          for (const c of held) {
            const kept = c.holdingReplies ?? [];
            c.holdingReplies = undefined;
            for (const b of kept) c.client.write(b);
          }
        },
      };
    },
    holdRequests(of) {
      const held = [...conns].filter((c) => of.test(c.sent));
      for (const c of held) c.holdingRequests = [];
      return {
        release() {
          for (const c of held) {
            const kept = c.holdingRequests ?? [];
            c.holdingRequests = undefined;
            for (const b of kept) c.upstream.write(b);
          }
        },
      };
    },
    failRequest(trigger, refuseMs) {
      return new Promise<void>((resolve) =>
        requestHooks.push((c, d) => {
          if (!trigger.test(d.toString('latin1'))) return false;
          server.close();
          c.client.destroy();
          c.upstream.destroy();
          setTimeout(() => {
            server = net.createServer(onConnection).listen(port, '127.0.0.1', () => resolve());
          }, refuseMs);
          return true;
        }),
      );
    },
    dropReply(trigger) {
      return new Promise<void>((resolve) =>
        requestHooks.push((c, d) => {
          if (!trigger.test(d.toString('latin1'))) return false;
          c.upstream.write(d);
          replyHooks.push((r) => {
            if (r !== c) return false;
            c.client.destroy();
            c.upstream.destroy();
            resolve();
            return true;
          });
          return true;
        }),
      );
    },
    requests: (from = 0) => seenRequests.slice(from).join(''),
    get requestCount() {
      return seenRequests.length;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
