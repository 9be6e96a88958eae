/**
 * Combining by key under the worker's shuffle memory budget (Spark's ExternalAppendOnlyMap, and the map-side
 * combine spill of its ExternalSorter). Records go into the in-memory grouping of `combine.ts`; when the
 * worker's pool cannot hold the table, it is sorted by the engine's key order and written as a run file, and
 * a fresh table starts. At the end the runs (and what is still in memory) are merge-read, a frame at a time,
 * and the combiners of equal keys are merged with mergeCombiners, so no more than one frame per run is in
 * memory while merging.
 *
 * Without spills the output is the grouping's, in first-seen key order (unchanged behaviour); after spills it
 * is in key order.
 */
import { IndexHeap } from './index-heap.js';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { compareKeys, keysEqual } from '../core/keys.js';
import { tagUserError } from '../core/errors.js';
import { estimateSize } from '../storage/size-estimator.js';
import type { Aggregator } from './aggregator.js';
import { grouping, ownCopy, type Grouping, type NumberColumnsSink, type Pair, type PairsSink } from './combine.js';
import { columnKey, type EncodedBucket, type StringColumn } from './bucket-codec.js';
import type { SparseBuckets } from './sparse-buckets.js';
import { workerMemoryBudget, type MemoryBudget, type MemoryConsumer } from './memory-budget.js';
import { checkHeap, checkHeapByTime } from '../core/heap-guard.js';
import { namingFile } from '../util/file-errors.js';

/**
 * The records to combine, pushed to `each`; a source holding int32 keys and number values as columns (fetched
 * shuffle input) may push those to `numbers` instead, which takes them without a pair per record.
 */
type Source = (each: (kv: Pair) => void, numbers: NumberColumnsSink, pairs: PairsSink, kv: (k: unknown, v: unknown) => void) => void;

/** Key-sorted run files that are part of the input (fetched shuffle input spilled to disk). */
export interface InputRuns {
  readonly files: readonly string[];
  /** Turns a record of these runs into a combiner (createCombiner for raw values; identity for combiners). */
  readonly toCombiner: (v: unknown) => unknown;
  /** At least this many distinct keys come (0 or absent: unknown); the first table is sized for them. */
  readonly expectedGroups?: number;
}

export interface CombineFunctions {
  /** Combiner of a key's first record in this table. */
  readonly first: (v: unknown) => unknown;
  /** Adds a record to a key's combiner. */
  readonly merge: (c: unknown, v: unknown) => unknown;
  /** Merges two combiners of one key (from two runs); may modify and return its first argument. */
  readonly mergeCombiners: (a: unknown, b: unknown) => unknown;
}

/**
 * Re-estimate the table's size every this many records: estimating each record would cost too much. The heap itself
 * is read at most every few milliseconds there (checkHeapByTime): one v8.getHeapStatistics() per 1,024 records was
 * 5.4k calls and 10-27 ms of a word count's map task on half the 50 MiB Zipf text (docs/benchmarks.md, session 42).
 */
const CHECK_EVERY = 1024;
/** Combiners kept to estimate the average combiner size (a live reference sees a groupByKey array grow). */
const SAMPLES = 64;
/** A group's own cost besides its key and combiner: the [key, combiner] pair and its hash-table entry. */
const GROUP_OVERHEAD = 96;
/** What `estimateSize([n]) - 24` gives for a number `n`: its 8 bytes. */
const NUMBER_BYTES = 8;
/** Pairs per frame of a run file: the unit read back while merging. */
const FRAME = 4096;

let runCounter = 0;

/**
 * Receives the groups as columns instead of pairs (see {@link combineExternally}): int32 keys (or string keys) and
 * their number combiners, in the order the pairs would have come. The columns are the grouping's own and valid only
 * until the sink returns (a number table's arrays then go back to the thread's pool): copy what is kept. String
 * keys come with their `hashKey` values (`hashes`), which a hash partitioner need not compute again. `ownCombiners`:
 * the combiners are a new array of this call alone (a mapValues' results), which the sink may keep without a copy.
 */
export type NumberGroupsSink = ((keys: Int32Array | string[], combiners: Float64Array, hashes?: Int32Array, ownCombiners?: boolean) => void) & {
  /**
   * Set by a sink that takes string keys as chars (collect's, which posts them to the driver): it gets them so, in
   * arrays of this call alone, where the grouping can give them (see `Grouping.stringColumns`), instead of the call.
   */
  readonly stringColumns?: (keys: StringColumn, combiners: Float64Array) => void;
  /**
   * Set by a sink that buckets string keys by a HashPartitioner of `parts` partitions (a map task's shuffle writer):
   * it gets the groups so bucketed, keys as chars (`Grouping.stringBuckets`), where the grouping can make them,
   * instead of the call.
   */
  readonly stringBuckets?: { readonly parts: number; readonly put: (buckets: SparseBuckets<EncodedBucket>) => void };
};

/** Hands `g`'s groups to `numbers` as columns and returns true where they are columns; false otherwise. */
function groupsAsColumns(g: Grouping, numbers: NumberGroupsSink): boolean {
  const ints = g.numbers();
  if (ints !== undefined) {
    numbers(ints.keys, ints.combiners);
    return true;
  }
  const chars = numbers.stringColumns !== undefined ? g.stringColumns() : undefined;
  if (chars !== undefined) {
    numbers.stringColumns!(chars.keys, chars.combiners);
    return true;
  }
  const byHash = numbers.stringBuckets;
  const buckets = byHash !== undefined ? g.stringBuckets(byHash.parts) : undefined;
  if (buckets !== undefined) {
    byHash!.put(buckets);
    return true;
  }
  const strings = g.strings();
  if (strings === undefined) return false;
  numbers(strings.keys, strings.combiners, strings.hashes);
  return true;
}

/**
 * Combines `source` by key, then pushes each [key, combiner] to `sink`. Spills to `budget.dir` when the
 * worker's pool (default: this worker's, none on the driver) runs out; without a pool nothing spills. With
 * `numbers`, groups that all have int32 keys and number combiners and never spilled go to it as two columns
 * instead (in the same order), so a map task's output can be bucketed without a pair per group; so do groups that
 * all have string keys and number combiners (word counts).
 */
export function combineExternally(
  source: Source,
  fns: CombineFunctions,
  rddId: number,
  label: string,
  sink: (kv: Pair) => void,
  budget: MemoryBudget | undefined = workerMemoryBudget(),
  input?: InputRuns,
  numbers?: NumberGroupsSink,
): void {
  if (budget === undefined && (input === undefined || input.files.length === 0)) {
    const g = grouping(fns.first, fns.merge, input?.expectedGroups);
    try {
      try {
        source(g.add, g.addNumbers, g.addPairs, g.addKV);
      } catch (e) {
        throw tagUserError(e, rddId, label);
      }
      if (numbers === undefined || !groupsAsColumns(g, numbers)) g.each(sink);
    } finally {
      g.release();
    }
    return;
  }
  // internal: fetched input spills only where a worker pool exists, and the same pool is found here
  if (budget === undefined) throw new Error('spilled shuffle input needs a worker memory budget');
  const c = new ExternalCombiner(fns, budget, label, input);
  try {
    try {
      source(c.add, c.addNumbers, c.addPairs, c.addKV);
    } catch (e) {
      throw tagUserError(e, rddId, label);
    }
    c.output(sink, rddId, label, numbers);
  } finally {
    c.dispose();
  }
}

class ExternalCombiner implements MemoryConsumer {
  bytes = 0;
  #g!: Grouping;
  #groups = 0;
  #records = 0;
  #keyBytes = 0;
  #samples: unknown[] = [];
  /** How many of `#samples` are not numbers. */
  #otherSamples = 0;
  readonly #runs: string[] = [];
  /** Once the output starts, the in-memory table is being read and must not be spilled under it. */
  #outputting = false;
  readonly #first: (v: unknown) => unknown;

  constructor(
    private readonly fns: CombineFunctions,
    private readonly budget: MemoryBudget,
    private readonly label: string,
    private readonly input?: InputRuns,
  ) {
    // Counting groups and sampling combiners through createCombiner leaves the grouping's loop untouched.
    this.#first = (v) => {
      const created = fns.first(v);
      this.#groups++;
      const other = typeof created !== 'number';
      if (this.#samples.length < SAMPLES) {
        this.#samples.push(created);
        if (other) this.#otherSamples++;
      } else if ((other || this.#otherSamples > 0) && Math.random() * this.#groups < SAMPLES) {
        const at = Math.floor(Math.random() * SAMPLES);
        if (typeof this.#samples[at] !== 'number') this.#otherSamples--;
        if (other) this.#otherSamples++;
        this.#samples[at] = created;
      }
      // A number drawn into a reservoir of numbers only would replace a number: the estimate (8 bytes for any
      // number) and every later group's chance to be drawn (SAMPLES / groups) are the same without the draw, which
      // cost two Math.random calls per new key (77k a PageRank map task).
      return created;
    };
    this.#reset(input?.expectedGroups);
    budget.register(this);
  }

  /** A new table: sized for `expectedGroups` at the start only (after a spill the next table's size is unknown). */
  #reset(expectedGroups = 0): void {
    // A spilled grouping's groups are in their run file: its arrays serve the next one.
    this.#g?.release();
    this.#g = grouping(this.#first, this.fns.merge, expectedGroups);
    this.#kv = this.#g.addKV;
    this.#groups = 0;
    this.#samples = [];
    this.#otherSamples = 0;
  }

  readonly add = (kv: Pair): void => {
    this.#g.add(kv);
    if (++this.#records % CHECK_EVERY === 0) {
      if (this.#keyBytes === 0 || this.#records % (CHECK_EVERY * 16) === 0) this.#keyBytes = estimateSize([kv[0]]) - 24;
      if (!this.budget.update(this, this.#estimate())) this.spill();
      checkHeapByTime(this.#what, HEAP_HINT);
    }
  };

  /** The current table's `addKV`, or what does the same with one call fewer (Grouping.directKV), asked again at each measurement. */
  #kv: (k: unknown, v: unknown) => void = () => {};

  /** `add([k, v])` without the pair. */
  readonly addKV = (k: unknown, v: unknown): void => {
    this.#kv(k, v);
    if (++this.#records % CHECK_EVERY === 0) {
      if (this.#keyBytes === 0 || this.#records % (CHECK_EVERY * 16) === 0) this.#keyBytes = estimateSize([k]) - 24;
      if (!this.budget.update(this, this.#estimate())) this.spill();
      checkHeapByTime(this.#what, HEAP_HINT);
      this.#kv = this.#g.directKV();
    }
  };

  readonly addNumbers: NumberColumnsSink = (keys, values, from, to) => {
    this.#inSlices(
      from,
      to,
      (i, end) => this.#g.addNumbers(keys, values, i, end),
      (end) => columnKey(keys, end - 1),
    );
  };

  readonly addPairs: PairsSink = (xs, from, to, notAPair) => {
    if (to - from < CHECK_EVERY - (this.#records % CHECK_EVERY)) {
      // The usual case (a flatMap's array of a few records): all of them before the next measurement.
      this.#g.addPairs(xs, from, to, notAPair);
      this.#records += to - from;
      return;
    }
    this.#inSlices(
      from,
      to,
      (i, end) => this.#g.addPairs(xs, i, end, notAPair),
      (end) => (xs[end - 1] as Pair)[0],
    );
  };

  /**
   * Adds records `from .. to` in slices cut where `add` would measure the table, so that it is measured (and
   * spilled) after the same records; `keyAt(end)` is the key of the record before `end`.
   */
  #inSlices(from: number, to: number, addSlice: (i: number, end: number) => void, keyAt: (end: number) => unknown): void {
    for (let i = from; i < to; ) {
      const end = Math.min(to, i + CHECK_EVERY - (this.#records % CHECK_EVERY));
      addSlice(i, end);
      this.#records += end - i;
      i = end;
      if (this.#records % CHECK_EVERY === 0) {
        if (this.#keyBytes === 0 || this.#records % (CHECK_EVERY * 16) === 0) this.#keyBytes = estimateSize([keyAt(end)]) - 24;
        if (!this.budget.update(this, this.#estimate())) this.spill();
        checkHeapByTime(this.#what, HEAP_HINT);
      }
    }
  }

  /** What the heap guard names when this table cannot fit. */
  readonly #what = (): string => `the combine table of ${this.label} (~${Math.round(this.#estimate() / 2 ** 20)} MiB estimated in memory)`;

  #estimate(): number {
    if (this.#groups === 0) return 0;
    let combiner = 0;
    // A number's estimate (8) without an array made and walked for it: a reduceByKey of numbers is measured every
    // 1,024 records, 64 samples each time.
    if (this.#otherSamples === 0) {
      // Numbers only (a reduceByKey of numbers, measured every 1,024 records): the mean below, without the walk.
      combiner = NUMBER_BYTES;
    } else {
      for (const s of this.#samples) combiner += typeof s === 'number' ? NUMBER_BYTES : estimateSize([s]) - 24;
      combiner /= Math.max(1, this.#samples.length);
    }
    // A number table's arrays may outweigh its groups (the direct layout spans the keys' range): never less.
    return Math.max(this.#groups * (GROUP_OVERHEAD + this.#keyBytes + combiner), this.#g.tableBytes());
  }

  spill(): void {
    if (this.#outputting || this.#groups === 0) return;
    const groups = this.#g.groups();
    // The grouping is dropped below, so its list may be sorted in place.
    groups.sort(byKey);
    const file = path.join(this.budget.dir, `combine_${process.pid}_${runCounter++}.run`);
    const diskBytes = writeFramedRun(file, groups);
    this.#runs.push(file);
    const memoryBytes = this.bytes;
    this.#reset();
    this.budget.spilled(memoryBytes, diskBytes);
    this.budget.update(this, 0);
  }

  output(sink: (kv: Pair) => void, rddId: number, label: string, numbers?: NumberGroupsSink): void {
    const inputFiles = this.input?.files ?? [];
    if (this.#runs.length > 0 || inputFiles.length > 0) this.spill();
    this.#outputting = true;
    if (this.#runs.length === 0 && inputFiles.length === 0) {
      if (numbers === undefined || !groupsAsColumns(this.#g, numbers)) this.#g.each(sink);
      return;
    }
    this.budget.release(this);
    const merge = this.fns.mergeCombiners;
    const own = this.#runs.length;
    const toCombiner = this.input?.toCombiner;
    // Entries of keys the order calls equal arrive together (one per own run, any number per input run) and
    // are merged as they arrive, so a key with many values never has them all listed besides its combiner.
    let out: Pair[] = [];
    let measureAt = LONG_LIST;
    const reading = (): string => `reading back the spilled groups of ${label}`;
    mergeFramedRuns([...this.#runs, ...inputFiles], reading, (entry, run, startsBlock) => {
      if (startsBlock) {
        for (const kv of out) sink(kv);
        out = [];
        measureAt = LONG_LIST;
      }
      // One key's combiners merged from every run can outgrow the heap (a hot key's group): the one place where
      // a single step may take much memory, so it is checked by time rather than by count.
      const what = (): string => `merging the spilled groups of ${label} for key ${describeKey(entry[0])}`;
      checkHeapByTime(what, HEAP_HINT);
      try {
        const kv: Pair = run < own ? entry : [entry[0], toCombiner!(entry[1])];
        const same = out.length === 1 && out[0]![0] === kv[0] ? out[0] : out.find((o) => keysEqual(o[0], kv[0]));
        if (same === undefined) out.push(kv);
        else {
          // Appending to a long list (a group) may move it to a store 1.5 times its length while the old one is
          // still alive: a step of tens of MB for a hot key, counted before it is taken.
          const list = same[1];
          if (Array.isArray(list) && list.length >= measureAt) {
            checkHeap(what, HEAP_HINT, 12 * (list.length + lengthOf(kv[1])));
            // Again once it has grown by a quarter: a list grows its store by half at a time.
            measureAt = list.length * 1.25;
          }
          same[1] = merge(list, kv[1]);
        }
      } catch (e) {
        throw tagUserError(e, rddId, label);
      }
    });
    for (const kv of out) sink(kv);
  }

  dispose(): void {
    this.#g.release();
    this.budget.release(this);
    for (const f of this.#runs) rmSync(f, { force: true });
    this.#runs.length = 0;
  }

  toString(): string {
    return `combine table of ${this.label}`;
  }
}

/** A combiner list this long is measured against the heap before each merge into it (64k elements: 512 KiB of slots). */
const LONG_LIST = 65_536;

const lengthOf = (c: unknown): number => (Array.isArray(c) ? c.length : 1);

/** The heap guard's advice when a shuffle's groups cannot fit (as the worker-death message's). */
export const HEAP_HINT = 'use more partitions, or reduceByKey/aggregateByKey instead of groupByKey';

/** A key as short text for an error message. */
function describeKey(k: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(k) ?? String(k);
  } catch {
    s = String(k);
  }
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

const byKey = (a: Pair, b: Pair): number => compareKeys(a[0], b[0]);

/**
 * Where a framed run is: a whole file, or the bytes `[start, end)` of one. A map output's spill writes every
 * reducer's run back to back into one file (Hadoop's and Spark's one spill file per map task and spill, with an
 * index): a file per reducer made a word count over 7,296 small files write 3.7 million files (15 GB of mostly
 * empty 4 KB blocks) and take minutes to remove.
 */
export type RunPlace = string | { readonly file: string; readonly start: number; readonly end: number };

/** The file of a run. */
export const runFile = (run: RunPlace): string => (typeof run === 'string' ? run : run.file);

/**
 * Writes key-sorted pairs as length-prefixed V8-serialized frames, so a reader can hold one frame at a time.
 * Returns the bytes written.
 */
export function writeFramedRun(file: string, sorted: readonly Pair[]): number {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'w');
  let written = false;
  try {
    const bytes = appendFramedRun(fd, sorted);
    written = true;
    return bytes;
  } catch (e) {
    throw namingFile(e, file);
  } finally {
    closeSync(fd);
    // The caller lists a run only once written: a part written before a full disk (or a cancel) is no one's to remove.
    if (!written) rmSync(file, { force: true });
  }
}

/**
 * Appends pairs as frames (see {@link writeFramedRun}) at the position of `fd`; returns the bytes written. `stopped` is
 * called before each frame (a writing task asked to stop throws).
 */
export function appendFramedRun(fd: number, sorted: readonly Pair[], stopped?: () => void): number {
  let bytes = 0;
  const len = Buffer.alloc(4);
  for (let i = 0; i < sorted.length; i += FRAME) {
    stopped?.();
    const data = v8.serialize(sorted.slice(i, i + FRAME));
    len.writeUInt32LE(data.length, 0);
    writeSync(fd, len);
    writeSync(fd, data);
    bytes += 4 + data.length;
  }
  return bytes;
}

/** A whole framed run as one array (for readers that do not merge). */
export function readFramedRun(run: RunPlace, what: () => string): Pair[] {
  const out: Pair[] = [];
  const r = new FramedRunReader(run, what);
  for (let kv = r.head; kv !== undefined; r.advance(), kv = r.head) out.push(kv);
  return out;
}

/** The first byte of a run in its file and the byte after its last. */
function bounds(run: RunPlace): { start: number; end: number } {
  return typeof run === 'string' ? { start: 0, end: Number.POSITIVE_INFINITY } : run;
}

/** Reads the 4-byte frame length at `pos`, or -1 at the end of the run. */
function frameLength(fd: number, len: Buffer, pos: number, end: number): number {
  if (pos >= end || readSync(fd, len, 0, 4, pos) < 4) return -1;
  return len.readUInt32LE(0);
}

/** Reads the `n` bytes of a frame's data at `pos`. */
function frameData(fd: number, n: number, pos: number): Buffer {
  const data = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, data, got, n - got, pos + got);
    // internal: a run is written whole before it is read; a short file is a truncated or removed run.
    if (r === 0) throw new Error(`a shuffle run ends inside a frame (${n} bytes expected at ${pos}, ${got} read)`);
    got += r;
  }
  return data;
}

/**
 * Records of a framed run from record `from`, until about `maxBytes` of frames are read (one frame at least): a
 * run served a bounded part at a time. Frames hold FRAME records each (the last fewer), so the frames before
 * `from` are skipped by their length prefixes alone. `next` is the record to go on from, absent at the end.
 * `stopped` is called before each frame (a reading task asked to stop throws).
 */
export function readFramesFrom(run: RunPlace, from: number, maxBytes: number, stopped?: () => void): { pairs: Pair[]; bytes: number; next?: number } {
  const fd = openSync(runFile(run), 'r');
  try {
    const len = Buffer.alloc(4);
    const { start, end } = bounds(run);
    let pos = start;
    for (let skip = Math.floor(from / FRAME); skip > 0; skip--) {
      const n = frameLength(fd, len, pos, end);
      if (n < 0) return { pairs: [], bytes: 0 };
      pos += 4 + n;
    }
    const pairs: Pair[] = [];
    let drop = from % FRAME;
    let bytes = 0;
    while (bytes === 0 || bytes < maxBytes) {
      stopped?.();
      const n = frameLength(fd, len, pos, end);
      if (n < 0) return { pairs, bytes };
      const frame = v8.deserialize(frameData(fd, n, pos + 4)) as Pair[];
      for (let i = drop; i < frame.length; i++) pairs.push(frame[i]!);
      drop = 0;
      pos += 4 + n;
      bytes += 4 + n;
    }
    return frameLength(fd, len, pos, end) < 0 ? { pairs, bytes } : { pairs, bytes, next: from + pairs.length };
  } finally {
    closeSync(fd);
  }
}

/** Reads a framed run one frame at a time: `head` is the current record (undefined at the end). */
export class FramedRunReader {
  readonly #fd: number;
  readonly #end: number;
  readonly #len = Buffer.alloc(4);
  #frame: Pair[] = [];
  #pos = 0;
  /** Where the next frame starts in the file. */
  #at: number;
  #done = false;

  constructor(
    run: RunPlace,
    private readonly what: () => string,
  ) {
    const { start, end } = bounds(run);
    this.#at = start;
    this.#end = end;
    this.#fd = openSync(runFile(run), 'r');
    this.#next();
  }

  #next(): void {
    const n = frameLength(this.#fd, this.#len, this.#at, this.#end);
    if (n < 0) {
      this.#done = true;
      this.#frame = [];
      closeSync(this.#fd);
      return;
    }
    // A frame is deserialized in one step the guard cannot interrupt (one group of a hot key can fill it), so
    // its heap cost (about twice its bytes) is checked for before.
    checkHeap(this.what, HEAP_HINT, 2 * n);
    this.#frame = v8.deserialize(frameData(this.#fd, n, this.#at + 4)) as Pair[];
    this.#at += 4 + n;
    this.#pos = 0;
  }

  get head(): Pair | undefined {
    return this.#done ? undefined : this.#frame[this.#pos];
  }

  advance(): void {
    if (++this.#pos >= this.#frame.length) this.#next();
  }

  close(): void {
    if (!this.#done) {
      this.#done = true;
      closeSync(this.#fd);
    }
  }
}

/**
 * Merge-reads key-sorted framed runs (`what` names them if the heap guard fails the task); calls `onEntry` with each entry, its run, and whether its key starts a new
 * set of keys the order calls equal (entries of one set come in run order).
 */
export function mergeFramedRuns(files: readonly string[], what: () => string, onEntry: (kv: Pair, run: number, startsBlock: boolean) => void): void {
  const readers = files.map((f) => new FramedRunReader(f, what));
  try {
    // Reader indexes by head key; ties by index keep run order.
    const heap = new IndexHeap((i, j) => {
      const c = byKey(readers[i]!.head!, readers[j]!.head!);
      return c < 0 || (c === 0 && i < j);
    });
    for (let i = 0; i < readers.length; i++) if (readers[i]!.head !== undefined) heap.push(i);
    let blockKey: unknown;
    let first = true;
    for (let i = heap.peek(); i !== undefined; i = heap.peek()) {
      const kv = readers[i]!.head!;
      readers[i]!.advance();
      heap.advanced(readers[i]!.head === undefined);
      const starts = first || compareKeys(kv[0], blockKey) !== 0;
      if (starts) blockKey = kv[0];
      first = false;
      onEntry(kv, i, starts);
    }
  } finally {
    for (const r of readers) r.close();
  }
}

/** combineValuesByKey of `combine.ts`, under the worker's budget: createCombiner, then mergeValue. */
export function combineValuesExternally(
  source: Source,
  agg: Aggregator,
  rddId: number,
  label: string,
  sink: (kv: Pair) => void,
  inputRuns: readonly string[] = [],
  columns?: NumberGroupsSink,
  expectedGroups = 0,
): void {
  const fns = { first: agg.createCombiner, merge: agg.mergeValue, mergeCombiners: agg.mergeCombiners };
  combineExternally(
    source,
    fns,
    rddId,
    label,
    sink,
    workerMemoryBudget(),
    { files: inputRuns, toCombiner: agg.createCombiner, expectedGroups },
    columns,
  );
}

/**
 * combineCombinersByKey of `combine.ts`, under the worker's budget. As there, a key's first combiner is copied
 * when it is an object: it may be a stored map output that mergeCombiners would otherwise modify. Combiners
 * read back from runs are copies already. `expectedGroups`: see {@link InputRuns}.
 */
export function combineCombinersExternally(
  source: Source,
  agg: Aggregator,
  rddId: number,
  label: string,
  sink: (kv: Pair) => void,
  inputRuns: readonly string[] = [],
  columns?: NumberGroupsSink,
  expectedGroups = 0,
): void {
  const fns = { first: ownCopy, merge: agg.mergeCombiners, mergeCombiners: agg.mergeCombiners };
  combineExternally(source, fns, rddId, label, sink, workerMemoryBudget(), { files: inputRuns, toCombiner: (c) => c, expectedGroups }, columns);
}
