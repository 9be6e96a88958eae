export {
  StreamingContext,
  StreamingJobError,
  type StreamingOptions,
  type StreamingState,
  type CheckpointRecovery,
  type RDDsOf,
} from './streaming-context.js';
export { DStream, EventTimeDStream, MapWithStateDStream, type BatchTime, type WindowSpec } from './dstream.js';
export { StateSpec, type State, type MappingFunction } from './map-with-state.js';
export { ManualClock, SystemClock, type Clock } from './clock.js';
export { parseDuration, type Duration } from './duration.js';
export { PidRateEstimator, type PidOptions } from './rate-estimator.js';
export type { Source, SourceBatch, BatchReport, BackpressureOptions, ReceiverOptions } from './sources.js';
export type { RedisEntry, RedisSourceOptions, RedisSinkOptions } from './redis.js';
export { formatBatchLine } from './console-line.js';
export type { EventWindow, OutputMode } from './event-time.js';
