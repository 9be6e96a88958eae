/**
 * Pair operations on elements that are not pairs `[key, value]`. Types stop this in TypeScript, but not in
 * JavaScript, nor after a cast, nor for arrays of the wrong length (`line.split(',')`). Every pair operation
 * fails the job naming the RDD that needs pairs, the RDD that produced the element, and the element, instead of
 * reading `x[0]` and `x[1]` of whatever it got (`[1, 2, 3].reduceByKey(f)` used to give `[[undefined, NaN]]`).
 * The error is deterministic but retried like any task failure (Spark retries it too); the job's error shows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, HashPartitioner, JobFailedError, type RDD } from 'kindling';

type P = [string, number];
/** The test hands non-pairs to pair operations, as JavaScript code can. */
const asPairs = (rdd: RDD<unknown>): RDD<P> => rdd as RDD<P>;

async function failure(run: () => Promise<unknown>): Promise<Error> {
  const outcome = await run().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

describe('pair operations refuse elements that are not pairs (local[2])', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false });
  });
  afterAll(async () => {
    await sc.stop();
  });
  /** Every element is 7, so whichever task fails first, the message shows `produced 7`. */
  const sevens = (): RDD<unknown> => sc.parallelize([7, 7, 7, 7], 2).setName('sevens');
  const pairs = (): RDD<P> =>
    sc.parallelize<P>(
      [
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ],
      2,
    );

  it('reduceByKey (map-side combine) fails naming both RDDs and the element; every attempt is listed; the context keeps working', async () => {
    const input = sevens();
    const summed = asPairs(input).reduceByKey((a, b) => a + b);
    const e = await failure(() => summed.collect());
    expect(e).toBeInstanceOf(JobFailedError);
    expect(e.message).toContain(`NotAPairError: ${summed.label} needs pairs [key, value], but ${input.label} produced 7`);
    expect(e.message).toContain(`RDD ${input.id} (sevens)`);
    // Deterministic, yet retried like every task failure (Spark's spark.task.maxFailures); each attempt says why.
    expect((e as JobFailedError).causes).toHaveLength(4);
    for (const cause of (e as JobFailedError).causes) expect(cause).toMatchObject({ name: 'NotAPairError' });
    expect(
      await pairs()
        .reduceByKey((a, b) => a + b)
        .collectAsMap(),
    ).toEqual(
      new Map([
        ['a', 4],
        ['b', 2],
      ]),
    );
  });

  it('arrays of another length and strings of two characters are not pairs', async () => {
    const triples = sc.parallelize([['a', 1, 'x']], 1);
    const e1 = await failure(() =>
      asPairs(triples)
        .reduceByKey((a, b) => a + b)
        .collect(),
    );
    expect(e1.message).toContain(`but ${triples.label} produced ["a",1,"x"]`);
    const strings = sc.parallelize(['ab'], 1);
    const e2 = await failure(() => asPairs(strings).groupByKey().collect());
    expect(e2.message).toContain(`but ${strings.label} produced "ab"`);
  });

  // Every pair operation, each with the operation (an RDD label, or the action's name) that must name itself.
  const cases: Array<[string, (input: RDD<unknown>) => { consumer: RegExp | string; run: () => Promise<unknown> }]> = [
    ['reduceByKey', (r) => label(asPairs(r).reduceByKey((a, b) => a + b))],
    [
      'aggregateByKey',
      (r) =>
        label(
          asPairs(r).aggregateByKey(
            0,
            (a, v) => a + v,
            (a, b) => a + b,
          ),
        ),
    ],
    ['foldByKey', (r) => label(asPairs(r).foldByKey(0, (a, b) => a + b))],
    [
      'combineByKey',
      (r) =>
        label(
          asPairs(r).combineByKey(
            (v) => [v],
            (c, v) => [...c, v],
            (a, b) => [...a, ...b],
          ),
        ),
    ],
    ['groupByKey', (r) => label(asPairs(r).groupByKey())],
    ['partitionBy', (r) => label(asPairs(r).partitionBy(3))],
    ['sortByKey', (r) => label(asPairs(r).sortByKey())],
    ['mapValues', (r) => label(asPairs(r).mapValues((v) => v + 1))],
    ['flatMapValues', (r) => label(asPairs(r).flatMapValues((v) => [v, v]))],
    ['keys', (r) => label(asPairs(r).keys())],
    ['values', (r) => label(asPairs(r).values())],
    ['join', (r) => ({ consumer: COGROUP, run: () => asPairs(r).join(pairs()).collect() })],
    ['leftOuterJoin', (r) => ({ consumer: COGROUP, run: () => asPairs(r).leftOuterJoin(pairs()).collect() })],
    ['rightOuterJoin (non-pairs on the right)', (r) => ({ consumer: COGROUP, run: () => pairs().rightOuterJoin(asPairs(r)).collect() })],
    ['fullOuterJoin', (r) => ({ consumer: COGROUP, run: () => asPairs(r).fullOuterJoin(pairs()).collect() })],
    ['cogroup', (r) => ({ consumer: COGROUP, run: () => asPairs(r).cogroup(pairs()).collect() })],
    ['subtractByKey', (r) => ({ consumer: COGROUP, run: () => asPairs(r).subtractByKey(pairs()).collect() })],
    ['lookup', (r) => ({ consumer: 'lookup', run: () => asPairs(r).lookup('a') })],
    ['countByKey', (r) => ({ consumer: /RDD \d+ \(countByKey at non-pairs\.test\.ts:\d+\)/, run: () => asPairs(r).countByKey() })],
    ['collectAsMap', (r) => ({ consumer: 'collectAsMap', run: () => asPairs(r).collectAsMap() })],
  ];
  /** The cogroup RDD that joins and subtractByKey build, named after the user's call site. */
  const COGROUP = /RDD \d+ \(cogroup at non-pairs\.test\.ts:\d+\)/;
  function label(rdd: RDD<unknown>): { consumer: string; run: () => Promise<unknown> } {
    return { consumer: rdd.label, run: () => rdd.collect() };
  }

  it.each(cases)('%s fails naming the operation, the producing RDD and the element', async (name, make) => {
    const input = sevens();
    const { consumer, run } = make(input);
    const e = await failure(run);
    // The method a JavaScript caller wrote (joins are named by the cogroup they build, as in Spark).
    if (!/join|cogroup|subtractByKey/i.test(name))
      expect(e.message).toMatch(new RegExp(`\\b${name} (at non-pairs\\.test\\.ts:\\d+\\) )?needs pairs`));
    const tail = ` needs pairs [key, value], but ${input.label} produced 7`;
    if (typeof consumer === 'string') expect(e.message).toContain(consumer + tail);
    else expect(e.message).toMatch(new RegExp(consumer.source + escape(tail)));
  });

  it('co-partitioned inputs, read without a shuffle, are checked too: a narrow join and a combine inside partitions', async () => {
    const part = new HashPartitioner(2);
    const right = pairs().partitionBy(part);
    // A mapPartitions that claims to keep the partitioning but emits non-pairs.
    const broken = pairs()
      .partitionBy(part)
      .mapPartitions((it) => [...it].map(() => 7), true);
    const joined = (broken as RDD<unknown> as RDD<P>).join(right);
    // The only shuffles are the two partitionBy: the join reads both sides narrowly.
    expect(joined.toDebugString().match(/\+-/g)).toHaveLength(2);
    const e1 = await failure(() => joined.collect());
    expect(e1.message).toMatch(new RegExp(`RDD \\d+ \\(cogroup at [^)]*\\)${escape(` needs pairs [key, value], but ${broken.label} produced 7`)}`));

    const combined = (broken as RDD<unknown> as RDD<P>).reduceByKey((a, b) => a + b, part);
    expect(combined.toDebugString().match(/\+-/g)).toHaveLength(1);
    const e2 = await failure(() => combined.collect());
    expect(e2.message).toContain(`${combined.label} needs pairs [key, value], but ${broken.label} produced 7`);
  });

  it('pairs still work through every operation checked above', async () => {
    const part = new HashPartitioner(2);
    const a = pairs().partitionBy(part);
    expect(await a.join(pairs().partitionBy(part)).count()).toBe(5);
    expect(
      await pairs()
        .mapValues((v) => v * 2)
        .values()
        .sum(),
    ).toBe(12);
    expect(await pairs().lookup('a')).toEqual([1, 3]);
    expect(await pairs().countByKey()).toEqual(
      new Map([
        ['a', 2],
        ['b', 1],
      ]),
    );
    expect(await pairs().sortByKey(false).keys().collect()).toEqual(['b', 'a', 'a']);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
