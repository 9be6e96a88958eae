/**
 * Sustained throughput and end-to-end latency of a windowed word count over a live Redis stream (1 s batches, a
 * 10 s window sliding every 1 s with an inverse reduce, local[2], direct mode). A producer in its own process
 * (bench/streaming-producer.ts) writes R entries/s of 10 words for --seconds while the stream runs; every batch's
 * read, scheduling delay, processing time and broker lag is recorded. A rate holds when every batch is processed
 * within the 1 s interval and the lag and scheduling delay do not grow.
 *
 * Records are verified, not assumed: the sink collects each batch's windowed counts W(t); since
 * W(t) − W(t−1) = B(t) − B(t−10), the per-batch counts B are rebuilt from the windows alone and summed over the run,
 * and must equal the producer's own word counts exactly (it reports them when it exits); the records the batches
 * took must equal the entries it wrote.
 *
 * Latency (XADD to the sink): a custom accumulator in the same job counts the entries per id millisecond (an
 * entry's id is its XADD time); at the sink, right after the window's counts are collected, every entry counted
 * since the previous batch is `now − its id ms` old.
 *
 *   npx tsx bench/streaming-sustained.ts [--rates 100000] [--seconds 60] [--producers 1] [--latency] [--read resp,eval,...] [--no-ui]
 *
 * VERBOSE=1 prints every batch. --rates a,b,c runs each rate in turn, each with every read path of --read in turn
 * (repeat one to alternate: --read eval,resp,eval,resp) (one fresh stream each, same context). --latency adds the latency
 * measurement (run it at half the sustained rate, as issue 11 asks).
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Context, capture, StreamingContext } from 'kindling';
import { machine } from './harness.js';
import { startRedis } from './redis-server.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const rates = arg('rates', '100000').split(',').map(Number);
const seconds = Number(arg('seconds', '60'));
const producers = Number(arg('producers', '1'));
const latency = process.argv.includes('--latency');
const reads = arg('read', 'resp').split(',') as ('resp' | 'eval' | 'xrange')[];
const WINDOW_BATCHES = 10;
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;

const server = await startRedis();
const redis = new Redis(server.url);
// The web UI is on by default (as for users); --no-ui measures without it.
const ui = !process.argv.includes('--no-ui');
const sc = new Context({ master: 'local[2]', progress: false, hints: false, ...(ui ? { ui: { port: 0 } } : { ui: false }) });
console.log(
  `sustained windowed word count over Redis: 1 s batches, window 10 s / slide 1 s (inverse), local[2], UI ${ui ? 'on' : 'off'}, ${machine()}`,
);

interface Producer {
  sent: number;
  wallS: number;
  maxGapMs: number;
  words: Record<string, number>;
}

function produce(key: string, rate: number, seed: number): Promise<Producer> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'streaming-producer.ts');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      '--port',
      String(server.port),
      '--key',
      key,
      '--rate',
      String(rate),
      '--seconds',
      String(seconds),
      '--seed',
      String(seed),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => void (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Producer) : reject(new Error(`producer exited with ${code}`)))),
  );
}

interface Batch {
  ms: number;
  records: number;
  readMs: number;
  schedulingMs: number;
  processingMs: number;
  lag: number | undefined;
  /** Where a batch's time went: its tasks' run and GC time (summed over workers), the driver's GC, a checkpoint job. */
  taskRunMs: number;
  taskGcMs: number;
  driverGcMs: number;
  checkpoint: boolean;
}

// Attribution of slow batches: what ran between a batch's start and its end.
let current = { taskRunMs: 0, taskGcMs: 0, driverGcMs: 0, checkpoint: false };
sc.events.on('batchStarted', () => void (current = { taskRunMs: 0, taskGcMs: 0, driverGcMs: 0, checkpoint: false }));
sc.events.on('taskEnd', (e) => {
  current.taskRunMs += e.metrics?.runMs ?? 0;
  current.taskGcMs += e.metrics?.gcMs ?? 0;
});
sc.events.on('jobStart', (e) => void (current.checkpoint ||= e.description.startsWith('checkpoint')));
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) current.driverGcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

const runs = rates.flatMap((rate) => reads.map((readWith) => ({ rate, readWith })));
for (const [n, { rate, readWith }] of runs.entries()) {
  const key = `live-${n}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-bench-sustained-'));
  const ssc = new StreamingContext(sc, { batchInterval: '1s', checkpoint: dir });
  const perMs = sc.customAccumulator({
    zero: () => new Map<number, number>(),
    add: (m: Map<number, number>, ms: number) => m.set(ms, (m.get(ms) ?? 0) + 1),
    merge: (a, b) => {
      for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
      return a;
    },
  });
  let entries = ssc.redisStream({ url: server.url, key, startId: '$', maxPerBatch: rate * 4, pid: false, readWith });
  if (latency)
    entries = entries.map(
      capture({ perMs }, (e) => {
        perMs.add(e.ms);
        return e;
      }),
    );
  const windows: Map<string, number>[] = [];
  const latencies: [number, number][] = [];
  entries
    .flatMap((e) => (e.fields.line ?? '').split(' '))
    .map((w): [string, number] => [w, 1])
    .reduceByKeyAndWindow((a, b) => a + b, { window: `${WINDOW_BATCHES}s`, inverse: (a, b) => a - b, filter: ([, c]) => c > 0 })
    .foreachRDD(async (rdd) => {
      windows.push(new Map(await rdd.collect()));
      const now = Date.now();
      for (const [ms, c] of perMs.value) latencies.push([now - ms, c]);
      perMs.value.clear();
    });
  const batches: Batch[] = [];
  const read = new Map<number, number>();
  const offSubmitted = sc.events.on('batchSubmitted', (e) => {
    read.set(e.batch.ms, e.time - e.batch.ms);
  });
  const offCompleted = sc.events.on('batchCompleted', (e) => {
    if (process.env.VERBOSE)
      console.log(
        `batch ${e.batch.id}: ${e.records} records, read ${read.get(e.batch.ms)} ms, delay ${e.schedulingDelayMs.toFixed(0)} ms, ` +
          `processing ${e.processingMs.toFixed(0)} ms, lag ${e.sources[0]?.lag}, done ${e.time - e.batch.ms} ms after the batch time; ` +
          `driver heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB, external ${(process.memoryUsage().external / 2 ** 20).toFixed(0)} MiB, ` +
          `array buffers ${(process.memoryUsage().arrayBuffers / 2 ** 20).toFixed(0)} MiB, GC ${current.driverGcMs.toFixed(0)} ms`,
      );
    batches.push({
      ms: e.batch.ms,
      records: e.records,
      readMs: read.get(e.batch.ms) ?? Number.NaN,
      schedulingMs: e.schedulingDelayMs,
      processingMs: e.processingMs,
      lag: e.sources[0]?.lag,
      ...current,
    });
  });
  const load0 = loadavg();
  await ssc.start();
  const startedAt = batches.length;
  const made = await Promise.all(Array.from({ length: producers }, (_, p) => produce(key, rate / producers, 11 + p)));
  // Drain: the stream has caught up when a batch after the producers' end takes nothing.
  const producedAt = batches.length;
  while (!(batches.length > producedAt + 1 && batches.at(-1)!.records === 0)) {
    // A failed batch stops the stream: say why instead of waiting for batches that never come.
    if (ssc.state === 'stopped') await ssc.awaitTermination();
    await new Promise((r) => setTimeout(r, 100));
  }
  await ssc.stop({ stopContext: false });
  offSubmitted();
  offCompleted();
  rmSync(dir, { recursive: true, force: true });

  // B(t) = W(t) − W(t−1) + B(t−10), summed over the run: every word count the windows ever held, once.
  const sent = made.reduce((a, p) => a + p.sent, 0);
  const expected = new Map<string, number>();
  for (const p of made) for (const [w, c] of Object.entries(p.words)) expected.set(w, (expected.get(w) ?? 0) + c);
  const perBatch: Map<string, number>[] = [];
  const total = new Map<string, number>();
  windows.forEach((win, t) => {
    const b = new Map<string, number>();
    for (const w of new Set([...win.keys(), ...(windows[t - 1]?.keys() ?? []), ...(perBatch[t - WINDOW_BATCHES]?.keys() ?? [])])) {
      const c = (win.get(w) ?? 0) - (windows[t - 1]?.get(w) ?? 0) + (perBatch[t - WINDOW_BATCHES]?.get(w) ?? 0);
      if (c !== 0) b.set(w, c);
      total.set(w, (total.get(w) ?? 0) + c);
    }
    perBatch.push(b);
  });
  const wrong = [...new Set([...expected.keys(), ...total.keys()])].filter((w) => (expected.get(w) ?? 0) !== (total.get(w) ?? 0)).length;
  const taken = batches.reduce((a, b) => a + b.records, 0);

  // The batches while the producers ran (the first is partial: it started mid-interval; the drain batches are not load).
  const live = batches.slice(startedAt + 1, producedAt);
  const proc = live.map((b) => b.processingMs);
  const sched = live.map((b) => b.schedulingMs);
  const lags = live.map((b) => b.lag ?? Number.NaN);
  const over = live.filter((b) => b.processingMs >= 1000).length;
  const firstHalf = sched.slice(0, Math.floor(sched.length / 2));
  const secondHalf = sched.slice(Math.floor(sched.length / 2));
  const holds = over === 0 && Math.max(...sched) < 1000 && q(secondHalf, 0.5) <= q(firstHalf, 0.5) + 100 && Math.max(...lags) <= rate;
  console.log(
    `${rate.toLocaleString('en')} entries/s × ${seconds} s (read with ${readWith}, ${producers} producer${producers > 1 ? 's' : ''}; load ${load0} → ${loadavg()}): ` +
      `sent ${sent.toLocaleString('en')}, taken ${taken.toLocaleString('en')}, word counts ${wrong === 0 && taken === sent ? 'equal to the producer’s' : `WRONG (${wrong} words differ)`}; ` +
      `${live.length} batches under load: records p50 ${q(
        live.map((b) => b.records),
        0.5,
      ).toLocaleString(
        'en',
      )}; processing p50 ${q(proc, 0.5).toFixed(0)} ms, p99 ${q(proc, 0.99).toFixed(0)}, max ${Math.max(...proc).toFixed(0)} ms ` +
      `(${over} ≥ 1 s); read p50 ${q(
        live.map((b) => b.readMs),
        0.5,
      ).toFixed(0)} ms; scheduling delay p50 ${q(sched, 0.5).toFixed(0)} ms, max ${Math.max(...sched).toFixed(0)} ms ` +
      `(median first half ${q(firstHalf, 0.5).toFixed(0)}, second half ${q(secondHalf, 0.5).toFixed(0)}); lag max ${Math.max(...lags).toLocaleString('en')} entries; ` +
      `producer longest pause ${Math.max(...made.map((p) => p.maxGapMs))} ms → ${holds ? 'HOLDS' : 'does not hold'}`,
  );
  console.log(`  processing per batch (ms): ${proc.map((x) => x.toFixed(0)).join(' ')}`);
  const slow = live.filter((b) => b.processingMs >= Math.max(1000, 2 * q(proc, 0.5)));
  const share = (xs: Batch[], f: (b: Batch) => number) =>
    xs.reduce((a, b) => a + f(b), 0) /
    Math.max(
      1,
      xs.reduce((a, b) => a + b.taskRunMs, 0),
    );
  console.log(
    `  slow batches (≥ 1 s and ≥ 2x the median): ${slow.length}, ${slow.filter((b) => b.checkpoint).length} with a checkpoint job ` +
      `(${live.filter((b) => b.checkpoint).length} of all ${live.length}); worker GC ${(100 * share(slow, (b) => b.taskGcMs)).toFixed(0)} % of their task time ` +
      `(all batches ${(100 * share(live, (b) => b.taskGcMs)).toFixed(0)} %); task time per record ${(
        slow.reduce((a, b) => a + b.taskRunMs, 0) /
          Math.max(
            1,
            slow.reduce((a, b) => a + b.records, 0),
          )
      ).toFixed(4)} ms ` +
      `(all ${(
        live.reduce((a, b) => a + b.taskRunMs, 0) /
          Math.max(
            1,
            live.reduce((a, b) => a + b.records, 0),
          )
      ).toFixed(4)}); driver GC in them ${slow.reduce((a, b) => a + b.driverGcMs, 0).toFixed(0)} ms`,
  );
  if (latency) {
    latencies.sort((a, b) => a[0] - b[0]);
    const count = latencies.reduce((a, [, c]) => a + c, 0);
    const at = (p: number) => {
      let seen = 0;
      for (const [l, c] of latencies) if ((seen += c) > p * count) return l;
      return latencies.at(-1)![0];
    };
    console.log(
      `  latency XADD → sink over ${count.toLocaleString('en')} entries: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${latencies.at(-1)![0]} ms`,
    );
  }
  await redis.del(key);
}
const info = String(await redis.info('memory'));
console.log(
  `peak RSS: driver (with its worker threads) ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, ` +
    `redis-server ${(Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? 0) / 2 ** 20).toFixed(0)} MiB used at peak; load ${loadavg()}`,
);
await sc.stop();
await redis.quit();
server.stop();
