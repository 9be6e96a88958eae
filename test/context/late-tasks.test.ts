/**
 * A failed job rejects at once, while its other tasks run on (their task set is only marked zombie, as in Spark):
 * what they do after the user saw the job fail must not change what the user sees next. Each spec holds such a
 * task until the job has failed and the program has moved on (a flag in shared memory, not a sleep, so the order
 * holds under any load), then lets it end.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Context, capture } from 'kindling';

/** Runs in a worker: holds the task until the driver raises the flag (or 60 s pass: a spec that failed). */
function holdUntil(flag: Int32Array): void {
  Atomics.wait(flag, 0, 0, 60_000);
}

describe("a failed job's tasks that run on", () => {
  let sc: Context;
  beforeEach(() => {
    // One attempt per task: partition 0 fails the job at once, partition 1 is the task that runs on.
    sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, maxTaskFailures: 1 });
  });
  afterEach(async () => {
    await sc.stop();
  });

  /** Waits until no attempt runs any more: the late task's outcome has been handled by the driver. */
  async function lateTaskEnded(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while ((await sc.faults.snapshot()).tasks.runningAttempts > 0) {
      if (Date.now() > deadline) throw new Error('the late task never ended');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('cannot cache a partition of an RDD unpersisted after the job failed: it is not reported cached when persisted again', async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const rdd = sc
      .parallelize([0, 1], 2)
      .map(
        capture({ flag, holdUntil }, (x: number) => {
          // Until the flag is raised: partition 0 fails, partition 1 waits for it.
          if (x === 0 && Atomics.load(flag, 0) === 0) throw new Error('partition 0 fails the job');
          holdUntil(flag);
          return x * 10;
        }),
      )
      .cache();
    await expect(rdd.collect()).rejects.toThrow(/partition 0 fails the job/);
    rdd.unpersist();
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await lateTaskEnded();
    // Before: the late task's block update re-registered partition 1 (the worker had already dropped the block).
    rdd.cache();
    expect(sc.getRDDStorageInfo().map((i) => [i.id, i.numCachedPartitions])).toEqual([[rdd.id, 0]]);
    // Persisted again, it is computed and cached as any RDD.
    expect(await rdd.collect()).toEqual([0, 10]);
    expect(sc.getRDDStorageInfo().map((i) => [i.id, i.numCachedPartitions])).toEqual([[rdd.id, 2]]);
    expect(await rdd.map((x) => x + 1).collect()).toEqual([1, 11]);
  });

  it("does not add to an accumulator once the job failed: a map task's additions count only while a job needs its stage", async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const seen = sc.accumulator(0, 'seen');
    const sums = sc
      .parallelize([0, 1, 2, 3], 2)
      .map(
        capture({ flag, holdUntil, seen }, (x: number): [number, number] => {
          if (x < 2) throw new Error('partition 0 fails the job');
          holdUntil(flag);
          seen.add(1);
          return [x % 2, x];
        }),
      )
      .reduceByKey((a, b) => a + b, 2);
    await expect(sums.collect()).rejects.toThrow(/partition 0 fails the job/);
    expect(seen.value).toBe(0);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await lateTaskEnded();
    // Before: 2, added after the action had rejected (Spark drops the updates of a stage no job needs).
    expect(seen.value).toBe(0);
    // A job that runs the stage again counts each map task once.
    const ok = sc.parallelize([2, 3], 2).map(
      capture({ seen }, (x: number): [number, number] => {
        seen.add(1);
        return [x % 2, x];
      }),
    );
    expect(await ok.reduceByKey((a, b) => a + b, 2).count()).toBe(2);
    expect(seen.value).toBe(2);
  });

  it('cannot change a checkpoint that a later job wrote: a task of the failed checkpoint job that ends later leaves it as read', async () => {
    sc.setCheckpointDir(mkdtempSync(path.join(tmpdir(), 'kindling-late-checkpoint-')));
    // [0]: computations of partition 0, [1]: the flag, [2]: computations of partition 1 (each gives another value).
    const s = new Int32Array(new SharedArrayBuffer(12));
    const rdd = sc.parallelize([0, 1], 2).map(
      capture({ s, holdUntil }, (x: number) => {
        if (x === 0) {
          // The action's job computes it once, then the first checkpoint job fails on it.
          if (Atomics.add(s, 0, 1) === 1) throw new Error('the first checkpoint job fails');
          return 0;
        }
        const n = Atomics.add(s, 2, 1);
        if (n === 1) holdUntil(s.subarray(1, 2)); // the first checkpoint job's task for partition 1 runs on
        return 100 + n;
      }),
    );
    rdd.checkpoint();
    await expect(rdd.count()).rejects.toThrow(/the first checkpoint job fails/);
    expect(await rdd.count()).toBe(2);
    expect(rdd.isCheckpointed).toBe(true);
    const read = await rdd.collect();
    Atomics.store(s, 1, 1);
    Atomics.notify(s, 1);
    await lateTaskEnded();
    // Before: the late task renamed its partition (101) over the one read (103).
    expect(await rdd.collect()).toEqual(read);
    // Nothing but the checkpoint is left: the failed job's folder was removed, and the late task made no other.
    expect(readdirSync(sc.checkpointDir!)).toEqual([`rdd-${rdd.id}`]);
    expect(readdirSync(path.join(sc.checkpointDir!, `rdd-${rdd.id}`)).sort()).toEqual(['part-00000', 'part-00001']);
    rmSync(path.dirname(sc.checkpointDir!), { recursive: true, force: true });
  });
});
