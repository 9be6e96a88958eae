/**
 * Large typed arrays of this thread taken from and given back to a small pool, instead of allocated anew by every
 * table of every task (issue 8: PageRank's peak RSS, docs/benchmarks.md, session 8).
 *
 * Why not leave them to the garbage collector: V8 gets a typed array's memory from `calloc` and frees it only when
 * the array's object is collected. A table that lives through its task is promoted, so its arrays are freed at the
 * next mark-compact, which in a worker with little live data comes seldom; and once glibc has freed one mapped
 * chunk it raises its mmap threshold, so from then on arrays of these sizes come from its arenas, which keep what
 * they held resident. A worker that grew tables of a few MB every task held the sum of all of them until the next
 * full collection (55–119 MB of arenas over a PageRank run, session 7). An array given back here is taken by the
 * next table of a similar size (the next task's, usually the same shape), so the arenas stop growing.
 *
 * Only for arrays that never leave their owner (hash slots, direct-addressed combiners, an index's links): an
 * array given back must not be read or written again, and a view handed out of it must have been read (copied) by
 * then. Arrays below {@link MIN_POOLED_BYTES} are ordinary ones (V8 and malloc's small bins serve them well), and
 * giving back an array that did not come from here, or giving one back twice, does nothing.
 */

/** Smallest byte length worth pooling: glibc's initial mmap threshold is twice this. */
export const MIN_POOLED_BYTES = 64 * 1024;
let minPooledBytes = MIN_POOLED_BYTES;
/** The most bytes this thread's pool keeps between uses; beyond it the oldest given back are dropped. */
const MAX_POOLED_BYTES = 24 * 1024 * 1024;
/**
 * A buffer not taken again within this many takes of large arrays is dropped (left to the collector): the tables of
 * one phase (a load's row tables of millions of edges) must not hold their memory through later phases that
 * never ask for arrays that large. An iteration of PageRank takes some 30.
 */
const MAX_AGE = 256;

/** Buffers ready to be taken, oldest given back first, each with the take count when it was given back. */
const free: ArrayBuffer[] = [];
const givenAt: number[] = [];
let freeBytes = 0;
let takes = 0;
/** Buffers out of the pool: only these are taken back, once each. */
const lent = new WeakSet<ArrayBuffer>();

/**
 * Bytes allocated for a request of `bytes`: rounded up to an eighth of its power of two, so that the slightly
 * different sizes a table has from one task to the next (a range of keys with slack) fit a buffer given back.
 */
function rounded(bytes: number): number {
  const step = 2 ** Math.max(3, 31 - Math.clz32(bytes) - 3);
  return Math.ceil(bytes / step) * step;
}

/** The smallest free buffer of at least `bytes`, out of the pool, or a new one. */
function buffer(bytes: number): { buffer: ArrayBuffer; reused: boolean } {
  takes++;
  while (free.length > 0 && takes - givenAt[0]! > MAX_AGE) drop();
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const b = free[i]!.byteLength;
    // Up to twice the request: a much larger buffer would keep its memory for a small table while a later
    // large request allocates anew.
    if (b >= bytes && b <= 2 * bytes && (best < 0 || b < free[best]!.byteLength)) best = i;
  }
  if (best >= 0) {
    const [found] = free.splice(best, 1);
    givenAt.splice(best, 1);
    freeBytes -= found!.byteLength;
    lent.add(found!);
    return { buffer: found!, reused: true };
  }
  const made = new ArrayBuffer(rounded(bytes));
  lent.add(made);
  return { buffer: made, reused: false };
}

/** A zeroed Int32Array of `length`, from the pool when it is large. */
export function takeInt32(length: number): Int32Array<ArrayBuffer> {
  if (length * 4 < minPooledBytes) return new Int32Array(length);
  const { buffer: b, reused } = buffer(length * 4);
  const a = new Int32Array(b, 0, length);
  if (reused) a.fill(0);
  return a;
}

/** A zeroed Float64Array of `length`, from the pool when it is large. */
export function takeFloat64(length: number): Float64Array<ArrayBuffer> {
  if (length * 8 < minPooledBytes) return new Float64Array(length);
  const { buffer: b, reused } = buffer(length * 8);
  const a = new Float64Array(b, 0, length);
  if (reused) a.fill(0);
  return a;
}

/**
 * Gives an array taken from {@link takeInt32} or {@link takeFloat64} back to the pool: neither it nor any view of
 * its buffer may be used afterwards. Anything else (a small array, one made elsewhere, one given back already)
 * is left alone.
 */
export function giveBack(a: Int32Array | Float64Array): void {
  // Never lent (see takeInt32): `.buffer` of a small array held in V8's heap would make it an ArrayBuffer of its own
  // (~1 us and an external buffer for the collector each), and a map output of a word count into many reducers gives
  // back two such arrays per non-empty bucket.
  if (a.byteLength < minPooledBytes) return;
  const b = a.buffer;
  if (!(b instanceof ArrayBuffer) || !lent.has(b)) return;
  lent.delete(b);
  // A transferred buffer is empty: nothing to keep.
  if (b.byteLength === 0) return;
  free.push(b);
  givenAt.push(takes);
  freeBytes += b.byteLength;
  while (freeBytes > MAX_POOLED_BYTES) drop();
}

/** Drops the oldest free buffer. */
function drop(): void {
  freeBytes -= free.shift()!.byteLength;
  givenAt.shift();
}

/**
 * Pools arrays from `bytes` on (tests pool every array, so that their tables of a few hundred keys share buffers
 * as a worker's large ones do; `Infinity` pools none). Returns the previous setting.
 */
export function setMinPooledBytes(bytes: number): number {
  const was = minPooledBytes;
  minPooledBytes = bytes;
  return was;
}

/** What the pool holds now (for tests). */
export function pooledBytes(): number {
  return freeBytes;
}
