/**
 * Cooperative interruption (Spark's InterruptibleIterator): a task its host asks to stop ends at the next record its
 * engine loops pass, so cancelling a job (or superseding a copy) no longer terminates the worker computing it, whose
 * cached blocks and map outputs stay. Only a user's loop that passes no record still needs the terminate after the
 * kill grace (test/context/job-control.test.ts, "stuck in while (true)").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AbortError, Context, capture, taskContext, type RDD, type SchedulerEvent } from 'kindling';
import {
  TaskInterruptedError,
  armInterrupts,
  checkInterrupted,
  clearInterruptibleTask,
  interruptRequested,
  interruptible,
  newInterruptBuffer,
  requestInterrupt,
  setInterruptibleTask,
} from '../../src/core/task-interrupt.js';
import { MapAsyncRDD, RangeRDD, setCurrentTask, type TaskInfo } from '../../src/rdd/index.js';
import { WORKER_RDD_CONTEXT } from '../../src/rdd/rdd-context.js';
import { stubTaskContext } from '../fixtures/task-context.js';

describe('a thread armed with its host’s buffer', () => {
  afterEach(() => {
    setInterruptibleTask(undefined);
    armInterrupts(undefined);
  });

  it('stops the computing task once its id is asked for, and no other', () => {
    const buffer = newInterruptBuffer();
    armInterrupts(buffer);
    setInterruptibleTask(7);
    checkInterrupted();
    requestInterrupt(buffer, 8);
    checkInterrupted(); // another task's request
    requestInterrupt(buffer, 7);
    expect(() => checkInterrupted()).toThrow(TaskInterruptedError);
  });

  it('finds a request made before the task started, behind later requests for others', () => {
    const buffer = newInterruptBuffer();
    armInterrupts(buffer);
    setInterruptibleTask(1);
    requestInterrupt(buffer, 2);
    for (let id = 100; id < 110; id++) requestInterrupt(buffer, id);
    checkInterrupted(); // looked through while task 1 computed: 2 is not it
    setInterruptibleTask(2);
    expect(() => checkInterrupted()).toThrow(/task 2 was interrupted/);
  });

  it('never takes a slot not written yet for a request: task 0 (a context’s first) runs on', () => {
    const buffer = newInterruptBuffer();
    armInterrupts(buffer);
    setInterruptibleTask(0);
    requestInterrupt(buffer, 5); // the other 15 slots are unwritten
    checkInterrupted();
    expect(interruptRequested(0)).toBe(false);
    expect(interruptRequested(5)).toBe(true);
    requestInterrupt(buffer, 0);
    expect(() => checkInterrupted()).toThrow(/task 0 was interrupted/);
  });

  it('checks a pulled partition for the task that began pulling it, not for the task set when it is pulled again', () => {
    const buffer = newInterruptBuffer();
    armInterrupts(buffer);
    setInterruptibleTask(1);
    const pulled = interruptible(Array.from({ length: 5000 }, (_, i) => i))[Symbol.iterator]();
    // Task 1 awaits (an async foreachPartition); task 2 is set and asked to stop.
    setInterruptibleTask(2);
    requestInterrupt(buffer, 2);
    for (let i = 0; i < 2048; i++) pulled.next();
    requestInterrupt(buffer, 1);
    expect(() => {
      for (let i = 0; i < 1024; i++) pulled.next();
    }).toThrow(/task 1 was interrupted/);
  });

  it('does nothing between tasks, unarmed, or after the task cleared itself', () => {
    const buffer = newInterruptBuffer();
    requestInterrupt(buffer, 3);
    setInterruptibleTask(3);
    checkInterrupted(); // unarmed: the main thread of a unit test, the driver
    armInterrupts(buffer);
    clearInterruptibleTask(4); // not the task set: kept
    expect(() => checkInterrupted()).toThrow(TaskInterruptedError);
    setInterruptibleTask(3);
    clearInterruptibleTask(3);
    checkInterrupted();
  });
});

describe('a mapAsync partition awaited while another task of the thread computes', () => {
  afterEach(() => {
    setInterruptibleTask(undefined);
    armInterrupts(undefined);
  });

  const tc = stubTaskContext();
  const task = (taskAttemptId: number): TaskInfo => ({ partitionId: 0, stageId: 0, attemptNumber: 0, taskAttemptId, isInterrupted: () => false });

  it('reads its input looking for its own stop, not for the other task’s', async () => {
    const buffer = newInterruptBuffer();
    armInterrupts(buffer);
    // 5,000 elements, each awaited a turn: the input is read (and checked) in the turns after the first.
    const rdd = new MapAsyncRDD(
      new RangeRDD(WORKER_RDD_CONTEXT, { start: 0, step: 1, count: 5000, numSlices: 1 }, { id: 1, label: 'range' }),
      async (x: number) => x + 1,
      4,
      { id: 2, label: 'mapAsync' },
    );
    const a = task(1);
    setCurrentTask(a);
    setInterruptibleTask(1);
    const awaited = rdd.awaitPartition(0, tc, a);
    // Task 2 starts while task 1 awaits, and is asked to stop.
    setCurrentTask(task(2));
    setInterruptibleTask(2);
    requestInterrupt(buffer, 2);
    await awaited;
    expect([...rdd.compute(0, tc)].slice(-2)).toEqual([4999, 5000]);
    // Task 1's own request stops it, though task 2 is the one set when it resumes.
    const again = rdd.awaitPartition(0, { ...tc }, a);
    setInterruptibleTask(2);
    requestInterrupt(buffer, 1);
    await expect(again).rejects.toThrow(/task 1 was interrupted/);
    setCurrentTask(undefined);
  });
});

/** taskContext as a local binding: vitest renames imported ones inside shipped functions. */
const currentTask = taskContext;

/** ~10-20 µs of work a record, so that a partition computes for seconds. */
function slow(x: number): number {
  let s = 0;
  for (let i = 0; i < 3000; i++) s += Math.sqrt(i + x);
  return s;
}

/** ~50 µs a record: a partition of 100,000 records (read and sorted in tens of milliseconds) computes for seconds. */
function slower(x: number): number {
  let s = 0;
  for (let i = 0; i < 15_000; i++) s += Math.sqrt(i + x);
  return s;
}

const contexts: Context[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
});

/**
 * Runs `action` with a signal, aborts it once both workers compute tasks of the job's last stage, and returns the
 * events seen from the start to 2.5 s after the abort: past the 1 s kill grace, after which a task still computing
 * has its worker replaced.
 */
async function abortWhileComputing(sc: Context, action: (signal: AbortSignal) => Promise<unknown>, afterMs = 150): Promise<SchedulerEvent[]> {
  const events: SchedulerEvent[] = [];
  const ac = new AbortController();
  let lastStage = -1;
  const computing = new Set<number>();
  let started!: () => void;
  const bothComputing = new Promise<void>((resolve) => (started = resolve));
  const off = sc.events.onAny((e) => {
    events.push(e);
    if (e.type === 'jobStart') lastStage = Math.max(...e.stageIds);
    if (e.type === 'taskStart' && e.stageId === lastStage) {
      computing.add(e.workerIndex);
      if (computing.size === 2) started();
    }
  });
  const settled = action(ac.signal).then(
    () => new Error('the job ended before it was aborted'),
    (e: unknown) => e,
  );
  await bothComputing;
  await new Promise((r) => setTimeout(r, afterMs));
  ac.abort();
  const error = await settled;
  expect(error).toBeInstanceOf(AbortError);
  await new Promise((r) => setTimeout(r, 2500));
  off();
  return events;
}

const lost = (events: readonly SchedulerEvent[]) => events.filter((e) => e.type === 'workerLost' || e.type === 'executorRemoved');

describe('a cancelled job’s computing tasks stop at their next record: no worker replaced', () => {
  const context = (master = 'local[2]') => {
    const sc = new Context({ master, progress: false, ui: false, hints: false });
    contexts.push(sc);
    return sc;
  };

  it.each([
    ['range', (sc: Context) => sc.range(0, 4_000_000, 1, 2)],
    [
      'parallelize',
      (sc: Context) =>
        sc.parallelize(
          Array.from({ length: 1_000_000 }, (_, i) => i),
          2,
        ),
    ],
    [
      'a shuffle read (partitionBy)',
      (sc: Context) =>
        sc
          .range(0, 1_000_000, 1, 2)
          .map((x): [number, number] => [x % 1000, x])
          .partitionBy(2)
          .values(),
    ],
  ] as Array<[string, (sc: Context) => RDD<number>]>)('reading %s', async (_name, source) => {
    const sc = context();
    const events = await abortWhileComputing(sc, (signal) => source(sc).map(slow).count({ signal }));
    expect(lost(events)).toEqual([]);
    const killed = events.filter((e) => e.type === 'taskEnd' && e.result === 'killed');
    expect(killed.length).toBeGreaterThanOrEqual(2);
    expect(
      await sc
        .range(0, 1000, 1, 2)
        .map((x) => x + 1)
        .sum(),
    ).toBe(500_500);
  });

  it('reading a text file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-interrupt-'));
    try {
      const file = path.join(dir, 'lines.txt');
      writeFileSync(file, Array.from({ length: 1_000_000 }, (_, i) => `line ${i}`).join('\n'));
      const sc = context();
      const events = await abortWhileComputing(sc, (signal) =>
        sc
          .textFile(file, 2)
          .map(capture({ slow }, (l: string) => slow(l.length)))
          .count({ signal }),
      );
      expect(lost(events)).toEqual([]);
      expect(await sc.textFile(file, 2).count()).toBe(1_000_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reading cached partitions (elements and columns): the cache stays whole', async () => {
    const sc = context();
    const values = sc.range(0, 2_000_000, 1, 4).cache().setName('values');
    const sums = sc
      .range(0, 2_000_000, 1, 4)
      .map((x): [number, number] => [x, 1])
      .reduceByKey((a, b) => a + b, 4)
      .cache()
      .setName('sums');
    expect(await values.count()).toBe(2_000_000);
    expect(await sums.count()).toBe(2_000_000);
    const cachedParts = () => Object.fromEntries(sc.getRDDStorageInfo().map((i) => [i.name, i.numCachedPartitions]));
    expect(cachedParts()).toEqual({ values: 4, sums: 4 });
    const first = await abortWhileComputing(sc, (signal) => values.map(slow).count({ signal }));
    const second = await abortWhileComputing(sc, (signal) => sums.values().map(slow).count({ signal }));
    expect(lost([...first, ...second])).toEqual([]);
    expect(cachedParts()).toEqual({ values: 4, sums: 4 });
    expect(await sums.values().sum()).toBe(2_000_000);
  });

  it('a user’s loop that reads no record stops early when it asks taskContext().isInterrupted()', async () => {
    const sc = context();
    const events = await abortWhileComputing(sc, (signal) =>
      sc
        .range(0, 1000, 1, 2)
        .mapPartitions(
          capture({ currentTask, slow }, (it: Iterable<number>) => {
            const all = [...it];
            let round = 0;
            // Minutes of work unless interrupted.
            for (; round < 100_000 && !currentTask().isInterrupted(); round++) for (const x of all) slow(x);
            return [round];
          }),
        )
        .collect({ signal }),
    );
    expect(lost(events)).toEqual([]);
    expect(events.filter((e) => e.type === 'taskEnd' && e.result === 'killed').length).toBeGreaterThanOrEqual(2);
    // Outside a stopped task it reads false.
    expect(
      await sc
        .range(0, 4, 1, 2)
        .map(capture({ currentTask }, () => currentTask().isInterrupted()))
        .collect(),
    ).toEqual([false, false, false, false]);
  });

  it('a speculative race’s losing copy stops at its next record once the other copy wins, its worker kept', async () => {
    const sc = new Context({
      master: 'local[2]',
      progress: false,
      ui: false,
      hints: false,
      speculation: { enabled: true, quantile: 0.5, multiplier: 1.5, minRuntimeMs: 100, intervalMs: 20 },
    });
    contexts.push(sc);
    const events: SchedulerEvent[] = [];
    sc.events.onAny((e) => events.push(e));
    await sc.range(0, 4, 1, 2).count(); // both workers up
    // Partition 0's first attempt takes seconds (1,200,000 records of ~10 µs); every other attempt is quick.
    const n = await sc
      .range(0, 4_800_000, 1, 4)
      .map(capture({ currentTask, slow }, (x: number) => (currentTask().partitionId === 0 && currentTask().attemptNumber === 0 ? slow(x) : x)))
      .count();
    expect(n).toBe(4_800_000);
    const ends = events.filter(
      (e) => e.type === 'taskEnd' && e.partition === 0 && e.stageId === Math.max(...events.flatMap((j) => (j.type === 'jobStart' ? j.stageIds : []))),
    );
    const won = ends.find((e) => e.type === 'taskEnd' && e.result === 'success');
    expect(won, 'a copy of partition 0 won').toBeDefined();
    expect((won as Extract<SchedulerEvent, { type: 'taskEnd' }>).speculative).toBe(true);
    // The losing first attempt's end, waited for up to 30 s: computing on, it would end seconds after the winner.
    const deadline = Date.now() + 30_000;
    let lost0: SchedulerEvent | undefined;
    while (
      (lost0 = events.find((e) => e.type === 'taskEnd' && e.partition === 0 && e !== won && e.stageId === (won as { stageId: number }).stageId)) ===
        undefined &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 20));
    expect(lost0).toMatchObject({ result: 'killed', attempt: 0 });
    expect((lost0 as { time: number }).time - (won as { time: number }).time).toBeLessThan(2500);
    expect(lost(events)).toEqual([]);
  }, 60_000);

  it('on local-cluster (a task of an executor process’s thread)', async () => {
    const sc = context('local-cluster[2]');
    const events = await abortWhileComputing(sc, (signal) => sc.range(0, 4_000_000, 1, 2).map(slow).count({ signal }));
    expect(lost(events)).toEqual([]);
    expect(await sc.range(0, 1000, 1, 2).sum()).toBe(499_500);
  }, 60_000);
});

describe('a cancelled job stops at its next record on every path records flow through (pulled, exploded, paired)', () => {
  /**
   * A cached input (4 partitions of 500,000 numbers) and the job of each shape over it, aborted while both workers
   * compute: no worker replaced, the cache whole, the next job right.
   */
  it.each([
    [
      'a mapPartitions function reading its whole input before it returns',
      (values: RDD<number>) =>
        values.mapPartitions(
          capture({ slow }, (it: Iterable<number>) => {
            let sum = 0;
            for (const x of it) sum += slow(x);
            return [sum];
          }),
        ),
    ],
    [
      'a mapPartitions generator yielding 500,000 records for one it reads',
      (_values: RDD<number>, sc: Context) =>
        sc
          .parallelize([1, 2], 2)
          .mapPartitions(function* (it: Iterable<number>) {
            for (const n of it) for (let i = 0; i < 500_000; i++) yield n + i;
          })
          .map(slow),
    ],
    ['zip', (values: RDD<number>) => values.zip(values.map((x) => x + 1)).map(capture({ slow }, ([a, b]: [number, number]) => slow(a + b)))],
    [
      'cartesian with a left partition of one element',
      (values: RDD<number>, sc: Context) =>
        sc
          .parallelize([1, 2], 2)
          .cartesian(values)
          .map(capture({ slow }, ([a, b]: [number, number]) => slow(a + b))),
    ],
    [
      'flatMap exploding one record into 500,000 (an array)',
      (_values: RDD<number>, sc: Context) =>
        sc
          .parallelize([1, 2], 2)
          .flatMap((n) => Array.from({ length: 500_000 }, (_, i) => n + i))
          .map(slow),
    ],
    [
      'flatMap exploding one record into 500,000 (a generator)',
      (_values: RDD<number>, sc: Context) =>
        sc
          .parallelize([1, 2], 2)
          .flatMap(function* (n) {
            for (let i = 0; i < 500_000; i++) yield n + i;
          })
          .map(slow),
    ],
    [
      'the results of a mapAsync',
      (values: RDD<number>) =>
        values
          .filter((x) => x % 10 === 0)
          .mapAsync((x) => x)
          .map(capture({ slower }, (x: number) => slower(x))),
      // Aborted once the results are awaited: the synchronous computation over them runs.
      1000,
    ],
    [
      'a sortByKey’s sorted output',
      (values: RDD<number>) =>
        values
          .filter((x) => x % 10 === 0)
          .map((x): [number, number] => [-x, x])
          .sortByKey(true, 2)
          .values()
          .map(capture({ slower }, (x: number) => slower(x))),
      // Aborted once the task reads no more and sorts no more: it pushes the sorted records on.
      1000,
    ],
    [
      'a groupByKey’s groups',
      (values: RDD<number>) =>
        values
          .filter((x) => x % 10 === 0)
          .map((x): [number, number] => [x, x])
          .groupByKey(2)
          .map(capture({ slower }, ([k]: [number, number[]]) => slower(k))),
      1000,
    ],
  ] as Array<[string, (values: RDD<number>, sc: Context) => RDD<number>, number?]>)(
    '%s',
    async (_name, job, afterMs) => {
      const sc = new Context({ master: 'local[2]', progress: false, ui: false, hints: false });
      contexts.push(sc);
      const values = sc.range(0, 2_000_000, 1, 4).cache().setName('values');
      expect(await values.count()).toBe(2_000_000);
      const cachedParts = () => Object.fromEntries(sc.getRDDStorageInfo().map((i) => [i.name, i.numCachedPartitions]));
      expect(cachedParts()).toEqual({ values: 4 });
      const events = await abortWhileComputing(sc, (signal) => job(values, sc).count({ signal }), afterMs);
      expect(lost(events)).toEqual([]);
      expect(cachedParts()).toEqual({ values: 4 });
      expect(await values.map((x) => x % 7).sum()).toBe(5_999_995);
    },
    60_000,
  );
});

describe('file readers other than the text file’s, and unions and coalesces, stop at their next record too', () => {
  const context = () => {
    const sc = new Context({ master: 'local[2]', progress: false, ui: false, hints: false });
    contexts.push(sc);
    return sc;
  };

  it('reading a CSV file and fixed-length binary records', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-interrupt-'));
    try {
      const csv = path.join(dir, 'rows.csv');
      writeFileSync(csv, `n,s\n${Array.from({ length: 1_000_000 }, (_, i) => `${i},r${i}`).join('\n')}`);
      const bin = path.join(dir, 'records.bin');
      writeFileSync(bin, Buffer.alloc(8 * 1_000_000, 7));
      const sc = context();
      const rows = await abortWhileComputing(sc, (signal) =>
        sc
          .csvFile(csv, { minPartitions: 2 })
          .map(capture({ slow }, (r: Record<string, string>) => slow(r.s!.length)))
          .count({ signal }),
      );
      const records = await abortWhileComputing(sc, (signal) =>
        sc
          .binaryRecords(bin, 8, { minPartitions: 2 })
          .map(capture({ slow }, (r: Uint8Array) => slow(r[0]!)))
          .count({ signal }),
      );
      expect(lost(rows)).toEqual([]);
      expect(lost(records)).toEqual([]);
      expect(await sc.binaryRecords(bin, 8, { minPartitions: 2 }).count()).toBe(1_000_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.each([
    ['a union', (values: RDD<number>) => values.union(values.map((x) => x + 1)).map(slow)],
    ['a coalesce', (values: RDD<number>) => values.coalesce(2).map(slow)],
    [
      'a coalesce pulled by a mapPartitions',
      (values: RDD<number>) =>
        values.coalesce(2).mapPartitions(
          capture({ slow }, (it: Iterable<number>) => {
            let sum = 0;
            for (const x of it) sum += slow(x);
            return [sum];
          }),
        ),
    ],
  ] as Array<[string, (values: RDD<number>) => RDD<number>]>)(
    'reading cached partitions through %s',
    async (_name, shape) => {
      const sc = context();
      const values = sc.range(0, 2_000_000, 1, 4).cache().setName('values');
      expect(await values.count()).toBe(2_000_000);
      const events = await abortWhileComputing(sc, (signal) => shape(values).count({ signal }));
      expect(lost(events)).toEqual([]);
      expect(sc.getRDDStorageInfo().map((i) => i.numCachedPartitions)).toEqual([4]);
    },
    60_000,
  );
});
