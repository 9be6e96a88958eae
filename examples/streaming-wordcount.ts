/**
 * Windowed word count over a stream: lines arrive from a producer (an async generator at a fixed rate, or a Redis
 * stream with --redis), are cut into micro-batches, and every slide the counts of the last window are computed
 * incrementally (an inverse reduce: only the batches entering and leaving the window are combined). Prints the
 * top words per slide and validates every window against a recount of the recorded batches.
 *
 *   npx tsx examples/streaming-wordcount.ts --master local[2] [--batches 20] [--interval 200] [--window 5] [--slide 1]
 *       [--rate 20000] [--redis redis://127.0.0.1:6379 --key lines]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Context, type DStream, StreamingContext } from 'kindling';
import { check, type ExampleResult, isMain, parseCli, runMain, Timer } from './common.js';

export interface StreamingWordCountOptions {
  /** Batches to run. */
  readonly batches: number;
  readonly intervalMs: number;
  /** Window and slide, in batches. */
  readonly windowBatches: number;
  readonly slideBatches: number;
  /** Lines per second the built-in producer offers (ignored with `redis`). */
  readonly rate: number;
  readonly redis?: { url: string; key: string };
  readonly print?: boolean;
  readonly validate?: boolean;
}

export interface StreamingWordCountSummary {
  readonly windows: number;
  readonly records: number;
  readonly topWords: Array<[string, number]>;
  readonly validated: boolean;
  readonly meanProcessingMs: number;
  readonly maxSchedulingDelayMs: number;
}

const VOCABULARY =
  'the of and to in is that it was for on are as with his they at be this from have or by one had not but what all were when we there can an your which their'.split(
    ' ',
  );

/** Lines of 8 words with a skewed choice (low indexes more often), `rate` lines per second, seeded. */
async function* lines(rate: number, signal: AbortSignal): AsyncGenerator<string> {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const t0 = performance.now();
  for (let i = 0; !signal.aborted; i++) {
    // Ahead of schedule: wait, so the producer offers `rate` lines per second and not more.
    const due = t0 + (i / rate) * 1000;
    if (performance.now() < due) await new Promise((r) => setTimeout(r, due - performance.now()));
    yield Array.from({ length: 8 }, () => VOCABULARY[Math.floor(next() ** 2 * VOCABULARY.length)]).join(' ');
  }
}

export async function run(sc: Context, o: StreamingWordCountOptions): Promise<ExampleResult<StreamingWordCountSummary>> {
  const timer = new Timer();
  const checkpoint = mkdtempSync(path.join(os.tmpdir(), 'kindling-streaming-wc-'));
  const stopProducer = new AbortController();
  try {
    const ssc = new StreamingContext(sc, { batchInterval: o.intervalMs, checkpoint });
    const input: DStream<string> = o.redis
      ? ssc.redisStream({ url: o.redis.url, key: o.redis.key, startId: '0' }).map((e) => e.fields.line ?? '')
      : ssc.fromAsyncIterable(lines(o.rate, stopProducer.signal), { backpressure: { mode: 'block', maxBuffered: 1_000_000 } });
    // Two outputs read each batch's words (the window and the recount): cache them once.
    const words = input
      .flatMap((line) => line.split(' '))
      .filter((w) => w.length > 0)
      .persist();
    const counts = words
      .map((w): [string, number] => [w, 1])
      .reduceByKeyAndWindow((a, b) => a + b, {
        window: o.windowBatches * o.intervalMs,
        slide: o.slideBatches * o.intervalMs,
        inverse: (a, b) => a - b,
        filter: ([, n]) => n > 0,
      });
    // The driver keeps each batch's words (for the recount) and each window's counts.
    const batches = new Map<number, string[]>();
    if (o.validate !== false) words.foreachRDD(async (rdd, t) => void batches.set(t.ms, await rdd.collect()));
    const windows: Array<[number, Map<string, number>]> = [];
    let topWords: Array<[string, number]> = [];
    counts.foreachRDD(async (rdd, t) => {
      const all = await rdd.collect();
      windows.push([t.ms, new Map(all)]);
      topWords = all.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
      if (o.print) console.log(`batch ${t.id} (${new Date(t.ms).toISOString().slice(11, 23)}): ${topWords.map(([w, n]) => `${w}=${n}`).join(' ')}`);
    });
    const processing: number[] = [];
    let maxDelay = 0;
    let records = 0;
    const off = sc.events.on('batchCompleted', (e) => {
      processing.push(e.processingMs);
      maxDelay = Math.max(maxDelay, e.schedulingDelayMs);
      records += e.records;
    });
    await timer.time(`stream ${o.batches} batches of ${o.intervalMs} ms`, async () => {
      await ssc.start();
      while (processing.length < o.batches && ssc.state === 'active') await new Promise((r) => setTimeout(r, o.intervalMs / 4));
      stopProducer.abort();
      await ssc.stop({ stopContext: false });
    });
    off();
    let validated = false;
    if (o.validate !== false) {
      await timer.time('validate windows', async () => {
        for (const [t, got] of windows) {
          const expected = new Map<string, number>();
          for (const [bt, ws] of batches) {
            if (bt > t - o.windowBatches * o.intervalMs && bt <= t) for (const w of ws) expected.set(w, (expected.get(w) ?? 0) + 1);
          }
          check(got.size === expected.size && [...expected].every(([w, n]) => got.get(w) === n), `window at ${t} equals a recount of its batches`);
        }
        validated = windows.length > 0;
      });
    }
    const meanProcessingMs = processing.reduce((a, b) => a + b, 0) / Math.max(1, processing.length);
    return {
      summary: { windows: windows.length, records, topWords, validated, meanProcessingMs, maxSchedulingDelayMs: maxDelay },
      timings: timer.timings,
    };
  } finally {
    stopProducer.abort();
    rmSync(checkpoint, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const cli = parseCli('streaming-wordcount', 'Windowed word count over a stream (micro-batches, inverse window reduce)', {
    batches: { type: 'string', help: 'batches to run (default 20; 10 with --small)' },
    interval: { type: 'string', help: 'batch interval in ms (default 200)' },
    window: { type: 'string', help: 'window length in batches (default 5)' },
    slide: { type: 'string', help: 'slide in batches (default 1)' },
    rate: { type: 'string', help: 'lines per second from the built-in producer (default 20000)' },
    redis: { type: 'string', help: 'read lines (field "line") from a Redis stream at this URL instead' },
    key: { type: 'string', help: 'the Redis stream key (default lines)' },
  });
  const redisUrl = cli.string('redis');
  await runMain(cli, 'streaming-wordcount', async (sc) => {
    const result = await run(sc, {
      batches: cli.int('batches', cli.small ? 10 : 20),
      intervalMs: cli.int('interval', 200),
      windowBatches: cli.int('window', 5),
      slideBatches: cli.int('slide', 1),
      rate: cli.number('rate', 20_000),
      ...(redisUrl === undefined ? {} : { redis: { url: redisUrl, key: cli.string('key') ?? 'lines' } }),
      print: true,
      validate: cli.validate,
    });
    const s = result.summary;
    console.log(
      `\n${s.records} lines in ${s.windows} windows; mean processing ${s.meanProcessingMs.toFixed(1)} ms per batch, ` +
        `max scheduling delay ${s.maxSchedulingDelayMs} ms${s.validated ? '; every window equals a recount' : ''}`,
    );
    return result;
  });
}
