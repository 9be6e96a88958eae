/**
 * The cluster's control plane in Redis, shared by the driver backend and the executor process. Key names (all
 * under `kindling:{cluster}:`) and the messages on the streams. Values on the streams are V8-serialized (the
 * same structured-clone data the local backend posts to its threads).
 *
 * - `next-executor`: a counter; every registration takes a new executor id (never reused while Redis keeps its
 *   keys, so an executor that comes back after being declared lost is a new executor).
 * - `executors`: the set of registered ids; `executor:{id}`: a hash with host, port, cores, memoryMB, pid and a
 *   random token per registration (a Redis restarted without its data counts ids from 1 again: the token tells a
 *   new registration from a lost one with the same id). An executor whose hash is gone registers again.
 * - `heartbeat:{id}`: a counter the executor increments every HEARTBEAT_MS, with a TTL; the driver watches it
 *   change with its own clock (no clock shared between hosts is assumed).
 * - `lease:{id}`: the application holding the executor (SET NX with a TTL, renewed by the driver; it expires
 *   when the driver dies, and the executor then drops the application and registers again).
 * - `control:{id}`: the executor's stream of driver messages, in order (slots, peers, tasks, removals).
 * - `outcomes:{appId}`: the driver's stream of executor messages (slots ready or lost, task outcomes), made by the
 *   driver before it leases an executor and deleted at its stop(); executors append only while it exists.
 * - `broadcasts:{appId}`: the application's broadcast values (a hash by id), fetched once by each executor.
 */
import v8 from 'node:v8';
import type { Redis } from 'ioredis';
import type { TaskMessage, WorkerInit } from '../protocol.js';
import type { PostedOutcome } from '../local/worker-api.js';

export const HEARTBEAT_MS = 500;
/** A registration whose heartbeat key is gone for this long is removed from `executors` by drivers. */
export const HEARTBEAT_TTL_MS = 30_000;
/** Task outcomes larger than this stay on the executor, and the driver fetches them over TCP. */
export const INDIRECT_RESULT_BYTES = 1 << 20;

export function keys(cluster: string) {
  const p = `kindling:${cluster}:`;
  return {
    nextExecutor: `${p}next-executor`,
    executors: `${p}executors`,
    executor: (id: string) => `${p}executor:${id}`,
    heartbeat: (id: string) => `${p}heartbeat:${id}`,
    lease: (id: string) => `${p}lease:${id}`,
    control: (id: string) => `${p}control:${id}`,
    outcomes: (appId: string) => `${p}outcomes:${appId}`,
    /** A hash of the application's broadcast values by id: each executor fetches a value once (HGET). */
    broadcasts: (appId: string) => `${p}broadcasts:${appId}`,
  };
}

/** One task slot (a worker thread of an executor) as the driver assigned it. */
export interface SlotAssignment {
  readonly index: number;
  readonly epoch: number;
  readonly executorId: string;
}

/** Where a slot's executor serves blocks. */
export interface PeerAddress {
  readonly index: number;
  readonly epoch: number;
  readonly executor: string;
  readonly host: string;
  readonly port: number;
}

/** Driver -> executor, on `control:{id}`. */
export type ControlMessage =
  | {
      readonly kind: 'lease';
      readonly appId: string;
      readonly heapMb: number;
      /** A task computing longer has its thread replaced and fails (0: no limit). */
      readonly taskTimeoutMs: number;
      readonly init: Omit<WorkerInit, 'workerIndex' | 'spillDir' | 'epoch' | 'executorId'>;
    }
  | { readonly kind: 'slots'; readonly slots: readonly SlotAssignment[] }
  | { readonly kind: 'peers'; readonly peers: readonly PeerAddress[] }
  /**
   * `broadcastIds`: broadcast values the task needs that its slot has not received; they are not in the task
   * message but in the application's broadcast hash, fetched once per executor (not once per slot or task).
   */
  | { readonly kind: 'task'; readonly index: number; readonly task: TaskMessage; readonly broadcastIds?: readonly number[] }
  | { readonly kind: 'cancel'; readonly index: number; readonly taskId: number; readonly graceMs?: number }
  | { readonly kind: 'removeShuffle'; readonly id: number }
  | { readonly kind: 'removeRdd'; readonly id: number; readonly beforeGeneration?: number }
  | { readonly kind: 'removeBroadcast'; readonly id: number }
  | { readonly kind: 'releaseStages'; readonly ids: readonly number[] }
  | { readonly kind: 'release' };

/** Executor -> driver, on `outcomes:{appId}`. */
export type ExecutorMessage =
  | { readonly kind: 'slotReady'; readonly executor: string; readonly index: number; readonly epoch: number }
  /**
   * `timedOutTask`: the task that ran past taskTimeoutMs (the one lost task whose fault it was); `killedTask`: the
   * task of a cancelled job that still computed after its grace (killed, not failed; the slot's loss is no task's).
   */
  | {
      readonly kind: 'slotLost';
      readonly executor: string;
      readonly index: number;
      readonly epoch: number;
      readonly reason: string;
      readonly timedOutTask?: number;
      readonly killedTask?: number;
    }
  /** A result of many pairs stays in columns (`PostedOutcome`) until the driver: smaller on Redis and TCP. */
  | { readonly kind: 'outcome'; readonly index: number; readonly epoch: number; readonly taskId: number; readonly outcome: PostedOutcome }
  /** The outcome is large: fetch it from the executor (Spark's IndirectTaskResult). */
  | { readonly kind: 'indirect'; readonly index: number; readonly epoch: number; readonly taskId: number; readonly bytes: number };

export function encode(value: unknown): Buffer {
  return v8.serialize(value);
}

export function decode<T>(buf: Buffer): T {
  return v8.deserialize(buf) as T;
}

/** Appends messages to a stream as one entry (one Redis operation however many messages a turn produced). */
export async function append(redis: Redis, stream: string, messages: readonly unknown[]): Promise<void> {
  if (messages.length === 0) return;
  await redis.xadd(stream, '*', 'm', encode(messages));
}

/** Between tries of a batch Redis did not take. */
export const OUTBOX_RETRY_MS = 200;

/** What an {@link Outbox} does besides sending. */
export interface OutboxOptions<M> {
  /**
   * A batch Redis did not take (its connection dropped and a reconnection was refused: ioredis then fails what it
   * had sent; measured in lost-messages.test.ts, a restart of ~100 ms is enough). Returns
   * the messages to send again: they go before anything pushed since, after {@link OUTBOX_RETRY_MS}. A reply lost
   * with its connection may mean Redis did take it: a message sent again must be harmless twice.
   */
  readonly failed?: (batch: readonly M[], e: Error) => readonly M[];
  /** A message the serializer refuses (a function or a symbol in it): left out of its batch, never sent. */
  readonly refused?: (message: M, e: Error) => void;
  /**
   * Append only to a stream that exists (XADD NOMKSTREAM): its reader creates it and deletes it when it is done,
   * and a message written later (a task that ended after the driver stopped) must not make it again, for good.
   */
  readonly onlyIfExists?: boolean;
}

/**
 * Messages for one stream, sent as one entry per turn of the event loop (a burst of tasks or outcomes costs one
 * Redis operation), in the order they were pushed.
 */
export class Outbox<M> {
  readonly #queue: M[] = [];
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly options: OutboxOptions<M> = {},
  ) {}

  push(m: M): void {
    this.#queue.push(m);
    this.#flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#flush());
  }

  /** Resolves once everything pushed so far has been sent (or failed and not sent again). */
  async drain(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      let batch = this.#queue.splice(0, this.#queue.length);
      let entry: Buffer;
      try {
        entry = encode(batch);
      } catch {
        batch = batch.filter((m) => {
          try {
            encode(m);
            return true;
          } catch (e) {
            this.options.refused?.(m, e as Error);
            return false;
          }
        });
        if (batch.length === 0) continue;
        entry = encode(batch);
      }
      try {
        if (this.options.onlyIfExists) await this.redis.xadd(this.stream, 'NOMKSTREAM', '*', 'm', entry);
        else await this.redis.xadd(this.stream, '*', 'm', entry);
      } catch (e) {
        const again = this.options.failed?.(batch, e as Error) ?? [];
        if (again.length > 0) {
          this.#queue.unshift(...again);
          await new Promise((r) => setTimeout(r, OUTBOX_RETRY_MS));
        }
      }
    }
    this.#flushing = undefined;
  }
}

/**
 * Drops what a reader has handled (entries before the last id it read), so a stream holds little more than
 * messages not yet handled. Not after every read: one XTRIM per read was a third of the Redis commands on the
 * task path; at most every {@link Trimmer.EVERY_READS} reads or {@link Trimmer.EVERY_MS} ms keeps a stream just
 * as bounded.
 */
export class Trimmer {
  static readonly EVERY_READS = 64;
  static readonly EVERY_MS = 100;
  #reads = 0;
  #since = Date.now();

  constructor(private readonly redis: Redis) {}

  /** After a read of `stream` that returned entries up to `lastId`. */
  read(stream: string, lastId: string): void {
    if (++this.#reads < Trimmer.EVERY_READS && Date.now() - this.#since < Trimmer.EVERY_MS) return;
    this.#reads = 0;
    this.#since = Date.now();
    this.redis.xtrim(stream, 'MINID', lastId).catch(() => undefined);
  }
}

/**
 * Reads a stream from `lastId` (blocking up to `blockMs`), returning the decoded messages and the id to read on
 * from. `redis` must be a connection of its own: a blocked XREAD holds it.
 */
export async function readStream<T>(redis: Redis, stream: string, lastId: string, blockMs: number): Promise<{ messages: T[]; lastId: string }> {
  const reply = (await redis.xreadBuffer('COUNT', 10_000, 'BLOCK', blockMs, 'STREAMS', stream, lastId)) as unknown[] | null;
  // One reply per stream ([key, entries]); ioredis 6 hands back the single stream's pair without the outer list.
  const pairs = (reply === null ? [] : Buffer.isBuffer(reply[0]) ? [reply] : reply) as Array<[Buffer, Array<[Buffer, Buffer[]]>]>;
  const messages: T[] = [];
  let last = lastId;
  for (const [, entries] of pairs) {
    for (const [id, fields] of entries) {
      last = id.toString();
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === 'm') for (const m of decode<T[]>(fields[i + 1]!)) messages.push(m);
    }
  }
  return { messages, lastId: last };
}
