/**
 * The job's stages and RDDs in jobStart events, as the UI draws them: every stage (a stage whose output an
 * earlier job left is listed too, as Spark lists skipped stages), and RDDs as they are at the job's start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, type JobStartEvent, type RDD } from 'kindling';

describe('jobStart stage descriptions', () => {
  let sc: Context;
  const starts: JobStartEvent[] = [];
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, ui: false, hints: false });
    sc.events.on('jobStart', (e) => void starts.push(e));
  });
  afterAll(() => sc.stop());

  it('lists every stage with its RDDs and parent stages, the skipped map stage of a second job too', async () => {
    const pairs = sc.parallelize([1, 2, 3, 4], 2).map((x) => [x % 2, x] as [number, number]);
    const sums = pairs.reduceByKey((a, b) => a + b, 2);
    await sums.collect();
    await sums.count();
    const [first, second] = starts.slice(-2) as [JobStartEvent, JobStartEvent];
    const [mapStage, resultStage] = first.stages!;
    expect(mapStage!.rdds.map((r) => r.id)).toEqual([pairs.id - 1, pairs.id]);
    expect(resultStage!.parentIds).toEqual([mapStage!.stageId]);
    expect(resultStage!.rdds.map((r) => [r.id, r.parentIds])).toEqual([[sums.id, [pairs.id]]]);
    expect(second.stages!.map((s) => s.rdds.map((r) => r.id))).toEqual(first.stages!.map((s) => s.rdds.map((r) => r.id)));
    expect(second.stageIds).toEqual(second.stages!.map((s) => s.stageId));
  });

  it('describes an RDD persisted and named after a first job as it is now', async () => {
    const pairs = sc.parallelize([1, 2, 3, 4], 2).map((x) => [x % 2, x] as [number, number]);
    const sums = pairs.reduceByKey((a, b) => a + b, 2);
    await sums.count();
    pairs.setName('pairs').cache();
    await sums.count();
    const info = starts.at(-1)!.stages![0]!.rdds.find((r) => r.id === pairs.id)!;
    expect([info.name, info.storageLevel]).toEqual(['pairs', 'MEMORY_ONLY']);
  });

  it('describes each RDD as it is at each job: renamed, persisted, unpersisted, checkpointed in between (a description is reused only while it holds)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-stage-info-'));
    try {
      sc.setCheckpointDir(dir);
      const pairs = sc.parallelize([1, 2, 3, 4], 2).map((x) => [x % 2, x] as [number, number]);
      const sums = pairs.reduceByKey((a, b) => a + b, 2).mapValues((v) => v * 2);
      const now = (r: RDD<unknown>) => ({
        id: r.id,
        name: r.name ?? r.label,
        kind: r.kind,
        numPartitions: r.getNumPartitions(),
        storageLevel: r.storageLevel.name,
        parentIds: r.dependencies.map((d) => d.rdd.id),
      });
      const steps: Array<() => unknown> = [
        () => undefined,
        () => pairs.setName('first'),
        () => pairs.cache(),
        () => undefined,
        () => pairs.unpersist(),
        () => pairs.setName('second'),
        () => pairs.checkpoint(),
        () => undefined,
        () => sums.setName('sums'),
      ];
      const narrowIds = (last: RDD<unknown>): number[] => {
        const ids = new Set<number>();
        const stack = [last];
        while (stack.length > 0) {
          const r = stack.pop()!;
          if (ids.has(r.id)) continue;
          ids.add(r.id);
          for (const d of r.dependencies) if (d.type === 'narrow') stack.push(d.rdd);
        }
        return [...ids].sort((a, b) => a - b);
      };
      // Each job start (the checkpoint's own job too): what it describes, and the RDDs as they are at that moment.
      const checks: Array<[unknown, unknown]> = [];
      const stageChecks: Array<[number[], number[]]> = [];
      const off = sc.events.on('jobStart', (e) => {
        const rdds = e.stages!.flatMap((s) => s.rdds);
        for (const r of [pairs, sums] as RDD<unknown>[]) {
          const info = rdds.find((i) => i.id === r.id);
          if (info !== undefined) checks.push([info, now(r)]);
        }
        // The map stage's RDDs (it ends with pairs) are those pairs reaches now through narrow dependencies.
        const mapStage = e.stages!.find((s) => s.rdds.some((r) => r.id === pairs.id));
        if (mapStage !== undefined) stageChecks.push([mapStage.rdds.map((r) => r.id), narrowIds(pairs)]);
      });
      try {
        for (const step of steps) {
          step();
          await sums.count();
        }
      } finally {
        off();
      }
      expect(checks.length).toBeGreaterThanOrEqual(2 * steps.length);
      for (const [described, actual] of checks) expect(described).toEqual(actual);
      expect(stageChecks.length).toBeGreaterThanOrEqual(steps.length);
      for (const [described, actual] of stageChecks) expect(described).toEqual(actual);
      // The checkpoint changed the map stage's RDDs (its files' reader instead of parallelize): walked again, not reused.
      expect(stageChecks.at(-1)![0]).not.toEqual(stageChecks[0]![0]);
      // The checkpoint cut the map's lineage after the job that wrote it: the description followed.
      const pairsParents = checks.map(([d]) => d as { id: number; parentIds: number[] }).filter((d) => d.id === pairs.id);
      expect(pairsParents.at(-1)!.parentIds).not.toEqual(pairsParents[0]!.parentIds);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names a result stage after its action, as Spark names it after the action's call site", async () => {
    const nums = sc.parallelize([3, 1, 2], 2);
    await nums.max();
    await nums.stats();
    await nums.mean();
    const names = starts.slice(-3).map((e) => e.stages!.at(-1)!.name);
    expect(names).toEqual([`max at ${nums.label}`, `stats at ${nums.label}`, `mean at ${nums.label}`]);
  });
});
