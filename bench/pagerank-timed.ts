/**
 * PageRank's iterations timed one by one, with an executor killed at the start of iteration 5 when asked: the
 * loop shared by the recovery benchmarks (`pagerank-recovery.ts` on worker threads, `cluster.ts` on executor
 * processes).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context, RDD } from 'kindling';
import { pageRankPlan } from '../examples/pagerank.js';

/**
 * With `checkpoint`, links and every iteration's ranks are checkpointed (the RDD paper's advice for PageRank's
 * long lineage): a lost worker's partitions are then read back from the checkpoint files instead of being
 * recomputed through every earlier iteration's shuffle. `sc` is stopped at the end; `beforeStop` sees it first.
 */
export async function timedPageRank(
  sc: Context,
  input: string,
  options: { kill: boolean; checkpoint: boolean; beforeStop?: () => void },
): Promise<{ times: number[]; sum: number }> {
  if (options.checkpoint) sc.setCheckpointDir(mkdtempSync(path.join(tmpdir(), 'kindling-pr-ckpt-')));
  try {
    const plan = pageRankPlan(sc, input);
    if (options.checkpoint) plan.links.checkpoint();
    await plan.links.count();
    let ranks: RDD<[number, number]> = plan.initialRanks;
    const times: number[] = [];
    let sum = 0;
    for (let i = 1; i <= 10; i++) {
      const t0 = performance.now();
      if (options.kill && i === 5) await sc.faults.killWorker(1);
      const previous = ranks;
      ranks = plan.step(ranks).cache();
      if (options.checkpoint) ranks.checkpoint();
      sum = await ranks.values().sum();
      if (previous !== plan.initialRanks) previous.unpersist();
      times.push(performance.now() - t0);
    }
    options.beforeStop?.();
    return { times, sum };
  } finally {
    await sc.stop();
  }
}
