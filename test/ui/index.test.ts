/**
 * The scheduler holds a turn's task events in a batch and delivers it rarely (every BATCH_MS at most, or when full, or
 * before any other event): what the UI shows and the log keeps must not depend on when it does. A reader of the UI
 * gets the held events delivered first; a process that exits without stopping its context still logs them.
 */
import { describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent } from '../../src/scheduler/events.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import { startUi } from '../../src/ui/index.js';
import { readEventLog } from '../../src/ui/event-log.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const view = (appName: string, eventLog: { dir: string } | false = false) => ({
  appName,
  numWorkers: 1,
  storageBytesPerWorker: 1,
  options: {},
  ui: { port: 0, host: '127.0.0.1', killEnabled: false, retainedJobs: 5000, retainedStages: 5000 },
  eventLog,
});

const common = { stageId: 0, stageAttempt: 0, attempt: 0, workerIndex: 0, executorId: '0', speculative: false };

describe('startUi and the task events the scheduler holds', () => {
  it('answers every REST request with the task events the bus still holds (a running task, then its end)', async () => {
    const bus = new EventBus<SchedulerEvent>();
    const ui = startUi(bus, view('held'))!;
    const api = async (p: string) => {
      const res = await fetch(`${await ui.url()}/api/v1/applications/${ui.appId}${p}`);
      expect(res.status, p).toBe(200);
      return (await res.json()) as Array<Record<string, unknown>>;
    };
    try {
      await api('/jobs');
      bus.emit({ type: 'jobStart', jobId: 0, time: 1, description: 'j', stageIds: [0] });
      bus.emit({ type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 's', numTasks: 2, numPartitions: 2, time: 2 });
      // As the task scheduler does: rows in a batch that the bus holds until something delivers it. Nothing here does
      // (no timer, no later event): only the request can.
      const batch = new TaskEventBatch();
      const hold = () =>
        bus.hold(() => {
          bus.emit({ type: 'taskBatch', tasks: batch });
          batch.clear();
        });
      hold();
      batch.start(0, 0, 0, 0, 0, '0', false, 3);
      batch.start(0, 0, 1, 0, 0, '0', false, 3);
      expect(batch.size).toBe(2);
      const running = await api('/stages/0/0/taskList');
      expect(running.map((t) => [t.index, t.status])).toEqual([
        [0, 'RUNNING'],
        [1, 'RUNNING'],
      ]);
      expect(batch.size).toBe(0);
      hold();
      batch.add({
        type: 'taskEnd',
        ...common,
        partition: 0,
        result: 'success',
        error: undefined,
        durationMs: 4,
        metrics: undefined,
        locality: 'ANY',
        time: 7,
      });
      const [job] = await api('/jobs');
      expect(job).toMatchObject({ jobId: 0, status: 'RUNNING', numActiveTasks: 1, numCompletedTasks: 1 });
    } finally {
      await ui.stop();
    }
  });

  it('a process that exits without stopping its context still logs the task ends the bus held', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-held-exit-'));
    try {
      // The built modules, in a process of their own that exits (process.exit) with a batch held.
      const script = `
        import { EventBus } from './dist/scheduler/event-bus.js';
        import { TaskEventBatch } from './dist/scheduler/task-event-batch.js';
        import { startUi } from './dist/ui/index.js';
        const bus = new EventBus();
        const ui = startUi(bus, ${JSON.stringify({ ...view('exit', { dir }), ui: false })});
        bus.emit({ type: 'jobStart', jobId: 0, time: 1, description: 'j', stageIds: [0] });
        // The log's writer loads its module first (a program runs long enough for that): it then opens its file.
        const { existsSync } = await import('node:fs');
        const file = ${JSON.stringify(dir)} + '/' + ui.appId + '.jsonl';
        while (!existsSync(file)) await new Promise((r) => setTimeout(r, 10));
        const batch = new TaskEventBatch();
        bus.hold(() => bus.emit({ type: 'taskBatch', tasks: batch }));
        batch.add(${JSON.stringify({ type: 'taskEnd', ...common, partition: 5, result: 'success', durationMs: 4, locality: 'ANY', time: 7 })});
        console.log(ui.appId);
        process.exit(0);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      const events = readEventLog(path.join(dir, `${out.trim()}.jsonl`));
      expect(events.map((e) => e.type)).toEqual(['applicationStart', 'jobStart', 'taskEnd']);
      expect(events[2]).toMatchObject({ partition: 5, durationMs: 4, result: 'success' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('startUi: the application id', () => {
  it("names the application as Spark does, app-YYYYMMDDHHMMSS-NNNN, from the start's UTC time, and apart within a second", async () => {
    const bus = new EventBus<SchedulerEvent>();
    const now = vi.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const uis = [startUi(bus, view('id-a'))!, startUi(bus, view('id-b'))!];
    now.mockRestore();
    try {
      const pid = String(process.pid % 10000).padStart(4, '0');
      expect(uis.map((u) => u.appId)).toEqual([expect.stringMatching(new RegExp(`^app-20260102030405-${pid}`)), `${uis[0]!.appId}-1`]);
    } finally {
      await Promise.all(uis.map((u) => u.stop()));
    }
  });
});
