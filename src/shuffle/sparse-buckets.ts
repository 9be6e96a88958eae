/**
 * A map output's buckets by reduce partition, holding only the non-empty ones. A map task of a shuffle into R reducers
 * writes to few of them when its data is small, and a stored output lives as long as its shuffle is reachable: an
 * iterative program whose partitions double every round (Spark's SparkTC) kept R slots per output, M x R per shuffle
 * and for every earlier round's shuffle, ~1.6 GiB of a worker's heap at 8,192 partitions for < 10k records. Held
 * sparse, an output costs O(its non-empty buckets). A plain object (reducer ids in a typed array, the buckets in a
 * list beside them), so it crosses `postMessage` as it is (a map status carries a shared output's).
 */

/** Buckets by reduce partition, only the non-empty ones: `ids` (ascending) and `list` are parallel. */
export interface SparseBuckets<T> {
  /** The number of reduce partitions. */
  readonly length: number;
  readonly ids: Int32Array;
  readonly list: T[];
}

/**
 * The non-empty entries of `all` (one per reduce partition), sparse.
 *
 * @example
 * const s = sparseBuckets([[], [1], []], (b) => b.length === 0); // { length: 3, ids: [1], list: [[1]] }
 */
export function sparseBuckets<T>(all: readonly T[], isEmpty: (t: T) => boolean): SparseBuckets<T> {
  let n = 0;
  for (let r = 0; r < all.length; r++) if (!isEmpty(all[r]!)) n++;
  const ids = new Int32Array(n);
  const list = new Array<T>(n);
  for (let r = 0, i = 0; r < all.length; r++) {
    if (isEmpty(all[r]!)) continue;
    ids[i] = r;
    list[i++] = all[r]!;
  }
  return { length: all.length, ids, list };
}

/** Where bucket `r` is in `s.list`, or -1 when it is empty (or out of range). */
export function slotOf(s: { readonly ids: Int32Array }, r: number): number {
  const ids = s.ids;
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const id = ids[mid]!;
    if (id === r) return mid;
    if (id < r) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Bucket `r`: `empty` when it holds nothing, undefined when `r` is not a reduce partition of the output. */
export function bucketAt<T>(s: SparseBuckets<T>, r: number, empty?: T): T | undefined {
  if (r < 0 || r >= s.length) return undefined;
  const i = slotOf(s, r);
  return i < 0 ? empty : s.list[i];
}

/**
 * A map status's record counts as one number per reducer, whichever form it came in (MapStatus.sizes).
 *
 * @example
 * denseSizes({ length: 3, ids: Int32Array.of(1), list: [5] }); // [0, 5, 0]
 */
export function denseSizes(sizes: readonly number[] | SparseBuckets<number>): number[] {
  if (!('list' in sizes)) return [...sizes];
  const out = new Array<number>(sizes.length).fill(0);
  for (let i = 0; i < sizes.ids.length; i++) out[sizes.ids[i]!] = sizes.list[i]!;
  return out;
}
