/**
 * End to end on real worker threads with a small heap: a shuffle whose state is several times the workers'
 * shuffle budget finishes with the right answer (map outputs, map-side and reduce-side combine tables, and
 * fetched input all spill), and a job that cannot fit (one group larger than the heap) fails with a clear
 * error instead of restarting workers forever.
 */
import { describe, expect, it } from 'vitest';
import { Context, capture } from 'kindling';

describe('shuffles larger than the worker memory', () => {
  it('reduceByKey over 600k distinct keys in two partitions finishes on local[2] with memory.workerMB 96', async () => {
    // 1.2M records, 600k distinct string keys in two map partitions: each partition's combine table and map
    // output are estimated at ~60 MB each, three times the shuffle pool (96 MB x 0.2) and together more than
    // the worker's heap; each reducer reads as much again.
    const n = 1_200_000;
    const distinct = 600_000;
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 96 } });
    try {
      const counts = sc
        .range(0, n, 1, 2)
        .map(capture({ distinct }, (i): [string, number] => [`key-${(i * 7919) % distinct}`, i % 3]))
        .reduceByKey((a, b) => a + b);
      expect(await counts.count()).toBe(distinct);
      const sample = await counts.filter(([k]) => k.endsWith('77')).collect();

      // The plain computation, in this process.
      const expected = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const k = `key-${(i * 7919) % distinct}`;
        if (k.endsWith('77')) expected.set(k, (expected.get(k) ?? 0) + (i % 3));
      }
      expect(sample.length).toBe(expected.size);
      for (const [k, v] of sample) expect(v).toBe(expected.get(k));
    } finally {
      await sc.stop();
    }
  }, 30_000);

  it('a groupByKey whose one group is larger than the heap fails with an error naming the job and suggesting a fix', async () => {
    // 4M values of one key, 16 map partitions (each bucket fits a worker; the group does not).
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 64 }, maxTaskFailures: 2 });
    try {
      const started = Date.now();
      const job = sc
        .range(0, 4_000_000, 1, 16)
        .map((i): [string, number] => ['hot', i])
        .groupByKey()
        .mapValues((vs) => vs.length)
        .collect();
      const error = await job.then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(Error);
      const message = error!.message;
      expect(message).toMatch(/Job \d+ failed: task for partition \d+ of stage \d+/);
      expect(message).toMatch(/mapValues at big-shuffle\.test\.ts/);
      // Each attempt either hits the worker-side check on the group's size, or the heap limit: both explain.
      expect(message).toMatch(/values of one key \("hot"\) in RDD \d+ \(groupByKey at big-shuffle\.test\.ts|ran out of memory/);
      expect(message).toMatch(/reduceByKey\/aggregateByKey/);
      expect(Date.now() - started).toBeLessThan(55_000);
    } finally {
      await sc.stop();
    }
  }, 60_000);
});
