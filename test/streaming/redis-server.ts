/**
 * A private redis-server per test file, on a free loopback port, with no persistence. Where redis-server is not
 * installed the Redis tests skip locally (saying why) but fail under CI, which installs it (.ci/run).
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { startRedis } from '../exec/cluster/helpers.js';

function installed(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const redisAvailable = installed();
export const redisSkipReason =
  redisAvailable || process.env.CI ? undefined : 'redis-server is not installed (apt-get install -y redis-server); these tests run in CI';

/** Starts redis-server in beforeAll, stops it in afterAll; returns its URL once started. */
export function useRedisServer(): () => string {
  let server: Awaited<ReturnType<typeof startRedis>> | undefined;
  beforeAll(async () => {
    if (!redisAvailable) throw new Error('redis-server is not installed, and CI is set: .ci/run installs it (apt-get install -y redis-server)');
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => server!.url;
}

/**
 * A TCP proxy to Redis that, on its first connection, swallows everything Redis sends once the client has sent
 * a command matching `trigger` (EXEC, say), and cuts that connection when `cut()` is called. Later connections pass
 * through.
 */
export async function replyLosingProxy(target: URL, trigger: RegExp): Promise<{ url: string; sent: Promise<void>; cut(): void; close(): void }> {
  let first = true;
  let onSent!: () => void;
  const sent = new Promise<void>((r) => (onSent = r));
  let cutFirst: () => void = () => undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const mine = first;
    first = false;
    let swallowing = false;
    client.on('data', (d: Buffer) => {
      upstream.write(d);
      if (mine && !swallowing && trigger.test(d.toString('latin1'))) {
        swallowing = true;
        onSent();
      }
    });
    upstream.on('data', (d: Buffer) => {
      if (!swallowing) client.write(d);
    });
    if (mine)
      cutFirst = () => {
        client.destroy();
        upstream.destroy();
      };
    tie(client, upstream);
  });
  return {
    url: await listen(server),
    sent,
    cut: () => cutFirst(),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * A TCP proxy to Redis that, once a client sent a command holding `trigger`, holds back everything Redis answers on
 * that connection until `release()`: the client's command has run in Redis, its caller still waits for the answer.
 */
export async function replyHoldingProxy(target: URL, trigger: RegExp): Promise<{ url: string; held: Promise<void>; release(): void; close(): void }> {
  let onHeld!: () => void;
  const held = new Promise<void>((r) => (onHeld = r));
  let releases: Array<() => void> = [];
  let released = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let holding = false;
    const kept: Buffer[] = [];
    client.on('data', (d: Buffer) => {
      upstream.write(d);
      if (!released && !holding && trigger.test(d.toString('latin1'))) {
        holding = true;
        releases.push(() => {
          holding = false;
          for (const b of kept.splice(0)) client.write(b);
        });
        onHeld();
      }
    });
    upstream.on('data', (d: Buffer) => (holding ? kept.push(d) : client.write(d)));
    tie(client, upstream);
  });
  return {
    url: await listen(server),
    held,
    release() {
      released = true;
      for (const r of releases) r();
      releases = [];
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Either socket of a proxied connection ending or failing ends both. */
function tie(client: net.Socket, upstream: net.Socket): void {
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
}

/** Listens on a free loopback port; the proxy's Redis URL. */
async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}
