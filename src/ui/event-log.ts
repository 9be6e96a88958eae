/**
 * The event log: JSON lines, one file per application (`{appId}.jsonl`), written as the application runs so
 * that one that crashes still leaves its log. Lines are buffered for at most FLUSH_MS (or FLUSH_BYTES, or until
 * a job ends) and written without blocking; a process exiting (even by an uncaught exception) writes what it
 * still holds synchronously. An application whose log has no `applicationEnd` line did not finish.
 *
 * Every event is one line, except task ends: those that arrive between two other events are written as one
 * `taskEnds` line of columns (a column whose values are all the same is written once), because they are most
 * of a log and a line each would cost the scheduler's thread several microseconds per task. Task starts are
 * not written: a task's end names its start. What a start would tell the history of an application that dies before
 * the task ends is written at a flush instead: a `tasksRunning` line listing the tasks then computing that no earlier
 * line listed. {@link readEventLog} turns the lines back into events.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, write, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TaskMetrics } from '../exec/protocol.js';
import { TASK_ROW_CODES, TASK_ROW_FLAG, TASK_ROW_WIDTH, type TaskEndEvent, type TaskEvents, type TaskRows } from '../scheduler/events.js';
import { SUMMARIZED_METRICS, type SummarizedMetric, writeMetrics } from '../scheduler/task-metrics.js';
import { EVENT_LOG_SUFFIX, type AppEvent, type RunningTask, type RunningTaskRow } from './app-events.js';
import { UiError } from './errors.js';

type Unsummarized = Exclude<keyof TaskMetrics, SummarizedMetric | 'keySample'>;
/** Every numeric task metric (a metric that is not summarized would not compile here: the reader restores them all). */
const TASK_METRIC_NAMES: [Unsummarized] extends [never] ? readonly SummarizedMetric[] : never = SUMMARIZED_METRICS;

const FLUSH_MS = 100;
const FLUSH_BYTES = 1 << 16;
/** Task ends held before they are written as one block, whatever the time. */
const FLUSH_TASKS = 4096;
/** Rows a block's columns hold at first: they double as task ends come (see {@link TaskEndColumns}). */
const INITIAL_ROWS = 64;
/** Chunk buffers up to this size are reused; a larger one (a burst of big lines) goes with its chunk. */
const MAX_KEPT_CHUNK = 1 << 20;

/** `buf` with room for `more` bytes after its first `used`, which it keeps. */
function grown(buf: Buffer, used: number, more: number): Buffer {
  const next = Buffer.allocUnsafeSlow(Math.max(used + more, buf.length * 2, 1 << 14));
  buf.copy(next, 0, 0, used);
  return next;
}
export { EVENT_LOG_SUFFIX };

/**
 * A writer's state handed to another thread ({@link EventLogWriter.handOver}): the file (its descriptor is the
 * process's, any thread writes it), where the next line goes, and what numbers and lists tasks, so that the writer made
 * from it ({@link EventLogWriter} with `from`) writes the log on as this one would have. Plain data: it is posted.
 */
export interface EventLogHandover {
  readonly file: string;
  readonly fd: number;
  readonly pos: number;
  readonly nextTaskId: number;
  /** The ids of the tasks started and not ended, by stage attempt ({@link StageTaskIds.state}). */
  readonly taskIds: ReadonlyArray<readonly [number, StageTaskIdsState]>;
  readonly listedUpTo: number;
  readonly taskStarted: boolean;
  readonly ended: boolean;
}

/**
 * Appends events to `{dir}/{appId}.jsonl`.
 *
 * Chunks are written asynchronously, each at its own offset, so the scheduler's thread never waits on the
 * disk; since a positional write can be repeated, a process that exits while a chunk is in flight writes it
 * again synchronously, with the rest, and loses nothing.
 *
 * @example
 * ```ts
 * const log = new EventLogWriter('/tmp/kindling-events', 'app-20260101000000-0001', () => scheduler.runningTasks());
 * sc.events.onAny((e) => log.write(e));
 * log.close();
 * ```
 */
export class EventLogWriter {
  readonly file: string;
  #fd: number | undefined;
  #buffer: string[] = [];
  #bytes = 0;
  /** Task ends since the last other event, written as one block (in order with the lines around them). */
  #taskEnds = new TaskEndColumns();
  /** Where the next chunk goes. */
  #pos = 0;
  /**
   * Two chunk buffers, reused: the lines are encoded into the one not in flight. A new Buffer per chunk (Buffer.from of
   * the joined lines) was fresh memory at every flush and took 4-10x as long as encoding into memory already touched
   * (a 106 KB block line: 56-133 vs 7-14 µs; docs/benchmarks.md, session 8).
   */
  readonly #chunks: [Buffer, Buffer] = [Buffer.allocUnsafeSlow(0), Buffer.allocUnsafeSlow(0)];
  #inFlight: { readonly buf: Buffer; readonly pos: number; readonly slot: 0 | 1 } | undefined;
  /** flush() was called while a chunk was in flight: its callback writes again at once. */
  #flushAsked = false;
  #closing = false;
  #warned = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onExit = (): void => this.#flushSync();
  /** A task started that no `tasksRunning` line listed yet: the next flush asks which tasks compute now. */
  #taskStarted = false;
  /** Tasks launched at or before this time were listed by a `tasksRunning` line if they were computing then. */
  #listedUpTo = Number.NEGATIVE_INFINITY;
  /**
   * Task ids, as the live UI gives them (one per task start, in order): the log writes no starts, so a task's end (or
   * its `tasksRunning` row) carries its id, and a history shows each task under the id it had live. Without them the
   * history numbered tasks in the order they ended, and task 74 of a stage was another task than live.
   */
  #nextTaskId = 0;
  /**
   * The ids of the tasks started and not yet ended, by stage attempt ({@link stageKey}): by partition in typed arrays
   * (the task computing it, and its key), a second copy of a partition at once (a speculative one, a retry racing a
   * lost one) in a map. A map of every task cost ~0.5 µs a task on the scheduler's thread. A stage attempt's ids stay
   * until it completed and its last task ended (killed copies may end after it).
   */
  readonly #taskIds = new Map<number, StageTaskIds>();
  /** The last stage attempt's: task events come in runs of one stage attempt. */
  #lastKey = -1;
  #last: StageTaskIds | undefined;

  #ids(key: number, make: boolean): StageTaskIds | undefined {
    if (this.#lastKey === key) return this.#last;
    let ids = this.#taskIds.get(key);
    if (ids === undefined && make) this.#taskIds.set(key, (ids = new StageTaskIds()));
    if (ids !== undefined) {
      this.#lastKey = key;
      this.#last = ids;
    }
    return ids;
  }

  /** A task start: its id is the next one. */
  #startId(stageId: number, stageAttempt: number, partition: number, attempt: number, workerIndex: number): void {
    this.#ids(stageKey(stageId, stageAttempt), true)!.start(partition, taskIdKey(partition, attempt, workerIndex), this.#nextTaskId++);
  }

  /** A task end: the id its start took (-1 for a start not seen). */
  #endId(stageId: number, stageAttempt: number, partition: number, attempt: number, workerIndex: number): number {
    const key = stageKey(stageId, stageAttempt);
    const ids = this.#ids(key, false);
    if (ids === undefined) return -1;
    const id = ids.end(partition, taskIdKey(partition, attempt, workerIndex));
    if (ids.running === 0 && ids.done) this.#forget(key);
    return id;
  }

  /** A stage attempt completed: its ids go with its last task. */
  #stageDone(stageId: number, stageAttempt: number): void {
    const key = stageKey(stageId, stageAttempt);
    const ids = this.#taskIds.get(key);
    if (ids === undefined) return;
    ids.done = true;
    if (ids.running === 0) this.#forget(key);
  }

  #forget(key: number): void {
    this.#taskIds.delete(key);
    if (this.#lastKey === key) {
      this.#lastKey = -1;
      this.#last = undefined;
    }
  }

  /** The id of a task computing now, if its start was seen. */
  #runningId(t: RunningTask): number | undefined {
    const id = this.#taskIds.get(stageKey(t.stageId, t.stageAttempt))?.peek(t.partition, taskIdKey(t.partition, t.attempt, t.workerIndex));
    return id === undefined || id < 0 ? undefined : id;
  }

  /**
   * @param runningTasks the tasks computing now (the scheduler's), asked at a flush after a task started: those that
   *   no line listed yet go in a `tasksRunning` line. Without it, as before, a log names only tasks that ended.
   */
  constructor(
    dir: string,
    appId: string,
    private readonly runningTasks?: () => readonly RunningTask[],
    from?: EventLogHandover,
    /** With `from`: write what is held at this thread's exit (the driver's; a worker thread's 'exit' is its own). */
    exitHook = false,
  ) {
    if (from !== undefined) {
      // Another writer's log goes on here: on the UI's thread, whose owner (the driver) has it write what it holds at
      // an exit; or on the driver again, the UI's thread dead.
      this.file = from.file;
      this.#fd = from.fd;
      this.#pos = from.pos;
      this.#nextTaskId = from.nextTaskId;
      for (const [key, ids] of from.taskIds) this.#taskIds.set(key, new StageTaskIds(ids));
      this.#listedUpTo = from.listedUpTo;
      this.#taskStarted = from.taskStarted;
      this.#ended = from.ended;
      if (exitHook) process.on('exit', this.#onExit);
      return;
    }
    try {
      mkdirSync(dir, { recursive: true });
      this.file = path.join(path.resolve(dir), appId + EVENT_LOG_SUFFIX);
      this.#fd = openSync(this.file, 'w');
    } catch (e) {
      throw new UiError(`Cannot write the event log in ${dir}: ${(e as Error).message}`, { cause: e });
    }
    process.on('exit', this.#onExit);
  }

  /**
   * Writes what it holds now and gives up the file to a writer on another thread, which `from` makes of the state
   * returned (undefined: the log is closed or failed). This writer writes nothing more; a chunk of it still in flight
   * lands at its place, which the synchronous write here already filled with the same bytes.
   */
  handOver(): EventLogHandover | undefined {
    const fd = this.#fd;
    if (fd === undefined || this.#closing) return undefined;
    this.#flushSync(false);
    process.off('exit', this.#onExit);
    this.#fd = undefined;
    // The descriptor is the other writer's now: a landing chunk must not close it (see flush's callback).
    this.#handedOver = true;
    return {
      file: this.file,
      fd,
      pos: this.#pos,
      nextTaskId: this.#nextTaskId,
      taskIds: [...this.#taskIds].map(([key, ids]) => [key, ids.state()] as const),
      listedUpTo: this.#listedUpTo,
      taskStarted: this.#taskStarted,
      ended: this.#ended,
    };
  }

  #handedOver = false;

  /** The id the next task start takes (published by the UI's thread, for a driver that takes the log back). */
  get nextTaskId(): number {
    return this.#nextTaskId;
  }

  write(event: AppEvent): void {
    // A task's start is implied by its end (time - durationMs): logging only the end halves the lines of a log
    // and their cost on the scheduler's hot path. A crashed application's log so lacks only tasks still running.
    if (this.#fd === undefined || this.#closing) return;
    if (event.type === 'taskStart') {
      this.#startId(event.stageId, event.stageAttempt, event.partition, event.attempt, event.workerIndex);
      this.#started();
      return;
    }
    if (event.type === 'taskBatch') {
      this.writeTasks(event.tasks);
      return;
    }
    if (event.type === 'taskEnd') {
      // Its values are copied into columns; the line is made once for the whole block, off the task's path.
      this.#taskEnds.append(event, this.#endId(event.stageId, event.stageAttempt, event.partition, event.attempt, event.workerIndex));
      if (this.#taskEnds.size >= FLUSH_TASKS) this.flush();
      else this.#armTimer();
      return;
    }
    this.#blockTaskEnds();
    if (event.type === 'stageCompleted') this.#stageDone(event.stageId, event.attempt);
    // The application's end is its log's last line: what a stop() was still tearing down is not "running" after it.
    if (event.type === 'applicationEnd') this.#ended = true;
    const line = JSON.stringify(event) + '\n';
    this.#buffer.push(line);
    this.#bytes += line.length;
    if (this.#bytes >= FLUSH_BYTES || event.type === 'jobEnd' || event.type === 'applicationEnd') this.flush();
    else this.#armTimer();
  }

  /** A turn's task events (the scheduler's `taskBatch`): its task ends, as {@link EventLogWriter.write} of each. */
  writeTasks(batch: TaskEvents): void {
    if (this.#fd === undefined || this.#closing) return;
    const ends = this.#taskEnds;
    const rows = batch.rows;
    if (rows !== undefined) {
      // The scheduler's rows have the block's layout: copied as they are, no record or metrics object read.
      const codes = rows.codes;
      const n = rows.numbers;
      let started = false;
      for (let i = 0; i < batch.size; i++) {
        const o = i * TASK_ROW_WIDTH;
        if (codes[i * TASK_ROW_CODES] !== 1) {
          this.#startId(n[o]!, n[o + 1]!, n[o + 2]!, n[o + 3]!, n[o + 4]!);
          started = true;
          continue;
        }
        ends.appendRow(rows, i, this.#endId(n[o]!, n[o + 1]!, n[o + 2]!, n[o + 3]!, n[o + 4]!));
        if (ends.size >= FLUSH_TASKS) this.flush();
      }
      if (started) this.#started();
      else if (ends.size > 0) this.#armTimer();
      return;
    }
    let started = false;
    for (let i = 0; i < batch.size; i++) {
      const e = batch.event(i);
      if (e.type !== 'taskEnd') {
        this.#startId(e.stageId, e.stageAttempt, e.partition, e.attempt, e.workerIndex);
        started = true;
        continue;
      }
      ends.append(e, this.#endId(e.stageId, e.stageAttempt, e.partition, e.attempt, e.workerIndex));
      if (ends.size >= FLUSH_TASKS) this.flush();
    }
    if (started) this.#started();
    else if (ends.size > 0) this.#armTimer();
  }

  /** The `applicationEnd` line is written (or buffered): no `tasksRunning` line may follow it. */
  #ended = false;

  /** A task started: only a flag, the scheduler is asked what runs once per flush (see {@link EventLogWriter.#running}). */
  #started(): void {
    if (this.runningTasks === undefined) return;
    this.#taskStarted = true;
    this.#armTimer();
  }

  /**
   * The `tasksRunning` line, after what is held: the tasks computing now that no earlier line listed and that launched
   * FLUSH_MS or more ago (`all`, at a process's exit: up to now). A task is so listed once at most, and one that ends
   * within a flush or so not at all (its end is in the log): a line of all the tasks computing at every flush doubled
   * the log of a job of 0.2 s tasks on 16 workers (docs/benchmarks.md, session 26).
   */
  #running(all: boolean): void {
    if (!this.#taskStarted || this.#ended) return;
    const now = Date.now();
    const upTo = all ? now : now - FLUSH_MS;
    const from = this.#listedUpTo;
    const rows: RunningTaskRow[] = [];
    let younger = false;
    for (const t of this.runningTasks!()) {
      if (t.time > upTo) younger = true;
      else if (t.time > from) {
        const id = this.#runningId(t);
        const { stageId, stageAttempt, partition, attempt, workerIndex, executorId, speculative } = t;
        rows.push(
          id === undefined
            ? [stageId, stageAttempt, partition, attempt, workerIndex, executorId, speculative, now - t.time]
            : [stageId, stageAttempt, partition, attempt, workerIndex, executorId, speculative, now - t.time, id],
        );
      }
    }
    // Tasks too young to list are asked about again at the next flush.
    this.#taskStarted = younger;
    this.#listedUpTo = upTo;
    if (rows.length === 0) return;
    const line = `{"type":"tasksRunning","time":${now},"tasks":${JSON.stringify(rows)}}\n`;
    this.#buffer.push(line);
    this.#bytes += line.length;
  }

  /** Turns the task ends held into their block line. */
  #blockTaskEnds(): void {
    if (this.#taskEnds.size === 0) return;
    // In pieces, one line once written (see TaskEndColumns.pieces).
    this.#bytes += this.#taskEnds.pieces(this.#buffer) + 1;
    this.#buffer.push('\n');
  }

  #armTimer(): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
      // Logging must never be why a finished program keeps running; 'exit' writes the rest.
      this.#timer.unref();
    }
  }

  /** Settled once the file is closed (see close). */
  #closed: Promise<void> = Promise.resolve();
  #landed: (() => void) | undefined;

  /** Starts writing what is buffered (after the chunk in flight, if any). */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#inFlight !== undefined) {
      // The chunk in flight calls back: what is buffered then goes in one write, task ends still as one block.
      this.#flushAsked = true;
      return;
    }
    this.#flushAsked = false;
    this.#blockTaskEnds();
    this.#running(false);
    if (this.#fd === undefined || this.#buffer.length === 0) {
      if (this.#taskStarted) this.#armTimer();
      return;
    }
    // Nothing is in flight here, so buffer 0 is free; buffer 1 is for what #flushSync writes while a chunk flies.
    const chunk = { buf: this.#take(0), pos: this.#pos, slot: 0 as const };
    this.#pos += chunk.buf.length;
    this.#inFlight = chunk;
    const fd = this.#fd;
    write(fd, chunk.buf, 0, chunk.buf.length, chunk.pos, (err) => {
      this.#inFlight = undefined;
      if (err) this.#failed(err);
      if (this.#closing) {
        closeSync(fd);
        this.#landed?.();
      } else if (this.#handedOver) return;
      // Only a flush asked for while this chunk was in flight (a job's end, a full buffer) writes again at once.
      // Writing whatever came in meanwhile made the log write back to back all through a job, ~40 small chunks
      // per 4,000 tasks, each a block line, a syscall on the thread pool and a callback on the driver's thread.
      else if (this.#flushAsked) this.flush();
      else if (this.#buffer.length > 0 || this.#taskEnds.size > 0 || this.#taskStarted) this.#armTimer();
    });
  }

  /**
   * Writes everything now, the chunk in flight again included; `all`: the running tasks listed however young (an exit),
   * else as a timed flush lists them (a hand-over: the log goes on).
   */
  #flushSync(all = true): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#fd === undefined) return;
    this.#blockTaskEnds();
    this.#running(all);
    try {
      if (this.#inFlight !== undefined) writeSync(this.#fd, this.#inFlight.buf, 0, this.#inFlight.buf.length, this.#inFlight.pos);
      if (this.#buffer.length > 0) {
        // Written before it returns: the chunk in flight, if any, keeps its own buffer.
        const buf = this.#take(this.#inFlight?.slot === 0 ? 1 : 0);
        writeSync(this.#fd, buf, 0, buf.length, this.#pos);
        this.#pos += buf.length;
      }
    } catch (e) {
      // As a chunk written in the background: a log that cannot be written (a full disk) is said once, and is no
      // reason to fail the program; this runs in stop(), at a job's end and at exit, which then threw ENOSPC.
      this.#failed(e as Error);
    }
  }

  #failed(err: Error): void {
    if (this.#warned) return;
    this.#warned = true;
    console.warn(`kindling: writing the event log ${this.file} failed: ${err.message}`);
  }

  /** The buffered lines as UTF-8 in chunk buffer `slot` (grown when they do not fit), and empties the buffer. */
  #take(slot: 0 | 1): Buffer {
    let buf = this.#chunks[slot];
    let at = 0;
    for (const line of this.#buffer) {
      // Room for an ASCII line (JSON is, but for the text of names, errors and keys) and for the widest character.
      if (buf.length - at < line.length + 4) buf = grown(buf, at, line.length + 4);
      let written = buf.write(line, at);
      if (buf.length - at - written < 4) {
        // It stopped at the end of the buffer (a line with wider characters): room for all of it, and again.
        buf = grown(buf, at, Buffer.byteLength(line) + 4);
        written = buf.write(line, at);
      }
      at += written;
    }
    // A burst's buffer is not kept for ever: the next chunk of a big one takes it anew.
    this.#chunks[slot] = buf.length <= MAX_KEPT_CHUNK ? buf : Buffer.allocUnsafeSlow(0);
    this.#buffer = [];
    this.#bytes = 0;
    return buf.subarray(0, at);
  }

  /** Writes the rest synchronously (for a process about to die by a signal). */
  flushSync(): void {
    this.#flushSync();
  }

  /**
   * Writes the rest and closes the file. Everything is on disk when it returns; the promise settles once a chunk
   * still in flight has landed too (it writes its bytes again, at their old place): a file copied, edited or
   * removed after `await close()` cannot be changed by a late write.
   */
  close(): Promise<void> {
    if (this.#fd === undefined || this.#closing) return this.#closed;
    this.#flushSync();
    // Written through its descriptor to the end: a log whose file (or folder) was removed meanwhile took every
    // event without a word, and `kindling history` then shows no such application.
    if (!this.#warned && fstatSync(this.#fd).nlink === 0)
      this.#failed(new Error('the file was removed while the application ran; its events are lost'));
    this.#closing = true;
    process.off('exit', this.#onExit);
    // A chunk still in flight closes the file when it lands (its bytes are already written again above).
    if (this.#inFlight === undefined) closeSync(this.#fd);
    else this.#closed = new Promise((resolve) => (this.#landed = resolve));
    this.#fd = undefined;
    return this.#closed;
  }
}

/** The plain fields of a task end, in the order its columns are written. */
const TASK_END_FIELDS = [
  'stageId',
  'stageAttempt',
  'partition',
  'attempt',
  'workerIndex',
  'executorId',
  'speculative',
  'result',
  'error',
  'durationMs',
  'locality',
  'time',
] as const satisfies ReadonlyArray<Exclude<keyof TaskEndEvent, 'type' | 'metrics'>>;

/** Metric columns are named `metrics.{name}` (a task end has a `durationMs` of its own). */
const METRIC_COLUMNS = Object.fromEntries(TASK_METRIC_NAMES.map((k) => [k, `metrics.${k}`])) as Record<SummarizedMetric, string>;

/** `{"all":v}` as JSON.stringify writes it. */
function allText(v: unknown): string {
  return `{"all":${JSON.stringify(v ?? null)}}`;
}

/** A column: its values, or the one value they all have (a metric that is 0 for every task costs one character). */
function column(values: readonly unknown[]): unknown {
  const first = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return values;
  return { all: first ?? null };
}

/** Typed arrays are written little-endian, whatever the machine (the reader reads them so). */
const BIG_ENDIAN = os.endianness() === 'BE';

/** `bytes` bytes of `a` as base64, little-endian (`width`: 4 or 8 bytes a value). */
function base64Of(a: Int32Array | Float64Array, bytes: number, width: 4 | 8): string {
  const b = Buffer.from(a.buffer, a.byteOffset, bytes);
  if (BIG_ENDIAN) {
    if (width === 4) b.swap32();
    else b.swap64();
  }
  return b.toString('base64');
}

const RESULTS = ['success', 'failed', 'killed'] as const;
const LOCALITIES = ['PROCESS_LOCAL', 'ANY', 'NO_PREF'] as const;
/** The numeric fields of a task end, the metrics flag, then each metric: one row of a block's number columns. */
const NUMBER_FIELDS = ['stageId', 'stageAttempt', 'partition', 'attempt', 'workerIndex', 'durationMs', 'time', 'metrics'] as const;
const WIDTH = NUMBER_FIELDS.length + TASK_METRIC_NAMES.length;
/** Distinct executor ids of a block found by a scan of its dictionary, past which by a map. */
const SCANNED_IDS = 8;
/** The column of a block that has not varied (see TaskEndColumns.#columns). */
const NO_ROWS = new Float64Array(0);
// The scheduler's task rows are copied into blocks as they are: one layout.
// internal: a build whose two layouts disagree fails when it loads, not in a user's log
if (WIDTH !== TASK_ROW_WIDTH || NUMBER_FIELDS.indexOf('metrics') !== TASK_ROW_FLAG) throw new Error('event log: a block row is not a task row');

/**
 * Task ends gathered as columns, one task at a time: each value is copied out of its event at once, so the log
 * keeps no event alive (events held for a flush outlived the young generation and made garbage collection cost
 * more than writing them). Numbers, flags and the result and locality codes go into typed arrays allocated once
 * and reused from block to block, so a task end allocates nothing (a push onto ~30 growing arrays per task was
 * most of the log's cost on the scheduler's thread); only executor ids, errors and key samples, which are not
 * numbers, are kept in plain arrays. Every field is read by its name (a field read by a variable name is a slow
 * lookup).
 *
 * The numbers are kept by column, and a column only once it differs within the block (until then its first value
 * stands for every row): most columns (the stage, the attempt, most metrics) hold one value for a whole block, 7 of 26
 * vary in a job of empty tasks. Rows of every number (~850 KB for 4,096 task ends, past a core's L2 cache), a pass over
 * them to find the varying columns and a strided pass per varying column to encode it cost the writer ~0.02-0.03 µs
 * per task more in a paired replay (docs/benchmarks.md, session 37, uicost).
 */
export class TaskEndColumns {
  #size = 0;
  #capacity = 0;
  /**
   * By number column (WIDTH of them): its values, one per row, once it varies in this block; the shared empty array
   * before (a column that never varied takes no memory). Reused from block to block.
   */
  readonly #columns: Float64Array[] = Array.from({ length: WIDTH }, () => NO_ROWS);
  /** Row 0's numbers: a column not stored holds this value in every row so far. */
  readonly #first = new Float64Array(WIDTH);
  /**
   * Per number column: 1 once a row holds a value other than row 0's, to the bit (Object.is: a -0 among 0s is stored,
   * since a column written as float64 keeps its sign; a column of NaN is not). Whether the line writes the column once
   * (its values all ===) is decided when the line is made, from the stored column.
   */
  readonly #stored = new Uint8Array(WIDTH);
  /** A task end's numbers, as {@link TaskEndColumns.append} reads them from its event. */
  readonly #row = new Float64Array(WIDTH);
  /** speculative, result code, locality code per task end. */
  #codes = new Uint8Array(0);
  /** By row, reused from block to block like the typed columns (an array grown by a push per task cost more). */
  #executorId: string[] = [];
  #error: Array<string | null> = [];
  #keySample: Array<readonly string[] | null> = [];
  /** The id the writer gave each task (-1: its start was not seen). */
  #taskId = new Int32Array(0);
  /** One varying column at a time, as int32 (reused: grown with the rows). */
  #ints = new Int32Array(0);

  /**
   * @param capacity rows held before the first growth (doubling, up to a block's {@link FLUSH_TASKS}). Small: a block of
   *   4,096 rows is up to ~0.9 MB of fresh memory, ~200 page faults of ~25-35 µs each on a VM, paid by every process with
   *   a log before its first task ended (5-7 ms of the driver's thread in a cold word count of ~40 tasks; session 29).
   */
  constructor(capacity = INITIAL_ROWS) {
    this.#grow(capacity);
  }

  get size(): number {
    return this.#size;
  }

  #grow(capacity: number): void {
    const codes = new Uint8Array(capacity * 3);
    codes.set(this.#codes.subarray(0, this.#size * 3));
    this.#codes = codes;
    const columns = this.#columns;
    for (let j = 0; j < WIDTH; j++) {
      const c = columns[j]!;
      if (c.length === 0) continue;
      const grown = new Float64Array(capacity);
      grown.set(c.subarray(0, this.#size));
      columns[j] = grown;
    }
    this.#ints = new Int32Array(capacity);
    const taskId = new Int32Array(capacity);
    taskId.set(this.#taskId.subarray(0, this.#size));
    this.#taskId = taskId;
    for (let i = this.#capacity; i < capacity; i++) {
      this.#executorId.push('');
      this.#error.push(null);
      this.#keySample.push(null);
    }
    this.#capacity = capacity;
  }

  /** Row `k`'s numbers, `src[from]` to `src[from + WIDTH - 1]`: stored only in the columns that vary. */
  #put(k: number, src: Float64Array, from: number): void {
    const first = this.#first;
    const stored = this.#stored;
    if (k === 0) {
      for (let j = 0; j < WIDTH; j++) first[j] = src[from + j]!;
      stored.fill(0);
      return;
    }
    const columns = this.#columns;
    for (let j = 0; j < WIDTH; j++) {
      const v = src[from + j]!;
      if (stored[j] === 1) columns[j]![k] = v;
      else if (!Object.is(v, first[j])) this.#store(j, k, v);
    }
  }

  /** Column `j` differs from row `k` (value `v`) on: its earlier rows, all its first value, are written out. */
  #store(j: number, k: number, v: number): void {
    const c = this.#column(j, k);
    c[k] = v;
    this.#stored[j] = 1;
  }

  /** Whether stored column `j` holds a value !== its first (a column of 0s and -0s does not: it is written once). */
  #varies(j: number): boolean {
    const c = this.#columns[j]!;
    const first = this.#first[j];
    for (let i = 1; i < this.#size; i++) if (c[i] !== first) return true;
    return false;
  }

  /** Column `j`'s array, its first `rows` rows filled with its first value (it had not varied). */
  #column(j: number, rows: number): Float64Array {
    let c = this.#columns[j]!;
    if (c.length < this.#capacity) this.#columns[j] = c = new Float64Array(this.#capacity);
    c.fill(this.#first[j]!, 0, rows);
    return c;
  }

  append(e: TaskEndEvent, taskId = -1): void {
    if (this.#size === this.#capacity) this.#grow(this.#capacity * 2);
    const i = this.#size++;
    this.#taskId[i] = taskId;
    const n = this.#row;
    n[0] = e.stageId;
    n[1] = e.stageAttempt;
    n[2] = e.partition;
    n[3] = e.attempt;
    n[4] = e.workerIndex;
    n[5] = e.durationMs;
    n[6] = e.time;
    const c = this.#codes;
    c[i * 3] = e.speculative ? 1 : 0;
    c[i * 3 + 1] = e.result === 'success' ? 0 : e.result === 'failed' ? 1 : 2;
    c[i * 3 + 2] = e.locality === 'PROCESS_LOCAL' ? 0 : e.locality === 'ANY' ? 1 : 2;
    this.#executorId[i] = e.executorId;
    this.#error[i] = e.error ?? null;
    const m = e.metrics;
    if (m === undefined) {
      n.fill(0, 7, WIDTH);
      this.#keySample[i] = null;
    } else {
      n[7] = 1;
      // In SUMMARIZED_METRICS order (the test of the reader checks every metric reads back).
      writeMetrics(n, 8, m);
      this.#keySample[i] = m.keySample ?? null;
    }
    this.#put(i, n, 0);
  }

  /** Row `i` of a batch's rows (an end): the same values {@link TaskEndColumns.append} takes from its event. */
  appendRow(rows: TaskRows, i: number, taskId = -1): void {
    if (this.#size === this.#capacity) this.#grow(this.#capacity * 2);
    const k = this.#size++;
    this.#taskId[k] = taskId;
    this.#put(k, rows.numbers, i * WIDTH);
    const c = this.#codes;
    const rc = rows.codes;
    c[k * 3] = rc[i * TASK_ROW_CODES + 1]!;
    c[k * 3 + 1] = rc[i * TASK_ROW_CODES + 2]!;
    c[k * 3 + 2] = rc[i * TASK_ROW_CODES + 3]!;
    this.#executorId[k] = rows.executorIds[i]!;
    this.#error[k] = rows.errors[i] ?? null;
    this.#keySample[k] = rows.keySamples[i] ?? null;
  }

  /**
   * Column `j` of the number rows: `{"all":v}` when every row holds v (most metrics are 0 for every task: not even stored,
   * see {@link TaskEndColumns.#put}), else the values as a base64 Int32Array, `{"i32":...}`, each value
   * `base + x / scale` (`scale` 1000 for times measured to the microsecond, `base` the first time for times since
   * the epoch), or, when a value would not read back exactly so, as a base64 Float64Array, `{"f64":...}`.
   *
   * Why binary: the decimal JSON of the varying columns (partition, worker, executor, durations, time: ~8 numbers
   * per task) was most of the log's cost on the driver's thread, ~0.05-0.1 µs per number printed; copying a column
   * into a typed array and encoding its bytes natively costs a few ns per number.
   */
  #numberColumn(out: string[], j: number, kind: 'plain' | 'ms' | 'stamp' = 'plain'): void {
    const size = this.#size;
    const first = this.#first[j]!;
    // NaN is never === itself, so a NaN column is never one value: as `{"all":NaN}` JSON would write null (a block of
    // one task end with a NaN figure read back as null); it goes out as float64 like any varying column.
    const stored = this.#stored[j] === 1;
    if (size === 0 || (first === first && !(stored && this.#varies(j)))) {
      out.push(allText(size === 0 ? null : first));
      return;
    }
    const n = stored ? this.#columns[j]! : this.#column(j, size);
    const scale = kind === 'ms' ? 1000 : 1;
    const base = kind === 'stamp' ? first : 0;
    const ints = this.#ints;
    let i = 0;
    // Exactly as the reader computes it, after the int32 wrap: a value out of range or finer than the scale fails. Two
    // loops: a division per value (x / 1 is x) was most of the encoding of a plain column.
    if (scale === 1)
      for (; i < size; i++) {
        const v = n[i]!;
        ints[i] = Math.round(v - base);
        if (base + ints[i]! !== v) break;
      }
    else
      for (; i < size; i++) {
        const v = n[i]!;
        ints[i] = Math.round((v - base) * scale);
        if (base + ints[i]! / scale !== v) break;
      }
    if (i === size) {
      out.push('{"i32":"', base64Of(ints, size * 4, 4));
      out.push(kind === 'stamp' ? `","base":${JSON.stringify(base)}}` : kind === 'ms' ? `","scale":${scale}}` : '"}');
      return;
    }
    out.push('{"f64":"', base64Of(n, size * 8, 8), '"}');
  }

  /** Codes (`codes[i * 3 + j]`) as `{"dict":names,"i32":...}` (see {@link TaskEndColumns.line}), or the one value. */
  #codeColumn<T>(out: string[], j: number, names: readonly T[]): void {
    const c = this.#codes;
    const size = this.#size;
    let i = 1;
    while (i < size && c[i * 3 + j] === c[j]) i++;
    if (i >= size) {
      out.push(allText(size === 0 ? null : names[c[j]!]!));
      return;
    }
    const ints = this.#ints;
    for (let k = 0; k < size; k++) ints[k] = c[k * 3 + j]!;
    out.push(`{"dict":${JSON.stringify(names)},"i32":"`, base64Of(ints, size * 4, 4), '"}');
  }

  /** A string column: the one value, or each distinct value once and an index per row (ids repeat in every row). */
  #dictionaryColumn(out: string[], values: readonly string[]): void {
    const size = this.#size;
    const first = values[0];
    let i = 1;
    while (i < size && values[i] === first) i++;
    if (i >= size) {
      out.push(allText(size === 0 ? null : first));
      return;
    }
    const dict: string[] = [];
    /** Codes by value once the dictionary outgrows a scan (a few ids, one per worker, are found faster by a scan). */
    let codes: Map<string, number> | undefined;
    const ints = this.#ints;
    let last: string | undefined;
    let lastCode = 0;
    for (let k = 0; k < size; k++) {
      const v = values[k]!;
      if (v !== last) {
        let code = -1;
        if (codes !== undefined) code = codes.get(v) ?? -1;
        else for (let d = 0; d < dict.length; d++) if (dict[d] === v) code = d;
        if (code === -1) {
          code = dict.push(v) - 1;
          if (codes !== undefined) codes.set(v, code);
          else if (dict.length > SCANNED_IDS) codes = new Map(dict.map((id, d) => [id, d]));
        }
        last = v;
        lastCode = code;
      }
      ints[k] = lastCode;
    }
    out.push(`{"dict":${JSON.stringify(dict)},"i32":"`, base64Of(ints, size * 4, 4), '"}');
  }

  /**
   * The task ends appended so far as one JSON line, `{"type":"taskEnds","count":n,"columns":{...}}`, and empties
   * the columns. A task without metrics (its worker died) has `metrics` 0 in its row; metric columns are
   * `metrics.{name}`; number columns as `#numberColumn` writes them; `executorId`,
   * `speculative`, `result` and `locality` as their one value or `{"dict":[values],"i32":...}` (an index into
   * `dict` per task); `error` and `metrics.keySample` as their one value or a plain array, null where absent.
   * {@link expandTaskEnds} turns it back into the events (and the columns older logs wrote as plain arrays).
   */
  line(): string {
    const out: string[] = [];
    this.pieces(out);
    return out.join('');
  }

  /**
   * The text of {@link TaskEndColumns.line}, in pieces appended to `out` (each base64 column a piece of its own),
   * and empties the columns. Returns the pieces' total length.
   *
   * Why pieces: the line joined by `+` is a rope of these pieces, and encoding a rope of large strings into the log's
   * buffer (`Buffer.write`) flattened it first, into a new string of the whole line: ~1.4 ms for a 4,000-task block
   * (~0.35 µs per task, most of the log's cost on the driver's thread), and now and then tens of ms more for the
   * collection its large allocations brought on. Written piece by piece, each already flat: ~25 µs
   * (docs/benchmarks.md, session 13).
   */
  pieces(out: string[]): number {
    const from = out.length;
    const size = this.#size;
    const num = (name: string, f: (typeof NUMBER_FIELDS)[number], kind?: 'stamp') => {
      out.push(`"${name}":`);
      this.#numberColumn(out, NUMBER_FIELDS.indexOf(f), kind);
      out.push(',');
    };
    // The text is put together here, not by JSON.stringify of the columns: it checks every character of the base64
    // strings for escapes (~3 ns each, several times the cost of making them), and they have none. The columns in
    // the order of TASK_END_FIELDS, then the metrics.
    out.push(`{"type":"taskEnds","count":${size},"columns":{`);
    num('stageId', 'stageId');
    num('stageAttempt', 'stageAttempt');
    num('partition', 'partition');
    num('attempt', 'attempt');
    num('workerIndex', 'workerIndex');
    out.push('"executorId":');
    this.#dictionaryColumn(out, this.#executorId);
    out.push(',"speculative":');
    this.#codeColumn(out, 0, [false, true]);
    out.push(',"result":');
    this.#codeColumn(out, 1, RESULTS);
    out.push(`,"error":${JSON.stringify(column(this.#error.slice(0, size)))},`);
    num('durationMs', 'durationMs');
    out.push('"locality":');
    this.#codeColumn(out, 2, LOCALITIES);
    out.push(',');
    num('time', 'time', 'stamp');
    num('metrics', 'metrics');
    TASK_METRIC_NAMES.forEach((k, j) => {
      out.push(`"${METRIC_COLUMNS[k]}":`);
      this.#numberColumn(out, NUMBER_FIELDS.length + j, k.endsWith('Ms') ? 'ms' : 'plain');
      out.push(',');
    });
    // Task ids as an Int32Array (-1: not known), or none when no id is known (a block of tests' hand-made ends).
    if (this.#taskId.subarray(0, size).some((id) => id >= 0)) out.push('"taskId":{"i32":"', base64Of(this.#taskId, size * 4, 4), '"},');
    out.push(`"metrics.keySample":${JSON.stringify(column(this.#keySample.slice(0, size)))}}}`);
    // Rows past the size are never read; the references they hold (key samples) go at the next block's writes.
    this.#size = 0;
    let length = 0;
    for (let i = from; i < out.length; i++) length += out[i]!.length;
    return length;
  }
}

/**
 * The state to write `file` on from its end (a writer on another thread died with it): the tasks running then end
 * with no id (-1), later ones are numbered from `nextTaskId`. A last line the dead writer left cut short is ended,
 * so that it spoils no line after it (readers skip it).
 */
export function reopenedLog(file: string, nextTaskId: number): EventLogHandover {
  const fd = openSync(file, 'r+');
  let pos = fstatSync(fd).size;
  const last = Buffer.alloc(1);
  if (pos > 0 && readSync(fd, last, 0, 1, pos - 1) === 1 && last[0] !== 10) pos += writeSync(fd, '\n', pos);
  return { file, fd, pos, nextTaskId, taskIds: [], listedUpTo: Date.now(), taskStarted: false, ended: false };
}

/**
 * Task ends as one JSON line of columns (see {@link TaskEndColumns.line}).
 *
 * @example
 * ```ts
 * const line = taskEndsLine(ends);
 * expandTaskEnds(JSON.parse(line)); // the same events again
 * ```
 */
export function taskEndsLine(events: readonly TaskEndEvent[]): string {
  const c = new TaskEndColumns();
  for (const e of events) c.append(e);
  return c.line();
}

/** A column of a block line, as this writer writes it or as older logs did (plain arrays, `us`, `d`, `idx`). */
type BlockColumn =
  | unknown[]
  | { readonly all: unknown }
  | { readonly i32: string; readonly scale?: number; readonly base?: number; readonly dict?: readonly unknown[] }
  | { readonly f64: string }
  | { readonly us: number[] }
  | { readonly base: number; readonly d: number[] }
  | { readonly dict: unknown[]; readonly idx: number[] };

interface TaskEndsBlock {
  readonly type: 'taskEnds';
  readonly count: number;
  readonly columns: Readonly<Record<string, BlockColumn>>;
}

/** A column's value of row `i` (undefined: no such column, as in logs written before it existed). */
function columnReader(c: BlockColumn | undefined): (i: number) => unknown {
  if (c === undefined) return () => undefined;
  if (Array.isArray(c)) return (i) => c[i];
  if ('i32' in c) {
    const bytes = Buffer.from(c.i32, 'base64');
    const { scale = 1, base = 0, dict } = c;
    return dict !== undefined ? (i) => dict[bytes.readInt32LE(i * 4)] : (i) => base + bytes.readInt32LE(i * 4) / scale;
  }
  if ('f64' in c) {
    const bytes = Buffer.from(c.f64, 'base64');
    // As JSON would give it back, like every other number of a log: -0 as 0, NaN and infinities as null.
    return (i) => {
      const v = bytes.readDoubleLE(i * 8);
      return Number.isFinite(v) ? v + 0 : null;
    };
  }
  if ('us' in c) return (i) => c.us[i]! / 1000;
  if ('d' in c) return (i) => c.base + c.d[i]!;
  if ('idx' in c) return (i) => c.dict[c.idx[i]!];
  return () => c.all;
}

/** The task ends of a block line, in the order they happened. */
export function expandTaskEnds(block: TaskEndsBlock): TaskEndEvent[] {
  const fields = TASK_END_FIELDS.map((f) => [f, columnReader(block.columns[f])] as const);
  const hasMetrics = columnReader(block.columns.metrics);
  const metrics = TASK_METRIC_NAMES.map((k) => [k, columnReader(block.columns[METRIC_COLUMNS[k]])] as const);
  const keySamples = columnReader(block.columns['metrics.keySample']);
  const taskIds = columnReader(block.columns.taskId);
  const out: TaskEndEvent[] = [];
  for (let i = 0; i < block.count; i++) {
    const e: Record<string, unknown> = { type: 'taskEnd' };
    for (const [f, at] of fields) {
      const v = at(i);
      if (v !== null && v !== undefined) e[f] = v;
    }
    const taskId = taskIds(i);
    if (typeof taskId === 'number' && taskId >= 0) e.taskId = taskId;
    if (hasMetrics(i) === 1) {
      const m: Record<string, unknown> = {};
      for (const [k, at] of metrics) m[k] = at(i);
      const keySample = keySamples(i);
      if (keySample !== null && keySample !== undefined) m.keySample = keySample;
      e.metrics = m;
    }
    out.push(e as unknown as TaskEndEvent);
  }
  return out;
}

/** The ids of one stage attempt's running tasks (see EventLogWriter's task ids). */
class StageTaskIds {
  /** By partition: the id of the task computing it (-1: none), and that task's {@link taskIdKey}. */
  #id = new Int32Array(64).fill(-1);
  #key = new Float64Array(64);
  /** Another copy of a partition running at the same time, by its key. */
  #more: Map<number, number> | undefined;
  running = 0;
  done = false;

  /** @param from the state of another thread's (see {@link StageTaskIds.state}). */
  constructor(from?: StageTaskIdsState) {
    if (from === undefined) return;
    this.#id = from.id;
    this.#key = from.key;
    if (from.more.length > 0) this.#more = new Map(from.more);
    this.running = from.running;
    this.done = from.done;
  }

  /** Its state as plain data, for a writer on another thread (copies: this one writes no more). */
  state(): StageTaskIdsState {
    return { id: this.#id.slice(), key: this.#key.slice(), more: [...(this.#more ?? [])], running: this.running, done: this.done };
  }

  start(partition: number, key: number, id: number): void {
    this.running++;
    if (partition >= this.#id.length) {
      const size = Math.max(partition + 1, this.#id.length * 2);
      const ids = new Int32Array(size).fill(-1);
      ids.set(this.#id);
      const keys = new Float64Array(size);
      keys.set(this.#key);
      this.#id = ids;
      this.#key = keys;
    }
    if (this.#id[partition] === -1) {
      this.#id[partition] = id;
      this.#key[partition] = key;
    } else (this.#more ??= new Map()).set(key, id);
  }

  /** The id of the task that ended (-1: its start was not seen), forgotten. */
  end(partition: number, key: number): number {
    let id = -1;
    if (partition < this.#id.length && this.#id[partition] !== -1 && this.#key[partition] === key) {
      id = this.#id[partition]!;
      this.#id[partition] = -1;
    } else {
      const more = this.#more?.get(key);
      if (more !== undefined) {
        id = more;
        this.#more!.delete(key);
      }
    }
    if (id !== -1) this.running--;
    return id;
  }

  /** The id of a task still running (-1: not known). */
  peek(partition: number, key: number): number {
    if (partition < this.#id.length && this.#id[partition] !== -1 && this.#key[partition] === key) return this.#id[partition]!;
    return this.#more?.get(key) ?? -1;
  }
}

/** The ids of one stage attempt's running tasks as plain data (see {@link EventLogHandover}). */
export interface StageTaskIdsState {
  readonly id: Int32Array<ArrayBuffer>;
  readonly key: Float64Array<ArrayBuffer>;
  readonly more: ReadonlyArray<readonly [number, number]>;
  readonly running: number;
  readonly done: boolean;
}

/** A stage attempt's key in the writer's map of task ids. */
function stageKey(stageId: number, stageAttempt: number): number {
  return stageId * 1024 + stageAttempt;
}

/** A task's key within its stage attempt in the writer's map of task ids (as the status store keys its rows). */
function taskIdKey(partition: number, attempt: number, workerIndex: number): number {
  return partition + 2 ** 24 * (workerIndex + 2 ** 12 * attempt);
}

/** The events of one log file; a last line cut short by a crash is ignored. */
export function readEventLog(file: string): AppEvent[] {
  return [...eventLogEvents(file)];
}

/**
 * The events of one log file, one line at a time, read in pieces of `pieceBytes`: a long application's log
 * outgrows V8's longest string (~512 MiB), which reading it whole could not decode, and the history server
 * applies each event as it comes instead of holding them all. A last line cut short by a crash is ignored.
 */
export function* eventLogEvents(file: string, pieceBytes = 1 << 20): Generator<AppEvent> {
  const fd = openSync(file, 'r');
  try {
    const piece = Buffer.allocUnsafe(pieceBytes);
    // The start of a line that continues in a later piece, copied out since the piece is read over.
    let head: Buffer[] = [];
    for (;;) {
      const n = readSync(fd, piece, 0, pieceBytes, null);
      if (n === 0) break;
      const bytes = piece.subarray(0, n);
      let start = 0;
      for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, start)) {
        const line = head.length === 0 ? bytes.subarray(start, nl) : Buffer.concat([...head, bytes.subarray(start, nl)]);
        head = [];
        start = nl + 1;
        yield* lineEvents(line);
      }
      if (start < n) head.push(Buffer.from(bytes.subarray(start)));
    }
    if (head.length > 0) yield* lineEvents(Buffer.concat(head));
  } finally {
    closeSync(fd);
  }
}

/** The events of one line: none for a blank line, or for one that is not whole (a crash cut it short). */
function lineEvents(line: Buffer): readonly AppEvent[] {
  try {
    const text = line.toString('utf8');
    if (text.trim() === '') return [];
    const e = JSON.parse(text) as AppEvent | TaskEndsBlock;
    return e.type === 'taskEnds' ? expandTaskEnds(e) : [e];
  } catch {
    // A partial line at the end of a crashed application's log (or a line longer than any string can be).
    return [];
  }
}
