/**
 * Memory safety under caching: a job whose cached data is about 4x the storage budget completes with
 * MEMORY_AND_DISK, with results identical to an uncached run, while the process RSS is sampled every 50 ms.
 * Each worker's heap is capped at memory.workerMB (resourceLimits), so RSS stays bounded however much is cached.
 *
 *   npx tsx bench/memory-spill.ts
 */
import { Context, StorageLevel } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { machine } from './harness.js';
import { appendFileSync, mkdirSync } from 'node:fs';

const WORKER_MB = 512;
const points = await ensureDataset('points', 'data', { count: 1_000_000, dims: 10 });
const parse = (line: string): number[] => line.split(' ').map(Number);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const baseline = process.memoryUsage().rss;

// First the size of the cached data, with a budget that holds all of it.
const probe = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 2048, storageFraction: 0.9 } });
const probeRdd = probe.textFile(points, 16).map(parse).cache();
const expected = await probeRdd.map((p) => p[0]!).sum();
const cachedBytes = probe.getRDDStorageInfo()[0]!.memoryBytes;
await probe.stop();

// Then a budget of a quarter of that, split over the two workers.
const storageBytes = cachedBytes / 4 / 2;
const sc = new Context({
  master: 'local[2]',
  progress: false,
  hints: false,
  memory: { workerMB: WORKER_MB, storageFraction: storageBytes / (WORKER_MB * 2 ** 20) },
});
peakRss = 0;
const t0 = performance.now();
const rdd = sc.textFile(points, 16).map(parse).persist(StorageLevel.MEMORY_AND_DISK);
const sums: number[] = [];
for (let i = 0; i < 3; i++) sums.push(await rdd.map((p) => p[0]!).sum());
const seconds = (performance.now() - t0) / 1000;
const info = sc.getRDDStorageInfo()[0]!;
await sc.stop();
clearInterval(sampler);

const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const ok = sums.every((s) => s === expected);
console.log(`memory-spill benchmark, ${machine()}`);
console.log(
  `cached data ${mib(cachedBytes)} MiB (estimated), storage budget ${mib(storageBytes * 2)} MiB in total (${(cachedBytes / (storageBytes * 2)).toFixed(1)}x less)`,
);
console.log(
  `MEMORY_AND_DISK: ${info.numCachedPartitions} partitions cached, ${mib(info.memoryBytes)} MiB in memory, ${mib(info.diskBytes)} MiB on disk`,
);
console.log(`3 jobs in ${seconds.toFixed(1)} s, results ${ok ? 'identical to the uncached run' : 'DIFFERENT'}`);
console.log(
  `peak process RSS ${mib(peakRss)} MiB (driver + 2 workers; each worker heap capped at ${WORKER_MB} MiB; RSS before ${mib(baseline)} MiB)`,
);
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  JSON.stringify({
    workload: 'memory-spill',
    time: new Date().toISOString(),
    machine: machine(),
    cachedBytes,
    storageBytes: storageBytes * 2,
    info,
    peakRss,
    seconds,
    ok,
  }) + '\n',
);
if (!ok) process.exit(1);
