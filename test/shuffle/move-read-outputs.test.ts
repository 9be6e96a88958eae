/**
 * Map outputs moved to disk once every reducer has read them (`moveReadOutputs`, the memory engine; see
 * spilling-shuffle-manager.ts and column-file.ts). Whatever is read afterwards (a reduce partition computed again:
 * a lost cached block, a retried task, a second job over an uncached shuffle) must be exactly what a manager that
 * keeps everything in memory serves: the same records in the same order, numbers bit for bit (-0, NaN, Infinity),
 * for buckets of every kind; outputs with a plain-array column (strings, objects) stay in memory.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buffersOf, decodeBucket, encodeBucket, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import { compactColumns } from '../../src/shuffle/column-file.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { mapOutputBuckets } from '../fixtures/column-arbitraries.js';
import { Context } from 'kindling';

const output = mapOutputBuckets as fc.Arbitrary<Pair[][]>;

/** The moved outputs' files in `dir` (none when nothing was ever written there). */
const columnFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cols')) : []);

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'kindling-move-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function write(manager: SpillingShuffleManager, shuffleId: number, buckets: readonly Pair[][]): void {
  const w = manager.writer(shuffleId, 0, buckets.length);
  buckets.forEach((b, r) => {
    for (const kv of b) w.add(r, kv);
  });
  w.close();
}

/** Bucket r as a reducer on this worker gets it, and as a peer gets it (after the structured clone of the post). */
function readBoth(manager: SpillingShuffleManager, shuffleId: number, r: number): { local: Pair[]; served: Pair[] } {
  return {
    local: [...manager.fetchBuckets(shuffleId, [0], r)[0]!],
    served: decodeBucket(structuredClone(manager.fetchEncoded(shuffleId, [0], r)[0]!)),
  };
}

describe('map outputs moved to disk after every reducer read them', () => {
  it('the comparison below tells -0 from 0 and NaN from a number', () => {
    expect(() => expect([[-0, 1]]).toEqual([[0, 1]])).toThrow();
    expect(() => expect([[NaN, 1]]).toEqual([[0, 1]])).toThrow();
  });

  it('read back, every bucket equals what a manager keeping it in memory serves, for keys and values of every kind', async () => {
    await fc.assert(
      fc.asyncProperty(output, fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }), async (buckets, firstRead) => {
        const dir = tempDir();
        const moving = new SpillingShuffleManager({
          workerIndex: 0,
          dir: path.join(dir, 'moving'),
          spillBytes: 1 << 30,
          writeAllToDisk: false,
          moveReadOutputs: true,
        });
        const plain = new SpillingShuffleManager({ workerIndex: 0, dir: path.join(dir, 'plain'), spillBytes: 1 << 30, writeAllToDisk: false });
        write(moving, 1, buckets);
        write(plain, 1, buckets);
        // The first read of each bucket, one of three ways (all count as read): as pairs, encoded for a peer, or
        // encoded for a local task that only reads (the stored columns themselves, not a copy).
        const readOnly = new Map<number, EncodedBucket>();
        buckets.forEach((_, r) => {
          const way = firstRead[r]!;
          if (way === 2) readOnly.set(r, moving.fetchEncoded(1, [0], r, true)[0]!);
          const first =
            way === 0
              ? moving.fetchBuckets(1, [0], r)[0]!
              : way === 1
                ? decodeBucket(moving.fetchEncoded(1, [0], r)[0]!)
                : decodeBucket(readOnly.get(r)!);
          expect(first).toEqual(plain.fetchBuckets(1, [0], r)[0]);
        });
        await moving.moveReadOutputs();
        // A read-only reader still holds its columns, unchanged, once the output moved to disk; a copy served
        // afterwards and transferred away does not detach them.
        for (const [r, held] of readOnly) {
          const served = moving.fetchEncoded(1, [0], r)[0]!;
          structuredClone(served, { transfer: buffersOf([served]) });
          expect(decodeBucket(held)).toEqual(plain.fetchBuckets(1, [0], r)[0]);
        }
        // Moved exactly when every column has a raw form and there is something to move (so the path compared
        // below did run whenever it could).
        const movable = compactColumns(buckets.map(encodeBucket)) && buckets.some((b) => b.length > 0);
        expect(moving.movedToDisk).toBe(movable ? 1 : 0);
        buckets.forEach((b, r) => {
          const after = readBoth(moving, 1, r);
          const reference = readBoth(plain, 1, r);
          expect(after.local).toEqual(reference.local);
          expect(after.served).toEqual(reference.served);
          expect(after.local).toEqual(structuredClone(b));
          // A read hands out a copy: changing it does not change what is read next.
          if (after.local.length > 0) after.local[0]![0] = 'changed';
          expect(moving.fetchBuckets(1, [0], r)[0]).toEqual(reference.local);
        });
        moving.remove(1);
        expect(columnFiles(path.join(dir, 'moving'))).toEqual([]);
        moving.close();
        plain.close();
      }),
      { numRuns: 200 },
    );
  });

  it('moves only once every bucket that has records was read, and on its own at the next turn of the event loop', async () => {
    const dir = tempDir();
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, moveReadOutputs: true });
    const buckets: Pair[][] = [
      [[1, 0.5]],
      [],
      [
        [2, -0],
        [3, NaN],
      ],
    ];
    write(manager, 4, buckets);
    manager.fetchBuckets(4, [0], 0);
    await new Promise((resolve) => setImmediate(resolve));
    await manager.moveReadOutputs();
    expect(manager.movedToDisk).toBe(0); // bucket 2 not read yet (bucket 1 is empty: nothing to wait for)
    manager.fetchEncoded(4, [0], 2);
    expect(manager.movedToDisk).toBe(0); // not during the fetch
    // Started at the next turn of the event loop; written off the thread.
    await vi.waitFor(() => expect(manager.movedToDisk).toBe(1), { timeout: 10_000 });
    expect(columnFiles(dir)).toHaveLength(1);
    buckets.forEach((b, r) => expect(manager.fetchBuckets(4, [0], r)[0]).toEqual(b));
    manager.close();
  });

  it('serves the empty buckets of a moved output without its file (one open per reducer made M maps x R reducers opens)', async () => {
    const dir = tempDir();
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, moveReadOutputs: true });
    write(manager, 7, [[[1, 0.5]], [], []]);
    manager.fetchBuckets(7, [0], 0);
    await manager.moveReadOutputs();
    expect(manager.movedToDisk).toBe(1);
    // The reducers of the empty buckets come after the move; with the file gone, a read of it would throw.
    for (const f of columnFiles(dir)) rmSync(path.join(dir, f));
    expect(manager.fetchBuckets(7, [0], 1)[0]).toEqual([]);
    expect(decodeBucket(manager.fetchEncoded(7, [0], 2)[0]!)).toEqual([]);
    manager.close();
  });

  it('moves into its folder made anew when the folder is missing, first or after it was removed', async () => {
    const dir = path.join(tempDir(), 'not-yet', 'made');
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, moveReadOutputs: true });
    const buckets: Pair[][] = [[[1, 0.5]], [[2, 0.25]]];
    for (const shuffleId of [1, 2, 3]) {
      if (shuffleId === 3) rmSync(dir, { recursive: true, force: true });
      write(manager, shuffleId, buckets);
      manager.fetchBuckets(shuffleId, [0], 0);
      manager.fetchBuckets(shuffleId, [0], 1);
      await vi.waitFor(() => expect(manager.movedToDisk).toBe(shuffleId), { timeout: 10_000 });
      buckets.forEach((b, r) => expect(manager.fetchBuckets(shuffleId, [0], r)[0]).toEqual(b));
    }
    expect(columnFiles(dir)).toHaveLength(1);
    manager.close();
  });

  it('a moved output gives its share of the shuffle pool back; one the pool spilled is read from its runs as before', async () => {
    const dir = tempDir();
    const budget = new MemoryBudget(1 << 30, dir);
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, budget, moveReadOutputs: true });
    const records: Pair[] = Array.from({ length: 5000 }, (_, i) => [i, i / 3]);
    write(manager, 5, [records]);
    expect(budget.used).toBeGreaterThan(5000 * 12);
    manager.fetchBuckets(5, [0], 0);
    await manager.moveReadOutputs();
    expect(manager.movedToDisk).toBe(1);
    expect(budget.used).toBe(0);
    expect(manager.fetchBuckets(5, [0], 0)[0]).toEqual(records);

    // Spilled by the pool before its reads (another consumer needs all of it): it has runs, so it is not moved, and it
    // still reads back whole.
    const small = new MemoryBudget(1 << 30, dir);
    const spilling = new SpillingShuffleManager({
      workerIndex: 0,
      dir: path.join(dir, 's'),
      spillBytes: 1 << 30,
      writeAllToDisk: false,
      budget: small,
      moveReadOutputs: true,
    });
    write(spilling, 6, [records]);
    const other = { bytes: 0, spill: () => undefined };
    small.register(other);
    small.update(other, 1 << 30);
    expect(spilling.spills).toBe(1);
    expect(spilling.fetchBuckets(6, [0], 0)[0]).toEqual(records);
    await spilling.moveReadOutputs();
    expect(spilling.movedToDisk).toBe(0);
    expect(spilling.fetchBuckets(6, [0], 0)[0]).toEqual(records);
    manager.close();
    spilling.close();
  });
});

describe('an output dropped or spilled while its move is being written', () => {
  it('keeps no file and reads from where its records are', async () => {
    const dir = tempDir();
    const budget = new MemoryBudget(1 << 30, dir);
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, budget, moveReadOutputs: true });
    const records: Pair[] = Array.from({ length: 3000 }, (_, i) => [i, [i, i * 2]]);
    write(manager, 8, [records]);
    manager.fetchBuckets(8, [0], 0);
    const moving = manager.moveReadOutputs();
    // Read while the write is under way: still from memory, whole.
    expect(manager.fetchBuckets(8, [0], 0)[0]).toEqual(records);
    manager.remove(8);
    await moving;
    expect(manager.movedToDisk).toBe(0);
    expect(columnFiles(dir)).toEqual([]);

    write(manager, 9, [records]);
    manager.fetchBuckets(9, [0], 0);
    const moving2 = manager.moveReadOutputs();
    // The pool spills it meanwhile (another consumer needs all of it): its runs hold the records from then on.
    const other = { bytes: 0, spill: () => undefined };
    budget.register(other);
    budget.update(other, 1 << 30);
    expect(manager.spills).toBe(1);
    await moving2;
    expect(manager.movedToDisk).toBe(0);
    expect(columnFiles(dir)).toEqual([]);
    const back = [...manager.fetchBuckets(9, [0], 0)[0]!];
    expect(back).toEqual(records); // sorted by key on spilling, which is their order already
    manager.close();
  });
});

describe("a shuffle's moved outputs in one file", () => {
  it('moves 40 outputs of a shuffle, in several batches written at once, into one file per shuffle, read back whole', async () => {
    // SparkTC's last rounds move tens of thousands of tiny outputs per worker: a file each (created, a directory entry)
    // cost more than the records, and each creation more as the folder filled.
    const dir = tempDir();
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 1 << 30, writeAllToDisk: false, moveReadOutputs: true });
    const reducers = 5;
    const outputs = new Map<string, Pair[][]>();
    const writeOutput = (shuffleId: number, mapId: number, salt: number): void => {
      const buckets = Array.from({ length: reducers }, (_, r): Pair[] =>
        (mapId + r + salt) % 3 === 0
          ? []
          : Array.from({ length: 1 + ((mapId * 7 + r) % 4) }, (_, i): Pair => [mapId * 100 + r * 10 + i, salt + i / 2]),
      );
      const w = manager.writer(shuffleId, mapId, reducers);
      buckets.forEach((b, r) => {
        for (const kv of b) w.add(r, kv);
      });
      w.close();
      outputs.set(`${shuffleId}:${mapId}`, buckets);
    };
    for (let mapId = 0; mapId < 40; mapId++) writeOutput(1, mapId, 0);
    for (let mapId = 0; mapId < 3; mapId++) writeOutput(2, mapId, 0);
    const readAll = (shuffleId: number, mapIds: number[]): void => {
      for (let r = 0; r < reducers; r++) manager.fetchBuckets(shuffleId, mapIds, r);
    };
    // Batches of moves, the writes of each under way together (several reserve their ranges before any is written).
    for (let from = 0; from < 40; from += 13) {
      readAll(
        1,
        Array.from({ length: Math.min(13, 40 - from) }, (_, i) => from + i),
      );
      await manager.moveReadOutputs();
    }
    readAll(2, [0, 1, 2]);
    await vi.waitFor(() => expect(manager.movedToDisk).toBe(43), { timeout: 10_000 });
    expect(columnFiles(dir)).toHaveLength(2);
    const readBack = (): void => {
      for (const [key, buckets] of outputs) {
        const [shuffleId, mapId] = key.split(':').map(Number) as [number, number];
        buckets.forEach((b, r) => expect(manager.fetchBuckets(shuffleId, [mapId], r)[0]).toEqual(b));
      }
    };
    readBack();
    // An output computed again (a retried map task) replaces its moved copy: the others stay readable from the file.
    writeOutput(1, 7, 1);
    readBack();
    manager.remove(2);
    outputs.delete('2:0');
    outputs.delete('2:1');
    outputs.delete('2:2');
    expect(columnFiles(dir)).toHaveLength(1);
    readBack();
    manager.remove(1);
    expect(columnFiles(dir)).toEqual([]);
    manager.close();
  });
});

describe('on local[2], shuffles read again after their outputs moved to disk', () => {
  it('a second job over an uncached shuffle, and an iterative program, give the plain-JS results', async () => {
    const sc = new Context({ master: 'local[2]', progress: false });
    try {
      const pairs: Array<[number, number]> = Array.from({ length: 20_000 }, (_, i) => [(i * 7919) % 3001, i % 13 === 0 ? -0 : i / 4]);
      const expected = new Map<number, number>();
      for (const [k, v] of pairs) expected.set(k, (expected.get(k) ?? 0) + v);
      const sums = sc.parallelize(pairs, 4).reduceByKey((a, b) => a + b);
      expect(await sums.count()).toBe(expected.size);
      // Every bucket was read by the count: the next jobs read the moved outputs (the stage is skipped).
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(new Map(await sums.collect())).toEqual(expected);
      expect(await sums.collectAsMap()).toEqual(expected);

      // PageRank's shape: each iteration's ranks cached, the previous unpersisted, the lineage kept.
      let ranks = sc.parallelize(
        Array.from({ length: 500 }, (_, i): [number, number] => [i, 1]),
        2,
      );
      let plain = new Map<number, number>(Array.from({ length: 500 }, (_, i) => [i, 1]));
      for (let it = 0; it < 5; it++) {
        const next = ranks
          .flatMap(
            ([k, r]) =>
              [
                [(k * 3) % 500, r / 2],
                [(k + 1) % 500, r / 2],
              ] as Array<[number, number]>,
          )
          .reduceByKey((a, b) => a + b)
          .mapValues((s) => 0.15 + 0.85 * s)
          .cache();
        await next.count();
        ranks.unpersist();
        ranks = next;
        const p = new Map<number, number>();
        for (const [k, r] of plain) {
          for (const to of [(k * 3) % 500, (k + 1) % 500]) p.set(to, (p.get(to) ?? 0) + r / 2);
        }
        plain = new Map([...p].map(([k, s]) => [k, 0.15 + 0.85 * s]));
      }
      // The cached ranks dropped: the last iteration is computed again from its shuffle, now on disk.
      ranks.unpersist();
      const got = await ranks.collectAsMap();
      expect(got.size).toBe(plain.size);
      for (const [k, r] of plain) expect(got.get(k)).toBeCloseTo(r, 12);
    } finally {
      await sc.stop();
    }
  });
});
