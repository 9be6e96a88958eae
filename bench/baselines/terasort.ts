/**
 * Hand-written single-threaded TeraSort: the COST baseline for examples/terasort.ts. Generates the same records
 * (`teraRecord(seed, i)` for i = 0 .. n-1), sorts them with Array.prototype.sort by key (ties by payload), and
 * summarizes them as the example does.
 */
import type { ExampleResult, Timing } from '../../examples/common.js';
import { recordHash, teraRecord, type TeraSortSummary } from '../../examples/terasort.js';

/**
 * @example
 * ```ts
 * const { summary, sorted } = teraSortBaseline(1_000_000, 42);
 * ```
 */
export function teraSortBaseline(records: number, seed = 42): ExampleResult<TeraSortSummary> & { sorted: Array<[string, string]> } {
  const timings: Timing[] = [];
  let t0 = performance.now();
  const data: Array<[string, string]> = new Array(records);
  for (let i = 0; i < records; i++) data[i] = teraRecord(seed, i);
  timings.push({ phase: 'generate', ms: performance.now() - t0, note: `${records} records` });
  t0 = performance.now();
  data.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  timings.push({ phase: 'sort', ms: performance.now() - t0 });
  t0 = performance.now();
  let checksum = 0;
  let ordered = true;
  for (let i = 0; i < data.length; i++) {
    const [k, v] = data[i]!;
    if (i > 0 && k < data[i - 1]![0]) ordered = false;
    checksum = (checksum + recordHash(k, v)) >>> 0;
  }
  timings.push({ phase: 'validate', ms: performance.now() - t0 });
  return {
    summary: { records, checksum, firstKey: data[0]?.[0], lastKey: data.at(-1)?.[0], ordered, partitionSizes: [records] },
    timings,
    sorted: data,
  };
}
