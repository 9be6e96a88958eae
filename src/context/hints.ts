/**
 * Advice Spark users wish they had been given: an RDD that later jobs compute again (it was not persisted),
 * and a lineage so deep that scheduling and recovery slow down (it needs a checkpoint). Each hint is logged
 * once; `hints: false` turns them off.
 */
import type { RDD } from '../rdd/index.js';
import { describeSkew, type SkewReport } from '../scheduler/task-metrics.js';

/** Every hint says how to switch hints off. */
const OFF = '(Hints are off with { hints: false } in the Context options.)';

export class Hints {
  /** How many jobs computed each RDD's partitions (rather than reading them from a cache or a shuffle). */
  readonly #jobsComputing = new Map<number, number>();
  /** The same, counting only jobs a user can act on (see `jobFinished`). */
  readonly #userJobsComputing = new Map<number, number>();
  readonly #hinted = new Set<number>();
  #depthWarned = false;
  /** Counts are kept by id and dropped with their RDD: a streaming program creates RDDs for hours. */
  readonly #forget = new FinalizationRegistry<number>((rddId) => {
    this.#jobsComputing.delete(rddId);
    this.#hinted.delete(rddId);
  });

  constructor(
    private readonly log: (message: string) => void,
    private readonly enabled: boolean,
    private readonly depthThreshold: number,
  ) {}

  /** RDDs whose counts are held (diagnostics: stays bounded while a program drops its RDDs). */
  get rddsTracked(): number {
    return this.#jobsComputing.size;
  }

  /** Times each RDD was computed by a job so far (for tests and reports). */
  timesComputed(rddId: number): number {
    return this.#jobsComputing.get(rddId) ?? 0;
  }

  /**
   * After a job over `fullLineage` (every RDD it could have computed): count the RDDs it computed, and name the
   * ones computed again that were not persisted. Only the last RDD of a recomputed chain is named: persisting it
   * saves the whole chain. `actionable` is false for jobs whose recomputation a user cannot avoid or would not
   * care about: the engine's own sampling jobs (sortByKey's range bounds, zipWithIndex's offsets) and jobs that
   * read only some partitions (take, first, lookup with a partitioner); those are counted but never hinted on.
   */
  jobFinished(fullLineage: readonly RDD<unknown>[], computed: ReadonlySet<number>, actionable = true): void {
    const lineage = fullLineage.filter((r) => computed.has(r.id));
    for (const r of lineage) {
      const n = this.#jobsComputing.get(r.id);
      if (n === undefined) this.#forget.register(r, r.id);
      this.#jobsComputing.set(r.id, (n ?? 0) + 1);
    }
    if (!this.enabled || !actionable) return;
    for (const r of lineage) this.#userJobsComputing.set(r.id, (this.#userJobsComputing.get(r.id) ?? 0) + 1);
    const recomputed = lineage.filter((r) => this.#userJobsComputing.get(r.id)! >= 2 && r.storageLevel.name === 'NONE' && !r.cheapToRecompute);
    const hasRecomputedChild = new Set<number>();
    for (const r of recomputed) for (const d of r.dependencies) if (d.type === 'narrow') hasRecomputedChild.add(d.rdd.id);
    for (const r of recomputed) {
      if (hasRecomputedChild.has(r.id) || this.#hinted.has(r.id)) continue;
      this.#hinted.add(r.id);
      this.log(`${r.label} was computed ${this.#userJobsComputing.get(r.id)} times; persist() it? ${OFF}`);
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
          `scheduling and recovery: checkpoint() an RDD every few iterations (after sc.setCheckpointDir). ${OFF}`,
      );
    }
  }
}
