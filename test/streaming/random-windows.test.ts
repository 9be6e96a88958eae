/**
 * Random windowed and stateful programs against a plain model of what Spark documents for each batch: random
 * batches of keyed records (string and number keys, '1' and 1 apart, empty batches, keys that appear and vanish),
 * a few outputs drawn from the window and state operations (window and slide independent multiples of the batch
 * interval), on a manual clock, every batch compared. The restart variant stops the program at up to four random
 * batches, cleanly or by a failed output (the batch stays uncommitted), leaves the driver down a while (a few batch
 * times, so a state checkpoint can fall due meanwhile, or more than the logs a checkpoint folder keeps), and runs the
 * rest with `getOrCreate` on the same checkpoint folder: docs/streaming.md ("Restarting with getOrCreate") promises state and windows restored, the
 * uncommitted batch run again with its time and range, so every batch's output equals the model, a batch before
 * the restart at most twice (at-least-once output) and none missing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { type DStream, ManualClock, type State, StateSpec, StreamingContext } from 'kindling';
import { brokerSource, collectBatches, sortedPairs, tickBatches, UNTIL, useStreamingContext } from './helpers.js';

const I = 1000;
/** A longer search locally: RANDOM_WINDOWS_RUNS=500 RANDOM_WINDOWS_SEED=42 npx vitest run test/streaming/random-windows.test.ts */
const RUNS = Number(process.env.RANDOM_WINDOWS_RUNS ?? 20);
/** Fewer by default for restarts: a program there runs up to five times, with state ops drawn twice as often. */
const RESTART_RUNS = Number(process.env.RANDOM_WINDOWS_RUNS ?? 12);
/**
 * Only a hang should reach it: a run takes about a quarter of a second on an idle machine, but a restart run of a
 * few mapWithState outputs took 24–31 s at load 28–30 (1.5–2 s a batch, 1–3 s a restart), the 12 runs ~60 s; CI
 * once cut the restart property at the 180 s this had, at load ~20. RUN_TIMEOUT fails the one run that hangs,
 * reported with its values, which a cut by the spec's bound does not.
 */
const TIMEOUT = Math.max(600_000, Math.max(RUNS, RESTART_RUNS) * 30_000);
const RUN_TIMEOUT = 120_000;
/** Drawn here and printed, so that a run that ends by the spec's timeout (fast-check then reports no seed) can be replayed. */
const SEED = { seed: Number(process.env.RANDOM_WINDOWS_SEED ?? Math.floor(Math.random() * 2 ** 31)) };
console.log(`random-windows: RANDOM_WINDOWS_SEED=${SEED.seed} replays`);
type Key = string | number;
type Rec = [Key, number];
/** The records of each batch time ((i + 1) * I); null where no batch ran (the driver was down). */
type Batches = readonly (readonly Rec[] | null)[];
type Out = Array<[number, unknown[]]>;

/** The operations a program draws its outputs from, with their window and slide in batches. */
type Op =
  | { op: 'reduceByKeyAndWindow'; w: number; s: number; inverse: 'none' | 'inverse' | 'inverse+filter'; partitions: number }
  | { op: 'reduceByWindow'; w: number; s: number; inverse: boolean }
  | { op: 'countByWindow' | 'countByValueAndWindow'; w: number; s: number }
  | { op: 'windowJoin'; w: number; w2: number; s: number }
  | { op: 'windowOfWindow'; w: number; s: number; w2: number; s2: number }
  | { op: 'transform' }
  | { op: 'updateStateByKey'; initial: boolean; checkpoint: number; thenWindow?: [number, number] }
  | { op: 'mapWithState'; initial: boolean; timeout?: number; checkpoint: number; snapshots: boolean; snapshotWindow?: [number, number] };

const span = fc.integer({ min: 1, max: 4 });
const slide = fc.integer({ min: 1, max: 3 });
/** The state ops, with a window over the state drawn often (what a restart's recovery of older states serves). */
const stateOpArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record(
    {
      op: fc.constant('updateStateByKey' as const),
      initial: fc.boolean(),
      // 0: Spark's default interval (10 batches); else every n batches (not always dividing the window).
      checkpoint: fc.integer({ min: 0, max: 5 }),
      // Up to 8 batches: a window that reaches before the restored state checkpoint, and past down time.
      thenWindow: fc.tuple(fc.integer({ min: 1, max: 8 }), slide),
    },
    { requiredKeys: ['op', 'initial', 'checkpoint'] },
  ),
  fc.record(
    {
      op: fc.constant('mapWithState' as const),
      initial: fc.boolean(),
      timeout: fc.integer({ min: 1, max: 3 }),
      checkpoint: fc.integer({ min: 0, max: 5 }),
      snapshots: fc.boolean(),
      snapshotWindow: fc.tuple(fc.integer({ min: 1, max: 8 }), slide),
    },
    { requiredKeys: ['op', 'initial', 'checkpoint', 'snapshots'] },
  ),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('reduceByKeyAndWindow' as const),
    w: span,
    s: slide,
    inverse: fc.constantFrom('none' as const, 'inverse' as const, 'inverse+filter' as const),
    partitions: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ op: fc.constant('reduceByWindow' as const), w: span, s: slide, inverse: fc.boolean() }),
  fc.record({ op: fc.constantFrom('countByWindow' as const, 'countByValueAndWindow' as const), w: span, s: slide }),
  fc.record({ op: fc.constant('windowJoin' as const), w: span, w2: span, s: slide }),
  fc.record({
    op: fc.constant('windowOfWindow' as const),
    w: span,
    s: slide,
    w2: fc.integer({ min: 1, max: 3 }),
    s2: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({ op: fc.constant('transform' as const) }),
  // Weighted as the two ops it picks from were each before.
  { arbitrary: stateOpArb, weight: 2 },
);
/** Restarts draw state ops twice as often: what they restore is the harder part. */
const restartOpArb = fc.oneof({ arbitrary: opArb, weight: 1 }, { arbitrary: stateOpArb, weight: 2 });

const recArb: fc.Arbitrary<Rec> = fc.tuple(fc.constantFrom<Key>('a', 'b', '1', 1, 2), fc.integer({ min: 1, max: 3 }));
const batchArb = fc.oneof(fc.constant([] as Rec[]), fc.array(recArb, { minLength: 1, maxLength: 5 }));
const batchesArb = fc.array(batchArb, { minLength: 2, maxLength: 12 });
/**
 * Longer for restarts: a window over a state can then reach before the restored checkpoint and the replayed input;
 * mostly not empty, so a batch recovery misses changes the state.
 */
const longBatchesArb = fc.array(
  fc.oneof({ arbitrary: batchArb, weight: 1 }, { arbitrary: fc.array(recArb, { minLength: 1, maxLength: 5 }), weight: 2 }),
  {
    minLength: 2,
    maxLength: 16,
  },
);

// ---- the model: what each output holds at batch time t, from the batches alone --------------------------------

const jsonKey = (k: unknown): string => JSON.stringify(k);

/** Records of the batches in (t - windowMs, t]. */
function inWindow(batches: Batches, t: number, windowMs: number): Rec[] {
  return batches.flatMap((b, i) => ((i + 1) * I > t - windowMs && (i + 1) * I <= t ? (b ?? []) : []));
}

function sumByKey(recs: readonly Rec[]): Rec[] {
  const m = new Map<string, Rec>();
  for (const [k, v] of recs) m.set(jsonKey(k), [k, (m.get(jsonKey(k))?.[1] ?? 0) + v]);
  return [...m.values()];
}

/** updateStateByKey's function: adds the batch's values; an idle key whose state is even is removed. */
function updateSum(values: number[], state: number | undefined): number | undefined {
  if (values.length === 0) return state !== undefined && state % 2 === 0 ? undefined : state;
  return (state ?? 0) + values.reduce((a, b) => a + b, 0);
}
const UPDATE_INITIAL: Rec[] = [
  ['a', 1],
  [2, 4],
];

/** mapWithState's function: a 3 removes the key; other values add; a timing-out key says so. */
function mapSum(key: Key, value: number | undefined, state: State<number>): [Key, number | string] {
  if (state.isTimingOut()) return [key, `timeout ${state.get()}`];
  if (value === 3) {
    state.remove();
    return [key, 'removed'];
  }
  state.update((state.getOption() ?? 0) + (value ?? 0));
  return [key, state.get()];
}
const MAP_INITIAL: Rec[] = [
  ['b', 5],
  [1, 2],
];

/**
 * State after each batch (index i: time (i + 1) * I), per updateStateByKey's documented semantics; null where no
 * batch ran (docs/streaming.md: kindling goes on from the next batch time, the state as it was).
 */
function updateModel(batches: Batches, initial: boolean): (Rec[] | null)[] {
  let state = new Map<string, Rec>(initial ? UPDATE_INITIAL.map((r) => [jsonKey(r[0]), r]) : []);
  return batches.map((b) => {
    if (b === null) return null;
    const values = new Map<string, [Key, number[]]>();
    for (const [k, v] of b) {
      const e = values.get(jsonKey(k)) ?? [k, []];
      e[1].push(v);
      values.set(jsonKey(k), e);
    }
    const next = new Map<string, Rec>();
    for (const id of new Set([...state.keys(), ...values.keys()])) {
      const key = (state.get(id)?.[0] ?? values.get(id)?.[0]) as Key;
      const s = updateSum(values.get(id)?.[1] ?? [], state.get(id)?.[1]);
      if (s !== undefined) next.set(id, [key, s]);
    }
    state = next;
    return [...state.values()];
  });
}

/** mapWithState per record (Spark's): [mapped values, snapshot] after each batch. */
function mapWithStateModel(batches: Batches, initial: boolean, timeoutMs: number | undefined): Array<[Array<[Key, number | string]>, Rec[]] | null> {
  const st = new Map<string, [Key, number, number]>(initial ? MAP_INITIAL.map(([k, v]) => [jsonKey(k), [k, v, I]]) : []);
  return batches.map((b, i) => {
    if (b === null) return null;
    const now = (i + 1) * I;
    const out: Array<[Key, number | string]> = [];
    for (const [k, v] of b) {
      if (v === 3) {
        st.delete(jsonKey(k));
        out.push([k, 'removed']);
      } else {
        const n = (st.get(jsonKey(k))?.[1] ?? 0) + v;
        st.set(jsonKey(k), [k, n, now]);
        out.push([k, n]);
      }
    }
    for (const [id, [k, n, t]] of [...st]) {
      // A key called in this batch has its time refreshed even when its record removed it and a later one did not.
      if (timeoutMs !== undefined && !b.some(([bk]) => jsonKey(bk) === id) && t < now - timeoutMs) {
        st.delete(id);
        out.push([k, `timeout ${n}`]);
      }
    }
    return [out, [...st.values()].map(([k, n]): Rec => [k, n])];
  });
}

/** Keys of a mapped stream in their order per key (the engine fixes no order across keys). */
function byKey(xs: readonly unknown[]): Record<string, unknown[]> {
  const m: Record<string, unknown[]> = {};
  for (const x of xs as Array<[Key, unknown]>) (m[jsonKey(x[0])] ??= []).push(x[1]);
  return m;
}

interface Output {
  name: string;
  /** Builds the output's stream on the op's stream (`Op.build`'s). */
  build(base: DStream<unknown>): DStream<unknown>;
  /** The output at batch time t, normalized; undefined when the stream has no RDD at t. */
  model(t: number): unknown;
  normalize(xs: unknown[]): unknown;
}

const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;
const valid = (t: number, slideMs: number) => t % slideMs === 0;

/** One op of a program: its stream, built once on the input, and the outputs read from it. */
interface Group {
  build(pairs: DStream<Rec>, ssc: StreamingContext): DStream<unknown>;
  outputs: Output[];
}

const same = (base: DStream<unknown>) => base;
const one = (build: Group['build'], output: Output): Group => ({ build, outputs: [output] });

/** The outputs of one op, with their model over `batches`: nothing at a time no batch ran. */
function outputsOf(o: Op, batches: Batches): Group {
  const g = opOutputs(o, batches);
  return { ...g, outputs: g.outputs.map((out) => ({ ...out, model: (t: number) => (batches[t / I - 1] === null ? undefined : out.model(t)) })) };
}

function opOutputs(o: Op, batches: Batches): Group {
  const sorted = (xs: unknown[]) => sortedPairs(xs);
  const nonZero = (xs: unknown[]) => sortedPairs((xs as Rec[]).filter(([, n]) => n !== 0));
  switch (o.op) {
    case 'reduceByKeyAndWindow': {
      const [w, s] = [o.w * I, o.s * I];
      const spec = {
        window: w,
        slide: s,
        partitions: o.partitions,
        ...(o.inverse === 'none' ? {} : { inverse: sub }),
        ...(o.inverse === 'inverse+filter' ? { filter: ([, n]: [unknown, number]) => n > 0 } : {}),
      };
      return one((pairs) => pairs.reduceByKeyAndWindow(add, spec) as DStream<unknown>, {
        name: `reduceByKeyAndWindow(${o.inverse}, ${w}, ${s})`,
        build: same,
        model: (t) => (valid(t, s) ? sortedPairs(sumByKey(inWindow(batches, t, w))) : undefined),
        // Without a filter, a key whose sum went back to 0 stays with its 0 (Spark's): compared without them.
        normalize: o.inverse === 'inverse' ? nonZero : sorted,
      });
    }
    case 'reduceByWindow': {
      const [w, s] = [o.w * I, o.s * I];
      return one(
        (pairs) => pairs.map(([, v]) => v).reduceByWindow(add, { window: w, slide: s, ...(o.inverse ? { inverse: sub } : {}) }) as DStream<unknown>,
        {
          name: `reduceByWindow(${o.inverse}, ${w}, ${s})`,
          build: same,
          model: (t) => {
            if (!valid(t, s)) return undefined;
            const xs = inWindow(batches, t, w);
            return xs.length === 0 ? [] : [xs.reduce((a, [, v]) => a + v, 0)];
          },
          // With an inverse, a window its batches left holds 0 (reduceByWindow has no filter).
          normalize: (xs) => (o.inverse ? xs.filter((n) => n !== 0) : xs),
        },
      );
    }
    case 'countByWindow': {
      const [w, s] = [o.w * I, o.s * I];
      return one((pairs) => pairs.countByWindow(w, s) as DStream<unknown>, {
        name: `countByWindow(${w}, ${s})`,
        build: same,
        model: (t) => (valid(t, s) ? [inWindow(batches, t, w).length] : undefined),
        normalize: (xs) => xs,
      });
    }
    case 'countByValueAndWindow': {
      const [w, s] = [o.w * I, o.s * I];
      return one((pairs) => pairs.map(([k]) => k).countByValueAndWindow(w, s) as DStream<unknown>, {
        name: `countByValueAndWindow(${w}, ${s})`,
        build: same,
        model: (t) => (valid(t, s) ? sortedPairs(sumByKey(inWindow(batches, t, w).map(([k]): Rec => [k, 1]))) : undefined),
        normalize: sorted,
      });
    }
    case 'windowJoin': {
      const [w, w2, s] = [o.w * I, o.w2 * I, o.s * I];
      return one((pairs) => pairs.window(w, s).join(pairs.window(w2, s)) as DStream<unknown>, {
        name: `window(${w}, ${s}).join(window(${w2}, ${s}))`,
        build: same,
        model: (t) => {
          if (!valid(t, s)) return undefined;
          const right = inWindow(batches, t, w2);
          return sortedPairs(
            inWindow(batches, t, w).flatMap(([k, v]) => right.filter(([k2]) => jsonKey(k2) === jsonKey(k)).map(([, v2]) => [k, [v, v2]])),
          );
        },
        normalize: sorted,
      });
    }
    case 'windowOfWindow': {
      const [w, s] = [o.w * I, o.s * I];
      const [w2, s2] = [o.w2 * s, o.s2 * s];
      return one((pairs) => pairs.window(w, s).window(w2, s2) as DStream<unknown>, {
        name: `window(${w}, ${s}).window(${w2}, ${s2})`,
        build: same,
        model: (t) => {
          if (!valid(t, s2)) return undefined;
          const out: Rec[] = [];
          for (let p = t; p > t - w2 && p > 0; p -= s) out.push(...inWindow(batches, p, w));
          return sortedPairs(out);
        },
        normalize: sorted,
      });
    }
    case 'transform':
      return one(
        (pairs) => pairs.transform((rdd, time) => (time.id % 2 === 0 ? rdd : rdd.mapValues((v) => v * 10))).reduceByKey(add) as DStream<unknown>,
        {
          // The function runs on the driver every batch with its time: odd batch ids scale the values.
          name: 'transform.reduceByKey',
          build: same,
          model: (t) => {
            const id = t / I - 1;
            return sortedPairs(sumByKey((batches[id] ?? []).map(([k, v]): Rec => [k, id % 2 === 0 ? v : v * 10])));
          },
          normalize: sorted,
        },
      );
    case 'updateStateByKey': {
      const states = updateModel(batches, o.initial);
      const stateAt = (t: number) => states[t / I - 1] ?? [];
      const build = (pairs: DStream<Rec>, ssc: StreamingContext) => {
        const initial = o.initial ? { initial: ssc.sparkContext.parallelize(UPDATE_INITIAL, 2) } : {};
        const state = pairs.updateStateByKey(updateSum, { partitions: 2, ...initial });
        if (o.checkpoint > 0) state.checkpoint(o.checkpoint * I);
        return state;
      };
      const outs: Output[] = [
        {
          name: `updateStateByKey(initial ${o.initial}, checkpoint ${o.checkpoint})`,
          build: same,
          model: (t) => sortedPairs(stateAt(t)),
          normalize: sorted,
        },
      ];
      if (o.thenWindow !== undefined) {
        const [w, s] = [o.thenWindow[0] * I, o.thenWindow[1] * I];
        outs.push({
          name: `updateStateByKey(initial ${o.initial}, checkpoint ${o.checkpoint}).window(${w}, ${s})`,
          build: (state) => state.window(w, s),
          model: (t) => {
            if (!valid(t, s)) return undefined;
            const out: Rec[] = [];
            for (let p = t; p > t - w && p > 0; p -= I) out.push(...stateAt(p));
            return sortedPairs(out);
          },
          normalize: sorted,
        });
      }
      return { build: build as Group['build'], outputs: outs };
    }
    case 'mapWithState': {
      const timeoutMs = o.timeout === undefined ? undefined : o.timeout * I;
      const model = mapWithStateModel(batches, o.initial, timeoutMs);
      const name = `mapWithState(initial ${o.initial}, timeout ${timeoutMs}, checkpoint ${o.checkpoint})`;
      const build = (pairs: DStream<Rec>, ssc: StreamingContext) => {
        let spec = StateSpec.function(mapSum).numPartitions(2);
        if (o.initial) spec = spec.initialState(ssc.sparkContext.parallelize(MAP_INITIAL, 2));
        if (timeoutMs !== undefined) spec = spec.timeout(timeoutMs);
        const mapped = pairs.mapWithState(spec);
        if (o.checkpoint > 0) mapped.checkpoint(o.checkpoint * I);
        return mapped;
      };
      const outs: Output[] = [{ name, build: same, model: (t) => byKey(model[t / I - 1]?.[0] ?? []), normalize: byKey }];
      if (o.snapshots) {
        outs.push({
          name: `${name}.stateSnapshots()`,
          build: (mapped) => (mapped as ReturnType<typeof build>).stateSnapshots() as DStream<unknown>,
          model: (t) => sortedPairs(model[t / I - 1]?.[1] ?? []),
          normalize: sorted,
        });
      }
      if (o.snapshotWindow !== undefined) {
        const [w, s] = [o.snapshotWindow[0] * I, o.snapshotWindow[1] * I];
        outs.push({
          name: `${name}.stateSnapshots().window(${w}, ${s})`,
          build: (mapped) => (mapped as ReturnType<typeof build>).stateSnapshots().window(w, s) as DStream<unknown>,
          model: (t) => {
            if (!valid(t, s)) return undefined;
            const out: Rec[] = [];
            for (let p = t; p > t - w && p > 0; p -= I) out.push(...(model[p / I - 1]?.[1] ?? []));
            return sortedPairs(out);
          },
          normalize: sorted,
        });
      }
      return { build: build as Group['build'], outputs: outs };
    }
  }
}

/** Registers every output of a program on its input; an op with several outputs builds its stream once. */
function buildAll(groups: Group[], pairs: DStream<Rec>, ssc: StreamingContext): Out[] {
  return groups.flatMap((g) => {
    const base = g.build(pairs, ssc);
    return g.outputs.map((o) => collectBatches(o.build(base)));
  });
}

/** Every output's batches against the model, and each batch time present `times(o, t)` times. */
function expectModel(outputs: Output[], got: Out[], lastMs: number, times: (o: Output, t: number) => number): void {
  outputs.forEach((o, i) => {
    const seen = got[i]!;
    for (const [t, xs] of seen) expect({ output: o.name, t, value: o.normalize(xs) }).toEqual({ output: o.name, t, value: o.model(t) });
    for (let t = I; t <= lastMs; t += I) {
      const n = seen.filter(([st]) => st === t).length;
      expect({ output: o.name, t, times: n }).toEqual({ output: o.name, t, times: times(o, t) });
    }
  });
}

/**
 * Where runs stop: after batch `at` (modulo the batches), cleanly or by a failed output (`ahead`: the next batch was
 * cut too, so two batches are uncommitted); `down` slots pass before the next run starts (their records wait for
 * its first batch), then with `long` LONG_DOWN more batch times in which nothing arrives.
 */
const stopsArb: fc.Arbitrary<Stop[]> = fc.array(
  fc.record({
    at: fc.nat(),
    failed: fc.boolean(),
    failFirst: fc.boolean(),
    ahead: fc.boolean(),
    // Mostly short; up to 6 slots so a state checkpoint interval (up to 5 batches) can fall due inside.
    down: fc.oneof({ arbitrary: fc.nat({ max: 2 }), weight: 3 }, { arbitrary: fc.integer({ min: 3, max: 6 }), weight: 1 }),
    long: fc.oneof({ arbitrary: fc.constant(false), weight: 2 }, { arbitrary: fc.constant(true), weight: 1 }),
  }),
  {
    minLength: 1,
    maxLength: 4,
  },
);

/** Longer than the 100 batches of offsets and commits a checkpoint folder keeps (checkpoint-log.ts, RETAIN). */
const LONG_DOWN = 105;

type Stop = { at: number; failed: boolean; failFirst: boolean; ahead: boolean; down: number; long: boolean };

interface Run {
  clockMs: number;
  /** Batches of the previous run cut and not committed: run again first. */
  replayMs: number[];
  /** Each step runs a slot's batch at `ms`, or a failing batch and the one cut ahead of it. */
  steps: Array<{ push: number[]; ms: number[]; fails?: number }>;
  failAt?: number;
  failFirst: boolean;
  ahead: boolean;
  /** Slots that pass while the driver is down after this run: their records wait for the next run's first batch. */
  downSlots: number[];
}

/** The runs of a program stopped at `stops`, and the batches that ran at each batch time (their records; null while down). */
function schedule(slots: Batches, stops: readonly Stop[]): { runs: Run[]; batches: Batches } {
  const n = slots.length;
  const ends = [...new Map(stops.map((st): [number, Stop] => [1 + (st.at % (n - 1)), st])).entries()].sort(([a], [b]) => a - b);
  const batches: (Rec[] | null)[] = [];
  const runs: Run[] = [];
  let slot = 0;
  let replayMs: number[] = [];
  // Records written while the driver was down: the next batch that runs reads them.
  let waiting: Rec[] = [];
  const runSlot = (s: number): number => {
    batches.push([...waiting, ...slots[s]!]);
    waiting = [];
    return batches.length * I;
  };
  for (const [end, st] of [...ends, [n, undefined] as [number, Stop | undefined]]) {
    if (end <= slot && st !== undefined) continue;
    const run: Run = { clockMs: batches.length * I, replayMs, steps: [], failFirst: st?.failFirst ?? false, ahead: false, downSlots: [] };
    replayMs = [];
    while (slot < end) {
      if (slot === end - 1 && st?.failed) {
        const ahead = st.ahead && slot + 1 < n - 1;
        const push = ahead ? [slot, slot + 1] : [slot];
        const ms = push.map(runSlot);
        run.failAt = ms[0]!;
        run.ahead = ahead;
        run.steps.push({ push, ms, fails: run.failAt });
        replayMs = ms;
        slot += push.length;
      } else {
        run.steps.push({ push: [slot], ms: [runSlot(slot)] });
        slot++;
      }
    }
    if (st !== undefined) {
      // Down time: never the last batch, so a run follows and reads what arrived meanwhile.
      for (let d = 0; d < st.down && slot < n - 1; d++) {
        run.downSlots.push(slot);
        waiting.push(...slots[slot]!);
        batches.push(null);
        slot++;
      }
      for (let d = 0; st.long && d < LONG_DOWN; d++) batches.push(null);
    }
    runs.push(run);
  }
  return { runs, batches };
}

describe('random windowed and stateful programs against a model (manual clock, property)', () => {
  const { sc, dir } = useStreamingContext();
  let folders = 0;

  it(
    'every batch of every output equals the model (queueStream, one batch per tick)',
    async () => {
      await fc.assert(
        fc.asyncProperty(batchesArb, fc.array(opArb, { minLength: 1, maxLength: 4 }), async (batches, ops) => {
          const groups = ops.map((o) => outputsOf(o, batches));
          const clock = new ManualClock(0);
          const ssc = new StreamingContext(sc(), { batchInterval: I, clock });
          const got = buildAll(groups, ssc.queueStream(batches.map((b) => [...b])), ssc);
          await ssc.start();
          try {
            await tickBatches(ssc, clock, batches.length);
          } finally {
            await ssc.stop({ stopContext: false });
          }
          expectModel(
            groups.flatMap((g) => g.outputs),
            got,
            batches.length * I,
            (o, t) => (o.model(t) === undefined ? 0 : 1),
          );
        }),
        { numRuns: RUNS, ...SEED, plugins: [fc.timeout(RUN_TIMEOUT)] },
      );
    },
    TIMEOUT,
  );

  it(
    'stopped at random batches (cleanly, by a failed output, with down time) and restarted with getOrCreate, the outputs go on as the model',
    async () => {
      await fc.assert(
        fc.asyncProperty(longBatchesArb, fc.array(restartOpArb, { minLength: 1, maxLength: 4 }), stopsArb, async (slots, ops, stops) => {
          const plan = schedule(slots, stops);
          const groups = ops.map((o) => outputsOf(o, plan.batches));
          const folder = path.join(dir(), `restart-${folders++}`);
          const log: Rec[] = [];
          const runs: Out[][] = [];
          const failed = new Map<number, number>(); // failed batch ms -> run
          for (const [r, run] of plan.runs.entries()) {
            const clock = new ManualClock(run.clockMs);
            const ssc = StreamingContext.getOrCreate(folder, () => {
              const ssc = new StreamingContext(sc(), { batchInterval: I, clock });
              const pairs = ssc.source(brokerSource(log));
              const ahead = run.failAt === undefined || !run.ahead ? undefined : batchSubmitted(ssc, run.failAt + I);
              // The failing output, first or last of the batch's outputs; cutting ahead, it waits for the next
              // batch's cut, so that batch is uncommitted too.
              const fail = () =>
                pairs.foreachRDD(async (_rdd, t) => {
                  if (t.ms !== run.failAt) return;
                  await ahead;
                  throw new Error(`crash at ${t.ms}`);
                });
              if (run.failFirst) fail();
              runs.push(buildAll(groups, pairs, ssc));
              if (!run.failFirst) fail();
              return ssc;
            });
            // Listening before start(): uncommitted batches run again at once, without a tick.
            const replayed = Promise.all(run.replayMs.map((ms) => batchDone(ssc, ms)));
            await ssc.start();
            try {
              await replayed;
              for (const step of run.steps) {
                if (step.fails === undefined) {
                  log.push(...slots[step.push[0]!]!);
                  await tickBatches(ssc, clock, 1);
                  continue;
                }
                // A failing batch (and the one cut ahead of it): each batch's records arrive before its own cut.
                for (const [j, slot] of step.push.entries()) {
                  const cut = batchSubmitted(ssc, step.ms[j]!);
                  log.push(...slots[slot]!);
                  clock.advance(I);
                  await cut;
                }
                await expect(ssc.awaitTermination()).rejects.toThrow(/crash at/);
                failed.set(step.fails, r);
              }
            } finally {
              await ssc.stop({ stopContext: false });
            }
            // Written while the driver was down: read by the next run's first batch.
            for (const slot of run.downSlots) log.push(...slots[slot]!);
          }
          const outputs = groups.flatMap((g) => g.outputs);
          const got = outputs.map((_, i) => runs.flatMap((run) => run[i]!));
          // Exactly once, except a failed batch: its outputs before the failing one ran in the failed run too.
          const failedLast = (t: number) => failed.has(t) && !plan.runs[failed.get(t)!]!.failFirst;
          expectModel(outputs, got, plan.batches.length * I, (o, t) => (o.model(t) === undefined ? 0 : failedLast(t) ? 2 : 1));
        }),
        { numRuns: RESTART_RUNS, ...SEED, plugins: [fc.timeout(RUN_TIMEOUT)] },
      );
    },
    TIMEOUT,
  );
});

describe('found by the model', () => {
  const { sc, dir } = useStreamingContext();

  it('after down time, a window over updateStateByKey holds no state for the times no batch ran, and does not change the state', async () => {
    // Before: the window asked the state at 2000 ms (the driver was down), which ran the update function for that
    // time with no values: the idle even key 'a' was removed, and the state at 3000 ms chained from that removal.
    const folder = path.join(dir(), 'state-window-down');
    const log: Rec[] = [];
    const run = async (clockMs: number, records: Rec[]) => {
      const clock = new ManualClock(clockMs);
      let got: Out[] = [];
      const ssc = StreamingContext.getOrCreate(folder, () => {
        const ssc = new StreamingContext(sc(), { batchInterval: I, clock });
        const state = ssc.source(brokerSource(log)).updateStateByKey(updateSum);
        // The window is the first output, so it computes the state at the down time first.
        got = [collectBatches(state.window(3 * I, I)), collectBatches(state)];
        return ssc;
      });
      await ssc.start();
      log.push(...records);
      await tickBatches(ssc, clock, 1);
      await ssc.stop({ stopContext: false });
      return got.map((out) => out.map(([t, xs]) => [t, sortedPairs(xs)]));
    };
    const a2b1 = [
      ['a', 2],
      ['b', 1],
    ];
    const a3b1 = [
      ['a', 3],
      ['b', 1],
    ];
    expect(await run(0, [...(a2b1 as Rec[])])).toEqual([[[I, a2b1]], [[I, a2b1]]]);
    // Down from 1000 to 2000 ms; a record arrives meanwhile and is read by the batch at 3000 ms.
    expect(await run(2 * I, [['a', 1]])).toEqual([[[3 * I, sortedPairs([...a2b1, ...a3b1])]], [[3 * I, a3b1]]]);
    // A third run: the window still reaches the down time of the first restart, which still has no state.
    expect(await run(3 * I, [])).toEqual([[[4 * I, sortedPairs([...a3b1, ...a3b1])]], [[4 * I, a3b1]]]);
  });

  it('after a restart, a window over updateStateByKey reaching before the restored state checkpoint holds the states of those times', async () => {
    // Before: the states older than the restored checkpoint were recomputed from the zero time over the input that
    // was replayed (only the window's), so the window held counts from 1 again instead of the running counts.
    const folder = path.join(dir(), 'state-window-before-checkpoint');
    const log: Rec[] = [];
    const run = async (clockMs: number, n: number): Promise<Out> => {
      const clock = new ManualClock(clockMs);
      let windows: Out = [];
      const ssc = StreamingContext.getOrCreate(folder, () => {
        const ssc = new StreamingContext(sc(), { batchInterval: I, clock });
        const state = ssc
          .source(brokerSource(log))
          .updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.length)
          .checkpoint(I);
        windows = collectBatches(state.window(4 * I, I));
        return ssc;
      });
      await ssc.start();
      for (let i = 0; i < n; i++) {
        log.push(['a', 1]);
        await tickBatches(ssc, clock, 1);
      }
      await ssc.stop({ stopContext: false });
      return windows;
    };
    const windows = [...(await run(0, 10)), ...(await run(10 * I, 2))];
    // The window at t holds the running count at t and the three batches before: t / I - 3 .. t / I.
    const counts = (n: number) => Array.from({ length: Math.min(4, n) }, (_, j): Rec => ['a', n - j]);
    expect(windows.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual(Array.from({ length: 12 }, (_, i) => [(i + 1) * I, sortedPairs(counts(i + 1))]));
  });
});

describe('found by the model: checkpoints due while the driver was down (session 35)', () => {
  const { sc, dir } = useStreamingContext();
  let folders = 0;

  /**
   * A running sum per key (updateStateByKey checkpointed every `k` batches) and a window of `w` batches over it,
   * run as `runs` ([clock at start, batches]) on one checkpoint folder; batch b brings ['a', b]. Returns what the
   * state and the window gave every batch, and what an uninterrupted run gives for the batches that ran.
   */
  async function sumAndWindow(k: number, w: number, runs: ReadonlyArray<readonly [number, number]>) {
    const folder = path.join(dir(), `down-${folders++}`);
    const log: Rec[] = [];
    const got: [Out, Out] = [[], []];
    const ran: number[] = [];
    for (const [start, n] of runs) {
      const clock = new ManualClock(start * I);
      let outs: Out[] = [];
      const ssc = StreamingContext.getOrCreate(folder, () => {
        const ssc = new StreamingContext(sc(), { batchInterval: I, clock });
        const state = ssc
          .source(brokerSource(log))
          .updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.reduce((a, b) => a + b, 0))
          .checkpoint(k * I);
        outs = [collectBatches(state), collectBatches(state.window(w * I, I))];
        return ssc;
      });
      await ssc.start();
      for (let b = start + 1; b <= start + n; b++) {
        log.push(['a', b]);
        ran.push(b);
        await tickBatches(ssc, clock, 1);
      }
      await ssc.stop({ stopContext: false });
      outs.forEach((out, i) => got[i]!.push(...out));
    }
    const sum = (b: number) => ran.filter((x) => x <= b).reduce((a, x) => a + x, 0);
    const want = [
      ran.map((b) => [b * I, [['a', sum(b)]]]),
      ran.map((b) => [b * I, sortedPairs(ran.filter((p) => p > b - w && p <= b).map((p) => ['a', sum(p)]))]),
    ];
    return { got: got.map((out) => out.map(([t, xs]) => [t, sortedPairs(xs)])), want, folder };
  }

  // Each case: [what holds, checkpoint interval k, window w (batches), runs as [clock at start, batches]], and why.
  const cases: Array<[string, number, number, Array<[number, number]>]> = [
    // Run 1 wrote 2000 only, 4000..10000 fell in the down time, run 2 wrote 12000 and 14000. The window at 15000
    // reads the state at 11000, which chains from 2000 through batch 3000. Before, only the batches after
    // 14000 - (window + interval) were read again: batch 3000's records were missing there.
    [
      'a window reaching before the restored checkpoint, past a checkpoint due while the driver was down, holds the states of those times',
      2,
      5,
      [
        [0, 3],
        [10, 4],
        [14, 1],
      ],
    ],
    // Run 2 restored the checkpoint at 2000 and ran one batch (none due); its commit recorded no checkpoint and,
    // the down time being longer than the 100 batches of logs kept, dropped run 1's logs. Before, run 3 started the
    // state from the zero time over batch 155 alone.
    [
      'a restart after a run too short to write a checkpoint restores the state the run before it wrote',
      2,
      1,
      [
        [0, 3],
        [154, 1],
        [155, 1],
      ],
    ],
    // The window at 204000 reads the state at 201000, which chains from the checkpoint at 2000 through batch 3000:
    // its log must outlive the 100 batches kept. Before, the first commit after the down time deleted it.
    [
      'after a down time longer than the logs kept, a window reaching across it holds the states before it',
      2,
      4,
      [
        [0, 3],
        [200, 3],
        [203, 1],
      ],
    ],
  ];
  it.each(cases)('%s', async (_name, k, w, runs) => {
    const { got, want } = await sumAndWindow(k, w, runs);
    expect(got).toEqual(want);
  });

  it("an earlier run's checkpoint files are deleted once this run's checkpoints replace them; the last commit's stay", async () => {
    // Before, a restored checkpoint was in no run's list of its own checkpoints, so its files stayed forever.
    const { got, want, folder } = await sumAndWindow(1, 2, [
      [0, 3],
      [5, 4],
    ]);
    expect(got).toEqual(want);
    const commit = (file: string) =>
      JSON.parse(readFileSync(path.join(folder, 'commits', file), 'utf8')) as { checkpoints: Record<string, Array<{ ms: number; dir: string }>> };
    const files = readdirSync(path.join(folder, 'commits')).sort();
    const dirs = (file: string) => Object.values(commit(file).checkpoints).flatMap((cs) => cs.map((c) => c.dir));
    const firstRun = dirs(files.find((f) => f.startsWith('000000002'))!);
    const last = dirs(files.at(-1)!);
    expect(firstRun.length).toBeGreaterThan(0);
    expect(last.length).toBeGreaterThan(0);
    await vi.waitFor(() => expect(firstRun.filter((d) => existsSync(d))).toEqual([]), UNTIL);
    expect(last.filter((d) => !existsSync(d))).toEqual([]);
  });
});

/** Resolves when batch `ms` of `ssc` completed; rejects with its error. */
function batchDone(ssc: StreamingContext, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const off = ssc.events.on('batchCompleted', (e) => {
      if (e.batch.ms !== ms) return;
      off();
      if (e.error !== undefined) reject(new Error(`batch ${ms} failed: ${e.error}`));
      else resolve();
    });
  });
}

/** Resolves when batch `ms` of `ssc` was cut (its range written to the offsets log). */
function batchSubmitted(ssc: StreamingContext, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const off = ssc.events.on('batchSubmitted', (e) => {
      if (e.batch.ms !== ms) return;
      off();
      resolve();
    });
  });
}
