/**
 * Task scheduler: places the tasks of submitted task sets on workers and handles each attempt's end.
 *
 * - A worker computes one task at a time; up to `slotsPerWorker` are queued on it so it never waits for the
 *   driver between tasks. Task sets are served first-come, first-served, spread round-robin over workers.
 * - Placement prefers a worker that caches a partition the task reads (locality), otherwise any free one.
 * - A failed attempt is retried, on another worker where one exists (for a while, if all such are busy), until the
 *   task has failed `maxTaskFailures` times; then the task set is aborted and the DAG scheduler fails the jobs that
 *   need it, killing the running attempts of their stages (`killStage`).
 *   A worker the driver killed on purpose (fault injection) does not count against its tasks.
 * - A fetch failure is not retried here: a parent stage lost output, which only the DAG scheduler can repair,
 *   so the task set stops launching (becomes a zombie) and the failure goes up.
 * - Speculation (off by default): a straggler, much slower than the median of its stage, gets a copy on
 *   another worker; the first copy to finish wins, the other is cancelled and its outcome ignored.
 * - A task queued behind a long-running one moves to a worker that has nothing to do (the queue exists only to
 *   hide the driver round trip; it must never make a task wait on another's runaway computation).
 * - Every attempt remembers the epoch of the worker incarnation it was sent to; an outcome from an earlier
 *   incarnation never changes the bookkeeping of its replacement.
 *
 * The backend is an interface; tests drive this class with a fake backend that only records launches.
 */
import { InvalidArgumentError, toErrorInfo, type ErrorInfo } from '../core/errors.js';
import type { EventBus } from './event-bus.js';
import type { SchedulerEvent, TaskStartEvent } from './events.js';
import { TaskEventBatch } from './task-event-batch.js';
import type { TaskBackend, BackendListener } from '../exec/task-backend.js';
import type { TaskMessage, TaskOutcome, TaskFailure } from '../exec/protocol.js';
import { MissingShuffleOutputError } from './task-builder.js';
import { TaskSetManager, type AttemptFailure, type RunningAttempt, type SpeculationOptions } from './task-set-manager.js';
import type { Stage } from './stage.js';
import { hop } from '../util/hop-trace.js';

export type { AttemptFailure, SpeculationOptions };

/** The task event types, in the order of the bits of `bus.listenedMask(TASK_EVENTS)`. */
const TASK_EVENTS = ['taskStart', 'taskEnd', 'taskBatch'] as const;
const START_LISTENED = 1;
const END_LISTENED = 2;
const BATCH_LISTENED = 4;
/**
 * A batch of task events is delivered before any other event, when a reader of the web UI asks (its server flushes
 * what the bus holds before every answer and live push), after this long at most (the event log's own cadence, its
 * FLUSH_MS: 10 ms here fired ~15 timers per 4,000-task job, each a turn of Node's timer lists on the driver's thread,
 * for a freshness nobody read),
 */
const BATCH_MS = 100;
/**
 * or once it holds this many: a batch read while its records are still in the processor's caches (a driver that does
 * not yield, as in bench/ui-driver.ts, made batches of a whole job, 8,000 events, that the store and the log each read
 * from memory).
 */
const BATCH_EVENTS = 256;

export interface TaskSpec {
  readonly partition: number;
  /** Position of the partition in the job's result array (result stages). */
  readonly outputIndex: number;
  readonly preferredWorkers: readonly number[];
}

export interface TaskSet {
  readonly stage: Stage;
  readonly stageAttempt: number;
  readonly jobId: number;
  readonly tasks: readonly TaskSpec[];
}

/** What the DAG scheduler hears from the task scheduler. */
export interface TaskSetListener {
  taskSucceeded(ts: TaskSet, spec: TaskSpec, outcome: Extract<TaskOutcome, { status: 'success' }>, workerIndex: number): void;
  fetchFailed(ts: TaskSet, spec: TaskSpec, failure: Extract<TaskFailure, { kind: 'fetchFailed' }>): void;
  taskSetFailed(ts: TaskSet, spec: TaskSpec, attempts: readonly AttemptFailure[]): void;
  blockUpdates(workerIndex: number, executorId: string, outcome: TaskOutcome): void;
  workerLost(workerIndex: number, reason: string): void;
  /** Every worker is down and none can be started: nothing can run any more. */
  noWorkers(reason: string): void;
}

export type BuildTask = (ts: TaskSet, spec: TaskSpec, attempt: number, workerIndex: number, epoch: number) => TaskMessage;

/** What the task scheduler holds right now (tests assert that nothing is left once jobs end). */
export interface TaskSchedulerState {
  readonly taskSets: number;
  readonly runningAttempts: number;
  /** Attempts sent to each worker and not yet ended. */
  readonly inFlight: readonly number[];
}

export interface TaskSchedulerOptions {
  readonly maxTaskFailures: number;
  /**
   * Tasks queued per worker. A worker thread computes one task at a time; a second queued task hides the
   * driver round trip (a worker never idles waiting for its next task) at the cost of committing that task
   * to the worker a little earlier.
   */
  readonly slotsPerWorker: number;
  /** How long a task waits for the worker caching its data before it runs elsewhere (Spark's locality wait). */
  readonly localityWaitMs: number;
  readonly speculation?: SpeculationOptions & { readonly intervalMs: number };
  /**
   * How long the task a worker is computing may hold up the tasks queued behind it while another worker has
   * nothing to do, before those move there. Default: max(100, localityWaitMs).
   */
  readonly queuedTaskMoveMs?: number;
  /**
   * Queue a task without a preference behind a computing one even when no more tasks are pending than workers are
   * up (by default such a task waits for a worker with nothing to do, so that none waits out a head at a stage's
   * end while another worker idles). For specs of the queue itself, which build queues from a few tasks.
   */
  readonly queueAtStageEnd?: boolean;
}

interface Sent {
  readonly m: TaskSetManager;
  readonly run: RunningAttempt;
}

/**
 * A queued task whose input is cached on its worker moves off it only once the head has computed this many times
 * the queued-task move time (see `#moveQueuedTasks`): 3 s by default, Spark's own default locality wait.
 */
const CACHED_TASK_MOVE_FACTOR = 10;

/** How long a task of a cancelled or failed job, or a superseded copy, may go on computing before its worker is replaced. */
export const KILL_GRACE_MS = 1000;

/** Why an attempt of a task set whose job ended is reported killed (Spark: "Stage cancelled"). */
const ABANDONED = 'its job had ended (the stage was cancelled)';

export class TaskScheduler implements BackendListener {
  readonly #sets: TaskSetManager[] = [];
  /** Tasks in flight per worker. */
  readonly #inFlight: number[];
  /** Attempts sent to each worker's current incarnation, in send order (the first is computing). */
  readonly #queues: Sent[][];
  /** When the first attempt of each queue started computing (as far as the driver can tell). */
  readonly #headSince: number[];
  /**
   * The attempt each worker is computing, as far as the driver can tell: the one its `taskStart` announced. A worker
   * computes one task at a time, so the events, the web UI and the status tracker count as active only this one per
   * worker (Spark launches a task only onto a free core), not the tasks queued behind it to hide the round trip.
   */
  readonly #current: (RunningAttempt | undefined)[];
  /** The epoch of each worker's current incarnation. */
  readonly #epochs: number[];
  #moveTimer: NodeJS.Timeout | undefined;
  /** Workers that could not be restarted. */
  readonly #down = new Set<number>();
  /** Artificial per-worker delay (fault injection: a straggler). */
  readonly #delays = new Map<number, number>();
  #speculationTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** How long a retry waits for a worker it has not failed on before it may run again where it failed. */
  readonly #retryElsewhereMs: number;

  constructor(
    private readonly backend: TaskBackend,
    private readonly listener: TaskSetListener,
    private readonly build: BuildTask,
    private readonly bus: EventBus<SchedulerEvent>,
    private readonly options: TaskSchedulerOptions,
  ) {
    this.#inFlight = new Array(backend.numWorkers).fill(0);
    this.#queues = Array.from({ length: backend.numWorkers }, () => []);
    this.#headSince = new Array(backend.numWorkers).fill(0);
    this.#current = new Array(backend.numWorkers).fill(undefined);
    this.#epochs = Array.from({ length: backend.numWorkers }, (_, w) => backend.epoch(w));
    backend.setListener(this);
    const moveMs = options.queuedTaskMoveMs ?? Math.max(100, options.localityWaitMs);
    this.#retryElsewhereMs = CACHED_TASK_MOVE_FACTOR * moveMs;
    this.#moveTimer = setInterval(() => this.#moveQueuedTasks(moveMs), Math.max(20, Math.min(100, moveMs / 2)));
    this.#moveTimer.unref();
  }

  state(): TaskSchedulerState {
    let running = 0;
    for (const m of this.#sets) running += m.running.size;
    return { taskSets: this.#sets.length, runningAttempts: running, inFlight: [...this.#inFlight] };
  }

  submit(ts: TaskSet): void {
    const m = new TaskSetManager(ts);
    m.older = this.#sets.filter((o) => o.ts.stage === ts.stage && o.running.size > 0);
    this.#sets.push(m);
    this.#startSpeculationTimer();
    this.#offer();
  }

  /**
   * Stops launching tasks of a stage (job failed or stage resubmitted); running ones finish. `jobEnded`: no active
   * job needs the stage, so what its attempts still report is their being killed (TaskSetManager.abandoned).
   */
  cancelStage(stage: Stage, jobEnded = false): void {
    for (const m of this.#sets) {
      if (m.ts.stage !== stage) continue;
      m.zombie = true;
      if (jobEnded) m.abandoned = true;
    }
    this.#prune();
  }

  /**
   * Stops a stage no active job needs any more (its jobs failed or were cancelled): launches nothing more and kills
   * its running attempts (a task computing after `graceMs` has its worker replaced). `reason` is what their
   * `taskEnd` says (Spark's "Stage cancelled: ...").
   */
  killStage(stage: Stage, graceMs: number, reason?: string): void {
    for (const m of this.#sets) {
      if (m.ts.stage !== stage) continue;
      m.zombie = true;
      m.abandoned = true;
      m.killReason ??= reason;
      m.killGraceMs = graceMs;
      // Only an attempt its worker computes is killed (its worker replaced after the grace). One queued behind
      // another job's task is cancelled, and dropped unstarted when its worker gets to it: killed, its worker would
      // be replaced after the grace with that other task on it (a failed job took a healthy job's long task down).
      // Should it start all the same (the cancel raced its start), #start kills it then.
      for (const run of m.running.values()) {
        if (run.started) this.backend.killTask(run.workerIndex, run.taskId, graceMs);
        else this.backend.cancelTask(run.workerIndex, run.taskId);
      }
    }
    this.#prune();
  }

  /** Progress of a stage's newest task set, for the status tracker. */
  stageProgress(
    stage: Stage,
  ): { attempt: number; numTasks: number; numActiveTasks: number; numCompletedTasks: number; numFailedTasks: number } | undefined {
    let m: TaskSetManager | undefined;
    for (const s of this.#sets) if (s.ts.stage === stage && (m === undefined || s.ts.stageAttempt > m.ts.stageAttempt)) m = s;
    if (m === undefined) return undefined;
    let failed = 0;
    for (const f of m.failures) failed += f.length;
    let active = 0;
    for (const run of m.running.values()) if (run.started) active++;
    return {
      attempt: m.ts.stageAttempt,
      numTasks: m.ts.tasks.length,
      numActiveTasks: active,
      numCompletedTasks: m.numSucceeded,
      numFailedTasks: failed,
    };
  }

  /**
   * The attempts workers are computing now, as their `taskStart` announced them (not those queued behind). Asked by
   * the event log at a flush, not per task.
   *
   * @example
   * ```ts
   * for (const t of scheduler.runningTasks()) console.log(`stage ${t.stageId} partition ${t.partition} on ${t.executorId}`);
   * ```
   */
  runningTasks(): Array<Omit<TaskStartEvent, 'type'>> {
    const out: Array<Omit<TaskStartEvent, 'type'>> = [];
    for (const m of this.#sets) {
      for (const run of m.running.values()) {
        if (!run.started) continue;
        out.push({
          stageId: m.ts.stage.id,
          stageAttempt: m.ts.stageAttempt,
          partition: m.ts.tasks[run.index]!.partition,
          attempt: run.attempt,
          workerIndex: run.workerIndex,
          executorId: run.executorId,
          speculative: run.speculative,
          time: run.startedAt,
        });
      }
    }
    return out;
  }

  slowWorker(index: number, delayMs: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#inFlight.length) {
      throw new InvalidArgumentError(`slowWorker: no worker ${index} (there are ${this.#inFlight.length})`);
    }
    if (delayMs > 0) this.#delays.set(index, delayMs);
    else this.#delays.delete(index);
  }

  /** The executor (Spark's executor id) behind a worker index now. */
  executorId(index: number): string {
    return this.backend.executorId(index);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#speculationTimer) clearInterval(this.#speculationTimer);
    if (this.#moveTimer) clearInterval(this.#moveTimer);
  }

  // ---- BackendListener ------------------------------------------------------------------------------------

  workerLost(index: number, executorId: string, reason: string): void {
    this.bus.emit({ type: 'workerLost', workerIndex: index, executorId, reason, time: Date.now() });
    this.listener.workerLost(index, reason);
  }

  workerReady(index: number, executorId: string, replacement: boolean): void {
    // A backend whose slots grow (a cluster taking every core of the executors it leases) reports indexes past
    // the ends of the arrays, not necessarily in order.
    while (this.#queues.length <= index) {
      this.#queues.push([]);
      this.#inFlight.push(0);
      this.#headSince.push(0);
      this.#current.push(undefined);
      this.#epochs.push(-1);
    }
    // Attempts sent to the previous incarnation were all settled as lost by the backend.
    this.#epochs[index] = this.backend.epoch(index);
    this.#inFlight[index] = 0;
    this.#queues[index] = [];
    this.#current[index] = undefined;
    this.#down.delete(index);
    this.bus.emit({ type: 'workerAdded', workerIndex: index, executorId, replacement, time: Date.now() });
    this.#shareQueuedWith(index);
    this.#offer();
  }

  /**
   * A worker that comes up while others hold tasks queued ahead of their head (a job submitted while an executor
   * was still starting, a replacement joining mid-stage) takes its share of them at once. Otherwise queued tasks
   * move only from behind a long-running head (`#moveQueuedTasks`), which a stream of short tasks never has, and
   * the new worker would idle for the rest of the stage. Each moved task is cancelled where it waits and launched
   * here, the latest queued first.
   */
  #shareQueuedWith(joined: number): void {
    if (!this.backend.isAvailable(joined)) return;
    const waiting = (w: number) =>
      this.#queues[w]!.slice(1).filter(({ m, run }) => !run.started && m.running.has(run.taskId) && !m.zombie && !m.succeeded[run.index]);
    let up = 0;
    let total = 0;
    for (let w = 0; w < this.#queues.length; w++) {
      if (!this.backend.isAvailable(w)) continue;
      up++;
      if (w !== joined) total += waiting(w).length;
    }
    let share = Math.min(Math.floor(total / up), this.options.slotsPerWorker - this.#inFlight[joined]!);
    while (share > 0) {
      let from = -1;
      let longest: ReturnType<typeof waiting> = [];
      for (let w = 0; w < this.#queues.length; w++) {
        if (w === joined || !this.backend.isAvailable(w)) continue;
        const q = waiting(w);
        if (q.length > longest.length) {
          from = w;
          longest = q;
        }
      }
      if (from < 0) return;
      const { m, run } = longest[longest.length - 1]!;
      m.running.delete(run.taskId);
      m.moved.add(run.taskId);
      this.backend.cancelTask(from, run.taskId);
      if (m.siblings(run.index, run.taskId).length === 0) this.#launch(m, run.index, joined, false);
      share--;
    }
  }

  workerFailed(index: number, reason: string): void {
    this.#down.add(index);
    if (this.#down.size === this.#inFlight.length) this.listener.noWorkers(`every worker is down; the last could not restart: ${reason}`);
  }

  // ---- placement --------------------------------------------------------------------------------------------

  #isFree(w: number): boolean {
    return this.#inFlight[w]! < this.options.slotsPerWorker && this.backend.isAvailable(w);
  }

  #prune(): void {
    for (let i = this.#sets.length - 1; i >= 0; i--) if (this.#sets[i]!.finished) this.#sets.splice(i, 1);
  }

  /** Gives free workers tasks, one per worker per round so a task set spreads over all of them. */
  #offer(): void {
    if (this.#stopped) return;
    let launched = true;
    while (launched) {
      launched = false;
      for (let w = 0; w < this.#inFlight.length; w++) {
        if (!this.#isFree(w)) continue;
        if (this.#offerOne(w)) launched = true;
      }
    }
  }

  #offerOne(w: number): boolean {
    // Behind a task it computes, a worker is sent a task without a preference for it only while every worker could be
    // given as many: at a stage's end one queued there waits out the head while another worker idles (a cold word
    // count's last map task waited ~0.2 s on the slower of two vCPUs). An idle worker is sent one a round trip later.
    const behind = this.#inFlight[w]!;
    let spare: boolean | undefined = behind === 0 || this.options.queueAtStageEnd === true ? true : undefined;
    for (const m of this.#sets) {
      if (m.zombie || m.pending.length === 0) continue;
      const pick = this.#pick(m, w);
      if (pick === undefined) continue;
      if (spare !== true && !m.ts.tasks[m.pending.at(pick)]!.preferredWorkers.includes(w)) {
        spare ??= this.#pendingTasks() > this.#availableWorkers() * behind;
        if (!spare) continue;
      }
      const index = m.take(pick);
      this.#launch(m, index, w, false);
      return true;
    }
    // Nothing regular to run: a straggler's copy, never on the worker already running it.
    for (const m of this.#sets) {
      if (m.zombie) continue;
      const at = m.speculatable.findIndex((idx) => !m.succeeded[idx] && !m.siblings(idx, -1).some((a) => a.workerIndex === w));
      if (at < 0) continue;
      const index = m.speculatable.splice(at, 1)[0]!;
      this.#launch(m, index, w, true);
      return true;
    }
    return false;
  }

  #pendingTasks(): number {
    let n = 0;
    for (const m of this.#sets) if (!m.zombie) n += m.pending.length;
    return n;
  }

  #availableWorkers(): number {
    let n = 0;
    for (let w = 0; w < this.#inFlight.length; w++) if (this.backend.isAvailable(w)) n++;
    return n;
  }

  /**
   * Position in m.pending of the task to run on worker w: a task preferring w first; then one without a
   * preference that did not already fail on w (retries go elsewhere while another worker exists); a task whose
   * data is cached on another worker runs here only once that worker stayed busy for the locality wait.
   */
  #pick(m: TaskSetManager, w: number): number | undefined {
    let candidate: number | undefined;
    const now = Date.now();
    const lookForPreferred = m.hasPreferences && m.prefersPending(w);
    for (let i = 0; i < m.pending.length; i++) {
      if (!lookForPreferred && candidate !== undefined) break;
      const idx = m.pending.at(i);
      if (m.older.length > 0 && this.#waitsForOlderCopy(m, idx)) continue;
      const prefs = m.ts.tasks[idx]!.preferredWorkers;
      if (prefs.includes(w)) return i;
      if (candidate !== undefined) continue;
      if (this.#avoids(m, idx, w, now)) continue;
      // A retry is not queued behind another task while an idle worker would take it (moved there from such a queue,
      // it would otherwise come straight back, and be moved again).
      if (this.#inFlight[w]! > 0 && m.failedOn[idx]!.size > 0 && this.#idleWorkerTakes(m, idx, w)) continue;
      const usable = prefs.filter((p) => this.backend.isAvailable(p));
      if (usable.length === 0) {
        candidate = i;
        continue;
      }
      const waited = now - m.pendingSince[idx]!;
      if (waited >= this.options.localityWaitMs && !usable.some((p) => p !== w && this.#isFree(p))) candidate = i;
      else this.#wakeAfter(this.options.localityWaitMs - waited);
    }
    return candidate;
  }

  /**
   * Whether task `idx` waits for a copy of its partition that an earlier attempt of the stage is computing, rather than
   * run a second one. That copy's result or map output counts when it ends (a result stage takes a partition's first
   * result, a map stage registers any valid attempt's output, and its success completes the partition here too); if
   * it fails, the partition runs here. Spark launches the second copy, but a kindling worker computes one task at a
   * time and serves its map outputs and cached blocks from the same thread: a copy stuck in a loop makes every
   * fetch from its worker fail, each fetch failure resubmitted the stage, and each new attempt started the loop
   * again on another worker, until every worker looped and no job could fail or end (FUZZ_SEED=84100 of
   * random-job-failure). A copy that cannot count is killed instead, and this one runs: one whose output would be
   * discarded (an attempt before a rollback), one of a stage its jobs abandoned, or one still queued behind another
   * task (it might wait there for ever).
   */
  #waitsForOlderCopy(m: TaskSetManager, idx: number): boolean {
    const partition = m.ts.tasks[idx]!.partition;
    let waits = false;
    for (const o of m.older) {
      if (o.running.size === 0) continue;
      const j = o.indexOf(partition);
      if (j === undefined) continue;
      for (const run of o.running.values()) {
        if (run.index !== j || o.losers.has(run.taskId)) continue;
        if (run.started && !o.abandoned && o.ts.stageAttempt >= o.ts.stage.firstValidAttempt) waits = true;
        else this.#supersede(o, run);
      }
    }
    return waits;
  }

  /**
   * Stops a copy whose outcome no longer counts (a later attempt's copy replaces it): cancelled if its worker has not
   * taken it up, else killed as a cancelled job's task is (its worker replaced if it computes on past the grace, so a
   * copy stuck in a loop does not hold it for ever). Its end is reported killed and otherwise ignored.
   */
  #supersede(m: TaskSetManager, run: RunningAttempt): void {
    m.losers.add(run.taskId);
    if (run.started) this.backend.killTask(run.workerIndex, run.taskId, KILL_GRACE_MS);
    else this.backend.cancelTask(run.workerIndex, run.taskId);
  }

  /**
   * Whether task `idx`, which failed on `w`, waits for another worker rather than run on `w` again. It does while
   * another worker it has not failed on is up, but only for `#retryElsewhereMs` once none of those has nothing to do:
   * they may all be held by long or runaway tasks (a partition stuck in `while (true) {}` next to one that throws
   * every time), and a retry that waited for them would never run, so its job would never fail (nor kill the stuck
   * task). Spark, without excludeOnFailure, would run it there at once.
   */
  #avoids(m: TaskSetManager, idx: number, w: number, now: number): boolean {
    const failedOn = m.failedOn[idx]!;
    if (!failedOn.has(w) || !this.#canRunElsewhere(failedOn, w)) return false;
    const waited = now - m.failedAt[idx]!;
    if (waited < this.#retryElsewhereMs) {
      this.#wakeAfter(this.#retryElsewhereMs - waited);
      return true;
    }
    for (let o = 0; o < this.#inFlight.length; o++) {
      if (o !== w && !failedOn.has(o) && this.#inFlight[o] === 0 && this.backend.isAvailable(o)) return true;
    }
    return false;
  }

  /** Whether a worker other than `w`, up now, has not failed this task yet (retries go there). */
  #canRunElsewhere(failedOn: ReadonlySet<number>, w: number): boolean {
    for (let o = 0; o < this.#inFlight.length; o++) {
      if (o !== w && !failedOn.has(o) && this.backend.isAvailable(o)) return true;
    }
    return false;
  }

  #wakeTimer: NodeJS.Timeout | undefined;
  /** Offers again when a locality wait runs out (nothing else may happen before then). */
  #wakeAfter(ms: number): void {
    if (this.#wakeTimer !== undefined) return;
    this.#wakeTimer = setTimeout(
      () => {
        this.#wakeTimer = undefined;
        this.#offer();
      },
      Math.max(1, ms),
    );
    this.#wakeTimer.unref();
  }

  #launch(m: TaskSetManager, idx: number, w: number, speculative: boolean): void {
    const spec = m.ts.tasks[idx]!;
    const attempt = m.attempts[idx]!++;
    let msg: TaskMessage;
    try {
      msg = this.build(m.ts, spec, attempt, w, this.#epochs[w]!);
    } catch (e) {
      if (e instanceof MissingShuffleOutputError) {
        m.zombie = true;
        this.listener.fetchFailed(m.ts, spec, {
          kind: 'fetchFailed',
          shuffleId: e.shuffleId,
          mapId: e.mapId,
          workerIndex: -1,
          epoch: -1,
          message: e.message,
        });
        this.#prune();
        return;
      }
      this.#recordFailure(m, idx, attempt, w, toErrorInfo(e));
      return;
    }
    const delay = this.#delays.get(w);
    if (delay !== undefined) msg = { ...msg, delayMs: delay };
    this.#inFlight[w]!++;
    const now = Date.now();
    const run: RunningAttempt = {
      taskId: msg.taskId,
      index: idx,
      attempt,
      workerIndex: w,
      epoch: msg.epoch,
      executorId: this.backend.executorId(w),
      sentAt: now,
      startedAt: now,
      started: false,
      speculative,
    };
    m.running.set(run.taskId, run);
    const queue = this.#queues[w]!;
    if (queue.length === 0) this.#headSince[w] = now;
    queue.push({ m, run });
    if (this.#current[w] === undefined) this.#start(m, run, now);
    hop('ts.launched', m.ts.jobId, msg.taskId);
    void this.backend.runTask(w, msg).then((outcome) => this.#finished(m, run, outcome));
  }

  // ---- attempt ends -----------------------------------------------------------------------------------------

  /** Its worker begins computing `run` (as far as the driver can tell): Spark's task launch. */
  #start(m: TaskSetManager, run: RunningAttempt, now: number): void {
    run.started = true;
    run.startedAt = now;
    this.#current[run.workerIndex] = run;
    if (this.#listened() !== 0) this.#emitStart(m, run, m.ts.tasks[run.index]!.partition);
    if (m.killGraceMs !== undefined) this.backend.killTask(run.workerIndex, run.taskId, m.killGraceMs);
  }

  /**
   * The attempt that ended was the one its worker computed: the worker goes on with the next in its queue, in send
   * order, skipping attempts it will drop unstarted (moved to another worker, or cancelled after losing the race).
   */
  #startNext(w: number, now: number): void {
    // A lost worker computes nothing more: the attempts it held end as lost, without having been computed there.
    if (!this.backend.isAvailable(w)) return;
    const queue = this.#queues[w]!;
    for (let i = 0; i < queue.length; i++) {
      const { m, run } = queue[i]!;
      if (run.started || !m.running.has(run.taskId) || (m.losers.size !== 0 && m.losers.has(run.taskId))) continue;
      this.#start(m, run, now);
      return;
    }
  }

  /**
   * An attempt's end, after its start: an attempt that ends before its worker was taken to compute it had its start
   * announced only now. Either it ran between the awaits of the one computing (a shuffle fetch, `mapAsync`: a worker
   * interleaves the tasks it holds at their awaits, so its queue is not strictly in order), and it ran since it was
   * sent; or it never ran (cancelled, killed or lost while it waited): no time at all.
   */
  #ended(m: TaskSetManager, run: RunningAttempt, outcome: TaskOutcome, lostTheRace: boolean, wasCurrent: boolean, now: number): void {
    if (!run.started) {
      const ran =
        outcome.status === 'success' ||
        (outcome.failure.kind !== 'killed' && outcome.failure.kind !== 'workerLost' && outcome.failure.kind !== 'notSerializable');
      run.started = true;
      run.startedAt = ran ? run.sentAt : now;
      if (this.#listened() !== 0) this.#emitStart(m, run, m.ts.tasks[run.index]!.partition);
    }
    this.#emitEnd(m, run, outcome, lostTheRace, now);
    if (wasCurrent) this.#startNext(run.workerIndex, now);
  }

  #finished(m: TaskSetManager, run: RunningAttempt, outcome: TaskOutcome): void {
    hop('ts.finished', m.ts.jobId, run.taskId);
    // One clock read per end (the queue's head, the end's time, the next start, the duration).
    const now = Date.now();
    m.running.delete(run.taskId);
    const w = run.workerIndex;
    const wasCurrent = this.#current[w] === run;
    if (wasCurrent) this.#current[w] = undefined;
    if (run.epoch === this.#epochs[w]) {
      // A lost worker is not offered tasks again until its replacement reports ready (isAvailable).
      this.#inFlight[w] = Math.max(0, this.#inFlight[w]! - 1);
      const queue = this.#queues[w]!;
      const at = queue.findIndex((q) => q.run === run);
      if (at >= 0) queue.splice(at, 1);
      if (at === 0) this.#headSince[w] = now;
    }
    // Block updates of a dead incarnation describe blocks that died with it.
    if (outcome.epoch === this.#epochs[w]) this.listener.blockUpdates(w, run.executorId, outcome);
    const idx = run.index;
    const spec = m.ts.tasks[idx]!;
    if (m.moved.delete(run.taskId)) {
      // This attempt was moved to another worker while it waited in a queue: its copy counts, not this.
      this.#ended(m, run, outcome, true, wasCurrent, now);
      this.#prune();
      this.#offer();
      return;
    }
    const lostTheRace = m.losers.delete(run.taskId);
    // Whether its worker was computing it (rather than holding it in its queue): #ended marks every attempt started.
    const computing = run.started;
    this.#ended(m, run, outcome, lostTheRace, wasCurrent, now);
    if (lostTheRace) {
      // The other copy already won: this one's output and accumulator updates are discarded.
    } else if (outcome.status === 'success') {
      if (!m.succeeded[idx]) {
        m.succeeded[idx] = true;
        m.numSucceeded++;
        m.durations.push(now - run.startedAt);
        for (const other of m.siblings(idx, run.taskId)) {
          m.losers.add(other.taskId);
          this.backend.cancelTask(other.workerIndex, other.taskId);
        }
        // Spark's markPartitionCompletedInAllTaskSets: the other attempts of the stage do not run the partition again.
        // (None runs a copy of it too: a later attempt waits for this one's, or superseded it.)
        for (const o of this.#sets) {
          if (o === m || o.ts.stage !== m.ts.stage) continue;
          const j = o.indexOf(spec.partition);
          if (j !== undefined) o.completedElsewhere(j);
        }
        this.listener.taskSucceeded(m.ts, spec, outcome, w);
      }
    } else if (!m.zombie && !m.succeeded[idx]) {
      this.#failed(m, run, outcome.failure, computing);
    }
    this.#prune();
    this.#offer();
  }

  /** `computing`: its worker was computing the attempt when it failed, not holding it queued behind another. */
  #failed(m: TaskSetManager, run: RunningAttempt, failure: TaskFailure, computing: boolean): void {
    const idx = run.index;
    switch (failure.kind) {
      case 'fetchFailed':
        m.zombie = true;
        this.listener.fetchFailed(m.ts, m.ts.tasks[idx]!, failure);
        return;
      case 'killed':
        if (m.siblings(idx, run.taskId).length === 0) m.requeue(idx);
        return;
      case 'workerLost':
        if (failure.causedByApp && (computing || failure.thisTask === true)) {
          this.#recordFailure(m, idx, run.attempt, run.workerIndex, { name: 'WorkerLost', message: `${failure.message} while running the task` });
        } else if (failure.executorLost === true && computing) {
          this.#executorLostWhileComputing(m, run, failure.message);
        } else if (m.siblings(idx, run.taskId).length === 0) {
          // Not the task's doing (the driver, Redis, or another task of a worker that held it queued): run it again
          // without counting an attempt against it (Spark's ExecutorLostFailure with exitCausedByApp false).
          m.requeue(idx);
        }
        return;
      case 'exception':
        this.#recordFailure(m, idx, run.attempt, run.workerIndex, failure.error);
        return;
      case 'resultTooLarge':
        // Running it again would produce the same result: fail at once.
        this.#failAtOnce(m, run, {
          name: 'ResultTooLarge',
          message: resultTooLargeMessage(m.ts.tasks[idx]!.partition, failure.bytes, failure.limit),
        });
        return;
      case 'notSerializable':
        this.#failAtOnce(m, run, {
          name: 'DataCloneError',
          message: `${failure.message.replace(/\.$/, '')} (not retried: the same data would be refused again)`,
        });
        return;
      case 'resultNotSerializable':
        // Spark's "had a not serializable result": the same function on the same input returns it again.
        this.#failAtOnce(m, run, {
          ...failure.error,
          message: `${failure.error.message.replace(/\.$/, '')} (not retried: the same result would be refused again)`,
        });
        return;
      default: {
        const never: never = failure;
        // internal: exhaustive switch over the failure kinds
        throw new Error(`unknown failure ${String(never)}`);
      }
    }
  }

  #failAtOnce(m: TaskSetManager, run: RunningAttempt, error: ErrorInfo): void {
    m.zombie = true;
    const idx = run.index;
    this.listener.taskSetFailed(m.ts, m.ts.tasks[idx]!, [...m.failures[idx]!, { attempt: run.attempt, workerIndex: run.workerIndex, error }]);
  }

  /**
   * The executor process computing the attempt was lost (its process ended, it stopped beating or answering): not
   * counted as a failure of the task, since the cause may lie outside it (a killed process, a stalled machine).
   * But a task that kills every executor it runs on must not go round them for ever: once a task was being
   * computed on maxTaskFailures executors when each was lost, the job fails, naming the executors' losses.
   */
  #executorLostWhileComputing(m: TaskSetManager, run: RunningAttempt, message: string): void {
    const idx = run.index;
    const losses = m.executorLosses[idx]!;
    losses.push({
      attempt: run.attempt,
      workerIndex: run.workerIndex,
      error: { name: 'ExecutorLost', message: `${message} while computing the task` },
    });
    if (losses.length >= this.options.maxTaskFailures) {
      m.zombie = true;
      const n = losses.length;
      const last = losses[n - 1]!;
      const error = {
        name: 'ExecutorLost',
        message:
          `${last.error.message}; the task was being computed on ${n} executors when each was lost (maxTaskFailures ${this.options.maxTaskFailures}): ` +
          'it may be what ends them (the executor process running out of memory, a native crash, process.kill in its code)',
      };
      this.listener.taskSetFailed(m.ts, m.ts.tasks[idx]!, [...losses.slice(0, -1), { ...last, error }]);
    } else if (m.siblings(idx, -1).length === 0) {
      m.requeue(idx);
    }
  }

  #recordFailure(m: TaskSetManager, idx: number, attempt: number, w: number, error: ErrorInfo): void {
    m.failures[idx]!.push({ attempt, workerIndex: w, error });
    m.failedOn[idx]!.add(w);
    m.failedAt[idx] = Date.now();
    if (m.failures[idx]!.length >= this.options.maxTaskFailures) {
      m.zombie = true;
      this.listener.taskSetFailed(m.ts, m.ts.tasks[idx]!, m.failures[idx]!);
    } else if (m.siblings(idx, -1).length === 0) {
      m.requeue(idx);
    }
  }

  /**
   * Task starts and ends are most events. The listeners that take them one by one (console progress, tests) get an
   * object each; those that take them in batches (the web UI) get them in one `taskBatch` event now and then, in
   * records that the batch reuses: no object and no dispatch per task. The bus holds the batch until another event
   * (which it delivers after the batch), until the batch timer runs (every BATCH_MS while task events come), or until
   * it holds BATCH_EVENTS. A batch per turn was 4-5 events at 20k tasks/s, and its delivery cost about what the
   * per-task dispatch it replaced did (docs/benchmarks.md, session 12).
   */
  #batch = new TaskEventBatch();
  /** The batch delivered last, reused as the next one (a listener may cause tasks to launch while it reads one). */
  #spareBatch = new TaskEventBatch();
  /**
   * Delivers what is held every BATCH_MS while task events come. Armed by the first event after it ran, and not
   * cleared when a batch goes out another way: a timer set and cleared per batch was a visible share of the batches'
   * cost (Node's timer lists, ~0.1 ms per batch here).
   */
  #batchTimer: NodeJS.Timeout | undefined;
  readonly #onBatchTimer = (): void => {
    this.#batchTimer = undefined;
    this.bus.flushHeld();
  };
  readonly #flushBatch = (): void => {
    const batch = this.#batch;
    if (batch.size === 0) return;
    this.#batch = this.#spareBatch;
    this.#spareBatch = batch;
    try {
      this.bus.emit({ type: 'taskBatch', tasks: batch });
    } finally {
      batch.clear();
    }
  };

  /** The batch to add a task event to: the first of a batch asks the bus to hold it; a full one goes out first. */
  #batchForEvent(): TaskEventBatch {
    if (this.#batch.size >= BATCH_EVENTS) this.bus.flushHeld();
    const batch = this.#batch;
    if (batch.size === 0) {
      this.bus.hold(this.#flushBatch);
      if (this.#batchTimer === undefined) {
        // The log has them within BATCH_MS (the UI's readers flush what is held); never why a program keeps running.
        this.#batchTimer = setTimeout(this.#onBatchTimer, BATCH_MS);
        this.#batchTimer.unref();
      }
    }
    return batch;
  }

  #listenedGeneration = -1;
  #listenedBits = 0;
  /**
   * Which task events to build (bits of TASK_EVENTS), remembered until the subscriptions change. Batches only for a
   * listener that takes them as batches: a catch-all listener without `batched` counts as listening to every type,
   * `taskBatch` too, and was given each task event twice, one by one and in a batch (a StatusStore fed by a plain
   * `onAny`, as its TSDoc shows, counted every task twice in the REST API's numCompleteTasks).
   */
  #listened(): number {
    const generation = this.bus.generation;
    if (generation !== this.#listenedGeneration) {
      let bits = this.bus.listenedMask(TASK_EVENTS);
      if (!this.bus.takesBatches('taskBatch')) bits &= ~BATCH_LISTENED;
      this.#listenedBits = bits;
      this.#listenedGeneration = generation;
    }
    return this.#listenedBits;
  }

  #emitStart(m: TaskSetManager, run: RunningAttempt, partition: number): void {
    const listened = this.#listened();
    if ((listened & START_LISTENED) !== 0) {
      this.bus.emit({
        type: 'taskStart',
        stageId: m.ts.stage.id,
        stageAttempt: m.ts.stageAttempt,
        partition,
        attempt: run.attempt,
        workerIndex: run.workerIndex,
        executorId: run.executorId,
        speculative: run.speculative,
        time: run.startedAt,
      });
    }
    if ((listened & BATCH_LISTENED) === 0) return;
    this.#batchForEvent().start(
      m.ts.stage.id,
      m.ts.stageAttempt,
      partition,
      run.attempt,
      run.workerIndex,
      run.executorId,
      run.speculative,
      run.startedAt,
    );
  }

  #emitEnd(m: TaskSetManager, run: RunningAttempt, outcome: TaskOutcome, lostTheRace: boolean, now: number): void {
    const listened = this.#listened();
    if ((listened & (END_LISTENED | BATCH_LISTENED)) === 0) return;
    const failure = outcome.status === 'failed' ? outcome.failure : undefined;
    // A save's attempt that found its job ended (aborted or committed) when it came to commit is killed, not failed:
    // Spark's TaskCommitDenied. Only in a stage no longer running: one that is still needs the attempt to count.
    const commitDenied = m.zombie && failure?.kind === 'exception' && failure.error.name === 'CommitDeniedError';
    // An attempt of a task set whose job ended is killed, whatever else it reports (TaskSetManager.abandoned).
    const abandoned = m.abandoned && failure !== undefined && failure.kind !== 'killed' && !commitDenied;
    const killed = lostTheRace || abandoned || commitDenied || failure?.kind === 'killed';
    const task = m.ts.tasks[run.index]!;
    const result = killed ? 'killed' : outcome.status === 'success' ? 'success' : 'failed';
    const error = abandoned
      ? `Killed: ${m.killReason ?? ABANDONED}`
      : failure?.kind === 'killed' && m.killReason !== undefined
        ? `Killed: ${failure.message} (${m.killReason})`
        : failure !== undefined
          ? describeFailure(failure)
          : undefined;
    // A task set without preferences (most: empty tasks, parallelize) needs no look at the task's list, a second cold
    // object a task end only because someone listens (docs/benchmarks.md, session 42).
    const locality = m.hasPreferences ? localityOf(task.preferredWorkers, run.workerIndex) : 'NO_PREF';
    if ((listened & END_LISTENED) !== 0) {
      // One object literal of one shape per task end: conditional spreads built two throwaway objects and gave the
      // event a dictionary-mode shape that every listener then read slowly. An absent error or metrics is an
      // undefined field (JSON and the listeners treat both alike).
      this.bus.emit({
        type: 'taskEnd',
        stageId: m.ts.stage.id,
        stageAttempt: m.ts.stageAttempt,
        partition: task.partition,
        attempt: run.attempt,
        workerIndex: run.workerIndex,
        executorId: run.executorId,
        speculative: run.speculative,
        result,
        error,
        durationMs: now - run.startedAt,
        metrics: outcome.metrics,
        locality,
        time: now,
      });
    }
    if ((listened & BATCH_LISTENED) === 0) return;
    // A row, written while the outcome (and its metrics object) is in the cache: the listeners copy it.
    this.#batchForEvent().end(
      m.ts.stage.id,
      m.ts.stageAttempt,
      task.partition,
      run.attempt,
      run.workerIndex,
      run.executorId,
      run.speculative,
      result,
      error,
      now - run.startedAt,
      outcome.metrics,
      locality,
      now,
    );
  }

  // ---- tasks held up behind a long one ----------------------------------------------------------------------

  /**
   * A worker computes its queue in order, so a task queued behind a long (or runaway) task waits for it. When
   * the head has computed for `moveMs` and some worker has nothing at all to do, the waiting tasks move: each
   * is cancelled where it waits (the worker drops it unstarted when it gets to it) and queued again. The old
   * attempt keeps its worker's slot counted until its outcome arrives, so a stuck worker gets nothing new.
   */
  #moveQueuedTasks(moveMs: number): void {
    if (this.#stopped) return;
    const now = Date.now();
    let idle = 0;
    for (let w = 0; w < this.#inFlight.length; w++) if (this.#inFlight[w] === 0 && this.backend.isAvailable(w)) idle++;
    if (idle === 0) return;
    let moved = false;
    for (let w = 0; w < this.#queues.length && idle > 0; w++) {
      const queue = this.#queues[w]!;
      const computed = now - this.#headSince[w]!;
      if (queue.length < 2 || computed < moveMs) continue;
      for (const { m, run } of queue.slice(1)) {
        if (idle === 0) break;
        if (run.started || !m.running.has(run.taskId) || m.zombie || m.succeeded[run.index]) continue;
        // A task waiting on the worker that caches its input would recompute that input from its lineage anywhere
        // else: k-means' iteration on a loaded machine moved a 0.3 s task off its cached points after a 0.75 s
        // head and recomputed them (text read and parse) in 7.2 s. It moves only from behind a head that looks
        // stuck rather than slow.
        if (computed < CACHED_TASK_MOVE_FACTOR * moveMs && m.ts.tasks[run.index]!.preferredWorkers.includes(w)) continue;
        if (!this.#idleWorkerTakes(m, run.index, w)) continue;
        m.running.delete(run.taskId);
        m.moved.add(run.taskId);
        this.backend.cancelTask(w, run.taskId);
        if (m.siblings(run.index, run.taskId).length === 0) m.requeue(run.index);
        idle--;
        moved = true;
      }
    }
    if (moved) this.#offer();
  }

  /**
   * Whether a worker other than `from` with nothing to do would take task `idx` (`#pick` sends a task that failed on a
   * worker elsewhere while another is up). One that none would take stays where it waits: moved, it came back to
   * `from` once its cancelled attempt ended, and moved again after `moveMs`, for as long as the head computed (after
   * a Redis restart every task lost with the first executor had "failed" on the slot index its replacement took,
   * and one moved back and forth for over two minutes). But a retry queued behind a runaway task must move to a worker
   * it failed on once `#avoids` lets it run there, or its job would never fail (nor kill the runaway task).
   */
  #idleWorkerTakes(m: TaskSetManager, idx: number, from: number): boolean {
    const now = Date.now();
    for (let o = 0; o < this.#inFlight.length; o++) {
      if (o === from || this.#inFlight[o] !== 0 || !this.backend.isAvailable(o)) continue;
      if (!this.#avoids(m, idx, o, now)) return true;
    }
    return false;
  }

  // ---- speculation ------------------------------------------------------------------------------------------

  #startSpeculationTimer(): void {
    const spec = this.options.speculation;
    if (!spec?.enabled || this.#speculationTimer !== undefined) return;
    this.#speculationTimer = setInterval(() => this.#checkSpeculation(), spec.intervalMs);
    this.#speculationTimer.unref();
  }

  #checkSpeculation(): void {
    const spec = this.options.speculation!;
    const now = Date.now();
    let found = false;
    for (const m of this.#sets) if (m.findStragglers(now, spec).length > 0) found = true;
    if (found) this.#offer();
  }
}

function describeFailure(f: TaskFailure): string {
  switch (f.kind) {
    case 'exception':
      return `${f.error.name}: ${f.error.message}`;
    case 'fetchFailed':
      return `FetchFailed: ${f.message}`;
    case 'workerLost':
      return `WorkerLost: ${f.message}`;
    case 'killed':
      return `Killed: ${f.message}`;
    case 'resultTooLarge':
      return `ResultTooLarge: ${f.bytes} bytes > ${f.limit}`;
    case 'notSerializable':
      return `DataCloneError: ${f.message}`;
    case 'resultNotSerializable':
      return `${f.error.name}: ${f.error.message}`;
    default: {
      const never: never = f;
      return String(never);
    }
  }
}

/** Shared by the per-task and the per-job checks of maxResultSize. */
export function resultTooLargeMessage(what: number | string, bytes: number, limit: number): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const subject = typeof what === 'number' ? `the result of partition ${what}` : what;
  return (
    `${subject} is ${mib(bytes)}, more than maxResultSize (${mib(limit)}): the driver would have to hold it all. ` +
    'Reduce it in the workers first (reduce, aggregate, take), write it with saveAsTextFile, or raise maxResultSize.'
  );
}

function localityOf(preferred: readonly number[], worker: number): 'PROCESS_LOCAL' | 'ANY' | 'NO_PREF' {
  if (preferred.length === 0) return 'NO_PREF';
  return preferred.includes(worker) ? 'PROCESS_LOCAL' : 'ANY';
}
