/**
 * One COST workload's kindling side, run cold (a fresh process each, as bench/cost.ts does) alternately in two or
 * more build trees: the side-by-side comparison of a change with the code before it (a copy of an earlier commit,
 * built, with `node_modules` and `data` linked in). Prints each run (load average, whole-process wall time, the
 * program's first phase, the median of its later iterations, peak RSS, the start of its result, which must agree)
 * and the medians per tree. CPU time is user + system of the whole process tree, all threads (`/usr/bin/time`): far
 * less at the mercy of a shared machine's load than wall time.
 *
 *   npx tsx bench/cost-alternate.ts --rounds 3 --workload pagerank /tmp/base-tree .
 *
 * A tree may carry context options after `::`, as JSON (passed in KINDLING_CONF, as `kindling run --conf` does),
 * so that one tree can run against itself with another setting:
 *
 *   npx tsx bench/cost-alternate.ts --workload kmeans . '.::{"localityWaitMs":3000}'
 *
 * A tree may also carry flags for its node process after `|` (V8's flags are the process's, so its worker threads'
 * too), to compare a V8 setting side by side without a build of its own:
 *
 *   npx tsx bench/cost-alternate.ts --workload pagerank . '.|--no-parallel-scavenge'
 *
 * With two trees or more, each is also compared with the first, round by round (bench/paired.ts): wall time, CPU
 * time, and for the iterative workloads the median of the later iterations.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { formatPaired, pairedDifference } from './paired.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 3);
const workload = flag('--workload') ?? 'pagerank';
const trees = args
  .filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))
  .map((t) => {
    const bar = t.indexOf('|');
    const flags = bar < 0 ? '' : t.slice(bar);
    const rest = bar < 0 ? t : t.slice(0, bar);
    const at = rest.indexOf('::');
    const dir = path.resolve(at < 0 ? rest : rest.slice(0, at));
    return (at < 0 ? dir : `${dir}::${rest.slice(at + 2)}`) + flags;
  });
/** The tree's node flags (after `|`), and the tree without them. */
const flagsOf = (tree: string): string[] => tree.split('|').slice(1);
const withoutFlags = (tree: string): string => tree.split('|')[0]!;
const dirOf = (tree: string): string => withoutFlags(tree).split('::')[0]!;
const confOf = (tree: string): string | undefined => {
  const t = withoutFlags(tree);
  return t.includes('::') ? t.slice(t.indexOf('::') + 2) : undefined;
};
if (trees.length < 2) {
  // Part of `npx kindling bench` (every benchmark): nothing to compare without trees.
  console.log('usage: npx tsx bench/cost-alternate.ts [--rounds 3] [--workload pagerank] TREE TREE...');
  process.exit(0);
}
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const runs = new Map(
  trees.map((t) => [
    t,
    { total: [] as number[], later: [] as number[], rss: [] as number[], cpu: [] as number[], faults: [] as number[], all: [] as number[] },
  ]),
);
for (let r = 0; r < rounds; r++) {
  // Alternate which tree goes first, so that neither always meets the load of the other's tail.
  for (const tree of r % 2 === 0 ? trees : [...trees].reverse()) {
    const load = os.loadavg()[0]!;
    const t0 = performance.now();
    // The script's own node process (tsx as its loader), without npx in front of it, timed by /usr/bin/time.
    const run = spawnSync(
      '/usr/bin/time',
      ['-f', 'CPUTIME %U %S FAULTS %R', process.execPath, ...flagsOf(tree), '--import', 'tsx', 'bench/cost-run.ts', 'kindling', workload],
      {
        cwd: dirOf(tree),
        env: { ...process.env, ...(confOf(tree) === undefined ? {} : { KINDLING_CONF: confOf(tree) }) },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const total = performance.now() - t0;
    if (run.status !== 0) throw new Error(`run in ${tree} failed (${run.status}): ${run.stderr}`);
    const out = run.stdout;
    const [user, sys] = /CPUTIME ([\d.]+) ([\d.]+)/.exec(run.stderr)!.slice(1).map(Number) as [number, number];
    const cpu = user + sys;
    // Minor page faults of the whole process: fresh memory touched (~11 µs each on this VM, session 18).
    const faults = Number(/FAULTS (\d+)/.exec(run.stderr)![1]);
    const timings = JSON.parse(/TIMINGS (.*)/.exec(out)![1]!) as Array<{ phase: string; ms: number }>;
    const later = timings.filter((x) => /^iteration ([2-9]|\d\d+)$/.test(x.phase)).map((x) => x.ms);
    // Every iteration, the first included (what bench/cost.ts compares for k-means).
    const all = timings.filter((x) => /^iteration \d+$/.test(x.phase)).map((x) => x.ms);
    const rss = Number(/MAXRSS (\d+)/.exec(out)![1]) / 1024;
    const m = runs.get(tree)!;
    m.total.push(total);
    if (later.length > 0) m.later.push(median(later));
    if (all.length > 0) m.all.push(median(all));
    m.rss.push(rss);
    m.cpu.push(cpu);
    m.faults.push(faults);
    const first = timings[0] === undefined ? '' : `${timings[0].phase} ${timings[0].ms.toFixed(0)} ms, `;
    console.log(
      `${tree}: load ${load.toFixed(1)}, ${(total / 1000).toFixed(2)} s, CPU ${cpu.toFixed(2)} s, ${faults} faults, ${first}later iterations median ` +
        `${later.length > 0 ? median(later).toFixed(0) : '-'} ms (1-N ${all.length > 0 ? median(all).toFixed(0) : '-'} ms), peak RSS ${rss.toFixed(0)} MB, ${/RESULT (.{0,70})/.exec(out)![1]}`,
    );
  }
}
for (const [tree, m] of runs) {
  const later = m.later.length > 0 ? `${median(m.later).toFixed(0)} ms (1-N ${median(m.all).toFixed(0)} ms)` : '-';
  console.log(
    `median ${tree}: ${(median(m.total) / 1000).toFixed(2)} s, CPU ${median(m.cpu).toFixed(2)} s, ${median(m.faults)} faults, later iteration ${later}, peak RSS ${median(m.rss).toFixed(0)} MB`,
  );
}
// Each tree against the first, round by round (the runs of a round are moments apart): the median of the paired
// differences and its bootstrap 95 % interval, which the medians above cannot give when a run spreads more than
// the difference sought.
const [first, ...others] = [...runs];
for (const [tree, m] of others) {
  const of = first![1];
  console.log(
    `paired ${tree} vs ${first![0]}: wall ${formatPaired(pairedDifference(m.total, of.total))}; CPU ${formatPaired(pairedDifference(m.cpu, of.cpu))}; faults ${formatPaired(pairedDifference(m.faults, of.faults))}` +
      (m.later.length === of.later.length && m.later.length > 0 ? `; later iteration ${formatPaired(pairedDifference(m.later, of.later))}` : ''),
  );
}
