/**
 * Every window operation against a naive model that recomputes each window from its batches: random batch
 * contents, and window and slide drawn independently as multiples of the batch interval (a window that is not a
 * multiple of its slide, and one shorter than its slide, which Spark accepts too), on a manual clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectBatches, manual, sortedPairs, useStreamingContext } from './helpers.js';

const INTERVAL = 100;

/** The batches (t - windowMs, t] of each window time t, a multiple of the slide up to the last batch. */
function windowsOf<T>(batches: readonly T[][], windowMs: number, slideMs: number): Array<[number, T[]]> {
  const out: Array<[number, T[]]> = [];
  for (let t = slideMs; t <= batches.length * INTERVAL; t += slideMs) {
    out.push([t, batches.flatMap((b, i) => ((i + 1) * INTERVAL > t - windowMs && (i + 1) * INTERVAL <= t ? b : []))]);
  }
  return out;
}

function countsOf(xs: readonly string[]): [string, number][] {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return sortedPairs([...m]);
}

const scenario = fc.record({
  batches: fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 5 }), { minLength: 1, maxLength: 10 }),
  windowBatches: fc.integer({ min: 1, max: 5 }),
  slideBatches: fc.integer({ min: 1, max: 4 }),
});

describe('window operations against a naive model (manual clock, property)', () => {
  const { sc } = useStreamingContext();

  it('window, countByWindow, reduceByWindow, reduceByKeyAndWindow (with and without inverse) and countByValueAndWindow', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batches, windowBatches, slideBatches }) => {
        const windowMs = windowBatches * INTERVAL;
        const slideMs = slideBatches * INTERVAL;
        const spec = { window: windowMs, slide: slideMs };
        const { ssc, tick } = manual(sc(), INTERVAL);
        const words = ssc.queueStream(batches.map((b) => [...b]));
        const pairs = words.map((w): [string, number] => [w, 1]);
        const lengths = words.map((w) => w.charCodeAt(0));
        const windowed = collectBatches(words.window(windowMs, slideMs));
        const counted = collectBatches(words.countByWindow(windowMs, slideMs));
        const summed = collectBatches(lengths.reduceByWindow((a, b) => a + b, spec));
        const summedInverse = collectBatches(lengths.reduceByWindow((a, b) => a + b, { ...spec, inverse: (a, b) => a - b }));
        const plain = collectBatches(pairs.reduceByKeyAndWindow((a, b) => a + b, spec));
        const inverse = collectBatches(pairs.reduceByKeyAndWindow((a, b) => a + b, { ...spec, inverse: (a, b) => a - b }));
        const filtered = collectBatches(
          pairs.reduceByKeyAndWindow((a, b) => a + b, { ...spec, inverse: (a, b) => a - b, filter: ([, n]) => n > 0, partitions: 3 }),
        );
        const byValue = collectBatches(words.countByValueAndWindow(windowMs, slideMs));
        await ssc.start();
        await tick(batches.length);
        await ssc.stop({ stopContext: false });

        const model = windowsOf(batches, windowMs, slideMs);
        const times = model.map(([t]) => t);
        expect(windowed.map(([t, xs]) => [t, [...xs].sort()])).toEqual(model.map(([t, xs]) => [t, [...xs].sort()]));
        expect(counted).toEqual(model.map(([t, xs]) => [t, [xs.length]]));
        const sums = model.map(([t, xs]): [number, number[]] => [t, xs.length === 0 ? [] : [xs.reduce((a, w) => a + w.charCodeAt(0), 0)]]);
        expect(summed).toEqual(sums);
        // With an inverse, a window its batches left keeps the zero (Spark keeps the key; reduceByWindow has no filter).
        expect(summedInverse.map(([t, v]) => [t, v.filter((n) => n !== 0)])).toEqual(sums);
        const counts = model.map(([t, xs]) => [t, countsOf(xs)]);
        expect(plain.map(([t, kv]) => [t, sortedPairs(kv)])).toEqual(counts);
        expect(filtered.map(([t, kv]) => [t, sortedPairs(kv)])).toEqual(counts);
        expect(byValue.map(([t, kv]) => [t, sortedPairs(kv)])).toEqual(counts);
        // Without a filter, a key whose count went back to 0 stays in the window with 0, as in Spark.
        expect(inverse.map(([t, kv]) => [t, sortedPairs(kv.filter(([, n]) => n !== 0))])).toEqual(counts);
        for (const [, kv] of inverse) for (const [, n] of kv) expect(n).toBeGreaterThanOrEqual(0);
        expect([windowed, counted, plain, inverse, byValue].map((out) => out.map(([t]) => t))).toEqual(Array(5).fill(times));
      }),
      { numRuns: 25 },
    );
  });

  it('with an inverse and no filter, a key that left the window stays with its zero until the window is recomputed', async () => {
    const { ssc, tick } = manual(sc(), INTERVAL);
    const pairs = ssc.queueStream([['a'], ['b'], [], []]).map((w): [string, number] => [w, 1]);
    const got = collectBatches(pairs.reduceByKeyAndWindow((a, b) => a + b, { window: 2 * INTERVAL, inverse: (a, b) => a - b }));
    await ssc.start();
    await tick(4);
    await ssc.stop({ stopContext: false });
    expect(got.map(([t, kv]) => [t, sortedPairs(kv)])).toEqual([
      [100, [['a', 1]]],
      [
        200,
        [
          ['a', 1],
          ['b', 1],
        ],
      ],
      [
        300,
        [
          ['a', 0],
          ['b', 1],
        ],
      ],
      [
        400,
        [
          ['a', 0],
          ['b', 0],
        ],
      ],
    ]);
  });

  it('with an inverse, a window shorter than its slide holds only its own batches, not those between two windows', async () => {
    // Before: the batch at 300 ms (between the windows (100, 200] and (300, 400]) was "leaving" and "entering" at
    // once, and a key seen only there was kept at 400 ms with its count (Spark's slices do the same).
    const { ssc, tick } = manual(sc(), INTERVAL);
    const pairs = ssc.queueStream([['a'], ['b'], ['c'], ['b']]).map((w): [string, number] => [w, 1]);
    const got = collectBatches(pairs.reduceByKeyAndWindow((a, b) => a + b, { window: INTERVAL, slide: 2 * INTERVAL, inverse: (a, b) => a - b }));
    await ssc.start();
    await tick(4);
    await ssc.stop({ stopContext: false });
    expect(got.map(([t, kv]) => [t, sortedPairs(kv.filter(([, n]) => n !== 0))])).toEqual([
      [200, [['b', 1]]],
      [400, [['b', 1]]],
    ]);
  });
});
