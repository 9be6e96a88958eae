/**
 * What a status store built from an event log costs per task: the history server's load of a log, and what a live UI
 * that folded no task while nobody watched would pay at its first reader (building its store from the log it wrote,
 * docs/benchmarks.md, session 46). A context (UI off, event log on) runs `--jobs` jobs of 4,000 empty tasks; then, in
 * `--rounds` rounds, the log is read (`eventLogEvents`: lines parsed, task-end blocks expanded into events) and read
 * again into a fresh `StatusStore` (`apply` of each event, `endOfLog`). The clock is this thread's CPU time
 * (schedstat), reported per task as medians over the rounds: the parse alone, and parse + fold. Compare with the live
 * fold of the same tasks, `npx tsx bench/ui-thread-replay.ts --part store`.
 *
 * With `--mid-job`, instead: whether such a store answers as the live one does at a point mid-job where nothing moves
 * (a shuffle and a failed job done, two tasks of a third computing for seconds, the log flushed with their
 * `tasksRunning` line): the live REST answers of some endpoints against those of a store read from the log then
 * (`--show` prints both bodies of each that differs). The two reads are not atomic: a task that ends between them
 * (two can, on a loaded machine) shows as a difference that is no store's.
 *
 *   npx tsx bench/ui-store-from-log.ts [--jobs 30] [--rounds 7] [--mid-job [--show]]
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
  if (process.argv.includes('--mid-job')) await midJob();
  else await perTask();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function perTask(): Promise<void> {
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
}

async function midJob(): Promise<void> {
  const { Context } = (await import(pathToFileURL(path.join(dist, 'index.js')).href)) as typeof import('kindling');
  const { eventLogEvents } = (await import(pathToFileURL(path.join(dist, 'ui/event-log.js')).href)) as typeof import('../src/ui/event-log.js');
  const { StatusStore } = (await import(pathToFileURL(path.join(dist, 'ui/status-store.js')).href)) as typeof import('../src/ui/status-store.js');
  const { restAnswer } = (await import(pathToFileURL(path.join(dist, 'ui/rest.js')).href)) as typeof import('../src/ui/rest.js');
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: { port: 0 }, eventLog: { dir } });
  try {
    await sc
      .parallelize([...Array(1000).keys()], 8)
      .map((x) => [x % 7, 1] as [number, number])
      .reduceByKey((a, b) => a + b)
      .collect();
    const failing = sc.parallelize([1, 2, 3], 3).map((x) => {
      if (x === 2) throw new Error('boom');
      return x;
    });
    await failing.collect().catch(() => undefined);
    const slow = sc
      .parallelize([...Array(6).keys()], 6)
      .map((x) => {
        const until = Date.now() + 4000;
        while (Date.now() < until);
        return x;
      })
      .count();
    // Past the log's flush of the running tasks (FLUSH_MS after their launch), well before they end.
    await new Promise((r) => setTimeout(r, 2500));
    const app = `applications/${sc.applicationId}`;
    const paths = ['', '/jobs', '/stages', '/executors', '/allexecutors', '/jobs/2', '/stages/3', '/stages/3/0', '/stages/3/0/taskList'];
    paths.push('/stages/3/0/taskSummary', '/stages/0/0/taskList', '/stages/1/0/taskList?sortBy=-runtime', '/stages/2/0/taskList');
    const live: string[] = [];
    for (const p of paths) live.push(await (await fetch(`${await sc.uiWebUrl()}/api/v1/${app}${p}`)).text());
    const store = new StatusStore();
    for (const e of eventLogEvents(path.join(dir, readdirSync(dir)[0]!))) store.apply(e);
    store.endOfLog();
    const apps = new Map([[String(sc.applicationId), store]]);
    const differ = paths.filter((p, i) => {
      const [at, query = ''] = p.split('?');
      const body = restAnswer(apps, `${app}${at}`, query === '' ? '' : `?${query}`).body;
      if (process.argv.includes('--show') && body !== live[i]) console.log(p, '\n live:', live[i], '\n log:', body);
      return body !== live[i];
    });
    console.log(
      `  mid-job, ${paths.length} endpoints: ${differ.length} differ${differ.length > 0 ? ` (${differ.map((p) => `'${p}'`).join(', ')})` : ''}`,
    );
    await slow;
  } finally {
    await sc.stop();
  }
}
