/**
 * The inner join of a left partition cached as pair columns (int32 keys) with a right side read as pairs: an
 * uncached co-partitioned input, one cached as an array, or a shuffle's buckets. PageRank's first iteration,
 * `links.join(ranks 0)`, where `ranks 0 = links.mapValues(...)` is computed, not cached: read as elements, the
 * left side built every list of links of the partition at once and kept them for the whole task, long enough to
 * be promoted, so each worker's old generation grew by 20–30 MB inside that one task, the process's peak RSS
 * (docs/benchmarks.md, sessions 7–10). Here the left keys are indexed from their column, the right values are kept
 * by the first left row of their key, and a left value (a list) is built only when its records are pushed.
 *
 * Its own loops, not joinColumns' (column-join.ts): the later iterations run joinColumns with both sides in
 * columns, and a shared loop would carry this case's type feedback into theirs (session 8 measured 20 ms per
 * iteration for a folded version).
 *
 * The output is exactly CoGroupedRDD.pushInnerJoin's: keys in the left side's first-seen order, left values outer
 * and right values inner, each left value built once per key and shared by its records, right values pushed as
 * they were read (the very objects). Engine key equality against an int32 left key is number equality: a right
 * key matches when it is the same int32 (-0 matching 0); any other key (NaN, fractions, beyond int32, strings,
 * arrays, objects, bigints...) matches nothing.
 */
import type { PairColumns } from '../storage/columnar-block.js';
import { giveBack, takeInt32 } from '../util/scratch-arrays.js';
import { arrayOfLength } from '../util/arrays.js';
import { IntColumnIndex } from './column-join.js';

/**
 * Pushes `[k, [v, w]]` (or `[v, w]` to `valuesOnly`, the join's `values()`) for every left row and right pair with
 * equal keys; `eachRight` pushes the right side's pairs, each already checked to be a pair.
 *
 * @example
 * ```ts
 * joinColumnsWithPairs(linksBlock, (each) => ranks.forEach(p, tc, each), sink); // [vertex, [neighbours, rank]]
 * ```
 */
export function joinColumnsWithPairs(
  left: PairColumns & { readonly keys: Int32Array },
  eachRight: (each: (kv: readonly [unknown, unknown]) => void) => void,
  sink: (kv: [number, [unknown, unknown]]) => void,
  valuesOnly?: (vw: [unknown, unknown]) => void,
): void {
  const lk = left.keys;
  const n = lk.length;
  const index = new IntColumnIndex(lk);
  const rightCount = takeInt32(n);
  // The first right value of each key by its first left row; any further ones in a list of their own.
  const rightFirst = arrayOfLength<unknown>(n);
  let rightMore: Map<number, unknown[]> | undefined;
  try {
    eachRight((kv) => {
      const k = kv[0];
      if (typeof k !== 'number' || (k | 0) !== k) return;
      const r = index.find(k);
      if (r < 0) return;
      const seen = rightCount[r]!;
      rightCount[r] = seen + 1;
      if (seen === 0) rightFirst[r] = kv[1];
      else {
        const extra = (rightMore ??= new Map<number, unknown[]>());
        const more = extra.get(r);
        if (more === undefined) extra.set(r, [kv[1]]);
        else more.push(kv[1]);
      }
    });
    const next = index.next;
    for (let r = 0; r < n; r++) {
      // Only the first row of a key has right values counted.
      const count = rightCount[r]!;
      if (count === 0) continue;
      const k = lk[r]!;
      if (count === 1 && next[r]! < 0) {
        if (valuesOnly !== undefined) valuesOnly([left.valueAt(r), rightFirst[r]]);
        else sink([k, [left.valueAt(r), rightFirst[r]]]);
        continue;
      }
      const vs: unknown[] = [];
      for (let x = r; x >= 0; x = next[x]!) vs.push(left.valueAt(x));
      const ws: unknown[] = count > 1 ? [rightFirst[r], ...rightMore!.get(r)!] : [rightFirst[r]];
      for (const v of vs) {
        for (const w of ws) {
          if (valuesOnly !== undefined) valuesOnly([v, w]);
          else sink([k, [v, w]]);
        }
      }
    }
  } finally {
    index.release();
    giveBack(rightCount);
  }
}
