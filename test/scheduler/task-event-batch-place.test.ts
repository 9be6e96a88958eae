/**
 * TaskEventBatch.placeRows: a batch writes its rows into memory a reader lends (the live UI's ring) from each first row
 * on, up to the rows lent, and reads back exactly as a batch of its own columns; nothing outside the lent rows is
 * written.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import { TASK_ROW_CODES, TASK_ROW_FLAG, TASK_ROW_WIDTH, type TaskEndEvent, type TaskStartEvent } from '../../src/scheduler/events.js';

/** FUZZ_RUNS widens the property's search, FUZZ_SEED replays it (printed). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

const RING = 400;
const common = {
  stageId: fc.nat(5),
  stageAttempt: fc.nat(2),
  partition: fc.nat(100_000),
  attempt: fc.nat(3),
  workerIndex: fc.nat(3),
  executorId: fc.constantFrom('0', '1', 'exec-2'),
  speculative: fc.boolean(),
  time: fc.double({ min: 0, max: 1e13, noNaN: true }),
};
const start = fc.record({ type: fc.constant('taskStart' as const), ...common }) as fc.Arbitrary<TaskStartEvent>;
const end = fc.record({
  type: fc.constant('taskEnd' as const),
  ...common,
  result: fc.constantFrom('success' as const, 'failed' as const, 'killed' as const),
  error: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
  durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
  metrics: fc.constant(undefined),
  locality: fc.constantFrom('PROCESS_LOCAL' as const, 'ANY' as const, 'NO_PREF' as const),
}) as fc.Arbitrary<TaskEndEvent>;
/** A fill: its events, and the memory lent at its first row (rows from `at`), or none. */
const fill = fc.record({
  events: fc.array(fc.oneof(start, end), { minLength: 1, maxLength: 200 }),
  lend: fc.option(fc.record({ at: fc.nat(RING - 1), rows: fc.nat(150) }), { nil: undefined }),
});

describe('TaskEventBatch.placeRows', () => {
  it(`writes each fill's rows into the memory lent at its first row, up to the rows lent, and reads back as its own rows (property, seed ${SEED})`, () => {
    console.log(`task-event-batch-place: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    fc.assert(
      fc.property(fc.array(fill, { minLength: 1, maxLength: 6 }), (fills) => {
        const numbers = new Float64Array(RING * TASK_ROW_WIDTH);
        const codes = new Uint8Array(RING * TASK_ROW_CODES);
        const ring = { numbers, codes, idOf: new Uint32Array(RING) };
        const batch = new TaskEventBatch();
        let lend: (typeof fills)[number]['lend'];
        let asked = 0;
        batch.placeRows(() => {
          asked++;
          if (lend === undefined) return undefined;
          const rows = Math.min(lend.rows, RING - lend.at);
          return {
            numbers: numbers.subarray(lend.at * TASK_ROW_WIDTH, (lend.at + rows) * TASK_ROW_WIDTH),
            codes: codes.subarray(lend.at * TASK_ROW_CODES, (lend.at + rows) * TASK_ROW_CODES),
          };
        });
        for (const f of fills) {
          lend = f.lend;
          numbers.fill(-7);
          codes.fill(77);
          asked = 0;
          const own = new TaskEventBatch();
          for (const e of f.events) {
            batch.add(e);
            own.add(e);
          }
          // Asked once, at the fill's first row.
          expect(asked).toBe(1);
          const lentRows = lend === undefined ? 0 : Math.min(lend.rows, RING - lend.at);
          const inPlace = lend !== undefined && f.events.length <= lentRows;
          expect(batch.rowsAt(ring, lend?.at ?? 0)).toBe(inPlace);
          const mine = batch.toWire();
          const theirs = own.toWire();
          expect({ ...mine, numbers: undefined }).toEqual({ ...theirs, numbers: undefined });
          f.events.forEach((e, i) => {
            // A start's row has no metrics: their fields are whatever the memory held.
            const width = e.type === 'taskStart' ? TASK_ROW_FLAG + 1 : TASK_ROW_WIDTH;
            const row = (w: typeof mine) => [...w.numbers.subarray(i * TASK_ROW_WIDTH, i * TASK_ROW_WIDTH + width)];
            expect(row(mine)).toEqual(row(theirs));
          });
          f.events.forEach((_, i) => expect({ ...batch.event(i) }).toEqual({ ...own.event(i) }));
          // Outside the rows lent, nothing written; inside, the rows up to where they moved to the batch's own.
          const from = lend?.at ?? RING;
          const written = inPlace ? f.events.length : Math.min(lentRows, f.events.length);
          const touched: number[] = [];
          numbers.forEach((v, k) => {
            if ((k < from * TASK_ROW_WIDTH || k >= (from + written) * TASK_ROW_WIDTH) && v !== -7) touched.push(k);
          });
          codes.forEach((v, k) => {
            if ((k < from * TASK_ROW_CODES || k >= (from + lentRows) * TASK_ROW_CODES) && v !== 77) touched.push(-k);
          });
          expect(touched).toEqual([]);
          if (inPlace) {
            // The rows are the lent memory itself; copying them where they are is a no-op that gives the same extras.
            expect(batch.numbers.buffer).toBe(numbers.buffer);
            const extras = batch.copyRows(ring, from);
            expect(extras.ids).toEqual(theirs.ids);
            expect(ring.idOf.subarray(from, from + written)).toEqual(theirs.idOf);
            f.events.forEach((e, i) => expect(codes[(from + i) * TASK_ROW_CODES]).toBe(e.type === 'taskStart' ? 0 : 1));
          }
          batch.clear();
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
