import { ArgumentTypeError, InvalidArgumentError } from '../core/errors.js';

/** A duration: milliseconds, or a string with a unit (`'500ms'`, `'2s'`, `'1m'`, `'1h'`). */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h'}`;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds of a {@link Duration}; refuses anything that is not a positive whole number of milliseconds, so a
 * typo fails at the call rather than as a batch interval of NaN.
 *
 * @example
 * ```ts
 * parseDuration('2s', 'batchInterval'); // 2000
 * ```
 */
export function parseDuration(d: Duration, what: string): number {
  let ms: number;
  if (typeof d === 'number') ms = d;
  else if (typeof d === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(d);
    if (m === null) throw new InvalidArgumentError(`${what}: cannot read duration '${d}'; use milliseconds or a string such as '500ms', '2s', '1m'`);
    ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  } else throw new ArgumentTypeError(`${what}: expected a duration (milliseconds or a string such as '2s'), got ${typeof d}`);
  if (!Number.isInteger(ms) || ms <= 0)
    throw new InvalidArgumentError(`${what}: a duration must be a positive whole number of milliseconds, got ${String(d)}`);
  return ms;
}

/** Refuses a duration that is not a multiple of `baseMs` (windows and slides must cover whole batches, as in Spark). */
export function checkMultiple(ms: number, baseMs: number, what: string, base: string): void {
  if (ms % baseMs !== 0) throw new InvalidArgumentError(`${what} (${ms} ms) must be a multiple of ${base} (${baseMs} ms)`);
}
