/**
 * Redis Streams as a source and a sink (through ioredis, loaded on first use). Reads happen on the driver, one
 * round trip per batch; batch records then travel to workers as parallelized slices like any other source.
 */
import { capture } from '../closure/index.js';
import { ArgumentTypeError, IllegalStateError, InvalidArgumentError } from '../core/errors.js';
import type { Context } from '../context/context.js';
import type { RDD } from '../rdd/index.js';
import type { BatchTime, DStream } from './dstream.js';
import { type PidOptions, RateLimit } from './rate-estimator.js';
import { parseRespEntries, type RawRead, RawStreamReader } from './resp.js';
import type { BatchReport, Source, SourceBatch } from './sources.js';

/** One stream entry: its id, the millisecond time in the id, and its field/value pairs in order. */
export interface RedisEntry {
  readonly id: string;
  readonly ms: number;
  readonly fields: Record<string, string>;
}

/** Options of `ssc.redisStream`. */
export interface RedisSourceOptions {
  /** Default `redis://127.0.0.1:6379`. */
  url?: string;
  key: string;
  /**
   * `direct` (default): read id ranges with XRANGE and record them in the checkpoint, so a batch can be replayed
   * exactly. `group`: read with a consumer group (XREADGROUP) and acknowledge only after the batch committed
   * (at-least-once; a restarted consumer first re-reads what it held unacknowledged).
   */
  mode?: 'direct' | 'group';
  group?: string;
  consumer?: string;
  /**
   * Group mode: entries another consumer of the group has held unacknowledged for at least this long (it died,
   * presumably) are claimed (XAUTOCLAIM) and processed here, before new ones. Off by default.
   */
  claimIdleMs?: number;
  /** Where a new application starts: `'$'` (default: entries added after the start), `'0'` (all), or an id. */
  startId?: string;
  /** Entries per second at most; the PID estimator lowers it when processing falls behind. */
  maxRate?: number;
  /** Spark's PID estimator (see BackpressureOptions); `false` turns it off. */
  pid?: false | PidOptions;
  /** Entries per batch at most when no rate is known yet; default 100,000. */
  maxPerBatch?: number;
  /**
   * Direct mode: how a batch is read. `resp` (default): a plain XRANGE whose reply the driver does not decode; it
   * cuts the reply's bytes at entry boundaries and the workers decode the entries. `eval`: one Lua script slices
   * the entries into JSON texts inside Redis (it holds Redis up for longer). `xrange`: the entries decoded on the
   * driver by the client library (the slowest), for servers or proxies that pass only what ioredis speaks; `rediss://`
   * URLs use `eval` by default.
   */
  readWith?: 'resp' | 'eval' | 'xrange';
}

/** Options of `toRedis`. */
export interface RedisSinkOptions<T> {
  key: string;
  url?: string;
  /** The fields of a record's entry, in order; default `{ value }` (strings as they are, anything else as JSON). */
  encode?: (record: T) => Record<string, string>;
}

type RedisClient = {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  multi(): { call(command: string, ...args: (string | number)[]): unknown; exec(): Promise<[Error | null, unknown][] | null> };
  quit(): Promise<unknown>;
  disconnect(): void;
};

/** ioredis gave up on a command while the server was unreachable (its retries ran out, or the connection closed). */
function isConnectionLoss(error: unknown): boolean {
  const e = error as { name?: string; message?: string } | undefined;
  return e?.name === 'MaxRetriesPerRequestError' || /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE/.test(String(e?.message));
}

/**
 * How long any Redis operation of the stream processor waits for a Redis that is restarting before it fails: a
 * source's connection, reads and replays, a `toRedis` write.
 */
const REDIS_WAIT_MS = 10_000;

/** Redis refused or dropped the connection, or answers LOADING while it reads its data back: it is restarting. */
function isRedisAway(error: unknown): boolean {
  // Beyond a lost connection: the raw reader's own "connection ... closed", a write on its socket after Redis's FIN
  // but before the close event (Node's EPIPE text, no code in it: seen at load 27), and LOADING.
  return isConnectionLoss(error) || /closed|ended by the other party|LOADING/.test(String((error as { message?: string } | undefined)?.message));
}

const urlOf = (url: string | undefined) => url ?? 'redis://127.0.0.1:6379';

/**
 * Runs `op`, and again while Redis is restarting (refused, dropped, LOADING), backing off from 25 to 500 ms, for up
 * to REDIS_WAIT_MS in all: every Redis operation of the stream processor waits this one way, as the cluster backend
 * waits for its Redis. A restart of a fraction of a second (or a few seconds on a loaded machine) used to stop the
 * stream wherever it met it: at start(), in a replay, in a `toRedis` write. Any other error, the bound passed, or
 * `abandoned()` (the source or sink was stopped meanwhile: nothing may connect after it) ends the wait, with the
 * error `failed` makes of the last one.
 */
async function waitingForRedis<T>(
  op: () => Promise<T>,
  failed: (error: unknown, waitedMs: number) => Error,
  abandoned: () => boolean = () => false,
): Promise<T> {
  const start = Date.now();
  for (let delay = 25, tries = 1; ; delay = Math.min(2 * delay, 500), tries++) {
    try {
      return await op();
    } catch (error) {
      // Only a wait is reported as one (a slow DNS answer before ENOTFOUND is not).
      const waited = () => (tries > 1 && isRedisAway(error) ? Date.now() - start : 0);
      if (!isRedisAway(error) || Date.now() + delay > start + REDIS_WAIT_MS || abandoned()) throw failed(error, waited());
      await new Promise((r) => setTimeout(r, delay));
      if (abandoned()) throw failed(error, Date.now() - start);
    }
  }
}

/**
 * The error after a Redis operation failed: what was being done, the Redis address, the last error, and how long
 * Redis was waited for when it was (so a wrong address is told from a Redis that was not back in time).
 */
function redisFailure(doing: string, url: string | undefined, error: unknown, waitedMs: number): IllegalStateError {
  const waited = waitedMs > 0 ? ` (Redis did not come back within ${(waitedMs / 1000).toFixed(1)} s)` : '';
  return new IllegalStateError(`${doing} Redis at ${urlOf(url)} failed: ${(error as Error)?.message ?? String(error)}${waited}`, { cause: error });
}

/** An ioredis client, connected; a refused or failed connection rejects (the caller decides whether to wait). */
async function connect(url: string | undefined): Promise<RedisClient> {
  const { Redis } = await import('ioredis');
  // Reconnections every 50-500 ms: ioredis's default grows to 2 s, which a 10 s wait for a restart would mostly
  // spend asleep after Redis was back.
  const client = new Redis(urlOf(url), { lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: (n) => Math.min(50 * n, 500) });
  // While Redis restarts, ioredis reconnects and a command that still fails rejects with the reason; without a
  // listener each refused reconnection also printed "[ioredis] Unhandled error event" on stderr.
  let reason: unknown;
  client.on('error', (error) => (reason ??= error));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    // connect() rejects with a bare "Connection is closed." whatever happened; the error event says what (refused:
    // waited for; WRONGPASS: fails at once).
    throw reason ?? error;
  }
  return client as unknown as RedisClient;
}

/**
 * A direct batch read inside Redis (one EVAL): the entries after ARGV[1], at most ARGV[2], returned as their count,
 * the last id, the stream's counters (see {@link StreamCounters}) and ARGV[3] JSON texts of consecutive slices. The
 * driver then decodes a few strings instead of an array per entry, and ships each text to a worker, which parses
 * it: no per-entry work on the driver. The counters are read in the same atomic script, so "everything up to the
 * last id" and "entries added so far" describe the same moment.
 */
const DIRECT_CUT = `
local r = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
local n = #r
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
local added, deleted = 0, '0-0'
if type(info) == 'table' and not info.err then
  added = -1
  for i = 1, #info, 2 do
    if info[i] == 'entries-added' then added = info[i + 1] end
    if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
  end
end
local out = { n, n > 0 and r[n][1] or '', added, deleted }
local size = math.ceil(n / tonumber(ARGV[3]))
local lo = 1
while lo <= n do
  local hi = math.min(n, lo + size - 1)
  local slice = {}
  for i = lo, hi do slice[i - lo + 1] = r[i] end
  out[#out + 1] = cjson.encode(slice)
  lo = hi + 1
end
return out`;

/**
 * What XINFO STREAM says about a stream (Redis 7): entries ever added (0 for no such stream yet, -1 when unknown: an
 * older server) and the newest id deleted or trimmed away. The direct source's lag comes from these: entries added minus
 * the count at its position, valid while nothing after its position was deleted.
 */
interface StreamCounters {
  readonly added: number;
  readonly maxDeleted: string;
}

async function streamCounters(client: RedisClient, key: string): Promise<StreamCounters & { lastId: string; length: number }> {
  let info: unknown[];
  try {
    info = (await client.call('XINFO', 'STREAM', key)) as unknown[];
  } catch (error) {
    // Redis away is not "no stream yet": a '$' start took '0-0' as the stream's end, and read every entry before it.
    if (!/no such key/i.test(String((error as Error)?.message))) throw error;
    // No such key yet: nothing added, nothing to skip.
    return { added: 0, maxDeleted: '0-0', lastId: '0-0', length: 0 };
  }
  const get = (name: string) => info[info.indexOf(name) + 1];
  const added = get('entries-added');
  return {
    added: typeof added === 'number' ? added : -1,
    maxDeleted: String(get('max-deleted-entry-id') ?? '0-0'),
    lastId: String(get('last-generated-id')),
    length: Number(get('length')),
  };
}

/** Stream ids compared as (ms, seq). */
function idAfter(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am > bm || (am === bm && as > bs);
}

function toEntry([id, flat]: [string, string[]]): RedisEntry {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return { id, ms: Number(id.slice(0, id.indexOf('-'))), fields };
}

/** @internal Entries from a JSON text of [id, [field, value, ...]] pairs (a slice of DIRECT_CUT; run in the workers). */
const parseEntries = capture({ toEntry }, (text: string): RedisEntry[] => (JSON.parse(text) as [string, string[]][]).map(toEntry));

/** The range a direct batch read: ids in (after, until]; `until === after` for an empty batch. */
interface DirectRange {
  readonly after: string;
  readonly until: string;
  readonly count: number;
}

/** The ids a group batch read, acknowledged once the batch is committed. */
interface GroupRange {
  readonly ids: readonly string[];
}

/** @internal */
export class RedisStreamSource implements Source<RedisEntry> {
  readonly name: string;
  readonly #o: RedisSourceOptions;
  readonly #mode: 'direct' | 'group';
  readonly #limit: RateLimit;
  #client: RedisClient | undefined;
  /** Direct mode, `readWith: 'resp'`: the connection batches are read on. */
  #raw: RawStreamReader | undefined;
  readonly #readWith: 'resp' | 'eval' | 'xrange';
  /** Direct mode: the last id handed to a batch. */
  #after = '0-0';
  #resumed = false;
  /**
   * Direct mode: the stream's entries-added count at `#after` (entries up to and including it), when known; the lag
   * is entries added since. Known from the start position ('$', '0') or once a read reaches the stream's end.
   */
  #position: number | undefined;
  /** Group mode: re-read this consumer's own pending entries before new ones. */
  #pendingFirst = true;
  /** Group mode: ids of committed batches whose XACK was lost to a Redis restart, acknowledged with the next commit. */
  #unacked: string[] = [];
  /**
   * Group mode: ids handed to batches and not acknowledged yet. A re-read of this consumer's pending entries skips
   * them: they are in a batch already (one cut ahead, or committed with its XACK lost).
   */
  readonly #handed = new Set<string>();
  /** stop() was called: a wait for Redis ends, and no connection may be made after it. */
  #stopped = false;

  readonly #sc: Context;

  constructor(options: RedisSourceOptions, batchMs: number, sc: Context, onRate: (source: string, rate: number) => void) {
    this.#sc = sc;
    if (options === null || typeof options !== 'object' || typeof options.key !== 'string' || options.key === '') {
      throw new ArgumentTypeError('redisStream expects options { key, url?, mode? }');
    }
    const mode = options.mode ?? 'direct';
    if (mode !== 'direct' && mode !== 'group') throw new InvalidArgumentError(`redisStream: mode must be 'direct' or 'group', got '${String(mode)}'`);
    if (options.claimIdleMs !== undefined && (mode !== 'group' || !(Number.isInteger(options.claimIdleMs) && options.claimIdleMs >= 0))) {
      throw new InvalidArgumentError(
        `redisStream: claimIdleMs applies to mode 'group' and must be an integer >= 0, got ${String(options.claimIdleMs)}`,
      );
    }
    if (options.readWith !== undefined && !['resp', 'eval', 'xrange'].includes(options.readWith)) {
      throw new InvalidArgumentError(`redisStream: readWith must be 'resp', 'eval' or 'xrange', got '${String(options.readWith)}'`);
    }
    if (mode === 'group' && (options.group === undefined || options.consumer === undefined)) {
      throw new InvalidArgumentError("redisStream: mode 'group' needs { group, consumer }");
    }
    this.#o = options;
    this.#mode = mode;
    this.#readWith = options.readWith ?? (options.url?.startsWith('rediss:') ? 'eval' : 'resp');
    this.name = mode === 'direct' ? `redis:${options.key}` : `redis:${options.key}:${options.group}:${options.consumer}`;
    const name = this.name;
    this.#limit = new RateLimit(
      batchMs,
      { ...(options.maxRate === undefined ? {} : { maxRate: options.maxRate }), ...(options.pid === undefined ? {} : { pid: options.pid }) },
      (rate) => onRate(name, rate),
    );
  }

  #batchLimit(): number {
    return Math.min(this.#o.maxPerBatch ?? 100_000, this.#limit.perBatch());
  }

  /**
   * A Redis operation of this source (`doing` says what, for the error: "reading ... from"), waiting for a restarting
   * Redis as every Redis operation of the stream processor does; the ioredis connection is made on first use, within
   * the wait.
   */
  #redis<T>(doing: string, op: (client: RedisClient) => Promise<T>): Promise<T> {
    return waitingForRedis(
      async () => op(await this.#connected()),
      (error, waitedMs) => redisFailure(`redisStream ${this.#o.key}: ${doing}`, this.#o.url, error, waitedMs),
      () => this.#stopped,
    );
  }

  async #connected(): Promise<RedisClient> {
    if (this.#client !== undefined) return this.#client;
    if (this.#stopped) throw new IllegalStateError(`redisStream ${this.#o.key}: the stream was stopped`);
    const client = await connect(this.#o.url);
    if (this.#stopped) {
      client.disconnect();
      throw new IllegalStateError(`redisStream ${this.#o.key}: stopped while connecting to Redis`);
    }
    if (this.#mode === 'group')
      // A read whose reply the connection lost may have been applied: its entries are pending, delivered to no
      // batch (ioredis sends an unanswered command again once reconnected, and a second XREADGROUP > gives the next
      // ones). The next cut re-reads the pending entries first, skipping those already handed out.
      (client as unknown as { on(event: 'close', f: () => void): void }).on('close', () => (this.#pendingFirst = true));
    this.#client = client;
    return client;
  }

  async start(): Promise<void> {
    const key = this.#o.key;
    const startId = this.#o.startId ?? '$';
    // replay() may have connected already (a restart re-reads committed batches before the start). A Redis that
    // refuses is waited for, as everywhere: a driver restarted by a supervisor along with Redis (a machine reboot)
    // meets one still loading, and a wrong address fails after the wait with an error naming it.
    if (this.#mode === 'group') {
      await this.#redis(`creating the consumer group ${this.#o.group} on`, async (client) => {
        try {
          await client.call('XGROUP', 'CREATE', key, this.#o.group!, startId, 'MKSTREAM');
        } catch (error) {
          // A CREATE whose reply was lost and was sent again meets its own group.
          if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
        }
      });
      return;
    }
    await this.#redis('connecting to', async () => undefined);
    // A checkpoint wins over startId: resume() already placed the reader.
    if (this.#resumed) return;
    const c = await this.#redis('reading the start position from', (client) => streamCounters(client, key));
    const known = c.added >= 0;
    if (startId === '$') {
      this.#after = c.lastId;
      this.#position = known ? c.added : undefined;
    } else if (startId === '0' || startId === '0-0') {
      // Every entry still in the stream is ahead; the ones deleted or trimmed were counted in entries-added.
      this.#after = '0-0';
      this.#position = known ? c.added - c.length : undefined;
    } else this.#after = startId;
  }

  /**
   * A read on the source's raw connection. A connection Redis closed (a restart, a timeout) is replaced, as ioredis
   * reconnects its own: the read starts after the last id taken, so reading again loses and repeats nothing.
   */
  #rawRead(limit: number, time: BatchTime): Promise<RawRead> {
    return waitingForRedis(
      async () => {
        if (this.#raw?.closed) {
          this.#raw.close();
          this.#raw = undefined;
        }
        if (this.#raw === undefined && this.#stopped) throw new IllegalStateError(`redisStream ${this.#o.key}: the stream was stopped`);
        this.#raw ??= await RawStreamReader.connect(urlOf(this.#o.url));
        if (this.#stopped) this.#raw.close();
        return await this.#raw.read(this.#o.key, this.#after, limit, this.#sc.defaultParallelism);
      },
      (error, waitedMs) => redisFailure(`redisStream ${this.#o.key}: reading the batch at ${time.ms} ms from`, this.#o.url, error, waitedMs),
      () => this.#stopped,
    );
  }

  async cut(time: BatchTime): Promise<SourceBatch<RedisEntry>> {
    const limit = this.#batchLimit();
    // The rate this read applies, taken with the limit: the estimator may move it while the read waits on Redis (the
    // last batch's acknowledgement and rate update complete meanwhile), and the batch reported the new one.
    const applied = this.#limit.reportField();
    const reading = `reading the batch at ${time.ms} ms from`;
    if (this.#mode === 'direct' && this.#readWith === 'xrange') {
      const records = (
        await this.#redis(reading, (c) => c.call('XRANGE', this.#o.key, `(${this.#after}`, '+', 'COUNT', limit) as Promise<[string, string[]][]>)
      ).map(toEntry);
      const range: DirectRange = { after: this.#after, until: records.at(-1)?.id ?? this.#after, count: records.length };
      this.#after = range.until;
      // Not atomic with the read (entries added in between count as lag, which they are by now).
      const lag = this.#lag(records.length, limit, await this.#redis(reading, (c) => streamCounters(c, this.#o.key)));
      return { records, range, ...applied, ...(lag === undefined ? {} : { lag }) };
    }
    if (this.#mode === 'direct' && this.#readWith === 'resp') {
      const r = await this.#rawRead(limit, time);
      const added = r.info?.get('entries-added');
      const counters = {
        added: typeof added === 'number' ? added : r.info === undefined ? 0 : -1,
        maxDeleted: String(r.info?.get('max-deleted-entry-id') ?? '0-0'),
      };
      const range: DirectRange = { after: this.#after, until: r.count > 0 ? r.lastId : this.#after, count: r.count };
      this.#after = range.until;
      const lag = this.#lag(r.count, limit, counters);
      const records = r.count === 0 ? [] : this.#sc.parallelize(r.slices, r.slices.length).flatMap(parseRespEntries);
      return { records, count: r.count, range, ...applied, ...(lag === undefined ? {} : { lag }) };
    }
    if (this.#mode === 'direct') {
      const parts = this.#sc.defaultParallelism;
      const [count, last, added, maxDeleted, ...slices] = await this.#redis(
        reading,
        (c) => c.call('EVAL', DIRECT_CUT, 1, this.#o.key, `(${this.#after}`, limit, parts) as Promise<[number, string, number, string, ...string[]]>,
      );
      const range: DirectRange = { after: this.#after, until: count > 0 ? last : this.#after, count };
      this.#after = range.until;
      const lag = this.#lag(count, limit, { added, maxDeleted });
      const records = count === 0 ? [] : this.#sc.parallelize(slices, slices.length).flatMap(parseEntries);
      return { records, count, range, ...applied, ...(lag === undefined ? {} : { lag }) };
    }
    /** Entries after `id` ('0': this consumer's pending ones; '>': new ones), how many Redis returned, the last id. */
    const read = async (id: string): Promise<[RedisEntry[], number, string]> => {
      const res = (await this.#redis(reading, (c) =>
        c.call('XREADGROUP', 'GROUP', this.#o.group!, this.#o.consumer!, 'COUNT', limit, 'STREAMS', this.#o.key, id),
      )) as unknown[] | null;
      // One reply per stream ([key, entries]); ioredis 6 hands back the single stream's pair without the outer list.
      const pair = (typeof res?.[0] === 'string' ? res : res?.[0]) as [string, [string, string[] | null][]] | undefined;
      const all = pair?.[1] ?? [];
      // A pending entry that was trimmed away comes back with null fields; there is nothing left to deliver. One
      // already in a batch is not delivered twice.
      const entries = all.filter((e): e is [string, string[]] => e[1] !== null && !this.#handed.has(e[0])).map(toEntry);
      return [entries, all.length, all.at(-1)?.[0] ?? id];
    };
    let records: RedisEntry[] = [];
    if (this.#o.claimIdleMs !== undefined) {
      // XAUTOCLAIM moves the entries into this consumer's pending list; the next read of id 0 returns them.
      const claimed = (await this.#redis(reading, (c) =>
        c.call('XAUTOCLAIM', this.#o.key, this.#o.group!, this.#o.consumer!, this.#o.claimIdleMs!, '0-0', 'COUNT', limit),
      )) as [string, unknown[]];
      if ((claimed?.[1]?.length ?? 0) > 0) this.#pendingFirst = true;
    }
    // Pending entries page by page, past the ones already handed out, until some are new or the list ends.
    for (let after = '0'; this.#pendingFirst && records.length === 0; ) {
      const [fresh, got, last] = await read(after);
      records = fresh;
      // (got 0: the end, whatever the limit; the loop must not spin on an empty list)
      if (got < limit || got === 0) this.#pendingFirst = false;
      after = last;
    }
    if (records.length === 0) records = (await read('>'))[0];
    for (const r of records) this.#handed.add(r.id);
    const range: GroupRange = { ids: records.map((r) => r.id) };
    const lag = await this.#redis(reading, (c) => this.#groupLag(c));
    return { records, range, ...applied, ...(lag === undefined ? {} : { lag }) };
  }

  /**
   * Direct mode: entries in the stream after the batch just read. A read that took fewer than it could reached the
   * end (lag 0, and the position is entries-added); otherwise the position moves by what was read, and the lag is
   * what was added beyond it, unless an entry after the position was deleted (then unknown until the next catch-up,
   * as Redis's own consumer-group lag).
   */
  #lag(read: number, limit: number, c: StreamCounters): number | undefined {
    if (c.added < 0) return undefined;
    if (read < limit) {
      this.#position = c.added;
      return 0;
    }
    if (this.#position === undefined || idAfter(c.maxDeleted, this.#after)) {
      this.#position = undefined;
      return undefined;
    }
    this.#position += read;
    return Math.max(0, c.added - this.#position);
  }

  /** The group's lag as Redis 7 reports it (entries not yet delivered to the group); undefined when unknown. */
  async #groupLag(client: RedisClient): Promise<number | undefined> {
    const groups = (await client.call('XINFO', 'GROUPS', this.#o.key)) as unknown[][];
    for (const g of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
      if (info.get('name') === this.#o.group) return typeof info.get('lag') === 'number' ? (info.get('lag') as number) : undefined;
    }
    return undefined;
  }

  /** Direct mode replays the recorded range; group mode re-reads its pending entries instead (at-least-once). */
  async replay(range: unknown): Promise<RedisEntry[]> {
    if (this.#mode !== 'direct') return [];
    const r = range as DirectRange;
    if (r.count === 0) return [];
    const raw = (await this.#redis(`replaying the entries in (${r.after}, ${r.until}] from`, (c) =>
      c.call('XRANGE', this.#o.key, `(${r.after}`, r.until),
    )) as [string, string[]][];
    if (raw.length !== r.count) {
      // Read again for an uncommitted batch, and for committed ones that windows and state are rebuilt from: either
      // way what the checkpoint needs is gone, so going on would silently give other outputs (Spark's
      // failOnDataLoss). A supervisor restarting the script meets the same error each time, so it says the way out.
      throw new IllegalStateError(
        `redisStream ${this.#o.key}: the checkpoint recorded ${r.count} entries in (${r.after}, ${r.until}], Redis now holds ` +
          `${raw.length}: they were trimmed (XTRIM/MAXLEN) or lost (a Redis restarted without persistence), so the batches ` +
          'of this checkpoint cannot be read again; to go on without them, start with a new checkpoint folder',
      );
    }
    return raw.map(toEntry);
  }

  resume(range: unknown): void {
    if (this.#mode !== 'direct') return;
    this.#after = (range as DirectRange).until;
    this.#resumed = true;
  }

  async commit(range: unknown): Promise<void> {
    if (this.#mode !== 'group') return;
    const ids = [...this.#unacked, ...(range as GroupRange).ids];
    if (ids.length === 0) return;
    try {
      await this.#client!.call('XACK', this.#o.key, this.#o.group!, ...ids);
      this.#unacked = [];
      for (const id of ids) this.#handed.delete(id);
    } catch (error) {
      // Redis went away as the batch completed (a restart slower than ioredis's ~0.3 s of retries, as on a loaded
      // machine): the entries stay pending, which loses none (at worst a restarted consumer reads them again, as
      // at-least-once allows), so the stream goes on and they are acknowledged with the next batch's. Any other
      // error (the group gone: NOGROUP) still stops the stream. Not waited for: the batch is done, and nothing is
      // lost by acknowledging later.
      if (!isRedisAway(error)) throw error;
      this.#unacked = ids;
    }
  }

  batchCompleted(report: BatchReport): void {
    this.#limit.batchCompleted(report);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#raw?.close();
    this.#raw = undefined;
    const c = this.#client;
    this.#client = undefined;
    await c?.quit().catch(() => c.disconnect());
  }
}

/**
 * @internal Adds the `toRedis` output to `stream`: one entry per record with id `<batch ms>-<index>`, the whole
 * batch in one MULTI. A batch already written (the stream's last id is at or past its time) is skipped, so a
 * replayed batch writes nothing twice. One writer per output stream.
 */
export function addRedisSink<T>(stream: DStream<T>, options: RedisSinkOptions<T>): void {
  if (options === null || typeof options !== 'object' || typeof options.key !== 'string' || options.key === '') {
    throw new ArgumentTypeError('toRedis expects options { key, url?, encode? }');
  }
  const encode = options.encode ?? ((x: T) => ({ value: typeof x === 'string' ? x : JSON.stringify(x) }));
  if (typeof encode !== 'function') throw new ArgumentTypeError('toRedis: encode must be a function');
  let client: Promise<RedisClient> | undefined;
  let closed = false;
  /** The sink's connection, made on first use; one Redis refused is made again at the next try. */
  const connected = (): Promise<RedisClient> => {
    // A batch still running when a stop's timeout passed must not connect again after close() (the connection kept
    // the driver process alive: bench/streaming-faults.ts at load 36).
    if (closed) return Promise.reject(new IllegalStateError(`toRedis ${options.key}: the stream was stopped`));
    client ??= connect(options.url).catch((error) => {
      client = undefined;
      throw error;
    });
    return client;
  };
  stream.graph.addOutput({
    name: `toRedis ${options.key}`,
    stream,
    run: async (ms) => {
      const rdd: RDD<T> | undefined = stream.getOrCompute(ms);
      if (rdd === undefined) return;
      // Every Redis step waits for a restarting Redis (up to REDIS_WAIT_MS); the error after names the sink, the
      // batch and Redis (ioredis's bare "Reached the max retries per request limit" named neither).
      const redis = <R>(op: (c: RedisClient) => Promise<R>) =>
        waitingForRedis(
          async () => op(await connected()),
          (error, waitedMs) => redisFailure(`toRedis ${options.key}: writing the batch at ${ms} ms to`, options.url, error, waitedMs),
          () => closed,
        );
      /** Whether a batch at or after this one is in the stream: written already (this run's, or a replayed one's). */
      const done = (c: RedisClient) =>
        (c.call('XREVRANGE', options.key, '+', '-', 'COUNT', 1) as Promise<[string, string[]][]>).then(
          (last) => last.length > 0 && Number(last[0]![0].split('-')[0]) >= ms,
        );
      if (await redis(done)) return;
      const records = await rdd.collect();
      if (records.length === 0) return;
      // A transaction is all or nothing: the batch is written when its last entry is there.
      const lastId = `${ms}-${records.length - 1}`;
      const written = async (c: RedisClient) => ((await c.call('XRANGE', options.key, lastId, lastId)) as unknown[]).length === 1;
      let tries = 0;
      await redis(async (c) => {
        // A transaction whose reply a restart lost may have been applied; the ids `<ms>-<i>` make a second one
        // fail rather than write twice, but the batch must then count as written, once.
        if (tries++ > 0 && (await written(c))) return;
        const tx = c.multi();
        records.forEach((r, i) => {
          const fields = encode(r);
          tx.call('XADD', options.key, `${ms}-${i}`, ...Object.entries(fields).flat());
        });
        let results: [Error | null, unknown][] | null;
        try {
          results = await tx.exec();
        } catch (error) {
          if (await written(c).catch(() => false)) return;
          // A transaction Redis refused to queue (LOADING while it reads its file back) aborts as EXECABORT; the
          // refusal is the reason, and a restarting Redis is waited for.
          throw (error as { previousErrors?: Error[] }).previousErrors?.find(isRedisAway) ?? error;
        }
        const failed = results?.find(([e]) => e !== null);
        if (results === null || failed !== undefined) {
          // The connection dropped as Redis answered EXEC (CLIENT KILL, a network cut): ioredis sends the unanswered
          // transaction again once reconnected, and its XADDs meet the entries the first one wrote. The batch is
          // written once; failing it stopped the stream (found by bench/streaming-faults.ts).
          const again = results?.every(([e]) => e === null || /equal or smaller than the target stream top item/.test(e.message)) ?? false;
          if (again && (await written(c).catch(() => false))) return;
          throw failed?.[0] ?? new Error('the transaction was aborted');
        }
      });
    },
    close: () => {
      closed = true;
      const c = client;
      client = undefined;
      // quit() waits for a reconnection while Redis is away, and fails after ioredis's retries; the client would go on
      // reconnecting, and keep the process alive.
      void c?.then((x) => x.quit().catch(() => x.disconnect())).catch(() => undefined);
    },
  });
}
