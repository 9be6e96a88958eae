/**
 * What the UI's replays (bench/ui-log-replay.ts, bench/ui-thread-replay.ts) share: a recording of the scheduler's task
 * batches and other events, as the UI's batched listener takes them, and the clocks they read.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskEventBatch, TaskRowsWire } from '../src/scheduler/task-event-batch.js';
import type { AppEvent } from '../src/ui/app-events.js';
import type { EventLogWriter } from '../src/ui/event-log.js';
import type { StatusStore } from '../src/ui/status-store.js';
import { bootstrapMedian, formatPaired, median, pairedDifference } from './paired.js';

/** This thread's CPU time so far, in ns (Linux; the kernel brings it up to date at a tick or a switch). */
export const threadNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);

export const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** A recorded event, or a batch of task events as rows (`toWire`). */
export type Recorded = AppEvent | TaskRowsWire;
export const isRows = (e: Recorded): e is TaskRowsWire => !('type' in e);

/**
 * `jobs` jobs of `tasks` empty tasks run by the scheduler of the build in `dist` (the UI and log off, one batched
 * listener as the UI's), recorded: each task batch as rows, each other event as a copy.
 */
export async function recordJobs(dist: string, jobs: number, tasks: number): Promise<Recorded[]> {
  const { Context } = (await import(pathToFileURL(path.join(dist, 'index.js')).href)) as typeof import('kindling');
  const sc = new Context({ master: 'local[2]', progress: false, ui: false });
  const recorded: Recorded[] = [];
  const off = sc.events.onAny(
    (e) => {
      if (e.type !== 'taskBatch') recorded.push(structuredClone(e) as AppEvent);
      else {
        const rows = e.tasks.rows as Partial<Pick<TaskEventBatch, 'toWire'>> | undefined;
        // internal: a bench's precondition
        if (rows?.toWire === undefined) throw new Error('the scheduler delivered a batch without rows');
        recorded.push(rows.toWire());
      }
    },
    { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } },
  );
  const rdd = sc.parallelize([], tasks);
  for (let i = 0; i < jobs; i++) await rdd.count();
  off();
  await sc.stop();
  return recorded;
}

/** The UI's classes a replay feeds, of one build. */
export interface ReplayBuild {
  readonly Writer: typeof EventLogWriter;
  readonly Store: typeof StatusStore;
  readonly Batch: typeof TaskEventBatch;
}

/**
 * This checkout's build (`dist/`) and, with `--baseline DIR` on the command line, that earlier build too: their
 * directories and classes, by name ('this build', 'baseline').
 */
export async function replayBuilds(): Promise<{ dists: Record<string, string>; builds: Record<string, ReplayBuild> }> {
  const dists: Record<string, string> = { 'this build': fileURLToPath(new URL('../dist', import.meta.url)) };
  const baselineAt = process.argv.indexOf('--baseline');
  if (baselineAt > 0) dists.baseline = path.resolve(process.argv[baselineAt + 1]!);
  const builds: Record<string, ReplayBuild> = {};
  for (const [name, dist] of Object.entries(dists)) {
    const at = (f: string) => pathToFileURL(path.join(dist, f)).href;
    builds[name] = {
      Writer: ((await import(at('ui/event-log.js'))) as { EventLogWriter: typeof EventLogWriter }).EventLogWriter,
      Store: ((await import(at('ui/status-store.js'))) as { StatusStore: typeof StatusStore }).StatusStore,
      Batch: ((await import(at('scheduler/task-event-batch.js'))) as { TaskEventBatch: typeof TaskEventBatch }).TaskEventBatch,
    };
  }
  return { dists, builds };
}

/**
 * Each build's CPU per task (medians and quartiles over rounds, `what` naming the thread) and, with a baseline, this
 * build's paired difference against it, round by round.
 */
export function printPerTask(perTask: Record<string, number[]>, what: string): void {
  for (const [name, xs] of Object.entries(perTask)) {
    const sorted = [...xs].sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(10)} ${what} per task: median ${median(xs).toFixed(3)} µs (quartiles ${sorted[xs.length >> 2]!.toFixed(3)} … ${sorted[(3 * xs.length) >> 2]!.toFixed(3)}, ${xs.length} rounds)`,
    );
  }
  if (perTask.baseline === undefined) return;
  const a = perTask['this build']!;
  const b = perTask.baseline;
  const d = bootstrapMedian(a.map((x, i) => x - b[i]!));
  console.log(
    `  this build minus baseline, paired by round: ${d.median >= 0 ? '+' : ''}${d.median.toFixed(3)} µs per task (95 % CI ${d.lo.toFixed(3)} … ${d.hi.toFixed(3)}); ${formatPaired(pairedDifference(a, b))}`,
  );
}
