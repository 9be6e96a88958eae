/**
 * Persistence: cache, persist at every storage level, unpersist and checkpoint return the RDD and give the same
 * results as the unpersisted lineage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capture, StorageLevel } from 'kindling';
import { MODES, sorted, useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-persist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(MODES)('persistence (%s)', (master) => {
  const ctx = useContext(master);
  const build = () =>
    ctx()
      .range(0, 60, 1, 4)
      .map((x) => [x % 7, x] as [number, number])
      .reduceByKey((a, b) => a + b);

  it('cache returns the RDD and gives identical results across actions', async () => {
    const expected = sorted(await build().collect());
    const r = build();
    expect(r.cache()).toBe(r);
    expect(r.storageLevel).toBe(StorageLevel.MEMORY_ONLY);
    expect(sorted(await r.collect())).toEqual(expected);
    expect(sorted(await r.collect())).toEqual(expected);
    expect(await r.count()).toBe(7);
    expect(sorted(await r.mapValues((v) => v * 2).collect())).toEqual(expected.map(([k, v]) => [k, v * 2]));
  });

  it.each([StorageLevel.MEMORY_ONLY, StorageLevel.MEMORY_AND_DISK, StorageLevel.DISK_ONLY])('persist(%o) gives identical results', async (level) => {
    const expected = sorted(await build().collect());
    const r = build();
    expect(r.persist(level)).toBe(r);
    expect(r.storageLevel).toBe(level);
    expect(sorted(await r.collect())).toEqual(expected);
    expect(sorted(await r.collect())).toEqual(expected);
    expect(r.unpersist()).toBe(r);
    expect(r.storageLevel).toBe(StorageLevel.NONE);
    expect(sorted(await r.collect())).toEqual(expected);
  });

  it('persist of structured elements returns equal values in every job', async () => {
    const r = ctx()
      .parallelize([1, 2, 3], 2)
      .map((x) => ({ x, tags: [String(x)] }))
      .cache();
    const expected = [
      { x: 1, tags: ['1'] },
      { x: 2, tags: ['2'] },
      { x: 3, tags: ['3'] },
    ];
    expect(await r.collect()).toEqual(expected);
    expect(await r.collect()).toEqual(expected);
    expect(await r.map((o) => o.tags.length + o.x).collect()).toEqual([2, 3, 4]);
  });

  it('a cached RDD is computed once, later jobs read it', async () => {
    const sc = ctx();
    const computed = sc.accumulator(0);
    const r = sc
      .parallelize([1, 2, 3, 4, 5, 6], 3)
      .map(
        capture({ computed }, (x: number) => {
          computed.add(1);
          return x * x;
        }),
      )
      .cache();
    expect(await r.sum()).toBe(91);
    expect(computed.value).toBe(6);
    expect(await r.collect()).toEqual([1, 4, 9, 16, 25, 36]);
    expect(await r.count()).toBe(6);
    expect(computed.value).toBe(6);
  });

  it('the storage level cannot change once set (unpersist first); the same level is fine', () => {
    const r = ctx().parallelize([1], 1);
    r.persist(StorageLevel.MEMORY_ONLY);
    expect(r.cache()).toBe(r);
    expect(() => r.persist(StorageLevel.DISK_ONLY)).toThrow(/storage level/);
    r.unpersist();
    expect(r.persist(StorageLevel.DISK_ONLY)).toBe(r);
  });

  it('toDebugString shows the storage level', () => {
    const r = ctx()
      .parallelize([1], 1)
      .map((x) => x);
    expect(r.toDebugString()).toMatch(/\[\]$/);
    r.cache();
    expect(r.toDebugString()).toContain('[Memory Deserialized 1x Replicated]');
  });

  it('checkpoint needs a checkpoint directory, returns the RDD, and gives identical results', async () => {
    const sc = ctx();
    const r = build();
    if (sc.checkpointDir === undefined) expect(() => r.checkpoint()).toThrow(/setCheckpointDir/);
    // Given as Spark programs name it, a file:// URI (before, it made ./file:/... under the working directory).
    sc.setCheckpointDir(`file://${path.join(root, master.replace(/\W/g, '_'))}`);
    expect(sc.checkpointDir).toBe(path.join(root, master.replace(/\W/g, '_')));
    const expected = sorted(await build().collect());
    expect(r.checkpoint()).toBe(r);
    expect(sorted(await r.collect())).toEqual(expected);
    expect(sorted(await r.collect())).toEqual(expected);
    expect(sorted(await r.map(([k, v]) => [k, v + 1]).collect())).toEqual(expected.map(([k, v]) => [k, v + 1]));
    const cp = build().cache();
    expect(cp.checkpoint()).toBe(cp);
    expect(sorted(await cp.collect())).toEqual(expected);
  });
});
