/** The RDD layer's surface for the rest of the engine (loads the modules in the order internal.ts fixes). */
export * from './internal.js';
export { rebuildRdds } from './registry.js';
export type { RddContext } from './rdd-context.js';
export { WORKER_RDD_CONTEXT } from './rdd-context.js';
export type { TaskContext, CachedBlocks, Pair } from './task-context.js';
export type { ResultFunctionWire } from './result-functions.js';
export { prepareResultFunction } from './result-functions.js';
export { CompiledPartitioner, ShippedPartitioner, isCustomPartitioner, type CustomPartitioner } from './user-partitioner.js';
export { setCurrentTask, taskContext, type TaskInfo } from './task-info.js';
