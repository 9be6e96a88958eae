import { InvalidDataError, InvalidArgumentError } from '../core/errors.js';
/**
 * How elements become lines and partitions become file names in `saveAsTextFile` output.
 *
 * Kept apart from the commit protocol because workers need these on every element while the
 * protocol runs a handful of times per job.
 */

/**
 * Formats one element as a line of text (without the newline).
 *
 * Strings are written as they are (a string containing `\n` therefore spans several lines, as in
 * Spark); numbers, bigints and booleans with `String`; `undefined` as `undefined`; a `Date` as its
 * ISO string; anything else (arrays, objects, `null`) as JSON, where bigints become decimal strings and
 * `Map`/`Set` become arrays of entries/values instead of JSON's lossy `{}`.
 *
 * @throws TypeError when the value cannot be written as JSON (a cycle, for instance).
 *
 * @example
 * ```ts
 * formatTextLine('hello'); // 'hello'
 * formatTextLine(42); // '42'
 * formatTextLine(['word', 3]); // '["word",3]'
 * ```
 */
export function formatTextLine(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
    case 'symbol':
    case 'function':
      return String(value);
    default:
      break;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  try {
    return JSON.stringify(value, jsonReplacer) ?? String(value);
  } catch (err) {
    throw new InvalidDataError(
      `Cannot write element as a text line: ${(err as Error).message}. ` + 'Map elements to strings (e.g. rdd.map(formatFn)) before saveAsTextFile.',
      { cause: err },
    );
  }
}

function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return [...v.entries()];
  if (v instanceof Set) return [...v.values()];
  return v;
}

/**
 * The output file name for a partition: `part-` and the index padded to 5 digits (more if needed).
 *
 * @example
 * ```ts
 * partFileName(7); // 'part-00007'
 * partFileName(123456); // 'part-123456'
 * ```
 */
export function partFileName(partition: number): string {
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new InvalidArgumentError(`Partition index must be a non-negative integer, got ${partition}.`);
  }
  return `part-${String(partition).padStart(5, '0')}`;
}
