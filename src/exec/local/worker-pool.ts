/**
 * The local backend: N worker threads, each running an Executor, reached over comlink. Every pair of workers
 * gets its own message channels so reduce tasks fetch shuffle buckets from peers directly, never through the
 * driver.
 *
 * Each worker index is filled by a sequence of incarnations; the incarnation number (the epoch) travels with
 * every task, outcome and peer channel, so nothing from a dead worker is ever mistaken for its replacement
 * (a late `close` of a dead worker's channel cannot drop the replacement's, a late outcome cannot free a slot
 * of the new worker).
 *
 * comlink never rejects a call whose worker died and has no timeout, so the pool owns every in-flight task:
 * it watches each worker's `error` and `exit` events, settles the tasks of a dead worker as `workerLost`
 * failures, and starts a replacement. Starting is bounded: a start that dies or does not answer within
 * `startTimeoutMs` is retried (Spark requests a new executor) up to `maxStartFailures` consecutive times for
 * that index; only then is the index given up, and only when every index is given up does the pool fail.
 */
import { Worker, MessageChannel } from 'node:worker_threads';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { wrap, transfer, nodeEndpoint, type Remote } from './comlink.js';
import type { BackendFaults, BackendListener, BackendSnapshot, TaskBackend } from '../task-backend.js';
import type { TaskMessage, TaskOutcome, WorkerInit } from '../protocol.js';
import { readsPairColumns, unpackOutcome, type WorkerApi } from './worker-api.js';
import { TaskChannel, TaskSendTurn } from './task-channel.js';
import { processFlags, workerEntry, workerResourceLimits } from './worker-entry.js';
import { InvalidArgumentError, ContextStoppedError } from '../../core/errors.js';
import { hopTraceOn } from '../../util/hop-trace.js';
import { newInterruptBuffer, requestInterrupt } from '../../core/task-interrupt.js';
import { afterKillGrace } from '../kill-grace.js';

/** Chosen once per process: the bundle, when the build made a current one (see worker-entry.ts). */
const WORKER_ENTRY = workerEntry();

export interface WorkerPoolOptions {
  readonly numWorkers: number;
  /** Heap limit of each worker thread, in MiB (undefined: Node's default). */
  readonly maxHeapMb?: number;
  /** Root folder of the workers' spill folders (one per worker incarnation). */
  readonly spillRoot: string;
  /** What every worker starts with (its index, epoch and spill folder are added per incarnation). */
  readonly worker: Omit<WorkerInit, 'workerIndex' | 'spillDir' | 'epoch' | 'executorId'>;
  /** How long a starting worker may take to answer before it is replaced (default 60 s). */
  readonly startTimeoutMs?: number;
  /** Consecutive failed starts of one index before it is given up (default 3). */
  readonly maxStartFailures?: number;
  /** A task computing longer than this has its worker replaced and fails (0 or undefined: no limit). */
  readonly taskTimeoutMs?: number;
}

type Settle = (o: TaskOutcome) => void;

interface InFlight {
  readonly settle: Settle;
  /** When the driver sent it; the worker computes its tasks one after another, in this order. */
  readonly sentAt: number;
}

interface Slot {
  readonly index: number;
  readonly epoch: number;
  readonly executorId: string;
  readonly worker: Worker;
  /** Every call but tasks; use {@link call}, which sends the queued tasks first. */
  readonly remote: Remote<WorkerApi>;
  readonly tasks: TaskChannel;
  /** The ids of tasks this thread is asked to stop (core/task-interrupt.ts). */
  readonly interrupts: SharedArrayBuffer;
  /** The thread's OS id, once it wrote it (0 before, or where there is none): read by exec/kill-grace.ts. */
  readonly osThread: Int32Array;
  readonly spillDir: string;
  /** In send order: the first is the one computing. */
  readonly inflight: Map<number, InFlight>;
  state: 'starting' | 'ready' | 'dead';
  lastError: Error | undefined;
  /** The driver terminated it on purpose: its tasks' failures are not the tasks' fault. */
  killedByDriver: boolean;
  /**
   * A task that ran past taskTimeoutMs (the one task whose failure is its own fault), or, with `cancelled`, a
   * task of a cancelled job that was still computing `ms` after it was asked to stop.
   */
  timedOut: { taskId: number; ms: number; cancelled?: boolean } | undefined;
  /** When the task now at the head of `inflight` started computing (as far as the driver can tell). */
  headSince: number;
  /** Resolves when this incarnation exits, with its exit code. */
  readonly exited: Promise<number>;
}

export class WorkerPool implements TaskBackend {
  readonly numWorkers: number;
  readonly #options: WorkerPoolOptions;
  /** The current incarnation of each index (dead ones stay until replaced). */
  readonly #slots: Slot[] = [];
  /** Next epoch per index: a replacement never reuses a dead worker's epoch or spill folder. */
  readonly #epochs: number[] = [];
  /** Executor ids are handed out in start order and never reused (Spark's). */
  #nextExecutorId = 0;
  /** The workers' task channels send together, once per turn of the event loop. */
  readonly #sendTurn = new TaskSendTurn();
  /** Consecutive failed starts per index (reset when a start succeeds). */
  readonly #startFailures: number[] = [];
  /** Indexes given up after too many failed starts. */
  readonly #givenUp = new Map<number, string>();
  #listener: BackendListener | undefined;
  #stopping = false;
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (e: Error) => void;
  #readySettled = false;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.numWorkers = options.numWorkers;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Surfaced to whoever awaits ready(); never an unhandled rejection.
    this.#ready.catch(() => undefined);
    for (let i = 0; i < this.numWorkers; i++) {
      this.#epochs.push(0);
      this.#startFailures.push(0);
    }
    for (let i = 0; i < this.numWorkers; i++) void this.#start(i, false);
    if (options.taskTimeoutMs) {
      this.#watchdog = setInterval(() => this.#checkTimeouts(), Math.max(10, Math.min(1000, options.taskTimeoutMs / 4)));
      this.#watchdog.unref();
    }
  }

  ready(): Promise<void> {
    return this.#ready;
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

  // ---- starting workers ---------------------------------------------------------------------------------------

  #spawn(index: number): Slot {
    const epoch = this.#epochs[index]!++;
    const executorId = String(this.#nextExecutorId++);
    const spillDir = path.join(this.#options.spillRoot, `worker-${index}-${epoch}`);
    const init: WorkerInit = {
      ...this.#options.worker,
      sharedShuffleOutputs: sharedShuffleOutputs(),
      workerIndex: index,
      epoch,
      executorId,
      spillDir,
      processFlags: processFlags(),
      interrupts: newInterruptBuffer(),
      osThread: new SharedArrayBuffer(4),
    };
    const worker = new Worker(WORKER_ENTRY, {
      workerData: init,
      execArgv: workerExecArgv(),
      resourceLimits: workerResourceLimits(this.#options.maxHeapMb),
    });
    let onExit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (onExit = resolve));
    const slot: Slot = {
      index,
      epoch,
      executorId,
      worker,
      remote: wrap<WorkerApi>(nodeEndpoint(worker as never)),
      tasks: new TaskChannel(worker, this.#sendTurn),
      interrupts: init.interrupts!,
      osThread: new Int32Array(init.osThread!),
      spillDir,
      inflight: new Map(),
      state: 'starting',
      lastError: undefined,
      killedByDriver: false,
      timedOut: undefined,
      headSince: 0,
      exited,
    };
    // Workers alone do not keep the process alive: a running job holds the context's keep-alive handle.
    worker.unref();
    worker.on('error', (e) => {
      slot.lastError = e;
    });
    worker.on('exit', (code) => {
      // A dead worker's spilled blocks are lost with it (its cache is recomputed from lineage).
      rmSync(spillDir, { recursive: true, force: true });
      const wasReady = slot.state === 'ready';
      slot.state = 'dead';
      onExit(code);
      if (wasReady) this.#lost(slot, code);
    });
    return slot;
  }

  /**
   * Starts index `index` until an incarnation answers, or gives the index up after `maxStartFailures`
   * consecutive failures. A start the driver itself killed (fault injection) is retried without counting.
   */
  async #start(index: number, replacement: boolean): Promise<void> {
    const maxFailures = this.#options.maxStartFailures ?? 3;
    while (!this.#stopping) {
      const slot = this.#spawn(index);
      this.#slots[index] = slot;
      const answered = await this.#whenAnswering(slot);
      if (this.#stopping) return;
      if (answered === true && slot.state === 'starting') {
        this.#startFailures[index] = 0;
        this.#connectAndMarkReady(slot, replacement);
        return;
      }
      const reason = answered === true ? `worker ${index} died during start-up` : answered;
      if (!slot.killedByDriver) this.#startFailures[index]!++;
      if (this.#startFailures[index]! >= maxFailures) {
        this.#giveUp(index, `${reason} (${this.#startFailures[index]} consecutive failed starts)`);
        return;
      }
      // Back off a little: a start that failed for want of memory may succeed once the heap settles.
      await new Promise((r) => setTimeout(r, 50 * this.#startFailures[index]!));
    }
  }

  /** True once the worker answers a ping; otherwise why it did not (it died, or did not answer in time). */
  async #whenAnswering(slot: Slot): Promise<true | string> {
    const timeoutMs = this.#options.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      slot.remote.ping().then(
        () => true as const,
        (e: unknown) => `worker ${slot.index} could not be reached: ${(e as Error)?.message ?? e}`,
      ),
      slot.exited.then((code) => describeStartDeath(slot, code)),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`worker ${slot.index} did not answer within ${timeoutMs} ms of starting`), timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (outcome !== true && slot.state !== 'dead') {
      await slot.worker.terminate().catch(() => undefined);
      await slot.exited;
    }
    return outcome;
  }

  /**
   * Connects a started worker with every ready peer and marks it ready, in one synchronous step: two workers
   * finishing their start at the same time therefore always see each other exactly once. Nothing is awaited:
   * a peer receives its port on the same ordered channel as its tasks, so it holds the port before it can run
   * a task that reads from the new worker, and a busy peer cannot hold up the new worker's start.
   */
  #connectAndMarkReady(slot: Slot, replacement: boolean): void {
    for (const peer of this.#slots) {
      if (peer === slot || peer.state !== 'ready') continue;
      const ab = new MessageChannel();
      const ba = new MessageChannel();
      call(slot)
        .connectPeer(peer.index, peer.epoch, transfer(ab.port1, [ab.port1 as never]) as never, transfer(ba.port2, [ba.port2 as never]) as never)
        .catch(() => undefined);
      call(peer)
        .connectPeer(slot.index, slot.epoch, transfer(ba.port1, [ba.port1 as never]) as never, transfer(ab.port2, [ab.port2 as never]) as never)
        .catch(() => undefined);
    }
    slot.state = 'ready';
    this.#givenUp.delete(slot.index);
    if (!this.#readySettled && this.#slots.length === this.numWorkers && this.#allSettled()) this.#settleReady();
    this.#listener?.workerReady(slot.index, slot.executorId, replacement);
  }

  #giveUp(index: number, reason: string): void {
    this.#givenUp.set(index, reason);
    if (!this.#readySettled && this.#allSettled()) this.#settleReady();
    this.#listener?.workerFailed(index, reason);
  }

  #allSettled(): boolean {
    for (let i = 0; i < this.numWorkers; i++) if (this.#slots[i]?.state !== 'ready' && !this.#givenUp.has(i)) return false;
    return true;
  }

  #settleReady(): void {
    this.#readySettled = true;
    if (this.#givenUp.size < this.numWorkers) this.#resolveReady();
    else this.#rejectReady(new Error(`no worker could start: ${[...this.#givenUp.values()].join('; ')}`));
  }

  // ---- tasks --------------------------------------------------------------------------------------------------

  cancelTask(workerIndex: number, taskId: number): void {
    const slot = this.#slots[workerIndex];
    if (slot?.state === 'ready' && slot.inflight.has(taskId)) {
      // Dropped from the queue when the thread reads the message; stopped at its next check if it computes by then.
      requestInterrupt(slot.interrupts, taskId);
      call(slot)
        .cancelTask(taskId)
        .catch(() => undefined);
    }
  }

  /**
   * Cancels a task: dropped by its worker if it has not started, stopped at the next record its engine loops pass if
   * it computes (core/task-interrupt.ts); if it is still computing after `graceMs` (a user's function that loops
   * without passing a record cannot be interrupted), its worker is terminated and replaced through the same path as
   * a task past taskTimeoutMs.
   */
  killTask(workerIndex: number, taskId: number, graceMs: number): void {
    const slot = this.#slots[workerIndex];
    if (slot?.state !== 'ready' || !slot.inflight.has(taskId)) return;
    requestInterrupt(slot.interrupts, taskId);
    call(slot)
      .cancelTask(taskId)
      .catch(() => undefined);
    // Terminated only once the thread had the grace's time to compute in (a starved thread waits: exec/kill-grace.ts).
    afterKillGrace(
      slot.osThread,
      graceMs,
      () =>
        !(this.#stopping || this.#slots[workerIndex] !== slot || slot.state !== 'ready' || !slot.inflight.has(taskId) || slot.timedOut !== undefined),
      (ms) => {
        slot.timedOut = { taskId, ms, cancelled: true };
        void slot.worker.terminate();
      },
    );
  }

  runTask(workerIndex: number, task: TaskMessage): Promise<TaskOutcome> {
    const slot = this.#slots[workerIndex];
    if (slot === undefined || slot.state !== 'ready' || slot.epoch !== task.epoch) {
      return Promise.resolve(lost(workerIndex, task.epoch, `worker ${workerIndex} (epoch ${task.epoch}) is not available`, false));
    }
    return new Promise<TaskOutcome>((resolve) => {
      const now = Date.now();
      if (slot.inflight.size === 0) {
        slot.headSince = now;
        task.alone = true;
      } else if (task.alone) delete task.alone;
      slot.inflight.set(task.taskId, { settle: resolve, sentAt: now });
      const keepColumns = readsPairColumns(task);
      slot.tasks.send(task, (o) => {
        const wasHead = slot.inflight.keys().next().value === task.taskId;
        if (!slot.inflight.delete(task.taskId)) return;
        if (wasHead) slot.headSince = Date.now();
        resolve(unpackOutcome(o, keepColumns));
      });
    });
  }

  /** Replaces workers whose current task has computed longer than taskTimeoutMs. */
  #checkTimeouts(): void {
    const limit = this.#options.taskTimeoutMs!;
    const now = Date.now();
    for (const slot of this.#slots) {
      if (slot.state !== 'ready' || slot.inflight.size === 0 || slot.timedOut !== undefined) continue;
      if (now - slot.headSince <= limit) continue;
      const taskId = slot.inflight.keys().next().value!;
      slot.timedOut = { taskId, ms: limit };
      void slot.worker.terminate();
    }
  }

  #lost(slot: Slot, code: number): void {
    const inflight = [...slot.inflight];
    slot.inflight.clear();
    if (this.#stopping) {
      for (const [, t] of inflight) t.settle(lost(slot.index, slot.epoch, 'the context was stopped', false));
      return;
    }
    const reason = describeExit(slot, code, this.#options.maxHeapMb);
    for (const [taskId, t] of inflight) {
      if (slot.timedOut?.taskId === taskId && slot.timedOut.cancelled) {
        // Killed, as Spark reports a task of a cancelled job: replacing its worker was only how the kill took.
        const message = `task ${taskId} was cancelled and still computed ${slot.timedOut.ms} ms later; worker ${slot.index} was replaced`;
        t.settle({ status: 'failed', epoch: slot.epoch, failure: { kind: 'killed', message }, blockUpdates: [] });
      } else if (slot.timedOut?.taskId === taskId) {
        const message = `task ${taskId} computed for more than taskTimeoutMs (${slot.timedOut.ms} ms); worker ${slot.index} was replaced`;
        t.settle(lost(slot.index, slot.epoch, message, true, true));
      } else {
        t.settle(lost(slot.index, slot.epoch, reason, !slot.killedByDriver && slot.timedOut === undefined));
      }
    }
    // Peers waiting on this worker's shuffle output fail those fetches now instead of waiting forever.
    for (const peer of this.#slots) {
      if (peer !== slot && peer.state === 'ready')
        call(peer)
          .peerLost(slot.index, slot.epoch)
          .catch(() => undefined);
    }
    this.#listener?.workerLost(slot.index, slot.executorId, reason);
    // A worker that died on its own with nothing to do counts like a failed start, so a worker that cannot
    // stay up is given up instead of being restarted forever.
    if (inflight.length === 0 && !slot.killedByDriver) this.#startFailures[slot.index]!++;
    void this.#start(slot.index, true);
  }

  removeShuffle(shuffleId: number): void {
    for (const s of this.#slots)
      if (s.state === 'ready')
        call(s)
          .removeShuffle(shuffleId)
          .catch(() => undefined);
  }

  removeRdd(rddId: number, beforeGeneration?: number): Promise<void> {
    // With the tasks on the task channel (see RddRemoval): no call and answer of its own.
    for (const s of this.#slots) if (s.state === 'ready') s.tasks.removeRdd(rddId, beforeGeneration);
    return Promise.resolve();
  }

  removeBroadcast(id: number): void {
    for (const s of this.#slots)
      if (s.state === 'ready')
        call(s)
          .removeBroadcast(id)
          .catch(() => undefined);
  }

  releaseStages(stageIds: readonly number[]): void {
    if (stageIds.length === 0) return;
    // With the tasks on the task channel (see RunTasks): no call and answer of its own.
    for (const s of this.#slots) if (s.state === 'ready') s.tasks.releaseStages(stageIds);
  }

  readonly faults: BackendFaults = { killWorker: (index) => this.#kill(index) };

  async #kill(index: number): Promise<void> {
    if (!Number.isInteger(index) || index < 0 || index >= this.numWorkers) {
      throw new InvalidArgumentError(`no worker ${index}: the pool has ${this.numWorkers}`);
    }
    const slot = this.#slots[index];
    if (slot === undefined || slot.state === 'dead') return;
    slot.lastError = new Error('killed by sc.faults.killWorker');
    slot.killedByDriver = true;
    await slot.worker.terminate();
  }

  async snapshot(): Promise<BackendSnapshot> {
    const workers = await Promise.all(
      this.#slots.map(async (s) => {
        const base = { index: s.index, epoch: s.epoch, executorId: s.executorId, state: s.state, inflight: s.inflight.size };
        if (s.state !== 'ready') return { ...base, peers: [] };
        const peers = await withTimeout(call(s).peers(), 5000, []);
        return { ...base, peers };
      }),
    );
    return { configured: this.numWorkers, givenUp: [...this.#givenUp.keys()], workers };
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#watchdog) clearInterval(this.#watchdog);
    if (!this.#readySettled) {
      this.#readySettled = true;
      this.#rejectReady(new ContextStoppedError('the context was stopped while its workers were starting'));
    }
    // A worker writes its trace after posting outcomes, so the job's last lines can still be in its memory when the
    // driver, done with the job, stops: terminating it there would lose them.
    // (A timer that holds the process open: the workers are unref'd, and nothing else may be left to wait for.)
    if (hopTraceOn) {
      let hold: NodeJS.Timeout | undefined;
      const flushed = Promise.all(this.#slots.map((s) => (s.state === 'ready' ? call(s).flushTrace() : undefined)));
      await Promise.race([flushed, new Promise((resolve) => (hold = setTimeout(resolve, 2000)))]).catch(() => undefined);
      clearTimeout(hold);
    }
    await Promise.all(this.#slots.map((s) => s.worker.terminate().catch(() => undefined)));
    for (const s of this.#slots) {
      for (const t of s.inflight.values()) t.settle(lost(s.index, s.epoch, 'the context was stopped', false));
      s.inflight.clear();
    }
  }
}

/** A worker's comlink calls, after the tasks queued for it: nothing sent after a task may overtake it. */
function call(slot: Slot): Remote<WorkerApi> {
  slot.tasks.flush();
  return slot.remote;
}

function describeStartDeath(slot: Slot, code: number): string {
  const err = slot.lastError;
  const oom = (err as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  return `worker ${slot.index} died during start-up (exit code ${code})${err ? `: ${err.message}` : ''}${oom ? ' (raise memory.workerMB)' : ''}`;
}

/** Why a worker died, naming its heap limit when that is what killed it. */
function describeExit(slot: Slot, code: number, maxHeapMb: number | undefined): string {
  const error = slot.lastError;
  const oom = (error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  if (oom) {
    return (
      `worker ${slot.index} ran out of memory (heap limit ${maxHeapMb ?? 'default'} MiB, the context's memory.workerMB): ` +
      'a partition or a group of values was too large; use more partitions, or reduceByKey/aggregateByKey instead of groupByKey'
    );
  }
  if (slot.timedOut?.cancelled)
    return `worker ${slot.index} was replaced because task ${slot.timedOut.taskId} of a failed or cancelled job did not stop when told to`;
  if (slot.timedOut) return `worker ${slot.index} was replaced because task ${slot.timedOut.taskId} exceeded taskTimeoutMs (${slot.timedOut.ms} ms)`;
  return `worker ${slot.index} exited with code ${code}${error ? ` (${error.message})` : ''}`;
}

/**
 * Workers run kindling's compiled JavaScript only, so they do not inherit the parent's loader or input flags
 * (`--import tsx`, `--input-type`, ...), which would break or slow them; harmless and profiling flags carry over.
 */
function workerExecArgv(): string[] {
  const keep = ['--enable-source-maps', '--cpu-prof', '--heap-prof'];
  const argv = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!keep.some((k) => a.startsWith(k))) continue;
    out.push(a);
    // A value given as the next argument goes with its flag: Node refuses a worker's `--cpu-prof-dir` without one.
    if (VALUE_FLAGS.has(a) && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

/** The kept flags that take a value (`--cpu-prof-dir DIR` or `--cpu-prof-dir=DIR`). */
const VALUE_FLAGS: ReadonlySet<string> = new Set(['--cpu-prof', '--heap-prof'].flatMap((p) => ['-dir', '-name', '-interval'].map((s) => p + s)));

/** `thisTask`: the loss is this task's alone (its timeout), not every task the worker held. */
function lost(workerIndex: number, epoch: number, message: string, causedByApp: boolean, thisTask = false): TaskOutcome {
  const failure = { kind: 'workerLost', workerIndex, message, causedByApp, ...(thisTask ? { thisTask: true } : {}) } as const;
  return { status: 'failed', epoch, failure, blockUpdates: [] };
}

async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether this pool's workers keep map outputs in shared memory (the default: they are threads of one process).
 * `KINDLING_SHARED_SHUFFLE=0` turns it off, for comparing the two paths (specs and benchmarks); read per worker start.
 */
function sharedShuffleOutputs(): boolean {
  return process.env.KINDLING_SHARED_SHUFFLE !== '0';
}
