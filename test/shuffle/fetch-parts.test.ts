/**
 * Bounded fetches (`SpillingShuffleManager.fetchParts`, `ShuffleFetcher` asking for parts): a reducer receives a
 * large bucket a part at a time, so that no answer it deserializes is larger than a bound the heap guard checks
 * for. Served in parts, a bucket holds exactly what it holds served whole: the same records in the same order
 * when the output stayed in memory; when it spilled, run by run (each key's records in the same order, the
 * whole bucket no longer merged by key). A reducer's input keeps each map output's order per key; between map
 * outputs fetched in parts from several peers, as in Spark, it promises none. For keys of every kind, values of every kind, empty buckets, spills,
 * outputs on disk (the mapreduce engine), outputs moved to disk after being read, and any bound down to one
 * record per answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { compareKeys } from '../../src/core/keys.js';
import { ShuffleFetcher, fetchPartBytes } from '../../src/exec/shuffle-fetcher.js';
import { decodeBucket, encodeBucket, encodedBytes, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import { armHeapGuard } from '../../src/core/heap-guard.js';
import { HeapLimitError } from '../../src/core/errors.js';
import { estimateSize } from '../../src/storage/size-estimator.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { FetchedInput } from '../../src/shuffle/fetched-input.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import { BUCKET_START, type BucketCursor } from '../../src/shuffle/shuffle-manager.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-fetch-parts-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Deep equality that tells -0 from 0 and NaN from nothing (toEqual does not). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

/**
 * What a reducer's input promises for each key: exactly the records the map outputs hold, each map output's in its
 * own order (a bucket's parts read back in order, spilled or not). Between map outputs the order is not promised,
 * as in Spark: parts of several peers interleave as they arrive, and a spill writes what has arrived so far, so a
 * later map's records can come before an earlier map's last part.
 */
function keepsEachMapsOrder(got: readonly Pair[], perMap: ReadonlyArray<readonly Pair[]>): boolean {
  const groupsOf = (pairs: readonly Pair[]): Pair[][] => {
    const groups: Pair[][] = [];
    for (const kv of byKey(pairs)) {
      const last = groups[groups.length - 1];
      if (last !== undefined && compareKeys(last[0]![0], kv[0]) === 0) last.push(kv);
      else groups.push([kv]);
    }
    return groups;
  };
  const gotGroups = groupsOf(got);
  const mapGroups = perMap.map(groupsOf);
  for (const g of gotGroups) {
    const key = g[0]![0];
    const used = new Array<boolean>(g.length).fill(false);
    let total = 0;
    for (const groups of mapGroups) {
      const own = groups.find((x) => compareKeys(x[0]![0], key) === 0) ?? [];
      total += own.length;
      // This map's records of the key, in its order, as a subsequence of the input's (and its records as a multiset).
      let at = 0;
      for (const kv of own) {
        while (at < g.length && !same(g[at], kv)) at++;
        if (at === g.length) return false;
        at++;
        const free = g.findIndex((x, i) => !used[i] && same(x, kv));
        if (free < 0) return false;
        used[free] = true;
      }
    }
    if (total !== g.length) return false;
  }
  // Every map record was matched to one of the input's (the caller checks the counts are equal).
  return true;
}

/** Stable by key: a spilled bucket served whole is its runs merged by key, which is this of its parts in order. */
const byKey = (pairs: readonly Pair[]): Pair[] => [...pairs].sort((a, b) => compareKeys(a[0], b[0]));

const key = fc.oneof(
  fc.integer({ min: -20, max: 20 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.double(),
  fc.constantFrom<unknown>(-0, NaN, 0.5, 2 ** 31, 'a', '', 'é'),
  fc.string({ maxLength: 6 }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.tuple(fc.nat(3), fc.string({ maxLength: 2 })),
);
const value = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 30 }),
  fc.constant(null),
  fc.array(fc.integer(), { minLength: 2, maxLength: 2 }),
  fc.array(fc.double(), { maxLength: 3 }),
);
/** Records of one map output: one kind of key and value (the columns), or mixed (the plain arrays). */
const mapOutput = fc.oneof(
  fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer()), { maxLength: 400 }),
  fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.string({ maxLength: 40 })), { maxLength: 400 }),
  fc.array(fc.tuple(key, value), { maxLength: 400 }),
) as fc.Arbitrary<Pair[]>;

const setup = fc.record({
  maps: fc.array(mapOutput, { minLength: 1, maxLength: 4 }),
  reducers: fc.integer({ min: 1, max: 3 }),
  spillBytes: fc.constantFrom(1_500, 20_000, 1 << 30),
  writeAllToDisk: fc.boolean(),
  budget: fc.constantFrom(undefined, 6_000, 1 << 30),
  maxBytes: fc.constantFrom(1, 300, 5_000, 1 << 30),
});
type Setup = typeof setup extends fc.Arbitrary<infer T> ? T : never;

/** A manager holding map `m`'s records, spread over the reducers by key. */
function managerOf(s: Setup, opts: { moveReadOutputs?: boolean } = {}): { manager: SpillingShuffleManager; dir: string } {
  const dir = mkdtempSync(path.join(scratch, 'parts-'));
  const budget = s.budget === undefined ? undefined : new MemoryBudget(s.budget, dir);
  const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: s.spillBytes, writeAllToDisk: s.writeAllToDisk, budget, ...opts });
  s.maps.forEach((records, m) => {
    const w = manager.writer(0, m, s.reducers);
    for (const kv of records) w.add(reducerOf(kv[0], s.reducers), kv);
    w.close();
  });
  return { manager, dir };
}

function reducerOf(k: unknown, n: number): number {
  const text = typeof k === 'bigint' ? `${k}n` : (JSON.stringify(k) ?? String(k));
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return Math.abs(h) % n;
}

/** Every part of bucket `reduceId` of the listed maps, asked as the fetcher asks: per map, the records in order. */
function partsOf(
  manager: SpillingShuffleManager,
  mapIds: readonly number[],
  reduceId: number,
  maxBytes: number,
): { byMap: Map<number, Pair[]>; answers: EncodedBucket[][] } {
  const byMap = new Map<number, Pair[]>();
  const answers: EncodedBucket[][] = [];
  let at: BucketCursor = BUCKET_START;
  for (let next = 0; next < mapIds.length; ) {
    const asked = mapIds.slice(next);
    const got = manager.fetchParts(0, asked, reduceId, at, maxBytes);
    answers.push(got.buckets);
    got.buckets.forEach((b, i) => {
      const m = asked[i]!;
      byMap.set(m, [...(byMap.get(m) ?? []), ...decodeBucket(b)]);
    });
    if (got.rest === undefined) {
      next = mapIds.length;
      at = BUCKET_START;
    } else {
      next += got.rest.index;
      at = got.rest.at;
    }
  }
  return { byMap, answers };
}

describe('fetchParts', () => {
  it('serves what fetchBuckets serves, part by part within the bound (property)', () => {
    fc.assert(
      fc.property(setup, (s) => {
        const { manager } = managerOf(s);
        try {
          const mapIds = s.maps.map((_, m) => m);
          for (let r = 0; r < s.reducers; r++) {
            const { byMap, answers } = partsOf(manager, mapIds, r, s.maxBytes);
            for (const m of mapIds) {
              const whole = manager.fetchBuckets(0, [m], r)[0]! as Pair[];
              const parts = byMap.get(m) ?? [];
              // Nothing spilled: the same records in the same order. Runs on disk (some output spilled): each key's
              // records in the same order (a spilled bucket is merged by key only when served whole).
              if (!s.writeAllToDisk && manager.spills === 0) expect(same(parts, whole)).toBe(true);
              else expect(same(byKey(parts), byKey(whole))).toBe(true);
            }
            // A bound of one byte: one record per answer from memory, one frame (4,096 records) from a run.
            const most = !s.writeAllToDisk && manager.spills === 0 ? 1 : 4096;
            if (s.maxBytes === 1) for (const a of answers) expect(a.reduce((n, b) => n + b.length, 0)).toBeLessThanOrEqual(most);
            // No bound to speak of, nothing spilled: one answer for all the maps.
            if (s.maxBytes === 1 << 30 && !s.writeAllToDisk && s.spillBytes === 1 << 30 && s.budget !== 6_000) expect(answers.length).toBe(1);
          }
        } finally {
          manager.close();
        }
      }),
      { numRuns: 120 },
    );
  });

  it('a bucket larger than the bound comes in parts of about the bound, and the output still moves to disk once read', async () => {
    const s: Setup = {
      maps: [Array.from({ length: 20_000 }, (_, i): Pair => [i % 3, i])],
      reducers: 1,
      spillBytes: 1 << 30,
      writeAllToDisk: false,
      budget: undefined,
      maxBytes: 32_000,
    };
    const { manager } = managerOf(s, { moveReadOutputs: true });
    try {
      const { byMap, answers } = partsOf(manager, [0], 0, s.maxBytes);
      // 8 bytes a record (two int32 columns): about 4,000 records a part, each within the bound (its column
      // headers aside), the last the rest.
      expect(answers.length).toBe(6);
      for (const a of answers.slice(0, -1)) expect(a[0]!.length).toBe(answers[0]![0]!.length);
      for (const a of answers) expect(encodedBytes(a[0]!, estimateSize)).toBeLessThanOrEqual(s.maxBytes + 3 * 64);
      expect(same(byMap.get(0), s.maps[0])).toBe(true);
      // Served to its end, the output is moved to disk (at the next turn), and parts are then read from the file.
      await vi.waitFor(() => expect(manager.movedToDisk).toBe(1));
      expect(same(partsOf(manager, [0], 0, 5_000).byMap.get(0), s.maps[0])).toBe(true);
    } finally {
      manager.close();
    }
  });

  it('a stored output spilled while a reducer is part way through it: the reducer goes on at the same record', () => {
    fc.assert(
      fc.property(mapOutput, fc.nat(40), fc.constantFrom(1, 300, 5_000), (records, after, maxBytes) => {
        const dir = mkdtempSync(path.join(scratch, 'respill-'));
        const budget = new MemoryBudget(1 << 30, dir);
        const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, budget });
        try {
          const w = manager.writer(0, 0, 1);
          for (const kv of records) w.add(0, kv);
          w.close();
          const got: Pair[] = [];
          let at: BucketCursor = BUCKET_START;
          for (let asked = 0; ; asked++) {
            // The pool spills everything after a few answers (another holder grew), or before the first.
            if (asked === after % 4) budget.spillAll();
            const part = manager.fetchParts(0, [0], 0, at, maxBytes);
            got.push(...decodeBucket(part.buckets[0]!));
            if (part.rest === undefined) break;
            at = part.rest.at;
          }
          expect(same(got, records)).toBe(true);
          if (records.length > 0 && after % 4 === 0) expect(manager.spills).toBe(1);
        } finally {
          manager.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a map task run again on the same worker keeps the files it wrote (the replaced output drops only its own)', () => {
    const s: Setup = {
      maps: [
        [
          [1, 'a'],
          [2, 'b'],
          [1, 'c'],
        ],
      ],
      reducers: 1,
      spillBytes: 1 << 30,
      writeAllToDisk: true,
      budget: undefined,
      maxBytes: 1 << 30,
    };
    const { manager } = managerOf(s);
    try {
      const again = manager.writer(0, 0, 1);
      for (const kv of s.maps[0]!) again.add(0, kv);
      again.close();
      expect(
        same(partsOf(manager, [0], 0, 1).byMap.get(0), [
          [1, 'a'],
          [1, 'c'],
          [2, 'b'],
        ]),
      ).toBe(true);
      expect(
        same(manager.fetchBuckets(0, [0], 0)[0], [
          [1, 'a'],
          [1, 'c'],
          [2, 'b'],
        ]),
      ).toBe(true);
    } finally {
      manager.close();
    }
  });

  it('names a missing map output as a fetch failure', () => {
    const { manager } = managerOf({ maps: [[]], reducers: 1, spillBytes: 1 << 30, writeAllToDisk: false, budget: undefined, maxBytes: 1 });
    try {
      expect(() => manager.fetchParts(0, [0, 1], 0, BUCKET_START, 1 << 30)).toThrow(/worker 0 has no output of map 1 of shuffle 0/);
    } finally {
      manager.close();
    }
  });
});

/**
 * A counterexample of the fetcher property below: these map outputs on `workers` workers, one reducer, parts of one
 * byte, a 3,000-byte pool (so the input spills between parts) and one run per spill.
 */
function smallPoolExample(maps: Pair[][], workers: number): [Setup, number, number, number | undefined, number] {
  return [
    { maps, reducers: 1, spillBytes: 1_500, writeAllToDisk: false, budget: undefined, maxBytes: 1 },
    workers,
    1,
    3_000,
    Number.POSITIVE_INFINITY,
  ];
}

describe('ShuffleFetcher in parts', () => {
  it('fetches from this worker and its peers in parts what it fetches whole (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        setup,
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(1, 200, 4_000, 1 << 30),
        fc.constantFrom(undefined, 3_000, 1 << 30),
        // Decoded bytes per spilled run: one run per spill, or one per slice of a bucket (several runs per spill).
        fc.constantFrom(Number.POSITIVE_INFINITY, 1),
        async (s, workers, partBytes, pool, runBytes) => {
          // Map m on worker m % workers; each worker's manager holds its own maps (the others' empty, never asked).
          const locations = s.maps.map((_, m) => m % workers);
          const managers = Array.from({ length: workers }, (_, w) =>
            managerOf({ ...s, maps: s.maps.map((records, m) => (locations[m] === w ? records : [])) }),
          );
          try {
            const fetcher = new ShuffleFetcher(0, 0, managers[0]!.manager, 60_000, () => partBytes);
            for (let w = 1; w < workers; w++) {
              const m = managers[w]!.manager;
              fetcher.setPeer(w, 0, {
                fetchBuckets: () => Promise.reject(new Error('asked whole')),
                fetchParts: (shuffleId, mapIds, reduceId, at, maxBytes) =>
                  new Promise((resolve) => setTimeout(() => resolve(m.fetchParts(shuffleId, mapIds, reduceId, at, maxBytes)), 0)),
              });
            }
            for (let r = 0; r < s.reducers; r++) {
              // A small pool spills the input between parts (a bucket's first parts on disk, the rest in memory).
              const budget = pool === undefined ? undefined : new MemoryBudget(pool, mkdtempSync(path.join(scratch, 'input-')));
              const input = new FetchedInput(budget, 'a shuffle', runBytes);
              await fetcher.fetch(0, r, locations, input, undefined, fetcher.askEarly(0, r, locations));
              const got: Pair[] = [];
              for (const b of input.all()) got.push(...(b as Pair[]));
              input.dispose();
              const perMap = s.maps.map((_, m) => managers[locations[m]!]!.manager.fetchBuckets(0, [m], r)[0]! as Pair[]);
              expect(got.length).toBe(perMap.reduce((n, b) => n + b.length, 0));
              expect(keepsEachMapsOrder(got, perMap)).toBe(true);
            }
          } finally {
            for (const { manager } of managers) manager.close();
          }
        },
      ),
      {
        numRuns: 80,
        examples: [
          // Found by CI: a bucket whose first parts spilled and whose rest stayed in memory came back rest first, so
          // the object key's records changed order (spilled runs are now read before what is in memory).
          smallPoolExample(
            [
              Array.from({ length: 4 }, (): Pair => ['', '']),
              Array.from({ length: 9 }, (): Pair => ['', '']),
              [
                [-0, ''],
                [0, []],
                [0, [0, 0]],
                [[0, ''], 0],
                [[0, ''], ''],
                [[0, ''], ''],
              ],
            ],
            1,
          ),
          // Found by a full suite (seed -1512279519): three workers' parts interleave and the input spills between
          // them, so map 3's records of key 0 come before map 1's last part. Each map's own order holds (the promise).
          smallPoolExample(
            [
              [
                [[0, ''], null],
                [0, 0],
                [
                  [0, ''],
                  [0, 0],
                ],
              ],
              [
                ['', []],
                ['', [0, 0]],
                [0, [0, 0]],
                [[0, ''], [0]],
                [0, [0, 0]],
              ],
              [
                [0, []],
                [-0, null],
              ],
              Array.from({ length: 8 }, (): Pair => [0, 0]),
            ],
            3,
          ),
        ],
      },
    );
  });

  it('refuses to ask for an answer the heap has no room for: the task fails naming its input, the peer is never asked', async () => {
    // This thread's heap limit set just above what it holds: no room for an answer of the limit's size.
    const limitMb = Math.ceil(v8.getHeapStatistics().used_heap_size / 2 ** 20) + 64;
    armHeapGuard(limitMb);
    try {
      const asked: number[] = [];
      const { manager } = managerOf({ maps: [[]], reducers: 1, spillBytes: 1 << 30, writeAllToDisk: false, budget: undefined, maxBytes: 1 });
      const fetcher = new ShuffleFetcher(0, 0, manager, 60_000, () => limitMb * 2 ** 20);
      fetcher.setPeer(1, 0, {
        fetchBuckets: () => Promise.reject(new Error('asked whole')),
        fetchParts: (_s, mapIds) => {
          asked.push(...mapIds);
          return { buckets: mapIds.map(() => encodeBucket([])) };
        },
      });
      const input = new FetchedInput(undefined, 'shuffle 0, read by groupByKey at x.ts:1');
      const err = await fetcher.fetch(0, 0, [1], input).then(
        () => undefined,
        (e: unknown) => e,
      );
      input.dispose();
      manager.close();
      expect(err).toBeInstanceOf(HeapLimitError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `the fetched input of shuffle 0, read by groupByKey at x\\.ts:1 \\(0 records, ~0 MiB estimated\\) needs ~${limitMb} MiB more on top of`,
        ),
      );
      expect(asked).toEqual([]);
    } finally {
      armHeapGuard(0);
    }
  });

  it('bounds an answer by the heap limit: a 32nd of it, within 256 KiB and 64 MiB', () => {
    expect(fetchPartBytes(64 * 2 ** 20)).toBe(2 * 2 ** 20);
    expect(fetchPartBytes(2048 * 2 ** 20)).toBe(64 * 2 ** 20);
    expect(fetchPartBytes(4 * 2 ** 20)).toBe(256 * 1024);
    expect(fetchPartBytes(0)).toBe(64 * 2 ** 20);
  });
});
