/**
 * Synthetic power-law directed graph, the PageRank benchmark's input.
 *
 * Web graphs have power-law degree distributions with an out-degree exponent near 2.7 and an in-degree
 * exponent near 2.1 (in-links are more concentrated than out-links). Both are produced with Zipf
 * popularity over a random permutation of the nodes: a node's expected degree ∝ 1 / rank^s gives a
 * degree distribution P(d) ∝ d^-(1 + 1/s), hence s = 0.6 for out-degrees and s = 0.9 for in-degrees.
 *
 * Construction: every node starts with the minimum out-degree (2, so that no node is dangling, which
 * keeps PageRank's rank mass conserved without special cases); the remaining edges are handed out one at
 * a time to sources drawn from the out-degree Zipf, which hits the requested edge total exactly. Then each
 * source draws its targets from the in-degree Zipf, rejecting itself and targets it already links to, so
 * the edge list has no self loops and no duplicates (Spark's PageRank example de-duplicates links, so
 * duplicates would silently change the edge count it sees). Edges come out grouped by source, in
 * increasing source order.
 */

import { SeededRandom } from '../core/random.js';
import { writeChunks, writeUint } from './sink.js';
import { DEFAULT_SEED } from './text.js';
import { ZipfDistribution } from './zipf.js';
import { InvalidArgumentError } from '../core/errors.js';

/** Zipf exponents of source and target popularity; see the file comment for why these values. */
export const OUT_DEGREE_EXPONENT = 0.6;
export const IN_DEGREE_EXPONENT = 0.9;
/** Every node links to at least this many others. */
export const MIN_OUT_DEGREE = 2;

/** Parameters of a generated graph. */
export interface GraphOptions {
  /** Node count, default 100,000; nodes are numbered 0 .. nodes-1. */
  nodes?: number;
  /** Exact edge count, default 1,000,000; at least 2 × nodes. */
  edges?: number;
  seed?: number;
}

/** A generated graph as parallel arrays: edge i goes from `src[i]` to `dst[i]`. */
export interface GraphEdges {
  readonly nodes: number;
  readonly src: Int32Array;
  readonly dst: Int32Array;
}

/** Independent random streams, so that each phase's consumption does not shift the others. */
const Stream = { OutOrder: 1, InOrder: 2, Degrees: 3, Targets: 4 } as const;

/** After this many rejected popularity draws, fall back to uniform draws (only dense small graphs get here). */
const MAX_ZIPF_ATTEMPTS = 64;

function resolve(opts: GraphOptions): { nodes: number; edges: number; seed: number } {
  const nodes = opts.nodes ?? 100_000;
  const edges = opts.edges ?? 1_000_000;
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(nodes) || nodes < MIN_OUT_DEGREE + 1 || nodes > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`nodes must be an integer in [${MIN_OUT_DEGREE + 1}, 2^31), got ${nodes}`);
  }
  if (!Number.isInteger(edges) || edges < MIN_OUT_DEGREE * nodes || edges > nodes * (nodes - 1)) {
    throw new InvalidArgumentError(
      `edges must be an integer in [${MIN_OUT_DEGREE} × nodes, nodes × (nodes - 1)] = ` +
        `[${MIN_OUT_DEGREE * nodes}, ${nodes * (nodes - 1)}], got ${edges}`,
    );
  }
  return { nodes, edges, seed };
}

/**
 * A uniformly random permutation of `0 .. n-1` (Fisher–Yates): the graph's map from popularity rank to node,
 * so that popular nodes are scattered over the id range rather than packed at its start.
 *
 * @example
 * ```ts
 * const order = shuffledRange(5, new SeededRandom(1)); // e.g. Int32Array [3, 0, 4, 1, 2]
 * ```
 */
export function shuffledRange(n: number, rng: SeededRandom): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/** Out-degree per node: the minimum everywhere plus the rest spread by Zipf popularity. */
function outDegrees(nodes: number, edges: number, seed: number): Int32Array {
  const byRank = shuffledRange(nodes, new SeededRandom(seed, Stream.OutOrder));
  const rng = new SeededRandom(seed, Stream.Degrees);
  const zipf = new ZipfDistribution(nodes, OUT_DEGREE_EXPONENT);
  const degree = new Int32Array(nodes).fill(MIN_OUT_DEGREE);
  const cap = nodes - 1;
  for (let extra = edges - MIN_OUT_DEGREE * nodes; extra > 0; extra--) {
    let node = byRank[zipf.sample(rng)]!;
    for (let attempt = 1; degree[node]! >= cap; attempt++) {
      // A full node (linked to everyone) cannot take more; one always exists with room, since edges is
      // at most nodes × (nodes - 1).
      node = attempt < MAX_ZIPF_ATTEMPTS ? byRank[zipf.sample(rng)]! : rng.nextInt(nodes);
    }
    degree[node]!++;
  }
  return degree;
}

/**
 * Generates the graph in memory, for in-process baselines and tests. Deterministic in its options.
 *
 * @example
 * ```ts
 * const { src, dst } = generateGraphEdges({ nodes: 1000, edges: 10_000, seed: 1 });
 * src.length; // 10000; src[i] -> dst[i], grouped by source
 * ```
 */
export function generateGraphEdges(opts: GraphOptions = {}): GraphEdges {
  const { nodes, edges, seed } = resolve(opts);
  const degree = outDegrees(nodes, edges, seed);
  const byRank = shuffledRange(nodes, new SeededRandom(seed, Stream.InOrder));
  const rng = new SeededRandom(seed, Stream.Targets);
  const zipf = new ZipfDistribution(nodes, IN_DEGREE_EXPONENT);
  const src = new Int32Array(edges);
  const dst = new Int32Array(edges);
  // lastLinkedFrom[t] === u marks "u already links to t" without clearing a set per source.
  const lastLinkedFrom = new Int32Array(nodes).fill(-1);
  let e = 0;
  for (let u = 0; u < nodes; u++) {
    lastLinkedFrom[u] = u; // rules out the self loop like any duplicate
    const d = degree[u]!;
    for (let k = 0; k < d; k++) {
      let t = byRank[zipf.sample(rng)]!;
      for (let attempt = 1; lastLinkedFrom[t] === u; attempt++) {
        t = attempt < MAX_ZIPF_ATTEMPTS ? byRank[zipf.sample(rng)]! : rng.nextInt(nodes);
      }
      lastLinkedFrom[t] = u;
      src[e] = u;
      dst[e] = t;
      e++;
    }
  }
  return { nodes, src, dst };
}

/**
 * Writes the graph as `src dst` lines (the input format of Spark's PageRank example) and returns the
 * file size in bytes. Same edges, in the same order, as {@link generateGraphEdges}.
 *
 * @example
 * ```ts
 * await writeGraph('data/graph.txt', { nodes: 100_000, edges: 1_000_000, seed: 42 });
 * ```
 */
export async function writeGraph(path: string, opts: GraphOptions = {}): Promise<number> {
  const { src, dst } = generateGraphEdges(opts);
  const maxLine = 2 * 10 + 2; // two int32s, a space and a newline
  let next = 0;
  return writeChunks(path, (buf) => {
    const limit = buf.length - maxLine;
    let pos = 0;
    while (next < src.length && pos <= limit) {
      pos = writeUint(buf, pos, src[next]!);
      buf[pos++] = 32;
      pos = writeUint(buf, pos, dst[next]!);
      buf[pos++] = 10;
      next++;
    }
    return pos;
  });
}
