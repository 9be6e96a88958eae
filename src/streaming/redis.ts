/**
 * Redis Streams as a source and a sink (through ioredis, loaded on first use). Reads happen on the driver, one
 * round trip per batch; batch records then travel to workers as parallelized slices like any other source.
 */
import { capture } from '../closure/index.js';
import { ArgumentTypeError, IllegalStateError, InvalidArgumentError } from '../core/errors.js';
import type { Context } from '../context/context.js';
import type { RDD } from '../rdd/index.js';
import type { DStream } from './dstream.js';
import { type PidOptions, RateLimit } from './rate-estimator.js';
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
   * Direct mode: how a batch is read. `eval` (default): one Lua script slices the entries into JSON texts inside
   * Redis, and the workers parse them (no per-entry work on the driver). `xrange`: a plain XRANGE decoded on the
   * driver, for servers where scripts are not allowed (ACLs, some managed services).
   */
  readWith?: 'eval' | 'xrange';
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

async function connect(url: string | undefined): Promise<RedisClient> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new IllegalStateError(`cannot connect to Redis at ${url ?? 'redis://127.0.0.1:6379'}: ${(error as Error).message}`);
  }
  return client as unknown as RedisClient;
}

/**
 * A direct batch read inside Redis (one EVAL): the entries after ARGV[1], at most ARGV[2], returned as their count,
 * the last id, and ARGV[3] JSON texts of consecutive slices. The driver then decodes a few strings instead of an
 * array per entry, and ships each text to a worker, which parses it: no per-entry work on the driver.
 */
const DIRECT_CUT = `
local r = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
local n = #r
local out = { n, n > 0 and r[n][1] or '' }
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
  /** Direct mode: the last id handed to a batch. */
  #after = '0-0';
  #resumed = false;
  /** Group mode: re-read this consumer's own pending entries before new ones. */
  #pendingFirst = true;

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
    if (options.readWith !== undefined && options.readWith !== 'eval' && options.readWith !== 'xrange') {
      throw new InvalidArgumentError(`redisStream: readWith must be 'eval' or 'xrange', got '${String(options.readWith)}'`);
    }
    if (mode === 'group' && (options.group === undefined || options.consumer === undefined)) {
      throw new InvalidArgumentError("redisStream: mode 'group' needs { group, consumer }");
    }
    this.#o = options;
    this.#mode = mode;
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

  async start(): Promise<void> {
    // replay() may have connected already (a restart re-reads committed batches before the start).
    this.#client ??= await connect(this.#o.url);
    const key = this.#o.key;
    const startId = this.#o.startId ?? '$';
    if (this.#mode === 'group') {
      try {
        await this.#client.call('XGROUP', 'CREATE', key, this.#o.group!, startId, 'MKSTREAM');
      } catch (error) {
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
      }
      return;
    }
    // A checkpoint wins over startId: resume() already placed the reader.
    if (this.#resumed) return;
    if (startId === '$') {
      const last = (await this.#client.call('XREVRANGE', key, '+', '-', 'COUNT', 1)) as [string, string[]][];
      this.#after = last.length > 0 ? last[0]![0] : '0-0';
    } else this.#after = startId === '0' ? '0-0' : startId;
  }

  async cut(): Promise<SourceBatch<RedisEntry>> {
    const client = this.#client!;
    const limit = this.#batchLimit();
    if (this.#mode === 'direct' && this.#o.readWith === 'xrange') {
      const records = ((await client.call('XRANGE', this.#o.key, `(${this.#after}`, '+', 'COUNT', limit)) as [string, string[]][]).map(toEntry);
      const range: DirectRange = { after: this.#after, until: records.at(-1)?.id ?? this.#after, count: records.length };
      this.#after = range.until;
      return { records, range, ...this.#limit.reportField() };
    }
    if (this.#mode === 'direct') {
      const parts = this.#sc.defaultParallelism;
      const [count, last, ...slices] = (await client.call('EVAL', DIRECT_CUT, 1, this.#o.key, `(${this.#after}`, limit, parts)) as [
        number,
        string,
        ...string[],
      ];
      const range: DirectRange = { after: this.#after, until: count > 0 ? last : this.#after, count };
      this.#after = range.until;
      const records = count === 0 ? [] : this.#sc.parallelize(slices, slices.length).flatMap(parseEntries);
      return { records, count, range, ...this.#limit.reportField() };
    }
    const read = async (id: string) => {
      const res = (await client.call('XREADGROUP', 'GROUP', this.#o.group!, this.#o.consumer!, 'COUNT', limit, 'STREAMS', this.#o.key, id)) as
        | unknown[]
        | null;
      // One reply per stream ([key, entries]); ioredis 6 hands back the single stream's pair without the outer list.
      const pair = (typeof res?.[0] === 'string' ? res : res?.[0]) as [string, [string, string[] | null][]] | undefined;
      // A pending entry that was trimmed away comes back with null fields; there is nothing left to deliver.
      return (pair?.[1] ?? []).filter((e): e is [string, string[]] => e[1] !== null).map(toEntry);
    };
    let records: RedisEntry[] = [];
    if (this.#o.claimIdleMs !== undefined) {
      // XAUTOCLAIM moves the entries into this consumer's pending list; the next read of id 0 returns them.
      const claimed = (await client.call(
        'XAUTOCLAIM',
        this.#o.key,
        this.#o.group!,
        this.#o.consumer!,
        this.#o.claimIdleMs,
        '0-0',
        'COUNT',
        limit,
      )) as [string, unknown[]];
      if ((claimed?.[1]?.length ?? 0) > 0) this.#pendingFirst = true;
    }
    if (this.#pendingFirst) {
      records = await read('0');
      if (records.length < limit) this.#pendingFirst = false;
    }
    if (records.length === 0) records = await read('>');
    const range: GroupRange = { ids: records.map((r) => r.id) };
    const lag = await this.#groupLag(client);
    return { records, range, ...this.#limit.reportField(), ...(lag === undefined ? {} : { lag }) };
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
    this.#client ??= await connect(this.#o.url);
    const raw = (await this.#client.call('XRANGE', this.#o.key, `(${r.after}`, r.until)) as [string, string[]][];
    if (raw.length !== r.count) {
      throw new IllegalStateError(
        `redisStream ${this.#o.key}: replaying an uncommitted batch found ${raw.length} entries in (${r.after}, ${r.until}], ` +
          `the checkpoint recorded ${r.count}; were they trimmed (XTRIM/MAXLEN)?`,
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
    const ids = (range as GroupRange).ids;
    if (ids.length > 0) await this.#client!.call('XACK', this.#o.key, this.#o.group!, ...ids);
  }

  batchCompleted(report: BatchReport): void {
    this.#limit.batchCompleted(report);
  }

  async stop(): Promise<void> {
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
  stream.graph.addOutput({
    name: `toRedis ${options.key}`,
    stream,
    run: async (ms) => {
      const rdd: RDD<T> | undefined = stream.getOrCompute(ms);
      if (rdd === undefined) return;
      client ??= connect(options.url);
      const c = await client;
      const last = (await c.call('XREVRANGE', options.key, '+', '-', 'COUNT', 1)) as [string, string[]][];
      if (last.length > 0 && Number(last[0]![0].split('-')[0]) >= ms) return;
      const records = await rdd.collect();
      if (records.length === 0) return;
      const tx = c.multi();
      records.forEach((r, i) => {
        const fields = encode(r);
        tx.call('XADD', options.key, `${ms}-${i}`, ...Object.entries(fields).flat());
      });
      const results = await tx.exec();
      const failed = results?.find(([e]) => e !== null);
      if (results === null || failed !== undefined) {
        throw new IllegalStateError(`toRedis ${options.key}: writing batch ${ms} failed: ${failed?.[0]?.message ?? 'transaction aborted'}`);
      }
    },
    close: () => {
      const c = client;
      client = undefined;
      void c?.then((x) => x.quit()).catch(() => undefined);
    },
  });
}
