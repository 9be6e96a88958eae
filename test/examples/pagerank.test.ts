/**
 * PageRank example: the classic and the co-partitioned variant give the single-thread CSR baseline's ranks
 * (within 1e-9), and in the co-partitioned variant the join never shuffles the links.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RDD } from 'kindling';
import { pageRankBaseline } from '../../bench/baselines/pagerank.js';
import { compareRanks, graphInput, pageRankPlan, run } from '../../examples/pagerank.js';
import { DATA_DIR, ENGINES, useContext, useTempDir } from './helpers.js';

const ITERATIONS = 6;

describe.each(ENGINES)('pagerank example (%s engine)', (engine) => {
  const ctx = useContext(engine);
  const tmp = useTempDir('pagerank');
  const input = () => graphInput({ small: true, dataDir: DATA_DIR });

  it.each([
    ['classic', { partitioned: false }],
    ['partitioned (3 partitions)', { partitioned: true, partitions: 3 }],
  ] as const)('%s: equals the CSR baseline within 1e-9', async (_name, variant) => {
    const path = await input();
    const { summary, timings } = await run(ctx(), { input: path, iterations: ITERATIONS, ...variant });
    const base = pageRankBaseline(path, ITERATIONS).summary;
    expect(compareRanks(summary.ranks, base.ranks, 1e-9)).toBeUndefined();
    expect(summary.vertices).toBe(base.vertices);
    expect(summary.edges).toBe(base.edges);
    expect(summary.edges).toBe(20_000); // the generator writes no duplicate edges
    expect(summary.top.map(([v]) => v)).toEqual(base.top.map(([v]) => v));
    expect(Math.abs(summary.rankSum - base.rankSum)).toBeLessThan(1e-7);
    expect(timings.filter((t) => t.phase.startsWith('iteration'))).toHaveLength(ITERATIONS);
  });

  it('reads duplicate edges, comments and tabs like the baseline (duplicates count once)', async () => {
    const path = join(tmp(), 'edges.txt');
    writeFileSync(path, '# a comment\n0 1\n0 1\n0\t2\n1 2\n2 0\n3 0\n\n3 2\n');
    const { summary } = await run(ctx(), { input: path, iterations: 4 });
    const base = pageRankBaseline(path, 4).summary;
    expect(summary.edges).toBe(6);
    expect(compareRanks(summary.ranks, base.ranks, 1e-12)).toBeUndefined();
    expect(summary.ranks.has(3)).toBe(false); // nothing links to 3: it drops out, as in Spark's example
  });

  it('partitioned: the join of links and ranks is narrow in every iteration (toDebugString)', async () => {
    const plan = pageRankPlan(ctx(), await input(), { partitioned: true, partitions: 3 });
    const ranks = plan.step(plan.step(plan.step(plan.initialRanks)));
    const debug = ranks.toDebugString();
    const linkLines = debug.split('\n').filter((l) => l.includes(' links ShuffledRDD['));
    expect(linkLines.length).toBeGreaterThanOrEqual(3);
    // A shuffle dependency prints as `+-(n) rdd`; the links only ever appear as a narrow parent (`|  links ...`).
    for (const l of linkLines) expect(l).not.toContain('+-');
    expect(linkLines[0]).toMatch(/^\s*\|\s+links ShuffledRDD\[\d+\] at partitionBy/);
    // The same from the dependency objects: every cogroup of the lineage has only narrow dependencies.
    const cogroups = lineage(ranks).filter((r) => r.kind === 'CoGroupedRDD');
    expect(cogroups).toHaveLength(3);
    for (const c of cogroups) expect(c.dependencies.map((d) => d.type)).toEqual(['narrow', 'narrow']);
    // The one shuffle of an iteration is the reduceByKey of the contributions.
    expect(new Set(debug.match(/\+-\(3\) MapPartitionsRDD\[\d+\] at flatMap/g)).size).toBe(3);
  });
});

function lineage(rdd: RDD<unknown>): RDD<unknown>[] {
  const seen = new Map<number, RDD<unknown>>();
  const stack = [rdd];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (seen.has(r.id)) continue;
    seen.set(r.id, r);
    for (const d of r.dependencies) stack.push(d.rdd);
  }
  return [...seen.values()];
}
