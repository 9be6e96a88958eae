/**
 * What an executor's loss counts against the tasks it held (Spark's ExecutorLostFailure and its exitCausedByApp):
 * executor processes killed from outside, more times in one job than maxTaskFailures, still give the right result,
 * since a lost executor is not a failure of the task it computed and never of the tasks it held queued; a task that
 * kills every executor it is computed on still fails the job, after maxTaskFailures such losses, with an error that
 * names the job, the stage, the partition and the losses.
 */
import { describe, expect, it } from 'vitest';
import { capture } from 'kindling';
import { redisSkipReason, useRedisServer } from '../../streaming/redis-server.js';
import { record, useContexts } from '../../scheduler/helpers.js';
import { useExecutors, waitUntil, type ExecutorHandle } from './helpers.js';

/** Busy-waits `ms` (declared here: vitest renames imported bindings). */
function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // computing
  }
}

const context = useContexts({ ui: false });

describe.skipIf(redisSkipReason !== undefined)('executor losses against a job', () => {
  const url = useRedisServer();
  const executor = useExecutors();

  it('executors SIGKILLed from outside more times than maxTaskFailures in one job: the right result', async () => {
    const args = ['--master', url(), '--cluster', 'outside', '--cores', '1', '--memory', '512m'];
    // One executor computes at a time (cores=1); idle ones wait to replace it.
    const started: ExecutorHandle[] = [];
    const start = () => {
      const e = executor(args);
      started.push(e);
      return e;
    };
    await Promise.all([start(), start()].map((e) => e.waitFor('registered and ready')));
    const sc = context({ master: `${url()}?cores=1`, cluster: 'outside', executorTimeoutMs: 1000, maxTaskFailures: 2, slotsPerWorker: 3 });
    const events = record(sc);
    // Each partition is computing when one executor is killed: three kills, each task lost with its executor once.
    // The executor holds all three tasks each time, so counting every task it held (as before) failed the job at the
    // second kill.
    const killedAt = new Set<number>();
    const killed = new Set<string>();
    const kills: Array<Promise<unknown>> = [];
    sc.events.on('taskStart', (e) => {
      // A lost executor's queued attempts are announced as they end, never computed: not a moment to kill at.
      if (killedAt.has(e.partition) || killed.has(e.executorId)) return;
      killedAt.add(e.partition);
      killed.add(e.executorId);
      const victim = started.find((p) => p.output().includes(`executor ${e.executorId} registered`))!;
      start();
      kills.push(new Promise((r) => setTimeout(r, 100)).then(() => victim.child.kill('SIGKILL')));
    });
    const sum = await sc
      .range(0, 3, 1, 3)
      .map(
        capture({ spin }, (x: number) => {
          spin(300);
          return x + 1;
        }),
      )
      .sum();
    expect(sum).toBe(6);
    expect([...killedAt].sort()).toEqual([0, 1, 2]);
    await Promise.all(kills);
    // Each kill was a loss of the executor computing a partition.
    await waitUntil(() => events.filter((e) => e.type === 'executorRemoved').length >= 3, 15_000, 'three executors lost');
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  }, 60_000);

  it('a task that kills every executor process it is computed on fails the job after maxTaskFailures, naming job, stage, partition and losses', async () => {
    const sc = context({ master: 'local-cluster[2]', maxTaskFailures: 2 });
    await sc.range(0, 2, 1, 2).count();
    const out = await sc
      .range(0, 2, 1, 2)
      .map((x: number) => {
        // The whole executor process, not its thread: as a native crash or the kernel's OOM killer would.
        if (x === 1) process.kill(process.pid, 'SIGKILL');
        return x;
      })
      .sum()
      .catch((e: unknown) => e as Error);
    expect(out).toBeInstanceOf(Error);
    expect((out as Error).message).toMatch(
      /^Job \d+ failed: task for partition 1 of stage \d+ .*failed 2 times[\s\S]*ExecutorLost: executor \d+ \(127\.0\.0\.1:\d+\): its process \d+ ended \(SIGKILL\) while computing the task; the task was being computed on 2 executors when each was lost \(maxTaskFailures 2\)/,
    );
    // local-cluster started other executors: the next job runs.
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  }, 60_000);
});
