/**
 * The event log written from the scheduler's rows (`writeTasks`, a batch's task ends taken column by column) is the
 * very file the same events written one by one (`write`) make: byte for byte, whatever the values (-0, NaN, fractions,
 * a column that varies in one row only) and wherever the batches are cut, across blocks of FLUSH_TASKS ends.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventLogWriter } from '../../src/ui/event-log.js';
import type { TaskMetrics } from '../../src/exec/protocol.js';
import { SUMMARIZED_METRICS } from '../../src/scheduler/task-metrics.js';
import type { TaskEndEvent, TaskStartEvent } from '../../src/scheduler/events.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';

/** FUZZ_RUNS widens the property's search, FUZZ_SEED replays it (printed). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

const value = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom(-0, Number.NaN, 0.5, 1, 2 ** 31, 1e15 + 0.25, -3) },
  { weight: 1, arbitrary: fc.double({ min: -1e6, max: 1e6 }) },
);
const metrics = fc.record(Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, value]))) as unknown as fc.Arbitrary<TaskMetrics>;
const template = fc.record({
  stageId: fc.nat(3),
  stageAttempt: fc.nat(1),
  attempt: fc.nat(2),
  workerIndex: fc.nat(3),
  speculative: fc.boolean(),
  result: fc.constantFrom('success' as const, 'failed' as const, 'killed' as const),
  error: fc.option(fc.constantFrom('boom', 'lost'), { nil: undefined }),
  durationMs: value,
  metrics: fc.option(metrics, { nil: undefined }),
  locality: fc.constantFrom('PROCESS_LOCAL' as const, 'ANY' as const, 'NO_PREF' as const),
  time: fc.constantFrom(1_700_000_000_000, 1_700_000_000_000.5, 12),
});
/** A run of task ends from one template, a few of them changed in one field. */
const run = fc
  .tuple(
    template,
    fc.integer({ min: 1, max: 300 }),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('durationMs', 'time', 'workerIndex', 'runMs', 'gcMs', 'metrics', 'result'), value), { maxLength: 4 }),
  )
  .map(([t, n, changes]) => {
    const ends: TaskEndEvent[] = Array.from({ length: n }, (_, p) => ({
      type: 'taskEnd',
      ...t,
      partition: p,
      executorId: String(t.workerIndex),
    }));
    for (const [at, field, v] of changes) {
      const i = at % n;
      const e = ends[i]!;
      if (field === 'runMs' || field === 'gcMs') ends[i] = { ...e, metrics: { ...(e.metrics ?? ({} as TaskMetrics)), [field]: v } as TaskMetrics };
      else if (field === 'metrics') ends[i] = { ...e, metrics: undefined };
      else if (field === 'result') ends[i] = { ...e, result: e.result === 'success' ? 'failed' : 'success' };
      else if (field === 'workerIndex') ends[i] = { ...e, workerIndex: Math.abs(v) % 4 || 0, executorId: String(Math.abs(v) % 4 || 0) };
      else ends[i] = { ...e, [field]: v };
    }
    return ends;
  });

describe("the event log from the scheduler's rows", () => {
  it(`writes the very bytes the same events written one by one make (property, seed ${SEED})`, async () => {
    console.log(`event-log-rows: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-evlog-rows-bytes-'));
    try {
      let app = 0;
      await fc.assert(
        fc.asyncProperty(
          // Some runs are repeated past a block (FLUSH_TASKS, 4,096 ends), whose flush comes in the middle of a batch.
          fc.array(fc.tuple(run, fc.constantFrom(1, 1, 1, 40)), { minLength: 1, maxLength: 4 }),
          fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
          async (runs, cuts) => {
            const byEvent = new EventLogWriter(dir, `by-event-${app}`);
            const byRows = new EventLogWriter(dir, `by-rows-${app++}`);
            const batch = new TaskEventBatch();
            let c = 0;
            let inBatch = 0;
            let stage = 0;
            for (const [ends, times] of runs) {
              // Another event between runs: a block ends there. Not a job's end, whose flush would leave a write in
              // flight (this test never yields to it), which holds every later block together past FLUSH_TASKS.
              const other = {
                type: 'stageSubmitted' as const,
                jobId: 0,
                stageId: stage++,
                attempt: 0,
                name: 's',
                numTasks: 1,
                numPartitions: 1,
                time: 5,
              };
              byEvent.write(other);
              byRows.writeTasks(batch);
              batch.clear();
              byRows.write(other);
              for (let r = 0; r < times; r++)
                for (const e of ends) {
                  const start: TaskStartEvent = { ...e, type: 'taskStart', time: 1 };
                  for (const x of [start, e]) {
                    byEvent.write(x);
                    batch.add(x);
                    if (++inBatch >= cuts[c % cuts.length]!) {
                      byRows.writeTasks(batch);
                      batch.clear();
                      inBatch = 0;
                      c++;
                    }
                  }
                }
            }
            byRows.writeTasks(batch);
            batch.clear();
            await Promise.all([byEvent.close(), byRows.close()]);
            const want = readFileSync(byEvent.file);
            expect(readFileSync(byRows.file).equals(want)).toBe(true);
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
