/**
 * The live UI's status store lives on its own thread (src/ui/ui-thread.ts, started by live-ui.ts): the driver posts the
 * bus's events and forwards REST requests on one port, so what the API answers follows every event before it; the
 * thread never keeps a program alive, goes at stop(), and a thread that dies costs the program its UI only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Context } from 'kindling';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent } from '../../src/scheduler/events.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import type { AppEvent } from '../../src/ui/app-events.js';
import { readEventLog } from '../../src/ui/event-log.js';
import { startUi } from '../../src/ui/index.js';
import { restAnswer } from '../../src/ui/rest.js';
import { StatusStore } from '../../src/ui/status-store.js';
import { SUMMARIZED_METRICS } from '../../src/scheduler/task-metrics.js';
import type { TaskMetrics } from '../../src/exec/protocol.js';
import { get, type Json, root } from './http-helpers.js';

afterEach(() => vi.restoreAllMocks());

/** The UI thread of a context from the package: the Worker its first event post goes to (the context's own workers get no `k` messages). */
function watchUiThread(): () => Worker | undefined {
  let found: Worker | undefined;
  const post = Worker.prototype.postMessage;
  vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
    const k = (args[0] as { k?: unknown } | null)?.k;
    if (found === undefined && (k === 'events' || k === 'event')) found = this;
    return post.apply(this, args);
  });
  return () => found;
}

/** A UI on a bus of its own, with the UI on and no log. */
function busUi() {
  const bus = new EventBus<SchedulerEvent>();
  const ui = startUi(bus, {
    appName: 'a',
    numWorkers: 1,
    storageBytesPerWorker: 1,
    options: {},
    ui: { host: '127.0.0.1', port: 0, retainedJobs: 10, retainedStages: 10, killEnabled: false },
    eventLog: false,
  })!;
  return { bus, ui };
}

/** Job 0 with its one stage, of `numTasks` tasks, submitted. */
function submitStage(bus: EventBus<SchedulerEvent>, numTasks: number): void {
  const stage = { stageId: 0, name: 's', numTasks, parentIds: [], rdds: [] };
  bus.emit({ type: 'jobStart', jobId: 0, time: 1, stageIds: [0], stages: [stage] } as unknown as SchedulerEvent);
  bus.emit({ type: 'stageSubmitted', stageAttempt: 0, time: 1, ...stage } as unknown as SchedulerEvent);
}

describe("the UI's thread", () => {
  it('answers with each job’s end by the time its action settles, job after job, with no wait between', async () => {
    const thread = watchUiThread();
    const sc = new Context({ master: 'local[2]', progress: false, ui: { port: 0 } });
    try {
      const url = await sc.uiWebUrl();
      const api = `${url}/api/v1/applications/${sc.applicationId}`;
      // The first request starts the thread (the store loads on the first connection).
      expect(await get(`${api}/jobs`)).toEqual([]);
      expect(thread()).toBeDefined();
      for (let i = 0; i < 25; i++) {
        const n = 1 + (i % 7) * 13;
        expect(await sc.parallelize([...Array(n).keys()], n).count()).toBe(n);
        const [job] = (await get(`${api}/jobs`)) as Json[];
        expect([job!.jobId, job!.status, job!.numTasks, job!.numCompletedTasks, job!.numActiveTasks]).toEqual([i, 'SUCCEEDED', n, n, 0]);
      }
      const executors = (await get(`${api}/executors`)) as Json[];
      expect(executors.reduce((a, e) => a + e.completedTasks, 0)).toBe([...Array(25).keys()].reduce((a, i) => a + 1 + (i % 7) * 13, 0));
    } finally {
      await sc.stop();
    }
  });

  it('gives a request racing a running job a consistent store: counts that only grow and add up, exact at the end', async () => {
    const sc = new Context({ master: 'local[2]', progress: false, ui: { port: 0 } });
    try {
      const api = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      await get(`${api}/jobs`);
      const tasks = 3000;
      const running = sc.parallelize([...Array(tasks).keys()], tasks).count();
      let settled = false;
      void running.finally(() => (settled = true));
      const seen: Json[] = [];
      while (!settled) {
        const jobs = (await get(`${api}/jobs`)) as Json[];
        if (jobs.length > 0) seen.push(jobs[0]!);
        const stages = (await get(`${api}/stages`)) as Json[];
        for (const s of stages) expect(s.numCompleteTasks + s.numActiveTasks + s.numFailedTasks).toBeLessThanOrEqual(s.numTasks);
      }
      expect(await running).toBe(tasks);
      for (let i = 0; i < seen.length; i++) {
        const j = seen[i]!;
        expect(j.numCompletedTasks + j.numActiveTasks).toBeLessThanOrEqual(tasks);
        expect(j.numActiveTasks).toBeLessThanOrEqual(2);
        if (i > 0) expect(j.numCompletedTasks).toBeGreaterThanOrEqual(seen[i - 1]!.numCompletedTasks);
      }
      const [job] = (await get(`${api}/jobs`)) as Json[];
      expect([job!.status, job!.numCompletedTasks, job!.numActiveTasks]).toEqual(['SUCCEEDED', tasks, 0]);
    } finally {
      await sc.stop();
    }
  });

  it('is gone after stop(), and never what keeps a program alive', async () => {
    const thread = watchUiThread();
    const sc = new Context({ master: 'local[1]', progress: false, ui: { port: 0 } });
    await get(`${await sc.uiWebUrl()}/api/v1/applications`);
    const t = thread()!;
    expect(t).toBeDefined();
    const exited = new Promise<number>((resolve) => t.once('exit', resolve));
    await sc.stop();
    // terminate() resolved: the thread has exited, not merely been asked to.
    expect(t.threadId).toBe(-1);
    await exited;
  });

  it('starts only when the store loads: never for a small script nobody looks at', async () => {
    const { bus, ui } = busUi();
    bus.emit({ type: 'jobEnd', jobId: 0, time: 1, result: 'succeeded' } as SchedulerEvent);
    expect(ui.uiThread).toBeUndefined();
    await ui.stop();
    expect(ui.uiThread).toBeUndefined();
  });

  it('that dies leaves the context and its jobs working, says so once, and its API answers 503 naming why', async () => {
    const thread = watchUiThread();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const sc = new Context({ master: 'local[2]', progress: false, ui: { port: 0 } });
    try {
      const api = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      expect(await sc.parallelize([1, 2, 3], 3).count()).toBe(3);
      await get(`${api}/jobs`);
      await thread()!.terminate();
      for (let i = 0; i < 5; i++) {
        expect(
          await sc
            .parallelize([...Array(300).keys()], 30)
            .map((x) => x * 2)
            .reduce((a, b) => a + b),
        ).toBe(299 * 300);
        const r = await fetch(`${api}/jobs`);
        expect(r.status).toBe(503);
        expect(((await r.json()) as Json).error).toMatch(/UI's thread stopped/);
      }
      // The pages' shell is the driver's: it still loads.
      expect((await fetch(`${await sc.uiWebUrl()}/jobs/`)).status).toBe(200);
      const said = warn.mock.calls.filter((c) => /UI's thread stopped/.test(String(c[0])));
      expect(said).toHaveLength(1);
    } finally {
      await sc.stop();
    }
  });

  it('gets the rows of a held batch as the status store on the driver would have folded them', async () => {
    const { bus, ui } = busUi();
    try {
      const url = (await ui.url())!;
      await get(`${url}/api/v1/applications`);
      submitStage(bus, 2);
      const batch = new TaskEventBatch();
      batch.start(0, 0, 0, 0, 0, '0', false, 2);
      batch.start(0, 0, 1, 0, 0, '0', false, 2);
      batch.end(0, 0, 0, 0, 0, '0', false, 'success', undefined, 5, undefined, 'NO_PREF', 7);
      batch.end(0, 0, 1, 0, 0, '0', false, 'failed', 'boom at partition 1', 6, undefined, 'ANY', 8);
      bus.hold(() => bus.emit({ type: 'taskBatch', tasks: batch } as SchedulerEvent));
      const tasks = (await get(`${url}/api/v1/applications/${ui.appId}/stages/0/0/taskList`)) as Json[];
      expect(tasks.map((t) => [t.index, t.status, t.duration, t.errorMessage])).toEqual([
        [0, 'SUCCESS', 5, undefined],
        [1, 'FAILED', 6, 'boom at partition 1'],
      ]);
    } finally {
      await ui.stop();
    }
  });
});

describe("the UI's thread behind the driver", () => {
  it('loses no row when the driver writes faster than the thread folds: the shared ring wraps, and when full the rows go as copies', async () => {
    const kinds = new Set<string>();
    const post = Worker.prototype.postMessage;
    vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      for (const q of (args[0] as { q?: Array<{ k: string }> }).q ?? []) kinds.add(q.k);
      return post.apply(this, args);
    });
    const { bus, ui } = busUi();
    try {
      const url = (await ui.url())!;
      await get(`${url}/api/v1/applications`);
      // 30,000 tasks written without a pause (60,000 rows, the ring holds 8,192): the thread cannot keep up.
      const tasks = 30_000;
      submitStage(bus, tasks);
      const batch = new TaskEventBatch();
      for (let p = 0; p < tasks; p += 100) {
        batch.clear();
        for (let i = p; i < p + 100; i++) batch.start(0, 0, i, 0, i % 3, String(i % 3), false, 2);
        for (let i = p; i < p + 100; i++) batch.end(0, 0, i, 0, i % 3, String(i % 3), false, 'success', undefined, 1, undefined, 'NO_PREF', 3);
        bus.hold(() => bus.emit({ type: 'taskBatch', tasks: batch } as SchedulerEvent));
        bus.flushHeld();
      }
      const stage = (await get(`${url}/api/v1/applications/${ui.appId}/stages/0/0`)) as Json;
      expect([stage!.numCompleteTasks, stage!.numActiveTasks]).toEqual([tasks, 0]);
      const executors = (await get(`${url}/api/v1/applications/${ui.appId}/executors`)) as Json[];
      expect(executors.map((e) => [e.id, e.completedTasks]).sort()).toEqual([
        ['0', tasks / 3],
        ['1', tasks / 3],
        ['2', tasks / 3],
      ]);
      expect(kinds.has('ring')).toBe(true);
      expect(kinds.has('tasks')).toBe(true);
    } finally {
      await ui.stop();
    }
  });
});

describe("the UI's thread and the ring's rows", () => {
  const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  it(`folds the rows of the ring, past its wrap, as a store folding the driver's own batches (random metrics, seed ${SEED})`, async () => {
    console.log(`ui-thread ring rows: FUZZ_SEED=${SEED}`);
    // mulberry32: the same metrics again for a seed.
    let state = SEED >>> 0;
    const random = (): number => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const values = [0.5, 1, 3, 2 ** 31, 1e15 + 0.25, 7.125, 42];
    const ats: number[] = [];
    const post = Worker.prototype.postMessage;
    vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      for (const q of (args[0] as { q?: Array<{ k: string; at?: number }> }).q ?? []) if (q.k === 'ring') ats.push(q.at!);
      return post.apply(this, args);
    });
    const { bus, ui } = busUi();
    const local = new StatusStore({ retainedJobs: 10, retainedStages: 10 });
    try {
      const url = (await ui.url())!;
      await get(`${url}/api/v1/applications`);
      // Enough tasks for their rows to wrap the ring (8,192 rows) a few times.
      const tasks = 16_000;
      const stage = { stageId: 0, name: 's', numTasks: tasks, parentIds: [], rdds: [] };
      const events = [
        { type: 'jobStart', jobId: 0, time: 1, stageIds: [0], stages: [stage] },
        { type: 'stageSubmitted', stageAttempt: 0, time: 1, ...stage },
      ] as unknown as SchedulerEvent[];
      for (const e of events) {
        bus.emit(e);
        local.apply(e);
      }
      const batch = new TaskEventBatch();
      for (let p = 0; p < tasks; p += 100) {
        batch.clear();
        for (let i = p; i < p + 100; i++) batch.start(0, 0, i, 0, i % 3, String(i % 3), false, 2 + i);
        for (let i = p; i < p + 100; i++) {
          // Most metrics 0, as most tasks report them; now and then none at all, or a failure.
          const m = Object.fromEntries(
            SUMMARIZED_METRICS.map((k) => [k, random() < 0.7 ? 0 : values[Math.floor(random() * values.length)]!]),
          ) as unknown as TaskMetrics;
          const r = random();
          const result = r < 0.05 ? 'failed' : 'success';
          batch.end(
            0,
            0,
            i,
            0,
            i % 3,
            String(i % 3),
            false,
            result,
            result === 'failed' ? 'boom' : undefined,
            m.durationMs,
            r > 0.97 ? undefined : m,
            'NO_PREF',
            3 + i,
          );
        }
        local.applyTasks(batch);
        bus.hold(() => bus.emit({ type: 'taskBatch', tasks: batch } as SchedulerEvent));
        bus.flushHeld();
        // The thread keeps up (a request waits for it): the rows go through the ring, not as copies.
        if (p % 2000 === 0) await get(`${url}/api/v1/applications`);
      }
      const ends = [
        { type: 'stageCompleted', jobId: 0, stageId: 0, attempt: 0, time: 9e6, result: 'succeeded' },
        { type: 'jobEnd', jobId: 0, time: 9e6, result: 'succeeded' },
      ] as SchedulerEvent[];
      for (const e of ends) {
        bus.emit(e);
        local.apply(e);
      }
      for (const [what, query] of [
        ['stages/0/0', '?details=true&withSummaries=true'],
        ['stages/0/0/taskList', '?length=100000'],
        ['stages/0/0/taskSummary', ''],
      ] as const) {
        const got = await get(`${url}/api/v1/applications/${ui.appId}/${what}${query}`);
        expect(got, what).toEqual(JSON.parse(restAnswer(new Map([[ui.appId, local]]), `applications/${ui.appId}/${what}`, query).body));
      }
      // Every batch went through the ring (none as a copy), which started over at its first row.
      expect(ats.length).toBe(tasks / 100);
      expect(ats.some((a, i) => i > 0 && a < ats[i - 1]!)).toBe(true);
    } finally {
      await ui.stop();
    }
  }, 60_000);
});

describe('the event log with the UI thread on', () => {
  // The log's writer stays on the driver's thread; these check that the thread changes nothing of its crash guarantee.
  it.each([
    ['an uncaught error', `setImmediate(() => { throw new Error('boom'); })`],
    ['process.exit', 'process.exit(3)'],
    ['SIGINT', `console.log('running')`],
  ])(
    'holds every task of the finished job and the next job’s start after %s mid-job',
    async (how, end) => {
      const logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-uithread-log-'));
      const script = `
        import { Context } from 'kindling';
        const sc = new Context({ master: 'local[2]', progress: false, ui: { port: 0 }, eventLog: { dir: ${JSON.stringify(logDir)} } });
        const r = await fetch((await sc.uiWebUrl()) + '/api/v1/applications');
        if (r.status !== 200) throw new Error('the UI did not answer: ' + r.status);
        await sc.parallelize([...Array(400).keys()], 400).count();
        let ended = false;
        sc.events.on('taskStart', () => { if (!ended) { ended = true; ${end}; } });
        await sc.parallelize([1, 2], 2).map((x) => { while (true); }).collect();
      `;
      try {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (how === 'SIGINT' && out.includes('running') && !child.killed) child.kill('SIGINT');
        });
        child.stderr.on('data', () => undefined);
        const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
        clearTimeout(timer);
        expect(signal === 'SIGKILL').toBe(false);
        expect(how === 'SIGINT' ? signal : code).toBe(how === 'SIGINT' ? 'SIGINT' : how === 'process.exit' ? 3 : 1);
        const [file] = readdirSync(logDir);
        const events = readEventLog(path.join(logDir, file!));
        const of = (type: AppEvent['type']) => events.filter((e) => e.type === type) as Json[];
        expect(of('jobStart').map((e) => e.jobId)).toEqual([0, 1]);
        expect(of('jobEnd')[0]).toMatchObject({ jobId: 0, result: 'succeeded' });
        expect(of('taskEnd').filter((e) => e.stageId === 0 && e.result === 'success')).toHaveLength(400);
        if (how === 'SIGINT') expect(events.at(-1)!.type).toBe('applicationEnd');
      } finally {
        rmSync(logDir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
