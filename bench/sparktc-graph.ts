import { mulberry32 } from './seeded-random.js';

/**
 * SparkTC.generateGraph (Spark's examples): `numEdges` distinct directed edges between `numVertices` vertices, no
 * self loops, drawn with mulberry32 from `seed` (the specs' generator), so bench/sparktc.ts and the SparkTC spec
 * (test/examples/spark-examples.test.ts) run the very same graph.
 *
 * @example
 * ```ts
 * const edges = sparkTcGraph(200, 100, 42); // Spark's size: 200 edges on 100 vertices
 * ```
 */
export function sparkTcGraph(numEdges: number, numVertices: number, seed: number): Array<[number, number]> {
  const rand = mulberry32(seed);
  const edges = new Map<string, [number, number]>();
  while (edges.size < numEdges) {
    const from = Math.floor(rand() * numVertices);
    const to = Math.floor(rand() * numVertices);
    if (from !== to) edges.set(`${from},${to}`, [from, to]);
  }
  return [...edges.values()];
}
