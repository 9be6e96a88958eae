/**
 * start() and stop() meeting each other, and a start() that fails, found by `bench/streaming-faults.ts` (a driver
 * told to stop while it was still starting, and a restart whose checkpoint's input Redis had lost, never exited: a
 * Redis connection of its source stayed open). As Spark's StreamingContext.start, a failed start marks the context
 * stopped and releases what it started; a stop() during start() waits for it, so nothing connects after the stop.
 */
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manual, UNTIL, useStreamingContext } from './helpers.js';
import { redisSkipReason, useRedisServer } from './redis-server.js';

describe.skipIf(redisSkipReason !== undefined)(`start() and stop()${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  const url = useRedisServer();
  const { sc, dir } = useStreamingContext();
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(url());
  });
  afterAll(async () => {
    await redis?.quit();
  });

  /** The server's connections other than this test's own, once every closed one is gone (or what is left). */
  async function othersLeft(): Promise<number> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const others =
        String(await redis.call('CLIENT', 'LIST'))
          .split('\n')
          .filter((l) => l.trim() !== '').length - 1;
      if (others === 0 || Date.now() > deadline) return others;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('stop() called while start() is still connecting its sources leaves no connection open', async () => {
    const { ssc } = manual(sc(), 1000, { checkpoint: path.join(dir(), 'stop-during-start') });
    ssc.redisStream({ url: url(), key: 'in:stop-during-start', startId: '0' }).foreachRDD(() => undefined);
    // start() runs until it awaits its source's connection; stop() is asked for before that connection exists.
    const started = ssc.start();
    const stopped = ssc.stop({ stopContext: false });
    await started;
    await stopped;
    expect(ssc.state).toBe('stopped');
    expect(await othersLeft()).toBe(0);
  });

  it('a restart whose checkpointed entries Redis lost fails clearly, is stopped, and holds no connection', async () => {
    const checkpoint = path.join(dir(), 'lost-input');
    const key = 'in:lost-input';
    const program = () => {
      const m = manual(sc(), 1000, { checkpoint });
      // A window: a restart reads the input of the committed batches it still covers again.
      m.ssc
        .redisStream({ url: url(), key, startId: '0' })
        .window(3000, 1000)
        .foreachRDD(async (rdd) => void (await rdd.count()));
      return m;
    };
    const first = program();
    await first.ssc.start();
    for (let i = 1; i <= 5; i++) await redis.xadd(key, `1-${i}`, 'n', String(i));
    await first.tick(2);
    await first.ssc.stop({ stopContext: false });
    // Gone as after a Redis restarted without persistence.
    await redis.del(key);

    const second = program();
    await expect(second.ssc.start()).rejects.toThrow(
      /checkpoint recorded 5 entries in \(0-0, 1-5\], Redis now holds 0: .*lost \(a Redis restarted without persistence\).*start with a new checkpoint folder/,
    );
    expect(second.ssc.state).toBe('stopped');
    expect(await othersLeft()).toBe(0);
    await expect(second.ssc.awaitTermination()).resolves.toBe(true);
    await second.ssc.stop({ stopContext: false });
    expect(sc().isStopped).toBe(false);
  });

  it('start() against an address where no Redis listens waits for it (as for a restart), then fails within the bound naming the address; the context is stopped', async () => {
    // Refused looks the same for a Redis restarting and a wrong port: start() waits the one bound (10 s) every Redis
    // operation waits, then says so, rather than failing a supervised restart that met Redis coming back.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const { ssc } = manual(sc());
    ssc.redisStream({ url: `redis://127.0.0.1:${port}`, key: 'in:nowhere', startId: '0' }).foreachRDD(() => undefined);
    const t0 = Date.now();
    await expect(ssc.start()).rejects.toThrow(
      new RegExp(
        `^redisStream in:nowhere: connecting to Redis at redis://127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED.*\\(Redis did not come back within \\d+\\.\\d s\\)$`,
      ),
    );
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(9000);
    expect(waited).toBeLessThan(30_000);
    expect(ssc.state).toBe('stopped');
    expect(sc().isStopped).toBe(false);
  }, 60_000);

  it("a toRedis batch still running when stop()'s timeout passes does not connect again after the stop", async () => {
    // The sink's connection is closed by the stop; the batch, once its records were computed, made a new one, which
    // kept the driver process alive (bench/streaming-faults.ts at load 36).
    const { ssc, clock } = manual(sc());
    ssc
      .queueStream([['a', 'b']])
      .map((x) => {
        // A slow batch: its records are computed after the stop gave up waiting for it.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
        return x;
      })
      .toRedis({ url: url(), key: 'out:stopped-mid-batch' });
    await ssc.start();
    const finished = new Promise<void>((resolve) => {
      const off = sc().events.on('batchCompleted', () => {
        off();
        resolve();
      });
    });
    const running = new Promise<void>((resolve) => {
      const off = sc().events.on('batchStarted', () => {
        off();
        resolve();
      });
    });
    clock.advance(1000);
    await running;
    await ssc.stop({ graceful: true, stopContext: false, timeout: 100 });
    await finished;
    expect(await othersLeft()).toBe(0);
  });

  it('stop() while a batch read waits for an unreachable Redis ends that wait instead of sitting out its 10 s', async () => {
    // Before: stop() first awaited the batch generator, stuck in a read retrying against Redis for up to 10 s.
    const target = new URL(url());
    const sockets = new Set<net.Socket>();
    let down = false;
    let refused = 0;
    const proxy = net.createServer((client) => {
      if (down) {
        refused++;
        client.destroy();
        return;
      }
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('error', () => undefined).on('close', () => sockets.delete(sock));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const { ssc, clock, tick } = manual(sc());
      const key = 'in:stop-while-away';
      await redis.xadd(key, '*', 'n', '1');
      ssc.redisStream({ url: `redis://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, key, startId: '0' }).foreachRDD(() => undefined);
      await ssc.start();
      await tick(1);
      down = true;
      for (const sock of sockets) sock.destroy();
      clock.advance(1000);
      // The next batch's read is retrying: Redis "restarts" (its connections are reset) at least twice.
      await vi.waitFor(() => expect(refused).toBeGreaterThanOrEqual(2), UNTIL);
      const t0 = Date.now();
      await ssc.stop({ stopContext: false });
      expect(Date.now() - t0).toBeLessThan(6000);
      // Abandoning the read is the stop's doing, not a failure of the stream.
      expect(await ssc.awaitTermination({ timeout: 10 })).toBe(true);
      expect(sockets.size).toBe(0);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  }, 60_000);
});
