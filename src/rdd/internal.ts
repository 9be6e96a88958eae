/**
 * Load order of the RDD modules. The base class and its subclasses refer to each other (transformations build
 * subclasses; subclasses extend the base), so every module imports its siblings from here and this file fixes
 * the order: the base class first, then the kinds. Code outside src/rdd imports from './index.js'.
 */
export * from './rdd.js';
export * from './parallel-collection-rdd.js';
export * from './range-rdd.js';
export * from './empty-rdd.js';
export * from './mapped-rdd.js';
export * from './map-async-rdd.js';
export * from './map-partitions-rdd.js';
export * from './union-rdd.js';
export * from './coalesced-rdd.js';
export * from './cartesian-rdd.js';
export * from './zipped-partitions-rdd.js';
export * from './zipped-with-index-rdd.js';
export * from './shuffled-rdd.js';
export * from './cogrouped-rdd.js';
export * from './input-files-rdd.js';
export * from './text-file-rdd.js';
export * from './csv-file-rdd.js';
export * from './whole-files-rdd.js';
export * from './whole-text-files-rdd.js';
export * from './binary-files-rdd.js';
export * from './binary-records-rdd.js';
export * from './checkpoint-rdd.js';
export * from './local-checkpoint-rdd.js';
export * as pair from './pair-functions.js';
export * as setOps from './set-operations.js';
export * as actions from './actions.js';
