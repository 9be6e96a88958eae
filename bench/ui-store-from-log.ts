/**
 * What a status store built from an event log costs per task: the history server's load of a log, and what a live UI
 * that folded no task while nobody watched would pay at its first reader (building its store from the log it wrote,
 * docs/benchmarks.md, session 46). A context (UI off, event log on) runs `--jobs` jobs of 4,000 empty tasks; then, in
 * `--rounds` rounds, the log is read (`eventLogEvents`: lines parsed, task-end blocks expanded into events) and read
 * again into a fresh `StatusStore` (`apply` of each event, `endOfLog`). The clock is this thread's CPU time
 * (schedstat), reported per task as medians over the rounds: the parse alone, and parse + fold. Compare with the live
 * fold of the same tasks, `npx tsx bench/ui-thread-replay.ts --part store`.
 *
 *   npx tsx bench/ui-store-from-log.ts [--jobs 30] [--rounds 7]
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { machine, numberArg } from './harness.js';
import { median } from './paired.js';
import { loadAverage, threadNs } from './ui-recording.js';

const jobs = numberArg('--jobs', 30);
const rounds = numberArg('--rounds', 7);
const TASKS = 4000;
const dist = path.resolve('dist');
const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-store-from-log-'));
console.log(`a status store from an event log, ${machine()}, load average ${loadAverage()}`);
try {
  const { Context } = (await import(pathToFileURL(path.join(dist, 'index.js')).href)) as typeof import('kindling');
  const { eventLogEvents } = (await import(pathToFileURL(path.join(dist, 'ui/event-log.js')).href)) as typeof import('../src/ui/event-log.js');
  const { StatusStore } = (await import(pathToFileURL(path.join(dist, 'ui/status-store.js')).href)) as typeof import('../src/ui/status-store.js');
  const sc = new Context({ master: 'local[2]', progress: false, ui: false, eventLog: { dir } });
  const rdd = sc.parallelize([], TASKS);
  for (let i = 0; i < jobs; i++) await rdd.count();
  await sc.stop();
  const file = path.join(dir, readdirSync(dir)[0]!);
  const parse: number[] = [];
  const fold: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t0 = threadNs();
    let ends = 0;
    for (const e of eventLogEvents(file)) if (e.type === 'taskEnd') ends++;
    parse.push((threadNs() - t0) / 1000 / ends);
    t0 = threadNs();
    const store = new StatusStore();
    for (const e of eventLogEvents(file)) store.apply(e);
    store.endOfLog();
    fold.push((threadNs() - t0) / 1000 / ends);
    if (store.stages.size !== jobs || ends !== jobs * TASKS) throw new Error(`read ${store.stages.size} stages and ${ends} task ends`);
  }
  console.log(
    `  ${jobs} jobs of ${TASKS} empty tasks, ${rounds} rounds, CPU µs per task (medians): the log parsed ${median(parse).toFixed(3)}, ` +
      `parsed and folded into a store ${median(fold).toFixed(3)} (first round ${fold[0]!.toFixed(3)})`,
  );
  console.log(`  load average at the end ${loadAverage()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
