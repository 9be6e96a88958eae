/**
 * A job group's cancellation reaches an action from its call to its end (Spark's job exists from its submission on):
 * cancelJobGroup()/cancelAllJobs() landing in the turns between the call (or the backend becoming ready) and the DAG
 * scheduler registering the job found no job, returned [], and the job ran to its result.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, Context, capture, type SchedulerEvent } from 'kindling';

let sc: Context;
const events: SchedulerEvent[] = [];
beforeAll(async () => {
  sc = new Context({ master: 'local[2]', progress: false, ui: false, hints: false });
  sc.events.onAny((e) => events.push(e));
  expect(await sc.range(0, 4, 1, 2).count()).toBe(4); // started: both workers up
});
afterAll(() => sc.stop());

const started = (from: number) => events.slice(from).filter((e) => e.type === 'jobStart');

describe('a group cancelled before its job is registered', () => {
  it.each([
    ['cancelJobGroup', (c: Context) => c.cancelJobGroup('g1'), /job group 'g1' was cancelled/],
    ['cancelAllJobs', (c: Context) => c.cancelAllJobs(), /cancelAllJobs\(\) was called/],
  ] as const)('%s right after the action’s call (nothing awaited between) rejects it, and no job starts', async (_name, cancel, reason) => {
    const from = events.length;
    const pending = sc.withJobGroup('g1', () => sc.range(0, 1000, 1, 2).count());
    const ids = cancel(sc);
    expect(ids).toEqual([]); // not registered yet: no id to return
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).message).toMatch(/count at .* was cancelled before its job started/);
    expect((error as Error).message).toMatch(reason);
    expect(started(from)).toEqual([]);
    expect(await sc.range(0, 1000, 1, 2).sum()).toBe(499_500);
  });

  it('cancelJobGroup while the DAG scheduler prepares the lineage (the backend ready, the job not yet registered)', async () => {
    const from = events.length;
    const rdd = sc.range(0, 1000, 1, 2).map((x) => x + 1);
    let cancelledIds: number[] | undefined;
    // The hook: the scheduler awaits each RDD's preparation (a sortByKey's sample) just before it registers the job.
    (rdd as { prepare?: () => Promise<void> }).prepare = async () => {
      cancelledIds = sc.cancelJobGroup('g2');
    };
    const error = await sc
      .withJobGroup('g2', () => rdd.count())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(cancelledIds).toEqual([]);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).message).toMatch(/was cancelled before its job started: its job group 'g2' was cancelled/);
    expect(started(from)).toEqual([]);
    expect(await sc.range(0, 1000, 1, 2).sum()).toBe(499_500);
  });
});

/** ~10 µs of work a record. */
function slow(x: number): number {
  let s = 0;
  for (let i = 0; i < 1500; i++) s += Math.sqrt(i + x);
  return x + 0 * s;
}

describe('a group cancelled at a random moment from the action’s call to its end', () => {
  const actions: ReadonlyArray<readonly [string, (c: Context, n: number) => Promise<unknown>, (n: number) => unknown]> = [
    ['count', (c, n) => c.range(0, n, 1, 2).map(slow).count(), (n) => n],
    ['sum', (c, n) => c.range(0, n, 1, 2).map(slow).sum(), (n) => (n * (n - 1)) / 2],
    // take's later jobs read more partitions: the cancel may land between its jobs.
    [
      'take',
      (c, n) =>
        c
          .range(0, n, 1, 8)
          .filter(capture({ n }, (x: number) => x >= n - 3))
          .take(2),
      (n) => [n - 3, n - 2],
    ],
    [
      'reduceByKey collect',
      (c, n) =>
        c
          .range(0, n, 1, 2)
          .map((x): [number, number] => [x % 3, 1])
          .reduceByKey((a, b) => a + b, 2)
          .collectAsMap(),
      (n) => new Map([0, 1, 2].map((k) => [k, Math.floor((n - 1 - k) / 3) + 1])),
    ],
  ];
  const moments = fc.oneof(
    fc.record({ at: fc.constant('microtasks' as const), n: fc.nat(60) }),
    fc.record({ at: fc.constant('ms' as const), n: fc.nat(300) }),
  );

  it('resolves with the right result, or rejects with an AbortError naming the job or its group; never a result once a cancel returned its job; the pool whole; the next job right', async () => {
    let group = 0;
    const tally = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.nat(actions.length - 1), fc.integer({ min: 200, max: 20_000 }), moments, fc.boolean(), async (a, n, moment, all) => {
        const [name, run, expected] = actions[a]!;
        const g = `random-${group++}`;
        const from = events.length;
        let settled = false;
        const pending = sc.withJobGroup(g, () => run(sc, n)).finally(() => (settled = true));
        if (moment.at === 'microtasks') for (let i = 0; i < moment.n; i++) await undefined;
        else await new Promise((r) => setTimeout(r, moment.n));
        const wasSettled = settled;
        const ids = all ? sc.cancelAllJobs() : sc.cancelJobGroup(g);
        const outcome = await pending.then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        if ('value' in outcome) {
          expect(outcome.value).toEqual(expected(n));
          // A cancel that found the job running must have ended it.
          expect(ids, `${name}: resolved after cancel returned its job`).toEqual([]);
        } else {
          expect(outcome.error).toBeInstanceOf(AbortError);
          expect(wasSettled).toBe(false);
          const message = (outcome.error as Error).message;
          expect(message).toMatch(all ? /cancelAllJobs\(\) was called/ : new RegExp(`job group '${g}' was cancelled`));
          expect(message).toMatch(/^(Job \d+ \(.+\) was cancelled|.+ was cancelled before its job started)/);
        }
        const key = `${name}: ${'value' in outcome ? 'resolved' : ids.length > 0 ? 'cancelled running' : 'cancelled before'}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        expect(events.slice(from).filter((e) => e.type === 'workerLost')).toEqual([]);
        expect(await sc.range(0, 100, 1, 2).sum()).toBe(4950);
      }),
      { numRuns: 30 },
    );
    console.log(`random group cancels: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
  }, 300_000);
});
