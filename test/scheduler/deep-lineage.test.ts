/**
 * Iterative programs build deep lineages: the scheduler and the workers walk them without recursion limits,
 * and a later job reuses the shuffle outputs of earlier iterations instead of recomputing them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, type RDD } from 'kindling';

describe('deep lineage', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('runs 300 iterations each ending in a shuffle, and prints the lineage', async () => {
    let rdd: RDD<[number, number]> = sc.parallelize(
      Array.from({ length: 20 }, (_, i): [number, number] => [i % 5, 1]),
      2,
    );
    for (let i = 0; i < 300; i++) rdd = rdd.mapValues((v) => v + 1).reduceByKey((a, b) => a + b, 2);
    const result = new Map(await rdd.collect());
    // Each iteration adds 1 to every value, then merges the values of a key.
    expect([...result.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(result.get(0)).toBe(result.get(4));
    expect(rdd.toDebugString().split('\n').length).toBe(601);
  });

  it('pipelines 1,500 narrow transformations in one stage', async () => {
    let rdd: RDD<number> = sc.range(100, undefined, 1, 2);
    for (let i = 0; i < 1500; i++) rdd = rdd.map((x) => x + 1);
    const stages: number[] = [];
    const off = sc.events.on('stageSubmitted', (e) => stages.push(e.stageId));
    expect(await rdd.sum()).toBe(4950 + 1500 * 100);
    off();
    expect(stages).toHaveLength(1);
  });

  it('a later job reuses the shuffle outputs of an earlier one (no map stage runs again)', async () => {
    const counts = sc
      .range(1000, undefined, 1, 4)
      .map((x): [number, number] => [x % 10, 1])
      .reduceByKey((a, b) => a + b);
    expect(await counts.count()).toBe(10);
    const submitted: string[] = [];
    const off = sc.events.on('stageSubmitted', (e) => submitted.push(e.name));
    expect((await counts.collectAsMap()).get(3)).toBe(100);
    off();
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toMatch(/^collect at /);
  });
});
