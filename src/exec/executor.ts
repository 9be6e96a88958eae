/**
 * The worker side of task execution (Spark's Executor), transport-neutral: whoever hosts it (a worker thread
 * today) hands it task messages and peer channels. A task goes through named phases:
 * 1. admission: the task is for this incarnation, was not cancelled while it waited, and is let through its
 *    fault-injection delay;
 * 2. runtime: broadcasts registered, task-local accumulators, functions compiled (task-runtime.ts);
 * 3. the stage's RDDs rebuilt from their descriptions (kept per stage attempt until the driver releases it);
 * 4. inputs: the shuffle buckets the task reads, from this worker or its peers (shuffle-fetcher.ts);
 * 5. the run: a shuffle map task writes its buckets; a result task runs the action's function, refusing
 *    results that would lose their class or exceed maxResultSize;
 * 6. the outcome: success, or a failure as a value naming its kind. Nothing is thrown across the boundary.
 */
// Not the closure index: it brings the driver's function analysis (acorn, eslint-scope) into every worker's start-up.
import { findClassInstance } from '../closure/clonable.js';
import { userCodeFrame } from '../closure/compile.js';
import type { Compile, ShippedFunction } from '../closure/index.js';
import { classInstanceError, toErrorInfo } from '../core/errors.js';
import { clearHeapGuardTask, setHeapGuardTask, type GuardedTask } from '../core/heap-guard.js';
import {
  TaskInterruptedError,
  armInterrupts,
  checkInterrupted,
  clearInterruptibleTask,
  interruptRequested,
  setInterruptibleTask,
} from '../core/task-interrupt.js';
import {
  rebuildRdds,
  prepareResultFunction,
  setCurrentTask,
  prepareAsyncPartitions,
  CompiledPartitioner,
  type RDD,
  type RddWire,
  type TaskContext,
  type Pair,
  type TaskInfo,
} from '../rdd/index.js';
import { compileAggregator } from '../shuffle/aggregator.js';
import {
  buffersOf,
  decodeRange,
  encodeBuckets,
  isEncodedBucket,
  sampledPairBytes,
  withStringColumns,
  type EncodedBucket,
} from '../shuffle/bucket-codec.js';
import { FetchFailedError } from '../shuffle/fetch-failed.js';
import type { BucketCursor, BucketParts, ShuffleManager } from '../shuffle/shuffle-manager.js';
import { writeShuffleOutput } from '../shuffle/shuffle-writer.js';
import type { Bucket, MapStatus, ShuffleReadWire } from '../shuffle/wire.js';
import type { WorkerBlockStore } from '../storage/block-manager.js';
import { estimateSize } from '../storage/size-estimator.js';
import { ENGINES, type WorkerServices } from './engines.js';
import { STAGES_CACHED, unsendableResult, type TaskMessage, type TaskMetrics, type TaskOutcome, type WorkerInit } from './protocol.js';
import { ShuffleFetcher, type EarlyAsks, type FetchStop, type PeerShuffleService, type ServedBlock } from './shuffle-fetcher.js';
import { NO_REMOTE_BLOCKS, fetchRemoteBlocks, remoteBlockKey, serveBlock } from './remote-blocks.js';
import { releaseShared, sharedBucketAt, type SharedBucket, type SharedOutputHandle, takeShared, withdrawn } from '../shuffle/shared-output.js';
import { FetchedInput, type FetchedBucket } from '../shuffle/fetched-input.js';
import { workerMemoryBudget } from '../shuffle/memory-budget.js';
import { taskRuntime, type TaskRuntime } from './task-runtime.js';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { hop, hopAt, hopTraceOn, threadTimes } from '../util/hop-trace.js';
import { unboxDeep } from '../util/unbox.js';

export type { PeerShuffleService };

/**
 * This thread's GC pauses, start (`performance.now()` time) and duration, oldest first. Node makes a GC's
 * performance entry only in an immediate after the pause, never during a synchronous computation: a total read when
 * a task's computation ends misses every GC of that computation (the next task's start then skipped them too, so
 * gcMs was ~0 for every synchronous task). A task's GC time is therefore summed by the pauses' start times over its
 * window, and settled again when its outcome leaves the thread, a turn later (`settleGcMs`), when they are known.
 */
const gcStarts: number[] = [];
const gcDurations: number[] = [];
/** Pauses kept: far more than one turn of the event loop holds (a scavenge is at least ~0.1 ms). */
const GC_KEPT = 4096;
let gcObserver: PerformanceObserver | undefined;
function keepGc(entries: readonly PerformanceEntry[]): void {
  for (const e of entries) {
    if (hopTraceOn) hopAt(e.startTime, 'gc', -1, `${(e as { detail?: { kind?: number } }).detail?.kind ?? 0} ${e.duration.toFixed(3)}`);
    gcStarts.push(e.startTime);
    gcDurations.push(e.duration);
  }
  if (gcStarts.length > 2 * GC_KEPT) {
    gcStarts.splice(0, gcStarts.length - GC_KEPT);
    gcDurations.splice(0, gcDurations.length - GC_KEPT);
  }
}
function observeGc(): void {
  if (gcObserver !== undefined) return;
  gcObserver = new PerformanceObserver((list) => keepGc(list.getEntries()));
  gcObserver.observe({ entryTypes: ['gc'] });
}
/** GC pause time of this thread that started in [from, to), counting every entry Node has made so far. */
function gcMsBetween(from: number, to: number): number {
  if (gcObserver !== undefined) keepGc(gcObserver.takeRecords());
  let ms = 0;
  for (let i = gcStarts.length - 1; i >= 0 && gcStarts[i]! >= from; i--) if (gcStarts[i]! < to) ms += gcDurations[i]!;
  return ms;
}
/** The window of each outcome's metrics whose gcMs may still grow (see `settleGcMs`). */
const gcWindows = new WeakMap<TaskMetrics, readonly [from: number, to: number]>();

/** Every this many shuffle records, one is measured for the write-byte estimate. */
const WRITE_SAMPLE_EVERY = 64;

/**
 * Buckets looked at for a key sample: where every bucket starts with the same key (repartition's keys are the reduce
 * partition; a hot key without a map-side combine), a look at all of them decoded and printed a reduce task's M keys
 * (6 % of the workers' time in a 500 x 500 repartition).
 */
const KEY_SAMPLE_BUCKETS = 16;

/** Up to three distinct keys of the task's shuffle input, as short JSON: they name a skewed key in the UI. */
function keySampleOf(fetched: readonly FetchedBucket[]): string[] {
  const out: string[] = [];
  for (let j = 0; j < fetched.length && j < KEY_SAMPLE_BUCKETS; j++) {
    const f = fetched[j]!;
    const b = Array.isArray(f) ? (f as Bucket) : decodeRange(f as EncodedBucket, 0, Math.min(3, f.length));
    for (let i = 0; i < b.length && out.length < 3; i++) {
      let k: string;
      try {
        k = JSON.stringify(b[i]![0]) ?? String(b[i]![0]);
      } catch {
        k = String(b[i]![0]);
      }
      k = k.length > 40 ? k.slice(0, 40) + '...' : k;
      // Without a map-side combine each map's bucket starts with the same hot key: name it once.
      if (!out.includes(k)) out.push(k);
    }
    if (out.length >= 3) break;
  }
  return out;
}

/** Runs `f`, adding its wall time to a counter. */
async function timed<T>(f: () => Promise<T>, add: (ms: number) => void): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    add(performance.now() - t0);
  }
}

/** Counters a task's phases add to (worker-measured); turned into TaskMetrics when the outcome is made. */
interface Meter {
  readonly started: number;
  /** Start of the window whose GC pauses are this task's (after its admission: earlier ones are another task's). */
  gcFrom: number;
  compileMs: number;
  fetchWaitMs: number;
  /** When the computation of the partition started (0: not yet). */
  computeStart: number;
  /**
   * Called right before the synchronous computation, after the task's last await: publishes the task as the one
   * computing (taskContext(), the heap guard's name for it), since tasks of one worker interleave at their awaits
   * and another may have published itself since; and lets the host send the outcomes of tasks that ended.
   */
  enter: () => void;
  runMs: number;
  inputRecords: number;
  inputBytes: number;
  readRecords: number;
  readBytes: number;
  writeRecords: number;
  writeBytes: number;
  outputRecords: number;
  outputBytes: number;
  /** The worker's shuffle pool's spill counters when the task was let through (none on a pool-less worker). */
  spillsAtStart: SpillCounters | undefined;
  resultRecords: number;
  resultBytes: number;
  keySample: string[] | undefined;
}

/**
 * A task's admission lets the message queue run when the thread has not done so for this long: well under the
 * driver's 100 ms before it moves tasks queued behind a long one, so the driver's lag has a wide margin.
 */
const QUEUE_LOOK_MS = 10;

/** A task that ends early with this outcome (cancelled, refused, too large): not an error of the task's code. */
class EarlyOutcome {
  constructor(readonly failure: Extract<TaskOutcome, { status: 'failed' }>['failure']) {}
}

export class Executor {
  readonly workerIndex: number;
  readonly epoch: number;
  readonly shuffles: ShuffleManager;
  readonly blocks: WorkerBlockStore;
  readonly #services: WorkerServices;
  readonly #fetcher: ShuffleFetcher;
  readonly #maxResultBytes: number;
  readonly #broadcasts = new Map<number, unknown>();
  /** Tasks received and not yet ended: a cancellation of any other task is late and is ignored. */
  readonly #active = new Set<number>();
  /** Tasks the driver cancelled before they started computing. */
  readonly #cancelled = new Set<number>();
  /** Tasks in their admission's look at the queue, in arrival order (see #admit). */
  readonly #admitting = new Set<number>();
  /** When a task's admission last let the thread's message queue run (performance.now()). */
  #queueSeenAt = Number.NEGATIVE_INFINITY;
  /** Synchronous computations started so far: one that ran while a task waited for its look spoils the look. */
  #computations = 0;
  readonly #wakeUps = new Map<number, () => void>();
  /** RDD descriptions per stage attempt, oldest first (the driver sends each once per worker). */
  readonly #stageWires = new Map<string, readonly RddWire[]>();
  /** Handles of map outputs in shared memory this worker was sent, by shuffle and map id (see #sharedOf). */
  readonly #sharedHandles = new Map<number, Map<number, SharedOutputHandle>>();
  /** Rebuilt RDDs per stage attempt, shared by its tasks when they use no accumulator (task-local state). */
  readonly #rebuilt = new Map<string, Map<number, RDD<unknown>>>();
  /**
   * Called as a task starts its synchronous computation: the host sends the outcomes of tasks that ended before
   * it, which that computation would otherwise hold back for its whole length. `task`: the one about to compute.
   */
  beforeCompute: ((task: TaskMessage) => void) | undefined;

  constructor(init: WorkerInit, services: WorkerServices = ENGINES[init.engine].worker(init)) {
    this.workerIndex = init.workerIndex;
    this.epoch = init.epoch;
    armInterrupts(init.interrupts);
    this.#maxResultBytes = init.maxResultBytes;
    this.#services = services;
    this.shuffles = services.shuffles;
    this.blocks = services.blocks;
    this.#fetcher = new ShuffleFetcher(init.workerIndex, init.epoch, services.shuffles, init.fetchTimeoutMs);
    observeGc();
  }

  // ---- peers, stages, broadcasts, cancellation ----------------------------------------------------------------

  setPeer(index: number, epoch: number, service: PeerShuffleService): void {
    this.#fetcher.setPeer(index, epoch, service);
  }
  peerLost(index: number, epoch: number): void {
    this.#fetcher.peerLost(index, epoch);
  }
  peers(): Array<[number, number]> {
    return this.#fetcher.peers();
  }

  /**
   * What this worker serves a peer: the buckets in the encoding of bucket-codec.ts, and the buffers a transport
   * may move rather than copy (a thread transfers them; a network transport sends them as they are).
   */
  serveBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): ReturnType<typeof encodeBuckets> {
    const stored = this.shuffles.fetchEncoded?.(shuffleId, mapIds, reduceId);
    if (stored !== undefined) return { encoded: stored, transfer: buffersOf(stored) };
    return encodeBuckets(this.shuffles.fetchBuckets(shuffleId, mapIds, reduceId));
  }

  /** A cached partition of this worker's store, for a peer's remote cached-block read (undefined: not held). */
  serveBlock(rddId: number, partition: number, generation: number): ServedBlock | undefined {
    return serveBlock(this.blocks, rddId, partition, generation);
  }

  /** As {@link serveBuckets}, in bounded parts (`ShuffleManager.fetchParts`); whole buckets from a manager without them. */
  serveParts(
    shuffleId: number,
    mapIds: readonly number[],
    reduceId: number,
    at: BucketCursor,
    maxBytes: number,
  ): { parts: BucketParts; transfer: ArrayBuffer[] } {
    if (this.shuffles.fetchParts === undefined) {
      const whole = this.serveBuckets(shuffleId, mapIds, reduceId);
      return { parts: { buckets: whole.encoded }, transfer: whole.transfer };
    }
    const parts = this.shuffles.fetchParts(shuffleId, mapIds, reduceId, at, maxBytes);
    // Strings go as chars (see stringColumn): the peer makes strings only of the keys new to it.
    const buckets = parts.buckets.map(withStringColumns);
    return { parts: { ...parts, buckets }, transfer: buffersOf(buckets) };
  }

  /** Forgets the given stages' RDD descriptions and rebuilt RDDs (and so the values their closures captured). */
  releaseStages(stageIds: readonly number[]): void {
    const ids = new Set(stageIds);
    for (const key of [...this.#stageWires.keys()]) {
      if (ids.has(stageIdOf(key))) {
        this.#stageWires.delete(key);
        this.#rebuilt.delete(key);
      }
    }
    // A good moment to let go of handles whose outputs moved away (their segments are then the collector's).
    for (const [shuffleId, handles] of this.#sharedHandles) {
      for (const [mapId, h] of handles) if (withdrawn(h.state)) handles.delete(mapId);
      if (handles.size === 0) this.#sharedHandles.delete(shuffleId);
    }
  }

  /** Drops a shuffle's outputs held here and the handles of its outputs in shared memory. */
  removeShuffle(shuffleId: number): void {
    this.#sharedHandles.delete(shuffleId);
    this.shuffles.remove(shuffleId);
  }

  /**
   * A read's buckets in shared memory, from the handles this worker was sent (ShuffleReadWire.handles, kept here by
   * shuffle and map id): listed with their map ids. An output whose handle is not here (or withdrawn) is fetched.
   */
  #sharedOf(read: ShuffleReadWire): SharedBucket[] | undefined {
    const maps = read.sharedMaps;
    const slots = read.sharedSlots;
    if (maps === undefined || slots === undefined) return undefined;
    const handles = this.#sharedHandles.get(read.shuffleId);
    if (handles === undefined) return undefined;
    const out: SharedBucket[] = [];
    for (let i = 0; i < maps.length; i++) {
      const mapId = maps[i]!;
      const h = handles.get(mapId);
      if (h === undefined) continue;
      if (withdrawn(h.state)) {
        handles.delete(mapId);
        continue;
      }
      out.push({ state: h.state, bucket: sharedBucketAt(h, slots[i]!), reduceId: read.reduceId, slot: slots[i]!, mapId });
    }
    return out.length === 0 ? undefined : out;
  }

  /** Keeps the handles a task message brings, for it and later tasks (even if this one never starts). */
  #keepHandles(msg: TaskMessage): void {
    for (const read of msg.shuffleReads) {
      if (read.handles === undefined) continue;
      let handles = this.#sharedHandles.get(read.shuffleId);
      if (handles === undefined) this.#sharedHandles.set(read.shuffleId, (handles = new Map()));
      for (const [mapId, h] of read.handles) handles.set(mapId, h);
    }
  }

  removeBroadcast(id: number): void {
    this.#broadcasts.delete(id);
  }

  cancelTask(taskId: number): void {
    if (!this.#active.has(taskId)) return;
    this.#cancelled.add(taskId);
    this.#wakeUps.get(taskId)?.();
  }

  // ---- running a task -----------------------------------------------------------------------------------------

  /**
   * Runs a task to its outcome, never throwing. `ended`, when given, is called with the outcome in the same
   * synchronous run as the task's computation (for a synchronous partition): before any other task of this thread
   * resumes, so before another computation can hold the thread. The returned promise settles only a few microtask
   * turns later, by when a task that arrived with this one may have started computing: a host that reports outcomes
   * from the promise holds this one back for that computation's whole length. `ended` must not throw.
   *
   * @example
   * ```ts
   * void executor.runTask(msg, (outcome) => queueForDriver(msg.taskId, outcome));
   * ```
   */
  async runTask(msg: TaskMessage, ended?: (outcome: TaskOutcome) => void): Promise<TaskOutcome> {
    const meter: Meter = {
      started: performance.now(),
      gcFrom: performance.now(),
      compileMs: 0,
      fetchWaitMs: 0,
      computeStart: 0,
      enter: () => undefined,
      runMs: 0,
      inputRecords: 0,
      inputBytes: 0,
      readRecords: 0,
      readBytes: 0,
      writeRecords: 0,
      writeBytes: 0,
      outputRecords: 0,
      outputBytes: 0,
      spillsAtStart: undefined,
      resultRecords: 0,
      resultBytes: 0,
      keySample: undefined,
    };
    if (msg.epoch !== this.epoch) {
      // Never happens through a backend; a task meant for another incarnation must not run here.
      const message = `task ${msg.taskId} was built for epoch ${msg.epoch} of worker ${this.workerIndex}, this is epoch ${this.epoch}`;
      return endedWith(ended, {
        status: 'failed',
        epoch: this.epoch,
        failure: { kind: 'workerLost', workerIndex: this.workerIndex, message, causedByApp: false },
        blockUpdates: [],
      });
    }
    // Sent with nothing ahead of it (the driver moves only tasks queued behind another), and none here either.
    const alone = msg.alone === true && this.#active.size === 0;
    this.#active.add(msg.taskId);
    // What the message carries for later tasks is kept even if this one never starts: the driver counts the
    // stage's description and the broadcasts as delivered, and a cancelled (moved) task must not take them along.
    this.#keepStageWires(msg);
    this.#keepHandles(msg);
    // Unboxed once here, for every task's functions: the clone boxed its arrays of numbers (see unboxDeep).
    for (const [id, value] of msg.broadcasts) this.#broadcasts.set(id, unboxDeep(value));
    const inputs = new Map<string, FetchedInput>();
    const guarded: GuardedTask = {
      kind: msg.shuffleWrite !== undefined ? 'map' : 'result',
      partition: msg.partition,
      stage: msg.stageId,
      job: msg.jobId,
    };
    // Buckets in shared memory are taken now (marked read, and counted as read until the task ends), so that no
    // early ask goes for them.
    const sharedLists = msg.shuffleReads.map((read) => this.#sharedOf(read));
    const shared = sharedLists.map(takeShared);
    const early = msg.shuffleReads.map((read, r) => this.#fetcher.askEarly(read.shuffleId, read.reduceId, read, shared[r]));
    try {
      hop('w.start', msg.jobId, msg.taskId);
      await this.#admit(msg, alone);
      hop('w.admitted', msg.jobId, msg.taskId);
      // GC and spills before this task started (another task's) are not this task's.
      meter.gcFrom = performance.now();
      meter.spillsAtStart = spillCounters();
      setHeapGuardTask(guarded);
      const runtime = taskRuntime(this.workerIndex, this.#broadcasts, msg.accumulators);
      const rdds = await timed(
        () => this.#stageRdds(msg, runtime.compile),
        (ms) => (meter.compileMs += ms),
      );
      const rdd = rdds.get(msg.finalRddId);
      // internal: the task message carries its stage's RDDs, the final one included
      if (rdd === undefined) throw new Error(`task ${msg.taskId} names RDD ${msg.finalRddId}, which was not sent`);
      hop('w.rebuilt', msg.jobId, msg.taskId);
      const tc = await this.#inputs(msg, meter, inputs, rdds, early, shared);
      // Cancelled while it fetched (a task admitted behind one still fetching, then moved by the driver to a free
      // worker): it must not compute a partition another copy computes, holding this thread and its spill runs.
      this.#throwIfCancelled(msg.taskId);
      hop('w.inputs', msg.jobId, hopTraceOn ? `${msg.taskId} ${threadTimes()}` : msg.taskId);
      // What taskContext() returns inside user functions (Spark's TaskContext), while this task computes.
      const current: TaskInfo = {
        partitionId: msg.partition,
        stageId: msg.stageId,
        attemptNumber: msg.attempt,
        taskAttemptId: msg.taskId,
        isInterrupted: () => this.#isCancelled(msg.taskId),
      };
      meter.enter = () => {
        this.#computations++;
        this.beforeCompute?.(msg);
        setCurrentTask(current);
        setHeapGuardTask(guarded);
        setInterruptibleTask(msg.taskId);
      };
      meter.enter();
      // mapAsync partitions this task reads are awaited before the (synchronous) computation.
      const awaiting = prepareAsyncPartitions(rdds, rdd, msg.partition, tc.context);
      if (awaiting !== undefined) await awaiting;
      const run =
        msg.shuffleWrite !== undefined
          ? await this.#runShuffleMap(msg, rdd, tc.context, runtime, meter)
          : await this.#runResult(msg, rdd, tc.context, runtime, meter);
      // From the computation to `ended` without an await (unless the partition's own code is asynchronous): see runTask.
      const running = run();
      const ran = running instanceof Promise ? await running : running;
      // Asked to stop while it computed, and it returned anyway (its code asked isInterrupted, or passed no check
      // after the request): killed, as Spark's killTaskIfInterrupted reports it; the driver would ignore its output.
      this.#throwIfCancelled(msg.taskId);
      hop('w.computed', msg.jobId, hopTraceOn ? `${msg.taskId} ${threadTimes()}` : msg.taskId);
      return endedWith(ended, {
        status: 'success',
        epoch: this.epoch,
        ...ran,
        accumulators: [...runtime.accumulators].map(([id, a]) => [id, a.taskValue] as const),
        computedRdds: [...tc.computed.keys()],
        blockUpdates: this.blocks.drainUpdates(),
        metrics: metricsOf(meter),
      });
    } catch (e) {
      if (meter.computeStart > 0 && meter.runMs === 0) meter.runMs = performance.now() - meter.computeStart;
      return endedWith(ended, {
        status: 'failed',
        epoch: this.epoch,
        failure: failureOf(e),
        blockUpdates: this.blocks.drainUpdates(),
        metrics: metricsOf(meter),
      });
    } finally {
      for (const input of inputs.values()) input.dispose();
      // Nothing of the task reads the shared buckets now (a combine copies what it keeps): their writer may reuse them.
      for (let r = 0; r < sharedLists.length; r++) releaseShared(sharedLists[r], shared[r]);
      // This worker's own outputs read here may be read in full now: moved to disk (their memory reused) without
      // waiting for this worker's next map task.
      if (shared.some((taken) => taken !== undefined)) this.shuffles.pollShared?.();
      setCurrentTask(undefined);
      clearHeapGuardTask(guarded);
      clearInterruptibleTask(msg.taskId);
      this.#active.delete(msg.taskId);
      this.#cancelled.delete(msg.taskId);
    }
  }

  /**
   * Phase 1: lets the task start, unless it was cancelled while it waited. `alone`: sent with nothing ahead of it
   * and nothing else running or waiting here when it arrived (TaskMessage.alone).
   */
  async #admit(msg: TaskMessage, alone: boolean): Promise<void> {
    // Messages that arrived while earlier tasks computed are handled first: a cancellation of this queued task
    // (the driver moved it to a free worker) must be seen before it starts. The driver moves only tasks queued
    // behind one that has computed for 100 ms or more, so such a message can be waiting only if this thread has
    // not looked at its queue for a while; a turn of the queue per task (a few µs) is paid only then, and
    // between short tasks a microtask turn sees a cancellation sent along with the task.
    // A task sent alone was queued behind nothing, so the driver never moves it: it computes in the turn
    // that delivered it. That turn matters more than its few µs: a computation in the check phase (after a look)
    // sends its outcome only after the next poll, where V8's foreground tasks run first — a scavenge of 1–12 ms
    // after PageRank's map task, held on the iteration's critical path.
    if (alone) {
      await undefined;
      return this.#cancelledCheck(msg);
    }
    // Joined in arrival order, before the first await (runTask is called in the order the tasks arrive).
    this.#admitting.add(msg.taskId);
    try {
      await undefined;
      while (!this.#cancelled.has(msg.taskId) && (performance.now() - this.#queueSeenAt >= QUEUE_LOOK_MS || !this.#firstAdmitting(msg.taskId))) {
        const computations = this.#computations;
        // Two turns, so that a poll of every port runs after anything computed before this look: a look queued in
        // a poll phase resumes in that iteration's check phase, before the next poll. A computation that ran
        // meanwhile (a task that arrived with this one: its computation holds the thread, and a cancellation sent
        // then on another port is read only in a later poll) spoils the look: look again. A k-means task moved to
        // an idle worker after 0.75 s once still ran here behind its 1.2 s head, and was discarded.
        await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
        if (this.#computations === computations) this.#queueSeenAt = performance.now();
      }
    } finally {
      this.#admitting.delete(msg.taskId);
    }
    return this.#cancelledCheck(msg);
  }

  /**
   * Whether no task that arrived before `taskId` is still in its admission: tasks start computing in the order they
   * arrived, as the driver assumes (its queue's first task is the one computing). A look spoiled by a computation
   * starts again in the check phase, and a task that arrived meanwhile starts its look in the poll phase, half a
   * turn ahead: without this order the newest task always passed first, so a thread given a new task per outcome
   * (24 queued per slot on a cluster) computed its queue newest first and left the oldest waiting to the stage's
   * end; and when the driver kept moving a task off and back onto the thread, for as long as that went on
   * (the Redis-restart spec of test/exec/cluster/breaking.test.ts hung in CI).
   */
  #firstAdmitting(taskId: number): boolean {
    for (const first of this.#admitting) return first === taskId;
    return true;
  }

  /** The end of phase 1: the straggler delay of fault injection, then the cancellation check. */
  async #cancelledCheck(msg: TaskMessage): Promise<void> {
    if (msg.delayMs) await this.#delay(msg.taskId, msg.delayMs);
    this.#throwIfCancelled(msg.taskId);
  }

  /** Ends the task as killed (an early outcome, not an error of its code) if the driver cancelled it. */
  #throwIfCancelled(taskId: number): void {
    if (this.#isCancelled(taskId)) throw new EarlyOutcome({ kind: 'killed', message: `task ${taskId} was cancelled` });
  }

  /** Cancelled by the driver's message, or by its request in the shared buffer (which a computing task can read). */
  #isCancelled(taskId: number): boolean {
    return this.#cancelled.has(taskId) || interruptRequested(taskId);
  }

  /** The straggler delay of fault injection, cut short if the task is cancelled. */
  #delay(taskId: number, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeUps.set(taskId, done);
    }).finally(() => this.#wakeUps.delete(taskId));
  }

  /** Phase 0: the stage's description, when a task message carries it (the first of its stage on this worker). */
  #keepStageWires(msg: TaskMessage): void {
    if (msg.rdds === undefined) return;
    this.#stageWires.set(msg.stageKey, msg.rdds);
    if (this.#stageWires.size > STAGES_CACHED) {
      const oldest = this.#stageWires.keys().next().value!;
      this.#stageWires.delete(oldest);
      this.#rebuilt.delete(oldest);
    }
  }

  /** Phase 3: the stage's RDDs, rebuilt once per stage attempt unless the task has its own accumulators. */
  async #stageRdds(msg: TaskMessage, compile: Compile): Promise<Map<number, RDD<unknown>>> {
    const wires = this.#stageWires.get(msg.stageKey);
    // A stage's description reaches a worker before its tasks, on the same ordered channel; the driver releases it
    // once every job needing the stage has ended, which a task queued here (in its admission's look at the queue)
    // can outlive. Nothing waits for that task's outcome any more: it ends as killed, not as a failure of its code.
    if (wires === undefined) {
      throw new EarlyOutcome({
        kind: 'killed',
        message: `task ${msg.taskId} (partition ${msg.partition} of stage ${msg.stageId}) found worker ${this.workerIndex} has no description of stage attempt ${msg.stageKey}: the stage was released (its jobs ended) before the task ran`,
      });
    }
    if (msg.accumulators.length > 0) return rebuildRdds(wires, compile);
    let rdds = this.#rebuilt.get(msg.stageKey);
    if (rdds === undefined) {
      rdds = await rebuildRdds(wires, compile);
      this.#rebuilt.set(msg.stageKey, rdds);
    }
    return rdds;
  }

  /**
   * Phase 4: shuffle buckets fetched (under the worker's shuffle pool: spilled to sorted runs when it is full),
   * leaf data indexed, and the TaskContext the computation sees. `inputs` is the caller's, to dispose of.
   */
  async #inputs(
    msg: TaskMessage,
    meter: Meter,
    inputs: Map<string, FetchedInput>,
    rdds: ReadonlyMap<number, RDD<unknown>>,
    early: readonly EarlyAsks[],
    shared: ReadonlyArray<ReadonlyMap<number, EncodedBucket> | undefined>,
  ): Promise<{ context: TaskContext; computed: Map<number, number> }> {
    // Cached partitions held by other workers only, first: the shuffle reads below one are needed only without it.
    const remote =
      msg.remoteBlocks === undefined
        ? NO_REMOTE_BLOCKS
        : await timed(
            () => fetchRemoteBlocks(msg.remoteBlocks, this.#fetcher, this.blocks),
            (ms) => (meter.fetchWaitMs += ms),
          );
    const reads = remote.fallbackReads.length === 0 ? msg.shuffleReads : [...msg.shuffleReads, ...remote.fallbackReads];
    // The task is not published as interruptible until it computes (another task of this thread may compute while it
    // awaits an answer): its reads look for its own stop, and an answer awaited gives way to the driver's cancel.
    let wake!: () => void;
    const stop: FetchStop = {
      check: () => this.#throwIfCancelled(msg.taskId),
      asked: new Promise<void>((resolve) => (wake = resolve)).then(() => {
        this.#throwIfCancelled(msg.taskId);
        // internal: woken only by cancelTask, which marks the task cancelled first
        throw new Error(`task ${msg.taskId} was woken but not cancelled`);
      }),
    };
    stop.asked.catch(() => undefined);
    this.#wakeUps.set(msg.taskId, wake);
    try {
      for (const [r, read] of reads.entries()) {
        if (inputs.has(`${read.shuffleId}/${read.reduceId}`)) continue;
        const input = new FetchedInput(workerMemoryBudget(), `shuffle ${read.shuffleId}, read by ${readerOf(rdds, read.shuffleId)}`);
        inputs.set(`${read.shuffleId}/${read.reduceId}`, input);
        // The fetched input estimates each bucket's size already (for the shuffle pool): the metric reuses it.
        const received = (buckets: readonly FetchedBucket[]): void => {
          meter.keySample ??= keySampleOf(buckets);
        };
        await timed(
          () => this.#fetcher.fetch(read.shuffleId, read.reduceId, read, input, received, early[r], shared[r], stop),
          (ms) => (meter.fetchWaitMs += ms),
        );
        meter.readRecords += input.records;
        meter.readBytes += input.estimatedBytes;
      }
    } finally {
      this.#wakeUps.delete(msg.taskId);
    }
    // A peer's request can wait on another port than the answers just read (and was maybe sent before them):
    // one turn of the queue serves it before the synchronous computation, which would hold it for its length.
    if (early.some((asks) => asks.size > 0)) await new Promise<void>((resolve) => setImmediate(resolve));
    const fetched = (shuffleId: number, reduceId: number): FetchedInput => {
      const input = inputs.get(`${shuffleId}/${reduceId}`);
      // internal: inputs are fetched before compute starts
      if (input === undefined) throw cachedInputGone(msg, `shuffle ${shuffleId} partition ${reduceId}`);
      return input;
    };
    const computed = new Map<number, number>();
    const payloads = new Map<string, readonly unknown[]>();
    for (const [rddId, p, data] of msg.payloads) payloads.set(`${rddId}/${p}`, data);
    const context: TaskContext = {
      stageId: msg.stageId,
      partition: msg.partition,
      attempt: msg.attempt,
      // Cached partitions read count as input, as in Spark (a hit's size is known to the store, not estimated again).
      blocks: {
        get: (rddId, p, generation) => {
          const hit = this.blocks.get(rddId, p, generation);
          if (hit !== undefined) {
            meter.inputRecords += hit.length;
            meter.inputBytes += this.blocks.sizeOf(rddId, p, generation);
            return hit;
          }
          const fetched = remote.blocks.size === 0 ? undefined : remote.blocks.get(remoteBlockKey(rddId, p, generation));
          if (fetched !== undefined) {
            meter.inputRecords += fetched.values.length;
            meter.inputBytes += fetched.bytes;
          }
          return fetched?.values;
        },
        put: (rddId, p, values, level, generation) => this.blocks.put(rddId, p, values, level, generation),
      },
      shuffleInput: (shuffleId, reduceId) => fetched(shuffleId, reduceId).all() as Iterable<ReadonlyArray<Pair>>,
      shuffleInputParts: (shuffleId, reduceId) => {
        const { buckets, runs, read, largestBucket, inMemoryRecords } = fetched(shuffleId, reduceId).parts();
        return { buckets: buckets as Iterable<ReadonlyArray<Pair>>, runs, read, largestBucket, inMemoryRecords };
      },
      payload: (rddId, p) => {
        const data = payloads.get(`${rddId}/${p}`);
        if (data === undefined) throw cachedInputGone(msg, `the data of partition ${p} of RDD ${rddId}`);
        return data;
      },
      computed: (rddId) => computed.set(rddId, (computed.get(rddId) ?? 0) + 1),
      inputRead: (records, bytes) => {
        meter.inputRecords += records;
        meter.inputBytes += bytes;
      },
      outputWritten: (records, bytes) => {
        meter.outputRecords += records;
        meter.outputBytes += bytes;
      },
    };
    return { context, computed };
  }

  /**
   * Phase 5, map side: buckets the partition (combining first when the shuffle asks) into the shuffle store. Resolves
   * to the computation, to call with no await in between it and the outcome (see runTask).
   */
  async #runShuffleMap(
    msg: TaskMessage,
    rdd: RDD<unknown>,
    tc: TaskContext,
    runtime: TaskRuntime,
    meter: Meter,
  ): Promise<() => { mapStatus: MapStatus }> {
    const w = msg.shuffleWrite!;
    const aggregator =
      w.aggregator && w.mapSideCombine
        ? await timed(
            () => compileAggregator(w.aggregator!, runtime.compile),
            (ms) => (meter.compileMs += ms),
          )
        : undefined;
    const stored = this.shuffles.writer(w.shuffleId, msg.partition, w.partitioner.numPartitions);
    // Bytes written are estimated from one record in WRITE_SAMPLE_EVERY (estimating each would cost too much).
    let sampled = 0;
    let sampledBytes = 0;
    let seen = 0;
    const writer: typeof stored = {
      add: (reduceId, kv) => {
        if (seen++ % WRITE_SAMPLE_EVERY === 0) {
          checkInterrupted();
          sampled++;
          sampledBytes += estimateSize([kv]) - 24; // minus the estimator's array overhead
        }
        stored.add(reduceId, kv);
      },
      // Columns (a combine of numbers) pass through as they are, sampled at the same records as pairs would be, each
      // sample's estimate read from the columns (equal to the decoded pair's) so that no sample decodes a record.
      ...(stored.addEncoded === undefined
        ? {}
        : {
            addEncoded: (reduceId: number, records: EncodedBucket) => {
              for (let i = (WRITE_SAMPLE_EVERY - (seen % WRITE_SAMPLE_EVERY)) % WRITE_SAMPLE_EVERY; i < records.length; i += WRITE_SAMPLE_EVERY) {
                sampled++;
                sampledBytes += sampledPairBytes(records, i);
              }
              seen += records.length;
              stored.addEncoded!(reduceId, records);
            },
          }),
      close: () => stored.close(),
      abort: () => stored.abort?.(),
    };
    // A user's partitioner ships as a function; the engine's own are rebuilt from their wire form.
    const custom =
      w.partitioner.kind === 'custom'
        ? new CompiledPartitioner(w.partitioner.numPartitions, await runtime.compile(w.partitioner.getPartition as ShippedFunction))
        : undefined;
    return () => {
      meter.enter();
      meter.computeStart = performance.now();
      const mapStatus = writeShuffleOutput((each) => rdd.forEach(msg.partition, tc, each), rdd.label, w, aggregator, writer, custom);
      meter.runMs = performance.now() - meter.computeStart;
      for (const s of 'list' in mapStatus.sizes ? mapStatus.sizes.list : mapStatus.sizes) meter.writeRecords += s;
      meter.writeBytes = sampled === 0 ? 0 : Math.round((sampledBytes / sampled) * meter.writeRecords);
      return { mapStatus };
    };
  }

  /**
   * Phase 5, result side: the action's function on the partition, checked before it travels to the driver. Resolves
   * to the computation, as #runShuffleMap.
   */
  async #runResult(
    msg: TaskMessage,
    rdd: RDD<unknown>,
    tc: TaskContext,
    runtime: TaskRuntime,
    meter: Meter,
  ): Promise<() => { value: unknown } | Promise<{ value: unknown }>> {
    if (msg.resultFn === undefined) return () => ({ value: undefined });
    const resultFn = msg.resultFn;
    const run = await timed(
      () => prepareResultFunction(resultFn, runtime.compile),
      (ms) => (meter.compileMs += ms),
    );
    return () => {
      meter.enter();
      meter.computeStart = performance.now();
      // A runner returns a Promise only for a function the action awaits (foreachPartition's).
      const ran = run(rdd, msg.partition, tc);
      return ran instanceof Promise ? ran.then((value) => this.#checkedResult(msg, rdd, meter, value)) : this.#checkedResult(msg, rdd, meter, ran);
    };
  }

  /** The end of phase 5 on the result side: the action's value, refused when it could not reach the driver whole. */
  #checkedResult(msg: TaskMessage, rdd: RDD<unknown>, meter: Meter, value: unknown): { value: unknown } {
    const resultFn = msg.resultFn!;
    meter.runMs = performance.now() - meter.computeStart;
    // A collect's pairs may come as columns (see result-functions.ts).
    meter.resultRecords = Array.isArray(value)
      ? value.length
      : resultFn.kind === 'collect' && isEncodedBucket(value)
        ? value.length
        : value === undefined
          ? 0
          : 1;
    // Results reach the driver by structured clone (or serialized to files), which drops prototypes. Two
    // levels: the result's list, then each element and its direct items (see findClassInstance for the limit).
    const found = findClassInstance(value, 2);
    if (found !== undefined) {
      // The same function returns the same kind of object on every attempt: not retried.
      const error = classInstanceError(
        found,
        `The result of ${resultFn.kind} on ${rdd.label} for partition ${msg.partition}`,
        'would reach the driver',
      );
      throw new EarlyOutcome({ kind: 'resultNotSerializable', error: toErrorInfo(error) });
    }
    // Refuse to send more than the driver accepts (Spark's spark.driver.maxResultSize) rather than exhaust it.
    if (value !== null && typeof value === 'object') {
      const bytes = estimateSize(Array.isArray(value) ? value : [value]);
      if (bytes > this.#maxResultBytes) throw new EarlyOutcome({ kind: 'resultTooLarge', bytes, limit: this.#maxResultBytes });
      meter.resultBytes = bytes;
    }
    try {
      return { value: this.#services.deliverResult(msg.jobId, msg.partition, msg.stageAttempt, msg.attempt, value) };
    } catch (e) {
      // The mapreduce engine serializes the result here (v8.serialize refuses what the structured clone does).
      const failure = unsendableResult(msg, value, e);
      throw failure === undefined ? e : new EarlyOutcome(failure);
    }
  }
}

/**
 * The driver leaves out of a task the input below a partition cached on its worker. When that block is gone by
 * the time the task runs (unpersisted, or evicted by a task queued before it), computing on would read nothing
 * there and give an empty partition: the attempt ends instead, not counted as a failure (as a killed copy), and
 * the driver, told of the dropped block by the outcome's block updates, sends it again with its input.
 */
function cachedInputGone(msg: TaskMessage, what: string): EarlyOutcome {
  return new EarlyOutcome({
    kind: 'killed',
    message: `task ${msg.taskId} (partition ${msg.partition} of stage ${msg.stageId}) was sent without ${what}, below a cached partition that was dropped before it ran; run again with its input`,
  });
}

/** The label of the RDD reading a shuffle (the heap guard names it), or "its reader" for one not found by id (a cogroup). */
function readerOf(rdds: ReadonlyMap<number, RDD<unknown>>, shuffleId: number): string {
  for (const r of rdds.values()) if ((r as { shuffleId?: unknown }).shuffleId === shuffleId) return r.label;
  return 'its reader';
}

/** Phase 6: the outcome, handed to the host's `ended` at once (see Executor.runTask). */
function endedWith(ended: ((outcome: TaskOutcome) => void) | undefined, outcome: TaskOutcome): TaskOutcome {
  ended?.(outcome);
  return outcome;
}

/** Phase 6, failures: each kind of end as the value the driver's scheduler acts on. */
function failureOf(e: unknown): Extract<TaskOutcome, { status: 'failed' }>['failure'] {
  if (e instanceof EarlyOutcome) return e.failure;
  // Stopped on its host's request (a cancelled job, a superseded copy): killed, as the driver asked.
  if (e instanceof TaskInterruptedError) return { kind: 'killed', message: e.message };
  if (e instanceof FetchFailedError) {
    return { kind: 'fetchFailed', shuffleId: e.shuffleId, mapId: e.mapId, workerIndex: e.workerIndex, epoch: e.epoch, message: e.message };
  }
  const info = toErrorInfo(e);
  // The line of the user's shipped function that threw, when it is on the stack.
  const userFrame = userCodeFrame(info.stack);
  return { kind: 'exception', error: userFrame === undefined ? info : { ...info, userFrame } };
}

type SpillCounters = readonly [spills: number, memoryBytes: number, diskBytes: number];

function spillCounters(): SpillCounters | undefined {
  const b = workerMemoryBudget();
  return b === undefined ? undefined : [b.spills, b.memoryBytesSpilled, b.diskBytesSpilled];
}

/** Times in ms to the microsecond: finer digits are noise, and they would lengthen every event-log line. */
const us = (ms: number): number => Math.round(ms * 1000) / 1000;

function metricsOf(m: Meter): TaskMetrics {
  const s0 = m.spillsAtStart;
  const s1 = s0 === undefined ? undefined : spillCounters();
  const end = performance.now();
  const metrics: TaskMetrics = {
    durationMs: us(end - m.started),
    runMs: us(m.runMs),
    compileMs: us(m.compileMs),
    gcMs: us(gcMsBetween(m.gcFrom, end)),
    fetchWaitMs: us(m.fetchWaitMs),
    inputRecords: m.inputRecords,
    inputBytes: m.inputBytes,
    shuffleReadRecords: m.readRecords,
    shuffleReadBytes: m.readBytes,
    shuffleWriteRecords: m.writeRecords,
    shuffleWriteBytes: m.writeBytes,
    outputRecords: m.outputRecords,
    outputBytes: m.outputBytes,
    spillCount: s1 === undefined ? 0 : s1[0] - s0![0],
    memoryBytesSpilled: s1 === undefined ? 0 : s1[1] - s0![1],
    diskBytesSpilled: s1 === undefined ? 0 : s1[2] - s0![2],
    resultRecords: m.resultRecords,
    resultBytes: m.resultBytes,
    ...(m.keySample !== undefined ? { keySample: m.keySample } : {}),
  };
  gcWindows.set(metrics, [m.gcFrom, end]);
  return metrics;
}

/**
 * Counts again the GC pauses of the task that made `metrics` (an outcome of this thread's executor), now that Node
 * has made the entries of those during its synchronous computation: call it when the outcome leaves the thread, a
 * turn of the event loop after the task ended, to report Spark's GC time of the task. Metrics of another thread, or
 * settled already, are returned as they are.
 *
 * @example
 * ```ts
 * const o = await executor.runTask(msg);
 * setImmediate(() => port.postMessage(o.metrics === undefined ? o : { ...o, metrics: settleGcMs(o.metrics) }));
 * ```
 */
export function settleGcMs(metrics: TaskMetrics): TaskMetrics {
  const w = gcWindows.get(metrics);
  if (w === undefined) return metrics;
  gcWindows.delete(metrics);
  const gcMs = us(gcMsBetween(w[0], w[1]));
  return gcMs === metrics.gcMs ? metrics : { ...metrics, gcMs };
}

/** Stage keys are `stageId.attempt`. */
function stageIdOf(stageKey: string): number {
  return Number(stageKey.slice(0, stageKey.indexOf('.')));
}
