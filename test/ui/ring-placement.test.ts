/**
 * The scheduler's task rows written straight into the live UI's ring (TaskEventBatch.placeRows, live-ui.ts's `place`):
 * whatever the order in which the scheduler's two batches fill and are delivered, the UI's thread folds every row once,
 * in the bus's order, as a status store fed the same events directly does.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent, TaskEndEvent, TaskStartEvent } from '../../src/scheduler/events.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import { startUi } from '../../src/ui/index.js';
import { restAnswer } from '../../src/ui/rest.js';
import { StatusStore } from '../../src/ui/status-store.js';
import type { AppEvent } from '../../src/ui/app-events.js';

/** FUZZ_RUNS widens the property's search, FUZZ_SEED replays it (printed). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

const view = {
  appName: 'placement',
  numWorkers: 2,
  storageBytesPerWorker: 1,
  options: {},
  ui: { port: 0, host: '127.0.0.1', killEnabled: false, retainedJobs: 10, retainedStages: 10 },
  eventLog: false as const,
};

function taskEvents(tasks: number, failEvery: number): Array<TaskStartEvent | TaskEndEvent> {
  const out: Array<TaskStartEvent | TaskEndEvent> = [];
  // Starts run ahead of ends by up to 300 tasks, as a scheduler with queued tasks sends them.
  for (let p = 0, ended = 0; ended < tasks; ) {
    if (p < tasks && p - ended < 300) {
      const w = p % 2;
      out.push({
        type: 'taskStart',
        stageId: 0,
        stageAttempt: 0,
        partition: p,
        attempt: 0,
        workerIndex: w,
        executorId: String(w),
        speculative: false,
        time: 10 + p,
      });
      p++;
    } else {
      const w = ended % 2;
      const failed = failEvery > 0 && ended % failEvery === 0;
      out.push({
        type: 'taskEnd',
        stageId: 0,
        stageAttempt: 0,
        partition: ended,
        attempt: 0,
        workerIndex: w,
        executorId: String(w),
        speculative: false,
        result: failed ? 'failed' : 'success',
        error: failed ? `boom ${ended}` : undefined,
        durationMs: (ended % 7) + 0.5,
        metrics: undefined,
        locality: 'NO_PREF',
        time: 20 + ended,
      });
      ended++;
    }
  }
  return out;
}

describe("the scheduler's task rows written into the UI's ring", () => {
  it(`are folded once each, in order, however the two batches fill and are delivered (property, seed ${SEED})`, async () => {
    console.log(`ring-placement: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5000 }),
        fc.nat(40),
        // Rows per batch the scheduler delivers (some past the rows the ring lends, 512), and rows a listener before the
        // UI's adds to the next batch while one is delivered (a launch during the delivery).
        fc.array(fc.tuple(fc.integer({ min: 1, max: 700 }), fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }))), {
          minLength: 1,
          maxLength: 60,
        }),
        async (tasks, failEvery, cuts) => {
          const events = taskEvents(tasks, failEvery);
          const bus = new EventBus<SchedulerEvent>();
          const reference = new StatusStore();
          // As the task scheduler: two batches in turn, the full one delivered and cleared, rows added to the other.
          let batch = new TaskEventBatch();
          let spare = new TaskEventBatch();
          let next = 0;
          const add = (rows: number) => {
            for (let k = 0; k < rows && next < events.length; k++) {
              if (batch.size === 0) bus.hold(deliver);
              const e = events[next++]!;
              batch.add(e);
              reference.apply(e as AppEvent);
            }
          };
          let meddle = 0;
          const deliver = () => {
            const full = batch;
            if (full.size === 0) return;
            batch = spare;
            spare = full;
            try {
              bus.emit({ type: 'taskBatch', tasks: full });
            } finally {
              full.clear();
            }
          };
          bus.on('taskBatch', () => {
            const rows = meddle;
            meddle = 0;
            add(rows);
          });
          const ui = startUi(bus, view)!;
          try {
            const url = await ui.url();
            const api = `${url}/api/v1/applications/${ui.appId}`;
            // The live UI (and its ring) loads on the first request.
            await fetch(`${api}/jobs`);
            const other: SchedulerEvent[] = [
              { type: 'jobStart', jobId: 0, time: 1, description: 'count', stageIds: [0] } as SchedulerEvent,
              { type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 'count', numTasks: tasks, numPartitions: tasks, time: 1 },
            ];
            for (const e of other) {
              bus.emit(e);
              reference.apply(e as AppEvent);
            }
            for (let c = 0; next < events.length; c++) {
              const [rows, meddled] = cuts[c % cuts.length]!;
              add(rows);
              meddle = meddled;
              bus.flushHeld();
            }
            bus.flushHeld();
            const query = `length=${tasks + 10}&sortBy=ID`;
            const got = (await (await fetch(`${api}/stages/0/0/taskList?${query}`)).json()) as unknown;
            const want = JSON.parse(
              restAnswer(new Map([[ui.appId, reference]]), `applications/${ui.appId}/stages/0/0/taskList`, `?${query}`).body,
            ) as unknown;
            expect(got).toEqual(want);
            const stage = (await (await fetch(`${api}/stages/0/0`)).json()) as Record<string, unknown>;
            expect([stage.numCompleteTasks, stage.numFailedTasks, stage.numActiveTasks]).toEqual([
              tasks - (failEvery > 0 ? Math.ceil(tasks / failEvery) : 0),
              failEvery > 0 ? Math.ceil(tasks / failEvery) : 0,
              0,
            ]);
          } finally {
            await ui.stop();
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  }, 120_000);
});
