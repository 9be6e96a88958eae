/**
 * The reduce side's early requests (`ShuffleFetcher.askEarly`, sent by `Executor.runTask` before the task is
 * admitted): the input fetched with them is the input fetched without them, bucket for bucket in map order, for
 * map outputs spread over any number of workers, keys and values of every kind, empty buckets; the early request
 * is the first one `fetch` would have made and is not made again; a peer that fails it fails the fetch (never an
 * unhandled rejection). That the executor sends it as the task arrives is in executor.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ShuffleFetcher, type PeerShuffleService } from '../../src/exec/shuffle-fetcher.js';
import { FetchedInput } from '../../src/shuffle/fetched-input.js';
import { armHeapGuard } from '../../src/core/heap-guard.js';
import { encodeBuckets, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import type { ShuffleManager } from '../../src/shuffle/shuffle-manager.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import { FetchFailedError } from '../../src/shuffle/fetch-failed.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Buckets = Pair[][];

/** Worker `w`'s store: bucket `reduceId` of map `m` is `outputs[m][reduceId]`, held where `locations[m]` says. */
function store(outputs: Buckets[], locations: readonly number[], w: number): ShuffleManager {
  return {
    writer: () => {
      throw new Error('not used');
    },
    fetchBuckets: (_s, mapIds, reduceId) =>
      mapIds.map((m) => {
        if (locations[m] !== w) throw new Error(`worker ${w} does not hold map ${m}`);
        return outputs[m]![reduceId]!;
      }),
    remove: () => undefined,
    close: () => undefined,
  };
}

/** A peer serving as a worker thread does (encoded), recording each request; answered after a timer turn. */
function peer(outputs: Buckets[], locations: readonly number[], w: number, asked: Array<[number, number[]]>): PeerShuffleService {
  const s = store(outputs, locations, w);
  return {
    fetchBuckets: (shuffleId, mapIds, reduceId) => {
      asked.push([w, [...mapIds]]);
      const served = encodeBuckets(s.fetchBuckets(shuffleId, mapIds, reduceId));
      return new Promise((resolve) => setTimeout(() => resolve(served.encoded), 0));
    },
  };
}

async function fetchAll(
  outputs: Buckets[],
  locations: readonly number[],
  workers: number,
  early: boolean,
): Promise<{ pairs: unknown[]; asked: Array<[number, number[]]> }> {
  const asked: Array<[number, number[]]> = [];
  const fetcher = new ShuffleFetcher(0, 0, store(outputs, locations, 0), 60_000);
  for (let w = 1; w < workers; w++) fetcher.setPeer(w, 0, peer(outputs, locations, w, asked));
  const input = new FetchedInput(undefined);
  const asks = early ? fetcher.askEarly(7, 0, locations) : undefined;
  await fetcher.fetch(7, 0, locations, input, undefined, asks);
  const pairs: unknown[] = [];
  for (const b of input.all()) pairs.push(...b);
  input.dispose();
  return { pairs, asked };
}

const key = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constant(-0),
  fc.bigInt(),
  fc.tuple(fc.nat(9), fc.string({ maxLength: 2 })),
);
const value = fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
const pairs = fc.array(fc.tuple(key, value), { maxLength: 12 }) as fc.Arbitrary<Pair[]>;

describe('ShuffleFetcher early requests', () => {
  it('fetch the same input, in map order, as without them; the early request is the first one and is not repeated', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.nat(3), pairs), { minLength: 1, maxLength: 8 }),
        async (workers, maps) => {
          const locations = maps.map(([w]) => w % workers);
          // One reduce partition: bucket 0 of each map output (empty ones included).
          const outputs = maps.map(([, b]) => [b]);
          const without = await fetchAll(outputs, locations, workers, false);
          const withEarly = await fetchAll(outputs, locations, workers, true);
          expect(withEarly.pairs).toEqual(without.pairs);
          expect(withEarly.pairs).toEqual(maps.flatMap(([, b]) => b));
          // The same requests, each once (only their order across peers may differ).
          const sorted = (a: Array<[number, number[]]>) => [...a].sort((x, y) => x[0] - y[0] || x[1][0]! - y[1][0]!);
          expect(sorted(withEarly.asked)).toEqual(sorted(without.asked));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a peer that fails the early request fails the fetch as a fetch failure naming it, without an unhandled rejection', async () => {
    const fetcher = new ShuffleFetcher(0, 0, store([], [], 0), 60_000);
    fetcher.setPeer(1, 3, { fetchBuckets: () => Promise.reject(new Error('gone')) });
    const asks = fetcher.askEarly(2, 0, [1]);
    // The rejection lands before anyone awaits it (as while the task waits for admission).
    await new Promise((r) => setTimeout(r, 10));
    const input = new FetchedInput(undefined);
    await expect(fetcher.fetch(2, 0, [1], input, undefined, asks)).rejects.toMatchObject({
      shuffleId: 2,
      mapId: 0,
      workerIndex: 1,
      epoch: 3,
      message: expect.stringMatching(/fetching shuffle 2 from worker 1 failed: gone/),
    });
    input.dispose();
  });

  it('an early request never read (the task ended first) is dropped without an unhandled rejection', async () => {
    const fetcher = new ShuffleFetcher(0, 0, store([], [], 0), 60_000);
    fetcher.setPeer(1, 0, { fetchBuckets: () => Promise.reject(new Error('gone')) });
    expect(fetcher.askEarly(2, 0, [1, 0, 1]).size).toBe(1);
    expect(fetcher.askEarly(2, 0, [0, 0]).size).toBe(0);
    await new Promise((r) => setTimeout(r, 10));
  });

  it('asks nothing early when the heap has no room for the answers without a collection (fetch then checks first)', () => {
    const asked: Array<[number, number[]]> = [];
    const outputs: Buckets[] = [[[[1, 1]]], [[[2, 2]]], [[[3, 3]]]];
    const locations = [0, 1, 2];
    const fetcher = new ShuffleFetcher(0, 0, store(outputs, locations, 0), 60_000);
    for (let w = 1; w < 3; w++) fetcher.setPeer(w, 0, peer(outputs, locations, w, asked));
    try {
      // A limit far below this process's heap: no room.
      armHeapGuard(1);
      expect(fetcher.askEarly(7, 0, locations).size).toBe(0);
      expect(asked).toEqual([]);
      // A limit far above it: both peers are asked at once.
      armHeapGuard(1 << 20);
      expect(fetcher.askEarly(7, 0, locations).size).toBe(2);
      expect(asked.map(([w]) => w)).toEqual([1, 2]);
    } finally {
      armHeapGuard(0);
    }
  });
});

describe('ShuffleFetcher with buckets in shared memory (local mode)', () => {
  it('reads the same input, in map order, as fetching everything; a shared bucket is asked of nobody, early or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.nat(3), pairs, fc.boolean()), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (workers, maps, early) => {
          const locations = maps.map(([w]) => w % workers);
          const outputs = maps.map(([, b]) => [b]);
          // Any map output may be shared (the reader's own too: then it is not fetched from its store either).
          const shared = new Map<number, EncodedBucket>();
          maps.forEach(([, b, s], mapId) => {
            if (s) shared.set(mapId, encodeBuckets([b]).encoded[0]!);
          });
          const asked: Array<[number, number[]]> = [];
          const local = store(outputs, locations, 0);
          const fetcher = new ShuffleFetcher(
            0,
            0,
            {
              ...local,
              fetchBuckets: (s, ids, r) => {
                asked.push([0, [...ids]]);
                return local.fetchBuckets(s, ids, r);
              },
            },
            60_000,
          );
          for (let w = 1; w < workers; w++) fetcher.setPeer(w, 0, peer(outputs, locations, w, asked));
          const input = new FetchedInput(undefined);
          const asks = early ? fetcher.askEarly(7, 0, locations, shared) : undefined;
          await fetcher.fetch(7, 0, locations, input, undefined, asks, shared);
          const got: unknown[] = [];
          for (const b of input.all()) got.push(...b);
          input.dispose();
          expect(got).toEqual(maps.flatMap(([, b]) => b));
          const askedIds = asked.flatMap(([, ids]) => ids);
          for (const id of shared.keys()) expect(askedIds).not.toContain(id);
          expect(new Set(askedIds).size + shared.size).toBe(maps.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('ShuffleFetcher with the map outputs listed (ShuffleReadWire.mapIds)', () => {
  it('asks each peer only for the listed map outputs, and reads them in map order as a full fetch of them would', async () => {
    // Maps 0..5 on workers 0, 1, 2; only maps 1, 2 and 4 have records for the reducer (the tracker lists those).
    const locations = [0, 1, 2, 1, 2, 0];
    const outputs: Buckets[] = [[[]], [[[1, 'a']]], [[[2, 'b']]], [[]], [[[4, 'd']]], [[]]];
    const asked: Array<[number, number[]]> = [];
    const fetcher = new ShuffleFetcher(0, 0, store(outputs, locations, 0), 60_000);
    for (let w = 1; w < 3; w++) fetcher.setPeer(w, 0, peer(outputs, locations, w, asked));
    const listed = { mapIds: [1, 2, 4], locations: [1, 2, 2] };
    const input = new FetchedInput(undefined);
    await fetcher.fetch(7, 0, listed, input, undefined, fetcher.askEarly(7, 0, listed));
    const got: unknown[] = [];
    for (const b of input.all()) got.push(...b);
    input.dispose();
    expect(got).toEqual([
      [1, 'a'],
      [2, 'b'],
      [4, 'd'],
    ]);
    // Worker 0 (this one) holds nothing listed: not even its own store is read; maps 0, 3 and 5 are asked of nobody.
    expect(asked.flatMap(([, ids]) => ids).sort()).toEqual([1, 2, 4]);
  });
});

describe('ShuffleFetcher when one peer fails', () => {
  it('asks the other peers for nothing more, and their answers arriving after the task ended write no run and hold no memory', async () => {
    // Worker 1 has lost its outputs (it fails at once); worker 2 answers each request after 30 ms, with buckets large
    // enough that the tiny pool spills every one. The task fails on worker 1's answer and disposes its input (as
    // Executor.runTask does) while worker 2's answer is still on its way.
    const locations = [1, 2, 2, 2, 2];
    const big = (m: number): Pair[] => Array.from({ length: 70_000 }, (_, i): Pair => [i % 100, m]);
    const outputs: Buckets[] = locations.map((_, m) => [big(m)]);
    const asked: number[][] = [];
    const fetcher = new ShuffleFetcher(0, 0, store(outputs, locations, 0), 60_000);
    fetcher.setPeer(1, 0, { fetchBuckets: () => Promise.reject(new Error('shuffle 7 map 0 is gone')) });
    const slow = store(outputs, locations, 2);
    fetcher.setPeer(2, 0, {
      fetchBuckets: (shuffleId, mapIds, reduceId) => {
        asked.push([...mapIds]);
        const served = encodeBuckets(slow.fetchBuckets(shuffleId, mapIds, reduceId));
        return new Promise((resolve) => setTimeout(() => resolve(served.encoded), 30));
      },
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'kindling-fetch-fail-'));
    try {
      const budget = new MemoryBudget(1, dir);
      const input = new FetchedInput(budget);
      const failed = await fetcher.fetch(7, 0, locations, input).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(FetchFailedError);
      input.dispose();
      await new Promise((r) => setTimeout(r, 200));
      expect(readdirSync(dir)).toEqual([]);
      expect(Math.abs(budget.used)).toBeLessThan(1e-3);
      // The answer in flight when the fetch failed was the last request: the others were never sent.
      expect(asked).toEqual([[1]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
