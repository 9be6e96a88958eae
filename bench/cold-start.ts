/**
 * Start-up of a cold process, alternately in two or more build trees: import kindling (the tree's package entry, what
 * `import 'kindling'` loads there: dist/entry.js, or dist/index.js in a tree older than session 19), create a
 * `local[2]` context, run a tiny job (its first task waits for both workers), stop. Prints wall time and the CPU
 * time of the whole process (every thread) per phase, with the load average, each run in a fresh `node`.
 *
 *   npx tsx bench/cold-start.ts --rounds 5 /work/base .
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const i = args.indexOf('--rounds');
const rounds = i >= 0 ? Number(args[i + 1]) : 5;
const trees = args.filter((a, j) => !a.startsWith('--') && args[j - 1] !== '--rounds').map((t) => path.resolve(t));
if (trees.length < 2) {
  // Part of `npx kindling bench` (every benchmark): nothing to compare without trees.
  console.log('usage: npx tsx bench/cold-start.ts [--rounds 5] TREE TREE...');
  process.exit(0);
}

/** The child: one cold start in `tree`, printed as JSON. */
const child = `
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const t0 = performance.now(), c0 = cpu();
const { Context } = await import(process.argv[2]);
const t1 = performance.now(), c1 = cpu();
const sc = new Context({ master: 'local[2]', progress: false });
const n = await sc.range(4, undefined, 1, 2).count();
const t2 = performance.now(), c2 = cpu();
await sc.stop();
const t3 = performance.now(), c3 = cpu();
const load = (await import('node:os')).loadavg()[0];
console.log(JSON.stringify({ n, load, wall: [t1 - t0, t2 - t1, t3 - t2], cpu: [c1 - c0, c2 - c1, c3 - c2] }));
`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const phases = ['import', 'context + first job', 'stop'];
const all = new Map(trees.map((t) => [t, [] as Array<{ wall: number[]; cpu: number[] }>]));
for (let r = 0; r < rounds; r++) {
  for (const tree of r % 2 === 0 ? trees : [...trees].reverse()) {
    const entry = path.join(tree, 'dist', existsSync(path.join(tree, 'dist', 'entry.js')) ? 'entry.js' : 'index.js');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', child, tree, entry], { encoding: 'utf8' });
    const res = JSON.parse(out.trim().split('\n').pop()!) as { n: number; load: number; wall: number[]; cpu: number[] };
    if (res.n !== 4) throw new Error(`${tree}: count ${res.n}, expected 4`);
    all.get(tree)!.push(res);
    const parts = phases.map((p, k) => `${p} ${res.wall[k]!.toFixed(0)} ms (CPU ${res.cpu[k]!.toFixed(0)})`).join(', ');
    console.log(`${tree}: load ${res.load.toFixed(1)}, ${parts}`);
  }
}
for (const [tree, runs] of all) {
  const parts = phases.map(
    (p, k) => `${p} ${median(runs.map((x) => x.wall[k]!)).toFixed(0)} ms (CPU ${median(runs.map((x) => x.cpu[k]!)).toFixed(0)})`,
  );
  console.log(`median ${tree}: ${parts.join(', ')}`);
}
