/**
 * The record loops session 45 gave interrupt checks (pulled partitions, zip, flatMap, a combine's groups, cartesian),
 * timed on several builds side by side in one process (each tree's dist/, its own context and workers), rounds
 * alternating the builds' order; prints each shape's median process CPU per build and the paired difference.
 *
 *   npx tsx bench/interrupt-checks.ts [--rounds 20] [--only zip,cart] --trees /tmp/base .
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatPaired, median, pairedDifference } from './paired.js';
type Kindling = typeof import('kindling');
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 7);
const trees = args.slice(args.indexOf('--trees') + 1).filter((a) => !a.startsWith('--') && !a.includes(','));
const sides = [] as { tree: string; sc: InstanceType<Kindling['Context']>; shapes: Record<string, () => Promise<number>> }[];
for (const tree of trees) {
  const k = (await import(pathToFileURL(path.resolve(tree, 'dist/index.js')).href)) as Kindling;
  const sc = new k.Context({ master: 'local[2]', progress: false, ui: false, hints: false });
  const nums = sc
    .range(0, 4_000_000, 1, 4)
    .map((x) => x * 2)
    .cache();
  const lines = sc
    .range(0, 400_000, 1, 4)
    .map((i) => `w${i % 97} x${i % 13} y${i % 1001} z${i} a b c d e f`)
    .cache();
  const small = sc
    .parallelize(
      Array.from({ length: 200 }, (_, i) => i),
      2,
    )
    .cache();
  const right = sc.range(0, 20_000, 1, 2).cache();
  await nums.count();
  await lines.count();
  await small.count();
  await right.count();
  const shapes = {
    'mapPartitions pull': () =>
      nums
        .mapPartitions(function* (it) {
          for (const x of it) yield x + 1;
        })
        .count(),
    zip: () => nums.zip(nums).count(),
    'flatMap split': () => lines.flatMap((l) => l.split(' ')).count(),
    'reduceByKey groups out': () =>
      nums
        .map((x): [number, number] => [x % 400_000, 1])
        .reduceByKey((a, b) => a + b, 4)
        .map((kv) => kv[1])
        .sum(),
    cartesian: () => small.cartesian(right).count(),
  };
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined;
  for (const name of Object.keys(shapes))
    if (only !== undefined && !only.some((o) => name.startsWith(o))) delete (shapes as Record<string, unknown>)[name];
  sides.push({ tree, sc, shapes });
}
const cpu: Record<string, number[][]> = {};
for (let r = -1; r < rounds; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const name of Object.keys(sides[0]!.shapes)) {
    for (const s of order) {
      const c0 = process.cpuUsage();
      const n = await s.shapes[name]!();
      const c = process.cpuUsage(c0);
      if (r >= 0) (cpu[name] ??= sides.map(() => []))[sides.indexOf(s)]!.push((c.user + c.system) / 1000);
      void n;
    }
  }
}
for (const [name, per] of Object.entries(cpu)) {
  console.log(
    `${name}: ${sides.map((s, i) => `${s.tree} ${median(per[i]!).toFixed(0)} ms`).join(', ')}; ${trees[1]} vs ${trees[0]} CPU: ${formatPaired(pairedDifference(per[1]!, per[0]!))}`,
  );
}
await Promise.all(sides.map((s) => s.sc.stop()));
