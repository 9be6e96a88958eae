/**
 * The local backend: N worker threads, each running an Executor, reached over comlink. Every pair of workers
 * gets its own message channels so reduce tasks fetch shuffle buckets from peers directly, never through the
 * driver.
 *
 * comlink never rejects a call whose worker died and has no timeout, so the pool owns every in-flight task:
 * it watches each worker's `error` and `exit` events, settles the tasks of a dead worker as `workerLost`
 * failures, and spawns a replacement (connected to every peer again). A worker that dies before it ever
 * answered is not respawned: the pool fails with a clear error instead of looping.
 */
import { Worker, MessageChannel } from 'node:worker_threads';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { wrap, transfer, nodeEndpoint, type Remote } from './comlink.js';
import type { BackendListener, TaskBackend } from './task-backend.js';
import type { TaskMessage, TaskOutcome, WorkerApi, WorkerInit } from './protocol.js';

const WORKER_ENTRY = new URL('./worker-main.js', import.meta.url);

export interface WorkerPoolOptions {
  readonly numWorkers: number;
  /** Heap limit of each worker thread, in MiB (undefined: Node's default). */
  readonly maxHeapMb?: number;
  /** Root folder of the workers' spill folders (one per worker incarnation). */
  readonly spillRoot: string;
  /** What every worker starts with (its index and spill folder are added per worker). */
  readonly worker: Omit<WorkerInit, 'workerIndex' | 'spillDir'>;
}

type Settle = (o: TaskOutcome) => void;

interface Slot {
  readonly index: number;
  readonly worker: Worker;
  readonly remote: Remote<WorkerApi>;
  readonly inflight: Map<number, Settle>;
  state: 'starting' | 'ready' | 'dead';
  lastError: Error | undefined;
  everReady: boolean;
  /** The driver terminated it on purpose (fault injection): its tasks' failures are not the tasks' fault. */
  killedByDriver: boolean;
}

export class WorkerPool implements TaskBackend {
  readonly numWorkers: number;
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[] = [];
  #listener: BackendListener | undefined;
  #stopping = false;
  #ready: Promise<void>;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.numWorkers = options.numWorkers;
    for (let i = 0; i < this.numWorkers; i++) this.#slots.push(this.#spawn(i));
    this.#ready = this.#startAll();
    // Surfaced to whoever awaits ready(); never an unhandled rejection.
    this.#ready.catch(() => undefined);
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

  /** Incarnations per worker index, so a replacement never reuses a dead worker's spill folder. */
  readonly #generations: number[] = [];

  #spawn(index: number): Slot {
    const generation = (this.#generations[index] = (this.#generations[index] ?? -1) + 1);
    const spillDir = path.join(this.#options.spillRoot, `worker-${index}-${generation}`);
    const init: WorkerInit = { ...this.#options.worker, workerIndex: index, spillDir };
    const worker = new Worker(WORKER_ENTRY, {
      workerData: init,
      execArgv: workerExecArgv(),
      ...(this.#options.maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.#options.maxHeapMb } } : {}),
    });
    const slot: Slot = {
      index,
      worker,
      remote: wrap<WorkerApi>(nodeEndpoint(worker as never)),
      inflight: new Map(),
      state: 'starting',
      lastError: undefined,
      everReady: false,
      killedByDriver: false,
    };
    // Workers alone do not keep the process alive: a running job holds the context's keep-alive handle.
    worker.unref();
    worker.on('error', (e) => {
      slot.lastError = e;
    });
    worker.on('exit', (code) => {
      // A dead worker's spilled blocks are lost with it (its cache is recomputed from lineage).
      rmSync(spillDir, { recursive: true, force: true });
      this.#onExit(slot, code);
    });
    return slot;
  }

  async #startAll(): Promise<void> {
    await Promise.all(this.#slots.map((s) => this.#whenAnswering(s)));
    for (let i = 0; i < this.#slots.length; i++) for (let j = i + 1; j < this.#slots.length; j++) await this.#connect(this.#slots[i]!, this.#slots[j]!);
    for (const s of this.#slots) this.#markReady(s);
  }

  /** Resolves once the worker answers a ping; rejects if it dies first. */
  #whenAnswering(slot: Slot): Promise<void> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number) =>
        reject(
          new Error(
            `worker ${slot.index} died during start-up (exit code ${code})${slot.lastError ? `: ${slot.lastError.message}` : ''}`,
          ),
        );
      slot.worker.once('exit', onExit);
      slot.remote.ping().then(() => {
        slot.worker.off('exit', onExit);
        resolve();
      }, reject);
    });
  }

  /** Two channels per pair: a's calls to b's shuffle service, and b's calls to a's. */
  async #connect(a: Slot, b: Slot): Promise<void> {
    const ab = new MessageChannel();
    const ba = new MessageChannel();
    await Promise.all([
      a.remote.connectPeer(b.index, transfer(ab.port1, [ab.port1 as never]) as never, transfer(ba.port2, [ba.port2 as never]) as never),
      b.remote.connectPeer(a.index, transfer(ba.port1, [ba.port1 as never]) as never, transfer(ab.port2, [ab.port2 as never]) as never),
    ]);
  }

  #markReady(slot: Slot, replacement = false): void {
    slot.state = 'ready';
    slot.everReady = true;
    this.#listener?.workerReady(slot.index, replacement);
  }

  cancelTask(workerIndex: number, taskId: number): void {
    const slot = this.#slots[workerIndex];
    if (slot?.state === 'ready') slot.remote.cancelTask(taskId).catch(() => undefined);
  }

  runTask(workerIndex: number, task: TaskMessage): Promise<TaskOutcome> {
    const slot = this.#slots[workerIndex];
    if (slot === undefined || slot.state !== 'ready') {
      return Promise.resolve(lost(workerIndex, `worker ${workerIndex} is not available`, false));
    }
    return new Promise<TaskOutcome>((resolve) => {
      slot.inflight.set(task.taskId, resolve);
      const settle = (o: TaskOutcome) => {
        if (slot.inflight.delete(task.taskId)) resolve(o);
      };
      let call: Promise<TaskOutcome>;
      try {
        call = slot.remote.runTask(task) as Promise<TaskOutcome>;
      } catch (e) {
        call = Promise.reject(e);
      }
      call.then(settle, (e: unknown) =>
        settle({
          status: 'failed',
          failure: {
            kind: 'exception',
            error: { name: 'DataCloneError', message: `task ${task.taskId} could not be sent to or returned from worker ${workerIndex}: ${(e as Error)?.message ?? e}` },
          },
          blockUpdates: [],
        }),
      );
    });
  }

  #onExit(slot: Slot, code: number): void {
    const wasEverReady = slot.everReady;
    slot.state = 'dead';
    if (this.#stopping) {
      for (const settle of slot.inflight.values()) settle(lost(slot.index, 'the context was stopped', false));
      slot.inflight.clear();
      return;
    }
    const reason = describeExit(slot.index, code, slot.lastError, this.#options.maxHeapMb);
    const inflight = [...slot.inflight.values()];
    slot.inflight.clear();
    for (const settle of inflight) settle(lost(slot.index, reason, !slot.killedByDriver));
    // Peers waiting on this worker's shuffle output fail those fetches now instead of waiting forever.
    for (const peer of this.#slots) if (peer !== slot && peer.state === 'ready') peer.remote.peerLost(slot.index).catch(() => undefined);
    // A worker that never started is not respawned: ready() has already failed with the reason.
    if (!wasEverReady) return;
    this.#listener?.workerLost(slot.index, reason);
    void this.#replace(slot.index);
  }

  async #replace(index: number): Promise<void> {
    const slot = this.#spawn(index);
    this.#slots[index] = slot;
    try {
      await this.#whenAnswering(slot);
      for (const peer of this.#slots) if (peer !== slot && peer.state === 'ready') await this.#connect(slot, peer);
      if (!this.#stopping) this.#markReady(slot, true);
    } catch (e) {
      // Died while starting: leave the slot dead rather than respawning in a loop.
      slot.state = 'dead';
      if (!this.#stopping) this.#listener?.workerFailed(index, (e as Error).message);
    }
  }

  removeShuffle(shuffleId: number): void {
    for (const s of this.#slots) if (s.state === 'ready') s.remote.removeShuffle(shuffleId).catch(() => undefined);
  }

  async removeRdd(rddId: number): Promise<void> {
    await Promise.all(this.#slots.filter((s) => s.state === 'ready').map((s) => s.remote.removeRdd(rddId).catch(() => undefined)));
  }

  removeBroadcast(id: number): void {
    for (const s of this.#slots) if (s.state === 'ready') s.remote.removeBroadcast(id).catch(() => undefined);
  }

  async killWorker(index: number): Promise<void> {
    const slot = this.#slots[index];
    if (slot === undefined) throw new RangeError(`no worker ${index}: the pool has ${this.numWorkers}`);
    slot.lastError = new Error('killed by sc.faults.killWorker');
    slot.killedByDriver = true;
    await slot.worker.terminate();
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate().catch(() => undefined)));
    for (const s of this.#slots) {
      for (const settle of s.inflight.values()) settle(lost(s.index, 'the context was stopped', false));
      s.inflight.clear();
    }
  }
}

/** Why a worker died, naming its heap limit when that is what killed it. */
function describeExit(index: number, code: number, error: Error | undefined, maxHeapMb: number | undefined): string {
  const oom = (error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
  if (oom) {
    return (
      `worker ${index} ran out of memory (heap limit ${maxHeapMb ?? 'default'} MiB, the context's memory.workerMB): ` +
      'a partition or a group of values was too large; use more partitions, or reduceByKey/aggregateByKey instead of groupByKey'
    );
  }
  return `worker ${index} exited with code ${code}${error ? ` (${error.message})` : ''}`;
}

/**
 * Workers run kindling's compiled JavaScript only, so they do not inherit the parent's loader or input flags
 * (`--import tsx`, `--input-type`, ...), which would break or slow them; harmless and profiling flags carry over.
 */
function workerExecArgv(): string[] {
  const keep = ['--enable-source-maps', '--cpu-prof', '--heap-prof'];
  return process.execArgv.filter((a) => keep.some((k) => a.startsWith(k)));
}

function lost(workerIndex: number, message: string, causedByApp: boolean): TaskOutcome {
  return { status: 'failed', failure: { kind: 'workerLost', workerIndex, message, causedByApp }, blockUpdates: [] };
}
