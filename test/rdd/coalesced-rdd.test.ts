/**
 * coalesce(n) without a shuffle groups parent partitions by where they are cached (Spark's DefaultPartitionCoalescer:
 * parents with the same preferred location go together, balanced), so each coalesced task reads its cached parents
 * on the worker it runs on; with nothing cached, neighbouring ranges in order, as before.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { capture, Context } from 'kindling';
import { coalesceGroups } from '../../src/rdd/coalesced-rdd.js';

describe('coalesceGroups', () => {
  it('without locations: neighbouring ranges, in order (element order kept)', () => {
    expect(coalesceGroups(4, 2, () => undefined)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(coalesceGroups(5, 3, () => undefined)).toEqual([[0], [1, 2], [3, 4]]);
    expect(coalesceGroups(3, 1, () => undefined)).toEqual([[0, 1, 2]]);
  });

  it('partitions interleaved over two workers: each group on one worker, balanced', () => {
    expect(coalesceGroups(4, 2, (q) => q % 2)).toEqual([
      [0, 2],
      [1, 3],
    ]);
    expect(coalesceGroups(8, 4, (q) => q % 2)).toEqual([
      [0, 2],
      [1, 3],
      [4, 6],
      [5, 7],
    ]);
    // coalesce(1) reads everything, in order.
    expect(coalesceGroups(4, 1, (q) => q % 2)).toEqual([[0, 1, 2, 3]]);
  });

  it('a worker holding few partitions keeps them home when balance allows, else they join the smallest group', () => {
    // 3 on worker 0, 1 on worker 1, two groups: one per worker (the tie goes to the worker without a group).
    expect(coalesceGroups(4, 2, (q) => (q === 1 ? 1 : 0))).toEqual([[0, 2, 3], [1]]);
    // 9 on worker 0, 1 on worker 1: balance wins, the lone partition is read remotely.
    const groups = coalesceGroups(10, 2, (q) => (q === 9 ? 1 : 0));
    expect(groups.map((g) => g.length).sort()).toEqual([5, 5]);
    // Partitions held nowhere fill in.
    expect(coalesceGroups(4, 2, (q) => (q < 2 ? 0 : undefined))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('property: n non-empty sorted groups covering every parent once; groups within rounding of even, local when even', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 40 })
          .chain((parentN) =>
            fc.tuple(
              fc.constant(parentN),
              fc.integer({ min: 1, max: parentN }),
              fc.array(fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), { minLength: parentN, maxLength: parentN }),
            ),
          ),
        ([parentN, n, locs]) => {
          const groups = coalesceGroups(parentN, n, (q) => locs[q]);
          expect(groups).toHaveLength(n);
          for (const g of groups) {
            expect(g.length).toBeGreaterThan(0);
            expect([...g].sort((a, b) => a - b)).toEqual(g);
          }
          expect(groups.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: parentN }, (_, i) => i));
          // When every worker's share of the n groups is whole, every group is on one worker and the sizes are even.
          const counts = new Map<number | undefined, number>();
          for (const w of locs) counts.set(w, (counts.get(w) ?? 0) + 1);
          if (!counts.has(undefined) && [...counts.values()].every((c) => (n * c) % parentN === 0)) {
            for (const g of groups) expect(new Set(g.map((q) => locs[q])).size).toBe(1);
            const sizes = groups.map((g) => g.length);
            expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('coalesce of a cached RDD on local[2]', () => {
  const contexts: Context[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
  });

  it('each coalesced task reads its cached parents on the worker it runs on; the elements are the same', async () => {
    // One task per worker, so the workers interleave the partitions while caching (those tasks prefer no worker):
    // partition 0 is quick, so its worker takes 2 (slow) while the other is still on 1, then takes 3. A long locality
    // wait holds each coalesced task for the worker it prefers, however loaded the machine.
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, slotsPerWorker: 1, localityWaitMs: 60_000 });
    contexts.push(sc);
    const sleepMs = [0, 400, 1200, 0];
    const parent = sc
      .parallelize(
        Array.from({ length: 40 }, (_, i) => i),
        4,
      )
      .mapPartitionsWithIndex(
        capture({ sleepMs }, (i: number, it: Iterable<number>) => {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sleepMs[i]!);
          return it;
        }),
      )
      .cache();
    const holder = new Map<number, number>();
    const off = sc.events.on('taskEnd', ((e: { partition: number; workerIndex: number }) => holder.set(e.partition, e.workerIndex)) as never);
    await parent.count();
    off();
    expect(holder.size).toBe(4);

    const coalesced = parent.coalesce(2);
    const ends: Array<{ partition: number; workerIndex: number; locality: string }> = [];
    const off2 = sc.events.on('taskEnd', ((e: { partition: number; workerIndex: number; locality: string }) => ends.push(e)) as never);
    const glommed = await coalesced.glom().collect();
    off2();
    const dep = coalesced.dependencies[0]!;
    expect(dep.type).toBe('narrow');
    for (const e of ends) {
      const parents = dep.type === 'narrow' ? dep.getParents(e.partition) : [];
      // Every parent of the task is cached where it ran: no remote cached-block read.
      for (const q of parents) expect(holder.get(q), `parent ${q} of coalesced partition ${e.partition}`).toBe(e.workerIndex);
    }
    expect(ends).toHaveLength(2);
    expect(glommed.map((g) => g.length)).toEqual([20, 20]);
    expect(
      glommed
        .flat()
        .slice()
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(sc.timesComputed(parent)).toBe(1);
    // The same groups in a later job (fixed once known, as Spark's partitions are).
    expect(await coalesced.glom().collect()).toEqual(glommed);
  });
});
