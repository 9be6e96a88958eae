/**
 * What the UI costs a script nobody looks at, measured on its own: the events of a word count of `--mb` MiB (recorded
 * once from a real run in this process), replayed in fresh processes into `startUi` of this build and of an earlier
 * one (`--baseline DIR`, a copy of its dist/ inside this checkout), with the UI on (port 0) and an event log, and into
 * no UI at all ("none": the same process, the package loaded as a script loads it). Each process: its CPU time (all threads,
 * `process.cpuUsage`) from before `startUi`'s import to after `stop()`, with a 300 ms pause before stop() so that
 * what loads lazily lands (as it would while a script's job runs); `startUi`'s synchronous time; and with `--connect`,
 * one REST request before stop() (a user who looks). The UI's own CPU is each process's against the "none" process
 * of its round; the settings alternate in order round by round, and medians are reported.
 *
 * With `--no-log`, the UI alone (a program's default: no event log).
 *
 *   npx tsx bench/ui-lazy.ts [--processes 10] [--mb 20] [--baseline .bench-old/dist] [--connect] [--no-log]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { machine } from './harness.js';
import { median } from './paired.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const processes = arg('--processes', 10);
const mb = arg('--mb', 20);
const connect = process.argv.includes('--connect');
const noLog = process.argv.includes('--no-log');
const baselineAt = process.argv.indexOf('--baseline');
const dists: Record<string, string> = { 'this build': fileURLToPath(new URL('../dist', import.meta.url)) };
if (baselineAt > 0) dists.baseline = path.resolve(process.argv[baselineAt + 1]!);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-lazy-'));
const file = await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 });
// The events a word count's driver emits, task events one by one (copied: the scheduler reuses their records).
const recorded: unknown[] = [];
const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
const off = sc.events.onAny((e) => void (e.type !== 'taskBatch' && recorded.push({ ...e })));
await sc
  .textFile(file)
  .flatMap((l) => l.split(' '))
  .map((w) => [w, 1] as [string, number])
  .reduceByKey((a, b) => a + b)
  .count();
off();
await sc.stop();
const eventsFile = path.join(dir, 'events.json');
writeFileSync(eventsFile, JSON.stringify(recorded));
const tasks = recorded.filter((e) => (e as { type: string }).type === 'taskEnd').length;
console.log(
  `UI's own cost${noLog ? ' (no event log)' : ', UI and event log'}, replayed word count of ${mb} MiB (${recorded.length} events, ${tasks} tasks), ${machine()}, load average ${load()}`,
);

const child = (dist: string | undefined) => `
  const { performance: perf } = await import('node:perf_hooks');
  const { readFileSync } = await import('node:fs');
  const events = JSON.parse(readFileSync(${JSON.stringify(eventsFile)}, 'utf8'));
  const d = ${JSON.stringify(pathToFileURL(dist ?? dists['this build']!).href)};
  // What a script has loaded before its context starts (node:net and node:child_process among it: listening then
  // costs ~1 ms of loading node:cluster, not the ~11 ms it costs a bare process).
  await import(d + '/index.js');
  const { EventBus } = await import(d + '/scheduler/event-bus.js');
  const { TaskEventBatch } = await import(d + '/scheduler/task-event-batch.js');
  const bus = new EventBus();
  const c0 = process.cpuUsage();
  let sync = 0, ui;
  if (${dist !== undefined}) {
    const { startUi } = await import(d + '/ui/index.js');
    const t = perf.now();
    ui = startUi(bus, { appName: 'replay', numWorkers: 2, storageBytesPerWorker: 1 << 28, options: {}, eventLog: ${noLog ? 'false' : `{ dir: ${JSON.stringify(dir)} }`},
      ui: { port: 0, host: '127.0.0.1', killEnabled: false, retainedJobs: 1000, retainedStages: 1000 } });
    sync = perf.now() - t;
  }
  // As the scheduler emits them: a turn's task events as one batch.
  const batch = new TaskEventBatch();
  const flush = () => { if (batch.size > 0) { bus.emit({ type: 'taskBatch', tasks: batch }); batch.clear(); } };
  for (const e of events) {
    if (e.type === 'taskStart') Object.assign(batch.nextStart(), e);
    else if (e.type === 'taskEnd') Object.assign(batch.nextEnd(), e);
    else { flush(); bus.emit(e); }
  }
  flush();
  await new Promise((r) => setTimeout(r, 300));
  if (${connect} && ui) await (await fetch((await ui.url()) + '/api/v1/applications/' + ui.appId + '/jobs')).text();
  await ui?.stop();
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ cpu: (c.user + c.system) / 1000, sync }));
`;

const kinds = [...Object.keys(dists), 'none'];
const got: Record<string, Array<{ cpu: number; sync: number }>> = {};
try {
  for (let i = 0; i < processes; i++) {
    for (const kind of i % 2 === 0 ? kinds : [...kinds].reverse()) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(kind === 'none' ? undefined : dists[kind])], {
        encoding: 'utf8',
      });
      (got[kind] ??= []).push(JSON.parse(out.trim().split('\n').at(-1)!));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const kind of Object.keys(dists)) {
  const own = got[kind]!.map((r, i) => r.cpu - got.none![i]!.cpu);
  console.log(
    `  ${kind.padEnd(10)} ${processes} processes${connect ? ', one request each' : ''}: UI's own CPU (against the "none" process of its round) median ${median(own).toFixed(1)} ms ` +
      `(per round ${own.map((x) => x.toFixed(0)).join(', ')}); startUi synchronous median ${median(got[kind]!.map((r) => r.sync)).toFixed(2)} ms`,
  );
}
console.log(`  none: CPU median ${median(got.none!.map((r) => r.cpu)).toFixed(1)} ms; load average at the end ${load()}`);
