/**
 * The reduce side's input: bucket `reduceId` of every map output of a shuffle, read from this worker's own
 * store or asked of the peer holding it, over whatever transport connected the peers. Channels are per peer
 * incarnation (epoch), so news about a dead incarnation never disconnects its replacement. A fetch fails (as a
 * FetchFailedError the driver can repair by recomputing the output) when the peer dies while it waits, has no
 * channel, or does not answer within `fetchTimeoutMs` (a peer stuck in a runaway task serves nothing).
 */
import { unboxNumberArrays, type EncodedBucket } from '../shuffle/bucket-codec.js';
import { FetchFailedError } from '../shuffle/fetch-failed.js';
import { BUCKET_START, type BucketCursor, type BucketParts, type ShuffleManager } from '../shuffle/shuffle-manager.js';
import { heapGuardLimit, heapHasRoom } from '../core/heap-guard.js';
import type { FetchedBucket, FetchedInput } from '../shuffle/fetched-input.js';
import type { ShuffleReadWire } from '../shuffle/wire.js';
import type { BlockWire } from '../storage/columnar-block.js';

/** Records per shuffle fetch request, roughly: small enough that fetched input can spill between requests. */
const FETCH_CHUNK_RECORDS = 65536;

/**
 * A reducer's share of its heap that one fetch answer may take (split between the peers asked at once): the
 * structured clone of an answer cannot be interrupted by the heap guard, so no answer may be large.
 */
const PART_OF_HEAP = 1 / 32;
const MIN_PART_BYTES = 256 * 1024;
const MAX_PART_BYTES = 64 * 2 ** 20;

/** Bytes one fetch answer may hold, from this worker's heap limit (the largest where no limit is set). */
export function fetchPartBytes(limitBytes: number = heapGuardLimit()): number {
  return limitBytes > 0 ? Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, Math.floor(limitBytes * PART_OF_HEAP))) : MAX_PART_BYTES;
}

/** How a fetching task is told to stop (see `ShuffleFetcher.fetch`). */
export interface FetchStop {
  /** Throws if the task was asked to stop. */
  readonly check: () => void;
  /** Rejects once the task is asked to stop (handled: it may never be awaited). */
  readonly asked: Promise<never>;
}

/** `answer`, or the stop's rejection if that comes first (the answer is then dropped). */
function stoppable<T>(answer: Promise<T>, stop: FetchStop | undefined): Promise<T> {
  if (stop === undefined) return answer;
  answer.catch(() => undefined);
  return Promise.race([answer, stop.asked]);
}

/** What a worker serves to its peers: buckets in the encoding of bucket-codec.ts, which is cheaper to move. */
export interface PeerShuffleService {
  /** Whole buckets (a peer that cannot serve parts). */
  fetchBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): EncodedBucket[] | Promise<EncodedBucket[]>;
  /** Bounded parts, as `ShuffleManager.fetchParts`. */
  fetchParts?(shuffleId: number, mapIds: readonly number[], reduceId: number, at: BucketCursor, maxBytes: number): BucketParts | Promise<BucketParts>;
  /**
   * A cached partition of this worker's block store (a remote cached-block read), with its stored size; undefined
   * when it is not (or no longer) there. A transport without it makes readers compute the partition again.
   */
  fetchBlock?(rddId: number, partition: number, generation: number): ServedBlock | undefined | Promise<ServedBlock | undefined>;
}

/** A cached partition as a peer serves it. */
export interface ServedBlock {
  readonly block: BlockWire;
  readonly bytes: number;
}

/** A fetch answer as the reducer reads it. */
interface Fetched {
  readonly buckets: FetchedBucket[];
  readonly rest?: BucketParts['rest'];
}

/** The first answer of each peer asked by `askEarly`, by worker index. */
export type EarlyAsks = ReadonlyMap<number, Promise<Fetched>>;

/**
 * Where the map outputs a reducer reads are: the worker holding each, by map id, or a read's listed outputs only
 * (ShuffleReadWire.mapIds: the others have nothing for this reducer and are asked of nobody).
 */
export type MapLocations = readonly number[] | Pick<ShuffleReadWire, 'mapIds' | 'locations'>;

/** The map ids of a shuffle's outputs by the worker holding them, in map order (those in `shared` left out). */
function mapIdsByWorker(where: MapLocations, shared?: ReadonlyMap<number, unknown>): Map<number, number[]> {
  const byWorker = new Map<number, number[]>();
  const locations = 'locations' in where ? where.locations : where;
  const mapIds = 'locations' in where ? where.mapIds : undefined;
  for (let i = 0; i < locations.length; i++) {
    const mapId = mapIds === undefined ? i : mapIds[i]!;
    if (shared?.has(mapId)) continue;
    const w = locations[i]!;
    let ids = byWorker.get(w);
    if (ids === undefined) byWorker.set(w, (ids = []));
    ids.push(mapId);
  }
  return byWorker;
}

export class ShuffleFetcher {
  /** Peers' shuffle services, by worker index, with the epoch of the incarnation each channel reaches. */
  readonly #peers = new Map<number, { readonly epoch: number; readonly service: PeerShuffleService }>();
  /** Fetches waiting on each peer incarnation (`index.epoch`), failed at once if it dies (a transport may never answer). */
  readonly #waiting = new Map<string, Set<(e: Error) => void>>();

  constructor(
    private readonly workerIndex: number,
    private readonly epoch: number,
    private readonly local: ShuffleManager,
    private readonly fetchTimeoutMs: number,
    /** Bytes one answer may hold, all peers' answers in flight together (see PART_OF_HEAP). */
    private readonly partBytes: () => number = fetchPartBytes,
  ) {}

  /** Each peer's bound when `peers` are asked at once. */
  #maxBytes(peers: number): number {
    return Math.max(1, Math.floor(this.partBytes() / Math.max(1, peers)));
  }

  /** A channel to incarnation `epoch` of peer `index`; a channel to an older incarnation is dropped. */
  setPeer(index: number, epoch: number, service: PeerShuffleService): void {
    const old = this.#peers.get(index);
    if (old !== undefined && old.epoch > epoch) return;
    if (old !== undefined && old.epoch < epoch) this.peerLost(index, old.epoch);
    this.#peers.set(index, { epoch, service });
  }

  /**
   * Incarnation `epoch` of peer `index` is gone. Only that incarnation: the driver's notice and the late
   * `close` of the dead worker's channel can both arrive after the replacement is connected.
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

  /**
   * Bucket `reduceId` of every map output into `into`, grouping the requests by the worker holding them. Each
   * worker is asked for a few buckets at a time (about FETCH_CHUNK_RECORDS records, and at most a bounded number of
   * bytes: a large bucket comes in parts), so the input can spill to disk between answers (it counts against the
   * worker's shuffle pool) and the heap guard checks that the next answer has room before asking for it.
   * `received` sees each answer (for the task's metrics). Buckets in `shared` (by map id: read from shared memory,
   * see shuffle/shared-output.ts) are added as they are, first, and asked of nobody. `stop` ends the fetch once the
   * task fetching was asked to stop: between answers, between the frames of a run read here, and while an answer is
   * awaited; a reducer of runs on disk (the mapreduce engine) reads for seconds before it computes, and a cancelled
   * one ran past its kill grace and lost its worker (waiting for a peer's answer, a thread is not seen computing).
   */
  async fetch(
    shuffleId: number,
    reduceId: number,
    locations: MapLocations,
    into: FetchedInput,
    received?: (buckets: readonly FetchedBucket[]) => void,
    early?: EarlyAsks,
    shared?: ReadonlyMap<number, EncodedBucket>,
    stop?: FetchStop,
  ): Promise<void> {
    if (shared !== undefined && shared.size > 0) {
      const ids = [...shared.keys()];
      const buckets = [...shared.values()];
      received?.(buckets);
      into.add(ids, buckets, true);
    }
    const byWorker = mapIdsByWorker(locations, shared);
    const maxBytes = this.#maxBytes(byWorker.size);
    // Once one peer's answer fails the fetch, the others are asked for nothing more (the task fails with it).
    let failed = false;
    const fromPeer = async ([w, allIds]: [number, number[]]): Promise<void> => {
      let perBucket = 0;
      let at = BUCKET_START;
      let first = true;
      for (let next = 0; next < allIds.length && !failed; ) {
        stop?.check();
        // The first request is one bucket; later ones are sized by the records per bucket seen so far.
        const n = next === 0 ? 1 : Math.max(1, Math.floor(FETCH_CHUNK_RECORDS / Math.max(perBucket, 1)));
        const mapIds = allIds.slice(next, next + n);
        const asked = first ? early?.get(w) : undefined;
        first = false;
        if (asked === undefined) into.makeRoom(maxBytes);
        const got =
          w === this.workerIndex
            ? this.#fetchLocal(shuffleId, mapIds, reduceId, at, maxBytes, stop?.check)
            : await stoppable(asked ?? this.#fetchRemote(w, shuffleId, mapIds, reduceId, at, maxBytes), stop);
        if (failed) return;
        for (const b of got.buckets) perBucket = Math.max(perBucket, b.length);
        received?.(got.buckets);
        into.add(mapIds.slice(0, got.buckets.length), got.buckets);
        if (got.rest === undefined) {
          next += mapIds.length;
          at = BUCKET_START;
        } else {
          next += got.rest.index;
          at = got.rest.at;
        }
      }
    };
    await Promise.all(
      [...byWorker].map((peer) =>
        fromPeer(peer).catch((e: unknown) => {
          failed = true;
          throw e;
        }),
      ),
    );
  }

  /**
   * Sends the first request of `fetch` to each peer holding part of bucket `reduceId` now, before the task's
   * other set-up, which can let this thread serve a peer's own request first: when two workers fetch from each
   * other at a stage's start, the one answered first would otherwise begin its synchronous computation before
   * it has read the other's request, and the other would wait for all of it (fetch wait of a whole reduce task
   * in every PageRank iteration). Answers go to `fetch`, which takes `early`; a rejection is handled there (or
   * nowhere, if the task ends before fetching: the answer is then dropped).
   */
  askEarly(shuffleId: number, reduceId: number, locations: MapLocations, shared?: ReadonlyMap<number, unknown>): EarlyAsks {
    const early = new Map<number, Promise<Fetched>>();
    const byWorker = mapIdsByWorker(locations, shared);
    const maxBytes = this.#maxBytes(byWorker.size);
    // Answers asked for early are not checked by `fetch` (they are on their way): ask only while the heap has room
    // for all of them without a collection, or leave it to `fetch`, which checks before each request.
    const peers = byWorker.size - (byWorker.has(this.workerIndex) ? 1 : 0);
    if (!heapHasRoom(maxBytes * peers)) return early;
    for (const [w, allIds] of byWorker) {
      if (w === this.workerIndex) continue;
      const answer = this.#fetchRemote(w, shuffleId, allIds.slice(0, 1), reduceId, BUCKET_START, maxBytes);
      answer.catch(() => undefined);
      early.set(w, answer);
    }
    return early;
  }

  #fetchLocal(shuffleId: number, mapIds: number[], reduceId: number, at: BucketCursor, maxBytes: number, stopped: (() => void) | undefined): Fetched {
    try {
      // Stored encoded (memory engine): read as stored, decoded as the task reads it.
      if (this.local.fetchParts !== undefined) return this.local.fetchParts(shuffleId, mapIds, reduceId, at, maxBytes, true, stopped);
      return { buckets: this.local.fetchEncoded?.(shuffleId, mapIds, reduceId, true) ?? this.local.fetchBuckets(shuffleId, mapIds, reduceId) };
    } catch (e) {
      if (e instanceof FetchFailedError) throw new FetchFailedError(e.shuffleId, e.mapId, this.workerIndex, e.message, this.epoch);
      throw e;
    }
  }

  async #fetchRemote(w: number, shuffleId: number, mapIds: number[], reduceId: number, at: BucketCursor, maxBytes: number): Promise<Fetched> {
    const epoch = this.#peers.get(w)?.epoch ?? -1;
    let answer: BucketParts;
    try {
      answer = await this.#askPeer(w, (p) =>
        p.fetchParts !== undefined
          ? p.fetchParts(shuffleId, mapIds, reduceId, at, maxBytes)
          : Promise.resolve(p.fetchBuckets(shuffleId, mapIds, reduceId)).then((buckets) => ({ buckets })),
      );
    } catch (e) {
      // A peer that lost its outputs (or died, or is stuck) shows up here: the driver recomputes them.
      throw new FetchFailedError(shuffleId, mapIds[0]!, w, `fetching shuffle ${shuffleId} from worker ${w} failed: ${(e as Error).message}`, epoch);
    }
    unboxNumberArrays(answer.buckets);
    return answer;
  }

  /**
   * A cached partition from the first of `workers` that still holds it (undefined when none does, none can be asked,
   * or the one asked died or did not answer in time): the caller then computes the partition again. Never throws.
   */
  async fetchBlock(workers: readonly number[], rddId: number, partition: number, generation: number): Promise<ServedBlock | undefined> {
    for (const w of workers) {
      if (w === this.workerIndex || this.#peers.get(w)?.service.fetchBlock === undefined) continue;
      try {
        const served = await this.#askPeer(w, (p) => p.fetchBlock!(rddId, partition, generation));
        if (served !== undefined) return served;
      } catch {
        // The holder is gone or stuck: try the next one, else recompute.
      }
    }
    return undefined;
  }

  #askPeer<T>(w: number, ask: (peer: PeerShuffleService) => T | Promise<T>): Promise<T> {
    const peer = this.#peers.get(w);
    if (peer === undefined) return Promise.reject(new Error(`worker ${w} is not reachable from worker ${this.workerIndex}`));
    const key = `${w}.${peer.epoch}`;
    return new Promise<T>((resolve, reject) => {
      let set = this.#waiting.get(key);
      if (set === undefined) this.#waiting.set(key, (set = new Set()));
      const waiting = set;
      waiting.add(reject);
      const timer = setTimeout(
        () => reject(new Error(`worker ${w} did not answer within fetchTimeoutMs (${this.fetchTimeoutMs} ms)`)),
        this.fetchTimeoutMs,
      );
      Promise.resolve(ask(peer.service))
        .then(resolve, reject)
        .finally(() => {
          clearTimeout(timer);
          waiting.delete(reject);
        });
    });
  }
}
