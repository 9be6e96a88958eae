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
    out.push(stageInfo(s));
    for (const p of s.parents) stack.push(p);
  }
  return out.sort((a, b) => a.stageId - b.stageId);
}

interface KnownRdds {
  readonly rdds: readonly RDD<unknown>[];
  readonly infos: readonly RddInfo[];
}

/**
 * The RDDs of each stage by the stage's last RDD, with their descriptions. Every job of an iterative program makes
 * the stages of all its earlier iterations again (as Spark does, once a job is over its stages are forgotten) and
 * describes them (Spark lists them among the job's skipped stages): walking each one's RDDs and sorting them again
 * was O(iterations so far) per job. The list holds while each of its RDDs' own descriptions does: their name and
 * storage level, and their dependencies, which decide which RDDs the stage has (a checkpoint cuts them).
 */
const knownRdds = new WeakMap<RDD<unknown>, KnownRdds>();

function stageInfo(s: Stage): StageInfo {
  return {
    stageId: s.id,
    name: s.name,
    numTasks: s.kind === 'result' ? s.partitions.length : s.numPartitions,
    parentIds: s.parents.map((p) => p.id),
    rdds: describedRdds(s.rdd),
  };
}

function describedRdds(last: RDD<unknown>): readonly RddInfo[] {
  const k = knownRdds.get(last);
  if (k?.rdds.every((r, i) => rddInfo(r) === k.infos[i])) return k.infos;
  const rdds = stageRdds(last);
  const infos = rdds.map(rddInfo);
  knownRdds.set(last, { rdds, infos });
  return infos;
}

/** The RDDs pipelined into one stage, by id: from its last RDD back through narrow dependencies. */
function stageRdds(last: RDD<unknown>): RDD<unknown>[] {
  const found = new Map<number, RDD<unknown>>();
  const stack: RDD<unknown>[] = [last];
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (found.has(r.id)) continue;
    found.set(r.id, r);
    for (const d of r.dependencies) if (d.type === 'narrow') stack.push(d.rdd);
  }
  return [...found.values()].sort((a, b) => a.id - b.id);
}

interface KnownInfo {
  readonly info: RddInfo;
  readonly name: string | undefined;
  readonly storageLevel: string;
  readonly dependencies: RDD<unknown>['dependencies'];
}

/**
 * Each RDD's last description, reused while what it describes is unchanged: an iterative program's every job
 * describes the stages of all its earlier iterations again (Spark lists them as skipped), and making their
 * descriptions anew (a label string, a parent list) was a share of each job's start on the driver. What can change
 * after an RDD is made is its name, its storage level and its dependencies (a checkpoint cuts them); the rest is fixed.
 * Descriptions are plain data that nobody mutates, so one object may sit in several jobs' events.
 */
const known = new WeakMap<RDD<unknown>, KnownInfo>();

function rddInfo(r: RDD<unknown>): RddInfo {
  const k = known.get(r);
  const storageLevel = r.storageLevel.name;
  if (k !== undefined && k.name === r.name && k.storageLevel === storageLevel && k.dependencies === r.dependencies) return k.info;
  const info: RddInfo = {
    id: r.id,
    name: r.name ?? r.label,
    kind: r.kind,
    numPartitions: r.getNumPartitions(),
    storageLevel,
    parentIds: r.dependencies.map((d) => d.rdd.id),
  };
  known.set(r, { info, name: r.name, storageLevel, dependencies: r.dependencies });
  return info;
}
