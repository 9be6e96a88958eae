/**
 * The event log writer's own cost on the driver's thread, per task: the scheduler's task batches of `--jobs` jobs of
 * 4,000 empty tasks are recorded as rows (as `taskBatch` delivers them) with the other events, then replayed into an
 * `EventLogWriter` as index.ts feeds it (`writeTasks` per batch, `write` per other event, its timed flushes and
 * their writes included, `close` at the end). Each round's writer replays the recording twice and only the second pass
 * is measured (the first grows its columns and chunk buffers, once per program). The clock is the thread's own CPU
 * time (schedstat, ns; the kernel brings it up to date at a tick or a switch, so a measured pass is made long: 30 jobs,
 * ~0.1 s), which other processes' load stretches less than a fresh process's wall (at a load of 30+ on 2 cores,
 * cache contention still doubles it: read quiet runs).
 *
 * This is the part of "UI + log on" that a move of the log off the driver's thread could save (at most: a move adds
 * its own hand-over). The in-program figure is higher than the replay's (the program's caches are colder between
 * batches; docs/benchmarks.md, session 17), so read it as a lower bound.
 *
 * With `--baseline DIR` (an earlier build's dist/), that build's writer too, alternating round by round, and the
 * paired difference (this build minus the baseline, per round, median and quartiles).
 *
 * With `--evict MB`, a buffer of that many MiB is written over before each task batch (the same for every build, so a
 * paired difference cancels its own cost): the writer then finds its columns out of the core's caches, as in a
 * program, where the scheduler's own work runs between two batches. A warm replay does not see what a writer costs in
 * memory traffic (a block of rows ~850 KB, past a core's L2 cache).
 *
 *   npx tsx bench/ui-log-replay.ts [--jobs 30] [--rounds 21] [--evict 1] [--one-chunk] [--baseline .bench-old/dist]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppEvent } from '../src/ui/app-events.js';
import type { TaskEventBatch } from '../src/scheduler/task-event-batch.js';
import { machine } from './harness.js';
import { isRows, loadAverage, recordJobs, replayBuilds, threadNs } from './ui-recording.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const jobs = arg('--jobs', 30);
const rounds = arg('--rounds', 21);
const TASKS = 4000;
/** `--one-chunk`: fed in one go, as before session 37 (see feed). */
const landing = !process.argv.includes('--one-chunk');
const evict = new Uint8Array(arg('--evict', 0) * (1 << 20));
/** Written over before each task batch with `--evict` (a byte per cache line is enough to take the line). */
let evicted = 0;
const evictCaches = () => {
  for (let i = 0; i < evict.length; i += 64) evict[i] = evicted;
  evicted = (evicted + 1) & 0xff;
};
const load = loadAverage;
const { dists, builds } = await replayBuilds();

const recorded = await recordJobs(dists['this build']!, jobs, TASKS);
const tasks = recorded.filter(isRows).reduce((a, w) => a + w.size, 0) / 2;
console.log(`event log writer, replayed, ${machine()}, load average ${load()}: ${tasks} tasks in ${recorded.length} events/batches`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-replay-'));
const perTask: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(builds);
  for (const name of r % 2 === 0 ? names : names.reverse()) {
    const { Writer, Batch } = builds[name]!;
    // Batches as the scheduler hands them (copies: a batch adopts the wire's arrays).
    const pass = () =>
      recorded.map((e) => (isRows(e) ? Batch.fromWire({ ...e, numbers: e.numbers.slice(), codes: e.codes.slice(), idOf: e.idOf.slice() }) : e));
    const w = new Writer(dir, `replay-${r}-${name.replace(' ', '-')}`, () => []);
    // At each job's end (a flush) the write is let land, as between a program's jobs: fed in one go, a pass went out as
    // one chunk of megabytes, fresh memory grown by doubling and written synchronously at close (its page faults were
    // most of what the pass measured: 0.27 µs per task in Buffer.copy alone, session 37).
    const feed = async (events: Array<AppEvent | TaskEventBatch>) => {
      for (const e of events)
        if ('type' in e) {
          w.write(e);
          if (e.type === 'jobEnd' && landing) await new Promise((resolve) => setTimeout(resolve, 2));
        } else {
          if (evict.length > 0) evictCaches();
          w.writeTasks(e);
        }
    };
    await feed(pass());
    // The first pass's writes land before the measured one starts.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const events = pass();
    const t0 = threadNs();
    await feed(events);
    await w.close();
    (perTask[name] ??= []).push((threadNs() - t0) / 1000 / tasks);
  }
}
rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, xs] of Object.entries(perTask)) {
  const sorted = [...xs].sort((a, b) => a - b);
  console.log(
    `  ${name.padEnd(10)} driver-thread CPU per task: median ${median(xs).toFixed(3)} µs (quartiles ${sorted[xs.length >> 2]!.toFixed(3)} … ${sorted[(3 * xs.length) >> 2]!.toFixed(3)}, ${rounds} rounds)`,
  );
}
if (perTask.baseline !== undefined) {
  const d = perTask['this build']!.map((x, i) => x - perTask.baseline![i]!).sort((a, b) => a - b);
  console.log(
    `  this build minus baseline, paired by round: median ${median(d).toFixed(3)} µs per task (quartiles ${d[d.length >> 2]!.toFixed(3)} … ${d[(3 * d.length) >> 2]!.toFixed(3)})`,
  );
}
console.log(`  load average at the end ${load()}${evict.length > 0 ? ` (${evict.length >> 20} MiB written over before each batch)` : ''}`);
process.exit(0);
