/**
 * Random programs (test/rdd/random-programs.ts) on a `redis://` master whose executors this file starts with the real
 * command (`kindling executor --master redis://...`), each program a fresh driver context met by one fault or two at
 * once at a random moment: from the context's creation (so while it leases its first executors, or while an
 * executor started late registers), or a few milliseconds after the program's k-th task starts (so mid-shuffle-fetch
 * when that task reads a shuffle). The faults are the ones the executor-killing fuzz
 * (random-programs-cluster-faults.test.ts) never draws, each a row of docs/cluster.md's "What happens when things fail":
 * - `kill`: SIGKILL of an executor process; a supervisor (this file) starts another, which registers late;
 * - `stall-short` / `stall-long`: SIGSTOP of an executor for less than / more than executorTimeoutMs, then SIGCONT;
 * - `redis-restart`: redis-server SIGKILLed and started again on its port without its data, down for less than
 *   executorTimeoutMs;
 * - `redis-flush`: FLUSHALL mid-job (the same as a restart without data, with no connection broken);
 * - `redis-pause`: redis-server SIGSTOPped for less than executorTimeoutMs (unreachable, every command hanging), then SIGCONT;
 * - `drop-conn`: every client connection closed by Redis (`CLIENT KILL TYPE normal`);
 * - `late`: a third executor started then; the driver leases every idle executor, so it joins the running job, or
 *   the next one (which waits for it: a late executor must be leased).
 * What the doc promises: the model's result (or the one documented refusal, `refused`, of an indeterminate stage
 * to run again after the action took results); Redis down for no longer than executorTimeoutMs is no failure. Then the
 * same context runs a next job; after `stop()` nothing of the application is left (its keys in Redis, its folder on
 * each executor, the driver's files), and every executor is idle again for the next driver. Each step is bounded:
 * a hang fails the run. `FUZZ_RUNS` (programs) and `FUZZ_SEED` as in random-programs.test.ts; a failure prints its
 * program, plan, the executors' last lines and the driver's slots; replay it alone with `FUZZ_SEED=S FUZZ_PATH=P
 * FUZZ_RUNS=1` (fast-check's seed and path) — alone, without the runs before it, whose faults left the cluster
 * as they left it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import path from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from 'kindling';
import { descendants, withLimit } from '../../../bench/fault-harness.js';
import { redisSkipReason } from '../../streaming/redis-server.js';
import { build, type Program, programs, refused } from '../../rdd/random-programs.js';
import { type ExecutorHandle, startExecutor, startRedis } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 8);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const CLUSTER = 'fuzz';
/** Short, so a stalled executor is lost within a run; heartbeats come every 500 ms. */
const TIMEOUT_MS = 2000;
/** A step (the program, the next job, stop()) not ended after this long is a hang. */
const STEP_LIMIT_MS = 45_000;

const FAULTS = ['kill', 'stall-short', 'stall-long', 'redis-restart', 'redis-flush', 'redis-pause', 'drop-conn', 'late'] as const;
type FaultKind = (typeof FAULTS)[number];

interface Fault {
  readonly kind: FaultKind;
  /** Which of the two supervised executors (kill, stalls). */
  readonly target: number;
  /** How long a stall or a Redis outage lasts. */
  readonly lengthMs: number;
}

interface Plan {
  /** From the context's creation (ms), or a delay (ms) after the k-th task starts. */
  readonly at: { readonly from: 'context'; readonly ms: number } | { readonly from: 'task'; readonly k: number; readonly ms: number };
  /** One fault, or two at once (the second within `gapMs` of the first). */
  readonly faults: readonly Fault[];
  readonly gapMs: number;
  readonly engine: 'memory' | 'mapreduce';
}

const fault: fc.Arbitrary<Fault> = fc
  .record({ kind: fc.constantFrom(...FAULTS), target: fc.nat(1), frac: fc.integer({ min: 0, max: 100 }) })
  .map(({ kind, target, frac }) => ({
    kind,
    target,
    lengthMs:
      kind === 'stall-long'
        ? TIMEOUT_MS + 300 + frac * 10
        : kind === 'stall-short' || kind === 'redis-pause'
          ? Math.round(TIMEOUT_MS * (0.05 + 0.3 * (frac / 100)))
          : kind === 'redis-restart'
            ? frac * 5
            : 0,
  }));

const plans: fc.Arbitrary<Plan> = fc.record({
  at: fc.oneof(
    fc.record({ from: fc.constant('context' as const), ms: fc.nat(1500) }),
    fc.record({ from: fc.constant('task' as const), k: fc.nat(12), ms: fc.nat(60) }),
  ),
  faults: fc.array(fault, { minLength: 1, maxLength: 2 }),
  gapMs: fc.nat(100),
  engine: fc.constantFrom('memory' as const, 'mapreduce' as const),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the cluster: a redis-server and executor processes of this file's own ------------------------------------------

const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-random-faults-'));
const executorsDir = path.join(scratch, 'executors');
mkdirSync(executorsDir);

let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
let port = 0;
let url = '';
const supervised: Array<ExecutorHandle | undefined> = [undefined, undefined];
/** Executors started late (`late` faults), stopped at their run's end. */
const lateOnes: ExecutorHandle[] = [];
let stopping = false;

/** One supervised executor; when it exits (killed, or Redis unreachable at its start) another takes its place. */
function supervise(slot: number): void {
  const e = startExecutor(['--master', url, '--cluster', CLUSTER, '--cores', '1', '--memory', '512m', '--local-dir', executorsDir]);
  supervised[slot] = e;
  void e.exited.then(async () => {
    // A killed executor cannot remove its folder: its supervisor does.
    rmSync(e.folder, { recursive: true, force: true });
    if (stopping || supervised[slot] !== e) return;
    await sleep(50);
    if (!stopping) supervise(slot);
  });
}

/** A stream's entries as the messages' kinds, slots and tasks. */
function describeEntries(entries: Array<[Buffer, Buffer[]]>): string {
  const messages = entries.flatMap(
    ([, fields]) => v8.deserialize(fields[1]!) as Array<{ kind: string; index?: number; epoch?: number; taskId?: number }>,
  );
  return ` (${messages.map((m) => `${m.kind} ${m.index}/${m.epoch}${m.taskId !== undefined ? ` task ${m.taskId}` : ''}`).join(', ')})`;
}

/** Restarts one at a time: two at once would race for the port. */
let redisTurn: Promise<unknown> = Promise.resolve();
function exclusive<T>(f: () => Promise<T>): Promise<T> {
  const p = redisTurn.then(f);
  redisTurn = p.catch(() => undefined);
  return p;
}

async function restartRedis(downMs: number): Promise<void> {
  await redis!.stop();
  await sleep(downMs);
  // The port may be held a moment by a connection that used it as its local port.
  for (let attempt = 1; ; attempt++) {
    try {
      redis = await startRedis(port);
      return;
    } catch (e) {
      if (attempt >= 100) throw e;
      await sleep(50);
    }
  }
}

async function withRedis<T>(f: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  await r.connect();
  try {
    return await f(r);
  } finally {
    r.disconnect();
  }
}

function live(e: ExecutorHandle | undefined): e is ExecutorHandle {
  return e !== undefined && e.child.exitCode === null && e.child.signalCode === null;
}

/** The id an executor registered last under (its output says each registration). */
function currentId(e: ExecutorHandle): string | undefined {
  const ids = [...e.output().matchAll(/kindling executor (\d+) registered and ready|registered as executor (\d+)/g)];
  const last = ids.at(-1);
  return last?.[1] ?? last?.[2];
}

/** Every supervised executor registered under the id it last printed, with no lease: idle for the next driver. */
async function idleProblem(): Promise<string> {
  for (const [slot, e] of supervised.entries()) {
    if (!live(e)) return `executor ${slot} is not running`;
    const id = currentId(e);
    if (id === undefined) return `executor ${slot} (pid ${e.child.pid}) has not registered`;
    // It may still be dropping the last application (its old id registered): a lease taken then is ignored
    // (lost-messages.test.ts), and the driver leases the new id.
    const [pid, lease] = await withRedis((r) =>
      Promise.all([r.hget(`kindling:${CLUSTER}:executor:${id}`, 'pid'), r.get(`kindling:${CLUSTER}:lease:${id}`)]),
    );
    if (pid !== String(e.child.pid)) return `executor ${id} (pid ${e.child.pid}) is not registered (Redis says pid ${pid})`;
    if (lease !== null) return `executor ${id} is still leased by ${lease}`;
  }
  return '';
}

/**
 * What the application left after stop() (runs are one at a time, so no application's key may be left): its keys in
 * Redis (leases, outcome streams, broadcast hashes), its folder on a live executor, the driver's files.
 */
async function leftovers(localDir: string): Promise<string[]> {
  const left: string[] = [];
  const files = existsSync(localDir) ? readdirSync(localDir) : [];
  if (files.length > 0) left.push(`driver files: ${files.slice(0, 3).join(', ')}`);
  const keys = await withRedis((r) => r.keys(`kindling:${CLUSTER}:*`));
  for (const k of keys.filter((k) => /:(lease|broadcasts|outcomes):/.test(k))) {
    // What wrote an outcome stream after stop() deleted it (session 38: an executor's late task outcomes).
    const what = k.includes(':outcomes:') ? await withRedis((r) => r.xrangeBuffer(k, '-', '+')).then(describeEntries) : '';
    left.push(`key ${k}${what}`);
  }
  for (const e of [...supervised, ...lateOnes]) {
    if (!live(e) || !existsSync(e.folder)) continue;
    for (const f of readdirSync(e.folder)) left.push(`executor pid ${e.child.pid} folder ${f}`);
  }
  return left;
}

/** Polls `problem` (empty: fine) until it is empty; throws with the last problem after `ms`. */
async function until(problem: () => Promise<string>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await problem().catch((e: unknown) => `Redis: ${(e as Error).message}`);
    if (p === '') return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${p}`);
    await sleep(100);
  }
}

// ---- faults ----------------------------------------------------------------------------------------------------------

async function inject(f: Fault): Promise<void> {
  const target = supervised[f.target];
  switch (f.kind) {
    case 'kill':
      if (live(target)) target.child.kill('SIGKILL');
      return;
    case 'stall-short':
    case 'stall-long':
      if (!live(target)) return;
      target.child.kill('SIGSTOP');
      await sleep(f.lengthMs);
      target.child.kill('SIGCONT');
      return;
    case 'redis-restart':
      return exclusive(() => restartRedis(f.lengthMs));
    case 'redis-pause':
      return exclusive(async () => {
        redis!.child.kill('SIGSTOP');
        await sleep(f.lengthMs);
        redis!.child.kill('SIGCONT');
      });
    case 'redis-flush':
      return exclusive(() => withRedis((r) => r.flushall()).then(() => undefined));
    case 'drop-conn':
      return exclusive(() => withRedis((r) => r.call('CLIENT', 'KILL', 'TYPE', 'normal')).then(() => undefined));
    case 'late':
      lateOnes.push(startExecutor(['--master', url, '--cluster', CLUSTER, '--cores', '1', '--memory', '512m', '--local-dir', executorsDir]));
      return;
  }
}

// ---- one run ---------------------------------------------------------------------------------------------------------

interface Tally {
  runs: number;
  /** Faults struck before the program ended. */
  midProgram: number;
  /** Plans anchored on a task that never came (the program had fewer tasks). */
  missed: number;
  refused: number;
  /** Late executors the driver leased (it leases every idle executor). */
  lateLeased: number;
  faults: Record<FaultKind, number>;
}

const NUMBERS = Array.from({ length: 100 }, (_, i) => i);
const SUMS_BY_REMAINDER = Array.from({ length: 7 }, (_, k) => [k, NUMBERS.filter((i) => i % 7 === k).reduce((a, b) => a + b, 0)]);

async function runWithFaults(prog: Program, plan: Plan, tally: Tally): Promise<void> {
  tally.runs++;
  // Each run starts from a whole cluster: both executors registered and idle (the last run's faults settled).
  await until(idleProblem, 60_000, 'the executors idle before the run');
  const localDir = mkdtempSync(path.join(scratch, 'driver-'));
  const checkpoints = mkdtempSync(path.join(scratch, 'checkpoints-'));
  const sc = new Context({
    master: url,
    cluster: CLUSTER,
    engine: plan.engine,
    executorTimeoutMs: TIMEOUT_MS,
    executorWaitMs: 30_000,
    fetchTimeoutMs: 10_000,
    progress: false,
    hints: false,
    ui: false,
    localDir,
  });
  sc.setCheckpointDir(checkpoints);
  let programEnded = false;
  let struck = false;
  const strike = (): Promise<void> => {
    struck = true;
    if (!programEnded) tally.midProgram++;
    return Promise.all(
      plan.faults.map(async (f, i) => {
        tally.faults[f.kind]++;
        if (i > 0) await sleep(plan.gapMs);
        await inject(f);
      }),
    ).then(() => undefined);
  };
  let faults: Promise<void> = Promise.resolve();
  let off = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const at = plan.at;
  if (at.from === 'context') timer = setTimeout(() => (faults = strike()), at.ms);
  else {
    let started = 0;
    off = sc.events.on('taskStart', () => {
      if (started++ === at.k) timer = setTimeout(() => (faults = strike()), at.ms);
    });
  }
  const where = (): string =>
    `\n  program engine ${plan.engine}, plan ${JSON.stringify(plan)}` +
    [...supervised, ...lateOnes].map((e) => `\n  executor pid ${e?.child.pid} said, last:\n${e?.output().split('\n').slice(-8).join('\n')}`).join('');
  try {
    const { st, action, what } = build(sc, prog, true);
    try {
      const got = await withLimit(action.run(st.rdd, prog.actionArg, st.xs), STEP_LIMIT_MS, `the program (${what})`);
      action.check(got, st, prog.actionArg, what);
    } catch (e) {
      if (!refused(e, action.name, st.rdd.outputLevel)) throw e;
      tally.refused++;
    } finally {
      programEnded = true;
      off();
    }
    // A fault anchored on a task that never came, or on a moment after the program, strikes now: between jobs.
    if (!struck) {
      if (at.from === 'task' && at.k >= 0 && timer === undefined) tally.missed++;
      clearTimeout(timer);
      faults = strike();
    }
    await withLimit(faults, STEP_LIMIT_MS, 'the faults');
    // A late executor that is up joins this driver (it leases every idle executor) before the next job.
    for (const e of lateOnes) {
      const ended = await Promise.race([e.waitFor('registered and ready', 30_000).then(() => undefined), e.exited]);
      if (ended === undefined) await e.waitFor('leased by application', 15_000);
    }
    const sums = await withLimit(
      sc
        .parallelize(NUMBERS, 4)
        .map((x): [number, number] => [x % 7, x])
        .reduceByKey((a, b) => a + b, 3)
        .collect(),
      STEP_LIMIT_MS,
      'the next job',
    );
    expect(
      sums.sort((a, b) => a[0] - b[0]),
      'the next job',
    ).toEqual(SUMS_BY_REMAINDER);
  } catch (e) {
    const snap = await withLimit(sc.faults.snapshot(), 5000, 'a snapshot').then(
      (x) => JSON.stringify(x.backend.workers.map((w) => ({ ...w, peers: w.peers.length }))),
      (err: unknown) => String(err),
    );
    throw new Error(`${(e as Error).message}${where()}\n  the driver's slots: ${snap}`, { cause: e });
  } finally {
    clearTimeout(timer);
    await withLimit(faults, STEP_LIMIT_MS, 'the faults').catch(() => undefined);
    await withLimit(sc.stop(), STEP_LIMIT_MS, 'stop()');
    rmSync(checkpoints, { recursive: true, force: true });
  }
  // The executors drop the application when they read its release (or find their lease gone).
  await until(async () => (await leftovers(localDir)).join('; '), 30_000, `nothing of the application left after stop()${where()}`);
  rmSync(localDir, { recursive: true, force: true });
  // A late executor leaves as a real one does (SIGTERM: it tells its driver, leaves the cluster, exits 0). This
  // found the executor dying by SIGTERM's default action as it printed its ready line (executor-command.test.ts).
  for (const e of lateOnes.splice(0)) {
    // One started while Redis was away ends at once, as documented: a one-line error and exit code 1.
    const ended = await Promise.race([e.waitFor('registered and ready', 30_000).then(() => undefined), e.exited]);
    if (ended !== undefined) {
      expect({ ...ended, said: e.output().trim() }).toEqual({
        code: 1,
        signal: null,
        said: expect.stringMatching(/^kindling: cannot reach Redis at redis:\/\/\S+ \(cluster 'fuzz'\): [^\n]*$/),
      });
      continue;
    }
    if (e.output().includes('leased by application')) tally.lateLeased++;
    e.child.kill('SIGTERM');
    const exit = await withLimit(e.exited, 15_000, 'a late executor stopping');
    expect({ ...exit, said: e.output() }, `a late executor's exit${where()}`).toMatchObject({ code: 0 });
    expect(existsSync(e.folder)).toBe(false);
  }
  // Only our executors and redis-server run below this process: the context started none of its own.
  const ours = new Set([redis?.child.pid, ...supervised.map((e) => e?.child.pid)]);
  expect(
    descendants(process.pid).filter((p) => !ours.has(p.pid) && p.cmd.includes('kindling')),
    `processes left${where()}`,
  ).toEqual([]);
}

describe.skipIf(redisSkipReason !== undefined)(`random programs on redis:// with cluster faults at random moments (seed ${SEED})`, () => {
  beforeAll(async () => {
    redis = await startRedis();
    url = redis.url;
    port = Number(new URL(url).port);
    supervise(0);
    supervise(1);
    await Promise.all(supervised.map((e) => e!.waitFor('registered and ready')));
  }, 60_000);

  afterAll(async () => {
    stopping = true;
    for (const e of [...supervised, ...lateOnes]) {
      if (!live(e)) continue;
      e.child.kill('SIGCONT');
      e.child.kill('SIGKILL');
      await e.exited;
    }
    redis?.child.kill('SIGCONT');
    await redis?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it(`give the model's result, run the next job and leave nothing (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const tally: Tally = {
      runs: 0,
      midProgram: 0,
      missed: 0,
      refused: 0,
      lateLeased: 0,
      faults: Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<FaultKind, number>,
    };
    try {
      await fc.assert(
        fc.asyncProperty(programs(1200, 6), plans, (prog, plan) => runWithFaults(prog, plan, tally)),
        { numRuns: RUNS, seed: SEED, endOnFailure: true, ...(process.env.FUZZ_PATH !== undefined ? { path: process.env.FUZZ_PATH } : {}) },
      );
    } finally {
      console.log(
        `random programs with cluster faults (redis://, seed ${SEED}): ${tally.runs} runs, ${tally.midProgram} with faults mid-program, ` +
          `${tally.missed} anchored on a task that never came, ${tally.refused} refused (indeterminate stage), ${tally.lateLeased} late executors leased; ` +
          `faults ${JSON.stringify(tally.faults)}`,
      );
    }
    expect(tally.midProgram).toBeGreaterThan(0);
  });
});
