/** Errors of the UI subsystem. */
import { KindlingError, type KindlingErrorCode } from '../core/errors.js';

/**
 * The UI server could not start (no free port in range, a host that cannot be bound), or an event log could not
 * be read or written.
 *
 * @example
 * ```ts
 * try { await startHistoryServer({ dir: 'logs' }); } catch (e) { if (e instanceof UiError) console.error(e.message); }
 * ```
 */
export class UiError extends KindlingError {
  override name = 'UiError';
  override readonly code: KindlingErrorCode = 'KINDLING_UI';
}
