/**
 * Hand-written single-threaded connected components, the COST baselines for examples/connected-components.ts,
 * on the same edge file taken as undirected:
 *
 * - label propagation over a CSR adjacency, with exactly the example's synchronous rule (a vertex takes the
 *   smallest of its own and its neighbours' previous labels; stop after an iteration that changes nothing),
 *   so iteration counts and labels match;
 * - union-find (union by size, path halving), the algorithm one would really write, labelling each component
 *   by its smallest vertex id: the labels label propagation converges to.
 */
import type { ExampleResult, Timing } from '../../examples/common.js';
import type { ConnectedComponentsSummary } from '../../examples/connected-components.js';
import { loadCsr, readEdgeList } from './pagerank.js';

function summarize(
  isVertex: (v: number) => boolean,
  size: number,
  label: Int32Array,
  iterations: number,
  converged: boolean,
): ConnectedComponentsSummary {
  const labels = new Map<number, number>();
  const sizes = new Map<number, number>();
  for (let v = 0; v < size; v++) {
    if (!isVertex(v)) continue;
    labels.set(v, label[v]!);
    sizes.set(label[v]!, (sizes.get(label[v]!) ?? 0) + 1);
  }
  return { vertices: labels.size, components: sizes.size, largest: Math.max(0, ...sizes.values()), iterations, converged, labels };
}

/**
 * Label propagation over the undirected CSR graph of `path`.
 *
 * @example
 * ```ts
 * const { summary } = connectedComponentsBaseline('data/graph-nodes100000-edges1000000-seed42.txt');
 * ```
 */
export function connectedComponentsBaseline(path: string, maxIterations = 100): ExampleResult<ConnectedComponentsSummary> {
  const timings: Timing[] = [];
  let t0 = performance.now();
  const { size, offsets, targets } = loadCsr(path, true);
  timings.push({ phase: 'load (parse, undirected CSR)', ms: performance.now() - t0, note: `${targets.length} arcs` });
  let label = new Int32Array(size);
  let next = new Int32Array(size);
  for (let v = 0; v < size; v++) label[v] = v;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    t0 = performance.now();
    let changes = 0;
    for (let v = 0; v < size; v++) {
      let best = label[v]!;
      for (let j = offsets[v]!; j < offsets[v + 1]!; j++) {
        const l = label[targets[j]!]!;
        if (l < best) best = l;
      }
      if (best !== label[v]) changes++;
      next[v] = best;
    }
    [label, next] = [next, label];
    converged = changes === 0;
    timings.push({ phase: `iteration ${iterations}`, ms: performance.now() - t0, note: `${changes} labels changed` });
  }
  const summary = summarize((v) => offsets[v + 1]! > offsets[v]!, size, label, iterations, converged);
  return { summary, timings };
}

/**
 * Union-find over the edges of `path`; each component is labelled by its smallest vertex id.
 *
 * @example
 * ```ts
 * const { summary } = unionFindComponents('edges.txt');
 * ```
 */
export function unionFindComponents(path: string): ExampleResult<ConnectedComponentsSummary> {
  const timings: Timing[] = [];
  let t0 = performance.now();
  const { src, dst, maxId } = readEdgeList(path);
  const size = maxId + 1;
  timings.push({ phase: 'load (parse)', ms: performance.now() - t0, note: `${src.length} edges` });
  t0 = performance.now();
  const parent = new Int32Array(size);
  const setSize = new Int32Array(size).fill(1);
  const present = new Uint8Array(size);
  for (let v = 0; v < size; v++) parent[v] = v;
  const find = (v: number): number => {
    while (parent[v] !== v) {
      parent[v] = parent[parent[v]!]!;
      v = parent[v]!;
    }
    return v;
  };
  for (let e = 0; e < src.length; e++) {
    const a = src[e]!;
    const b = dst[e]!;
    present[a] = 1;
    present[b] = 1;
    let ra = find(a);
    let rb = find(b);
    if (ra === rb) continue;
    if (setSize[ra]! < setSize[rb]!) [ra, rb] = [rb, ra];
    parent[rb] = ra;
    setSize[ra]! += setSize[rb]!;
  }
  // Smallest vertex per root: vertices visited in increasing order, so the first one seen is the smallest.
  const minOfRoot = new Int32Array(size).fill(-1);
  const label = new Int32Array(size);
  for (let v = 0; v < size; v++) {
    if (present[v] === 0) continue;
    const r = find(v);
    if (minOfRoot[r] === -1) minOfRoot[r] = v;
    label[v] = minOfRoot[r]!;
  }
  timings.push({ phase: 'union-find', ms: performance.now() - t0 });
  return { summary: summarize((v) => present[v] === 1, size, label, 0, true), timings };
}
