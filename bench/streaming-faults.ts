/**
 * Faults at random moments in the stream processor. Each run: a producer writes a known sequence of keyed entries
 * (ids `1-1` … `1-N`, written idempotently, so a retried XADD never doubles one) into a Redis stream of its own; a
 * streaming driver (a child process of this script, `local[2]`, 200 ms batches, a checkpoint folder) reads it in
 * direct mode and writes, per batch: its records to text files (`saveAsTextFiles`, the reference of what each
 * batch held), the entries to a Redis stream (`toRedis`), a running count per key (`updateStateByKey`), the same
 * with `mapWithState` (`stateSnapshots`) and a windowed count with an inverse function (`reduceByKeyAndWindow`,
 * 1.6 s sliding by 400 ms), each to a Redis stream; and a second source, an async generator of numbers under back
 * pressure (`block`, `buffer`, `drop` newest or oldest; chosen per run), to text files. At one or two random moments
 * (from the driver's spawn: start-up, reading, mid-batch, between batches) one of:
 * - `redis-kept`: redis-server SIGKILLed, down 0-1.5 s, restarted with its append-only file (every write synced);
 * - `redis-empty`: the same without its data (the append-only file removed);
 * - `drop-conn`: every client connection closed by the server (`CLIENT KILL TYPE normal`);
 * - `driver-crash`: the driver SIGKILLed, and started again (0-0.5 s later) on the same checkpoint folder;
 * - `worker-kill`: a worker thread of the driver's context killed (`sc.faults.killWorker`);
 * - `slow-consumer`: batches take 300 ms more for 1-3 s, so batches queue and back pressure engages.
 * A driver that stops with an error (a read or write while Redis is down for longer than the 10 s the stream
 * processor waits for it stops the stream, as documented) is started
 * again, as a supervisor would. What is checked is what `docs/streaming.md` promises:
 * - the batches' text files hold every entry exactly once, in order (after `redis-empty`: in order, none twice, and
 *   every entry written after the restart; the ones Redis lost before they were read may be missing);
 * - the Redis sink holds each batch's entries exactly once (ids `<batch ms>-<i>`), every batch present (after
 *   `redis-empty`: the batches from the restart on);
 * - every running count and window written equals a recount of the batches' text files up to that batch;
 * - the back-pressure stream (runs where the driver was never restarted): `block` and `buffer` deliver every number
 *   once in order; `drop` delivers an ordered subsequence, and delivered + counted drops = produced;
 * - the driver stops on request (graceful) and exits by itself (no handle left open), its temp folder empty, and
 *   no stray files (an output folder without `_SUCCESS`, temporary files) in the output.
 * Per run: `right`, `clear error` (the stream stopped with an error naming Redis or a sink, then a restart gave
 * right results) or `BAD`; then a summary line. Exit status 1 if any run was bad.
 *
 *   npx tsx bench/streaming-faults.ts [--runs 100] [--seed 7] [--max-faults 2] [--entries 600] [--verbose]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Redis } from 'ioredis';
import { numberArg as arg } from './harness.js';
import { spawnRedisServer } from './redis-server.js';

// ---- the driver (a child process) ---------------------------------------------------------------------------------

interface DriverConfig {
  readonly url: string;
  readonly prefix: string;
  readonly checkpoint: string;
  readonly out: string;
  readonly bp: BpMode;
  readonly bpCount: number;
}

const BP_MODES = ['block', 'buffer', 'drop-newest', 'drop-oldest'] as const;
type BpMode = (typeof BP_MODES)[number];
const BATCH_MS = 200;
const WINDOW_MS = 1600;
const SLIDE_MS = 400;

async function driver(cfg: DriverConfig): Promise<void> {
  const { Context, StateSpec, StreamingContext } = await import('kindling');
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
  const ssc = new StreamingContext(sc, { batchInterval: BATCH_MS, checkpoint: cfg.checkpoint });
  const { url, prefix: p } = cfg;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const entries = ssc.redisStream({ url, key: `${p}in`, startId: '0', maxPerBatch: 40, pid: false });
  entries.map((e) => `${e.id} ${e.fields.k}`).saveAsTextFiles(path.join(cfg.out, 'in'));
  entries.toRedis({ url, key: `${p}out`, encode: (e) => ({ id: e.id }) });
  const encode = ([k, n]: [string, number]) => ({ k, n: String(n) });
  const pairs = entries.map((e): [string, number] => [e.fields.k!, 1]);
  pairs
    .updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.length)
    .checkpoint(1000)
    .toRedis({ url, key: `${p}state`, encode });
  pairs
    .mapWithState(
      StateSpec.function((_k: string, one: number | undefined, state: import('kindling').State<number>) => {
        const n = (state.getOption() ?? 0) + (one ?? 0);
        state.update(n);
        return n;
      }),
    )
    .checkpoint(1400)
    .stateSnapshots()
    .toRedis({ url, key: `${p}mws`, encode });
  pairs
    .reduceByKeyAndWindow((a, b) => a + b, { window: WINDOW_MS, slide: SLIDE_MS, inverse: (a, b) => a - b, filter: ([, n]) => n > 0 })
    .toRedis({ url, key: `${p}win`, encode });
  // The slow consumer: every batch takes 300 ms more while the harness asks for it.
  let slowUntil = 0;
  entries.foreachRDD(async () => {
    if (Date.now() < slowUntil) await sleep(300);
  });
  const count = cfg.bpCount;
  async function* numbers(): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) {
      if (i % 10 === 0) await sleep(5);
      yield i;
    }
  }
  const mode = cfg.bp.startsWith('drop') ? 'drop' : (cfg.bp as 'block' | 'buffer');
  const dropPolicy = cfg.bp === 'drop-oldest' ? 'oldest' : 'newest';
  const bp = ssc.fromAsyncIterable(numbers(), { name: 'bp', backpressure: { mode, maxBuffered: 60, dropPolicy, initialRate: 400 } });
  bp.map(String).saveAsTextFiles(path.join(cfg.out, 'bp'));
  sc.events.on('batchSubmitted', (e) => {
    const dropped = e.sources.find((s) => s.name === 'bp')?.dropped ?? 0;
    if (dropped > 0) console.log(`dropped ${dropped}`);
  });
  sc.events.on('batchCompleted', (e) => console.log(`batch ${e.batch.id} ${e.batch.ms}`));
  const rl = readline.createInterface({ input: process.stdin });
  let stopping: Promise<void> | undefined;
  const stop = (graceful: boolean) => {
    stopping ??= (async () => {
      rl.close();
      process.stdin.destroy();
      await ssc.stop({ graceful, timeout: 20_000 });
      console.log('stopped');
      // Nothing may keep the process alive now; if something does, say what.
      setTimeout(() => {
        const sockets = (process as unknown as { _getActiveHandles(): unknown[] })
          ._getActiveHandles()
          .filter((h): h is import('node:net').Socket => h instanceof net.Socket && h !== process.stdout && h !== process.stderr)
          .map((h) => `${h.localPort}->${h.remotePort}${h.connecting ? ' connecting' : ''}${h.destroyed ? ' destroyed' : ''}`);
        console.log(`handles ${JSON.stringify(process.getActiveResourcesInfo())} sockets ${sockets.join(', ')}`);
        process.exit(7);
      }, 10_000).unref();
    })();
    return stopping;
  };
  rl.on('line', (line) => {
    const [cmd, arg1] = line.split(' ');
    if (cmd === 'kill-worker') void sc.faults.killWorker(Number(arg1)).catch((e: Error) => console.log(`note killWorker: ${e.message}`));
    if (cmd === 'slow') slowUntil = Date.now() + Number(arg1);
    if (cmd === 'stop') void stop(true);
  });
  let phase = 'start';
  try {
    await ssc.start();
    console.log('ready');
    phase = 'running';
    await ssc.awaitTermination();
  } catch (error) {
    const e = error as Error;
    console.log(`error ${e.name}: ${String(e.message).split('\n')[0]} (${phase})`);
    if (process.env.STREAMING_FAULTS_STACKS) console.error(e.stack);
    await stop(false);
    process.exitCode = 2;
  }
}

// ---- the harness -----------------------------------------------------------------------------------------------

const FAULTS = ['redis-kept', 'redis-empty', 'drop-conn', 'driver-crash', 'worker-kill', 'slow-consumer'] as const;
type Fault = (typeof FAULTS)[number];
/**
 * The errors docs/streaming.md allows to stop a stream under these faults: Redis unreachable (or still loading its
 * file) for longer than the stream processor waits for it (10 s) when a batch is read or written, or at the start; a
 * restart whose checkpoint needs entries Redis lost. Any other error (a sink refusing its own batch's ids, say) is a
 * bad run.
 */
function allowedError(e: string): boolean {
  return (
    /cannot connect to Redis at|Connection is closed|ECONNREFUSED|ECONNRESET|LOADING Redis is loading|max retries per request|MaxRetriesPerRequest|Redis did not come back within/.test(
      e,
    ) || /the checkpoint recorded \d+ entries .* Redis now holds \d+/.test(e)
  );
}

interface PlannedFault {
  readonly kind: Fault;
  readonly atMs: number;
  readonly lengthMs: number;
  readonly target: number;
}
interface Plan {
  readonly faults: readonly PlannedFault[];
  readonly bp: BpMode;
}

/** A small seeded generator (the plans of a seed are the same on every machine). */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

async function main(): Promise<void> {
  const RUNS = arg('--runs', 100);
  const SEED = arg('--seed', 7);
  const MAX_FAULTS = arg('--max-faults', 2);
  const N = arg('--entries', 600);
  const FIRST = arg('--first', 1);
  const ONLY = process.argv.includes('--only') ? (process.argv[process.argv.indexOf('--only') + 1]!.split(',') as Fault[]) : undefined;
  const VERBOSE = process.argv.includes('--verbose');
  const BP_COUNT = 1500;
  /** A run that has not ended after this long is a hang (a bad run). */
  const RUN_LIMIT_MS = 150_000;
  const random = seeded(SEED);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const root = mkdtempSync(path.join(tmpdir(), 'kindling-streaming-faults-'));
  const aofDir = path.join(root, 'redis');
  mkdirSync(aofDir);
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(a));
    });
  });
  const url = `redis://127.0.0.1:${port}`;
  const children = new Set<ChildProcess>();
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    if (!process.argv.includes('--keep')) rmSync(root, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

  let redisProc: ChildProcess | undefined;
  let redisUp = Promise.resolve();
  async function startRedis(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const child = await spawnRedisServer(port, aofDir);
        children.add(child);
        child.once('exit', () => children.delete(child));
        redisProc = child;
        return;
      } catch (e) {
        // The port may be held for a moment by a connection reconnecting to it.
        if (attempt >= 200) throw e;
        await sleep(50);
      }
    }
  }
  /** SIGKILL, down `downMs`, back with its data or without; one restart at a time. */
  function restartRedis(downMs: number, keep: boolean): Promise<void> {
    redisUp = redisUp.then(async () => {
      const old = redisProc!;
      const gone = new Promise((r) => old.once('exit', r));
      old.kill('SIGKILL');
      await gone;
      if (!keep) for (const f of readdirSync(aofDir)) rmSync(path.join(aofDir, f), { recursive: true, force: true });
      await sleep(downMs);
      await startRedis();
    });
    return redisUp;
  }
  await startRedis();
  const admin = new Redis(url, { maxRetriesPerRequest: null });
  admin.on('error', () => undefined);

  function randomPlan(): Plan {
    const kinds = ONLY ?? FAULTS;
    const one = (): PlannedFault => {
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      const lengthMs =
        kind === 'redis-kept' || kind === 'redis-empty'
          ? Math.floor(random() * 1500)
          : kind === 'driver-crash'
            ? Math.floor(random() * 500)
            : kind === 'slow-consumer'
              ? 1000 + Math.floor(random() * 2000)
              : 0;
      return { kind, atMs: Math.floor(random() * 6000), lengthMs, target: random() < 0.5 ? 0 : 1 };
    };
    const faults = [one()];
    const more = 1 + Math.floor(random() * MAX_FAULTS);
    while (faults.length < more) faults.push(one());
    const bp = BP_MODES[Math.floor(random() * BP_MODES.length)]!;
    return { faults: faults.sort((a, b) => a.atMs - b.atMs), bp };
  }

  interface Outcome {
    readonly verdict: 'right' | 'clear error' | 'bad';
    readonly detail: string[];
  }

  async function runOnce(run: number, plan: Plan): Promise<Outcome> {
    const prefix = `sf${run}:`;
    const runDir = path.join(root, `run-${run}`);
    const checkpoint = path.join(runDir, 'ckpt');
    const out = path.join(runDir, 'out');
    mkdirSync(out, { recursive: true });
    const cfg: DriverConfig = { url, prefix, checkpoint, out, bp: plan.bp, bpCount: BP_COUNT };
    const problems: string[] = [];
    const errors: string[] = [];
    const notes: string[] = [];
    let incarnation = 0;
    let restarted = false;
    let dropped = 0;
    let current: { child: ChildProcess; exited: Promise<number | string>; lines: string[]; tmp: string } | undefined;
    let finished = false;
    let gaveUp = false;

    const startDriver = () => {
      const me0 = incarnation++;
      const tmp = path.join(runDir, `tmp-${me0}`);
      mkdirSync(tmp, { recursive: true });
      const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--driver', JSON.stringify(cfg)], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, TMPDIR: tmp },
      });
      children.add(child);
      const lines: string[] = [];
      const exited = new Promise<number | string>((r) =>
        child.once('exit', (code, signal) => {
          children.delete(child);
          r(signal ?? code ?? -1);
        }),
      );
      child.stdin!.on('error', () => undefined);
      readline.createInterface({ input: child.stdout! }).on('line', (l) => {
        lines.push(l);
        if (l.startsWith('dropped ')) dropped += Number(l.slice(8));
        if (VERBOSE) console.log(`  [driver ${me0}] ${l}`);
      });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (VERBOSE) process.stderr.write(d);
      });
      const me = { child, exited, lines, tmp, stderr: () => err };
      current = me;
      // A driver that stops with an error is started again (a supervisor), unless the run is over.
      void exited.then(async (code) => {
        if (current !== me) return;
        if (code === 2) {
          const e = lines.find((l) => l.startsWith('error ')) ?? 'error (none printed)';
          errors.push(e.slice(6));
          checkTempEmpty(tmp, 'a driver that stopped on an error');
          if (finished) return;
          // The same error three times in a row: the stream cannot go on from its checkpoint; the run ends here.
          if (errors.length >= 3 && errors.slice(-3).every((x) => x === errors.at(-1))) {
            gaveUp = true;
            return;
          }
          restarted = true;
          await redisUp;
          await sleep(200);
          if (!finished) startDriver();
        } else if (!finished && code !== 'SIGKILL') {
          const why = err.split('\n').find((l) => /Error\b/.test(l)) ?? err.split('\n').slice(-5).join(' | ');
          problems.push(`driver exited with ${code} during the run: ${why}`);
          await sleep(200);
          if (!finished) {
            restarted = true;
            startDriver();
          }
        }
      });
      return me;
    };

    const checkTempEmpty = (tmp: string, who: string) => {
      // tsx keeps its compile cache there (tsx-<uid>): the harness's, not the driver's.
      const left = existsSync(tmp) ? readdirSync(tmp).filter((f) => !f.startsWith('tsx-')) : [];
      if (left.length > 0) problems.push(`${who} left in its temp folder: ${left.slice(0, 4).join(', ')}`);
    };

    // The producer: entries 1-1 ... 1-N, 30 every 100 ms; a write whose reply was lost is not written twice (its
    // explicit id is refused the second time), and one lost by a Redis restarted empty is not written again.
    const producer = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    producer.on('error', () => undefined);
    const keys = (i: number) => `k${(i * i + 7 * i) % 11}`;
    let written = 0;
    /** After a restart without data: the first entry written once Redis was back (all from it on must arrive). */
    let mustFrom = 1;
    let emptied = false;
    let emptiedAtMs = 0;
    const produce = (async () => {
      for (let i = 1; i <= N; i++) {
        if (i % 30 === 1) await sleep(100);
        for (;;) {
          try {
            await producer.call('XADD', `${prefix}in`, `1-${i}`, 'k', keys(i));
            break;
          } catch (e) {
            if (/equal or smaller/.test(String((e as Error).message))) break;
            await sleep(30);
          }
        }
        written = i;
      }
    })();

    const started = Date.now();
    startDriver();
    const faultsDone = (async () => {
      for (const f of plan.faults) {
        const wait = started + f.atMs - Date.now();
        if (wait > 0) await sleep(wait);
        switch (f.kind) {
          case 'redis-kept':
            await restartRedis(f.lengthMs, true);
            break;
          case 'redis-empty':
            await restartRedis(f.lengthMs, false);
            emptied = true;
            emptiedAtMs = Date.now();
            mustFrom = written + 2;
            break;
          case 'drop-conn':
            await redisUp;
            await admin.call('CLIENT', 'KILL', 'TYPE', 'normal').catch(() => undefined);
            break;
          case 'driver-crash': {
            const d = current!;
            restarted = true;
            d.child.kill('SIGKILL');
            await d.exited;
            await sleep(f.lengthMs);
            startDriver();
            break;
          }
          case 'worker-kill':
            current!.child.stdin!.write(`kill-worker ${f.target}\n`);
            break;
          case 'slow-consumer':
            current!.child.stdin!.write(`slow ${f.lengthMs}\n`);
            break;
        }
      }
    })();

    const batchesOf = (what: string): Map<number, string[]> => {
      const m = new Map<number, string[]>();
      if (!existsSync(out)) return m;
      for (const f of readdirSync(out)) {
        if (!f.startsWith(`${what}-`)) continue;
        const folder = path.join(out, f);
        if (!existsSync(path.join(folder, '_SUCCESS'))) continue;
        const lines = readdirSync(folder)
          .filter((x) => x.startsWith('part-'))
          .sort()
          .flatMap((x) => readFileSync(path.join(folder, x), 'utf8').split('\n').filter(Boolean));
        m.set(Number(f.slice(what.length + 1)), lines);
      }
      return m;
    };
    const entriesRead = () => [...batchesOf('in').values()].reduce((n, b) => n + b.length, 0);
    const lastIdRead = () => Math.max(0, ...[...batchesOf('in').values()].flat().map((l) => Number(l.split(' ')[0]!.split('-')[1])));

    const deadline = started + RUN_LIMIT_MS;
    await produce;
    await faultsDone;
    // Done when the last entry was read and (without a restart) the numbers all delivered or dropped, then past
    // one window more, so the windows holding the last entries ran.
    let doneAt: number | undefined;
    for (;;) {
      if (gaveUp) break;
      if (Date.now() > deadline) {
        problems.push(`hang: after ${RUN_LIMIT_MS} ms, ${entriesRead()} of ${N} entries read (last ${lastIdRead()})`);
        break;
      }
      const bpDone = restarted || [...batchesOf('bp').values()].reduce((n, b) => n + b.length, 0) + dropped >= BP_COUNT;
      // After a restart without data once the producer had written everything, no entry has to arrive (seed 31,
      // run 50: Redis lost all 600 before a slow driver read one): a few batches after it are enough.
      const inputDone = lastIdRead() >= N || (emptied && mustFrom > N && Date.now() > emptiedAtMs + 2000);
      if (doneAt === undefined && inputDone && bpDone) doneAt = Date.now();
      if (doneAt !== undefined && Date.now() - doneAt > WINDOW_MS + 4 * BATCH_MS) break;
      await sleep(100);
    }
    finished = true;
    if (gaveUp) {
      producer.disconnect();
      await admin.del(...['in', 'out', 'state', 'mws', 'win'].map((k) => `${prefix}${k}`));
      const clear = errors.every(allowedError);
      return { verdict: clear && problems.length === 0 ? 'clear error' : 'bad', detail: [...problems, `gave up: ${errors.at(-1)}`] };
    }
    // Stop: graceful, and the process must exit by itself.
    const d = current!;
    d.child.stdin!.write('stop\n');
    const code = await Promise.race([d.exited, sleep(40_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      problems.push(`the driver did not exit within 40 s of stop: ${d.lines.slice(-3).join(' | ')}`);
      d.child.kill('SIGKILL');
      await d.exited;
    } else if (code === 2) {
      errors.push((d.lines.find((l) => l.startsWith('error ')) ?? 'error').slice(6));
    } else if (code !== 0) {
      problems.push(`the driver exited with ${code} after stop: ${d.lines.slice(-3).join(' | ')}`);
    } else if (!d.lines.includes('stopped')) problems.push('the driver exited without stopping');
    if (code === 0) checkTempEmpty(d.tmp, 'a driver stopped on request');
    producer.disconnect();
    await redisUp;

    // ---- the checks -------------------------------------------------------------------------------------------
    const inBatches = batchesOf('in');
    const times = [...inBatches.keys()].sort((a, b) => a - b);
    const seq = times.flatMap((t) => inBatches.get(t)!.map((l) => Number(l.split(' ')[0]!.split('-')[1])));
    for (let i = 1; i < seq.length; i++)
      if (seq[i]! <= seq[i - 1]!) {
        problems.push(`batches' entries out of order or twice: ...${seq.slice(Math.max(0, i - 2), i + 2).join(',')}...`);
        break;
      }
    const got = new Set(seq);
    const missing: number[] = [];
    for (let i = emptied ? mustFrom : 1; i <= N; i++) if (!got.has(i)) missing.push(i);
    if (missing.length > 0)
      problems.push(
        `${missing.length} entries never in a batch: ${missing.slice(0, 5).join(',')}${emptied ? ` (restart without data; from ${mustFrom})` : ''}`,
      );
    // Stray files: folders a replay should have completed, temporary output.
    for (const f of readdirSync(out)) {
      const folder = path.join(out, f);
      if (!existsSync(path.join(folder, '_SUCCESS'))) problems.push(`output folder without _SUCCESS: ${f}`);
      else {
        const extra = readdirSync(folder).filter((x) => !x.startsWith('part-') && x !== '_SUCCESS');
        if (extra.length > 0) problems.push(`${f} holds ${extra.join(', ')}`);
      }
    }
    const keyOf = (l: string) => l.split(' ')[1]!;
    const countsUpTo = (from: number, to: number) => {
      const m = new Map<string, number>();
      for (const t of times) if (t > from && t <= to) for (const l of inBatches.get(t)!) m.set(keyOf(l), (m.get(keyOf(l)) ?? 0) + 1);
      return [...m].sort(([a], [b]) => (a < b ? -1 : 1));
    };
    const sinkBatches = async (key: string) => {
      const m = new Map<number, string[][]>();
      for (const [id, f] of (await admin.xrange(`${prefix}${key}`, '-', '+')) as [string, string[]][]) {
        const ms = Number(id.split('-')[0]);
        m.set(ms, [...(m.get(ms) ?? []), f.filter((_, i) => i % 2 === 1)]);
      }
      return m;
    };
    // After a restart without data, a sink lost what it held: only batches after Redis came back are required.
    const required = (t: number) => !emptied || t > emptiedAtMs;
    const outSink = await sinkBatches('out');
    for (const t of times) {
      const want = inBatches.get(t)!.map((l) => l.split(' ')[0]!);
      const have = outSink.get(t)?.map(([id]) => id!);
      if (have === undefined) {
        if (want.length > 0 && required(t)) problems.push(`toRedis: batch ${t} (${want.length} entries) missing`);
      } else if (have.join() !== want.join()) problems.push(`toRedis: batch ${t} holds ${have.length} entries, its batch ${want.length}`);
    }
    for (const t of outSink.keys()) if (!inBatches.has(t)) problems.push(`toRedis: batch ${t} has no text files`);
    const asCounts = (rows: string[][] | undefined) =>
      (rows ?? []).map(([k, n]): [string, number] => [k!, Number(n)]).sort(([a], [b]) => (a < b ? -1 : 1));
    const zeroMs = JSON.parse(readFileSync(path.join(checkpoint, 'metadata.json'), 'utf8')).zeroMs as number;
    const lastTime = times.at(-1) ?? zeroMs;
    let checked = 0;
    for (const key of ['state', 'mws'] as const) {
      const sink = await sinkBatches(key);
      for (const [t, rows] of sink) {
        checked++;
        const want = countsUpTo(-Infinity, t);
        if (JSON.stringify(asCounts(rows)) !== JSON.stringify(want))
          problems.push(`${key} at ${t}: ${JSON.stringify(asCounts(rows))}, a recount gives ${JSON.stringify(want)}`);
      }
      for (const t of times) if (inBatches.get(t)!.length > 0 && required(t) && !sink.has(t)) problems.push(`${key}: batch ${t} missing`);
    }
    const win = await sinkBatches('win');
    for (const [t, rows] of win) {
      checked++;
      if ((t - zeroMs) % SLIDE_MS !== 0) problems.push(`window at ${t}, not a multiple of the slide`);
      const want = countsUpTo(t - WINDOW_MS, t);
      if (JSON.stringify(asCounts(rows)) !== JSON.stringify(want))
        problems.push(`window at ${t}: ${JSON.stringify(asCounts(rows))}, a recount gives ${JSON.stringify(want)}`);
    }
    for (let t = zeroMs + SLIDE_MS; t <= lastTime; t += SLIDE_MS)
      if (required(t) && countsUpTo(t - WINDOW_MS, t).length > 0 && !win.has(t) && times.includes(t)) problems.push(`window at ${t} missing`);
    if (!restarted) {
      const bpBatches = batchesOf('bp');
      const nums = [...bpBatches.keys()].sort((a, b) => a - b).flatMap((t) => bpBatches.get(t)!.map(Number));
      for (let i = 1; i < nums.length; i++)
        if (nums[i]! <= nums[i - 1]!) {
          problems.push(`back pressure ${plan.bp}: numbers out of order or twice at ${i}`);
          break;
        }
      if (plan.bp === 'block' || plan.bp === 'buffer') {
        if (nums.length !== BP_COUNT || dropped !== 0)
          problems.push(`back pressure ${plan.bp}: ${nums.length} of ${BP_COUNT} delivered, ${dropped} dropped`);
      } else if (nums.length + dropped !== BP_COUNT)
        problems.push(`back pressure ${plan.bp}: ${nums.length} delivered + ${dropped} dropped != ${BP_COUNT}`);
      if (dropped > 0) notes.push(`${dropped} dropped`);
    }
    notes.push(`${times.length} batches, ${checked} counts checked`);
    // Nothing of the run left in Redis but its own streams.
    const stray = (await admin.keys('*')).filter((k) => !/^sf\d+:(in|out|state|mws|win)$/.test(k));
    if (stray.length > 0) problems.push(`keys left in Redis: ${stray.slice(0, 5).join(', ')}`);
    await admin.del(...['in', 'out', 'state', 'mws', 'win'].map((k) => `${prefix}${k}`));
    for (const c of children) if (c !== redisProc) problems.push(`process ${c.pid} still running`);
    if (problems.length === 0) rmSync(runDir, { recursive: true, force: true });
    const clear = errors.every(allowedError);
    if (problems.length > 0 || !clear) return { verdict: 'bad', detail: [...problems, ...errors.map((e) => `error: ${e}`), ...notes] };
    return { verdict: errors.length > 0 ? 'clear error' : 'right', detail: [...errors.map((e) => `error: ${e}`), ...notes] };
  }

  const tally = { right: 0, 'clear error': 0, bad: 0 };
  const t0 = Date.now();
  console.log(`streaming faults: ${RUNS} runs, seed ${SEED}, up to ${MAX_FAULTS} faults a run, ${N} entries a run; redis ${url}; ${root}`);
  for (let run = 1; run < FIRST + RUNS; run++) {
    const plan = randomPlan();
    if (run < FIRST) continue;
    const label = `${plan.faults.map((f) => `${f.kind}@${f.atMs}${f.lengthMs ? `/${f.lengthMs}` : ''}`).join(' + ')} bp=${plan.bp}`;
    const r0 = Date.now();
    const o = await runOnce(run, plan);
    tally[o.verdict]++;
    const s = ((Date.now() - r0) / 1000).toFixed(1);
    console.log(
      `run ${run} [${label}]: ${o.verdict === 'bad' ? 'BAD' : o.verdict} (${s} s) ${o.detail.slice(0, o.verdict === 'bad' ? 8 : 3).join('; ')}`,
    );
  }
  console.log(
    `summary: ${RUNS} runs (seed ${SEED}): ${tally.right} right, ${tally['clear error']} clear error, ${tally.bad} bad; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  admin.disconnect();
  redisProc?.kill('SIGKILL');
  process.exitCode = tally.bad > 0 ? 1 : 0;
  setTimeout(() => process.exit(), 200).unref();
}

if (process.argv[2] === '--driver') {
  await driver(JSON.parse(process.argv[3]!) as DriverConfig);
} else {
  await main();
}
