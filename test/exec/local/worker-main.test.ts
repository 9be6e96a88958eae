/**
 * The worker thread's entry (src/exec/local/worker-main.ts): a task that ended is reported to the driver before
 * any later task of that thread runs its user code. A later task that holds the thread (a busy loop, a long
 * synchronous computation) must not hold back the outcome of one that finished before it: listeners, the
 * progress bar, countApprox and the job's own result would otherwise see it only once the thread is free again.
 * The hold happened only when both tasks went on in one turn of the thread, which the message's timing decides;
 * test/exec/executor.test.ts pins the executor's part of it down without threads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ShippedFunction } from '../../../src/closure/index.js';
import type { TaskMessage } from '../../../src/exec/protocol.js';
import { rangeTask } from '../range-task.js';
import { oneWorkerPool } from './one-worker-pool.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-worker-main-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** How long the spec waits to see the first task's outcome (far longer than its report takes, even at load 20+). */
const SEE_WITHIN_MS = 20_000;
const ROUNDS = 4;

/**
 * A task over range(0, 4) whose foreach holds its thread (never yielding to the event loop) until the shared flag
 * is set, giving up after a minute so that a failing run frees its worker.
 */
function blockingTask(taskId: number, epoch: number, flag: Int32Array): TaskMessage {
  // Shipped as source text: the function runs only on the worker (the transform of this file would change it).
  const fn: ShippedFunction = {
    name: 'blocking foreach',
    src: `(_x) => {
      const until = Date.now() + 60000;
      while (Atomics.load(flag, 0) === 0 && Date.now() < until) Atomics.wait(flag, 0, 0, 20);
    }`,
    env: { flag: { t: 'value', v: flag } },
  };
  return rangeTask(taskId, 1, { resultFn: { kind: 'foreach', fn }, epoch });
}

describe('worker-main', () => {
  it("posts a task's outcome before a task sent with it starts computing, though that one then holds the thread", async () => {
    const pool = oneWorkerPool(scratch);
    const flags: Int32Array[] = [];
    try {
      await pool.ready();
      const epoch = pool.epoch(0);
      // The hold needs both tasks to go on in one turn of the thread, which the message's timing decides (below):
      // a few rounds make that likely on a loaded machine too.
      for (let round = 0; round < ROUNDS; round++) {
        const id = 10 * round;
        // Two tasks sent together: the second looks at the thread's message queue before it starts (not alone).
        await Promise.all([pool.runTask(0, rangeTask(id + 1, 10, { epoch })), pool.runTask(0, rangeTask(id + 2, 10, { epoch }))]);
        // Sent right after, in one message: arriving within QUEUE_LOOK_MS of that look, neither looks again and
        // both go on in the same turn of the thread, the first ending as the second starts computing.
        const flag = new Int32Array(new SharedArrayBuffer(4));
        flags.push(flag);
        const quick = pool.runTask(0, rangeTask(id + 3, 10, { epoch }));
        const blocking = pool.runTask(0, blockingTask(id + 4, epoch, flag));
        let timer: NodeJS.Timeout | undefined;
        const first = await Promise.race([quick, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SEE_WITHIN_MS)))]);
        clearTimeout(timer);
        // Freed only now: the blocked task cannot end before the spec has looked for the first one's outcome.
        const blockedStill = Atomics.load(flag, 0) === 0;
        Atomics.store(flag, 0, 1);
        expect({ round, value: first?.status === 'success' && first.value }).toEqual({ round, value: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
        expect(blockedStill).toBe(true);
        expect((await blocking).status).toBe('success');
      }
    } finally {
      for (const flag of flags) Atomics.store(flag, 0, 1);
      await pool.stop();
    }
  }, 120_000);
});
