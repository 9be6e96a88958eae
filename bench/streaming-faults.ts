/**
 * Faults at random moments in the stream processor. Each run: a producer writes a known sequence of keyed entries
 * (ids `1-1` … `1-N`, written idempotently, so a retried XADD never doubles one) into a Redis stream of its own; a
 * streaming driver (a child process of this script, `local[2]`, 200 ms batches, a checkpoint folder) reads it in
 * direct mode and writes, per batch: its records to text files (`saveAsTextFiles`, the reference of what each
 * batch held), the entries to a Redis stream (`toRedis`), a running count per key (`updateStateByKey`), the same
 * with `mapWithState` (`stateSnapshots`) and a windowed count with an inverse function (`reduceByKeyAndWindow`,
 * 1.6 s sliding by 400 ms), each to a Redis stream; and a second source, an async generator of numbers under back
 * pressure (`block`, `buffer`, `drop` newest or oldest; chosen per run), to text files; and a third, a
 * `socketTextStream` (back pressure `block` or `buffer`, a restart delay of 20-220 ms) reading numbered lines
 * `c<connection>-<i>:<padding>` from a TCP server of this script's, which writes 5000 lines (12,000 of 1 KB with
 * `sock-blocked`) across the connections the receiver makes, honouring back pressure, and ends the connection that
 * writes the last one. At one or two random moments (from the driver's spawn: start-up, reading, mid-batch, between
 * batches) one of:
 * - `redis-kept`: redis-server SIGKILLed, down 0-1.5 s, restarted with its append-only file (every write synced);
 * - `redis-empty`: the same without its data (the append-only file removed);
 * - `redis-in-batch`: `redis-kept` while a batch writes to Redis (the driver prints `redisjob` once the batch's first
 *   Redis sink wrote; its state, mapWithState and window sinks come next);
 * - `drop-conn`: every client connection closed by the server (`CLIENT KILL TYPE normal`);
 * - `driver-crash`: the driver SIGKILLed, and started again (0-0.5 s later) on the same checkpoint folder;
 * - `worker-kill`: a worker thread of the driver's context killed (`sc.faults.killWorker`);
 * - `slow-consumer`: batches take 300 ms more for 1-3 s, so batches queue and back pressure engages;
 * - `sock-drop`: the line server closes (destroy: FIN after what the kernel holds) or resets every connection;
 * - `sock-away`: the same (closed), and the server stops listening for 0-1.5 s, then comes back on its port;
 * - `sock-reset`: half a line written, then a reset (RST);
 * - `sock-blocked`: a close or reset while the receiver's back pressure holds the server (write() returned false);
 * - `sock-in-job`: a close or reset while a batch's job runs (the driver prints `sockjob` as its socket output starts);
 * - `sock-at-stop`: a close or reset while the driver's graceful stop() runs.
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
 * - the socket stream, against the server's log of what it wrote to each connection: every line a whole line the
 *   server wrote (the last line of a connection the server closed mid-write excepted, as Spark's readLine; never the
 *   half line of a reset), none twice, connections in order, of each a prefix; a connection the server ended (FIN)
 *   and the receiver then left for a new one, all of it (runs where the driver was never restarted);
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
  readonly sock: SockConfig;
}

/** The socket source of a run: the harness's line server, and the receiver's back pressure and restart delay. */
interface SockConfig {
  readonly port: number;
  readonly mode: 'block' | 'buffer';
  readonly maxRate: number;
  readonly delayMs: number;
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
  // Outputs run in the order they were declared: the batch's other Redis sinks write after this (`redis-in-batch`).
  entries.foreachRDD(() => console.log('redisjob'));
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
  // The socket source: lines of the harness's server, restarted after every drop, reset or refusal.
  const { sock } = cfg;
  const sockLines = ssc.socketTextStream('127.0.0.1', sock.port, {
    name: 'sock',
    restartDelayMs: sock.delayMs,
    backpressure: sock.mode === 'block' ? { mode: 'block', maxRate: sock.maxRate, pid: false } : { mode: 'buffer', maxBuffered: 200 },
  });
  sockLines.saveAsTextFiles(path.join(cfg.out, 'sock'));
  // Tells the harness a batch's job is running (the `sock-in-job` fault drops the connections then).
  sockLines.foreachRDD(() => console.log('sockjob'));
  sc.events.on('receiverError', (e) => console.log(`receiver ${e.source} ${e.message}`));
  const rl = readline.createInterface({ input: process.stdin });
  let stopping: Promise<void> | undefined;
  const stop = (graceful: boolean) => {
    stopping ??= (async () => {
      rl.close();
      process.stdin.destroy();
      console.log('stopping');
      // 60 s: at load ~25 a 20 s stop passed with 33 batches queued (seed 4621 run 3), and lost their lines as
      // documented, saying so; what is checked is that a graceful stop keeps everything read, not the machine's speed.
      await ssc.stop({ graceful, timeout: 60_000 });
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

const FAULTS = [
  'redis-kept',
  'redis-empty',
  'drop-conn',
  'driver-crash',
  'worker-kill',
  'slow-consumer',
  'sock-drop',
  'sock-away',
  'sock-reset',
  'sock-blocked',
  'sock-in-job',
  'sock-at-stop',
  'redis-in-batch',
] as const;
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

/** One connection of the line server, as the server saw it. */
interface ServedConnection {
  readonly id: number;
  readonly socket: net.Socket;
  /** Every complete line handed to write(), in order (whether or not it reached the receiver). */
  readonly attempted: string[];
  /** Lines whose write callback reported them handed to the kernel. */
  acked: number;
  /** How the server ended it: `end` (FIN after every write flushed) or a fault; `open` until then. */
  how: 'open' | 'end' | 'destroy' | 'reset' | 'closed by the receiver';
  /** end()'s callback ran: everything written was flushed before the FIN. */
  flushed: boolean;
  /** A later connection was accepted after this one was ended: the receiver read it to its end (it reconnects only then). */
  followed: boolean;
}

/**
 * The socket source's server: numbered lines `c<connection>-<i>:<padding>` to each connection the receiver makes,
 * honouring back pressure (write() false: wait for drain), `total` lines across all connections; the connection that
 * writes the last one is ended (FIN). It records what it wrote per connection: that log, not timing, is what the
 * receiver's batches are checked against.
 */
class LineServer {
  readonly connections: ServedConnection[] = [];
  readonly fragments = new Set<string>();
  sent = 0;
  #server: net.Server | undefined;
  readonly #pad: string;

  port = 0;

  constructor(
    readonly total: number,
    lineBytes: number,
    readonly chunk: number,
  ) {
    this.#pad = 'x'.repeat(Math.max(1, lineBytes - 12));
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  async listen(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const server = net.createServer((socket) => this.#serve(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => resolve());
        });
        this.#server = server;
        // The first listen picks a free port; a server that comes back takes the same one, as a restarted `nc -lk`.
        this.port = (server.address() as net.AddressInfo).port;
        return;
      } catch (e) {
        if (attempt >= 100) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Stops listening; connections made stay as they are. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Ends every open connection by a fault: `destroy` (close; the kernel still sends what it holds, then FIN), `reset` (RST: what is in flight is lost), `reset-mid-line` (half a line written, then RST). */
  drop(how: 'destroy' | 'reset' | 'reset-mid-line'): number {
    let n = 0;
    for (const c of this.connections) {
      if (c.how !== 'open') continue;
      n++;
      if (how === 'destroy') {
        c.how = 'destroy';
        c.socket.destroy();
        continue;
      }
      c.how = 'reset';
      if (how === 'reset-mid-line') {
        const fragment = `c${c.id}-${c.attempted.length}:${this.#pad.slice(0, 3)}`;
        this.fragments.add(fragment);
        c.socket.write(fragment);
      }
      c.socket.resetAndDestroy();
    }
    return n;
  }

  /** The open connection, if any (the receiver has one at a time). */
  current(): ServedConnection | undefined {
    return this.connections.findLast((c) => c.how === 'open');
  }

  #serve(socket: net.Socket): void {
    socket.on('error', () => undefined);
    for (const c of this.connections) if (c.how === 'end' && c.flushed) c.followed = true;
    const c: ServedConnection = { id: this.connections.length, socket, attempted: [], acked: 0, how: 'open', flushed: false, followed: false };
    socket.once('close', () => {
      if (c.how === 'open') c.how = 'closed by the receiver';
    });
    this.connections.push(c);
    void this.#write(c);
  }

  async #write(c: ServedConnection): Promise<void> {
    const { socket } = c;
    const open = () => c.how === 'open' && !socket.destroyed;
    while (open() && this.sent < this.total) {
      const lines: string[] = [];
      for (let i = 0; i < this.chunk && this.sent < this.total; i++, this.sent++) lines.push(`c${c.id}-${c.attempted.length + i}:${this.#pad}`);
      c.attempted.push(...lines);
      const more = socket.write(`${lines.join('\n')}\n`, (error) => {
        if (error === undefined || error === null) c.acked += lines.length;
      });
      if (!more)
        await new Promise<void>((r) => {
          socket.once('drain', r);
          socket.once('close', r);
        });
      await new Promise((r) => setTimeout(r, 10));
    }
    // A connection made after the last line was written has nothing to say: it stays open until the receiver stops.
    if (open() && c.attempted.length > 0) {
      // The last line written: a clean end, so every line of this connection must reach the batches.
      c.how = 'end';
      socket.end(() => (c.flushed = true));
    }
  }

  async dispose(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await this.close();
  }
}

/**
 * What docs/streaming.md promises of a socket receiver, checked against the server's log of what it wrote: every
 * line in the batches is a whole line the server wrote (never half a line a reset cut), none twice, connections in
 * the order made, and of each connection a prefix of the lines written (lines in flight at a drop are lost, at most
 * once). A connection the server ended cleanly and the receiver then left for a new one was read to its end: all
 * of its lines are in the batches, unless the driver was restarted (a killed driver loses what it had buffered).
 */
function checkSocket(server: LineServer, batches: Map<number, string[]>, restarted: boolean): string[] {
  const problems: string[] = [];
  const lines = [...batches.keys()].sort((a, b) => a - b).flatMap((t) => batches.get(t)!);
  const where = new Map<string, [number, number]>();
  for (const c of server.connections) for (const [i, l] of c.attempted.entries()) where.set(l, [c.id, i]);
  // A server that closes (FIN) in the middle of a write has sent a last line without a newline: the receiver reads
  // it as its connection's last line, as Spark's readLine does, and cannot know it was cut. Allowed once, at the end
  // of a connection the server closed (not reset): a reset's half line is never a line.
  const cutByClose = new Set<string>();
  for (const l of lines) {
    if (where.has(l)) continue;
    const m = /^c(\d+)-(\d+):/.exec(l);
    const c = m === null ? undefined : server.connections[Number(m[1])];
    if (c?.how === 'destroy' && c.attempted[Number(m![2])]?.startsWith(l) === true && !server.fragments.has(l)) {
      cutByClose.add(l);
      where.set(l, [c.id, Number(m![2])]);
    }
  }
  const foreign = lines.filter((l) => !where.has(l));
  if (foreign.length > 0) {
    const halves = foreign.filter((l) => server.fragments.has(l)).length;
    problems.push(
      `socket: ${foreign.length} lines the server never wrote whole (${halves} the first half of a reset line): ${foreign.slice(0, 3).join(', ')}`,
    );
  }
  if (new Set(lines).size !== lines.length) problems.push(`socket: ${lines.length - new Set(lines).size} lines twice`);
  const got = new Map<number, number>();
  let last = -1;
  for (const l of lines) {
    const at = where.get(l);
    if (at === undefined) continue;
    const [c, i] = at;
    const want = got.get(c) ?? 0;
    if (c < last || i !== want) {
      problems.push(`socket: connection ${c} line ${i} after ${want} of its lines (from connection ${last}): not a prefix, in order`);
      break;
    }
    got.set(c, want + 1);
    last = c;
  }
  // A line cut by a close is its connection's last.
  for (const l of cutByClose) {
    const [c, i] = where.get(l)!;
    if (got.get(c) !== i + 1) problems.push(`socket: ${l.slice(0, 12)}... cut by the server's close, but not connection ${c}'s last line delivered`);
  }
  if (!restarted)
    for (const c of server.connections)
      if (c.how === 'end' && c.followed && (got.get(c.id) ?? 0) !== c.attempted.length)
        problems.push(
          `socket: connection ${c.id} ended cleanly and was read to its end, ${got.get(c.id) ?? 0} of its ${c.attempted.length} lines in the batches`,
        );
  return problems;
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
  /** The socket source: its back pressure and restart delay; the server's lines (count, size, lines per write). */
  readonly sock: Omit<SockConfig, 'port'> & { readonly lines: number; readonly lineBytes: number; readonly chunk: number };
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
        kind === 'redis-kept' || kind === 'redis-empty' || kind === 'sock-away' || kind === 'redis-in-batch'
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
    const delayMs = 20 + Math.floor(random() * 200);
    const buffer = random() < 0.5;
    // A producer held by back pressure needs more than the kernel's buffers hold (~4 MB on loopback): 12 MB of
    // 1 KB lines, written as fast as the receiver lets (4 MB in about a second), against a receiver limited to
    // 2000 lines/s, so the server stays blocked for most of the 6 s in which the fault may come.
    const sock = faults.some((f) => f.kind === 'sock-blocked')
      ? { mode: 'block' as const, maxRate: 2000, delayMs, lines: 12_000, lineBytes: 1024, chunk: 100 }
      : { mode: buffer ? ('buffer' as const) : ('block' as const), maxRate: 2000, delayMs, lines: 5000, lineBytes: 24, chunk: 10 };
    return { faults: faults.sort((a, b) => a.atMs - b.atMs), bp, sock };
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
    const lineServer = new LineServer(plan.sock.lines, plan.sock.lineBytes, plan.sock.chunk);
    await lineServer.listen();
    const { mode: sockMode, maxRate, delayMs } = plan.sock;
    const sock: SockConfig = { port: lineServer.port, mode: sockMode, maxRate, delayMs };
    const cfg: DriverConfig = { url, prefix, checkpoint, out, bp: plan.bp, bpCount: BP_COUNT, sock };
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

    /** Waits (polling, up to `ms`) for `ok`; false when it did not hold in time. */
    const until = async (ok: () => boolean, ms: number): Promise<boolean> => {
      for (const end = Date.now() + ms; !ok(); await sleep(5)) if (Date.now() > end) return false;
      return true;
    };
    const dropHow = (f: PlannedFault) => (f.target === 0 ? 'destroy' : 'reset');
    const sockNotes: string[] = [];

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
          case 'redis-in-batch': {
            const d = current!;
            const from = d.lines.length;
            if (!(await until(() => d.lines.slice(from).includes('redisjob'), 15_000))) sockNotes.push('no Redis write seen');
            await restartRedis(f.lengthMs, true);
            break;
          }
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
          case 'sock-drop':
            lineServer.drop(dropHow(f));
            break;
          case 'sock-away':
            lineServer.drop('destroy');
            await lineServer.close();
            await sleep(f.lengthMs);
            await lineServer.listen();
            break;
          case 'sock-reset':
            lineServer.drop('reset-mid-line');
            break;
          case 'sock-blocked': {
            // Two at once: the drop while the receiver's back pressure holds the server (write() returned false).
            const held = await until(() => lineServer.current()?.socket.writableNeedDrain === true || lineServer.sent >= lineServer.total, 8000);
            const blocked = lineServer.current()?.socket.writableNeedDrain === true;
            sockNotes.push(`${blocked ? 'blocked' : `not blocked (${held ? 'all written' : 'timeout'})`}: ${dropHow(f)}`);
            lineServer.drop(dropHow(f));
            break;
          }
          case 'sock-in-job': {
            // Two at once: the drop while a batch's job runs (the driver prints `sockjob` as its socket output starts).
            const d = current!;
            const from = d.lines.length;
            const inJob = await until(() => d.lines.slice(from).includes('sockjob'), 5000);
            if (!inJob) sockNotes.push('no job seen');
            lineServer.drop(dropHow(f));
            break;
          }
          case 'sock-at-stop':
            // At the stop below.
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
      // Every line written, and the receiver connected again after the last connection that had lines: it is past all of them.
      const conns = lineServer.connections;
      const sockDone =
        lineServer.sent >= lineServer.total && conns.length > 0 && conns.at(-1)!.how === 'open' && conns.at(-1)!.attempted.length === 0;
      if (doneAt === undefined && inputDone && bpDone && sockDone) doneAt = Date.now();
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
    // At load ~30 a driver falls behind its 200 ms batches (184 queued at the stop, seed 4890 run 3 with
    // `--only redis-in-batch`), and a graceful stop's timeout then passes with them queued, losing their lines as
    // documented and said. What is checked is that a graceful stop keeps everything read, not the machine's speed:
    // the stop waits (up to the run's limit) until the driver's last completed batch is within 2 s of now.
    const lastBatchMs = (): number => {
      for (let i = d.lines.length - 1; i >= 0; i--) {
        const m = /^batch \d+ (\d+)$/.exec(d.lines[i]!);
        if (m !== null) return Number(m[1]);
      }
      return 0;
    };
    await until(() => lastBatchMs() >= Date.now() - 2000, Math.max(0, deadline - Date.now()));
    d.child.stdin!.write('stop\n');
    const atStop = plan.faults.find((f) => f.kind === 'sock-at-stop');
    if (atStop !== undefined) {
      // Two at once: the drop while stop() runs (a graceful stop drains what was read; nothing may reconnect and stay).
      if (!(await until(() => d.lines.includes('stopping'), 10_000))) sockNotes.push('stop not seen');
      lineServer.drop(dropHow(atStop));
    }
    const code = await Promise.race([d.exited, sleep(80_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      problems.push(`the driver did not exit within 80 s of stop: ${d.lines.slice(-3).join(' | ')}`);
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
    problems.push(...checkSocket(lineServer, batchesOf('sock'), restarted));
    const receiverRestarts = current!.lines.filter((l) => l.startsWith('receiver sock ')).length;
    const delivered = [...batchesOf('sock').values()].reduce((n, b) => n + b.length, 0);
    notes.push(
      `sock ${plan.sock.mode}: ${delivered} of ${lineServer.sent} lines over ${lineServer.connections.length} connections, ${receiverRestarts} restarts (last driver)${sockNotes.length > 0 ? `, ${sockNotes.join(', ')}` : ''}`,
    );
    await lineServer.dispose();
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
