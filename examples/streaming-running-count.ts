/**
 * Running count with updateStateByKey: page views arrive (from a seeded producer, or a Redis stream with --redis,
 * field "page"), and after every batch the state holds each page's views since the start. The state is
 * checkpointed every few batches to keep its lineage short; with --checkpoint <dir> a second run of the same
 * command resumes the counts (Ctrl-C or kill it, run it again): exactly where the first stopped with --redis
 * (the batches after the last state checkpoint are read again from Redis), from the last state checkpoint with the
 * built-in producer, which cannot replay (it says so). Prints the top pages per batch and validates every batch's
 * state against a running fold of the recorded batches.
 *
 *   npx tsx examples/streaming-running-count.ts --master local[2] [--batches 20] [--interval 200] [--rate 5000]
 *       [--redis redis://127.0.0.1:6379 --key views] [--checkpoint dir]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Context, type DStream, StreamingContext } from 'kindling';
import { check, type ExampleResult, isMain, parseCli, runMain, Timer } from './common.js';

export interface RunningCountOptions {
  readonly batches: number;
  readonly intervalMs: number;
  /** Views per second the built-in producer offers (ignored with `redis`). */
  readonly rate: number;
  readonly redis?: { url: string; key: string };
  /** Keep the state here (resumed by a later run); default a temporary folder removed at the end. */
  readonly checkpoint?: string;
  readonly print?: boolean;
  readonly validate?: boolean;
}

export interface RunningCountSummary {
  readonly batches: number;
  readonly views: number;
  readonly pages: number;
  readonly top: Array<[string, number]>;
  readonly validated: boolean;
}

const PAGES = ['/', '/search', '/cart', '/checkout', '/help', '/about', '/blog', '/login', '/account', '/orders'];

/** Page views, `rate` per second, skewed toward the first pages, seeded. */
async function* views(rate: number, signal: AbortSignal): AsyncGenerator<string> {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const t0 = performance.now();
  for (let i = 0; !signal.aborted; i++) {
    const due = t0 + (i / rate) * 1000;
    if (performance.now() < due) await new Promise((r) => setTimeout(r, due - performance.now()));
    yield PAGES[Math.floor(next() ** 3 * PAGES.length)]!;
  }
}

export async function run(sc: Context, o: RunningCountOptions): Promise<ExampleResult<RunningCountSummary>> {
  const timer = new Timer();
  const checkpoint = o.checkpoint ?? mkdtempSync(path.join(os.tmpdir(), 'kindling-running-count-'));
  const stopProducer = new AbortController();
  try {
    const ssc = new StreamingContext(sc, { batchInterval: o.intervalMs, checkpoint });
    const pages: DStream<string> = o.redis
      ? ssc.redisStream({ url: o.redis.url, key: o.redis.key, startId: '0' }).map((e) => e.fields.page ?? '')
      : ssc.fromAsyncIterable(views(o.rate, stopProducer.signal), { backpressure: { mode: 'block', maxBuffered: 100_000 } });
    // The running count: every batch, each page's new views added to its count so far.
    const counts = pages
      .map((p): [string, number] => [p, 1])
      .updateStateByKey((newViews: number[], count?: number) => (count ?? 0) + newViews.length)
      .checkpoint(5 * o.intervalMs);
    const batches: string[][] = [];
    const states: Array<Map<string, number>> = [];
    if (o.validate !== false) pages.foreachRDD(async (rdd) => void batches.push(await rdd.collect()));
    let top: Array<[string, number]> = [];
    counts.foreachRDD(async (rdd, t) => {
      const all = await rdd.collect();
      states.push(new Map(all));
      top = all.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3);
      if (o.print) console.log(`batch ${t.id}: ${top.map(([p, n]) => `${p} ${n}`).join(', ')}`);
    });
    await timer.time(`stream ${o.batches} batches of ${o.intervalMs} ms`, async () => {
      await ssc.start();
      while (states.length < o.batches && ssc.state === 'active') await new Promise((r) => setTimeout(r, o.intervalMs / 4));
      stopProducer.abort();
      await ssc.stop({ stopContext: false });
    });
    let validated = false;
    // A resumed run starts from the restored counts, which this run's batches alone cannot recompute.
    if (o.validate !== false && o.checkpoint === undefined) {
      await timer.time('validate every state', async () => {
        const expected = new Map<string, number>();
        states.forEach((got, i) => {
          for (const p of batches[i] ?? []) expected.set(p, (expected.get(p) ?? 0) + 1);
          check(
            got.size === expected.size && [...expected].every(([p, n]) => got.get(p) === n),
            `state after batch ${i} equals a running fold of the batches`,
          );
        });
        validated = states.length > 0;
      });
    }
    const last = states.at(-1) ?? new Map<string, number>();
    return {
      summary: { batches: states.length, views: [...last.values()].reduce((a, b) => a + b, 0), pages: last.size, top, validated },
      timings: timer.timings,
    };
  } finally {
    stopProducer.abort();
    if (o.checkpoint === undefined) rmSync(checkpoint, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const cli = parseCli('streaming-running-count', 'Running count of page views with updateStateByKey (checkpointed state, resumable)', {
    batches: { type: 'string', help: 'batches to run (default 20; 10 with --small)' },
    interval: { type: 'string', help: 'batch interval in ms (default 200)' },
    rate: { type: 'string', help: 'views per second from the built-in producer (default 5000)' },
    redis: { type: 'string', help: 'read views (field "page") from a Redis stream at this URL instead' },
    key: { type: 'string', help: 'the Redis stream key (default views)' },
    checkpoint: { type: 'string', help: 'keep the state in this folder; a later run resumes from it' },
  });
  const redisUrl = cli.string('redis');
  const checkpoint = cli.string('checkpoint');
  await runMain(cli, 'streaming-running-count', async (sc) => {
    const result = await run(sc, {
      batches: cli.int('batches', cli.small ? 10 : 20),
      intervalMs: cli.int('interval', 200),
      rate: cli.number('rate', 5000),
      ...(redisUrl === undefined ? {} : { redis: { url: redisUrl, key: cli.string('key') ?? 'views' } }),
      ...(checkpoint === undefined ? {} : { checkpoint }),
      print: true,
      validate: cli.validate,
    });
    const s = result.summary;
    console.log(
      `\n${s.views} views of ${s.pages} pages after ${s.batches} batches${s.validated ? '; every state equals a running fold of the batches' : ''}`,
    );
    return result;
  });
}
