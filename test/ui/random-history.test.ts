/**
 * The REST API and the history server against what ran, for random programs (test/rdd/random-programs.ts): each run
 * is a context (live UI, event log) running the actions of 1–4 random programs, some failing (a user function throws
 * at a random record), some losing a worker at a random task, some cancelled, some in a job group with a description,
 * some run twice (the second run skips the shuffles the first wrote), some cached and counted. The live REST answers
 * are checked against a model built from what the test saw (the actions' outcomes, the scheduler's events, the RDDs
 * it cached); then, the context stopped, a history server over its event log must answer every endpoint with the
 * JSON the live API gave just before the stop, but for the application's end (listed in `historyOnly`).
 *
 * FUZZ_RUNS (default 4; the SIGKILL property 2) and FUZZ_SEED widen or replay the search; the seed is printed.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, Context, capture, type RDD } from 'kindling';
import type { SchedulerEvent, TaskEndEvent } from '../../src/scheduler/events.js';
import type { AppEvent } from '../../src/ui/app-events.js';
import { expandTaskEnds } from '../../src/ui/event-log.js';
import { startHistoryServer } from '../../src/ui/history.js';
import { build, programs, type Program } from '../rdd/random-programs.js';
import { get, type Json, root } from './http-helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 4);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-random-history-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

type Mode = 'ok' | 'throw' | 'kill' | 'cancel';

interface Act {
  readonly prog: Program;
  readonly mode: Mode;
  /** Which task start of the action the fault comes at, and which record throws. */
  readonly at: number;
  readonly group: boolean;
  /** The action again, after: its shuffles' outputs are there, their stages SKIPPED. */
  readonly twice: boolean;
  /** The program's RDD cached and counted after its action. */
  readonly cache: boolean;
}

const plans: fc.Arbitrary<Act[]> = fc.array(
  fc.record({
    prog: programs(300, 5),
    mode: fc.constantFrom<Mode>('ok', 'ok', 'throw', 'kill', 'cancel'),
    at: fc.nat(40),
    group: fc.boolean(),
    twice: fc.boolean(),
    cache: fc.boolean(),
  }),
  { minLength: 1, maxLength: 4 },
);

/** What the test saw of one action: the jobs that started while it ran, and how it settled. */
interface Seen {
  readonly label: string;
  readonly jobs: number[];
  readonly failed: boolean;
  readonly group: string | undefined;
  readonly description: string | undefined;
}

/** An RDD the test cached and counted in full, and whether a worker was lost after that count. */
interface Cached {
  readonly rdd: RDD<unknown>;
  readonly countedAt: number;
}

const MARK = 'random-history: thrown at record';

/** The RDD with a function that throws at record `r` of partition `p` (when the partition has that many). */
function throwing(rdd: RDD<unknown>, p: number, r: number): RDD<unknown> {
  return rdd.mapPartitionsWithIndex(
    capture({ p, r, MARK }, function* (i: number, it: Iterable<unknown>) {
      let n = 0;
      for (const x of it) {
        if (i === p && n++ === r) throw new Error(`${MARK} ${r} of partition ${p}`);
        yield x;
      }
    }),
    true,
  );
}

/** The run of one random program: its action with its fault, again when asked, and its RDD cached and counted. */
async function runAct(sc: Context, act: Act, k: number, events: SchedulerEvent[], cached: Cached[], losesWorkers: boolean): Promise<Seen[]> {
  const b = build(sc, act.prog, losesWorkers);
  const target = b.st.rdd as RDD<unknown>;
  const rdd = act.mode === 'throw' ? throwing(target, act.at % target.getNumPartitions(), act.at % 7) : target;
  const group = act.group ? `g${k}` : undefined;
  const description = act.group ? `random program ${k}` : undefined;
  const what = `action ${k}: ${b.what}`;
  const once = async (label: string, mode: Mode, run: () => Promise<unknown>): Promise<Seen> => {
    const from = events.length;
    let starts = 0;
    // The fault comes at a task start of this action (of any of its jobs), if it has that many.
    const off = sc.events.on('taskStart', () => {
      if (starts++ !== act.at % 12) return;
      if (mode === 'kill') void sc.faults.killWorker(act.at % 2);
      else if (mode === 'cancel' && group !== undefined) sc.cancelJobGroup(group);
      else if (mode === 'cancel') sc.cancelAllJobs();
    });
    let failed = false;
    try {
      const got = group !== undefined ? await sc.withJobGroup(group, run, description) : await run();
      // The reduce action turns a rejection into a value (an empty RDD's is expected).
      const rejected = (got as { rejected?: string } | undefined)?.rejected;
      if (rejected !== undefined && !/empty/.test(rejected)) throw new Error(rejected);
    } catch (e) {
      failed = true;
      if (mode === 'throw') expect((e as Error).message, `${label} ${what}`).toContain(MARK);
      else if (mode === 'cancel') expect(e, `${label} ${what}`).toBeInstanceOf(AbortError);
      else throw Object.assign(e as Error, { message: `${(e as Error).message} (${label} ${what})` });
    } finally {
      off();
    }
    const jobs = events.slice(from).flatMap((e) => (e.type === 'jobStart' ? [e.jobId] : []));
    return { label: `${label} ${what}`, jobs, failed, group, description };
  };
  const action = (mode: Mode) => async () => {
    const got = await b.action.run(rdd as RDD<any>, act.prog.actionArg, b.st.xs);
    // What it computed is checked when nothing was to stop it (a cancel may come too late to: then it is checked too).
    if (mode !== 'throw') b.action.check(got, b.st, act.prog.actionArg, what);
    return got;
  };
  const seen = [await once(`action ${k}`, act.mode, action(act.mode))];
  if (act.twice) seen.push(await once(`action ${k} again`, act.mode === 'throw' ? 'throw' : 'ok', action(act.mode === 'throw' ? 'throw' : 'ok')));
  if (act.cache) {
    const c = target.getStorageLevel().name === 'NONE' ? target.cache() : target;
    seen.push(
      await once(`count of cached ${k}`, 'ok', async () => {
        expect(await c.count(), what).toBe(b.st.xs.length);
      }),
    );
    cached.push({ rdd: c, countedAt: events.length });
  }
  // What the program persisted (cache, persist, localCheckpoint), counted in full or not.
  for (const r of [...b.env.persisted, ...b.env.states.map((x) => x.rdd)])
    if (r.getStorageLevel().name !== 'NONE' && !cached.some((x) => x.rdd === r)) cached.push({ rdd: r, countedAt: -1 });
  return seen;
}

/** Every endpoint the brief names, of one application, by path (taskList in full), with its JSON. */
async function snapshot(base: string, appId: string): Promise<Map<string, any>> {
  const app = `applications/${appId}`;
  const out = new Map<string, any>();
  const take = async (p: string): Promise<any> => {
    const body = await get(`${base}/api/v1/${p}`);
    out.set(p, body);
    return body;
  };
  await take(app);
  for (const j of (await take(`${app}/jobs`)) as Json[]) await take(`${app}/jobs/${j.jobId}`);
  const stages = (await take(`${app}/stages`)) as Json[];
  for (const id of new Set(stages.map((s) => s.stageId as number))) await take(`${app}/stages/${id}`);
  for (const s of stages) {
    await take(`${app}/stages/${s.stageId}/${s.attemptId}`);
    await take(`${app}/stages/${s.stageId}/${s.attemptId}/taskList?length=100000`);
  }
  await take(`${app}/executors`);
  await take(`${app}/allexecutors`);
  for (const r of (await take(`${app}/storage/rdd`)) as Json[]) await take(`${app}/storage/rdd/${r.id}`);
  await take(`${app}/environment`);
  return out;
}

/** The live answers once nothing changes any more: a killed task's end may come after its job's. */
async function settled(base: string, appId: string): Promise<Map<string, any>> {
  let last = JSON.stringify([...(await snapshot(base, appId))]);
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const next = await snapshot(base, appId);
    const text = JSON.stringify([...next]);
    if (text === last && !/"status":"(RUNNING|ACTIVE)"|"activeTasks":[1-9]/.test(text)) return next;
    last = text;
  }
  throw new Error('the live REST answers never settled');
}

/** Paths where `a` and `b` differ, as `path: live …, history …`. */
function diffs(a: unknown, b: unknown, at: string, out: string[]): void {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffs((a as Json)[k], (b as Json)[k], `${at}.${k}`, out);
  } else if (!Object.is(a, b)) out.push(`${at}: live ${JSON.stringify(a)}, history ${JSON.stringify(b)}`);
}

const count = <T>(xs: readonly T[], p: (x: T) => boolean): number => xs.reduce((n, x) => n + (p(x) ? 1 : 0), 0);

/** The live answers against what the test saw. */
function checkLive(live: Map<string, any>, app: string, seen: readonly Seen[], events: readonly SchedulerEvent[], cached: readonly Cached[]): void {
  const at = (p: string): any => live.get(`applications/${app}${p}`);
  const starts = events.filter((e) => e.type === 'jobStart');
  const ends = new Map(events.flatMap((e) => (e.type === 'jobEnd' ? [[e.jobId, e] as const] : [])));
  const submitted = events.filter((e) => e.type === 'stageSubmitted');
  const taskEnds = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd');
  const lost = events.filter((e) => e.type === 'workerLost');
  const ids = seen.flatMap((s) => s.jobs);

  // Every job ran for an action the test ran, and each is listed, newest first.
  const jobs = at('/jobs') as Json[];
  expect(ids).toEqual(starts.map((e) => e.jobId));
  expect(jobs.map((j) => j.jobId)).toEqual([...ids].reverse());
  for (const s of seen) {
    if (s.failed) expect(s.jobs.length, `${s.label}: a failed action ran a job`).toBeGreaterThan(0);
    for (const [i, id] of s.jobs.entries()) {
      const j = at(`/jobs/${id}`) as Json;
      const what = `job ${id} of ${s.label}`;
      // An action that failed failed in its last job; the jobs before it (a sort's sample) succeeded.
      const status = s.failed && i === s.jobs.length - 1 ? 'FAILED' : 'SUCCEEDED';
      expect(j.status, what).toBe(status);
      expect(ends.get(id)?.result, what).toBe(status === 'FAILED' ? 'failed' : 'succeeded');
      expect(j.jobGroup, what).toBe(s.group);
      if (s.description !== undefined) expect(j.description, what).toBe(s.description);
      else expect(j.description, what).toBe(j.name);
      const start = starts.find((e) => e.jobId === id)!;
      expect(j.stageIds, what).toEqual(start.stageIds);
      // Stages the job listed and never submitted were skipped: their output was there (or the job failed first).
      const ran = new Set(submitted.filter((e) => e.jobId === id).map((e) => e.stageId));
      const skipped = start.stageIds.filter((sid) => !ran.has(sid));
      expect(j.numSkippedStages, what).toBe(skipped.length);
      for (const sid of skipped) expect(j.kindlingStageStatus[sid], `${what}: stage ${sid}`).toBe('SKIPPED');
      const infos = start.stages ?? [];
      const tasksOf = (sid: number) => infos.find((x) => x.stageId === sid)?.numTasks ?? 0;
      // A stage attempted again runs its missing partitions only, and adds none to the job's total (as Spark's).
      const firstAttempts = start.stageIds.filter((sid) => ran.has(sid)).map((sid) => submitted.find((e) => e.jobId === id && e.stageId === sid)!);
      const ranTasks = firstAttempts.reduce((n, e) => n + e.numTasks, 0);
      const skippedTasks = skipped.reduce((n, sid) => n + tasksOf(sid), 0);
      expect(j.numTasks, what).toBe(ranTasks + skippedTasks);
      expect(j.numSkippedTasks, what).toBe(skippedTasks);
      const attempts = new Set(submitted.filter((e) => e.jobId === id).map((e) => `${e.stageId}.${e.attempt}`));
      const mine = taskEnds.filter((e) => attempts.has(`${e.stageId}.${e.stageAttempt}`));
      expect([j.numCompletedTasks, j.numFailedTasks, j.numKilledTasks], what).toEqual([
        count(mine, (e) => e.result === 'success'),
        count(mine, (e) => e.result === 'failed'),
        count(mine, (e) => e.result === 'killed'),
      ]);
      // A job that succeeded without a failed or killed task ran each of its tasks once.
      if (status === 'SUCCEEDED' && j.numFailedTasks === 0 && j.numKilledTasks === 0 && attempts.size === ran.size)
        expect(j.numCompletedTasks, what).toBe(ranTasks);
      expect(j.numActiveTasks, what).toBe(0);
    }
  }

  // Stages: one attempt per submission, each COMPLETE one with exactly one successful task per partition it ran.
  const stages = at('/stages') as Json[];
  // And a stage a job listed that never ran, as SKIPPED (attempt 0, no task).
  const ranAttempts = new Set(submitted.map((e) => `${e.stageId}.${e.attempt}`));
  const never = new Set(starts.flatMap((e) => e.stageIds).filter((sid) => !submitted.some((x) => x.stageId === sid)));
  expect(stages.map((s) => `${s.stageId}.${s.attemptId}`).sort()).toEqual([...ranAttempts, ...[...never].map((sid) => `${sid}.0`)].sort());
  const byKey = new Map(stages.map((s) => [`${s.stageId}.${s.attemptId}`, s]));
  for (const s of stages) {
    const key = `${s.stageId}.${s.attemptId}`;
    if (never.has(s.stageId)) {
      expect([s.status, s.numCompleteTasks, s.numFailedTasks], `stage ${key}`).toEqual(['SKIPPED', 0, 0]);
      continue;
    }
    const tasks = at(`/stages/${s.stageId}/${s.attemptId}/taskList?length=100000`) as Json[];
    const mine = taskEnds.filter((e) => `${e.stageId}.${e.stageAttempt}` === key);
    expect(
      ['SUCCESS', 'FAILED', 'KILLED'].map((st) => count(tasks, (t) => t.status === st)),
      `stage ${key}`,
    ).toEqual(['success', 'failed', 'killed'].map((r) => count(mine, (e) => e.result === r)));
    expect([s.numCompleteTasks, s.numFailedTasks, s.numKilledTasks], `stage ${key}`).toEqual(
      ['SUCCESS', 'FAILED', 'KILLED'].map((st) => count(tasks, (t) => t.status === st)),
    );
    expect(s.numTasks, `stage ${key}`).toBe(submitted.find((e) => `${e.stageId}.${e.attempt}` === key)!.numTasks);
    if (s.status === 'COMPLETE') {
      const won = tasks.filter((t) => t.status === 'SUCCESS').map((t) => t.index as number);
      expect(new Set(won).size, `stage ${key}: one success per partition`).toBe(won.length);
      expect(won.length, `stage ${key}: one success per partition`).toBe(s.numTasks);
    }
  }
  // What a reduce stage read is what its map stages wrote, where all of both ran once, whole, without a fault.
  const clean = count(taskEnds, (e) => e.result !== 'success') === 0 && lost.length === 0;
  const whole = (s: Json) =>
    s.status === 'COMPLETE' && s.numTasks === submitted.find((e) => e.stageId === s.stageId && e.attempt === s.attemptId)!.numPartitions;
  for (const s of stages) {
    const parents = s.kindlingParentStageIds as number[];
    if (!clean || parents.length === 0 || !whole(s) || new Set(parents).size !== parents.length) continue;
    const ps = parents.map((p) => byKey.get(`${p}.0`));
    if (ps.some((p) => p === undefined || !whole(p) || byKey.has(`${p.stageId}.1`))) continue;
    // A cartesian product reads each partition of its inputs once per partition of the other.
    const kinds =
      starts
        .flatMap((e) => e.stages ?? [])
        .find((x) => x.stageId === s.stageId)
        ?.rdds.map((r) => r.kind) ?? [];
    if (kinds.includes('CartesianRDD')) continue;
    expect(s.shuffleReadRecords, `stage ${s.stageId} (${kinds}) reads what stages ${parents} wrote`).toBe(
      ps.reduce((n, p) => n + p!.shuffleWriteRecords, 0),
    );
  }

  // Executors: every task end counted once, on its executor; the lost ones removed.
  const all = at('/allexecutors') as Json[];
  expect([sum(all, 'completedTasks'), sum(all, 'failedTasks'), sum(all, 'kindlingKilledTasks')]).toEqual(
    ['success', 'failed', 'killed'].map((r) => count(taskEnds, (e) => e.result === r)),
  );
  for (const e of all) expect(e.completedTasks, `executor ${e.id}`).toBe(count(taskEnds, (t) => t.executorId === e.id && t.result === 'success'));
  expect(
    all
      .filter((e) => !e.isActive)
      .map((e) => e.id)
      .sort(),
  ).toEqual(lost.map((e) => e.executorId).sort());
  expect((at('/executors') as Json[]).map((e) => e.id)).toEqual(all.filter((e) => e.isActive).map((e) => e.id));

  // Storage: only RDDs the programs persisted, with their partition counts; one counted in full since the last
  // worker loss has every partition cached.
  const lastLoss = events.findLastIndex((e) => e.type === 'workerLost');
  for (const r of at('/storage/rdd') as Json[]) {
    const c = cached.find((x) => x.rdd.id === r.id);
    expect(c, `RDD ${r.id} (${r.name}, ${r.storageLevel}) is cached`).toBeDefined();
    expect(r.numPartitions, `RDD ${r.id}`).toBe(c!.rdd.getNumPartitions());
    expect(r.numCachedPartitions, `RDD ${r.id}`).toBeLessThanOrEqual(r.numPartitions);
    expect(at(`/storage/rdd/${r.id}`).partitions.length, `RDD ${r.id}`).toBe(r.numCachedPartitions);
  }
  for (const c of cached) {
    if (c.countedAt < 0 || c.countedAt < lastLoss || c.rdd.getNumPartitions() === 0) continue;
    const r = (at('/storage/rdd') as Json[]).find((x) => x.id === c.rdd.id);
    expect(r?.numCachedPartitions, `RDD ${c.rdd.id}, counted after the last worker loss`).toBe(c.rdd.getNumPartitions());
  }
  expect(at('/environment').sparkProperties).toContainEqual(['appId', app]);
}

function sum(xs: readonly Json[], k: string): number {
  return xs.reduce((n, x) => n + (x[k] as number), 0);
}

/**
 * The fields a history may give otherwise than the live API did just before the stop: the application's end (Spark's
 * history of a finished application alike). Each is checked for what it must be instead.
 */
function historyOnly(p: string, liveBody: any, historyBody: any, stoppedBy: number): void {
  if (!/^applications\/[^/]+$/.test(p)) return;
  const [l, h] = [liveBody.attempts[0], historyBody.attempts[0]];
  // Live, the application runs: not completed, no end (-1), no duration.
  expect([l.completed, l.endTimeEpoch, l.duration]).toEqual([false, -1, 0]);
  // From its log, it ended at its stop: completed, with that end and the duration up to it.
  expect(h.completed).toBe(true);
  expect(h.endTimeEpoch).toBeGreaterThanOrEqual(l.lastUpdatedEpoch);
  expect(h.endTimeEpoch).toBeLessThanOrEqual(stoppedBy);
  expect(h.duration).toBe(h.endTimeEpoch - h.startTimeEpoch);
  // Its last update is its end, the log's last line.
  expect(h.lastUpdatedEpoch).toBe(h.endTimeEpoch);
  for (const k of ['completed', 'endTime', 'endTimeEpoch', 'duration', 'lastUpdated', 'lastUpdatedEpoch']) {
    delete l[k];
    delete h[k];
  }
}

describe('REST API and history server for random programs', () => {
  it('answers live as the programs ran, and the history server answers every endpoint as live did', async () => {
    console.log(`random-history: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(plans, async (plan) => {
        const dir = mkdtempSync(path.join(scratch, `run-${run++}-`));
        const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: { port: 0 }, eventLog: { dir }, appName: 'random-history' });
        sc.setCheckpointDir(mkdtempSync(path.join(scratch, 'checkpoints-')));
        const events: SchedulerEvent[] = [];
        const off = sc.events.onAny((e) => events.push(e));
        let live: Map<string, any>;
        const app = sc.applicationId!;
        try {
          const base = (await sc.uiWebUrl())!;
          const seen: Seen[] = [];
          const cached: Cached[] = [];
          const losesWorkers = plan.some((a) => a.mode === 'kill');
          for (const [k, act] of plan.entries()) seen.push(...(await runAct(sc, act, k, events, cached, losesWorkers)));
          live = await settled(base, app);
          checkLive(live, app, seen, events, cached);
        } finally {
          off();
          await sc.stop();
        }
        const stoppedBy = Date.now();
        const server = await startHistoryServer({ dir, port: 0 });
        try {
          const out: string[] = [];
          for (const [p, body] of live) {
            const r = await fetch(`${server.url}/api/v1/${p}`);
            expect(r.status, p).toBe(200);
            const fromLog = await r.json();
            historyOnly(p, body, fromLog, stoppedBy);
            diffs(body, fromLog, p, out);
          }
          expect(out, out.slice(0, 30).join('\n')).toEqual([]);
        } finally {
          await server.close();
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  }, 600_000);
});

/** A context with a live UI and an event log in a folder of its own. */
function logged(appName: string, master = 'local[2]'): { sc: Context; dir: string } {
  const dir = mkdtempSync(path.join(scratch, `${appName}-`));
  return { sc: new Context({ master, progress: false, hints: false, ui: { port: 0 }, eventLog: { dir }, appName }), dir };
}

/** The same path from the live API (before the stop) and from a history server over the log (after it). */
async function liveAndHistory(sc: Context, dir: string, paths: readonly string[]): Promise<Array<[any, any]>> {
  const base = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
  const live = [];
  for (const p of paths) live.push(await get(`${base}${p}`));
  await sc.stop();
  const server = await startHistoryServer({ dir, port: 0 });
  try {
    const out: Array<[any, any]> = [];
    for (const [i, p] of paths.entries()) out.push([live[i], await get(`${server.url}/api/v1/applications/${sc.applicationId}${p}`)]);
    return out;
  } finally {
    await server.close();
  }
}

describe('found by the random programs', () => {
  it('gives a task the same id in the history as live, though tasks end in another order than they start', async () => {
    // Partition 0 is slow, partition 1 quick: task 0 (partition 0) ends after task 1. The log writes no task starts,
    // and the history numbered tasks as their ends came: partition 1 was task 0 there.
    const { sc, dir } = logged('task-ids');
    await sc
      .parallelize([0, 1], 2)
      .map((x) => {
        const until = Date.now() + (x === 0 ? 300 : 0);
        while (Date.now() < until);
        return x;
      })
      .count();
    const [live, history] = (await liveAndHistory(sc, dir, ['/stages/0/0/taskList']))[0]!;
    expect(live.map((t: Json) => [t.taskId, t.index])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(history).toEqual(live);
  });

  it('runs a sortByKey whose sampling job was cancelled, and a zipWithIndex whose counting job was, on the next action', async () => {
    // The RDD kept the preparing job's rejected promise: every later action on it failed with the old AbortError.
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    try {
      const slow = sc.parallelize([5, 3, 9, 1, 7, 2], 3).map((x) => {
        const until = Date.now() + 100;
        while (Date.now() < until);
        return [x, x] as [number, number];
      });
      const cancelFirstTask = () => {
        const off = sc.events.on('taskStart', () => {
          off();
          sc.cancelAllJobs();
        });
      };
      const sorted = slow.sortByKey();
      cancelFirstTask();
      await expect(sorted.collect()).rejects.toBeInstanceOf(AbortError);
      expect((await sorted.collect()).map(([k]) => k)).toEqual([1, 2, 3, 5, 7, 9]);
      const zipped = slow.keys().zipWithIndex();
      cancelFirstTask();
      await expect(zipped.collect()).rejects.toBeInstanceOf(AbortError);
      expect(await zipped.collect()).toEqual([5, 3, 9, 1, 7, 2].map((x, i) => [x, i]));
    } finally {
      await sc.stop();
    }
  });
});

describe('an application killed with SIGKILL at a random moment', () => {
  /** The events of a log's complete lines, read here apart from the server's reader: a line without its newline is torn. */
  function completeLines(text: string): AppEvent[] {
    const lines = text.split('\n').slice(0, -1);
    return lines.flatMap((l) => {
      const e = JSON.parse(l) as AppEvent | { type: 'taskEnds' };
      return e.type === 'taskEnds' ? expandTaskEnds(e as Parameters<typeof expandTaskEnds>[0]) : [e as AppEvent];
    });
  }

  it('shows as incomplete, with every complete line of its log served and a torn last line ignored', async () => {
    const runs = process.env.FUZZ_RUNS !== undefined ? RUNS : 2;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2000 }), fc.nat(), async (killAfter, cut) => {
        const dir = mkdtempSync(path.join(scratch, `killed-${run}-`));
        const localDir = mkdtempSync(path.join(scratch, `killed-local-${run++}-`));
        // Jobs of every kind, over and over: shuffles, a cached result read again, a job that fails.
        const script = `
          import { Context, capture } from 'kindling';
          const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, appName: 'killed', localDir: ${JSON.stringify(localDir)}, eventLog: { dir: ${JSON.stringify(dir)} } });
          const pairs = sc.parallelize(Array.from({ length: 400 }, (_, i) => i % 37), 4).map((x) => { const t = Date.now(); while (Date.now() - t < 1); return [x, 1]; });
          console.log('started');
          for (let i = 0; ; i++) {
            const counts = pairs.reduceByKey((a, b) => a + b, 3);
            if (i % 2 === 0) counts.cache();
            await counts.count();
            await counts.collect();
            const bad = i % 3 === 1 ? 2 : -1;
            await sc.parallelize([1, 2, 3], 3).map(capture({ bad }, (x) => { if (x === bad) throw new Error('boom'); return x; })).count().catch(() => 0);
          }
        `;
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
        let exited = false;
        child.once('exit', () => (exited = true));
        try {
          await new Promise<void>((resolve, reject) => {
            child.stdout!.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
            child.once('exit', (code) => reject(new Error(`the child ended first (${code})`)));
          });
          await new Promise((r) => setTimeout(r, killAfter));
          expect(exited, 'the child ran until it was killed').toBe(false);
        } finally {
          child.kill('SIGKILL');
          if (!exited) await new Promise((r) => child.once('exit', r));
        }
        // Killed before its log's first line (the log's module loads lazily): the file may not be there yet.
        const name = readdirSync(dir)[0] ?? 'app-killed-early.jsonl';
        const file = path.join(dir, name);
        // A torn last line that would end the application, were it whole.
        const end = JSON.stringify({ type: 'applicationEnd', time: Date.now() });
        appendFileSync(file, end.slice(0, 1 + (cut % (end.length - 1))));
        const events = completeLines(readFileSync(file, 'utf8'));
        const server = await startHistoryServer({ dir, port: 0 });
        try {
          if (events.length === 0) {
            // Nothing complete to serve: no application (and the server is up).
            expect(await get(`${server.url}/api/v1/applications`)).toEqual([]);
            return;
          }
          expect(events[0]!.type).toBe('applicationStart');
          const app = `${server.url}/api/v1/applications/${name.replace(/\.jsonl$/, '')}`;
          expect((await get(app)).attempts[0]).toMatchObject({ completed: false, endTimeEpoch: -1 });
          const ended = new Map(events.flatMap((e) => (e.type === 'jobEnd' ? [[e.jobId, e.result === 'succeeded' ? 'SUCCEEDED' : 'FAILED']] : [])));
          const jobs = (await get(`${app}/jobs`)) as Json[];
          expect(jobs.map((j) => [j.jobId, j.status])).toEqual(
            events.flatMap((e) => (e.type === 'jobStart' ? [[e.jobId, ended.get(e.jobId) ?? 'RUNNING']] : [])).reverse(),
          );
          const ends = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd');
          for (const s of events.filter((e) => e.type === 'stageSubmitted')) {
            const key = `${s.stageId}.${s.attempt}`;
            const tasks = (await get(`${app}/stages/${s.stageId}/${s.attempt}/taskList?length=100000`)) as Json[];
            const mine = ends.filter((e) => `${e.stageId}.${e.stageAttempt}` === key);
            expect(
              ['SUCCESS', 'FAILED', 'KILLED'].map((st) => count(tasks, (t) => t.status === st)),
              `stage ${key}`,
            ).toEqual(['success', 'failed', 'killed'].map((r) => count(mine, (e) => e.result === r)));
          }
          const all = (await get(`${app}/allexecutors`)) as Json[];
          expect(sum(all, 'completedTasks')).toBe(count(ends, (e) => e.result === 'success'));
          expect(sum(all, 'failedTasks')).toBe(count(ends, (e) => e.result === 'failed'));
        } finally {
          await server.close();
          rmSync(localDir, { recursive: true, force: true });
        }
      }),
      { numRuns: runs, seed: SEED, endOnFailure: true },
    );
  }, 120_000);
});
