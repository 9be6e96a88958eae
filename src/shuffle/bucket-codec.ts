/**
 * How shuffle buckets travel between workers. Posting an array of `[k, v]` pairs makes the structured clone
 * walk and rebuild every pair and every number one tag at a time; for 500k numeric pairs that is about ten
 * times the cost of the work the reducer does with them. So a bucket is sent as two columns: a column whose
 * entries are all numbers becomes an Int32Array (all int32, no -0) or a Float64Array, transferred rather than
 * copied; one that is all `null` (the values of distinct and other set operations) or all `undefined` becomes
 * just its length; any other column stays a plain array that the structured clone copies as before. The
 * receiver rebuilds the pairs.
 *
 * Keys and values arrive as the structured clone would deliver them: numbers keep their exact value (-0 and
 * NaN included), and the objects of a plain column are cloned within the one message, so objects shared
 * between pairs stay shared. Only the pair arrays themselves are new, as they are after any clone.
 */
import type { Pair } from './combine.js';

type Column =
  | { readonly kind: 'i32'; readonly data: Int32Array }
  | { readonly kind: 'f64'; readonly data: Float64Array }
  | { readonly kind: 'null' }
  | { readonly kind: 'undefined' }
  | { readonly kind: 'any'; readonly data: unknown[] };

/** One bucket as it crosses to another worker. */
export interface EncodedBucket {
  readonly length: number;
  readonly keys: Column;
  readonly values: Column;
}

/** Encodes buckets for posting; returns the buffers to transfer with them. */
export function encodeBuckets(buckets: readonly (readonly Pair[])[]): { encoded: EncodedBucket[]; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const encoded = buckets.map((b): EncodedBucket => {
    const keys = encodeColumn(b, 0);
    const values = encodeColumn(b, 1);
    if (keys.kind === 'i32' || keys.kind === 'f64') transfer.push(keys.data.buffer as ArrayBuffer);
    if (values.kind === 'i32' || values.kind === 'f64') transfer.push(values.data.buffer as ArrayBuffer);
    return { length: b.length, keys, values };
  });
  return { encoded, transfer };
}

function encodeColumn(b: readonly Pair[], side: 0 | 1): Column {
  const n = b.length;
  let ints = true;
  let numbers = true;
  let nulls = true;
  let undefineds = true;
  // One pass to classify, ending as soon as no compact form is left (at once for strings and objects).
  for (let i = 0; i < n && (numbers || nulls || undefineds); i++) {
    const x = b[i]![side];
    if (typeof x !== 'number') numbers = ints = false;
    else if (ints && ((x | 0) !== x || (x === 0 && 1 / x < 0))) ints = false;
    if (x !== null) nulls = false;
    if (x !== undefined) undefineds = false;
  }
  if (n > 0 && ints) {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = b[i]![side] as number;
    return { kind: 'i32', data };
  }
  if (n > 0 && numbers) {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = b[i]![side] as number;
    return { kind: 'f64', data };
  }
  if (nulls) return { kind: 'null' };
  if (undefineds) return { kind: 'undefined' };
  const data = new Array<unknown>(n);
  for (let i = 0; i < n; i++) data[i] = b[i]![side];
  return { kind: 'any', data };
}

/** The pairs of a bucket that {@link encodeBuckets} encoded (after its trip through postMessage). */
export function decodeBucket(e: EncodedBucket): Pair[] {
  const n = e.length;
  const out = new Array<Pair>(n);
  const k = e.keys;
  const v = e.values;
  const kd = 'data' in k ? k.data : undefined;
  const vd = 'data' in v ? v.data : undefined;
  const kc = k.kind === 'null' ? null : undefined;
  const vc = v.kind === 'null' ? null : undefined;
  for (let i = 0; i < n; i++) {
    // Filled in rather than written as [k, v]: a literal of two numbers would get unboxed double elements, which
    // every later read re-boxes and which slow down the loops that consume the values (a join fanning 200M
    // pairs out of such values ran 2.4x slower). Stored like this, a pair holds Smis and heap numbers, as the
    // structured clone's pairs do; ints come from an Int32Array so that they are Smis in every tier.
    const p: Pair = [null, null];
    p[0] = kd === undefined ? kc : kd[i];
    p[1] = vd === undefined ? vc : vd[i];
    out[i] = p;
  }
  return out;
}
