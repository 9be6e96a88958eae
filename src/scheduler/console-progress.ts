/**
 * Spark-style console progress bar: `[Stage 3:=======>          (12 + 2) / 40]`, with concurrent
 * stages side by side on one line.
 *
 * Why hand-written rather than cli-progress: cli-progress draws one bar per line (MultiBar stacks them
 * vertically and moves the cursor up to redraw), and its terminal helper is not part of its public API.
 * Spark's format puts several stages on a single line and redraws it with a carriage return only, which
 * needs no cursor movement at all, so the renderer below is a few string operations. It keeps
 * cli-progress's conventions where they apply: `=` for done, `>` for the head, spaces for the rest,
 * width from the stream's `columns` with 80 as the fallback, and no output at all when not on a TTY.
 *
 * Behaviour follows Spark's ConsoleProgressBar: a stage shows up only once it has run longer than
 * `showAfterMs` (short stages never flicker), the line is redrawn on a timer at most every `refreshMs`
 * and only when its text changed, at most three stages are shown, and the line is wiped once no stage
 * is running so that it does not litter the log. A skewed stage (see `detectSkew`) gets one line above the bar
 * at its end, whether or not hints are on: on a terminal that is where someone watching a job looks.
 */

import type { EventBus } from './event-bus.js';
import type {
  ExecutorAddedEvent,
  ExecutorRemovedEvent,
  JobEndEvent,
  SchedulerEvent,
  StageCompletedEvent,
  StageSubmittedEvent,
  TaskEndEvent,
  TaskStartEvent,
} from './events.js';
import { describeSkew } from './task-metrics.js';

/** The part of a writable stream the progress bar uses; `process.stderr` satisfies it. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

/** Options for {@link ConsoleProgressBar}. */
export interface ConsoleProgressBarOptions {
  /** Where to draw; defaults to `process.stderr`. Nothing is drawn unless `stream.isTTY` is true. */
  stream?: NodeJS.WriteStream | ProgressStream;
  /** A stage appears only after running this long (default 500 ms), as in Spark. */
  showAfterMs?: number;
  /** Redraw period (default 200 ms); also the upper bound on how often the line is rewritten. */
  refreshMs?: number;
  /** Clock in milliseconds, injectable for tests; defaults to `Date.now`. */
  now?: () => number;
}

const DEFAULT_COLUMNS = 80;
/** Spark's limit: beyond three stages each bar gets too narrow to read. */
const MAX_STAGES_SHOWN = 3;

interface StageProgress {
  readonly stageId: number;
  readonly attempt: number;
  readonly jobId: number;
  readonly numTasks: number;
  readonly shownFrom: number;
  /** Distinct partitions, so that a speculative copy finishing late is not counted twice. */
  readonly succeeded: Set<number>;
  running: number;
  failed: number;
  /** Speculative copies currently running (they are also part of `running`). */
  speculative: number;
}

/**
 * Draws the progress of running stages on a terminal, fed by the scheduler's event bus.
 *
 * The bar shows `(completed + running) / total` tasks per stage, with `, N failed` and
 * `, N speculative` added when non-zero (failed attempts so far, speculative copies running now).
 * On a non-TTY stream it does not even subscribe, so it costs nothing in CI or when output is piped.
 *
 * @example
 * ```ts
 * import { EventBus } from './event-bus.js';
 * import type { SchedulerEvent } from './events.js';
 * const bus = new EventBus<SchedulerEvent>();
 * const progress = new ConsoleProgressBar(bus); // draws on process.stderr when it is a terminal
 * // ... run jobs that emit on `bus` ...
 * progress.stop();
 * ```
 */
export class ConsoleProgressBar {
  readonly #stream: ProgressStream;
  readonly #showAfterMs: number;
  readonly #refreshMs: number;
  readonly #now: () => number;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #stages = new Map<number, StageProgress>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Text currently on the terminal line ('' when the line is clean). */
  #drawn = '';
  #stopped = false;

  /** Whether it draws (its stream is a terminal): then it also prints skewed stages, and the hint need not. */
  get drawing(): boolean {
    return this.#stream.isTTY === true && !this.#stopped;
  }

  constructor(bus: EventBus<SchedulerEvent>, opts: ConsoleProgressBarOptions = {}) {
    this.#stream = opts.stream ?? process.stderr;
    this.#showAfterMs = opts.showAfterMs ?? 500;
    this.#refreshMs = Math.max(1, opts.refreshMs ?? 200);
    this.#now = opts.now ?? Date.now;
    if (this.#stream.isTTY !== true) return;
    this.#unsubscribe.push(
      bus.on('stageSubmitted', (e) => this.#onStageSubmitted(e)),
      bus.on('taskStart', (e) => this.#onTaskStart(e)),
      bus.on('taskEnd', (e) => this.#onTaskEnd(e)),
      bus.on('stageCompleted', (e) => this.#onStageCompleted(e)),
      bus.on('jobEnd', (e) => this.#onJobEnd(e)),
      bus.on('executorAdded', (e) => this.#onExecutor(e)),
      bus.on('executorRemoved', (e) => this.#onExecutor(e)),
    );
  }

  /** A cluster's executors coming and going: one line each, above the bar (which is redrawn after it). */
  #onExecutor(e: ExecutorAddedEvent | ExecutorRemovedEvent): void {
    const what = `executor ${e.executorId} (${e.host}:${e.port}, ${e.cores} cores, ${e.memoryMB} MiB)`;
    const line = e.type === 'executorAdded' ? `kindling: ${what} added` : `kindling: ${what} lost: ${e.reason}`;
    this.#clearLine();
    this.#write(`${line}\n`);
  }

  /**
   * Unsubscribes, cancels the redraw timer and wipes the line if one is drawn. Idempotent.
   *
   * @example
   * ```ts
   * const progress = new ConsoleProgressBar(bus);
   * progress.stop();
   * ```
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#stages.clear();
    this.#stopTimer();
    this.#clearLine();
  }

  #onStageSubmitted(e: StageSubmittedEvent): void {
    // A resubmitted stage (new attempt) replaces the old one: its counts start again from the missing
    // partitions, as in Spark.
    this.#stages.set(e.stageId, {
      stageId: e.stageId,
      attempt: e.attempt,
      jobId: e.jobId,
      numTasks: e.numTasks,
      shownFrom: this.#now() + this.#showAfterMs,
      succeeded: new Set(),
      running: 0,
      failed: 0,
      speculative: 0,
    });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#refresh(), this.#refreshMs);
      // A progress bar must never be the reason a finished program keeps running.
      this.#timer.unref();
    }
  }

  #stageFor(stageId: number, attempt: number): StageProgress | undefined {
    const stage = this.#stages.get(stageId);
    return stage !== undefined && stage.attempt === attempt ? stage : undefined;
  }

  #onTaskStart(e: TaskStartEvent): void {
    const stage = this.#stageFor(e.stageId, e.stageAttempt);
    if (stage === undefined) return;
    stage.running++;
    if (e.speculative) stage.speculative++;
  }

  #onTaskEnd(e: TaskEndEvent): void {
    const stage = this.#stageFor(e.stageId, e.stageAttempt);
    if (stage === undefined) return;
    stage.running = Math.max(0, stage.running - 1);
    if (e.speculative) stage.speculative = Math.max(0, stage.speculative - 1);
    if (e.result === 'success') stage.succeeded.add(e.partition);
    else if (e.result === 'failed') stage.failed++;
  }

  #onStageCompleted(e: StageCompletedEvent): void {
    if (e.skew !== undefined) {
      this.#clearLine();
      this.#write(`kindling: ${describeSkew(e.stageId, e.skew)}\n`);
    }
    if (this.#stageFor(e.stageId, e.attempt) === undefined) return;
    this.#stages.delete(e.stageId);
    this.#afterRemoval();
  }

  #onJobEnd(e: JobEndEvent): void {
    // A failed job may abandon stages without completing them; drop whatever it still owns.
    for (const [id, stage] of this.#stages) if (stage.jobId === e.jobId) this.#stages.delete(id);
    this.#afterRemoval();
  }

  #afterRemoval(): void {
    if (this.#stages.size > 0) return;
    // Wipe at once rather than on the next tick: the caller is about to print its result.
    this.#stopTimer();
    this.#clearLine();
  }

  #refresh(): void {
    const now = this.#now();
    const shown = [...this.#stages.values()]
      .filter((s) => now > s.shownFrom)
      .sort((a, b) => a.stageId - b.stageId)
      .slice(0, MAX_STAGES_SHOWN);
    if (shown.length === 0) {
      this.#clearLine();
      return;
    }
    const columns = this.#stream.columns ?? DEFAULT_COLUMNS;
    const width = Math.floor((columns > 0 ? columns : DEFAULT_COLUMNS) / shown.length);
    const line = shown.map((s) => renderStage(s, width)).join('');
    if (line === this.#drawn) return;
    // Padding over the previous text erases what a shorter line would leave behind; the trailing
    // carriage return puts the cursor at column 0 so a log line printed meanwhile overwrites the bar.
    this.#write(`\r${line.padEnd(this.#drawn.length)}\r`);
    this.#drawn = line;
  }

  #clearLine(): void {
    if (this.#drawn.length === 0) return;
    this.#write(`\r${' '.repeat(this.#drawn.length)}\r`);
    this.#drawn = '';
  }

  #write(s: string): void {
    try {
      this.#stream.write(s);
    } catch {
      // A closed terminal is no reason to fail a job.
    }
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** One stage's `[Stage N:===>   (done + running) / total]`, `width` columns wide when it fits. */
function renderStage(s: StageProgress, width: number): string {
  const total = s.numTasks;
  const done = Math.min(s.succeeded.size, total);
  const extras = (s.failed > 0 ? `, ${s.failed} failed` : '') + (s.speculative > 0 ? `, ${s.speculative} speculative` : '');
  const header = `[Stage ${s.stageId}:`;
  const tail = `(${done} + ${s.running}${extras}) / ${total}]`;
  const barWidth = width - header.length - tail.length;
  if (barWidth <= 0) return header + tail;
  const head = total > 0 ? Math.floor((barWidth * done) / total) : barWidth;
  const bar = head >= barWidth ? '='.repeat(barWidth) : `${'='.repeat(head)}>${' '.repeat(barWidth - head - 1)}`;
  return header + bar + tail;
}
