/**
 * `toRedis` when the connection drops as Redis answers the batch's transaction (found by bench/streaming-faults.ts:
 * a `CLIENT KILL` at that moment stopped the stream with "ERR The ID specified in XADD is equal or smaller than the
 * target stream top item"). ioredis sends an unanswered transaction again once reconnected; Redis had applied the
 * first one, so the batch is written, once, and the stream goes on.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manual, useStreamingContext } from './helpers.js';
import { redisSkipReason, replyLosingProxy, useRedisServer } from './redis-server.js';

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
    const proxy = await replyLosingProxy(new URL(url()), /\bexec\r\n/i);
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
      await proxy.sent;
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
