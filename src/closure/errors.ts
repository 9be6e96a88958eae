import { KindlingError, type KindlingErrorCode } from '../core/errors.js';

/**
 * Thrown on the driver when a function cannot be shipped to worker threads: an undeclared
 * free variable, a native or bound function, a class, an async function, `this`, an env value
 * that cannot be cloned, or source the parser cannot read. The message names the offending
 * identifier, the function (its `what` label) and the fix.
 *
 * @example
 * ```ts
 * import { ClosureError, shipFunction } from './index.js';
 * const factor = 3;
 * try {
 *   shipFunction((x: number) => x * factor, 'map function of RDD 3 (words)');
 * } catch (err) {
 *   if (err instanceof ClosureError) console.error(err.message, err.identifier); // ... 'factor'
 * }
 * ```
 */
export class ClosureError extends KindlingError {
  override name = 'ClosureError';
  override readonly code: KindlingErrorCode = 'KINDLING_CLOSURE';
  /** The label of the function that could not be shipped, e.g. "map function of RDD 3 (words)". */
  readonly what: string;
  /** The offending identifier or env key, when there is one. */
  readonly identifier: string | undefined;

  constructor(what: string, message: string, identifier?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.what = what;
    this.identifier = identifier;
  }
}
