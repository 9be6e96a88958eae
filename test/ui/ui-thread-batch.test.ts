/**
 * The UI's thread reads every task batch the driver sends through one reused TaskEventBatch (`adopt`): whatever the
 * batches before it held (more rows, errors, key samples, records already made), a batch adopted reads exactly as a
 * fresh `fromWire` batch of the same rows, as a record and as a row.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskMetrics } from '../../src/exec/protocol.js';
import { TASK_ROW_CODES, TASK_ROW_WIDTH, type TaskEndEvent, type TaskStartEvent } from '../../src/scheduler/events.js';
import { TaskEventBatch, type TaskRowsWire } from '../../src/scheduler/task-event-batch.js';
import { SUMMARIZED_METRICS } from '../../src/scheduler/task-metrics.js';

/** FUZZ_RUNS widens the property's search, FUZZ_SEED replays it (printed). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

const task = {
  stageId: fc.nat(3),
  stageAttempt: fc.nat(1),
  partition: fc.nat(5000),
  attempt: fc.nat(2),
  workerIndex: fc.nat(3),
  executorId: fc.constantFrom('0', '1', '2', 'driver'),
  speculative: fc.boolean(),
  time: fc.nat(),
};
const taskStart = fc.record({ type: fc.constant('taskStart' as const), ...task }) as fc.Arbitrary<TaskStartEvent>;
const taskEnd = fc.record({
  type: fc.constant('taskEnd' as const),
  ...task,
  result: fc.constantFrom('success' as const, 'failed' as const, 'killed' as const),
  error: fc.option(fc.constantFrom('boom', 'lost'), { nil: undefined, freq: 3 }),
  durationMs: fc.nat(1000),
  metrics: fc.option(
    fc.record({
      ...Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, fc.nat(100)])),
      keySample: fc.option(fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }), { nil: undefined, freq: 3 }),
    }) as fc.Arbitrary<TaskMetrics>,
    { nil: undefined },
  ),
  locality: fc.constantFrom('PROCESS_LOCAL' as const, 'ANY' as const, 'NO_PREF' as const),
}) as fc.Arbitrary<TaskEndEvent>;

/** A batch of these events as the driver posts it (structured-cloned, its columns moved). */
function wireOf(events: ReadonlyArray<TaskStartEvent | TaskEndEvent>): TaskRowsWire {
  const b = new TaskEventBatch();
  for (const e of events) b.add(e);
  const w = b.toWire();
  return structuredClone(w, { transfer: [w.numbers.buffer, w.codes.buffer, w.idOf.buffer] });
}

describe('the UI thread reusing one task batch', () => {
  it(`reads each batch it adopts as a fresh batch of the same rows, whatever it held before (property, seed ${SEED})`, () => {
    console.log(`ui-thread-batch: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.oneof(taskStart, taskEnd), { maxLength: 300 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (batches, readAll) => {
          const reused = new TaskEventBatch();
          for (const events of batches) {
            const wire = wireOf(events);
            const got = reused.adopt(wire);
            const fresh = TaskEventBatch.fromWire(wireOf(events));
            expect(got.size).toBe(events.length);
            const rows = got.rows!;
            const want = fresh.rows!;
            expect([...rows.numbers.subarray(0, events.length * TASK_ROW_WIDTH)]).toEqual([...want.numbers]);
            expect([...rows.codes.subarray(0, events.length * TASK_ROW_CODES)]).toEqual([...want.codes]);
            for (let i = 0; i < events.length; i++) {
              expect(rows.executorIds[i]).toBe(want.executorIds[i]);
              expect(rows.errors[i]).toBe(want.errors[i]);
              expect(rows.keySamples[i]).toEqual(want.keySamples[i]);
              expect(rows.metrics[i]).toBeUndefined();
              // Records made of the batch before (read or not) are made again from this one's rows.
              if (readAll || i % 2 === 0) expect({ ...got.event(i) }).toEqual({ ...fresh.event(i) });
            }
            // The rows go on to another thread again as they came (a batch adopted is a batch like any other).
            const again = got.toWire();
            expect(again.errors).toEqual(wire.errors);
            expect(again.keySamples).toEqual(wire.keySamples);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('takes rows after it adopted: the batch grows from the adopted rows on', () => {
    const first = wireOf([
      { type: 'taskStart', stageId: 1, stageAttempt: 0, partition: 7, attempt: 0, workerIndex: 1, executorId: '1', speculative: false, time: 5 },
    ]);
    const batch = new TaskEventBatch();
    // A bigger batch first: its flags and arrays are longer than the next one's rows.
    batch.adopt(
      wireOf(
        Array.from({ length: 100 }, (_, p) => ({
          type: 'taskStart' as const,
          stageId: 0,
          stageAttempt: 0,
          partition: p,
          attempt: 0,
          workerIndex: 0,
          executorId: '0',
          speculative: false,
          time: p,
        })),
      ),
    );
    batch.adopt(first);
    for (let p = 0; p < 70; p++) batch.start(2, 0, p, 0, 0, '0', false, 100 + p);
    expect(batch.size).toBe(71);
    expect(batch.event(0)).toMatchObject({ type: 'taskStart', stageId: 1, partition: 7, executorId: '1', time: 5 });
    expect(batch.event(70)).toMatchObject({ type: 'taskStart', stageId: 2, partition: 69, executorId: '0', time: 169 });
  });
});
