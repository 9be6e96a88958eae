/**
 * The event log: JSON lines, one file per application (`{appId}.jsonl`), written as the application runs so
 * that one that crashes still leaves its log. Lines are buffered for at most FLUSH_MS (or FLUSH_BYTES, or until
 * a job ends) and written without blocking; a process exiting (even by an uncaught exception) writes what it
 * still holds synchronously. An application whose log has no `applicationEnd` line did not finish.
 *
 * Every event is one line, except task ends: those that arrive between two other events are written as one
 * `taskEnds` line of columns (a column whose values are all the same is written once), because they are most
 * of a log and a line each would cost the scheduler's thread several microseconds per task. Task starts are
 * not written: a task's end names its start. {@link readEventLog} turns the lines back into events.
 */
import { closeSync, mkdirSync, openSync, readFileSync, write, writeSync } from 'node:fs';
import path from 'node:path';
import type { TaskMetrics } from '../exec/protocol.js';
import type { TaskEndEvent } from '../scheduler/events.js';
import { SUMMARIZED_METRICS, type SummarizedMetric, writeMetrics } from '../scheduler/task-metrics.js';
import { EVENT_LOG_SUFFIX, type AppEvent } from './app-events.js';
import { UiError } from './errors.js';

type Unsummarized = Exclude<keyof TaskMetrics, SummarizedMetric | 'keySample'>;
/** Every numeric task metric (a metric that is not summarized would not compile here: the reader restores them all). */
const TASK_METRIC_NAMES: [Unsummarized] extends [never] ? readonly SummarizedMetric[] : never = SUMMARIZED_METRICS;

const FLUSH_MS = 100;
const FLUSH_BYTES = 1 << 16;
/** Task ends held before they are written as one block, whatever the time. */
const FLUSH_TASKS = 4096;
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
 * Appends events to `{dir}/{appId}.jsonl`.
 *
 * Chunks are written asynchronously, each at its own offset, so the scheduler's thread never waits on the
 * disk; since a positional write can be repeated, a process that exits while a chunk is in flight writes it
 * again synchronously, with the rest, and loses nothing.
 *
 * @example
 * ```ts
 * const log = new EventLogWriter('/tmp/kindling-events', 'app-20260101000000-0001');
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

  constructor(dir: string, appId: string) {
    try {
      mkdirSync(dir, { recursive: true });
      this.file = path.join(path.resolve(dir), appId + EVENT_LOG_SUFFIX);
      this.#fd = openSync(this.file, 'w');
    } catch (e) {
      throw new UiError(`Cannot write the event log in ${dir}: ${(e as Error).message}`, { cause: e });
    }
    process.on('exit', this.#onExit);
  }

  write(event: AppEvent): void {
    // A task's start is implied by its end (time - durationMs): logging only the end halves the lines of a log
    // and their cost on the scheduler's hot path. A crashed application's log so lacks only tasks still running.
    if (this.#fd === undefined || this.#closing || event.type === 'taskStart') return;
    if (event.type === 'taskEnd') {
      // Its values are copied into columns; the line is made once for the whole block, off the task's path.
      this.#taskEnds.append(event);
      if (this.#taskEnds.size >= FLUSH_TASKS) this.flush();
      else this.#armTimer();
      return;
    }
    this.#blockTaskEnds();
    const line = JSON.stringify(event) + '\n';
    this.#buffer.push(line);
    this.#bytes += line.length;
    if (this.#bytes >= FLUSH_BYTES || event.type === 'jobEnd' || event.type === 'applicationEnd') this.flush();
    else this.#armTimer();
  }

  /** Turns the task ends held into their block line. */
  #blockTaskEnds(): void {
    if (this.#taskEnds.size === 0) return;
    const line = this.#taskEnds.line() + '\n';
    this.#buffer.push(line);
    this.#bytes += line.length;
  }

  #armTimer(): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
      // Logging must never be why a finished program keeps running; 'exit' writes the rest.
      this.#timer.unref();
    }
  }

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
    if (this.#fd === undefined || this.#buffer.length === 0) return;
    // Nothing is in flight here, so buffer 0 is free; buffer 1 is for what #flushSync writes while a chunk flies.
    const chunk = { buf: this.#take(0), pos: this.#pos, slot: 0 as const };
    this.#pos += chunk.buf.length;
    this.#inFlight = chunk;
    const fd = this.#fd;
    write(fd, chunk.buf, 0, chunk.buf.length, chunk.pos, (err) => {
      this.#inFlight = undefined;
      if (err && !this.#warned) {
        this.#warned = true;
        console.warn(`kindling: writing the event log ${this.file} failed: ${err.message}`);
      }
      if (this.#closing) closeSync(fd);
      // Only a flush asked for while this chunk was in flight (a job's end, a full buffer) writes again at once.
      // Writing whatever came in meanwhile made the log write back to back all through a job, ~40 small chunks
      // per 4,000 tasks, each a block line, a syscall on the thread pool and a callback on the driver's thread.
      else if (this.#flushAsked) this.flush();
      else if (this.#buffer.length > 0 || this.#taskEnds.size > 0) this.#armTimer();
    });
  }

  /** Writes everything now, the chunk in flight again included. */
  #flushSync(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#fd === undefined) return;
    this.#blockTaskEnds();
    if (this.#inFlight !== undefined) writeSync(this.#fd, this.#inFlight.buf, 0, this.#inFlight.buf.length, this.#inFlight.pos);
    if (this.#buffer.length > 0) {
      // Written before it returns: the chunk in flight, if any, keeps its own buffer.
      const buf = this.#take(this.#inFlight?.slot === 0 ? 1 : 0);
      writeSync(this.#fd, buf, 0, buf.length, this.#pos);
      this.#pos += buf.length;
    }
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

  close(): void {
    if (this.#fd === undefined || this.#closing) return;
    this.#flushSync();
    this.#closing = true;
    process.off('exit', this.#onExit);
    // A chunk still in flight closes the file when it lands (its bytes are already written again above).
    if (this.#inFlight === undefined) closeSync(this.#fd);
    this.#fd = undefined;
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

/** A column: its values, or the one value they all have (a metric that is 0 for every task costs one character). */
function column(values: readonly unknown[]): unknown {
  const first = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== first) return values;
  return { all: first ?? null };
}

/**
 * Every `WIDTH`th number of `n` from `from` to `end`, times `scale` (rounded when scaled) minus `minus`, as a plain array
 * built by push. A plain array for JSON.stringify, not a typed one (written as an object), and packed: one made as
 * `new Array(size)` is holey, and JSON.stringify reads a holey array's elements one by one through the slow generic
 * path (a property lookup each), which took about a third of a block line's cost. Whole numbers go in as small
 * integers (JSON writes 5 and 5.0 alike, and -0 as 0, so the line is unchanged).
 */
function packed(n: Float64Array, from: number, end: number, scale: number, minus: number): number[] {
  const out: number[] = [];
  for (let p = from; p < end; p += WIDTH) {
    const v = scale === 1 ? n[p]! - minus : Math.round(n[p]! * scale);
    out.push(v === (v | 0) ? v | 0 : v);
  }
  return out;
}

const RESULTS = ['success', 'failed', 'killed'] as const;
const LOCALITIES = ['PROCESS_LOCAL', 'ANY', 'NO_PREF'] as const;
/** The numeric fields of a task end, the metrics flag, then each metric: one row of a block's number columns. */
const NUMBER_FIELDS = ['stageId', 'stageAttempt', 'partition', 'attempt', 'workerIndex', 'durationMs', 'time', 'metrics'] as const;
const WIDTH = NUMBER_FIELDS.length + TASK_METRIC_NAMES.length;

/**
 * Task ends gathered as columns, one task at a time: each value is copied out of its event at once, so the log
 * keeps no event alive (events held for a flush outlived the young generation and made garbage collection cost
 * more than writing them). Numbers, flags and the result and locality codes go into typed arrays allocated once
 * and reused from block to block, so a task end allocates nothing (a push onto ~30 growing arrays per task was
 * most of the log's cost on the scheduler's thread); only executor ids, errors and key samples, which are not
 * numbers, are kept in plain arrays. Every field is read by its name (a field read by a variable name is a slow
 * lookup).
 */
export class TaskEndColumns {
  #size = 0;
  #capacity = 0;
  /** Row-major: WIDTH numbers per task end (one write position per task, one cache line or two). */
  #numbers = new Float64Array(0);
  /** speculative, result code, locality code per task end. */
  #codes = new Uint8Array(0);
  /** By row, reused from block to block like the typed columns (an array grown by a push per task cost more). */
  #executorId: string[] = [];
  #error: Array<string | null> = [];
  #keySample: Array<readonly string[] | null> = [];

  constructor(capacity = FLUSH_TASKS) {
    this.#grow(capacity);
  }

  get size(): number {
    return this.#size;
  }

  #grow(capacity: number): void {
    const numbers = new Float64Array(capacity * WIDTH);
    numbers.set(this.#numbers.subarray(0, this.#size * WIDTH));
    const codes = new Uint8Array(capacity * 3);
    codes.set(this.#codes.subarray(0, this.#size * 3));
    this.#numbers = numbers;
    this.#codes = codes;
    for (let i = this.#capacity; i < capacity; i++) {
      this.#executorId.push('');
      this.#error.push(null);
      this.#keySample.push(null);
    }
    this.#capacity = capacity;
  }

  append(e: TaskEndEvent): void {
    if (this.#size === this.#capacity) this.#grow(this.#capacity * 2);
    const i = this.#size++;
    const n = this.#numbers;
    const o = i * WIDTH;
    n[o] = e.stageId;
    n[o + 1] = e.stageAttempt;
    n[o + 2] = e.partition;
    n[o + 3] = e.attempt;
    n[o + 4] = e.workerIndex;
    n[o + 5] = e.durationMs;
    n[o + 6] = e.time;
    const c = this.#codes;
    c[i * 3] = e.speculative ? 1 : 0;
    c[i * 3 + 1] = e.result === 'success' ? 0 : e.result === 'failed' ? 1 : 2;
    c[i * 3 + 2] = e.locality === 'PROCESS_LOCAL' ? 0 : e.locality === 'ANY' ? 1 : 2;
    this.#executorId[i] = e.executorId;
    this.#error[i] = e.error ?? null;
    const m = e.metrics;
    if (m === undefined) {
      // Zero every metric (the row may hold a previous block's values).
      n.fill(0, o + 7, o + WIDTH);
      this.#keySample[i] = null;
      return;
    }
    n[o + 7] = 1;
    // In SUMMARIZED_METRICS order (the test of the reader checks every metric reads back).
    writeMetrics(n, o + 8, m);
    this.#keySample[i] = m.keySample ?? null;
  }

  /**
   * Column `j` of the number rows as {@link column} or {@link timeColumn} writes it. Most columns hold one value
   * (a metric that is 0 for every task): that is found in the typed array, before any plain array is made.
   */
  #numberColumn(j: number, kind: 'plain' | 'ms' | 'stamp' = 'plain'): unknown {
    const n = this.#numbers;
    const size = this.#size;
    const first = n[j]!;
    let o = j + WIDTH;
    for (let i = 1; i < size && n[o] === first; i++) o += WIDTH;
    if (size === 0 || o >= size * WIDTH) return { all: size === 0 ? null : first };
    const end = size * WIDTH;
    if (kind === 'ms') {
      // Times measured to the microsecond (as workers report them) are written as integer microseconds,
      // `{"us":[...]}`: printing an integer costs a fraction of printing a fraction, and reads back exact.
      let micros = true;
      for (let p = j; p < end && micros; p += WIDTH) micros = Math.round(n[p]! * 1000) / 1000 === n[p]!;
      return micros ? { us: packed(n, j, end, 1000, 0) } : packed(n, j, end, 1, 0);
    }
    if (kind === 'stamp') {
      // Times since the epoch in whole ms as the first and the offsets from it (small integers print fast).
      // An offset that is whole only by rounding (a time near 0 in a block of epoch times) would not read back.
      let whole = true;
      for (let p = j; p < end && whole; p += WIDTH) {
        const d = n[p]! - first;
        whole = Number.isInteger(d) && first + d === n[p]!;
      }
      return whole ? { base: first, d: packed(n, j, end, 1, first) } : packed(n, j, end, 1, 0);
    }
    return packed(n, j, end, 1, 0);
  }

  /** A code column as {@link column} writes it, its names looked up only when its codes differ. */
  #codeColumn<T>(j: number, names: readonly T[]): unknown {
    const c = this.#codes;
    const size = this.#size;
    let i = 1;
    while (i < size && c[i * 3 + j] === c[j]) i++;
    if (i >= size) return { all: size === 0 ? null : names[c[j]!]! };
    const out: T[] = [];
    for (let k = 0; k < size; k++) out.push(names[c[k * 3 + j]!]!);
    return out;
  }

  /** A string column: the one value, or each distinct value once and an index per row (ids repeat in every row). */
  #dictionaryColumn(values: readonly string[]): unknown {
    const size = this.#size;
    const first = values[0];
    let i = 1;
    while (i < size && values[i] === first) i++;
    if (i >= size) return { all: size === 0 ? null : first };
    const dict: string[] = [];
    const codes = new Map<string, number>();
    const idx: number[] = [];
    for (let k = 0; k < size; k++) {
      const v = values[k]!;
      let code = codes.get(v);
      if (code === undefined) codes.set(v, (code = dict.push(v) - 1));
      idx.push(code);
    }
    return { dict, idx };
  }

  /**
   * The task ends appended so far as one JSON line, `{"type":"taskEnds","count":n,"columns":{...}}`, and empties
   * the columns. A task without metrics (its worker died) has `metrics` 0 in its row; metric columns are
   * `metrics.{name}`, times in whole microseconds as `{"us":[...]}`; `error` and `metrics.keySample` are null
   * where absent; `time` as `{"base":t,"d":[...]}` (milliseconds after the first), `executorId` as
   * `{"dict":[ids],"idx":[...]}`: small integers print several times faster than 13-digit times and strings.
   * {@link expandTaskEnds} turns it back into the events.
   */
  line(): string {
    const num = (f: (typeof NUMBER_FIELDS)[number]) => this.#numberColumn(NUMBER_FIELDS.indexOf(f));
    const columns: Record<string, unknown> = {
      stageId: num('stageId'),
      stageAttempt: num('stageAttempt'),
      partition: num('partition'),
      attempt: num('attempt'),
      workerIndex: num('workerIndex'),
      executorId: this.#dictionaryColumn(this.#executorId),
      speculative: this.#codeColumn(0, [false, true]),
      result: this.#codeColumn(1, RESULTS),
      error: column(this.#error.slice(0, this.#size)),
      durationMs: num('durationMs'),
      locality: this.#codeColumn(2, LOCALITIES),
      time: this.#numberColumn(NUMBER_FIELDS.indexOf('time'), 'stamp'),
      metrics: num('metrics'),
    } satisfies Record<(typeof TASK_END_FIELDS)[number] | 'metrics', unknown>;
    TASK_METRIC_NAMES.forEach((k, j) => {
      columns[METRIC_COLUMNS[k]] = this.#numberColumn(NUMBER_FIELDS.length + j, k.endsWith('Ms') ? 'ms' : 'plain');
    });
    columns['metrics.keySample'] = column(this.#keySample.slice(0, this.#size));
    const line = JSON.stringify({ type: 'taskEnds', count: this.#size, columns });
    // Rows past the size are never read; the references they hold (key samples) go at the next block's writes.
    this.#size = 0;
    return line;
  }
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

interface TaskEndsBlock {
  readonly type: 'taskEnds';
  readonly count: number;
  readonly columns: Readonly<
    Record<
      string,
      | unknown[]
      | { readonly all: unknown }
      | { readonly us: number[] }
      | { readonly base: number; readonly d: number[] }
      | { readonly dict: unknown[]; readonly idx: number[] }
    >
  >;
}

/** The task ends of a block line, in the order they happened. */
export function expandTaskEnds(block: TaskEndsBlock): TaskEndEvent[] {
  const at = (name: string, i: number): unknown => {
    const c = block.columns[name];
    if (Array.isArray(c)) return c[i];
    if (c === undefined) return undefined;
    if ('us' in c) return c.us[i]! / 1000;
    if ('d' in c) return c.base + c.d[i]!;
    if ('idx' in c) return c.dict[c.idx[i]!];
    return c.all;
  };
  const out: TaskEndEvent[] = [];
  for (let i = 0; i < block.count; i++) {
    const e: Record<string, unknown> = { type: 'taskEnd' };
    for (const f of TASK_END_FIELDS) {
      const v = at(f, i);
      if (v !== null && v !== undefined) e[f] = v;
    }
    if (at('metrics', i) === 1) {
      const m: Record<string, unknown> = {};
      for (const k of TASK_METRIC_NAMES) m[k] = at(METRIC_COLUMNS[k], i);
      const keySample = at('metrics.keySample', i);
      if (keySample !== null && keySample !== undefined) m.keySample = keySample;
      e.metrics = m;
    }
    out.push(e as unknown as TaskEndEvent);
  }
  return out;
}

/** The events of one log file; a last line cut short by a crash is ignored. */
export function readEventLog(file: string): AppEvent[] {
  const text = readFileSync(file, 'utf8');
  const out: AppEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as AppEvent | TaskEndsBlock;
      if (e.type === 'taskEnds') for (const t of expandTaskEnds(e)) out.push(t);
      else out.push(e);
    } catch {
      // A partial line at the end of a crashed application's log.
    }
  }
  return out;
}
