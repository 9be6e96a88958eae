/**
 * Event time: records carry their own time and arrive out of order; the watermark (newest event time of earlier
 * batches minus the allowed delay) drops and counts late records; windows are by event time, across batches,
 * emitted when the watermark closes them (append) or as they change (update), checked against a plain reference.
 */
import path from 'node:path';
import fc from 'fast-check';
import { ManualClock, type RDD, StreamingContext, type WatermarkAdvancedEvent } from 'kindling';
import { describe, expect, it } from 'vitest';
import { brokerSource, collectBatches, eventWindowCountsRef, manual, sortedWindows, tickBatches, useStreamingContext } from './helpers.js';

type Ev = [string, number];

describe('event time and watermarks (manual clock)', () => {
  const { sc, dir } = useStreamingContext();

  it('an event time given as a Date counts as its milliseconds, and its watermark survives a restart', async () => {
    // Found by session 38: the newest event time stayed a Date, which a commit writes as a string, so a restarted
    // run read the watermark back as -Infinity: late records were kept and no window closed.
    const folder = path.join(dir(), 'date-restart');
    const log: Ev[] = [];
    const run = async (clockMs: number, records: Ev[]) => {
      const clock = new ManualClock(clockMs);
      let windows: Array<[number, unknown[]]> = [];
      const ssc = StreamingContext.getOrCreate(folder, () => {
        const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
        windows = collectBatches(
          ssc
            .source(brokerSource(log))
            .withWatermark(([, t]) => new Date(t), '1s')
            .reduceByKeyAndEventWindow(
              ([k]) => [k, 1],
              (a: number, b: number) => a + b,
              { window: '1s' },
            ),
        );
        return ssc;
      });
      const marks: Array<[number, number, number, number]> = [];
      const off = ssc.events.on('watermarkAdvanced', (e) => void marks.push([e.batch.ms, e.watermarkMs, e.nextWatermarkMs, e.lateRecords]));
      await ssc.start();
      log.push(...records);
      await tickBatches(ssc, clock, 1);
      await ssc.stop({ stopContext: false });
      off();
      return { windows, marks };
    };
    const first = await run(0, [
      ['a', 5000],
      ['a', 1000],
    ]);
    expect(first).toEqual({ windows: [[1000, []]], marks: [[1000, Number.NEGATIVE_INFINITY, 4000, 0]] });
    // After the restart the watermark is 5000 - 1000: 3500 is late and [1000, 2000) is final.
    const second = await run(1000, [
      ['a', 3500],
      ['b', 4500],
    ]);
    expect(second).toEqual({ windows: [[2000, [{ start: 1000, end: 2000, key: 'a', value: 1 }]]], marks: [[2000, 4000, 4000, 1]] });
  });

  it('records older than the watermark are dropped and counted; out-of-order records within the delay are kept', async () => {
    const { ssc, tick } = manual(sc());
    const q: Ev[][] = [
      [
        ['a', 1000],
        ['b', 3000],
        ['c', 2000],
      ],
      [
        ['late', 500],
        ['d', 1500],
        ['e', 6000],
      ],
      [
        ['late', 3500],
        ['f', 4500],
        ['g', 4000],
      ],
    ];
    const events = ssc.queueStream(q).withWatermark(([, t]) => t, '2s');
    const kept = collectBatches(events);
    const marks: WatermarkAdvancedEvent[] = [];
    const off = sc().events.on('watermarkAdvanced', (e) => void marks.push(e));
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    off();
    expect(kept.map(([t, xs]) => [t, xs.map(([k]) => k).sort()])).toEqual([
      [1000, ['a', 'b', 'c']],
      [2000, ['d', 'e']],
      [3000, ['f', 'g']],
    ]);
    // Batch 1 has no watermark yet; batch 2's is 3000 - 2000; batch 3's is 6000 - 2000 (4000 itself is not late).
    expect(marks.map((m) => [m.batch.ms, m.watermarkMs, m.nextWatermarkMs, m.lateRecords])).toEqual([
      [1000, Number.NEGATIVE_INFINITY, 1000, 0],
      [2000, 1000, 4000, 1],
      [3000, 4000, 4000, 1],
    ]);
    expect(events.lateRecords).toBe(2);
    expect(events.watermarkMs).toBe(4000);
  });

  it('the watermark is measured inside the batch’s own job; a batch read only in part is measured whole by one more job', async () => {
    const batches = (): Ev[][] => [
      [
        ['a', 1000],
        ['c', 2000],
        ['d', 2500],
        ['b', 3000],
      ],
      [
        ['late', 500],
        ['late', 900],
        ['f', 1500],
        ['e', 6000],
      ],
      [
        ['g', 4500],
        ['late', 3500],
      ],
    ];
    const run = async (read: (rdd: RDD<Ev>) => Promise<unknown>) => {
      const { ssc, tick } = manual(sc());
      ssc
        .queueStream(batches())
        .withWatermark(([, t]) => t, '2s')
        .foreachRDD(async (rdd) => void (await read(rdd)));
      const jobs: number[] = [];
      const marks: WatermarkAdvancedEvent[] = [];
      const offs = [
        sc().events.on('batchStarted', () => void jobs.push(0)),
        sc().events.on('jobStart', () => void jobs[jobs.length - 1]!++),
        sc().events.on('watermarkAdvanced', (e) => void marks.push(e)),
      ];
      await ssc.start();
      await tick(3);
      await ssc.stop({ stopContext: false });
      for (const off of offs) off();
      return { jobs, marks: marks.map((m) => [m.watermarkMs, m.nextWatermarkMs, m.lateRecords]) };
    };
    // Batch 1 sets the watermark to 3000 - 2000; batch 2 drops 2 records before 1000 and moves it to 6000 - 2000.
    const expected = [
      [Number.NEGATIVE_INFINITY, 1000, 0],
      [1000, 4000, 2],
      [4000, 4000, 1],
    ];
    // Both partitions of each batch are read whole by the output's job, which measures them as it filters.
    const whole = await run((rdd) => rdd.collect());
    expect(whole.marks).toEqual(expected);
    expect(whole.jobs).toEqual([1, 1, 1]);
    // take(1) reads one partition: the measure reads the batch itself (each batch's newest time, and batch 3's late
    // record, are in its second partition).
    const part = await run((rdd) => rdd.take(1));
    expect(part.marks).toEqual(expected);
    expect(part.jobs.every((n) => n >= 2)).toBe(true);
  });

  it('an event-time window gathers its records from several batches and is emitted once the watermark passes its end', async () => {
    const { ssc, tick } = manual(sc());
    // Tumbling 10 s windows by event time, delay 5 s; the batches arrive every second with times out of order.
    const q: Ev[][] = [
      [
        ['x', 2000],
        ['x', 12_000],
      ],
      [
        ['x', 8000],
        ['y', 9000],
      ],
      [['x', 21_000]],
      [['x', 9500]],
      [['y', 30_000]],
    ];
    const counts = ssc
      .queueStream(q)
      .withWatermark(([, t]) => t, '5s')
      .reduceByKeyAndEventWindow(
        ([k]) => [k, 1],
        (a: number, b: number) => a + b,
        { window: '10s' },
      );
    const out = collectBatches(counts);
    await ssc.start();
    await tick(q.length);
    await ssc.stop({ stopContext: false });
    // Watermarks per batch: -inf, 7000, 7000, 16000 (9500 is late), 16000. Window [0, 10000) closes at batch 4.
    expect(out.map(([t, ws]) => [t, sortedWindows(ws)])).toEqual([
      [1000, []],
      [2000, []],
      [3000, []],
      [
        4000,
        [
          { start: 0, end: 10_000, key: 'x', value: 2 },
          { start: 0, end: 10_000, key: 'y', value: 1 },
        ],
      ],
      [5000, []],
    ]);
  });

  it('at the edges: a record exactly on the watermark is kept, a window ending exactly on it is final, times before 1970 are ordinary', async () => {
    const { ssc, tick } = manual(sc());
    const q: Ev[][] = [
      [
        ['a', -1500],
        ['a', -1],
      ],
      [
        ['a', -1001],
        ['b', -1002],
        ['a', 3000],
      ],
      [],
      [['c', 2000]],
      [['x', 4000]],
      [],
    ];
    const events = ssc.queueStream(q).withWatermark(([, t]) => t, '1s');
    const counts = events.reduceByKeyAndEventWindow(
      ([k]) => [k, 1],
      (a: number, b: number) => a + b,
      { window: '1s' },
    );
    const out = collectBatches(counts);
    const marks: WatermarkAdvancedEvent[] = [];
    const off = sc().events.on('watermarkAdvanced', (e) => void marks.push(e));
    await ssc.start();
    await tick(q.length);
    await ssc.stop({ stopContext: false });
    off();
    // No watermark in the first batch (-Infinity, where Spark's starts at 0 and would drop these pre-1970 records);
    // -1001 is on batch 2's watermark (-1 - 1000) and kept, -1002 is late; 2000 is on batch 4's and kept.
    expect(marks.map((m) => [m.batch.ms, m.watermarkMs, m.nextWatermarkMs, m.lateRecords])).toEqual([
      [1000, Number.NEGATIVE_INFINITY, -1001, 0],
      [2000, -1001, 2000, 1],
      [3000, 2000, 2000, 0],
      [4000, 2000, 2000, 0],
      [5000, 2000, 3000, 0],
      [6000, 3000, 3000, 0],
    ]);
    // Windows start at multiples of the slide below 0 too; [2000, 3000) is final once the watermark reaches 3000.
    expect(out.map(([t, ws]) => [t, sortedWindows(ws)])).toEqual([
      [1000, []],
      [2000, []],
      [
        3000,
        [
          { start: -2000, end: -1000, key: 'a', value: 2 },
          { start: -1000, end: 0, key: 'a', value: 1 },
        ],
      ],
      [4000, []],
      [5000, []],
      [6000, [{ start: 2000, end: 3000, key: 'c', value: 1 }]],
    ]);
  });

  const scenario = fc.record({
    // Times drift forward batch by batch, with jitter both ways: some records arrive out of order, some late.
    batches: fc.array(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: -3000, max: 1500 })), { maxLength: 6 }), {
      minLength: 1,
      maxLength: 10,
    }),
    delayMs: fc.constantFrom(0, 500, 1000, 2500),
    windowSlides: fc.integer({ min: 1, max: 3 }),
    slideMs: fc.constantFrom(500, 1000),
    mode: fc.constantFrom('append' as const, 'update' as const),
  });

  it('equals the plain reference over random out-of-order batches, sliding and tumbling, append and update (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batches, delayMs, windowSlides, slideMs, mode }) => {
        const timed: Ev[][] = batches.map((b, i) => b.map(([k, jitter]): Ev => [k, Math.max(0, (i + 1) * 1000 + jitter)]));
        const windowMs = windowSlides * slideMs;
        const { ssc, tick } = manual(sc(), 1000);
        const events = ssc.queueStream(timed.map((b) => [...b])).withWatermark(([, t]) => t, delayMs);
        const windows = events
          .reduceByKeyAndEventWindow(
            ([k]) => [k, 1],
            (a: number, b: number) => a + b,
            { window: windowMs, slide: slideMs, outputMode: mode, partitions: 3 },
          )
          .checkpoint(2000);
        const out = collectBatches(windows);
        const late: number[] = [];
        const off = sc().events.on('watermarkAdvanced', (e) => void late.push(e.lateRecords));
        await ssc.start();
        await tick(timed.length);
        await ssc.stop({ stopContext: false });
        off();
        const ref = eventWindowCountsRef(timed, delayMs, windowMs, slideMs, mode);
        expect(out.map(([, ws]) => sortedWindows(ws))).toEqual(ref.map((r) => r.windows));
        expect(late).toEqual(ref.map((r) => r.late));
      }),
      { numRuns: 15 },
    );
  });

  it('refuses a window that is not a multiple of its slide, an unknown output mode, and an event-time function using an undeclared name', () => {
    const { ssc } = manual(sc());
    const events = ssc.queueStream<Ev>([]).withWatermark(([, t]) => t, '1s');
    expect(() =>
      events.reduceByKeyAndEventWindow(
        ([k]) => [k, 1],
        (a: number, b: number) => a + b,
        { window: 3000, slide: 2000 },
      ),
    ).toThrow(/multiple of slide/);
    expect(() =>
      events.reduceByKeyAndEventWindow(
        ([k]) => [k, 1],
        (a: number, b: number) => a + b,
        { window: 3000, outputMode: 'complete' as 'append' },
      ),
    ).toThrow(/outputMode/);
    const offset = 5;
    expect(() => ssc.queueStream<Ev>([]).withWatermark(([, t]) => t + offset, '1s')).toThrow(/offset/);
  });
});
