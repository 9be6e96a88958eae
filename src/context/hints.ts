/**
 * Advice Spark users wish they had been given: an RDD that later jobs compute again (it was not persisted),
 * and a lineage so deep that scheduling and recovery slow down (it needs a checkpoint). Each hint is logged
 * once; `hints: false` turns them off.
 */
import type { RDD } from '../rdd/index.js';
import { describeSkew, type SkewReport } from '../scheduler/task-metrics.js';

/** Leaf RDDs whose partitions cost nothing to compute again (no input to read): never worth persisting. */
const CHEAP_LEAVES: ReadonlySet<string> = new Set(['ParallelCollectionRDD', 'RangeRDD', 'EmptyRDD']);

export class Hints {
  /** How many jobs computed each RDD's partitions (rather than reading them from a cache or a shuffle). */
  readonly #jobsComputing = new Map<number, number>();
  readonly #hinted = new Set<number>();
  #depthWarned = false;

  constructor(
    private readonly log: (message: string) => void,
    private readonly enabled: boolean,
    private readonly depthThreshold: number,
  ) {}

  /** Times each RDD was computed by a job so far (for tests and reports). */
  timesComputed(rddId: number): number {
    return this.#jobsComputing.get(rddId) ?? 0;
  }

  /**
   * After a job over `fullLineage` (every RDD it could have computed): count the RDDs it computed, and name the ones computed again by this job that were not
   * persisted. Only the last RDD of a recomputed chain is named: persisting it saves the whole chain.
   */
  jobFinished(fullLineage: readonly RDD<unknown>[], computed: ReadonlySet<number>): void {
    const lineage = fullLineage.filter((r) => computed.has(r.id));
    for (const r of lineage) this.#jobsComputing.set(r.id, (this.#jobsComputing.get(r.id) ?? 0) + 1);
    if (!this.enabled) return;
    const recomputed = lineage.filter((r) => this.#jobsComputing.get(r.id)! >= 2 && r.storageLevel.name === 'NONE' && !CHEAP_LEAVES.has(r.kind));
    const hasRecomputedChild = new Set<number>();
    for (const r of recomputed) for (const d of r.dependencies) if (d.type === 'narrow') hasRecomputedChild.add(d.rdd.id);
    for (const r of recomputed) {
      if (hasRecomputedChild.has(r.id) || this.#hinted.has(r.id)) continue;
      this.#hinted.add(r.id);
      this.log(`${r.label} was computed ${this.#jobsComputing.get(r.id)} times; persist() it?`);
    }
  }

  /** At a stage's end: the straggling partition of a skewed stage, each time (every stage is its own case). */
  stageSkewed(stageId: number, skew: SkewReport): void {
    if (this.enabled) this.log(describeSkew(stageId, skew));
  }

  /** Before a job: warn once when the lineage (parents first, the job's RDD last) is deeper than the threshold. */
  checkDepth(lineage: readonly RDD<unknown>[]): void {
    const rdd = lineage[lineage.length - 1];
    if (!this.enabled || this.#depthWarned || rdd === undefined) return;
    const depth = new Map<number, number>();
    let deepest = 0;
    for (const r of lineage) {
      let d = 1;
      for (const dep of r.dependencies) d = Math.max(d, (depth.get(dep.rdd.id) ?? 0) + 1);
      depth.set(r.id, d);
      deepest = Math.max(deepest, d);
    }
    if (deepest > this.depthThreshold) {
      this.#depthWarned = true;
      this.log(
        `the lineage of ${rdd.label} is ${deepest} RDDs deep (more than ${this.depthThreshold}); long lineages slow ` +
          'scheduling and recovery: checkpoint() an RDD every few iterations (after sc.setCheckpointDir).',
      );
    }
  }
}
