/**
 * The local worker pool's part in a task's admission: a task sent to a worker with nothing of its own in flight
 * there is marked alone (no task is ahead of it, so the driver never moves it, and the worker starts it without
 * a look at its message queue); a task sent while another is in flight there is not.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TaskMessage } from '../../../src/exec/protocol.js';
import { rangeTask } from '../range-task.js';
import { oneWorkerPool } from './one-worker-pool.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-worker-pool-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A count of a range partition; each task id is a stage of its own. */
const countTask = (taskId: number, epoch: number, count: number): TaskMessage => rangeTask(taskId, count, { resultFn: { kind: 'count' }, epoch });

describe('WorkerPool', () => {
  it('marks a task alone when its worker has nothing else in flight, and not one sent behind another', async () => {
    const pool = oneWorkerPool(scratch);
    try {
      await pool.ready();
      const epoch = pool.epoch(0);
      const first = countTask(1, epoch, 1000);
      const second = countTask(2, epoch, 10);
      const outcomes = [pool.runTask(0, first), pool.runTask(0, second)];
      expect(first.alone).toBe(true);
      expect(second.alone).toBeUndefined();
      const done = await Promise.all(outcomes);
      expect(done.map((o) => o.status === 'success' && o.value)).toEqual([1000, 10]);
      // Both ended: the next task is alone again.
      const third = countTask(3, epoch, 5);
      const last = pool.runTask(0, third);
      expect(third.alone).toBe(true);
      expect((await last).status).toBe('success');
    } finally {
      await pool.stop();
    }
  });
});
