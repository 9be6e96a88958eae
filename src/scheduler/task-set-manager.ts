/**
 * The scheduler's bookkeeping for one task set (one attempt of one stage): which tasks wait, which attempts run
 * where and since when, which succeeded, how often each failed and why, and which stragglers deserve a
 * speculative copy (Spark's TaskSetManager, without the placement policy, which lives in TaskScheduler).
 */
import type { ErrorInfo } from '../core/errors.js';
import type { TaskSet } from './task-scheduler.js';

export interface AttemptFailure {
  readonly attempt: number;
  readonly workerIndex: number;
  readonly error: ErrorInfo;
}

export interface RunningAttempt {
  readonly taskId: number;
  readonly index: number;
  readonly attempt: number;
  readonly workerIndex: number;
  /** The epoch of the worker incarnation it was sent to, and that incarnation's executor id. */
  readonly epoch: number;
  readonly executorId: string;
  /** When the driver sent it to its worker. */
  readonly sentAt: number;
  /**
   * When its worker began computing it, as far as the driver can tell (its `taskStart` time, Spark's launch time):
   * the send time until then. A worker computes one task at a time; the others sent to it wait in its queue.
   */
  startedAt: number;
  /** Whether its `taskStart` was emitted: its worker is computing it (it heads the worker's queue), or it ended. */
  started: boolean;
  readonly speculative: boolean;
}

export interface SpeculationOptions {
  readonly enabled: boolean;
  /** A task is a straggler once it runs this many times longer than the median successful task. */
  readonly multiplier: number;
  /** Fraction of tasks that must have succeeded before any is speculated. */
  readonly quantile: number;
  /** Never speculate a task that has run less than this. */
  readonly minRuntimeMs: number;
}

/**
 * The task indices waiting to run, in order, as a deque: a task is taken from near the head (the first pending, or
 * the first preferring the offered worker) and a retry goes back at the head. Taking one costs the distance to the
 * nearer end, where `Array.splice` moved every task behind it: O(tasks) per launch, O(tasks²) per stage (SparkTC's
 * last round launches 32,768 tasks per stage, three stages).
 */
export class PendingTasks {
  #items: number[];
  #head = 0;

  constructor(n: number) {
    this.#items = Array.from({ length: n }, (_, i) => i);
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The task at position `i` (0 is the head). */
  at(i: number): number {
    return this.#items[this.#head + i]!;
  }

  /** Takes out and returns the task at position `i`, the others keeping their order. */
  removeAt(i: number): number {
    const items = this.#items;
    const at = this.#head + i;
    const index = items[at]!;
    if (i < this.length / 2) {
      for (let j = at; j > this.#head; j--) items[j] = items[j - 1]!;
      this.#head++;
      // The taken slots ahead of the head are dropped once they are most of the array (amortized O(1) per task).
      if (this.#head > 1024 && this.#head * 2 > items.length) {
        this.#items = items.slice(this.#head);
        this.#head = 0;
      }
    } else items.splice(at, 1);
    return index;
  }

  /** Puts a task at the head. */
  unshift(index: number): void {
    if (this.#head > 0) this.#items[--this.#head] = index;
    else this.#items.unshift(index);
  }

  /** Takes task `index` out wherever it waits (a copy of it finished in another attempt of the stage); rare. */
  remove(index: number): boolean {
    for (let i = 0; i < this.length; i++) {
      if (this.at(i) !== index) continue;
      this.removeAt(i);
      return true;
    }
    return false;
  }

  /** The tasks in order (tests, diagnostics). */
  toArray(): number[] {
    return this.#items.slice(this.#head);
  }
}

export class TaskSetManager {
  readonly pending: PendingTasks;
  readonly attempts: number[];
  readonly failures: AttemptFailure[][];
  /**
   * Per task, the attempts whose executor process was lost while it computed them: not failures (Spark's
   * ExecutorLostFailure with exitCausedByApp false), but bounded (see TaskScheduler's #executorLostWhileComputing).
   */
  readonly executorLosses: AttemptFailure[][];
  readonly succeeded: boolean[];
  readonly failedOn: Set<number>[];
  readonly running = new Map<number, RunningAttempt>();
  /** Attempts that lost to another copy of their task: their outcome is ignored when it arrives. */
  readonly losers = new Set<number>();
  /** Attempts moved off a busy worker's queue (cancelled there, queued again): their outcome is ignored. */
  readonly moved = new Set<number>();
  /** Tasks found to be stragglers, waiting for a free worker to run a copy. */
  readonly speculatable: number[] = [];
  /** Tasks that already have (or had) a speculative copy: one copy per task. */
  readonly speculated = new Set<number>();
  readonly durations: number[] = [];
  /** When each task last became pending: after the locality wait it may run away from its cached data. */
  readonly pendingSince: number[];
  numSucceeded = 0;
  zombie = false;
  /**
   * No active job needs the task set any more (its job failed or was cancelled): the attempts still queued or
   * running end as killed, whatever they report (Spark kills a failed stage's tasks). Their worker may already have
   * dropped the stage's description, so an attempt it takes up after the job's end fails for that alone.
   */
  abandoned = false;
  /** Why the task set's running attempts were killed (its job failed or was cancelled), for their `taskEnd`. */
  killReason: string | undefined;
  /** When each task last failed (0: never): how long a retry has waited for a worker it has not failed on. */
  readonly failedAt: number[];
  /** Set once the task set is killed: the grace an attempt its worker takes up only afterwards gets (see killStage). */
  killGraceMs: number | undefined;
  /** Whether any task prefers a worker; without preferences placement takes the first pending task. */
  readonly hasPreferences: boolean;
  /**
   * Per worker, the pending tasks that prefer it: once none does, placement on it stops at the first task it may
   * run instead of looking at every pending task for one preferring it (SparkTC's distinct: half its tasks read
   * cached partitions, half a shuffle; a worker out of cached ones looked at all 16,384 others at every launch).
   */
  readonly #preferring: number[] = [];
  /**
   * The earlier attempts of the same stage that were still out when this one was submitted (a fetch failure or a
   * rollback resubmitted the stage): a partition whose copy one of them computes waits for it (see TaskScheduler's
   * `#waitsForOlderCopy`).
   */
  older: readonly TaskSetManager[] = [];
  #indexOf: Map<number, number> | undefined;

  constructor(readonly ts: TaskSet) {
    const n = ts.tasks.length;
    this.hasPreferences = ts.tasks.some((t) => t.preferredWorkers.length > 0);
    this.pending = new PendingTasks(n);
    for (const t of ts.tasks) for (const w of t.preferredWorkers) this.#preferring[w] = (this.#preferring[w] ?? 0) + 1;
    this.attempts = new Array(n).fill(0);
    this.failures = Array.from({ length: n }, () => []);
    this.executorLosses = Array.from({ length: n }, () => []);
    this.succeeded = new Array(n).fill(false);
    this.failedOn = Array.from({ length: n }, () => new Set());
    this.failedAt = new Array(n).fill(0);
    this.pendingSince = new Array(n).fill(Date.now());
  }

  /** Puts a task back at the head of the queue (a retry), restarting its locality wait. */
  requeue(index: number): void {
    this.pending.unshift(index);
    for (const w of this.ts.tasks[index]!.preferredWorkers) this.#preferring[w]!++;
    this.pendingSince[index] = Date.now();
  }

  /** Takes the task at position `at` of `pending` (it is launched). */
  take(at: number): number {
    const index = this.pending.removeAt(at);
    for (const w of this.ts.tasks[index]!.preferredWorkers) this.#preferring[w]!--;
    return index;
  }

  /** The task of partition `partition`, if this attempt has one (built on the first call: asked only across attempts). */
  indexOf(partition: number): number | undefined {
    this.#indexOf ??= new Map(this.ts.tasks.map((t, i) => [t.partition, i]));
    return this.#indexOf.get(partition);
  }

  /**
   * A copy of task `index` succeeded in another attempt of the stage (Spark's markPartitionCompleted): this attempt
   * does not run it (again), and counts it done, so that it can finish.
   */
  completedElsewhere(index: number): void {
    if (this.succeeded[index]) return;
    this.succeeded[index] = true;
    this.numSucceeded++;
    if (this.pending.remove(index)) for (const w of this.ts.tasks[index]!.preferredWorkers) this.#preferring[w]!--;
  }

  /** Whether a pending task prefers worker `w`. */
  prefersPending(w: number): boolean {
    return (this.#preferring[w] ?? 0) > 0;
  }

  get finished(): boolean {
    return this.zombie ? this.running.size === 0 : this.numSucceeded === this.ts.tasks.length;
  }

  /** Other running attempts of the same task (copies to cancel when one wins). */
  siblings(index: number, taskId: number): RunningAttempt[] {
    return [...this.running.values()].filter((a) => a.index === index && a.taskId !== taskId);
  }

  /**
   * Marks stragglers speculatable, following Spark: once `quantile` of the tasks have succeeded, a running
   * task slower than `multiplier` x the median successful duration (and at least `minRuntimeMs`) gets a copy.
   */
  findStragglers(now: number, opts: SpeculationOptions): number[] {
    const n = this.ts.tasks.length;
    if (this.zombie || this.numSucceeded >= n || this.numSucceeded < Math.max(1, Math.floor(opts.quantile * n))) return [];
    const sorted = [...this.durations].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const threshold = Math.max(opts.multiplier * median, opts.minRuntimeMs);
    const found: number[] = [];
    for (const a of this.running.values()) {
      if (a.speculative || this.succeeded[a.index] || this.speculated.has(a.index)) continue;
      if (now - a.startedAt > threshold) {
        this.speculated.add(a.index);
        this.speculatable.push(a.index);
        found.push(a.index);
      }
    }
    return found;
  }
}
