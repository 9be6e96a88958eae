/**
 * Cancelling a job on a cluster: a task stuck in `while (true) {}` cannot be interrupted, so after its grace its
 * executor replaces the thread computing it; the task ends killed (Spark's TaskKilled), not failed, and the
 * context runs the next job on the replacement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AbortError, Context, capture, type SchedulerEvent, useModule } from 'kindling';
import { redisSkipReason, useRedisServer } from '../../streaming/redis-server.js';
import { useExecutors } from './helpers.js';

describe.skipIf(redisSkipReason !== undefined)('cancelling a job on local-cluster[2]', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local-cluster[2]', progress: false, ui: false, hints: false });
  });
  afterAll(() => sc.stop());

  it('a task stuck in while (true) {} ends killed, its slot is replaced, and the next job runs', async () => {
    const events: SchedulerEvent[] = [];
    const off = sc.events.onAny((e) => void events.push(e));
    const ac = new AbortController();
    // The task says when it computes (a file), so the abort finds it stuck, not still queued (then it is dropped).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-cancel-'));
    const marker = path.join(dir, 'computing');
    const fs = useModule<typeof import('node:fs')>('node:fs');
    const job = sc
      .parallelize([1, 2], 2)
      .map(
        capture({ fs, marker }, (x: number) => {
          if (x === 1) {
            fs.writeFileSync(marker, '');
            while (true);
          }
          return x;
        }),
      )
      .collect({ signal: ac.signal });
    const settled = job.then(
      () => new Error('resolved'),
      (e: unknown) => e,
    );
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
    rmSync(dir, { recursive: true, force: true });
    ac.abort();
    expect(await settled).toBeInstanceOf(AbortError);
    const stage = events.find((e) => e.type === 'stageSubmitted');
    const stuckEnd = await new Promise<SchedulerEvent>((resolve) => {
      const seen = events.find((e) => e.type === 'taskEnd' && e.stageId === stage?.stageId && e.partition === 0);
      if (seen !== undefined) return resolve(seen);
      const stop = sc.events.on('taskEnd', (e) => {
        if (e.stageId === stage?.stageId && e.partition === 0) {
          stop();
          resolve(e);
        }
      });
    });
    off();
    expect(stuckEnd).toMatchObject({ result: 'killed', error: expect.stringMatching(/^Killed: task \d+ of a cancelled job still computed/) });
    expect(events.some((e) => e.type === 'workerLost' && /of a cancelled job still computed/.test(e.reason))).toBe(true);
    expect(
      await sc
        .parallelize([1, 2, 3, 4], 4)
        .map((x) => x + 1)
        .collect(),
    ).toEqual([2, 3, 4, 5]);
  });
});

/**
 * An action called while its context waits for executors (none registered yet, or Redis away as it started) has no
 * job in the DAG scheduler until they come: its AbortSignal, cancelJobGroup() and cancelAllJobs() went unheard, and the
 * action waited out executorWaitMs (then failed with "no executor"), or ran once an executor came, cancelled or not.
 * Spark's job is active from its submission on, executors or none.
 */
describe.skipIf(redisSkipReason !== undefined)('cancelling an action that waits for executors (redis://, none yet)', () => {
  const url = useRedisServer();
  const executor = useExecutors();

  it.each(['signal', 'cancelJobGroup', 'cancelAllJobs'] as const)(
    'by %s: it rejects at once with an AbortError, never runs, and the next action runs once an executor comes',
    async (how) => {
      const cluster = `waiting-${how}`;
      const sc = new Context({ master: url(), cluster, executorWaitMs: 20_000, progress: false, ui: false, hints: false });
      try {
        const started: number[] = [];
        sc.events.on('jobStart', (e) => void started.push(e.jobId));
        const ac = new AbortController();
        const t0 = Date.now();
        const settled = sc
          .withJobGroup('nightly', () => sc.range(0, 10, 1, 2).sum(how === 'signal' ? { signal: ac.signal } : undefined))
          .then(
            () => new Error('resolved'),
            (e: unknown) => e,
          );
        await new Promise((r) => setTimeout(r, 200));
        if (how === 'signal') ac.abort();
        else expect(how === 'cancelJobGroup' ? sc.cancelJobGroup('nightly') : sc.cancelAllJobs()).toEqual([]);
        const err = await settled;
        expect(err).toBeInstanceOf(AbortError);
        const reason =
          how === 'signal'
            ? 'its AbortSignal was aborted'
            : how === 'cancelJobGroup'
              ? "its job group 'nightly' was cancelled"
              : 'cancelAllJobs() was called';
        expect((err as Error).message).toMatch(
          new RegExp(`^sum at RDD \\d+ \\(range at .*\\) was cancelled before its job started: ${reason.replace(/[()]/g, '\\$&')}$`),
        );
        // At once, not after executorWaitMs (20 s): a bound that holds at load 20+.
        expect(Date.now() - t0).toBeLessThan(10_000);
        await executor(['--master', url(), '--cluster', cluster, '--cores', '1', '--memory', '512m']).waitFor('registered and ready');
        expect(await sc.range(0, 100, 1, 2).sum()).toBe(4950);
        // The cancelled action never became a job; the next one is the only job this context ran.
        expect(started).toHaveLength(1);
      } finally {
        await sc.stop();
      }
    },
    60_000,
  );
});
