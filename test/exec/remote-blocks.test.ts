/**
 * Remote cached-block reads (Spark's BlockManager.getRemoteValues): a task that runs away from the worker caching its
 * partition reads the block from that worker instead of computing it again; when the holder is gone mid-fetch, it
 * computes the partition from its input, as before. Everything runs through real worker threads (and, once, the
 * executor processes of local-cluster).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { capture, Context, taskContext, type RDD } from 'kindling';

const currentTask = taskContext;

const contexts: Context[] = [];
/**
 * One task at a time per worker and no locality wait: a task whose partition is cached on a busy worker runs on the
 * free one at once (how the specs force a task onto the worker that does not hold its block).
 */
function context(options: ConstructorParameters<typeof Context>[0] = {}): Context {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, localityWaitMs: 0, slotsPerWorker: 1, ...options });
  contexts.push(sc);
  return sc;
}
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
});

type TaskEnd = { workerIndex: number; locality: string; metrics?: { inputRecords: number } };

/** Caches `rdd` (one partition) and returns the worker holding it. */
async function cacheOnOneWorker<T>(sc: Context, rdd: RDD<T>): Promise<number> {
  const ends: TaskEnd[] = [];
  const off = sc.events.on('taskEnd', ((e: TaskEnd) => ends.push(e)) as never);
  await rdd.cache().count();
  off();
  expect(ends).toHaveLength(1);
  return ends[0]!.workerIndex;
}

/**
 * Reads the cached partition twice in one job (a union of the RDD with itself): the first task takes the holder (held
 * there by a straggler delay), so the second runs on the other worker.
 */
async function readTwiceAway<T>(sc: Context, rdd: RDD<T>, holder: number): Promise<{ values: T[]; ends: TaskEnd[] }> {
  const ends: TaskEnd[] = [];
  const off = sc.events.on('taskEnd', ((e: TaskEnd) => ends.push(e)) as never);
  sc.faults.slowWorker(holder, 1000);
  try {
    const values = await rdd.union(rdd).collect();
    return { values, ends };
  } finally {
    sc.faults.slowWorker(holder, 0);
    off();
  }
}

describe('a cached partition read by a task on another worker', () => {
  it.each([
    ['numbers (stored as a column)', (sc: Context) => sc.range(0, 5000, 1, 1).map((x) => x * 0.5)],
    [
      'pairs of a number and a list (stored as CSR columns)',
      (sc: Context) => sc.range(0, 500, 1, 1).map((x) => [x, [x, x + 1, x + 2]] as [number, number[]]),
    ],
    ['objects and strings (stored as an array)', (sc: Context) => sc.range(0, 500, 1, 1).map((x) => ({ k: `key ${x}`, v: [x, 'a'] }))],
  ])('of %s is fetched from the worker holding it, not computed again', async (_, make) => {
    const sc = context();
    const rdd = make(sc) as RDD<unknown>;
    const holder = await cacheOnOneWorker(sc, rdd);
    const expected = await rdd.collect();
    expect(sc.timesComputed(rdd)).toBe(1);
    const { values, ends } = await readTwiceAway(sc, rdd, holder);
    expect(values).toEqual([...expected, ...expected]);
    const away = ends.filter((e) => e.workerIndex !== holder);
    expect(away).toHaveLength(1);
    expect(away[0]!.locality).toBe('ANY');
    // Read as input (Spark counts a cached block read remotely as input too), and never computed again.
    expect(away[0]!.metrics?.inputRecords).toBe(expected.length);
    expect(sc.timesComputed(rdd)).toBe(1);
  });

  it('is computed again from its input when the holder dies while it is asked (the right result, the next job runs)', async () => {
    const sc = context();
    const rdd = sc.range(0, 2000, 1, 1).map((x) => x * 3);
    const holder = await cacheOnOneWorker(sc, rdd);
    const expected = await rdd.collect();
    // The holder's task computes synchronously for a long time (its first attempt only), so it cannot answer the
    // other worker's request for the block; the holder is killed as soon as that request's task starts.
    const busy = rdd.union(rdd).mapPartitions(
      capture({ currentTask }, (it: Iterable<number>) => {
        const tc = currentTask();
        if (tc.partitionId === 0 && tc.attemptNumber === 0) {
          const until = Date.now() + 8000;
          while (Date.now() < until);
        }
        return it;
      }),
    );
    let killed: Promise<void> | undefined;
    sc.events.on('taskStart', ((e: { workerIndex: number; partition?: number }) => {
      if (e.workerIndex !== holder && killed === undefined) killed = sc.faults.killWorker(holder);
    }) as never);
    const values = await busy.collect();
    await killed;
    expect(killed).toBeDefined();
    expect(values).toEqual([...expected, ...expected]);
    expect(await sc.parallelize([1, 2, 3], 2).count()).toBe(3);
  });
});

describe('on local-cluster[2] (executor processes: the block travels over their TCP transport)', () => {
  it('a cached partition read away from its holder is fetched, not computed again', async () => {
    const sc = context({ master: 'local-cluster[2]' });
    const rdd = sc.range(0, 3000, 1, 1).map((x) => [x % 7, x] as [number, number]);
    const holder = await cacheOnOneWorker(sc, rdd);
    const expected = await rdd.collect();
    const { values, ends } = await readTwiceAway(sc, rdd, holder);
    expect(values).toEqual([...expected, ...expected]);
    expect(ends.filter((e) => e.workerIndex !== holder)).toHaveLength(1);
    expect(sc.timesComputed(rdd)).toBe(1);
  });
});
