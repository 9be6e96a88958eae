/**
 * Caching under a memory budget: what each storage level does when the working set does not fit, what the
 * storage report says, and checkpoints that cut lineage. Everything runs through real worker threads.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Context, StorageLevel, capture, type RDD } from 'kindling';
import { BlockManager } from '../../src/storage/block-manager.js';
import { DiskStore } from '../../src/storage/disk-store.js';
import { estimateSize } from '../../src/storage/size-estimator.js';
import { cachedArray, ColumnBlock, packPartition } from '../../src/storage/columnar-block.js';
import fc from 'fast-check';
import { cachedPartition } from '../fixtures/column-arbitraries.js';

// The specs' spill and checkpoint folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-block-manager-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const contexts: Context[] = [];
/**
 * These specs count computations exactly, which holds only while every task runs on the worker that caches its
 * partition. With the default locality wait (300 ms) a loaded machine made a task give up on its busy worker and
 * compute the partition again elsewhere (a correct run, but not the count asserted); the wait here is longer than
 * any spec, so placement follows the cache (the fallback when the wait expires is the scheduler's, not what these
 * specs are about).
 */
function context(options: ConstructorParameters<typeof Context>[0] = {}): Context {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, localityWaitMs: 600_000, ...options });
  contexts.push(sc);
  return sc;
}
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
  vi.restoreAllMocks();
});

/** 8 partitions of 1,000 strings each (~86 KB estimated per partition); a 128 KB budget per worker holds one. */
const TINY = { workerMB: 256, storageFraction: 128 / (256 * 1024) };

function data(sc: Context, counter: ReturnType<Context['accumulator']>): RDD<string> {
  return sc.range(8000, undefined, 1, 8).map(
    capture({ counter }, (i: number) => {
      counter.add(1);
      return `element-${i}-${'x'.repeat(20)}`;
    }),
  );
}

describe('block manager', () => {
  for (const level of ['MEMORY_ONLY', 'MEMORY_AND_DISK', 'DISK_ONLY'] as const) {
    it(`${level}: identical results when the cached data is far larger than the budget`, async () => {
      const sc = context({ memory: TINY });
      const computed = sc.accumulator(0);
      const rdd = data(sc, computed).persist(StorageLevel[level]);
      const first = await rdd.collect();
      const second = await rdd.collect();
      expect(second).toEqual(first);
      expect(first).toHaveLength(8000);
      expect(first[7999]).toBe(`element-7999-${'x'.repeat(20)}`);
    });
  }

  it('MEMORY_ONLY recomputes evicted partitions from lineage; MEMORY_AND_DISK reads them back from disk', async () => {
    const sc = context({ memory: TINY });
    const memOnly = sc.accumulator(0);
    const a = data(sc, memOnly).persist(StorageLevel.MEMORY_ONLY);
    await a.count();
    expect(memOnly.value).toBe(8000);
    await a.count();
    // Most partitions were evicted (the budget holds about one per worker), so they were computed again.
    expect(memOnly.value).toBeGreaterThan(8000 + 4000);

    const memDisk = sc.accumulator(0);
    const b = data(sc, memDisk).persist(StorageLevel.MEMORY_AND_DISK);
    await b.count();
    await b.count();
    await b.count();
    expect(memDisk.value).toBe(8000);
    const info = sc.getRDDStorageInfo().find((i) => i.id === b.id)!;
    expect(info.numCachedPartitions).toBe(8);
    expect(info.diskBytes).toBeGreaterThan(0);
  });

  it('MEMORY_AND_DISK partitions spilled for another RDD come back to memory once they are read and there is room', async () => {
    // One worker, a budget of about 10 partitions: the second RDD's 8 push 6 of the first's to disk.
    const sc = context({ master: 'local[1]', memory: { workerMB: 256, storageFraction: (10 * 86) / (256 * 1024) } });
    const computed = sc.accumulator(0);
    const a = data(sc, computed).persist(StorageLevel.MEMORY_AND_DISK);
    await a.count();
    const info = () => sc.getRDDStorageInfo().find((i) => i.id === a.id)!;
    const allInMemory = info().memoryBytes;
    expect(info().diskBytes).toBe(0);
    const b = data(sc, sc.accumulator(0)).cache();
    await b.count();
    expect(info().memoryBytes).toBeLessThan(allInMemory / 2);
    expect(info().diskBytes).toBeGreaterThan(0);
    b.unpersist();
    await a.count();
    expect(computed.value).toBe(8000); // read back, never computed again
    expect(info().numCachedPartitions).toBe(8);
    expect(info().memoryBytes).toBeGreaterThan(allInMemory * 0.9);
    expect(info().diskBytes).toBeGreaterThan(0); // the files stay: evicted again, nothing is written
    expect(await a.count()).toBe(8000);
  });

  it('reports persisted RDDs: partitions, bytes in memory and on disk, per-worker totals', async () => {
    const sc = context();
    const computed = sc.accumulator(0);
    const rdd = data(sc, computed).setName('strings').cache();
    expect(sc.getRDDStorageInfo()).toEqual([
      expect.objectContaining({ id: rdd.id, name: 'strings', storageLevel: 'MEMORY_ONLY', numPartitions: 8, numCachedPartitions: 0 }),
    ]);
    await rdd.count();
    const [info] = sc.getRDDStorageInfo();
    expect(info!.numCachedPartitions).toBe(8);
    expect(info!.memoryBytes).toBeGreaterThan(8000 * 30);
    expect(info!.diskBytes).toBe(0);
    expect(info!.workers.reduce((n, w) => n + w.partitions, 0)).toBe(8);
    expect(info!.workers.reduce((n, w) => n + w.memoryBytes, 0)).toBe(info!.memoryBytes);
  });

  it('unpersist frees the blocks: the report is empty and the next job computes again', async () => {
    const sc = context();
    const computed = sc.accumulator(0);
    const rdd = data(sc, computed).cache();
    await rdd.count();
    await rdd.count();
    expect(computed.value).toBe(8000);
    rdd.unpersist();
    expect(sc.getRDDStorageInfo()).toEqual([]);
    await rdd.count();
    expect(computed.value).toBe(16000);
  });

  it('emits block events when partitions are added, spilled or evicted', async () => {
    const sc = context({ memory: TINY });
    const changes: string[] = [];
    sc.events.on('blockUpdated', (e) => void changes.push(`${e.rddId}:${e.change}`));
    const a = data(sc, sc.accumulator(0)).persist(StorageLevel.MEMORY_AND_DISK);
    const b = data(sc, sc.accumulator(0)).persist(StorageLevel.MEMORY_ONLY);
    await a.count();
    expect(changes).toContain(`${a.id}:added`);
    // Caching b makes room by moving a's partitions to disk; b's own partitions never evict each other.
    await b.count();
    expect(changes).toContain(`${a.id}:spilled`);
    expect(changes).toContain(`${b.id}:added`);
    await data(sc, sc.accumulator(0)).cache().count();
    expect(changes).toContain(`${b.id}:evicted`);
  });

  it('never evicts partitions of the RDD being cached: a stable part of an oversized RDD stays cached', async () => {
    const sc = context({ memory: TINY });
    const computed = sc.accumulator(0);
    const rdd = data(sc, computed).cache();
    await rdd.count();
    const cachedAfterFirst = sc.getRDDStorageInfo()[0]!.numCachedPartitions;
    expect(cachedAfterFirst).toBeGreaterThan(0);
    expect(cachedAfterFirst).toBeLessThan(8);
    await rdd.count();
    await rdd.count();
    // The same partitions stay cached; only the others are computed again, every time.
    expect(sc.getRDDStorageInfo()[0]!.numCachedPartitions).toBe(cachedAfterFirst);
    expect(computed.value).toBe(8000 + 2 * (8 - cachedAfterFirst) * 1000);
  });

  it('refuses to change the storage level of a persisted RDD (Spark rule)', () => {
    const sc = context();
    const rdd = sc.range(10).cache();
    expect(() => rdd.persist(StorageLevel.DISK_ONLY)).toThrow(
      /Cannot change the storage level of RDD \d+ .* from MEMORY_ONLY to DISK_ONLY.*unpersist\(\)/,
    );
    expect(rdd.persist(StorageLevel.MEMORY_ONLY)).toBe(rdd);
  });

  it('removes spill folders at stop()', async () => {
    const localDir = mkdtempSync(path.join(scratch, 'spill-'));
    const sc = context({ memory: TINY, localDir });
    await data(sc, sc.accumulator(0)).persist(StorageLevel.DISK_ONLY).count();
    expect(readdirSync(localDir)).toHaveLength(1);
    await sc.stop();
    expect(readdirSync(localDir)).toEqual([]);
  });

  it('fails at context start with a clear error when the spill folder cannot be created', () => {
    const file = path.join(mkdtempSync(path.join(scratch, 'not-a-folder-')), 'a-file');
    writeFileSync(file, '');
    expect(() => new Context({ master: 'local', localDir: path.join(file, 'sub') })).toThrow(/cannot use .*a-file\/sub for spill files.*localDir/);
  });
});

describe('checkpoint', () => {
  it('fails clearly without a checkpoint folder', () => {
    const sc = context();
    expect(() => sc.range(3).checkpoint()).toThrow(/Checkpoint directory has not been set.*setCheckpointDir/);
  });

  it('writes partitions at the next action, truncates lineage, and survives its parents being unpersisted', async () => {
    const sc = context();
    sc.setCheckpointDir(mkdtempSync(path.join(scratch, 'ckpt-')));
    const computed = sc.accumulator(0);
    const base = data(sc, computed).cache();
    const derived = base.map((s) => s.length).filter((n) => n > 0);
    derived.checkpoint();
    expect(derived.toDebugString()).toContain('MapPartitionsRDD');
    expect(await derived.count()).toBe(8000);
    expect(derived.isCheckpointed).toBe(true);
    const lineage = derived.toDebugString();
    expect(lineage).toContain('ReliableCheckpointRDD');
    expect(lineage).not.toContain('RangeRDD');
    base.unpersist();
    const before = computed.value;
    expect(await derived.sum()).toBe(expectedLengthSum());
    expect(computed.value).toBe(before);
  });

  it('a 100-iteration loop with periodic checkpoints runs with bounded lineage', async () => {
    const sc = context();
    sc.setCheckpointDir(mkdtempSync(path.join(scratch, 'ckpt-')));
    let ranks: RDD<[number, number]> = sc.parallelize(
      Array.from({ length: 40 }, (_, i): [number, number] => [i % 10, 1]),
      2,
    );
    for (let i = 1; i <= 100; i++) {
      ranks = ranks.mapValues((v) => v + 1).reduceByKey((a, b) => a + b, 2);
      if (i % 10 === 0) {
        ranks.cache().checkpoint();
        await ranks.count();
        expect(ranks.toDebugString().split('\n').length).toBeLessThan(8);
      }
    }
    const heap = process.memoryUsage().heapUsed;
    const out = new Map(await ranks.collect());
    expect(out.size).toBe(10);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(50 * 2 ** 20);
  });
});

describe('MEMORY_AND_DISK blocks read back from disk (Spark: maybeCacheDiskValuesInMemory)', () => {
  const block = (tag: string) => Array.from({ length: 200 }, (_, i) => `${tag}-${i}-${'y'.repeat(30)}`);
  /** A store whose budget holds one block of `block(...)`'s size, and a count of the files it writes. */
  function oneBlockStore(name: string) {
    const writes = vi.spyOn(DiskStore.prototype, 'put');
    const bm = new BlockManager({ storageBytes: Math.floor(estimateSize(block('a')) * 1.5), spillDir: path.join(scratch, name) });
    const changes = () => bm.drainUpdates().map((u) => [u.rddId, u.partition, u.change, u.memoryBytes > 0, u.diskBytes > 0]);
    return { bm, writes, changes };
  }

  it('goes back to memory when it fits, keeps its file, and is not written again when evicted again', () => {
    const { bm, writes, changes } = oneBlockStore('recache');
    bm.put(1, 0, block('a'), 'MEMORY_AND_DISK');
    bm.put(2, 0, block('b'), 'MEMORY_AND_DISK'); // evicts RDD 1's block to disk
    expect(changes()).toEqual([
      [1, 0, 'added', true, false],
      [1, 0, 'spilled', false, true],
      [2, 0, 'added', true, false],
    ]);
    expect(writes).toHaveBeenCalledTimes(1);
    bm.removeRdd(2);
    expect(bm.get(1, 0)).toEqual(block('a'));
    // In memory and on disk at once: the driver's report shows both.
    expect(changes()).toEqual([[1, 0, 'added', true, true]]);
    bm.put(3, 0, block('c'), 'MEMORY_ONLY'); // evicts it again: its file is still there, nothing written
    expect(changes()).toEqual([
      [1, 0, 'spilled', false, true],
      [3, 0, 'added', true, false],
    ]);
    expect(writes).toHaveBeenCalledTimes(1);
    expect(bm.get(1, 0)).toEqual(block('a'));
    // One drop per block, though it was in memory and on disk.
    bm.removeRdd(3);
    expect(bm.get(1, 0)).toEqual(block('a'));
    expect(bm.removeRdd(1).map((u) => [u.rddId, u.partition, u.change])).toEqual([[1, 0, 'dropped']]);
    bm.close();
  });

  it('stays on disk when memory has no room but by evicting its own RDD, and DISK_ONLY always does', () => {
    const { bm, writes, changes } = oneBlockStore('stays');
    bm.put(1, 0, block('a'), 'MEMORY_AND_DISK');
    bm.put(1, 1, block('b'), 'MEMORY_AND_DISK'); // no room without evicting partition 0: straight to disk
    bm.put(2, 0, block('c'), 'DISK_ONLY');
    changes();
    for (let i = 0; i < 3; i++) {
      expect(bm.get(1, 1)).toEqual(block('b'));
      expect(bm.get(2, 0)).toEqual(block('c'));
    }
    expect(changes()).toEqual([]);
    expect(writes).toHaveBeenCalledTimes(2);
    bm.close();
  });
});

describe('blocks on disk', () => {
  it('read back element for element (-0, NaN, fractions included), columns as columns, at DISK_ONLY and spilled MEMORY_AND_DISK', () => {
    let n = 0;
    fc.assert(
      fc.property(cachedPartition, (values) => {
        const bm = new BlockManager({ storageBytes: 1, spillDir: path.join(scratch, `disk-${n++}`) });
        bm.put(1, 0, values, 'DISK_ONLY');
        bm.put(2, 0, values, 'MEMORY_AND_DISK'); // a budget of 1 byte: straight to disk
        for (const rdd of [1, 2]) {
          const read = bm.get(rdd, 0)!;
          expect(cachedArray(read)).toEqual(values); // toEqual tells -0 from 0; a null-prototype object comes back plain
          // Packed partitions are written as their typed arrays and come back as columns, not as elements.
          expect(read instanceof ColumnBlock).toBe(packPartition(values) !== undefined);
        }
        bm.close();
      }),
      { numRuns: 50 },
    );
  });
});

describe('driver protection and hints', () => {
  it('rejects an action whose results exceed maxResultSize, and the context keeps working', async () => {
    const sc = context({ maxResultSize: '1m' });
    const big = sc.range(200_000, undefined, 1, 4).map((i) => `row ${i} ${'y'.repeat(20)}`);
    await expect(big.collect()).rejects.toThrow(/more than maxResultSize \(1\.0 MiB\)/);
    expect(await big.count()).toBe(200_000);
  });

  it('hints once when an unpersisted RDD is computed again by a later job, naming it', async () => {
    const sc = context({ hints: true });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const links = sc
      .range(100, undefined, 1, 2)
      .map((x) => x * 2)
      .setName('links');
    await links.count();
    await links.count();
    await links.sum();
    const hints = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('persist() it?'));
    expect(hints).toEqual([
      `kindling hint: RDD ${links.id} (links) was computed 2 times; persist() it? (Hints are off with { hints: false } in the Context options.)`,
    ]);
    expect(sc.timesComputed(links)).toBe(3);
  });

  it('warns once when the lineage is deeper than the threshold', async () => {
    const sc = context({ hints: true, lineageDepthWarning: 20 });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    let rdd: RDD<number> = sc.range(10);
    for (let i = 0; i < 30; i++) rdd = rdd.map((x) => x + 1);
    await rdd.count();
    await rdd.count();
    const deep = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('RDDs deep'));
    expect(deep).toHaveLength(1);
    expect(deep[0]).toMatch(/is 31 RDDs deep .*checkpoint\(\)/);
  });
});

/** Sum of the lengths of the strings `data` makes, computed locally. */
function expectedLengthSum(): number {
  let sum = 0;
  for (let i = 0; i < 8000; i++) sum += `element-${i}-${'x'.repeat(20)}`.length;
  return sum;
}
