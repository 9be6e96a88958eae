/**
 * Windowed word count over a Redis stream (1 s batches, 10 s window sliding every 1 s with an inverse reduce, on
 * local[2]): per-batch processing time when each batch takes R records of 10 words (about 60 bytes), for several R.
 * The stream is preloaded, so every batch reads exactly R entries (a backlog drained at a fixed rate); the rate R/s
 * is sustainable while processing stays under the 1 s interval. Starts its own redis-server on a free port.
 *
 *   npx tsx bench/streaming-redis.ts [--rates 10000,25000,50000,100000] [--batches 8] [--modes eval,resp] [--rounds 1]
 *
 * --modes: the direct source's read paths to compare (`readWith`), run alternately on the same data.
 *
 * A live producer, sustained rates and latency: bench/streaming-sustained.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Context, StreamingContext } from 'kindling';
import { machine } from './harness.js';
import { startRedis } from './redis-server.js';

const loadavg = () => os.loadavg()[0]!.toFixed(1);

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const rates = arg('rates', '10000,25000,50000,100000').split(',').map(Number);
const batches = Number(arg('batches', '8'));

const server = await startRedis();
const url = server.url;
const redis = new Redis(url);

const VOCAB = Array.from({ length: 1000 }, (_, i) => `w${i}`);
async function preload(key: string, n: number): Promise<void> {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let done = 0; done < n; done += 1000) {
    const p = redis.pipeline();
    for (let i = 0; i < Math.min(1000, n - done); i++)
      p.xadd(key, '*', 'line', Array.from({ length: 10 }, () => VOCAB[Math.floor(rnd() ** 2 * 1000)]).join(' '));
    await p.exec();
  }
}

console.log(`streaming word count over Redis, 1 s batches, window 10 s / slide 1 s (inverse), ${machine()}`);
const sc = new Context({ master: 'local[2]', progress: false, hints: false });

// Each rate's data is read twice per round from the same preloaded stream (direct mode re-reads from id 0), once
// per read path, alternating, so the two are compared side by side under the same load.
const modes = arg('modes', 'eval,resp').split(',') as ('xrange' | 'eval' | 'resp')[];
const rounds = Number(arg('rounds', '1'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const rate of rates) {
  const key = `lines-${rate}`;
  const t0 = performance.now();
  await preload(key, rate * (batches + 1));
  const preloadS = (performance.now() - t0) / 1000;
  console.log(`${rate.toLocaleString('en')} records/batch (preload ${preloadS.toFixed(1)} s, load ${loadavg()}):`);
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-bench-stream-'));
      const ssc = new StreamingContext(sc, { batchInterval: '1s', checkpoint: dir });
      ssc
        .redisStream({ url, key, startId: '0', maxPerBatch: rate, pid: false, readWith: mode })
        .flatMap((e) => (e.fields.line ?? '').split(' '))
        .map((w): [string, number] => [w, 1])
        .reduceByKeyAndWindow((a, b) => a + b, { window: '10s', inverse: (a, b) => a - b, filter: ([, n]) => n > 0 })
        .foreachRDD(async (rdd) => {
          await rdd.count();
        });
      // Per batch: read (batch time to the batch queued: the source's read), processing, and end to end (batch time
      // to its outputs done: read + waiting + processing).
      const read = new Map<number, number>();
      const rows: { read: number; processing: number; end: number }[] = [];
      const offSubmitted = sc.events.on('batchSubmitted', (e) => void read.set(e.batch.ms, e.time - e.batch.ms));
      const done = new Promise<void>((resolve) => {
        const off = sc.events.on('batchCompleted', (e) => {
          if (e.records === 0) return;
          rows.push({ read: read.get(e.batch.ms) ?? 0, processing: e.processingMs, end: e.time - e.batch.ms });
          if (rows.length === batches + 1) {
            off();
            resolve();
          }
        });
      });
      await ssc.start();
      await done;
      offSubmitted();
      await ssc.stop({ stopContext: false });
      rmSync(dir, { recursive: true, force: true });
      // The first batch includes the first jobs of a fresh stream (cold); the rest are warm.
      const warm = rows.slice(1);
      const maxEnd = Math.max(...warm.map((r) => r.end));
      console.log(
        `  ${mode.padEnd(6)} cold end-to-end ${rows[0]!.end.toFixed(0)} ms; warm median read ${median(warm.map((r) => r.read)).toFixed(0)} ms, ` +
          `processing ${median(warm.map((r) => r.processing)).toFixed(0)} ms, end-to-end ${median(warm.map((r) => r.end)).toFixed(0)} ms, ` +
          `max end-to-end ${maxEnd.toFixed(0)} ms${maxEnd < 1000 ? ' (every batch done within the 1 s interval)' : ''}; load ${loadavg()}`,
      );
    }
  }
  await redis.del(key);
}
console.log(`peak RSS of the driver process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
await sc.stop();
await redis.quit();
server.stop();
