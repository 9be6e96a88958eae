/**
 * Back pressure: Spark's PID rate estimator (cases from its PIDRateEstimatorSuite plus the design's worked
 * example), and the three modes against a producer that is always ready (far faster than any batch).
 */
import { describe, expect, it, vi } from 'vitest';
import { type BatchSubmittedEvent, InvalidArgumentError, PidRateEstimator, type RateUpdatedEvent } from 'kindling';
import { manual, UNTIL, useStreamingContext } from './helpers.js';
import { liveHeapBytes } from '../fixtures/live-heap.js';

describe('PidRateEstimator', () => {
  it('gives no estimate for the first batch, then one for the second', () => {
    const pid = new PidRateEstimator(1000);
    expect(pid.compute(1000, 10, 10, 0)).toBeUndefined();
    expect(pid.compute(2000, 10, 10, 0)).toBeDefined();
  });

  it('gives no estimate when time did not advance, no records came, or processing took no time', () => {
    const pid = new PidRateEstimator(1000);
    pid.compute(1000, 10, 10, 0);
    expect(pid.compute(1000, 10, 10, 0)).toBeUndefined();
    expect(pid.compute(2000, 0, 10, 0)).toBeUndefined();
    expect(pid.compute(3000, 10, 0, 0)).toBeUndefined();
  });

  it('without scheduling delay, follows the processing speed (10 records in 10 ms: 1000/s)', () => {
    const pid = new PidRateEstimator(1000, { proportional: 1, integral: 1, derivative: 0 });
    pid.compute(1000, 50, 100, 0);
    expect(pid.compute(2000, 10, 10, 0)).toBeCloseTo(1000, 9);
    expect(pid.compute(3000, 3000, 1000, 0)).toBeCloseTo(3000, 9);
  });

  it('never proposes less than minRate', () => {
    const pid = new PidRateEstimator(1000, { minRate: 100 });
    pid.compute(1000, 1000, 1000, 0);
    expect(pid.compute(2000, 1, 1000, 50_000)).toBe(100);
  });

  it('with scheduling delay, stays below the processing speed (the design worked example: 47k/s)', () => {
    const pid = new PidRateEstimator(1000);
    pid.compute(1000, 80_000, 1000, 0); // seeds 80k/s
    expect(pid.compute(2000, 60_000, 1200, 300)).toBeCloseTo(47_000, 6);
  });

  it('refuses negative gains and a non-positive minimum rate', () => {
    expect(() => new PidRateEstimator(1000, { integral: -1 })).toThrow(InvalidArgumentError);
    expect(() => new PidRateEstimator(1000, { minRate: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('back pressure of fromAsyncIterable (manual clock, producer always ready)', () => {
  const { sc } = useStreamingContext();

  function fastProducer() {
    const state = { pulled: 0 };
    async function* produce() {
      for (let i = 0; ; i++) {
        state.pulled = i + 1;
        yield i;
      }
    }
    return { state, iterable: produce() };
  }

  async function run(
    backpressure: Parameters<ReturnType<typeof manual>['ssc']['fromAsyncIterable']>[1],
    batches: number,
    /** Waits until the producer is where the test wants it before each batch is cut. */
    beforeBatch: (batch: number, pulled: () => number) => Promise<void>,
  ) {
    const { ssc, tick } = manual(sc());
    const { state, iterable } = fastProducer();
    const got: number[][] = [];
    const submitted: BatchSubmittedEvent[] = [];
    const off = sc().events.on('batchSubmitted', (e) => void submitted.push(e));
    ssc.fromAsyncIterable(iterable, backpressure).foreachRDD(async (rdd) => {
      got.push(await rdd.collect());
    });
    const heapBefore = process.memoryUsage().heapUsed;
    await ssc.start();
    for (let i = 0; i < batches; i++) {
      await beforeBatch(i, () => state.pulled);
      await tick();
    }
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    await ssc.stop({ stopContext: false });
    off();
    return { got, submitted, pulled: state.pulled, heapGrowth };
  }

  it('drop (newest): keeps the first maxBuffered records, counts the rest as dropped, memory stays bounded', async () => {
    // Before each batch, the producer runs at least 1,000 records past the previous cut.
    let last = 0;
    const { got, submitted, pulled, heapGrowth } = await run({ backpressure: { mode: 'drop', maxBuffered: 100 } }, 3, async (_i, pulled) => {
      await vi.waitFor(() => expect(pulled()).toBeGreaterThan(last + 1000), UNTIL);
      last = pulled();
    });
    // The producer really was faster: it yielded far more than three batches could hold.
    expect(pulled).toBeGreaterThan(3000);
    expect(got.map((b) => b.length)).toEqual([100, 100, 100]);
    const dropped = submitted.map((e) => e.sources[0]!.dropped);
    for (const d of dropped) expect(d).toBeGreaterThan(0);
    for (const e of submitted) expect(e.sources[0]!.buffered).toBeLessThanOrEqual(100);
    // Newest dropped: each batch is the 100 records that followed the previous batch and its drops, in order.
    expect(got[0]).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got[1]![0]).toBe(100 + dropped[0]!);
    expect(got[2]![0]).toBe(got[1]![0]! + 100 + dropped[1]!);
    for (const b of got) expect(b).toEqual(Array.from({ length: 100 }, (_, i) => b[0]! + i));
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
  });

  it('drop (oldest): keeps the latest maxBuffered records; what was dropped is exactly what precedes them', async () => {
    let last = 0;
    const { got, submitted } = await run({ backpressure: { mode: 'drop', maxBuffered: 50, dropPolicy: 'oldest' } }, 2, async (_i, pulled) => {
      await vi.waitFor(() => expect(pulled()).toBeGreaterThan(last + 500), UNTIL);
      last = pulled();
    });
    const dropped = submitted.map((e) => e.sources[0]!.dropped);
    expect(got.map((b) => b.length)).toEqual([50, 50]);
    expect(got[0]![0]).toBe(dropped[0]);
    expect(got[1]![0]).toBe(got[0]![49]! + 1 + dropped[1]!);
    for (const b of got) expect(b).toEqual(Array.from({ length: 50 }, (_, i) => b[0]! + i));
  });

  it('drop (oldest): holds no more than maxBuffered records between two cuts, however many it dropped meanwhile', async () => {
    // Each record is an 8 KB array: 20,000 of them held until the next cut would be 160 MB.
    const { ssc, tick } = manual(sc());
    let pulled = 0;
    async function* big() {
      for (;;) {
        pulled++;
        yield new Array<number>(1000).fill(pulled);
      }
    }
    const got: number[][] = [];
    ssc.fromAsyncIterable(big(), { backpressure: { mode: 'drop', maxBuffered: 50, dropPolicy: 'oldest' } }).foreachRDD(async (rdd) => {
      got.push((await rdd.collect()).map((r) => r[0]!));
    });
    const heapBefore = liveHeapBytes(true);
    await ssc.start();
    await vi.waitFor(() => expect(pulled).toBeGreaterThan(20_000), UNTIL);
    // Measured before the cut, after full collections: the records dropped since the start must be garbage (the heap
    // in use without a collection counted garbage not collected yet: 78 MB at load 11).
    const heapGrowth = liveHeapBytes(true) - heapBefore;
    await tick();
    await ssc.stop({ stopContext: false });
    expect(got[0]!.length).toBe(50);
    expect(got[0]![0]).toBeGreaterThan(20_000 - 50);
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
  });

  it('a graceful stop processes the buffer even when closing the producer fails; the error is printed, not the stream’s', async () => {
    const { ssc } = manual(sc());
    let pulled = 0;
    async function* producer() {
      try {
        for (;;) yield pulled++;
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: a producer whose cleanup fails, on purpose.
        throw new Error('closing the feed failed');
      }
    }
    const got: number[] = [];
    ssc.fromAsyncIterable(producer(), { name: 'feed', backpressure: { mode: 'buffer', maxBuffered: 5 } }).foreachRDD(async (rdd) => {
      got.push(...(await rdd.collect()));
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await ssc.start();
      await vi.waitFor(() => expect(pulled).toBe(5), UNTIL);
      await ssc.stop({ graceful: true, stopContext: false });
      await expect(ssc.awaitTermination()).resolves.toBe(true);
      expect(got).toEqual([0, 1, 2, 3, 4]);
      expect(warn.mock.calls.map((c) => String(c[0]))).toContain(
        'kindling: feed: the input failed while the stream stopped: closing the feed failed',
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('a graceful stop goes on when the input fails during it (a factory’s input): what was received is processed', async () => {
    const { ssc } = manual(sc(), 1000);
    let fail: ((e: Error) => void) | undefined;
    const feed = (): AsyncIterable<number> => {
      let i = 0;
      return {
        [Symbol.asyncIterator]: () => ({
          next: () => (i < 3 ? Promise.resolve({ done: false, value: i++ }) : new Promise<IteratorResult<number>>((_, reject) => (fail = reject))),
        }),
      };
    };
    const got: number[][] = [];
    // One record per batch while running; the stop's drain takes all three in one batch, and the input fails meanwhile.
    ssc
      .fromAsyncIterable(feed, { name: 'feed', backpressure: { mode: 'buffer', maxBuffered: 10, maxRate: 1, pid: false } })
      .foreachRDD(async (rdd) => {
        got.push(await rdd.collect());
      });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await ssc.start();
      // The three records are taken and the fourth pull waits.
      await vi.waitFor(() => expect(fail).toBeDefined(), UNTIL);
      const stopped = ssc.stop({ graceful: true, stopContext: false });
      setImmediate(() => fail!(new Error('lost the feed')));
      await stopped;
      await expect(ssc.awaitTermination()).resolves.toBe(true);
      expect(got).toEqual([[0, 1, 2]]);
      expect(warn.mock.calls.map((c) => String(c[0]))).toContain('kindling: feed: the input failed while the stream stopped: lost the feed');
    } finally {
      warn.mockRestore();
    }
  });

  it('a graceful stop hands over the whole buffer at once, whatever the rate limit: nothing received is lost to the timeout', async () => {
    // One record a batch at the limit: at that pace, 300 buffered records outlast the stop's default timeout (ten
    // intervals) by far, and the drain used to lose all but ten of them.
    const { ssc } = manual(sc(), 1000);
    let pulled = 0;
    async function* producer() {
      for (;;) yield pulled++;
    }
    const got: number[][] = [];
    ssc
      .fromAsyncIterable(producer(), { name: 'feed', backpressure: { mode: 'buffer', maxBuffered: 300, maxRate: 1, pid: false } })
      .foreachRDD(async (rdd) => {
        got.push(await rdd.collect());
      });
    const submitted: BatchSubmittedEvent[] = [];
    sc().events.on('batchSubmitted', (e) => submitted.push(e));
    await ssc.start();
    await vi.waitFor(() => expect(pulled).toBeGreaterThanOrEqual(300), UNTIL);
    await ssc.stop({ graceful: true, stopContext: false });
    expect(got).toEqual([Array.from({ length: 300 }, (_, i) => i)]);
    expect(submitted.map((e) => e.sources[0]!.buffered)).toEqual([0]);
  });

  it('a graceful stop whose timeout passes first says what it did not process', async () => {
    const { ssc } = manual(sc(), 1000);
    let pulled = 0;
    async function* producer() {
      for (;;) yield pulled++;
    }
    let release: (() => void) | undefined;
    const got: number[][] = [];
    ssc.fromAsyncIterable(producer(), { name: 'feed', backpressure: { mode: 'buffer', maxBuffered: 20 } }).foreachRDD(async (rdd) => {
      got.push(await rdd.collect());
      // The drain's batch runs until the test releases it, past the stop's timeout.
      await new Promise<void>((r) => (release = r));
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await ssc.start();
      await vi.waitFor(() => expect(pulled).toBeGreaterThanOrEqual(20), UNTIL);
      await ssc.stop({ graceful: true, stopContext: false, timeout: 50 });
      release?.();
      expect(got).toHaveLength(1);
      expect(warn.mock.calls.map((c) => String(c[0]))).toContainEqual(
        expect.stringMatching(
          /^kindling: the graceful stop's timeout \(50 ms\) passed before the received data was processed: the batch of \d+ ms \(20 records\) was still running, 0 batches \(0 records\) had not started and 0 records were still held; /,
        ),
      );
    } finally {
      release?.();
      warn.mockRestore();
    }
  });

  it('stop() completes when the producer’s return() throws at once (a hand-written iterator waiting in next())', async () => {
    const { ssc, tick } = manual(sc());
    let returned = 0;
    const feed: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          // Three records, then a pull that waits (a quiet feed): stop() must close it itself.
          next: () => (i < 3 ? Promise.resolve({ done: false, value: i++ }) : new Promise<IteratorResult<number>>(() => undefined)),
          return: () => {
            returned++;
            throw new Error('closing the feed failed');
          },
        };
      },
    };
    const got: number[] = [];
    ssc.fromAsyncIterable(feed, { name: 'feed', backpressure: { mode: 'buffer', maxBuffered: 10 } }).foreachRDD(async (rdd) => {
      got.push(...(await rdd.collect()));
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await ssc.start();
      await tick();
      await ssc.stop({ stopContext: false });
      await expect(ssc.awaitTermination({ timeout: 10_000 })).resolves.toBe(true);
      expect(ssc.getState()).toBe('STOPPED');
      expect(got).toEqual([0, 1, 2]);
      expect(returned).toBeGreaterThan(0);
    } finally {
      warn.mockRestore();
    }
  });

  it('block: pulls no more than the next batch may take and loses nothing', async () => {
    const pulledAtTick: number[] = [];
    const { got, pulled } = await run({ backpressure: { mode: 'block', maxRate: 200 } }, 3, async (i, p) => {
      await vi.waitFor(() => expect(p()).toBeGreaterThanOrEqual(200 * (i + 1)), UNTIL);
      // However long the producer is given, it gets no further.
      await new Promise((r) => setTimeout(r, 30));
      pulledAtTick.push(p());
    });
    // 200/s over 1 s batches: at most 200 records wait, however long the producer has.
    expect(pulledAtTick).toEqual([200, 400, 600]);
    expect(got.map((b) => b.length)).toEqual([200, 200, 200]);
    expect(got.flat()).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(pulled).toBeLessThanOrEqual(800);
  });

  it('buffer: pulls ahead up to maxBuffered, batches take the rate limit, nothing is lost', async () => {
    const pulledAtTick: number[] = [];
    const { got } = await run({ backpressure: { mode: 'buffer', maxBuffered: 500, maxRate: 200 } }, 3, async (i, p) => {
      await vi.waitFor(() => expect(p()).toBeGreaterThanOrEqual(500 + 200 * i), UNTIL);
      await new Promise((r) => setTimeout(r, 30));
      pulledAtTick.push(p());
    });
    expect(pulledAtTick).toEqual([500, 700, 900]);
    expect(got.map((b) => b.length)).toEqual([200, 200, 200]);
    expect(got.flat()).toEqual(Array.from({ length: 600 }, (_, i) => i));
  });

  it('the PID estimator limits the next batch to what processing sustained', async () => {
    const { ssc, tick } = manual(sc(), 100);
    const { state, iterable } = fastProducer();
    const rates: RateUpdatedEvent[] = [];
    const sizes: number[] = [];
    const submitted: BatchSubmittedEvent[] = [];
    const offs = [sc().events.on('rateUpdated', (e) => void rates.push(e)), sc().events.on('batchSubmitted', (e) => void submitted.push(e))];
    ssc.fromAsyncIterable(iterable, { backpressure: { mode: 'block', maxBuffered: 5000 } }).foreachRDD(async (rdd) => {
      const n = await rdd.count();
      sizes.push(n);
      // Processing sustains about 20,000 records/s: 1 ms per 20 records.
      await new Promise((r) => setTimeout(r, n / 20));
    });
    await ssc.start();
    // The first batch finds the buffer full (5000, no rate yet); tick() returns once each batch completed.
    await vi.waitFor(() => expect(state.pulled).toBeGreaterThanOrEqual(5000), UNTIL);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 30));
      await tick();
    }
    await ssc.stop({ stopContext: false });
    for (const off of offs) off();
    // No rate for the first two batches (the estimator needs two); then a limit below the 5000-record bound.
    expect(sizes[0]).toBe(5000);
    expect(rates.length).toBeGreaterThanOrEqual(3);
    const last = rates.at(-1)!.recordsPerSec;
    expect(last).toBeGreaterThan(100);
    expect(last).toBeLessThan(20_000);
    // Once limited, every batch takes at most rate x interval, the limit it reports being the estimator's last.
    const limited = submitted.filter((e) => e.sources[0]!.rateLimit !== undefined);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    for (const e of limited) {
      expect(e.sources[0]!.records!).toBeLessThanOrEqual(Math.max(1, Math.floor(e.sources[0]!.rateLimit! * 0.1)));
      expect(rates.map((r) => r.recordsPerSec)).toContain(e.sources[0]!.rateLimit);
    }
  });
});
