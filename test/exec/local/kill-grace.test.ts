/**
 * A cancelled job's computing task stops at its next record (core/task-interrupt.ts); only one still computing a
 * grace after the request has its worker replaced. On a loaded machine a worker's thread can wait for a CPU longer
 * than that grace on its way to the next record: the grace must not count that wait, or the worker (and its cache)
 * is lost for a task that was stopping as asked. The spec starves the task's thread on purpose (SCHED_IDLE on one
 * core, a busy loop on that core) from before the abort until well past the grace, then lets it run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortError, capture, Context, type SchedulerEvent, useModule } from 'kindling';
import { redisSkipReason } from '../../streaming/redis-server.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-kill-grace-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Linux's scheduler tools (util-linux), as CI has them. */
const tools = process.platform === 'linux' && ['chrt', 'taskset'].every((t) => spawnable(t));

function spawnable(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The CPUs this process may run on, as taskset takes them ("0-1", "2,5-7"): a container's cpuset need not hold CPU 0. */
function allowedCpus(): string {
  return readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1] ?? `0-${os.cpus().length - 1}`;
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a cancelled task whose thread waits for a CPU past the kill grace', () => {
  it.skipIf(!tools)('still stops at its next record once it runs: its worker is not replaced (local[2])', () => starvedCancel('local[2]'), 60_000);

  // A cluster executor process's thread: the executor keeps its own grace, by the same rule.
  it.skipIf(!tools || redisSkipReason !== undefined)(
    'still stops at its next record once it runs: its executor keeps its thread (local-cluster[2])',
    () => starvedCancel('local-cluster[2]'),
    60_000,
  );

  async function starvedCancel(master: string): Promise<void> {
    const marker = path.join(scratch, `tid-${master}`);
    const sc = new Context({ master, progress: false, ui: false, hints: false });
    let busy: ChildProcess | undefined;
    let tid: string | undefined;
    const restore = (): void => {
      busy?.kill('SIGKILL');
      if (tid === undefined) return;
      try {
        execFileSync('chrt', ['-o', '-p', '0', tid], { stdio: 'ignore' });
        execFileSync('taskset', ['-p', '-c', allowedCpus(), tid], { stdio: 'ignore' });
      } catch {
        // The thread ended already.
      }
    };
    try {
      const events: SchedulerEvent[] = [];
      sc.events.onAny((e) => events.push(e));
      const fs = useModule('node:fs');
      const ac = new AbortController();
      // Partition 0 writes its thread's OS id, then computes for a minute (~100 µs a record) unless interrupted.
      const job = sc
        .range(0, 1_200_000, 1, 2)
        .map(
          capture({ fs, marker }, (x: number) => {
            if (x === 0) fs.writeFileSync(marker, fs.readlinkSync('/proc/thread-self').split('/').at(-1));
            if (x >= 600_000) return x;
            let s = 0;
            for (let i = 0; i < 20_000; i++) s += Math.sqrt(i + x);
            return s;
          }),
        )
        .count({ signal: ac.signal })
        .then(
          () => new Error('the job ended before it was aborted'),
          (e: unknown) => e,
        );
      await until(() => existsSync(marker) && readFileSync(marker, 'utf8') !== '', 'partition 0 to start');
      tid = readFileSync(marker, 'utf8');
      // From now on the thread runs only when its core has nothing else to run, and the busy loop keeps it busy.
      const cpu = /^\d+/.exec(allowedCpus())![0];
      busy = spawn('taskset', ['-c', cpu, process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' });
      execFileSync('taskset', ['-p', '-c', cpu, tid], { stdio: 'ignore' });
      execFileSync('chrt', ['-i', '-p', '0', tid], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 200));
      ac.abort();
      expect(await job).toBeInstanceOf(AbortError);
      // Past the 1 s grace (KILL_GRACE_MS), still starved.
      await new Promise((r) => setTimeout(r, 2500));
      restore();
      const stage = events.find((e) => e.type === 'stageSubmitted') as Extract<SchedulerEvent, { type: 'stageSubmitted' }>;
      const end = () => events.find((e) => e.type === 'taskEnd' && e.stageId === stage.stageId && e.partition === 0);
      // Only a hang breaks this bound: once it runs, the thread reaches its next record within ~100 ms of its own time.
      await until(() => end() !== undefined, "partition 0's end");
      expect(events.filter((e) => e.type === 'workerLost' || e.type === 'executorRemoved')).toEqual([]);
      // Ended by its own check (TaskInterruptedError), not by a replaced worker ("… still computed … ms later").
      expect(end()).toMatchObject({ result: 'killed', error: expect.stringMatching(/was interrupted/) });
      expect(await sc.range(0, 1000, 1, 2).sum()).toBe(499_500);
    } finally {
      restore();
      await sc.stop();
    }
  }
});
