/**
 * Scala's `sc.longAccumulator` / `sc.doubleAccumulator` (sum, count, avg, isZero, reset on the driver; each successful
 * task counted once) and `sc.defaultMinPartitions`.
 */
import { describe, expect, it } from 'vitest';
import { capture, DoubleAccumulator, LongAccumulator } from 'kindling';
import { MODES, useContext } from '../rdd/helpers.js';

describe.each(MODES)('long and double accumulators (%s)', (master) => {
  const ctx = useContext(master);

  it('sum and count what tasks add; the driver reads value, sum, count, avg, isZero', async () => {
    const n = ctx().longAccumulator('lengths');
    expect(n).toBeInstanceOf(LongAccumulator);
    expect([n.value, n.count, n.isZero, n.avg]).toEqual([0, 0, true, Number.NaN]);
    const words = ctx().parallelize(['a', 'bb', 'ccc', 'dddd', 'eeeee'], 3);
    await words.foreach(capture({ n }, (w) => n.add(w.length)));
    expect([n.value, n.sum, n.count, n.avg, n.isZero]).toEqual([15, 15, 5, 3, false]);
    n.add(5); // on the driver too
    expect([n.value, n.count]).toEqual([20, 6]);
    n.reset();
    expect([n.value, n.count, n.isZero]).toEqual([0, 0, true]);

    const d = ctx().doubleAccumulator();
    expect(d).toBeInstanceOf(DoubleAccumulator);
    await ctx()
      .parallelize([0.5, 1.25, 2], 2)
      .foreach(capture({ d }, (x) => d.add(x)));
    expect([d.value, d.count, d.avg]).toEqual([3.75, 3, 1.25]);
    const other = ctx().doubleAccumulator();
    other.add(0.25);
    d.merge(other);
    expect([d.sum, d.count]).toEqual([4, 4]);
  });

  it('a long accumulator refuses a fraction, failing the task; reading it inside a task is refused', async () => {
    const n = ctx().longAccumulator();
    await expect(
      ctx()
        .parallelize([1.5], 1)
        .foreach(capture({ n }, (x) => n.add(x))),
    ).rejects.toThrow(/adds whole numbers, got 1.5/);
    expect(() => n.add(0.5)).toThrow(/adds whole numbers/);
    await expect(
      ctx()
        .parallelize([1], 1)
        .map(capture({ n }, (x) => x + n.value))
        .collect(),
    ).rejects.toThrow(/cannot be read inside a task/);
    expect(n.isZero).toBe(true);
  });

  it("defaultMinPartitions is min(defaultParallelism, 2), the readers' default", () => {
    expect(ctx().defaultMinPartitions).toBe(Math.min(ctx().defaultParallelism, 2));
  });
});
