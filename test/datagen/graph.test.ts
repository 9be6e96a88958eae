import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { generateGraphEdges, shuffledRange, writeGraph, type GraphEdges } from '../../src/datagen/graph.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kindling-graph-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every structural promise of the generator, checked without an `expect` per edge (that would be slow). */
function checkGraph(g: GraphEdges, nodes: number, edges: number): void {
  expect(g.nodes).toBe(nodes);
  expect(g.src).toHaveLength(edges);
  expect(g.dst).toHaveLength(edges);
  const outDegree = new Int32Array(nodes);
  const pairs = new Set<number>();
  let outOfRange = 0;
  let selfLoops = 0;
  let unsorted = 0;
  for (let i = 0; i < edges; i++) {
    const s = g.src[i]!;
    const d = g.dst[i]!;
    if (s < 0 || s >= nodes || d < 0 || d >= nodes) outOfRange++;
    if (s === d) selfLoops++;
    if (i > 0 && s < g.src[i - 1]!) unsorted++;
    outDegree[s]!++;
    pairs.add(s * nodes + d);
  }
  expect({ outOfRange, selfLoops, unsorted }).toEqual({ outOfRange: 0, selfLoops: 0, unsorted: 0 });
  expect(Math.min(...outDegree)).toBeGreaterThanOrEqual(2);
  expect(pairs.size).toBe(edges); // no duplicate edges
}

describe('generateGraphEdges', () => {
  it('builds a 20k-node, 200k-edge graph with the promised structure and skewed degrees', () => {
    const g = generateGraphEdges({ nodes: 20_000, edges: 200_000, seed: 3 });
    checkGraph(g, 20_000, 200_000);
    const inDegree = new Int32Array(20_000);
    const outDegree = new Int32Array(20_000);
    for (let i = 0; i < g.dst.length; i++) {
      inDegree[g.dst[i]!]!++;
      outDegree[g.src[i]!]!++;
    }
    // Power law: the biggest hub is far above the mean degree of 10, in-degrees more so than out-degrees.
    const maxIn = Math.max(...inDegree);
    const maxOut = Math.max(...outDegree);
    expect(maxOut).toBeGreaterThan(100);
    expect(maxIn).toBeGreaterThan(maxOut);
    // ...and the hubs are not simply the low node ids.
    expect(inDegree.indexOf(maxIn)).not.toBe(0);
  });

  it('keeps its promises for any valid size, including complete graphs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (nodes, fill, seed) => {
        const min = 2 * nodes;
        const edges = min + Math.floor(fill * (nodes * (nodes - 1) - min));
        checkGraph(generateGraphEdges({ nodes, edges, seed }), nodes, edges);
      }),
      { numRuns: 60 },
    );
    checkGraph(generateGraphEdges({ nodes: 5, edges: 20, seed: 1 }), 5, 20);
  });

  it('is deterministic per seed', () => {
    const a = generateGraphEdges({ nodes: 1000, edges: 5000, seed: 8 });
    const b = generateGraphEdges({ nodes: 1000, edges: 5000, seed: 8 });
    const c = generateGraphEdges({ nodes: 1000, edges: 5000, seed: 9 });
    expect(a.src).toEqual(b.src);
    expect(a.dst).toEqual(b.dst);
    expect(a.dst).not.toEqual(c.dst);
  });

  it('rejects impossible sizes', () => {
    expect(() => generateGraphEdges({ nodes: 100, edges: 199 })).toThrow(RangeError);
    expect(() => generateGraphEdges({ nodes: 5, edges: 21 })).toThrow(RangeError);
    expect(() => generateGraphEdges({ nodes: 2, edges: 4 })).toThrow(RangeError);
    expect(() => generateGraphEdges({ nodes: 10.5, edges: 40 })).toThrow(RangeError);
  });
});

describe('writeGraph', () => {
  it('writes the generated edges as "src dst" lines, byte-identically per seed', async () => {
    const opts = { nodes: 5000, edges: 40_000, seed: 21 };
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    const c = join(dir, 'c.txt');
    const size = await writeGraph(a, opts);
    await writeGraph(b, opts);
    await writeGraph(c, { ...opts, seed: 22 });
    const text = await readFile(a, 'latin1');
    expect(text.length).toBe(size);
    expect((await readFile(b)).equals(await readFile(a))).toBe(true);
    expect((await readFile(c)).equals(await readFile(a))).toBe(false);
    const g = generateGraphEdges(opts);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(40_000);
    const mismatches = lines.filter((line, i) => line !== `${g.src[i]} ${g.dst[i]}`).length;
    expect(mismatches).toBe(0);
  });
});

describe('shuffledRange', () => {
  it('is a permutation of 0..n-1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (n, seed) => {
        const p = shuffledRange(n, new SeededRandom(seed));
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 100 },
    );
  });
});
