/**
 * Advice Spark users wish they had been given: an RDD that later jobs compute again (it was not persisted),
 * and a lineage so deep that scheduling and recovery slow down (it needs a checkpoint). Each hint is logged
 * once; `hints: false` turns them off.
 */
import { eachCapturedEntry } from '../closure/index.js';
import type { RDD, RddWire } from '../rdd/index.js';
import type { Stage } from '../scheduler/stage.js';
import { describeSkew, type SkewReport } from '../scheduler/task-metrics.js';
import { sizeOf } from '../storage/size-estimator.js';

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
    this.#userJobsComputing.delete(rddId);
    this.#hinted.delete(rddId);
  });

  constructor(
    private readonly log: (message: string) => void,
    private readonly enabled: boolean,
    private readonly depthThreshold: number,
    /** The large task warning holds on every engine (the others are about caching, which mapreduce does not do). */
    private readonly warnLargeTasks = enabled,
  ) {}

  /**
   * When a stage attempt's first task is built: warn once per stage (its first attempt) when the values its functions
   * capture make its tasks very large (see {@link largeTaskWarning}).
   */
  stageBuilt(stage: Stage, attempt: number, rdds: readonly RddWire[]): void {
    if (!this.warnLargeTasks || attempt !== 0) return;
    const warning = largeTaskWarning(stage, rdds);
    if (warning !== undefined) this.log(`${warning} ${OFF}`);
  }

  /** RDDs whose counts are held (diagnostics: stays bounded while a program drops its RDDs). */
  get rddsTracked(): number {
    return new Set([...this.#jobsComputing.keys(), ...this.#userJobsComputing.keys()]).size;
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

/** Spark's TaskSetManager.TASK_SIZE_TO_WARN_KIB. */
export const LARGE_TASK_KIB = 1000;

/** A value a stage's functions capture, with what it weighs (estimated) and the RDD or action whose function holds it. */
export interface CapturedValue {
  readonly name: string;
  readonly where: string;
  readonly bytes: number;
}

/**
 * Spark's "Stage N contains a task of very large size (K KiB). The maximum recommended task size is 1000 KiB.": the
 * values a stage's functions capture travel with its first task to every worker, by structured clone (a 3M-number
 * Array takes seconds). Returns the warning for a stage whose captured values exceed {@link LARGE_TASK_KIB},
 * naming the biggest; undefined otherwise. Sizes are the cache's estimates (sampled), read once per stage.
 *
 * @example
 * ```ts
 * const warning = largeTaskWarning(stage, rdds);
 * if (warning !== undefined) console.warn(warning);
 * ```
 */
export function largeTaskWarning(stage: Stage, rdds: readonly RddWire[]): string | undefined {
  const captured: CapturedValue[] = [];
  for (const r of rdds) capturedValues(r, `RDD ${r.id} (${r.label})`, captured);
  capturedValues(stage.kind === 'result' ? stage.resultFn : stage.dep.aggregator, stage.name, captured);
  let bytes = 0;
  for (const c of captured) bytes += c.bytes;
  if (bytes <= LARGE_TASK_KIB * 1024) return undefined;
  captured.sort((a, b) => b.bytes - a.bytes);
  const kib = (b: number) => `${Math.round(b / 1024).toLocaleString('en-US')} KiB`;
  const named = captured
    .filter((c) => c.bytes >= 0.1 * bytes)
    .slice(0, 3)
    .map((c) => `'${c.name}' (${kib(c.bytes)}) in ${c.where}`);
  const first = captured[0]!.name;
  return (
    `stage ${stage.id} (${stage.name}) contains a task of very large size (${kib(bytes)}); the maximum recommended task size ` +
    `is ${LARGE_TASK_KIB} KiB. Its functions capture ${named.join(', ')}, copied to every worker with the stage. ` +
    `Broadcast it (const ${first}B = sc.broadcast(${first}); capture it and read ${first}B.value: sent once per worker and ` +
    'kept for later jobs), and hold numbers in a typed array (Float64Array, Int32Array), which copies far faster than an Array.'
  );
}

/** The data values (not functions, broadcasts or modules) captured by the shipped functions in `wire`, recursively. */
function capturedValues(wire: unknown, where: string, out: CapturedValue[]): void {
  eachCapturedEntry(wire, (name, entry) => {
    if (entry.t === 'value') out.push({ name, where, bytes: sizeOf(entry.v, 0) });
  });
}
