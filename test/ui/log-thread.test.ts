/**
 * The event log written by the UI's thread (issue 10, route b): once that thread runs, the driver's writer hands it
 * its file and state and the thread writes the log from the events it already gets for its store, so the driver
 * encodes no line. Every contract of the driver's log holds: the same events read back (task ids of tasks started
 * before the hand-over and ended after it included), written as it goes, complete when stop() returns, written
 * through at a signal and at an exit without stop(); with the UI off the driver writes it.
 */
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent } from '../../src/scheduler/events.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import { startUi, type UiSubsystem } from '../../src/ui/index.js';
import { readEventLog } from '../../src/ui/event-log.js';
import type { AppEvent } from '../../src/ui/app-events.js';

/** FUZZ_RUNS widens the property's search, FUZZ_SEED replays it (printed). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const view = (dir: string, ui: boolean) => ({
  appName: 'log-thread',
  numWorkers: 2,
  storageBytesPerWorker: 1,
  options: {},
  ui: ui ? { port: 0, host: '127.0.0.1', killEnabled: false, retainedJobs: 5000, retainedStages: 5000 } : (false as const),
  eventLog: { dir },
  runningTasks: () => [],
});

const waitFor = async (what: string, ok: () => boolean, ms = 20_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** A connection starts the UI's thread; the log moves there once its writer has loaded too. */
async function logOnThread(ui: UiSubsystem): Promise<void> {
  const res = await fetch(`${await ui.url()}/api/v1/applications`);
  expect(res.status).toBe(200);
  await res.text();
  await waitFor('the log on the thread', () => ui.logOnThread);
}

/**
 * A job's events as the scheduler emits them: `tasks` tasks in batches of `per` rows (each batch its starts, then
 * its ends but for the last task, whose end comes in `rest`); `rest` emits that end, the stage's completion and the job's end.
 */
function job(bus: EventBus<SchedulerEvent>, jobId: number, tasks: number, per: number, t0: number): { rest: () => void } {
  const stageId = jobId;
  bus.emit({ type: 'jobStart', jobId, time: t0, description: `job ${jobId}`, stageIds: [stageId] });
  bus.emit({ type: 'stageSubmitted', jobId, stageId, attempt: 0, name: 's', numTasks: tasks, numPartitions: tasks, time: t0 });
  const batch = new TaskEventBatch();
  const end = (p: number): void =>
    batch.end(
      stageId,
      0,
      p,
      0,
      p % 2,
      String(p % 2),
      false,
      p % 7 === 3 ? 'failed' : 'success',
      p % 7 === 3 ? `boom ${p}` : undefined,
      p % 5,
      undefined,
      'ANY',
      t0 + p + 1,
    );
  for (let from = 0; from < tasks; from += per) {
    const to = Math.min(tasks, from + per);
    for (let p = from; p < to; p++) batch.start(stageId, 0, p, 0, p % 2, String(p % 2), false, t0 + p);
    for (let p = from; p < to; p++) if (p !== tasks - 1) end(p);
    bus.emit({ type: 'taskBatch', tasks: batch });
    batch.clear();
  }
  return {
    rest: () => {
      end(tasks - 1);
      bus.emit({ type: 'taskBatch', tasks: batch });
      batch.clear();
      bus.emit({ type: 'stageCompleted', jobId, stageId, attempt: 0, time: t0 + tasks + 2, result: 'succeeded' });
      bus.emit({ type: 'jobEnd', jobId, time: t0 + tasks + 3, result: 'succeeded' });
    },
  };
}

/** What a log reads back as, the application's own start and end times left out (two runs differ there). */
const comparable = (events: readonly AppEvent[]) =>
  events.map((e) => (e.type === 'applicationStart' ? { type: e.type } : e.type === 'applicationEnd' ? { type: e.type } : e));

const logOf = (dir: string, ui: UiSubsystem) => path.join(dir, `${ui.appId}.jsonl`);

/** A UI with its log on the thread (`fn` runs once it moved there), stopped and its folder removed after `fn`. */
async function withLogOnThread(fn: (bus: EventBus<SchedulerEvent>, sub: UiSubsystem, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-thread-'));
  const bus = new EventBus<SchedulerEvent>();
  const sub = startUi(bus, view(dir, true))!;
  try {
    await waitFor('the log file', () => existsSync(logOf(dir, sub)));
    await logOnThread(sub);
    await fn(bus, sub, logOf(dir, sub));
  } finally {
    await sub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A program of the built modules, for a process of its own: its UI on and its log moved to the thread (a connection
 * starts it), then a job's start and 30 task ends emitted (in `batch`, not cleared), then `rest`.
 */
const childScript = (dir: string, rest: string): string => `
  import { existsSync } from 'node:fs';
  import { EventBus } from './dist/scheduler/event-bus.js';
  import { TaskEventBatch } from './dist/scheduler/task-event-batch.js';
  import { startUi } from './dist/ui/index.js';
  const bus = new EventBus();
  const ui = startUi(bus, ${JSON.stringify(view(dir, true))});
  const file = ${JSON.stringify(dir)} + '/' + ui.appId + '.jsonl';
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 10));
  await (await fetch((await ui.url()) + '/api/v1/applications')).text();
  while (!ui.logOnThread) await new Promise((r) => setTimeout(r, 10));
  bus.emit({ type: 'jobStart', jobId: 0, time: 1, description: 'j', stageIds: [0] });
  const batch = new TaskEventBatch();
  for (let p = 0; p < 30; p++) batch.end(0, 0, p, 0, 0, '0', false, 'success', undefined, 4, undefined, 'ANY', 7 + p);
  bus.emit({ type: 'taskBatch', tasks: batch });
${rest}`;

describe('the event log on the UI thread', () => {
  it('goes on in the thread from where the driver left it and is complete when stop() returns: the same events as a log written on the driver, task ids across the hand-over included', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-thread-'));
    try {
      const run = async (ui: boolean) => {
        const bus = new EventBus<SchedulerEvent>();
        const sub = startUi(bus, view(dir, ui))!;
        // The driver's writer first: it loads at once.
        await waitFor('the log file', () => existsSync(logOf(dir, sub)));
        const first = job(bus, 0, 300, 64, 1000);
        // A job still running at the hand-over: its last task started on the driver's writer and ends on the thread's.
        if (ui) await logOnThread(sub);
        first.rest();
        // Enough task events that the driver posts before any timer, and a block past the writer's 4,096 rows.
        job(bus, 1, 5000, 256, 5000).rest();
        await sub.stop();
        expect(sub.logOnThread).toBe(ui);
        // Every line whole JSON: nothing of the two writers overlaps or is cut.
        for (const line of readFileSync(logOf(dir, sub), 'utf8').trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
        return readEventLog(logOf(dir, sub));
      };
      const onThread = await run(true);
      const onDriver = await run(false);
      expect(onThread.filter((e) => e.type === 'taskEnd')).toHaveLength(5300);
      expect(onThread.find((e) => e.type === 'taskEnd' && e.stageId === 0 && e.partition === 299)).toMatchObject({ taskId: 299 });
      expect(onThread.at(-1)?.type).toBe('applicationEnd');
      expect(comparable(onThread)).toEqual(comparable(onDriver));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it(`reads back the same events whenever the thread takes the log on, mid-job included, as a log the driver wrote alone (property, seed ${SEED})`, async () => {
    console.log(`log-thread: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-thread-'));
    try {
      const jobs = fc.array(fc.record({ tasks: fc.integer({ min: 1, max: 3000 }), per: fc.integer({ min: 1, max: 600 }) }), {
        minLength: 1,
        maxLength: 4,
      });
      await fc.assert(
        fc.asyncProperty(jobs, fc.nat(), async (js, at) => {
          const moveAt = at % (js.length + 1);
          const run = async (ui: boolean) => {
            const bus = new EventBus<SchedulerEvent>();
            const sub = startUi(bus, view(dir, ui))!;
            await waitFor('the log file', () => existsSync(logOf(dir, sub)));
            let t = 1;
            for (const [i, j] of js.entries()) {
              const running = job(bus, i, j.tasks, j.per, t);
              // The hand-over between a job's task starts and its last end (task ids cross it).
              if (ui && i === moveAt) await logOnThread(sub);
              running.rest();
              t += j.tasks + 10;
            }
            if (ui && moveAt === js.length) await logOnThread(sub);
            await sub.stop();
            expect(sub.logOnThread).toBe(ui);
            return comparable(readEventLog(logOf(dir, sub)));
          };
          expect(await run(true)).toEqual(await run(false));
        }),
        { numRuns: RUNS, seed: SEED },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it(
    'writes the log as it goes while a job runs, without a reader or a job end: a process killed now keeps its recent events',
    () =>
      withLogOnThread(async (bus, _sub, file) => {
        // Fewer task events than the driver queues before it posts, and no job end: only the log's cadence writes them.
        job(bus, 7, 40, 40, 100);
        await waitFor('the task ends in the file', () => readEventLog(file).filter((e) => e.type === 'taskEnd').length === 39, 5000);
        expect(readEventLog(file).map((e) => e.type)).toContain('stageSubmitted');
      }),
    60_000,
  );

  it(
    'at a signal, interrupted() has the thread write the log through, its end included, before it returns',
    () =>
      withLogOnThread(async (bus, sub, file) => {
        job(bus, 3, 100, 100, 100);
        sub.interrupted();
        // Read at once, in the same turn: nothing asynchronous ran since.
        const events = readEventLog(file);
        expect(events.filter((e) => e.type === 'taskEnd')).toHaveLength(99);
        expect(events.at(-1)?.type).toBe('applicationEnd');
      }),
    60_000,
  );

  it('a process that exits without stop() with its log on the thread still logs every event, those the bus held included (and one that stops says nothing)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-thread-exit-'));
    try {
      const script = childScript(
        dir,
        `
        batch.clear();
        bus.hold(() => bus.emit({ type: 'taskBatch', tasks: batch }));
        batch.end(0, 0, 30, 0, 0, '0', false, 'success', undefined, 4, undefined, 'ANY', 40);
        console.log(ui.appId);
        process.exit(0);
      `,
      );
      for (const stop of [false, true]) {
        const child = spawn(process.execPath, ['--input-type=module', '-e', stop ? script.replace('process.exit(0)', 'await ui.stop()') : script], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
        const code = await new Promise((resolve) => child.on('exit', resolve));
        expect(code).toBe(0);
        // Nothing said: the thread closing a descriptor the driver opened made Node warn at every stop().
        expect(err).toBe('');
        const events = readEventLog(path.join(dir, `${out.trim()}.jsonl`));
        const end = stop ? ['applicationEnd'] : [];
        expect(events.map((e) => e.type)).toEqual(['applicationStart', 'jobStart', ...Array<string>(31).fill('taskEnd'), ...end]);
        expect(events.find((e) => e.type === 'taskEnd' && e.partition === 30)).toMatchObject({ time: 40 });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a process SIGKILLed while its log is on the thread keeps the events it had: they reach the file while it runs, with no reader, job end or exit', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-thread-kill-'));
    try {
      const script = childScript(
        dir,
        `
        console.log(ui.appId);
        // Runs on until killed, as a job would.
        setInterval(() => {}, 1000);
      `,
      );
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      const appId = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
      // The log's cadence: posted within 50 ms, written within the writer's 100 ms (polled: a loaded machine stretches
      // both); without a post timer the events would wait for 2,048 rows or a reader, and never come.
      const file = path.join(dir, `${appId}.jsonl`);
      await waitFor('the task ends in the file', () => readEventLog(file).length === 32, 10_000);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      const events = readEventLog(path.join(dir, `${appId}.jsonl`));
      expect(events.map((e) => e.type)).toEqual(['applicationStart', 'jobStart', ...Array<string>(30).fill('taskEnd')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a UI thread that dies with the log gives it back to the driver, which writes on after the lines already there, saying so', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await withLogOnThread(async (bus, sub, file) => {
        job(bus, 0, 50, 50, 100).rest();
        await waitFor('the first job in the file', () => readEventLog(file).some((e) => e.type === 'jobEnd'), 5000);
        await sub.uiThread!.terminate();
        await waitFor('the driver writing the log again', () => !sub.logOnThread);
        job(bus, 1, 50, 50, 1000).rest();
        await sub.stop();
        const events = readEventLog(file);
        expect(events.filter((e) => e.type === 'jobEnd').map((e) => e.type === 'jobEnd' && e.jobId)).toEqual([0, 1]);
        expect(events.filter((e) => e.type === 'taskEnd')).toHaveLength(100);
        // Numbered on from the thread's ids: no id twice.
        const ids = events.flatMap((e) => (e.type === 'taskEnd' && 'taskId' in e ? [e.taskId as number] : []));
        expect(new Set(ids).size).toBe(ids.length);
        expect(events.at(-1)?.type).toBe('applicationEnd');
        expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/event log .* goes on from the driver/);
      });
    } finally {
      warn.mockRestore();
    }
  }, 60_000);

  it('with the UI off, the driver writes the log (no thread is started for it)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-thread-'));
    const bus = new EventBus<SchedulerEvent>();
    const sub = startUi(bus, view(dir, false))!;
    try {
      await waitFor('the log file', () => existsSync(logOf(dir, sub)));
      job(bus, 0, 20_000, 256, 1).rest();
      await sub.stop();
      expect(sub.uiThread).toBeUndefined();
      expect(sub.logOnThread).toBe(false);
      expect(readEventLog(logOf(dir, sub)).filter((e) => e.type === 'taskEnd')).toHaveLength(20_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
