/**
 * `toRedis` when the connection drops as Redis answers the batch's transaction (found by bench/streaming-faults.ts:
 * a `CLIENT KILL` at that moment stopped the stream with "ERR The ID specified in XADD is equal or smaller than the
 * target stream top item"). ioredis sends an unanswered transaction again once reconnected; Redis had applied the
 * first one, so the batch is written, once, and the stream goes on.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manual, useStreamingContext } from './helpers.js';
import { redisSkipReason, useRedisServer } from './redis-server.js';

/**
 * A TCP proxy to Redis that, on its first connection, swallows everything Redis sends once the client has sent
 * EXEC, and cuts that connection when `cut()` is called. Later connections pass through.
 */
async function execReplyLosingProxy(target: URL): Promise<{ url: string; execSent: Promise<void>; cut(): void; close(): void }> {
  let first = true;
  let onExec!: () => void;
  const execSent = new Promise<void>((r) => (onExec = r));
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
      if (mine && !swallowing && /\bexec\r\n/i.test(d.toString('latin1'))) {
        swallowing = true;
        onExec();
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
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    execSent,
    cut: () => cutFirst(),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe.skipIf(redisSkipReason !== undefined)(`toRedis under connection loss${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  const url = useRedisServer();
  const { sc } = useStreamingContext();
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(url());
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it('a transaction Redis applied whose reply was lost is not a failed batch: written once, and the stream goes on', async () => {
    const proxy = await execReplyLosingProxy(new URL(url()));
    try {
      const key = 'out:exec-reply-lost';
      const { ssc, tick } = manual(sc());
      const queue: string[][] = [
        ['a', 'b', 'c'],
        ['d', 'e'],
      ];
      ssc.queueStream(queue).toRedis({ url: proxy.url, key });
      await ssc.start();
      const first = tick();
      // Once EXEC is on its way and Redis has applied it (its last entry is there), the reply never arrives.
      await proxy.execSent;
      while ((await redis.xlen(key)) < 3) await new Promise((r) => setImmediate(r));
      proxy.cut();
      await first;
      await tick();
      await ssc.stop({ stopContext: false });
      const entries = (await redis.xrange(key, '-', '+')) as [string, string[]][];
      expect(entries.map(([, f]) => f[1])).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(entries.map(([id]) => id.split('-')[1])).toEqual(['0', '1', '2', '0', '1']);
    } finally {
      proxy.close();
    }
  });
});
