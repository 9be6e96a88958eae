/**
 * DStream operations on a manual clock: every batch gives exactly the output of the same RDD operation on that
 * batch's input (Spark's TestSuiteBase.testOperation pattern).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  ClosureError,
  IllegalStateError,
  InvalidArgumentError,
  parseDuration,
  StreamingContext,
  type StreamingOptions,
  capture,
  ManualClock,
  formatBatchLine,
} from 'kindling';
import { collectBatches, manual, sortedPairs, useStreamingContext } from './helpers.js';

describe('DStream operations (manual clock)', () => {
  const { sc } = useStreamingContext();

  it('map, filter, flatMap, mapPartitions and repartition apply per batch, in batch order', async () => {
    const { ssc, tick } = manual(sc());
    const lines = ssc.queueStream([['a b', 'c'], [], ['d e f']]);
    const words = collectBatches(lines.flatMap((l) => l.split(' ')));
    const lengths = collectBatches(lines.map((l) => l.length).filter((n) => n > 1));
    const doubled = collectBatches(
      lines
        .mapPartitions(function* (it) {
          for (const l of it) yield l + l;
        })
        .repartition(3),
    );
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(words).toEqual([
      [1000, ['a', 'b', 'c']],
      [2000, []],
      [3000, ['d', 'e', 'f']],
    ]);
    expect(lengths).toEqual([
      [1000, [3]],
      [2000, []],
      [3000, [5]],
    ]);
    expect(doubled.map(([t, xs]) => [t, xs.sort()])).toEqual([
      [1000, ['a ba b', 'cc']],
      [2000, []],
      [3000, ['d e fd e f']],
    ]);
  });

  it('union, transform (join with a static RDD) and count', async () => {
    const { ssc, tick } = manual(sc());
    const a = ssc.queueStream([[1, 2], [3]]);
    const b = ssc.queueStream([[10], [20, 30]]);
    const both = collectBatches(a.union(b));
    const names = sc().parallelize([
      [1, 'one'],
      [3, 'three'],
      [20, 'twenty'],
    ] as [number, string][]);
    const joined = collectBatches(
      ssc
        .union([a, b])
        .map((x): [number, null] => [x, null])
        .transform((rdd) => rdd.join(names).map(([, [, n]]) => n)),
    );
    const counts = collectBatches(a.union(b).count());
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(both.map(([t, xs]) => [t, xs.sort((x, y) => x - y)])).toEqual([
      [1000, [1, 2, 10]],
      [2000, [3, 20, 30]],
      [3000, []],
    ]);
    expect(joined.map(([t, xs]) => [t, xs.sort()])).toEqual([
      [1000, ['one']],
      [2000, ['three', 'twenty']],
      [3000, []],
    ]);
    expect(counts).toEqual([
      [1000, [3]],
      [2000, [3]],
      [3000, [0]],
    ]);
  });

  it.each([
    ['undefined', undefined, /^transform of queue-\d+ returned undefined for the batch at 2000 ms, not an RDD; return sc\.emptyRDD\(\)/],
    ['an array', [1, 2], /^transform of queue-\d+ returned \[1,2\] for the batch at 2000 ms, not an RDD/],
    ['null', null, /returned null for the batch at 2000 ms, not an RDD/],
  ])('a transform returning %s fails its batch naming the stream and batch, as Spark refuses a null RDD', async (_name, returned, message) => {
    // Before: undefined skipped the batch's outputs without a word (taken for "no RDD at this time"); an array
    // reached the output, which failed with "rdd.count is not a function".
    const { ssc, clock } = manual(sc());
    const seen: number[] = [];
    ssc
      .queueStream([[1], [2], [3]])
      .transform((rdd, t) => (t.ms === 2000 ? (returned as never) : rdd))
      .foreachRDD(async (rdd, t) => {
        seen.push(t.ms);
        await rdd.count();
      });
    await ssc.start();
    clock.advance(3000);
    // Bounded: without the check the stream ran on and this waited for the test's timeout.
    await expect(ssc.awaitTermination({ timeout: 20_000 })).rejects.toThrow(message);
    expect(seen).toEqual([1000]);
    expect(ssc.state).toBe('stopped');
  });

  it('pair operations: reduceByKey, groupByKey, mapValues, join, leftOuterJoin and cogroup with another stream', async () => {
    const { ssc, tick } = manual(sc());
    const clicks = ssc.queueStream<[string, number]>([
      [
        ['u1', 1],
        ['u2', 1],
        ['u1', 1],
      ],
      [['u3', 1]],
    ]);
    const views = ssc.queueStream<[string, string]>([
      [
        ['u1', 'home'],
        ['u4', 'faq'],
      ],
      [
        ['u3', 'cart'],
        ['u3', 'pay'],
      ],
    ]);
    const reduced = collectBatches(clicks.reduceByKey((a, b) => a + b));
    const grouped = collectBatches(views.groupByKey().mapValues((vs) => vs.sort().join('+')));
    const joined = collectBatches(clicks.reduceByKey((a, b) => a + b).join(views));
    const left = collectBatches(clicks.reduceByKey((a, b) => a + b).leftOuterJoin(views));
    const co = collectBatches(clicks.cogroup(views).mapValues(([c, v]) => [c.length, v.sort()]));
    await ssc.start();
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(reduced.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        1000,
        [
          ['u1', 2],
          ['u2', 1],
        ],
      ],
      [2000, [['u3', 1]]],
    ]);
    expect(grouped.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        1000,
        [
          ['u1', 'home'],
          ['u4', 'faq'],
        ],
      ],
      [2000, [['u3', 'cart+pay']]],
    ]);
    expect(joined.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [1000, [['u1', [2, 'home']]]],
      [
        2000,
        sortedPairs([
          ['u3', [1, 'cart']],
          ['u3', [1, 'pay']],
        ]),
      ],
    ]);
    expect(left.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        1000,
        [
          ['u1', [2, 'home']],
          ['u2', [1, null]],
        ],
      ],
      [
        2000,
        sortedPairs([
          ['u3', [1, 'cart']],
          ['u3', [1, 'pay']],
        ]),
      ],
    ]);
    expect(co.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        1000,
        [
          ['u1', [2, ['home']]],
          ['u2', [1, []]],
          ['u4', [0, ['faq']]],
        ],
      ],
      [2000, [['u3', [1, ['cart', 'pay']]]]],
    ]);
  });

  it('window(window, slide) unions the batches of the window, only at slide times', async () => {
    const { ssc, tick } = manual(sc());
    const nums = ssc.queueStream([[1], [2], [3], [4], [5]]);
    const win = collectBatches(nums.window('3s', '2s'));
    const byWindow = collectBatches(nums.countByWindow(3000, 2000));
    const sums = collectBatches(nums.reduceByWindow((a, b) => a + b, { window: '2s' }));
    await ssc.start();
    await tick(5);
    await ssc.stop({ stopContext: false });
    expect(win.map(([t, xs]) => [t, xs.sort()])).toEqual([
      [2000, [1, 2]],
      [4000, [2, 3, 4]],
    ]);
    expect(byWindow).toEqual([
      [2000, [2]],
      [4000, [3]],
    ]);
    expect(sums).toEqual([
      [1000, [1]],
      [2000, [3]],
      [3000, [5]],
      [4000, [7]],
      [5000, [9]],
    ]);
  });

  it('batches() yields { time, records } per batch and ends when the stream stops', async () => {
    const { ssc, tick } = manual(sc(), 500);
    const it = ssc
      .queueStream([['x'], ['y', 'z']])
      .map((s) => s.toUpperCase())
      .batches();
    await ssc.start();
    await tick(2);
    await ssc.stop({ stopContext: false, graceful: true });
    const got = [];
    for await (const b of it) got.push(b);
    expect(got).toEqual([
      { time: { id: 0, ms: 500 }, records: ['X'] },
      { time: { id: 1, ms: 1000 }, records: ['Y', 'Z'] },
    ]);
  });

  it('emits batch events with records, delays and per-output timings', async () => {
    const { ssc, clock } = manual(sc());
    ssc.queueStream([[1, 2, 3], [4]]).foreachRDD(async (rdd) => {
      await rdd.count();
    });
    const events: string[] = [];
    const completed: { records: number; schedulingDelayMs: number; processingMs: number; totalDelayMs: number; outputs: number }[] = [];
    const offs = [
      sc().events.on('batchSubmitted', (e) => events.push(`submitted ${e.batch.id} ${e.records}`)),
      sc().events.on('batchStarted', (e) => events.push(`started ${e.batch.id}`)),
      sc().events.on('batchCompleted', (e) => {
        events.push(`completed ${e.batch.id}`);
        completed.push({
          records: e.records,
          schedulingDelayMs: e.schedulingDelayMs,
          processingMs: e.processingMs,
          totalDelayMs: e.totalDelayMs,
          outputs: e.outputs.length,
        });
      }),
    ];
    await ssc.start();
    const both = new Promise<void>((resolve) => {
      const off = sc().events.on('batchCompleted', (e) => {
        if (e.batch.id !== 1) return;
        off();
        resolve();
      });
    });
    // Two intervals at once: the second batch waits behind the first, so its scheduling delay is a full interval.
    clock.advance(2000);
    await both;
    await ssc.stop({ stopContext: false });
    for (const off of offs) off();
    // Cutting batch 1 may overlap running batch 0; batches themselves run one at a time, in order.
    expect(events.filter((e) => !e.startsWith('submitted'))).toEqual(['started 0', 'completed 0', 'started 1', 'completed 1']);
    expect(events.filter((e) => e.startsWith('submitted'))).toEqual(['submitted 0 3', 'submitted 1 1']);
    expect(events.indexOf('submitted 1 1')).toBeLessThan(events.indexOf('started 1'));
    expect(completed.map((c) => [c.records, c.schedulingDelayMs, c.outputs])).toEqual([
      [3, 1000, 1],
      [1, 0, 1],
    ]);
    for (const c of completed) {
      expect(c.processingMs).toBeGreaterThan(0);
      expect(c.totalDelayMs).toBeCloseTo(c.schedulingDelayMs + c.processingMs, 6);
    }
  });

  it('checks at the call: closures, window multiples, output after start, a missing checkpoint folder', async () => {
    const { ssc } = manual(sc());
    const s = ssc.queueStream<number>([]);
    const factor = 3;
    expect(() => s.map((x) => x * factor)).toThrow(ClosureError);
    expect(() => s.map(capture({ factor }, (x: number) => x * factor))).not.toThrow();
    expect(() => s.window('1500ms')).toThrow(InvalidArgumentError);
    expect(() => s.window(2000, 1500)).toThrow(/multiple of/);
    expect(() => parseDuration('2 fortnights' as never, 'x')).toThrow(InvalidArgumentError);
    expect([parseDuration('500ms', 'x'), parseDuration('2s', 'x'), parseDuration('1m', 'x'), parseDuration(250, 'x')]).toEqual([
      500, 2000, 60_000, 250,
    ]);
    await expect(ssc.start()).rejects.toThrow(/no output operations/);

    const other = new StreamingContext(sc(), { batchInterval: 1000, clock: new ManualClock() });
    other.queueStream<number>([]).print();
    await other.start();
    expect(() => other.queueStream<number>([]).print()).toThrow(IllegalStateError);
    await other.stop({ stopContext: false });

    const { Context } = await import('kindling');
    const bare = new Context({ master: 'local', progress: false });
    try {
      const noDir = new StreamingContext(bare, { batchInterval: 1000, clock: new ManualClock() });
      noDir
        .queueStream<[string, number]>([])
        .updateStateByKey((vs: number[], st?: number) => (st ?? 0) + vs.length)
        .print();
      await expect(noDir.start()).rejects.toThrow(/no checkpoint folder is set/);
    } finally {
      await bare.stop();
    }
  });
});

describe('lifecycle', () => {
  const { sc } = useStreamingContext('local');

  it("refuses an option it does not know, naming the nearest known one (and Spark's batchDuration by its name here)", () => {
    const untyped = (o: unknown) => () => new StreamingContext(sc(), o as StreamingOptions);
    expect(untyped({ batchInterval: 100, checkpiont: '/tmp/x' })).toThrow(
      /^unknown option 'checkpiont' \(did you mean 'checkpoint'\?\); known: batchInterval, checkpoint, clock, backpressure, receiverRestartDelay$/,
    );
    expect(untyped({ batchDuration: '1s' })).toThrow(/^unknown option 'batchDuration': kindling calls Spark's batchDuration 'batchInterval'$/);
  });

  it('awaitTermination times out with false; a second start warns and does nothing (as Spark), a restart after stop is refused', async () => {
    const { ssc, tick } = manual(sc());
    const got = collectBatches(ssc.queueStream([[1, 2], [3], [4]], { oneAtATime: false }));
    await expect(ssc.awaitTermination()).rejects.toThrow(IllegalStateError);
    await ssc.start();
    // Spark's StreamingContext.start() on an active context logs "already been started" and returns.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await expect(ssc.start()).resolves.toBeUndefined();
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/already been started; this call does nothing/));
    } finally {
      warn.mockRestore();
    }
    expect(ssc.state).toBe('active');
    expect(await ssc.awaitTermination({ timeout: '50ms' })).toBe(false);
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(await ssc.awaitTermination({ timeout: 50 })).toBe(true);
    expect(ssc.state).toBe('stopped');
    await expect(ssc.start()).rejects.toThrow(/cannot be restarted/);
    // oneAtATime: false takes everything queued in the first batch.
    expect(got).toEqual([
      [1000, [1, 2, 3, 4]],
      [2000, []],
    ]);
  });

  it('a StreamingContext stopped before its start just stops (and can stop its Context)', async () => {
    const { Context } = await import('kindling');
    const own = new Context({ master: 'local', progress: false });
    const ssc = new StreamingContext(own, { batchInterval: '1s' });
    ssc.queueStream<number>([]).print();
    await ssc.stop();
    expect(ssc.state).toBe('stopped');
    expect(own.isStopped).toBe(true);
  });
});

describe('formatBatchLine', () => {
  it('shows batch time and id, records and rate, delays against the interval, drops and the rate limit', () => {
    const line = formatBatchLine(
      {
        type: 'batchCompleted',
        batch: { id: 42, ms: Date.UTC(2026, 0, 1, 12, 0, 5) },
        records: 48_213,
        schedulingDelayMs: 3.2,
        processingMs: 412.4,
        totalDelayMs: 415.6,
        sources: [
          { name: 'a', records: 48_000, dropped: 7, buffered: 0, rateLimit: 61_000 },
          { name: 'b', records: 213, dropped: 0, buffered: 0, lag: 1500 },
        ],
        outputs: [],
        time: 0,
      },
      1000,
    );
    expect(line).toBe(
      'batch 12:00:05.000 #42 | 48,213 rec 48.2k/s | sched 3 ms | proc 412/1000 ms | total 416 ms | dropped 7 | lag 1,500 | rate<=61.0k/s',
    );
  });
});
