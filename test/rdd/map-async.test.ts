/**
 * mapAsync and an awaited foreachPartition: the asynchronous path. Each task awaits a bounded number of calls
 * at a time in its worker, keeps the elements' order, and fails like any task when a call rejects; everything
 * around it (narrow chains, shuffles, unions, caches, retries) behaves as with `map`.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { capture, ClosureError, Context, InvalidArgumentError, JobFailedError, taskContext, useModule } from 'kindling';
import { MODES, useContext } from './helpers.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-async-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Resolves with `v` after `ms` (a helper shipped with the functions that use it). */
const later = <V>(v: V, ms: number): Promise<V> => new Promise((resolve) => setTimeout(() => resolve(v), ms));

describe.each(MODES)('mapAsync (%s)', (master) => {
  const ctx = useContext(master);

  test('awaits every element, in order, at most `concurrency` calls at a time per task, more than one at once', async () => {
    // Per task attempt: calls in flight now, and the most seen; each element reports the most so far.
    const inFlight = new Map<number, { now: number; most: number }>();
    const task = taskContext;
    const out = await ctx()
      .range(60, undefined, 1, 3)
      .mapAsync(
        capture({ inFlight, task, later }, async (x: number) => {
          const id = task().taskAttemptId;
          const s = inFlight.get(id) ?? { now: 0, most: 0 };
          inFlight.set(id, s);
          s.now++;
          s.most = Math.max(s.most, s.now);
          // Later elements often finish first: the order of the output must not follow completion.
          await later(null, (x * 7) % 5);
          s.now--;
          return [x * 2, s.most];
        }),
        { concurrency: 4 },
      )
      .collect();
    expect(out.map(([y]) => y)).toEqual(Array.from({ length: 60 }, (_, i) => i * 2));
    const most = Math.max(...out.map(([, m]) => m));
    expect(most).toBe(4);
  });

  test('a rejection fails the job with the user error, naming the mapAsync RDD', async () => {
    const rdd = ctx()
      .parallelize([1, 2, 3, 4], 2)
      .mapAsync(async (x: number) => {
        if (x === 3) throw new Error(`no ${x}`);
        return x;
      });
    const e = await rdd.collect().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobFailedError);
    expect((e as Error).message).toContain('no 3');
    expect((e as Error).message).toContain(rdd.label);
    expect(rdd.label).toMatch(/mapAsync at map-async\.test\.ts:\d+/);
  });

  test('chains: before and after a shuffle, twice in one stage, under union, coalesce, zip and cartesian', async () => {
    const sc = ctx();
    const words = sc.parallelize(['a', 'b', 'a', 'c', 'b', 'a'], 3);
    const counted = words
      .mapAsync(capture({ later }, async (w: string) => later(w.toUpperCase(), 1)))
      .map((w) => [w, 1])
      .mapAsync(capture({ later }, async ([w, n]: [string, number]) => later([w, n * 10] as [string, number], 2)))
      .reduceByKey((a, b) => a + b, 2)
      .mapAsync(async ([w, n]: [string, number]) => `${w}=${n}`);
    expect((await counted.collect()).sort()).toEqual(['A=30', 'B=20', 'C=10']);

    const nums = sc.range(10, undefined, 1, 3);
    const doubled = nums.mapAsync(async (x: number) => x * 2);
    const negated = nums.mapAsync(async (x: number) => -x);
    expect(await doubled.union(negated).coalesce(2).collect()).toEqual([
      ...Array.from({ length: 10 }, (_, i) => i * 2),
      ...Array.from({ length: 10 }, (_, i) => -i),
    ]);
    expect(await doubled.zip(negated).collect()).toEqual(Array.from({ length: 10 }, (_, i) => [i * 2, -i]));
    const small = sc.parallelize([1, 2], 2).mapAsync(async (x: number) => x * 100);
    expect((await small.cartesian(small).collect()).sort()).toEqual(
      [
        [100, 100],
        [100, 200],
        [200, 100],
        [200, 200],
      ].sort(),
    );
  });

  test('a cached mapAsync RDD is not awaited again by later jobs', async () => {
    const sc = ctx();
    const calls = sc.accumulator(0);
    const cached = sc
      .range(40, undefined, 1, 4)
      .mapAsync(
        capture({ calls }, async (x: number) => {
          calls.add(1);
          return x + 1;
        }),
      )
      .cache();
    expect(await cached.sum()).toBe(820);
    expect(await cached.map((x) => x * 2).sum()).toBe(1640);
    expect(calls.value).toBe(40);
  });

  test('taskContext() is the calling task before the first await', async () => {
    const task = taskContext;
    const out = await ctx()
      .parallelize(['a', 'b', 'c', 'd'], 4)
      .mapAsync(capture({ task }, async (x: string) => [x, task().partitionId]))
      .collect();
    expect(out).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
      ['d', 3],
    ]);
  });
});

describe.each(MODES)('foreachPartition awaits an async function (%s)', (master) => {
  const ctx = useContext(master);

  test("the action resolves after every partition's async work is done; a rejection fails it", async () => {
    const dir = mkdtempSync(path.join(scratch, 'fp-'));
    const fsp = useModule<typeof import('node:fs/promises')>('node:fs/promises');
    const pathMod = useModule<typeof import('node:path')>('node:path');
    const task = taskContext;
    await ctx()
      .range(30, undefined, 1, 3)
      .foreachPartition(
        capture({ fsp, pathMod, dir, later, task }, async (it: Iterable<number>) => {
          const p = task().partitionId;
          for (const x of it) {
            await later(null, 2);
            await fsp.writeFile(pathMod.join(dir, `${p}-${x}`), String(x));
          }
        }),
      );
    // Nothing is written after the action returned: every file is there now.
    expect(readdirSync(dir)).toHaveLength(30);
    const e = await ctx()
      .parallelize([1, 2], 2)
      .foreachPartition(
        capture({ later }, async (it: Iterable<number>) => {
          for (const x of it) {
            await later(null, 1);
            if (x === 2) throw new Error('write failed for 2');
          }
        }),
      )
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobFailedError);
    expect((e as Error).message).toContain('write failed for 2');
    expect((e as Error).message).toMatch(/foreachPartition function/);
  });

  test('foreach does not await: a returned Promise fails the job saying what to use', async () => {
    const marker = path.join(scratch, `never-${master}`);
    const fsp = useModule<typeof import('node:fs/promises')>('node:fs/promises');
    const e = await ctx()
      .parallelize([1], 1)
      .foreach(capture({ fsp, marker }, (x: number) => fsp.writeFile(marker, String(x)).then(() => undefined)))
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobFailedError);
    expect((e as Error).message).toMatch(/returned a Promise, which foreach does not await: use rdd\.foreachPartition\(async/);
  });
});

describe('mapAsync: refused at the call, and a worker killed while tasks await', () => {
  test('map refuses an async function and points at mapAsync; concurrency must be a positive integer', async () => {
    const sc = new Context({ master: 'local', progress: false });
    try {
      const rdd = sc.parallelize([1]);
      expect(() => rdd.map(async (x) => x)).toThrow(ClosureError);
      expect(() => rdd.map(async (x) => x)).toThrow(/rdd\.mapAsync\(f, \{ concurrency \}\)/);
      expect(() => rdd.mapAsync(async (x) => x, { concurrency: 0 })).toThrow(InvalidArgumentError);
      expect(() => rdd.mapAsync(async (x) => x, { concurrency: 1.5 })).toThrow(/positive integer/);
      expect(() => rdd.mapAsync(async (x) => x + undeclared)).toThrow(/uses 'undeclared'/);
    } finally {
      await sc.stop();
    }
  });

  test('killing a worker at a random moment while its tasks await: the tasks run again, the result is exact', async () => {
    let hitMidJob = 0;
    for (let run = 0; run < 3; run++) {
      const sc = new Context({ master: 'local[2]', progress: false });
      const victim = run % 2;
      let failedTasks = 0;
      let delayMs = -1;
      sc.events.on('taskEnd', (e) => {
        if (e.result !== 'success') failedTasks++;
      });
      try {
        await sc.range(2).count(); // both workers up
        // 8 tasks of 25 elements, 5 at a time, 10 ms each: a task awaits at least 50 ms. The kill comes at a random
        // moment in the first 30 ms after the victim's first task was launched (not a moment measured from the job's
        // start, which a loaded machine can stretch past every kill), so it always finds that task awaiting.
        const off = sc.events.on('taskStart', (e) => {
          if (e.workerIndex !== victim || delayMs >= 0) return;
          delayMs = Math.floor(Math.random() * 30);
          setTimeout(() => void sc.faults.killWorker(victim).catch(() => {}), delayMs);
        });
        const out = await sc
          .range(200, undefined, 1, 8)
          .mapAsync(
            capture({ later }, async (x: number) => later(x * 3, 10)),
            { concurrency: 5 },
          )
          .collect();
        off();
        expect(out, `kill ${delayMs} ms after the first task on worker ${victim}`).toEqual(Array.from({ length: 200 }, (_, i) => i * 3));
        if (failedTasks > 0) hitMidJob++;
      } finally {
        await sc.stop();
      }
    }
    // Every kill found a task awaiting on the victim, and the job still gave the exact result.
    expect(hitMidJob).toBe(3);
  });
});

declare const undeclared: number;
