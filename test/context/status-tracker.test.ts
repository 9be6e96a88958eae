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
