/**
 * countApprox, sumApprox and meanApprox: at the timeout, Spark's estimate from the partitions finished so far, with
 * its confidence interval; the exact value when the job ends first; the job runs on and `finalValue()` gives its
 * exact value. A partition whose task waits for a file (written by the test once the estimate is in) makes the
 * partial answer deterministic. Expected bounds are Spark's evaluators' formulas computed with scipy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedDouble, capture, PartialResult, type RDD, taskContext, useModule } from 'kindling';
import { MODES, useContext } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-approx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let gates = 0;

/**
 * 0..n-1 in 4 partitions; the last one's task waits until `open()` is called (and fails then, if asked). It waits
 * without holding its worker's thread (an awaited timer, as a partition waiting on I/O does), so the worker
 * reports the tasks it finished before it: the partial answer counts exactly the other three partitions.
 */
function gated(rdd: RDD<number>, failAfter = false): { rdd: RDD<number>; open: () => void } {
  const gate = path.join(dir, `gate-${gates++}`);
  const fs = useModule<typeof import('node:fs')>('node:fs');
  const last = rdd.getNumPartitions() - 1;
  const task = taskContext;
  const out = rdd.mapAsync(
    capture({ gate, fs, last, failAfter, task }, async (x: number) => {
      if (task().partitionId === last) {
        while (!fs.existsSync(gate)) await new Promise((resolve) => setTimeout(resolve, 20));
        if (failAfter) throw new Error('the last partition failed');
      }
      return x;
    }),
  );
  return { rdd: out, open: () => writeFileSync(gate, '') };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** Long enough for three tiny tasks of a started pool to finish at load 20+. */
const TIMEOUT_MS = 5000;

describe.each(MODES)('countApprox (%s)', (master) => {
  const ctx = useContext(master);
  // The waiting partition is a skewed stage by design: no hint about it.
  beforeAll(() => ctx().setLogLevel('ERROR'));

  it('answers at the timeout from the partitions counted, then gives the exact count', async () => {
    await ctx().parallelize([1], 2).count(); // workers started before the clock runs
    const { rdd, open } = gated(ctx().parallelize(range(400), 4));
    const r = await rdd.countApprox(TIMEOUT_MS);
    try {
      expect(r).toBeInstanceOf(PartialResult);
      expect(r.isInitialValueFinal).toBe(false);
      // 300 counted in 3 of 4 partitions: the rest Poisson(100), whose 2.5% and 97.5% quantiles are 81 and 120.
      expect(r.initialValue).toEqual(new BoundedDouble(400, 0.95, 381, 420));
      expect(String(r)).toBe('(partial: [381.000, 420.000])');
    } finally {
      open();
    }
    expect(await r.finalValue()).toEqual(new BoundedDouble(400, 1, 400, 400));
    expect(String(r)).toBe('(final: [400.000, 400.000])');
  });

  it('gives the exact count, final at once, when the job ends before the timeout', async () => {
    const started = Date.now();
    const r = await ctx().parallelize(range(1000), 3).countApprox(600_000, 0.5);
    expect(Date.now() - started).toBeLessThan(600_000);
    expect(r.isInitialValueFinal).toBe(true);
    expect(r.initialValue).toEqual(new BoundedDouble(1000, 1, 1000, 1000));
    expect(await r.finalValue()).toBe(r.initialValue);
    expect((await ctx().emptyRDD().countApprox(1000)).initialValue).toEqual(new BoundedDouble(0, 1, 0, 0));
  });

  it("waits for the job with a timeout past Node's longest timer (Infinity, 2 ** 31), which fired after 1 ms", async () => {
    for (const timeout of [Number.POSITIVE_INFINITY, 2 ** 31]) {
      const { rdd, open } = gated(ctx().parallelize(range(400), 4));
      const answer = rdd.countApprox(timeout);
      // The answer must wait for the gated partition: opened well after a 1 ms timer would have fired.
      await new Promise((resolve) => setTimeout(resolve, 300));
      open();
      const r = await answer;
      expect(r.isInitialValueFinal).toBe(true);
      expect(r.initialValue).toEqual(new BoundedDouble(400, 1, 400, 400));
    }
  });
});

describe('sumApprox, meanApprox and failures', () => {
  const ctx = useContext('local[2]');
  beforeAll(() => ctx().setLogLevel('ERROR'));

  it("sumApprox: the seen sum plus the seen mean times the unseen count, Spark's normal interval", async () => {
    await ctx().parallelize([1], 2).count();
    const { rdd, open } = gated(ctx().parallelize(range(400), 4));
    const r = await rdd.sumApprox(TIMEOUT_MS).finally(open);
    expect(r.isInitialValueFinal).toBe(false);
    // 0..299 seen (n 300 > 100: the normal's 1.96).
    expect(r.initialValue.mean).toBe(59800);
    expect(r.initialValue.confidence).toBe(0.95);
    expect(r.initialValue.low).toBeCloseTo(56275.21790733601, 6);
    expect(r.initialValue.high).toBeCloseTo(63324.78209266399, 6);
    expect(await r.finalValue()).toEqual(new BoundedDouble(79800, 1, 79800, 79800));
  });

  it("meanApprox: the seen mean with a normal interval over 100 numbers, Student's t up to 100", async () => {
    const big = gated(ctx().parallelize(range(400), 4));
    const r = await big.rdd.meanApprox(TIMEOUT_MS).finally(big.open);
    expect(r.isInitialValueFinal).toBe(false);
    expect(r.initialValue.mean).toBe(149.5);
    expect(r.initialValue.low).toBeCloseTo(139.6838606323186, 9);
    expect(r.initialValue.high).toBeCloseTo(159.3161393676814, 9);
    expect(await r.finalValue()).toEqual(new BoundedDouble(199.5, 1, 199.5, 199.5));

    const small = gated(ctx().parallelize(range(40), 4));
    const s = await small.rdd.meanApprox(TIMEOUT_MS).finally(small.open);
    // 0..29 seen: t with 29 degrees of freedom (2.045...).
    expect(s.initialValue.mean).toBe(14.5);
    expect(s.initialValue.low).toBeCloseTo(11.212753267540268, 9);
    expect(s.initialValue.high).toBeCloseTo(17.78724673245973, 9);
    await s.finalValue();
  });

  it("of no numbers, all partitions done: sumApprox and meanApprox are exactly 0, as Spark's StatCounter mean (mean() agrees)", async () => {
    // Spark's MeanEvaluator answers counter.mean once every partition is merged: 0.0 for no numbers, not NaN.
    for (const rdd of [ctx().emptyRDD<number>(), ctx().parallelize<number>([], 3)]) {
      const mean = await rdd.meanApprox(600_000);
      expect(mean.isInitialValueFinal).toBe(true);
      expect(mean.initialValue).toEqual(new BoundedDouble(0, 1, 0, 0));
      expect(mean.initialValue.mean).toBe(await rdd.mean());
      expect((await rdd.sumApprox(600_000)).initialValue).toEqual(new BoundedDouble(0, 1, 0, 0));
    }
  });

  it('rejects a job that fails before the timeout; a failure after it reaches finalValue()', async () => {
    await expect(
      ctx()
        .parallelize([1, 2, 'x' as unknown as number], 2)
        .sumApprox(600_000),
    ).rejects.toThrow(/holds string "x"/);
    const { rdd, open } = gated(ctx().parallelize(range(40), 4), true);
    const r = await rdd.countApprox(TIMEOUT_MS).finally(open);
    expect(r.isInitialValueFinal).toBe(false);
    await expect(r.finalValue()).rejects.toThrow(/the last partition failed/);
    // The context goes on.
    expect(await ctx().parallelize(range(10), 2).count()).toBe(10);
  });

  it("refuses arguments Spark's require()s refuse", () => {
    const r = ctx().parallelize([1, 2]);
    expect(() => r.countApprox(-1)).toThrow(/timeout must be/);
    expect(() => r.countApprox(100, 1.5)).toThrow(/confidence must be in \[0, 1\]/);
    expect(() => r.meanApprox(Number.NaN)).toThrow(/timeout must be/);
  });
});
