/**
 * One COST workload's kindling side, run cold (a fresh process each, as bench/cost.ts does) alternately in two or
 * more build trees: the side-by-side comparison of a change with the code before it (a copy of an earlier commit,
 * built, with `node_modules` and `data` linked in). Prints each run (load average, whole-process wall time, the
 * program's first phase, the median of its later iterations, peak RSS, the start of its result, which must agree)
 * and the medians per tree. The process runs under `/usr/bin/time`, so that its CPU time (user + sys, all threads)
 * is printed too: on a shared machine CPU time moves far less with the load than wall time does.
 *
 *   npx tsx bench/cost-alternate.ts --rounds 3 --workload pagerank /tmp/base-tree .
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 3);
const workload = flag('--workload') ?? 'pagerank';
const trees = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')).map((t) => path.resolve(t));
if (trees.length < 2) {
  // Part of `npx kindling bench` (every benchmark): nothing to compare without trees.
  console.log('usage: npx tsx bench/cost-alternate.ts [--rounds 3] [--workload pagerank] TREE TREE...');
  process.exit(0);
}
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const runs = new Map(trees.map((t) => [t, { total: [] as number[], later: [] as number[], rss: [] as number[], cpu: [] as number[] }]));
for (let r = 0; r < rounds; r++) {
  // Alternate which tree goes first, so that neither always meets the load of the other's tail.
  for (const tree of r % 2 === 0 ? trees : [...trees].reverse()) {
    const load = os.loadavg()[0]!;
    const t0 = performance.now();
    // node itself (not npx, whose own CPU would be counted), the time's line on stderr.
    const child = spawnSync('/usr/bin/time', ['-f', 'CPUTIME %U %S', 'node', '--import', 'tsx', 'bench/cost-run.ts', 'kindling', workload], {
      cwd: tree,
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`${tree}: exit ${child.status}\n${child.stderr}`);
    const out = child.stdout;
    const [user, sys] = /CPUTIME ([\d.]+) ([\d.]+)/.exec(child.stderr)!.slice(1).map(Number) as [number, number];
    const total = performance.now() - t0;
    const timings = JSON.parse(/TIMINGS (.*)/.exec(out)![1]!) as Array<{ phase: string; ms: number }>;
    const later = timings.filter((x) => /^iteration ([2-9]|\d\d+)$/.test(x.phase)).map((x) => x.ms);
    const rss = Number(/MAXRSS (\d+)/.exec(out)![1]) / 1024;
    const m = runs.get(tree)!;
    m.total.push(total);
    if (later.length > 0) m.later.push(median(later));
    m.rss.push(rss);
    m.cpu.push(user + sys);
    const first = timings[0] === undefined ? '' : `${timings[0].phase} ${timings[0].ms.toFixed(0)} ms, `;
    console.log(
      `${tree}: load ${load.toFixed(1)}, ${(total / 1000).toFixed(2)} s, ${first}later iterations median ` +
        `${later.length > 0 ? median(later).toFixed(0) : '-'} ms, peak RSS ${rss.toFixed(0)} MB, CPU ${(user + sys).toFixed(2)} s (user ${user.toFixed(2)}), ${/RESULT (.{0,70})/.exec(out)![1]}`,
    );
  }
}
for (const [tree, m] of runs) {
  const later = m.later.length > 0 ? `${median(m.later).toFixed(0)} ms` : '-';
  console.log(
    `median ${tree}: ${(median(m.total) / 1000).toFixed(2)} s, later iteration ${later}, peak RSS ${median(m.rss).toFixed(0)} MB, CPU ${median(m.cpu).toFixed(2)} s`,
  );
}
