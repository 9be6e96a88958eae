/**
 * A stage resubmitted after a fetch failure does not start a second copy of a partition an earlier attempt still
 * computes: it waits for that copy (whose result counts when it ends) and runs the partition only if the copy fails.
 * A kindling worker serves its map outputs from the thread that computes its task, so a copy stuck in a loop makes
 * every fetch from its worker fail; when each new attempt started the partition again, each loop took one more
 * worker, until every worker looped and no job could fail, end or let another job run (the livelock of
 * random-job-failure's FUZZ_SEED=84100). A copy that cannot count (queued behind another task, or of an attempt whose
 * output a rollback discards) is killed instead, as a cancelled job's task is.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortError, capture, type Context, JobFailedError, type SchedulerEvent, useModule } from 'kindling';
import type { TaskEndEvent, TaskStartEvent } from '../../src/scheduler/events.js';
import { record, rejection, runsOnWorkersAtOnce, unended, useContexts, waitFor } from './helpers.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-superseded-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = useContexts({ ui: false, hints: false });

/** A fetch from a stuck worker gives up after this. */
const FETCH_TIMEOUT_MS = 500;

/** How many copies of `partition` of stage `stageId` run at once, at most, as the events tell (kept up to date). */
function copiesOf(sc: Context): { stageId: number | undefined; partition: number; max: number; now: number } {
  const watch = { stageId: undefined as number | undefined, partition: 0, max: 0, now: 0 };
  sc.events.onAny((e) => {
    if (watch.stageId === undefined) return;
    if ((e.type === 'taskStart' || e.type === 'taskEnd') && e.stageId === watch.stageId && e.partition === watch.partition) {
      watch.now += e.type === 'taskStart' ? 1 : -1;
      watch.max = Math.max(watch.max, watch.now);
    }
  });
  return watch;
}

/**
 * A shuffle of 3 map partitions (each naps, so they spread over the 3 workers and every worker holds an output every
 * reducer reads) and a reduce side of 3 partitions: partition 0 loops for ever (once `dir/looping` is written);
 * partition 1 throws once the loop has started, the first time only, so that its retry fetches from the looping
 * worker (a task asks its peers at its start: those that started with the loop were answered) and fails to: the
 * stages are resubmitted; partition 2 returns its rows, or with `fails`, throws every time once the test has written
 * `dir/resubmitted`.
 */
function shuffleWithStuckReducer(sc: Context, dir: string, fails: boolean) {
  const fs = useModule('node:fs');
  const pairs = Array.from({ length: 30 }, (_, i): [number, number] => [i, i]);
  return sc
    .parallelize(pairs, 3)
    .mapPartitions(
      capture({}, (it: Iterable<[number, number]>) => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        return [...it];
      }),
    )
    .reduceByKey((a, b) => a + b, 3)
    .mapPartitionsWithIndex(
      capture({ fs, dir, fails }, (i: number, it: Iterable<[number, number]>) => {
        const nap = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
        const waitFor = (file: string) => {
          const until = Date.now() + 20_000;
          while (!fs.existsSync(`${dir}/${file}`) && Date.now() < until) nap(5);
        };
        if (i === 0) {
          fs.writeFileSync(`${dir}/looping`, 'x');
          while (true);
        }
        waitFor('looping');
        if (i === 1 && !fs.existsSync(`${dir}/flaked`)) {
          fs.writeFileSync(`${dir}/flaked`, 'x');
          throw new Error('flaky at 1');
        }
        if (i === 2 && fails) {
          waitFor('resubmitted');
          throw new Error('boom at 2');
        }
        return [...it];
      }),
    );
}

const resultStageOf = (events: SchedulerEvent[], group: string): number => {
  const start = events.find((e): e is Extract<SchedulerEvent, { type: 'jobStart' }> => e.type === 'jobStart' && e.jobGroup === group)!;
  return Math.max(...start.stageIds);
};

describe('a resubmitted stage and the copies its earlier attempts still compute (local[3])', () => {
  it('a partition stuck in a loop runs on one worker however often fetch failures resubmit its stage: the other workers run other jobs, and cancelling its job frees its worker', async () => {
    const sc = context({ master: 'local[3]', fetchTimeoutMs: FETCH_TIMEOUT_MS, localityWaitMs: 100, maxTaskFailures: 3 });
    const events = record(sc);
    const copies = copiesOf(sc);
    const rdd = shuffleWithStuckReducer(sc, mkdtempSync(path.join(scratch, 'stuck-')), false);
    const job = rejection(sc.withJobGroup('stuck', () => rdd.collect()));
    await waitFor('the job starts', () => events.some((e) => e.type === 'jobStart'));
    copies.stageId = resultStageOf(events, 'stuck');
    // Partition 1's retry fetches from the looping worker, times out, and the stages are resubmitted; the resubmitted
    // reduce stage's other partitions then succeed (reading outputs computed again elsewhere).
    await waitFor('a fetch failure resubmits the reduce stage', () =>
      events.some((e) => e.type === 'stageResubmitted' && e.stageId === copies.stageId),
    );
    const later = (e: SchedulerEvent): e is TaskEndEvent =>
      e.type === 'taskEnd' && e.stageId === copies.stageId && e.stageAttempt > 0 && e.result === 'success';
    await waitFor(
      'the resubmitted attempt computes partition 1, or a second copy of the loop starts',
      () => copies.max > 1 || events.some((e) => later(e) && e.partition === 1),
    );
    expect(copies.max, 'copies of the looping partition at once').toBe(1);
    // Nothing fails any more (no fetch goes to the looping worker), so no attempt starts the loop again.
    await new Promise((r) => setTimeout(r, 4 * FETCH_TIMEOUT_MS));
    expect(copies.max).toBe(1);
    await runsOnWorkersAtOnce(sc, 2, scratch);
    const loopStarts = events.filter((e): e is TaskStartEvent => e.type === 'taskStart' && e.stageId === copies.stageId && e.partition === 0);
    expect(loopStarts).toHaveLength(1);

    expect(sc.cancelJobGroup('stuck')).toHaveLength(1);
    expect(await job).toBeInstanceOf(AbortError);
    await waitFor('every attempt ends', () => unended(events).length === 0);
    const loopEnd = events.find((e): e is TaskEndEvent => e.type === 'taskEnd' && e.stageId === copies.stageId && e.partition === 0)!;
    expect(loopEnd.result).toBe('killed');
    await runsOnWorkersAtOnce(sc, 3, scratch);
  }, 120_000);

  it('a job with a looping partition and one that always throws fails after fetch failures resubmitted its stage (the looping copy waited for, not run again), and its loop is killed', async () => {
    const sc = context({ master: 'local[3]', fetchTimeoutMs: FETCH_TIMEOUT_MS, localityWaitMs: 100, maxTaskFailures: 3 });
    const events = record(sc);
    const copies = copiesOf(sc);
    const dir = mkdtempSync(path.join(scratch, 'failing-'));
    const rdd = shuffleWithStuckReducer(sc, dir, true);
    const job = rejection(sc.withJobGroup('failing', () => rdd.collect()));
    await waitFor('the job starts', () => events.some((e) => e.type === 'jobStart'));
    copies.stageId = resultStageOf(events, 'failing');
    await waitFor('a fetch failure resubmits the reduce stage', () =>
      events.some((e) => e.type === 'stageResubmitted' && e.stageId === copies.stageId),
    );
    writeFileSync(`${dir}/resubmitted`, 'x');
    const error = await job;
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toMatch(/boom at 2/);
    expect(copies.max, 'copies of the looping partition at once').toBe(1);
    await waitFor('every attempt ends', () => unended(events).length === 0);
    const loopEnds = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd' && e.stageId === copies.stageId && e.partition === 0);
    expect(loopEnds.map((e) => e.result)).toEqual(['killed']);
    await runsOnWorkersAtOnce(sc, 3, scratch);
  }, 120_000);
});
