/** Custom accumulators, Broadcast.unpersist/destroy, and the TaskContext user functions can read. */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { capture, Context, taskContext, type CustomAccumulator } from 'kindling';

describe('shared state', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  describe('custom accumulators (zero, add, merge)', () => {
    test('a set of distinct values, counted once per successful task', async () => {
      const seen = sc.customAccumulator(
        {
          zero: () => new Set<string>(),
          add: (s: Set<string>, v: string) => s.add(v),
          merge: (a: Set<string>, b: Set<string>) => new Set([...a, ...b]),
        },
        'seen',
      );
      const words = sc.parallelize(['a', 'b', 'a', 'c', 'b', 'a'], 3);
      await words.foreach(capture({ seen }, (w: string) => seen.add(w)));
      expect([...seen.value].sort()).toEqual(['a', 'b', 'c']);
      expect(seen.name).toBe('seen');
      seen.add('z'); // on the driver
      expect(seen.value.has('z')).toBe(true);
    });

    test('merge combines per-task results: a max, and a [sum, count] pair', async () => {
      const max = sc.customAccumulator({
        zero: () => -Infinity,
        add: (a: number, v: number) => Math.max(a, v),
        merge: (a: number, b: number) => Math.max(a, b),
      });
      const mean = sc.customAccumulator({
        zero: (): [number, number] => [0, 0],
        add: ([s, n]: [number, number], v: number): [number, number] => [s + v, n + 1],
        merge: (a: [number, number], b: [number, number]): [number, number] => [a[0] + b[0], a[1] + b[1]],
      });
      await sc.range(100, undefined, 1, 4).foreach(
        capture({ max, mean }, (x: number) => {
          max.add(x);
          mean.add(x);
        }),
      );
      expect(max.value).toBe(99);
      expect(mean.value).toEqual([4950, 100]);
      expect(() => sc.customAccumulator({ zero: () => 0 } as never)).toThrow(/add must be a function/);
    });

    /** A sum whose `merge` (which runs on the driver) records what each task sent back. */
    function recordingSum(): { acc: CustomAccumulator<number, number>; merged: number[] } {
      const merged: number[] = [];
      const acc = sc.customAccumulator({
        zero: () => 0,
        add: (a: number, v: number) => a + v,
        merge: (total: number, taskCopy: number) => {
          merged.push(taskCopy);
          return total + taskCopy;
        },
      });
      return { acc, merged };
    }
    /** Sums of the 4 partitions of range(100): what each task's own copy holds at its end. */
    const PARTITION_SUMS = [300, 925, 1550, 2175];

    test('each task adds into its own copy, started from zero() in the worker; the driver merges one copy per task', async () => {
      const { acc, merged } = recordingSum();
      // `add` runs in the task: it can read the task's context (which throws on the driver).
      const task = taskContext;
      const partitions = sc.customAccumulator({
        zero: (): number[] => [],
        add: capture({ task }, (seen: number[], _x: number) => (seen.includes(task().partitionId) ? seen : [...seen, task().partitionId])),
        merge: (a: number[], b: number[]) => [...a, ...b],
      });
      await sc.range(100, undefined, 1, 4).foreach(
        capture({ acc, partitions }, (x: number) => {
          acc.add(x);
          partitions.add(x);
        }),
      );
      expect(acc.value).toBe(4950);
      // Not the elements: one value per task, that task's own copy.
      expect(merged.sort((a, b) => a - b)).toEqual(PARTITION_SUMS);
      expect(partitions.value.sort()).toEqual([0, 1, 2, 3]);
    });

    test('a retried task counts once: the failed attempt copy is dropped (failure at a random element)', async () => {
      const { acc, merged } = recordingSum();
      const failAt = Math.floor(Math.random() * 100);
      const task = taskContext;
      await sc.range(100, undefined, 1, 4).foreach(
        capture({ acc, failAt, task }, (x: number) => {
          acc.add(x);
          if (x === failAt && task().attemptNumber === 0) throw new Error(`first attempt fails after adding ${x}`);
        }),
      );
      expect(acc.value, `failing at ${failAt}`).toBe(4950);
      expect(merged.sort((a, b) => a - b)).toEqual(PARTITION_SUMS);
    });

    test("a merge that throws on the driver loses that task's copy, logged as an error; the job and the context go on", async () => {
      const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        const acc = sc.customAccumulator(
          {
            zero: () => 0,
            add: (a: number, v: number) => a + v,
            merge: (a: number, b: number) => {
              if (b === 3) throw new Error('no threes');
              return a + b;
            },
          },
          'picky',
        );
        expect(
          await sc
            .parallelize([1, 2, 3], 3)
            .map(
              capture({ acc }, (x: number) => {
                acc.add(x);
                return x;
              }),
            )
            .sum(),
        ).toBe(6);
        expect(acc.value).toBe(3);
        expect(errors).toHaveBeenCalledWith(
          expect.stringMatching(/accumulator \d+ \('picky'\) failed, so that task's additions are lost: Error: no threes/),
        );
      } finally {
        errors.mockRestore();
      }
    });

    test('zero and add are shipped: refused at creation when they use an undeclared name; capture works', async () => {
      const start = 10;
      expect(() => sc.customAccumulator({ zero: () => start, add: (a: number, v: number) => a + v, merge: (a, b) => a + b }, 'from ten')).toThrow(
        /zero of custom accumulator 'from ten' uses 'start'/,
      );
      const bonus = 1000;
      // merge runs on the driver only: it may use anything, like `bonus` here, undeclared.
      const acc = sc.customAccumulator({
        zero: () => 0,
        add: capture({ start }, (a: number, v: number) => a + v + start),
        merge: (a: number, b: number) => a + b + bonus * 0,
      });
      await sc.parallelize([1, 2, 3], 3).foreach(capture({ acc }, (x: number) => acc.add(x)));
      expect(acc.value).toBe(36);
    });
  });

  describe('Broadcast', () => {
    test("unpersist frees the workers' copies; a later job ships the value again", async () => {
      const lookup = sc.broadcast(
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      );
      const keys = sc.parallelize(['a', 'b', 'a'], 2);
      const sum = (): Promise<number> => keys.map(capture({ lookup }, (k: string) => lookup.value.get(k) ?? 0)).reduce((x, y) => x + y);
      expect(await sum()).toBe(4);
      lookup.unpersist();
      expect(await sum()).toBe(4);
      lookup.unpersist();
      lookup.unpersist();
      expect(await sum()).toBe(4);
    });

    test('destroy makes it unusable in new jobs', async () => {
      const b = sc.broadcast([1, 2, 3]);
      expect(
        await sc
          .parallelize([0, 1])
          .map(capture({ b }, (i: number) => b.value[i]))
          .collect(),
      ).toEqual([1, 2]);
      b.destroy();
      expect(b.destroyed).toBe(true);
      expect(() => sc.parallelize([0]).map(capture({ b }, (i: number) => b.value[i]))).toThrow(/destroyed/);
    });
  });

  describe('taskContext()', () => {
    // vitest renames imported bindings inside functions; a local const is what a script would capture anyway.
    const task = taskContext;
    test('tells a function its partition, stage, attempt and task attempt id', async () => {
      const stages: number[] = [];
      const off = sc.events.on('stageSubmitted', (e) => void stages.push(e.stageId));
      let rows: Array<[number, number, number, number, string]>;
      try {
        rows = await sc
          .parallelize(['a', 'b', 'c', 'd', 'e'], 3)
          .map(
            capture({ task }, (x: string): [number, number, number, number, string] => {
              const t = task();
              return [t.partitionId, t.stageId, t.attemptNumber, t.taskAttemptId, x];
            }),
          )
          .collect();
      } finally {
        off();
      }
      const glommed = await sc.parallelize(['a', 'b', 'c', 'd', 'e'], 3).glom().collect();
      const partitionOf = new Map(glommed.flatMap((p, i) => p.map((x) => [x, i] as const)));
      for (const [p, stage, attempt, , x] of rows) {
        expect(p).toBe(partitionOf.get(x));
        expect(stage).toBe(stages[0]);
        expect(attempt).toBe(0);
      }
      // One task attempt id per partition, distinct across partitions.
      const idByPartition = new Map(rows.map(([p, , , id]) => [p, id]));
      expect(new Set(idByPartition.values()).size).toBe(3);
    });

    test('attemptNumber counts retries: a function can tell a retry from the first attempt', async () => {
      const attempts = await sc
        .parallelize([1, 2], 2)
        .map(
          capture({ task }, (x: number) => {
            if (task().attemptNumber === 0) throw new Error('first attempt fails');
            return [x, task().attemptNumber];
          }),
        )
        .collect();
      expect(attempts).toEqual([
        [1, 1],
        [2, 1],
      ]);
    });

    test('works in the map side of a shuffle, and throws on the driver', async () => {
      const byPartition = await sc
        .parallelize([1, 2, 3, 4], 2)
        .map(capture({ task }, (x: number) => [task().partitionId, x]))
        .groupByKey()
        .collectAsMap();
      expect(byPartition.get(0)!.sort()).toEqual([1, 2]);
      expect(byPartition.get(1)!.sort()).toEqual([3, 4]);
      expect(() => taskContext()).toThrow(/only available inside a task/);
    });
  });
});
