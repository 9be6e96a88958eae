/**
 * The scheduler's task batch: events written as typed rows (as #emitStart / #emitEnd write them, while the outcome is
 * hot) read back as the very events, by record and by row, batch after batch in the same reused memory.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import {
  TASK_ROW_CODES,
  TASK_ROW_FLAG,
  TASK_ROW_METRICS,
  TASK_ROW_WIDTH,
  type TaskEndEvent,
  type TaskStartEvent,
} from '../../src/scheduler/events.js';
import { SUMMARIZED_METRICS } from '../../src/scheduler/task-metrics.js';
import type { TaskMetrics } from '../../src/exec/protocol.js';

const number = fc.oneof(
  fc.constantFrom(0, -0, 1, 0.5, 2 ** 31, 2 ** 53 - 1, Number.NaN, Number.POSITIVE_INFINITY),
  fc.integer({ min: 0, max: 2 ** 40 }),
  fc.double({ min: -1e9, max: 1e9 }),
);
const metrics = fc.record({
  ...Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, number])),
  keySample: fc.option(fc.array(fc.string(), { maxLength: 3 }), { nil: undefined }),
}) as fc.Arbitrary<TaskMetrics>;
const common = {
  stageId: fc.nat(5),
  stageAttempt: fc.nat(2),
  partition: fc.nat(100_000),
  attempt: fc.nat(3),
  workerIndex: fc.nat(7),
  executorId: fc.string({ maxLength: 4 }),
  speculative: fc.boolean(),
  time: number,
};
const start = fc.record({ type: fc.constant('taskStart' as const), ...common }) as fc.Arbitrary<TaskStartEvent>;
const end = fc.record({
  type: fc.constant('taskEnd' as const),
  ...common,
  result: fc.constantFrom('success' as const, 'failed' as const, 'killed' as const),
  error: fc.option(fc.string(), { nil: undefined }),
  durationMs: number,
  metrics: fc.option(metrics, { nil: undefined }),
  locality: fc.constantFrom('PROCESS_LOCAL' as const, 'ANY' as const, 'NO_PREF' as const),
}) as fc.Arbitrary<TaskEndEvent>;

describe('TaskEventBatch', () => {
  it('gives back every event as it was added, as a record and as a row, batch after batch (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(start, end), { maxLength: 150 }), { minLength: 1, maxLength: 4 }), (batches) => {
        const batch = new TaskEventBatch();
        for (const events of batches) {
          for (const e of events) batch.add(e);
          expect(batch.size).toBe(events.length);
          const rows = batch.rows!;
          expect(rows).toBeDefined();
          events.forEach((e, i) => {
            const o = i * TASK_ROW_WIDTH;
            const c = i * TASK_ROW_CODES;
            const got = batch.event(i);
            if (e.type === 'taskStart') {
              expect(got).toEqual(e);
              expect(rows.codes[c]).toBe(0);
            } else {
              // The record is the event, field by field (the worker's metrics object itself, not a copy).
              expect({ ...got }).toEqual({ ...e });
              expect((got as TaskEndEvent).metrics).toBe(e.metrics);
              expect(rows.codes[c]).toBe(1);
              expect(rows.codes[c + 2]).toBe(['success', 'failed', 'killed'].indexOf(e.result));
              expect(rows.codes[c + 3]).toBe(['PROCESS_LOCAL', 'ANY', 'NO_PREF'].indexOf(e.locality));
              expect(rows.errors[i]).toBe(e.error);
              expect(Object.is(rows.numbers[o + 5], e.durationMs)).toBe(true);
              expect(rows.numbers[o + TASK_ROW_FLAG]).toBe(e.metrics === undefined ? 0 : 1);
              SUMMARIZED_METRICS.forEach((k, j) =>
                expect(Object.is(rows.numbers[o + TASK_ROW_METRICS + j], e.metrics === undefined ? 0 : e.metrics[k])).toBe(true),
              );
            }
            expect([rows.numbers[o], rows.numbers[o + 1], rows.numbers[o + 2], rows.numbers[o + 3], rows.numbers[o + 4]]).toEqual([
              e.stageId,
              e.stageAttempt,
              e.partition,
              e.attempt,
              e.workerIndex,
            ]);
            expect(Object.is(rows.numbers[o + 6], e.time)).toBe(true);
            expect(rows.codes[c + 1]).toBe(e.speculative ? 1 : 0);
            expect(rows.executorIds[i]).toBe(e.executorId);
          });
          batch.clear();
          // What the batch held of the worker's is let go with it.
          expect(rows.metrics.every((m) => m === undefined)).toBe(true);
          expect(rows.errors.every((m) => m === undefined)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('goes to another thread as plain data and reads back there as the same rows and events, metrics objects aside (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(start, end), { minLength: 1, maxLength: 150 }), { minLength: 1, maxLength: 3 }), (batches) => {
        const batch = new TaskEventBatch();
        for (const events of batches) {
          for (const e of events) batch.add(e);
          const wire = batch.toWire();
          // What postMessage does to it, its typed columns moved rather than copied.
          const sent = structuredClone(wire, { transfer: [wire.numbers.buffer, wire.codes.buffer, wire.idOf.buffer] });
          expect(new Set(sent.ids).size).toBe(sent.ids.length);
          const got = TaskEventBatch.fromWire(sent);
          const rows = got.rows!;
          expect(got.size).toBe(events.length);
          expect(Buffer.from(rows.numbers.buffer).equals(Buffer.from(batch.numbers.buffer, 0, events.length * TASK_ROW_WIDTH * 8))).toBe(true);
          expect([...rows.codes]).toEqual([...batch.codes.subarray(0, events.length * TASK_ROW_CODES)]);
          // A column no end of the batch needs is not sent.
          expect(sent.errors === undefined).toBe(events.every((e) => e.type === 'taskStart' || e.error === undefined));
          expect(sent.keySamples === undefined).toBe(events.every((e) => e.type === 'taskStart' || e.metrics?.keySample === undefined));
          events.forEach((e, i) => {
            expect(rows.executorIds[i]).toBe(e.executorId);
            if (e.type === 'taskStart') return void expect(got.event(i)).toEqual(e);
            expect(rows.errors[i]).toBe(e.error);
            expect(rows.keySamples[i]).toEqual(e.metrics?.keySample);
            expect({ ...got.event(i) }).toEqual({ ...e, metrics: undefined });
          });
          batch.clear();
        }
      }),
      { numRuns: 50 },
    );
  });

  it("carries each end's key sample in its row, taken when the row is written, none for a start or an end without metrics (property)", () => {
    // The store and the log read a key sample a batch after the row was written: from the row, not from the worker's
    // metrics object, which by then is out of the processor's caches (a miss per task on the driver's thread).
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(start, end), { maxLength: 80 }), { minLength: 1, maxLength: 3 }), (batches) => {
        const batch = new TaskEventBatch();
        for (const events of batches) {
          const samples = events.map((e) => (e.type === 'taskEnd' ? e.metrics?.keySample : undefined));
          for (const e of events) {
            // A copy of the worker's object, so that changing it afterwards shows whether the row read it later.
            batch.add(e.type === 'taskEnd' && e.metrics !== undefined ? { ...e, metrics: { ...e.metrics } } : e);
          }
          for (let i = 0; i < events.length; i++) {
            const m = batch.rows!.metrics[i] as { keySample?: readonly string[] } | undefined;
            if (m !== undefined) m.keySample = ['changed after the row was written'];
          }
          events.forEach((_, i) => expect(batch.rows!.keySamples[i]).toBe(samples[i]));
          const rows = batch.rows!;
          batch.clear();
          expect(rows.keySamples.every((k) => k === undefined)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('has no rows while it holds a record filled by hand, and rows again once cleared', () => {
    const batch = new TaskEventBatch();
    batch.add({
      type: 'taskStart',
      stageId: 1,
      stageAttempt: 0,
      partition: 2,
      attempt: 0,
      workerIndex: 0,
      executorId: '1',
      speculative: false,
      time: 5,
    });
    expect(batch.rows).toBeDefined();
    Object.assign(batch.nextEnd(), { stageId: 1, partition: 2, result: 'success', durationMs: 3, time: 8 });
    expect(batch.rows).toBeUndefined();
    expect(batch.event(0)).toMatchObject({ type: 'taskStart', partition: 2, time: 5 });
    expect(batch.event(1)).toMatchObject({ type: 'taskEnd', partition: 2, durationMs: 3, time: 8 });
    batch.clear();
    expect(batch.size).toBe(0);
    expect(batch.rows).toBeDefined();
  });
});
