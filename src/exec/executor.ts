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
import { FetchedInput } from '../shuffle/fetched-input.js';
import { workerMemoryBudget } from '../shuffle/memory-budget.js';
import { STAGES_CACHED, type AccumulatorKind, type Bucket, type TaskMessage, type TaskOutcome, type WorkerInit } from './protocol.js';
import type { RddWire } from '../rdd/rdd.js';

type Fn = (...args: unknown[]) => unknown;

/** Records per shuffle fetch request, roughly: small enough that fetched input can spill between requests. */
const FETCH_CHUNK_RECORDS = 65536;

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
  /** Peers' shuffle services, by worker index. */
  readonly #peers = new Map<number, PeerShuffleService>();

  readonly #maxResultBytes: number;

  constructor(init: WorkerInit) {
    this.workerIndex = init.workerIndex;
    this.#maxResultBytes = init.maxResultBytes;
    this.#services = createWorkerServices(init);
    this.shuffles = this.#services.shuffles;
    this.blocks = this.#services.blocks;
  }
  readonly workerIndex: number;

  /** Fetches waiting on each peer, failed at once if that peer dies (comlink would wait forever). */
  readonly #waiting = new Map<number, Set<(e: Error) => void>>();
  /** Tasks the driver cancelled before they started computing. */
  readonly #cancelled = new Set<number>();
  readonly #wakeUps = new Map<number, () => void>();

  setPeer(index: number, service: PeerShuffleService): void {
    this.#peers.set(index, service);
  }

  peerLost(index: number): void {
    this.#peers.delete(index);
    const waiting = this.#waiting.get(index);
    this.#waiting.delete(index);
    for (const fail of waiting ?? []) fail(new Error(`worker ${index} died`));
  }

  cancelTask(taskId: number): void {
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

  /** Asks a peer for buckets; rejects if the peer dies while the request is out. */
  #askPeer(w: number, shuffleId: number, mapIds: number[], reduceId: number): Promise<Bucket[]> {
    const peer = this.#peers.get(w);
    if (peer === undefined) return Promise.reject(new Error(`worker ${w} is not reachable from worker ${this.workerIndex}`));
    return new Promise<Bucket[]>((resolve, reject) => {
      let set = this.#waiting.get(w);
      if (set === undefined) this.#waiting.set(w, (set = new Set()));
      const waiting = set;
      waiting.add(reject);
      Promise.resolve(peer.fetchBuckets(shuffleId, mapIds, reduceId))
        .then((encoded) => {
          try {
            resolve(encoded.map(decodeBucket));
          } catch (e) {
            reject(e);
          }
        }, reject)
        .finally(() => waiting.delete(reject));
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
    const started = performance.now();
    let readRecords = 0;
    let writeRecords = 0;
    let resultBytes = 0;
    const metrics = () => ({ durationMs: performance.now() - started, shuffleReadRecords: readRecords, shuffleWriteRecords: writeRecords, resultBytes });
    const inputs = new Map<string, FetchedInput>();
    try {
      if (msg.delayMs) await this.#delay(msg.taskId, msg.delayMs);
      if (this.#cancelled.delete(msg.taskId)) {
        return { status: 'failed', failure: { kind: 'killed', message: `task ${msg.taskId} was cancelled` }, blockUpdates: [], metrics: metrics() };
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
      const rdds = await this.#stageRdds(msg, compile);
      const rdd = rdds.get(msg.finalRddId);
      if (rdd === undefined) throw new Error(`task ${msg.taskId} names RDD ${msg.finalRddId}, which was not sent`);

      for (const read of msg.shuffleReads) {
        const input = new FetchedInput(workerMemoryBudget());
        inputs.set(`${read.shuffleId}/${read.reduceId}`, input);
        await this.#fetch(read.shuffleId, read.reduceId, read.locations, input);
        readRecords += input.records;
      }
      const fetched = (shuffleId: number, reduceId: number): FetchedInput => {
        const input = inputs.get(`${shuffleId}/${reduceId}`);
        if (input === undefined) throw new Error(`shuffle ${shuffleId} partition ${reduceId} was not fetched for this task`);
        return input;
      };
      const computed = new Map<number, number>();
      const payloads = new Map<string, readonly unknown[]>();
      for (const [rddId, p, data] of msg.payloads) payloads.set(`${rddId}/${p}`, data);
      const tc: TaskContext = {
        stageId: msg.stageId,
        partition: msg.partition,
        attempt: msg.attempt,
        blocks: this.blocks,
        shuffleInput: (shuffleId, reduceId) => fetched(shuffleId, reduceId).all() as ReadonlyArray<ReadonlyArray<Pair>>,
        shuffleInputParts: (shuffleId, reduceId) => {
          const { buckets, runs } = fetched(shuffleId, reduceId).parts();
          return { buckets: buckets as ReadonlyArray<ReadonlyArray<Pair>>, runs };
        },
        payload: (rddId, p) => payloads.get(`${rddId}/${p}`) ?? [],
        computed: (rddId) => computed.set(rddId, (computed.get(rddId) ?? 0) + 1),
      };

      let value: unknown;
      let mapStatus;
      if (msg.shuffleWrite !== undefined) {
        const w = msg.shuffleWrite;
        const aggregator = w.aggregator && w.mapSideCombine ? await compileAggregator(w.aggregator, compile) : undefined;
        const writer = this.shuffles.writer(w.shuffleId, msg.partition, w.partitioner.numPartitions);
        const status = writeShuffleOutput(rdd, msg.partition, tc, w, aggregator, writer);
        for (const s of status.sizes) writeRecords += s;
        mapStatus = status;
      } else if (msg.resultFn !== undefined) {
        const run = await prepareResultFunction(msg.resultFn, compile);
        value = run(rdd as RDD<unknown>, msg.partition, tc);
        // Refuse to send more than the driver accepts (Spark's spark.driver.maxResultSize) rather than exhaust it.
        if (value !== null && typeof value === 'object') {
          const bytes = estimateSize(Array.isArray(value) ? value : [value]);
          if (bytes > this.#maxResultBytes) {
            return {
              status: 'failed',
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
        value,
        ...(mapStatus ? { mapStatus } : {}),
        accumulators: [...accumulators].map(([id, a]) => [id, a.value] as const),
        computedRdds: [...computed.keys()],
        blockUpdates: this.blocks.drainUpdates(),
        metrics: metrics(),
      };
    } catch (e) {
      const blockUpdates = this.blocks.drainUpdates();
      if (e instanceof FetchFailedError) {
        return {
          status: 'failed',
          failure: { kind: 'fetchFailed', shuffleId: e.shuffleId, mapId: e.mapId, workerIndex: e.workerIndex, message: e.message },
          blockUpdates,
          metrics: metrics(),
        };
      }
      return { status: 'failed', failure: { kind: 'exception', error: toErrorInfo(e) }, blockUpdates, metrics: metrics() };
    } finally {
      for (const input of inputs.values()) input.dispose();
    }
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

  /**
   * Bucket `reduceId` of every map output into `into`, grouping the requests by the worker holding them. Each
   * worker is asked for a few buckets at a time (about FETCH_CHUNK_RECORDS records), so the input can spill to
   * disk between chunks instead of arriving all at once.
   */
  async #fetch(shuffleId: number, reduceId: number, locations: readonly number[], into: FetchedInput): Promise<void> {
    const byWorker = new Map<number, number[]>();
    locations.forEach((w, mapId) => {
      let ids = byWorker.get(w);
      if (ids === undefined) byWorker.set(w, (ids = []));
      ids.push(mapId);
    });
    await Promise.all(
      [...byWorker].map(async ([w, allIds]) => {
        let perBucket = 0;
        for (let next = 0; next < allIds.length; ) {
          // The first request is one bucket; later ones are sized by the records per bucket seen so far.
          const n = next === 0 ? 1 : Math.max(1, Math.floor(FETCH_CHUNK_RECORDS / Math.max(perBucket, 1)));
          const mapIds = allIds.slice(next, next + n);
          next += mapIds.length;
          let got: Bucket[];
          if (w === this.workerIndex) {
            got = this.shuffles.fetchBuckets(shuffleId, mapIds, reduceId);
          } else {
            try {
              got = await this.#askPeer(w, shuffleId, mapIds, reduceId);
            } catch (e) {
              // A peer that lost its outputs (or died) shows up here: the driver resubmits the lost map tasks.
              throw new FetchFailedError(shuffleId, mapIds[0]!, w, `fetching shuffle ${shuffleId} from worker ${w} failed: ${(e as Error).message}`);
            }
          }
          for (const b of got) perBucket = Math.max(perBucket, b.length);
          into.add(mapIds, got);
        }
      }),
    );
  }
}
