/**
 * Scheduler events: what the DAG and task schedulers publish on the context's event bus.
 *
 * Consumers (console progress bar, logs, later a web UI and an event log) subscribe; the scheduler never
 * waits on them. Every event is plain data so it can be logged or sent elsewhere as it is.
 */

import type { ExecutorChange } from '../exec/backends.js';
import type { TaskMetrics } from '../exec/protocol.js';
import type { MetricQuantiles, SkewReport } from './task-metrics.js';
import type { StageInfo } from './stage-info.js';

export interface JobStartEvent {
  readonly type: 'jobStart';
  readonly jobId: number;
  readonly time: number;
  /** What started the job, e.g. `collect at RDD 7 (words)`. */
  readonly description: string;
  readonly stageIds: readonly number[];
  /** Set with Context.setJobGroup. */
  readonly jobGroup?: string;
  /** The description given to setJobGroup (Spark's spark.job.description): what the UI shows for the job. */
  readonly jobDescription?: string;
  /** The job's stages with their RDDs (for DAG drawings); stages a previous job ran are included. */
  readonly stages?: readonly StageInfo[];
}

export interface JobEndEvent {
  readonly type: 'jobEnd';
  readonly jobId: number;
  readonly time: number;
  readonly result: 'succeeded' | 'failed';
  readonly error?: string;
}

export interface StageSubmittedEvent {
  readonly type: 'stageSubmitted';
  readonly jobId: number;
  readonly stageId: number;
  readonly attempt: number;
  readonly name: string;
  /** Tasks this attempt runs (partitions still missing), and the stage's total partition count. */
  readonly numTasks: number;
  readonly numPartitions: number;
  readonly time: number;
}

export interface StageCompletedEvent {
  readonly type: 'stageCompleted';
  readonly jobId: number;
  readonly stageId: number;
  readonly attempt: number;
  readonly time: number;
  readonly result: 'succeeded' | 'failed';
  readonly failureReason?: string;
  /** Quantiles of the worker-measured metrics of this attempt's successful tasks (absent without any). */
  readonly taskMetrics?: MetricQuantiles;
  /** Set when the slowest task took more than 3x the median and more than 1 s. */
  readonly skew?: SkewReport;
}

export interface TaskStartEvent {
  readonly type: 'taskStart';
  readonly stageId: number;
  readonly stageAttempt: number;
  readonly partition: number;
  readonly attempt: number;
  readonly workerIndex: number;
  /** The executor (Spark's executor id) behind the worker index at that time. */
  readonly executorId: string;
  readonly speculative: boolean;
  readonly time: number;
}

export interface TaskEndEvent {
  readonly type: 'taskEnd';
  readonly stageId: number;
  readonly stageAttempt: number;
  readonly partition: number;
  readonly attempt: number;
  readonly workerIndex: number;
  /** The executor (Spark's executor id) behind the worker index at that time. */
  readonly executorId: string;
  readonly speculative: boolean;
  readonly result: 'success' | 'failed' | 'killed';
  readonly error?: string;
  /** Driver-side: from handing the task to a worker to its outcome (queueing included). */
  readonly durationMs: number;
  /** Measured by the worker; absent when the worker died before answering. */
  readonly metrics?: TaskMetrics;
  /** Spark's locality levels: on a worker caching its input, elsewhere, or no preference. */
  readonly locality: 'PROCESS_LOCAL' | 'ANY' | 'NO_PREF';
  readonly time: number;
}

/**
 * Task starts and ends of one turn of the scheduler, in order, for the listeners that take them in batches
 * (`bus.onAny(listener, { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } })`, the web UI): one
 * event per turn instead of one per task. Its records are the scheduler's, filled anew for the next batch: a listener
 * copies what it keeps while it runs.
 */
export interface TaskBatchEvent {
  readonly type: 'taskBatch';
  readonly tasks: TaskEvents;
}

/** The task events of a batch, in order; a record read here is valid only while the batch is delivered. */
export interface TaskEvents {
  readonly size: number;
  /** The i-th event, 0 ≤ i < size. */
  event(i: number): TaskStartEvent | TaskEndEvent;
  /**
   * The same events as typed rows, written once while each outcome was hot (see TaskRows), or undefined when the
   * batch holds only records (a batch built by hand). Listeners that keep many tasks (the status store, the event
   * log) copy rows instead of reading each record and its metrics object again.
   */
  readonly rows?: TaskRows;
}

/**
 * Numbers per task row: stageId, stageAttempt, partition, attempt, workerIndex, durationMs, time, a metrics flag
 * (1: the end carried metrics), then the summarized metrics in SUMMARIZED_METRICS order (0 when absent). The event
 * log's block row has this very layout (it copies rows as they are).
 */
export const TASK_ROW_WIDTH = 26;
/** Offset of the metrics flag, and of the first metric, in a task row. */
export const TASK_ROW_FLAG = 7;
export const TASK_ROW_METRICS = 8;
/** Codes per task row: kind (0 start, 1 end), speculative (0/1), result (0 success, 1 failed, 2 killed), locality (0 PROCESS_LOCAL, 1 ANY, 2 NO_PREF). */
export const TASK_ROW_CODES = 4;

/** A batch's events as rows (see {@link TaskEvents.rows}); row i is event i. */
export interface TaskRows {
  /** TASK_ROW_WIDTH numbers per event. A start's durationMs and metrics are 0. */
  readonly numbers: Float64Array;
  /** TASK_ROW_CODES codes per event. */
  readonly codes: Uint8Array;
  readonly executorIds: readonly string[];
  /** An end's error, else undefined. */
  readonly errors: ReadonlyArray<string | undefined>;
  /** An end's metrics object as the worker sent it, else undefined. */
  readonly metrics: ReadonlyArray<TaskMetrics | undefined>;
  /**
   * An end's key sample (its metrics' `keySample`), else undefined: read off the worker's object when the row is
   * written, while it is in the cache. Read a batch later by the store and the log, that object was a cache miss per
   * task on the driver's thread (~0.1 µs, docs/benchmarks.md session 28).
   */
  readonly keySamples: ReadonlyArray<readonly string[] | undefined>;
}

/** A worker thread died; its in-flight tasks failed and its shuffle outputs and cached blocks are gone. */
export interface WorkerLostEvent {
  readonly type: 'workerLost';
  readonly workerIndex: number;
  /** The executor (Spark's executor id) behind the worker index at that time. */
  readonly executorId: string;
  readonly reason: string;
  readonly time: number;
}

/** A worker (first start or replacement) accepts tasks. */
export interface WorkerAddedEvent {
  readonly type: 'workerAdded';
  readonly workerIndex: number;
  /** The executor (Spark's executor id) behind the worker index at that time. */
  readonly executorId: string;
  readonly replacement: boolean;
  readonly time: number;
}

/**
 * An executor process of a cluster (`redis://`, `local-cluster[N]`) was leased by this driver (Spark's
 * SparkListenerExecutorAdded); its task slots then appear as `workerAdded`.
 */
export type ExecutorAddedEvent = Extract<ExecutorChange, { type: 'executorAdded' }> & { readonly time: number };

/** An executor process of a cluster was lost or left (Spark's SparkListenerExecutorRemoved); its slots are `workerLost`. */
export type ExecutorRemovedEvent = Extract<ExecutorChange, { type: 'executorRemoved' }> & { readonly time: number };

/** A stage runs again because shuffle output it needed was lost (Spark's FetchFailed). */
export interface StageResubmittedEvent {
  readonly type: 'stageResubmitted';
  readonly stageId: number;
  readonly reason: string;
  readonly time: number;
}

/** A cached partition was added to a worker's memory or disk, spilled to disk, evicted, or dropped. */
export interface BlockUpdatedEvent {
  readonly type: 'blockUpdated';
  readonly workerIndex: number;
  /** The executor (Spark's executor id) behind the worker index at that time. */
  readonly executorId: string;
  readonly rddId: number;
  readonly partition: number;
  readonly change: 'added' | 'evicted' | 'spilled' | 'dropped';
  readonly memoryBytes: number;
  readonly diskBytes: number;
  readonly time: number;
}

/** A micro-batch of a StreamingContext: `id` counts batches from 0, `ms` is its aligned batch time. */
export interface StreamingBatchTime {
  readonly id: number;
  readonly ms: number;
}

/** One input of a streaming batch: records taken, records dropped by back pressure, what stays buffered. */
export interface StreamingSourceStatus {
  readonly name: string;
  /** Undefined when the source hands over an RDD (files) whose size is not known before it is read. */
  readonly records?: number;
  readonly dropped: number;
  readonly buffered: number;
  /** Records per second the source may deliver per batch (back pressure), when limited. */
  readonly rateLimit?: number;
  /** Entries waiting at the broker after this batch's read, where the broker reports it (Redis consumer groups). */
  readonly lag?: number;
}

/** A StreamingContext started (Spark's onStreamingStarted): its batch interval, and its input sources by name. */
export interface StreamingStartedEvent {
  readonly type: 'streamingStarted';
  readonly batchIntervalMs: number;
  readonly sources: readonly string[];
  readonly time: number;
}

/** A streaming batch was cut from its sources and queued (Spark's onBatchSubmitted). */
export interface BatchSubmittedEvent {
  readonly type: 'batchSubmitted';
  readonly batch: StreamingBatchTime;
  readonly records: number;
  readonly sources: readonly StreamingSourceStatus[];
  readonly time: number;
}

/** A streaming batch's output operations start; `schedulingDelayMs` is the time it waited behind earlier batches. */
export interface BatchStartedEvent {
  readonly type: 'batchStarted';
  readonly batch: StreamingBatchTime;
  readonly schedulingDelayMs: number;
  readonly time: number;
}

/** A streaming batch finished (Spark's BatchInfo): delays in ms; `error` when an output operation failed. */
export interface BatchCompletedEvent {
  readonly type: 'batchCompleted';
  readonly batch: StreamingBatchTime;
  readonly records: number;
  readonly schedulingDelayMs: number;
  readonly processingMs: number;
  readonly totalDelayMs: number;
  readonly sources: readonly StreamingSourceStatus[];
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly ms: number }>;
  readonly error?: string;
  readonly time: number;
}

/** The back-pressure rate estimator of a streaming source published a new limit. */
export interface RateUpdatedEvent {
  readonly type: 'rateUpdated';
  readonly source: string;
  readonly recordsPerSec: number;
  readonly time: number;
}

/** An event-time stream finished measuring a batch: the watermark it used, the next one, its late records. */
export interface WatermarkAdvancedEvent {
  readonly type: 'watermarkAdvanced';
  readonly stream: string;
  readonly batch: StreamingBatchTime;
  readonly watermarkMs: number;
  readonly nextWatermarkMs: number;
  /** Records of this batch older than its watermark, dropped. */
  readonly lateRecords: number;
  readonly time: number;
}

/**
 * A streaming receiver's input failed (or, for a socket, ended) and will be opened again after `restartDelayMs`
 * (Spark's onReceiverError): `message` is Spark's restart message, `error` the input's error when there was one.
 */
export interface ReceiverErrorEvent {
  readonly type: 'receiverError';
  readonly source: string;
  readonly message: string;
  readonly error?: string;
  readonly restartDelayMs: number;
  /** Restarts of this source so far, this one included. */
  readonly restarts: number;
  readonly time: number;
}

/** A StreamingContext stopped. */
export interface StreamingStoppedEvent {
  readonly type: 'streamingStopped';
  readonly graceful: boolean;
  readonly batchesCompleted: number;
  readonly error?: string;
  readonly time: number;
}

export type SchedulerEvent =
  | JobStartEvent
  | JobEndEvent
  | StageSubmittedEvent
  | StageCompletedEvent
  | TaskStartEvent
  | TaskEndEvent
  | TaskBatchEvent
  | WorkerLostEvent
  | WorkerAddedEvent
  | ExecutorAddedEvent
  | ExecutorRemovedEvent
  | StageResubmittedEvent
  | BlockUpdatedEvent
  | StreamingEvent;

/** What a StreamingContext publishes (the UI's Streaming page is built from these alone). */
export type StreamingEvent =
  | StreamingStartedEvent
  | BatchSubmittedEvent
  | BatchStartedEvent
  | BatchCompletedEvent
  | RateUpdatedEvent
  | WatermarkAdvancedEvent
  | ReceiverErrorEvent
  | StreamingStoppedEvent;

export type SchedulerEventType = SchedulerEvent['type'];
