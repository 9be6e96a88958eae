/**
 * Shipping user functions to worker threads as source text: `capture` and `useModule` declare
 * what a function needs, `shipFunction` checks it on the driver, `compileFunction` rebuilds it
 * in a worker.
 */
export { capture, useModule, ModuleRef, kShip, type Shippable, type WireShippable, type AccumulatorKind } from './capture.js';
export { ClosureError } from './errors.js';
export { shipFunction, eachCapturedEntry, type ShippedFunction, type WireEnvValue, type ShipOptions } from './ship.js';
export {
  compileFunction,
  compileCacheStats,
  clearCompileCache,
  userCodeFrame,
  type ClosureRuntime,
  type Fn,
  type Compile,
} from './compile.js';
export { importModuleFrom } from './modules.js';
export { findUnclonable, findClassInstance, type ClassInstance } from './clonable.js';
