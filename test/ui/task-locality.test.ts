/**
 * A task's locality in the UI, as the scheduler reports it at the task's end: NO_PREF in a task set whose tasks prefer
 * no worker (the scheduler then looks at no task's preferences), PROCESS_LOCAL for a task of a cached partition run
 * where its block is (Spark's taskLocality).
 */
import { describe, expect, it } from 'vitest';
import { Context } from 'kindling';

type Json = Array<Record<string, unknown>>;

describe("a task's locality in the UI", () => {
  it('is NO_PREF where no task prefers a worker, and PROCESS_LOCAL for a cached partition read where it is cached', async () => {
    const sc = new Context({ master: 'local[2]', progress: false, ui: { port: 0 }, eventLog: false });
    try {
      const rdd = sc.parallelize([1, 2, 3, 4, 5, 6, 7, 8], 4).cache();
      await rdd.count();
      await rdd.count();
      const api = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      const localities = async (stage: number) =>
        ((await (await fetch(`${api}/stages/${stage}/0/taskList?length=100`)).json()) as Json).map((t) => t.taskLocality).sort();
      const stages = ((await (await fetch(`${api}/stages`)).json()) as Json).map((s) => s.stageId as number).sort();
      expect(stages).toHaveLength(2);
      // The first job computes and caches its partitions: no preference yet.
      expect(await localities(stages[0]!)).toEqual(['NO_PREF', 'NO_PREF', 'NO_PREF', 'NO_PREF']);
      // The second's tasks prefer where their partitions are cached: each reports where it ran against that (a busy
      // worker may leave one to the other, ANY), most where they are.
      const second = await localities(stages[1]!);
      expect(second).toHaveLength(4);
      expect(second.filter((l) => l !== 'PROCESS_LOCAL' && l !== 'ANY')).toEqual([]);
      expect(second.filter((l) => l === 'PROCESS_LOCAL').length).toBeGreaterThan(0);
    } finally {
      await sc.stop();
    }
  });
});
