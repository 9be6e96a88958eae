/**
 * Redis Streams against a real redis-server: direct and group sources, the idempotent toRedis sink, and restarts
 * from the offset/commit logs (a batch that failed after or before its sink wrote is replayed, and the sink holds
 * every record exactly once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock, StreamingContext, type Context, type BatchCompletedEvent } from 'kindling';
import { useStreamingContext } from './helpers.js';
import { redisSkipReason, useRedisServer } from './redis-server.js';
import { startRedis } from '../exec/cluster/helpers.js';

const WORDS = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat'.split(' ');

describe.skipIf(redisSkipReason !== undefined)(`Redis Streams${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  const { sc } = useStreamingContext();
  const url = useRedisServer();
  let redis: Redis;
  let dir: string;
  beforeAll(async () => {
    redis = new Redis(url());
    dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-redis-'));
  });
  afterAll(async () => {
    await redis?.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  async function push(key: string, words: readonly string[]): Promise<void> {
    const p = redis.pipeline();
    for (const w of words) p.xadd(key, '*', 'word', w, 'len', String(w.length));
    await p.exec();
  }

  async function stream(key: string): Promise<[string, Record<string, string>][]> {
    const raw = (await redis.xrange(key, '-', '+')) as [string, string[]][];
    return raw.map(([id, f]) => [id, Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]]))]);
  }

  /** Runs `n` batches on a manual clock starting at `startMs`; resolves with the completed batches (failed ones too). */
  async function runBatches(ssc: StreamingContext, clock: ManualClock, n: number, s: Context): Promise<BatchCompletedEvent[]> {
    const done: BatchCompletedEvent[] = [];
    const off = s.events.on('batchCompleted', (e) => void done.push(e));
    await ssc.start();
    for (let i = 0; i < n && ssc.state === 'active'; i++) {
      const before = done.length;
      clock.advance(ssc.batchIntervalMs);
      while (done.length === before && ssc.state === 'active') await new Promise((r) => setTimeout(r, 5));
    }
    off();
    return done;
  }

  it.each(['resp', 'eval', 'xrange'] as const)(
    'direct mode (read with %s) reads entries in order, as { id, ms, fields }, at most maxPerBatch per batch',
    async (readWith) => {
      const key = `in:direct:${readWith}`;
      await push(key, WORDS);
      // Fields with quotes, backslashes, slashes, CRLF, RESP-like and non-ASCII text survive the JSON slices of the
      // script and the byte slices of the raw reply (whose lengths count bytes, not characters); so do empty ones.
      await redis.xadd(key, '*', 'word', 'q"u\\o/té 😀', 'len', '0');
      await redis.xadd(key, '*', 'word', '*2\r\n$3\r\nabc\r\n', '', '', 'ünï', 'x'.repeat(70_000));
      const clock = new ManualClock(0);
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
      const got: { id: string; ms: number; fields: Record<string, string> }[][] = [];
      const submitted: number[] = [];
      const off = sc().events.on('batchSubmitted', (e) => void submitted.push(e.records));
      const entries = ssc.redisStream({ url: url(), key, startId: '0', maxPerBatch: 6, readWith });
      entries.foreachRDD(async (rdd) => void got.push(await rdd.collect()));
      // A window reads each batch's input again one batch later, after the next read (it must not have changed).
      const windows: string[][] = [];
      entries.window(2000, 1000).foreachRDD(async (rdd) => void windows.push((await rdd.collect()).map((e) => e.id)));
      await runBatches(ssc, clock, 4, sc());
      await ssc.stop({ stopContext: false });
      off();
      expect(windows).toEqual(got.map((b, i) => [...(got[i - 1] ?? []), ...b].map((e) => e.id)));
      expect(got.map((b) => b.length)).toEqual([6, 6, 6, 0]);
      expect(submitted).toEqual([6, 6, 6, 0]);
      const expected = await stream(key);
      expect(got.flat().map((e) => [e.id, e.fields])).toEqual(expected);
      for (const e of got.flat()) expect(e.ms).toBe(Number(e.id.split('-')[0]));
    },
  );

  it.each(['resp', 'eval', 'xrange'] as const)(
    'direct mode (read with %s) reports its lag: entries in the stream after each batch, 0 once caught up',
    async (readWith) => {
      const key = `in:lag:${readWith}`;
      await push(key, WORDS.slice(0, 10));
      const lags = async (startId: string, batches: number, between?: () => Promise<void>) => {
        const clock = new ManualClock(0);
        const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
        const out: (number | undefined)[] = [];
        const off = sc().events.on('batchSubmitted', (e) => void out.push(e.sources[0]!.lag));
        ssc.redisStream({ url: url(), key, startId, maxPerBatch: 4, readWith }).foreachRDD(async (rdd) => {
          await rdd.count();
          await between?.();
        });
        await runBatches(ssc, clock, batches, sc());
        await ssc.stop({ stopContext: false });
        off();
        return out;
      };
      // From '0': 10 entries read 4 at a time; 5 more arrive during the first batch.
      let added = false;
      const more = async () => {
        if (!added) await push(key, WORDS.slice(0, 5));
        added = true;
      };
      expect(await lags('0', 5, more)).toEqual([6, 7, 3, 0, 0]);
      // From an id in the middle, the position is unknown until a read reaches the end.
      const ids = (await redis.xrange(key, '-', '+')).map(([id]) => id);
      expect(await lags(ids[2]!, 4)).toEqual([undefined, undefined, undefined, 0]);
      // An entry deleted ahead of the reader makes the count unsure until it catches up (as Redis's group lag).
      await push(key, WORDS.slice(0, 6));
      const tail = (await redis.xrange(key, '-', '+')).map(([id]) => id);
      await redis.xdel(key, tail.at(-1)!);
      expect(await lags(tail.at(-7)!, 3)).toEqual([undefined, 0, 0]);
      // '$' starts at the end: only what arrives later counts.
      expect(await lags('$', 2)).toEqual([0, 0]);
    },
  );

  it('the raw read path authenticates and selects the database the URL names; a wrong password fails the stream clearly', async () => {
    const admin = new Redis(url());
    await admin.config('SET', 'requirepass', 's3cret');
    try {
      const db2 = new Redis(url(), { password: 's3cret', db: 2 });
      await db2.xadd('in:auth', '*', 'word', 'only-in-db-2');
      await db2.quit();
      const withAuth = `redis://:s3cret@${url().slice('redis://'.length)}/2`;
      const run = async (u: string) => {
        const clock = new ManualClock(0);
        const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
        const got: string[] = [];
        ssc.redisStream({ url: u, key: 'in:auth', startId: '0', readWith: 'resp' }).foreachRDD(async (rdd) => {
          for (const e of await rdd.collect()) got.push(e.fields.word!);
        });
        return { ssc, got, done: runBatches(ssc, clock, 1, sc()) };
      };
      const ok = await run(withAuth);
      await ok.done;
      await ok.ssc.stop({ stopContext: false });
      expect(ok.got).toEqual(['only-in-db-2']);
      const bad = await run(`redis://:wrong@${url().slice('redis://'.length)}/2`);
      await expect(bad.done).rejects.toThrow(/WRONGPASS|invalid password|cannot connect/);
      await bad.ssc.stop({ stopContext: false });
    } finally {
      await admin.call('AUTH', 's3cret');
      await admin.config('SET', 'requirepass', '');
      await admin.quit();
    }
  });

  it('toRedis writes one entry per record with ids from the batch time, and a replayed batch writes nothing', async () => {
    const clock = new ManualClock(0);
    const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
    const q = [['a', 'b'], ['c']];
    const words = ssc.queueStream(q);
    words.toRedis({ url: url(), key: 'out:sink', encode: (w) => ({ word: w, upper: w.toUpperCase() }) });
    // The same sink twice: the second write of each batch is refused as already written.
    words.toRedis({ url: url(), key: 'out:sink', encode: (w) => ({ word: w, upper: w.toUpperCase() }) });
    await runBatches(ssc, clock, 2, sc());
    await ssc.stop({ stopContext: false });
    expect(await stream('out:sink')).toEqual([
      ['1000-0', { word: 'a', upper: 'A' }],
      ['1000-1', { word: 'b', upper: 'B' }],
      ['2000-0', { word: 'c', upper: 'C' }],
    ]);
  });

  it('toRedis with Redis gone: after waiting up to 10 s for it, the stream stops with an error naming the sink, its batch and Redis (it was ioredis bare "max retries")', async () => {
    const own = await startRedis();
    try {
      const clock = new ManualClock(0);
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
      ssc.queueStream([['a'], ['b'], ['c']]).toRedis({ url: own.url, key: 'out:gone' });
      const first = await runBatches(ssc, clock, 1, sc());
      expect(first.map((e) => [e.batch.ms, e.error])).toEqual([[1000, undefined]]);
      await own.stop();
      clock.advance(1000);
      const escaped = own.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      // The wait is bounded (10 s, then the last attempt's ~0.3 s of ioredis retries); 30 s leaves room for load.
      await expect(ssc.awaitTermination({ timeout: 30_000 })).rejects.toThrow(
        new RegExp(`^toRedis out:gone: writing the batch at 2000 ms to Redis at ${escaped} failed: .*max retries.*\\(Redis did not come back within`),
      );
    } finally {
      await own.stop();
    }
  });

  it('a restarted script resumes after the last committed batch; an uncommitted batch is replayed once (exactly-once sink)', async () => {
    const input = [...WORDS, ...WORDS.map((w) => w.toUpperCase())];
    await push('in:restart', input);
    const checkpoint = path.join(dir, 'restart');
    /** One "run" of the script: fails on purpose at batch `failAt` (before or after the sink). */
    async function runScript(startMs: number, batches: number, fail?: { atBatch: number; beforeSink: boolean }) {
      const clock = new ManualClock(startMs);
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock, checkpoint });
      const words = ssc.redisStream({ url: url(), key: 'in:restart', startId: '0', maxPerBatch: 5 }).map((e) => e.fields.word!);
      let n = 0;
      const maybeFail = () => {
        n++;
        if (fail !== undefined && n === fail.atBatch) throw new Error('simulated crash');
      };
      if (fail?.beforeSink) words.foreachRDD(maybeFail);
      words.toRedis({ url: url(), key: 'out:restart', encode: (w) => ({ w }) });
      if (fail !== undefined && !fail.beforeSink) words.foreachRDD(maybeFail);
      const done = await runBatches(ssc, clock, batches, sc());
      if (fail !== undefined) await expect(ssc.awaitTermination()).rejects.toThrow(/simulated crash/);
      else await ssc.stop({ stopContext: false });
      return done;
    }
    // Run 1: batches 1000, 2000 commit; batch 3000 writes its sink, then fails before its commit.
    const run1 = await runScript(0, 5, { atBatch: 3, beforeSink: false });
    expect(run1.map((e) => [e.batch.ms, e.records, e.error !== undefined])).toEqual([
      [1000, 5, false],
      [2000, 5, false],
      [3000, 5, true],
    ]);
    // Run 2, later: replays batch 3000 (its sink write is skipped), then fails at its next batch before the sink.
    const run2 = await runScript(60_000, 5, { atBatch: 2, beforeSink: true });
    expect(run2.map((e) => [e.batch.ms, e.batch.id, e.records, e.error !== undefined])).toEqual([
      [3000, 2, 5, false],
      [61_000, 60, 5, true],
    ]);
    // Run 3: replays 61000 (now written), then reads the rest.
    const run3 = await runScript(120_000, 4);
    expect(run3.map((e) => [e.batch.ms, e.records]).slice(0, 3)).toEqual([
      [61_000, 5],
      [121_000, 5],
      [122_000, 5],
    ]);
    // 32 words in batches of 5: the last batch takes the remaining 2, later ones are empty.
    expect(input).toHaveLength(32);
    expect(run3[3]?.records).toBe(2);
    expect(run3.slice(4).map((e) => e.records)).toEqual(run3.slice(4).map(() => 0));
    const out = await stream('out:restart');
    expect(out.map(([, f]) => f.w)).toEqual(input);
    expect(out.map(([id]) => Number(id.split('-')[0]))).toEqual(
      input.map((_, i) => [1000, 2000, 3000, 61_000, 121_000, 122_000, 123_000][Math.floor(i / 5)]),
    );
  });

  it('group mode acknowledges after the batch commits; a consumer that died before acking gets its entries again', async () => {
    await push('in:group', WORDS);
    async function consume(fail: boolean, batches: number) {
      const clock = new ManualClock(0);
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
      const got: string[][] = [];
      ssc
        .redisStream({ url: url(), key: 'in:group', mode: 'group', group: 'g', consumer: 'c1', startId: '0', maxPerBatch: 4 })
        .foreachRDD(async (rdd) => {
          got.push((await rdd.collect()).map((e) => e.fields.word!));
          if (fail) throw new Error('died before acknowledging');
        });
      await runBatches(ssc, clock, batches, sc());
      if (fail) await expect(ssc.awaitTermination()).rejects.toThrow(/died before/);
      else await ssc.stop({ stopContext: false });
      return got;
    }
    const lags: number[] = [];
    const offLag = sc().events.on('batchSubmitted', (e) => {
      const lag = e.sources[0]?.lag;
      if (lag !== undefined) lags.push(lag);
    });
    const first = await consume(true, 1);
    expect(first).toEqual([WORDS.slice(0, 4)]);
    expect(((await redis.xpending('in:group', 'g')) as [number])[0]).toBe(4);
    const second = await consume(false, 5);
    // The four unacknowledged entries come first, then the rest; nothing is left pending.
    expect(second.flat()).toEqual(WORDS);
    expect(second[0]).toEqual(WORDS.slice(0, 4));
    expect(((await redis.xpending('in:group', 'g')) as [number])[0]).toBe(0);
    offLag();
    // 16 entries read 4 at a time: the group's lag after each read of new entries, down to 0.
    expect(lags.slice(0, 2)).toEqual([12, 12]);
    expect(lags.at(-1)).toBe(0);
  });

  it('group mode reports the rate limit a read applied, when the estimator moves it while the read waits', async () => {
    // Found by random-backpressure.test.ts (seed 13): a batch of 33 entries reported a limit of 10 a batch.
    const p = redis.pipeline();
    for (let i = 0; i < 600; i++) p.xadd('in:rate', '*', 'i', String(i));
    await p.exec();
    const clock = new ManualClock(0);
    const ssc = new StreamingContext(sc(), { batchInterval: 100, clock });
    const name = 'redis:in:rate:g:c';
    const cuts: Array<{ records: number; rateLimit: number | undefined }> = [];
    let batches = 0;
    const offs = [
      sc().events.on('batchSubmitted', (e) => {
        const s = e.sources.find((x) => x.name === name);
        if (s !== undefined) cuts.push({ records: s.records ?? 0, rateLimit: s.rateLimit });
      }),
      // The next batch is cut as soon as one completes, so its read meets the XACK and the rate update of the last.
      sc().events.on('batchCompleted', (e) => {
        if (e.sources.some((x) => x.name === name) && ++batches < 6) clock.advance(100);
      }),
    ];
    ssc
      .redisStream({ url: url(), key: 'in:rate', mode: 'group', group: 'g', consumer: 'c', startId: '0', maxPerBatch: 50 })
      .foreachRDD(async (rdd) => {
        await rdd.count();
        // 50 entries in 200 ms: the estimator settles near 250 a second, 25 a batch.
        await new Promise((r) => setTimeout(r, 200));
      });
    try {
      await ssc.start();
      clock.advance(100);
      await vi.waitFor(() => expect(batches).toBe(6), { timeout: 30_000, interval: 10 });
    } finally {
      await ssc.stop({ stopContext: false });
      for (const off of offs) off();
    }
    expect(cuts.some((c) => c.rateLimit !== undefined)).toBe(true);
    for (const c of cuts) expect(c.records).toBeLessThanOrEqual(c.rateLimit === undefined ? 50 : Math.min(50, Math.floor(c.rateLimit / 10)));
  });

  it('group mode with claimIdleMs: another consumer claims what a dead one held, then reads on', async () => {
    await push('in:claim', WORDS);
    async function consume(consumer: string, fail: boolean, batches: number, claimIdleMs?: number) {
      const clock = new ManualClock(0);
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
      const got: string[][] = [];
      ssc
        .redisStream({
          url: url(),
          key: 'in:claim',
          mode: 'group',
          group: 'g',
          consumer,
          startId: '0',
          maxPerBatch: 5,
          ...(claimIdleMs === undefined ? {} : { claimIdleMs }),
        })
        .foreachRDD(async (rdd) => {
          got.push((await rdd.collect()).map((e) => e.fields.word!));
          if (fail) throw new Error('consumer died');
        });
      await runBatches(ssc, clock, batches, sc());
      if (fail) await expect(ssc.awaitTermination()).rejects.toThrow(/consumer died/);
      else await ssc.stop({ stopContext: false });
      return got;
    }
    expect(await consume('dead', true, 1)).toEqual([WORDS.slice(0, 5)]);
    await new Promise((r) => setTimeout(r, 60));
    const other = await consume('alive', false, 5, 50);
    expect(other[0]).toEqual(WORDS.slice(0, 5));
    expect(other.flat()).toEqual(WORDS);
    expect(((await redis.xpending('in:claim', 'g')) as [number])[0]).toBe(0);
  });

  it('updateStateByKey state survives a restart: the last state checkpoint plus the batches committed after it', async () => {
    await push('in:state', WORDS);
    const checkpoint = path.join(dir, 'state');
    const counts = (ws: readonly string[]) => {
      const m = new Map<string, number>();
      for (const w of ws) m.set(w, (m.get(w) ?? 0) + 1);
      return [...m].sort(([a], [b]) => (a < b ? -1 : 1));
    };
    async function runScript(startMs: number, batches: number) {
      const clock = new ManualClock(startMs);
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock, checkpoint });
      const snapshots: Array<[number, [string, number][]]> = [];
      ssc
        .redisStream({ url: url(), key: 'in:state', startId: '0', maxPerBatch: 4 })
        .map((e): [string, number] => [e.fields.word!, 1])
        .updateStateByKey((vs: number[], st?: number) => (st ?? 0) + vs.length)
        .checkpoint(2000)
        .foreachRDD(async (rdd, t) => void snapshots.push([t.ms, (await rdd.collect()).sort(([a], [b]) => (a < b ? -1 : 1))]));
      await runBatches(ssc, clock, batches, sc());
      await ssc.stop({ stopContext: false });
      return snapshots;
    }
    // Run 1: three batches of 4 words; the state is checkpointed at 2000, batch 3000 is committed after it.
    const first = await runScript(0, 3);
    expect(first.map(([t, st]) => [t, st])).toEqual([1000, 2000, 3000].map((t, i) => [t, counts(WORDS.slice(0, 4 * (i + 1)))]));
    // Run 2, a minute later: the restored state (2000) plus batch 3000 re-applied, then the last 4 words.
    const second = await runScript(60_000, 2);
    expect(second[0]).toEqual([61_000, counts(WORDS)]);
    expect(second[1]).toEqual([62_000, counts(WORDS)]);
  });
});
