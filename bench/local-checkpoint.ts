/**
 * Session 28 (lckpt): what `localCheckpoint()` and remote cached-block reads cost and save, measured side by side in
 * one process (alternating variants, medians).
 *
 * 1. An iterative job: `rounds` rounds of `map`, a `count()` each round, over 4 partitions on local[2], in three
 *    variants: plain (every job computes the whole chain), `cache()` every 5 rounds (lineage keeps growing, jobs read
 *    the newest cached RDD), `localCheckpoint()` every 5 rounds (lineage cut). Reports the lineage depth at the end
 *    and the driver-measured wall of the last 10 jobs, plus the process CPU (driver and worker threads) over the whole loop.
 * 2. One 10 MB partition (1.25M doubles, cached as one Float64Array column) read by a task on the worker that does not
 *    hold it: fetched from the holder (remote read) against the same partition computed from its lineage on that
 *    worker (an uncached twin of the RDD). Reports the task's own duration (taskEnd metrics) of each.
 *
 *   npx tsx bench/local-checkpoint.ts [--rounds 100] [--pairs 12] [--no-iterative]
 */
import { Context, type RDD } from 'kindling';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const rounds = arg('rounds', 100);
const pairs = arg('pairs', 12);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Variant = 'plain' | 'cache' | 'localCheckpoint';

async function iterative(variant: Variant): Promise<{ depth: number; lastJobsMs: number; cpuMs: number }> {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false });
  try {
    let r: RDD<number> = sc.range(0, 200_000, 1, 4);
    await r.count();
    const times: number[] = [];
    const t0 = process.cpuUsage();
    for (let i = 1; i <= rounds; i++) {
      r = r.map((x) => x + 1);
      if (i % 5 === 0) {
        if (variant === 'cache') r.cache();
        if (variant === 'localCheckpoint') r.localCheckpoint();
      }
      const s = performance.now();
      await r.count();
      times.push(performance.now() - s);
    }
    const t1 = process.cpuUsage(t0);
    return { depth: r.toDebugString().split('\n').length, lastJobsMs: median(times.slice(-10)), cpuMs: (t1.user + t1.system) / 1000 };
  } finally {
    await sc.stop();
  }
}

type TaskEnd = { workerIndex: number; stageId: number; metrics?: { durationMs: number; runMs: number; fetchWaitMs: number } };

const fmt = (xs: TaskEnd[]): string => {
  const d = median(xs.map((e) => e.metrics!.durationMs));
  const f = median(xs.map((e) => e.metrics!.fetchWaitMs));
  const r = median(xs.map((e) => e.metrics!.runMs));
  return `median duration ${d.toFixed(1)} (fetch wait ${f.toFixed(1)}, run ${r.toFixed(1)})  durations [${xs.map((e) => e.metrics!.durationMs.toFixed(1)).join(' ')}]`;
};

async function remoteVsRecompute(heavy: boolean): Promise<void> {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, localityWaitMs: 0, slotsPerWorker: 1 });
  const ends: TaskEnd[] = [];
  sc.events.on('taskEnd', ((e: TaskEnd) => ends.push(e)) as never);
  try {
    const n = 1_250_000; // 10 MB as a Float64Array column
    // Light: one sqrt per element (about the cheapest lineage there is); heavy: 40 transcendental calls per element.
    const make = heavy
      ? () =>
          sc.range(0, n, 1, 1).map((x) => {
            let y = x;
            for (let k = 0; k < 40; k++) y = Math.sin(y) + x;
            return y;
          })
      : () => sc.range(0, n, 1, 1).map((x) => Math.sqrt(x) * 1.5);
    const cached = make().cache();
    await cached.count();
    const holder = ends.at(-1)!.workerIndex;
    const other = 1 - holder;
    const remote: TaskEnd[] = [];
    const recompute: TaskEnd[] = [];
    for (let i = 0; i < pairs; i++) {
      // Remote: the union's first task holds the holder (a straggler delay), the second reads the block away from it.
      ends.length = 0;
      sc.faults.slowWorker(holder, 300);
      await cached.union(cached).count();
      sc.faults.slowWorker(holder, 0);
      const away = ends.filter((e) => e.workerIndex === other);
      if (away.length === 1 && i >= 2) remote.push(away[0]!);
      // Recompute: an uncached twin (the same lineage) on the other worker (the holder kept busy the same way).
      ends.length = 0;
      const twin = make();
      sc.faults.slowWorker(holder, 300);
      await cached.union(twin).count();
      sc.faults.slowWorker(holder, 0);
      const computed = ends.filter((e) => e.workerIndex === other);
      if (computed.length === 1 && i >= 2) recompute.push(computed[0]!);
    }
    console.log(
      `10 MB partition (${heavy ? 'heavy' : 'light'} lineage) on the non-holding worker, ms (${pairs} alternating pairs, first 2 dropped as warm-up):`,
    );
    console.log(`  remote read: ${fmt(remote)}`);
    console.log(`  recompute:   ${fmt(recompute)}`);
    console.log(`  sc.timesComputed(cached) = ${sc.timesComputed(cached)} (1: never recomputed)`);
  } finally {
    await sc.stop();
  }
}

const variants: Variant[] = ['plain', 'cache', 'localCheckpoint'];
const results: Record<Variant, Array<Awaited<ReturnType<typeof iterative>>>> = { plain: [], cache: [], localCheckpoint: [] };
if (!process.argv.includes('--no-iterative'))
  for (let rep = 0; rep < 3; rep++) for (const v of rep % 2 === 0 ? variants : [...variants].reverse()) results[v].push(await iterative(v));
if (!process.argv.includes('--no-iterative'))
  console.log(`Iterative: ${rounds} rounds of map + count, 4 partitions of 50k numbers, local[2] (3 runs each, alternating):`);
for (const v of process.argv.includes('--no-iterative') ? [] : variants) {
  const rs = results[v];
  console.log(
    `  ${v.padEnd(16)} lineage lines ${rs[0]!.depth}, last-10-jobs median ms ${rs.map((r) => r.lastJobsMs.toFixed(1)).join(' / ')}, process CPU ms (driver and workers) ${rs.map((r) => r.cpuMs.toFixed(0)).join(' / ')}`,
  );
}
await remoteVsRecompute(false);
await remoteVsRecompute(true);
