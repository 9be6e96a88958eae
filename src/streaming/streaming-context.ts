/**
 * The StreamingContext: a timer that cuts a batch from every source at each multiple of the batch interval, and
 * a loop that runs the batches' output operations one batch at a time, in order (Spark's JobGenerator and
 * JobScheduler with concurrentJobs = 1). Batch RDDs are ordinary RDDs, so worker loss, retries and shuffles are
 * the engine's business.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import net from 'node:net';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Context } from '../context/context.js';
import {
  ArgumentTypeError,
  CheckpointError,
  IllegalStateError,
  InvalidArgumentError,
  InvalidOptionError,
  KindlingError,
  type KindlingErrorCode,
  describeValue,
} from '../core/errors.js';
import { unknownKey } from '../context/options.js';
import { CheckpointRDD, type RDD } from '../rdd/index.js';
import type { EventBus } from '../scheduler/event-bus.js';
import type { SchedulerEvent, StreamingSourceStatus } from '../scheduler/events.js';
import { type Clock, SystemClock } from './clock.js';
import {
  type BatchTime,
  DStream,
  EventTimeDStream,
  InputDStream,
  type OutputOperation,
  returnedRdd,
  StatefulDStream,
  type StreamGraph,
  type StreamNode,
  TransformedDStream,
} from './dstream.js';
import { type Duration, parseDuration } from './duration.js';
import { CheckpointLog, type OffsetEntry, type StateCheckpoint, stateCheckpointsNeeded, type WatermarkCheckpoint } from './checkpoint-log.js';
import { formatBatchLine } from './console-line.js';
import { type RedisEntry, type RedisSourceOptions, RedisStreamSource } from './redis.js';
import { MAX_TIMER_MS } from '../util/timers.js';
import {
  AsyncIterableSource,
  type CutOptions,
  QueueSource,
  type ReceiverOptions,
  type RestartPolicy,
  type Source,
  TextFileSource,
} from './sources.js';

/** Options of a {@link StreamingContext}. */
export interface StreamingOptions {
  /** Time between batches (required, as in Spark): milliseconds or a string such as `'500ms'`, `'2s'`. */
  batchInterval: Duration;
  /**
   * A folder for the offset and commit logs (a restart with the same folder resumes after the last committed
   * batch, replaying uncommitted ones with the same ranges and batch times) and for window and state RDD
   * checkpoints (`<dir>/rdds`, unless the context has a checkpoint folder already).
   */
  checkpoint?: string;
  /** Time source; a {@link ManualClock} makes tests deterministic. Default: the wall clock. */
  clock?: Clock;
  /** Default back pressure of push sources (`fromAsyncIterable`). */
  backpressure?: ReceiverOptions['backpressure'];
  /**
   * Default wait before a receiver whose input failed opens it again (`socketTextStream`, `fromAsyncIterable` with a
   * factory); 2 s, as Spark's `spark.streaming.receiverRestartDelay`. A source's `restartDelayMs` overrides it.
   */
  receiverRestartDelay?: Duration;
}

/** The RDD types of a list of DStreams (what `ssc.transform` hands its function). */
export type RDDsOf<S extends readonly unknown[]> = { -readonly [I in keyof S]: S[I] extends DStream<infer U> ? RDD<U> : RDD<unknown> };

/** Lifecycle of a StreamingContext. */
export type StreamingState = 'initialized' | 'active' | 'stopped';

/** What `StreamingContext.getOrCreate` tells its creating function. */
export interface CheckpointRecovery {
  /** True when the checkpoint folder holds an earlier run: `start()` will restore from it. */
  readonly restoring: boolean;
  /** The checkpoint folder. */
  readonly checkpointPath: string;
}

interface QueuedBatch {
  readonly time: BatchTime;
  readonly sources: StreamingSourceStatus[];
  readonly records: number;
  /** Source name -> range, for the offsets log and commit(). */
  readonly ranges: Record<string, unknown>;
}

/*
 * The class by name from outside its body: a class that names itself inside its body is renamed `_StreamingContext`
 * by the bundler, and every stack trace through it would show that name.
 */
function isStreamingContext(x: unknown): x is StreamingContext {
  return x instanceof StreamingContext;
}
function getOrCreate(checkpointPath: string, creatingFunc: (recovery: CheckpointRecovery) => StreamingContext): StreamingContext {
  return StreamingContext.getOrCreate(checkpointPath, creatingFunc);
}

/**
 * Runs DStream programs as a sequence of micro-batches on a {@link Context}.
 *
 * @example
 * ```ts
 * import { Context, StreamingContext } from 'kindling';
 * const sc = new Context({ master: 'local[2]' });
 * const ssc = new StreamingContext(sc, { batchInterval: '1s' });
 * ssc.queueStream([['a b a'], ['b c']])
 *   .flatMap((line) => line.split(' '))
 *   .map((w): [string, number] => [w, 1])
 *   .reduceByKey((a, b) => a + b)
 *   .print();
 * await ssc.start();
 * await ssc.awaitTermination({ timeout: '3s' });
 * await ssc.stop();
 * ```
 */
export class StreamingContext {
  readonly sc: Context;
  readonly batchIntervalMs: number;
  readonly #clock: Clock;
  readonly #backpressure: ReceiverOptions['backpressure'];
  readonly #restartDelayMs: number;
  readonly #inputs: { stream: InputDStream<unknown>; source: Source<unknown> }[] = [];
  readonly #outputs: OutputOperation[] = [];
  #state: StreamingState = 'initialized';
  #zeroMs: number | undefined;
  #nextStreamId = 0;
  #nextSourceId = 0;
  readonly #abort = new AbortController();
  #generator: Promise<void> | undefined;
  #processor: Promise<void> | undefined;
  /** The batch the processor runs now (for a graceful stop's timeout warning). */
  #runningBatch: QueuedBatch | undefined;
  /**
   * The output running, seen from its foreachRDD and transform functions: see stop(). A flag, not mere presence:
   * work an output started without awaiting it inherits the store and may call stop() after the output ended.
   */
  readonly #inBatch = new AsyncLocalStorage<{ running: boolean }>();
  readonly #queue: QueuedBatch[] = [];
  #wakeProcessor: (() => void) | undefined;
  #draining = false;
  #lastCut: number | undefined;
  #batchesCompleted = 0;
  #failure: unknown;
  #stopping: Promise<void> | undefined;
  #resolveTerminated!: () => void;
  readonly #terminated = new Promise<void>((r) => (this.#resolveTerminated = r));
  readonly #graph: StreamGraph;
  #log: CheckpointLog | undefined;
  #checkpointPath: string | undefined;
  /** Set by getOrCreate: what the refusal of another program's checkpoint names as the entry. */
  #viaGetOrCreate = false;
  /** Labels of the streams made on this context, by id (what a checkpoint records of the program). */
  readonly #streamLabels: string[] = [];
  /** ssc.remember(): every stream of the graph keeps its RDDs at least this long. */
  #rememberMs = 0;
  #firstBatchMs = 0;
  #runStartMs: number | undefined;
  /** After a restart: the batch times the earlier runs cut (committed, or run again now), as the offsets log holds them. */
  #earlierBatches: Set<number> | undefined;
  /** State streams by a name stable across runs of the same program (creation order). */
  readonly #states = new Map<string, StatefulDStream<unknown>>();
  /** Event-time streams by the same kind of name: their watermarks are committed and restored. */
  readonly #watermarked = new Map<string, EventTimeDStream<unknown>>();
  #abandoning = false;
  /** Settles once start() has finished (either way); undefined before start(). */
  #starting: Promise<void> | undefined;

  constructor(sc: Context, options: StreamingOptions) {
    if (sc === null || typeof sc !== 'object' || typeof (sc as Context).parallelize !== 'function') {
      throw new ArgumentTypeError('StreamingContext expects a Context as its first argument');
    }
    if (options === null || typeof options !== 'object') throw new ArgumentTypeError('StreamingContext expects options { batchInterval }');
    checkStreamingKeys(options);
    this.sc = sc;
    this.batchIntervalMs = parseDuration(options.batchInterval, 'batchInterval');
    this.#clock = options.clock ?? new SystemClock();
    this.#backpressure = options.backpressure;
    this.#restartDelayMs = options.receiverRestartDelay === undefined ? 2000 : parseDuration(options.receiverRestartDelay, 'receiverRestartDelay');
    if (options.checkpoint !== undefined) this.#setCheckpoint(options.checkpoint);
    const self = this;
    this.#graph = {
      sc,
      ssc: this,
      batchMs: this.batchIntervalMs,
      get lastCutMs() {
        return self.#lastCut;
      },
      get zeroMs() {
        return self.#zeroMs;
      },
      get runStartMs() {
        return self.#runStartMs;
      },
      hadBatch: (ms) => this.#earlierBatches === undefined || ms >= this.#firstBatchMs || this.#earlierBatches.has(ms),
      batchTime: (ms) => this.#batchTime(ms),
      addOutput: (op) => {
        this.#checkOpen(op.name);
        this.#outputs.push(op);
      },
      nextStreamId: (label) => {
        this.#checkOpen(label);
        this.#streamLabels.push(label);
        return this.#nextStreamId++;
      },
    };
  }

  #setCheckpoint(dir: string): void {
    if (this.sc.checkpointDir === undefined) this.sc.setCheckpointDir(path.join(dir, 'rdds'));
    this.#log = new CheckpointLog(dir);
    this.#checkpointPath = dir;
  }

  /**
   * The StreamingContext of a checkpoint folder (Spark's `StreamingContext.getOrCreate`): calls `creatingFunc` to
   * build the context and its streams, sets `checkpointPath` as its checkpoint folder (the function may set the same
   * one itself), and returns it for `start()`. On the first run the folder is empty and `start()` starts afresh; on
   * a restart `start()` restores what the folder records (see docs/streaming.md, "Delivery and restarts"): the zero
   * time (batch ids and window alignment go on), the sources' positions, the batches cut but not committed (run again
   * with the same times and ranges), the state of `updateStateByKey`, `mapWithState` and event-time windows (from
   * the last state checkpoint, then the committed batches after it), the windows' batches (read again from their
   * ranges) and the watermarks.
   *
   * Unlike Spark, `creatingFunc` runs on the restart too: Spark deserializes the DStream graph from the checkpoint,
   * but kindling's graph holds driver-side functions (`foreachRDD`, `transform`) and sources (sockets, connections,
   * iterables) that cannot be written to a file, so the program is rebuilt by running the function again. Its
   * argument tells which case it is (`restoring`). The streams it builds must be those of the run that wrote the
   * checkpoint (same operations in the same order): `start()` compares them with the ones recorded and refuses a
   * different program, naming the first difference, instead of restoring state into the wrong stream.
   *
   * @example
   * ```ts
   * const ssc = StreamingContext.getOrCreate('ckpt/wc', ({ restoring }) => {
   *   if (!restoring) console.log('Creating new context');
   *   const ssc = new StreamingContext(sc, { batchInterval: '1s' });
   *   ssc.redisStream({ key: 'words', startId: '0' })
   *     .map((e): [string, number] => [e.fields.w ?? '', 1])
   *     .updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.length)
   *     .print();
   *   return ssc;
   * });
   * await ssc.start();
   * ```
   */
  static getOrCreate(checkpointPath: string, creatingFunc: (recovery: CheckpointRecovery) => StreamingContext): StreamingContext {
    if (typeof checkpointPath !== 'string' || checkpointPath === '') throw new ArgumentTypeError('getOrCreate expects a checkpoint folder path');
    if (typeof creatingFunc !== 'function')
      throw new ArgumentTypeError(`getOrCreate expects a function that creates the StreamingContext, got ${describeValue(creatingFunc)}`);
    const restoring = CheckpointLog.isPresent(checkpointPath);
    const ssc = creatingFunc({ restoring, checkpointPath });
    if (!isStreamingContext(ssc))
      throw new ArgumentTypeError(`getOrCreate: the creating function returned ${describeValue(ssc)}, not a StreamingContext`);
    if (ssc.#state !== 'initialized')
      throw new IllegalStateError(
        `getOrCreate: the creating function returned a StreamingContext that is ${ssc.#state}; let getOrCreate's caller start it`,
      );
    if (ssc.#checkpointPath === undefined) ssc.#setCheckpoint(checkpointPath);
    else if (path.resolve(ssc.#checkpointPath) !== path.resolve(checkpointPath))
      throw new InvalidArgumentError(
        `getOrCreate('${checkpointPath}'): the creating function set another checkpoint folder, '${ssc.#checkpointPath}'`,
      );
    ssc.#viaGetOrCreate = true;
    return ssc;
  }

  /**
   * The active StreamingContext (started, not stopped), or undefined (Spark's `StreamingContext.getActive`). The
   * newest one when contexts on several Contexts are active.
   *
   * @example
   * ```ts
   * await StreamingContext.getActive()?.stop({ graceful: true });
   * ```
   */
  static getActive(): StreamingContext | undefined {
    return [...activeSet].at(-1);
  }

  /**
   * The active StreamingContext, else a new one from `creatingFunc`, or from the checkpoint folder as
   * `getOrCreate` does (Spark's `getActiveOrCreate`).
   *
   * @example
   * ```ts
   * const ssc = StreamingContext.getActiveOrCreate('ckpt/app', () => createContext());
   * ```
   */
  static getActiveOrCreate(creatingFunc: () => StreamingContext): StreamingContext;
  static getActiveOrCreate(checkpointPath: string, creatingFunc: (recovery: CheckpointRecovery) => StreamingContext): StreamingContext;
  static getActiveOrCreate(
    pathOrFunc: string | (() => StreamingContext),
    creatingFunc?: (recovery: CheckpointRecovery) => StreamingContext,
  ): StreamingContext {
    const active = [...activeSet].at(-1);
    if (active !== undefined) return active;
    if (typeof pathOrFunc === 'string') return getOrCreate(pathOrFunc, creatingFunc!);
    if (typeof pathOrFunc !== 'function')
      throw new ArgumentTypeError(`getActiveOrCreate expects a function that creates the StreamingContext, got ${describeValue(pathOrFunc)}`);
    const ssc = pathOrFunc();
    if (!isStreamingContext(ssc))
      throw new ArgumentTypeError(`getActiveOrCreate: the creating function returned ${describeValue(ssc)}, not a StreamingContext`);
    return ssc;
  }

  /**
   * Sets the checkpoint folder before `start()` (Spark's `ssc.checkpoint(directory)`; the same as the `checkpoint`
   * option): the offset and commit logs, and window and state RDD checkpoints unless the Context has a folder.
   *
   * @example
   * ```ts
   * ssc.checkpoint('ckpt/app');
   * ```
   */
  checkpoint(directory: string): void {
    if (typeof directory !== 'string' || directory === '') throw new ArgumentTypeError('checkpoint expects a folder path');
    this.#checkOpen('checkpoint');
    this.#setCheckpoint(directory);
  }

  /**
   * Every stream of the program keeps its batches' RDDs for at least `duration` (Spark's `ssc.remember`): what a
   * stream's `slice` can reach, and what a `transform` may read of earlier batches. Call before `start()`.
   *
   * @example
   * ```ts
   * ssc.remember('1m');
   * ```
   */
  remember(duration: Duration): void {
    this.#checkOpen('remember');
    this.#rememberMs = parseDuration(duration, 'remember duration');
  }

  /** The Context (Spark's `ssc.sparkContext`). @example `ssc.sparkContext.parallelize([1])` */
  get sparkContext(): Context {
    return this.sc;
  }

  /**
   * Spark's `StreamingContextState` name of `state`: `'INITIALIZED'`, `'ACTIVE'` or `'STOPPED'`.
   *
   * @example
   * ```ts
   * if (ssc.getState() === 'ACTIVE') await ssc.stop();
   * ```
   */
  getState(): 'INITIALIZED' | 'ACTIVE' | 'STOPPED' {
    return this.#state.toUpperCase() as 'INITIALIZED' | 'ACTIVE' | 'STOPPED';
  }

  /**
   * A stream computed every batch from the RDDs of several streams of the same slide (Spark's
   * `ssc.transform(dstreams, transformFunc)`), on the driver; the function must return an RDD.
   *
   * @example
   * ```ts
   * const merged = ssc.transform([clicks, views], ([c, v], time) => c.union(v).distinct());
   * ```
   */
  transform<const S extends readonly StreamNode[], T>(streams: S, fn: (rdds: RDDsOf<S>, time: BatchTime) => RDD<T>): DStream<T> {
    if (!Array.isArray(streams) || streams.length === 0) throw new InvalidArgumentError('transform expects a non-empty array of DStreams');
    if (typeof fn !== 'function') throw new ArgumentTypeError(`transform expects a function, got ${typeof fn}`);
    for (const s of streams) {
      if (!(s instanceof DStream) || s.graph !== this.#graph) throw new InvalidArgumentError('transform: expects DStreams of this StreamingContext');
      if (s.slideMs !== streams[0]!.slideMs)
        throw new InvalidArgumentError(`transform: every stream must have the same slide, got ${streams[0]!.slideMs} ms and ${s.slideMs} ms`);
    }
    return new TransformedDStream<T>(this.#graph, streams, streams[0]!.slideMs, 'transform', (rdds, ms) =>
      returnedRdd<T>(fn(rdds as RDDsOf<S>, this.#batchTime(ms)), `transform of ${streams.length} streams`, ms),
    );
  }

  /** Spark's DStream.validateAtInit: the graph is fixed at start(); a stream or output made later would never run. */
  #checkOpen(what: string): void {
    if (this.#state === 'initialized') return;
    const when = this.#state === 'active' ? 'starting' : 'stopping';
    throw new IllegalStateError(
      `${what}: adding inputs, transformations or output operations after ${when} a StreamingContext is not supported (as in Spark)`,
    );
  }

  /** Prints one line per batch on a terminal, next to the jobs' progress bars (when the context's `progress` is on). */
  #consoleLine(): void {
    const stream = process.stderr;
    if (!this.sc.options.progress || !stream.isTTY) return;
    this.#offConsole = this.sc.events.on('batchCompleted', (e) => void stream.write(`${formatBatchLine(e, this.batchIntervalMs)}\n`));
  }
  #offConsole: (() => void) | undefined;

  /** The context's event bus, where batch events (`batchSubmitted`, `batchStarted`, `batchCompleted`, ...) appear. */
  get events(): EventBus<SchedulerEvent> {
    return this.sc.events;
  }

  get state(): StreamingState {
    return this.#state;
  }

  #batchTime(ms: number): BatchTime {
    return { id: Math.round((ms - (this.#zeroMs ?? 0)) / this.batchIntervalMs) - 1, ms };
  }

  // ---- sources ------------------------------------------------------------------------------------------------

  /**
   * A stream from a user-defined {@link Source}.
   *
   * @example
   * ```ts
   * let n = 0;
   * const ticks = ssc.source<number>({ name: 'ticks', start() {}, cut: () => ({ records: [n++] }), stop() {} });
   * ```
   */
  source<T>(source: Source<T>): DStream<T> {
    if (source === null || typeof source !== 'object' || typeof source.cut !== 'function') {
      throw new ArgumentTypeError('source expects an object with name, start(), cut(time) and stop()');
    }
    this.#checkOpen(`source '${source.name}'`);
    const stream = new InputDStream<T>(this.#graph, source.name);
    this.#inputs.push({ stream: stream as InputDStream<unknown>, source: source as Source<unknown> });
    return stream;
  }

  /**
   * One queued item (an array or an RDD) per batch, for tests and demos (Spark's queueStream). An array is read
   * as a queue: items pushed onto it later are picked up. With `oneAtATime: false` a batch takes everything queued.
   * `defaultRDD` (an array or an RDD) is the batch whenever the queue is empty, as Spark's; without it, an empty batch.
   *
   * @example
   * ```ts
   * const q: number[][] = [[1, 2], [3]];
   * ssc.queueStream(q, { defaultRDD: [0] }).map((x) => x * 10).print(); // [10, 20], [30], then [0] every batch
   * ```
   */
  queueStream<T>(queue: Iterable<T[] | RDD<T>>, options: { oneAtATime?: boolean; defaultRDD?: T[] | RDD<T> } = {}): DStream<T> {
    return this.source(new QueueSource<T>(this.sc, queue, options.oneAtATime ?? true, `queue-${this.#nextSourceId++}`, options.defaultRDD));
  }

  /**
   * A stream of the values of an async iterable (a Node `Readable` in object mode, `events.on(...)`, an async
   * generator), pulled on the driver under back pressure (default `block`: the iterable is not pulled faster than
   * batches take records, so nothing is lost and memory stays bounded).
   *
   * Given a function that makes the iterable, the source is a restartable receiver (Spark's `Receiver.restart`):
   * when an iterable it made throws, the error is reported (a `receiverError` event and a console line) and, after
   * `restartDelayMs`, the function is called for a new one, as often as it takes; an iterable that ends is the end
   * of the input. A plain iterable cannot be opened again: its error stops the stream at the next batch
   * (`awaitTermination()` rejects with `<name>: the input failed: <error>`).
   *
   * @example
   * ```ts
   * async function* ticks() { for (let i = 0; ; i++) yield i; }
   * ssc.fromAsyncIterable(ticks(), { backpressure: { mode: 'drop', maxBuffered: 1000 } }).count().print();
   * // Restarted 2 s after a failure, reading on from where the feed says:
   * ssc.fromAsyncIterable(() => subscribe(feed), { name: 'feed' }).print();
   * ```
   */
  fromAsyncIterable<T>(input: AsyncIterable<T> | (() => AsyncIterable<T>), options: ReceiverOptions = {}): DStream<T> {
    const name = options.name ?? `asyncIterable-${this.#nextSourceId++}`;
    const restart = typeof input === 'function' ? this.#restartPolicy(options) : undefined;
    return this.source(
      new AsyncIterableSource<T>(input, this.batchIntervalMs, this.#receiverOptions(options), name, {
        onRate: this.#onRate,
        ...(restart && { restart }),
      }),
    );
  }

  readonly #onRate = (source: string, recordsPerSec: number): void =>
    this.sc.events.emit({ type: 'rateUpdated', source, recordsPerSec, time: Date.now() });

  #receiverOptions(options: ReceiverOptions): ReceiverOptions {
    const backpressure = options.backpressure ?? this.#backpressure;
    return backpressure === undefined ? {} : { backpressure };
  }

  /** Spark's ReceiverSupervisor: report the error (event, console line), wait out the delay, open the input again. */
  #restartPolicy(options: ReceiverOptions, socket?: Pick<RestartPolicy, 'onEnd' | 'describe'>): RestartPolicy {
    const delayMs = options.restartDelayMs ?? this.#restartDelayMs;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)
      throw new InvalidArgumentError(`restartDelayMs must be a number of milliseconds >= 0, got ${String(delayMs)}`);
    return {
      delayMs,
      ...socket,
      onRestart: (r) => {
        const error = r.error === undefined ? undefined : r.error instanceof Error ? r.error.message : String(r.error);
        // One line per restart, as Spark's "Restarting receiver with delay 2000 ms: <message>".
        console.warn(`kindling: ${r.source}: restarting the receiver in ${r.delayMs} ms: ${r.message}${error === undefined ? '' : `: ${error}`}`);
        this.sc.events.emit({
          type: 'receiverError',
          source: r.source,
          message: r.message,
          ...(error === undefined ? {} : { error }),
          restartDelayMs: r.delayMs,
          restarts: r.restarts,
          time: Date.now(),
        });
      },
    };
  }

  /**
   * Lines of text read from a TCP server (Spark's socketTextStream), under back pressure: in `block` mode the
   * socket is paused while a batch's worth of lines waits, so TCP slows the producer down; in `drop` mode it is
   * read at full speed and lines past the bound are dropped.
   *
   * As Spark's socket receiver, a connection that is refused, drops or ends is reported (a `receiverError` event,
   * a console line) and made again after `restartDelayMs` (default 2 s), for as long as the stream runs: start
   * `nc -lk 9999` after the stream, or restart it, and the batches go on. Every line read from a connection is in
   * exactly one batch; lines the server wrote that had not reached the receiver when a connection dropped are lost
   * (at most once, as Spark's), and the half line a reset cut is never delivered.
   *
   * @example
   * ```ts
   * ssc.socketTextStream('127.0.0.1', 9999).flatMap((l) => l.split(' ')).countByValue().print();
   * ```
   */
  socketTextStream(host: string, port: number, options: ReceiverOptions = {}): DStream<string> {
    if (typeof host !== 'string' || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new InvalidArgumentError(`socketTextStream expects a host and a TCP port, got ${String(host)}:${String(port)}`);
    }
    const name = options.name ?? `socket-${host}:${port}`;
    let socket: net.Socket | undefined;
    let connected = false;
    const connect = (): AsyncIterable<string> => ({
      async *[Symbol.asyncIterator]() {
        connected = false;
        // Half open: our side stays writable after the server's end, for the probe of a last line below.
        const s = net.connect({ port, host, allowHalfOpen: true });
        socket = s;
        try {
          // stop() while connecting destroys the socket without an error: Node then emits 'close' but neither
          // 'connect' nor 'error', so a wait on 'connect' alone would never settle (a promise, a listener left).
          if (!(await connection(s))) return;
          connected = true;
          // readline's iterator stops reading the socket while its line queue is full, and the source stops asking
          // for lines while its buffer is: the kernel buffers fill and the producer's write() returns false.
          // Registered before readline's own: readline emits a last line without a newline on 'end', after this.
          let linesAtEnd: number | undefined;
          let emitted = 0;
          s.once('end', () => (linesAtEnd = emitted));
          const rl = readline.createInterface({ input: s, crlfDelay: Number.POSITIVE_INFINITY });
          rl.on('line', () => emitted++);
          try {
            let yielded = 0;
            for await (const line of rl) {
              if (linesAtEnd !== undefined && yielded >= linesAtEnd) {
                // A reset that reaches Linux after the data it cut is read as the end of the stream, and the
                // half line it cut would be delivered as a line. A clean end (FIN) leaves our side writable,
                // a reset does not: an empty write tells them apart (Spark's readLine cannot, and delivers it).
                // readline closed on the end and took its error listener: the write's error comes by its callback.
                s.on('error', () => undefined);
                const reset = await new Promise<Error | null | undefined>((resolve) => s.write('', resolve));
                if (reset) throw reset;
              }
              yield line;
              yielded++;
            }
          } finally {
            rl.close();
          }
        } finally {
          s.destroy();
        }
      },
    });
    const restart = this.#restartPolicy(options, {
      // Spark's SocketReceiver messages.
      onEnd: 'Socket data stream had no more data',
      describe: () => (connected ? 'Error receiving data' : `Error connecting to ${host}:${port}`),
    });
    const source = new AsyncIterableSource<string>(connect, this.batchIntervalMs, this.#receiverOptions(options), name, {
      onRate: this.#onRate,
      cleanup: () => socket?.destroy(),
      restart,
    });
    return this.source(source);
  }

  /**
   * The lines of files that appear in `dir` after the start (Spark's textFileStream): move or rename complete
   * files in; later appends are not read. Names starting with `.` or `_` are ignored. A missing folder gives empty
   * batches (one warning) until it exists, as Spark's; then every file in it is new.
   *
   * @example
   * ```ts
   * ssc.textFileStream('incoming/').filter((l) => l.includes('ERROR')).print();
   * ```
   */
  textFileStream(dir: string, options: { maxFilesPerBatch?: number } = {}): DStream<string> {
    return this.source(new TextFileSource(this.sc, dir, options, `files-${this.#nextSourceId++}`));
  }

  /**
   * Entries of a Redis stream, `{ id, ms, fields }`. `direct` mode reads id ranges (XRANGE) and records them in the
   * offsets log, so with a `checkpoint` folder and an idempotent sink (`toRedis`, `saveAsTextFiles`) a restart
   * gives exactly-once output; `group` mode reads with a consumer group and acknowledges after each committed batch.
   *
   * @example
   * ```ts
   * const ssc = new StreamingContext(sc, { batchInterval: '1s', checkpoint: 'ckpt/wc' });
   * ssc.redisStream({ key: 'tweets', startId: '0' })
   *   .flatMap((e) => (e.fields.text ?? '').split(' '))
   *   .countByValue()
   *   .toRedis({ key: 'counts', encode: ([w, n]) => ({ w, n: String(n) }) });
   * ```
   */
  redisStream(options: RedisSourceOptions): DStream<RedisEntry> {
    return this.source(new RedisStreamSource(options, this.batchIntervalMs, this.sc, this.#onRate));
  }

  /**
   * The batch-by-batch union of several streams of the same slide.
   *
   * @example
   * ```ts
   * const all = ssc.union([a, b, c]);
   * ```
   */
  union<T>(streams: readonly DStream<T>[]): DStream<T> {
    if (!Array.isArray(streams) || streams.length === 0) throw new InvalidArgumentError('union expects a non-empty array of DStreams');
    return streams.slice(1).reduce((acc, s) => acc.union(s), streams[0]!);
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------

  /**
   * Starts the sources and the batch timer; the first batch is cut at the next multiple of the batch interval.
   * An aborted `signal` stops the stream (not gracefully). A start that fails (Redis unreachable, a checkpoint whose
   * input is gone) rejects and leaves the StreamingContext stopped, its sources closed; the Context keeps running.
   *
   * @example
   * ```ts
   * await ssc.start({ signal: AbortSignal.timeout(60_000) });
   * ```
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state === 'active') {
      // Spark's StreamingContext.start() on an active context logs "already been started" and does nothing; only a
      // stopped one is refused.
      console.warn('kindling: start(): the StreamingContext has already been started; this call does nothing');
      return this.#starting;
    }
    if (this.#state !== 'initialized')
      throw new IllegalStateError(`start(): the StreamingContext is ${this.#state}; a stopped one cannot be restarted`);
    if (this.sc.isStopped) throw new IllegalStateError('start(): the Context was stopped');
    const other = activeContexts.get(this.sc);
    if (other !== undefined && other !== this && other.state === 'active')
      throw new IllegalStateError(
        `start(): another StreamingContext (batch interval ${other.batchIntervalMs} ms) is active on this Context; stop it first ` +
          '(Spark allows one active StreamingContext at a time)',
      );
    if (this.#outputs.length === 0)
      throw new IllegalStateError('start(): no output operations registered (foreachRDD, print, saveAsTextFiles, batches)');
    const streams = new Set<StreamNode>();
    for (const op of this.#outputs) op.stream.lineage(streams);
    for (const op of this.#outputs) op.stream.initialize(Math.max(op.stream.slideMs, this.#rememberMs));
    const needsCheckpoint = [...streams].filter((s) => s.checkpointMs !== undefined);
    if (needsCheckpoint.length > 0 && this.sc.checkpointDir === undefined) {
      throw new IllegalStateError(
        `start(): ${needsCheckpoint[0]!.label} checkpoints its RDDs to keep lineage short, but no checkpoint folder is set: ` +
          `pass { checkpoint: dir } to the StreamingContext or call sc.setCheckpointDir(dir)`,
      );
    }
    const names = new Set<string>();
    for (const { source } of this.#inputs) {
      if (names.has(source.name))
        throw new IllegalStateError(`start(): two sources are named '${source.name}'; the offsets log tells sources apart by name`);
      names.add(source.name);
    }
    // Bookkeeping outputs (a watermark's measure) read what the batch's other jobs measured: they go last.
    this.#outputs.sort((a, b) => Number(a.last ?? false) - Number(b.last ?? false));
    this.#state = 'active';
    activeContexts.set(this.sc, this);
    activeSet.add(this);
    const begun = this.#begin(streams, options);
    // stop() called meanwhile waits for this: sources connected after it had run would be left open.
    this.#starting = begun.then(
      () => undefined,
      () => undefined,
    );
    try {
      await begun;
    } catch (error) {
      // As Spark's start(): a context that failed to start is marked stopped, its sources and sinks released
      // (a recovery that cannot read its checkpoint's input again connected them); the Context is left running.
      await this.#abandonStart();
      throw error;
    }
  }

  /** What start() does once the program is checked: recovery from the checkpoint, the sources, the batch loops. */
  async #begin(streams: Set<StreamNode>, options: { signal?: AbortSignal }): Promise<void> {
    const now = this.#clock.now();
    // Spark's timer: the first batch at the next multiple of the interval; zero time one interval before it.
    this.#zeroMs = Math.floor(now / this.batchIntervalMs) * this.batchIntervalMs;
    let replay: OffsetEntry[] = [];
    this.#firstBatchMs = (Math.floor(now / this.batchIntervalMs) + 1) * this.batchIntervalMs;
    this.#runStartMs = this.#firstBatchMs;
    for (const s of streams) {
      if (s instanceof StatefulDStream) this.#states.set(`state-${s.id}`, s as StatefulDStream<unknown>);
      if (s instanceof EventTimeDStream) this.#watermarked.set(`watermark-${s.id}`, s as EventTimeDStream<unknown>);
    }
    if (this.#log !== undefined) {
      // A restart keeps the first run's zero time, so batch ids and window alignment continue.
      const zero = this.#log.readMetadata(this.batchIntervalMs);
      if (zero === undefined) this.#log.writeMetadata(this.batchIntervalMs, this.#zeroMs, this.#streamLabels);
      else {
        // Every restart, not only getOrCreate's: state is restored into streams by their creation order.
        this.#checkSameProgram(this.#log.readStreams());
        this.#zeroMs = zero;
      }
      this.#log.retain = Math.max(this.#log.retain, Math.ceil(this.#historyMs(streams) / this.batchIntervalMs) + 2);
      const recovered = this.#log.recover();
      if (recovered !== undefined) {
        for (const { source } of this.#inputs) {
          const range = recovered.newest.sources[source.name];
          if (range !== undefined) source.resume?.(range);
        }
        replay = recovered.uncommitted;
        if (replay.length > 0) this.#runStartMs = replay[0]!.batch.ms;
        this.#earlierBatches = new Set([...this.#log.committedAfter(this.#zeroMs), ...replay].map((e) => e.batch.ms));
        await this.#recover();
      }
    }
    for (const { source } of this.#inputs) await source.start();
    for (const entry of replay) {
      await this.#replay(entry);
      this.#firstBatchMs = Math.max(this.#firstBatchMs, entry.batch.ms + this.batchIntervalMs);
    }
    this.#consoleLine();
    this.sc.events.emit({
      type: 'streamingStarted',
      batchIntervalMs: this.batchIntervalMs,
      sources: this.#inputs.map(({ source }) => source.name),
      time: this.#clock.now(),
    });
    this.#generator = this.#generate();
    this.#processor = this.#process();
    if (options.signal?.aborted) void this.stop({ graceful: false, stopContext: false });
    else options.signal?.addEventListener('abort', () => void this.stop({ graceful: false, stopContext: false }), { once: true });
  }

  /**
   * State, windows and watermarks are restored into streams by their creation order: another program (an operation
   * added, removed or moved) would restore one stream's state into another. Refused, naming the first difference.
   */
  #checkSameProgram(recorded: readonly string[] | undefined): void {
    if (recorded === undefined) return;
    const now = this.#streamLabels;
    const n = Math.max(recorded.length, now.length);
    for (let i = 0; i < n; i++) {
      if (recorded[i] === now[i]) continue;
      const was = recorded[i] === undefined ? 'nothing' : `'${recorded[i]}'`;
      const is = now[i] === undefined ? 'nothing' : `'${now[i]}'`;
      throw new CheckpointError(
        `${this.#viaGetOrCreate ? 'getOrCreate' : 'start()'}: checkpoint ${this.#checkpointPath} was written by another program: its stream ${i} was ${was}, this program's is ${is} ` +
          `(${recorded.length} streams then, ${now.length} now); restore with the program that wrote it, or use a new checkpoint folder`,
      );
    }
  }

  async #abandonStart(): Promise<void> {
    this.#abort.abort();
    this.#state = 'stopped';
    activeSet.delete(this);
    for (const { source } of this.#inputs) {
      stopReceivingLogged(source);
      await stopLogged(source);
    }
    for (const op of this.#outputs) op.close?.();
    this.#resolveTerminated();
  }

  /**
   * How far back a restart must put input back: the longest time an input stream keeps its batches (a window's
   * length and slide), plus a state stream's checkpoint interval twice (its restored checkpoint may be that old).
   */
  #historyMs(streams: Set<StreamNode>): number {
    let checkpointMs = 0;
    for (const s of streams) if (s instanceof StatefulDStream) checkpointMs = Math.max(checkpointMs, s.checkpointMs ?? 0);
    return this.#inputRememberMs() + 2 * checkpointMs;
  }

  #inputRememberMs(): number {
    return Math.max(0, ...this.#inputs.map(({ stream }) => stream.rememberMs));
  }

  /**
   * Puts back what the streams held when the earlier run stopped. State streams resume from the state checkpoint
   * the last commit recorded (or from their initial state when none was written yet); the input of the committed
   * batches after it, and of every batch a window still covers, is read again from the recorded ranges. Those
   * batches' outputs ran already: only their RDDs are rebuilt, so windows and state at the next batches equal
   * what an uninterrupted run gives for the same batches.
   */
  async #recover(): Promise<void> {
    const last = this.#log!.lastCommitted();
    if (last === undefined) return;
    // Watermarks first: batches recomputed below must drop the same late records as the earlier run did.
    const commits = this.#log!.watermarks();
    for (const [key, stream] of this.#watermarked) {
      const used = new Map<number, number>();
      for (const c of commits) {
        const wm = c.watermarks[key];
        if (wm !== undefined) used.set(c.batch.ms, wm.used);
      }
      const newest = commits.at(-1)?.watermarks[key];
      if (newest !== undefined) stream.restoreWatermark(used, newest.maxEventMs);
    }
    const saved = this.#log!.lastCheckpoints();
    let fromMs = last.ms;
    // Batches up to here are in every state stream's checkpoint: missing one costs only windows and slice().
    let stateFromMs = last.ms;
    // Where the oldest state a window reads chains from: its input is read again from there.
    let chainFromMs = last.ms;
    for (const [key, stream] of this.#states) {
      const list = (saved[key] ?? []).filter((c) => existsSync(c.dir));
      const rec = list.at(-1);
      if (rec === undefined) {
        // No checkpoint yet: the state chains from its initial state through every committed batch.
        stream.restoreInitial(this.#zeroMs!);
        fromMs = this.#zeroMs!;
        stateFromMs = this.#zeroMs!;
        chainFromMs = this.#zeroMs!;
        continue;
      }
      // A window over the state reads it at times before the newest checkpoint: those states chain from the
      // newest older checkpoint at or before the oldest one read (as Spark restores every checkpointed RDD), which
      // is more than one checkpoint interval back when a checkpoint fell due while the driver was down; without
      // one, from the initial state. Either way the committed batches after it are read again.
      const { base, needed } = stateCheckpointsNeeded(list, stream.oldestReadMs(last.ms));
      stream.restoreFrom(needed, (c) => new CheckpointRDD<unknown>(this.sc, c.dir, c.partitions, { label: `restored ${stream.label}` }));
      fromMs = Math.min(fromMs, rec.ms);
      stateFromMs = Math.min(stateFromMs, rec.ms);
      chainFromMs = Math.min(chainFromMs, base?.ms ?? this.#zeroMs!);
    }
    const entries = this.#log!.committedAfter(Math.max(this.#zeroMs!, Math.min(fromMs - this.#inputRememberMs(), chainFromMs)));
    for (const entry of entries) {
      for (const { stream, source } of this.#inputs) {
        const range = entry.sources[source.name];
        if (range === undefined) continue;
        if (source.replay === undefined) {
          const misses = this.#states.size > 0 && entry.batch.ms > stateFromMs ? 'windows, slice() and state' : 'windows and slice()';
          console.warn(`kindling: source '${source.name}' cannot replay batch ${entry.batch.id}; ${misses} after a restart miss its records`);
          continue;
        }
        stream.put(entry.batch.ms, await source.replay(range));
      }
    }
    // Chain the state through the committed batches now, in order (RDDs only: their jobs run with the next batch).
    for (const entry of entries) for (const stream of this.#states.values()) stream.chainTo(entry.batch.ms);
  }

  /** An uncommitted batch of an earlier run, again: same time, same ranges (no empty down-time batches). */
  async #replay(entry: OffsetEntry): Promise<void> {
    const statuses: StreamingSourceStatus[] = [];
    let total = 0;
    for (const { stream, source } of this.#inputs) {
      const range = entry.sources[source.name];
      const records = range !== undefined && source.replay !== undefined ? await source.replay(range) : [];
      stream.put(entry.batch.ms, records);
      total += records.length;
      statuses.push({ name: source.name, records: records.length, dropped: 0, buffered: 0 });
    }
    this.#lastCut = entry.batch.ms;
    this.#queue.push({ time: entry.batch, sources: statuses, records: total, ranges: { ...entry.sources } });
    this.sc.events.emit({ type: 'batchSubmitted', batch: entry.batch, records: total, sources: statuses, time: this.#clock.now() });
  }

  async #generate(): Promise<void> {
    let next = this.#firstBatchMs;
    for (;;) {
      try {
        await this.#clock.sleepUntil(next, this.#abort.signal);
      } catch {
        return;
      }
      if (this.#abort.signal.aborted) return;
      await this.#cut(next);
      next += this.batchIntervalMs;
    }
  }

  async #cut(ms: number, options?: CutOptions): Promise<void> {
    this.#lastCut = ms;
    const time = this.#batchTime(ms);
    const statuses: StreamingSourceStatus[] = [];
    const ranges: Record<string, unknown> = {};
    let total = 0;
    for (const { stream, source } of this.#inputs) {
      const failure = source.failure?.();
      if (failure !== undefined) {
        this.#fail(failure);
        return;
      }
      let b: Awaited<ReturnType<Source<unknown>['cut']>>;
      try {
        b = await source.cut(time, options);
      } catch (error) {
        this.#fail(error);
        return;
      }
      stream.put(ms, b.records);
      if (b.range !== undefined) ranges[source.name] = b.range;
      const records = Array.isArray(b.records) ? b.records.length : b.count;
      total += records ?? 0;
      statuses.push({
        name: source.name,
        ...(records === undefined ? {} : { records }),
        dropped: b.dropped ?? 0,
        buffered: b.buffered ?? 0,
        ...(b.rateLimit === undefined ? {} : { rateLimit: b.rateLimit }),
        ...(b.lag === undefined ? {} : { lag: b.lag }),
      });
    }
    try {
      this.#log?.writeOffsets({ batch: time, sources: ranges });
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#queue.push({ time, sources: statuses, records: total, ranges });
    this.sc.events.emit({ type: 'batchSubmitted', batch: time, records: total, sources: statuses, time: this.#clock.now() });
    this.#wakeProcessor?.();
    this.#wakeProcessor = undefined;
  }

  async #process(): Promise<void> {
    for (;;) {
      const batch = this.#queue.shift();
      if (batch === undefined) {
        if (this.#draining || this.#state === 'stopped') return;
        await new Promise<void>((r) => (this.#wakeProcessor = r));
        continue;
      }
      if (this.#failure !== undefined || this.#abandoning) return;
      this.#runningBatch = batch;
      try {
        await this.#runBatch(batch);
      } catch (error) {
        this.#fail(error);
        return;
      } finally {
        this.#runningBatch = undefined;
      }
    }
  }

  async #runBatch(batch: QueuedBatch): Promise<void> {
    const { ms } = batch.time;
    const schedulingDelayMs = Math.max(0, this.#clock.now() - ms);
    this.sc.events.emit({ type: 'batchStarted', batch: batch.time, schedulingDelayMs, time: this.#clock.now() });
    // Processing time is real work, so it is measured on the wall clock even under a manual clock.
    const t0 = performance.now();
    const outputs: { name: string; ms: number }[] = [];
    let error: unknown;
    let failedOutput = '';
    for (const op of this.#outputs) {
      if (!op.stream.isTimeValid(ms)) continue;
      const o0 = performance.now();
      try {
        const scope = { running: true };
        await this.#inBatch.run(scope, () => op.run(ms)).finally(() => (scope.running = false));
      } catch (e) {
        error = e;
        failedOutput = op.name;
        break;
      } finally {
        outputs.push({ name: op.name, ms: performance.now() - o0 });
      }
    }
    const processingMs = performance.now() - t0;
    this.sc.events.emit({
      type: 'batchCompleted',
      batch: batch.time,
      records: batch.records,
      schedulingDelayMs,
      processingMs,
      totalDelayMs: schedulingDelayMs + processingMs,
      sources: batch.sources,
      outputs,
      ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
      time: this.#clock.now(),
    });
    if (error !== undefined) throw new StreamingJobError(batch.time, failedOutput, error);
    if (this.#log !== undefined) {
      const checkpoints: Record<string, StateCheckpoint[]> = {};
      const keep = new Map<StatefulDStream<unknown>, number>();
      for (const [key, stream] of this.#states) {
        const at = stream.checkpointsAt(ms);
        if (at.checkpoints.length > 0) checkpoints[key] = at.checkpoints;
        keep.set(stream, at.keepFromMs);
      }
      const keepFromMs = Math.min(ms, ...keep.values());
      const watermarks: Record<string, WatermarkCheckpoint> = {};
      for (const [key, stream] of this.#watermarked) watermarks[key] = stream.checkpointState(ms);
      this.#log.writeCommit(
        batch.time,
        outputs.map((o) => o.name),
        checkpoints,
        watermarks,
        this.#batchTime(keepFromMs).id,
      );
      for (const [stream, fromMs] of keep) stream.dropRestoredBefore(fromMs);
    }
    for (const { source } of this.#inputs) {
      const range = batch.ranges[source.name];
      if (range !== undefined) await source.commit?.(range);
    }
    this.#batchesCompleted++;
    const endMs = Date.now();
    this.#inputs.forEach(({ source }, i) => {
      source.batchCompleted?.({ time: batch.time, records: batch.sources[i]?.records ?? 0, processingMs, schedulingDelayMs, endMs });
    });
    const seen = new Set<StreamNode>();
    for (const op of this.#outputs) op.stream.clearOld(ms, seen);
    // Batches no output ever reads (a window shorter than its slide skips some) still drop their data in time.
    for (const { stream } of this.#inputs) stream.dropBefore(ms - (seen.has(stream) ? stream.rememberMs : 0));
  }

  #fail(error: unknown): void {
    // A stop that abandons running work (stopContext fails the running job) is not a failure of the stream.
    if (this.#failure !== undefined || this.#state === 'stopped' || this.#abandoning) return;
    this.#failure = error;
    void this.stop({ graceful: false, stopContext: false });
  }

  /**
   * Resolves `true` once the stream has stopped, or `false` when `timeout` passes first; rejects with the error
   * of a batch that failed (the stream then stops).
   *
   * @example
   * ```ts
   * await ssc.awaitTermination({ timeout: '10s' });
   * ```
   */
  async awaitTermination(options: { timeout?: Duration } = {}): Promise<boolean> {
    if (this.#state === 'initialized') throw new IllegalStateError('awaitTermination(): the StreamingContext was not started');
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout, 'timeout');
    // Past Node's longest timer ('1000h') a timer fires after 1 ms: such a timeout waits as no timeout does.
    const timedOut =
      timeoutMs === undefined || timeoutMs > MAX_TIMER_MS
        ? new Promise<never>(() => undefined)
        : new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      const done = await Promise.race([this.#terminated.then(() => true as const), timedOut]);
      if (done && this.#failure !== undefined) throw this.#failure;
      return done;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /**
   * Spark's `awaitTerminationOrTimeout(timeout)`: true once the stream has stopped, false when `timeout` passed
   * first; rejects with the error of a batch that failed.
   *
   * @example
   * ```ts
   * while (!(await ssc.awaitTerminationOrTimeout('10s'))) console.log('still running');
   * ```
   */
  awaitTerminationOrTimeout(timeout: Duration): Promise<boolean> {
    return this.awaitTermination({ timeout });
  }

  /**
   * Stops the stream. `graceful`: stop receiving, cut batches for what the sources still hold, and finish every
   * batch first (Spark waits the same way, up to `timeout`, default 10 batch intervals). Otherwise queued batches
   * are dropped and only the running one finishes. `stopContext` (default true, as Spark) stops the Context too.
   * Called from one of the stream's own outputs (a `foreachRDD` or `transform` function), it cannot wait for the
   * batch it runs in: it resolves at once and the stop completes once that batch has finished.
   *
   * @example
   * ```ts
   * await ssc.stop({ graceful: true, stopContext: false });
   * ```
   */
  stop(options: { graceful?: boolean; stopContext?: boolean; timeout?: Duration } = {}): Promise<void> {
    // Set now, not once #stop gets past its awaits: a batch finishing meanwhile must not let the next queued one start.
    if (this.#stopping === undefined && !(options.graceful ?? false)) this.#abandoning = true;
    if (this.#stopping === undefined) for (const op of this.#outputs) op.stopping?.();
    this.#stopping ??= this.#stop(options.graceful ?? false, options.stopContext ?? true, options.timeout);
    if (this.#inBatch.getStore()?.running === true) {
      // Called from this stream's own output (Spark's `if (rdd.isEmpty()) ssc.stop()` in foreachRDD): the stop waits
      // for the running batch, which would wait for the stop, and `await ssc.stop()` there hung for ever. It resolves
      // at once instead; the stop completes after this batch (awaitTermination() tells when, and reports its errors).
      this.#stopping.catch(() => undefined);
      return Promise.resolve();
    }
    return this.#stopping;
  }

  /** A graceful stop whose timeout passed first: the batches not finished and the records still held are lost. */
  #warnDrainTimedOut(limitMs: number): void {
    const records = this.#queue.reduce((n, b) => n + b.records, 0);
    const held = this.#inputs.reduce((n, { source }) => n + (source.pending?.() ?? 0), 0);
    const running = this.#runningBatch;
    console.warn(
      `kindling: the graceful stop's timeout (${limitMs} ms) passed before the received data was processed: ` +
        (running === undefined ? '' : `the batch of ${running.time.ms} ms (${running.records} records) was still running, `) +
        `${this.#queue.length} batches (${records} records) had not started and ${held} records were still held; ` +
        'what is not processed is lost (a longer stop({ graceful: true, timeout }) keeps it)',
    );
  }

  async #stop(graceful: boolean, stopContext: boolean, timeout: Duration | undefined): Promise<void> {
    await this.#starting;
    // A start() that failed released everything already.
    if (this.#state === 'stopped') {
      if (stopContext) await this.sc.stop();
      return;
    }
    if (this.#state === 'initialized') {
      this.#state = 'stopped';
      this.#resolveTerminated();
      if (stopContext) await this.sc.stop();
      return;
    }
    const limitMs = timeout === undefined ? 10 * this.batchIntervalMs : parseDuration(timeout, 'timeout');
    this.#abort.abort();
    for (const { source } of this.#inputs) stopReceivingLogged(source);
    // A graceful stop lets a cut in progress finish (its records are processed); otherwise a cut still waiting for
    // its source (a Redis read retrying while Redis is away, up to 10 s) ends when the sources stop below.
    if (graceful) await this.#generator;
    if (graceful && this.#failure === undefined) {
      // What the sources still hold goes into further batches at the following batch times, without waiting on
      // the clock (which may be a manual one nobody advances any more).
      const deadline = Date.now() + limitMs;
      let next = (this.#lastCut ?? this.#zeroMs!) + this.batchIntervalMs;
      while (this.#failure === undefined && Date.now() < deadline && this.#inputs.some(({ source }) => (source.pending?.() ?? 0) > 0)) {
        await this.#cut(next, DRAINING);
        next += this.batchIntervalMs;
        // Yield between cuts so the processor starts on queued batches while a rate-limited source drains.
        await new Promise((r) => setImmediate(r));
      }
      this.#draining = true;
      this.#wakeProcessor?.();
      const finished = await Promise.race([
        this.#processor?.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), Math.max(0, deadline - Date.now())).unref()),
      ]);
      // As Spark's "Timed out while stopping the job generator": what the timeout cut off is lost, and says so.
      if (finished === false && this.#failure === undefined) this.#warnDrainTimedOut(limitMs);
    } else {
      this.#queue.length = 0;
      this.#draining = true;
      this.#wakeProcessor?.();
      if (stopContext) await this.sc.stop();
      await this.#processor?.catch(() => undefined);
    }
    this.#state = 'stopped';
    activeSet.delete(this);
    this.#offConsole?.();
    for (const { source } of this.#inputs) await stopLogged(source);
    await this.#generator;
    for (const op of this.#outputs) op.close?.();
    this.sc.events.emit({
      type: 'streamingStopped',
      graceful,
      batchesCompleted: this.#batchesCompleted,
      ...(this.#failure === undefined ? {} : { error: this.#failure instanceof Error ? this.#failure.message : String(this.#failure) }),
      time: this.#clock.now(),
    });
    this.#resolveTerminated();
    if (stopContext) await this.sc.stop();
  }
}

/** How a graceful stop asks its sources for what they still hold. */
const DRAINING: CutOptions = { draining: true };

/**
 * A source's `stopReceiving()` that throws is logged, naming the source, and the stop goes on (Spark logs a receiver's
 * failing onStop): the other sources, the outputs and the Context still stop, and awaitTermination() settles. It
 * rejected `stop()` half done before, with the Context still running.
 */
function stopReceivingLogged(source: Source<unknown>): void {
  try {
    source.stopReceiving?.();
  } catch (e) {
    warnStopFailed(source, e);
  }
}

/** A source's `stop()` that throws or rejects: as {@link stopReceivingLogged}. */
async function stopLogged(source: Source<unknown>): Promise<void> {
  try {
    await source.stop();
  } catch (e) {
    warnStopFailed(source, e);
  }
}

function warnStopFailed(source: Source<unknown>, e: unknown): void {
  console.warn(`kindling: ${source.name}: stopping the input failed (the stream stops anyway): ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * A batch whose output operation failed: the output's error with the batch and the output named after its first
 * line (Spark logs "Error running job streaming job <time> ms.<output>"); `cause` is the error the output threw.
 * `awaitTermination()` rejects with it.
 *
 * @example
 * ```ts
 * await ssc.awaitTermination().catch((e) => console.error(e.batch.id, e.output, e.cause));
 * ```
 */
export class StreamingJobError extends KindlingError {
  override name = 'StreamingJobError';
  override readonly code: KindlingErrorCode = 'KINDLING_STREAMING_JOB';
  constructor(
    readonly batch: BatchTime,
    readonly output: string,
    cause: unknown,
  ) {
    // The cause's first line stays first (what failed), the batch follows it, a job error's worker stack after.
    const [first, ...rest] = (cause instanceof Error ? cause.message : String(cause)).split('\n');
    super([`${first} (streaming batch ${batch.id} at ${batch.ms} ms, output '${output}')`, ...rest].join('\n'), { cause });
  }
}

/**
 * The StreamingContext started on each Context. Two at once would interleave batches on one scheduler and event bus
 * (the Streaming page would mix their batch ids), so, as Spark's one per JVM, a second start() is refused.
 */
const activeContexts = new WeakMap<Context, StreamingContext>();
/** The active StreamingContexts in start order, for getActive(). */
const activeSet = new Set<StreamingContext>();

/** StreamingOptions' keys: a JavaScript caller's misspelt one would otherwise be ignored (or read as a missing interval). */
const STREAMING_KEYS = [
  'batchInterval',
  'checkpoint',
  'clock',
  'backpressure',
  'receiverRestartDelay',
] as const satisfies readonly (keyof StreamingOptions)[];

function checkStreamingKeys(options: StreamingOptions): void {
  for (const key of Object.keys(options)) {
    if ((STREAMING_KEYS as readonly string[]).includes(key)) continue;
    // Spark's constructor calls it batchDuration (`new StreamingContext(sc, Seconds(1))`, PySpark's `batchDuration`).
    if (key === 'batchDuration') throw new InvalidOptionError("unknown option 'batchDuration': kindling calls Spark's batchDuration 'batchInterval'");
    throw new InvalidOptionError(unknownKey(key, STREAMING_KEYS));
  }
}

/**
 * Resolves true when `socket` connects, false when it closes first (destroyed while connecting, without an error);
 * rejects with its error (refused, unreachable). Its listeners are removed either way.
 */
function connection(socket: net.Socket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const settle = (then: () => void) => () => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      socket.off('close', onClose);
      then();
    };
    const onConnect = settle(() => resolve(true));
    const onClose = settle(() => resolve(false));
    const onError = (error: Error) => settle(() => reject(error))();
    socket.once('connect', onConnect);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
