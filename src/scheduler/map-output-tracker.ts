/**
 * Driver-side registry of shuffle map outputs (Spark's MapOutputTracker): for each shuffle, which worker holds
 * the output of each map task. Reduce tasks get these locations in their task message; a stage is available
 * when every map output is registered. Outputs of a lost worker are unregistered so they are recomputed.
 */
import type { MapStatus, ShuffleReadWire } from '../shuffle/wire.js';
import { sharedSlot, spent, type SharedOutputHandle } from '../shuffle/shared-output.js';

interface Output {
  readonly workerIndex: number;
  /** The incarnation of the worker that wrote it. */
  readonly epoch: number;
  /**
   * The reduce partitions whose bucket holds records, ascending (the status's sizes, compressed: O(records), where a
   * bit per reducer was M x R / 8 bytes per shuffle, 134 MB for SparkTC's 32,768 x 32,768); undefined when the status
   * gave no sizes (every bucket is then read).
   */
  readonly nonEmpty: Int32Array | undefined;
  /**
   * The output in shared memory (local mode), until it is spent (read by every reducer, or withdrawn by its writer):
   * holding it keeps the memory alive, so it is let go as soon as no new reader needs it.
   */
  shared?: SharedOutputHandle;
  /** The workers sent `shared` (they keep it: later reduce tasks name the output only). */
  sentTo?: Set<number>;
}

export class MapOutputTracker {
  readonly #shuffles = new Map<number, Array<Output | undefined>>();
  /**
   * Per shuffle, its outputs registered now: whether all are (asked after every map task, and for every reduce task
   * built) is then O(1), where a look at every output was M x R per shuffle (SparkTC's 32,768 x 32,768).
   */
  readonly #held = new Map<number, number>();
  /**
   * Per shuffle, the map ids to read for each reduce partition (outputs without sizes apart: read by every reducer),
   * built at the first `reads` after a change to the shuffle's outputs: a look at every output per reduce task was
   * M x R per shuffle.
   */
  readonly #readers = new Map<number, { readonly byReducer: Array<number[] | undefined>; readonly everyReducer: number[] }>();
  /**
   * Why outputs went missing ("worker 1 ran out of memory ..."), so a fetch failure can name its root cause; per
   * shuffle, so forgetting a shuffle forgets its reasons in one step.
   */
  readonly #lostBecause = new Map<number, Map<number, string>>();

  /**
   * Shuffles whose outputs were once all registered: a reducer may have read them, so computing part of such a
   * shuffle again can mix two computations in one reducer's input (the DAG scheduler's rollback).
   */
  readonly #completed = new Set<number>();

  /** Shuffles with an output still held in shared memory (see Output.shared), checked by `#sweepShared`. */
  readonly #withShared = new Set<number>();
  #sharedRegistered = 0;
  /** Shared outputs held at the last sweep, and outputs registered since: see `registerOutput`. */
  #sharedAtSweep = 0;
  #sinceSweep = 0;

  /** Records that every output of the shuffle is registered (its stage finished). */
  markCompleted(shuffleId: number): void {
    if (this.#shuffles.has(shuffleId)) this.#completed.add(shuffleId);
  }

  /** Whether every output of the shuffle was registered at some point (reducers may have read them). */
  wasCompleted(shuffleId: number): boolean {
    return this.#completed.has(shuffleId);
  }

  /**
   * Forgets every output of a shuffle (an indeterminate shuffle is computed again in full). Until it completes
   * again no reducer reads it, so a loss meanwhile needs only the missing outputs.
   */
  unregisterAllOutputs(shuffleId: number, reason: string): void {
    this.#completed.delete(shuffleId);
    const outputs = this.#shuffles.get(shuffleId);
    outputs?.forEach((o, i) => {
      if (o === undefined) return;
      this.#forget(shuffleId, outputs, i);
      this.#lost(shuffleId, i, reason);
    });
  }

  registerShuffle(shuffleId: number, numMaps: number): void {
    if (this.#shuffles.has(shuffleId)) return;
    this.#shuffles.set(shuffleId, new Array(numMaps).fill(undefined));
    this.#held.set(shuffleId, 0);
  }

  /** Sets output `mapId` of the shuffle to none (it was one). */
  #forget(shuffleId: number, outputs: Array<Output | undefined>, mapId: number): void {
    outputs[mapId] = undefined;
    this.#held.set(shuffleId, this.#held.get(shuffleId)! - 1);
    this.#readers.delete(shuffleId);
  }

  registerOutput(shuffleId: number, mapId: number, workerIndex: number, epoch: number, status: MapStatus): void {
    const outputs = this.#shuffles.get(shuffleId);
    this.#readers.delete(shuffleId);
    if (outputs !== undefined) {
      const shared = status.shared;
      // Only the sizes' emptiness is kept: only `shared` holds the memory, and it is let go on its own.
      const nonEmpty = nonEmptyReducers(status.sizes);
      if (outputs[mapId] === undefined) this.#held.set(shuffleId, this.#held.get(shuffleId)! + 1);
      outputs[mapId] = shared === undefined ? { workerIndex, epoch, nonEmpty } : { workerIndex, epoch, nonEmpty, shared };
      if (shared !== undefined) {
        this.#withShared.add(shuffleId);
        this.#sharedRegistered++;
      }
    }
    // Shared outputs read in full since the last sweep (by the stage that is running) are let go at a map task's end.
    // A sweep reads every held output, so one per map task would be quadratic in a stage of many tasks: it runs once
    // registrations since the last one reach a quarter of what it found then (every time while few are held, as in
    // an iterative program's small stages), which keeps it O(1) per task amortized.
    if (++this.#sinceSweep * 4 > this.#sharedAtSweep) this.#sweepShared();
    const lost = this.#lostBecause.get(shuffleId);
    lost?.delete(mapId);
    if (lost?.size === 0) this.#lostBecause.delete(shuffleId);
  }

  /** Why a missing map output was lost, if it was lost with a worker. */
  lostReason(shuffleId: number, mapId: number): string | undefined {
    return this.#lostBecause.get(shuffleId)?.get(mapId);
  }

  unregisterOutput(shuffleId: number, mapId: number, workerIndex: number): void {
    const outputs = this.#shuffles.get(shuffleId);
    if (outputs?.[mapId]?.workerIndex === workerIndex) this.#forget(shuffleId, outputs, mapId);
  }

  /**
   * A worker failed to serve a fetch: every output it wrote up to incarnation `epoch` is taken as lost, in
   * every shuffle (Spark does the same on a fetch failure without an external shuffle service), so one stage
   * retry recomputes them all instead of discovering them one failed attempt at a time. Outputs of a newer
   * incarnation are kept.
   */
  unregisterWorkerOutputs(workerIndex: number, epoch: number, reason: string): void {
    for (const [id, outputs] of this.#shuffles) {
      outputs.forEach((o, i) => {
        if (o !== undefined && o.workerIndex === workerIndex && o.epoch <= epoch) {
          this.#forget(id, outputs, i);
          this.#lost(id, i, reason);
        }
      });
    }
  }

  /** Forgets every output held by a worker (which died of `reason`); returns the shuffles that lost something. */
  removeWorker(workerIndex: number, reason: string): number[] {
    const touched: number[] = [];
    for (const [id, outputs] of this.#shuffles) {
      let hit = false;
      outputs.forEach((o, i) => {
        // Its replacement starts without the handles it was sent.
        o?.sentTo?.delete(workerIndex);
        if (o?.workerIndex === workerIndex) {
          this.#forget(id, outputs, i);
          this.#lost(id, i, reason);
          hit = true;
        }
      });
      if (hit) touched.push(id);
    }
    return touched;
  }

  missingMaps(shuffleId: number): number[] {
    const outputs = this.#shuffles.get(shuffleId) ?? [];
    if (this.#held.get(shuffleId) === outputs.length) return [];
    const out: number[] = [];
    outputs.forEach((o, i) => {
      if (o === undefined) out.push(i);
    });
    return out;
  }

  isAvailable(shuffleId: number): boolean {
    const outputs = this.#shuffles.get(shuffleId);
    return outputs !== undefined && this.#held.get(shuffleId) === outputs.length;
  }

  /**
   * What a reduce task of partition `reduceId` reads of a shuffle (Spark's reducers skip zero-size blocks): the map
   * outputs whose bucket `reduceId` holds records, the worker holding each, and, for a task of worker `workerIndex`,
   * those of them in shared memory with the handles of the ones that worker was not sent yet (counted as sent: it
   * keeps them). Its size follows the records the reducer gets, not the number of map tasks: a shuffle of 1000 maps
   * into 2000 reducers, each bucket empty but a few, sends each task a few map ids instead of 1000 locations and asks
   * no worker for an empty bucket. The reader's own worker's shared outputs are included: read from its store they
   * would be views outside the readers' count, whose memory the writer then cannot reuse (shared-output.ts). Without
   * `workerIndex` (a read the task may never make), nothing is read from shared memory. Throws if an output is missing
   * (the scheduler checks availability first).
   */
  reads(shuffleId: number, reduceId: number, workerIndex?: number): ShuffleReadWire {
    const outputs = this.#shuffles.get(shuffleId) ?? [];
    const withShared = workerIndex !== undefined && this.#withShared.has(shuffleId);
    const index = this.#readersOf(shuffleId, outputs);
    const some = index.byReducer[reduceId] ?? [];
    const read = index.everyReducer.length === 0 ? some : [...some, ...index.everyReducer].sort((a, b) => a - b);
    const mapIds: number[] = [];
    const locations: number[] = [];
    let sharedMaps: number[] | undefined;
    let sharedSlots: number[] | undefined;
    let handles: Array<readonly [number, SharedOutputHandle]> | undefined;
    for (const mapId of read) {
      const o = outputs[mapId]!;
      mapIds.push(mapId);
      locations.push(o.workerIndex);
      if (!withShared || o.shared === undefined) continue;
      const slot = sharedSlot(o.shared, reduceId);
      if (slot < 0) continue;
      (sharedMaps ??= []).push(mapId);
      (sharedSlots ??= []).push(slot);
      const sent = (o.sentTo ??= new Set());
      if (sent.has(workerIndex)) continue;
      sent.add(workerIndex);
      (handles ??= []).push([mapId, o.shared]);
    }
    const wire: ShuffleReadWire = { shuffleId, reduceId, mapIds, locations };
    if (sharedMaps === undefined) return wire;
    return handles === undefined ? { ...wire, sharedMaps, sharedSlots } : { ...wire, sharedMaps, sharedSlots, handles };
  }

  /** The map ids each reducer reads (see #readers); throws if an output is missing. */
  #readersOf(shuffleId: number, outputs: ReadonlyArray<Output | undefined>): { byReducer: Array<number[] | undefined>; everyReducer: number[] } {
    let index = this.#readers.get(shuffleId);
    if (index !== undefined) return index;
    index = { byReducer: [], everyReducer: [] };
    for (let mapId = 0; mapId < outputs.length; mapId++) {
      const o = outputs[mapId];
      // internal: a reduce stage is submitted only once every map output of its shuffle is registered
      if (o === undefined) throw new Error(`map output ${mapId} of shuffle ${shuffleId} is missing`);
      if (o.nonEmpty === undefined) index.everyReducer.push(mapId);
      else for (const r of o.nonEmpty) (index.byReducer[r] ??= []).push(mapId);
    }
    this.#readers.set(shuffleId, index);
    return index;
  }

  /** Shared outputs held (tests: the handles go when spent, with their worker, with their shuffle). */
  sharedHeld(shuffleId: number): number {
    return (this.#shuffles.get(shuffleId) ?? []).filter((o) => o?.shared !== undefined).length;
  }

  #sweepShared(): void {
    let held = 0;
    for (const id of this.#withShared) {
      let left = false;
      for (const o of this.#shuffles.get(id) ?? []) {
        if (o?.shared === undefined) continue;
        if (spent(o.shared.state)) {
          o.shared = undefined;
          o.sentTo = undefined;
        } else {
          left = true;
          held++;
        }
      }
      if (!left) this.#withShared.delete(id);
    }
    this.#sharedAtSweep = held;
    this.#sinceSweep = 0;
  }

  unregisterShuffle(shuffleId: number): void {
    this.#withShared.delete(shuffleId);
    this.#shuffles.delete(shuffleId);
    this.#held.delete(shuffleId);
    this.#readers.delete(shuffleId);
    this.#completed.delete(shuffleId);
    this.#lostBecause.delete(shuffleId);
  }

  #lost(shuffleId: number, mapId: number, reason: string): void {
    let lost = this.#lostBecause.get(shuffleId);
    if (lost === undefined) this.#lostBecause.set(shuffleId, (lost = new Map()));
    lost.set(mapId, reason);
  }

  /**
   * What the tracker holds (diagnostics: shuffles go when their RDDs are dropped; shared outputs once spent), and how
   * many outputs were registered in shared memory so far.
   */
  get size(): { shuffles: number; lostReasons: number; sharedOutputs: number; sharedRegistered: number } {
    this.#sweepShared();
    let lostReasons = 0;
    for (const m of this.#lostBecause.values()) lostReasons += m.size;
    let sharedOutputs = 0;
    for (const id of this.#withShared) sharedOutputs += this.sharedHeld(id);
    return { shuffles: this.#shuffles.size, lostReasons, sharedOutputs, sharedRegistered: this.#sharedRegistered };
  }
}

/**
 * The reduce partitions with records, ascending, from a map status's record counts; undefined when it has none (a
 * status without sizes: every bucket is read, as before statuses said which were empty).
 */
function nonEmptyReducers(sizes: MapStatus['sizes']): Int32Array | undefined {
  if (sizes.length === 0) return undefined;
  if ('list' in sizes) return sizes.ids.filter((_, i) => sizes.list[i]! > 0);
  let n = 0;
  for (let r = 0; r < sizes.length; r++) if (sizes[r]! > 0) n++;
  const ids = new Int32Array(n);
  for (let r = 0, i = 0; r < sizes.length; r++) if (sizes[r]! > 0) ids[i++] = r;
  return ids;
}
