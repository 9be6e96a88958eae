/**
 * What an executor's loss counts against the tasks it held (Spark's ExecutorLostFailure and its exitCausedByApp):
 * executor processes killed from outside, more times in one job than maxTaskFailures, still give the right result,
 * since a lost executor is not a failure of the task it computed and never of the tasks it held queued; a task that
 * kills every executor it is computed on still fails the job, after maxTaskFailures such losses, with an error that
 * names the job, the stage, the partition and the losses.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capture, useModule } from 'kindling';
import { redisSkipReason } from '../../streaming/redis-server.js';
import { record, useContexts } from '../../scheduler/helpers.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-executor-loss-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = useContexts({ ui: false });

describe.skipIf(redisSkipReason !== undefined)('executor losses against a job', () => {
  it('executors SIGKILLed from outside more times than maxTaskFailures in one job: the right result', async () => {
    // One executor at a time, holding all three tasks; local-cluster starts another when one dies (and sees it die).
    const sc = context({ master: 'local-cluster[1]', maxTaskFailures: 2, slotsPerWorker: 3 });
    const events = record(sc);
    const dir = mkdtempSync(path.join(scratch, 'pids-'));
    // The first attempt of each partition writes its executor's pid and computes until this process kills that
    // executor: three kills, each while a different task is computed, each task lost with its executor once. Each
    // executor held all three tasks, so counting every task it held (as before) failed the job at the second kill.
    const kills: number[] = [];
    const fs = useModule('node:fs');
    // The partition the driver last saw start computing: a kill waits for it, since a task that ended just before
    // (its outcome still on its way) would otherwise be the one the driver sees computing.
    let computing = -1;
    sc.events.on('taskStart', (e) => void (computing = e.partition));
    const watcher = setInterval(() => {
      for (const f of readdirSync(dir)) {
        // A task's `.tmp` is renamed away as it is written (the watcher read one gone: an uncaught ENOENT in CI).
        if (f.endsWith('.tmp')) continue;
        const pid = Number(readFileSync(path.join(dir, f), 'utf8'));
        if (pid > 0 && !kills.includes(pid) && computing === Number(f)) {
          kills.push(pid);
          process.kill(pid, 'SIGKILL');
        }
      }
    }, 10);
    try {
      const sum = await sc
        .range(0, 3, 1, 3)
        .map(
          capture({ fs, dir }, (x: number) => {
            const marker = `${dir}/${x}`;
            if (fs.existsSync(marker)) return x + 1;
            fs.writeFileSync(`${marker}.tmp`, String(process.pid));
            fs.renameSync(`${marker}.tmp`, marker);
            const end = Date.now() + 20_000;
            while (Date.now() < end) {
              // computing until killed
            }
            return x + 1;
          }),
        )
        .sum();
      expect(sum).toBe(6);
    } finally {
      clearInterval(watcher);
    }
    expect(kills).toHaveLength(3);
    expect(events.filter((e) => e.type === 'executorRemoved')).toHaveLength(3);
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  }, 60_000);

  it('a task that kills every executor process it is computed on fails the job after maxTaskFailures, naming job, stage, partition and losses', async () => {
    const sc = context({ master: 'local-cluster[1]', maxTaskFailures: 2 });
    // One task alone: the driver sees which task computes when the process dies (a task that ended just before,
    // its outcome still on its way, would be the one it sees).
    const out = await sc
      .range(1, 2, 1, 1)
      .map((x: number) => {
        // The whole executor process, not its thread: as a native crash or the kernel's OOM killer would.
        if (x === 1) process.kill(process.pid, 'SIGKILL');
        return x;
      })
      .sum()
      .catch((e: unknown) => e as Error);
    expect(out).toBeInstanceOf(Error);
    expect((out as Error).message).toMatch(
      /^Job \d+ failed: task for partition 0 of stage \d+ .*failed 2 times[\s\S]*ExecutorLost: executor \d+ \(127\.0\.0\.1:\d+\): its process \d+ ended \(SIGKILL\) while computing the task; the task was being computed on 2 executors when each was lost \(maxTaskFailures 2\)/,
    );
    // local-cluster started other executors: the next job runs.
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  }, 60_000);
});
