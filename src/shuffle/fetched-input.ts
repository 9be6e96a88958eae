/**
 * A reduce task's fetched shuffle input under the worker's shuffle memory budget. A reduce partition reads one
 * bucket of every map output, and together they can be as large as a whole map partition's output, whatever
 * the budget: so buckets arrive in chunks, count against the worker's pool while in memory, and are written to
 * key-sorted run files when the pool is full (Spark fetches large blocks to disk). An aggregating reducer
 * merge-reads those runs (external-combiner.ts); any other reader gets everything back as arrays.
 *
 * Buckets that arrive encoded (bucket-codec.ts: a peer's, or this worker's own stored output) stay encoded until
 * the task reads them, and are decoded a slice at a time as it does: the task's input then never exists as one
 * list of pair objects, which would outlive the young generation and be promoted only to die with the task.
 */
import path from 'node:path';
import { rmSync } from 'node:fs';
import type { Bucket } from './wire.js';
import { estimateSize } from '../storage/size-estimator.js';
import type { NumberColumnsSink, Pair } from './combine.js';
import { compareKeys } from '../core/keys.js';
import { HEAP_HINT, readFramedRun, writeFramedRun } from './external-combiner.js';
import { checkHeap, heapGuardLimit } from '../core/heap-guard.js';
import type { MemoryBudget, MemoryConsumer } from './memory-budget.js';
import { decodeRange, encodedBytes, isStringColumn, stringKeysOf, type EncodedBucket } from './bucket-codec.js';

/** A bucket as fetched: pairs, or columns decoded as read. */
export type FetchedBucket = Bucket | EncodedBucket;

/** Records decoded at a time from an encoded bucket. */
const SLICE = 4096;

let inputCounter = 0;

/** The parts of one map output's bucket, fetched one after another (a bucket is itself an array: so a class). */
class Parts {
  constructor(readonly list: FetchedBucket[]) {}
}

export class FetchedInput implements MemoryConsumer {
  bytes = 0;
  /**
   * Buckets in memory, by map id (read in map id order: the order readers that do not merge have always seen); a
   * bucket fetched in parts has several, in order. A Map and its ids apart, not an array indexed by map id: a reducer
   * of a shuffle of M maps that reads a few of them walked an array of up to M slots, nearly all holes, at every read,
   * which was M x R per shuffle (SparkTC's last round: 32,768 x 32,768).
   */
  #buckets = new Map<number, FetchedBucket | Parts>();
  /** The keys of `#buckets` in the order they came; `#sorted` while that is ascending (the usual case). */
  #mapIds: number[] = [];
  #sorted = true;
  #inMemory = 0;
  /**
   * Records of buckets in memory that another pool counts (shared: see `add`): not this pool's, but in memory all the
   * same, so counted in `inMemoryRecords` (a reduce sizes its table from it).
   */
  #sharedInMemory = 0;
  readonly #runs: string[] = [];
  /** Set when the task starts reading: arrays handed out stay referenced, so spilling then frees nothing. */
  #reading = false;
  #disposed = false;
  #records = 0;
  #avgBytes = 0;

  constructor(
    private readonly budget: MemoryBudget | undefined,
    /** What the heap guard names if this input cannot fit: the shuffle and the RDD reading it. */
    private readonly what = 'a shuffle',
    /** Decoded bytes per spilled run at most (by default 1/16 of the worker's heap limit; unbounded without one). */
    private readonly runBytes = heapGuardLimit() > 0 ? heapGuardLimit() / 16 : Number.POSITIVE_INFINITY,
  ) {
    budget?.register(this);
  }

  #estimatedBytes = 0;

  /** Estimated bytes fetched so far, bucket by bucket as they arrived (the task's shuffle-read metric). */
  get estimatedBytes(): number {
    return this.#estimatedBytes;
  }

  /** Records fetched so far (in memory and spilled). */
  get records(): number {
    return this.#records;
  }

  /**
   * Adds the buckets of the given map outputs (or the next part of one already added). `shared`: views of another
   * worker's output in shared memory (shuffle/shared-output.ts), counted in that worker's pool, not in this one's.
   */
  add(mapIds: readonly number[], buckets: readonly FetchedBucket[], shared = false): void {
    // An answer that arrives after the task ended (a fetch from another peer failed it first) is dropped: kept, it
    // would be counted in a pool this input has left for good, and spilled to runs no one removes.
    if (this.#disposed) return;
    for (let i = 0; i < mapIds.length; i++) {
      const b = buckets[i]!;
      const mapId = mapIds[i]!;
      const had = this.#buckets.get(mapId);
      if (had === undefined) {
        this.#buckets.set(mapId, b);
        if (this.#mapIds.length > 0 && this.#mapIds[this.#mapIds.length - 1]! > mapId) this.#sorted = false;
        this.#mapIds.push(mapId);
      } else if (had instanceof Parts) had.list.push(b);
      else this.#buckets.set(mapId, new Parts([had, b]));
      this.#records += b.length;
      if (!shared) this.#inMemory += b.length;
      else this.#sharedInMemory += b.length;
      if (b.length === 0) continue;
      const bucketBytes = Array.isArray(b) ? estimateSize(b as unknown[]) : encodedBytes(b as EncodedBucket, estimateSize);
      this.#estimatedBytes += bucketBytes;
      const size = bucketBytes / b.length;
      this.#avgBytes = this.#avgBytes === 0 ? size : (this.#avgBytes + size) / 2;
    }
    if (this.budget !== undefined && !this.budget.update(this, this.#inMemory * this.#avgBytes)) this.spill();
    checkHeap(this.#what, HEAP_HINT);
  }

  /** Fails the task (HeapLimitError) unless the heap has room for `bytes` more to arrive at once (a fetch answer). */
  makeRoom(bytes: number): void {
    checkHeap(this.#what, HEAP_HINT, bytes);
  }

  readonly #what = (): string =>
    `the fetched input of ${this.what} (${this.#records} records, ~${Math.round(this.#estimatedBytes / 2 ** 20)} MiB estimated)`;

  spill(): void {
    if (this.#disposed || this.#reading || this.#buckets.size === 0 || this.budget === undefined) return;
    // Key-sorted runs of at most `runBytes` decoded records each, written in fetch order (a merge keeps run order
    // between equal keys, and `all` reads runs in order, so a key's records keep their order). Decoding the
    // whole in-memory input at once would hold up to ~3x the pool's share of the heap as pair objects: numeric
    // columns grow that much when decoded.
    let run: Pair[] = [];
    let runBytes = 0;
    let diskBytes = 0;
    const flush = (): void => {
      if (run.length === 0) return;
      run.sort((a, b) => compareKeys(a[0], b[0]));
      const file = path.join(this.budget!.dir, `input_${process.pid}_${inputCounter++}.run`);
      diskBytes += writeFramedRun(file, run);
      this.#runs.push(file);
      run = [];
      runBytes = 0;
    };
    for (const fetched of this.#inOrder()) {
      for (let from = 0; from < fetched.length; from += SLICE) {
        const to = Math.min(fetched.length, from + SLICE);
        const slice = Array.isArray(fetched) ? fetched.slice(from, to) : decodeRange(fetched as EncodedBucket, from, to);
        for (let i = 0; i < slice.length; i++) run.push(slice[i] as Pair);
        if (this.runBytes === Number.POSITIVE_INFINITY) continue;
        runBytes += estimateSize(slice as unknown[]);
        if (runBytes >= this.runBytes) flush();
      }
    }
    flush();
    this.#clear();
    this.#inMemory = 0;
    this.#sharedInMemory = 0;
    this.budget.spilled(this.bytes, diskBytes);
    this.budget.update(this, 0);
  }

  /**
   * The input as in-memory buckets plus key-sorted run files (for readers that merge). The buckets can be read
   * either as pairs (`buckets`) or with `read`, which hands the records of encoded buckets of number values (and
   * int32 keys, or keys in a plain array) to `numbers` as columns, in the same order (read one way, once).
   * `largestBucket`: the most records of one map output still in memory (one map output holds a key once when the
   * map side combined, so a lower bound on the keys then); `inMemoryRecords`: all of theirs.
   */
  parts(): {
    buckets: Iterable<Bucket>;
    runs: readonly string[];
    read: (each: (kv: Pair) => void, numbers: NumberColumnsSink) => void;
    largestBucket: number;
    inMemoryRecords: number;
  } {
    this.#reading = true;
    let largestBucket = 0;
    for (const b of this.#buckets.values()) {
      // A bucket's parts together hold its records (one map output).
      const n = b instanceof Parts ? b.list.reduce((sum, p) => sum + p.length, 0) : b.length;
      if (n > largestBucket) largestBucket = n;
    }
    const read = (each: (kv: Pair) => void, numbers: NumberColumnsSink): void => this.#read(each, numbers);
    return { buckets: this.#present(), runs: this.#runs, read, largestBucket, inMemoryRecords: this.#inMemory + this.#sharedInMemory };
  }

  #read(each: (kv: Pair) => void, numbers: NumberColumnsSink): void {
    for (const b of this.#inOrder()) {
      if (b.length === 0) continue;
      if (!Array.isArray(b)) {
        const e = b as EncodedBucket;
        const k = e.keys;
        const v = e.values;
        if ((k.kind === 'i32' || k.kind === 'any') && (v.kind === 'f64' || v.kind === 'i32')) {
          numbers(k.data, v.data, 0, e.length);
          continue;
        }
        if (isStringColumn(k) && (v.kind === 'f64' || v.kind === 'i32')) {
          numbers(stringKeysOf(k), v.data, 0, e.length);
          continue;
        }
        for (let from = 0; from < e.length; from += SLICE) {
          const slice = decodeRange(e, from, Math.min(e.length, from + SLICE));
          for (let i = 0; i < slice.length; i++) each(slice[i] as Pair);
        }
        continue;
      }
      const pairs = b as Bucket;
      for (let i = 0; i < pairs.length; i++) each(pairs[i] as Pair);
    }
  }

  /** Everything as arrays (spilled runs read back whole), read once: for readers that do not merge. */
  all(): Iterable<Bucket> {
    this.#reading = true;
    const runs = this.#runs;
    const present = this.#present();
    // Runs first: they hold what was fetched before what is still in memory (a bucket fetched in parts can have its
    // first parts spilled and the rest in memory), so a key's records come back in the order they were fetched.
    return (function* () {
      for (const f of runs) yield readFramedRun(f, () => `reading back spilled shuffle input (${f})`);
      yield* present;
    })();
  }

  /** The in-memory buckets in map order, encoded ones a slice at a time (read once). */
  *#present(): Generator<Bucket, void, undefined> {
    this.#reading = true;
    for (const b of this.#inOrder()) {
      if (Array.isArray(b)) {
        yield b;
        continue;
      }
      const e = b as EncodedBucket;
      for (let from = 0; from < e.length; from += SLICE) yield decodeRange(e, from, Math.min(e.length, from + SLICE));
    }
  }

  /** The buckets in memory (parts one by one), in map order. */
  *#inOrder(): Generator<FetchedBucket, void, undefined> {
    if (!this.#sorted) {
      this.#mapIds.sort((a, b) => a - b);
      this.#sorted = true;
    }
    for (const mapId of this.#mapIds) {
      const b = this.#buckets.get(mapId)!;
      if (b instanceof Parts) yield* b.list;
      else yield b;
    }
  }

  dispose(): void {
    this.#disposed = true;
    this.budget?.release(this);
    for (const f of this.#runs) rmSync(f, { force: true });
    this.#runs.length = 0;
    this.#clear();
  }

  #clear(): void {
    this.#buckets = new Map();
    this.#mapIds = [];
    this.#sorted = true;
  }
}
