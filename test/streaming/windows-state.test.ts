/**
 * Windows and state against plain references: an inverse-reduced window equals the same window recomputed from
 * scratch (fast-check over random batches, windows and slides), and updateStateByKey equals a running fold.
 */
import { existsSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { collectBatches, manual, sortedPairs, UNTIL, useStreamingContext } from './helpers.js';

/** Per valid window time t (a multiple of the slide), the counts of each key over batches (t - window, t]. */
function windowCountsRef(batches: string[][], intervalMs: number, windowMs: number, slideMs: number): Array<[number, [string, number][]]> {
  const out: Array<[number, [string, number][]]> = [];
  for (let t = slideMs; t <= batches.length * intervalMs; t += slideMs) {
    const counts = new Map<string, number>();
    batches.forEach((b, i) => {
      const bt = (i + 1) * intervalMs;
      if (bt > t - windowMs && bt <= t) for (const k of b) counts.set(k, (counts.get(k) ?? 0) + 1);
    });
    out.push([t, sortedPairs([...counts])]);
  }
  return out;
}

const scenario = fc.record({
  batches: fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 6 }), { minLength: 1, maxLength: 9 }),
  windowBatches: fc.integer({ min: 1, max: 4 }),
  slideBatches: fc.integer({ min: 1, max: 3 }),
});

describe('windows and state (manual clock)', () => {
  const { sc } = useStreamingContext();

  it('reduceByKeyAndWindow with an inverse equals it without one and the from-scratch reference (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batches, windowBatches, slideBatches }) => {
        const interval = 100;
        const windowMs = windowBatches * slideBatches * interval;
        const slideMs = slideBatches * interval;
        const { ssc, tick } = manual(sc(), interval);
        const pairs = ssc.queueStream(batches.map((b) => [...b])).map((w): [string, number] => [w, 1]);
        const spec = { window: windowMs, slide: slideMs };
        // Checkpoint every other slide, so the property also covers windows read back from checkpoint files.
        const inverse = pairs
          .reduceByKeyAndWindow((a, b) => a + b, { ...spec, inverse: (a, b) => a - b, filter: ([, n]) => n > 0 })
          .checkpoint(2 * slideMs);
        const inverseNoFilter = pairs.reduceByKeyAndWindow((a, b) => a + b, { ...spec, inverse: (a, b) => a - b, partitions: 3 });
        const plain = pairs.reduceByKeyAndWindow((a, b) => a + b, spec);
        const byValue = pairs.map(([w]) => w).countByValueAndWindow(windowMs, slideMs);
        const out = [inverse, inverseNoFilter, plain, byValue].map((s) => collectBatches(s));
        const ones = pairs.map(() => 1);
        const totalInverse = collectBatches(ones.reduceByWindow((a, b) => a + b, { ...spec, inverse: (a, b) => a - b }));
        const totalPlain = collectBatches(ones.reduceByWindow((a, b) => a + b, spec));
        const counted = collectBatches(pairs.countByWindow(windowMs, slideMs));
        await ssc.start();
        await tick(batches.length);
        await ssc.stop({ stopContext: false });
        const expected = windowCountsRef(batches, interval, windowMs, slideMs);
        const norm = (xs: Array<[number, [string, number][]]>, dropZeros: boolean) =>
          xs.map(([t, kv]) => [t, sortedPairs(dropZeros ? kv.filter(([, n]) => n !== 0) : kv)]);
        expect(norm(out[0]!, false)).toEqual(expected);
        // Without a filter, keys whose count fell to 0 stay (as in Spark); the others match.
        expect(norm(out[1]!, true)).toEqual(expected);
        for (const [, kv] of out[1]!) for (const [, n] of kv) expect(n).toBeGreaterThanOrEqual(0);
        expect(norm(out[2]!, false)).toEqual(expected);
        expect(norm(out[3]!, false)).toEqual(expected);
        const totals = expected.map(([t, kv]): [number, number] => [t, kv.reduce((a, [, n]) => a + n, 0)]);
        expect(counted).toEqual(totals.map(([t, n]) => [t, [n]]));
        // A reduce of an empty window has no element; with an inverse, a window emptied by leaving batches keeps 0.
        expect(totalPlain).toEqual(totals.map(([t, n]) => [t, n > 0 ? [n] : []]));
        expect(totalInverse.map(([t, v]) => [t, v.filter((n) => n !== 0)])).toEqual(totals.map(([t, n]) => [t, n > 0 ? [n] : []]));
      }),
      { numRuns: 12 },
    );
  });

  it('with an inverse, each window combines only the batches entering and leaving it', async () => {
    const interval = 100;
    const { ssc, tick } = manual(sc(), interval);
    const batches = Array.from({ length: 12 }, (_, i) => [`k${i % 3}`, 'x']);
    const pairs = ssc.queueStream(batches).map((w): [string, number] => [w, 1]);
    const win = pairs.reduceByKeyAndWindow((a, b) => a + b, { window: 800, inverse: (a, b) => a - b });
    const unions: number[] = [];
    win.foreachRDD(async (rdd) => {
      // window = flatMap(groupByKey(union(parts))): count the union's inputs, the RDDs combined for this window. The
      // parts share a partitioner, so the union is Spark's partitioner-aware one (no shuffle after it).
      let r = rdd as unknown as { kind: string; dependencies: readonly { rdd: unknown }[] };
      while (r.kind !== 'UnionRDD' && r.kind !== 'PartitionerAwareUnionRDD') r = r.dependencies[0]!.rdd as typeof r;
      unions.push(r.dependencies.length);
      await rdd.count();
    });
    await ssc.start();
    await tick(12);
    await ssc.stop({ stopContext: false });
    // Batch 1: one new batch. Afterwards: previous window + one entering (+ one leaving once the window is full).
    expect(unions[0]).toBe(1);
    expect(unions[1]).toBe(2);
    expect(unions.slice(8).every((n) => n === 3)).toBe(true);
  });

  it('updateStateByKey matches a running fold, removes keys on undefined, and checkpoints its state', async () => {
    const interval = 100;
    const { ssc, tick } = manual(sc(), interval);
    const rng = fc.sample(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'reset'), fc.integer({ min: 1, max: 9 })), { maxLength: 8 }), {
      numRuns: 30,
      seed: 42,
    });
    const pairs = ssc.queueStream(rng.map((b) => b.map(([k, v]): [string, number] => [k, v])));
    // A key's state is its running sum; 'reset' values remove a key whose sum passed 20.
    const state = pairs
      .updateStateByKey((values: number[], prev?: number) => {
        const s = (prev ?? 0) + values.reduce((a, b) => a + b, 0);
        return s > 20 ? undefined : s;
      })
      .checkpoint(500);
    const got = collectBatches(state);
    const depths: number[] = [];
    const checkpointed: boolean[] = [];
    const checkpointIds: number[] = [];
    state.foreachRDD((rdd) => {
      depths.push(rdd.toDebugString().split('\n').length);
      // The first output's job has run by now, and with it the checkpoint job of a due state RDD.
      checkpointed.push(rdd.isCheckpointed);
      if (rdd.isCheckpointed) checkpointIds.push(rdd.id);
    });
    await ssc.start();
    await tick(rng.length);
    await ssc.stop({ stopContext: false });

    const ref = new Map<string, number>();
    const expected: Array<[number, [string, number][]]> = [];
    rng.forEach((batch, i) => {
      const byKey = new Map<string, number[]>();
      for (const [k, v] of batch) byKey.set(k, [...(byKey.get(k) ?? []), v]);
      for (const k of new Set([...ref.keys(), ...byKey.keys()])) {
        const s = (ref.get(k) ?? 0) + (byKey.get(k) ?? []).reduce((a, b) => a + b, 0);
        if (s > 20) ref.delete(k);
        else ref.set(k, s);
      }
      expected.push([(i + 1) * interval, sortedPairs([...ref])]);
    });
    expect(got.map(([t, kv]) => [t, sortedPairs(kv)])).toEqual(expected);
    // Checkpoints every 5 batches keep the lineage from growing with the number of batches.
    expect(Math.max(...depths.slice(10))).toBeLessThanOrEqual(Math.max(...depths.slice(0, 10)));
    expect(checkpointed.flatMap((c, i) => (c ? [(i + 1) * interval] : []))).toEqual([500, 1000, 1500, 2000, 2500, 3000]);
    // Older state checkpoints are deleted once a newer one cut the lineage: disk use does not grow with time.
    const ckpt = sc().checkpointDir!;
    await vi.waitFor(() => {
      const left = checkpointIds.filter((id) => existsSync(`${ckpt}/rdd-${id}`));
      expect(left.length).toBeGreaterThanOrEqual(1);
      expect(left.length).toBeLessThanOrEqual(2);
      expect(left).toContain(checkpointIds.at(-1));
    }, UNTIL);
    expect(readdirSync(ckpt).length).toBeGreaterThan(0);
  });

  it('a worker killed mid-batch changes nothing: cached window and state partitions are recomputed from lineage', async () => {
    const interval = 100;
    const { ssc, tick } = manual(sc(), interval);
    const batches = Array.from({ length: 10 }, (_, i) => Array.from({ length: 20 }, (_, j) => `k${(i * 7 + j) % 5}`));
    const pairs = ssc.queueStream(batches).map((w): [string, number] => [w, 1]);
    const state = pairs.updateStateByKey((vs: number[], st?: number) => (st ?? 0) + vs.length).checkpoint(400);
    const win = pairs.reduceByKeyAndWindow((a, b) => a + b, { window: 300, inverse: (a, b) => a - b, filter: ([, n]) => n > 0 });
    const stateOut: Array<[string, number][]> = [];
    const winOut: Array<[string, number][]> = [];
    let batch = 0;
    state.foreachRDD(async (rdd) => {
      batch++;
      // Kill a worker while this batch's jobs run: its cached blocks and shuffle outputs are lost.
      const job = rdd.collect();
      if (batch === 3 || batch === 6) await sc().faults.killWorker(batch % 2);
      stateOut.push(sortedPairs(await job));
    });
    win.foreachRDD(async (rdd) => void winOut.push(sortedPairs(await rdd.collect())));
    await ssc.start();
    await tick(batches.length);
    await ssc.stop({ stopContext: false });
    const total = new Map<string, number>();
    batches.forEach((b, i) => {
      for (const k of b) total.set(k, (total.get(k) ?? 0) + 1);
      expect(stateOut[i]).toEqual(sortedPairs([...total]));
      const w = new Map<string, number>();
      for (const k of batches.slice(Math.max(0, i - 2), i + 1).flat()) w.set(k, (w.get(k) ?? 0) + 1);
      expect(winOut[i]).toEqual(sortedPairs([...w]));
    });
  });
});
