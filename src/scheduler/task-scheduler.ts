/**
 * Task scheduler: places the tasks of submitted task sets on free workers and handles each task's end.
 *
 * - A worker computes one task at a time; up to `slotsPerWorker` are queued on it so it never waits for the
 *   driver between tasks. Task sets are served first-come, first-served.
 * - Placement prefers a worker that holds a cached partition the task reads (locality), otherwise any free one.
 * - A failed attempt is retried, on another worker where possible, until a task has failed `maxTaskFailures`
 *   times; then its task set is aborted and the DAG scheduler fails the jobs that need it.
 * - A fetch failure is not retried here: it means a parent stage lost output, which only the DAG scheduler can
 *   repair, so the task set stops launching (becomes a zombie) and the failure goes up.
 *
 * The backend is an interface: tests drive this class with a fake backend that only records launches.
 */
import type { ErrorInfo } from '../core/errors.js';
import type { EventBus } from './event-bus.js';
import type { SchedulerEvent } from './events.js';
import type { TaskBackend, BackendListener } from '../exec/task-backend.js';
import type { TaskMessage, TaskOutcome, TaskFailure } from '../exec/protocol.js';
import { MissingShuffleOutputError } from './task-builder.js';
import type { Stage } from './stage.js';

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
  blockUpdates(workerIndex: number, outcome: TaskOutcome): void;
  workerLost(workerIndex: number, reason: string): void;
}

export interface AttemptFailure {
  readonly attempt: number;
  readonly workerIndex: number;
  readonly error: ErrorInfo;
}

export type BuildTask = (ts: TaskSet, spec: TaskSpec, attempt: number, workerIndex: number) => TaskMessage;

class TaskSetManager {
  readonly pending: number[];
  readonly attempts: number[];
  readonly failures: AttemptFailure[][];
  readonly succeeded: boolean[];
  readonly failedOn: Set<number>[];
  running = 0;
  numSucceeded = 0;
  zombie = false;
  /** Whether any task prefers a worker; without preferences placement takes the first pending task. */
  readonly hasPreferences: boolean;
  constructor(readonly ts: TaskSet) {
    const n = ts.tasks.length;
    this.hasPreferences = ts.tasks.some((t) => t.preferredWorkers.length > 0);
    this.pending = Array.from({ length: n }, (_, i) => i);
    this.attempts = new Array(n).fill(0);
    this.failures = Array.from({ length: n }, () => []);
    this.succeeded = new Array(n).fill(false);
    this.failedOn = Array.from({ length: n }, () => new Set());
  }
  get finished(): boolean {
    return this.zombie ? this.running === 0 : this.numSucceeded === this.ts.tasks.length;
  }
}

export interface TaskSchedulerOptions {
  readonly maxTaskFailures: number;
  /**
   * Tasks queued per worker. A worker thread computes one task at a time; a second queued task hides the
   * driver round trip (a worker never idles waiting for its next task) at the cost of committing that task
   * to the worker a little earlier.
   */
  readonly slotsPerWorker: number;
}

export class TaskScheduler implements BackendListener {
  readonly #sets: TaskSetManager[] = [];
  /** Tasks in flight per worker. */
  readonly #inFlight: number[];
  /** Artificial per-worker delay (fault injection: a straggler). */
  readonly #delays = new Map<number, number>();
  #stopped = false;

  constructor(
    private readonly backend: TaskBackend,
    private readonly listener: TaskSetListener,
    private readonly build: BuildTask,
    private readonly bus: EventBus<SchedulerEvent>,
    private readonly options: TaskSchedulerOptions,
  ) {
    this.#inFlight = new Array(backend.numWorkers).fill(0);
    backend.setListener(this);
  }

  submit(ts: TaskSet): void {
    this.#sets.push(new TaskSetManager(ts));
    this.#offer();
  }

  /** Stops launching tasks of a stage attempt (job failed or stage resubmitted); running ones finish. */
  cancelStage(stage: Stage): void {
    for (const m of this.#sets) if (m.ts.stage === stage) m.zombie = true;
    this.#prune();
  }

  slowWorker(index: number, delayMs: number): void {
    if (delayMs > 0) this.#delays.set(index, delayMs);
    else this.#delays.delete(index);
  }

  stop(): void {
    this.#stopped = true;
  }

  workerLost(index: number, reason: string): void {
    this.listener.workerLost(index, reason);
  }

  workerReady(index: number): void {
    this.#inFlight[index] = 0;
    this.#offer();
  }

  #isFree(w: number): boolean {
    return this.#inFlight[w]! < this.options.slotsPerWorker && this.backend.isAvailable(w);
  }

  #prune(): void {
    for (let i = this.#sets.length - 1; i >= 0; i--) if (this.#sets[i]!.finished) this.#sets.splice(i, 1);
  }

  /** Gives every free worker a task, preferring tasks whose cached input lives on that worker. */
  #offer(): void {
    if (this.#stopped) return;
    // Round-robin over workers, one task per worker per round, so a task set spreads across all of them.
    let launched = true;
    while (launched) {
      launched = false;
      for (let w = 0; w < this.#inFlight.length; w++) {
        if (!this.#isFree(w)) continue;
        for (const m of this.#sets) {
          if (m.zombie || m.pending.length === 0) continue;
          const pick = this.#pick(m, w);
          if (pick === undefined) continue;
          this.#launch(m, pick, w);
          launched = true;
          break;
        }
      }
    }
  }

  /**
   * Index into m.pending of the task to run on worker w: a task preferring w first; then one that neither
   * prefers another free worker nor already failed on w (retries go elsewhere while another worker exists).
   */
  #pick(m: TaskSetManager, w: number): number | undefined {
    let candidate: number | undefined;
    for (let i = 0; i < m.pending.length; i++) {
      if (!m.hasPreferences && candidate !== undefined) break;
      const idx = m.pending[i]!;
      const prefs = m.ts.tasks[idx]!.preferredWorkers;
      if (prefs.includes(w)) return i;
      if (candidate !== undefined) continue;
      const failedHere = m.failedOn[idx]!.has(w) && m.failedOn[idx]!.size < this.#inFlight.length;
      const preferredFree = prefs.some((p) => p !== w && this.#isFree(p));
      if (!failedHere && !preferredFree) candidate = i;
    }
    return candidate;
  }

  #launch(m: TaskSetManager, pendingPos: number, w: number): void {
    const idx = m.pending.splice(pendingPos, 1)[0]!;
    const spec = m.ts.tasks[idx]!;
    const attempt = m.attempts[idx]!++;
    let msg: TaskMessage;
    try {
      msg = this.build(m.ts, spec, attempt, w);
    } catch (e) {
      if (e instanceof MissingShuffleOutputError) {
        m.zombie = true;
        this.listener.fetchFailed(m.ts, spec, { kind: 'fetchFailed', shuffleId: e.shuffleId, mapId: e.mapId, workerIndex: -1, message: e.message });
        this.#prune();
        return;
      }
      this.#recordFailure(m, idx, attempt, w, { kind: 'exception', error: { name: (e as Error).name, message: (e as Error).message, stack: (e as Error).stack ?? '' } });
      return;
    }
    const delay = this.#delays.get(w);
    if (delay !== undefined) msg = { ...msg, delayMs: delay };
    this.#inFlight[w]!++;
    m.running++;
    const started = Date.now();
    if (this.bus.hasListeners('taskStart')) {
      this.bus.emit({ type: 'taskStart', stageId: m.ts.stage.id, stageAttempt: m.ts.stageAttempt, partition: spec.partition, attempt, workerIndex: w, speculative: false, time: started });
    }
    void this.backend.runTask(w, msg).then((outcome) => this.#finished(m, idx, attempt, w, started, outcome));
  }

  #finished(m: TaskSetManager, idx: number, attempt: number, w: number, started: number, outcome: TaskOutcome): void {
    m.running--;
    // A lost worker is not offered tasks again until its replacement reports ready (isAvailable).
    this.#inFlight[w] = Math.max(0, this.#inFlight[w]! - 1);
    this.listener.blockUpdates(w, outcome);
    const spec = m.ts.tasks[idx]!;
    if (this.bus.hasListeners('taskEnd')) {
      const error = outcome.status === 'failed' ? describeFailure(outcome.failure) : undefined;
      this.bus.emit({
        type: 'taskEnd',
        stageId: m.ts.stage.id,
        stageAttempt: m.ts.stageAttempt,
        partition: spec.partition,
        attempt,
        workerIndex: w,
        speculative: false,
        result: outcome.status === 'success' ? 'success' : 'failed',
        ...(error !== undefined ? { error } : {}),
        durationMs: Date.now() - started,
        time: Date.now(),
      });
    }
    if (outcome.status === 'success') {
      if (!m.succeeded[idx]) {
        m.succeeded[idx] = true;
        m.numSucceeded++;
        this.listener.taskSucceeded(m.ts, spec, outcome, w);
      }
    } else if (!m.zombie) {
      if (outcome.failure.kind === 'fetchFailed') {
        m.zombie = true;
        this.listener.fetchFailed(m.ts, spec, outcome.failure);
      } else {
        this.#recordFailure(m, idx, attempt, w, outcome.failure);
      }
    }
    this.#prune();
    this.#offer();
  }

  #recordFailure(m: TaskSetManager, idx: number, attempt: number, w: number, failure: Exclude<TaskFailure, { kind: 'fetchFailed' }>): void {
    const error: ErrorInfo =
      failure.kind === 'exception' ? failure.error : { name: 'WorkerLost', message: `${failure.message} while running the task` };
    m.failures[idx]!.push({ attempt, workerIndex: w, error });
    m.failedOn[idx]!.add(w);
    if (m.failures[idx]!.length >= this.options.maxTaskFailures) {
      m.zombie = true;
      this.listener.taskSetFailed(m.ts, m.ts.tasks[idx]!, m.failures[idx]!);
    } else {
      m.pending.unshift(idx);
    }
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
    default: {
      const never: never = f;
      return String(never);
    }
  }
}
