/**
 * A shuffle's reduce partition holds its records in map order (map 0's records for it, then map 1's, ...), each map's
 * in the order it wrote them, whether or not the map outputs or the fetched input spilled on the way. Spark promises
 * no order for a shuffle's output, but whether anything spills depends on what else holds the worker's shuffle pool
 * at the time, so an order that followed the spills (key-sorted runs first, as kindling once gave) can change when a
 * partition is computed again (a cached block evicted, a worker lost), and order-sensitive readers (zipWithIndex,
 * take, a sort's ties, a checkpoint against the cache) then see other data after a fault than before.
 *
 * Left open (docs/benchmarks.md, session 17): a combine table that itself spills gives its groups in key order,
 * not first-seen order, so a reduceByKey whose table spills in one computation and not in another still differs.
 */
import { describe, expect, it } from 'vitest';
import { Context, capture } from 'kindling';
import { HashPartitioner } from '../../src/core/partitioner.js';
import type { TaskEndEvent } from '../../src/scheduler/events.js';

/** Where two lists of partitions first differ, or undefined (a diff of 150k pairs would take minutes to print). */
function firstDifference(got: unknown[][], want: unknown[][]): string | undefined {
  for (let p = 0; p < want.length; p++) {
    const g = got[p] ?? [];
    const w = want[p]!;
    for (let i = 0; i < Math.max(g.length, w.length); i++)
      if (JSON.stringify(g[i]) !== JSON.stringify(w[i])) return `partition ${p}, record ${i}: ${JSON.stringify(g[i])}, not ${JSON.stringify(w[i])}`;
  }
  return got.length === want.length ? undefined : `${got.length} partitions, not ${want.length}`;
}

describe('a shuffle whose map outputs and fetched input spill', () => {
  it('gives each reduce partition in map order, the same after the partition is computed again and after lost workers', async () => {
    // A 512 KB shuffle pool per worker: each map task's output (75k records) and each reducer's input spill.
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, memory: { workerMB: 256, shuffleFraction: 0.5 / 256 } });
    let spills = 0;
    sc.events.on('taskEnd', (e: TaskEndEvent) => void (spills += e.metrics?.spillCount ?? 0));
    try {
      const n = 150_000;
      // Keys far from the order they come in (a bucket sorted by key would show): a permutation of 0 .. n-1.
      const pairs = sc.range(0, n, 1, 2).map(capture({ n }, (i): [number, number] => [(i * 7919) % n, i]));
      const moved = pairs.partitionBy(3);
      const expected: Array<Array<[number, number]>> = [[], [], []];
      const partitioner = new HashPartitioner(3);
      for (let i = 0; i < n; i++) {
        const k = (i * 7919) % n;
        expected[partitioner.getPartition(k)]!.push([k, i]);
      }
      expect(firstDifference(await moved.glom().collect(), expected)).toBeUndefined();
      expect(spills).toBeGreaterThan(0);
      // Computed again from the (now spilled or moved) map outputs, then from map outputs computed again.
      expect(firstDifference(await moved.glom().collect(), expected)).toBeUndefined();
      await sc.faults.killWorker(0);
      await sc.faults.killWorker(1);
      expect(firstDifference(await moved.glom().collect(), expected)).toBeUndefined();

      // A reduceByKey whose tables fit the pool: computed again from spilled map outputs, the same order.
      const sums = pairs.map((kv): [number, number] => [kv[0] % 2_000, kv[1] % 7]).reduceByKey((a, b) => a + b, 3);
      const first = await sums.glom().collect();
      expect(first.some((p) => p.some((kv, i) => i > 0 && kv[0] < p[i - 1]![0]))).toBe(true);
      await sc.faults.killWorker(1);
      expect(firstDifference(await sums.glom().collect(), first)).toBeUndefined();
    } finally {
      await sc.stop();
    }
  });
});
