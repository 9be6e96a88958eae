/**
 * What the UI's thread does per task, replayed on one thread where the machine's load disturbs it least: the scheduler's
 * task batches of `--jobs` jobs of 4,000 empty tasks are recorded as rows (as the driver posts them) with the other
 * events, then fed as ui-thread.ts feeds them: each batch made a batch of rows again (`adopt` on one reused batch where
 * the build has it, else `fromWire`), then the event log's `writeTasks` and the status store's `applyTasks`; each other
 * event to the log's `write` and the store's `apply`. Each round replays the first `--jobs` jobs into a fresh store and
 * log (growing their columns and pools) and measures the next `--jobs` jobs by the thread's own CPU time (schedstat,
 * ns). Until session 42 the measured pass replayed the same jobs again: the same stage ids, so every task start found
 * its stage compacted (a thaw), the same task key there (a row dropped) and full columns (growth, then a pack at the
 * stage's end), none of which a program's new stages do (`--same-ids` keeps that pass, for comparing with earlier
 * sessions' figures).
 *
 * `--part store|log|wire`: only the store (with the batches), only the log, or only the batches made again. With
 * `--baseline DIR` (an earlier build's dist/), that build too, alternating round by round, and the paired difference.
 * Not in it: the posts themselves (their wake-ups and structured clones) and the shared ring's cache misses, which a
 * program adds (its UI thread reads ~1.1 µs a task where this reads ~0.7, session 41).
 *
 *   npx tsx bench/ui-thread-replay.ts [--jobs 20] [--rounds 15] [--part all] [--same-ids] [--baseline .bench-old/dist]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppEvent } from '../src/ui/app-events.js';
import type { TaskEventBatch, TaskRowsWire } from '../src/scheduler/task-event-batch.js';
import { machine } from './harness.js';
import { isRows, loadAverage, printPerTask, recordJobs, replayBuilds, threadNs } from './ui-recording.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const jobs = Number(arg('--jobs', '20'));
const rounds = Number(arg('--rounds', '15'));
const part = arg('--part', 'all');
const TASKS = 4000;
const load = loadAverage;
const { dists, builds } = await replayBuilds();

const sameIds = process.argv.includes('--same-ids');
const all = await recordJobs(dists['this build']!, sameIds ? jobs : 2 * jobs, TASKS);
/** The warm-up pass's events and the measured pass's. */
const split = sameIds ? 0 : all.findIndex((e) => !isRows(e) && e.type === 'jobStart' && e.jobId === jobs);
const [warmUp, recorded] = sameIds ? [all, all] : [all.slice(0, split), all.slice(split)];
const tasks = recorded.filter(isRows).reduce((a, w) => a + w.size, 0) / 2;
console.log(`the UI thread's work, replayed (${part}), ${machine()}, load average ${load()}: ${tasks} tasks in ${recorded.length} events/batches`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-thread-replay-'));
const perTask: Record<string, number[]> = {};
const store = part === 'all' || part === 'store';
const log = part === 'all' || part === 'log';
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(builds);
  for (const name of r % 2 === 0 ? names : names.reverse()) {
    const { Writer, Store, Batch } = builds[name]!;
    const s = new Store();
    const w = new Writer(dir, `replay-${r}-${name.replace(' ', '-')}`, () => []);
    const reused = new Batch() as TaskEventBatch & { adopt?: (w: TaskRowsWire) => TaskEventBatch };
    const feed = async (events: Array<AppEvent | TaskRowsWire>) => {
      for (const e of events)
        if (!isRows(e)) {
          if (log) w.write(e);
          if (store) s.apply(e);
          // The log's write at a job's end lands before the next job, as between a program's jobs.
          if (e.type === 'jobEnd') await new Promise((resolve) => setTimeout(resolve, 2));
        } else {
          const b = reused.adopt !== undefined ? reused.adopt(e) : Batch.fromWire(e);
          if (log) w.writeTasks(b);
          if (store) s.applyTasks(b);
        }
    };
    // Copies, as each post brings (the thread reads each batch once).
    const copies = (of: typeof all) =>
      of.map((e) => (isRows(e) ? { ...e, numbers: e.numbers.slice(), codes: e.codes.slice(), idOf: e.idOf.slice() } : e));
    await feed(copies(warmUp));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const events = copies(recorded);
    const t0 = threadNs();
    await feed(events);
    await w.close();
    (perTask[name] ??= []).push((threadNs() - t0) / 1000 / tasks);
  }
}
rmSync(dir, { recursive: true, force: true });
printPerTask(perTask, 'CPU');
console.log(`  load average at the end ${load()}`);
process.exit(0);
