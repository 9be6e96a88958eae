/**
 * A job that FAILS kills the running attempts of its stages, as a cancelled one does (Spark's
 * DAGScheduler.failJobAndIndependentStages -> killAllTaskAttempts): a partition stuck in `while (true) {}` or in a
 * long sleep must not hold its worker after the action rejected. Each spec lets partition 0 fail only once the
 * stuck partitions have started (a marker file), so what is killed is a computing attempt, not a queued one; the
 * stuck attempt's `taskEnd` must come (killed, naming the failed job), and the next job runs on every worker.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { capture, type Context, JobFailedError, type SchedulerEvent, useModule } from 'kindling';
import type { TaskEndEvent } from '../../src/scheduler/events.js';
import { redisSkipReason } from '../streaming/redis-server.js';
import { record, rejection, runsOnWorkersAtOnce, unended, useContexts, waitFor } from './helpers.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-failkill-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = useContexts({ ui: false, hints: false });

/** How long a spec waits for what a kill brings (1 s of grace, then a worker start, which takes seconds under load). */
const KILL_BOUND_MS = 45_000;

type Stuck = 'loop' | 'sleep';

/**
 * A per-element function: `stuck` elements write the marker, then loop forever or sleep ten minutes; `failing`
 * elements wait (at most 20 s) for the marker, then throw; the others return themselves.
 */
function behaviour(marker: string, stuck: readonly number[], failing: readonly number[], how: Stuck) {
  const fs = useModule('node:fs');
  return capture({ fs, marker, stuck, failing, how }, (x: number): number => {
    const nap = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    if (stuck.includes(x)) {
      fs.writeFileSync(`${marker}-${x}`, 'started');
      if (how === 'sleep') nap(600_000);
      else while (true);
    }
    if (failing.includes(x)) {
      const until = Date.now() + 20_000;
      while (stuck.some((s) => !fs.existsSync(`${marker}-${s}`)) && Date.now() < until) nap(5);
      throw new Error(`boom at ${x}`);
    }
    return x;
  });
}

function freshMarker(): string {
  return path.join(mkdtempSync(path.join(scratch, 'm-')), 'started');
}

const taskEnds = (events: SchedulerEvent[]): TaskEndEvent[] => events.filter((e): e is TaskEndEvent => e.type === 'taskEnd');

/** The next job runs on both workers: each of its two tasks waits until the other has started. */
async function nextJobUsesEveryWorker(sc: Context): Promise<void> {
  const t0 = Date.now();
  await runsOnWorkersAtOnce(sc, 2, scratch);
  expect(Date.now() - t0).toBeLessThan(KILL_BOUND_MS);
}

/** Checks what every failing spec shares once its action rejected: the stuck attempts ended killed, naming the job. */
async function expectStuckKilled(sc: Context, events: SchedulerEvent[], jobId: number, stuckPartitions: number): Promise<TaskEndEvent[]> {
  await waitFor(
    `${stuckPartitions} stuck attempt(s) of job ${jobId} end killed`,
    () => unended(events).length === 0 && taskEnds(events).filter((e) => e.result === 'killed').length >= stuckPartitions,
  );
  const killed = taskEnds(events).filter((e) => e.result === 'killed');
  for (const e of killed) expect(e.error).toMatch(new RegExp(`^Killed: .*Stage cancelled: Job ${jobId}\\b`));
  expect(sc.statusTracker().getActiveJobIds()).toEqual([]);
  expect(sc.statusTracker().getActiveStageIds()).toEqual([]);
  return killed;
}

function jobIdOf(events: SchedulerEvent[], index = 0): number {
  const starts = events.filter((e) => e.type === 'jobStart');
  return (starts[index] as Extract<SchedulerEvent, { type: 'jobStart' }>).jobId;
}

describe.each([
  { engine: 'memory' as const, maxTaskFailures: 1, how: 'loop' as const },
  { engine: 'memory' as const, maxTaskFailures: 4, how: 'sleep' as const },
  { engine: 'mapreduce' as const, maxTaskFailures: 1, how: 'sleep' as const },
  { engine: 'mapreduce' as const, maxTaskFailures: 4, how: 'loop' as const },
])(
  'a failed job kills its running attempts (local[2], $engine engine, maxTaskFailures $maxTaskFailures, stuck by $how)',
  ({ engine, maxTaskFailures, how }) => {
    it('a failure in the result stage: the action rejects with the task error, the stuck attempt ends killed, the next job uses every worker', async () => {
      const sc = context({ engine, maxTaskFailures });
      const events = record(sc);
      const err = await rejection(
        sc
          .parallelize([0, 1], 2)
          .map(behaviour(freshMarker(), [1], [0], how))
          .collect(),
      );
      expect(err).toBeInstanceOf(JobFailedError);
      expect((err as JobFailedError).message).toMatch(/boom at 0/);
      const killed = await expectStuckKilled(sc, events, jobIdOf(events), 1);
      expect(killed.map((e) => e.partition)).toEqual([1]);
      await nextJobUsesEveryWorker(sc);
    });

    it('a failure in a map stage: the reduce never runs, the stuck map attempt ends killed, the stage is reported failed', async () => {
      const sc = context({ engine, maxTaskFailures });
      const events = record(sc);
      const err = await rejection(
        sc
          .parallelize([0, 1, 2, 3], 2)
          .map(behaviour(freshMarker(), [3], [0], how))
          .map((x): [number, number] => [x % 2, x])
          .reduceByKey((a, b) => a + b)
          .collect(),
      );
      expect((err as Error).message).toMatch(/boom at 0/);
      const killed = await expectStuckKilled(sc, events, jobIdOf(events), 1);
      expect(killed.map((e) => e.partition)).toEqual([1]);
      const completed = events.filter((e) => e.type === 'stageCompleted');
      expect(completed.map((e) => e.result)).toEqual(['failed']);
      await nextJobUsesEveryWorker(sc);
      const again = await sc
        .parallelize([0, 1, 2, 3], 2)
        .map((x): [number, number] => [x % 2, x])
        .reduceByKey((a, b) => a + b)
        .collect();
      expect(again.sort()).toEqual([
        [0, 2],
        [1, 4],
      ]);
    });
  },
);

describe('a failed job kills only what no other active job needs', () => {
  it('a map stage shared with a running job keeps running; the job that failed rejects and the other returns its result', async () => {
    const sc = context({ maxTaskFailures: 1, master: 'local[4]' });
    const events = record(sc);
    const marker = freshMarker();
    const fs = useModule('node:fs');
    const nap = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    // The shared map stage's partition 1 sleeps 3 s: job A fails meanwhile, and job B still needs the stage.
    const shared = sc
      .parallelize([0, 1, 2, 3], 2)
      .map(
        capture({ fs, marker, nap }, (x: number): [number, number] => {
          if (x === 3) {
            fs.writeFileSync(`${marker}-slow`, 'x');
            nap(3000);
          }
          return [x % 2, x];
        }),
      )
      .reduceByKey((a, b) => a + b, 2);
    // Job A's own map stage fails once the shared stage's slow task computes.
    const own = sc
      .parallelize([0, 1], 2)
      .map(
        capture({ fs, marker, nap }, (x: number): [number, number] => {
          const until = Date.now() + 20_000;
          while (!fs.existsSync(`${marker}-slow`) && Date.now() < until) nap(5);
          throw new Error(`job A fails at ${x}`);
        }),
      )
      .reduceByKey((a, b) => a + b, 2);
    const a = rejection(shared.join(own).collect());
    const b = shared.collect();
    const err = await a;
    expect((err as Error).message).toMatch(/job A fails/);
    expect((await b).sort()).toEqual([
      [0, 2],
      [1, 4],
    ]);
    await waitFor('every attempt ends', () => unended(events).length === 0);
    // No attempt of the shared stage was killed: B needed it, so it ran to its end.
    // (A kill would have replaced its worker 1 s into its 3 s sleep.)
    const slow = taskEnds(events).filter((e) => e.partition === 1 && e.durationMs >= 2500);
    expect(slow.map((e) => e.result)).toEqual(['success']);
    expect(taskEnds(events).filter((e) => e.result === 'killed' && e.durationMs >= 900)).toEqual([]);
  });

  it('a job failing while another runs a stage of its own leaves that stage alone; the failed job’s stuck attempt is killed', async () => {
    const sc = context({ maxTaskFailures: 1, master: 'local[3]' });
    const events = record(sc);
    const marker = freshMarker();
    const fs = useModule('node:fs');
    const other = sc
      .parallelize([0], 1)
      .map(
        capture({ fs, marker }, (x: number) => {
          // Runs until the failing job's stuck partition has started, then 1 s longer: it spans that job's failure.
          const until = Date.now() + 20_000;
          while (!fs.existsSync(`${marker}-1`) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
          return x + 100;
        }),
      )
      .collect();
    const err = await rejection(
      sc
        .parallelize([0, 1], 2)
        .map(behaviour(marker, [1], [0], 'loop'))
        .collect(),
    );
    expect((err as Error).message).toMatch(/boom at 0/);
    expect(await other).toEqual([100]);
    await waitFor('every attempt ends', () => unended(events).length === 0);
    const killed = taskEnds(events).filter((e) => e.result === 'killed');
    expect(killed).toHaveLength(1);
    expect(killed[0]!.partition).toBe(1);
  });
  it('an attempt of the failed job queued behind another job’s long task is dropped, not killed with that task’s worker', async () => {
    // localityWaitMs 5 s: the queued attempt is not moved to another worker before the job fails.
    const sc = context({ maxTaskFailures: 1, localityWaitMs: 5000 });
    const events = record(sc);
    const long = sc
      .parallelize([0], 1)
      .map((x) => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
        return x + 1;
      })
      .collect();
    await waitFor('the long task starts', () => events.some((e) => e.type === 'taskStart'));
    // Three partitions on two workers: the first is queued behind the long task, the second fails on the other worker.
    const err = await rejection(
      sc
        .parallelize([0, 1, 2], 3)
        .map((x) => {
          const until = Date.now() + 200;
          while (Date.now() < until);
          throw new Error(`boom at ${x}`);
        })
        .collect(),
    );
    expect((err as Error).message).toMatch(/boom at/);
    expect(await long).toEqual([1]);
    await waitFor('every attempt ends', () => unended(events).length === 0);
    expect(events.filter((e) => e.type === 'workerLost')).toEqual([]);
    const longStage = (events.find((e) => e.type === 'taskStart') as Extract<SchedulerEvent, { type: 'taskStart' }>).stageId;
    expect(
      taskEnds(events)
        .filter((e) => e.stageId === longStage)
        .map((e) => e.result),
    ).toEqual(['success']);
  });
});

describe('other ways a job fails', () => {
  it('a result too large for maxResultSize kills the stuck partition of the same job', async () => {
    const sc = context({ maxResultSize: '1m', master: 'local[3]' });
    const events = record(sc);
    const marker = freshMarker();
    const fs = useModule('node:fs');
    const err = await rejection(
      sc
        .parallelize([0, 1, 2], 3)
        .map(
          capture({ fs, marker }, (x: number) => {
            if (x === 2) {
              fs.writeFileSync(`${marker}-2`, 'x');
              while (true);
            }
            const until = Date.now() + 20_000;
            while (!fs.existsSync(`${marker}-2`) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
            // Each is under the limit; the two together are over it.
            return 'x'.repeat(300_000);
          }),
        )
        .collect(),
    );
    expect((err as Error).message).toMatch(/maxResultSize/);
    const killed = await expectStuckKilled(sc, events, jobIdOf(events), 1);
    expect(killed.map((e) => e.partition)).toEqual([2]);
  });

  it('accumulator updates of the killed attempts do not count, and a failed save leaves no staging folder', async () => {
    const sc = context({ maxTaskFailures: 1 });
    const events = record(sc);
    const marker = freshMarker();
    const fs = useModule('node:fs');
    const seen = sc.accumulator(0);
    const out = path.join(mkdtempSync(path.join(scratch, 'save-')), 'out');
    const err = await rejection(
      sc
        .parallelize([0, 1], 2)
        .map(
          capture({ fs, marker, seen }, (x: number) => {
            seen.add(1);
            if (x === 1) {
              fs.writeFileSync(`${marker}-1`, 'x');
              // Sleeps in slices: an attempt the driver killed but whose worker survived would still report its count.
              for (let i = 0; i < 600; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
              return x;
            }
            const until = Date.now() + 20_000;
            while (!fs.existsSync(`${marker}-1`) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
            throw new Error('boom at 0');
          }),
        )
        .saveAsTextFile(out),
    );
    expect((err as Error).message).toMatch(/boom at 0/);
    await expectStuckKilled(sc, events, jobIdOf(events), 1);
    expect(seen.value).toBe(0);
    expect(readdirSync(path.dirname(out))).toEqual([]);
  });
});

describe.skipIf(redisSkipReason !== undefined)('on local-cluster[2]', () => {
  it('a failure in the result stage kills the stuck attempt on its executor; the next job uses every slot', async () => {
    const sc = context({ master: 'local-cluster[2]', maxTaskFailures: 1 });
    const events = record(sc);
    const err = await rejection(
      sc
        .parallelize([0, 1], 2)
        .map(behaviour(freshMarker(), [1], [0], 'loop'))
        .collect(),
    );
    expect((err as Error).message).toMatch(/boom at 0/);
    const killed = await expectStuckKilled(sc, events, jobIdOf(events), 1);
    expect(killed.map((e) => e.partition)).toEqual([1]);
    await nextJobUsesEveryWorker(sc);
  }, 120_000);
});
