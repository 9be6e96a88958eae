/**
 * k-means' iteration alone, warm, in one process: the points of examples/kmeans.ts are loaded and cached once, then
 * each round runs one kindling iteration (the example's map and reduceByKey, collected, word for word) and one
 * iteration of the plain program's loop (bench/baselines/kmeans.ts' arithmetic on a Float64Array of the same points),
 * one right after the other, so that each round's ratio compares two moments of the same machine load. Prints per
 * round the wall time and the process CPU (all threads) of each side, then the medians and the paired ratio.
 *
 * With `--trees A B ...` the rounds interleave several builds of kindling in the same process (each tree's
 * `dist/`, one context and its own workers each, all but one idle at any time): a side-by-side comparison of
 * builds whose pairs are moments apart, which on a shared 2-core machine decides far more than fresh processes
 * minutes apart. Every build must compute the same centers and cost as the others and the plain loop.
 *
 * A tree written `TREE::aggregate` runs the example's `--aggregate` program instead (aggregateByKey into
 * accumulators updated in place), so that both programs of one build can be compared side by side:
 *
 *   npx tsx bench/kmeans-iteration.ts [--rounds 20] [--small] [--k 5] [--trees /tmp/base . .::aggregate]
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RDD } from 'kindling';
import { closestCenter } from '../examples/kmeans.js';
import { parsePoint, pointsInput } from '../examples/logistic-regression.js';
import { readPoints } from './baselines/logistic-regression.js';
import { formatPaired, median, pairedDifference } from './paired.js';

type Kindling = typeof import('kindling');
type Stats = [sum: number[], count: number, cost: number];

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const rounds = flag('--rounds', 20);
const k = flag('--k', 5);
const small = args.includes('--small');
const at = args.indexOf('--trees');
const trees = at < 0 ? ['.'] : args.slice(at + 1).filter((a) => !a.startsWith('--'));

/** The means of the iteration's sums (a center without points stays), and the iteration's cost. */
function nextCenters(stats: Map<number, Stats>, centers: number[][]): [number[][], number] {
  let cost = 0;
  const next = centers.map((old, c) => {
    const s = stats.get(c);
    if (s === undefined) return old;
    cost += s[2];
    return s[0].map((v) => v / s[1]);
  });
  return [next, cost];
}

/** examples/kmeans.ts' iteration: its map and reduceByKey, collected, and the new centers. */
async function iteration(kindling: Kindling, points: RDD<number[]>, centers: number[][]): Promise<[number[][], number]> {
  const { capture } = kindling;
  const stats = await points
    .map(
      capture({ centers, closestCenter }, (p: number[]): [number, Stats] => {
        const [c, d] = closestCenter(p, centers);
        return [c, [p, 1, d]];
      }),
    )
    .reduceByKey(([s1, n1, d1]: Stats, [s2, n2, d2]: Stats): Stats => {
      // A new array: s1 may be a cached point, which must not change.
      const s = s1.slice();
      for (let j = 0; j < s.length; j++) s[j]! += s2[j]!;
      return [s, n1 + n2, d1 + d2];
    })
    .collectAsMap();
  return nextCenters(stats, centers);
}

type Sums = { sum: number[]; count: number; cost: number };

/** The same iteration as examples/kmeans.ts' `--aggregate` program (assignInPlace), word for word. */
async function iterationInPlace(kindling: Kindling, points: RDD<number[]>, centers: number[][]): Promise<[number[][], number]> {
  const { capture } = kindling;
  const zero: Sums = { sum: new Array<number>(centers[0]!.length).fill(0), count: 0, cost: 0 };
  const stats = await points
    .map(
      capture({ centers, closestCenter }, (p: number[]): [number, [number[], number]] => {
        const [c, d] = closestCenter(p, centers);
        return [c, [p, d]];
      }),
    )
    .aggregateByKey(
      zero,
      (acc: Sums, [p, d]: [number[], number]): Sums => {
        const s = acc.sum;
        for (let j = 0; j < s.length; j++) s[j]! += p[j]!;
        acc.count += 1;
        acc.cost += d;
        return acc;
      },
      (a: Sums, b: Sums): Sums => {
        const s = a.sum;
        for (let j = 0; j < s.length; j++) s[j]! += b.sum[j]!;
        a.count += b.count;
        a.cost += b.cost;
        return a;
      },
    )
    .mapValues((a): Stats => [a.sum, a.count, a.cost])
    .collectAsMap();
  return nextCenters(stats, centers);
}

const input = await pointsInput({ small });
const { count: n, dims, features: x } = readPoints(input);
const sides = await Promise.all(
  trees.map(async (tree) => {
    const inPlace = tree.endsWith('::aggregate');
    const dir = inPlace ? tree.slice(0, -'::aggregate'.length) : tree;
    const kindling = (await import(pathToFileURL(path.resolve(dir, 'dist/index.js')).href)) as Kindling;
    const sc = new kindling.Context({ master: 'local[2]' });
    const points: RDD<number[]> = sc
      .textFile(input, 2 * sc.defaultParallelism)
      .filter((line) => line.trim().length > 0)
      .map(parsePoint)
      .map((p) => p.slice(1))
      .cache();
    return { tree, kindling, sc, points, step: inPlace ? iterationInPlace : iteration, wall: [] as number[], cpu: [] as number[] };
  }),
);
try {
  for (const s of sides) await s.points.count();
  let centers: number[][] = await sides[0]!.points.take(k);
  const flatCenters = new Float64Array(k * dims);
  const sums = new Float64Array(k * dims);
  const counts = new Float64Array(k);
  // The plain program's assignment (bench/baselines/kmeans.ts), against the centers kindling starts the round from.
  const plainIteration = (): number => {
    for (let c = 0; c < k; c++) for (let j = 0; j < dims; j++) flatCenters[c * dims + j] = centers[c]![j]!;
    sums.fill(0);
    counts.fill(0);
    let total = 0;
    for (let i = 0, row = 0; i < n; i++, row += dims) {
      let best = 0;
      let bestDist = Infinity;
      for (let c = 0, at = 0; c < k; c++, at += dims) {
        let d = 0;
        for (let j = 0; j < dims; j++) {
          const diff = x[row + j]! - flatCenters[at + j]!;
          d += diff * diff;
        }
        if (d < bestDist) {
          bestDist = d;
          best = c;
        }
      }
      total += bestDist;
      counts[best]!++;
      const at = best * dims;
      for (let j = 0; j < dims; j++) sums[at + j]! += x[row + j]!;
    }
    return total;
  };
  const cpuMs = (from: NodeJS.CpuUsage): number => {
    const u = process.cpuUsage(from);
    return (u.user + u.system) / 1000;
  };
  const pWall: number[] = [];
  const pCpu: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const load = os.loadavg()[0]!;
    // Alternate which build goes first, so that none always follows the plain loop or another build.
    const order = r % 2 === 0 ? [...sides].reverse() : sides;
    let next: number[][] | undefined;
    let cost: number | undefined;
    const line: string[] = [];
    for (const s of order) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const [got, gotCost] = await s.step(s.kindling, s.points, centers);
      const w = performance.now() - t0;
      const c = cpuMs(c0);
      if (cost !== undefined && (gotCost !== cost || JSON.stringify(got) !== JSON.stringify(next))) {
        throw new Error(`round ${r}: ${s.tree} computed other centers or cost (${gotCost} vs ${cost})`);
      }
      next = got;
      cost = gotCost;
      if (r > 2) {
        s.wall.push(w);
        s.cpu.push(c);
      }
      line.push(`${s.tree} ${w.toFixed(1)} ms (CPU ${c.toFixed(1)} ms)`);
    }
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const plainCost = plainIteration();
    const pw = performance.now() - t0;
    const pc = cpuMs(c0);
    if (Math.abs(plainCost - cost!) > 1e-9 * Math.abs(plainCost)) throw new Error(`round ${r}: cost ${cost} vs the plain loop's ${plainCost}`);
    centers = next!;
    // The first two rounds compile and warm up every side.
    if (r > 2) {
      pWall.push(pw);
      pCpu.push(pc);
    }
    console.log(`round ${r}: load ${load.toFixed(1)}, ${line.join(', ')}, plain ${pw.toFixed(1)} ms (CPU ${pc.toFixed(1)} ms)`);
  }
  console.log(`median of rounds 3-${rounds}: plain ${median(pWall).toFixed(1)} ms, CPU ${median(pCpu).toFixed(1)} ms`);
  for (const s of sides) {
    console.log(
      `${s.tree}: ${median(s.wall).toFixed(1)} ms, CPU ${median(s.cpu).toFixed(1)} ms; vs plain, wall ${formatPaired(pairedDifference(s.wall, pWall))}`,
    );
    console.log(
      `KMITER ${JSON.stringify({ tree: s.tree, wall: median(s.wall), cpu: median(s.cpu), plainWall: median(pWall), plainCpu: median(pCpu) })}`,
    );
  }
  for (const s of sides.slice(1)) {
    const b = sides[0]!;
    console.log(
      `${s.tree} vs ${b.tree}: wall ${formatPaired(pairedDifference(s.wall, b.wall))}; CPU ${formatPaired(pairedDifference(s.cpu, b.cpu))}`,
    );
  }
} finally {
  for (const s of sides) await s.sc.stop();
}
