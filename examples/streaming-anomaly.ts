/**
 * Sliding-window anomaly detector over Redis: sensors write readings to the Redis stream `readings` (a producer in
 * this program, with rare spikes injected), the job keeps each sensor's count, sum and sum of squares over a
 * sliding window (reduceByKeyAndWindow with an inverse: only the batches entering and leaving are combined), joins
 * every batch's readings with their sensor's window, and publishes readings more than `--sigmas` standard
 * deviations from the window's mean to the Redis stream `alerts` (toRedis: idempotent per batch). Validates the
 * alerts read back from Redis against a recomputation from the recorded batches, and that every injected spike
 * the producer sent was read and flagged. The producer keeps its own record (how many readings it sent, and the
 * sequence number of every spike among them); the job runs until it has read everything the producer sent, so the
 * counts compare exactly. `paced` makes the producer write a fixed number of readings a chunk at a time, each
 * chunk once a batch has taken the previous one (what the test uses: each chunk whole in one batch, whatever the
 * machine's load).
 *
 * Needs redis-server: --redis <url>, or a redis-server on the PATH, which it starts on a free port for the run.
 *
 *   npx tsx examples/streaming-anomaly.ts --master local[2] [--redis redis://127.0.0.1:6379] [--batches 30]
 *       [--interval 200] [--window 20] [--rate 500] [--sigmas 4]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { capture, type Context, StreamingContext } from 'kindling';
import { check, type ExampleResult, isMain, parseCli, runMain, Timer } from './common.js';

export interface AnomalyOptions {
  readonly redisUrl: string;
  readonly batches: number;
  readonly intervalMs: number;
  /** Window length in batches (slide: one batch). */
  readonly windowBatches: number;
  /** Readings per second written by the producer (until `batches` batches have run); ignored with `paced`. */
  readonly rate: number;
  /**
   * Instead of a rate: `readings` readings in all, written `perBatch` at a time (one transaction each), each chunk
   * once the job's batches have taken everything before it. The run ends when the job has read them all, after at least
   * `batches` batches.
   */
  readonly paced?: { readonly readings: number; readonly perBatch: number };
  readonly sigmas: number;
  /** Stream keys (default `readings`, `alerts`); tests use their own. */
  readonly keys?: { readings: string; alerts: string };
  readonly print?: boolean;
  readonly validate?: boolean;
}

export interface AnomalySummary {
  /** Readings the producer sent (its own count); the job reads all of them before the run ends. */
  readonly sent: number;
  /** Sequence numbers of the spikes the producer sent, by its own record. */
  readonly spikesSent: readonly number[];
  readonly readings: number;
  readonly alerts: number;
  readonly spikesRead: number;
  readonly spikesFlagged: number;
  readonly validated: boolean;
}

const SENSORS = ['s1', 's2', 's3', 's4'];
/** Every `SPIKE_EVERY`-th reading is a spike (a sensor fault): far off its sensor's level. */
const SPIKE_EVERY = 97;

/** What the producer sent, by its own record. */
interface Sent {
  count: number;
  readonly spikes: number[];
}

/** Reading `i`: its sensor's level, uniform noise of +-1 from the seeded generator, and a spike every SPIKE_EVERY-th. */
function reading(i: number, next: () => number): [sensor: string, value: string, spike: boolean] {
  const s = i % SENSORS.length;
  const spike = i > 0 && i % SPIKE_EVERY === 0;
  return [SENSORS[s]!, (20 + 10 * s + (next() * 2 - 1) + (spike ? 40 : 0)).toFixed(3), spike];
}

function generator(): () => number {
  let seed = 3;
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Writes readings (`sensor`, `value`, `seq`) at `rate` per second until aborted; records them in `sent`. */
async function produce(redis: Redis, key: string, rate: number, signal: AbortSignal, sent: Sent): Promise<void> {
  const next = generator();
  const t0 = performance.now();
  for (let i = 0; !signal.aborted; i++) {
    const due = t0 + (i / rate) * 1000;
    if (performance.now() < due) await new Promise((r) => setTimeout(r, due - performance.now()));
    const [sensor, value, spike] = reading(i, next);
    await redis.xadd(key, '*', 'sensor', sensor, 'value', value, 'seq', String(i));
    sent.count = i + 1;
    if (spike) sent.spikes.push(i);
  }
}

/**
 * Writes `readings` readings, `perBatch` at a time in one MULTI each (a batch takes a chunk whole or not at all),
 * the next chunk only once `taken()` says the job's batches have taken everything sent so far (a batch takes its
 * readings when it is cut, at its interval, and may be processed much later on a loaded machine); records them in
 * `sent`.
 */
async function producePaced(
  redis: Redis,
  key: string,
  paced: { readings: number; perBatch: number },
  taken: () => number,
  signal: AbortSignal,
  sent: Sent,
): Promise<void> {
  const next = generator();
  for (let i = 0; i < paced.readings && !signal.aborted; ) {
    const multi = redis.multi();
    const spikes: number[] = [];
    const end = Math.min(paced.readings, i + paced.perBatch);
    for (; i < end; i++) {
      const [sensor, value, spike] = reading(i, next);
      multi.xadd(key, '*', 'sensor', sensor, 'value', value, 'seq', String(i));
      if (spike) spikes.push(i);
    }
    await multi.exec();
    sent.count = end;
    sent.spikes.push(...spikes);
    while (taken() < sent.count && !signal.aborted) await new Promise((r) => setTimeout(r, 5));
  }
}

type Stats = [number, number, number];

/** The detector's rule, shared by the job (shipped with `capture`) and the validation. */
function isAnomaly(value: number, [n, sum, sumSq]: Stats, sigmas: number): boolean {
  if (n < 10) return false;
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  return Math.abs(value - mean) > sigmas * std;
}

export async function run(sc: Context, o: AnomalyOptions): Promise<ExampleResult<AnomalySummary>> {
  const timer = new Timer();
  const keys = o.keys ?? { readings: 'readings', alerts: 'alerts' };
  const checkpoint = mkdtempSync(path.join(os.tmpdir(), 'kindling-anomaly-'));
  const redis = new Redis(o.redisUrl);
  const stopProducer = new AbortController();
  try {
    await redis.del(keys.readings, keys.alerts);
    const ssc = new StreamingContext(sc, { batchInterval: o.intervalMs, checkpoint });
    const readings = ssc
      // Paced, the producer waits for the job, which is never behind it: no back pressure to apply (the PID
      // estimator would cut each chunk into batches of its floor rate, 10 readings at 100 ms, on a loaded machine).
      .redisStream({ url: o.redisUrl, key: keys.readings, startId: '0', ...(o.paced === undefined ? {} : { pid: false as const }) })
      .map((e): [string, [number, number]] => [e.fields.sensor!, [Number(e.fields.value), Number(e.fields.seq)]])
      .persist();
    // Count, sum and sum of squares per sensor over the window; readings leaving it are subtracted.
    const stats = readings
      .mapValues(([v]): Stats => [1, v, v * v])
      .reduceByKeyAndWindow((a, b): Stats => [a[0] + b[0], a[1] + b[1], a[2] + b[2]], {
        window: o.windowBatches * o.intervalMs,
        inverse: (a, b): Stats => [a[0] - b[0], a[1] - b[1], a[2] - b[2]],
        filter: ([, s]) => s[0] > 0,
      });
    const sigmas = o.sigmas;
    const alerts = readings
      .join(stats)
      .filter(capture({ isAnomaly, sigmas }, ([, [[v], s]]: [string, [[number, number], Stats]]) => isAnomaly(v, s, sigmas)))
      .map(([sensor, [[value, seq], [n, sum]]]) => ({ sensor, value, seq, mean: sum / n }))
      // Read by the sink and by the printout.
      .persist();
    alerts.toRedis({
      url: o.redisUrl,
      key: keys.alerts,
      encode: (a) => ({ sensor: a.sensor, value: a.value.toFixed(3), seq: String(a.seq), mean: a.mean.toFixed(3) }),
    });
    const batches: Array<Array<[string, [number, number]]>> = [];
    if (o.validate !== false) readings.foreachRDD(async (rdd) => void batches.push(await rdd.collect()));
    if (o.print) {
      alerts.foreachRDD(async (rdd, t) => {
        for (const a of await rdd.collect()) console.log(`batch ${t.id}: ALERT ${JSON.stringify(a)}`);
      });
    }
    let done = 0;
    let readCount = 0;
    let taken = 0;
    const offCompleted = sc.events.on('batchCompleted', (e) => {
      done++;
      readCount += e.records;
    });
    const offSubmitted = sc.events.on('batchSubmitted', (e) => void (taken += e.records));
    const sent: Sent = { count: 0, spikes: [] };
    const producing =
      o.paced === undefined
        ? produce(redis, keys.readings, o.rate, stopProducer.signal, sent)
        : producePaced(redis, keys.readings, o.paced, () => taken, stopProducer.signal, sent);
    const wait = () => new Promise((r) => setTimeout(r, o.intervalMs / 4));
    await timer.time(`stream ${o.batches} batches of ${o.intervalMs} ms`, async () => {
      await ssc.start();
      if (o.paced === undefined) {
        while (done < o.batches && ssc.state === 'active') await wait();
        stopProducer.abort();
      }
      await producing;
      // Until the job has read everything the producer sent (and at least `batches` batches ran).
      while ((done < o.batches || readCount < sent.count) && ssc.state === 'active') await wait();
      await ssc.stop({ stopContext: false });
    });
    offCompleted();
    offSubmitted();
    const published = ((await redis.xrange(keys.alerts, '-', '+')) as [string, string[]][]).map(([, f]) => Number(f[5]));
    const read = batches.flat();
    const spikes = read.filter(([, [, seq]]) => seq > 0 && seq % SPIKE_EVERY === 0).map(([, [, seq]]) => seq);
    let validated = false;
    if (o.validate !== false) {
      await timer.time('validate alerts', async () => {
        // The same rule over windows recomputed from the recorded batches (one batch per interval).
        const expected: number[] = [];
        batches.forEach((batch, i) => {
          const window = new Map<string, Stats>();
          for (const b of batches.slice(Math.max(0, i - o.windowBatches + 1), i + 1)) {
            for (const [s, [v]] of b) {
              const w = window.get(s) ?? [0, 0, 0];
              window.set(s, [w[0] + 1, w[1] + v, w[2] + v * v]);
            }
          }
          for (const [s, [v, seq]] of batch) if (isAnomaly(v, window.get(s)!, o.sigmas)) expected.push(seq);
        });
        const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
        check(JSON.stringify(sorted(published)) === JSON.stringify(sorted(expected)), 'the alerts in Redis equal a recomputation from the batches');
        const flagged = new Set(published);
        check(JSON.stringify(sorted(spikes)) === JSON.stringify(sent.spikes), 'the job read every spike the producer sent, and no other');
        check(
          spikes.every((s) => flagged.has(s)),
          'every injected spike the job read was flagged',
        );
        validated = true;
      });
    }
    return {
      summary: {
        sent: sent.count,
        spikesSent: sent.spikes,
        readings: read.length,
        alerts: published.length,
        spikesRead: spikes.length,
        spikesFlagged: spikes.filter((s) => published.includes(s)).length,
        validated,
      },
      timings: timer.timings,
    };
  } finally {
    stopProducer.abort();
    redis.disconnect();
    rmSync(checkpoint, { recursive: true, force: true });
  }
}

/** Starts a private redis-server on a free loopback port (no persistence); resolves its URL and a stop function. */
export async function startRedisServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(p));
    });
  });
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.once('error', (e) => reject(new Error(`cannot start redis-server (${e.message}); pass --redis <url> or install redis-server`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-300)}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (isMain(import.meta.url)) {
  const cli = parseCli('streaming-anomaly', 'Sliding-window anomaly detector over a Redis stream, alerts published back to Redis', {
    redis: { type: 'string', help: 'Redis URL (default: start a private redis-server from the PATH)' },
    batches: { type: 'string', help: 'batches to run (default 30; 15 with --small)' },
    interval: { type: 'string', help: 'batch interval in ms (default 200)' },
    window: { type: 'string', help: 'window length in batches (default 20)' },
    rate: { type: 'string', help: 'readings per second (default 500)' },
    sigmas: { type: 'string', help: 'standard deviations from the window mean that make an anomaly (default 4)' },
  });
  const given = cli.string('redis');
  const server = given === undefined ? await startRedisServer() : undefined;
  try {
    await runMain(cli, 'streaming-anomaly', async (sc) => {
      const result = await run(sc, {
        redisUrl: given ?? server!.url,
        batches: cli.int('batches', cli.small ? 15 : 30),
        intervalMs: cli.int('interval', 200),
        windowBatches: cli.int('window', 20),
        rate: cli.number('rate', 500),
        sigmas: cli.number('sigmas', 4),
        print: true,
        validate: cli.validate,
      });
      const s = result.summary;
      console.log(
        `\n${s.readings} of ${s.sent} readings sent read, ${s.alerts} alerts in Redis ('alerts'); ${s.spikesFlagged} of ${s.spikesRead} injected spikes flagged` +
          (s.validated ? '; alerts equal a recomputation from the batches' : ''),
      );
      return result;
    });
  } finally {
    await server?.stop();
  }
}
