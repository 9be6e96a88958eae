/**
 * The map side of one later PageRank iteration's `reduceByKey`, measured in one thread, side by side with an
 * earlier build: one worker's half of the links of the generated graph (sources with an even id, ~500k
 * contributions into ~97k destinations), each list turned into `[dst, share]` pairs as the example's flatMap does,
 * combined by the engine's `combineValuesExternally` under a worker memory pool, with `(a, b) => a + b` (the same
 * function object every round). The first rounds warm up. Session 6 used it to test a capacity hint for the
 * number table (start at the size the previous combine with the same functions ended at): no difference, reverted.
 *
 * CPU time (user + system) of this process per combine, median and minimum over rounds, builds interleaved (the
 * order swapped every round): on a shared 2-core machine CPU time moves far less with the load than wall time.
 *
 *   npx tsx bench/pagerank-map-combine.ts [--rounds 30] [--baseline DIR] [--hashed] [--fresh]
 *
 * `--baseline DIR`: the root of another checkout whose `dist/` was built; its combine runs in the same rotation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuMs, machineAndLoad, median, workerHalf } from './pagerank-worker-half.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 30);
const baseline = flag('--baseline');
const WARMUP = 4;

type Pair = [unknown, unknown];
interface Aggregator {
  createCombiner(v: unknown): unknown;
  mergeValue(c: unknown, v: unknown): unknown;
  mergeCombiners(a: unknown, b: unknown): unknown;
}
type CombineFn = (source: (each: (kv: Pair) => void) => void, agg: Aggregator, rddId: number, label: string, sink: (kv: Pair) => void) => void;
interface Build {
  name: string;
  combine: CombineFn;
  setBudget: (b: unknown) => void;
  budget: unknown;
  agg: Aggregator;
  cpu: number[];
  /** Sets whether this build's number tables address dense keys directly (builds that have the switch). */
  dense?: () => void;
}

const load = async (root: string, file: string): Promise<Record<string, unknown>> =>
  (await import(pathToFileURL(path.join(root, 'dist', file)).href)) as Record<string, unknown>;
const here = path.resolve(import.meta.dirname, '..');
const roots: Array<{ name: string; root: string; dense?: boolean }> = [{ name: 'this build', root: here }];
// `--hashed`: this build again with the direct layout for dense keys off (number-table.ts), in the same rotation.
if (args.includes('--hashed')) roots.push({ name: 'this build, dense keys hashed', root: here, dense: false });
if (baseline !== undefined) roots.push({ name: `baseline (${baseline})`, root: path.resolve(baseline) });
const spill = mkdtempSync(path.join(os.tmpdir(), 'kindling-map-combine-'));
const add = (a: unknown, b: unknown): unknown => (a as number) + (b as number);
const identity = (v: unknown): unknown => v;
// `--fresh`: the user's `(a, b) => a + b` as a new function object every round, from one factory of its source
// (closure/compile.ts gives each task such a closure), instead of the same object throughout.
const fresh = args.includes('--fresh');
const userAdd = new Function('"use strict";\nreturn ((a, b) => a + b\n);') as () => (a: unknown, b: unknown) => unknown;
const builds: Build[] = [];
for (const { name, root, dense } of roots) {
  const ext = await load(root, 'shuffle/external-combiner.js');
  const nt = (await load(root, 'shuffle/number-table.js')) as { setDenseNumberKeys?: (on: boolean) => boolean };
  const mb = (await load(root, 'shuffle/memory-budget.js')) as {
    MemoryBudget: new (bytes: number, dir: string) => unknown;
    setWorkerMemoryBudget: (b: unknown) => void;
  };
  builds.push({
    name,
    combine: ext.combineValuesExternally as CombineFn,
    setBudget: mb.setWorkerMemoryBudget,
    budget: new mb.MemoryBudget(1 << 30, spill),
    // reduceByKey's aggregator: createCombiner the identity, merges the user's function.
    agg: { createCombiner: identity, mergeValue: add, mergeCombiners: add },
    cpu: [],
    dense: nt.setDenseNumberKeys === undefined ? undefined : () => nt.setDenseNumberKeys!(dense ?? true),
  });
}

// One worker's half of the links: out-lists of the sources with an even id.
const half = await workerHalf();
const lists = half.links.map(([, l]) => l);
const { ranks, contributions } = half;
const cpu = cpuMs;

let groups = 0;
for (let r = 0; r < rounds + WARMUP; r++) {
  for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
    b.setBudget(b.budget);
    b.dense?.();
    if (fresh) {
      // A new closure of the same compiled source every round, as a worker's compile gives each task.
      const merge = userAdd();
      b.agg = { createCombiner: identity, mergeValue: merge, mergeCombiners: merge };
    }
    const c0 = cpu();
    let n = 0;
    b.combine(
      (each) => {
        for (let s = 0; s < lists.length; s++) {
          const urls = lists[s]!;
          const share = ranks[s]! / urls.length;
          const ys = urls.map((url): Pair => [url, share]);
          for (let i = 0; i < ys.length; i++) each(ys[i]!);
        }
      },
      b.agg,
      1,
      'reduceByKey',
      () => n++,
    );
    const ms = cpu() - c0;
    b.setBudget(undefined);
    if (r >= WARMUP) b.cpu.push(ms);
    groups = n;
  }
}
rmSync(spill, { recursive: true, force: true });

console.log(machineAndLoad());
console.log(`${contributions} contributions into ${groups} keys, ${rounds} rounds after ${WARMUP} of warm-up, CPU ms per combine:`);
for (const b of builds) {
  const m = median(b.cpu);
  console.log(
    `  ${b.name}: median ${m.toFixed(1)} ms (${((m * 1e6) / contributions).toFixed(0)} ns a contribution), min ${Math.min(...b.cpu).toFixed(1)} ms`,
  );
}
