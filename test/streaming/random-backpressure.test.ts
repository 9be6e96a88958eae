/**
 * The back-pressure contract of docs/streaming.md ("Back pressure", "Receivers that restart"), at random: producers
 * with bursts and pauses (async generators and hand-written iterators), ending, throwing (restarted when made by a
 * factory) or endless; a mode, a bound, rate limits with and without the PID estimator, a batch interval, a slow or
 * fast output; and a stop (graceful or not) between batches, during one, or from the output itself. A manual clock
 * cuts the batches; the producer's timing is real, so every check below is exact for any interleaving:
 *
 * - what the batches hold is, in order and without repeats, what the producer handed over: its whole prefix in
 *   `block` and `buffer`; in `drop`, a subsequence whose gaps are all counted in `batchSubmitted.sources[].dropped`;
 * - at every cut, the records handed over are delivered, dropped (counted) or still buffered: none vanishes;
 * - `block` never lets the producer run more than one batch's worth (rate × interval, else `maxBuffered`) ahead of
 *   the cuts, `buffer` more than `maxBuffered`; a batch takes at most rate × interval and leaves records behind
 *   only when it took that many;
 * - a graceful stop, or a producer that ended and was drained, delivers everything it handed over (less the
 *   counted drops); every input the source opened is closed (ended, threw, or `return()` ran its `finally`);
 * - a plain iterable that throws stops the stream with `<name>: the input failed: <error>`; no unhandled rejection.
 *
 * FUZZ_RUNS=500 FUZZ_SEED=1 npx vitest run test/streaming/random-backpressure.test.ts searches longer.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BatchSubmittedEvent, ManualClock, StreamingContext } from 'kindling';
import { UNTIL, useStreamingContext } from './helpers.js';
import { redisSkipReason, useRedisServer } from './redis-server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const BUS_RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 1_000_000 : Number(process.env.FUZZ_SEED);
const TIMEOUT = Math.max(120_000, RUNS * 6_000);

type Mode = 'block' | 'buffer' | 'drop';
/** Records handed over back to back, then a pause (real ms) before the next burst. */
interface Step {
  readonly burst: number;
  readonly pauseMs: number;
}
/** One input the source opens: its steps, then how it ends. Only the last input of a factory may not throw. */
interface Input {
  readonly steps: readonly Step[];
  readonly end: 'end' | 'throw' | 'forever';
  /** A pause before the input ends or throws (so a stop can come while it is on its way to failing). */
  readonly endPauseMs: number;
  /** Closing it early (return()) fails: a generator's finally throws; an iterator's return() rejects, or throws. */
  readonly closeThrows: false | 'reject' | 'throw';
}
interface Plan {
  readonly kind: 'generator' | 'iterator';
  readonly factory: boolean;
  readonly inputs: readonly Input[];
  readonly restartDelayMs: number;
  readonly mode: Mode;
  readonly dropOldest: boolean;
  readonly maxBuffered: number;
  readonly maxRate: number | undefined;
  readonly initialRate: number | undefined;
  readonly pid: boolean;
  readonly batchMs: number;
  readonly outputMs: number;
  /** Real ms between one batch's completion and the next cut. */
  readonly gapMs: number;
  readonly stop: {
    readonly afterTicks: number;
    /** between batches; while the next batch runs; from that batch's own output; or only once an ending producer is drained. */
    readonly when: 'between' | 'during' | 'fromOutput' | 'drained';
    readonly graceful: boolean;
  };
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  burst: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 150 })),
  pauseMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 })),
});
const inputArb = (end: fc.Arbitrary<Input['end']>): fc.Arbitrary<Input> =>
  fc.record({
    steps: fc.array(stepArb, { minLength: 1, maxLength: 4 }),
    end,
    endPauseMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 })),
    closeThrows: fc.constantFrom(false as const, 'reject' as const, 'throw' as const),
  });

const planArb: fc.Arbitrary<Plan> = fc
  .record({
    kind: fc.constantFrom('generator' as const, 'iterator' as const),
    factory: fc.boolean(),
    first: fc.array(inputArb(fc.constant('throw' as const)), { maxLength: 2 }),
    last: inputArb(fc.constantFrom('end' as const, 'throw' as const, 'forever' as const)),
    restartDelayMs: fc.integer({ min: 0, max: 15 }),
    mode: fc.constantFrom<Mode>('block', 'buffer', 'drop'),
    dropOldest: fc.boolean(),
    maxBuffered: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 600 })),
    // As records per batch (times 1000 / batchMs below), so a tiny limit does not turn a run into thousands of batches.
    maxPerBatch: fc.option(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 4, max: 300 })), { nil: undefined }),
    initialPerBatch: fc.option(fc.integer({ min: 4, max: 300 }), { nil: undefined }),
    pid: fc.boolean(),
    batchMs: fc.constantFrom(50, 100, 250, 1000),
    outputMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
    gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 })),
    stop: fc.record({
      afterTicks: fc.integer({ min: 0, max: 12 }),
      when: fc.constantFrom('between' as const, 'during' as const, 'fromOutput' as const, 'drained' as const),
      graceful: fc.boolean(),
    }),
  })
  .map(({ first, last, factory, maxPerBatch, initialPerBatch, ...p }) => ({
    ...p,
    factory,
    inputs: factory ? [...first, last] : [last],
    // A graceful stop drains the buffer at the rate limit: at most ~40 batches of it.
    maxBuffered: maxPerBatch === undefined ? p.maxBuffered : Math.min(p.maxBuffered, 40 * maxPerBatch),
    maxRate: maxPerBatch === undefined ? undefined : (maxPerBatch * 1000) / p.batchMs,
    initialRate: initialPerBatch === undefined ? undefined : (initialPerBatch * 1000) / p.batchMs,
  }));

/** Records one batch may take at `rate` (the engine's rule: at least one), or Infinity without a rate. */
const perBatch = (rate: number | undefined, batchMs: number): number =>
  rate === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor((rate * batchMs) / 1000));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A property test: prints its seed and run count (FUZZ_SEED replays), fast-check shrinks a failure. */
function property<P>(title: string, arb: fc.Arbitrary<P>, runs: number, run: (plan: P) => Promise<void>): void {
  it(
    title,
    async () => {
      console.log(`random-backpressure: ${title.slice(0, 40)}…: seed ${SEED}, ${runs} runs (FUZZ_SEED=${SEED} replays)`);
      await fc.assert(fc.asyncProperty(arb, run), { numRuns: runs, seed: SEED });
    },
    TIMEOUT,
  );
}

/** What the producer did, seen from its side. */
interface ProducerLog {
  /** Values handed over (0, 1, 2, ... across every input the factory made). */
  handed: number;
  /** Inputs opened, and those that ended, threw, or were closed by return(). */
  opened: number;
  closed: number;
  threw: number;
  /** next() called while an earlier next() had not settled. */
  concurrentNext: number;
  /** Called on every pull, before a value is handed over: the bound check. */
  onPull: () => void;
}

/** An async generator over `input`'s steps, numbering from log.handed. */
async function* generatorOf(input: Input, log: ProducerLog): AsyncGenerator<number> {
  log.opened++;
  let completed = false;
  try {
    for (;;) {
      for (const { burst, pauseMs } of input.steps) {
        for (let i = 0; i < burst; i++) {
          // The generator resumes here when next() is called: the pull being checked.
          log.onPull();
          if (pauseMs > 0 && i === burst - 1) await sleep(pauseMs);
          yield log.handed++;
        }
      }
      if (input.end !== 'forever') break;
    }
    if (input.endPauseMs > 0) await sleep(input.endPauseMs);
    completed = true;
    if (input.end === 'throw') {
      log.onPull();
      log.threw++;
      throw new Error(`producer failed after ${log.handed}`);
    }
  } finally {
    log.closed++;
    // biome-ignore lint/correctness/noUnsafeFinally: a producer whose cleanup fails when closed early, on purpose.
    if (!completed && input.closeThrows !== false) throw new Error('closing the producer failed');
  }
}

/** The same producer as a hand-written iterator (next() promises settled by timers, return() without a generator). */
function iteratorOf(input: Input, log: ProducerLog): AsyncIterable<number> {
  return {
    [Symbol.asyncIterator]() {
      log.opened++;
      let step = 0;
      let inBurst = 0;
      let finished = false;
      let busy = false;
      const finish = () => {
        if (!finished) log.closed++;
        finished = true;
      };
      return {
        next: async (): Promise<IteratorResult<number>> => {
          if (busy) log.concurrentNext++;
          if (finished) return { done: true, value: undefined };
          busy = true;
          try {
            if (step === input.steps.length) {
              if (input.end !== 'forever' && input.endPauseMs > 0) await sleep(input.endPauseMs);
              if (input.end === 'forever') step = 0;
              else if (input.end === 'end') {
                finish();
                return { done: true, value: undefined };
              } else {
                log.onPull();
                log.threw++;
                finish();
                throw new Error(`producer failed after ${log.handed}`);
              }
            }
            log.onPull();
            const { burst, pauseMs } = input.steps[step]!;
            if (++inBurst === burst) {
              inBurst = 0;
              step++;
              if (pauseMs > 0) await sleep(pauseMs);
            }
            // return() during the pause: the value was made, and is handed over (as a generator's yield would be).
            return { done: false, value: log.handed++ };
          } finally {
            busy = false;
          }
        },
        return: (): Promise<IteratorResult<number>> => {
          const early = !finished;
          finish();
          const error = new Error('closing the producer failed');
          if (early && input.closeThrows === 'throw') throw error;
          return early && input.closeThrows === 'reject' ? Promise.reject(error) : Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}

describe('back pressure of fromAsyncIterable at random (manual clock, property)', () => {
  const { sc } = useStreamingContext();
  let runs = 0;

  property(
    'batches hold the producer’s records in order, once, within the bounds; drops are counted; stops close the producer',
    planArb,
    RUNS,
    (plan) => runPlan(plan),
  );

  async function runPlan(plan: Plan): Promise<void> {
    const name = `bp-${runs++}`;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const clock = new ManualClock(0);
    const ssc = new StreamingContext(sc(), { batchInterval: plan.batchMs, clock });
    const rate0 = plan.initialRate !== undefined ? Math.min(plan.initialRate, plan.maxRate ?? Number.POSITIVE_INFINITY) : plan.maxRate;
    let rate = rate0;
    const rates = new Set<number | undefined>([rate0]);
    /** Between a batch's completion and the next cut nothing cuts: the producer's lead is checked exactly then. */
    let idle = true;
    let cutTotal = 0;
    const violations: string[] = [];
    const log: ProducerLog = {
      handed: 0,
      opened: 0,
      closed: 0,
      threw: 0,
      concurrentNext: 0,
      onPull: () => {
        if (!idle) return;
        const bound =
          plan.mode === 'block' ? Math.min(plan.maxBuffered, perBatch(rate, plan.batchMs)) : plan.mode === 'buffer' ? plan.maxBuffered : Infinity;
        // This pull would make log.handed + 1 records received, of which cutTotal went into batches.
        if (log.handed + 1 - cutTotal > bound)
          violations.push(`pull of record ${log.handed} with ${cutTotal} cut: more than ${bound} ahead (rate ${rate})`);
      },
    };
    let opens = 0;
    const open = (): AsyncIterable<number> => {
      const input = plan.inputs[Math.min(opens++, plan.inputs.length - 1)]!;
      return plan.kind === 'generator' ? generatorOf(input, log) : iteratorOf(input, log);
    };
    const submitted: BatchSubmittedEvent[] = [];
    /** log.handed when each batch was cut (read at its event: an upper bound of what the cut saw). */
    const handedAtEvent: number[] = [];
    let restarts = 0;
    const offs = [
      sc().events.on('batchSubmitted', (e) => {
        const s = e.sources.find((x) => x.name === name);
        if (s === undefined) return;
        submitted.push(e);
        handedAtEvent.push(log.handed);
        cutTotal += s.records ?? 0;
      }),
      sc().events.on('rateUpdated', (e) => {
        if (e.source !== name) return;
        rate = e.recordsPerSec;
        rates.add(rate);
      }),
      sc().events.on('receiverError', (e) => void (e.source === name && restarts++)),
    ];
    const delivered: Array<{ ms: number; records: number[] }> = [];
    const stopOptions = { graceful: plan.stop.graceful, stopContext: false, timeout: '60s' } as const;
    let stopping: Promise<void> | undefined;
    let handedAtStop = -1;
    /** Batches submitted before the stop: every later one is a cut in progress at the stop or the drain's. */
    let submittedAtStop = Number.POSITIVE_INFINITY;
    const stop = (): Promise<void> => {
      if (stopping === undefined) {
        handedAtStop = log.handed;
        submittedAtStop = submitted.length;
        stopping = ssc.stop(stopOptions);
      }
      return stopping;
    };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      ssc
        .fromAsyncIterable(plan.factory ? open : open(), {
          name,
          restartDelayMs: plan.restartDelayMs,
          backpressure: {
            mode: plan.mode,
            maxBuffered: plan.maxBuffered,
            dropPolicy: plan.dropOldest ? 'oldest' : 'newest',
            ...(plan.maxRate === undefined ? {} : { maxRate: plan.maxRate }),
            ...(plan.initialRate === undefined ? {} : { initialRate: plan.initialRate }),
            ...(plan.pid ? {} : { pid: false as const }),
          },
        })
        .foreachRDD(async (rdd, t) => {
          delivered.push({ ms: t.ms, records: await rdd.collect() });
          // Slow batches while the clock runs; a graceful stop's drain may cut many, and need not crawl.
          if (plan.outputMs > 0 && delivered.length <= 15) await sleep(plan.outputMs);
          if (plan.stop.when === 'fromOutput' && delivered.length === plan.stop.afterTicks + 1) void stop();
        });
      await ssc.start();
      const ended = ssc.awaitTermination().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      let failed = false;
      /** An ending producer whose every record was delivered or dropped before the stop. */
      let drained = false;
      void ended.then((e) => (failed = e !== undefined));
      /** Cuts one batch and waits for it (false when the stream stopped instead: a failed input, a stop). */
      const tick = async (): Promise<boolean> => {
        const ms = clock.now() + plan.batchMs;
        const done = new Promise<boolean>((resolve) => {
          const off = sc().events.on('batchCompleted', (e) => {
            if (e.batch.ms !== ms || !e.sources.some((x) => x.name === name)) return;
            off();
            resolve(true);
          });
          void ended.then(() => {
            off();
            resolve(false);
          });
        });
        idle = false;
        clock.advance(plan.batchMs);
        const ok = await done;
        idle = ok && stopping === undefined;
        return ok;
      };
      if (plan.stop.when === 'drained' && plan.inputs.at(-1)!.end === 'end') {
        // The producer ends: tick until every record it handed over is delivered or dropped.
        for (let i = 0; i < 2000 && !failed; i++) {
          if (plan.gapMs > 0) await sleep(plan.gapMs);
          const s = submitted.at(-1)?.sources.find((x) => x.name === name);
          if (
            log.closed === log.opened &&
            log.opened === plan.inputs.length &&
            s !== undefined &&
            s.buffered === 0 &&
            sumDelivered() + sumDropped() === log.handed
          ) {
            drained = true;
            break;
          }
          const before = sumDelivered();
          if (!(await tick())) break;
          // An empty batch: the producer is in a pause; let it go on rather than cut hundreds of empty batches.
          if (sumDelivered() === before) await sleep(2);
        }
        void stop();
      } else {
        for (let i = 0; i < plan.stop.afterTicks + 1 && stopping === undefined && !failed; i++) {
          if (plan.gapMs > 0) await sleep(plan.gapMs);
          if (i === plan.stop.afterTicks && plan.stop.when !== 'fromOutput') {
            if (plan.stop.when === 'during') {
              idle = false;
              clock.advance(plan.batchMs);
              await sleep(plan.gapMs % 5);
            }
            void stop();
            break;
          }
          if (!(await tick())) break;
        }
        void stop();
      }
      idle = false;
      await stopping;
      const error = await ended;
      expect(ssc.getState()).toBe('STOPPED');
      // Every input is closed: ended or threw by itself, or return() reached its finally (a paused one after its pause).
      await vi.waitFor(() => expect(log.closed).toBe(log.opened), UNTIL);

      const mine = submitted.map((e) => e.sources.find((x) => x.name === name)!);
      const all = delivered.flatMap((b) => b.records);
      const dropped = mine.reduce((n, s) => n + s.dropped, 0);
      const what = `${name} ${JSON.stringify(plan)}`;
      expect(violations, what).toEqual([]);
      expect(log.concurrentNext, `${what}: concurrent next()`).toBe(0);
      expect(unhandled, `${what}: unhandled rejections`).toEqual([]);

      // The outputs saw the batches as they were cut, in batch order.
      const byMs = new Map(submitted.map((e, i) => [e.batch.ms, mine[i]!]));
      for (const b of delivered) expect(b.records.length, `${what}: batch ${b.ms}`).toBe(byMs.get(b.ms)?.records);
      expect(
        delivered.map((b) => b.ms),
        what,
      ).toEqual([...delivered.map((b) => b.ms)].sort((a, b) => a - b));
      // In order, once each, only what was handed over.
      for (let i = 1; i < all.length; i++) expect(all[i]!, `${what}: record ${i}`).toBeGreaterThan(all[i - 1]!);
      if (all.length > 0) expect(all.at(-1)!, what).toBeLessThan(log.handed);

      let cum = 0;
      let cumDropped = 0;
      mine.forEach((s, i) => {
        const limit = perBatch(s.rateLimit, plan.batchMs);
        expect(rates.has(s.rateLimit), `${what}: batch ${i} limit ${s.rateLimit} is the estimator's or the configured one`).toBe(true);
        if (plan.maxRate !== undefined) expect(s.rateLimit!, what).toBeLessThanOrEqual(plan.maxRate);
        // A graceful stop's drain hands over all that is held (nothing reads it later), whatever the limit.
        if (i < submittedAtStop || s.buffered > 0) expect(s.records!, `${what}: batch ${i} within its rate limit`).toBeLessThanOrEqual(limit);
        // Past a cut in progress at the stop, every batch is the drain's: it leaves nothing behind.
        if (i > submittedAtStop) expect(s.buffered, `${what}: drain batch ${i} left records behind`).toBe(0);
        // Records stay behind only when the batch took all it could.
        if (s.buffered > 0) expect(s.records, `${what}: batch ${i} left ${s.buffered} behind`).toBe(limit);
        expect(s.buffered, `${what}: batch ${i} buffered`).toBeLessThanOrEqual(plan.mode === 'block' ? plan.maxBuffered : plan.maxBuffered);
        cum += s.records ?? 0;
        cumDropped += s.dropped;
        // Every record handed over by the cut is delivered, dropped (counted) or still buffered.
        expect(cum + cumDropped + s.buffered, `${what}: accounting at batch ${i}`).toBeLessThanOrEqual(handedAtEvent[i]!);
        if (i > 0) expect(cum + cumDropped + s.buffered, `${what}: accounting at batch ${i}`).toBeGreaterThanOrEqual(handedAtEvent[i - 1]!);
      });
      if (plan.mode === 'drop') {
        // Every record missing between delivered ones was dropped, and counted by the batch that skipped it.
        let seen = 0;
        let drops = 0;
        let prev = -1;
        for (const [i, b] of delivered.entries()) {
          drops += mine[i]!.dropped;
          for (const x of b.records) {
            seen += x - prev - 1;
            prev = x;
          }
          expect(seen, `${what}: gaps up to batch ${i} against the drops counted`).toBeLessThanOrEqual(drops);
        }
      } else {
        expect(dropped, `${what}: nothing dropped in ${plan.mode}`).toBe(0);
        expect(all, `${what}: a prefix of the producer`).toEqual(Array.from({ length: all.length }, (_, i) => i));
      }

      const plainThrew = !plan.factory && plan.inputs[0]!.end === 'throw' && log.threw > 0;
      if (error !== undefined) {
        // Only a plain iterable's error stops the stream.
        expect(plainThrew, `${what}: unexpected failure ${error.message}`).toBe(true);
        expect(error.message).toBe(`${name}: the input failed: producer failed after ${log.handed}`);
      } else if (drained) {
        expect(all.length + dropped, `${what}: an ended producer, drained`).toBe(log.handed);
      } else if (plan.stop.graceful) {
        // A graceful stop processes everything received: each record handed over is delivered or a counted drop.
        // The one exception: a pull in progress at the stop (the producer between two records) may hand over its
        // record after the stop; that record is not processed (the input is closed right after it).
        if (!plainThrew) {
          const lost = log.handed - (all.length + dropped);
          expect(lost, `${what}: delivered + dropped against handed over`).toBeGreaterThanOrEqual(0);
          expect(lost, `${what}: delivered + dropped against handed over`).toBeLessThanOrEqual(1);
          if (lost === 1) {
            expect(handedAtStop, `${what}: the record lost was pulled at the stop`).toBeGreaterThanOrEqual(log.handed - 1);
            if (all.length > 0) expect(all.at(-1)!, what).toBeLessThan(log.handed - 1);
          }
        }
      }
      expect(restarts, what).toBeLessThanOrEqual(log.threw);
      if (plan.factory) expect(log.opened, what).toBeLessThanOrEqual(restarts + 1);
    } finally {
      if (stopping === undefined) await ssc.stop({ stopContext: false }).catch(() => undefined);
      for (const off of offs) off();
      warn.mockRestore();
      process.off('unhandledRejection', onUnhandled);
    }

    function sumDelivered(): number {
      return delivered.reduce((n, b) => n + b.records.length, 0);
    }
    function sumDropped(): number {
      return submitted.reduce((n, e) => n + e.sources.find((x) => x.name === name)!.dropped, 0);
    }
  }
});

/**
 * The Redis bus's own back pressure: the broker keeps what a batch does not take (a group read takes at most
 * `maxPerBatch`, and the rate limit once there is one), and group mode acknowledges a batch's entries only once the
 * batch committed. A producer adds entries in random bursts while consumers of one group and name run one after
 * another, each stopped at random (gracefully, at once, while a batch runs, or by an output that fails), and a
 * last one reads to the end: docs/streaming.md ("Delivery and restarts") promises at-least-once, with a repeat only
 * of a batch that did not commit, read again first by the next consumer; so every entry is delivered, in id order,
 * once, apart from the failed batches; each batch within its limits; the group's lag right; nothing left pending.
 */
describe.skipIf(redisSkipReason !== undefined)(
  `the Redis bus at random (group mode)${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`,
  () => {
    const { sc } = useStreamingContext();
    const url = useRedisServer();
    let redis: Redis;
    beforeAll(() => {
      redis = new Redis(url());
    });
    afterAll(async () => {
      await redis?.quit();
    });
    let keys = 0;

    interface BusPlan {
      readonly bursts: ReadonlyArray<{ readonly n: number; readonly pauseMs: number }>;
      readonly maxPerBatch: number;
      readonly maxPerBatchByRate: number | undefined;
      readonly pid: boolean;
      readonly batchMs: number;
      readonly consumers: ReadonlyArray<{ readonly ticks: number; readonly stop: 'graceful' | 'now' | 'during' | 'failOutput' }>;
    }
    const busArb: fc.Arbitrary<BusPlan> = fc.record({
      bursts: fc.array(fc.record({ n: fc.integer({ min: 1, max: 60 }), pauseMs: fc.integer({ min: 0, max: 10 }) }), { minLength: 1, maxLength: 5 }),
      maxPerBatch: fc.integer({ min: 1, max: 80 }),
      maxPerBatchByRate: fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
      pid: fc.boolean(),
      batchMs: fc.constantFrom(100, 1000),
      consumers: fc.array(
        fc.record({
          ticks: fc.integer({ min: 0, max: 6 }),
          stop: fc.constantFrom('graceful' as const, 'now' as const, 'during' as const, 'failOutput' as const),
        }),
        { maxLength: 3 },
      ),
    });

    property(
      'every entry is delivered in order, once unless its batch failed, within the batch limits; nothing stays pending',
      busArb,
      BUS_RUNS,
      (plan) => runBus(plan),
    );

    async function runBus(plan: BusPlan): Promise<void> {
      const key = `bus-${keys++}`;
      const what = `${key} ${JSON.stringify(plan)}`;
      const total = plan.bursts.reduce((n, b) => n + b.n, 0);
      let added = 0;
      const producing = (async () => {
        for (const { n, pauseMs } of plan.bursts) {
          const p = redis.pipeline();
          for (let i = 0; i < n; i++) p.xadd(key, '*', 'i', String(added + i));
          await p.exec();
          added += n;
          if (pauseMs > 0) await sleep(pauseMs);
        }
      })();
      const delivered: number[] = [];
      /** Entries of batches whose output failed: the next consumer reads them again. */
      const failed: number[][] = [];
      /** Ids of every batch cut (a batch cut ahead of a stop is read again by the next consumer). */
      const cutIds = new Set<string>();
      const runConsumer = async (ticks: number, stop: BusPlan['consumers'][number]['stop'] | 'toTheEnd'): Promise<void> => {
        const clock = new ManualClock(0);
        const ssc = new StreamingContext(sc(), { batchInterval: plan.batchMs, clock });
        const maxRate = plan.maxPerBatchByRate === undefined ? undefined : (plan.maxPerBatchByRate * 1000) / plan.batchMs;
        const name = `redis:${key}:g:c`;
        const batches: Array<{ records: number; rateLimit: number | undefined; lag: number | undefined; addedBefore: number }> = [];
        const off = sc().events.on('batchSubmitted', (e) => {
          const s = e.sources.find((x) => x.name === name);
          if (s !== undefined) batches.push({ records: s.records ?? 0, rateLimit: s.rateLimit, lag: s.lag, addedBefore: added });
        });
        const failAt = stop === 'failOutput' ? ticks : -1;
        let outputs = 0;
        ssc
          .redisStream({
            url: url(),
            key,
            mode: 'group',
            group: 'g',
            consumer: 'c',
            startId: '0',
            maxPerBatch: plan.maxPerBatch,
            ...(maxRate === undefined ? {} : { maxRate }),
            ...(plan.pid ? {} : { pid: false as const }),
          })
          .foreachRDD(async (rdd) => {
            const entries = await rdd.collect();
            for (const e of entries) cutIds.add(e.id);
            const values = entries.map((e) => Number(e.fields.i));
            delivered.push(...values);
            if (outputs++ === failAt) {
              failed.push(values);
              throw new Error('the output failed');
            }
          });
        await ssc.start();
        const ended = ssc.awaitTermination().then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        try {
          const n = stop === 'toTheEnd' ? Number.POSITIVE_INFINITY : stop === 'failOutput' ? ticks + 1 : ticks;
          for (let i = 0; i < n; i++) {
            if (stop === 'toTheEnd' && added === total && delivered.length - failed.flat().length === total) break;
            expect(i, `${what}: reading to the end takes too many batches`).toBeLessThan(2000);
            const ms = clock.now() + plan.batchMs;
            const done = new Promise<void>((resolve) => {
              const off = sc().events.on('batchCompleted', (e) => {
                if (e.batch.ms !== ms || !e.sources.some((x) => x.name === name)) return;
                off();
                resolve();
              });
              void ended.then(() => {
                off();
                resolve();
              });
            });
            clock.advance(plan.batchMs);
            await done;
            if (stop === 'toTheEnd' && batches.at(-1)?.records === 0) await sleep(2);
          }
          if (stop === 'during') clock.advance(plan.batchMs);
          if (stop === 'failOutput') expect((await ended)?.message, what).toMatch(/the output failed/);
          await ssc.stop({ graceful: stop === 'graceful' || stop === 'toTheEnd', stopContext: false, timeout: '60s' });
          if (stop !== 'failOutput') expect(await ended, what).toBeUndefined();
        } finally {
          if (ssc.getState() !== 'STOPPED') await ssc.stop({ stopContext: false });
          off();
        }
        for (const [i, b] of batches.entries()) {
          // At most maxPerBatch, and rate × interval once there is a rate; the rest waits in Redis.
          expect(b.records, `${what}: batch ${i}`).toBeLessThanOrEqual(Math.min(plan.maxPerBatch, perBatch(b.rateLimit, plan.batchMs)));
          if (maxRate !== undefined) expect(b.rateLimit!, `${what}: batch ${i}`).toBeLessThanOrEqual(maxRate);
          expect(b.lag ?? 0, `${what}: batch ${i} lag`).toBeGreaterThanOrEqual(0);
        }
        // The last reader, once the producer is done: the lag is what the group has not read yet.
        if (stop === 'toTheEnd' && batches.length > 0 && batches.at(-1)!.addedBefore === total)
          expect(batches.at(-1)!.lag, what).toBe(total - cutIds.size);
      };
      for (const c of plan.consumers) await runConsumer(c.ticks, c.stop);
      await producing;
      await runConsumer(0, 'toTheEnd');

      // Apart from the first delivery of each failed batch, every entry once, in id order.
      const once = [...delivered];
      for (const values of failed) {
        const at = once.findIndex((_, i) => values.every((v, j) => once[i + j] === v));
        expect(at, `${what}: failed batch ${JSON.stringify(values)} delivered`).toBeGreaterThanOrEqual(0);
        once.splice(at, values.length);
      }
      expect(once, what).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(((await redis.xpending(key, 'g')) as [number])[0], `${what}: pending after the last consumer`).toBe(0);
      await redis.del(key);
    }
  },
);
