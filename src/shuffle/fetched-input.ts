/**
 * A reduce task's fetched shuffle input under the worker's shuffle memory budget. A reduce partition reads one
 * bucket of every map output, and together they can be as large as a whole map partition's output, whatever
 * the budget: so buckets arrive in chunks, count against the worker's pool while in memory, and are written to
 * a file when the pool is full (Spark fetches large blocks to disk), each in its place: every reader gets the
 * records in map-id order, spilled or not, read back a frame at a time. Whether the input spills depends on what
 * else holds the pool, so an order that followed the spills (key-sorted runs first, as this once did) would give a
 * partition computed again other orders than its first computation.
 *
 * Buckets that arrive encoded (bucket-codec.ts: a peer's, or this worker's own stored output) stay encoded until
 * the task reads them, and are decoded a slice at a time as it does: the task's input then never exists as one
 * list of pair objects, which would outlive the young generation and be promoted only to die with the task.
 */
import path from 'node:path';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import v8 from 'node:v8';
import type { Bucket } from './wire.js';
import { estimateSize } from '../storage/size-estimator.js';
import type { NumberColumnsSink, Pair } from './combine.js';
import { HEAP_HINT } from './external-combiner.js';
import { checkHeap } from '../core/heap-guard.js';
import type { MemoryBudget, MemoryConsumer } from './memory-budget.js';
import { Latin1Keys, decodeRange, encodedBytes, type EncodedBucket } from './bucket-codec.js';

/** A bucket as fetched: pairs, or columns decoded as read. */
export type FetchedBucket = Bucket | EncodedBucket;

/** Records decoded at a time from an encoded bucket. */
const SLICE = 4096;

let inputCounter = 0;

/** Records of a bucket (or of a part of one) written to a spill file: bytes `start .. end` of `file`, in frames. */
class Spilled {
  constructor(
    readonly file: string,
    readonly start: number,
    readonly end: number,
    readonly length: number,
  ) {}
}

/** The parts of one map output's bucket, fetched one after another (a bucket is itself an array: so a class). */
class Parts {
  constructor(readonly list: Array<FetchedBucket | Spilled>) {}
}

export class FetchedInput implements MemoryConsumer {
  bytes = 0;
  /**
   * Buckets in memory, by map id (the order readers that do not merge have always seen); a bucket fetched in
   * parts has several, in order.
   */
  #buckets: Array<FetchedBucket | Spilled | Parts> = [];
  #inMemory = 0;
  /** The spill files. */
  readonly #files: string[] = [];
  /** Set when the task starts reading: arrays handed out stay referenced, so spilling then frees nothing. */
  #reading = false;
  #records = 0;
  #avgBytes = 0;

  constructor(
    private readonly budget: MemoryBudget | undefined,
    /** What the heap guard names if this input cannot fit: the shuffle and the RDD reading it. */
    private readonly what = 'a shuffle',
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

  /** Adds the buckets of the given map outputs (or the next part of one already added). */
  add(mapIds: readonly number[], buckets: readonly FetchedBucket[]): void {
    for (let i = 0; i < mapIds.length; i++) {
      const b = buckets[i]!;
      const had = this.#buckets[mapIds[i]!];
      if (had === undefined) this.#buckets[mapIds[i]!] = b;
      else if (had instanceof Parts) had.list.push(b);
      else this.#buckets[mapIds[i]!] = new Parts([had, b]);
      this.#records += b.length;
      this.#inMemory += b.length;
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
    if (this.#reading || this.#inMemory === 0 || this.budget === undefined) return;
    // Each bucket in memory is written in its place, a slice at a time (decoding the whole in-memory input at once
    // would hold up to ~3x the pool's share of the heap as pair objects: numeric columns grow that much decoded).
    const file = path.join(this.budget.dir, `input_${process.pid}_${inputCounter++}.run`);
    const fd = openSync(file, 'w');
    this.#files.push(file);
    let pos = 0;
    const len = Buffer.alloc(4);
    const write = (b: FetchedBucket | Spilled): FetchedBucket | Spilled => {
      if (b instanceof Spilled || b.length === 0) return b;
      const start = pos;
      for (let from = 0; from < b.length; from += SLICE) {
        const to = Math.min(b.length, from + SLICE);
        const data = v8.serialize(Array.isArray(b) ? b.slice(from, to) : decodeRange(b as EncodedBucket, from, to));
        len.writeUInt32LE(data.length, 0);
        writeSync(fd, len);
        writeSync(fd, data);
        pos += 4 + data.length;
      }
      return new Spilled(file, start, pos, b.length);
    };
    try {
      for (let m = 0; m < this.#buckets.length; m++) {
        const b = this.#buckets[m];
        if (b === undefined) continue;
        if (b instanceof Parts) for (let i = 0; i < b.list.length; i++) b.list[i] = write(b.list[i]!);
        else this.#buckets[m] = write(b);
      }
    } finally {
      closeSync(fd);
    }
    this.#inMemory = 0;
    this.budget.spilled(this.bytes, pos);
    this.budget.update(this, 0);
  }

  /**
   * The input for readers that combine, read one of two ways, once: as pairs (`buckets`), or with `read`, which hands
   * the records of encoded buckets of number values (and int32 keys, or keys in a plain array) to `numbers` as
   * columns, in the same order. Both in map-id order, spilled buckets read back in their places.
   * `largestBucket`: the most records of one map output still in memory (one map output holds a key once when the
   * map side combined, so a lower bound on the keys then); `inMemoryRecords`: all of theirs. Spilled records are
   * left out of both: they are what the pool could not hold, so no table is sized for them in advance.
   */
  parts(): {
    buckets: Iterable<Bucket>;
    read: (each: (kv: Pair) => void, numbers: NumberColumnsSink) => void;
    largestBucket: number;
    inMemoryRecords: number;
  } {
    this.#reading = true;
    let largestBucket = 0;
    const inMemory = (b: FetchedBucket | Spilled): number => (b instanceof Spilled ? 0 : b.length);
    for (const b of this.#buckets) {
      if (b === undefined) continue;
      // A bucket's parts together hold its records (one map output).
      const n = b instanceof Parts ? b.list.reduce((sum, p) => sum + inMemory(p), 0) : inMemory(b);
      if (n > largestBucket) largestBucket = n;
    }
    const read = (each: (kv: Pair) => void, numbers: NumberColumnsSink): void => this.#read(each, numbers);
    return { buckets: this.#present(), read, largestBucket, inMemoryRecords: this.#inMemory };
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
        if (k.kind === 'latin1' && (v.kind === 'f64' || v.kind === 'i32')) {
          numbers(new Latin1Keys(k.data, k.ends), v.data, 0, e.length);
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

  /** Everything as arrays in map-id order (spilled buckets read back a frame at a time), read once. */
  all(): Iterable<Bucket> {
    return this.#present();
  }

  /** The buckets in map order, encoded ones a slice at a time (read once). */
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

  /** The buckets (parts one by one) in map order; a spilled one as the frames read back from its file. */
  *#inOrder(): Generator<FetchedBucket, void, undefined> {
    for (const b of this.#buckets) {
      if (b === undefined) continue;
      if (!(b instanceof Parts)) {
        if (b instanceof Spilled) yield* this.#frames(b);
        else yield b;
        continue;
      }
      for (const p of b.list) {
        if (p instanceof Spilled) yield* this.#frames(p);
        else yield p;
      }
    }
  }

  /** The frames of a spilled bucket, one at a time. */
  *#frames(s: Spilled): Generator<Bucket, void, undefined> {
    const fd = openSync(s.file, 'r');
    try {
      const len = Buffer.alloc(4);
      for (let pos = s.start; pos < s.end; ) {
        readSync(fd, len, 0, 4, pos);
        const n = len.readUInt32LE(0);
        // A frame is deserialized in one step (about twice its bytes on the heap): checked for before.
        checkHeap(() => `reading back spilled shuffle input (${this.#what()})`, HEAP_HINT, 2 * n);
        const data = Buffer.allocUnsafe(n);
        for (let got = 0; got < n; ) got += readSync(fd, data, got, n - got, pos + 4 + got);
        pos += 4 + n;
        yield v8.deserialize(data) as Pair[];
      }
    } finally {
      closeSync(fd);
    }
  }

  dispose(): void {
    this.budget?.release(this);
    for (const f of this.#files) rmSync(f, { force: true });
    this.#files.length = 0;
    this.#buckets = [];
  }
}
