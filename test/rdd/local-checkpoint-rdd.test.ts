/**
 * rdd.localCheckpoint() (Spark's): persisted with a disk level, the lineage cut at the cached partitions after the first
 * action, never recomputed; a lost block fails the job naming the RDD, the partition and the remedy. On real worker
 * threads (local[2]).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Context, StorageLevel } from 'kindling';

const contexts: Context[] = [];
function context(options: ConstructorParameters<typeof Context>[0] = {}): Context {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, ...options });
  contexts.push(sc);
  return sc;
}
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
});

describe('rdd.localCheckpoint()', () => {
  it('persists the RDD to memory and disk and cuts its lineage after the first action', async () => {
    const sc = context();
    const base = sc.parallelize([1, 2, 3, 4, 5, 6], 3).map((x) => x * 2);
    const rdd = base.map((x) => x + 1).localCheckpoint();
    expect(rdd.storageLevel).toBe(StorageLevel.MEMORY_AND_DISK);
    expect(rdd.isCheckpointed).toBe(false);
    expect(rdd.isLocallyCheckpointed).toBe(false);
    expect(await rdd.collect()).toEqual([3, 5, 7, 9, 11, 13]);
    expect(rdd.isCheckpointed).toBe(true);
    expect(rdd.isLocallyCheckpointed).toBe(true);
    expect(rdd.getCheckpointFile()).toBeUndefined();
    const debug = rdd.toDebugString();
    expect(debug).toContain('LocalCheckpointRDD');
    expect(debug).not.toContain(`[${base.id}]`);
    // Later jobs read the cached partitions: nothing computed again, the same result.
    expect(await rdd.map((x) => x - 1).collect()).toEqual([2, 4, 6, 8, 10, 12]);
    expect(sc.timesComputed(rdd)).toBe(1);
  });

  it('keeps a memory-only level from dropping partitions (they would have nothing to be computed from)', () => {
    const sc = context();
    const rdd = sc.parallelize([1, 2], 2).cache().localCheckpoint();
    expect(rdd.storageLevel).toBe(StorageLevel.MEMORY_AND_DISK);
    expect(sc.parallelize([1], 1).persist(StorageLevel.DISK_ONLY).localCheckpoint().storageLevel).toBe(StorageLevel.DISK_ONLY);
  });

  it('computes the partitions an action left out (take) into the cache before cutting the lineage', async () => {
    const sc = context();
    const rdd = sc
      .range(0, 40, 1, 4)
      .map((x) => x + 100)
      .localCheckpoint();
    expect(await rdd.take(2)).toEqual([100, 101]);
    expect(rdd.isLocallyCheckpointed).toBe(true);
    expect(sc.getRDDStorageInfo().find((i) => i.id === rdd.id)?.numCachedPartitions).toBe(4);
    expect(await rdd.sum()).toBe(40 * 100 + (39 * 40) / 2);
  });

  it('two actions ending at once compute the partitions they left out once, in one local-checkpoint job', async () => {
    // One writer per RDD, as Spark's RDDCheckpointData: the second action waits for the first one's job. Before, each
    // ran a job of its own over the same missing partitions.
    const sc = context();
    const checkpointJobs: string[] = [];
    sc.events.on('jobStart', (e) => {
      if (e.description.includes('local checkpoint of')) checkpointJobs.push(e.description);
    });
    const rdd = sc
      .range(0, 40, 1, 4)
      .map((x) => x + 100)
      .localCheckpoint();
    const [a, b] = await Promise.all([rdd.take(2), rdd.take(3)]);
    expect([a, b]).toEqual([
      [100, 101],
      [100, 101, 102],
    ]);
    expect(rdd.isLocallyCheckpointed).toBe(true);
    expect(checkpointJobs).toHaveLength(1);
    expect(sc.getRDDStorageInfo().find((i) => i.id === rdd.id)?.numCachedPartitions).toBe(4);
    expect(await rdd.sum()).toBe(40 * 100 + (39 * 40) / 2);
  });

  it('bounds the lineage of an iterative program (a map per round, a local checkpoint every 5 rounds)', async () => {
    const sc = context();
    let r = sc.parallelize([1, 2, 3, 4], 2);
    for (let i = 1; i <= 30; i++) {
      r = r.map((x) => x + 1);
      if (i % 5 === 0) {
        r.localCheckpoint();
        await r.count();
      }
    }
    expect(await r.collect()).toEqual([31, 32, 33, 34]);
    expect(r.toDebugString().split('\n')).toHaveLength(2);
  });

  it('fails a job that needs a block lost with its worker, naming the RDD, the partition and checkpoint(); the context runs on', async () => {
    const sc = context({ maxTaskFailures: 2 });
    const rdd = sc
      .parallelize([1, 2, 3, 4], 2)
      .map((x) => x * 3)
      .setName('tripled')
      .localCheckpoint();
    const holders: number[] = [];
    sc.events.on('taskEnd', ((e: { workerIndex: number; partition: number }) => (holders[e.partition] = e.workerIndex)) as never);
    await rdd.count();
    await sc.faults.killWorker(holders[0]!);
    const failed = rdd.map((x) => x + 1).collect();
    await expect(failed).rejects.toThrow(/Checkpoint block rdd_\d+_0 of RDD \d+ \(tripled\), partition 0, not found/);
    await expect(failed).rejects.toThrow(/rdd\.checkpoint\(\)/);
    expect(await sc.range(0, 3, 1, 2).count()).toBe(3);
  });

  it('fails the same way once the RDD is unpersisted', async () => {
    const sc = context({ maxTaskFailures: 1 });
    const rdd = sc
      .parallelize([1, 2], 2)
      .map((x) => -x)
      .localCheckpoint();
    await rdd.count();
    await rdd.unpersist();
    await expect(rdd.collect()).rejects.toThrow(/Checkpoint block rdd_\d+_\d of RDD \d+ .*not found/);
  });

  it('has no effect in the mapreduce engine, which caches nothing (the lineage stays, results are right)', async () => {
    const sc = context({ engine: 'mapreduce' });
    const rdd = sc
      .parallelize([1, 2, 3], 2)
      .map((x) => x * 2)
      .localCheckpoint();
    expect(await rdd.collect()).toEqual([2, 4, 6]);
    expect(rdd.isLocallyCheckpointed).toBe(false);
    expect(await rdd.sum()).toBe(12);
  });
});

describe.each(['local[2]', 'local-cluster[2]'])('a locally checkpointed partition read away from its worker (%s)', (master) => {
  it('is fetched from the worker holding it: after the cut there is nothing to compute it from', async () => {
    // One task per worker and no locality wait: the second task of the union runs on the worker not holding the block.
    const sc = context({ master, localityWaitMs: 0, slotsPerWorker: 1 });
    const ends: Array<{ workerIndex: number }> = [];
    sc.events.on('taskEnd', ((e: { workerIndex: number }) => ends.push(e)) as never);
    const rdd = sc
      .range(0, 1000, 1, 1)
      .map((x) => [x % 10, `v${x}`] as [number, string])
      .localCheckpoint();
    const expected = await rdd.collect();
    expect(rdd.isLocallyCheckpointed).toBe(true);
    const holder = ends[0]!.workerIndex;
    ends.length = 0;
    sc.faults.slowWorker(holder, 1000);
    expect(await rdd.union(rdd).collect()).toEqual([...expected, ...expected]);
    expect(new Set(ends.map((e) => e.workerIndex))).toEqual(new Set([0, 1]));
    expect(sc.timesComputed(rdd)).toBe(1);
  });
});
