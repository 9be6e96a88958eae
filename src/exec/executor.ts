/**
 * The worker side of task execution (Spark's Executor). For each task it rebuilds the stage's RDDs from their
 * descriptions, compiles user functions against a task-local runtime (accumulators count per task), fetches the
 * shuffle buckets the task reads (from its own store or from peers), then computes synchronously and returns a
 * TaskOutcome. Nothing is thrown across the boundary.
 */
import { compileFunction, importModuleFrom, type ClosureRuntime, type ShippedFunction } from '../closure/index.js';
import { toErrorInfo } from '../core/errors.js';
import { rebuildRdds, prepareResultFunction, type RDD, type TaskContext, type Pair } from '../rdd/index.js';
import { compileAggregator } from '../shuffle/aggregator.js';
import { FetchFailedError } from '../shuffle/fetch-failed.js';
import type { ShuffleManager } from '../shuffle/shuffle-manager.js';
import { writeShuffleOutput } from '../shuffle/shuffle-writer.js';
import { decodeBucket, encodeBuckets, type EncodedBucket } from '../shuffle/bucket-codec.js';
import { transfer } from './comlink.js';
import type { WorkerBlockStore } from '../storage/block-manager.js';
import { createWorkerServices, type WorkerServices } from './worker-services.js';
import { estimateSize } from '../storage/size-estimator.js';
import { STAGES_CACHED, type AccumulatorKind, type Bucket, type TaskMessage, type TaskMetrics, type TaskOutcome, type WorkerInit } from './protocol.js';
import type { RddWire } from '../rdd/rdd.js';
import { PerformanceObserver } from 'node:perf_hooks';

/** GC pause time of this worker thread so far, read before and after each task for its gcMs. */
let gcTotalMs = 0;
let gcObserver: PerformanceObserver | undefined;
function observeGc(): void {
  if (gcObserver !== undefined) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcTotalMs += e.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/** Every this many shuffle records, one is measured for the write-byte estimate. */
const WRITE_SAMPLE_EVERY = 64;

function keySampleOf(buckets: readonly Bucket[]): string[] {
  const out: string[] = [];
  for (const b of buckets) {
    for (let i = 0; i < b.length && out.length < 3; i++) {
      let k: string;
      try {
        k = JSON.stringify(b[i]![0]) ?? String(b[i]![0]);
      } catch {
        k = String(b[i]![0]);
      }
      out.push(k.length > 40 ? k.slice(0, 40) + '...' : k);
    }
    if (out.length >= 3) break;
  }
  return out;
}

type Fn = (...args: unknown[]) => unknown;

/** What a worker serves to its peers: buckets in the encoding of bucket-codec.ts, which is cheaper to post. */
export interface PeerShuffleService {
  fetchBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): EncodedBucket[] | Promise<EncodedBucket[]>;
}

/** A task-local accumulator: adds are merged on the driver only if the task succeeds. */
class LocalAccumulator {
  value: unknown;
  constructor(readonly kind: AccumulatorKind) {
    this.value = kind === 'sum' ? 0 : [];
  }
  add(v: unknown): void {
    if (this.kind === 'sum') this.value = (this.value as number) + (v as number);
    else (this.value as unknown[]).push(v);
  }
}

export class Executor {
  readonly shuffles: ShuffleManager;
  readonly blocks: WorkerBlockStore;
  readonly #services: WorkerServices;
  readonly #broadcasts = new Map<number, unknown>();
  /** Peers' shuffle services, by worker index, with the epoch of the incarnation each channel reaches. */
  readonly #peers = new Map<number, { readonly epoch: number; readonly service: PeerShuffleService }>();

  readonly #maxResultBytes: number;
  readonly #fetchTimeoutMs: number;
  readonly epoch: number;

  constructor(init: WorkerInit) {
    this.workerIndex = init.workerIndex;
    this.epoch = init.epoch;
    this.#maxResultBytes = init.maxResultBytes;
    this.#fetchTimeoutMs = init.fetchTimeoutMs;
    this.#services = createWorkerServices(init);
    this.shuffles = this.#services.shuffles;
    this.blocks = this.#services.blocks;
    observeGc();
  }
  readonly workerIndex: number;

  /** Fetches waiting on each peer incarnation (`index.epoch`), failed at once if it dies (comlink would wait forever). */
  readonly #waiting = new Map<string, Set<(e: Error) => void>>();
  /** Tasks the driver cancelled before they started computing. */
  readonly #cancelled = new Set<number>();
  readonly #wakeUps = new Map<number, () => void>();

  /** A channel to incarnation `epoch` of peer `index`; a channel to an older incarnation is dropped. */
  setPeer(index: number, epoch: number, service: PeerShuffleService): void {
    const old = this.#peers.get(index);
    if (old !== undefined && old.epoch > epoch) return;
    if (old !== undefined && old.epoch < epoch) this.peerLost(index, old.epoch);
    this.#peers.set(index, { epoch, service });
  }

  /**
   * Incarnation `epoch` of peer `index` is gone. Only that incarnation: the driver's notice and the late
   * `close` of the dead worker's port can both arrive after the replacement is connected, and must not
   * disconnect it.
   */
  peerLost(index: number, epoch: number): void {
    if (this.#peers.get(index)?.epoch === epoch) this.#peers.delete(index);
    const key = `${index}.${epoch}`;
    const waiting = this.#waiting.get(key);
    this.#waiting.delete(key);
    for (const fail of waiting ?? []) fail(new Error(`worker ${index} (epoch ${epoch}) died`));
  }

  peers(): Array<[number, number]> {
    return [...this.#peers].map(([index, p]) => [index, p.epoch]);
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
  }

  /** Tasks received and not yet ended: a cancellation of any other task is late and is ignored. */
  readonly #active = new Set<number>();

  cancelTask(taskId: number): void {
    if (!this.#active.has(taskId)) return;
    this.#cancelled.add(taskId);
    this.#wakeUps.get(taskId)?.();
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

  /**
   * Asks a peer for buckets; rejects if the peer dies while the request is out, or does not answer within
   * fetchTimeoutMs (a peer stuck in a runaway task serves nothing: the fetch failure lets the driver
   * recompute that output elsewhere).
   */
  #askPeer(w: number, shuffleId: number, mapIds: number[], reduceId: number): Promise<Bucket[]> {
    const peer = this.#peers.get(w);
    if (peer === undefined) return Promise.reject(new Error(`worker ${w} is not reachable from worker ${this.workerIndex}`));
    const key = `${w}.${peer.epoch}`;
    return new Promise<Bucket[]>((resolve, reject) => {
      let set = this.#waiting.get(key);
      if (set === undefined) this.#waiting.set(key, (set = new Set()));
      const waiting = set;
      waiting.add(reject);
      const timer = setTimeout(
        () => reject(new Error(`worker ${w} did not answer within fetchTimeoutMs (${this.#fetchTimeoutMs} ms)`)),
        this.#fetchTimeoutMs,
      );
      Promise.resolve(peer.service.fetchBuckets(shuffleId, mapIds, reduceId))
        .then((encoded) => {
          try {
            resolve(encoded.map(decodeBucket));
          } catch (e) {
            reject(e);
          }
        }, reject)
        .finally(() => {
          clearTimeout(timer);
          waiting.delete(reject);
        });
    });
  }

  removeBroadcast(id: number): void {
    this.#broadcasts.delete(id);
  }

  get shuffleService(): PeerShuffleService {
    return {
      fetchBuckets: (s, m, r) => {
        const { encoded, transfer: buffers } = encodeBuckets(this.shuffles.fetchBuckets(s, m, r));
        return transfer(encoded, buffers);
      },
    };
  }

  async runTask(msg: TaskMessage): Promise<TaskOutcome> {
    // Restarted once the task has the thread: a task queued behind another must not count its wait.
    let started = performance.now();
    let gcAtStart = gcTotalMs;
    let readRecords = 0;
    let readBytes = 0;
    let writeRecords = 0;
    let writeBytes = 0;
    let resultBytes = 0;
    let resultRecords = 0;
    let inputRecords = 0;
    let inputBytes = 0;
    let compileMs = 0;
    let runMs = 0;
    let computeStart = 0;
    let fetchWaitMs = 0;
    let spillCount = 0;
    let keySample: string[] | undefined;
    const metrics = (): TaskMetrics => {
      const durationMs = performance.now() - started;
      return {
        durationMs,
        runMs,
        compileMs,
        gcMs: gcTotalMs - gcAtStart,
        fetchWaitMs,
        inputRecords,
        inputBytes,
        shuffleReadRecords: readRecords,
        shuffleReadBytes: readBytes,
        shuffleWriteRecords: writeRecords,
        shuffleWriteBytes: writeBytes,
        spillCount,
        resultRecords,
        resultBytes,
        ...(keySample !== undefined ? { keySample } : {}),
      };
    };
    const timed = async <T>(f: () => Promise<T>, add: (ms: number) => void): Promise<T> => {
      const t0 = performance.now();
      try {
        return await f();
      } finally {
        add(performance.now() - t0);
      }
    };
    const epoch = this.epoch;
    try {
      if (msg.epoch !== this.epoch) {
        // Never happens through the pool; a task meant for another incarnation must not run here.
        const message = `task ${msg.taskId} was built for epoch ${msg.epoch} of worker ${this.workerIndex}, this is epoch ${this.epoch}`;
        return { status: 'failed', epoch, failure: { kind: 'workerLost', workerIndex: this.workerIndex, message, causedByApp: false }, blockUpdates: [] };
      }
      // Let messages that arrived while the previous task computed be handled first: a cancellation of this
      // queued task (the driver moved it to a free worker) must be seen before it starts.
      this.#active.add(msg.taskId);
      await new Promise<void>((resolve) => setImmediate(resolve));
      started = performance.now();
      gcAtStart = gcTotalMs;
      // The fault-injection delay counts as run time: it stands for a slow computation.
      if (msg.delayMs) await this.#delay(msg.taskId, msg.delayMs);
      if (this.#cancelled.delete(msg.taskId)) {
        return { status: 'failed', epoch, failure: { kind: 'killed', message: `task ${msg.taskId} was cancelled` }, blockUpdates: [], metrics: metrics() };
      }
      for (const [id, value] of msg.broadcasts) this.#broadcasts.set(id, value);
      const accumulators = new Map<number, LocalAccumulator>();
      for (const [id, kind] of msg.accumulators) accumulators.set(id, new LocalAccumulator(kind));
      const runtime: ClosureRuntime = {
        broadcastValue: (id) => {
          if (!this.#broadcasts.has(id)) throw new Error(`broadcast ${id} was not delivered to worker ${this.workerIndex} (destroyed?)`);
          return this.#broadcasts.get(id);
        },
        accumulator: (id) => {
          const acc = accumulators.get(id);
          if (acc === undefined) throw new Error(`accumulator ${id} is unknown to this task`);
          return acc;
        },
        importModule: importModuleFrom,
      };
      const compile = async (f: ShippedFunction): Promise<Fn> => (await compileFunction(f, runtime)) as Fn;
      const rdds = await timed(() => this.#stageRdds(msg, compile), (ms) => (compileMs += ms));
      const rdd = rdds.get(msg.finalRddId);
      if (rdd === undefined) throw new Error(`task ${msg.taskId} names RDD ${msg.finalRddId}, which was not sent`);

      const inputs = new Map<string, Bucket[]>();
      for (const read of msg.shuffleReads) {
        const buckets = await timed(() => this.#fetch(read.shuffleId, read.reduceId, read.locations), (ms) => (fetchWaitMs += ms));
        for (const b of buckets) {
          readRecords += b.length;
          if (b.length > 0) readBytes += estimateSize(b);
        }
        keySample ??= keySampleOf(buckets);
        inputs.set(`${read.shuffleId}/${read.reduceId}`, buckets);
      }
      const computed = new Map<number, number>();
      const payloads = new Map<string, readonly unknown[]>();
      for (const [rddId, p, data] of msg.payloads) payloads.set(`${rddId}/${p}`, data);
      const tc: TaskContext = {
        stageId: msg.stageId,
        partition: msg.partition,
        attempt: msg.attempt,
        blocks: this.blocks,
        shuffleInput: (shuffleId, reduceId) => {
          const b = inputs.get(`${shuffleId}/${reduceId}`);
          if (b === undefined) throw new Error(`shuffle ${shuffleId} partition ${reduceId} was not fetched for this task`);
          return b as ReadonlyArray<ReadonlyArray<Pair>>;
        },
        payload: (rddId, p) => payloads.get(`${rddId}/${p}`) ?? [],
        computed: (rddId) => computed.set(rddId, (computed.get(rddId) ?? 0) + 1),
        inputRead: (records, bytes) => {
          inputRecords += records;
          inputBytes += bytes;
        },
      };

      let value: unknown;
      let mapStatus;
      if (msg.shuffleWrite !== undefined) {
        const w = msg.shuffleWrite;
        const aggregator = w.aggregator && w.mapSideCombine ? await timed(() => compileAggregator(w.aggregator!, compile), (ms) => (compileMs += ms)) : undefined;
        const writer = this.shuffles.writer(w.shuffleId, msg.partition, w.partitioner.numPartitions);
        const spillsBefore = this.#spills();
        let sampled = 0;
        let sampledBytes = 0;
        let seen = 0;
        const measuring: typeof writer = {
          add: (reduceId, kv) => {
            if (seen++ % WRITE_SAMPLE_EVERY === 0) {
              sampled++;
              sampledBytes += estimateSize([kv]) - 24; // minus the estimator's array overhead
            }
            writer.add(reduceId, kv);
          },
          close: () => writer.close(),
        };
        computeStart = performance.now();
        const status = writeShuffleOutput(rdd, msg.partition, tc, w, aggregator, measuring);
        runMs = performance.now() - computeStart;
        for (const s of status.sizes) writeRecords += s;
        writeBytes = sampled === 0 ? 0 : Math.round((sampledBytes / sampled) * writeRecords);
        spillCount = this.#spills() - spillsBefore;
        mapStatus = status;
      } else if (msg.resultFn !== undefined) {
        const run = await timed(() => prepareResultFunction(msg.resultFn!, compile), (ms) => (compileMs += ms));
        computeStart = performance.now();
        value = run(rdd as RDD<unknown>, msg.partition, tc);
        runMs = performance.now() - computeStart;
        resultRecords = Array.isArray(value) ? value.length : value === undefined ? 0 : 1;
        // Refuse to send more than the driver accepts (Spark's spark.driver.maxResultSize) rather than exhaust it.
        if (value !== null && typeof value === 'object') {
          const bytes = estimateSize(Array.isArray(value) ? value : [value]);
          if (bytes > this.#maxResultBytes) {
            return {
              status: 'failed',
              epoch,
              failure: { kind: 'resultTooLarge', bytes, limit: this.#maxResultBytes },
              blockUpdates: this.blocks.drainUpdates(),
              metrics: metrics(),
            };
          }
          resultBytes = bytes;
        }
        value = this.#services.deliverResult(msg.jobId, msg.partition, msg.attempt, value);
      }
      return {
        status: 'success',
        epoch,
        value,
        ...(mapStatus ? { mapStatus } : {}),
        accumulators: [...accumulators].map(([id, a]) => [id, a.value] as const),
        computedRdds: [...computed.keys()],
        blockUpdates: this.blocks.drainUpdates(),
        metrics: metrics(),
      };
    } catch (e) {
      if (computeStart > 0 && runMs === 0) runMs = performance.now() - computeStart;
      const blockUpdates = this.blocks.drainUpdates();
      if (e instanceof FetchFailedError) {
        return {
          status: 'failed',
          epoch,
          failure: { kind: 'fetchFailed', shuffleId: e.shuffleId, mapId: e.mapId, workerIndex: e.workerIndex, epoch: e.epoch, message: e.message },
          blockUpdates,
          metrics: metrics(),
        };
      }
      return { status: 'failed', epoch, failure: { kind: 'exception', error: toErrorInfo(e) }, blockUpdates, metrics: metrics() };
    } finally {
      this.#active.delete(msg.taskId);
      this.#cancelled.delete(msg.taskId);
    }
  }

  /** Spills of this worker's shuffle manager so far (a manager that never spills has no counter). */
  #spills(): number {
    const n = (this.shuffles as { spills?: unknown }).spills;
    return typeof n === 'number' ? n : 0;
  }

  /** RDD descriptions per stage attempt, oldest first (the driver sends each once per worker). */
  readonly #stageWires = new Map<string, readonly RddWire[]>();
  /** Rebuilt RDDs per stage attempt, shared by its tasks when they use no accumulator (task-local state). */
  readonly #rebuilt = new Map<string, Map<number, RDD<unknown>>>();

  async #stageRdds(msg: TaskMessage, compile: (f: ShippedFunction) => Promise<Fn>): Promise<Map<number, RDD<unknown>>> {
    if (msg.rdds !== undefined) {
      this.#stageWires.set(msg.stageKey, msg.rdds);
      if (this.#stageWires.size > STAGES_CACHED) {
        const oldest = this.#stageWires.keys().next().value!;
        this.#stageWires.delete(oldest);
        this.#rebuilt.delete(oldest);
      }
    }
    const wires = this.#stageWires.get(msg.stageKey);
    if (wires === undefined) throw new Error(`worker ${this.workerIndex} has no description of stage attempt ${msg.stageKey}`);
    if (msg.accumulators.length > 0) return rebuildRdds(wires, compile);
    let rdds = this.#rebuilt.get(msg.stageKey);
    if (rdds === undefined) {
      rdds = await rebuildRdds(wires, compile);
      this.#rebuilt.set(msg.stageKey, rdds);
    }
    return rdds;
  }

  /** Bucket `reduceId` of every map output, in map-id order, grouping the requests by the worker holding them. */
  async #fetch(shuffleId: number, reduceId: number, locations: readonly number[]): Promise<Bucket[]> {
    const byWorker = new Map<number, number[]>();
    locations.forEach((w, mapId) => {
      let ids = byWorker.get(w);
      if (ids === undefined) byWorker.set(w, (ids = []));
      ids.push(mapId);
    });
    const out: Bucket[] = new Array(locations.length);
    await Promise.all(
      [...byWorker].map(async ([w, mapIds]) => {
        let got: Bucket[];
        if (w === this.workerIndex) {
          try {
            got = this.shuffles.fetchBuckets(shuffleId, mapIds, reduceId);
          } catch (e) {
            if (e instanceof FetchFailedError) throw new FetchFailedError(e.shuffleId, e.mapId, w, e.message, this.epoch);
            throw e;
          }
        } else {
          const epoch = this.#peers.get(w)?.epoch ?? -1;
          try {
            got = await this.#askPeer(w, shuffleId, mapIds, reduceId);
          } catch (e) {
            // A peer that lost its outputs (or died, or is stuck) shows up here: the driver recomputes them.
            throw new FetchFailedError(shuffleId, mapIds[0]!, w, `fetching shuffle ${shuffleId} from worker ${w} failed: ${(e as Error).message}`, epoch);
          }
        }
        mapIds.forEach((mapId, i) => (out[mapId] = got[i]!));
      }),
    );
    return out;
  }
}

/** Stage keys are `stageId.attempt`. */
function stageIdOf(stageKey: string): number {
  return Number(stageKey.slice(0, stageKey.indexOf('.')));
}
