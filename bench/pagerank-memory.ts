/**
 * Where PageRank's memory goes (issue 8): runs the classic program (examples/pagerank.ts) phase by phase on
 * local[2] and prints, after each phase, the process RSS, its peak so far, and each worker's V8 heap in use,
 * external and ArrayBuffer bytes. With `node --expose-gc` every worker collects garbage before it reports, so the
 * heap figures are live data; without it they include garbage not yet collected (what drives RSS).
 *
 *   node --expose-gc --import tsx bench/pagerank-memory.ts [--iterations 10] [--step distinct|links|all]
 *
 * `--step distinct` only parses the edges and counts the distinct ones (the first shuffle of the program).
 */
import { Context, useModule, capture } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { graphParams, pageRankPlan, parseEdge } from '../examples/pagerank.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const iterations = Number(flag('--iterations') ?? 10);
const step = flag('--step') ?? 'all';
const input = await ensureDataset('graph', 'data', graphParams(false));
const sc = new Context({ master: 'local[2]', progress: false });
const v8 = useModule('node:v8');
const mb = (x: number): string => (x / 2 ** 20).toFixed(0);
const workers = async (): Promise<string> =>
  (
    await sc
      .parallelize([0, 1], 2)
      .mapPartitions(
        capture({ v8 }, () => {
          (globalThis as { gc?: () => void }).gc?.();
          const h = v8.getHeapStatistics();
          return [`heap ${(h.used_heap_size / 2 ** 20).toFixed(0)} MB, external ${(h.external_memory / 2 ** 20).toFixed(0)} MB`];
        }),
      )
      .collect()
  ).join(' | ');
const report = async (phase: string, ms: number): Promise<void> => {
  const rss = process.memoryUsage.rss();
  console.log(
    `${phase.padEnd(14)} ${ms.toFixed(0).padStart(6)} ms  rss ${mb(rss)} MB, peak ${mb(process.resourceUsage().maxRSS * 1024)} MB  workers: ${await workers()}`,
  );
};

let t = performance.now();
if (step === 'distinct') {
  const n = await sc
    .textFile(input)
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map(parseEdge)
    .distinct()
    .count();
  await report(`distinct ${n}`, performance.now() - t);
} else {
  const plan = pageRankPlan(sc, input);
  await plan.links.count();
  await report('links', performance.now() - t);
  let ranks = plan.initialRanks;
  for (let i = 1; i <= (step === 'links' ? 0 : iterations); i++) {
    t = performance.now();
    const previous = ranks;
    const current = plan.step(ranks).cache();
    await current.values().stats();
    if (previous !== plan.initialRanks) previous.unpersist();
    ranks = current;
    await report(`iteration ${i}`, performance.now() - t);
  }
  t = performance.now();
  await ranks.collectAsMap();
  await report('collect', performance.now() - t);
}
await sc.stop();
