/**
 * DAG scheduler: turns a job (an RDD, the partitions an action needs, a result function) into stages cut at
 * shuffle dependencies, submits them in dependency order, and reacts to their tasks' ends.
 *
 * State, all on the driver's single thread:
 * - `#shuffleStages`: one ShuffleMapStage per shuffle while an active job needs it (Spark's shuffleIdToMapStage,
 *   which Spark's cleanupStateForJobAndIndependentStages empties of a stage no job needs). Its outputs stay registered
 *   in the MapOutputTracker by shuffle id, so a later job that needs the same shuffle makes a new stage for it (a new
 *   id), finds the outputs, and skips it: iterative programs do not recompute earlier iterations, and a UI lists the
 *   skipped stage under the later job's own stage id, as Spark's does.
 * - `#waiting` stages wait for parents; `#running` stages have a task set out.
 * - A parent stage is "missing" only if its outputs are incomplete and the child cannot avoid reading it
 *   (RDDs fully cached on the workers cut the walk, as in Spark).
 *
 * Failures: the task scheduler retries tasks; an aborted task set fails every job that needs the stage, and a job
 * that fails or is cancelled kills the running attempts of its stages no other active job needs (`#failJob`). A
 * fetch failure (lost map output) unregisters the output and resubmits the parent stage's missing tasks and
 * then the failed stage, up to `maxStageAttempts` consecutive failed attempts.
 */
import { AbortError, JobFailedError, type ErrorInfo, InvalidArgumentError } from '../core/errors.js';
import { abortReason } from '../core/job-scope.js';
import { cachedPreferredLocations, type ShuffleDependency } from '../rdd/dependency.js';
import { foldLineage, type RDD, type ResultFunctionWire } from '../rdd/index.js';
import type { TaskOutcome, TaskFailure, TaskMetrics } from '../exec/protocol.js';
import { StageMetrics } from './task-metrics.js';
import { describeStages } from './stage-info.js';
import type { EventBus } from './event-bus.js';
import type { SchedulerEvent } from './events.js';
import type { MapOutputTracker } from './map-output-tracker.js';
import type { CacheTracker } from './cache-tracker.js';
import { fullLineage, prepareLineage, stageShuffleDeps } from './lineage.js';
import { ResultStage, ShuffleMapStage, type ActiveJob, type ResultHandler, type Stage } from './stage.js';
import {
  KILL_GRACE_MS,
  resultTooLargeMessage,
  type AttemptFailure,
  type TaskScheduler,
  type TaskSet,
  type TaskSetListener,
  type TaskSpec,
} from './task-scheduler.js';
import { hop } from '../util/hop-trace.js';

export { KILL_GRACE_MS };

export interface DAGSchedulerOptions {
  readonly maxStageAttempts: number;
  /** Largest total of results one job may bring to the driver. */
  readonly maxResultBytes: number;
  /** Called with accumulator updates of every successful task (once per task). */
  readonly onAccumulatorUpdates: (updates: ReadonlyArray<readonly [number, unknown]>) => void;
  /**
   * Called with the ids of stages no active job needs any more, so their RDD descriptions (and the values
   * their functions captured) can be dropped on the driver and the workers, as Spark cleans task binaries.
   */
  readonly onStagesReleased?: (stageIds: readonly number[]) => void;
  /**
   * The persisted RDDs the program still holds (the context's registry), so that a rollback reaches the cached RDDs
   * computed from the shuffle whatever job reads them next, not only those of the active jobs.
   */
  readonly persistedRdds?: () => Iterable<RDD<unknown>>;
  /**
   * Called when the cached partitions of an RDD are rolled back to `generation`: the workers drop the older blocks
   * and refuse them from then on.
   */
  readonly onCacheRolledBack?: (rddId: number, generation: number) => void;
  /**
   * Ended jobs and ended stages kept for the status tracker, the latest this many of each (Spark's tracker reads the
   * status store, bounded by spark.ui.retainedJobs / retainedStages). Default {@link RETAINED_ENDED} each.
   */
  readonly retainedJobs?: number;
  readonly retainedStages?: number;
  /** Called when a job's id is given, before any of its tasks is sent (an engine prepares the job's output). */
  readonly onJobSubmitted?: (jobId: number) => void;
  /** Called once a job failed or was cancelled (its tasks may still run: an engine drops what they leave). */
  readonly onJobFailed?: (jobId: number) => void;
}

/** What the DAG scheduler holds right now (tests assert that nothing is left once jobs end). */
export interface DAGSchedulerState {
  readonly activeJobs: number;
  readonly waitingStages: number;
  readonly runningStages: number;
  /** Shuffle stages kept because an active job needs them. */
  readonly shuffleStages: number;
}

/** A finished job's results and the RDDs its tasks computed (rather than read from caches or shuffles). */
export interface JobResult {
  readonly jobId: number;
  readonly results: unknown[];
  readonly computedRdds: ReadonlySet<number>;
}

export class DAGScheduler implements TaskSetListener {
  #nextJobId = 0;
  #nextStageId = 0;
  readonly #shuffleStages = new Map<number, ShuffleMapStage>();
  readonly #waiting = new Set<Stage>();
  readonly #running = new Set<Stage>();
  /** Stages a fetch failure took off `#running` until their resubmission (or their job's failure): Spark's failedStages. */
  readonly #failed = new Set<Stage>();
  readonly #jobs = new Map<number, ActiveJob>();
  #taskScheduler: TaskScheduler | undefined;

  constructor(
    private readonly tracker: MapOutputTracker,
    private readonly cache: CacheTracker,
    private readonly bus: EventBus<SchedulerEvent>,
    private readonly options: DAGSchedulerOptions,
  ) {}

  attach(taskScheduler: TaskScheduler): void {
    this.#taskScheduler = taskScheduler;
  }

  get activeJobCount(): number {
    return this.#jobs.size;
  }

  state(): DAGSchedulerState {
    return {
      activeJobs: this.#jobs.size,
      waitingStages: this.#waiting.size,
      runningStages: this.#running.size,
      shuffleStages: this.#shuffleStages.size,
    };
  }

  /** RDDs computed by the tasks of each active job. */
  readonly #computed = new Map<number, Set<number>>();

  /**
   * Runs a job and resolves with one result per requested partition. `onResult`, if given, gets each result
   * in partition order as soon as the partitions before it have arrived (with `inArrivalOrder`, as soon as it
   * arrives), once per partition (a rerun or a speculative copy of a finished partition is not handed over
   * again), before the job resolves. `lineage` is `fullLineage(rdd)` when the caller walked it already.
   */
  async runJob(
    rdd: RDD<unknown>,
    partitions: readonly number[],
    resultFn: ResultFunctionWire,
    description: string,
    control: JobControl = {},
    onResult?: ResultHandler,
    inArrivalOrder = false,
    lineage?: readonly RDD<unknown>[],
  ): Promise<JobResult> {
    hop('dag.runJob');
    const { signal, jobGroup, jobDescription } = control;
    notCancelledBefore(description, control);
    await prepareLineage(rdd, lineage);
    hop('dag.prepared');
    // From here to the job's registration nothing awaits: a cancel after this check finds the job.
    notCancelledBefore(description, control);
    const jobId = this.#nextJobId++;
    const n = rdd.getNumPartitions();
    for (const p of partitions) {
      if (!Number.isInteger(p) || p < 0 || p >= n) throw new InvalidArgumentError(`job ${jobId}: ${rdd.label} has no partition ${p} (it has ${n})`);
    }
    if (partitions.length === 0) return { jobId, results: [], computedRdds: new Set() };
    const computedRdds = new Set<number>();
    this.#computed.set(jobId, computedRdds);
    const results = await new Promise<unknown[]>((resolve, reject) => {
      try {
        this.options.onJobSubmitted?.(jobId);
        const stage = this.#newResultStage(rdd, partitions, resultFn, jobId, description);
        const job: ActiveJob = {
          jobId,
          description,
          stage,
          results: new Array(partitions.length),
          done: new Array(partitions.length).fill(false),
          remaining: partitions.length,
          numTasks: partitions.length + this.#missingMapTasks(stage),
          mapTasksCompleted: 0,
          resultBytes: 0,
          accumulatorsCounted: false,
          onResult,
          inArrivalOrder,
          delivered: 0,
          resolve,
          reject,
        };
        stage.job = job;
        hop('dag.stagesBuilt', jobId);
        this.#jobs.set(jobId, job);
        if (jobGroup !== undefined) this.#jobGroups.set(jobId, jobGroup);
        if (this.bus.hasListeners('jobStart')) {
          const stageIds = collectStageIds(stage);
          const stages = describeStages(stage);
          hop('dag.stagesDescribed', jobId);
          this.bus.emit({
            type: 'jobStart',
            jobId,
            time: Date.now(),
            description,
            stageIds,
            ...(jobGroup !== undefined ? { jobGroup } : {}),
            ...(jobDescription !== undefined ? { jobDescription } : {}),
            stages,
          });
        }
        hop('dag.jobStartEmitted', jobId);
        if (signal !== undefined) {
          const onAbort = (): void => void this.cancelJob(jobId, abortReason(signal));
          signal.addEventListener('abort', onAbort, { once: true });
          this.#abortListeners.set(jobId, () => signal.removeEventListener('abort', onAbort));
        }
        this.#submitStage(stage);
      } catch (e) {
        const job = this.#jobs.get(jobId);
        if (job) this.#failJob(job, e as Error);
        else reject(e);
      }
    })
      .catch((e: unknown) => {
        this.options.onJobFailed?.(jobId);
        throw e;
      })
      .finally(() => {
        this.#computed.delete(jobId);
        this.#jobGroups.delete(jobId);
        this.#abortListeners.get(jobId)?.();
        this.#abortListeners.delete(jobId);
      });
    return { jobId, results, computedRdds };
  }

  // ---- building stages ----------------------------------------------------------------------------------

  #newResultStage(rdd: RDD<unknown>, partitions: readonly number[], resultFn: ResultFunctionWire, jobId: number, description: string): ResultStage {
    const parents = stageShuffleDeps(rdd).map((d) => this.#shuffleStage(d, jobId));
    const stage = new ResultStage(this.#nextStageId++, rdd, partitions, resultFn, parents, jobId, description);
    markJob(stage, jobId);
    return stage;
  }

  /** The stage of a shuffle, creating it and any missing ancestor stages, parents first, without recursion. */
  #shuffleStage(dep: ShuffleDependency, jobId: number): ShuffleMapStage {
    const existing = this.#shuffleStages.get(dep.shuffleId);
    if (existing) return existing;
    const order: ShuffleDependency[] = [];
    const stack: Array<{ dep: ShuffleDependency; expanded: boolean }> = [{ dep, expanded: false }];
    const seen = new Set<number>();
    // Each stage's parent shuffles, found once: the walk and the creation below both need them, and an iterative
    // program's every job creates the stages of all its earlier iterations again.
    const parentDeps = new Map<number, ShuffleDependency[]>();
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (top.expanded) {
        order.push(top.dep);
        continue;
      }
      if (seen.has(top.dep.shuffleId) || this.#shuffleStages.has(top.dep.shuffleId)) continue;
      seen.add(top.dep.shuffleId);
      stack.push({ dep: top.dep, expanded: true });
      const deps = stageShuffleDeps(top.dep.rdd);
      parentDeps.set(top.dep.shuffleId, deps);
      for (const d of deps) if (!seen.has(d.shuffleId) && !this.#shuffleStages.has(d.shuffleId)) stack.push({ dep: d, expanded: false });
    }
    for (const d of order) {
      const parents = parentDeps.get(d.shuffleId)!.map((pd) => this.#shuffleStages.get(pd.shuffleId)!);
      const stage = new ShuffleMapStage(this.#nextStageId++, d, parents, jobId);
      this.tracker.registerShuffle(d.shuffleId, d.rdd.getNumPartitions());
      this.#shuffleStages.set(d.shuffleId, stage);
    }
    return this.#shuffleStages.get(dep.shuffleId)!;
  }

  /** Map tasks of the shuffles below `stage` whose output is missing (through missing stages only, each stage once). */
  #missingMapTasks(stage: Stage): number {
    let n = 0;
    const seen = new Set<Stage>();
    const stack = this.#missingParents(stage);
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      n += this.tracker.missingMaps(s.dep.shuffleId).length;
      stack.push(...this.#missingParents(s));
    }
    return n;
  }

  /** Parent stages whose output this stage still needs; fully cached RDDs cut the walk. */
  #missingParents(stage: Stage): ShuffleMapStage[] {
    const deps = stageShuffleDeps(stage.rdd, (r) => r.storageLevel.name !== 'NONE' && this.cache.isFullyCached(r.id, r.getNumPartitions()));
    const out: ShuffleMapStage[] = [];
    for (const d of deps) {
      const s = this.#shuffleStage(d, stage.firstJobId);
      if (!this.tracker.isAvailable(d.shuffleId) && !out.includes(s)) out.push(s);
    }
    return out;
  }

  // ---- submitting ---------------------------------------------------------------------------------------

  /** Submits `stage`, or its missing parents first (explicit stack: shuffle chains can be long). */
  #submitStage(root: Stage): void {
    const stack: Stage[] = [root];
    while (stack.length > 0) {
      const stage = stack.pop()!;
      if (this.#waiting.has(stage) || this.#running.has(stage)) continue;
      const missing = this.#missingParents(stage);
      if (missing.length === 0) {
        this.#submitMissingTasks(stage);
      } else {
        this.#waiting.add(stage);
        for (const p of missing) for (const j of stage.jobIds) p.jobIds.add(j);
        stack.push(...missing);
      }
    }
  }

  #submitMissingTasks(stage: Stage): void {
    let jobId = this.#jobFor(stage);
    if (jobId === undefined) return;
    let tasks: TaskSpec[];
    if (stage.kind === 'shuffleMap') {
      let missing = this.tracker.missingMaps(stage.dep.shuffleId);
      if (missing.length > 0 && this.tracker.wasCompleted(stage.dep.shuffleId) && stage.rdd.outputLevel === 'indeterminate') {
        jobId = this.#rollBack(stage);
        if (jobId === undefined) return;
        missing = this.tracker.missingMaps(stage.dep.shuffleId);
      }
      stage.pending = new Set(missing);
      tasks = missing.map((p) => ({ partition: p, outputIndex: p, preferredWorkers: this.#preferredWorkers(stage.rdd, p) }));
    } else {
      const job = stage.job!;
      tasks = [];
      stage.partitions.forEach((p, i) => {
        if (!job.done[i]) tasks.push({ partition: p, outputIndex: i, preferredWorkers: this.#preferredWorkers(stage.rdd, p) });
      });
    }
    if (tasks.length === 0) {
      // Everything is already there (e.g. outputs registered by a concurrent job).
      this.#stageFinished(stage);
      return;
    }
    const attempt = stage.nextAttempt++;
    this.#running.add(stage);
    this.bus.emit({
      type: 'stageSubmitted',
      jobId,
      stageId: stage.id,
      attempt,
      name: stage.name,
      numTasks: tasks.length,
      numPartitions: stage.numPartitions,
      time: Date.now(),
    });
    const ts: TaskSet = { stage, stageAttempt: attempt, jobId, tasks };
    hop('dag.taskSetSubmit', jobId, stage.id);
    this.#taskScheduler!.submit(ts);
    hop('dag.taskSetSubmitted', jobId, stage.id);
  }

  /**
   * Part of an indeterminate shuffle's output must be computed again (Spark's rollback of an indeterminate stage,
   * SPARK-23243): its map tasks would give other records this time, so reducers that read the first computation
   * and reducers that read the second would lose or duplicate records between them. So every output of the
   * shuffle is dropped and computed again, and so is everything of the active jobs computed from it: the outputs
   * of shuffle stages below it (run again in full, their running attempts cancelled) and the results of result
   * stages, which are dropped and computed again while they are only held here. A result stage that has already
   * handed results over or committed them (an action's side effects, files, merged accumulators) cannot be undone:
   * its job fails with an error naming the stage and the RDD, rather than return data that lost or doubled
   * records. Returns an active job that still needs `stage`, if one does.
   */
  #rollBack(stage: ShuffleMapStage): number | undefined {
    const source = stage.rdd.indeterminateSource ?? stage.rdd;
    const why =
      `stage ${stage.id} (${stage.name}) must be computed again, and its output is indeterminate: ` +
      `${source.label} depends on the order of its input, which can change when it is computed again`;
    this.tracker.unregisterAllOutputs(stage.dep.shuffleId, why);
    this.#rollBackCaches(stage.dep.shuffleId);
    stage.firstValidAttempt = stage.nextAttempt;
    for (const job of [...this.#jobs.values()]) {
      const below = stagesBelow(job.stage, stage);
      for (const s of below) {
        if (s.kind === 'shuffleMap') {
          this.tracker.unregisterAllOutputs(s.dep.shuffleId, why);
          this.#stopForRollback(s, why);
        }
      }
      const result = job.stage;
      if (!below.has(result)) continue;
      const committed = job.remaining < job.done.length ? this.#committedResults(job) : undefined;
      if (committed !== undefined) {
        const done = job.done.length - job.remaining;
        const error = new JobFailedError(
          `Job ${job.jobId} (${job.description}) failed: ${why}, and ${done} of ${job.done.length} partitions of its result stage ` +
            `${result.id} were already computed from the first computation and ${committed}, which cannot be undone. Running on would ` +
            `lose or duplicate records. Make the input's order fixed before ${source.label} (checkpoint() the RDD it reads, or sort it), ` +
            'or make the step order-insensitive.',
          { jobId: job.jobId, stageId: result.id, partition: result.partitions[job.done.indexOf(true)]!, rddId: source.id, rddLabel: source.label },
          [{ name: 'IndeterminateStageRetry', message: why }],
        );
        this.#failJob(job, error);
        continue;
      }
      job.done.fill(false);
      job.results.fill(undefined);
      job.remaining = job.done.length;
      job.resultBytes = 0;
      this.#stopForRollback(result, why);
    }
    return this.#jobFor(stage);
  }

  /**
   * The cached partitions of every persisted RDD computed from shuffle `shuffleId` (its reduce side, and anything
   * below it, across later shuffles) came from the computation being dropped: partitions kept on live workers would
   * mix with those computed again from the new one, losing or doubling records. Each such RDD gets a new cache
   * generation, which the tasks of later stage attempts carry: the driver forgets the RDD's locations and ignores
   * updates of older generations (a task of an earlier attempt still running may cache one late), and the workers
   * drop the older blocks and refuse them. Persisted RDDs above the shuffle are kept (their partitions, determinate
   * or not, are each one whole computation, which the map stage now runs from in full); so is anything checkpointed,
   * whose lineage ends at its files. Spark does not do this (its rollback unregisters map outputs only).
   */
  #rollBackCaches(shuffleId: number): void {
    const persisted = new Set<RDD<unknown>>(this.options.persistedRdds?.() ?? []);
    for (const job of this.#jobs.values()) for (const r of fullLineage(job.stage.rdd)) if (r.storageLevel.name !== 'NONE') persisted.add(r);
    if (persisted.size === 0) return;
    const reads = readsShuffle(persisted, shuffleId);
    for (const r of persisted) {
      if (r.storageLevel.name === 'NONE' || !reads.get(r)) continue;
      const generation = r.nextCacheGeneration();
      const dropped = this.cache.rollBack(r.id, generation);
      this.options.onCacheRolledBack?.(r.id, generation);
      this.#emitDropped(r.id, dropped);
    }
  }

  /** Why a job's finished results cannot be dropped and computed again, if they cannot. */
  #committedResults(job: ActiveJob): string | undefined {
    const kind = job.stage.resultFn.kind;
    if (kind === 'foreach' || kind === 'foreachPartition') return `their ${kind} function has run`;
    if (kind === 'save' || kind === 'checkpoint') return 'their output files are committed';
    if (job.onResult !== undefined) return 'handed over to the action as they came';
    if (job.accumulatorsCounted) return 'their accumulator updates are merged';
    return undefined;
  }

  /**
   * A stage whose input is being computed again: its running attempt's task ends no longer count, and it waits
   * for that input (its attempt ends as failed, so the UI and the status tracker do not show it running).
   */
  #stopForRollback(s: Stage, why: string): void {
    s.firstValidAttempt = s.nextAttempt;
    if (!this.#leaveRunning(s, 'FAILED')) return;
    this.#taskScheduler!.cancelStage(s);
    this.#waiting.add(s);
    this.bus.emit({
      type: 'stageCompleted',
      jobId: s.firstJobId,
      stageId: s.id,
      attempt: s.nextAttempt - 1,
      time: Date.now(),
      result: 'failed',
      failureReason: why,
    });
  }

  /** Workers holding a cached partition this task would otherwise compute (first found through narrow deps). */
  #preferredWorkers(rdd: RDD<unknown>, partition: number): readonly number[] {
    return cachedPreferredLocations(rdd, partition, (id, p) => this.cache.locations(id, p));
  }

  #jobFor(stage: Stage): number | undefined {
    for (const j of stage.jobIds) if (this.#jobs.has(j)) return j;
    return undefined;
  }

  // ---- task ends (TaskSetListener) ----------------------------------------------------------------------

  taskSucceeded(ts: TaskSet, spec: TaskSpec, outcome: Extract<TaskOutcome, { status: 'success' }>, workerIndex: number): void {
    this.#recordMetrics(ts, spec.partition, outcome.metrics);
    const computed = this.#computed.get(ts.jobId);
    if (computed) for (const id of outcome.computedRdds) computed.add(id);
    const stage = ts.stage;
    if (ts.stageAttempt < stage.firstValidAttempt) return; // computed from input that has been computed again
    if (stage.kind === 'shuffleMap') {
      // A map stage computed again (lost output) counts again, as in Spark: only actions count once per task. A task
      // that ran on after every job needing the stage failed or was cancelled does not count (Spark drops the update
      // of a stage it forgot): the user saw the job end, and its accumulators must not change afterwards.
      if (outcome.accumulators.length > 0 && this.#jobFor(stage) !== undefined) this.options.onAccumulatorUpdates(outcome.accumulators);
      this.tracker.registerOutput(stage.dep.shuffleId, spec.partition, workerIndex, outcome.epoch, outcome.mapStatus ?? { sizes: [] });
      if (stage.pending.delete(spec.partition)) {
        for (const id of stage.jobIds) {
          const j = this.#jobs.get(id);
          if (j !== undefined) j.mapTasksCompleted++;
        }
      }
      hop('dag.mapRegistered', ts.jobId, spec.partition);
      // Whichever attempt computed the last missing output (a newer one waits for an earlier attempt's copy of a
      // partition rather than run its own, and counts it done: Spark's markPartitionCompletedInAllTaskSets).
      if (this.#running.has(stage) && stage.pending.size === 0) {
        this.#stageFinished(stage);
      }
      return;
    }
    const job = stage.job;
    // A result task counts once (Spark's DAGScheduler.updateAccumulators): an attempt of an earlier stage
    // attempt finishing after its partition was done again does not count twice.
    if (job === undefined || job.done[spec.outputIndex] || !this.#jobs.has(job.jobId)) return;
    if (outcome.accumulators.length > 0) {
      this.options.onAccumulatorUpdates(outcome.accumulators);
      job.accumulatorsCounted = true;
    }
    job.resultBytes += outcome.metrics.resultBytes;
    if (job.resultBytes > this.options.maxResultBytes) {
      const msg = resultTooLargeMessage(`the total result of job ${job.jobId} (${job.description})`, job.resultBytes, this.options.maxResultBytes);
      this.#failJob(job, new JobFailedError(`Job ${job.jobId} failed: ${msg}`, undefined, []));
      return;
    }
    job.done[spec.outputIndex] = true;
    job.results[spec.outputIndex] = outcome.value;
    job.remaining--;
    // Handed over once the task scheduler's turn is over (it offers the freed slot after this returns): a merge
    // on the driver must not keep a worker waiting for its next task. Before the job's promise settles, still.
    if (job.onResult !== undefined) queueMicrotask(() => (job.inArrivalOrder ? this.#handOverOne(job, spec.outputIndex) : this.#handOver(job)));
    hop('dag.result', job.jobId, spec.partition);
    if (job.remaining === 0) {
      this.#stageFinished(stage);
      this.#retireJob(job, 'SUCCEEDED');
      this.#jobs.delete(job.jobId);
      this.bus.emit({ type: 'jobEnd', jobId: job.jobId, time: Date.now(), result: 'succeeded' });
      hop('dag.jobEndEmitted', job.jobId);
      this.#forgetIdleStages(stage);
      hop('dag.stagesForgotten', job.jobId);
      job.resolve(job.results);
    }
  }

  /** Gives `job.onResult` the results that are in, in partition order, unless the job failed meanwhile. */
  #handOver(job: ActiveJob): void {
    const onResult = job.onResult!;
    while ((job.remaining === 0 || this.#jobs.has(job.jobId)) && job.delivered < job.done.length && job.done[job.delivered])
      onResult(job.delivered, job.results[job.delivered++]);
  }

  /** Gives `job.onResult` result `index` alone (a job in arrival order), unless the job failed meanwhile. */
  #handOverOne(job: ActiveJob, index: number): void {
    if (job.remaining === 0 || this.#jobs.has(job.jobId)) job.onResult!(index, job.results[index]);
  }

  /** Successful tasks' metrics of each stage's current attempt, in columns (a speculative copy counts once). */
  readonly #stageMetrics = new WeakMap<Stage, { attempt: number; metrics: StageMetrics }>();

  #recordMetrics(ts: TaskSet, partition: number, metrics: TaskMetrics): void {
    if (!this.bus.hasListeners('stageCompleted') || ts.stageAttempt !== ts.stage.nextAttempt - 1) return;
    let m = this.#stageMetrics.get(ts.stage);
    if (m === undefined || m.attempt !== ts.stageAttempt)
      this.#stageMetrics.set(ts.stage, (m = { attempt: ts.stageAttempt, metrics: this.#freshStageMetrics(ts.tasks.length) }));
    m.metrics.add(partition, metrics);
  }

  /** A finished stage's columns, for the next stage to fill (stages run one after another, mostly). */
  #spareMetrics: StageMetrics | undefined;

  #freshStageMetrics(expectedTasks: number): StageMetrics {
    const spare = this.#spareMetrics;
    this.#spareMetrics = undefined;
    return spare !== undefined ? spare.reuse(expectedTasks) : new StageMetrics(expectedTasks);
  }

  #stageFinished(stage: Stage): void {
    hop('dag.stageFinished', stage.firstJobId, stage.id);
    this.#leaveRunning(stage, 'COMPLETE');
    stage.failedAttempts = 0;
    const attempt = stage.nextAttempt - 1;
    const m = this.#stageMetrics.get(stage);
    this.#stageMetrics.delete(stage);
    const collected = m !== undefined && m.attempt === attempt ? m.metrics : undefined;
    const taskMetrics = collected?.summary();
    const skew = collected?.skew();
    if (collected !== undefined) this.#spareMetrics = collected;
    this.bus.emit({
      type: 'stageCompleted',
      jobId: stage.firstJobId,
      stageId: stage.id,
      attempt,
      time: Date.now(),
      result: 'succeeded',
      ...(taskMetrics !== undefined ? { taskMetrics } : {}),
      ...(skew !== undefined ? { skew } : {}),
    });
    if (stage.kind === 'shuffleMap' && !this.tracker.isAvailable(stage.dep.shuffleId)) {
      // Outputs were lost while the stage ran (a worker died): run the missing ones again.
      this.#submitStage(stage);
      return;
    }
    if (stage.kind === 'shuffleMap') this.tracker.markCompleted(stage.dep.shuffleId);
    for (const w of [...this.#waiting]) {
      const missing = this.#missingParents(w);
      if (missing.length === 0) {
        this.#waiting.delete(w);
        this.#submitStage(w);
        continue;
      }
      // A parent that was available when `w` began to wait (so it was skipped) may have lost outputs with a worker
      // since; nothing else would run it again, and `w` would wait forever.
      for (const p of missing) {
        if (this.#running.has(p) || this.#waiting.has(p) || this.#failed.has(p)) continue;
        for (const j of w.jobIds) p.jobIds.add(j);
        this.#submitStage(p);
      }
    }
  }

  fetchFailed(ts: TaskSet, _spec: TaskSpec, failure: Extract<TaskFailure, { kind: 'fetchFailed' }>): void {
    const stage = ts.stage;
    if (ts.stageAttempt !== stage.nextAttempt - 1 || !this.#running.has(stage)) return; // an older attempt
    if (failure.workerIndex >= 0) {
      this.tracker.unregisterOutput(failure.shuffleId, failure.mapId, failure.workerIndex);
      if (failure.epoch >= 0) this.tracker.unregisterWorkerOutputs(failure.workerIndex, failure.epoch, failure.message);
    }
    this.#leaveRunning(stage, 'FAILED');
    this.#failed.add(stage);
    this.#taskScheduler!.cancelStage(stage);
    stage.failedAttempts++;
    this.bus.emit({
      type: 'stageCompleted',
      jobId: stage.firstJobId,
      stageId: stage.id,
      attempt: ts.stageAttempt,
      time: Date.now(),
      result: 'failed',
      failureReason: failure.message,
    });
    if (stage.failedAttempts >= this.options.maxStageAttempts) {
      // A peer's port closes before the driver hears of the death: wait briefly for the reason, so the error
      // names the root cause (out of memory, an exit in user code) rather than only "worker N died".
      void this.#whenDeathKnown(failure.workerIndex, 2000).then(() => this.#failOnLostOutput(stage, failure));
      return;
    }
    this.bus.emit({ type: 'stageResubmitted', stageId: stage.id, reason: failure.message, time: Date.now() });
    // Resubmit after the event settles, so several failures from one lost worker cause one resubmission.
    setTimeout(() => {
      this.#failed.delete(stage);
      if (this.#jobFor(stage) !== undefined) this.#submitStage(stage);
    }, 10);
  }

  /** The last death of each worker index the driver heard of, and callers waiting to hear of one. */
  readonly #deaths = new Map<number, string>();
  readonly #deathWaiters = new Map<number, Array<() => void>>();

  #whenDeathKnown(workerIndex: number, ms: number): Promise<void> {
    if (workerIndex < 0 || this.#deaths.has(workerIndex)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      const waiters = this.#deathWaiters.get(workerIndex) ?? [];
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#deathWaiters.set(workerIndex, waiters);
    });
  }

  #failOnLostOutput(stage: Stage, failure: Extract<TaskFailure, { kind: 'fetchFailed' }>): void {
    {
      const lost = this.tracker.lostReason(failure.shuffleId, failure.mapId) ?? this.#deaths.get(failure.workerIndex);
      const cause = lost !== undefined && !failure.message.includes(lost) ? `${failure.message} (lost when ${lost})` : failure.message;
      const error = new JobFailedError(
        `${stage.name} (stage ${stage.id}) failed ${stage.failedAttempts} consecutive attempts on lost shuffle output; most recent: ${cause}`,
        undefined,
        [{ name: 'FetchFailed', message: failure.message }],
      );
      for (const j of [...stage.jobIds]) {
        const job = this.#jobs.get(j);
        if (job) this.#failJob(job, error);
      }
    }
  }

  taskSetFailed(ts: TaskSet, spec: TaskSpec, attempts: readonly AttemptFailure[]): void {
    const stage = ts.stage;
    const last = attempts[attempts.length - 1]!;
    const rddId = last.error.rddId ?? stage.rdd.id;
    const rddLabel = last.error.rddLabel ?? stage.rdd.label;
    const jobId = ts.jobId;
    const lines = [
      `Job ${jobId} failed: task for partition ${spec.partition} of stage ${stage.id} (${stage.name}) failed ${attempts.length} time${attempts.length === 1 ? '' : 's'}, in ${rddLabel}.`,
      `Most recent failure (attempt ${last.attempt} on worker ${last.workerIndex}): ${last.error.name}: ${last.error.message}`,
    ];
    if (last.error.input !== undefined) lines.push(`Input record: ${last.error.input}`);
    if (last.error.userFrame !== undefined) lines.push(`User code: ${last.error.userFrame}`);
    const deterministic = attempts.length > 1 && attempts.every((a) => a.error.name === last.error.name && a.error.message === last.error.message);
    if (deterministic) {
      const workers = [...new Set(attempts.map((a) => a.workerIndex))].sort((a, b) => a - b);
      lines.push(
        `All ${attempts.length} attempts (on worker${workers.length === 1 ? '' : 's'} ${workers.join(', ')}) failed with this same error: ` +
          'it is deterministic (the function or its input), so retrying does not help.',
      );
    } else if (attempts.length > 1) {
      lines.push('All attempts:');
      for (const a of attempts) lines.push(`  attempt ${a.attempt} on worker ${a.workerIndex}: ${a.error.name}: ${a.error.message}`);
    }
    if (last.error.stack) lines.push('Worker stack trace:', indent(last.error.stack));
    const error = new JobFailedError(
      lines.join('\n'),
      { jobId, stageId: stage.id, partition: spec.partition, rddId, rddLabel },
      attempts.map((a) => a.error),
    );
    error.cause = userErrorOf(last.error);
    this.#leaveRunning(stage, 'FAILED');
    this.bus.emit({
      type: 'stageCompleted',
      jobId,
      stageId: stage.id,
      attempt: ts.stageAttempt,
      time: Date.now(),
      result: 'failed',
      failureReason: last.error.message,
    });
    let lastJob: ActiveJob | undefined;
    for (const j of [...stage.jobIds]) {
      const job = this.#jobs.get(j);
      if (job) this.#failJob(job, error);
      lastJob = job ?? lastJob;
    }
    // Every job that needed the stage failed with it (#failJob no longer sees it: it left #running above), so its
    // other running attempts are killed, as Spark's failJobAndIndependentStages kills them: one stuck in a loop
    // would otherwise hold its worker after the action rejected.
    this.#taskScheduler!.killStage(stage, KILL_GRACE_MS, lastJob !== undefined ? stageCancelledReason(lastJob, error) : undefined);
  }

  /**
   * Forgets an RDD's cached blocks (unpersisted, or dropped by the program): its locations go, and listeners (the UI's
   * Storage page, the REST API's storage/rdd, the event log) hear of each block dropped, as Spark's
   * SparkListenerUnpersistRDD tells them. The workers' own drops are not reported back.
   */
  forgetRdd(rddId: number): void {
    this.#emitDropped(rddId, this.cache.removeRdd(rddId));
  }

  #emitDropped(rddId: number, dropped: ReadonlyMap<number, readonly number[]>): void {
    if (dropped.size === 0 || !this.bus.hasListeners('blockUpdated')) return;
    const time = Date.now();
    for (const [workerIndex, partitions] of dropped) {
      const executorId = this.#taskScheduler?.executorId(workerIndex) ?? String(workerIndex);
      for (const partition of partitions)
        this.bus.emit({ type: 'blockUpdated', workerIndex, executorId, time, rddId, partition, change: 'dropped', memoryBytes: 0, diskBytes: 0 });
    }
  }

  blockUpdates(workerIndex: number, executorId: string, outcome: TaskOutcome): void {
    if (outcome.blockUpdates.length === 0) return;
    this.cache.apply(workerIndex, outcome.blockUpdates);
    if (this.bus.hasListeners('blockUpdated')) {
      const time = Date.now();
      const rolledBack = this.cache.rolledBack;
      for (const u of outcome.blockUpdates) {
        // A block of a rolled-back generation was never kept as far as the driver is concerned.
        if (rolledBack && this.cache.isStale(u)) continue;
        const { generation: _, ...update } = u;
        this.bus.emit({ type: 'blockUpdated', workerIndex, executorId, time, ...update });
      }
    }
  }

  workerLost(workerIndex: number, reason: string): void {
    this.tracker.removeWorker(workerIndex, reason);
    this.cache.removeWorker(workerIndex);
    this.#deaths.set(workerIndex, reason);
    const waiters = this.#deathWaiters.get(workerIndex);
    this.#deathWaiters.delete(workerIndex);
    for (const wake of waiters ?? []) wake();
  }

  /**
   * Ends a job that failed or was cancelled, as Spark's failJobAndIndependentStages: every stage of it that no other
   * active job needs stops, and (with `kill`) its running attempts are killed, so that a task stuck in a loop or a
   * long sleep does not hold its worker after the action rejected. A stage another active job needs runs on.
   * `kill` is false only when the context stops (its workers go anyway) or none is left.
   */
  #failJob(job: ActiveJob, error: Error, kill = true): void {
    if (!this.#jobs.has(job.jobId)) return;
    this.#retireJob(job, 'FAILED');
    this.#jobs.delete(job.jobId);
    const reason = stageCancelledReason(job, error);
    // Stop this job's stages unless another active job still needs them; a stage a fetch failure took off #running
    // (aborted, or waiting for its resubmission) still has attempts running.
    for (const s of [...this.#running, ...this.#waiting, ...this.#failed]) {
      s.jobIds.delete(job.jobId);
      if (![...s.jobIds].some((j) => this.#jobs.has(j))) {
        const wasRunning = this.#leaveRunning(s, 'FAILED');
        this.#waiting.delete(s);
        this.#failed.delete(s);
        if (kill) this.#taskScheduler?.killStage(s, KILL_GRACE_MS, reason);
        else this.#taskScheduler?.cancelStage(s, true);
        if (wasRunning && kill) {
          this.bus.emit({
            type: 'stageCompleted',
            jobId: job.jobId,
            stageId: s.id,
            attempt: s.nextAttempt - 1,
            time: Date.now(),
            result: 'failed',
            failureReason: error.message,
          });
        }
      }
    }
    this.bus.emit({ type: 'jobEnd', jobId: job.jobId, time: Date.now(), result: 'failed', error: error.message });
    this.#forgetIdleStages(job.stage);
    job.reject(error);
  }

  noWorkers(reason: string): void {
    this.abortAll((job) => new JobFailedError(`Job ${job.jobId} (${job.description}) failed: no worker can run tasks: ${reason}`, undefined, []));
  }

  /**
   * Drops stages no active job needs. Map outputs stay registered in the tracker by shuffle id, so a later job
   * recreates the stage and finds them; meanwhile the scheduler holds no reference to old RDDs, so their
   * shuffles can be cleaned up once the program lets go of them.
   */
  #forgetIdleStages(finishedResultStage: Stage): void {
    const busy = (s: Stage) => [...s.jobIds].some((j) => this.#jobs.has(j)) || this.#running.has(s) || this.#waiting.has(s);
    const released = [finishedResultStage.id];
    for (const [id, stage] of this.#shuffleStages) {
      if (!busy(stage)) {
        this.#shuffleStages.delete(id);
        released.push(stage.id);
      }
    }
    this.options.onStagesReleased?.(released);
  }

  // ---- cancellation and status --------------------------------------------------------------------------

  readonly #jobGroups = new Map<number, string>();
  readonly #abortListeners = new Map<number, () => void>();

  /**
   * Cancels an active job: it rejects with an AbortError naming it, and its stages' running tasks are killed
   * (unless another active job needs the stage). Returns false if the job is not active.
   */
  cancelJob(jobId: number, reason: string): boolean {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return false;
    this.#failJob(job, new AbortError(`Job ${jobId} (${job.description}) was cancelled: ${reason}`, jobId));
    return true;
  }

  /** Cancels the active jobs of a job group; returns their ids. */
  cancelJobGroup(group: string, reason: string): number[] {
    const ids = this.jobIdsForGroup(group);
    for (const id of ids) this.cancelJob(id, reason);
    return ids;
  }

  /** Cancels every active job; returns their ids. */
  cancelAllJobs(reason: string): number[] {
    const ids = [...this.#jobs.keys()];
    for (const id of ids) this.cancelJob(id, reason);
    return ids;
  }

  /** Active jobs of a group. */
  jobIdsForGroup(group: string): number[] {
    return [...this.#jobs.keys()].filter((id) => this.#jobGroups.get(id) === group);
  }

  /** Active jobs with their stages, and the stages running now with their progress. */
  status(): { jobs: ActiveJobStatus[]; stages: ActiveStageStatus[] } {
    const jobs = [...this.#jobs.values()].map((j) => this.#jobStatus(j));
    const stages: ActiveStageStatus[] = [];
    for (const s of this.#running) {
      const p = this.#taskScheduler?.stageProgress(s);
      if (p !== undefined) stages.push({ stageId: s.id, name: s.name, ...p });
    }
    return { jobs, stages: stages.sort((a, b) => a.stageId - b.stageId) };
  }

  #jobStatus(j: ActiveJob): ActiveJobStatus {
    return {
      jobId: j.jobId,
      description: j.description,
      jobGroup: this.#jobGroups.get(j.jobId),
      stageIds: collectStageIds(j.stage),
      numTasks: j.numTasks,
      // A map stage run again (lost output) counts its tasks again: never more than the job's tasks, as Spark shows.
      numCompletedTasks: Math.min(j.numTasks, j.done.length - j.remaining + j.mapTasksCompleted),
    };
  }

  /**
   * Jobs and stages that have ended, the latest `retainedJobs` / `retainedStages` (Spark's status tracker reads its
   * status store, which keeps spark.ui.retainedJobs / retainedStages, 1,000 each): what `getJobInfo` and `getStageInfo` answer
   * for a job or stage no longer running. One small record per job and per stage attempt, nothing per task.
   */
  readonly #endedJobs = new Map<number, EndedJobStatus>();
  readonly #endedStages = new Map<number, EndedStageStatus>();

  ended(): { readonly jobs: ReadonlyMap<number, EndedJobStatus>; readonly stages: ReadonlyMap<number, EndedStageStatus> } {
    return { jobs: this.#endedJobs, stages: this.#endedStages };
  }

  #retireJob(job: ActiveJob, status: EndedJobStatus['status']): void {
    retain(this.#endedJobs, this.options.retainedJobs ?? RETAINED_ENDED, job.jobId, { ...this.#jobStatus(job), status });
  }

  /** Takes a running stage out of the running set, keeping its last attempt's counts; false if it was not running. */
  #leaveRunning(stage: Stage, status: EndedStageStatus['status']): boolean {
    const p = this.#running.has(stage) ? this.#taskScheduler?.stageProgress(stage) : undefined;
    if (!this.#running.delete(stage)) return false;
    if (p !== undefined)
      retain(this.#endedStages, this.options.retainedStages ?? RETAINED_ENDED, stage.id, {
        stageId: stage.id,
        name: stage.name,
        ...p,
        numActiveTasks: 0,
        status,
      });
    return true;
  }

  /** Fails every active job (context stopped). */
  abortAll(error: (job: { readonly jobId: number; readonly description: string }) => Error): void {
    // Not killed one by one: the context is stopping its workers, or none is left.
    for (const job of [...this.#jobs.values()]) this.#failJob(job, error(job), false);
  }
}

/**
 * What the killed attempts of a failed or cancelled job's stages report (Spark's "Stage cancelled: <the job's
 * failure>"): the first line of the job's error, which names the job.
 */
function stageCancelledReason(job: ActiveJob, error: Error): string {
  const first = error.message.split('\n', 1)[0]!;
  return first.startsWith(`Job ${job.jobId} `)
    ? `Stage cancelled: ${first}`
    : `Stage cancelled: job ${job.jobId} (${job.description}) failed: ${first}`;
}

/** Throws the AbortError of a job cancelled before it was registered (its signal aborted, or its group cancelled). */
function notCancelledBefore(description: string, { signal, cancelledBefore }: JobControl): void {
  const reason = signal?.aborted ? abortReason(signal) : cancelledBefore?.();
  if (reason !== undefined) throw new AbortError(`${description} was cancelled before its job started: ${reason}`);
}

/** What an action passes with its job: cancellation and its job group. */
export interface JobControl {
  readonly signal?: AbortSignal;
  readonly jobGroup?: string;
  readonly jobDescription?: string;
  /**
   * Why the job was cancelled before it was registered here (a cancelJobGroup()/cancelAllJobs() that came while the
   * context led it here: Spark's job exists from its submission on), or undefined.
   */
  readonly cancelledBefore?: () => string | undefined;
}

export interface ActiveJobStatus {
  readonly jobId: number;
  readonly description: string;
  readonly jobGroup: string | undefined;
  readonly stageIds: readonly number[];
  /**
   * Tasks of the job (Spark's JobData.numTasks): its result tasks (the partitions the action asked for) and the map
   * tasks of the shuffles below whose output was missing when it started; a stage skipped (its output there) adds none.
   */
  readonly numTasks: number;
  /** Those tasks that have succeeded. */
  readonly numCompletedTasks: number;
}

/** A job that has ended, as the status tracker reports it. */
export type EndedJobStatus = ActiveJobStatus & { readonly status: 'SUCCEEDED' | 'FAILED' };
/** A stage's last attempt once it stopped running (numActiveTasks 0): its counts at that moment. */
export type EndedStageStatus = ActiveStageStatus & { readonly status: 'COMPLETE' | 'FAILED' };

/** How many ended jobs, and ended stages, the scheduler keeps by default for the status tracker (Spark's 1,000). */
export const RETAINED_ENDED = 1000;

/** Sets `key` as the newest entry, dropping the oldest past `bound` (a Map iterates in insertion order). */
function retain<V>(m: Map<number, V>, bound: number, key: number, value: V): void {
  m.delete(key);
  m.set(key, value);
  if (m.size > bound) m.delete(m.keys().next().value as number);
}

export interface ActiveStageStatus {
  readonly stageId: number;
  readonly name: string;
  readonly attempt: number;
  readonly numTasks: number;
  readonly numActiveTasks: number;
  readonly numCompletedTasks: number;
  readonly numFailedTasks: number;
}

function markJob(stage: Stage, jobId: number): void {
  const stack: Stage[] = [stage];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (s.jobIds.has(jobId)) continue;
    s.jobIds.add(jobId);
    stack.push(...s.parents);
  }
}

/** The stages of `root`'s graph computed from `ancestor`'s output (not `ancestor` itself), `root` included if it is. */
function stagesBelow(root: Stage, ancestor: Stage): Set<Stage> {
  const below = new Map<Stage, boolean>();
  const stack: Array<{ s: Stage; expanded: boolean }> = [{ s: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (below.has(top.s) || top.s === ancestor) continue;
    if (!top.expanded) {
      stack.push({ s: top.s, expanded: true });
      for (const p of top.s.parents) if (!below.has(p) && p !== ancestor) stack.push({ s: p, expanded: false });
      continue;
    }
    below.set(
      top.s,
      top.s.parents.some((p) => p === ancestor || below.get(p) === true),
    );
  }
  const out = new Set<Stage>();
  for (const [s, b] of below) if (b) out.add(s);
  return out;
}

/**
 * For each RDD of `roots` and their lineages: whether it is computed from shuffle `shuffleId` (reads it, or reads an
 * RDD that is), across other shuffles.
 */
function readsShuffle(roots: Iterable<RDD<unknown>>, shuffleId: number): Map<RDD<unknown>, boolean> {
  return foldLineage<boolean>(roots, (rdd, parentValue) =>
    rdd.dependencies.some((d) => (d.type === 'shuffle' && d.shuffleId === shuffleId) || parentValue(d.rdd)),
  );
}

function collectStageIds(stage: Stage): number[] {
  const ids = new Set<number>();
  const stack: Stage[] = [stage];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (ids.has(s.id)) continue;
    ids.add(s.id);
    stack.push(...s.parents);
  }
  return [...ids].sort((a, b) => a - b);
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export type { ErrorInfo };

/** The user's exception as an Error of its own name, message and worker stack (the `cause` of a failed job). */
function userErrorOf(info: ErrorInfo): Error {
  const e = new Error(info.message);
  e.name = info.name;
  if (info.stack !== undefined) e.stack = info.stack;
  // What a program tests to tell failures apart (Node's 'ENOENT', its own codes), as Spark's cause is the task's
  // exception itself.
  if (info.code !== undefined) (e as Error & { code?: string }).code = info.code;
  return e;
}
