/**
 * The task scheduler's placement costs O(1) amortized per launched task, not O(pending tasks): a stage of T tasks is
 * then O(T) on the driver, where a look at every pending task per launch made SparkTC's last rounds O(T²).
 */
import { describe, expect, it } from 'vitest';
import { TaskScheduler, type TaskSet, type TaskSetListener, type TaskSpec } from '../../src/scheduler/task-scheduler.js';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent } from '../../src/scheduler/events.js';
import type { Stage } from '../../src/scheduler/stage.js';
import type { BackendListener, TaskBackend } from '../../src/exec/task-backend.js';
import type { TaskMessage, TaskOutcome } from '../../src/exec/protocol.js';
import { taskMetrics } from './helpers.js';

/** Two workers that run nothing: their tasks end when the test settles them. */
class HeldBackend implements Pick<TaskBackend, 'numWorkers' | 'setListener' | 'isAvailable' | 'epoch' | 'executorId' | 'runTask'> {
  readonly numWorkers = 2;
  readonly running: Array<{ worker: number; settle: (o: TaskOutcome) => void }> = [];
  setListener(_l: BackendListener): void {}
  isAvailable = (_worker: number): boolean => true;
  epoch = (): number => 0;
  executorId = (w: number): string => String(w);
  runTask(worker: number, _msg: TaskMessage): Promise<TaskOutcome> {
    return new Promise((settle) => this.running.push({ worker, settle }));
  }
}

const succeeded: TaskOutcome = {
  status: 'success',
  epoch: 0,
  value: undefined,
  accumulators: [],
  computedRdds: [],
  blockUpdates: [],
  metrics: taskMetrics({ durationMs: 1, runMs: 1 }),
};

describe('TaskScheduler placement', () => {
  it("launches a stage of 4,000 tasks, half preferring worker 0's cache, looking at each task's preference a bounded number of times", async () => {
    // A distinct over `cached.union(shuffled)` (SparkTC's rounds): the first half of the tasks read partitions cached on
    // worker 0, the second half a shuffle (no preference). Worker 1 never has a task preferring it: a scheduler that
    // looks through every pending task for one preferring the worker it places on reads ~T²/4 preferences.
    const n = 4000;
    let looks = 0;
    const tasks: TaskSpec[] = Array.from({ length: n }, (_, partition) => {
      const preferred = partition < n / 2 ? [0] : [];
      return {
        partition,
        outputIndex: partition,
        get preferredWorkers() {
          looks++;
          return preferred;
        },
      };
    });
    const backend = new HeldBackend();
    let done = 0;
    const listener: TaskSetListener = {
      taskSucceeded: () => void done++,
      fetchFailed: () => {},
      taskSetFailed: () => {},
      blockUpdates: () => {},
      workerLost: () => {},
      noWorkers: () => {},
    };
    let taskId = 0;
    const scheduler = new TaskScheduler(
      backend as unknown as TaskBackend,
      listener,
      (_ts, spec, attempt, w, epoch) => ({ taskId: taskId++, partition: spec.partition, attempt, workerIndex: w, epoch }) as unknown as TaskMessage,
      new EventBus<SchedulerEvent>(),
      { maxTaskFailures: 1, slotsPerWorker: 1, localityWaitMs: 0 },
    );
    try {
      const ts: TaskSet = { stage: { id: 0 } as unknown as Stage, stageAttempt: 0, jobId: 0, tasks };
      scheduler.submit(ts);
      // Each worker runs one task at a time: settle what runs, let the scheduler launch the next, until all are done.
      while (done < n) {
        const running = backend.running.splice(0);
        expect(running.length).toBeGreaterThan(0);
        for (const r of running) r.settle(succeeded);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      scheduler.stop();
    }
    expect(done).toBe(n);
    // A handful per launch (the task taken, the one worker 0 passes over): bounded per task, not per pending task.
    expect(looks).toBeLessThan(20 * n);
  });
});
