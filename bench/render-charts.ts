/**
 * Redraws the charts of docs/benchmarks.md from the recorded results (.bench-out/results.jsonl, the latest
 * record of each workload), so a chart can be regenerated without running the benchmark again.
 *
 *   npx tsx bench/render-charts.ts [results.jsonl]
 */
import { readFileSync } from 'node:fs';
import { writeChart } from './chart.js';

const file = process.argv[2] ?? '.bench-out/results.jsonl';
/** One recorded benchmark result: its shape depends on the workload that wrote it. */
// biome-ignore lint/suspicious/noExplicitAny: records of many shapes, read field by field below
type Recorded = any;
const latest = new Map<string, Recorded>();
for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim()) latest.set(JSON.parse(line).workload, JSON.parse(line));

const lr = latest.get('lr-cache-fraction');
if (lr) {
  writeChart('lr-cache-fraction', {
    kind: 'bar',
    title: 'Logistic regression: later-iteration time vs % of data cached',
    categories: lr.rows.map((r: Recorded) => `${r.percent} % (${r.cached}/20)`),
    series: [{ name: 'kindling local[2]', values: lr.rows.map((r: Recorded) => r.laterMs / 1000) }],
    yLabel: 'seconds per iteration',
    xLabel: 'cache budget (% of parsed points that fit; partitions cached)',
  });
}
const pr = latest.get('pagerank-recovery');
if (pr) {
  writeChart('pagerank-recovery', {
    kind: 'line',
    title: 'PageRank iteration times, worker killed at iteration 5',
    categories: Array.from({ length: 10 }, (_, i) => String(i + 1)),
    series: Object.entries(pr.variants as Record<string, { normal: number[]; faulty: number[] }>).flatMap(([name, v]) => [
      { name: `${name}, no failure`, values: v.normal.map((t) => t / 1000) },
      { name: `${name}, killed in 5`, values: v.faulty.map((t) => t / 1000) },
    ]),
    yLabel: 'seconds',
    xLabel: 'iteration',
  });
}
const eng = latest.get('engines');
if (eng?.lr && eng?.kmeans) {
  const l = eng.lr;
  const k = eng.kmeans;
  writeChart('fig7-lr-kmeans', {
    kind: 'bar',
    title: 'Iteration times: memory vs mapreduce engine (1M points)',
    categories: ['LR first', 'LR later', 'k-means first', 'k-means later'],
    series: [
      { name: 'mapreduce', values: [l.mapreduce.first, l.mapreduce.later, k.mapreduce.first, k.mapreduce.later].map((v: number) => v / 1000) },
      { name: 'memory', values: [l.memory.first, l.memory.later, k.memory.first, k.memory.later].map((v: number) => v / 1000) },
    ],
    yLabel: 'seconds',
  });
}
if (eng?.pagerank) {
  const p = eng.pagerank;
  writeChart('fig10-pagerank', {
    kind: 'bar',
    title: 'PageRank, seconds per iteration (100k nodes, 1M edges)',
    categories: ['mapreduce', 'memory, links unpartitioned', 'memory + partitionBy', 'single thread (CSR)'],
    series: [{ name: 'local[2]', values: [p.mapreduce.later, p.memory.later, p.partitioned.later, p.baseline.later].map((v: number) => v / 1000) }],
    yLabel: 'seconds per iteration',
  });
}
console.log(`charts redrawn from ${file}`);
