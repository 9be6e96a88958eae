/**
 * A driver that runs for hours (streaming creates RDDs per batch) keeps its bookkeeping bounded: what it holds per
 * RDD and per shuffle goes when the RDD is unpersisted or dropped by the program, and the storage report and the
 * hints keep working for the RDDs still in use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Context, capture, type RDD, StorageLevel } from 'kindling';

// Dropped RDDs go only when the garbage collector runs; this file forces it (in its own test process).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

async function collectGarbage(): Promise<void> {
  // Finalization callbacks run in later turns of the event loop, after a collection found their targets.
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('driver state of a long-running program', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, hints: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('2,000 jobs over RDDs persisted and unpersisted leave nothing behind', async () => {
    for (let i = 0; i < 2000; i++) {
      const r = sc
        .parallelize([i, i + 1], 1)
        .map((x) => x * 2)
        .persist(StorageLevel.MEMORY_ONLY);
      expect(await r.count()).toBe(2);
      await r.unpersist();
    }
    const { driver, dag, stagesHeld } = await sc.faults.snapshot();
    expect(driver).toMatchObject({ persistedRdds: 0, cachedRdds: 0 });
    expect(dag).toMatchObject({ activeJobs: 0, runningStages: 0, waitingStages: 0, shuffleStages: 0 });
    expect(stagesHeld).toBe(0);
    expect(sc.getRDDStorageInfo()).toEqual([]);
  });

  it('RDDs the program drops without unpersist(), and their shuffles, are forgotten; the ones it keeps are reported', async () => {
    const kept = sc
      .parallelize([1, 2, 3], 1)
      .map((x) => x + 1)
      .setName('kept')
      .persist(StorageLevel.MEMORY_ONLY);
    await kept.count();
    await kept.count();
    expect(sc.timesComputed(kept)).toBe(1);

    // The program holds every batch until the loop ends, so the count before collection does not depend on when
    // the collector happens to run during the loop (a natural collection part-way used to leave fewer than 100).
    const held: unknown[] = [];
    for (let i = 0; i < 2000; i++) {
      const batch = sc
        .parallelize([i, i + 1], 1)
        .map((x) => x * 2)
        .persist(StorageLevel.MEMORY_ONLY);
      held.push(batch);
      expect(await batch.count()).toBe(2);
      if (i % 10 === 0) {
        const counts = sc
          .parallelize<[number, number]>(
            [
              [i, 1],
              [i, 2],
            ],
            1,
          )
          .reduceByKey((a, b) => a + b, 1);
        expect(await counts.collect()).toEqual([[i, 3]]);
      }
    }
    await collectGarbage();
    const before = (await sc.faults.snapshot()).driver;
    held.length = 0;
    await collectGarbage();
    const { driver } = await sc.faults.snapshot();

    // 2,000 persisted RDDs, 4,200 computed RDDs and 200 shuffles were created; a handful may still be referenced
    // from the last iterations' frames.
    expect(driver.persistedRdds).toBeLessThan(10);
    expect(driver.cachedRdds).toBeLessThan(10);
    expect(driver.hintedRdds).toBeLessThan(10);
    expect(driver.shuffles).toBeLessThan(10);
    expect(driver.lostOutputReasons).toBe(0);
    // While the program held them, a collection kept them all: the bound above comes from pruning what the program
    // dropped, not from never holding.
    expect(before.persistedRdds).toBeGreaterThanOrEqual(2000);
    expect(before.cachedRdds).toBeGreaterThanOrEqual(2000);

    const report = sc.getRDDStorageInfo().filter((info) => info.name === 'kept');
    expect(report).toEqual([expect.objectContaining({ id: kept.id, numPartitions: 1, numCachedPartitions: 1 })]);
    await kept.count();
    expect(sc.timesComputed(kept)).toBe(1);
  });
});

describe('driver state of a long-running program with hints on', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, hints: true });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it("forgets the hints' counts of the RDDs the program dropped (the counts of user jobs too)", async () => {
    const held: unknown[] = [];
    for (let i = 0; i < 200; i++) {
      const r = sc.parallelize([i, i + 1], 1).map((x) => x * 2);
      held.push(r);
      expect(await r.count()).toBe(2);
    }
    await collectGarbage();
    // While the program held them, every one was counted: the bound below comes from forgetting the dropped ones.
    expect((await sc.faults.snapshot()).driver.hintedRdds).toBeGreaterThanOrEqual(200);
    held.length = 0;
    await collectGarbage();
    expect((await sc.faults.snapshot()).driver.hintedRdds).toBeLessThan(10);
  });
});

describe('broadcasts and accumulators of a long-running program', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, hints: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('forgets the broadcasts the program dropped (one per batch of a streaming driver), as Spark’s cleaner does', async () => {
    const held: unknown[] = [];
    for (let i = 0; i < 200; i++) {
      const offset = sc.broadcast([i]);
      held.push(offset);
      const out = await sc
        .parallelize([1, 2], 2)
        .map(capture({ offset }, (x: number) => x + offset.value[0]!))
        .collect();
      expect(out).toEqual([1 + i, 2 + i]);
    }
    await collectGarbage();
    // While the program held them, every one was kept: the bound below comes from forgetting the dropped ones.
    expect((await sc.faults.snapshot()).driver.broadcasts).toBeGreaterThanOrEqual(200);
    held.length = 0;
    await collectGarbage();
    expect((await sc.faults.snapshot()).driver.broadcasts).toBeLessThan(10);
  });

  it('forgets the accumulators the program dropped, as Spark’s AccumulatorContext does', async () => {
    const held: unknown[] = [];
    for (let i = 0; i < 200; i++) {
      const seen = sc.longAccumulator(`seen ${i}`);
      held.push(seen);
      await sc.parallelize([1, 2, 3], 2).foreach(capture({ seen }, (x: number) => seen.add(x)));
      expect(seen.value).toBe(6);
    }
    await collectGarbage();
    expect((await sc.faults.snapshot()).driver.accumulators).toBeGreaterThanOrEqual(200);
    held.length = 0;
    await collectGarbage();
    expect((await sc.faults.snapshot()).driver.accumulators).toBeLessThan(10);
  });

  it('keeps a broadcast the program no longer names while an RDD that uses it can still run', async () => {
    const shifted = ((): RDD<number> => {
      const offset = sc.broadcast([100]);
      return sc.parallelize([1, 2, 3], 2).map(capture({ offset }, (x: number) => x + offset.value[0]!));
    })();
    await collectGarbage();
    expect(await shifted.collect()).toEqual([101, 102, 103]);
  });
});
