/**
 * Fault recovery (the RDD paper's k-means figure: 58 s -> 80 s -> 58 s): PageRank, 10 iterations on the
 * generated graph with links and ranks cached; worker 1 is killed at the start of iteration 5. The recovery
 * iteration recomputes the lost partitions from lineage; later iterations return to normal. Then a straggler:
 * one worker delays every task by 2 s, with and without speculation.
 *
 *   npx tsx bench/pagerank-recovery.ts [--small]
 */
import { Context } from 'kindling';
import { graphInput } from '../examples/pagerank.js';
import { timedPageRank } from './pagerank-timed.js';
import { writeChart } from './chart.js';
import { machine } from './harness.js';
import { appendFileSync, mkdirSync } from 'node:fs';

const small = process.argv.includes('--small');
const input = await graphInput({ small });

function pagerank(kill: boolean, checkpoint: boolean): Promise<{ times: number[]; sum: number }> {
  return timedPageRank(new Context({ master: 'local[2]', progress: false, hints: false }), input, { kill, checkpoint });
}

async function straggler(speculation: boolean): Promise<number> {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, speculation: { enabled: speculation } });
  try {
    const rdd = sc.range(400_000, undefined, 1, 16).map((x) => Math.sqrt(x));
    await rdd.sum(); // both workers started and warm
    sc.faults.slowWorker(1, 2000);
    const t0 = performance.now();
    await rdd.sum();
    return performance.now() - t0;
  } finally {
    await sc.stop();
  }
}

console.log(`PageRank recovery benchmark (${small ? 'small graph' : '100k nodes / 1M edges'}, local[2]), ${machine()}`);
const fmt = (ts: number[]) => ts.map((t) => (t / 1000).toFixed(2)).join('  ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const variants: Record<string, { normal: number[]; faulty: number[]; recovery: number; after: number }> = {};
for (const checkpoint of [false, true]) {
  const name = checkpoint ? 'cached + checkpointed ranks' : 'cached';
  const normal = await pagerank(false, checkpoint);
  const faulty = await pagerank(true, checkpoint);
  if (Math.abs(normal.sum - faulty.sum) > 1e-6 * normal.sum) throw new Error(`ranks differ after recovery: ${normal.sum} vs ${faulty.sum}`);
  console.log(`${name}:`);
  console.log(`  no failure     : ${fmt(normal.times)} s`);
  console.log(`  kill in iter 5 : ${fmt(faulty.times)} s`);
  // A normal iteration: the median of the same run's iterations 2-4 (same run, same machine load).
  const typical = median(faulty.times.slice(1, 4));
  const recovery = faulty.times[4]! / typical;
  const after = median(faulty.times.slice(6)) / typical;
  console.log(`  recovery iteration: ${recovery.toFixed(2)}x a normal iteration (target <= 1.5x); iterations 7-10: ${after.toFixed(2)}x`);
  variants[name] = { normal: normal.times, faulty: faulty.times, recovery, after };
}

const slow = await straggler(false);
const spec = await straggler(true);
console.log(
  `straggler stage (one worker +2 s per task): ${(slow / 1000).toFixed(2)} s without speculation, ${(spec / 1000).toFixed(2)} s with (${(slow / spec).toFixed(1)}x faster)`,
);

const chart = writeChart('pagerank-recovery', {
  kind: 'line',
  title: 'PageRank iteration times, worker killed at iteration 5',
  categories: Array.from({ length: 10 }, (_, i) => String(i + 1)),
  series: Object.entries(variants).flatMap(([name, v]) => [
    { name: `${name}, no failure`, values: v.normal.map((t) => t / 1000) },
    { name: `${name}, killed in 5`, values: v.faulty.map((t) => t / 1000) },
  ]),
  yLabel: 'seconds',
  xLabel: 'iteration',
});
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  JSON.stringify({ workload: 'pagerank-recovery', time: new Date().toISOString(), machine: machine(), variants, straggler: { slow, spec }, chart }) +
    '\n',
);
console.log(`chart: docs/${chart}`);
