/**
 * An event log written before task batches became typed rows (main at 63774c7, session 21: a word count with a
 * shuffle, then a job whose task throws until it fails 4 times) still replays in the history server with the figures
 * it held, and the rows path writes its task-end blocks byte for byte as that writer did.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { get, type Json } from './http-helpers.js';
import { startHistoryServer } from '../../src/ui/history.js';
import { EventLogWriter, expandTaskEnds } from '../../src/ui/event-log.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/event-log-s21/app-20261205065836-5987.jsonl', import.meta.url));
const APP = 'app-20261205065836-5987';

describe('an event log written by an earlier kindling (session 21)', () => {
  it('replays in the history server: its application, jobs, stages, tasks and executors', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-fixture-'));
    try {
      copyFileSync(FIXTURE, path.join(dir, path.basename(FIXTURE)));
      const server = await startHistoryServer({ dir, port: 0 });
      try {
        const api = `${server.url}/api/v1/applications/${APP}`;
        const apps = (await get(`${server.url}/api/v1/applications`)) as Json[];
        expect(apps.map((a) => [a.id, a.name, (a.attempts as Json[])[0]!.completed])).toEqual([[APP, 'fixture', true]]);
        const jobs = (await get(`${api}/jobs`)) as Json[];
        const byId = new Map(jobs.map((j) => [j.jobId, j]));
        expect(byId.get(0)).toMatchObject({ status: 'SUCCEEDED', numTasks: 9, numCompletedTasks: 9, numFailedTasks: 0, stageIds: [0, 1] });
        expect(byId.get(1)).toMatchObject({ status: 'FAILED', numCompletedTasks: 3, numFailedTasks: 4, stageIds: [2] });
        const stages = (await get(`${api}/stages`)) as Json[];
        expect(stages.map((s) => [s.stageId, s.status, s.numCompleteTasks, s.numFailedTasks]).sort()).toEqual([
          [0, 'COMPLETE', 6, 0],
          [1, 'COMPLETE', 3, 0],
          [2, 'FAILED', 3, 4],
        ]);
        const tasks = (await get(`${api}/stages/0/0/taskList`)) as Json[];
        expect(tasks.map((t) => t.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
        expect(tasks.every((t) => t.status === 'SUCCESS' && (t.taskMetrics as Json).shuffleWriteMetrics !== undefined)).toBe(true);
        // The map stage wrote what the reduce stage read (the shuffle's records: 600 words, combined per task).
        const written = stages.find((s) => s.stageId === 0)!.shuffleWriteRecords as number;
        expect(written).toBeGreaterThan(0);
        expect(stages.find((s) => s.stageId === 1)!.shuffleReadRecords).toBe(written);
        const executors = (await get(`${api}/executors`)) as Json[];
        expect(executors.reduce((n, e) => n + (e.completedTasks as number), 0)).toBe(12);
        expect(executors.reduce((n, e) => n + (e.failedTasks as number), 0)).toBe(4);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has its task-end blocks written again byte for byte from the scheduler’s rows', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-fixture-'));
    try {
      const blocks = readFileSync(FIXTURE, 'utf8')
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('{"type":"taskEnds"'));
      expect(blocks).toHaveLength(3);
      const log = new EventLogWriter(dir, 'app-again');
      for (const [b, line] of blocks.entries()) {
        const batch = new TaskEventBatch();
        for (const e of expandTaskEnds(JSON.parse(line))) {
          batch.add({ ...e, type: 'taskStart', time: e.time - e.durationMs });
          batch.add(e);
        }
        log.writeTasks(batch);
        log.write({ type: 'stageCompleted', jobId: 0, stageId: b, attempt: 0, time: b, result: 'succeeded' });
      }
      await log.close();
      const again = readFileSync(log.file, 'utf8')
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('{"type":"taskEnds"'));
      // Byte for byte but for the task ids a writer has given since (session 35): one per start, in order.
      let next = 0;
      for (const line of again) for (const e of expandTaskEnds(JSON.parse(line)) as Array<{ taskId?: number }>) expect(e.taskId).toBe(next++);
      expect(again.map((l) => l.replace(/"taskId":\{"i32":"[^"]*"\},/, ''))).toEqual(blocks);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
