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
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const edges = new Map<string, [number, number]>();
  while (edges.size < numEdges) {
    const from = Math.floor(rand() * numVertices);
    const to = Math.floor(rand() * numVertices);
    if (from !== to) edges.set(`${from},${to}`, [from, to]);
  }
  return [...edges.values()];
}
