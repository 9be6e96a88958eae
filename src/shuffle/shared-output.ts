/**
 * Map outputs in shared memory (issue 8): in local mode the workers are threads of one process, so a map output's
 * encoded buckets (bucket-codec.ts) can live in a `SharedArrayBuffer` that every thread may read. Its handle travels
 * with the map status to the driver's tracker, which hands each reduce task the buckets it needs; the reducer then
 * reads a peer's bucket where it lies, without asking the peer, whose event loop may be busy with a task for the
 * whole of that task (a fetch is served only between a worker's synchronous computations).
 *
 * The bytes are never written once shared: a reader holding a view always reads a complete output, even after its
 * writer dropped it, moved it to disk or died (the memory lives while a view of it does). What may change is only
 * the small state array in front: which buckets were read (so the writer can move a fully read output to disk, as
 * it does for outputs fetched by peers) and whether the writer withdrew the output (spilled by its shuffle pool,
 * replaced, removed), after which nobody starts reading it and the memory goes with the last view.
 *
 * Only outputs whose columns are all typed arrays (numbers, rows of numbers, latin1 strings) or lengths (null,
 * undefined) are shared; a plain-array column (objects, other strings) has no byte form, and its output is fetched
 * as before. Executors in other processes never share: their map statuses carry no handle, and reducers fetch.
 */
import type { EncodedBucket } from './bucket-codec.js';

/** One map output in shared memory: its buckets by reduce partition, and the state readers and writer update. */
export interface SharedOutput {
  /**
   * `[UNREAD]`: buckets not read yet; `[WITHDRAWN]`: 1 once the writer withdrew the output; `[FIRST_FLAG + r]`: 1
   * while bucket `r` was never read. Updated with `Atomics` (several threads).
   */
  readonly state: Int32Array;
  readonly buckets: readonly EncodedBucket[];
}

/** A reduce task's share of a shared output: its bucket and the output's state. */
export interface SharedBucket {
  readonly state: Int32Array;
  readonly bucket: EncodedBucket;
  readonly reduceId: number;
}

const UNREAD = 0;
const WITHDRAWN = 1;
const FIRST_FLAG = 2;

type Column = EncodedBucket['keys'];

/** Whether a column has a byte form (typed arrays, or nothing but a length). */
function shareableColumn(c: Column): boolean {
  return c.kind !== 'any';
}

/** Whether every bucket of an output can live in shared memory. */
export function shareable(buckets: readonly EncodedBucket[]): boolean {
  for (const b of buckets) if (b.length > 0 && (!shareableColumn(b.keys) || !shareableColumn(b.values))) return false;
  return true;
}

/** The typed arrays of a column, in the order {@link shareOutput} lays them out. */
function arraysOf(c: Column): Array<Int32Array | Float64Array | Uint8Array> {
  if (c.kind === 'latin1') return [c.data, c.ends];
  return 'data' in c && !Array.isArray(c.data) ? [c.data as Int32Array | Float64Array] : [];
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * Copies `buckets` (each {@link shareable}) into one `SharedArrayBuffer`, the state in front. Every non-empty bucket
 * starts unread. The copies are the same columns: a reader decodes them as it decodes a bucket fetched from a peer.
 */
export function shareOutput(buckets: readonly EncodedBucket[]): SharedOutput {
  let bytes = align8((FIRST_FLAG + buckets.length) * 4);
  for (const b of buckets) {
    if (b.length === 0) continue;
    for (const a of [...arraysOf(b.keys), ...arraysOf(b.values)]) bytes += align8(a.byteLength);
  }
  const sab = new SharedArrayBuffer(bytes);
  const state = new Int32Array(sab, 0, FIRST_FLAG + buckets.length);
  let at = align8(state.byteLength);
  const place = <T extends Int32Array | Float64Array | Uint8Array>(a: T): T => {
    const Kind = a.constructor as new (buffer: SharedArrayBuffer, offset: number, length: number) => T;
    const copy = new Kind(sab, at, a.length);
    copy.set(a);
    at += align8(a.byteLength);
    return copy;
  };
  const column = (c: Column): Column => {
    if (c.kind === 'latin1') return { kind: 'latin1', data: place(c.data), ends: place(c.ends) };
    if ('data' in c && !Array.isArray(c.data)) return { ...c, data: place(c.data as Int32Array | Float64Array) } as Column;
    return c;
  };
  let unread = 0;
  const shared = buckets.map((b, r): EncodedBucket => {
    if (b.length === 0) return b;
    state[FIRST_FLAG + r] = 1;
    unread++;
    return { length: b.length, keys: column(b.keys), values: column(b.values) };
  });
  state[UNREAD] = unread;
  return { state, buckets: shared };
}

/** Notes that bucket `reduceId` was read (by any thread); true the first time. */
export function markRead(state: Int32Array, reduceId: number): boolean {
  if (Atomics.exchange(state, FIRST_FLAG + reduceId, 0) !== 1) return false;
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

/** Bucket `reduceId` of an output for a reduce task, unless the output is spent or the bucket empty. */
export function bucketOf(out: SharedOutput, reduceId: number): SharedBucket | undefined {
  const bucket = out.buckets[reduceId];
  if (bucket === undefined || bucket.length === 0 || spent(out.state)) return undefined;
  return { state: out.state, bucket, reduceId };
}

/**
 * The buckets a reduce task reads from shared memory, by map id, marked read; a withdrawn output is left out (it
 * is fetched from its writer, which then serves what it holds now: runs on disk, or a fetch failure).
 */
export function takeShared(shared: ReadonlyArray<SharedBucket | null | undefined> | undefined): Map<number, EncodedBucket> | undefined {
  if (shared === undefined) return undefined;
  let taken: Map<number, EncodedBucket> | undefined;
  for (let mapId = 0; mapId < shared.length; mapId++) {
    const s = shared[mapId];
    if (s == null || withdrawn(s.state)) continue;
    markRead(s.state, s.reduceId);
    (taken ??= new Map()).set(mapId, s.bucket);
  }
  return taken;
}
