/**
 * One executor process of a cluster (`kindling executor --master redis://...`): registers in Redis, waits to be
 * leased by a driver, runs the driver's tasks on worker threads (the same worker entry, Executor and engines as
 * the local backend: one thread per task slot), and serves its shuffle blocks and large results to peers over
 * TCP. When its lease ends (the driver stopped, or died and the lease expired) it drops the application's
 * threads, blocks and files, registers again under a new id, and serves the next driver.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { ClusterError } from '../../core/errors.js';
import type { TaskMessage, TaskOutcome, WorkerInit } from '../protocol.js';
import type { PeerShuffleService } from '../shuffle-fetcher.js';
import type { BucketCursor } from '../../shuffle/shuffle-manager.js';
import { expose, nodeEndpoint, transfer, wrap, type Remote } from '../local/comlink.js';
import type { PostedOutcome, WorkerApi } from '../local/worker-api.js';
import { TaskChannel } from '../local/task-channel.js';
import {
  decode,
  encode,
  HEARTBEAT_MS,
  HEARTBEAT_TTL_MS,
  INDIRECT_RESULT_BYTES,
  keys,
  Outbox,
  readStream,
  Trimmer,
  type ControlMessage,
  type ExecutorMessage,
  type PeerAddress,
  type SlotAssignment,
} from './control.js';
import { checkBind, FrameClient, startFrameServer, type FrameServer } from './wire.js';
import { processFlags, workerEntry, workerResourceLimits } from '../local/worker-entry.js';
import { newInterruptBuffer, requestInterrupt } from '../../core/task-interrupt.js';
import { afterKillGrace } from '../kill-grace.js';

const WORKER_ENTRY = workerEntry();

export interface ExecutorProcessOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly master: string;
  readonly cluster: string;
  /** Task slots: worker threads. */
  readonly cores: number;
  /** Memory for all slots, MiB: each thread's heap is at most memoryMB / cores. */
  readonly memoryMB: number;
  /** The address peers and drivers reach this executor at (and the one it binds). */
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly secret?: string;
  /**
   * This executor's own disk for spills, shuffle files and the mapreduce engine's job output (default: the OS
   * temp folder). Nothing in it is read by the driver or by other executors except through this process.
   */
  readonly localDir?: string;
  readonly log: (line: string) => void;
}

interface Thread {
  readonly slot: SlotAssignment;
  readonly worker: Worker;
  /** Every call but tasks; call `tasks.flush()` first, so that nothing overtakes a task sent before it. */
  readonly remote: Remote<WorkerApi>;
  readonly tasks: TaskChannel;
  /** The ids of tasks this thread is asked to stop (core/task-interrupt.ts). */
  readonly interrupts: SharedArrayBuffer;
  /** The thread's OS id, once it wrote it (WorkerInit.osThread), read by exec/kill-grace.ts. */
  readonly osThread: Int32Array;
  /** The thread's shuffle service, as its peers see it. */
  readonly serve: Remote<Required<PeerShuffleService>>;
  readonly inflight: Set<number>;
  /** Ports this executor serves for this thread's remote peers, by peer index. */
  readonly proxies: Map<number, { epoch: number; port: MessagePort }>;
  dead: boolean;
  /** Why the executor itself ended the thread (a cancelled task that did not stop, one past taskTimeoutMs). */
  endedBecause?: string;
  timedOutTask?: number;
  killedTask?: number;
  /** Tasks handed to the thread, in order: it computes the first; since when (as far as this process can tell). */
  readonly running: Set<number>;
  headSince: number;
  /**
   * Tasks waiting for broadcast values to arrive, in order: a later task of this slot waits behind them (it may
   * rely on the stage description an earlier one carries).
   */
  queued: number;
  queue: Promise<void>;
  readonly waiting: Set<number>;
  /** Waiting tasks the driver cancelled. */
  readonly cancelled: Set<number>;
}

interface App {
  readonly appId: string;
  readonly heapMb: number;
  readonly taskTimeoutMs: number;
  readonly init: Omit<WorkerInit, 'workerIndex' | 'spillDir' | 'epoch' | 'executorId'>;
  readonly dir: string;
  readonly threads: Map<number, Thread>;
  peers: Map<number, PeerAddress>;
  /** Serialized large outcomes waiting for the driver to fetch them, by task id. */
  readonly results: Map<number, Buffer>;
  /** Broadcast values of this application, fetched once for all the executor's slots (fetches, then values). */
  readonly broadcasts: Map<number, Promise<unknown>>;
  readonly broadcastValues: Map<number, unknown>;
  readonly outbox: Outbox<ExecutorMessage>;
}

export class ExecutorProcess {
  readonly #o: ExecutorProcessOptions;
  readonly #keys: ReturnType<typeof keys>;
  #redis!: Redis;
  #reader!: Redis;
  #server!: FrameServer;
  #id = '';
  #controlId = '0-0';
  #registrations = 0;
  #beats = 0;
  #app: App | undefined;
  #stopping = false;
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #clients = new Map<string, FrameClient>();
  #loop: Promise<void> | undefined;
  /** Between INCR and the registration's MULTI a heartbeat would find the new id unregistered. */
  #registering = false;
  /**
   * From an application's drop until the registration under a new id: the old id is still registered and beating,
   * so a driver may lease it; taking that lease would hold the new application under the new id, registered as idle.
   */
  #dropping = false;
  /** This registration's token in `executor:{id}`: another one there means Redis lost ours and gave the id out again. */
  #token = '';

  constructor(options: ExecutorProcessOptions) {
    this.#o = options;
    this.#keys = keys(options.cluster);
  }

  /** This process's folder: one subfolder per application, removed when the application is dropped. */
  get #root(): string {
    return path.join(this.#o.localDir ?? os.tmpdir(), `kindling-executor-${process.pid}`);
  }

  get id(): string {
    return this.#id;
  }

  /** Connects, listens, registers; resolves once the executor is ready for a driver. */
  async start(): Promise<void> {
    checkBind(this.#o.host, this.#o.secret);
    this.#redis = connect(this.#o.master, true);
    this.#reader = connect(this.#o.master);
    let why = '';
    for (const r of [this.#redis, this.#reader]) r.on('error', (e: Error) => (why = e.message));
    try {
      await Promise.all([this.#redis.connect(), this.#reader.connect()]);
    } catch (e) {
      this.#redis.disconnect();
      this.#reader.disconnect();
      throw new ClusterError(`cannot reach Redis at ${redactUrl(this.#o.master)} (cluster '${this.#o.cluster}'): ${why || (e as Error).message}`);
    }
    this.#server = await startFrameServer(
      this.#o.host,
      this.#o.port,
      this.#o.secret,
      (req) => this.#serve(req.body),
      (line) => this.#o.log(`kindling executor ${this.#id}: ${line}`),
    );
    await this.#register();
    this.#heartbeat = setInterval(() => void this.#beat(), HEARTBEAT_MS);
    this.#loop = this.#controlLoop();
  }

  async #register(): Promise<void> {
    const outer = this.#registering;
    this.#registering = true;
    try {
      await this.#registerOnce();
    } finally {
      this.#registering = outer;
    }
  }

  async #registerOnce(): Promise<void> {
    const old = this.#id;
    this.#token = randomBytes(8).toString('hex');
    this.#id = String(await this.#redis.incr(this.#keys.nextExecutor));
    this.#controlId = '0-0';
    const k = this.#keys;
    const p = this.#redis.multi();
    if (old !== '') p.srem(k.executors, old).del(k.executor(old), k.heartbeat(old), k.control(old));
    p.hset(k.executor(this.#id), {
      host: this.#o.host,
      port: String(this.#server.port),
      cores: String(this.#o.cores),
      memoryMB: String(this.#o.memoryMB),
      pid: String(process.pid),
      hostname: os.hostname(),
      // Ids restart at 1 when Redis loses its keys: drivers tell a new registration from an old one by this.
      token: this.#token,
    });
    p.set(k.heartbeat(this.#id), String(this.#beats), 'PX', HEARTBEAT_TTL_MS);
    p.sadd(k.executors, this.#id);
    await p.exec();
    this.#registrations++;
    const where = `cluster '${this.#o.cluster}', ${this.#o.host}:${this.#server.port}, ${this.#o.cores} cores, ${this.#o.memoryMB} MiB`;
    this.#o.log(
      this.#registrations === 1
        ? `kindling executor ${this.#id} registered and ready (${where})`
        : `kindling executor ${old} is idle again: registered as executor ${this.#id} (${where})`,
    );
  }

  /** Replaces threads whose current task has computed longer than the application's taskTimeoutMs. */
  #checkTimeouts(app: App): void {
    if (app.taskTimeoutMs <= 0) return;
    const now = Date.now();
    for (const t of this.#live(app)) {
      if (t.running.size === 0 || t.endedBecause !== undefined || now - t.headSince <= app.taskTimeoutMs) continue;
      const taskId = t.running.values().next().value!;
      t.timedOutTask = taskId;
      t.endedBecause = `task ${taskId} computed for more than taskTimeoutMs (${app.taskTimeoutMs} ms); slot ${t.slot.index} of executor ${this.#id} was replaced`;
      void t.worker.terminate();
    }
  }

  async #beat(): Promise<void> {
    if (this.#stopping) return;
    if (this.#app !== undefined) this.#checkTimeouts(this.#app);
    try {
      this.#beats++;
      const id = this.#id;
      // HMGET rather than HGET: HGET stays the broadcast fetch alone, which a spec counts to show one fetch per executor.
      const [[, tokens] = []] =
        (await this.#redis
          .multi()
          .hmget(this.#keys.executor(id), 'token')
          .set(this.#keys.heartbeat(id), String(this.#beats), 'PX', HEARTBEAT_TTL_MS)
          .exec()) ?? [];
      const registered = (tokens as Array<string | null> | undefined)?.[0];
      const app = this.#app;
      if (registered !== this.#token && this.#id === id && !this.#registering) {
        // Redis restarted without its data (or was flushed): no driver can find this executor, nor reach an
        // application's streams, and the id may be another executor's now. Registering again is the only way
        // back; a held application is gone with its lease.
        this.#registering = true;
        try {
          if (app !== undefined) await this.#dropApp(`registration ${id} vanished from Redis (restarted without its data?)`);
          else await this.#registerOnce();
        } finally {
          this.#registering = false;
        }
        return;
      }
      if (app !== undefined) {
        const holder = await this.#redis.get(this.#keys.lease(id));
        // The lease was released, expired (the driver died) or taken back (the driver declared us lost).
        if (holder !== app.appId && this.#app === app && this.#id === id) await this.#dropApp(`lease of application ${app.appId} ended`);
      }
    } catch {
      // Redis is away: keep serving what runs; the driver decides whether we are lost.
    }
  }

  async #controlLoop(): Promise<void> {
    const trimmer = new Trimmer(this.#redis);
    while (!this.#stopping) {
      const id = this.#id;
      let read: { messages: ControlMessage[]; lastId: string };
      try {
        read = await readStream<ControlMessage>(this.#reader, this.#keys.control(id), this.#controlId, 1000);
      } catch {
        if (this.#stopping) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      // Re-registered while the read was blocked: those messages belong to the old registration.
      if (id !== this.#id) continue;
      // A lease on a stream whose id Redis gave to another executor (it lost our registration) is that one's:
      // taking it too would run its slots twice. The next heartbeat registers this executor again.
      if (
        read.messages.some((m) => m.kind === 'lease') &&
        (await this.#redis.hmget(this.#keys.executor(id), 'token').then(
          ([t]) => t,
          () => this.#token,
        )) !== this.#token
      ) {
        this.#controlId = read.lastId;
        continue;
      }
      this.#controlId = read.lastId;
      for (const m of read.messages) this.#handle(m);
      if (read.messages.length > 0) trimmer.read(this.#keys.control(id), read.lastId);
    }
  }

  /** Handles one driver message, synchronously: threads see peers and stages before the tasks that need them. */
  #handle(m: ControlMessage): void {
    if (m.kind === 'lease') {
      if (this.#app !== undefined) return;
      if (this.#dropping) {
        // The driver loses the old id when its heartbeat goes with the registration, and leases the new one.
        this.#o.log(`kindling executor ${this.#id}: lease of application ${m.appId} ignored while dropping the last application`);
        return;
      }
      const dir = path.join(this.#root, m.appId);
      const app: App = {
        appId: m.appId,
        heapMb: m.heapMb,
        taskTimeoutMs: m.taskTimeoutMs,
        init: m.init,
        dir,
        threads: new Map(),
        peers: new Map(),
        results: new Map(),
        broadcasts: new Map(),
        broadcastValues: new Map(),
        outbox: new Outbox<ExecutorMessage>(this.#redis, this.#keys.outcomes(m.appId), {
          // The driver made the stream before the lease and deletes it at stop(): an outcome of a task that ended
          // after that must not make it again (it stayed in Redis for good).
          onlyIfExists: true,
          // Every message matters to the driver (a lost slotReady left its slot starting, a lost outcome its task
          // running): sent again while the application is held. The driver ignores one it has already seen.
          failed: (batch) => (this.#app === app && !this.#stopping ? batch : []),
        }),
      };
      this.#app = app;
      this.#o.log(`kindling executor ${this.#id}: leased by application ${m.appId}`);
      return;
    }
    const app = this.#app;
    if (app === undefined) return;
    switch (m.kind) {
      case 'slots':
        // A message Redis took but whose reply was lost is sent again: a slot already started is not started twice.
        for (const s of m.slots) if (app.threads.get(s.index)?.slot.epoch !== s.epoch) this.#startThread(app, s);
        this.#connectPeers(app);
        return;
      case 'peers':
        this.#setPeers(app, m.peers);
        return;
      case 'task': {
        const t = app.threads.get(m.index);
        if (t === undefined || t.dead || t.slot.epoch !== m.task.epoch) {
          this.#send(app, {
            kind: 'outcome',
            index: m.index,
            epoch: m.task.epoch,
            taskId: m.task.taskId,
            outcome: lost(m.index, m.task.epoch, `slot ${m.index} (epoch ${m.task.epoch}) is not on executor ${this.#id}`),
          });
          return;
        }
        if (t.inflight.has(m.task.taskId)) return;
        t.inflight.add(m.task.taskId);
        this.#enqueue(app, t, m.index, m.task, m.broadcastIds ?? []);
        return;
      }
      case 'cancel': {
        const t = app.threads.get(m.index);
        if (t === undefined || t.dead || !t.inflight.has(m.taskId)) return;
        // Still waiting here for broadcast values: the thread has not seen it, so it is dropped here.
        if (t.waiting.has(m.taskId)) t.cancelled.add(m.taskId);
        // A computing task stops at its next check (core/task-interrupt.ts); the message drops a queued one.
        requestInterrupt(t.interrupts, m.taskId);
        call(t)
          .cancelTask(m.taskId)
          .catch(() => undefined);
        if (m.graceMs !== undefined) {
          // Terminated only once the thread had the grace's time to compute in (a starved thread waits: exec/kill-grace.ts).
          afterKillGrace(
            t.osThread,
            m.graceMs,
            () => !t.dead && t.inflight.has(m.taskId),
            (ms) => {
              t.killedTask = m.taskId;
              t.endedBecause = `task ${m.taskId} of a cancelled job still computed ${ms} ms later; slot ${m.index} was replaced`;
              void t.worker.terminate();
            },
          );
        }
        return;
      }
      case 'removeShuffle':
        for (const t of this.#live(app))
          call(t)
            .removeShuffle(m.id)
            .catch(() => undefined);
        return;
      case 'removeRdd':
        for (const t of this.#live(app))
          call(t)
            .removeRdd(m.id, m.beforeGeneration)
            .catch(() => undefined);
        return;
      case 'removeBroadcast':
        app.broadcasts.delete(m.id);
        app.broadcastValues.delete(m.id);
        for (const t of this.#live(app))
          call(t)
            .removeBroadcast(m.id)
            .catch(() => undefined);
        return;
      case 'releaseStages':
        for (const t of this.#live(app))
          call(t)
            .releaseStages([...m.ids])
            .catch(() => undefined);
        return;
      case 'release':
        void this.#dropApp(`released by application ${app.appId}`);
        return;
    }
  }

  /** The value of broadcast `id`: fetched from Redis by the first slot of this executor that needs it. */
  #fetchBroadcast(app: App, id: number): Promise<unknown> {
    let p = app.broadcasts.get(id);
    if (p === undefined) {
      p = this.#redis.hgetBuffer(this.#keys.broadcasts(app.appId), String(id)).then((buf) => {
        if (buf === null) throw new ClusterError(`broadcast ${id} of application ${app.appId} is not in Redis (destroyed?)`);
        const value = decode<unknown>(buf);
        app.broadcastValues.set(id, value);
        return value;
      });
      app.broadcasts.set(id, p);
      p.catch(() => app.broadcasts.delete(id));
    }
    return p;
  }

  /**
   * Hands a task to its thread. One whose broadcast values are all here goes at once; otherwise it waits for
   * them, and the slot's later tasks wait behind it (they may rely on the stage description it carries).
   */
  #enqueue(app: App, t: Thread, index: number, task: TaskMessage, ids: readonly number[]): void {
    if (t.queued === 0 && ids.every((id) => app.broadcastValues.has(id))) {
      this.#dispatch(app, t, index, task, ids);
      return;
    }
    t.queued++;
    t.waiting.add(task.taskId);
    t.queue = t.queue
      .then(async () => {
        try {
          await Promise.all(ids.map((id) => this.#fetchBroadcast(app, id)));
        } catch (e) {
          t.inflight.delete(task.taskId);
          const error = { name: 'ClusterError', code: 'KINDLING_CLUSTER', message: `executor ${this.#id}: ${(e as Error).message}` };
          this.#send(app, {
            kind: 'outcome',
            index,
            epoch: task.epoch,
            taskId: task.taskId,
            outcome: { status: 'failed', epoch: task.epoch, failure: { kind: 'exception', error }, blockUpdates: [] },
          });
          return;
        }
        this.#dispatch(app, t, index, task, ids);
      })
      .finally(() => {
        t.queued--;
        t.waiting.delete(task.taskId);
      });
  }

  #dispatch(app: App, t: Thread, index: number, task: TaskMessage, ids: readonly number[]): void {
    if (t.dead || this.#app !== app || !t.inflight.has(task.taskId)) return;
    if (t.cancelled.delete(task.taskId)) {
      t.inflight.delete(task.taskId);
      const outcome: TaskOutcome = {
        status: 'failed',
        epoch: task.epoch,
        failure: { kind: 'killed', message: `task ${task.taskId} was cancelled` },
        blockUpdates: [],
      };
      this.#send(app, { kind: 'outcome', index, epoch: task.epoch, taskId: task.taskId, outcome });
      return;
    }
    const message = ids.length === 0 ? task : { ...task, broadcasts: ids.map((id) => [id, app.broadcastValues.get(id)] as const) };
    if (t.running.size === 0) t.headSince = Date.now();
    t.running.add(task.taskId);
    t.tasks.send(message, (outcome) => {
      const wasHead = t.running.values().next().value === task.taskId;
      t.running.delete(task.taskId);
      if (wasHead) t.headSince = Date.now();
      if (!t.inflight.delete(task.taskId) || this.#app !== app) return;
      this.#sendOutcome(app, index, t.slot.epoch, task.taskId, outcome);
    });
  }

  #live(app: App): Thread[] {
    return [...app.threads.values()].filter((t) => !t.dead);
  }

  #startThread(app: App, slot: SlotAssignment): void {
    const spillDir = path.join(app.dir, `slot-${slot.index}-${slot.epoch}`);
    const init: WorkerInit = {
      ...app.init,
      workerIndex: slot.index,
      epoch: slot.epoch,
      executorId: slot.executorId,
      spillDir,
      // Job output goes to this executor's disk, not to the driver's folder: the driver gets it with the outcome.
      jobOutputRoot: path.join(app.dir, 'jobs'),
      jobOutputIsLocal: true,
      processFlags: processFlags(),
      interrupts: newInterruptBuffer(),
      osThread: new SharedArrayBuffer(4),
    };
    const heapMb = Math.max(64, Math.min(app.heapMb, Math.floor(this.#o.memoryMB / this.#o.cores)));
    const worker = new Worker(WORKER_ENTRY, { workerData: init, resourceLimits: workerResourceLimits(heapMb) });
    const remote = wrap<WorkerApi>(nodeEndpoint(worker as never));
    const ch = new MessageChannel();
    remote.connectPeer(-1, -1, null, transfer(ch.port2, [ch.port2 as never]) as never).catch(() => undefined);
    ch.port1.unref();
    const thread: Thread = {
      slot,
      worker,
      remote,
      tasks: new TaskChannel(worker),
      interrupts: init.interrupts!,
      osThread: new Int32Array(init.osThread!),
      serve: wrap<Required<PeerShuffleService>>(nodeEndpoint(ch.port1 as never)),
      inflight: new Set(),
      proxies: new Map(),
      dead: false,
      queued: 0,
      queue: Promise.resolve(),
      waiting: new Set(),
      cancelled: new Set(),
      running: new Set(),
      headSince: 0,
    };
    let lastError: Error | undefined;
    worker.on('error', (e) => (lastError = e));
    worker.on('exit', (code) => {
      thread.dead = true;
      rmSync(spillDir, { recursive: true, force: true });
      for (const p of thread.proxies.values()) p.port.close();
      if (this.#app !== app || app.threads.get(slot.index) !== thread) return;
      const oom = (lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const reason =
        thread.endedBecause ??
        (oom
          ? `slot ${slot.index} of executor ${this.#id} ran out of memory (heap limit ${heapMb} MiB): use more partitions, or reduceByKey/aggregateByKey instead of groupByKey`
          : `slot ${slot.index} of executor ${this.#id} exited with code ${code}${lastError ? ` (${lastError.message})` : ''}`);
      for (const other of this.#live(app))
        call(other)
          .peerLost(slot.index, slot.epoch)
          .catch(() => undefined);
      this.#send(app, {
        kind: 'slotLost',
        executor: this.#id,
        index: slot.index,
        epoch: slot.epoch,
        reason,
        ...(thread.timedOutTask !== undefined ? { timedOutTask: thread.timedOutTask } : {}),
        ...(thread.killedTask !== undefined ? { killedTask: thread.killedTask } : {}),
      });
    });
    app.threads.set(slot.index, thread);
    remote.ping().then(
      () => {
        if (!thread.dead && this.#app === app) this.#send(app, { kind: 'slotReady', executor: this.#id, index: slot.index, epoch: slot.epoch });
      },
      () => undefined,
    );
  }

  /** Threads of this executor talk to each other over message channels, as in the local backend. */
  #connectPeers(app: App): void {
    const threads = this.#live(app);
    for (const a of threads) {
      for (const b of threads) {
        if (a.slot.index >= b.slot.index) continue;
        const ab = new MessageChannel();
        const ba = new MessageChannel();
        a.remote
          .connectPeer(b.slot.index, b.slot.epoch, transfer(ab.port1, [ab.port1 as never]) as never, transfer(ba.port2, [ba.port2 as never]) as never)
          .catch(() => undefined);
        b.remote
          .connectPeer(a.slot.index, a.slot.epoch, transfer(ba.port1, [ba.port1 as never]) as never, transfer(ab.port2, [ab.port2 as never]) as never)
          .catch(() => undefined);
      }
    }
    this.#setPeers(app, [...app.peers.values()]);
  }

  /**
   * The driver's table of every slot of the application. Each local thread gets a channel to every remote slot;
   * its other end is served here by forwarding the fetch over TCP to the executor holding that slot.
   */
  #setPeers(app: App, peers: readonly PeerAddress[]): void {
    const next = new Map<number, PeerAddress>();
    for (const p of peers) if (!app.threads.has(p.index) || app.threads.get(p.index)!.slot.epoch !== p.epoch) next.set(p.index, p);
    for (const [index, old] of app.peers) {
      if (next.get(index)?.epoch === old.epoch) continue;
      for (const t of this.#live(app)) {
        call(t)
          .peerLost(index, old.epoch)
          .catch(() => undefined);
        const proxy = t.proxies.get(index);
        if (proxy?.epoch === old.epoch) {
          proxy.port.close();
          t.proxies.delete(index);
        }
      }
    }
    app.peers = next;
    for (const t of this.#live(app)) {
      for (const p of next.values()) {
        if (t.proxies.get(p.index)?.epoch === p.epoch) continue;
        const ch = new MessageChannel();
        // Both requests name the peer's output the same way; a part also says where to go on from and how much.
        const about = (shuffleId: number, mapIds: readonly number[], reduceId: number) =>
          ({ index: p.index, epoch: p.epoch, shuffleId, mapIds: [...mapIds], reduceId }) as const;
        const service: PeerShuffleService = {
          fetchBuckets: (shuffleId, mapIds, reduceId) =>
            this.#client(p.host, p.port).request({ kind: 'fetch', ...about(shuffleId, mapIds, reduceId) }) as never,
          fetchParts: (shuffleId, mapIds, reduceId, at, maxBytes) =>
            this.#client(p.host, p.port).request({ kind: 'fetchParts', ...about(shuffleId, mapIds, reduceId), at, maxBytes }) as never,
          fetchBlock: (rddId, partition, generation) =>
            this.#client(p.host, p.port).request({ kind: 'fetchBlock', index: p.index, epoch: p.epoch, rddId, partition, generation }) as never,
        };
        expose(service, nodeEndpoint(ch.port2 as never));
        ch.port2.unref();
        t.proxies.set(p.index, { epoch: p.epoch, port: ch.port2 });
        call(t)
          .connectPeer(p.index, p.epoch, transfer(ch.port1, [ch.port1 as never]) as never, null)
          .catch(() => undefined);
      }
    }
  }

  #client(host: string, port: number): FrameClient {
    const key = `${host}:${port}`;
    let c = this.#clients.get(key);
    if (c === undefined || c.closed) {
      c = new FrameClient(host, port, this.#o.secret).unref();
      this.#clients.set(key, c);
    }
    return c;
  }

  /** What peers and the driver ask of this executor over TCP. */
  async #serve(body: unknown): Promise<unknown> {
    const req = body as {
      kind: string;
      index?: number;
      epoch?: number;
      shuffleId?: number;
      mapIds?: number[];
      reduceId?: number;
      at?: BucketCursor;
      maxBytes?: number;
      taskId?: number;
      appId?: string;
      rddId?: number;
      partition?: number;
      generation?: number;
    };
    const app = this.#app;
    if (req.kind === 'ping') return this.#id;
    if (app === undefined) throw new ClusterError(`executor ${this.#id} runs no application`);
    if (req.kind === 'fetch' || req.kind === 'fetchParts' || req.kind === 'fetchBlock') {
      const t = app.threads.get(req.index!);
      if (t === undefined || t.dead || t.slot.epoch !== req.epoch)
        throw new ClusterError(`slot ${req.index} (epoch ${req.epoch}) is not on executor ${this.#id}`);
      if (req.kind === 'fetchBlock') return t.serve.fetchBlock(req.rddId!, req.partition!, req.generation!);
      if (req.kind === 'fetchParts') return t.serve.fetchParts(req.shuffleId!, req.mapIds!, req.reduceId!, req.at!, req.maxBytes!);
      return t.serve.fetchBuckets(req.shuffleId!, req.mapIds!, req.reduceId!);
    }
    if (req.kind === 'result' && req.appId === app.appId) {
      const buf = app.results.get(req.taskId!);
      if (buf === undefined) throw new ClusterError(`executor ${this.#id} holds no result of task ${req.taskId}`);
      app.results.delete(req.taskId!);
      return buf;
    }
    throw new ClusterError(`executor ${this.#id}: unknown request '${req.kind}'`);
  }

  #sendOutcome(app: App, index: number, epoch: number, taskId: number, outcome: PostedOutcome): void {
    let encoded: Buffer | undefined;
    // Only an object (or a result packed as columns) can be large; numbers and short strings need no size check.
    if (outcome.status === 'success' && ('pairs' in outcome || (typeof outcome.value === 'object' && outcome.value !== null))) {
      encoded = encode(outcome);
      if (encoded.length > INDIRECT_RESULT_BYTES) {
        app.results.set(taskId, encoded);
        this.#send(app, { kind: 'indirect', index, epoch, taskId, bytes: encoded.length });
        return;
      }
    }
    this.#send(app, { kind: 'outcome', index, epoch, taskId, outcome });
  }

  /** Queues a message for the driver (a Redis that is away loses it: the driver then declares this executor lost). */
  #send(app: App, m: ExecutorMessage): void {
    app.outbox.push(m);
  }

  async #dropApp(why: string): Promise<void> {
    const app = this.#app;
    if (app === undefined) return;
    this.#app = undefined;
    this.#dropping = true;
    try {
      this.#o.log(`kindling executor ${this.#id}: ${why}; dropping its threads, blocks and files`);
      await Promise.all([...app.threads.values()].map((t) => t.worker.terminate().catch(() => undefined)));
      for (const c of this.#clients.values()) c.close();
      this.#clients.clear();
      rmSync(app.dir, { recursive: true, force: true });
      if (!this.#stopping) await this.#register().catch(() => undefined);
    } finally {
      this.#dropping = false;
    }
  }

  /** Leaves the cluster: the driver hears of every slot at once (not after executorTimeoutMs). */
  async stop(reason: string): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const app = this.#app;
    if (app !== undefined) {
      for (const t of app.threads.values())
        app.outbox.push({
          kind: 'slotLost',
          executor: this.#id,
          index: t.slot.index,
          epoch: t.slot.epoch,
          reason: `executor ${this.#id} left: ${reason}`,
        });
      await app.outbox.drain();
      this.#app = undefined;
      await Promise.all([...app.threads.values()].map((t) => t.worker.terminate().catch(() => undefined)));
    }
    rmSync(this.#root, { recursive: true, force: true });
    const k = this.#keys;
    await this.#redis
      .multi()
      .srem(k.executors, this.#id)
      .del(k.executor(this.#id), k.heartbeat(this.#id), k.control(this.#id))
      .exec()
      .catch(() => undefined);
    this.#reader.disconnect();
    await Promise.race([this.#loop?.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.#redis.quit().catch(() => undefined);
    for (const c of this.#clients.values()) c.close();
    await this.#server.close();
  }
}

function lost(workerIndex: number, epoch: number, message: string): TaskOutcome {
  return { status: 'failed', epoch, failure: { kind: 'workerLost', workerIndex, message, causedByApp: false }, blockUpdates: [] };
}

/**
 * A Redis connection that retries after the first connect; the first must succeed (see `start`). `pipelined`:
 * the commands of one turn of the event loop go in one write (not for a connection that blocks in XREAD). ioredis
 * is loaded here, on first use, not when kindling is imported: every program imports this module through the
 * backends, and loading ioredis cost 40-120 ms of each local script's start-up.
 */
export function connect(url: string, pipelined = false): Redis {
  const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  return new Redis(url, {
    enableAutoPipelining: pipelined,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
  });
}

/** The Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}

/** A thread's comlink calls, after the tasks queued for it: nothing sent after a task may overtake it. */
function call(t: Thread): Remote<WorkerApi> {
  t.tasks.flush();
  return t.remote;
}
