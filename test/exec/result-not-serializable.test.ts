/**
 * A task whose result cannot reach the driver (Spark: "Task N in stage S had a not serializable result"): the same
 * function on the same input returns the same value on every attempt, so the job fails at the first attempt rather
 * than after maxTaskFailures identical ones, naming the job, stage, partition, RDD and where in the value the cause
 * sits. The context stays usable, and a failure that may pass (a thrown error) is still retried. Each engine sends
 * results its own way (memory: the worker's postMessage; mapreduce: v8.serialize into a file) and a cluster through
 * an executor process, so each is checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, Context, JobFailedError, taskContext } from 'kindling';
import type { TaskEndEvent } from '../../src/scheduler/events.js';
import { redisSkipReason } from '../streaming/redis-server.js';

const currentTask = taskContext;

const SETUPS: Array<{ master: string; engine: 'memory' | 'mapreduce' }> = [
  { master: 'local[2]', engine: 'memory' },
  { master: 'local[2]', engine: 'mapreduce' },
  ...(redisSkipReason === undefined ? [{ master: 'local-cluster[2]', engine: 'memory' as const }] : []),
];

async function failure(run: () => Promise<unknown>): Promise<JobFailedError> {
  const error = await run().then(
    (value) => new Error(`expected a failure, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobFailedError);
  return error as JobFailedError;
}

describe.each(SETUPS)('a result that cannot be sent to the driver ($master, $engine engine)', ({ master, engine }) => {
  let sc: Context;
  const ends: TaskEndEvent[] = [];
  /** The stages of the jobs started since `reset()`: a loaded machine may deliver an earlier job's ends late. */
  const stages = new Set<number>();
  beforeAll(() => {
    sc = new Context({ master, engine, progress: false, ui: false, hints: false });
    sc.events.on('jobStart', (e) => {
      for (const id of e.stageIds) stages.add(id);
    });
    sc.events.on('taskEnd', (e) => ends.push(e));
  });
  const reset = (): void => {
    ends.length = 0;
    stages.clear();
  };
  const ended = (): TaskEndEvent[] => ends.filter((e) => stages.has(e.stageId));
  afterAll(() => sc.stop());

  /** The failed attempts of the stages `run` ran. */
  async function failedAttempts(run: () => Promise<unknown>): Promise<{ error: JobFailedError; attempts: number[] }> {
    reset();
    const error = await failure(run);
    return {
      error,
      attempts: ended()
        .filter((e) => e.result === 'failed')
        .map((e) => e.attempt),
    };
  }

  it('a function in a collected element: the job fails at the first attempt, naming job, stage, partition, RDD and path', async () => {
    const made = sc.parallelize([1, 2, 3, 4], 2).map((x) => ({ x, later: () => x }));
    const { error, attempts } = await failedAttempts(() => made.collect());
    expect(attempts.every((a) => a === 0)).toBe(true);
    expect(error.message).toMatch(
      new RegExp(
        `^Job \\d+ failed: task for partition [01] of stage \\d+ \\(collect at .*\\) failed 1 time, in ${made.label.replace(/[()]/g, '\\$&')}\\.`,
      ),
    );
    expect(error.message).toMatch(
      /DataCloneError: task \d+ could not be returned to the driver: .* could not be cloned; result\[0\]\.later is a function \(the result of collect for partition [01]\)/,
    );
    expect(error.message).toContain('not retried');
    expect(error.location).toMatchObject({ rddId: made.id });
  });

  it('a symbol, a WeakMap deep inside, and a reduce that returns a function: each named by its path, none retried', async () => {
    const symbol = await failedAttempts(() =>
      sc
        .parallelize([1, 2], 2)
        .map((x) => ({ x, tag: Symbol('t') }))
        .collect(),
    );
    expect(symbol.error.message).toMatch(/result\[0\]\.tag is a symbol/);
    const weak = await failedAttempts(() =>
      sc
        .parallelize([1], 1)
        .map((x) => ({ x, deep: [{ cache: new WeakMap() }] }))
        .collect(),
    );
    expect(weak.error.message).toMatch(/result\[0\]\.deep\[0\]\.cache is a WeakMap/);
    const reduced = await failedAttempts(() =>
      sc
        .parallelize([1, 2], 1)
        .map((x) => () => x)
        .reduce((a) => a),
    );
    expect(reduced.error.message).toMatch(/result\.value is a function \(the result of reduce for partition 0\)/);
    for (const { attempts } of [symbol, weak, reduced]) expect(attempts.every((a) => a === 0)).toBe(true);
  });

  it('a class instance whose methods would be lost is refused once, as before but without the retries', async () => {
    const made = sc.parallelize([1], 1).map((x) => {
      class Box {
        constructor(readonly v: number) {}
        get twice(): () => number {
          return () => this.v * 2;
        }
      }
      return new Box(x);
    });
    const { error, attempts } = await failedAttempts(() => made.collect());
    expect(attempts).toEqual([0]);
    expect(error.message).toMatch(/UnclonableDataError: The result of collect on RDD \d+ .* holds at \[0\] an instance of Box/);
  });

  it("a custom accumulator's copy that cannot go back fails its task at once, naming the accumulator", async () => {
    const seen = sc.customAccumulator({
      zero: () => [] as unknown[],
      add: (a: unknown[], v: unknown) => {
        a.push(v);
        return a;
      },
      merge: (a: unknown[], b: unknown[]) => [...a, ...b],
    });
    const { error, attempts } = await failedAttempts(() => sc.parallelize([1, 2], 1).foreach(capture({ seen }, (x) => seen.add(() => x))));
    expect(attempts).toEqual([0]);
    expect(error.message).toMatch(new RegExp(`the task's copy of accumulator ${seen.id}\\[0\\] is a function`));
  });

  it('the context stays usable, and an error thrown by the function is still retried', async () => {
    expect(
      await sc
        .parallelize([1, 2, 3], 2)
        .map((x) => x * 2)
        .collect(),
    ).toEqual([2, 4, 6]);
    reset();
    const got = await sc
      .parallelize([1, 2, 3], 1)
      .map(
        capture({ currentTask }, (x: number) => {
          if (currentTask().attemptNumber === 0) throw new Error('transient');
          return x;
        }),
      )
      .collect();
    expect(got).toEqual([1, 2, 3]);
    expect(ended().map((e) => [e.attempt, e.result])).toEqual([
      [0, 'failed'],
      [1, 'success'],
    ]);
  });
});
