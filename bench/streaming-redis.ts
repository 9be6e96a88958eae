/**
 * Windowed word count over a Redis stream (1 s batches, 10 s window sliding every 1 s with an inverse reduce, on
 * local[2]): per-batch processing time when each batch takes R records of 10 words (about 60 bytes), for several R.
 * The stream is preloaded, so every batch reads exactly R entries (a backlog drained at a fixed rate); the rate R/s
 * is sustainable while processing stays under the 1 s interval. Starts its own redis-server on a free port.
 *
 *   npx tsx bench/streaming-redis.ts [--rates 10000,25000,50000,100000] [--batches 8]
 *   npx tsx bench/streaming-redis.ts --latency 25000 [--seconds 30]
 *
 * --latency R: a live producer (in this process, pipelined XADD every 10 ms) offers R entries/s for --seconds; the
 * latency of an entry is the time its batch's output finished minus the entry's XADD time (its id).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Context, StreamingContext } from 'kindling';
import { machine } from './harness.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const rates = arg('rates', '10000,25000,50000,100000').split(',').map(Number);
const batches = Number(arg('batches', '8'));

const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
const server: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve) => {
  let out = '';
  server.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('Ready to accept connections')) resolve();
  });
});
const url = `redis://127.0.0.1:${port}`;
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

const latencyRate = Number(arg('latency', '0'));
if (latencyRate > 0) {
  const seconds = Number(arg('seconds', '30'));
  const producer = new Redis(url);
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-bench-stream-'));
  const ssc = new StreamingContext(sc, { batchInterval: '1s', checkpoint: dir });
  const entries = ssc.redisStream({ url, key: 'live', startId: '$' }).persist();
  entries
    .flatMap((e) => (e.fields.line ?? '').split(' '))
    .map((w): [string, number] => [w, 1])
    .reduceByKeyAndWindow((a, b) => a + b, { window: '10s', inverse: (a, b) => a - b, filter: ([, n]) => n > 0 })
    .foreachRDD(async (rdd) => {
      await rdd.count();
    });
  const latencies: number[] = [];
  const processing: number[] = [];
  entries.foreachRDD(async (rdd) => {
    const ms = await rdd.map((e) => e.ms).collect();
    const now = Date.now();
    for (const m of ms) latencies.push(now - m);
  });
  const off = sc.events.on('batchCompleted', (e) => void processing.push(e.processingMs));
  await ssc.start();
  const perTick = latencyRate / 100;
  let sent = 0;
  const t0 = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) / 1000) * latencyRate) - sent;
    const p = producer.pipeline();
    for (let i = 0; i < Math.min(due, perTick * 5); i++)
      p.xadd('live', '*', 'line', Array.from({ length: 10 }, () => VOCAB[Math.floor(rnd() ** 2 * 1000)]).join(' '));
    sent += Math.min(due, perTick * 5);
    void p.exec();
  }, 10);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 2500));
  await ssc.stop({ stopContext: false });
  off();
  latencies.sort((a, b) => a - b);
  processing.sort((a, b) => a - b);
  const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  console.log(
    `live producer ${latencyRate.toLocaleString('en')}/s for ${seconds} s: sent ${sent.toLocaleString('en')}, received ${latencies.length.toLocaleString('en')}; ` +
      `latency p50 ${q(latencies, 0.5)} ms, p99 ${q(latencies, 0.99)} ms, max ${latencies.at(-1)} ms; ` +
      `processing per batch p50 ${q(processing, 0.5).toFixed(0)} ms, max ${processing.at(-1)!.toFixed(0)} ms`,
  );
  rmSync(dir, { recursive: true, force: true });
  await producer.quit();
  rates.length = 0;
}

const results: { rate: number; medianMs: number; maxMs: number; coldMs: number }[] = [];
for (const rate of rates) {
  const key = `lines-${rate}`;
  const t0 = performance.now();
  await preload(key, rate * (batches + 1));
  const preloadS = (performance.now() - t0) / 1000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-bench-stream-'));
  const ssc = new StreamingContext(sc, { batchInterval: '1s', checkpoint: dir });
  ssc
    .redisStream({ url, key, startId: '0', maxPerBatch: rate, pid: false })
    .flatMap((e) => (e.fields.line ?? '').split(' '))
    .map((w): [string, number] => [w, 1])
    .reduceByKeyAndWindow((a, b) => a + b, { window: '10s', inverse: (a, b) => a - b, filter: ([, n]) => n > 0 })
    .foreachRDD(async (rdd) => {
      await rdd.count();
    });
  const times: number[] = [];
  const done = new Promise<void>((resolve) => {
    const off = sc.events.on('batchCompleted', (e) => {
      if (e.records === 0) return;
      times.push(e.processingMs);
      if (times.length === batches + 1) {
        off();
        resolve();
      }
    });
  });
  await ssc.start();
  await done;
  await ssc.stop({ stopContext: false });
  rmSync(dir, { recursive: true, force: true });
  // The first batch includes the first jobs of a fresh stream (cold); the rest are warm.
  const warm = times.slice(1).sort((a, b) => a - b);
  const r = { rate, coldMs: times[0]!, medianMs: warm[Math.floor(warm.length / 2)]!, maxMs: warm.at(-1)! };
  results.push(r);
  console.log(
    `${rate.toLocaleString('en')} records/batch: cold ${r.coldMs.toFixed(0)} ms, warm median ${r.medianMs.toFixed(0)} ms, max ${r.maxMs.toFixed(0)} ms` +
      ` ${r.maxMs < 1000 ? '(under the 1 s interval)' : '(over the interval: not sustainable)'}; preload ${preloadS.toFixed(1)} s`,
  );
  await redis.del(key);
}
await sc.stop();
await redis.quit();
server.kill('SIGTERM');
