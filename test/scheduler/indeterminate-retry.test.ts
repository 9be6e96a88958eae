/**
 * A shuffle computed again must never lose or duplicate records (Spark's SPARK-23207 / SPARK-23243). A reduce
 * partition computed again can come back in another order (spills, where the map outputs are), and an
 * order-sensitive step over it (repartition's round robin, zipWithIndex, sample, ...) then sends other records to
 * other reducers. When a worker dies after some reducers read the first computation, the rest would read the
 * second: records lost and doubled. The specs kill workers at random moments of such jobs and compare the
 * multiset of records with a fault-free run; the scheduler must compute the whole indeterminate stage and
 * everything read from it again, or fail the job with a clear error where results were already committed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { capture, type RDD } from 'kindling';
import { record, useContexts } from './helpers.js';
import { SPILLING, KEYS, expectedSums, killAfterFirstResult, problems, resubmitted, slow, sums } from './indeterminate-helpers.js';

// A 1 MB shuffle pool: whether a reduceByKey's table or fetched input spills depends on what else the worker
// holds at the time, so a partition computed again after a death comes back in another order (key order
// instead of first-seen order).
const context = useContexts({ hints: false, memory: SPILLING });

describe('output levels (Spark DeterministicLevel)', () => {
  it('are determinate at the sources, unordered after a shuffle, indeterminate after an order-sensitive step over a shuffle and below it', () => {
    const sc = context();
    const pairs = sc.range(100, undefined, 1, 4).map((i): [number, number] => [i % 7, i]);
    const reduced = pairs.reduceByKey((a, b) => a + b, 3);
    expect(pairs.outputLevel).toBe('determinate');
    expect(pairs.repartition(2).outputLevel).toBe('unordered');
    expect(pairs.zipWithIndex().outputLevel).toBe('determinate');
    expect(reduced.outputLevel).toBe('unordered');
    expect(reduced.map((kv) => kv).filter(() => true).outputLevel).toBe('unordered');
    expect(reduced.mapPartitions((it) => it).outputLevel).toBe('unordered');
    for (const step of [
      (r: RDD<[number, number]>) => r.repartition(2),
      (r: RDD<[number, number]>) => r.coalesce(2, true),
      (r: RDD<[number, number]>) => r.zipWithIndex(),
      (r: RDD<[number, number]>) => r.zipWithUniqueId(),
      (r: RDD<[number, number]>) => r.sample(false, 0.5, 1),
      (r: RDD<[number, number]>) => r.glom(),
      (r: RDD<[number, number]>) => r.mapPartitionsWithIndex((i, it) => Array.from(it, (x, j) => [x, i, j])),
      (r: RDD<[number, number]>) => r.zip(r.map((kv) => kv[0])),
    ]) {
      const rdd = step(reduced) as RDD<unknown>;
      expect(rdd.outputLevel, rdd.label).toBe('indeterminate');
      // The step named is the order-sensitive one (repartition's round robin inside it, or the RDD itself).
      expect(rdd.indeterminateSource?.orderSensitive, rdd.label).toBe(true);
      // Everything computed from it, across shuffles, is indeterminate too, and names the same step.
      const below = rdd.map((x) => [String(x).length, 1] as [number, number]).reduceByKey((a, b) => a + b);
      expect(below.outputLevel).toBe('indeterminate');
      expect(below.indeterminateSource).toBe(rdd.indeterminateSource);
    }
    // A coalesce without a shuffle, a union and a join keep the parents' worst level.
    expect(reduced.coalesce(1).outputLevel).toBe('unordered');
    expect(pairs.union(pairs).outputLevel).toBe('determinate');
    expect(pairs.union(reduced.repartition(2)).outputLevel).toBe('indeterminate');
  });
});

/** Runs added, at most, while no earlier run of a property made the scheduler run a stage again. */
const MORE_RUNS = 8;

/**
 * Checks `run` on fast-check's `numRuns` random arguments, then on more while none of those runs rolled a stage
 * back, and fails if none ever did: the property must not pass on runs whose fault cost nothing. Whether a kill at
 * a random moment forces a rollback is itself chance (a worker killed after its last task, whose outputs every
 * reader already took, loses nothing anyone needs), so a fixed number of runs would make the check a coin toss.
 * `run` returns whether its job ran a stage again.
 */
async function withSomeRollback<T>(numRuns: number, arb: fc.Arbitrary<T>, run: (args: T) => Promise<boolean>): Promise<void> {
  let rolledBack = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (args) => {
      if (await run(args)) rolledBack++;
    }),
    { numRuns, endOnFailure: true },
  );
  for (const args of fc.sample(arb, MORE_RUNS)) {
    if (rolledBack > 0) break;
    if (await run(args)) rolledBack++;
  }
  // The faults hit the job's last stages: stages were run again (the property was not checked on fault-free runs only).
  expect(rolledBack, `no stage was run again in ${numRuns} + ${MORE_RUNS} runs`).toBeGreaterThan(0);
}

describe('a shuffle computed again after a worker died (indeterminate stages)', () => {
  const expected = expectedSums();

  /** reduceByKey, repartition, collect with one worker killed at a random moment of the result stage: exact records. */
  async function repartitionSurvivesKill(options: Parameters<typeof context>[0], numRuns: number): Promise<void> {
    await withSomeRollback(numRuns, fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 40 })), async ([victim, delayMs]) => {
      const sc = context(options);
      const events = record(sc);
      await sc.range(2).count(); // both workers up, so the kill lands in the job
      const killed = killAfterFirstResult(sc, [victim], delayMs, (e) => e.name.startsWith('collect'));
      const out = await sums(sc).repartition(3).map(slow).collect();
      expect(killed()).toBe(true);
      expect(problems(out, expected).slice(0, 5), `victim ${victim}, ${delayMs} ms`).toEqual([]);
      expect(out).toHaveLength(KEYS);
      await sc.stop();
      return resubmitted(events) > 0;
    });
  }

  it('reduceByKey, repartition, collect: a worker killed at a random moment after reducers read never loses or duplicates records', async () => {
    await repartitionSurvivesKill({}, 6);
  }, 420_000);

  it('the mapreduce engine, whose results are files committed as they come: the same exact records (a later stage attempt commits anew)', async () => {
    await repartitionSurvivesKill({ engine: 'mapreduce' }, 6);
  }, 420_000);

  it('a second shuffle below the repartition, and two workers killed at once: the fault-free result', async () => {
    // Sums of the sums' last digits by residue: any record lost or doubled by the repartition changes them.
    const want = new Map<number, number>();
    for (const [k, v] of expected) want.set(k % 97, (want.get(k % 97) ?? 0) + v);
    await withSomeRollback(6, fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), async ([both, delayMs]) => {
      const sc = context();
      const events = record(sc);
      await sc.range(2).count();
      // The kill lands in the repartition's reduce stage (the shuffle map stage of the last shuffle).
      const killed = killAfterFirstResult(sc, both ? [0, 1] : [delayMs % 2], delayMs, (e) => e.name.includes('by residue'));
      const out = await sums(sc)
        .repartition(3)
        .map(slow)
        .map(([k, v]): [number, number] => [k % 97, v])
        .setName('by residue')
        .reduceByKey((a, b) => a + b, 2)
        .collect();
      expect(killed(), 'the fault was injected').toBe(true);
      expect(new Map(out), `both ${both}, ${delayMs} ms`).toEqual(want);
      expect(out).toHaveLength(want.size);
      await sc.stop();
      return resubmitted(events) > 0;
    });
  }, 480_000);

  it('zipWithIndex over a reduceByKey, then a shuffle by index: every key once, every index once, whenever a worker dies', async () => {
    await withSomeRollback(4, fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 40 })), async ([victim, delayMs]) => {
      const sc = context();
      const events = record(sc);
      await sc.range(2).count();
      const killed = killAfterFirstResult(sc, [victim], delayMs, (e) => e.name.startsWith('collect'));
      const out = await sums(sc)
        .zipWithIndex()
        .map(([[k], i]): [number, number] => [i, k])
        .partitionBy(3)
        .map(slow)
        .collect();
      expect(killed()).toBe(true);
      const indexes = out.map(([i]) => i).sort((a, b) => a - b);
      const keys = out.map(([, k]) => k).sort((a, b) => a - b);
      expect(out).toHaveLength(KEYS);
      expect(
        indexes.every((i, j) => i === j),
        `victim ${victim}, ${delayMs} ms: indexes`,
      ).toBe(true);
      expect(
        keys.every((k, j) => k === j),
        `victim ${victim}, ${delayMs} ms: keys`,
      ).toBe(true);
      await sc.stop();
      return resubmitted(events) > 0;
    });
  }, 360_000);

  it('a result stage that already ran side effects is not run again: the job fails naming the stage and the step, or gives exact counts', async () => {
    let failed = 0;
    for (let run = 0; run < 3; run++) {
      const sc = context();
      await sc.range(2).count();
      const seen = sc.collectionAccumulator<[number, number]>();
      const killed = killAfterFirstResult(sc, [run % 2], 0, (e) => e.name.startsWith('foreach'));
      const rdd = sums(sc).repartition(3).map(slow);
      const error = await rdd.foreach(capture({ seen }, (kv: [number, number]) => seen.add(kv))).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      if (error === undefined) {
        // The dead worker held nothing that had to be computed again: every record seen once.
        expect(problems(seen.value, expected).slice(0, 5)).toEqual([]);
      } else {
        failed++;
        expect(error.name).toBe('JobFailedError');
        expect(error.message).toMatch(/must be computed again, and its output is indeterminate/);
        expect(error.message).toMatch(/repartition/);
        expect(error.message).toMatch(/foreach function has run/);
      }
      expect(killed()).toBe(true);
      // The context goes on: the same RDD's job runs to the right result once no fault hits it.
      expect(problems(await rdd.collect(), expected)).toEqual([]);
      await sc.stop();
    }
    expect(failed).toBeGreaterThan(0);
  }, 180_000);
});
