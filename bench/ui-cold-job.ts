/**
 * What the UI costs a script of one job, as a user meets it: a fresh process per run that imports kindling, makes a
 * context (UI on by default, here on port 0; or `ui: false`), runs one job and stops: cold, module loading, the
 * workers' start-up, and the UI's thread (since session 31 started once the store loads: the first connection or
 * HELD_FOR_STORE events held) all included. Jobs: 2,000 / 8,000 / 40,000 empty tasks and a word count of `--mb` MiB.
 * Builds: this one (on and off) and any number of others given as `--build NAME=DIR` (a copy of a build's dist/
 * inside this checkout, so that it finds node_modules, with package.json copied beside it, where dist/version.js reads
 * it; UI on), all in one alternating rotation per round, so that
 * every setting sees the same load. Each process reports its wall from its start to after stop() (performance.now(),
 * since the process's time origin), its CPU of all threads (process.cpuUsage), and whether a UI thread started;
 * the result is, per setting, the median over rounds of its run against this build's off run of the same round, with
 * a bootstrap 95 % interval (bench/paired.ts).
 *
 *   npx tsx bench/ui-cold-job.ts [--rounds 8] [--mb 20] [--build base=.bench-old/dist] [--build main=.bench-old/main/dist] [--jobs 2000,8000,40000,wc]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDataset } from 'kindling/datagen';
import { machine } from './harness.js';
import { formatPaired, median, pairedDifference } from './paired.js';

const argv = process.argv;
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i > 0 ? argv[i + 1]! : fallback;
};
const rounds = Number(arg('--rounds', '8'));
const mb = Number(arg('--mb', '20'));
const jobs = arg('--jobs', '2000,8000,40000,wc').split(',');
const builds: Record<string, string> = {};
argv.forEach((a, i) => {
  if (a !== '--build') return;
  const [name, dir] = argv[i + 1]!.split('=') as [string, string];
  const entry = path.resolve(dir, 'entry.js');
  builds[name] = pathToFileURL(existsSync(entry) ? entry : path.resolve(dir, 'index.js')).href;
});
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const text = jobs.includes('wc') ? await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 }) : '';

const child = (entry: string, ui: boolean, job: string) => `
  const fs = await import('node:fs');
  const tids = () => fs.readdirSync('/proc/self/task').length;
  const { Context } = await import(${JSON.stringify(entry)});
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, ${ui ? 'ui: { port: 0 }' : 'ui: false'} });
  const threads = tids();
  ${
    job === 'wc'
      ? `await sc.textFile(${JSON.stringify(text)}).flatMap((l) => l.split(' ')).map((w) => [w, 1]).reduceByKey((a, b) => a + b).count();`
      : `await sc.parallelize([], ${Number(job)}).count();`
  }
  const uiThread = tids() > threads;
  await sc.stop();
  const c = process.cpuUsage();
  console.log(JSON.stringify({ wall: performance.now(), cpu: (c.user + c.system) / 1000, uiThread }));
`;
type Row = { wall: number; cpu: number; uiThread: boolean };
const settings: [string, string, boolean][] = [
  ['this on', 'kindling', true],
  ['this off', 'kindling', false],
  ...Object.entries(builds).map(([name, entry]): [string, string, boolean] => [`${name} on`, entry, true]),
];
console.log(`UI on vs off, one cold job per fresh process, ${rounds} rounds, ${machine()}, load average ${load()}`);
for (const job of jobs) {
  const got: Record<string, Row[]> = {};
  for (let r = 0; r < rounds; r++) {
    // The order rotates round by round, so that no setting always runs after the same other.
    const order = settings.map((_, i) => settings[(i + r) % settings.length]!);
    for (const [name, entry, ui] of order) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(entry, ui, job)], { encoding: 'utf8' });
      (got[name] ??= []).push(JSON.parse(out.trim().split('\n').at(-1)!));
    }
  }
  const what = job === 'wc' ? `word count of ${mb} MiB` : `${job} empty tasks`;
  const off = got['this off']!;
  console.log(
    `${what}: this build off: median wall ${median(off.map((x) => x.wall)).toFixed(0)} ms, CPU ${median(off.map((x) => x.cpu)).toFixed(0)} ms (load ${load()})`,
  );
  for (const [name] of settings) {
    if (name === 'this off') continue;
    const rows = got[name]!;
    const ms = (k: 'wall' | 'cpu') => median(rows.map((x, i) => x[k] - off[i]![k])).toFixed(0);
    console.log(
      `  ${name.padEnd(9)} wall ${median(rows.map((x) => x.wall)).toFixed(0)} ms, ${formatPaired(
        pairedDifference(
          rows.map((x) => x.wall),
          off.map((x) => x.wall),
        ),
      )}, median +${ms('wall')} ms; ` +
        `CPU ${median(rows.map((x) => x.cpu)).toFixed(0)} ms, ${formatPaired(
          pairedDifference(
            rows.map((x) => x.cpu),
            off.map((x) => x.cpu),
          ),
        )}, median +${ms('cpu')} ms; UI thread in ${rows.filter((x) => x.uiThread).length}/${rows.length}`,
    );
  }
}
