/**
 * kindling: a Spark-like, in-memory RDD dataflow engine for TypeScript on Node.js.
 *
 * @example
 * ```ts
 * import { Context, capture } from 'kindling';
 * const sc = new Context({ master: 'local[2]' });
 * const factor = 10;
 * console.log(await sc.range(5).map(capture({ factor }, (x) => x * factor)).collect());
 * await sc.stop();
 * ```
 */
export {
  Context,
  type FaultInjector,
  type ContextSnapshot,
  type RDDStorageInfo,
  type LogLevel,
  type CsvFileOptions,
  type SplitReadOptions,
} from './context/context.js';
export type { CsvMode } from './io/index.js';
export type { ContextOptions } from './context/options.js';
export { Broadcast, Accumulator, CustomAccumulator, LongAccumulator, DoubleAccumulator, type AccumulatorParam } from './context/shared-variables.js';
export { RDD, taskContext, type TaskInfo, type NotPairs, type WidenLiteral, type CustomPartitioner } from './rdd/index.js';
export { structuralMap } from './core/structural-map.js';
export type { Stats } from './rdd/actions.js';
export { StatCounter } from './rdd/stat-counter.js';
export { BoundedDouble, PartialResult } from './rdd/approx.js';
export { StorageLevel } from './storage/storage-level.js';
export { HashPartitioner, RangePartitioner, type Partitioner } from './core/partitioner.js';
export { capture, useModule, ClosureError } from './closure/index.js';
export {
  JobFailedError,
  ContextStoppedError,
  KindlingError,
  OutputPathError,
  InputPathError,
  NotAPairError,
  UnclonableDataError,
  InvalidArgumentError,
  ArgumentTypeError,
  InvalidOptionError,
  InvalidDataError,
  IllegalStateError,
  ModuleImportError,
  EmptyCollectionError,
  OutputCommitError,
  CommitDeniedError,
  CheckpointError,
  ClusterError,
  HeapLimitError,
  type KindlingErrorCode,
  type ErrorInfo,
} from './core/errors.js';
export { EventBus } from './scheduler/event-bus.js';
export type * from './scheduler/events.js';
export type { TaskMetrics } from './exec/protocol.js';
export { quantiles, summarizeTaskMetrics, detectSkew, type Quantiles, type MetricQuantiles, type SkewReport } from './scheduler/task-metrics.js';
export type { StageInfo, RddInfo } from './scheduler/stage-info.js';
export { AbortError } from './core/errors.js';
export type { ActionOptions } from './core/job-scope.js';
export { StatusTracker, type JobStatusInfo, type StageStatusInfo } from './context/status-tracker.js';
export { UiError } from './ui/errors.js';
export type { UiOptions, EventLogOptions } from './ui/options.js';
export {
  StreamingContext,
  DStream,
  MapWithStateDStream,
  EventTimeDStream,
  type EventWindow,
  type OutputMode,
  StateSpec,
  type State,
  type MappingFunction,
  ManualClock,
  SystemClock,
  PidRateEstimator,
  parseDuration,
  formatBatchLine,
  StreamingJobError,
  type StreamingOptions,
  type StreamingState,
  type CheckpointRecovery,
  type RDDsOf,
  type BatchTime,
  type WindowSpec,
  type Clock,
  type Duration,
  type PidOptions,
  type Source,
  type SourceBatch,
  type BatchReport,
  type BackpressureOptions,
  type ReceiverOptions,
  type RedisEntry,
  type RedisSourceOptions,
  type RedisSinkOptions,
} from './streaming/index.js';
