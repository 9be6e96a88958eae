/**
 * PageRank, the classic program (links cached, each iteration's ranks cached and the previous ones unpersisted), with a
 * worker killed between two iterations: the dead worker's half of the cached links and ranks and its map outputs of
 * every earlier shuffle are gone, so the next iteration can run only after they are computed again from lineage
 * (the links' shuffles from the input, the unpersisted ranks from the iterations before). The ranks must still be the
 * single-thread CSR baseline's within 1e-9, and the earlier map stages must really have run again.
 */
import { describe, expect, it } from 'vitest';
import { Context, type RDD, type SchedulerEvent } from 'kindling';
import { pageRankBaseline } from '../../bench/baselines/pagerank.js';
import { compareRanks, graphInput, pageRankPlan } from '../../examples/pagerank.js';
import { DATA_DIR } from './helpers.js';

const ITERATIONS = 5;

describe('pagerank with a worker killed between iterations (memory engine, local[2])', () => {
  it.each([1, 3])('killed after iteration %i: every rank equals the CSR baseline; lost map outputs were computed again first', async (killAfter) => {
    const input = await graphInput({ small: true, dataDir: DATA_DIR });
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    try {
      const events: SchedulerEvent[] = [];
      sc.events.onAny((e) => void events.push(e));
      const plan = pageRankPlan(sc, input);
      await plan.links.count();
      let ranks = plan.initialRanks;
      let killedAt = -1;
      let victim = { worker: 0, heldLinksAndTheirMapOutput: false };
      /** Per iteration after the kill: the shuffles whose map stage that job submitted. */
      const stagesAfterKill: string[] = [];
      for (let i = 1; i <= ITERATIONS; i++) {
        const previous: RDD<[number, number]> = ranks;
        const current = plan.step(ranks).cache();
        const from = events.length;
        await current.values().sum();
        if (killedAt >= 0 && i === killAfter + 1) {
          for (const e of events.slice(from)) if (e.type === 'stageSubmitted') stagesAfterKill.push(e.name);
        }
        if (previous !== plan.initialRanks) previous.unpersist();
        ranks = current;
        if (i === killAfter) {
          killedAt = events.length;
          victim = linksVictim(events, plan.links.id);
          await sc.faults.killWorker(victim.worker);
        }
      }
      const got = await ranks.collectAsMap();
      const base = pageRankBaseline(input, ITERATIONS).summary;
      expect(compareRanks(got, base.ranks, 1e-9)).toBeUndefined();
      expect(got.size).toBe(base.vertices);
      expect(events.slice(killedAt).some((e) => e.type === 'workerLost')).toBe(true);
      // When the victim held a cached partition of the links and a map output of their grouping (the usual placement),
      // the iteration after the kill ran more than its own two stages: the grouping's map stage ran again before the
      // join could read the links (and with it whatever else died: earlier iterations' contributions).
      if (victim.heldLinksAndTheirMapOutput) {
        expect(stagesAfterKill.length).toBeGreaterThan(2);
        expect(stagesAfterKill.some((name) => name.startsWith('shuffle 1 of'))).toBe(true);
      }
    } finally {
      await sc.stop();
    }
  });
});

/**
 * The worker to kill: one holding a cached partition of the links that also wrote a map output of their grouping
 * (shuffle 1 in a fresh context: 0 is `distinct`), so the links must be grouped again; else one holding links.
 */
function linksVictim(events: readonly SchedulerEvent[], linksId: number): { worker: number; heldLinksAndTheirMapOutput: boolean } {
  const holders = new Set<number>();
  const grouping = new Set<number>();
  const mappers = new Set<number>();
  for (const e of events) {
    if (e.type === 'blockUpdated' && e.rddId === linksId && e.change === 'added') holders.add(e.workerIndex);
    else if (e.type === 'stageSubmitted' && e.name.startsWith('shuffle 1 of')) grouping.add(e.stageId);
    else if (e.type === 'taskEnd' && e.result === 'success' && grouping.has(e.stageId)) mappers.add(e.workerIndex);
  }
  const both = [...holders].find((w) => mappers.has(w));
  return both !== undefined
    ? { worker: both, heldLinksAndTheirMapOutput: true }
    : { worker: [...holders][0] ?? 0, heldLinksAndTheirMapOutput: false };
}
