/**
 * Plain-data descriptions of a job's stages and the RDDs each one computes, carried by the jobStart event so
 * that a UI (live, or replaying an event log) can draw the job's DAG and name cached RDDs without access to
 * the RDD objects.
 */
import type { RDD } from '../rdd/index.js';
import type { Stage } from './stage.js';

export interface RddInfo {
  readonly id: number;
  /** The RDD's name if set, else its label (`map at words.ts:12`). */
  readonly name: string;
  readonly kind: string;
  readonly numPartitions: number;
  readonly storageLevel: string;
  /** Parents through narrow dependencies (same stage) and through shuffles (a parent stage's RDD). */
  readonly parentIds: readonly number[];
}

export interface StageInfo {
  readonly stageId: number;
  readonly name: string;
  readonly numTasks: number;
  readonly parentIds: readonly number[];
  /** The stage's RDDs, parents before children; the last one is the RDD the stage's tasks end with. */
  readonly rdds: readonly RddInfo[];
}

/** Every stage of the job ending in `root`, by id. */
export function describeStages(root: Stage): StageInfo[] {
  const out: StageInfo[] = [];
  const seen = new Set<number>();
  const stack: Stage[] = [root];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s.id)) continue;
    seen.add(s.id);
    out.push({
      stageId: s.id,
      name: s.name,
      numTasks: s.kind === 'result' ? s.partitions.length : s.numPartitions,
      parentIds: s.parents.map((p) => p.id),
      rdds: stageRdds(s.rdd),
    });
    stack.push(...s.parents);
  }
  return out.sort((a, b) => a.stageId - b.stageId);
}

/** The RDDs pipelined into one stage: from its last RDD back through narrow dependencies. */
function stageRdds(last: RDD<unknown>): RddInfo[] {
  const found = new Map<number, RDD<unknown>>();
  const stack: RDD<unknown>[] = [last];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (found.has(r.id)) continue;
    found.set(r.id, r);
    for (const d of r.dependencies) if (d.type === 'narrow') stack.push(d.rdd);
  }
  return [...found.values()]
    .sort((a, b) => a.id - b.id)
    .map((r) => ({
      id: r.id,
      name: r.name ?? r.label,
      kind: r.kind,
      numPartitions: r.getNumPartitions(),
      storageLevel: r.storageLevel.name,
      parentIds: r.dependencies.map((d) => d.rdd.id),
    }));
}
