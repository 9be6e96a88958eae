/**
 * Event time at random, against a plain model of Structured Streaming's rules as docs/streaming.md ("Event time and
 * watermarks") states them for kindling: random batches of keyed records whose event times run in order, out of
 * order, late by more or less than the delay, exactly on the watermark or on a window edge, duplicated, negative
 * (before 1970) or huge (near the largest Date), read as milliseconds or as a `Date`; random tumbling and sliding
 * windows, delay, output mode and aggregation (one or two over the stream); every batch's windows, kept records, watermark and late count compared exactly. The restart variant
 * stops the program at random batches (cleanly, or by a failed output that leaves the batch uncommitted), leaves
 * the driver down a while, and runs the rest with `getOrCreate` on the same checkpoint folder: the watermark and
 * the open windows must carry on as if nothing happened.
 *
 * The model (Spark's): the watermark of a batch is the newest event time of the batches before it minus the delay
 * (-Infinity before any record), fixed for the whole batch; a record older than it is dropped and counted; every
 * other record counts once in each window `[start, start + window)` holding its time, starts multiples of the slide
 * from 0 (exact integer arithmetic here, so a rounding error of the engine's at huge times shows); a window whose end
 * is at or before the watermark is final: emitted then in append mode and forgotten; update mode emits, each batch,
 * the windows that batch changed.
 *
 * FUZZ_RUNS widens the search (default 12 without restarts, 6 with), FUZZ_SEED replays one (it is printed), and
 * FUZZ_PATH with it replays a shrunk case.
 */
import path from 'node:path';
import fc from 'fast-check';
import { type DStream, type EventTimeDStream, type EventWindow, ManualClock, StreamingContext, type WatermarkAdvancedEvent } from 'kindling';
import { describe, expect, it } from 'vitest';
import { brokerSource, collectBatches, sortedPairs, sortedWindows, tickBatches, useStreamingContext } from './helpers.js';

const I = 1000;
/** Few by default: a run is 1-12 batches of two to four jobs each, ~1 s at load 10 on 2 cores; a restart run several runs. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const RESTART_RUNS = Number(process.env.FUZZ_RUNS ?? 6);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const REPLAY = { seed: SEED, ...(process.env.FUZZ_PATH === undefined ? {} : { path: process.env.FUZZ_PATH }) };
/** Generous at load 20: a run takes a few hundred ms on an idle machine. */
const TIMEOUT = Math.max(180_000, Math.max(RUNS, RESTART_RUNS) * 6_000);

type Key = string | number;
/** [key, event time ms, value]. */
type Rec = [Key, number, number];
type Win = EventWindow<Key, number>;

/** How a record's event time is drawn, relative to the producer's clock or the watermark at its batch. */
type TimeSpec =
  | { k: 'near'; d: number } // the producer's clock ((slot + 1) s) plus jitter both ways: out of order, some late
  | { k: 'wm'; d: number } // on the watermark of its batch, or a ms either side
  | { k: 'edge'; n: number; d: number } // on a window edge (a multiple of the slide) near the clock, or a ms off
  | { k: 'neg'; t: number } // before 1970
  | { k: 'huge'; t: number } // near the largest Date: everything after it is late
  | { k: 'dup'; i: number }; // a copy of an earlier record (same key, time and value)
interface RecSpec {
  key: Key;
  time: TimeSpec;
  v: number;
}

type Agg = 'count' | 'sum' | 'max' | 'min';
interface WindowSpec {
  windowMs: number;
  slideMs: number;
  mode: 'append' | 'update';
  agg: Agg;
  partitions: number;
  /** The window state's checkpoint interval in batches; 0: the default (10 s). */
  checkpoint: number;
}
interface Program extends WindowSpec {
  delayMs: number;
  /** A second aggregation over the same watermarked stream (its own windows, mode and state). */
  also?: WindowSpec;
  /**
   * Also read the watermarked stream itself: whole (a second job over the same filtered partitions), or one record
   * with `take(1)` (partitions read in part, so the watermark step measures the batch itself).
   */
  readKept: 'no' | 'collect' | 'take';
  /** The event-time function returns a `Date` rather than milliseconds. */
  asDate: boolean;
}

const timeArb: fc.Arbitrary<TimeSpec> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('near' as const), d: fc.integer({ min: -4000, max: 2000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('wm' as const), d: fc.integer({ min: -1, max: 1 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('edge' as const), n: fc.integer({ min: -3, max: 1 }), d: fc.constantFrom(-1, 0, 0, 1) }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('neg' as const), t: fc.integer({ min: -10_000, max: -1 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('huge' as const),
      t: fc.bigInt({ min: 10n ** 15n, max: 8_640_000_000_000_000n }).map(Number),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('dup' as const), i: fc.nat() }) },
);
const recArb: fc.Arbitrary<RecSpec> = fc.record({
  key: fc.constantFrom<Key>('a', 'b', '1', 1),
  time: timeArb,
  v: fc.integer({ min: -5, max: 20 }),
});
const slotsArb = fc.array(
  fc.oneof({ weight: 1, arbitrary: fc.constant([] as RecSpec[]) }, { weight: 4, arbitrary: fc.array(recArb, { minLength: 1, maxLength: 6 }) }),
  {
    minLength: 1,
    maxLength: 12,
  },
);
const windowSpecArb: fc.Arbitrary<WindowSpec> = fc
  .record({
    slideMs: fc.constantFrom(500, 1000, 1500, 2000),
    windowSlides: fc.integer({ min: 1, max: 3 }),
    mode: fc.constantFrom('append' as const, 'update' as const),
    agg: fc.constantFrom<Agg>('count', 'sum', 'max', 'min'),
    partitions: fc.integer({ min: 1, max: 3 }),
    checkpoint: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ windowSlides, ...w }) => ({ ...w, windowMs: windowSlides * w.slideMs }));
const programArb: fc.Arbitrary<Program> = fc
  .record(
    {
      first: windowSpecArb,
      delayMs: fc.constantFrom(0, 500, 1000, 2500, 6000),
      also: windowSpecArb,
      readKept: fc.constantFrom('no' as const, 'collect' as const, 'take' as const),
      asDate: fc.boolean(),
    },
    { requiredKeys: ['first', 'delayMs', 'readKept', 'asDate'] },
  )
  .map(({ first, ...p }) => ({ ...first, ...p }));

/** The records of each slot: times resolved against the producer's clock and the watermark the model gives. */
function resolve(slots: readonly (readonly RecSpec[])[], p: Program): Rec[][] {
  let max = Number.NEGATIVE_INFINITY;
  const all: Rec[] = [];
  return slots.map((slot, i) => {
    const front = (i + 1) * I;
    const w = max - p.delayMs;
    const out: Rec[] = [];
    for (const { key, time, v } of slot) {
      if (time.k === 'dup') {
        const earlier = [...all, ...out];
        if (earlier.length > 0) out.push([...earlier[time.i % earlier.length]!]);
        continue;
      }
      const t =
        time.k === 'near'
          ? front + time.d
          : time.k === 'wm'
            ? (Number.isFinite(w) ? w : front) + time.d
            : time.k === 'edge'
              ? (Math.floor(front / p.slideMs) + time.n) * p.slideMs + time.d
              : time.t;
      out.push([key, t, v]);
    }
    for (const [, t] of out) max = Math.max(max, t);
    all.push(...out);
    return out;
  });
}

// ---- the model -------------------------------------------------------------------------------------------------

/** Starts of the windows holding `t`, in exact integers: the largest multiple of the slide at or before t, back. */
function windowStarts(t: number, windowMs: number, slideMs: number): number[] {
  const T = BigInt(t);
  const S = BigInt(slideMs);
  const first = T - (((T % S) + S) % S);
  const starts: number[] = [];
  for (let s = first; s > T - BigInt(windowMs); s -= S) starts.push(Number(s));
  return starts;
}

const aggFn: Record<Agg, (a: number, b: number) => number> = {
  count: (a, b) => a + b,
  sum: (a, b) => a + b,
  max: (a, b) => Math.max(a, b),
  min: (a, b) => Math.min(a, b),
};

interface BatchModel {
  watermark: number;
  next: number;
  late: number;
  kept: Rec[];
  /** Per aggregation of the program (the first, then `also`): the windows this batch emits. */
  windows: Win[][];
}

/** The windows each batch emits for one aggregation, given each batch's watermark. */
function windowsModel(batches: readonly (readonly Rec[])[], marks: readonly number[], spec: WindowSpec): Win[][] {
  const open = new Map<string, Win>();
  const fn = aggFn[spec.agg];
  return batches.map((batch, i) => {
    const w = marks[i]!;
    const changed = new Set<string>();
    for (const [key, t, v] of batch) {
      if (t < w) continue;
      const value = spec.agg === 'count' ? 1 : v;
      for (const start of windowStarts(t, spec.windowMs, spec.slideMs)) {
        const id = JSON.stringify([key, start]);
        const prev = open.get(id);
        open.set(id, { start, end: start + spec.windowMs, key, value: prev === undefined ? value : fn(prev.value, value) });
        changed.add(id);
      }
    }
    const windows: Win[] = [];
    for (const [id, win] of open) {
      const final = win.end <= w;
      if (spec.mode === 'append' ? final : changed.has(id)) windows.push(win);
      if (final) open.delete(id);
    }
    return sortedWindows(windows);
  });
}

/** What each batch (in the order they run) must give, from the batches alone. */
function model(batches: readonly (readonly Rec[])[], p: Program): BatchModel[] {
  let max = Number.NEGATIVE_INFINITY;
  const marks = batches.map((batch) => {
    const w = max - p.delayMs;
    for (const [, t] of batch) max = Math.max(max, t);
    return [w, max - p.delayMs] as const;
  });
  const windows = [p, ...(p.also === undefined ? [] : [p.also])].map((spec) =>
    windowsModel(
      batches,
      marks.map(([w]) => w),
      spec,
    ),
  );
  return batches.map((batch, i) => {
    const [w, next] = marks[i]!;
    const kept = batch.filter(([, t]) => t >= w);
    return { watermark: w, next, late: batch.length - kept.length, kept, windows: windows.map((ws) => ws[i]!) };
  });
}

// ---- the program under test --------------------------------------------------------------------------------------

/** The program's outputs, collected per batch time. */
interface Outputs {
  windows: Array<Array<[number, Win[]]>>;
  kept: Array<[number, Rec[]]>;
}

function aggregate(events: EventTimeDStream<Rec>, spec: WindowSpec): Array<[number, Win[]]> {
  const toPair = spec.agg === 'count' ? ([k]: Rec): [Key, number] => [k, 1] : ([k, , v]: Rec): [Key, number] => [k, v];
  const fn =
    spec.agg === 'max'
      ? (a: number, b: number) => Math.max(a, b)
      : spec.agg === 'min'
        ? (a: number, b: number) => Math.min(a, b)
        : (a: number, b: number) => a + b;
  const windows = events.reduceByKeyAndEventWindow(toPair, fn, {
    window: spec.windowMs,
    slide: spec.slideMs,
    outputMode: spec.mode,
    partitions: spec.partitions,
  });
  if (spec.checkpoint > 0) windows.checkpoint(spec.checkpoint * I);
  return collectBatches(windows);
}

function build(input: DStream<Rec>, p: Program): Outputs {
  const events = p.asDate ? input.withWatermark(([, t]) => new Date(t), p.delayMs) : input.withWatermark(([, t]) => t, p.delayMs);
  const windows = [aggregate(events, p), ...(p.also === undefined ? [] : [aggregate(events, p.also)])];
  const kept: Array<[number, Rec[]]> = [];
  if (p.readKept !== 'no')
    events.foreachRDD(async (rdd, t) => {
      kept.push([t.ms, p.readKept === 'take' ? await rdd.take(1) : await rdd.collect()]);
    });
  return { windows, kept };
}

type Mark = [number, number, number, number];
function listenMarks(ssc: StreamingContext): { marks: Mark[]; off: () => void } {
  const marks: Mark[] = [];
  const off = ssc.events.on(
    'watermarkAdvanced',
    (e: WatermarkAdvancedEvent) => void marks.push([e.batch.ms, e.watermarkMs, e.nextWatermarkMs, e.lateRecords]),
  );
  return { marks, off };
}

/** Checks every batch time's outputs against the model; `times[i]` is the time batch i ran at. */
function expectModel(
  want: readonly BatchModel[],
  times: readonly number[],
  p: Program,
  got: Outputs & { marks: Mark[] },
  copies: (ms: number) => number[],
): void {
  const at = <X>(xs: Array<[number, X]>, ms: number): X[] => xs.filter(([t]) => t === ms).map(([, x]) => x);
  const ran = new Set(times);
  for (const [t] of [...got.windows.flat(), ...got.kept, ...got.marks]) expect(ran.has(t), `output at ${t}, where no batch ran`).toBe(true);
  want.forEach((m, i) => {
    const ms = times[i]!;
    got.windows.forEach((out, j) => {
      const ws = at(out, ms).map((x) => sortedWindows(x));
      expect(copies(ms), `aggregation ${j}, windows at ${ms}: emitted ${ws.length} times`).toContain(ws.length);
      for (const x of ws) expect(x, `aggregation ${j}, windows at ${ms}`).toEqual(m.windows[j]);
    });
    if (p.readKept !== 'no') {
      const ks = at(got.kept, ms);
      expect(copies(ms), `kept at ${ms}`).toContain(ks.length);
      for (const x of ks) {
        if (p.readKept === 'collect') expect(sortedPairs(x), `kept records at ${ms}`).toEqual(sortedPairs(m.kept));
        else {
          expect(x.length, `take(1) at ${ms}`).toBe(Math.min(1, m.kept.length));
          for (const r of x) expect(m.kept, `take(1) at ${ms}`).toContainEqual(r);
        }
      }
    }
    // The watermark step is the batch's last output: it runs once, in the run that commits the batch.
    const marks = got.marks.filter(([t]) => t === ms).map(([, ...rest]) => rest);
    expect(marks, `watermark at ${ms}`).toEqual([[m.watermark, m.next, m.late]]);
  });
}

const describeSeed = `FUZZ_SEED=${SEED}${process.env.FUZZ_PATH === undefined ? '' : ` FUZZ_PATH=${process.env.FUZZ_PATH}`}`;

describe('event-time windows and watermarks at random, against a model of Structured Streaming (manual clock, property)', () => {
  const { sc, dir } = useStreamingContext();
  let folders = 0;

  it(
    'every batch emits the windows, keeps the records and uses the watermark the model gives',
    async () => {
      console.log(`random-event-time: ${describeSeed} FUZZ_RUNS=${RUNS}`);
      await fc.assert(
        fc.asyncProperty(slotsArb, programArb, async (slots, p) => {
          const batches = resolve(slots, p);
          const want = model(batches, p);
          const log: Rec[] = [];
          const clock = new ManualClock(0);
          const ssc = new StreamingContext(sc(), { batchInterval: I, clock });
          const outs = build(ssc.source(brokerSource(log)), p);
          const { marks, off } = listenMarks(ssc);
          await ssc.start();
          try {
            for (const b of batches) {
              log.push(...b);
              await tickBatches(ssc, clock, 1);
            }
          } finally {
            await ssc.stop({ stopContext: false });
            off();
          }
          const times = batches.map((_, i) => (i + 1) * I);
          expectModel(want, times, p, { ...outs, marks }, () => [1]);
        }),
        { numRuns: RUNS, ...REPLAY },
      );
    },
    TIMEOUT,
  );

  /**
   * Where a run ends: after slot `at`, cleanly or by a failed output (first or last of the batch's outputs; with
   * `ahead`, the next batch is cut before the failure, so two batches stay uncommitted), then down `down` batches.
   */
  /** Mostly a few batches; sometimes longer than the 100 batches of logs a checkpoint folder keeps. */
  const downArb = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.constant(105) });
  const stopsArb = fc.array(fc.record({ at: fc.nat(), failed: fc.boolean(), failFirst: fc.boolean(), ahead: fc.boolean(), down: downArb }), {
    minLength: 1,
    maxLength: 3,
  });

  it(
    'stopped at random batches (cleanly or by a failed output) and restarted with getOrCreate, the watermark and open windows carry on',
    async () => {
      console.log(`random-event-time (restarts): ${describeSeed} FUZZ_RUNS=${RESTART_RUNS}`);
      await fc.assert(
        fc.asyncProperty(
          slotsArb.filter((s) => s.length >= 2),
          programArb,
          stopsArb,
          async (slots, p, stops) => {
            const batches = resolve(slots, p);
            const want = model(batches, p);
            const n = batches.length;
            // Each run ends after a slot (never the last: a run follows); a later stop at the same slot wins.
            const ends = [...new Map(stops.map((st) => [1 + (st.at % (n - 1)), st] as const)).entries()].sort(([a], [b]) => a - b);
            const folder = path.join(dir(), `restart-${folders++}`);
            const log: Rec[] = [];
            const got: Outputs & { marks: Mark[] } = { windows: p.also === undefined ? [[]] : [[], []], kept: [], marks: [] };
            const times: number[] = [];
            const failed = new Set<number>();
            let slot = 0;
            let clockMs = 0;
            let replay: number[] = [];
            for (const [last, st] of [...ends, [n, undefined] as const]) {
              // A batch cut ahead of a failure took the slot a stop may have ended at.
              if (st !== undefined && last <= slot) continue;
              const failAt = st?.failed ? clockMs + (last - slot) * I : undefined;
              const ahead = failAt !== undefined && st!.ahead && last < n;
              const end = ahead ? last + 1 : last;
              const clock = new ManualClock(clockMs);
              let outs: Outputs | undefined;
              const ssc = StreamingContext.getOrCreate(folder, () => {
                const ssc = new StreamingContext(sc(), { batchInterval: I, clock });
                const input = ssc.source(brokerSource(log));
                const cutAhead = ahead ? batchEvent(ssc, 'batchSubmitted', failAt! + I) : undefined;
                const fail = () =>
                  input.foreachRDD(async (_rdd, t) => {
                    if (t.ms !== failAt) return;
                    await cutAhead;
                    throw new Error(`crash at ${t.ms}`);
                  });
                if (st?.failFirst) fail();
                outs = build(input, p);
                if (st !== undefined && !st.failFirst) fail();
                return ssc;
              });
              const { marks, off } = listenMarks(ssc);
              // Batches a failed output left uncommitted run again at the start, without a tick.
              const replayed = Promise.all(replay.map((ms) => batchEvent(ssc, 'batchCompleted', ms)));
              await ssc.start();
              try {
                await replayed;
                replay = [];
                for (; slot < end; slot++) {
                  const ms = clock.now() + I;
                  times.push(ms);
                  if (ms < (failAt ?? Number.POSITIVE_INFINITY)) {
                    log.push(...batches[slot]!);
                    await tickBatches(ssc, clock, 1);
                    continue;
                  }
                  // The failing batch, and the one cut ahead of it: each batch's records arrive before its own cut.
                  const cut = batchEvent(ssc, 'batchSubmitted', ms);
                  log.push(...batches[slot]!);
                  clock.advance(I);
                  await cut;
                  replay.push(ms);
                  failed.add(ms);
                }
                if (failAt !== undefined) await expect(ssc.awaitTermination()).rejects.toThrow(/crash at/);
              } finally {
                await ssc.stop({ stopContext: false });
                off();
              }
              outs!.windows.forEach((out, j) => got.windows[j]!.push(...out));
              got.kept.push(...outs!.kept);
              got.marks.push(...marks);
              clockMs = clock.now() + (st?.down ?? 0) * I;
            }
            // A failed batch's outputs before the failing one ran in the failed run too.
            expectModel(want, times, p, got, (ms) => (failed.has(ms) ? [1, 2] : [1]));
          },
        ),
        { numRuns: RESTART_RUNS, ...REPLAY },
      );
    },
    TIMEOUT,
  );
});

/**
 * Resolves when batch `ms` of `ssc` was cut (`batchSubmitted`: its range is in the offsets log) or completed
 * (`batchCompleted`: rejects with the batch's error).
 */
function batchEvent(ssc: StreamingContext, type: 'batchSubmitted' | 'batchCompleted', ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const off = ssc.events.on(type, (e) => {
      if (e.batch.ms !== ms) return;
      off();
      const error = 'error' in e ? e.error : undefined;
      if (error !== undefined) reject(new Error(`batch ${ms} failed: ${error}`));
      else resolve();
    });
  });
}
