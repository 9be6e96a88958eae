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
import { redisSkipReason } from '../../streaming/redis-server.js';

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
