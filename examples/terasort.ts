/**
 * A TeraSort-like sort: generate N records of 100 bytes (a 10-character printable key and a 90-character
 * payload, as gensort's ASCII records), sort them by key with `sortByKey` (a sampled range partitioner), and
 * validate as TeraValidate does: every partition in order, partition boundaries in order, and the same record
 * count and checksum (sum of per-record FNV-1a hashes, mod 2^32) as the input.
 *
 * Records are generated in the workers (`range` + `map`) from their index alone (`teraRecord(seed, i)`), so
 * the data do not depend on the partitioning and a baseline can generate exactly the same records.
 *
 *   npx tsx examples/terasort.ts --master local[2] [--records 1000000] [--partitions 4] [--small] [--output dir]
 */
import { capture, type Context, type RDD } from 'kindling';
import { teraSortBaseline } from '../bench/baselines/terasort.js';
import { Timer, check, isMain, parseCli, printTable, runMain, type ExampleResult } from './common.js';

export const KEY_LENGTH = 10;
export const PAYLOAD_LENGTH = 90;

export interface TeraSortOptions {
  /** Records to generate (default 1,000,000, or 50,000 with `small`). */
  readonly records?: number;
  readonly small?: boolean;
  /** Partitions of the input and of the sorted output (default twice the workers). */
  readonly partitions?: number;
  readonly seed?: number;
  /** Also write the sorted records (`key payload` lines) to this directory with saveAsTextFile. */
  readonly output?: string;
}

export interface TeraSortSummary {
  readonly records: number;
  /** Sum of the records' FNV-1a hashes, mod 2^32: equal for any permutation of the same records. */
  readonly checksum: number;
  readonly firstKey: string | undefined;
  readonly lastKey: string | undefined;
  /** Every partition sorted, and each partition's keys at most the next one's. */
  readonly ordered: boolean;
  /** Records per output partition (one entry for the baseline). */
  readonly partitionSizes: readonly number[];
}

/**
 * Record `index` of the data set `seed`: a key of 10 printable ASCII characters (' ' to '~') drawn with
 * mulberry32 seeded from the index, and a payload of the index in hex and a filler. Uses only its arguments
 * and standard globals, so it ships to workers as a captured helper.
 *
 * @example
 * ```ts
 * const [key, payload] = teraRecord(42, 0); // key.length === 10, payload.length === 90
 * ```
 */
export function teraRecord(seed: number, index: number): [string, string] {
  let s = (Math.imul(index, 0x9e3779b1) ^ Math.imul(seed + 1, 0x85ebca77)) >>> 0;
  let key = '';
  for (let k = 0; k < 10; k++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    key += String.fromCharCode(32 + (((t ^ (t >>> 14)) >>> 0) % 95));
  }
  const id = index.toString(16).toUpperCase().padStart(16, '0');
  const filler = String.fromCharCode(65 + (index % 26)).repeat(90 - 16 - 2);
  return [key, `${id}  ${filler}`];
}

/** FNV-1a hash of a record's key and payload. Shipped to workers as a captured helper. */
export function recordHash(key: string, payload: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The input and the sorted RDDs, without running anything. */
export function teraSortRdds(sc: Context, options: TeraSortOptions = {}): { input: RDD<[string, string]>; sorted: RDD<[string, string]> } {
  const records = options.records ?? (options.small ? 50_000 : 1_000_000);
  const partitions = options.partitions ?? 2 * sc.defaultParallelism;
  const seed = options.seed ?? 42;
  const input = sc
    .range(0, records, 1, partitions)
    .map(capture({ seed, teraRecord }, (i: number) => teraRecord(seed, i)))
    .setName('teragen')
    .cache(); // TeraGen's output: the checksum job, the sampling job and the sort all read it
  return { input, sorted: input.sortByKey(true, partitions).setName('sorted') };
}

interface PartitionCheck {
  readonly partition: number;
  readonly count: number;
  readonly checksum: number;
  readonly first: string | undefined;
  readonly last: string | undefined;
  readonly ordered: boolean;
}

/**
 * Generates, sorts and validates; returns the summary and the timing of each phase.
 *
 * @example
 * ```ts
 * const { summary } = await run(sc, { records: 10_000 });
 * summary.ordered; // true
 * ```
 */
export async function run(sc: Context, options: TeraSortOptions = {}): Promise<ExampleResult<TeraSortSummary>> {
  const timer = new Timer();
  const { input, sorted } = teraSortRdds(sc, options);
  const inputSums = await timer.time(
    'generate + checksum input',
    () =>
      input
        .map(capture({ recordHash }, ([k, v]: [string, string]) => [1, recordHash(k, v)] as [number, number]))
        .fold([0, 0], (a, b) => [a[0] + b[0], (a[1] + b[1]) >>> 0]),
    ([n]) => `${n} records`,
  );
  // Validation rides along with the job that consumes the sorted records (the save, or a count): each partition
  // reports its count, checksum, first and last key and whether it was in order, through an accumulator.
  const partitionChecks = sc.collectionAccumulator<PartitionCheck>('partition checks');
  const checked = sorted.mapPartitionsWithIndex(
    capture({ recordHash, partitionChecks }, function* (partition: number, it: Iterable<[string, string]>) {
      let count = 0;
      let checksum = 0;
      let first: string | undefined;
      let last: string | undefined;
      let ordered = true;
      for (const record of it) {
        const k = record[0];
        if (last !== undefined && k < last) ordered = false;
        if (first === undefined) first = k;
        last = k;
        count++;
        checksum = (checksum + recordHash(k, record[1])) >>> 0;
        yield record;
      }
      partitionChecks.add({ partition, count, checksum, first, last, ordered });
    }),
  );
  const output = options.output;
  if (output === undefined) {
    await timer.time(
      'sample + sort + validate',
      () => checked.count(),
      () => `${sorted.getNumPartitions()} partitions`,
    );
  } else {
    await timer.time(
      'sample + sort + validate + save',
      () => checked.map(([k, v]) => `${k}${v}`).saveAsTextFile(output, { overwrite: true }),
      () => output,
    );
  }
  const checks = [...partitionChecks.value].sort((a, b) => a.partition - b.partition);
  check(checks.length === sorted.getNumPartitions(), `${checks.length} partition reports for ${sorted.getNumPartitions()} partitions`);
  let ordered = checks.every((c) => c.ordered);
  let previousLast: string | undefined;
  let checksum = 0;
  let count = 0;
  for (const c of checks) {
    if (c.first !== undefined && previousLast !== undefined && c.first < previousLast) ordered = false;
    if (c.last !== undefined) previousLast = c.last;
    checksum = (checksum + c.checksum) >>> 0;
    count += c.count;
  }
  check(count === inputSums[0], `the output has ${count} records, the input ${inputSums[0]}`);
  check(checksum === inputSums[1], `the output's checksum ${checksum} differs from the input's ${inputSums[1]}`);
  check(ordered, 'the output is not in key order');
  return {
    summary: {
      records: count,
      checksum,
      firstKey: checks.find((c) => c.first !== undefined)?.first,
      lastKey: previousLast,
      ordered,
      partitionSizes: checks.map((c) => c.count),
    },
    timings: timer.timings,
  };
}

export function printSummary(s: TeraSortSummary): void {
  console.log(
    `\nTeraSort: ${s.records} records of ${KEY_LENGTH + PAYLOAD_LENGTH} bytes in ${s.partitionSizes.length} partitions, ` +
      `${s.ordered ? 'in order' : 'NOT in order'}, checksum ${s.checksum.toString(16)}`,
  );
  printTable(
    ['', 'key'],
    [
      ['first', JSON.stringify(s.firstKey)],
      ['last', JSON.stringify(s.lastKey)],
    ],
  );
  console.log(`  records per partition: ${s.partitionSizes.join(', ')}`);
}

if (isMain(import.meta.url)) {
  const cli = parseCli('terasort', 'A TeraSort-like sort of generated 100-byte records, validated', {
    records: { type: 'string', help: 'records to generate (default 1000000; 50000 with --small)' },
    partitions: { type: 'string', help: 'input and output partitions (default 2 x workers)' },
    seed: { type: 'string', help: 'seed of the records (default 42)' },
    output: { type: 'string', help: 'also write the sorted records to this directory' },
  });
  await runMain(cli, 'terasort', async (sc) => {
    const options: TeraSortOptions = {
      records: cli.string('records') === undefined ? undefined : cli.int('records', 0),
      small: cli.small,
      partitions: cli.string('partitions') === undefined ? undefined : cli.int('partitions', 1),
      seed: cli.int('seed', 42),
      output: cli.string('output'),
    };
    const result = await run(sc, options);
    printSummary(result.summary);
    console.log('validated: every partition in order, boundaries in order, same record count and checksum as the input');
    if (cli.validate) {
      const base = teraSortBaseline(result.summary.records, options.seed).summary;
      check(
        base.checksum === result.summary.checksum && base.firstKey === result.summary.firstKey && base.lastKey === result.summary.lastKey,
        'the summary differs from the single-thread baseline',
      );
      console.log('validated: same checksum, first and last key as the single-thread baseline');
    }
    return result;
  });
}
