/**
 * Job control at moments no program chooses (issue 10): random programs (test/rdd/random-programs.ts) whose action
 * is cancelled before it starts, when its k-th task starts, after a random number of milliseconds, or after it
 * settled, once or twice. Whatever the moment, the action gives the model's result or rejects with an AbortError
 * naming its job, within a bound; the status tracker shows nothing running once it settled; the same program run
 * again gives the model's result (a cancelled job's half-made shuffle outputs and cached blocks are not used); a
 * cancelled save leaves no output, or the complete one, and no staging folder; stop() leaves no local folder. And
 * two or three programs in job groups of their own, one group cancelled at a random moment: the others give the
 * model's result. `FUZZ_RUNS=200 FUZZ_SEED=n` searches longer; every failure prints its seed and path.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, Context, type ContextOptions, type RDD } from 'kindling';
import { formatTextLine } from '../../src/io/text-format.js';
import { canonical } from '../core/key-arbitraries.js';
import { ACTIONS, build, modelCompare, programs, type Built, type Program } from '../rdd/random-programs.js';
import { redisSkipReason } from '../streaming/redis-server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 8);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
/** Only a guard against a hang: an action of these small programs takes well under a second, even at load 20. */
const BOUND_MS = 45_000;

// ---- when to cancel ----------------------------------------------------------------------------------------------

/**
 * When the signal is aborted: before the action is called; when the k-th task of the program starts (in the event
 * listener itself, or a microtask or a macrotask later); after `ms` milliseconds; or after the action settled.
 */
type Moment =
  | { readonly at: 'before' }
  | { readonly at: 'task'; readonly k: number; readonly defer: 'sync' | 'microtask' | 'macrotask' }
  | { readonly at: 'ms'; readonly ms: number }
  | { readonly at: 'after' };

interface Cancel {
  readonly moment: Moment;
  /** Aborted a second time (another reason), a few ms later: the first reason is the one reported. */
  readonly twice: boolean;
}

const moments: fc.Arbitrary<Moment> = fc.oneof(
  { arbitrary: fc.constant({ at: 'before' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      at: fc.constant('task' as const),
      k: fc.nat(14),
      defer: fc.constantFrom('sync' as const, 'microtask' as const, 'macrotask' as const),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ at: fc.constant('ms' as const), ms: fc.nat(250) }), weight: 2 },
  { arbitrary: fc.constant({ at: 'after' as const }), weight: 1 },
);
const cancels: fc.Arbitrary<Cancel> = fc.record({ moment: moments, twice: fc.boolean() });

/** What the program ends with: its own action, or a save of its last RDD (read back to check it). */
type Sink = 'action' | 'saveAsObjectFile' | 'saveAsTextFile';
const sinks: fc.Arbitrary<Sink> = fc.constantFrom<Sink>('action', 'action', 'saveAsObjectFile', 'saveAsTextFile');

/**
 * A job's description: what ran it and on which RDD ("collect at RDD 7 (map at f.ts:3)", "sortByKey sample for RDD 9
 * (...)", "checkpoint of RDD 4 (...)").
 */
const JOB_DESCRIPTION = '\\w+( \\w+)* RDD \\d+ \\(.+\\)';

const FIRST = 'cancelfuzz: first abort';
const SECOND = 'cancelfuzz: second abort';

/**
 * An AbortError naming the job: a job cancelled while it ran is "Job N (description)"; one whose signal was aborted
 * before its job started (before the action, or between the jobs of an action that runs several) is named by its
 * description, "<action> at RDD n (...)".
 */
function expectAbortNamingJob(e: unknown, reason: string, what: string): void {
  expect(e, `${what}: ${(e as Error)?.stack ?? String(e)}`).toBeInstanceOf(AbortError);
  const esc = reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expect((e as Error).message, what).toMatch(
    new RegExp(`^(Job \\d+ \\(${JOB_DESCRIPTION}\\) was cancelled|${JOB_DESCRIPTION} was cancelled before its job started): ${esc}$`),
  );
}

// ---- the actions, with a signal ----------------------------------------------------------------------------------

// Like random-programs.ts' private helpers (the actions there take no options); its aggregate's ops change the
// accumulator in place, these build a new one: the same result, which is all the check reads.
const addTo = (acc: number[], v: number): number[] => [acc[0]! + v, acc[1]! + 1];
const merge = (a: number[], b: number[]): number[] => [a[0]! + b[0]!, a[1]! + b[1]!];
function lookupKey(xs: readonly unknown[], arg: number): unknown {
  return xs.length === 0 || arg % 5 === 0 ? 'no such key' : (xs[arg % xs.length] as [unknown, unknown])[0];
}

type Runner = (rdd: RDD<any>, arg: number, xs: readonly unknown[], signal: AbortSignal | undefined) => Promise<unknown>;

/** random-programs.ts' ACTIONS, by name, run with `{ signal }`; results as those give them, so their checks apply. */
const WITH_SIGNAL: Readonly<Record<string, Runner>> = {
  collect: (rdd, _a, _x, signal) => rdd.collect({ signal }),
  count: (rdd, _a, _x, signal) => rdd.count({ signal }),
  collectAsMap: (rdd, _a, _x, signal) => rdd.collectAsMap({ signal }),
  countByKey: (rdd, _a, _x, signal) => rdd.countByKey({ signal }),
  // An empty RDD's reduce rejects with an error of its own, which the model expects as { rejected }.
  reduce: (rdd, _a, _x, signal) =>
    rdd
      .reduce((a: number, b: number) => a + b, { signal })
      .catch((e: Error) => {
        if (e instanceof AbortError) throw e;
        return { rejected: e.message };
      }),
  take: (rdd, arg, _x, signal) => rdd.take(arg % 12, { signal }),
  countByValue: (rdd, _a, _x, signal) => rdd.countByValue({ signal }),
  'takeOrdered/top': (rdd, arg, _x, signal) =>
    arg % 2 === 0 ? rdd.takeOrdered(arg % 9, undefined, { signal }) : rdd.top(arg % 9, undefined, { signal }),
  aggregate: (rdd, _a, _x, signal) => rdd.aggregate([0, 0], addTo, merge, { signal }),
  lookup: (rdd, arg, xs, signal) => rdd.lookup(lookupKey(xs, arg), { signal }),
};

const collectAction = ACTIONS.find((a) => a.name === 'collect')!;

/**
 * takeOrdered / top against the model, as random-programs.ts checks them but sorting the elements wrapped: its check
 * sorts them bare, and Array.prototype.sort puts `undefined` last without asking the comparator, where the documented
 * key order (and the engine) puts it first; so with `mixed` keys its takeOrdered expects `undefined` last.
 */
function checkTakeOrdered(got: readonly unknown[], xs: readonly unknown[], arg: number, what: string): void {
  const dir = arg % 2 === 0 ? 1 : -1;
  const want = xs
    .map((x) => [x])
    .sort(([a], [b]) => dir * modelCompare(a, b))
    .slice(0, arg % 9)
    .map(([x]) => x);
  expect(got.map(canonical), what).toEqual(want.map(canonical));
}

/** Runs the program's sink once with `signal`; resolves with what to check, rejects as the action does. */
async function runSink(sc: Context, b: Built, prog: Program, sink: Sink, out: string, signal: AbortSignal | undefined): Promise<() => Promise<void>> {
  const { st, action, what } = b;
  if (sink === 'action') {
    const run = WITH_SIGNAL[action.name];
    if (run === undefined) throw new Error(`no signal runner for action ${action.name}: add it to WITH_SIGNAL`);
    const got = await run(st.rdd, prog.actionArg, st.xs, signal);
    if (action.name === 'takeOrdered/top') return async () => checkTakeOrdered(got as unknown[], st.xs, prog.actionArg, what);
    return async () => action.check(got, st, prog.actionArg, what);
  }
  if (sink === 'saveAsObjectFile') {
    await st.rdd.saveAsObjectFile(out, { signal });
    // Part files in partition order: read back, the elements are in the RDD's order.
    return async () => collectAction.check(await sc.objectFile(out).collect(), st, 0, `${what} -> saveAsObjectFile`);
  }
  await st.rdd.saveAsTextFile(out, { signal });
  return async () => {
    const lines = await sc.textFile(out).collect();
    // Keys equal but for their properties' order are one key, printed as whichever copy the group kept first.
    expect(lines.map(sortedProperties).sort(), `${what} -> saveAsTextFile`).toEqual(st.xs.map((x) => sortedProperties(formatTextLine(x))).sort());
  };
}

/** A text line with the properties of every JSON object in it sorted (a line that is no JSON stays as it is). */
function sortedProperties(line: string): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  try {
    return JSON.stringify(sort(JSON.parse(line)));
  } catch {
    return line;
  }
}

// ---- bounds and settling -----------------------------------------------------------------------------------------

/** `p`, or a rejection saying what hung after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** Counts the context's task starts and ends: a killed task ends after its action rejected. */
function taskCounter(sc: Context): { readonly started: () => number; idle: () => Promise<void>; off: () => void } {
  let started = 0;
  let ended = 0;
  const offs = [sc.events.on('taskStart', () => void started++), sc.events.on('taskEnd', () => void ended++)];
  return {
    started: () => started,
    idle: async () => {
      const until = Date.now() + BOUND_MS;
      while (ended < started) {
        if (Date.now() > until) throw new Error(`hang: ${started - ended} task(s) of a cancelled job never ended`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    off: () => offs.forEach((o) => o()),
  };
}

/** Nothing of this save but the complete output (or nothing) in its parent: no staging or aside folder. */
function expectNoPartialOutput(out: string, complete: boolean, what: string): void {
  const name = path.basename(out);
  const left = readdirSync(path.dirname(out)).filter((n) => n.startsWith(`.${name}.`));
  expect(left, `${what}: folders a save left next to its output`).toEqual([]);
  if (complete) expect(readdirSync(out), what).toContain('_SUCCESS');
  else expect(existsSync(out), `${what}: a cancelled save's output`).toBe(false);
}

function expectNothingRunning(sc: Context, what: string): void {
  const tracker = sc.statusTracker();
  expect(tracker.getActiveJobIds(), `${what}: active jobs once the action settled`).toEqual([]);
  expect(tracker.getActiveStageIds(), `${what}: active stages once the action settled`).toEqual([]);
}

// ---- contexts --------------------------------------------------------------------------------------------------

/** A context with local and checkpoint folders of its own; stop() must leave the local folder empty. */
function useContext(options: ContextOptions): { ctx: () => Context; dir: () => string } {
  let sc: Context | undefined;
  let root: string | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'kindling-cancelfuzz-'));
    sc = new Context({ progress: false, hints: false, ui: false, localDir: path.join(root, 'local'), ...options });
    sc.setCheckpointDir(path.join(root, 'checkpoints'));
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    try {
      await sc?.stop();
      // Shuffle files, spills and cached blocks of cancelled jobs too.
      expect(existsSync(path.join(root!, 'local')) ? readdirSync(path.join(root!, 'local')) : [], 'local folder after stop()').toEqual([]);
      // An abort after the action settled, or a second one, must not reject anything nobody awaits.
      expect(unhandled).toEqual([]);
    } finally {
      if (root !== undefined) rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
  return { ctx: () => sc!, dir: () => path.join(root!, 'out') };
}

let outputs = 0;

/** One program, its action cancelled at `cancel`; then the checks, and the program run again without a signal. */
async function cancelledOnce(sc: Context, outDir: string, prog: Program, sink: Sink, cancel: Cancel, tally: Map<string, number>): Promise<void> {
  const out = path.join(outDir, `out-${outputs++}`);
  const b = build(sc, prog);
  const what = `${b.what}${sink === 'action' ? '' : ` -> ${sink}`} [cancelled ${JSON.stringify(cancel)}]`;
  const ac = new AbortController();
  const abort = (): void => {
    ac.abort(new Error(FIRST));
    if (cancel.twice) setTimeout(() => ac.abort(new Error(SECOND)), 3);
  };
  const tasks = taskCounter(sc);
  const { moment } = cancel;
  let offTask: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (moment.at === 'before') abort();
  else if (moment.at === 'task') {
    let seen = 0;
    offTask = sc.events.on('taskStart', () => {
      if (seen++ !== moment.k) return;
      if (moment.defer === 'sync') abort();
      else if (moment.defer === 'microtask') queueMicrotask(abort);
      else setImmediate(abort);
    });
  } else if (moment.at === 'ms') timer = setTimeout(abort, moment.ms);
  let settled: { check: () => Promise<void> } | { error: unknown };
  try {
    settled = await within(
      runSink(sc, b, prog, sink, out, ac.signal).then(
        (check) => ({ check }),
        (error: unknown) => ({ error }),
      ),
      BOUND_MS,
      what,
    );
    expectNothingRunning(sc, what);
  } finally {
    offTask?.();
  }
  if (moment.at === 'after') abort();
  // A timer that had not fired yet: the action ran to its end first.
  clearTimeout(timer);
  const count = (outcome: string): void => void tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  if ('check' in settled) {
    count(`${moment.at}: result`);
    await settled.check();
  } else {
    count(`${moment.at}: aborted${sink === 'action' ? '' : ' save'}`);
    expect(moment.at, `${what}: rejected though never aborted while it ran`).not.toBe('after');
    expectAbortNamingJob(settled.error, FIRST, what);
  }
  // A killed task ends after the rejection: only then is "what the cancelled job left" final.
  await within(tasks.idle(), BOUND_MS, `${what}: the cancelled job's tasks`);
  tasks.off();
  expectNothingRunning(sc, `${what} (its tasks ended)`);
  if (sink !== 'action') expectNoPartialOutput(out, 'check' in settled, what);

  // Run again, without a signal: what the cancelled run left (shuffle outputs, cached blocks) must be whole or unused.
  const again = `${what} [run again]`;
  const check = await within(runSink(sc, b, prog, sink, 'check' in settled ? `${out}-again` : out, undefined), BOUND_MS, again);
  await check();
  if (sink !== 'action') expectNoPartialOutput('check' in settled ? `${out}-again` : out, true, again);
  // Each step's RDD read again: its cached blocks are read now (the action may have read a shuffle's output instead).
  for (const [i, mid] of b.env.states.entries())
    collectAction.check(await within(mid.rdd.collect(), BOUND_MS, `${again} step ${i + 1}`), mid, 0, `${again} [step ${i + 1} collected]`);
  expectNothingRunning(sc, again);
  for (const r of b.env.persisted) r.unpersist();
}

type GroupMoment = { readonly at: 'task'; readonly k: number } | { readonly at: 'ms'; readonly ms: number };

/**
 * Two or three programs at once, the i-th in job group `gi`; group `g<c>` cancelled at `moment`: the others give the
 * model's result, the cancelled one the model's result or an AbortError naming its group, and run again, the model's.
 */
async function groupsCancelled(sc: Context, progs: readonly Program[], c: number, moment: GroupMoment, tally: Map<string, number>): Promise<void> {
  const victim = `g${c % progs.length}`;
  const built = progs.map((p) => build(sc, p));
  const tasks = taskCounter(sc);
  let seen = 0;
  let cancelled: number[] | undefined;
  const cancel = (): void => void (cancelled ??= sc.cancelJobGroup(victim));
  const off = sc.events.on('taskStart', () => {
    if (moment.at === 'task' && seen++ === moment.k) cancel();
  });
  const timer = moment.at === 'ms' ? setTimeout(cancel, moment.ms) : undefined;
  const what = (i: number): string => `g${i}: ${built[i]!.what} [${victim} cancelled at ${JSON.stringify(moment)}]`;
  try {
    const runs = built.map((b, i) =>
      sc
        .withJobGroup(`g${i}`, () => runSink(sc, b, progs[i]!, 'action', '', undefined))
        .then(
          (check) => ({ check }),
          (error: unknown) => ({ error }),
        ),
    );
    const settled = await within(Promise.all(runs), BOUND_MS, 'the programs');
    clearTimeout(timer);
    for (const [i, s] of settled.entries()) {
      if ('check' in s) {
        if (`g${i}` === victim) tally.set('victim result', (tally.get('victim result') ?? 0) + 1);
        await s.check();
      } else {
        expect(`g${i}`, `${what(i)}: rejected though its group was not cancelled: ${String(s.error)}`).toBe(victim);
        tally.set('victim aborted', (tally.get('victim aborted') ?? 0) + 1);
        expect(s.error, what(i)).toBeInstanceOf(AbortError);
        // A cancel landing before the job was registered (between jobs of the program, or before its first) rejects it
        // as a signal aborted then does (the context holds a job from its call on: cancel-window.test.ts).
        expect((s.error as Error).message, what(i)).toMatch(
          new RegExp(
            `^(Job \\d+ \\(${JOB_DESCRIPTION}\\) was cancelled|${JOB_DESCRIPTION} was cancelled before its job started): its job group 'g${i}' was cancelled$`,
          ),
        );
      }
    }
    await within(tasks.idle(), BOUND_MS, 'the cancelled group’s tasks');
    expectNothingRunning(sc, what(0));
    // The cancelled program, run again, gives the model's result.
    const i = Number(victim.slice(1));
    await (await within(runSink(sc, built[i]!, progs[i]!, 'action', '', undefined), BOUND_MS, `${what(i)} [run again]`))();
  } finally {
    off();
    tasks.off();
    clearTimeout(timer);
  }
  for (const b of built) for (const r of b.env.persisted) r.unpersist();
}

const CONFIGS = [
  { name: 'local[2], memory engine', seed: 0, options: { master: 'local[2]', engine: 'memory' } },
  { name: 'local[2], mapreduce engine', seed: 1, options: { master: 'local[2]', engine: 'mapreduce' } },
  { name: 'local-cluster[2]', seed: 2, options: { master: 'local-cluster[2]' } },
] as const satisfies ReadonlyArray<{ name: string; seed: number; options: ContextOptions }>;

describe.each(CONFIGS)('random programs cancelled at a random moment ($name)', ({ name, seed, options }) => {
  const skip = options.master.startsWith('local-cluster') && redisSkipReason !== undefined;
  const { ctx, dir } = useContext(options);

  it.skipIf(skip)(
    `give the model's result or an AbortError naming the job; run again, the model's result (seed ${SEED + seed})`,
    { timeout: 600_000 },
    async () => {
      const tally = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(programs(1200, 6), sinks, cancels, async (prog, sink, cancel) => {
          await cancelledOnce(ctx(), dir(), prog, sink, cancel, tally);
        }),
        { numRuns: options.master.startsWith('local-cluster') ? Math.max(1, Math.ceil(RUNS / 2)) : RUNS, seed: SEED + seed },
      );
      console.log(`random cancels (${name}): ${JSON.stringify(Object.fromEntries([...tally].sort()))}, seed ${SEED + seed}`);
      // Cancels that landed while the program ran must have happened, or this specifies less than it says (a search
      // long enough makes some; 8 runs may not).
      if (RUNS >= 40) expect((tally.get('task: aborted') ?? 0) + (tally.get('task: aborted save') ?? 0)).toBeGreaterThan(0);
    },
  );

  it.skipIf(skip)(
    `programs in job groups, one group cancelled at a random moment: the others give the model's result (seed ${SEED + 10 + seed})`,
    { timeout: 600_000 },
    async () => {
      const tally = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.array(programs(1200, 5), { minLength: 2, maxLength: 3 }),
          fc.nat(2),
          fc.oneof(fc.record({ at: fc.constant('task' as const), k: fc.nat(20) }), fc.record({ at: fc.constant('ms' as const), ms: fc.nat(200) })),
          (progs, c, moment) => groupsCancelled(ctx(), progs, c, moment, tally),
        ),
        { numRuns: Math.max(1, Math.ceil(RUNS / 2)), seed: SEED + 10 + seed },
      );
      console.log(`random group cancels (${name}): ${JSON.stringify(Object.fromEntries([...tally].sort()))}, seed ${SEED + 10 + seed}`);
    },
  );
});

/**
 * Found by the properties above: sortByKey samples its keys, and zipWithIndex counts its partitions, in a job of
 * their own when the first action needs them, and every later action reused that job's outcome, a cancelled one
 * too: one cancelled action failed every later action on the RDD with its AbortError, and an action that shared the
 * sampling with a cancelled one was rejected with the other's AbortError.
 */
describe('the driver-side job of sortByKey and zipWithIndex, cancelled', () => {
  const { ctx } = useContext({ master: 'local[2]', engine: 'memory' });

  /** Keys 0 to 5 out of order, ~60 ms each to compute: the first job's tasks are still running when it is cancelled. */
  const slow = (sc: Context) =>
    sc.parallelize([0, 1, 2, 3, 4, 5], 2).map((x) => {
      const until = Date.now() + 60;
      while (Date.now() < until);
      return [(x * 5) % 6, x] as [number, number];
    });

  /** Resolves when a job whose description starts with `prefix` has started a task, with its id. */
  const taskOfJob = (sc: Context, prefix: string): Promise<number> =>
    new Promise((resolve) => {
      const jobs = new Map<number, number>();
      const off = sc.events.onAny((e) => {
        if (e.type === 'jobStart' && e.description.startsWith(prefix)) for (const s of e.stageIds) jobs.set(s, e.jobId);
        else if (e.type === 'taskStart' && jobs.has(e.stageId)) {
          off();
          resolve(jobs.get(e.stageId)!);
        }
      });
    });

  const rejection = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => new Error('resolved'),
      (e: unknown) => e,
    );

  it.each([
    ['sortByKey', 'sortByKey sample', (sc: Context) => slow(sc).sortByKey(), [0, 1, 2, 3, 4, 5]],
    [
      'zipWithIndex',
      'zipWithIndex offsets',
      (sc: Context) =>
        slow(sc)
          .keys()
          .zipWithIndex()
          .map(([, i]) => i),
      [0, 1, 2, 3, 4, 5],
    ],
  ] as const)('%s: cancelled in that job, the next action on the RDD runs it again and gives the result', async (_name, prefix, make, want) => {
    const sc = ctx();
    const rdd: RDD<unknown> = make(sc);
    const ac = new AbortController();
    const started = taskOfJob(sc, prefix);
    const first = rejection(rdd.collect({ signal: ac.signal }));
    await within(started, BOUND_MS, `a task of the ${prefix} job`);
    ac.abort(new Error('stop'));
    const err = await within(first, BOUND_MS, 'the cancelled action');
    expect(err).toBeInstanceOf(AbortError);
    expect((err as Error).message).toMatch(new RegExp(`^Job \\d+ \\(${prefix} \\w+ RDD \\d+ .*\\) was cancelled: stop$`));
    const got = await within(rdd.collect(), BOUND_MS, 'the next action');
    expect(got.map((x) => (Array.isArray(x) ? x[0] : x))).toEqual(want);
  });

  it('an action that shares the sampling of a cancelled one samples again under its own signal and gives the result', async () => {
    const sc = ctx();
    const sorted = slow(sc).sortByKey();
    const ac = new AbortController();
    const started = taskOfJob(sc, 'sortByKey sample');
    const cancelled = rejection(sorted.collect({ signal: ac.signal }));
    const other = sorted.keys().collect();
    const sampling = await within(started, BOUND_MS, 'a task of the sampling job');
    ac.abort(new Error('only the first'));
    expect(await within(cancelled, BOUND_MS, 'the cancelled action')).toMatchObject({ name: 'AbortError', jobId: sampling });
    expect(await within(other, BOUND_MS, 'the other action')).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
