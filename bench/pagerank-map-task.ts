/**
 * One later PageRank iteration's map task, in one thread, side by side with other builds in the same process: the
 * RDDs a worker rebuilds for it (the cached links' partition as CSR columns, the cached ranks' as pair columns,
 * their narrow join, `values()`, the example's `flatMap`, the `reduceByKey` map side into a shuffle writer), run
 * through the engine's own classes of each build, on one worker's half of the generated graph (sources with an even
 * id). What it leaves out is scheduling, fetching and the reduce side; what it gains is a measurement on a loaded
 * machine that another process's load moves far less than the whole program's: CPU time (user + system) of this
 * one thread per task, builds interleaved, the order swapped every round.
 *
 *   npx tsx bench/pagerank-map-task.ts [--rounds 40] [--baseline DIR]... [--plain] [--partition 0|1|both] [--one-record]
 *
 * `--baseline DIR` (repeatable): the root of another checkout whose `dist/` was built.
 * `--partition 0|1|both`: the sources of that partition of `HashPartitioner(2)` (both: each build runs both, side by
 * side) instead of the sources with an even id: PageRank's two map tasks on `local[2]`, whose costs session 31
 * compared (equal in one thread).
 * `--plain`: also the same task written as plain loops in the rotation (see {@link plainTask}): the floor that no
 * change to the engine's map task can go below without changing what the program does.
 * `--one-record`: every build (and the plain loops) runs {@link FLAT_MAP_ONE} instead of the example's flatMap, one
 * record per source: what is left is the engine's own work per source (the join, the lists, the pipeline, a combine
 * call per source, the output) against the plain loops' (session 43: 8.2 against 4.5 ms, load 7).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FLAT_MAP, FLAT_MAP_ONE, SUM, compiled, cpuMs, machineAndLoad, mapTaskOf, median, workerHalf } from './pagerank-worker-half.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] || 40);
const baselines = args.flatMap((a, i) => (a === '--baseline' ? [path.resolve(args[i + 1]!)] : []));
const WARMUP = 6;
const flatMap = args.includes('--one-record') ? FLAT_MAP_ONE : FLAT_MAP;

// The worker's half or halves: sources with an even id, or hash partition 0, 1 or both (`--partition`).
const which = args.includes('--partition') ? args[args.indexOf('--partition') + 1]! : undefined;
const parts: Array<number | undefined> = which === undefined ? [undefined] : which === 'both' ? [0, 1] : [Number(which)];
const halves = await Promise.all(parts.map((p) => workerHalf(p)));
const { links, contributions } = halves[0]!;

interface Build {
  name: string;
  task: () => number;
  cpu: number[];
  /** The build's cached blocks of links and ranks (read by the plain loops). */
  packed: unknown[];
  HashPartitioner: unknown;
}
const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-map-task-'));
const builds: Build[] = [];
for (const root of [path.resolve(import.meta.dirname, '..'), ...baselines]) {
  for (const [i, half] of halves.entries()) {
    const p = parts[i];
    const { run, packed, HashPartitioner } = await mapTaskOf(root, half, p ?? 0, scratch, flatMap);
    builds.push({ name: p === undefined ? root : `${root}, partition ${p}`, task: run, cpu: [], packed, HashPartitioner });
  }
}

/**
 * The map task as a hand-written program does it, from the same cached columns: per source its list copied out of
 * the CSR items (a new packed array, as the engine gives the user), `[list, rank]`, the same compiled `flatMap`, each
 * `[dst, share]` summed by the same compiled merge into a Float64Array by vertex id (first-seen keys appended), then
 * the groups bucketed by the same HashPartitioner into new typed arrays. No join lookup beyond `rank[src]`, no
 * checks, no memory accounting, no shuffle manager: what is left is the program's own work.
 */
const plainTask = ((): (() => number) => {
  const block = builds[0]!;
  const linksBlock = block.packed[0] as { keys: Int32Array; offsets: Int32Array; items: Int32Array };
  const ranksBlock = block.packed[1] as { keys: Int32Array; values: Float64Array };
  let maxId = 0;
  for (const [s, urls] of links) for (const id of [s, ...urls]) maxId = Math.max(maxId, id);
  const rankById = new Float64Array(maxId + 1);
  for (let i = 0; i < ranksBlock.keys.length; i++) rankById[ranksBlock.keys[i]!] = ranksBlock.values[i]!;
  const { keys: lk, offsets, items } = linksBlock;
  const scratchList: number[] = [0];
  const listOf = (from: number, end: number): number[] => {
    const n = end - from;
    while (scratchList.length < n) scratchList.push(0);
    for (let j = 0; j < n; j++) scratchList[j] = items[from + j]!;
    return scratchList.slice(0, n);
  };
  const partitioner = new (block.HashPartitioner as new (n: number) => { getPartition(k: number): number })(2);
  return () => {
    const f = compiled(flatMap) as (x: [number[], number]) => Array<[number, number]>;
    const merge = compiled(SUM) as (a: number, b: number) => number;
    const values = new Float64Array(maxId + 1);
    const present = new Int32Array((maxId >>> 5) + 1);
    const keys = new Int32Array(maxId + 1);
    let size = 0;
    for (let r = 0; r < lk.length; r++) {
      const out = f([listOf(offsets[r]!, offsets[r + 1]!), rankById[lk[r]!]!]);
      for (let i = 0; i < out.length; i++) {
        const k = out[i]![0];
        const v = out[i]![1];
        if ((present[k >>> 5]! & (1 << (k & 31))) !== 0) values[k] = merge(values[k]!, v);
        else {
          present[k >>> 5]! |= 1 << (k & 31);
          values[k] = v;
          keys[size++] = k;
        }
      }
    }
    const of = new Int32Array(size);
    const counts = [0, 0];
    for (let e = 0; e < size; e++) counts[(of[e] = partitioner.getPartition(keys[e]!))]!++;
    const bucketKeys = counts.map((n) => new Int32Array(n));
    const bucketValues = counts.map((n) => new Float64Array(n));
    const at = [0, 0];
    for (let e = 0; e < size; e++) {
      const r = of[e]!;
      const j = at[r]!++;
      bucketKeys[r]![j] = keys[e]!;
      bucketValues[r]![j] = values[keys[e]!]!;
    }
    return size;
  };
})();
if (args.includes('--plain')) builds.push({ name: 'plain loops (--plain)', task: plainTask, cpu: [], packed: [], HashPartitioner: undefined });

const cpu = cpuMs;
let groups = 0;
for (let r = 0; r < rounds + WARMUP; r++) {
  for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
    const c0 = cpu();
    groups = b.task();
    const ms = cpu() - c0;
    if (r >= WARMUP) b.cpu.push(ms);
  }
}
rmSync(scratch, { recursive: true, force: true });

console.log(machineAndLoad());
console.log(
  `${links.length} sources, ${flatMap === FLAT_MAP ? contributions : links.length} contributions into ${groups} keys, ${rounds} rounds after ${WARMUP} of warm-up, CPU ms per map task:`,
);
// Paired: each round ran every build once, back to back, so a round's ratio leaves out most of the load's drift.
const pairedRatio = (b: Build): string => {
  const ratios = b.cpu.map((ms, i) => ms / builds[0]!.cpu[i]!).sort((x, y) => x - y);
  const q = (f: number): string => ratios[Math.floor(f * (ratios.length - 1))]!.toFixed(3);
  return `; per round against the first: median ${q(0.5)}, quartiles ${q(0.25)}–${q(0.75)}`;
};
for (const b of builds) {
  const s = [...b.cpu].sort((x, y) => x - y);
  console.log(
    `  ${b.name}: median ${median(b.cpu).toFixed(1)} ms, min ${s[0]!.toFixed(1)}, quartiles ${s[Math.floor(s.length / 4)]!.toFixed(1)}–${s[Math.floor((3 * s.length) / 4)]!.toFixed(1)}${b === builds[0] ? '' : pairedRatio(b)}`,
  );
}
