/**
 * Map outputs in shared memory (issue 8): in local mode the workers are threads of one process, so a map output's
 * encoded buckets (bucket-codec.ts) can live in a `SharedArrayBuffer` that every thread may read. Its handle travels
 * with the map status to the driver's tracker, which hands each reduce task the buckets it needs; the reducer then
 * reads a peer's bucket where it lies, without asking the peer, whose event loop may be busy with a task for the
 * whole of that task (a fetch is served only between a worker's synchronous computations).
 *
 * The bytes are not written while anyone may read them: a reduce task counts itself a reader while it reads (see
 * takeShared), and the writer puts an output's memory (a segment of its thread's pool) to another output only once it
 * has withdrawn the first (moved to disk, spilled by its shuffle pool, replaced, removed: nobody starts reading it
 * then) and no counted reader is left. A reader already holding a view reads a complete output, even after its writer
 * died. What changes meanwhile is the output's small state array, a buffer of its own: which buckets were read (so the
 * writer can move a fully read output to disk, as it does for outputs fetched by peers), the readers, and whether the
 * writer withdrew it.
 *
 * Only outputs whose columns are all typed arrays (numbers, rows of numbers, strings as latin1 bytes or UTF-16 code
 * units) or lengths (null, undefined) are shared; a plain-array column (objects, mixed kinds) has no byte form, and its
 * output is fetched as before. Executors in other processes never share: their map statuses carry no handle, and reducers fetch.
 */
import { isStringColumn, type EncodedBucket } from './bucket-codec.js';
import { slotOf, sparseBuckets, type SparseBuckets } from './sparse-buckets.js';

/**
 * A shared output as it travels to the driver and on to the workers of its reducers: the segment as a buffer, and the
 * state, the reducer ids and where each non-empty bucket's columns lie in the segment ({@link SLOT_INTS} ints a slot)
 * as views of one more shared buffer. Its clone is two shared buffers and three views (the ids and layout copied
 * were 14 ints a non-empty bucket held by the driver and by each worker), where the output's own views were up to three typed arrays
 * a bucket: a map output of 1,000 buckets was ~3,000 views cloned to the driver, and a reduce task of a 1,000-map
 * shuffle carried 1,000 of them (a dense 1,000 x 1,000 shuffle spent most of the driver's time in postMessage). A
 * worker is sent a handle once and keeps it (the reduce tasks then name map ids and slots only); a reader rebuilds the
 * views of the buckets it reads ({@link sharedBucketAt}).
 */
export interface SharedOutputHandle {
  readonly state: Int32Array;
  readonly segment: SharedArrayBuffer;
  /** The reduce partitions (SparseBuckets.length). */
  readonly length: number;
  /** The reduce partition of each slot, ascending (SparseBuckets.ids). */
  readonly ids: Int32Array;
  /** Per slot: the bucket's length, then for keys and for values the column's kind, width and its arrays' places. */
  readonly layout: Int32Array;
}

/** Ints per slot of a handle's layout: the length, then 6 per column (kind, width, offset and length of 2 arrays). */
export const SLOT_INTS = 13;
const COLUMN_KINDS = ['null', 'undefined', 'i32', 'f64', 'i32rows', 'f64rows', 'latin1', 'utf16'] as const;

/** One map output in shared memory: its buckets by reduce partition, and the state readers and writer update. */
export interface SharedOutput {
  /** The same output as it is sent (see SharedOutputHandle). */
  readonly handle: SharedOutputHandle;
  /**
   * `[UNREAD]`: buckets not read yet; `[WITHDRAWN]`: 1 once the writer withdrew the output; `[READERS]`: reduce tasks
   * reading it now; `[FIRST_FLAG + i]`: 1 while the bucket in slot `i` of `buckets` was never read. Updated with
   * `Atomics` (several threads). A flag per non-empty bucket only: one per reducer was M x R flags per shuffle.
   */
  readonly state: Int32Array;
  /** The buckets by reduce partition, as new views of the segment at each read (see {@link sharedBucketAt}). */
  readonly buckets: SparseBuckets<EncodedBucket>;
}

/** A reduce task's share of a shared output: its bucket and the output's state. */
export interface SharedBucket {
  readonly state: Int32Array;
  readonly bucket: EncodedBucket;
  readonly reduceId: number;
  /** Its place among the output's non-empty buckets (its read flag). */
  readonly slot: number;
  /** The map output it belongs to, when listed apart from its map id's place (ShuffleReadWire.shared). */
  readonly mapId?: number;
}

const UNREAD = 0;
const WITHDRAWN = 1;
/** Reduce tasks reading the output now (taken, task not ended): its segment is not reused while any is. */
const READERS = 2;
const FIRST_FLAG = 3;

type Column = EncodedBucket['keys'];

/** Whether a column has a byte form (typed arrays, or nothing but a length). */
function shareableColumn(c: Column): boolean {
  return c.kind !== 'any';
}

/** Whether every bucket of an output can live in shared memory. */
export function shareable(buckets: readonly EncodedBucket[] | SparseBuckets<EncodedBucket>): boolean {
  for (const b of 'list' in buckets ? buckets.list : buckets)
    if (b.length > 0 && (!shareableColumn(b.keys) || !shareableColumn(b.values))) return false;
  return true;
}

const align8 = (n: number): number => (n + 7) & ~7;

/** The bytes a column's typed arrays take in a segment (each placed at a multiple of 8). */
function columnBytes(c: Column): number {
  if (isStringColumn(c)) return align8(c.data.byteLength) + align8(c.ends.byteLength);
  return 'data' in c && !Array.isArray(c.data) ? align8((c.data as Int32Array | Float64Array).byteLength) : 0;
}

/**
 * Copies `buckets` (each {@link shareable}) into shared memory: a segment of this thread's pool (see
 * {@link retireShared}) or a new one, the state (with the ids and layout) in a buffer of its own (a stale handle must
 * keep reading "withdrawn" after the segment holds another output). Every non-empty bucket starts unread. The copies
 * are the same columns: a reader decodes them as it decodes a bucket fetched from a peer.
 */
export function shareOutput(all: readonly EncodedBucket[] | SparseBuckets<EncodedBucket>): SharedOutput {
  const buckets = 'list' in all ? all : sparseBuckets(all, (b) => b.length === 0);
  let bytes = 0;
  for (const b of buckets.list) if (b.length > 0) bytes += columnBytes(b.keys) + columnBytes(b.values);
  const sab = takeSegment(bytes);
  // The state, the reducer ids and the layout in one buffer of the output's own: a handle's clone (to the driver, on
  // to each worker of its reducers) then shares them, where copied ids and layout were 14 ints a non-empty bucket per
  // copy, held by the driver and by every worker until the output is spent (a word count of 7,319 files into as many
  // reducers: ~3 million buckets).
  const n = buckets.list.length;
  const meta = new SharedArrayBuffer((FIRST_FLAG + n + n + n * SLOT_INTS) * 4);
  const state = new Int32Array(meta, 0, FIRST_FLAG + n);
  const ids = new Int32Array(meta, (FIRST_FLAG + n) * 4, n);
  ids.set(buckets.ids);
  let at = 0;
  const layout = new Int32Array(meta, (FIRST_FLAG + n + n) * 4, n * SLOT_INTS);
  /** Copies `a` into the segment, noting where at `layout[to]` (offset) and `layout[to + 1]` (length). */
  const place = <T extends Int32Array | Float64Array | Uint8Array | Uint16Array>(a: T, to: number): void => {
    const Kind = a.constructor as new (buffer: SharedArrayBuffer, offset: number, length: number) => T;
    new Kind(sab, at, a.length).set(a);
    layout[to] = at;
    layout[to + 1] = a.length;
    at += align8(a.byteLength);
  };
  const column = (c: Column, to: number): void => {
    layout[to] = COLUMN_KINDS.indexOf(c.kind as (typeof COLUMN_KINDS)[number]);
    if (isStringColumn(c)) {
      place(c.data, to + 2);
      place(c.ends, to + 4);
      return;
    }
    if (c.kind === 'i32rows' || c.kind === 'f64rows') layout[to + 1] = c.width;
    if ('data' in c && !Array.isArray(c.data)) place(c.data as Int32Array | Float64Array, to + 2);
  };
  let unread = 0;
  for (let i = 0; i < n; i++) {
    const b = buckets.list[i]!;
    if (b.length === 0) continue;
    state[FIRST_FLAG + i] = 1;
    unread++;
    const to = i * SLOT_INTS;
    layout[to] = b.length;
    column(b.keys, to + 1);
    column(b.values, to + 7);
  }
  state[UNREAD] = unread;
  segmentOf.set(state, sab);
  const handle: SharedOutputHandle = { state, segment: sab, length: buckets.length, ids, layout };
  return {
    handle,
    state,
    // Made when asked, not kept: a writer holding views of every bucket of its stored outputs held ~6 objects a
    // non-empty bucket in its old generation for as long as the outputs were unread (the whole map stage of a word
    // count into as many reducers as files), each traced by every full collection meanwhile.
    get buckets(): SparseBuckets<EncodedBucket> {
      return { length: handle.length, ids: handle.ids, list: Array.from({ length: n }, (_, i) => sharedBucketAt(handle, i)) };
    },
  };
}

/**
 * The bucket in slot `slot` of a shared output, as views of its segment: the columns {@link shareOutput} placed there.
 *
 * @example
 * ```ts
 * const out = shareOutput([encodeBucket([['a', 1]])]);
 * sharedBucketAt(out.handle, 0).length; // 1
 * ```
 */
export function sharedBucketAt(h: SharedOutputHandle, slot: number): EncodedBucket {
  const to = slot * SLOT_INTS;
  return { length: h.layout[to]!, keys: columnAt(h, to + 1), values: columnAt(h, to + 7) };
}

function columnAt(h: SharedOutputHandle, to: number): Column {
  const l = h.layout;
  const seg = h.segment;
  const kind = COLUMN_KINDS[l[to]!];
  switch (kind) {
    case 'null':
    case 'undefined':
      return { kind };
    case 'i32':
      return { kind, data: new Int32Array(seg, l[to + 2]!, l[to + 3]!) };
    case 'f64':
      return { kind, data: new Float64Array(seg, l[to + 2]!, l[to + 3]!) };
    case 'i32rows':
      return { kind, width: l[to + 1]!, data: new Int32Array(seg, l[to + 2]!, l[to + 3]!) };
    case 'f64rows':
      return { kind, width: l[to + 1]!, data: new Float64Array(seg, l[to + 2]!, l[to + 3]!) };
    case 'latin1':
      return { kind, data: new Uint8Array(seg, l[to + 2]!, l[to + 3]!), ends: new Int32Array(seg, l[to + 4]!, l[to + 5]!) };
    case 'utf16':
      return { kind, data: new Uint16Array(seg, l[to + 2]!, l[to + 3]!), ends: new Int32Array(seg, l[to + 4]!, l[to + 5]!) };
    default:
      // internal: shareOutput writes only the kinds above (shareable refuses the others)
      throw new Error(`shared output: unknown column kind ${l[to]} in slot layout`);
  }
}

/*
 * The thread's pool of segments. A fresh SharedArrayBuffer is fresh pages: ~300 page faults and ~3.5 ms of CPU for a
 * PageRank map output of 1.2 MB on this VM (/tmp/sab/alloc.mjs, session 22), against ~0.14 ms to copy into one
 * already touched. A segment goes back to the pool only when nothing can read it again: its writer withdrew the
 * output (so no reduce task starts reading it: takeShared counts itself a reader before it looks) and no reader
 * counted is still reading (a reader's thread that died never uncounts: that segment is left to the collector).
 */

/** The segment of each output this thread shared and has not retired (keyed by the writer's own state view). */
const segmentOf = new WeakMap<Int32Array, SharedArrayBuffer>();
/** Free segments, oldest first, each with the take count when it was freed. */
const freeSegments: SharedArrayBuffer[] = [];
const freedAt: number[] = [];
let freeBytes = 0;
/** Retired segments some reader may still be reading, with their output's state. */
const parked: Array<{ readonly sab: SharedArrayBuffer; readonly state: Int32Array }> = [];
let segmentTakes = 0;
/**
 * The most bytes the pool keeps free (a larger segment is never kept): a PageRank worker's two outputs of ~1.2 MB
 * fit with room. Free segments are memory a one-stage job (a word count) would otherwise give up to the collector
 * after its reads, so the bound is small: a high-cardinality word count's outputs (~10 MB) are not kept at all.
 */
const MAX_FREE_BYTES = 8 * 1024 * 1024;
/** A free segment not taken within this many takes is left to the collector (a phase of smaller outputs). */
const MAX_AGE = 32;
/** Retired segments still being read, watched at most: beyond, the oldest is left to the collector. */
const MAX_PARKED = 64;
/** Smaller segments are not pooled: malloc's bins serve them from memory already touched. */
const MIN_POOLED_BYTES = 64 * 1024;

/** Bytes for a request of `bytes`, rounded up to an eighth of its power of two (the next output's size varies). */
function roundedSegment(bytes: number): number {
  const step = 2 ** Math.max(3, 31 - Math.clz32(Math.max(bytes, 8)) - 3);
  return Math.ceil(bytes / step) * step;
}

function takeSegment(bytes: number): SharedArrayBuffer {
  if (bytes < MIN_POOLED_BYTES) return new SharedArrayBuffer(bytes);
  segmentTakes++;
  for (let i = parked.length - 1; i >= 0; i--) {
    if (Atomics.load(parked[i]!.state, READERS) > 0) continue;
    const [p] = parked.splice(i, 1);
    freeSegment(p!.sab);
  }
  while (freeSegments.length > 0 && segmentTakes - freedAt[0]! > MAX_AGE) dropOldestSegment();
  let best = -1;
  for (let i = 0; i < freeSegments.length; i++) {
    const b = freeSegments[i]!.byteLength;
    // Up to twice the request: a much larger segment would hold its memory for a small output.
    if (b >= bytes && b <= 2 * bytes && (best < 0 || b < freeSegments[best]!.byteLength)) best = i;
  }
  if (best < 0) return new SharedArrayBuffer(roundedSegment(bytes));
  const [found] = freeSegments.splice(best, 1);
  freedAt.splice(best, 1);
  freeBytes -= found!.byteLength;
  return found!;
}

function freeSegment(sab: SharedArrayBuffer): void {
  freeSegments.push(sab);
  freedAt.push(segmentTakes);
  freeBytes += sab.byteLength;
  while (freeBytes > MAX_FREE_BYTES) dropOldestSegment();
}

function dropOldestSegment(): void {
  freeBytes -= freeSegments.shift()!.byteLength;
  freedAt.shift();
}

/**
 * The writer no longer reads or serves `out` (moved to disk, spilled, dropped): withdraws it, and its segment goes
 * back to this thread's pool once no counted reader reads it. `reusable` false (a local reader was handed views of
 * it outside the count) withdraws only, and leaves the segment to the collector. Once per output, on its writer's
 * thread; the output's views may not be used by the writer afterwards.
 */
export function retireShared(out: SharedOutput, reusable = true): void {
  withdraw(out.state);
  const sab = segmentOf.get(out.state);
  if (sab === undefined) return;
  segmentOf.delete(out.state);
  if (!reusable || sab.byteLength < MIN_POOLED_BYTES) return;
  if (Atomics.load(out.state, READERS) === 0) freeSegment(sab);
  else {
    parked.push({ sab, state: out.state });
    if (parked.length > MAX_PARKED) parked.shift();
  }
}

/** What this thread's segment pool holds (tests). */
export function segmentPool(): { free: number; freeBytes: number; parked: number } {
  return { free: freeSegments.length, freeBytes, parked: parked.length };
}

/** Empties this thread's segment pool (tests). */
export function clearSegmentPool(): void {
  freeSegments.length = 0;
  freedAt.length = 0;
  freeBytes = 0;
  parked.length = 0;
}

/** Notes that the bucket in slot `slot` (SharedBucket.slot) was read (by any thread); true the first time. */
export function markRead(state: Int32Array, slot: number): boolean {
  if (slot < 0 || Atomics.exchange(state, FIRST_FLAG + slot, 0) !== 1) return false;
  Atomics.sub(state, UNREAD, 1);
  return true;
}

/** Whether every bucket was read at least once. */
export function allRead(state: Int32Array): boolean {
  return Atomics.load(state, UNREAD) <= 0;
}

/** The writer no longer stands behind the output: nobody starts reading it. */
export function withdraw(state: Int32Array): void {
  Atomics.store(state, WITHDRAWN, 1);
}

export function withdrawn(state: Int32Array): boolean {
  return Atomics.load(state, WITHDRAWN) === 1;
}

/** Whether a holder of the handle (the driver) can let it go: withdrawn, or read in full (later reads fetch). */
export function spent(state: Int32Array): boolean {
  return withdrawn(state) || allRead(state);
}

/** The slot of bucket `reduceId` of an output for a reduce task; -1 if the output is spent or the bucket empty. */
export function sharedSlot(h: SharedOutputHandle, reduceId: number): number {
  const slot = slotOf(h, reduceId);
  if (slot < 0 || h.layout[slot * SLOT_INTS] === 0 || spent(h.state)) return -1;
  return slot;
}

/**
 * Bucket `reduceId` of an output for a reduce task, unless the output is spent or the bucket empty.
 *
 * @example
 * ```ts
 * bucketOf(shareOutput([encodeBucket([['a', 1]])]).handle, 0)?.bucket.length; // 1
 * ```
 */
export function bucketOf(h: SharedOutputHandle, reduceId: number): SharedBucket | undefined {
  const slot = sharedSlot(h, reduceId);
  return slot < 0 ? undefined : { state: h.state, bucket: sharedBucketAt(h, slot), reduceId, slot };
}

/**
 * The buckets a reduce task reads from shared memory, by map id, marked read; a withdrawn output is left out (it
 * is fetched from its writer, which then serves what it holds now: runs on disk, or a fetch failure). The task counts
 * itself a reader of each bucket taken until {@link releaseShared}, which it must call once it no longer reads them
 * (its inputs disposed): until then the writer does not reuse their memory.
 */
export function takeShared(shared: ReadonlyArray<SharedBucket | null | undefined> | undefined): Map<number, EncodedBucket> | undefined {
  if (shared === undefined) return undefined;
  let taken: Map<number, EncodedBucket> | undefined;
  for (let mapId = 0; mapId < shared.length; mapId++) {
    const s = shared[mapId];
    if (s == null) continue;
    // Counted before looking: a writer that withdraws at the same time then sees the count (Atomics are sequentially
    // consistent), or this reader sees the withdrawal.
    Atomics.add(s.state, READERS, 1);
    if (withdrawn(s.state)) {
      Atomics.sub(s.state, READERS, 1);
      continue;
    }
    markRead(s.state, s.slot);
    (taken ??= new Map()).set(s.mapId ?? mapId, s.bucket);
  }
  return taken;
}

/** Ends the reads {@link takeShared} counted (`taken` is what it returned for the same `shared`). */
export function releaseShared(
  shared: ReadonlyArray<SharedBucket | null | undefined> | undefined,
  taken: ReadonlyMap<number, EncodedBucket> | undefined,
): void {
  if (shared === undefined || taken === undefined) return;
  for (let i = 0; i < shared.length; i++) {
    const s = shared[i];
    if (s != null && taken.has(s.mapId ?? i)) Atomics.sub(s.state, READERS, 1);
  }
}

/** Reduce tasks counted as reading the output now (tests). */
export function readersOf(state: Int32Array): number {
  return Atomics.load(state, READERS);
}
