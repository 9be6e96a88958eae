/**
 * A shuffle manager that keeps map outputs as per-reducer buckets and writes sorted runs to disk when a map
 * task's output grows past `spillBytes` (Hadoop's sort buffer; Spark's shuffle spill). With `writeAllToDisk`
 * every map output ends on disk (the mapreduce engine); otherwise the tail stays in memory and only what did
 * not fit was spilled (the memory engine). With a `budget` (the memory engine), every map output, being
 * written or stored, counts against the worker's shuffle memory pool, and the pool spills the largest ones
 * when the total outgrows it: a worker holding many map outputs stays bounded, not only each task. A fetch of
 * a spilled bucket merges its runs back into one key-sorted bucket.
 *
 * A stored output's in-memory buckets are kept encoded as columns (bucket-codec.ts: numbers and rows of numbers
 * in typed arrays), the form in which they are also served to peers: held until the shuffle is no longer
 * reachable, they would otherwise be millions of long-lived pair objects. A reducer on this worker gets new pairs
 * decoded from them, as a peer does, never the stored records themselves.
 *
 * With `moveReadOutputs` (the memory engine), a stored output whose every bucket has been fetched at least once
 * moves to disk, as raw columns (column-file.ts) appended to its shuffle's one file, once the worker is between
 * tasks: it is then kept only for a reduce partition computed again (a lost cached block, a retried task, another job
 * over the same uncached shuffle), which reads it back from the file. An iterative program, whose every iteration leaves a shuffle that
 * its lineage still references (so the context's cleaner cannot remove it), so holds only the outputs being read.
 * Outputs with a column that is a plain array (objects, keys of mixed kinds) have no raw form and stay in memory; a
 * word count's string keys are stored as chars (latin1 bytes or UTF-16 code units: StringTable.stringBuckets) and move.
 */
import path from 'node:path';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import type { Bucket, MapStatus } from './wire.js';
import {
  concatEncoded,
  copyEncoded,
  decodeBucket,
  encodeBucket,
  encodedBytes,
  isStringColumn,
  sliceEncoded,
  type EncodedBucket,
} from './bucket-codec.js';
import { compareKeys } from '../core/keys.js';
import { TaskInterruptedError, checkInterrupted } from '../core/task-interrupt.js';
import { estimateSize } from '../storage/size-estimator.js';
import type { Pair } from './combine.js';
import { BUCKET_START, type BucketCursor, type BucketParts, type MapOutputWriter, type ShuffleManager } from './shuffle-manager.js';
import { FetchFailedError } from './fetch-failed.js';
import { appendFramedRun, readFramedRun, readFramesFrom, runFile, type RunPlace } from './external-combiner.js';
import { OpenColumnFiles, compactColumns, readColumnBucket, writeColumnFile, type FileBucket, type SharedColumnFile } from './column-file.js';
import type { MemoryBudget, MemoryConsumer } from './memory-budget.js';
import { giveBack } from '../util/scratch-arrays.js';
import { ReducerSlots, notAReducer, slotOf, statusSizes, type SparseBuckets } from './sparse-buckets.js';
import { allRead, markRead, retireShared, shareOutput, shareable, sharedBucketAt, withdraw, type SharedOutput } from './shared-output.js';
import { namingFile } from '../util/file-errors.js';

export interface SpillingShuffleOptions {
  readonly workerIndex: number;
  /** This worker's folder for shuffle files. */
  readonly dir: string;
  /** Estimated bytes of one map task's buffered output that trigger a spill. */
  readonly spillBytes: number;
  /** Write every map output to disk when the task ends (Hadoop), not only what outgrew the buffer. */
  readonly writeAllToDisk: boolean;
  /** The worker's shuffle memory pool, shared by all map outputs held here (and by combiners). */
  readonly budget?: MemoryBudget;
  /** Move a stored output to disk once every one of its buckets has been fetched (see above). */
  readonly moveReadOutputs?: boolean;
  /**
   * Store outputs in shared memory that the map status carries (local mode: the workers are threads of one process;
   * see shared-output.ts), so reducers on other workers read them without asking this one.
   */
  readonly shareOutputs?: boolean;
}

/**
 * Runs per reducer that has any (an output of a shuffle into thousands of reducers spills to few), each a part of
 * its spill's one file.
 */
type Runs = Map<number, Array<Exclude<RunPlace, string>>>;

/** The file a shuffle's moved outputs share on this worker, and how many outputs it holds or is being written for. */
interface MoveFile extends SharedColumnFile {
  readonly shuffleId: number;
  live: number;
}

interface MapOutput {
  readonly shuffleId: number;
  /**
   * Records still in memory, per reducer, encoded (sorted by key when the output also has runs); only the reducers
   * the map task wrote to: the other buckets are empty for good (a spill or a move empties a bucket, never fills one).
   */
  readonly buckets: SparseBuckets<EncodedBucket>;
  /**
   * Run files per reducer; a reducer without any has no entry (an output of a shuffle into thousands of reducers
   * held an empty array per reducer for as long as the shuffle lived).
   */
  readonly runs: Runs;
  /** Its share of the worker's pool, when there is one. */
  readonly consumer?: MemoryConsumer;
  /** Per slot of `buckets`, whether its bucket is still to be fetched a first time (with `moveReadOutputs`). */
  unread?: Uint8Array;
  /** How many of `unread` are set. */
  unreadCount?: number;
  /** Where the buckets are once moved to disk, per slot of `buckets` (which then holds empty ones), in `in`. */
  file?: { readonly path: string; readonly buckets: readonly FileBucket[]; readonly in: MoveFile };
  /** Being written to disk, or dropped (removed, replaced) meanwhile. */
  moving?: boolean;
  dropped?: boolean;
  /**
   * Per slot of `buckets`, set once its stored arrays were handed to a local reader as views: those are left to the garbage
   * collector, the others go back to the thread's pool when the output no longer needs them (see #recycle).
   */
  viewed?: Uint8Array;
  /**
   * The output in shared memory (its `buckets` are the shared ones until moved or spilled): which buckets were read
   * is then in its state, marked by the reducers of every worker, not in `unread`.
   */
  shared?: SharedOutput;
  /** The shared output given up while a move still read its buckets: retired when the move ends (see #unshare). */
  retiring?: SharedOutput;
}

/** Re-estimate the average record size every this many records (estimating each record would cost too much). */
const SAMPLE_EVERY = 1024;
/**
 * Records of one bucket encoded together while a map task writes (memory engine): the pairs then live only for
 * a few thousand records (dying young, cheaply) instead of until the task ends (promoted, then traced and freed
 * by full collections).
 */
const CHUNK = 4096;
/** Shared outputs one `pollShared` looks at, at most. */
const POLL_AT_ONCE = 64;

export class SpillingShuffleManager implements ShuffleManager {
  readonly #outputs = new Map<number, Map<number, MapOutput>>();
  /** Spills performed so far (visible to tests and metrics). */
  spills = 0;
  /** Stored outputs moved to disk after every reducer read them, and their bytes (visible to tests). */
  movedToDisk = 0;
  movedBytes = 0;
  /** Outputs fully read, to be moved at the next turn of the event loop (the worker is then between tasks). */
  readonly #toMove = new Set<MapOutput>();
  /** Shared outputs not yet fully read: polled (their readers are on other threads) when this worker works. */
  readonly #sharedUnread = new Set<MapOutput>();
  /** Outputs stored in shared memory so far (visible to tests). */
  sharedOutputs = 0;

  /** Stored outputs still holding shared memory (tests: none once moved to disk, spilled or dropped). */
  get sharedHeld(): number {
    let n = 0;
    for (const byMap of this.#outputs.values()) for (const out of byMap.values()) if (out.shared !== undefined) n++;
    return n;
  }
  #moveScheduled = false;
  /** Names the files of moved outputs. */
  #files = 0;
  /** Per shuffle, the file its outputs move into (a file per output made a folder of 100,000 files: see MoveFile). */
  readonly #moveFiles = new Map<number, MoveFile>();
  /** Their descriptors, kept open between moves. */
  readonly #kept = new OpenColumnFiles();
  /** Names spilled runs. */
  #runFiles = 0;

  constructor(private readonly options: SpillingShuffleOptions) {}

  writer(shuffleId: number, mapId: number, numReducers: number): MapOutputWriter {
    if (this.#sharedUnread.size > 0) this.pollShared();
    // Per-reducer state only for the reducers written to, in slots made at a reducer's first record: a map task of a
    // shuffle into thousands of reducers writes to few of them (SparkTC's last rounds: 32,768 reducers, a few records
    // per map task), and three arrays of R slots per map task, filled, then walked at close, were O(M x R) per shuffle.
    const slots = new ReducerSlots(numReducers);
    const dense = slots.dense;
    /** Per slot: its records not encoded yet. */
    let pairs: Pair[][] = new Array<Pair[]>(slots.size).fill(NO_PAIRS);
    /** Per slot: its earlier records, encoded CHUNK at a time. */
    let chunks: EncodedBucket[][] = new Array<EncodedBucket[]>(slots.size).fill(NO_CHUNKS);
    /** Per slot: records written to it. */
    let counts: number[] = new Array<number>(slots.size).fill(0);
    const slotFor = (r: number): number => {
      const s = slots.slot(r);
      if (s === counts.length) {
        pairs.push(NO_PAIRS);
        chunks.push(NO_CHUNKS);
        counts.push(0);
      }
      return s;
    };
    const chunksOf = (s: number): EncodedBucket[] => (chunks[s] !== NO_CHUNKS ? chunks[s]! : (chunks[s] = []));
    const chunked = !this.options.writeAllToDisk;
    /** All records of slot s written so far, as pairs. */
    const recordsOf = (s: number): Pair[] => (chunks[s]!.length === 0 ? pairs[s]! : [...chunks[s]!.flatMap(decodeBucket), ...pairs[s]!]);
    const runs: Runs = new Map();
    const budget = this.options.budget;
    let buffered = 0;
    let avgBytes = 0;
    let runIndex = 0;
    // The stored form, once closed: what stays in memory is encoded.
    let stored: SparseBuckets<EncodedBucket> | undefined;
    // Set once the stored output is shared: a spill withdraws it, so that its memory goes once the reads in
    // progress end (the driver lets the handle go; later readers fetch the runs).
    let sharedOutput: MapOutput | undefined;
    /**
     * `stopped`: a spill of this writer's own task (its records written, its close), which stops between frames when
     * the task is asked to (the mapreduce engine sorts and writes a whole map output at close, for seconds); not one
     * the pool asks for while another task computes, which that task's stop must not cut short.
     */
    const spill = (stopped?: () => void): void => {
      // Withdrawn first: no reader starts on it while its records are written to runs.
      if (sharedOutput?.shared !== undefined) withdraw(sharedOutput.shared.state);
      let diskBytes = 0;
      // Numbered per manager, not per writer: a map task run again here (a retried stage) writes new files
      // before the output it replaces is dropped with its own. One file per spill, its reducers' runs back to back
      // in reducer order (Spark's spill file and index), opened only once a bucket has records.
      const file = path.join(this.options.dir, `shuffle_${shuffleId}_${mapId}.spill${this.#runFiles++}`);
      let fd = -1;
      try {
        // A stored output is spilled a non-empty bucket at a time; before close, a slot (a reducer written to) at a time.
        const n = stored !== undefined ? stored.ids.length : slots.size;
        const order = stored !== undefined ? undefined : slots.ascending();
        for (let j = 0; j < n; j++) {
          const i = order === undefined ? j : order[j]!;
          const r = stored !== undefined ? stored.ids[i]! : slots.reducer(i);
          const b = stored !== undefined ? decodeBucket(storedAt(stored, i, sharedOutput?.shared)) : recordsOf(i);
          if (b.length === 0) continue;
          if (fd < 0) {
            mkdirSync(this.options.dir, { recursive: true });
            fd = openSync(file, 'w');
          }
          // Framed (a few thousand records a frame), so a fetch in parts reads a run a frame at a time. A stored
          // output keeps its order: a reducer may be part way through its in-memory bucket, and goes on at the same
          // record in the run that now holds it (the same segment of its cursor; see #part).
          const sorted = stored !== undefined ? b : b.sort(compare);
          const written = appendFramedRun(fd, sorted, stopped);
          const run = { file, start: diskBytes, end: diskBytes + written };
          diskBytes += written;
          const files = runs.get(r);
          if (files === undefined) runs.set(r, [run]);
          else files.push(run);
          if (stored !== undefined) stored.list[i] = encodeBucket([]);
          else {
            pairs[i] = NO_PAIRS;
            chunks[i] = NO_CHUNKS;
          }
        }
      } catch (e) {
        // A run listed before the failure keeps the file (removed with the output's runs); a file none was listed
        // in yet would stay in the worker's folder, holding the disk that just ran out, until the context stops.
        // Stopped part way, the task ends and nothing will read its runs (one maybe cut short): the file goes.
        if (fd >= 0 && (diskBytes === 0 || e instanceof TaskInterruptedError)) {
          closeSync(fd);
          fd = -1;
          rmSync(file, { force: true });
        }
        // A stop is reported as one (the task killed, not failed), not as the file's error.
        throw e instanceof TaskInterruptedError ? e : namingFile(e, file);
      } finally {
        if (fd >= 0) closeSync(fd);
      }
      // Its records are in the runs now: the shared memory can hold another output once its readers are done.
      if (sharedOutput !== undefined) this.#unshare(sharedOutput);
      runIndex++;
      this.spills++;
      const memoryBytes = Math.round(buffered * avgBytes);
      buffered = 0;
      if (budget !== undefined) {
        budget.spilled(memoryBytes, diskBytes);
        budget.update(consumer, 0);
      }
    };
    // Spilled by the pool while written (another task needs room) and after close (the output is stored).
    const consumer: MemoryConsumer = { bytes: 0, spill: () => buffered > 0 && spill() };
    budget?.register(consumer);
    const removeAll = (): void => {
      budget?.release(consumer);
      removeFiles({ runs });
    };
    const add = (reduceId: number, kv: Pair): void => {
      // Dense, a reducer is its slot: no lookup per record (an answer out of range finds no bucket).
      const s = dense ? reduceId : slotFor(reduceId);
      let b = pairs[s];
      if (b === undefined) throw notAReducer(reduceId, numReducers);
      if (b === NO_PAIRS) pairs[s] = b = [];
      b.push(kv);
      if (chunked && b.length === CHUNK) {
        chunksOf(s).push(encodeBucket(b));
        pairs[s] = NO_PAIRS;
      }
      counts[s]!++;
      if (buffered % SAMPLE_EVERY === 0) {
        const size = estimateSize([kv]) - 16; // minus the estimator's array overhead, plus the bucket slot
        avgBytes = avgBytes === 0 ? size : (avgBytes * 3 + size) / 4;
        if (budget !== undefined && buffered > 0 && !budget.update(consumer, buffered * avgBytes)) {
          spill(checkInterrupted);
          return;
        }
      }
      buffered++;
      if (buffered * avgBytes > this.options.spillBytes) spill(checkInterrupted);
    };
    return {
      add,
      addEncoded: (reduceId, records) => {
        if (records.length === 0) return;
        if (!chunked) {
          // The disk engine keeps pairs until it sorts and writes them at close.
          const decoded = decodeBucket(records);
          for (let i = 0; i < decoded.length; i++) add(reduceId, decoded[i]!);
          return;
        }
        // The records go after those still buffered as pairs, so those are encoded first.
        const s = slotFor(reduceId);
        const b = pairs[s]!;
        if (b.length > 0) {
          chunksOf(s).push(encodeBucket(b));
          pairs[s] = NO_PAIRS;
        }
        chunksOf(s).push(records);
        counts[s]! += records.length;
        // Counted against the budget and the spill threshold as `add` counts pairs, at the columns' own size.
        const size = encodedBytes(records, estimateSize) / records.length;
        avgBytes = avgBytes === 0 ? size : (avgBytes * 3 + size) / 4;
        buffered += records.length;
        if (budget !== undefined && !budget.update(consumer, buffered * avgBytes)) {
          spill(checkInterrupted);
          return;
        }
        if (buffered * avgBytes > this.options.spillBytes) spill(checkInterrupted);
      },
      close: (): MapStatus => {
        if (this.options.writeAllToDisk) {
          try {
            spill(checkInterrupted);
          } catch (e) {
            // Stopped (or failed) at close: no output is stored, so its runs are nobody's to remove later.
            removeAll();
            throw e;
          }
        } else if (runIndex > 0) {
          for (let i = 0; i < slots.size; i++) {
            pairs[i] = recordsOf(i).sort((a, c) => compare(a, c));
            chunks[i] = NO_CHUNKS;
          }
        }
        // Only the non-empty buckets are stored (a spill empties a slot), in reducer order.
        const order = slots.ascending().filter((i) => counts[i]! > 0);
        let nonEmpty = 0;
        for (const i of order) if (pairs[i]!.length > 0 || chunks[i]!.length > 0) nonEmpty++;
        const ids = new Int32Array(nonEmpty);
        const list = new Array<EncodedBucket>(nonEmpty);
        for (let j = 0, k = 0; j < order.length; j++) {
          const i = order[j]!;
          if (pairs[i]!.length === 0 && chunks[i]!.length === 0) continue;
          ids[k] = slots.reducer(i);
          list[k++] = chunks[i]!.length === 0 ? encodeBucket(pairs[i]!) : concatEncoded([...chunks[i]!, encodeBucket(pairs[i]!)]);
        }
        stored = { length: numReducers, ids, list };
        const sizes = statusSizes(slots, order, counts, numReducers);
        // The per-slot state goes with the task: the closures keep it (the pool's consumer holds `spill`) for as long
        // as the output is stored, for every output of every shuffle still reachable.
        pairs = chunks = [];
        counts = [];
        slots.clear();
        let bytes = 0;
        for (const e of stored.list) bytes += e.length === 0 ? 0 : encodedBytes(e, estimateSize);
        let shared: SharedOutput | undefined;
        if (this.options.shareOutputs && runIndex === 0 && shareable(stored)) {
          shared = shareOutput(stored);
          // The originals came from this thread's pool (placeColumns, the string table) and nothing else holds them.
          giveBackArrays(stored.list);
          // Holes: each bucket is made from the shared segment when read (storedAt), not held as views meanwhile.
          stored = { length: numReducers, ids: stored.ids, list: new Array<EncodedBucket>(stored.list.length) };
          this.sharedOutputs++;
        }
        budget?.update(consumer, bytes);
        let byMap = this.#outputs.get(shuffleId);
        if (byMap === undefined) this.#outputs.set(shuffleId, (byMap = new Map()));
        const previous = byMap.get(mapId);
        if (previous) this.#drop(previous);
        const output: MapOutput = { shuffleId, buckets: stored, runs, consumer };
        if (shared !== undefined) {
          output.shared = shared;
          sharedOutput = output;
          if (this.options.moveReadOutputs) this.#sharedUnread.add(output);
        } else if (this.options.moveReadOutputs && runIndex === 0 && compactColumns(stored.list)) {
          // Empty buckets count as read: nothing is lost by moving the output before a reducer asks for them.
          output.unread = Uint8Array.from(stored.list, (e) => (e.length > 0 ? 1 : 0));
          output.unreadCount = output.unread.reduce((n, x) => n + x, 0);
        }
        byMap.set(mapId, output);
        return shared === undefined ? { sizes } : { sizes, shared: shared.handle };
      },
      abort: removeAll,
    };
  }

  #drop(out: MapOutput): void {
    this.#unshare(out);
    if (out.consumer !== undefined) this.options.budget?.release(out.consumer);
    removeFiles(out);
    // A move in progress still reads the arrays: its end recycles them.
    if (!out.moving) this.#recycle(out);
    out.dropped = true;
    this.#toMove.delete(out);
    if (out.file !== undefined) this.#release(out.file.in);
  }

  /** The file the outputs of `shuffleId` move into, counting one more output in it. */
  #moveFile(shuffleId: number): MoveFile {
    let file = this.#moveFiles.get(shuffleId);
    if (file === undefined) {
      file = { shuffleId, path: path.join(this.options.dir, `shuffle_${shuffleId}_moved_${++this.#files}.cols`), size: 0, live: 0 };
      this.#moveFiles.set(shuffleId, file);
    }
    file.live++;
    return file;
  }

  /** One output less in `file`: removed with its last (the bytes of outputs dropped before stay until then). */
  #release(file: MoveFile): void {
    if (--file.live > 0) return;
    this.#kept.forget(file);
    rmSync(file.path, { force: true });
    if (this.#moveFiles.get(file.shuffleId) === file) this.#moveFiles.delete(file.shuffleId);
  }

  /**
   * Gives up `out`'s shared memory (moved to disk, spilled, dropped): withdrawn at once, so no reduce task starts
   * reading it, and retired (its segment reused once its readers are done: shared-output.ts) unless a move is still
   * reading the buckets (then when the move ends) or a local reader was handed views of them outside the readers'
   * count (then left to the collector).
   */
  #unshare(out: MapOutput): void {
    const shared = out.shared;
    if (shared === undefined) return;
    out.shared = undefined;
    this.#sharedUnread.delete(out);
    if (out.moving) {
      withdraw(shared.state);
      out.retiring = shared;
      return;
    }
    retireShared(shared, out.viewed === undefined);
  }

  /** What #unshare left to a move's end. */
  #retireAfterMove(out: MapOutput): void {
    if (out.retiring === undefined) return;
    retireShared(out.retiring, out.viewed === undefined);
    out.retiring = undefined;
  }

  /** Notes that bucket `reduceId` of `out` was fetched; the first time the last one is, the output is queued to move. */
  #read(out: MapOutput, reduceId: number): void {
    if (out.shared !== undefined) {
      // Polled only when this read was a bucket's first: a poll looks at every shared output held here, so one per
      // read (a reducer reading a bucket again, or many) made reads quadratic in the outputs held.
      if (markRead(out.shared.state, slotOf(out.buckets, reduceId))) this.pollShared();
      return;
    }
    const unread = out.unread;
    if (unread === undefined) return;
    const slot = slotOf(out.buckets, reduceId);
    if (slot < 0 || unread[slot] !== 1) return;
    unread[slot] = 0;
    out.unreadCount!--;
    if (out.unreadCount! > 0) return;
    this.#queueMove(out);
  }

  /**
   * Queues the shared outputs that every reducer has read (here or on another worker) to move to disk. Called when
   * this worker starts a map task or reads a local bucket: reads on other threads send this one no message.
   * Each call looks at POLL_AT_ONCE outputs at most, those looked at longest ago: called once per task, a look at
   * every output held made a stage of many tasks quadratic (1000 maps into 2001 reducers: 500 outputs held per worker,
   * looked at by each of 1000 tasks), and an output read in full is still noticed within a few tasks.
   */
  pollShared(): void {
    let left = Math.min(this.#sharedUnread.size, POLL_AT_ONCE);
    for (const out of this.#sharedUnread) {
      if (left-- === 0) break;
      this.#sharedUnread.delete(out);
      // Not read in full yet: back at the end, so that the next call looks at the others first.
      if (allRead(out.shared!.state)) this.#queueMove(out);
      else this.#sharedUnread.add(out);
    }
  }

  #queueMove(out: MapOutput): void {
    this.#toMove.add(out);
    if (this.#moveScheduled) return;
    this.#moveScheduled = true;
    // Not during the fetch: a local fetch runs inside a task, and a peer's fetch is waiting on the answer.
    setImmediate(() => {
      this.#moveScheduled = false;
      void this.moveReadOutputs();
    });
  }

  /**
   * Moves the fully read outputs to disk (called by the manager at the next turn of the event loop after the last
   * read; public for tests). The writes run off the thread; until one ends, the output is read from memory, and
   * its memory is given up only when the file is complete. Resolves when these writes have ended.
   */
  async moveReadOutputs(): Promise<void> {
    const writes: Array<Promise<void>> = [];
    for (const out of this.#toMove) {
      this.#toMove.delete(out);
      if (out.moving || out.file !== undefined) continue;
      out.moving = true;
      const file = this.#moveFile(out.shuffleId);
      // A shared output's buckets as views of its segment, which stays until the move ends (#unshare, #retireAfterMove).
      const list = Array.from(out.buckets.list, (_, i) => storedAt(out.buckets, i, out.shared));
      writes.push(
        writeColumnFile(file, list, this.#kept).then(
          (buckets) => {
            out.moving = false;
            this.#retireAfterMove(out);
            // Dropped meanwhile (shuffle removed, output replaced), or spilled by the pool (it then has runs, which
            // hold its records): the file is not needed.
            if (out.dropped || out.runs.size > 0) {
              this.#release(file);
              if (out.dropped) this.#recycle(out);
              return;
            }
            let bytes = 0;
            for (const e of list) bytes += encodedBytes(e, estimateSize);
            out.file = { path: file.path, buckets, in: file };
            // Its pool share goes (and with it any later request to spill it); only empty buckets stay in memory.
            if (out.consumer !== undefined) this.options.budget?.release(out.consumer);
            this.#recycle(out);
            // Every reducer has read it, and it is served from the file now: its shared memory can hold another output.
            this.#unshare(out);
            out.buckets.list.fill(EMPTY);
            this.movedToDisk++;
            this.movedBytes += bytes;
          },
          () => {
            out.moving = false; // (a full disk): it stays in memory, as it would have without moving
            this.#release(file);
            this.#retireAfterMove(out);
            if (out.dropped) this.#recycle(out);
          },
        ),
      );
    }
    await Promise.all(writes);
  }

  /**
   * Gives the typed arrays of `out`'s stored buckets back to the thread's pool (util/scratch-arrays.ts; arrays it did
   * not lend are ignored), except those of buckets a local reader viewed, which may still hold them. Called when
   * nothing of this manager reads them any more: the output was moved to disk or dropped, and no write is reading
   * them. Peers and `fetchBuckets` only ever got copies.
   */
  #recycle(out: MapOutput): void {
    const list = out.buckets.list;
    for (let i = 0; i < list.length; i++) {
      if (out.viewed?.[i] === 1) continue;
      const b = list[i];
      // A hole is a bucket in shared memory (storedAt): nothing of the pool.
      if (b === undefined) continue;
      // A column of chars is not pooled; its ends may be (StringTable.stringBuckets).
      if (isStringColumn(b.keys)) giveBack(b.keys.ends);
      else if ('data' in b.keys && !Array.isArray(b.keys.data)) giveBack(b.keys.data);
      if (isStringColumn(b.values)) giveBack(b.values.ends);
      else if ('data' in b.values && !Array.isArray(b.values.data)) giveBack(b.values.data);
    }
  }

  /** Notes that a local reader holds views of `out`'s stored bucket `reduceId`. */
  #viewed(out: MapOutput, reduceId: number): void {
    const slot = slotOf(out.buckets, reduceId);
    if (slot >= 0) (out.viewed ??= new Uint8Array(out.buckets.list.length))[slot] = 1;
  }

  /** The in-memory (encoded) bucket `reduceId` of an output, read back from its file when it was moved there. */
  #stored(out: MapOutput, reduceId: number): EncodedBucket | undefined {
    if (out.file === undefined) return storedBucket(out, reduceId);
    if (reduceId < 0 || reduceId >= out.buckets.length) return undefined;
    const slot = slotOf(out.buckets, reduceId);
    const b = slot < 0 ? undefined : out.file.buckets[slot];
    // An output moves to disk once its non-empty buckets are read, so its empty ones are still asked for, one per
    // reducer: opening the file for nothing made a shuffle of M maps into R reducers M x R opens and closes (Spark's
    // SPARK-4019 case, 10 elements from 1000 partitions into 2001: 87 s).
    if (b === undefined || b.length === 0) return EMPTY;
    return readColumnBucket(out.file.path, b);
  }

  fetchBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): Bucket[] {
    return mapIds.map((mapId) => {
      const out = this.#output(shuffleId, mapId);
      const files = out.runs.get(reduceId) ?? [];
      const inMemory = this.#stored(out, reduceId);
      this.#read(out, reduceId);
      const decoded = inMemory === undefined ? [] : decodeBucket(inMemory);
      if (files.length === 0) return decoded;
      // Runs in run order, then a stable sort: a key's records keep their order (a run spilled from a stored
      // output is not sorted, see the writer's spill).
      const all = files.flatMap((f) => readFramedRun(f, () => `reading back the map output run in ${f.file}`));
      for (let i = 0; i < decoded.length; i++) all.push(decoded[i]!);
      return all.sort(compare);
    });
  }

  fetchEncoded(shuffleId: number, mapIds: readonly number[], reduceId: number, readOnly = false): EncodedBucket[] {
    return mapIds.map((mapId) => {
      const out = this.#output(shuffleId, mapId);
      // Only spilled outputs need merging; the rest is served as stored (copied, since the copy may be transferred;
      // read back from its file, it is already a copy). A local reader only reads: moving the output to disk later
      // replaces the stored bucket object and leaves its arrays to the reader.
      const inMemory = storedBucket(out, reduceId);
      if ((out.runs.get(reduceId) ?? []).length > 0 || inMemory === undefined)
        return encodeBucket(this.fetchBuckets(shuffleId, [mapId], reduceId)[0]!);
      if (out.file !== undefined) return this.#stored(out, reduceId)!;
      this.#read(out, reduceId);
      if (!readOnly) return copyEncoded(inMemory);
      this.#viewed(out, reduceId);
      return inMemory;
    });
  }

  fetchParts(
    shuffleId: number,
    mapIds: readonly number[],
    reduceId: number,
    at: BucketCursor,
    maxBytes: number,
    readOnly = false,
    stopped?: () => void,
  ): BucketParts {
    const buckets: EncodedBucket[] = [];
    let room = maxBytes;
    for (let i = 0; i < mapIds.length; i++) {
      const part = this.#part(this.#output(shuffleId, mapIds[i]!), reduceId, i === 0 ? at : BUCKET_START, room, readOnly, stopped);
      buckets.push(part.bucket);
      room -= part.bytes;
      if (part.next !== undefined) return { buckets, rest: { index: i, at: part.next } };
      if (room <= 0 && i + 1 < mapIds.length) return { buckets, rest: { index: i + 1, at: BUCKET_START } };
    }
    return { buckets };
  }

  /**
   * About `room` estimated bytes of `out`'s bucket `reduceId` from `at` (at least one record, or one frame of a
   * run), from one segment: a run (read a frame at a time) or the part kept in memory; `next` unless the bucket is
   * served to its end. A `readOnly` part of the part kept in memory views the stored arrays (see fetchEncoded).
   */
  #part(
    out: MapOutput,
    reduceId: number,
    at: BucketCursor,
    room: number,
    readOnly: boolean,
    stopped: (() => void) | undefined,
  ): { bucket: EncodedBucket; bytes: number; next?: BucketCursor } {
    const files = out.runs.get(reduceId) ?? [];
    const { segment, offset } = at;
    const stored = this.#stored(out, reduceId) ?? EMPTY;
    if (segment < files.length) {
      const read = readFramesFrom(files[segment]!, offset, room, stopped);
      const served = { bucket: encodeBucket(read.pairs), bytes: read.bytes };
      if (read.next !== undefined) return { ...served, next: { segment, offset: read.next } };
      if (segment + 1 < files.length || stored.length > 0) return { ...served, next: { segment: segment + 1, offset: 0 } };
      this.#read(out, reduceId);
      return served;
    }
    const length = stored.length;
    const perRecord = length === 0 ? 0 : encodedBytes(stored, estimateSize) / length;
    const end = Math.min(length, offset + Math.max(1, Math.floor(room / perRecord)));
    // A view of the stored arrays only while they are stored (not of a copy read back from the file).
    if (readOnly && out.file === undefined) this.#viewed(out, reduceId);
    const served = { bucket: sliceEncoded(stored, offset, end, readOnly), bytes: (end - offset) * perRecord };
    if (end < length) return { ...served, next: { segment, offset: end } };
    this.#read(out, reduceId);
    return served;
  }

  #output(shuffleId: number, mapId: number): MapOutput {
    const out = this.#outputs.get(shuffleId)?.get(mapId);
    if (out === undefined) {
      throw new FetchFailedError(
        shuffleId,
        mapId,
        this.options.workerIndex,
        `worker ${this.options.workerIndex} has no output of map ${mapId} of shuffle ${shuffleId}`,
      );
    }
    return out;
  }

  remove(shuffleId: number): void {
    for (const out of this.#outputs.get(shuffleId)?.values() ?? []) this.#drop(out);
    this.#outputs.delete(shuffleId);
  }

  close(): void {
    this.#toMove.clear();
    this.#sharedUnread.clear();
    for (const byMap of this.#outputs.values()) {
      for (const out of byMap.values()) {
        if (out.shared !== undefined) withdraw(out.shared.state);
        if (out.consumer) this.options.budget?.release(out.consumer);
        out.dropped = true; // a move still writing ends without keeping its file
      }
    }
    this.#outputs.clear();
    this.#moveFiles.clear();
    this.#kept.closeAll();
    rmSync(this.options.dir, { recursive: true, force: true });
  }
}

/**
 * The stored bucket in slot `i`: a hole in `buckets.list` is a bucket of the shared output `shared`, made as views of
 * its segment (a spill or a move fills the holes before the segment may hold another output).
 */
function storedAt(buckets: SparseBuckets<EncodedBucket>, i: number, shared: SharedOutput | undefined): EncodedBucket {
  const b = buckets.list[i];
  if (b !== undefined) return b;
  // internal: only a shared output's list has holes, and they are filled before it stops being shared
  if (shared === undefined) throw new Error(`stored bucket ${i} is neither in memory nor shared`);
  return sharedBucketAt(shared.handle, i);
}

/** Stored bucket `reduceId` of an output in memory: EMPTY when it holds nothing, undefined when not a reducer of it. */
function storedBucket(out: MapOutput, reduceId: number): EncodedBucket | undefined {
  if (reduceId < 0 || reduceId >= out.buckets.length) return undefined;
  const slot = slotOf(out.buckets, reduceId);
  return slot < 0 ? EMPTY : storedAt(out.buckets, slot, out.shared ?? out.retiring);
}

/** Gives the pooled typed arrays of encoded buckets back to this thread's pool (see #recycle). */
function giveBackArrays(buckets: readonly EncodedBucket[]): void {
  for (const b of buckets) {
    for (const c of [b.keys, b.values]) {
      if (isStringColumn(c)) giveBack(c.ends);
      else if ('data' in c && !Array.isArray(c.data)) giveBack(c.data);
    }
  }
}

function removeFiles(out: Pick<MapOutput, 'runs'>): void {
  const files = new Set<string>();
  for (const runs of out.runs.values()) for (const run of runs) files.add(runFile(run));
  for (const f of files) rmSync(f, { force: true });
}

const compare = (a: Pair, b: Pair): number => compareKeys(a[0], b[0]);

/** A bucket of a writer before its first record (frozen: a record pushed onto it by mistake throws). */
const NO_PAIRS: Pair[] = Object.freeze([]) as unknown as Pair[];
const NO_CHUNKS: EncodedBucket[] = Object.freeze([]) as unknown as EncodedBucket[];

/** What a moved output keeps in memory per bucket (nothing: its records are read from the file). */
const EMPTY: EncodedBucket = { length: 0, keys: { kind: 'null' }, values: { kind: 'null' } };
