/**
 * Turns a task (stage, partition, attempt) into the message a worker runs, at launch time, because what the
 * task carries depends on where it runs: shuffle reads and leaf data below a partition already cached on that
 * worker are left out, and broadcast values go only to workers that have not received them yet.
 */
import { eachCapturedEntry } from '../closure/index.js';
import type { RDD, RddWire, ResultFunctionWire } from '../rdd/index.js';
import { walkNarrowPartitions } from '../rdd/dependency.js';
import { STAGES_CACHED, type RemoteBlockWire, type TaskMessage } from '../exec/protocol.js';
import type { AccumulatorKind } from '../closure/index.js';
import type { ShuffleReadWire, ShuffleWriteWire } from '../shuffle/wire.js';
import type { CacheTracker } from './cache-tracker.js';
import type { MapOutputTracker } from './map-output-tracker.js';
import { narrowLineage } from './lineage.js';
import type { Stage } from './stage.js';

/** A shuffle a task must read is not (or no longer) complete: the scheduler treats it as a fetch failure. */
export class MissingShuffleOutputError extends Error {
  constructor(
    readonly shuffleId: number,
    readonly mapId: number,
    lostBecause: string | undefined,
  ) {
    super(`map output ${mapId} of shuffle ${shuffleId} is missing${lostBecause ? `: it was lost when ${lostBecause}` : ''}`);
  }
}

export interface SharedVariables {
  broadcastValue(id: number): unknown;
  accumulatorKind(id: number): AccumulatorKind;
}

interface StageWire {
  readonly rdds: readonly RddWire[];
  readonly broadcastIds: readonly number[];
  readonly accumulatorIds: readonly number[];
}

export class TaskBuilder {
  /** Per stage attempt: the stage's RDDs as wire data, built once and shared by its tasks. */
  readonly #stageWires = new Map<string, StageWire>();
  /** Broadcast ids each worker already holds. */
  readonly #delivered = new Map<number, Set<number>>();
  /** Stage attempts whose RDDs each worker holds, oldest first (mirrors the worker's FIFO). */
  readonly #stagesSent = new Map<number, Set<string>>();
  #nextTaskId = 0;

  constructor(
    private readonly tracker: MapOutputTracker,
    private readonly cache: CacheTracker,
    private readonly shared: SharedVariables,
    /** Told of each stage attempt's RDDs once, when its first task is built (the large task check reads them). */
    private readonly onStageWire?: (stage: Stage, attempt: number, rdds: readonly RddWire[]) => void,
  ) {}

  /** A replaced worker starts without any broadcast. */
  forgetWorker(workerIndex: number): void {
    this.#delivered.delete(workerIndex);
    this.#stagesSent.delete(workerIndex);
  }
  forgetBroadcast(id: number): void {
    for (const s of this.#delivered.values()) s.delete(id);
  }
  /** Stages no job needs: their wire data (with the values their functions captured) is dropped here and on workers. */
  forgetStages(stageIds: readonly number[]): void {
    const ids = new Set(stageIds);
    const released = (key: string) => ids.has(Number(key.slice(0, key.indexOf('.'))));
    for (const key of [...this.#stageWires.keys()]) if (released(key)) this.#stageWires.delete(key);
    for (const sent of this.#stagesSent.values()) for (const key of [...sent]) if (released(key)) sent.delete(key);
  }

  /** Wire data of stage attempts currently held (tests check that finished jobs release theirs). */
  get stagesHeld(): number {
    return this.#stageWires.size;
  }

  build(stage: Stage, stageAttempt: number, jobId: number, partition: number, attempt: number, workerIndex: number, epoch: number): TaskMessage {
    const wire = this.#stageWire(stage, stageAttempt);
    const { payloads, shuffleReads, remoteBlocks } = this.#inputs(stage.rdd, partition, workerIndex);
    let delivered = this.#delivered.get(workerIndex);
    if (delivered === undefined) this.#delivered.set(workerIndex, (delivered = new Set()));
    const broadcasts: Array<readonly [number, unknown]> = [];
    for (const id of wire.broadcastIds) {
      if (!delivered.has(id)) {
        broadcasts.push([id, this.shared.broadcastValue(id)]);
        delivered.add(id);
      }
    }
    const stageKey = `${stage.id}.${stageAttempt}`;
    let sent = this.#stagesSent.get(workerIndex);
    if (sent === undefined) this.#stagesSent.set(workerIndex, (sent = new Set()));
    const sendRdds = !sent.has(stageKey);
    if (sendRdds) {
      sent.add(stageKey);
      if (sent.size > STAGES_CACHED) sent.delete(sent.values().next().value!);
    }
    let shuffleWrite: ShuffleWriteWire | undefined;
    let resultFn: ResultFunctionWire | undefined;
    if (stage.kind === 'shuffleMap') {
      const dep = stage.dep;
      shuffleWrite = {
        shuffleId: dep.shuffleId,
        partitioner: dep.partitioner.toWire(),
        ...(dep.aggregator ? { aggregator: dep.aggregator } : {}),
        mapSideCombine: dep.mapSideCombine,
        rddId: dep.childId,
        rddLabel: dep.childLabel,
      };
    } else {
      resultFn = stage.resultFn;
    }
    return {
      taskId: this.#nextTaskId++,
      jobId,
      stageId: stage.id,
      stageAttempt,
      partition,
      attempt,
      epoch,
      stageKey,
      ...(sendRdds ? { rdds: wire.rdds } : {}),
      finalRddId: stage.rdd.id,
      payloads,
      shuffleReads,
      ...(shuffleWrite ? { shuffleWrite } : {}),
      ...(resultFn ? { resultFn } : {}),
      broadcasts,
      accumulators: wire.accumulatorIds.map((id) => [id, this.shared.accumulatorKind(id)] as const),
      ...(remoteBlocks !== undefined ? { remoteBlocks } : {}),
    };
  }

  #stageWire(stage: Stage, attempt: number): StageWire {
    const key = `${stage.id}.${attempt}`;
    let w = this.#stageWires.get(key);
    if (w === undefined) {
      const rdds = narrowLineage(stage.rdd).map((r) => r.toWire());
      const found = { broadcasts: new Set<number>(), accumulators: new Set<number>() };
      scanShipped(rdds, found);
      if (stage.kind === 'shuffleMap') scanShipped(stage.dep.aggregator, found);
      else scanShipped(stage.resultFn, found);
      w = { rdds, broadcastIds: [...found.broadcasts], accumulatorIds: [...found.accumulators] };
      this.#stageWires.set(key, w);
      this.onStageWire?.(stage, attempt, rdds);
      // Old stage attempts are rebuilt on demand if ever needed again; keep the map from growing forever.
      if (this.#stageWires.size > 2 * STAGES_CACHED) this.#stageWires.delete(this.#stageWires.keys().next().value!);
    }
    return w;
  }

  /**
   * Leaf data and shuffle reads below one partition, stopping at partitions cached on the target worker. A partition
   * cached on other workers only is a remote block the worker fetches; the shuffle reads below it go with it, read
   * only if the fetch fails (its leaf data goes in `payloads` either way: it is on the driver already).
   */
  #inputs(rdd: RDD<unknown>, partition: number, workerIndex: number): Pick<TaskMessage, 'payloads' | 'shuffleReads' | 'remoteBlocks'> {
    const payloads: Array<readonly [number, number, readonly unknown[]]> = [];
    const shuffleReads: ShuffleReadWire[] = [];
    const seen = new Set<string>();
    let remoteBlocks: RemoteBlockWire[] | undefined;
    const below: Array<[RDD<unknown>, number, ShuffleReadWire[]]> = [];
    // The task's own input first, then what is below each remote block (minus what the task reads anyway).
    const walk = (stack: Array<[RDD<unknown>, number]>, reads: ShuffleReadWire[], remote: boolean): void =>
      walkNarrowPartitions(stack, seen, (r, p) => {
        if (r.storageLevel.name !== 'NONE') {
          if (this.cache.isCachedOn(r.id, p, workerIndex)) return 'skip';
          const holders = remote ? [] : this.cache.locations(r.id, p);
          if (holders.length > 0) {
            const fallbackReads: ShuffleReadWire[] = [];
            (remoteBlocks ??= []).push({ rddId: r.id, partition: p, generation: r.cacheGeneration, workers: holders, fallbackReads });
            below.push([r, p, fallbackReads]);
            return 'skip';
          }
        }
        const payload = r.partitionPayload?.(p);
        if (payload !== undefined) payloads.push([r.id, p, payload]);
        for (const d of r.dependencies) {
          if (d.type !== 'shuffle') continue;
          const missing = this.tracker.missingMaps(d.shuffleId);
          if (missing.length > 0) throw new MissingShuffleOutputError(d.shuffleId, missing[0]!, this.tracker.lostReason(d.shuffleId, missing[0]!));
          // Read from shared memory only by the task's own input: a fallback read may never be made, and a taken
          // shared bucket must be released by the task that took it.
          reads.push(remote ? this.tracker.reads(d.shuffleId, p) : this.tracker.reads(d.shuffleId, p, workerIndex));
        }
        return 'descend';
      });
    walk([[rdd, partition]], shuffleReads, false);
    for (const [r, p, fallbackReads] of below) {
      // The block itself was marked seen when it was listed; what is below it was not.
      seen.delete(`${r.id}/${p}`);
      walk([[r, p]], fallbackReads, true);
    }
    return { payloads, shuffleReads, ...(remoteBlocks !== undefined ? { remoteBlocks } : {}) };
  }
}

/** Finds broadcast and accumulator references in shipped functions (recursively through helper functions). */
function scanShipped(value: unknown, found: { broadcasts: Set<number>; accumulators: Set<number> }): void {
  eachCapturedEntry(value, (_, entry) => {
    if (entry.t === 'broadcast') found.broadcasts.add(entry.id);
    else if (entry.t === 'accumulator') found.accumulators.add(entry.id);
  });
}
