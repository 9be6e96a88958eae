/**
 * The driver's side of a cluster (`redis://HOST:PORT`, and `local-cluster[N]` on top of it): a TaskBackend whose
 * slots are worker threads of executor processes met through Redis. Slots are the scheduler's dense worker
 * indexes, assigned when an executor is leased (one per core) and reused, with a new epoch, when their executor
 * is lost and another one comes; so the scheduler's indexes stay dense while executors come and go.
 *
 * - Leases: an idle executor is taken with SET NX on its lease key (two drivers never share one), renewed every
 *   third of `leaseMs`, and released at `stop()`; when the driver dies the lease expires and the executor goes
 *   back to the pool.
 * - Loss: an executor whose heartbeat counter has not changed for `executorTimeoutMs` (the driver's clock), or
 *   that said it left, is lost: its tasks fail as `workerLost` (and rerun elsewhere), its slots' outputs are
 *   forgotten by the DAG scheduler; its lease is deleted, so if it comes back it registers as a new executor.
 *   Outcomes from a lost slot's epoch are ignored.
 * - Redis gone for `executorTimeoutMs`: every slot is lost and then given up, so a running job fails with a
 *   ClusterError-worded reason instead of waiting for ever.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Redis } from 'ioredis';
import { ClusterError, ContextStoppedError } from '../../core/errors.js';
import { unsendable, type TaskMessage, type TaskOutcome, type WorkerInit } from '../protocol.js';
import type { BackendFaults, BackendListener, BackendSnapshot, TaskBackend } from '../task-backend.js';
import { append, decode, encode, keys, Outbox, readStream, Trimmer, type ControlMessage, type ExecutorMessage, type PeerAddress } from './control.js';
import { connect, redactUrl } from './executor-process.js';
import { FrameClient } from './wire.js';
import { unpackOutcome, type PostedOutcome } from '../local/worker-api.js';

/** After a start that could not reach Redis: how often its address is probed (unless a job starts again first). */
const START_RETRY_MS = 1000;

export interface ClusterBackendOptions {
  /** The Redis URL, or its promise (local-cluster starts its redis-server first). */
  readonly url: string | Promise<string>;
  readonly cluster: string;
  /**
   * Task slots (the context's parallelism): executors are leased until their cores fill them. `'leased'`: as
   * many as the leased executors registered cores (Spark's default without spark.cores.max); the slots grow
   * with each executor leased.
   */
  readonly slots: number | 'leased';
  /** Most executors this driver leases. */
  readonly maxExecutors: number;
  /** How long to wait for executors before ready() fails (and, later, for any executor while none is left). */
  readonly executorWaitMs: number;
  readonly executorTimeoutMs: number;
  /** Lease TTL: how long after the driver dies its executors are idle again. */
  readonly leaseMs: number;
  /** ready() waits for every slot (local-cluster) rather than for the first one. */
  readonly waitForAllSlots: boolean;
  readonly secret?: string;
  readonly heapMb: number;
  /** A task computing longer has its thread replaced and counts as a failed attempt (0: no limit). */
  readonly taskTimeoutMs: number;
  readonly init: Omit<WorkerInit, 'workerIndex' | 'spillDir' | 'epoch' | 'executorId'>;
  /** What a fault injection does to the executor holding a slot (local-cluster kills its process). */
  readonly killExecutor?: (pid: number) => void;
  /** Executors added and lost, with their resources (the context turns them into events). */
  readonly onExecutor?: (e: ExecutorChange) => void;
}

/** An executor leased or lost, as the scheduler's `executorAdded` / `executorRemoved` events say it (less the time). */
export type ExecutorChange =
  | {
      readonly type: 'executorAdded';
      readonly executorId: string;
      /** Where it serves blocks. */
      readonly host: string;
      readonly port: number;
      readonly cores: number;
      readonly memoryMB: number;
    }
  | {
      readonly type: 'executorRemoved';
      readonly executorId: string;
      readonly host: string;
      readonly port: number;
      readonly cores: number;
      readonly memoryMB: number;
      readonly reason: string;
    };

/**
 * Why an executor was lost, which decides how its tasks' attempts count (Spark's ExecutorLossReason): `executor`
 * — its process ended, it stopped beating or answering: perhaps a task's doing, perhaps not (counted apart, bounded
 * by the scheduler); `redis` — Redis lost its registration or lease, or is unreachable: no task's doing; `driver` —
 * this driver killed it (fault injection): no task's doing.
 */
type LossCause = 'executor' | 'redis' | 'driver';

interface Slot {
  readonly index: number;
  readonly epoch: number;
  readonly executorId: string;
  readonly exec: Exec;
  state: 'starting' | 'ready' | 'dead';
  readonly inflight: Map<number, (o: TaskOutcome) => void>;
}

interface Exec {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly cores: number;
  readonly memoryMB: number;
  readonly pid: number;
  /** Its registration's token: ids start again at 1 when Redis loses its keys, tokens do not repeat. */
  readonly token: string | undefined;
  readonly slots: Slot[];
  lastBeat: string | null;
  lastChange: number;
  lost: boolean;
  /** Its control stream. */
  readonly outbox: Outbox<ControlMessage>;
}

export class ClusterBackend implements TaskBackend {
  readonly appId = `app-${Date.now()}-${randomBytes(4).toString('hex')}`;
  readonly #o: ClusterBackendOptions;
  readonly #keys: ReturnType<typeof keys>;
  readonly #slots: Array<Slot | undefined>;
  readonly #nextEpoch: number[];
  readonly #execs = new Map<string, Exec>();
  /** Executors seen lost or refused by this driver: never leased again under the same id. */
  /** Lost executors' ids, with their registration's token. */
  readonly #gone = new Map<string, string | undefined>();
  #url = '';
  #redis!: Redis;
  #reader!: Redis;
  #listener: BackendListener | undefined;
  #stopping = false;
  #ready!: { resolve: () => void; reject: (e: Error) => void; settled: boolean };
  #readyPromise!: Promise<void>;
  /** The start gave up (Redis unreachable for executorTimeoutMs): the next `ready()` starts again. */
  #startFailed = false;
  /** How long #probeLater waits: doubled by each probe that connected to what then failed the start again. */
  #probeDelayMs = START_RETRY_MS;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Since when no slot has been ready (undefined: one is). */
  #noneReadySince: number | undefined = Date.now();
  #givenUp = false;
  #redisDownSince: number | undefined;
  #redisError = '';
  readonly #clients = new Map<string, FrameClient>();
  #loop: Promise<void> | undefined;
  /** Broadcast ids whose values are in the application's broadcast hash. */
  readonly #broadcastsStored = new Set<number>();
  /** Processes this driver killed (fault injection): their loss is not the tasks' doing. */
  readonly #killedPids = new Set<number>();

  constructor(options: ClusterBackendOptions) {
    this.#o = options;
    this.#keys = keys(options.cluster);
    const fixed = options.slots === 'leased' ? 0 : options.slots;
    this.#slots = new Array(fixed).fill(undefined);
    this.#nextEpoch = new Array(fixed).fill(0);
    this.#newReady();
    void this.#start();
  }

  /** The scheduler's worker indexes: fixed, or (slots 'leased') the cores of every executor leased so far. */
  get numWorkers(): number {
    return this.#slots.length;
  }

  get #growing(): boolean {
    return this.#o.slots === 'leased';
  }

  get #where(): string {
    return `Redis at ${redactUrl(this.#url)}, cluster '${this.#o.cluster}'`;
  }

  async #start(): Promise<void> {
    try {
      this.#url = await this.#o.url;
    } catch (e) {
      this.#failReady(e as Error);
      return;
    }
    if (this.#stopping) return;
    this.#redis = connect(this.#url, true);
    this.#reader = connect(this.#url);
    for (const r of [this.#redis, this.#reader]) r.on('error', (e: Error) => (this.#redisError = e.message));
    if (!(await this.#connected(this.#o.executorTimeoutMs))) {
      this.#failReady(
        new ClusterError(`cannot reach ${this.#where} within executorTimeoutMs (${this.#o.executorTimeoutMs} ms): ${this.#redisError}`),
      );
      this.#redis.disconnect();
      this.#reader.disconnect();
      this.#startFailed = true;
      // Tried again once Redis listens (or by the next job, at once), as a started context's connections keep
      // trying: Redis restarted twice as the context started (bench/cluster-faults.ts, at load) left every later
      // job failing with this error, Redis long back, and no slot ever ready.
      this.#probeLater();
      return;
    }
    if (this.#stopping) return;
    this.#loop = this.#outcomeLoop();
    const every = (ms: number, f: () => Promise<void> | void) => {
      const t = setInterval(() => void f(), ms);
      t.unref();
      this.#timers.push(t);
    };
    every(100, () => this.#discover());
    every(Math.max(50, Math.min(500, this.#o.executorTimeoutMs / 4)), () => this.#watch());
    every(Math.max(100, Math.floor(this.#o.leaseMs / 3)), () => this.#renew());
    void this.#discover();
  }

  /**
   * Whether both connections became ready within `ms`. A connection refused or dropped as the context starts (Redis
   * restarting, every client connection closed) is tried again for as long as a running job tolerates Redis away:
   * the first refusal used to leave the context unable to run any job (bench/cluster-faults.ts, a dropped
   * connection 90 ms after the context was made).
   */
  async #connected(ms: number): Promise<boolean> {
    const clients = [this.#redis, this.#reader];
    const ready = Promise.all(clients.map((r) => new Promise<void>((resolve) => r.once('ready', () => resolve()))));
    // A rejected connect() leaves the client reconnecting (retryStrategy) until it is ready or disconnected.
    for (const r of clients) r.connect().catch((e: unknown) => (this.#redisError ||= (e as Error).message));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      timer.unref();
    });
    try {
      return await Promise.race([ready.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  ready(): Promise<void> {
    this.#startAgain();
    return this.#readyPromise;
  }

  /**
   * After a start that could not reach Redis: a TCP connect to its address now and then, starting again once it
   * is taken. Not a Redis client: its reconnections would keep the process alive, and a script that caught the
   * failed job and ended without stop() exited before. Each probe lasts at most START_RETRY_MS, and between them
   * nothing of it is referenced; an address that takes the connection but fails the start again (not Redis) is
   * probed less and less often, so that such a process still finds a moment to exit.
   */
  #probeLater(): void {
    let host: string;
    let port: number;
    try {
      const u = new URL(this.#url);
      host = u.hostname.replace(/^\[(.*)\]$/, '$1');
      port = Number(u.port || 6379);
    } catch {
      return; // not host:port (a socket path): the next job starts again
    }
    if (host === '') return;
    const delayMs = this.#probeDelayMs;
    setTimeout(() => {
      if (!this.#startFailed || this.#stopping) return;
      const probe = net.connect({ host, port });
      probe.unref();
      probe.setTimeout(START_RETRY_MS);
      probe.once('connect', () => {
        probe.destroy();
        this.#probeDelayMs = Math.min(this.#probeDelayMs * 2, 30_000);
        this.#startAgain();
      });
      const again = (): void => {
        probe.destroy();
        this.#probeLater();
      };
      probe.once('error', again);
      probe.once('timeout', again);
    }, delayMs).unref();
  }

  /** After a start that could not reach Redis: starts again (a job waits for this start, not the failed one). */
  #startAgain(): void {
    if (!this.#startFailed || this.#stopping) return;
    this.#startFailed = false;
    this.#redisError = '';
    // The wait for executors counts from this start, not the first.
    this.#noneReadySince = Date.now();
    this.#newReady();
    void this.#start();
  }

  #newReady(): void {
    this.#readyPromise = new Promise<void>((resolve, reject) => (this.#ready = { resolve, reject, settled: false }));
    this.#readyPromise.catch(() => undefined);
  }

  #failReady(e: Error): void {
    if (this.#ready.settled) return;
    this.#ready.settled = true;
    this.#ready.reject(e);
  }

  setListener(listener: BackendListener): void {
    this.#listener = listener;
  }

  isAvailable(index: number): boolean {
    return this.#slots[index]?.state === 'ready';
  }

  epoch(index: number): number {
    return this.#slots[index]?.epoch ?? -1;
  }

  executorId(index: number): string {
    return this.#slots[index]?.executorId ?? '';
  }

  // ---- membership ---------------------------------------------------------------------------------------------

  #discovering = false;
  /** The discovery running (or the last one): stop() lets it end, so that a lease it is taking is given back. */
  #discovery: Promise<void> = Promise.resolve();

  /** Leases idle executors while slots are free. */
  async #discover(): Promise<void> {
    if (this.#stopping || this.#discovering) return;
    const free = this.#freeSlots();
    if ((free.length === 0 && !this.#growing) || this.#liveExecs().length >= this.#o.maxExecutors) return;
    this.#discovering = true;
    let done!: () => void;
    this.#discovery = new Promise<void>((r) => (done = r));
    try {
      const ids = (await this.#redis.smembers(this.#keys.executors)).sort((a, b) => Number(a) - Number(b));
      for (const id of ids) {
        if (this.#stopping || this.#execs.get(id)?.lost === false) continue;
        // A lost executor's id comes back after Redis restarted without its data: a new registration, with a new token.
        if (this.#gone.has(id) && (await this.#redis.hget(this.#keys.executor(id), 'token')) === (this.#gone.get(id) ?? null)) continue;
        if ((this.#freeSlots().length === 0 && !this.#growing) || this.#liveExecs().length >= this.#o.maxExecutors) break;
        const beat = await this.#redis.get(this.#keys.heartbeat(id));
        if (beat === null) {
          // Registered, then died without leaving: its registration is stale.
          await this.#redis.srem(this.#keys.executors, id);
          continue;
        }
        const got = await this.#redis.set(this.#keys.lease(id), this.appId, 'PX', this.#o.leaseMs, 'NX');
        // A connection dropped after Redis took the SET sends it again on the new one (ioredis), which then finds
        // the lease taken, by this driver: it is this driver's, not another one's to leave alone until leaseMs.
        if (got !== 'OK' && (await this.#redis.get(this.#keys.lease(id))) !== this.appId) continue;
        const info = await this.#redis.hgetall(this.#keys.executor(id));
        // Executors append to the application's outcome stream only if it exists (one written after stop() deleted
        // it is not made again): made before the executor reads its lease, and again after Redis lost it
        // (restarted without its data, flushed), as every executor is then leased again. If this fails the lease
        // stays this driver's, and the next discovery takes it up.
        if (info.host !== undefined && !this.#stopping) await this.#redis.xadd(this.#keys.outcomes(this.appId), '*', 'm', encode([]));
        // stop() began while this lease was being taken: it released only the executors it knew, so this one would
        // have served a stopped driver (its outcome stream, written after stop() deleted it, left in Redis for good).
        if (info.host === undefined || this.#stopping) {
          await this.#redis.del(this.#keys.lease(id));
          continue;
        }
        this.#lease(id, info, beat);
      }
    } catch {
      // Redis trouble is watched by #watch.
    } finally {
      this.#discovering = false;
      done();
    }
  }

  #freeSlots(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#slots.length; i++) if (this.#slots[i] === undefined || this.#slots[i]!.state === 'dead') out.push(i);
    return out;
  }

  #liveExecs(): Exec[] {
    return [...this.#execs.values()].filter((e) => !e.lost);
  }

  #lease(id: string, info: Record<string, string>, beat: string): void {
    const exec: Exec = {
      id,
      host: info.host!,
      port: Number(info.port),
      cores: Math.max(1, Number(info.cores) || 1),
      memoryMB: Number(info.memoryMB) || 0,
      pid: Number(info.pid) || 0,
      token: info.token,
      slots: [],
      lastBeat: beat,
      lastChange: Date.now(),
      lost: false,
      outbox: new Outbox<ControlMessage>(this.#redis, this.#keys.control(id), {
        failed: (batch, e) => this.#unsent(exec, batch, e),
        refused: (m, e) => this.#refused(m, e),
      }),
    };
    this.#execs.set(id, exec);
    this.#control(exec, { kind: 'lease', appId: this.appId, heapMb: this.#o.heapMb, taskTimeoutMs: this.#o.taskTimeoutMs, init: this.#o.init });
    if (this.#growing) {
      // Every core of the executor becomes a slot: free ones (of lost executors) first, then new indexes.
      for (let missing = exec.cores - this.#freeSlots().length; missing > 0; missing--) {
        this.#slots.push(undefined);
        this.#nextEpoch.push(0);
      }
    }
    this.#assignSlots(exec, Math.min(exec.cores, this.#freeSlots().length));
    this.#o.onExecutor?.({ type: 'executorAdded', executorId: id, host: exec.host, port: exec.port, cores: exec.cores, memoryMB: exec.memoryMB });
  }

  /** Gives `exec` up to `n` free slots (new epochs), then tells every executor the new table. */
  #assignSlots(exec: Exec, n: number): void {
    const assigned: Slot[] = [];
    for (const index of this.#freeSlots().slice(0, n)) {
      const epoch = this.#nextEpoch[index]!++;
      const local = exec.slots.length;
      const slot: Slot = {
        index,
        epoch,
        executorId: exec.cores === 1 && local === 0 ? exec.id : `${exec.id}.${local}`,
        exec,
        state: 'starting',
        inflight: new Map(),
      };
      this.#slots[index] = slot;
      exec.slots.push(slot);
      assigned.push(slot);
    }
    if (assigned.length === 0) return;
    this.#control(exec, { kind: 'slots', slots: assigned.map((s) => ({ index: s.index, epoch: s.epoch, executorId: s.executorId })) });
    this.#broadcastPeers();
  }

  #broadcastPeers(): void {
    const peers: PeerAddress[] = [];
    for (const s of this.#slots) {
      if (s !== undefined && s.state !== 'dead')
        peers.push({ index: s.index, epoch: s.epoch, executor: s.exec.id, host: s.exec.host, port: s.exec.port });
    }
    for (const e of this.#liveExecs()) this.#control(e, { kind: 'peers', peers });
  }

  /** Heartbeats, Redis health, and giving up when no executor is left for executorWaitMs. */
  async #watch(): Promise<void> {
    if (this.#stopping) return;
    const now = Date.now();
    const live = this.#liveExecs();
    try {
      if (live.length > 0) {
        const beats = await this.#redis.mget(live.map((e) => this.#keys.heartbeat(e.id)));
        // While Redis was unreachable no executor could beat: that time is not held against them.
        const back = this.#redisDownSince !== undefined;
        live.forEach((e, i) => {
          if (beats[i] !== e.lastBeat || back) {
            e.lastBeat = beats[i] ?? null;
            e.lastChange = Date.now();
          }
        });
      } else {
        await this.#redis.ping();
      }
      this.#redisDownSince = undefined;
    } catch (e) {
      this.#redisDownSince ??= now;
      this.#redisError = (e as Error).message;
    }
    if (this.#redisDownSince !== undefined) {
      if (now - this.#redisDownSince > this.#o.executorTimeoutMs) {
        this.#giveUpAll(`${this.#where} has been unreachable for ${now - this.#redisDownSince} ms (${this.#redisError})`);
      }
      return;
    }
    for (const e of live) {
      if (e.lastBeat === null) {
        // Its heartbeat key is gone: Redis lost its data (restarted without it), or the executor left.
        this.#executorLost(
          e,
          `executor ${e.id} (${e.host}:${e.port}): its heartbeat vanished from ${this.#where} (restarted without its data?)`,
          'redis',
        );
      } else if (now - e.lastChange > this.#o.executorTimeoutMs) {
        this.#executorLost(
          e,
          `executor ${e.id} (${e.host}:${e.port}) sent no heartbeat for ${now - e.lastChange} ms (executorTimeoutMs ${this.#o.executorTimeoutMs})`,
          'executor',
        );
      }
    }
    if ([...this.#slots].some((s) => s?.state === 'ready')) this.#noneReadySince = undefined;
    else this.#noneReadySince ??= now;
    if (this.#noneReadySince !== undefined && now - this.#noneReadySince > this.#o.executorWaitMs) {
      // Never leased one (#execs only grows). Not a wall-clock test: on a loaded machine the first check can come
      // more than executorWaitMs + 1 s after the start, and the message then said "left" of executors never seen.
      const never = this.#execs.size === 0;
      // Leased and beating, but no slot ready (threads slow to start at load, an executor hung before its heartbeat
      // went stale): "no executor left" spoke of executors that were there. Naming them says where to look.
      const unready = this.#liveExecs();
      this.#giveUpAll(
        never
          ? `no executor registered in ${this.#where} within executorWaitMs (${this.#o.executorWaitMs} ms); start one with: npx kindling executor --master ${redactUrl(this.#url)} --cluster ${this.#o.cluster}`
          : unready.length > 0
            ? `no slot of the executors leased in ${this.#where} became ready ${this.#ready.settled ? 'for' : 'within'} executorWaitMs (${this.#o.executorWaitMs} ms): ${unready.map((e) => `executor ${e.id} (${e.host}:${e.port}, pid ${e.pid})`).join(', ')}`
            : `no executor left in ${this.#where} for executorWaitMs (${this.#o.executorWaitMs} ms)`,
      );
    }
  }

  /** Every slot lost and given up: running jobs fail with `reason` (a later executor brings slots back). */
  #giveUpAll(reason: string): void {
    this.#failReady(new ClusterError(reason));
    for (const e of this.#liveExecs()) this.#executorLost(e, reason, 'redis');
    if (this.#givenUp) return;
    this.#givenUp = true;
    this.#noneReadySince = Date.now();
    for (let i = 0; i < this.#slots.length; i++) this.#listener?.workerFailed(i, reason);
  }

  async #renew(): Promise<void> {
    if (this.#stopping) return;
    const live = this.#liveExecs();
    if (live.length === 0) return;
    try {
      const p = this.#redis.pipeline();
      for (const e of live) p.set(this.#keys.lease(e.id), this.appId, 'PX', this.#o.leaseMs, 'XX', 'GET');
      const res = (await p.exec()) ?? [];
      live.forEach((e, i) => {
        const [err, held] = res[i] ?? [];
        if (!err && held !== this.appId && !e.lost) this.#executorLost(e, `executor ${e.id} lost its lease (held by ${held ?? 'nobody'})`, 'redis');
      });
    } catch {
      // #watch notices Redis trouble.
    }
  }

  #executorLost(exec: Exec, reason: string, cause: LossCause): void {
    if (exec.lost) return;
    exec.lost = true;
    this.#gone.set(exec.id, exec.token);
    // If it is only paused, it finds its lease gone when it wakes, drops this application and registers anew.
    this.#redis.del(this.#keys.lease(exec.id)).catch(() => undefined);
    for (const s of exec.slots) this.#slotLost(s, reason, false, cause === 'executor');
    this.#o.onExecutor?.({
      type: 'executorRemoved',
      executorId: exec.id,
      host: exec.host,
      port: exec.port,
      cores: exec.cores,
      memoryMB: exec.memoryMB,
      reason,
    });
    this.#broadcastPeers();
  }

  /**
   * `causedByApp`: whether the lost tasks count as failed attempts (a number: only that task's does);
   * `executorLost`: the executor process was lost, for a reason not known to be the driver's or Redis's.
   */
  #slotLost(slot: Slot, reason: string, causedByApp: boolean | number, executorLost = false, killedTask?: number): void {
    if (slot.state === 'dead') return;
    const wasReady = slot.state === 'ready';
    slot.state = 'dead';
    const inflight = [...slot.inflight];
    slot.inflight.clear();
    for (const [taskId, settle] of inflight) {
      if (taskId === killedTask) {
        // Killed, as Spark reports a task of a cancelled job: replacing its slot was only how the kill took.
        settle({ status: 'failed', epoch: slot.epoch, failure: { kind: 'killed', message: reason }, blockUpdates: [] });
        continue;
      }
      const culprit = typeof causedByApp === 'number' && taskId === causedByApp;
      settle(lost(slot.index, slot.epoch, reason, culprit || causedByApp === true, executorLost, culprit));
    }
    if (wasReady) this.#listener?.workerLost(slot.index, slot.executorId, reason);
  }

  // ---- executor messages --------------------------------------------------------------------------------------

  async #outcomeLoop(): Promise<void> {
    let last = '0-0';
    const stream = this.#keys.outcomes(this.appId);
    const trimmer = new Trimmer(this.#redis);
    while (!this.#stopping) {
      let read: { messages: ExecutorMessage[]; lastId: string };
      try {
        read = await readStream<ExecutorMessage>(this.#reader, stream, last, 1000);
      } catch {
        if (this.#stopping) return;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      last = read.lastId;
      for (const m of read.messages) this.#received(m);
      if (read.messages.length > 0) trimmer.read(stream, last);
    }
  }

  #current(index: number, epoch: number): Slot | undefined {
    const s = this.#slots[index];
    return s !== undefined && s.epoch === epoch && s.state !== 'dead' ? s : undefined;
  }

  #received(m: ExecutorMessage): void {
    const slot = this.#current(m.index, m.epoch);
    // A late message of a lost slot (a paused executor that came back): its tasks already ran elsewhere.
    if (slot === undefined || this.#stopping) return;
    switch (m.kind) {
      case 'slotReady': {
        if (slot.state !== 'starting') return;
        slot.state = 'ready';
        this.#givenUp = false;
        this.#noneReadySince = undefined;
        this.#listener?.workerReady(slot.index, slot.executorId, slot.epoch > 0);
        const ready = this.#slots.filter((s) => s?.state === 'ready').length;
        if (!this.#ready.settled && (!this.#o.waitForAllSlots || ready === this.numWorkers)) {
          this.#ready.settled = true;
          this.#ready.resolve();
        }
        return;
      }
      case 'slotLost': {
        this.#slotLost(slot, m.reason, m.killedTask !== undefined ? false : (m.timedOutTask ?? !m.reason.includes(' left: ')), false, m.killedTask);
        // A thread died (out of memory, a cancelled task that would not stop), its executor lives on: a new slot.
        if (!slot.exec.lost) this.#assignSlots(slot.exec, 1);
        return;
      }
      case 'outcome':
        if (m.outcome.status === 'failed' && m.outcome.failure.kind === 'fetchFailed')
          this.#probe(m.outcome.failure.workerIndex, m.outcome.failure.epoch);
        slot.inflight.get(m.taskId)?.(explained(unpackOutcome(m.outcome), slot.exec));
        return;
      case 'indirect': {
        const settle = slot.inflight.get(m.taskId);
        if (settle === undefined) return;
        this.#client(slot.exec)
          .request({ kind: 'result', appId: this.appId, taskId: m.taskId })
          .then(
            (buf) => settle(unpackOutcome(decode<PostedOutcome>(Buffer.from(buf as Uint8Array)))),
            (e: unknown) =>
              settle(
                lost(
                  slot.index,
                  slot.epoch,
                  `the result of task ${m.taskId} (${m.bytes} bytes) could not be fetched from executor ${slot.exec.id}: ${(e as Error).message}`,
                  // Counted against the task: a driver that cannot fetch results must not retry for ever.
                  true,
                  false,
                  true,
                ),
              ),
          );
        return;
      }
    }
  }

  readonly #probing = new Set<string>();

  /**
   * A peer could not serve a fetch: ask its executor directly, on a new connection. One that does not answer
   * within a few seconds is lost now, not after executorTimeoutMs: otherwise the resubmitted map tasks would be
   * sent to it and every retry of the stage would fail on the same dead peer.
   */
  #probe(index: number, epoch: number): void {
    const exec = this.#slots[index]?.epoch === epoch ? this.#slots[index]!.exec : undefined;
    if (exec === undefined || exec.lost || this.#probing.has(exec.id)) return;
    this.#probing.add(exec.id);
    const client = new FrameClient(exec.host, exec.port, this.#o.secret).unref();
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = Math.min(2000, this.#o.executorTimeoutMs);
    Promise.race([
      client.request({ kind: 'ping' }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ])
      .then(
        () => undefined,
        (e: unknown) => {
          if (!this.#stopping)
            this.#executorLost(
              exec,
              `executor ${exec.id} (${exec.host}:${exec.port}) failed a fetch and does not answer: ${(e as Error).message}`,
              'executor',
            );
        },
      )
      .finally(() => {
        clearTimeout(timer);
        client.close();
        this.#probing.delete(exec.id);
      });
  }

  /** The process of an executor ended (local-cluster watches its children): lost now, not after executorTimeoutMs. */
  executorExited(pid: number, reason: string): void {
    const cause = this.#killedPids.delete(pid) ? 'driver' : 'executor';
    for (const e of this.#liveExecs()) if (e.pid === pid) this.#executorLost(e, `executor ${e.id} (${e.host}:${e.port}): ${reason}`, cause);
  }

  #client(exec: Exec): FrameClient {
    let c = this.#clients.get(exec.id);
    if (c === undefined || c.closed) {
      c = new FrameClient(exec.host, exec.port, this.#o.secret).unref();
      this.#clients.set(exec.id, c);
    }
    return c;
  }

  // ---- driver messages ----------------------------------------------------------------------------------------

  /** Queues a message on the executor's stream (in order; one Redis operation per turn of the event loop). */
  #control(exec: Exec, m: ControlMessage): void {
    exec.outbox.push(m);
  }

  /**
   * Tasks Redis did not take fail at once (Redis is away: #watch gives up after executorTimeoutMs); every other
   * message is sent again while the executor is this driver's: a lost lease, slots or peers message left its
   * slots starting for good while it beat (no executor left after executorWaitMs, seeds 202 and 303 of
   * random-faults). The executor takes each of them twice without harm (Redis may have taken the first).
   */
  #unsent(exec: Exec, batch: readonly ControlMessage[], e: Error): readonly ControlMessage[] {
    for (const m of batch) {
      if (m.kind !== 'task') continue;
      const slot = this.#current(m.index, m.task.epoch);
      slot?.inflight.get(m.task.taskId)?.(
        lost(m.index, m.task.epoch, `task ${m.task.taskId} could not be sent through ${this.#where}: ${e.message}`, false),
      );
    }
    return exec.lost || this.#stopping ? [] : batch.filter((m) => m.kind !== 'task');
  }

  /** A task the serializer refused fails without a retry (its data would be refused again). */
  #refused(m: ControlMessage, e: Error): void {
    if (m.kind !== 'task') return;
    this.#current(m.index, m.task.epoch)?.inflight.get(m.task.taskId)?.(unsendable(m.task.taskId, m.task.epoch, e, `sent through ${this.#where}`));
  }

  runTask(workerIndex: number, task: TaskMessage): Promise<TaskOutcome> {
    const slot = this.#current(workerIndex, task.epoch);
    if (slot === undefined || slot.state !== 'ready') {
      return Promise.resolve(lost(workerIndex, task.epoch, `slot ${workerIndex} (epoch ${task.epoch}) is not available`, false));
    }
    return new Promise<TaskOutcome>((resolve) => {
      slot.inflight.set(task.taskId, (o) => {
        if (slot.inflight.delete(task.taskId) || o.status === 'failed') resolve(o);
      });
      if (task.broadcasts.length === 0) {
        this.#control(slot.exec, { kind: 'task', index: workerIndex, task });
        return;
      }
      // Broadcast values go to Redis once per application (this connection's order puts the HSET before the
      // XADD of the task), and each executor fetches each value once.
      const broadcastIds: number[] = [];
      for (const [id, value] of task.broadcasts) {
        broadcastIds.push(id);
        if (this.#broadcastsStored.has(id)) continue;
        this.#broadcastsStored.add(id);
        this.#redis.hset(this.#keys.broadcasts(this.appId), String(id), encode(value)).catch(() => undefined);
      }
      this.#control(slot.exec, { kind: 'task', index: workerIndex, task: { ...task, broadcasts: [] }, broadcastIds });
    });
  }

  cancelTask(workerIndex: number, taskId: number): void {
    const s = this.#slots[workerIndex];
    if (s?.state === 'ready' && s.inflight.has(taskId)) this.#control(s.exec, { kind: 'cancel', index: workerIndex, taskId });
  }

  killTask(workerIndex: number, taskId: number, graceMs: number): void {
    const s = this.#slots[workerIndex];
    if (s?.state === 'ready' && s.inflight.has(taskId)) this.#control(s.exec, { kind: 'cancel', index: workerIndex, taskId, graceMs });
  }

  #toAll(m: ControlMessage): void {
    for (const e of this.#liveExecs()) this.#control(e, m);
  }

  removeShuffle(shuffleId: number): void {
    this.#toAll({ kind: 'removeShuffle', id: shuffleId });
  }

  async removeRdd(rddId: number, beforeGeneration?: number): Promise<void> {
    this.#toAll({ kind: 'removeRdd', id: rddId, ...(beforeGeneration !== undefined ? { beforeGeneration } : {}) });
  }

  removeBroadcast(id: number): void {
    if (this.#broadcastsStored.delete(id)) this.#redis.hdel(this.#keys.broadcasts(this.appId), String(id)).catch(() => undefined);
    this.#toAll({ kind: 'removeBroadcast', id });
  }

  releaseStages(stageIds: readonly number[]): void {
    if (stageIds.length > 0) this.#toAll({ kind: 'releaseStages', ids: [...stageIds] });
  }

  get faults(): BackendFaults | undefined {
    const kill = this.#o.killExecutor;
    if (kill === undefined) return undefined;
    return {
      killWorker: async (index) => {
        const s = this.#slots[index];
        if (s === undefined || s.state === 'dead') return;
        this.#killedPids.add(s.exec.pid);
        kill(s.exec.pid);
      },
    };
  }

  async snapshot(): Promise<BackendSnapshot> {
    const workers = this.#slots
      .filter((s): s is Slot => s !== undefined)
      .map((s) => ({ index: s.index, epoch: s.epoch, executorId: s.executorId, state: s.state, inflight: s.inflight.size, peers: [] }));
    return { configured: this.numWorkers, givenUp: this.#givenUp ? this.#slots.map((_, i) => i) : [], workers };
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    this.#failReady(new ContextStoppedError('the context was stopped while waiting for executors'));
    for (const s of this.#slots) {
      if (s === undefined) continue;
      for (const settle of s.inflight.values()) settle(lost(s.index, s.epoch, 'the context was stopped', false));
      s.inflight.clear();
    }
    if (this.#redis === undefined) return;
    // A lease being taken as stop() began: without this wait it was taken after the release below, and the
    // executor served a stopped driver (or stayed leased to it) for leaseMs.
    await Promise.race([this.#discovery, new Promise((r) => setTimeout(r, 2000).unref())]);
    const live = this.#liveExecs();
    try {
      if (this.#redis.status === 'ready') {
        const p = this.#redis.pipeline();
        for (const e of live) p.del(this.#keys.lease(e.id));
        p.del(this.#keys.outcomes(this.appId), this.#keys.broadcasts(this.appId));
        await Promise.race([p.exec(), new Promise((r) => setTimeout(r, 2000).unref())]);
        for (const e of live) await append(this.#redis, this.#keys.control(e.id), [{ kind: 'release' }]).catch(() => undefined);
      }
    } catch {
      // Leases expire on their own.
    }
    for (const c of this.#clients.values()) c.close();
    this.#reader.disconnect();
    // A read blocked on a Redis that went away may never settle: do not wait for it long.
    await Promise.race([this.#loop?.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.#redis.disconnect();
  }
}

/**
 * What a cluster adds to a task's error: a file or a module missing where the task ran is a missing file or
 * module on that executor (the driver may well have it), so the message names the executor and the remedy.
 */
function explained(outcome: TaskOutcome, exec: Exec): TaskOutcome {
  if (outcome.status !== 'failed' || outcome.failure.kind !== 'exception') return outcome;
  const error = outcome.failure.error;
  const where = `on executor ${exec.id} at ${exec.host}`;
  let message: string | undefined;
  // A reader names the file in an InputPathError whose message keeps Node's code: `(ENOENT)`.
  if (error.code === 'ENOENT' || (error.code === 'KINDLING_INPUT_PATH' && error.message.includes('(ENOENT)'))) {
    message = `${error.message} (${where}: textFile, saveAsTextFile and checkpoint need a path every executor can see, such as a shared filesystem; see docs/cluster.md)`;
  } else if (error.code === 'KINDLING_MODULE_IMPORT') {
    message = `${error.message} (${where}: install the package where the executors run, or run them from the driver's project folder)`;
  }
  if (message === undefined) return outcome;
  return { ...outcome, failure: { kind: 'exception', error: { ...error, message } } };
}

function lost(workerIndex: number, epoch: number, message: string, causedByApp: boolean, executorLost = false, thisTask = false): TaskOutcome {
  return {
    status: 'failed',
    epoch,
    failure: {
      kind: 'workerLost',
      workerIndex,
      message,
      causedByApp,
      ...(executorLost ? { executorLost: true } : {}),
      ...(thisTask ? { thisTask: true } : {}),
    },
    blockUpdates: [],
  };
}
