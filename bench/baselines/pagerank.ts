/**
 * Hand-written single-threaded PageRank: the COST baseline for examples/pagerank.ts. Same data (the same edge
 * file, de-duplicated), same iteration formula, including the Spark example's rule that a vertex receiving no
 * contribution has no rank in the next iteration (and contributes nothing).
 *
 * The graph is parsed straight from the file's bytes into typed arrays and stored as CSR (compressed sparse
 * rows: `offsets[u] .. offsets[u + 1]` index the out-neighbours of u in `targets`).
 */
import { readFileSync } from 'node:fs';
import type { ExampleResult, Timing } from '../../examples/common.js';
import type { PageRankSummary } from '../../examples/pagerank.js';

/** A directed graph in CSR form, duplicates removed; vertex ids are 0 .. size-1 (not all need edges). */
export interface Csr {
  readonly size: number;
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
}

/**
 * Reads `src dst` lines (any spaces or tabs, `#` comment lines, non-negative integer ids) into two arrays.
 *
 * @example
 * ```ts
 * const { src, dst } = readEdgeList('data/graph.txt');
 * ```
 */
export function readEdgeList(path: string): { src: Int32Array; dst: Int32Array; maxId: number } {
  const buf = readFileSync(path);
  let src = new Int32Array(1 << 16);
  let dst = new Int32Array(1 << 16);
  let n = 0;
  let maxId = -1;
  let i = 0;
  const len = buf.length;
  const ids = [0, 0];
  while (i < len) {
    // one line
    let c = buf[i]!;
    // A line ends at \n, \r\n or a lone \r, as textFile (Hadoop's LineRecordReader) reads the same file; a \r\n
    // leaves an empty line, skipped below.
    if (c === 35 /* # */) {
      while (i < len && buf[i] !== 10 && buf[i] !== 13) i++;
      i++;
      continue;
    }
    let k = 0;
    while (i < len && (c = buf[i]!) !== 10 && c !== 13) {
      if (c >= 48 && c <= 57) {
        let v = 0;
        while (i < len && (c = buf[i]!) >= 48 && c <= 57) {
          v = v * 10 + (c - 48);
          i++;
        }
        if (k < 2) ids[k] = v;
        k++;
      } else if (c === 32 || c === 9) {
        i++;
      } else {
        throw new Error(`${path}: unexpected character '${String.fromCharCode(c)}' at byte ${i}`);
      }
    }
    i++;
    if (k === 0) continue;
    if (k < 2) throw new Error(`${path}: a line with one number near byte ${i}`);
    // The CSR indexes its arrays by id (Int32Array, one slot per id up to the largest): a larger id would wrap around
    // silently and merge two vertices, so it is refused, naming the line (a sparse id space wants relabelling first).
    if (ids[0]! > 0x7fff_ffff || ids[1]! > 0x7fff_ffff) {
      throw new Error(`${path}: an id past 2^31 - 1 near byte ${i}; this plain baseline indexes vertices by id (CSR)`);
    }
    if (n === src.length) {
      const s2 = new Int32Array(n * 2);
      s2.set(src);
      src = s2;
      const d2 = new Int32Array(n * 2);
      d2.set(dst);
      dst = d2;
    }
    src[n] = ids[0]!;
    dst[n] = ids[1]!;
    n++;
    if (ids[0]! > maxId) maxId = ids[0]!;
    if (ids[1]! > maxId) maxId = ids[1]!;
  }
  return { src: src.subarray(0, n), dst: dst.subarray(0, n), maxId };
}

/** Builds the CSR of the distinct edges (each adjacency list sorted). */
export function buildCsr(src: Int32Array, dst: Int32Array, size: number): Csr {
  const offsets = new Int32Array(size + 1);
  for (let e = 0; e < src.length; e++) offsets[src[e]! + 1]!++;
  for (let u = 0; u < size; u++) offsets[u + 1]! += offsets[u]!;
  const fill = offsets.slice(0, size);
  const all = new Int32Array(src.length);
  for (let e = 0; e < src.length; e++) all[fill[src[e]!]!++] = dst[e]!;
  // Sort and de-duplicate each adjacency list, compacting in place.
  const out = new Int32Array(size + 1);
  let w = 0;
  for (let u = 0; u < size; u++) {
    const list = all.subarray(offsets[u]!, offsets[u + 1]!).sort();
    out[u] = w;
    for (let j = 0; j < list.length; j++) {
      if (j === 0 || list[j] !== list[j - 1]) all[w++] = list[j]!;
    }
  }
  out[size] = w;
  return { size, offsets: out, targets: all.slice(0, w) };
}

/** Reads an edge file into CSR; `undirected` adds every edge in both directions. */
export function loadCsr(path: string, undirected = false): Csr {
  const { src, dst, maxId } = readEdgeList(path);
  if (!undirected) return buildCsr(src, dst, maxId + 1);
  const s = new Int32Array(src.length * 2);
  const d = new Int32Array(src.length * 2);
  s.set(src);
  s.set(dst, src.length);
  d.set(dst);
  d.set(src, src.length);
  return buildCsr(s, d, maxId + 1);
}

/**
 * The top `n` (n >= 0) of a rank map: highest rank first, ties by vertex id; the same list as sorting every entry
 * and keeping the first `n` (ranks are numbers, never NaN). Selected in one pass over the map, keeping only the
 * best `n` so far: sorting a copy of a 100k-vertex result made 100k pairs that all lived until the sort ended, so
 * the driver's young generation doubled at the program's end (issue 8, PageRank's peak RSS).
 */
export function topRanks(ranks: ReadonlyMap<number, number>, n: number): Array<[number, number]> {
  const top: Array<[number, number]> = [];
  if (n <= 0) return top;
  const above = (v: number, r: number, than: readonly [number, number]): boolean => r > than[1] || (r === than[1] && v < than[0]);
  ranks.forEach((r, v) => {
    if (top.length === n && !above(v, r, top[n - 1]!)) return;
    let i = top.length === n ? n - 1 : top.length;
    for (; i > 0 && above(v, r, top[i - 1]!); i--) top[i] = top[i - 1]!;
    top[i] = [v, r];
  });
  return top;
}

/**
 * PageRank over the CSR graph of `path`, `iterations` times.
 *
 * @example
 * ```ts
 * const { summary } = pageRankBaseline('data/graph-nodes100000-edges1000000-seed42.txt', 10);
 * ```
 */
export function pageRankBaseline(path: string, iterations = 10, top = 10): ExampleResult<Omit<PageRankSummary, 'variant'>> {
  const timings: Timing[] = [];
  let t0 = performance.now();
  const g = loadCsr(path);
  timings.push({ phase: 'load (parse, CSR, distinct)', ms: performance.now() - t0, note: `${g.targets.length} edges` });
  const { size, offsets, targets } = g;
  let rank = new Float64Array(size);
  let present = new Uint8Array(size);
  // ranks start at 1.0 for every vertex that has links (the keys of `links`).
  for (let u = 0; u < size; u++) {
    if (offsets[u + 1]! > offsets[u]!) {
      rank[u] = 1.0;
      present[u] = 1;
    }
  }
  let contrib = new Float64Array(size);
  let received = new Uint8Array(size);
  for (let it = 1; it <= iterations; it++) {
    t0 = performance.now();
    contrib.fill(0);
    received.fill(0);
    for (let u = 0; u < size; u++) {
      if (present[u] === 0) continue;
      const from = offsets[u]!;
      const to = offsets[u + 1]!;
      if (from === to) continue; // no links: the join drops it
      const share = rank[u]! / (to - from);
      for (let j = from; j < to; j++) {
        const v = targets[j]!;
        contrib[v]! += share;
        received[v] = 1;
      }
    }
    let count = 0;
    let sum = 0;
    for (let v = 0; v < size; v++) {
      if (received[v] === 1) {
        contrib[v] = 0.15 + 0.85 * contrib[v]!;
        count++;
        sum += contrib[v]!;
      }
    }
    [rank, contrib] = [contrib, rank];
    [present, received] = [received, present];
    timings.push({ phase: `iteration ${it}`, ms: performance.now() - t0, note: `${count} ranked, sum ${sum.toFixed(3)}` });
  }
  const ranks = new Map<number, number>();
  let rankSum = 0;
  for (let v = 0; v < size; v++) {
    if (present[v] === 1) {
      ranks.set(v, rank[v]!);
      rankSum += rank[v]!;
    }
  }
  const topList = topRanks(ranks, top);
  return {
    summary: { iterations, edges: targets.length, vertices: ranks.size, rankSum, top: topList, ranks },
    timings,
  };
}
