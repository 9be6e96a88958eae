/**
 * Which partitions each job of `take` reads: Scala's RDD.take (spark.rdd.limit.scaleUpFactor 4, its default). One
 * partition first; while nothing is found, four times as many as scanned; else 1.5 times the partitions the missing
 * elements need at the rate seen, at most four times as many as scanned. Until session 46 kindling estimated as
 * PySpark does (1.5 times what all n need, less the partitions scanned, rounded up), which reads more partitions
 * once most of n is found.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SchedulerEvent } from 'kindling';
import { useContext } from './helpers.js';

/** The partitions of each job Scala's take runs over partitions holding `sizes[i]` elements. */
function scalaTakeJobs(sizes: readonly number[], n: number): number[][] {
  const jobs: number[][] = [];
  let found = 0;
  let scanned = 0;
  while (found < n && scanned < sizes.length) {
    let tryCount = 1;
    const left = n - found;
    if (scanned > 0) tryCount = found === 0 ? scanned * 4 : Math.min(Math.ceil((1.5 * left * scanned) / found), scanned * 4);
    const parts: number[] = [];
    for (let p = scanned; p < Math.min(scanned + tryCount, sizes.length); p++) parts.push(p);
    for (const p of parts) found += Math.min(sizes[p]!, n - found);
    scanned += parts.length;
    jobs.push(parts);
  }
  return jobs;
}

describe("take's scan of partitions (Scala's RDD.take)", () => {
  const ctx = useContext('local[2]');

  /** Runs `take(n)` of partitions of the given sizes; returns the result and the partitions of each job, in order. */
  async function observe(sizes: readonly number[], n: number): Promise<{ got: number[]; jobs: number[][] }> {
    const sc = ctx();
    // Partition i holds sizes[i] elements: glom-free, by slicing a numbered list with parallelize's own slices.
    const slices = sizes.map((k, i) => Array.from({ length: k }, (_, j) => i * 100 + j));
    const rdd = sc.parallelize(slices, sizes.length).flatMap((xs) => xs);
    const byStage = new Map<number, Set<number>>();
    const order: number[] = [];
    const off = sc.events.on('taskStart', (e: SchedulerEvent) => {
      if (e.type !== 'taskStart') return;
      if (!byStage.has(e.stageId)) {
        byStage.set(e.stageId, new Set());
        order.push(e.stageId);
      }
      byStage.get(e.stageId)!.add(e.partition);
    });
    let got: number[];
    try {
      got = await rdd.take(n);
    } finally {
      off();
    }
    return { got, jobs: order.map((id) => [...byStage.get(id)!].sort((a, b) => a - b)) };
  }

  it('reads 1, then 4x while nothing is found, then 1.5x the estimate for what is missing', async () => {
    // Nothing in 1, nothing in 4 more: then 5 x 4 = 20, all that is left.
    expect((await observe([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3], 2)).jobs).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8, 9, 10, 11]]);
    // 7 of 10 in 5 partitions: 3 missing at 7 per 5 partitions, x 1.5: ceil(3.2) = 4 more (PySpark's estimate,
    // ceil(1.5 x 10 x 5 / 7) - 5 = 6, read 6).
    const { got, jobs } = await observe([0, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 10);
    expect(jobs).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8]]);
    expect(got).toEqual([100, 101, 102, 103, 200, 300, 400, 500, 600, 700]);
  });

  it('random partition sizes: the jobs are Scala’s and the elements the first n', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 14 }), fc.integer({ min: 1, max: 25 }), async (sizes, n) => {
        const { got, jobs } = await observe(sizes, n);
        expect(jobs).toEqual(scalaTakeJobs(sizes, n));
        const all = sizes.flatMap((k, i) => Array.from({ length: k }, (_, j) => i * 100 + j));
        expect(got).toEqual(all.slice(0, n));
      }),
      { numRuns: 50 },
    );
  });
});
