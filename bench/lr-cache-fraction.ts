/**
 * The RDD paper's Figure 12 analogue: logistic regression, 10 iterations over the generated 1M points, with the
 * cache budget set so that 0, 25, 50, 75 and 100 % of the parsed points fit (MEMORY_ONLY: what does not fit is
 * read and parsed again each iteration). Iteration time should fall roughly linearly as more fits, and the
 * fully cached iterations should run at least 10x faster than uncached ones.
 *
 *   npx tsx bench/lr-cache-fraction.ts [--small]
 */
import { Context } from 'kindling';
import { run } from '../examples/logistic-regression.js';
import { writeChart } from './chart.js';
import { machine } from './harness.js';
import { appendFileSync, mkdirSync } from 'node:fs';

const small = process.argv.includes('--small');
const PARTITIONS = 20;
const WORKER_MB = 2048;

/** Mean of the later iterations (2..10): the first one also loads and caches. */
const laterMean = (timings: readonly { phase: string; ms: number }[]) => {
  const later = timings.filter((t) => /^iteration ([2-9]|10)$/.test(t.phase));
  return later.reduce((s, t) => s + t.ms, 0) / later.length;
};

async function measure(storageFraction: number): Promise<{ laterMs: number; firstMs: number; cachedPartitions: number; perWorkerBytes: number[] }> {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: WORKER_MB, storageFraction } });
  try {
    const { timings } = await run(sc, { small, iterations: 10, partitions: PARTITIONS });
    const info = sc.getRDDStorageInfo().find((i) => i.name === 'points')!;
    return {
      laterMs: laterMean(timings),
      firstMs: timings.find((t) => t.phase === 'iteration 1')!.ms,
      cachedPartitions: info.numCachedPartitions,
      perWorkerBytes: info.workers.map((w) => w.memoryBytes),
    };
  } finally {
    await sc.stop();
  }
}

console.log(`LR cache-fraction benchmark (${small ? 'small' : '1M points'}, local[2], ${PARTITIONS} partitions), ${machine()}`);
// Size of the fully cached data per worker, with a budget large enough for all of it.
const full = await measure(0.9);
const perWorker = Math.max(...full.perWorkerBytes);
console.log(`fully cached: ${full.cachedPartitions} partitions, ${(perWorker / 2 ** 20).toFixed(1)} MiB per worker (estimated)`);
const rows: Array<{ percent: number; laterMs: number; firstMs: number; cached: number }> = [];
for (const percent of [0, 25, 50, 75, 100]) {
  // A budget of `percent` of one worker's share (plus 2 % slack for estimate noise); 0 % caches nothing.
  const bytes = percent === 0 ? 1 : ((perWorker * percent) / 100) * 1.02;
  const r = await measure(bytes / (WORKER_MB * 2 ** 20));
  rows.push({ percent, laterMs: r.laterMs, firstMs: r.firstMs, cached: r.cachedPartitions });
  console.log(
    `  ${String(percent).padStart(3)} % budget: ${r.cachedPartitions}/${PARTITIONS} partitions cached, later iterations ${r.laterMs.toFixed(1)} ms (first ${r.firstMs.toFixed(0)} ms)`,
  );
}
const ratio = rows[0]!.laterMs / rows[4]!.laterMs;
console.log(`0 % vs 100 % cached, later iterations: ${ratio.toFixed(1)}x (target >= 10x)`);
const chart = writeChart('lr-cache-fraction', {
  kind: 'bar',
  title: 'Logistic regression: later-iteration time vs % of data cached',
  categories: rows.map((r) => `${r.percent} % (${r.cached}/${PARTITIONS})`),
  series: [{ name: 'kindling local[2]', values: rows.map((r) => r.laterMs / 1000) }],
  yLabel: 'seconds per iteration',
  xLabel: 'cache budget (% of parsed points that fit; partitions cached)',
});
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  JSON.stringify({ workload: 'lr-cache-fraction', time: new Date().toISOString(), machine: machine(), rows, ratio, chart }) + '\n',
);
console.log(`chart: docs/${chart}`);
