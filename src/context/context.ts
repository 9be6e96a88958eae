/**
 * Context: the entry point of a kindling program (Spark's SparkContext). It is the one place that wires the
 * subsystems together: a task backend (worker threads), the task and DAG schedulers, the trackers of shuffle
 * outputs and cached blocks, the event bus and its console progress bar. Each context owns its own workers,
 * so several contexts can live in one process independently.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { mkdir, rename, rm } from '../util/fs-async.js';
import { ClosureError, capture, shipFunction, useModule, type ShippedFunction, type ShipOptions } from '../closure/index.js';
import {
  abortLiveJobsSync,
  checkCsvDelimiter,
  checkCsvOptions,
  checkRecordLength,
  csvModeOf,
  localPathOf,
  readObjectFile,
  type CsvMode,
} from '../io/index.js';
import { checkpointWriteEnded, checkpointWriteStarted, removeAttemptFiles, removeCheckpointWritesSync } from '../storage/checkpoint-files.js';
import {
  AbortError,
  ArgumentTypeError,
  ClusterError,
  ContextStoppedError,
  describeValue,
  IllegalStateError,
  InvalidArgumentError,
  JobFailedError,
  toErrorInfo,
} from '../core/errors.js';
import {
  type RDD,
  ParallelCollectionRDD,
  RangeRDD,
  EmptyRDD,
  unionOf,
  TextFileRDD,
  CsvFileRDD,
  WholeTextFilesRDD,
  BinaryFilesRDD,
  BinaryRecordsRDD,
  CheckpointRDD,
  LocalCheckpointRDD,
  checkPartitionCount,
  describeArgument,
  checkOptionsArgument,
  type RddContext,
  type ResultFunctionWire,
} from '../rdd/index.js';
import { endLocalClustersSync, resolveMaster } from '../exec/backends.js';
import type { BackendSnapshot, TaskBackend } from '../exec/task-backend.js';
import type { TaskOutcome } from '../exec/protocol.js';
import type { AccumulatorKind } from '../closure/index.js';
import { EventBus } from '../scheduler/event-bus.js';
import type { SchedulerEvent } from '../scheduler/events.js';
import { ConsoleProgressBar } from '../scheduler/console-progress.js';
import { MapOutputTracker } from '../scheduler/map-output-tracker.js';
import { CacheTracker } from '../scheduler/cache-tracker.js';
import { DAGScheduler, type DAGSchedulerState } from '../scheduler/dag-scheduler.js';
import { TaskScheduler, type TaskSchedulerState } from '../scheduler/task-scheduler.js';
import { TaskBuilder } from '../scheduler/task-builder.js';
import { fullLineage } from '../scheduler/lineage.js';
import { resolveOptions, type ContextOptions, type ResolvedOptions } from './options.js';
import { Accumulator, Broadcast, CustomAccumulator, DoubleAccumulator, LongAccumulator, type AccumulatorParam } from './shared-variables.js';
import { LocalDirs } from './local-dirs.js';
import { VERSION } from '../version.js';
import { Hints } from './hints.js';
import { ENGINES, type DriverEngine } from '../exec/engines.js';
import { startUi, type UiSubsystem } from '../ui/index.js';
import { abortReason, jobScope } from '../core/job-scope.js';
import { StatusTracker } from './status-tracker.js';
import { hop, processThreads } from '../util/hop-trace.js';

/** One persisted RDD in the storage report. */
export interface RDDStorageInfo {
  readonly id: number;
  readonly name: string;
  readonly storageLevel: string;
  readonly numPartitions: number;
  readonly numCachedPartitions: number;
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly workers: ReadonlyArray<{ workerIndex: number; partitions: number; memoryBytes: number; diskBytes: number }>;
}

/** What the context holds right now: after any fault, the pool is back to size and nothing is left behind. */
export interface ContextSnapshot {
  readonly backend: BackendSnapshot;
  readonly dag: DAGSchedulerState;
  readonly tasks: TaskSchedulerState;
  /** Stage attempts whose RDD descriptions the driver still holds. */
  readonly stagesHeld: number;
  /**
   * Driver bookkeeping that grows with RDDs and shuffles, for checking that a long-running program keeps it
   * bounded: persisted RDDs still reachable, RDDs with cached blocks, RDDs whose computations the hints count,
   * broadcasts, shuffles with registered outputs and the reasons kept for lost outputs.
   */
  readonly driver: {
    readonly persistedRdds: number;
    readonly cachedRdds: number;
    readonly hintedRdds: number;
    /** Broadcasts neither destroyed nor dropped by the program. */
    readonly broadcasts: number;
    /** Accumulators the program still holds (or not yet collected). */
    readonly accumulators: number;
    readonly shuffles: number;
    readonly lostOutputReasons: number;
    /** Map outputs in shared memory (local mode) the tracker still hands to reducers, and how many it ever got. */
    readonly sharedMapOutputs: number;
    readonly sharedMapOutputsRegistered: number;
  };
}

/** Fault injection for tests and demos of recovery. */
export interface FaultInjector {
  /** Terminates a worker thread abruptly, now, even while it starts (default: worker 0). */
  killWorker(index?: number): Promise<void>;
  /** Delays every task on a worker by `delayMs` (0 removes the delay): a straggler. */
  slowWorker(index: number, delayMs: number): void;
  /** The state of workers and schedulers, for checks after a fault. */
  snapshot(): Promise<ContextSnapshot>;
}

/**
 * The entry point: creates RDDs and runs their jobs on a pool of worker threads.
 *
 * @example
 * ```ts
 * import { Context } from 'kindling';
 * const sc = new Context({ master: 'local[2]' });
 * const n = await sc.parallelize([1, 2, 3, 4]).map((x) => x * x).sum(); // 30
 * await sc.stop();
 * ```
 */
/** Spark's log levels, most verbose first. */
/** Options of `sc.csvFile`. */
export interface CsvFileOptions {
  /** The first record of each file names the fields (default true). */
  readonly header?: boolean;
  /** One character other than a quote or line break (default `,`). */
  readonly delimiter?: string;
  /** Quoted fields may hold line breaks: each file is read whole by one task (default false: files are split). */
  readonly multiLine?: boolean;
  /** As `textFile`'s (default `min(defaultParallelism, 2)`); ignored with `multiLine`. */
  readonly minPartitions?: number;
  /** Read files in subdirectories of input directories too. */
  readonly recursive?: boolean;
  /**
   * What a malformed record does (Spark's `mode`, case-insensitive): `'FAILFAST'` (the default here) fails the job
   * naming file and line, `'DROPMALFORMED'` skips it, `'PERMISSIVE'` (Spark's default) keeps it, missing fields
   * `null` and extra ones dropped. Malformed: a field count other than the header's, or, without `multiLine`, a
   * quoted field not closed on its line.
   */
  readonly mode?: CsvMode | Lowercase<CsvMode>;
  /** As `textFile`'s: false gives an empty file one (empty) partition, as Hadoop; default true, as Spark 3.2+. */
  readonly ignoreEmptySplits?: boolean;
  /** The quote character (default `"`); `''` turns quoting off, as in Spark. */
  readonly quote?: string;
  /**
   * The character that escapes a quote inside a quoted field. Default: the quote itself, so `""` is one quote
   * (RFC 4180, what kindling always read). Spark's default is `\`: pass `escape: '\\'` for files written that way
   * (`\"` is a quote, `\\` a backslash, inside quotes).
   */
  readonly escape?: string;
  /** A character that makes a line starting with it no record (Spark's `comment`; default none). */
  readonly comment?: string;
  /** Drop white space (characters up to U+0020) before each value (default false, as Spark's reader). */
  readonly ignoreLeadingWhiteSpace?: boolean;
  /** Drop white space after each value (default false, as Spark's reader). */
  readonly ignoreTrailingWhiteSpace?: boolean;
  /**
   * A field equal to it reads `null` (Spark's `nullValue`). Default none: fields are strings, `''` for an empty one.
   * Spark's default is `''`, so that empty unquoted fields are null: pass `nullValue: ''` for that.
   */
  readonly nullValue?: string;
  /** What a quoted empty field (`""`) reads as (Spark's `emptyValue`; default `''`). */
  readonly emptyValue?: string;
}

/** Options of the readers that cut files into splits (`textFile`, `binaryRecords`). */
export interface SplitReadOptions {
  /** Read files in subdirectories of input directories too (without it a subdirectory fails the job, as Hadoop). */
  readonly recursive?: boolean;
  /**
   * Whether an empty file plans no partition (default true, Spark 3.2+'s `spark.hadoopRDD.ignoreEmptySplits`); with
   * false each empty file gets one empty partition, as Hadoop's FileInputFormat and Spark before 3.2.
   */
  readonly ignoreEmptySplits?: boolean;
}

/** The contexts made and not stopped, oldest first: {@link Context.getOrCreate} returns the newest. */
const liveContexts = new Set<Context>();

/**
 * `new Context` from outside the class body: a class that names itself inside its body is renamed `_Context` by the
 * bundler, and every stack trace through the context would show that name.
 */
function newContext(options: ContextOptions | undefined): Context {
  return new Context(options);
}

const LOG_LEVELS = ['ALL', 'TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'OFF'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A job from its call on (see Context.#runJobOnly): its group, and why it was cancelled before it was registered. */
interface Submitted {
  readonly group: string | undefined;
  reason: string | undefined;
}

/** One job's request: the RDD, its lineage, the result function, the partitions, the description, and how results arrive. */
type JobArgs = [
  rdd: RDD<unknown>,
  lineage: readonly RDD<unknown>[],
  fn: ResultFunctionWire,
  partitions: readonly number[] | undefined,
  description: string | undefined,
  onResult?: (index: number, result: unknown) => void,
  inArrivalOrder?: boolean,
];

export class Context implements RddContext {
  readonly isDriver = true;
  readonly options: ResolvedOptions;
  /** Job, stage and task events; attach listeners for logs, progress or UIs. */
  readonly events = new EventBus<SchedulerEvent>();
  readonly faults: FaultInjector;
  #nextRddId = 0;
  #nextShuffleId = 0;
  #nextSharedId = 0;
  /** Marks this context's broadcasts and accumulators (their ids are only unique within a context). */
  readonly #token = randomUUID();
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #checkpointDir: string | undefined;
  readonly #backend: TaskBackend;
  readonly #localDirs: LocalDirs;
  readonly #dag: DAGScheduler;
  readonly #tasks: TaskScheduler;
  readonly #tracker = new MapOutputTracker();
  readonly #cache = new CacheTracker();
  readonly #builder: TaskBuilder;
  /**
   * Broadcasts, held weakly: one the program dropped can never be used by a new job (a running job's functions hold
   * theirs), so its copies go from the builder and the workers (Spark's ContextCleaner cleans broadcasts too) instead
   * of piling up for the life of a streaming driver that makes one per batch.
   */
  readonly #broadcasts = new Map<number, WeakRef<Broadcast<unknown>>>();
  readonly #broadcastCleaner = new FinalizationRegistry<number>((id) => this.#forgetBroadcast(id));
  /**
   * Accumulators, held weakly as Spark's AccumulatorContext holds them: a running job's functions hold theirs, and
   * one the program dropped can never be read again, so it goes (a streaming driver may make one per batch).
   */
  readonly #accumulators = new Map<number, WeakRef<Accumulator<unknown>>>();
  readonly #accumulatorCleaner = new FinalizationRegistry<number>((id) => this.#accumulators.delete(id));
  /** The checkpoints being written, by RDD id: one writer per RDD (see #checkpointLineage). */
  readonly #checkpointsWriting = new Map<number, Promise<void>>();
  /**
   * Persisted RDDs, held weakly: one the program dropped without unpersist() can never be read again, so its
   * blocks go with it (Spark's ContextCleaner) instead of piling up for the life of a streaming driver.
   */
  readonly #persisted = new Map<number, WeakRef<RDD<unknown>>>();
  readonly #persistCleaner = new FinalizationRegistry<number>((rddId) => {
    this.#persisted.delete(rddId);
    this.#dag.forgetRdd(rddId);
    if (!this.#stopped) this.#backend.removeRdd(rddId).catch(() => undefined);
  });
  readonly #progress: ConsoleProgressBar | undefined;
  readonly #hints: Hints;
  readonly #engine: DriverEngine;
  #keepAlive: NodeJS.Timeout | undefined;
  #activeJobs = 0;
  readonly #ui: UiSubsystem | undefined;

  constructor(options: ContextOptions = {}) {
    this.options = resolveOptions(options, os.availableParallelism());
    // Ctrl-C: the jobs are cancelled (their end reaches the event log) before the process dies by the signal.
    this.#localDirs = new LocalDirs(this.options.localDir, this.options.appName, (signal) => {
      this.#dag.cancelAllJobs(`interrupted (${signal})`);
      // The process dies by the signal next: a save's asynchronous abort would never run.
      abortLiveJobsSync();
      removeCheckpointWritesSync();
      this.#ui?.interrupted();
      endLocalClustersSync();
    });
    this.#engine = ENGINES[this.options.engine].driver(this.#localDirs.root, (m) => this.#warn(`kindling: ${m}`));
    // "persist() it?" is no advice where nothing is cached between jobs.
    this.#hints = new Hints(
      (m) => this.#warn(`kindling hint: ${m}`),
      this.options.hints && this.#engine.caches,
      this.options.lineageDepthWarning,
      this.options.hints,
    );
    this.#backend = resolveMaster(this.options.master, os.availableParallelism()).factory.create(this.options.master, this.options.numWorkers, {
      maxHeapMb: this.options.workerMB,
      scratchDir: this.#localDirs.root,
      taskTimeoutMs: this.options.taskTimeoutMs,
      engine: this.options.engine,
      executor: {
        fetchTimeoutMs: this.options.fetchTimeoutMs,
        storageBytes: this.options.storageBytes,
        maxResultBytes: this.options.maxResultBytes,
        shuffleSpillBytes: this.options.shuffleSpillBytes,
        jobOutputRoot: this.#engine.jobOutputRoot,
      },
      // Executors of a cluster master come and go: events, as Spark's SparkListenerExecutorAdded/Removed.
      // The secret is kept out of the resolved options, which the UI and the event log show.
      cluster: {
        ...this.options.cluster,
        ...(options.secret !== undefined ? { secret: options.secret } : {}),
        onExecutor: (e) => this.events.emit({ ...e, time: Date.now() }),
      },
    });
    this.#builder = new TaskBuilder(
      this.#tracker,
      this.#cache,
      {
        broadcastValue: (id) => {
          const b = this.#broadcasts.get(id)?.deref();
          if (b === undefined) throw new IllegalStateError(`broadcast ${id} was destroyed or belongs to another context`);
          return b.value;
        },
        accumulatorKind: (id) => this.#accumulator(id).kind,
      },
      (stage, attempt, rdds) => this.#hints.stageBuilt(stage, attempt, rdds),
    );
    this.#dag = new DAGScheduler(this.#tracker, this.#cache, this.events, {
      maxStageAttempts: this.options.maxStageAttempts,
      maxResultBytes: this.options.maxResultBytes,
      // The tracker answers from the same bounds as the UI's store, as Spark's tracker reads that store.
      ...(this.options.ui !== false && { retainedJobs: this.options.ui.retainedJobs, retainedStages: this.options.ui.retainedStages }),
      onAccumulatorUpdates: (updates) => {
        for (const [id, delta] of updates) {
          const acc = this.#accumulators.get(id)?.deref();
          try {
            acc?.merge(delta);
          } catch (e) {
            // A custom accumulator's `merge` is user code running inside the scheduler: its failure must not
            // stop the job. Spark logs it and goes on (DAGScheduler.updateAccumulators); so do we.
            const name = acc?.name === undefined ? '' : ` ('${acc.name}')`;
            this.#log(
              'ERROR',
              `kindling: merging a task's copy into accumulator ${id}${name} failed, so that task's additions are lost: ${String(e)}`,
            );
          }
        }
      },
      onStagesReleased: (ids) => {
        this.#builder.forgetStages(ids);
        this.#backend.releaseStages(ids);
      },
      persistedRdds: () => [...this.#persisted.values()].flatMap((ref) => ref.deref() ?? []),
      onCacheRolledBack: (rddId, generation) => void this.#backend.removeRdd(rddId, generation).catch(() => undefined),
      onJobSubmitted: (jobId) => this.#engine.jobSubmitted?.(jobId),
      onJobFailed: (jobId) => this.#engine.jobFailed?.(jobId),
    });
    this.#tasks = new TaskScheduler(
      this.#backend,
      {
        taskSucceeded: (ts, spec, outcome, w) => this.#dag.taskSucceeded(ts, spec, outcome, w),
        fetchFailed: (ts, spec, f) => this.#dag.fetchFailed(ts, spec, f),
        taskSetFailed: (ts, spec, attempts) => this.#dag.taskSetFailed(ts, spec, attempts),
        blockUpdates: (w, e, o) => this.#dag.blockUpdates(w, e, o.blockUpdates.length === 0 ? o : this.#withoutUnpersisted(o)),
        workerLost: (w, reason) => {
          this.#builder.forgetWorker(w);
          this.#dag.workerLost(w, reason);
        },
        noWorkers: (reason) => this.#dag.noWorkers(reason),
      },
      (ts, spec, attempt, w, epoch) => this.#builder.build(ts.stage, ts.stageAttempt, ts.jobId, spec.partition, attempt, w, epoch),
      this.events,
      {
        maxTaskFailures: this.options.maxTaskFailures,
        slotsPerWorker: this.options.slotsPerWorker,
        localityWaitMs: this.options.localityWaitMs,
        speculation: this.options.speculation,
      },
    );
    this.#dag.attach(this.#tasks);
    this.faults = {
      killWorker: (index = 0) => {
        const faults = this.#backend.faults;
        if (faults === undefined)
          return Promise.reject(new Error(`killWorker: the backend of master '${this.options.master}' offers no fault injection`));
        return faults.killWorker(index);
      },
      slowWorker: (index, delayMs) => this.#tasks.slowWorker(index, delayMs),
      snapshot: async () => {
        // Asking workers holds the process open like a job does (workers alone do not).
        this.#jobStarted();
        try {
          const backend = await this.#backend.snapshot();
          const driver = {
            persistedRdds: this.#persisted.size,
            cachedRdds: this.#cache.rddsTracked,
            hintedRdds: this.#hints.rddsTracked,
            broadcasts: this.#broadcasts.size,
            accumulators: this.#accumulators.size,
            shuffles: this.#tracker.size.shuffles,
            lostOutputReasons: this.#tracker.size.lostReasons,
            sharedMapOutputs: this.#tracker.size.sharedOutputs,
            sharedMapOutputsRegistered: this.#tracker.size.sharedRegistered,
          };
          return { backend, dag: this.#dag.state(), tasks: this.#tasks.state(), stagesHeld: this.#builder.stagesHeld, driver };
        } finally {
          this.#jobEnded();
        }
      },
    };
    if (this.options.progress) this.#progress = new ConsoleProgressBar(this.events);
    if (this.options.hints) {
      this.events.on('stageCompleted', (e) => {
        // On a terminal the progress bar prints the skewed stage itself: one line, not the same line twice.
        if (e.skew !== undefined && this.#progress?.drawing !== true) this.#hints.stageSkewed(e.stageId, e.skew);
      });
    }
    this.#ui = startUi(this.events, {
      appName: this.options.appName,
      numWorkers: this.options.numWorkers,
      storageBytesPerWorker: this.options.storageBytes,
      options: this.options,
      ui: this.options.ui,
      eventLog: this.options.eventLog,
      runningTasks: () => this.#tasks.runningTasks(),
      ...(this.options.ui !== false && this.options.ui.killEnabled
        ? { cancelJob: (id: number, reason: string) => this.#dag.cancelJob(id, reason) }
        : {}),
    });
    liveContexts.add(this);
  }

  /**
   * The newest context of this process that is not stopped, or a new one made with `options` when there is none
   * (Spark's `SparkContext.getOrCreate`): for code that may run inside a program that made its context already,
   * or on its own. As Spark, options given while a context is live do not apply to it; a warning says so.
   * (Unlike Spark, a process may hold several live contexts: `new Context()` always makes one.)
   *
   * @example
   * ```ts
   * const sc = Context.getOrCreate({ master: 'local[2]' });
   * Context.getOrCreate() === sc; // true until sc.stop()
   * ```
   */
  static getOrCreate(options?: ContextOptions): Context {
    const live = [...liveContexts].at(-1);
    if (live === undefined) return newContext(options);
    if (options !== undefined && Object.keys(options).length > 0) {
      live.#warn(`kindling: Context.getOrCreate: using the existing context '${live.options.appName}'; the options given do not apply to it`);
    }
    return live;
  }

  /**
   * The partitions a file reader makes at least unless told (`textFile`, `csvFile`, `binaryRecords`):
   * `min(defaultParallelism, 2)`, as Spark's `defaultMinPartitions`.
   *
   * @example
   * ```ts
   * sc.textFile('big.log').getNumPartitions() >= sc.defaultMinPartitions; // true for a non-empty file
   * ```
   */
  get defaultMinPartitions(): number {
    return Math.min(this.defaultParallelism, 2);
  }

  /** Number of worker threads (Spark's defaultParallelism in local mode). */
  get defaultParallelism(): number {
    // A `redis://` master without ?cores=N grows with the executors it leases (their cores, as Spark's).
    return this.#backend.numWorkers > 0 ? this.#backend.numWorkers : this.options.numWorkers;
  }

  /** The kindling version running this context (Spark's `sc.version`). @example `console.log(sc.version)` */
  get version(): string {
    return VERSION;
  }

  /** The application name (`appName` option, default `kindling`); it names the context's spill folder. @example `sc.appName` */
  get appName(): string {
    return this.options.appName;
  }

  #logLevel: LogLevel = 'WARN';

  /**
   * Which of kindling's own messages the driver prints (Spark's `sc.setLogLevel`): hints and notices are WARN,
   * so `'ERROR'`, `'FATAL'` or `'OFF'` silence them; `'ALL'`, `'TRACE'`, `'DEBUG'`, `'INFO'` and `'WARN'` show
   * them. Errors always reach your code as exceptions; the one ERROR message is a custom accumulator's `merge`
   * that threw on the driver (the job goes on without that task's copy). The progress bar has its own `progress` option.
   *
   * @example
   * ```ts
   * sc.setLogLevel('ERROR');
   * ```
   */
  setLogLevel(level: LogLevel): void {
    const upper = String(level).toUpperCase() as LogLevel;
    if (!LOG_LEVELS.includes(upper)) {
      throw new InvalidArgumentError(`setLogLevel: unknown level '${String(level)}'; use one of ${LOG_LEVELS.join(', ')}`);
    }
    this.#logLevel = upper;
  }

  #warn(message: string): void {
    this.#log('WARN', message);
  }

  #log(level: 'WARN' | 'ERROR', message: string): void {
    if (LOG_LEVELS.indexOf(this.#logLevel) > LOG_LEVELS.indexOf(level)) return;
    if (level === 'ERROR') console.error(message);
    else console.warn(message);
  }

  /**
   * The web UI's address (Spark's uiWebUrl), once it listens; undefined with `ui: false`.
   *
   * @example
   * ```ts
   * console.log(await sc.uiWebUrl()); // http://127.0.0.1:4040
   * ```
   */
  async uiWebUrl(): Promise<string | undefined> {
    return this.#ui?.url();
  }

  /**
   * This application's id in the UI, the REST API and the event log (undefined when both are off).
   *
   * @example
   * ```ts
   * const jobs = await fetch(`${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}/jobs`);
   * ```
   */
  get applicationId(): string | undefined {
    return this.#ui?.appId;
  }

  /** This context's own folder under the directory given to `setCheckpointDir` (Spark's `getCheckpointDir`). */
  get checkpointDir(): string | undefined {
    return this.#checkpointDir;
  }

  // ---- RddContext -----------------------------------------------------------------------------------------

  newRddId(): number {
    return this.#nextRddId++;
  }
  /** @internal the RDD layer's view of the cache tracker (coalesce groups cached parents by worker). */
  readonly cachedLocations = (rddId: number, partition: number): readonly number[] => this.#cache.locations(rddId, partition);
  newShuffleId(owner: RDD<unknown>): number {
    const id = this.#nextShuffleId++;
    this.#cleaner.register(owner, id);
    return id;
  }

  /** Removes a shuffle's outputs once no RDD that reads it is reachable (Spark's ContextCleaner). */
  readonly #cleaner = new FinalizationRegistry<number>((shuffleId) => {
    if (this.#stopped) return;
    this.#tracker.unregisterShuffle(shuffleId);
    this.#backend.removeShuffle(shuffleId);
  });
  ship(fn: Function, what: string, options?: ShipOptions): ShippedFunction {
    if (typeof fn !== 'function') throw new ArgumentTypeError(`${what}: expected a function, got ${fn === null ? 'null' : typeof fn}`);
    const shipped = shipFunction(fn, what, options);
    this.#checkOwnVariables(shipped, what);
    return shipped;
  }

  /** Refuses broadcasts and accumulators of another context, which workers would mistake for this one's. */
  #checkOwnVariables(fn: ShippedFunction, what: string): void {
    for (const [key, entry] of Object.entries(fn.env)) {
      if (entry.t === 'fn') this.#checkOwnVariables(entry.fn, `helper '${key}' of ${what}`);
      else if ((entry.t === 'broadcast' || entry.t === 'accumulator') && entry.owner !== this.#token) {
        throw new ClosureError(
          what,
          `${what} captures '${key}', ${entry.t} ${entry.id} of another context: broadcasts and accumulators belong to ` +
            `the context that created them, like RDDs. Create it with this context's ${entry.t === 'broadcast' ? 'broadcast()' : 'accumulator()'}.`,
          key,
        );
      }
    }
  }

  async runJob<R>(
    rdd: RDD<unknown>,
    fn: ResultFunctionWire,
    partitions?: readonly number[],
    description?: string,
    onResult?: (index: number, result: R) => void,
    inArrivalOrder = false,
  ): Promise<R[]> {
    if (this.#stopped) throw new ContextStoppedError(`Cannot run ${description ?? 'a job'}: the context was stopped (stop() was called)`);
    hop('ctx.runJob', -1, processThreads());
    // One walk of the lineage serves the ownership check, the hints and the checkpoint step.
    const lineage = fullLineage(rdd);
    for (const r of lineage) {
      if (r.context !== this) throw new InvalidArgumentError(`${r.label} belongs to another context; RDDs cannot be shared between contexts`);
    }
    this.#jobStarted();
    hop('ctx.lineageChecked');
    try {
      const results = await this.#runJobOnly(
        rdd,
        lineage,
        fn,
        partitions,
        description,
        onResult as ((i: number, r: unknown) => void) | undefined,
        inArrivalOrder,
      );
      await this.#checkpointLineage(lineage);
      hop('ctx.returned', -1, processThreads());
      return results as R[];
    } finally {
      this.#jobEnded();
    }
  }

  /** The backend's ready() promise last seen settled: a started context's actions await it as they always did. */
  #startedPromise: Promise<void> | undefined;
  /** Jobs from their call to their end (see #runJobOnly): the DAG scheduler has them only once they are registered. */
  readonly #submitted = new Set<Submitted>();
  /** Actions waiting for the backend to start: not jobs of the DAG scheduler yet, so its cancellations miss them. */
  readonly #waitingToStart = new Set<{ readonly group: string | undefined; readonly cancel: (reason: string) => void }>();

  /**
   * Waits for the backend to start (executors to come: up to executorWaitMs on a cluster, longer after Redis was
   * away), and gives up on the action's AbortSignal or a cancelJobGroup()/cancelAllJobs() meanwhile: Spark's job is
   * active from its submission on, with executors or none, and is cancelled as any other.
   */
  async #started(ready: Promise<void>, description: string): Promise<void> {
    const { signal, jobGroup } = jobScope.getStore() ?? {};
    let cancel!: (reason: string) => void;
    const cancelled = new Promise<never>((_, reject) => {
      cancel = (reason) => reject(new AbortError(`${description} was cancelled before its job started: ${reason}`));
    });
    const waiting = { group: jobGroup, cancel };
    const onAbort = (): void => cancel(abortReason(signal!));
    this.#waitingToStart.add(waiting);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      await Promise.race([ready, cancelled]);
      this.#startedPromise = ready;
    } finally {
      this.#waitingToStart.delete(waiting);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #runJobOnly(...job: JobArgs): Promise<unknown[]> {
    // Registered before the first await, until the job ends: a cancelJobGroup()/cancelAllJobs() while the backend
    // starts, or in the turns between its start and the DAG scheduler's registration, finds the job (it was missed
    // there, and the job ran).
    const submitted: Submitted = { group: jobScope.getStore()?.jobGroup, reason: undefined };
    this.#submitted.add(submitted);
    try {
      return await this.#submittedJob(submitted, ...job);
    } finally {
      this.#submitted.delete(submitted);
    }
  }

  async #submittedJob(
    submitted: Submitted,
    ...[rdd, lineage, fn, partitions, description, onResult, inArrivalOrder = false]: JobArgs
  ): Promise<unknown[]> {
    try {
      const ready = this.#backend.ready();
      // A started context awaits its backend as it always did; only a start still going on is raced with cancels.
      if (ready === this.#startedPromise) await ready;
      else await this.#started(ready, description ?? `job on ${rdd.label}`);
    } catch (e) {
      if (e instanceof AbortError) throw e;
      throw startFailure(e, description ?? `job on ${rdd.label}`);
    }
    this.#hints.checkDepth(lineage);
    const parts = partitions ?? Array.from({ length: rdd.getNumPartitions() }, (_, i) => i);
    // Results merged as they arrive (the driver's share of an action overlapping the tasks still running) when
    // the engine sends them as they are; the handler's first error is the action's, thrown once the job is over,
    // as it would be had the results been merged after it.
    let failure: { error: unknown } | undefined;
    const early =
      onResult !== undefined && this.#engine.resultsAsSent
        ? (i: number, r: unknown): void => {
            if (failure !== undefined) return;
            try {
              onResult(i, r);
            } catch (error) {
              failure = { error };
            }
          }
        : undefined;
    const { jobId, results, computedRdds } = await this.#dag.runJob(
      rdd,
      parts,
      fn,
      description ?? `job on ${rdd.label}`,
      { ...jobScope.getStore(), cancelledBefore: () => submitted.reason },
      early,
      inArrivalOrder,
      lineage,
    );
    hop('ctx.jobDone', jobId);
    this.#hints.jobFinished(lineage, computedRdds, partitions === undefined && fn.kind !== 'sampleKeys');
    if (failure !== undefined) throw failure.error;
    const collected = this.#engine.collectResults(jobId, results);
    if (onResult !== undefined && early === undefined) for (let i = 0; i < collected.length; i++) onResult(i, collected[i]);
    return collected;
  }

  /**
   * After an action: RDDs marked with checkpoint() in its lineage are written to the checkpoint folder by one
   * more job each (as in Spark; persist them first to avoid computing them twice), then their lineage is cut.
   */
  async #checkpointLineage(lineage: readonly RDD<unknown>[]): Promise<void> {
    for (const r of lineage)
      if (r.localCheckpointRequested && !r.isCheckpointed && this.#engine.caches) await this.#oneWriter(r, () => this.#localCheckpoint(r));
    const dir = this.#checkpointDir;
    if (dir === undefined) return;
    for (const r of lineage) if (r.checkpointRequested && !r.isCheckpointed) await this.#oneWriter(r, () => this.#writeCheckpoint(r, dir));
  }

  /**
   * One writer per RDD, as Spark's RDDCheckpointData (CheckpointingInProgress): an action ending while another
   * writes the checkpoint waits for it rather than write it again (two renames onto rdd-N: the second failed; a local
   * checkpoint computed its missing partitions twice). The writer's failure is its own action's to report.
   */
  async #oneWriter(r: RDD<unknown>, write: () => Promise<void>): Promise<void> {
    const writing = this.#checkpointsWriting.get(r.id);
    if (writing !== undefined) {
      await writing.catch(() => undefined);
      return;
    }
    const written = write();
    this.#checkpointsWriting.set(r.id, written);
    try {
      await written;
    } finally {
      this.#checkpointsWriting.delete(r.id);
    }
  }

  /** Writes `r`'s checkpoint: one more job into a folder of its own, renamed to rdd-N once it succeeded. */
  async #writeCheckpoint(r: RDD<unknown>, dir: string): Promise<void> {
    const target = path.join(dir, `rdd-${r.id}`);
    // Each job writes into a folder of its own, renamed to the RDD's once the job succeeded: tasks of a job that
    // failed run on, and must not put their partitions (other data, if the RDD is not deterministic) into the
    // checkpoint a later job writes and readers use. Writers never create the folder, so once renamed or removed
    // it gains nothing from them.
    const writing = path.join(dir, `.rdd-${r.id}.writing-${randomUUID()}`);
    // Asynchronous, as every step below: the driver's thread runs the scheduler and the UI meanwhile (a removal
    // retried on EBUSY would otherwise block it for its delays). Renames are still single, atomic steps.
    // Made again with its parents, as Spark's mkdirs: a checkpoint folder removed between jobs (a temp cleaner) failed
    // every later checkpoint of the context with a bare ENOENT.
    await mkdir(writing, { recursive: true });
    checkpointWriteStarted(writing);
    try {
      await this.#runJobOnly(r, fullLineage(r), { kind: 'checkpoint', dir: writing }, undefined, `checkpoint of ${r.label}`);
      await rename(writing, target);
    } catch (e) {
      const trash = `${writing}.aborted`;
      try {
        await rename(writing, trash);
        await rm(trash, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
      } catch (cleanup) {
        // The job's own error is what the user must see; a cleanup that failed is added to it.
        if (e instanceof Error) e.message += ` (and its checkpoint folder could not be removed: ${(cleanup as Error).message})`;
      }
      throw e;
    } finally {
      checkpointWriteEnded(writing);
    }
    await removeAttemptFiles(target);
    r.markCheckpointed(new CheckpointRDD(this, target, r.getNumPartitions(), { label: `checkpoint of ${r.label}` }));
  }

  /**
   * Cuts a locally checkpointed RDD's lineage (Spark's LocalRDDCheckpointData): partitions the job did not leave
   * cached (an action over some partitions, an eviction) are computed into the cache by one more job first.
   */
  async #localCheckpoint(r: RDD<unknown>): Promise<void> {
    const missing: number[] = [];
    for (let p = 0; p < r.getNumPartitions(); p++) if (this.#cache.locations(r.id, p).length === 0) missing.push(p);
    if (missing.length > 0) await this.#runJobOnly(r, fullLineage(r), { kind: 'count' }, missing, `local checkpoint of ${r.label}`);
    r.markCheckpointed(new LocalCheckpointRDD(this, r.getNumPartitions(), r.label, { label: `local checkpoint of ${r.label}` }));
  }

  persistRdd(rdd: RDD<unknown>): void {
    this.#engine.onPersist(rdd.label);
    if (this.#persisted.get(rdd.id)?.deref() === rdd) return;
    this.#persisted.set(rdd.id, new WeakRef(rdd));
    this.#persistCleaner.register(rdd, rdd.id, rdd);
  }

  async unpersistRdd(rdd: RDD<unknown>): Promise<void> {
    this.#persisted.delete(rdd.id);
    this.#persistCleaner.unregister(rdd);
    this.#dag.forgetRdd(rdd.id);
    if (!this.#stopped) await this.#backend.removeRdd(rdd.id);
  }

  /**
   * A task's block updates without the blocks it cached of RDDs no longer persisted: a task that started before
   * unpersist() (one of a failed job, which runs on) or before the RDD was dropped may cache a partition late.
   * Recorded, it was reported cached again once the RDD was persisted again (its worker had dropped the block); and a
   * worker whose task was between awaits when the removal came keeps the block, so the removal is sent again.
   */
  #withoutUnpersisted(outcome: TaskOutcome): TaskOutcome {
    const updates = outcome.blockUpdates;
    let late: Set<number> | undefined;
    for (const u of updates) if ((u.memoryBytes > 0 || u.diskBytes > 0) && !this.#persisted.has(u.rddId)) (late ??= new Set()).add(u.rddId);
    if (late === undefined) return outcome;
    if (!this.#stopped) for (const id of late) this.#backend.removeRdd(id).catch(() => undefined);
    const kept = late;
    return { ...outcome, blockUpdates: updates.filter((u) => !kept.has(u.rddId)) };
  }

  // ---- creating RDDs -----------------------------------------------------------------------------------------

  /**
   * Distributes a local collection: slice i holds elements floor(i*len/n) to floor((i+1)*len/n).
   *
   * @example
   * ```ts
   * await sc.parallelize([0, 1, 2, 3, 4], 2).glom().collect(); // [[0, 1], [2, 3, 4]]
   * ```
   */
  parallelize<T>(data: Iterable<T>, numSlices: number = this.defaultParallelism): RDD<T> {
    checkPartitionCount('parallelize', numSlices);
    // Array.from(5) is [], so a number or a plain object for data made an empty RDD without a word.
    if (typeof (data as { [Symbol.iterator]?: unknown } | null | undefined)?.[Symbol.iterator] !== 'function') {
      throw new ArgumentTypeError(`parallelize: data must be an array or another iterable, got ${describeArgument(data)}`);
    }
    const items = Array.from(data);
    return new ParallelCollectionRDD<T>(this, ParallelCollectionRDD.slice(items, numSlices));
  }

  /**
   * Numbers from `start` (inclusive) to `end` (exclusive) by `step`; with one argument, `range(0, start)`.
   *
   * @example
   * ```ts
   * await sc.range(5).collect();              // [0, 1, 2, 3, 4]
   * await sc.range(10, 0, -3).collect();      // [10, 7, 4, 1]
   * await sc.range(6, undefined, 1, 3).glom().collect(); // [[0, 1], [2, 3], [4, 5]]
   * ```
   */
  range(start: number, end?: number, step = 1, numSlices: number = this.defaultParallelism): RDD<number> {
    const [lo, hi] = end === undefined ? [0, start] : [start, end];
    for (const [name, v] of [
      ['start', lo],
      ['end', hi],
      ['step', step],
    ] as const) {
      // describeValue, so that 0n and '0' do not read as the number 0; a number as itself (JSON would say null for NaN).
      if (!Number.isFinite(v))
        throw new InvalidArgumentError(`range: ${name} must be a finite number, got ${typeof v === 'number' ? v : describeValue(v)}`);
    }
    checkPartitionCount('range', numSlices);
    const count = RangeRDD.countOf(lo, hi, step);
    // Spark's range is of Longs; past 2^53 doubles skip integers, and start + k * step would repeat or miss
    // elements while count() still counted them all.
    const last = lo + (count - 1) * step;
    if (count > 0 && Number.isInteger(lo) && Number.isInteger(step) && !(Number.isSafeInteger(lo) && Number.isSafeInteger(last))) {
      throw new InvalidArgumentError(
        `range: integer elements must lie within ±Number.MAX_SAFE_INTEGER (2^53 - 1) to be exact; from ${lo} by ${step} the last is ${last}`,
      );
    }
    return new RangeRDD(this, { start: lo, step, count, numSlices });
  }

  /**
   * The lines of a text file, directory, glob, or comma-separated list of these, read by the workers in
   * line-aligned byte ranges (gzip files whole). Files and directories starting with `_` or `.` are skipped.
   * A directory is read without its subdirectories, and one that has any fails the first job with
   * `Not a file: <subdirectory>` (as Hadoop) unless `recursive` is set, which reads every file below it.
   * Compressed files are decompressed by their extension, as Hadoop's codecs (`.gz`, `.deflate`, `.bz2`, `.br`;
   * one partition each); `.zst`, `.lz4`, `.snappy` and other formats Node cannot decode fail naming the file. An
   * empty file gets no partition, as in Spark 3.2+ (`ignoreEmptySplits: false`: one empty partition, as Hadoop's
   * FileInputFormat). The options may come second, in place of `minPartitions`.
   *
   * @example
   * ```ts
   * const lines = sc.textFile('logs/*.log', 8);
   * const all = sc.textFile('logs', { recursive: true, minPartitions: 8 }); // logs/2024/jan/01.log too
   * ```
   */
  textFile(path: string, minPartitions?: number, options?: SplitReadOptions): RDD<string>;
  textFile(path: string, options: { minPartitions?: number } & SplitReadOptions): RDD<string>;
  textFile(
    path: string,
    minPartitionsOrOptions?: number | ({ minPartitions?: number } & SplitReadOptions),
    options: SplitReadOptions = {},
  ): RDD<string> {
    checkPathArgument('textFile', path);
    const opts =
      typeof minPartitionsOrOptions === 'object' && minPartitionsOrOptions !== null
        ? minPartitionsOrOptions
        : { ...options, minPartitions: minPartitionsOrOptions };
    const minPartitions = opts.minPartitions ?? this.defaultMinPartitions;
    checkPartitionCount('textFile', minPartitions);
    return new TextFileRDD(this, path, minPartitions, { recursive: opts.recursive ?? false, ignoreEmptySplits: opts.ignoreEmptySplits });
  }

  /**
   * One `[absolutePath, content]` pair per file, listed by the rules of {@link textFile} (hidden names
   * skipped; subdirectories an error unless `recursive`). The options may come second, in place of
   * `minPartitions`.
   *
   * @example
   * ```ts
   * const docs = sc.wholeTextFiles('docs/');
   * const tree = sc.wholeTextFiles('docs/', { recursive: true });
   * ```
   */
  wholeTextFiles(path: string, minPartitions?: number, options?: { recursive?: boolean }): RDD<[string, string]>;
  wholeTextFiles(path: string, options: { minPartitions?: number; recursive?: boolean }): RDD<[string, string]>;
  wholeTextFiles(
    path: string,
    minPartitionsOrOptions?: number | { minPartitions?: number; recursive?: boolean },
    options: { recursive?: boolean } = {},
  ): RDD<[string, string]> {
    checkPathArgument('wholeTextFiles', path);
    const opts =
      typeof minPartitionsOrOptions === 'object' && minPartitionsOrOptions !== null
        ? minPartitionsOrOptions
        : { ...options, minPartitions: minPartitionsOrOptions };
    const minPartitions = opts.minPartitions ?? this.defaultParallelism;
    checkPartitionCount('wholeTextFiles', minPartitions);
    return new WholeTextFilesRDD(this, path, minPartitions, { recursive: opts.recursive ?? false });
  }

  /**
   * One `[absolutePath, bytes]` pair per file (pyspark's binaryFiles), listed by the rules of {@link textFile};
   * each file is read whole into a `Uint8Array`, without decompression.
   *
   * @example
   * ```ts
   * const sizes = sc.binaryFiles('images/').mapValues((bytes) => bytes.length);
   * ```
   */
  binaryFiles(path: string, minPartitions?: number, options?: { recursive?: boolean }): RDD<[string, Uint8Array]>;
  binaryFiles(path: string, options?: { minPartitions?: number; recursive?: boolean }): RDD<[string, Uint8Array]>;
  binaryFiles(
    path: string,
    minPartitionsOrOptions?: number | { minPartitions?: number; recursive?: boolean },
    moreOptions?: { recursive?: boolean },
  ): RDD<[string, Uint8Array]> {
    checkPathArgument('binaryFiles', path);
    const options = fileReadOptions('binaryFiles', minPartitionsOrOptions, moreOptions);
    const minPartitions = options.minPartitions ?? this.defaultParallelism;
    checkPartitionCount('binaryFiles', minPartitions);
    return new BinaryFilesRDD(this, path, minPartitions, { recursive: options.recursive ?? false });
  }

  /**
   * The fixed-length records of files (Spark's `binaryRecords`): each file is a run of `recordLength`-byte records
   * with no separator, and each record comes as its own `Uint8Array`. Files are listed by the rules of
   * {@link textFile} and cut into ranges of whole records, read by the workers (a large file is many partitions).
   * A file whose size is not a multiple of `recordLength` fails the job naming it; compressed files (by name) are
   * refused, as in Spark.
   *
   * @example
   * ```ts
   * // 100-byte TeraSort records: a 10-byte key, then the value
   * const keys = sc.binaryRecords('terasort-in/', 100).map((r) => Buffer.from(r.subarray(0, 10)).toString('hex'));
   * const fine = sc.binaryRecords('samples.bin', 8, { minPartitions: 16 });
   * ```
   */
  binaryRecords(path: string, recordLength: number, options: { minPartitions?: number } & SplitReadOptions = {}): RDD<Uint8Array> {
    checkPathArgument('binaryRecords', path);
    checkRecordLength(recordLength, 'binaryRecords');
    checkOptionsArgument('binaryRecords', options, ['minPartitions', 'recursive', 'ignoreEmptySplits'], 'pass { minPartitions, recursive }');
    const minPartitions = options.minPartitions ?? this.defaultMinPartitions;
    checkPartitionCount('binaryRecords', minPartitions);
    return new BinaryRecordsRDD(this, path, recordLength, minPartitions, {
      recursive: options.recursive ?? false,
      ignoreEmptySplits: options.ignoreEmptySplits,
    });
  }

  /**
   * The elements saved by `saveAsObjectFile` (V8 serialization: any structured-clone value comes back as it
   * was, Maps, Dates, typed arrays and nested objects included), one partition per group of part files.
   *
   * @example
   * ```ts
   * await sc.parallelize([new Map([['a', 1]]), new Date(0)]).saveAsObjectFile('out/objects');
   * const back = await sc.objectFile('out/objects').collect();
   * ```
   */
  objectFile<T = unknown>(path: string, minPartitions?: number, options?: { recursive?: boolean }): RDD<T>;
  objectFile<T = unknown>(path: string, options?: { minPartitions?: number; recursive?: boolean }): RDD<T>;
  objectFile<T = unknown>(
    path: string,
    minPartitionsOrOptions?: number | { minPartitions?: number; recursive?: boolean },
    moreOptions?: { recursive?: boolean },
  ): RDD<T> {
    checkPathArgument('objectFile', path);
    const options = fileReadOptions('objectFile', minPartitionsOrOptions, moreOptions);
    const read = readObjectFile;
    const v8 = useModule<typeof import('node:v8')>('node:v8');
    return this.binaryFiles(path, options).flatMap(capture({ read, v8 }, ([file, bytes]: [string, Uint8Array]) => read(v8, bytes, file) as T[]));
  }

  /**
   * The records of CSV files (RFC 4180: quoted fields may hold delimiters and doubled quotes). With `header`
   * (the default), each file's first record names the fields and every other record becomes an object of
   * strings; without it, records are arrays of strings.
   *
   * As Spark's CSV source, a record is one line by default, so large files are split like `textFile`'s and read
   * by the workers in a stream (each split learns its file's header from the file's first line). A quoted field
   * that holds a line break fails the job naming the file and line: read such files with `multiLine: true`,
   * which keeps each file whole (one task per file, still streamed) so that records may span lines.
   *
   * A record whose field count differs from the header's fails the job by default, naming file and line (Spark's
   * `FAILFAST`): kindling does not turn a malformed file into nulls unasked. Spark's CSV source defaults to
   * `PERMISSIVE`; pass `mode: 'PERMISSIVE'` for its reading (missing fields `null`, extra fields dropped) or
   * `mode: 'DROPMALFORMED'` to skip such records.
   *
   * @example
   * ```ts
   * const people = sc.csvFile('people.csv'); // RDD<Record<string, string>>: { name: 'ann', age: '31' }, ...
   * const messy = sc.csvFile('export.csv', { mode: 'PERMISSIVE' }); // RDD<Record<string, string | null>>
   * const rows = sc.csvFile('data.tsv', { header: false, delimiter: '\t' }); // RDD<string[]>
   * const notes = sc.csvFile('notes.csv', { multiLine: true }); // quoted fields with line breaks
   * const either = sc.csvFile('in.csv', { header: hasHeader }); // a boolean: RDD<Record<string, string> | string[]>
   * // Spark's reader options: null for NA, '#' comments, backslash escapes, values trimmed
   * const raw = sc.csvFile('raw.csv', { nullValue: 'NA', comment: '#', escape: '\\', ignoreLeadingWhiteSpace: true, ignoreTrailingWhiteSpace: true });
   * ```
   */
  csvFile(path: string, options: CsvFileOptions & { header?: true; mode: 'PERMISSIVE' | 'permissive' }): RDD<Record<string, string | null>>;
  csvFile(path: string, options: CsvFileOptions & { header?: true; nullValue: string }): RDD<Record<string, string | null>>;
  csvFile(path: string, options?: CsvFileOptions & { header?: true }): RDD<Record<string, string>>;
  csvFile(path: string, options: CsvFileOptions & { header: false; nullValue: string }): RDD<Array<string | null>>;
  csvFile(path: string, options: CsvFileOptions & { header: false }): RDD<string[]>;
  // `header` known only at run time (a boolean variable, a whole CsvFileOptions): records or field lists.
  csvFile(
    path: string,
    options: CsvFileOptions & ({ nullValue: string } | { mode: 'PERMISSIVE' | 'permissive' }),
  ): RDD<Record<string, string | null> | Array<string | null>>;
  csvFile(path: string, options: CsvFileOptions): RDD<Record<string, string> | string[]>;
  csvFile(path: string, options: CsvFileOptions & { header?: boolean } = {}): RDD<Record<string, string | null> | Array<string | null>> {
    checkPathArgument('csvFile', path);
    const delimiter = options.delimiter ?? ',';
    const { quote, comment, ignoreLeadingWhiteSpace, ignoreTrailingWhiteSpace, nullValue, emptyValue } = options;
    const parsing = { quote, escape: options.escape, comment, ignoreLeadingWhiteSpace, ignoreTrailingWhiteSpace, nullValue, emptyValue };
    if (Object.values(parsing).every((v) => v === undefined)) checkCsvDelimiter(delimiter, 'csvFile');
    else checkCsvOptions(delimiter, parsing, 'csvFile');
    const minPartitions = options.minPartitions ?? this.defaultMinPartitions;
    checkPartitionCount('csvFile', minPartitions);
    const mode = csvModeOf(options.mode ?? 'FAILFAST', 'csvFile');
    // Only the options given travel with the RDD (an undefined one would reach workers as a key to ignore).
    const given = Object.fromEntries(Object.entries(parsing).filter(([, v]) => v !== undefined));
    const csv = { header: options.header ?? true, delimiter, multiLine: options.multiLine ?? false, mode, ...given };
    return new CsvFileRDD(this, path, minPartitions, csv, {
      recursive: options.recursive ?? false,
      ignoreEmptySplits: options.ignoreEmptySplits,
    }) as RDD<Record<string, string>>;
  }

  /**
   * The values of JSON Lines files: one `JSON.parse`d value per non-blank line (a line that is not JSON fails
   * the job naming the file and line). `rdd.saveAsJsonLines(path)` writes them.
   *
   * @example
   * ```ts
   * const events = sc.jsonLinesFile<{ user: string; ms: number }>('events/*.jsonl');
   * ```
   */
  jsonLinesFile<T = unknown>(path: string, options: { minPartitions?: number; recursive?: boolean } = {}): RDD<T> {
    checkPathArgument('jsonLinesFile', path);
    return this.textFile(path, options)
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as T);
  }

  /**
   * The union of several RDDs (no shuffle). When those with partitions all have one partitioner, as Spark's
   * partitioner-aware union: their partition count and partitioner (see `RDD.union`).
   *
   * @example
   * ```ts
   * sc.union([a, b, c]);
   * ```
   */
  union<T>(rdds: readonly RDD<T>[]): RDD<T> {
    if (!Array.isArray(rdds)) throw new ArgumentTypeError('union expects an array of RDDs');
    return unionOf<T>(this, rdds);
  }

  /** An RDD with no partitions. @example `sc.emptyRDD<number>()` */
  emptyRDD<T>(): RDD<T> {
    return new EmptyRDD<T>(this);
  }

  // ---- shared variables --------------------------------------------------------------------------------------

  /**
   * A read-only value shipped once per worker. Declare it with `capture` and read `.value` in functions.
   *
   * @example
   * ```ts
   * const lookup = sc.broadcast(new Map([['a', 1]]));
   * rdd.map(capture({ lookup }, (k) => lookup.value.get(k)));
   * ```
   */
  broadcast<T>(value: T): Broadcast<T> {
    this.#checkRunning('broadcast');
    const b = new Broadcast<T>(
      this.#nextSharedId++,
      value,
      (id) => {
        this.#broadcastCleaner.unregister(b);
        this.#forgetBroadcast(id);
      },
      (id) => {
        // Stays registered: the next task that needs it on a worker gets it shipped again.
        this.#builder.forgetBroadcast(id);
        if (!this.#stopped) this.#backend.removeBroadcast(id);
      },
      this.#token,
    );
    this.#broadcasts.set(b.id, new WeakRef(b as Broadcast<unknown>));
    this.#broadcastCleaner.register(b, b.id, b);
    return b;
  }

  /** A destroyed or dropped broadcast: its value leaves the builder and every worker. */
  #forgetBroadcast(id: number): void {
    this.#broadcasts.delete(id);
    this.#builder.forgetBroadcast(id);
    if (!this.#stopped) this.#backend.removeBroadcast(id);
  }

  /**
   * A numeric accumulator: tasks `add`, the driver reads `.value`; each successful task counts once.
   *
   * @example
   * ```ts
   * const errors = sc.accumulator(0, 'errors');
   * await lines.foreach(capture({ errors }, (l) => { if (l.includes('ERROR')) errors.add(1); }));
   * ```
   */
  accumulator(initial = 0, name?: string): Accumulator<number> {
    // A sum of numbers: a string started one that concatenated ('x12...'), an object one that summed to NaN.
    if (typeof initial !== 'number')
      throw new ArgumentTypeError(
        `accumulator: initial must be a number, got ${describeArgument(initial)}; for other values use collectionAccumulator or a custom accumulator`,
      );
    return this.#newAccumulator<number>('sum', initial, name);
  }

  /**
   * An accumulator that collects values into a list.
   *
   * @example
   * ```ts
   * const bad = sc.collectionAccumulator<string>('bad lines');
   * ```
   */
  collectionAccumulator<T>(name?: string): Accumulator<T[]> {
    return this.#newAccumulator<T[]>('list', [], name);
  }

  /**
   * An accumulator of any mergeable value (Spark's AccumulatorV2): `zero`, `add` and `merge` run on the driver;
   * tasks send the elements they add, and each successful task counts once.
   *
   * @example
   * ```ts
   * const longest = sc.customAccumulator({ zero: () => '', add: (a, w: string) => (w.length > a.length ? w : a), merge: (a, b) => (b.length > a.length ? b : a) });
   * await words.foreach(capture({ longest }, (w) => longest.add(w)));
   * longest.value;
   * ```
   */
  customAccumulator<T, V>(param: AccumulatorParam<T, V>, name?: string): CustomAccumulator<T, V> {
    for (const f of ['zero', 'add', 'merge'] as const) {
      if (typeof param?.[f] !== 'function') throw new ArgumentTypeError(`customAccumulator: ${f} must be a function`);
    }
    return this.#register(new CustomAccumulator<T, V>(this.#nextSharedId++, param, name, this.#token));
  }

  /**
   * An accumulator of whole numbers that also counts them (Scala's `sc.longAccumulator`): tasks `add`, the driver
   * reads `value` (the sum), `count`, `avg`.
   *
   * @example
   * ```ts
   * const bytes = sc.longAccumulator('bytes');
   * await lines.foreach(capture({ bytes }, (l) => bytes.add(l.length)));
   * bytes.avg; // the mean line length
   * ```
   */
  longAccumulator(name?: string): LongAccumulator {
    return this.#register(new LongAccumulator(this.#nextSharedId++, name, this.#token));
  }

  /**
   * An accumulator of numbers that also counts them (Scala's `sc.doubleAccumulator`), as `longAccumulator` for any number.
   *
   * @example
   * ```ts
   * const latency = sc.doubleAccumulator('latency');
   * await calls.foreach(capture({ latency }, (c) => latency.add(c.ms)));
   * latency.avg;
   * ```
   */
  doubleAccumulator(name?: string): DoubleAccumulator {
    return this.#register(new DoubleAccumulator(this.#nextSharedId++, name, this.#token));
  }

  #register<A extends { readonly id: number }>(acc: A): A {
    this.#accumulators.set(acc.id, new WeakRef(acc as unknown as Accumulator<unknown>));
    this.#accumulatorCleaner.register(acc, acc.id);
    return acc;
  }

  #newAccumulator<T>(kind: AccumulatorKind, initial: T, name: string | undefined): Accumulator<T> {
    return this.#register(new Accumulator<T>(this.#nextSharedId++, kind, initial, name, this.#token));
  }

  #accumulator(id: number): Accumulator<unknown> {
    const a = this.#accumulators.get(id)?.deref();
    // internal: ship() refuses another context's accumulators, and the function being shipped holds this one
    if (a === undefined) throw new Error(`accumulator ${id} belongs to another context`);
    return a;
  }

  /**
   * Where `checkpoint()` writes RDDs: a folder of this context's own, named by a random UUID, under `dir` (as
   * Spark does). RDD ids restart at 0 in every context, so two contexts (two runs of a script, two applications)
   * given the same directory would otherwise write `rdd-5` over each other, and one would read the other's data.
   *
   * @example
   * ```ts
   * sc.setCheckpointDir('/tmp/kindling-checkpoints'); // sc.checkpointDir: /tmp/kindling-checkpoints/<uuid>
   * ```
   */
  setCheckpointDir(dir: string): void {
    if (typeof dir !== 'string' || dir === '')
      throw new ArgumentTypeError(`setCheckpointDir: dir must be a non-empty string, got ${describeArgument(dir)}`);
    const abs = path.join(path.resolve(localPathOf(dir, 'checkpoint directory')), randomUUID());
    mkdirSync(abs, { recursive: true });
    this.#checkpointDir = abs;
  }

  /** How many jobs computed the partitions of an RDD so far (cache hits and reused shuffles do not count). */
  timesComputed(rdd: RDD<unknown>): number {
    return this.#hints.timesComputed(rdd.id);
  }

  // ---- storage report ------------------------------------------------------------------------------------------

  /**
   * Per persisted RDD (Spark's getRDDStorageInfo): partitions cached, bytes in memory and on disk, and the
   * totals per worker.
   *
   * @example
   * ```ts
   * for (const info of sc.getRDDStorageInfo()) console.log(info.name, info.numCachedPartitions, info.memoryBytes);
   * ```
   */
  getRDDStorageInfo(): RDDStorageInfo[] {
    const live = [...this.#persisted.values()].flatMap((ref) => ref.deref() ?? []);
    return live.map((rdd) => {
      const s = this.#cache.summary(rdd.id);
      return {
        id: rdd.id,
        name: rdd.name ?? rdd.label,
        storageLevel: rdd.storageLevel.name,
        numPartitions: rdd.getNumPartitions(),
        numCachedPartitions: s.partitions,
        memoryBytes: s.memoryBytes,
        diskBytes: s.diskBytes,
        workers: [...s.byWorker].map(([workerIndex, w]) => ({ workerIndex, ...w })).sort((a, b) => a.workerIndex - b.workerIndex),
      };
    });
  }

  // ---- job control ---------------------------------------------------------------------------------------------

  /**
   * Puts the jobs started from here on (in this async call chain, as Spark does per thread) into a group,
   * which cancelJobGroup() cancels together and the UI and REST API show; the description, when given, is
   * those jobs' description in the UI, the REST API (`description`) and the event log, as in Spark. Node's
   * async context rules apply: called before the first `await` of an async function it also affects that
   * function's caller; to group one piece of work among concurrent ones, use {@link withJobGroup}.
   *
   * @example
   * ```ts
   * sc.setJobGroup('nightly', 'nightly aggregates');
   * const pending = rdd.count();
   * sc.cancelJobGroup('nightly'); // pending rejects with an AbortError
   * ```
   */
  setJobGroup(groupId: string, description?: string): void {
    checkJobGroup('setJobGroup', groupId, description);
    const { jobDescription: _, ...rest } = jobScope.getStore() ?? {};
    jobScope.enterWith({ ...rest, jobGroup: groupId, ...(description !== undefined ? { jobDescription: description } : {}) });
  }

  /**
   * Runs `body` with its jobs in a group (and `description`, see {@link setJobGroup}), leaving the caller's
   * group as it was.
   *
   * @example
   * ```ts
   * const nightly = sc.withJobGroup('nightly', () => rdd.count());
   * sc.cancelJobGroup('nightly');
   * ```
   */
  withJobGroup<R>(groupId: string, body: () => R, description?: string): R {
    checkJobGroup('withJobGroup', groupId, description);
    if (typeof body !== 'function') throw new ArgumentTypeError(`withJobGroup: body must be a function, got ${describeArgument(body)}`);
    const { jobDescription: _, ...rest } = jobScope.getStore() ?? {};
    return jobScope.run({ ...rest, jobGroup: groupId, ...(description !== undefined ? { jobDescription: description } : {}) }, body);
  }

  /** Jobs started from here on belong to no group. @example `sc.clearJobGroup()` */
  clearJobGroup(): void {
    const { jobGroup: _, jobDescription: __, ...rest } = jobScope.getStore() ?? {};
    jobScope.enterWith(rest);
  }

  /**
   * Cancels the running jobs of a group: they reject with an AbortError and their tasks are killed (a task
   * that does not stop within a second has its worker replaced). Other jobs go on. An action of the group still
   * waiting for the context to start (its executors) rejects with an AbortError too, before its job starts; the ids
   * returned are those of the jobs cancelled.
   *
   * @example
   * ```ts
   * sc.cancelJobGroup('nightly');
   * ```
   */
  cancelJobGroup(groupId: string): number[] {
    checkJobGroup('cancelJobGroup', groupId, undefined);
    const reason = `its job group '${groupId}' was cancelled`;
    for (const j of this.#submitted) if (j.group === groupId) j.reason ??= reason;
    for (const w of this.#waitingToStart) if (w.group === groupId) w.cancel(reason);
    return this.#dag.cancelJobGroup(groupId, reason);
  }

  /** Cancels every running job, and every action still waiting for the context to start. @example `sc.cancelAllJobs()` */
  cancelAllJobs(): number[] {
    for (const j of this.#submitted) j.reason ??= 'cancelAllJobs() was called';
    for (const w of this.#waitingToStart) w.cancel('cancelAllJobs() was called');
    return this.#dag.cancelAllJobs('cancelAllJobs() was called');
  }

  /** Cancels one running job by id; false if it is not running. @example `sc.cancelJob(3)` */
  cancelJob(jobId: number): boolean {
    return this.#dag.cancelJob(jobId, 'cancelJob() was called');
  }

  /**
   * Job and stage ids, their progress and their outcome (Spark's statusTracker): running ones live, ended ones while
   * retained (the latest 1,000 jobs and stages).
   *
   * @example
   * ```ts
   * sc.statusTracker().getActiveJobIds(); // [4]
   * sc.statusTracker().getJobInfo(3)?.status; // 'SUCCEEDED'
   * ```
   */
  statusTracker(): StatusTracker {
    return new StatusTracker(this.#dag);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------------

  /**
   * Stops the workers; running jobs fail, later actions reject. Idempotent; lets the process exit.
   *
   * @example
   * ```ts
   * await sc.stop();
   * ```
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopped = true;
      liveContexts.delete(this);
      this.#dag.abortAll((job) => new ContextStoppedError(`Job ${job.jobId} (${job.description}) failed: the context was stopped while it ran`));
      this.#tasks.stop();
      this.#progress?.stop();
      // A backend that fails to stop (a child that will not die) still leaves no UI, temp folder or timer behind;
      // the stop rejects with its error after that.
      try {
        await this.#backend.stop();
      } finally {
        try {
          await this.#ui?.stop();
        } finally {
          this.#localDirs.remove();
          if (this.#keepAlive) clearInterval(this.#keepAlive);
        }
      }
    })();
    return this.#stopping;
  }

  get isStopped(): boolean {
    return this.#stopped;
  }

  #checkRunning(what: string): void {
    if (this.#stopped) throw new ContextStoppedError(`Cannot ${what}: the context was stopped`);
  }

  /** Workers do not keep the process alive by themselves; a running job does. */
  #jobStarted(): void {
    if (this.#activeJobs++ === 0) this.#keepAlive = setInterval(() => undefined, 1 << 30);
  }
  #jobEnded(): void {
    if (--this.#activeJobs === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }
}

/**
 * The error of a job that could not start because the backend never became ready (no worker could start, no
 * executor came, the context was stopped meanwhile). The backend's one rejection serves every job, so each job
 * gets an error of its own that names it, of the same kind where the kind says something (a cluster, a stop).
 */
/**
 * The options of binaryFiles/objectFile: PySpark's `binaryFiles(path, minPartitions)` passes a number second, which an
 * options-only signature ignored (the files were read in the default number of partitions, no error).
 */
function fileReadOptions(
  op: string,
  minPartitionsOrOptions: number | { minPartitions?: number; recursive?: boolean } | undefined,
  moreOptions: { recursive?: boolean } | undefined,
): { minPartitions?: number; recursive?: boolean } {
  const hint = `pass ${op}(path, minPartitions) or ${op}(path, { minPartitions, recursive })`;
  checkOptionsArgument(op, moreOptions, ['recursive'], hint);
  if (typeof minPartitionsOrOptions === 'number') return { ...moreOptions, minPartitions: minPartitionsOrOptions };
  checkOptionsArgument(op, minPartitionsOrOptions, ['minPartitions', 'recursive'], hint);
  return minPartitionsOrOptions ?? moreOptions ?? {};
}

function startFailure(e: unknown, job: string): Error {
  const message = `Cannot run ${job}: ${e instanceof Error ? e.message : String(e)}`;
  const error =
    e instanceof ContextStoppedError
      ? new ContextStoppedError(message)
      : e instanceof ClusterError
        ? new ClusterError(message)
        : new JobFailedError(message, undefined, [toErrorInfo(e)]);
  (error as { cause?: unknown }).cause = e;
  return error;
}

/** An input path must be a string: a number reached the file listing as `spec.slice is not a function` at the action. */
function checkPathArgument(op: string, path: unknown): void {
  if (typeof path !== 'string') {
    throw new ArgumentTypeError(`${op}: path must be a string (a file, directory, glob or comma-separated list), got ${describeArgument(path)}`);
  }
}

/** A job group's id and description are text, as Spark's are: the UI, the REST API and the event log show them so. */
function checkJobGroup(method: string, groupId: unknown, description: unknown): void {
  if (typeof groupId !== 'string') throw new ArgumentTypeError(`${method}: groupId must be a string, got ${describeArgument(groupId)}`);
  if (description !== undefined && typeof description !== 'string')
    throw new ArgumentTypeError(`${method}: description must be a string, got ${describeArgument(description)}`);
}
