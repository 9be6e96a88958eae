/**
 * sc.statusTracker(): a running job's task counts as Spark's JobData has them. A job's tasks are those of every
 * stage it runs, map stages included (its result tasks alone undercount a job with a shuffle), fixed when it starts;
 * a map stage whose output is there already (skipped) adds none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, type JobStatusInfo } from 'kindling';

let sc: Context;
beforeAll(() => {
  sc = new Context({ master: 'local[2]', progress: false, ui: false });
});
afterAll(async () => {
  await sc?.stop();
});

/** The job's status as its result stage is submitted (its map stages, if any, have ended by then). */
async function atResultStage(run: () => Promise<unknown>): Promise<JobStatusInfo> {
  const seen: JobStatusInfo[] = [];
  const off = sc.events.on('stageSubmitted', (e) => {
    const info = sc.statusTracker().getJobInfo(e.jobId);
    if (info !== undefined && info.stageIds.at(-1) === e.stageId) seen.push(info);
  });
  try {
    await run();
  } finally {
    off();
  }
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

describe('statusTracker job task counts', () => {
  it("counts a job's map tasks with its result tasks, and the map tasks done before its result stage", async () => {
    const sums = sc
      .parallelize([1, 2, 3, 4, 5, 6], 3)
      .map((x): [number, number] => [x % 2, x])
      .reduceByKey((a, b) => a + b, 2);
    const info = await atResultStage(() => sums.collect());
    expect(info).toMatchObject({ numTasks: 5, numCompletedTasks: 3 });
    // The shuffle's output is there now: the next job over it skips the map stage and runs its 2 result tasks only.
    const again = await atResultStage(() => sums.count());
    expect(again).toMatchObject({ numTasks: 2, numCompletedTasks: 0 });
  });

  it('counts the result tasks alone for a job without a shuffle', async () => {
    const info = await atResultStage(() => sc.parallelize([1, 2, 3, 4], 4).count());
    expect(info).toMatchObject({ numTasks: 4, numCompletedTasks: 0 });
  });
});

describe('statusTracker after a job ends (Spark keeps ended jobs and stages in its status store)', () => {
  it('a succeeded job and its stages keep their final counts and status; a job group lists its ended jobs', async () => {
    const sums = sc
      .parallelize([1, 2, 3, 4, 5, 6], 3)
      .map((x): [number, number] => [x % 2, x])
      .reduceByKey((a, b) => a + b, 2);
    const ids: number[] = [];
    const off = sc.events.on('jobStart', (e) => ids.push(e.jobId));
    await sc.withJobGroup('nightly', () => sums.collect());
    await sums.count(); // outside the group
    off();
    const tracker = sc.statusTracker();
    const [grouped, ungrouped] = ids as [number, number];
    expect(tracker.getActiveJobIds()).toEqual([]);
    const job = tracker.getJobInfo(grouped)!;
    expect(job).toMatchObject({ jobId: grouped, jobGroup: 'nightly', status: 'SUCCEEDED', numTasks: 5, numCompletedTasks: 5 });
    expect(job.stageIds).toHaveLength(2);
    const [mapStage, resultStage] = job.stageIds as [number, number];
    expect(tracker.getStageInfo(mapStage)).toMatchObject({
      status: 'COMPLETE',
      numTasks: 3,
      numCompletedTasks: 3,
      numActiveTasks: 0,
      numFailedTasks: 0,
    });
    expect(tracker.getStageInfo(resultStage)).toMatchObject({ status: 'COMPLETE', numTasks: 2, numCompletedTasks: 2, numActiveTasks: 0 });
    expect(tracker.getJobIdsForGroup('nightly')).toEqual([grouped]);
    expect(tracker.getJobIdsForGroup(null)).toContain(ungrouped);
    expect(tracker.getJobIdsForGroup(null)).not.toContain(grouped);
    // The second job skipped the map stage (its output was there): only its result stage ran.
    expect(tracker.getJobInfo(ungrouped)).toMatchObject({ status: 'SUCCEEDED', numTasks: 2, numCompletedTasks: 2 });
    expect(tracker.getJobInfo(10_000_000)).toBeUndefined();
  });

  it('a job whose task keeps failing ends FAILED, its stage FAILED with the failed attempts counted', async () => {
    let jobId = -1;
    const off = sc.events.on('jobStart', (e) => (jobId = e.jobId));
    const failing = sc.parallelize([1, 2, 3, 4], 2).map((x) => {
      if (x === 4) throw new Error('bad record 4');
      return x;
    });
    await expect(failing.collect()).rejects.toThrow(/bad record 4/);
    off();
    const tracker = sc.statusTracker();
    const job = tracker.getJobInfo(jobId)!;
    expect(job.status).toBe('FAILED');
    const stage = tracker.getStageInfo(job.stageIds[0]!)!;
    expect(stage).toMatchObject({ status: 'FAILED', numTasks: 2, numActiveTasks: 0 });
    expect(stage.numFailedTasks).toBeGreaterThanOrEqual(1);
    expect(stage.numCompletedTasks).toBeLessThanOrEqual(1);
    // The context goes on: the next job runs and is tracked as usual.
    expect(await sc.parallelize([1, 2], 2).count()).toBe(2);
  });

  it('keeps the latest 1,000 ended jobs, as Spark retains 1,000 (spark.ui.retainedJobs)', async () => {
    const ids: number[] = [];
    const off = sc.events.on('jobStart', (e) => ids.push(e.jobId));
    const one = sc.parallelize([1], 1);
    for (let i = 0; i < 1005; i++) await one.count();
    off();
    const tracker = sc.statusTracker();
    expect(ids.slice(0, 5).map((id) => tracker.getJobInfo(id))).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(ids.slice(5).every((id) => tracker.getJobInfo(id)?.status === 'SUCCEEDED')).toBe(true);
  });
});

describe('statusTracker() bounds, as the UI sets them', () => {
  it('keeps the latest ui.retainedJobs ended jobs and ui.retainedStages ended stages (Spark: spark.ui.retained*)', async () => {
    const small = new Context({ master: 'local[2]', progress: false, ui: { port: 0, retainedJobs: 3, retainedStages: 2 } });
    try {
      const jobs: number[] = [];
      const stages: number[] = [];
      small.events.on('jobStart', (e) => jobs.push(e.jobId));
      small.events.on('stageSubmitted', (e) => stages.push(e.stageId));
      for (let i = 0; i < 5; i++) await small.parallelize([i], 1).count();
      const tracker = small.statusTracker();
      expect(jobs.map((id) => tracker.getJobInfo(id)?.status)).toEqual([undefined, undefined, 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      expect(stages.map((id) => tracker.getStageInfo(id)?.status)).toEqual([undefined, undefined, undefined, 'COMPLETE', 'COMPLETE']);
    } finally {
      await small.stop();
    }
  });
});
