/**
 * Sources run on the driver's event loop (Node reads without a thread, so unlike Spark's receivers no worker is
 * held). At each batch time the context asks every source for the records of that batch.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context/context.js';
import { ArgumentTypeError, IllegalStateError, InvalidArgumentError, describeValue } from '../core/errors.js';
import { RDD } from '../rdd/index.js';
import type { BatchTime } from './dstream.js';
import { type PidOptions, RateLimit } from './rate-estimator.js';

/** What a source hands over for one batch. */
export interface SourceBatch<T> {
  /** The batch's records, or an RDD that reads them (files, Redis entries parsed in the workers). */
  readonly records: T[] | RDD<T>;
  /** How many records an RDD holds, when the source knows (rates, batch events). */
  readonly count?: number;
  /** Records discarded by back pressure since the previous batch. */
  readonly dropped?: number;
  /** Records received and not yet handed over. */
  readonly buffered?: number;
  /** The records-per-second limit applied to this batch, when there is one. */
  readonly rateLimit?: number;
  /** Entries waiting at the broker after this read, when the broker reports it. */
  readonly lag?: number;
  /** What a replayable source read (JSON data), recorded in the offsets log before the batch runs. */
  readonly range?: unknown;
}

/** How the context asks for a batch. */
export interface CutOptions {
  /**
   * A graceful stop's drain: the source stopped receiving, and what it holds is processed now or lost. Spark's
   * receivers are limited where they take data in, and every block they stored goes into the next batch; a receiver
   * here buffers ahead of the limit (`buffer` mode), so the drain takes the whole buffer (at most `maxBuffered`)
   * instead of the rate limit's share a batch: at the estimator's minimum rate a buffer of ten batches' share
   * outlasted the stop's default timeout of ten intervals, and what was left was lost.
   */
  readonly draining?: boolean;
}

/** How a finished batch went, for sources that adapt their rate. */
export interface BatchReport {
  readonly time: BatchTime;
  /** Records this source delivered to the batch. */
  readonly records: number;
  readonly processingMs: number;
  readonly schedulingDelayMs: number;
  /** Wall-clock end of the batch, in ms. */
  readonly endMs: number;
}

/**
 * An input of a StreamingContext; implement it to add one (AMQP, MQTT, Kafka, ...) and pass it to
 * `ssc.source(s)`.
 *
 * @example
 * ```ts
 * let n = 0;
 * const counter: Source<number> = { name: 'counter', start() {}, cut: () => ({ records: [n++] }), stop() {} };
 * ssc.source(counter).print();
 * ```
 */
export interface Source<T> {
  readonly name: string;
  start(): void | Promise<void>;
  /**
   * The records of batch `time` (everything received since the previous call, within the source's limits). With
   * `draining`, the stream is stopping gracefully: a source that holds received records on the driver hands them all
   * over, whatever its rate limit, since nothing will read them later (see {@link CutOptions}).
   */
  cut(time: BatchTime, options?: CutOptions): SourceBatch<T> | Promise<SourceBatch<T>>;
  /** After each completed batch (rate estimation). */
  batchCompleted?(report: BatchReport): void;
  /** Stop taking new input (a graceful stop then drains what is buffered). */
  stopReceiving?(): void;
  /** Records received but not yet handed to a batch. */
  pending?(): number;
  /** Replayable sources: the records of a range recorded by an earlier run (uncommitted batches after a restart). */
  replay?(range: unknown): Promise<T[]> | T[];
  /** Replayable sources: continue after this recorded range (called before start() on a restart). */
  resume?(range: unknown): void;
  /** After the batch that read `range` is committed (acknowledge, delete, move processed files). */
  commit?(range: unknown): void | Promise<void>;
  /** The error that ended the source, if any: it fails the stream. */
  failure?(): unknown;
  stop(): void | Promise<void>;
}

/** Back pressure for sources that receive faster than batches are processed. */
export interface BackpressureOptions {
  /**
   * `block` (default): pull no more than the next batch may take, so a producer awaiting the iterator slows down
   * and nothing is lost. `buffer`: pull ahead up to `maxBuffered` records to absorb bursts, then wait.
   * `drop`: never make the producer wait; past `maxBuffered`, discard records (`dropPolicy`) and count them.
   */
  mode?: 'block' | 'buffer' | 'drop';
  /** Records held on the driver at most; default 10,000. */
  maxBuffered?: number;
  /** In `drop` mode: discard the arriving record (`newest`, default) or the oldest buffered one (`oldest`). */
  dropPolicy?: 'newest' | 'oldest';
  /** Records per second at most, whatever the estimator says (Spark's receiver.maxRate). */
  maxRate?: number;
  /** Records per second before the estimator has data (Spark's backpressure.initialRate). */
  initialRate?: number;
  /** Spark's PID rate estimator (proportional 1.0, integral 0.2, derivative 0, minRate 100/s); `false` turns it off. */
  pid?: false | PidOptions;
}

/** Options of a source: a name for events, back pressure, and the wait before a failed input is opened again. */
export interface ReceiverOptions {
  name?: string;
  backpressure?: BackpressureOptions;
  /**
   * Milliseconds a receiver waits before it opens its input again after the input failed (a `socketTextStream`
   * refused, dropped or ended; a `fromAsyncIterable` factory's iterable that threw). Default: the StreamingContext's
   * `receiverRestartDelay`, 2000 as Spark's `spark.streaming.receiverRestartDelay`.
   */
  restartDelayMs?: number;
}

// ---- queueStream ------------------------------------------------------------------------------------------------

/** @internal Spark's queueStream: one queued item per batch (or all of them), for tests and demos. */
export class QueueSource<T> implements Source<T> {
  readonly name: string;
  readonly #queue: Iterable<T[] | RDD<T>>;
  readonly #oneAtATime: boolean;
  #iterator: Iterator<T[] | RDD<T>> | undefined;
  readonly #sc: Context;
  /** Spark's defaultRDD: the batch of every interval that finds the queue empty. */
  readonly #default: T[] | RDD<T>;

  constructor(sc: Context, queue: Iterable<T[] | RDD<T>>, oneAtATime: boolean, name: string, defaultRDD?: T[] | RDD<T>) {
    if (queue === null || typeof (queue as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
      throw new ArgumentTypeError('queueStream expects an array (or iterable) of arrays or RDDs');
    }
    if (defaultRDD !== undefined && !Array.isArray(defaultRDD) && !(defaultRDD instanceof RDD)) {
      throw new ArgumentTypeError(`queueStream: defaultRDD must be an array or an RDD, got ${describeValue(defaultRDD)}`);
    }
    this.#sc = sc;
    this.#queue = queue;
    this.#oneAtATime = oneAtATime;
    this.name = name;
    this.#default = defaultRDD ?? [];
  }
  start(): void {}
  cut(): SourceBatch<T> {
    // An array is used as a queue, so items pushed after the start are picked up (as Spark's mutable Queue).
    if (Array.isArray(this.#queue)) {
      const q = this.#queue as (T[] | RDD<T>)[];
      if (q.length === 0) return { records: this.#defaultBatch() };
      return { records: this.#oneAtATime ? q.shift()! : this.#merge(q.splice(0, q.length)), buffered: q.length };
    }
    this.#iterator ??= this.#queue[Symbol.iterator]();
    const r = this.#iterator.next();
    return { records: r.done ? this.#defaultBatch() : r.value };
  }
  #defaultBatch(): T[] | RDD<T> {
    // A copy: each batch owns its array, as one pushed onto the queue does.
    return Array.isArray(this.#default) ? [...this.#default] : this.#default;
  }
  #merge(items: (T[] | RDD<T>)[]): T[] | RDD<T> {
    if (items.every((x) => Array.isArray(x))) return (items as T[][]).flat();
    return this.#sc.union(items.map((x) => (Array.isArray(x) ? this.#sc.parallelize(x) : x)));
  }
  pending(): number {
    return Array.isArray(this.#queue) ? this.#queue.length : 0;
  }
  stop(): void {}
}

// ---- fromAsyncIterable ------------------------------------------------------------------------------------------

/** @internal What a receiver reports each time it restarts its input (Spark's ReceiverSupervisor.restartReceiver). */
export interface ReceiverRestart {
  readonly source: string;
  /** Spark's restart message: `Error connecting to host:port`, `Error receiving data`, `Socket data stream had no more data`. */
  readonly message: string;
  /** The input's error; undefined when the input ended without one. */
  readonly error?: unknown;
  readonly delayMs: number;
  /** Restarts of this source so far, this one included. */
  readonly restarts: number;
}

/**
 * @internal How a receiver whose input is made by a factory restarts it. Unbounded, as Spark's: a receiver
 * whose server is down keeps trying every `delayMs` until the server is back or the stream stops.
 */
export interface RestartPolicy {
  /** Wall-clock wait before the input is opened again (Spark's spark.streaming.receiverRestartDelay). */
  readonly delayMs: number;
  /** Restart also when the input ends, with this message (Spark's socket receiver restarts on end of stream). */
  readonly onEnd?: string;
  /** The restart message for an error; default Spark's `Error receiving data`. */
  describe?(error: unknown): string;
  /** Once per restart, before the delay: the event and the console line. */
  onRestart(restart: ReceiverRestart): void;
}

/** @internal What an {@link AsyncIterableSource} calls out to. */
export interface ReceiverHooks {
  onRate(source: string, rate: number): void;
  /** Releases what the current input holds (a socket) when a pending next() would otherwise never settle. */
  cleanup?(): void;
  /** Given with a factory input only: a plain iterable that threw cannot be opened again. */
  restart?: RestartPolicy;
}

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return x !== null && typeof (x as { [Symbol.asyncIterator]?: unknown } | undefined)?.[Symbol.asyncIterator] === 'function';
}

/**
 * @internal Pulls an async iterable on the driver into a bounded buffer. The bound and the per-batch limit come
 * from the back-pressure options and the PID estimator; see {@link BackpressureOptions}. With a factory and a
 * {@link RestartPolicy}, an input that fails (or ends, for a socket) is opened again after the policy's delay; the
 * buffer belongs to the source, not to the input, so what was received before a restart is kept and the back
 * pressure bound holds across it.
 */
export class AsyncIterableSource<T> implements Source<T> {
  readonly name: string;
  readonly #input: AsyncIterable<T> | (() => AsyncIterable<T>);
  readonly #mode: 'block' | 'buffer' | 'drop';
  readonly #maxBuffered: number;
  readonly #dropOldest: boolean;
  readonly #limit: RateLimit;
  readonly #hooks: ReceiverHooks;
  #buf: T[] = [];
  #head = 0;
  #dropped = 0;
  #droppedTotal = 0;
  #received = 0;
  #restarts = 0;
  #receiving = true;
  #done = false;
  #failure: unknown;
  #iterator: AsyncIterator<T> | undefined;
  #wakePump: (() => void) | undefined;
  #cancelDelay: (() => void) | undefined;
  #pump: Promise<void> | undefined;

  constructor(input: AsyncIterable<T> | (() => AsyncIterable<T>), batchMs: number, options: ReceiverOptions, name: string, hooks: ReceiverHooks) {
    if (typeof input !== 'function' && !isAsyncIterable(input)) {
      throw new ArgumentTypeError(
        'fromAsyncIterable expects an async iterable (a Node Readable, events.on(...), an async generator) or a function that makes one',
      );
    }
    if (hooks.restart !== undefined && typeof input !== 'function') throw new IllegalStateError('a restartable receiver needs a factory');
    const bp = options.backpressure ?? {};
    const mode = bp.mode ?? 'block';
    if (mode !== 'block' && mode !== 'buffer' && mode !== 'drop')
      throw new InvalidArgumentError(`backpressure.mode must be 'block', 'buffer' or 'drop', got '${String(mode)}'`);
    const dropPolicy = bp.dropPolicy ?? 'newest';
    if (dropPolicy !== 'newest' && dropPolicy !== 'oldest')
      throw new InvalidArgumentError(`backpressure.dropPolicy must be 'newest' or 'oldest', got '${String(dropPolicy)}'`);
    this.#maxBuffered = positive(bp.maxBuffered ?? 10_000, 'backpressure.maxBuffered', true);
    this.#limit = new RateLimit(
      batchMs,
      {
        ...(bp.maxRate === undefined ? {} : { maxRate: positive(bp.maxRate, 'backpressure.maxRate', false) }),
        ...(bp.initialRate === undefined ? {} : { initialRate: positive(bp.initialRate, 'backpressure.initialRate', false) }),
        ...(bp.pid === undefined ? {} : { pid: bp.pid }),
      },
      (rate) => hooks.onRate(name, rate),
    );
    this.#input = input;
    this.#hooks = hooks;
    this.#mode = mode;
    this.#dropOldest = dropPolicy === 'oldest';
    this.name = name;
  }

  /** Records the next batch may take (the rate limit over one interval), or Infinity without a limit. */
  #batchLimit(): number {
    return this.#limit.perBatch();
  }

  /** How many records the pump may hold before it stops pulling. */
  #bound(): number {
    return this.#mode === 'block' ? Math.min(this.#maxBuffered, this.#batchLimit()) : this.#maxBuffered;
  }

  get #size(): number {
    return this.#buf.length - this.#head;
  }

  start(): void {
    this.#pump ??= this.#run();
  }

  async #run(): Promise<void> {
    const restart = this.#hooks.restart;
    try {
      for (;;) {
        let message: string;
        let cause: unknown;
        try {
          if ((await this.#receive()) || restart?.onEnd === undefined) return;
          message = restart.onEnd;
        } catch (error) {
          // Once stopped, a failing input is the stop closing it (the socket destroyed), not something to restart.
          if (restart === undefined || !this.#receiving) throw error;
          message = restart.describe?.(error) ?? 'Error receiving data';
          cause = error;
        }
        this.#restarts++;
        restart.onRestart({
          source: this.name,
          message,
          ...(cause === undefined ? {} : { error: cause }),
          delayMs: restart.delayMs,
          restarts: this.#restarts,
        });
        if (!(await this.#delay(restart.delayMs))) return;
      }
    } catch (error) {
      // The producer's own error (a refused socket, a generator that threw) says nothing of which input it was.
      const message = error instanceof Error ? error.message : String(error);
      if (!this.#receiving) {
        // The input failed once the stop had begun: its pull failed as it was stopped, or closing it (return(), a
        // generator's finally) threw. The stop goes on (a graceful one still processes what was received, as
        // Spark's receivers log an error in onStop); it failed the stream, and a graceful stop lost its buffer.
        console.warn(`kindling: ${this.name}: the input failed while the stream stopped: ${message}`);
        return;
      }
      this.#failure ??= new IllegalStateError(`${this.name}: the input failed: ${message}`, { cause: error });
    } finally {
      this.#done = true;
    }
  }

  /** Resolves true after `ms`, or false at once when the source stops receiving meanwhile (no timer is left). */
  #delay(ms: number): Promise<boolean> {
    if (!this.#receiving) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#cancelDelay = undefined;
        resolve(this.#receiving);
      }, ms);
      this.#cancelDelay = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
  }

  /** The input to pull now: the iterable, or a new one from the factory. */
  #open(): AsyncIterator<T> {
    if (typeof this.#input !== 'function') return this.#input[Symbol.asyncIterator]();
    const made: unknown = this.#input();
    // Not a producer's failure but a program's: restarting would make the same thing again.
    if (!isAsyncIterable(made)) {
      this.#failure ??= new ArgumentTypeError(`${this.name}: the function given to fromAsyncIterable returned ${typeof made}, not an async iterable`);
      return { next: async () => ({ done: true, value: undefined }) };
    }
    return made[Symbol.asyncIterator]() as AsyncIterator<T>;
  }

  /** Pulls one input until it ends or the source stops; true when there is nothing to restart. */
  async #receive(): Promise<boolean> {
    const it = this.#open();
    this.#iterator = it;
    let pulls = 0;
    let exhausted = false;
    while (this.#receiving) {
      if (this.#mode !== 'drop' && this.#size >= this.#bound()) {
        // Not pulling is the back pressure: an async generator (or a Readable) is not resumed until we ask.
        await new Promise<void>((r) => (this.#wakePump = r));
        continue;
      }
      // A producer that is always ready (a generator) resolves next() in a microtask, which would starve timers
      // and I/O; yielding to the event loop now and then keeps batches and the rest of the driver running.
      if (++pulls % 256 === 0) await new Promise((r) => setImmediate(r));
      const r = await it.next();
      exhausted = r.done === true;
      if (r.done || !this.#receiving) {
        // A record that arrives after stopReceiving() is kept: it was taken from the producer already.
        if (!r.done) this.#add(r.value);
        break;
      }
      this.#add(r.value);
    }
    if (!exhausted) {
      // Stopped while the producer waits at a yield (back pressure, or between records): end it there, so an async
      // generator's finally runs and a Readable is destroyed, as a stopped receiver releases its input.
      await it.return?.();
      return true;
    }
    return this.#hooks.restart?.onEnd === undefined || !this.#receiving || this.#failure !== undefined;
  }
  #add(x: T): void {
    this.#received++;
    if (this.#size >= this.#maxBuffered) {
      this.#dropped++;
      this.#droppedTotal++;
      if (!this.#dropOldest) return;
      this.#head++;
      // Dropping the oldest between two cuts moves the head only: without compacting here the array kept every
      // record dropped since the last cut (a fast producer's whole interval, not maxBuffered).
      this.#compact();
    }
    this.#buf.push(x);
  }

  /** Drops the consumed prefix once it dominates, so the array holds about what is buffered (amortized O(1)). */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#buf.length) {
      this.#buf = this.#buf.slice(this.#head);
      this.#head = 0;
    }
  }

  cut(_time?: BatchTime, options?: CutOptions): SourceBatch<T> {
    const n = options?.draining === true ? this.#size : Math.min(this.#size, this.#batchLimit());
    const records = this.#buf.slice(this.#head, this.#head + n);
    this.#head += n;
    this.#compact();
    const dropped = this.#dropped;
    this.#dropped = 0;
    this.#wakePump?.();
    this.#wakePump = undefined;
    return { records, dropped, buffered: this.#size, ...this.#limit.reportField() };
  }

  batchCompleted(report: BatchReport): void {
    if (!this.#limit.batchCompleted(report)) return;
    this.#wakePump?.();
    this.#wakePump = undefined;
  }

  /** Totals since the start: records pulled from the input, records dropped, restarts of the input. */
  get stats(): { received: number; dropped: number; buffered: number; restarts: number } {
    return { received: this.#received, dropped: this.#droppedTotal, buffered: this.#size, restarts: this.#restarts };
  }

  stopReceiving(): void {
    this.#receiving = false;
    this.#wakePump?.();
    this.#wakePump = undefined;
    this.#cancelDelay?.();
    this.#cancelDelay = undefined;
  }

  pending(): number {
    return this.#size;
  }

  failure(): unknown {
    return this.#failure;
  }

  stop(): void {
    this.stopReceiving();
    this.#buf = [];
    this.#head = 0;
    // Not awaited: a producer blocked in next() would hold the stop forever; return() ends a generator once it yields.
    // Its failure is not the stop's: a return() that threw at once (or returned no promise) made stop() reject, and
    // the stream never finished stopping. The pump's own return() call reports it, once the pull settles.
    if (!this.#done) {
      const it = this.#iterator;
      void Promise.resolve()
        .then(() => it?.return?.())
        .catch(() => undefined);
    }
    this.#hooks.cleanup?.();
  }
}

function positive(x: number, what: string, integer: boolean): number {
  if (typeof x !== 'number' || !(x > 0) || (integer && !Number.isInteger(x))) {
    throw new InvalidArgumentError(`${what} must be a positive ${integer ? 'integer' : 'number'}, got ${String(x)}`);
  }
  return x;
}

// ---- textFileStream ---------------------------------------------------------------------------------------------

/**
 * @internal Spark's textFileStream: each batch reads the files that appeared in `dir` since the previous batch
 * (files present at the start are not read). Files must be moved or renamed in complete: later appends are not seen.
 */
export class TextFileSource implements Source<string> {
  readonly name: string;
  readonly #sc: Context;
  readonly #dir: string;
  readonly #maxFiles: number;
  /** Names present at the last listing; a name that disappears and comes back is a new file. */
  #seen = new Set<string>();
  #queued: string[] = [];
  /** The folder was missing at the last listing (warned once until it is back). */
  #missing = false;

  constructor(sc: Context, dir: string, options: { maxFilesPerBatch?: number }, name: string) {
    if (typeof dir !== 'string' || dir === '') throw new ArgumentTypeError('textFileStream expects a folder path');
    this.#sc = sc;
    this.#dir = path.resolve(dir);
    this.#maxFiles = options.maxFilesPerBatch === undefined ? Number.POSITIVE_INFINITY : positive(options.maxFilesPerBatch, 'maxFilesPerBatch', true);
    this.name = name;
  }

  async #list(): Promise<Set<string>> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
      this.#missing = false;
    } catch (error) {
      // As Spark's FileInputDStream ("No directory to scan"): a folder not made yet, or removed and made again
      // (rotated), gives empty batches instead of stopping the stream; the files it holds once back are new.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new IllegalStateError(`textFileStream: cannot list ${this.#dir}: ${(error as Error).message}`);
      }
      if (!this.#missing) console.warn(`kindling: ${this.name}: no folder to scan at ${this.#dir}; batches are empty until it exists`);
      this.#missing = true;
      return new Set();
    }
    const out = new Set<string>();
    // Hidden and underscore names are in-progress or marker files by the same rule as textFile.
    for (const name of names.filter((n) => !n.startsWith('.') && !n.startsWith('_')).sort()) {
      const s = await stat(path.join(this.#dir, name)).catch(() => undefined);
      if (s?.isFile()) out.add(name);
    }
    return out;
  }

  async start(): Promise<void> {
    this.#seen = await this.#list();
  }

  async cut(): Promise<SourceBatch<string>> {
    const now = await this.#list();
    for (const name of now) if (!this.#seen.has(name)) this.#queued.push(name);
    this.#seen = now;
    const take = this.#queued.splice(0, Math.min(this.#queued.length, this.#maxFiles));
    const sc = this.#sc;
    const records = take.length === 0 ? [] : sc.union(take.map((n) => sc.textFile(path.join(this.#dir, n))));
    return { records, buffered: this.#queued.length };
  }

  pending(): number {
    return this.#queued.length;
  }

  stop(): void {}
}
