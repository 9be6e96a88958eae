/**
 * Persistence: cache, persist at every storage level, unpersist and checkpoint return the RDD and give the same
 * results as the unpersisted lineage.
 */
import { type FSWatcher, mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capture, Context, StorageLevel } from 'kindling';
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
    expect(r.getStorageLevel()).toBe(level); // Spark's name for it
    expect(sorted(await r.collect())).toEqual(expected);
    expect(sorted(await r.collect())).toEqual(expected);
    expect(r.unpersist()).toBe(r);
    expect(r.storageLevel).toBe(StorageLevel.NONE);
    expect(r.getStorageLevel()).toBe(StorageLevel.NONE);
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

  it('a level given by its name is that level; anything else is refused at the call, naming what is offered', async () => {
    // A JavaScript caller has no type check: persist('MEMORY_ONLY') used to store the string, and every task then
    // failed with "Cannot read properties of undefined (reading 'useDisk')".
    const r = ctx()
      .parallelize([1, 2, 3], 2)
      .map((x) => x * 2);
    expect(r.persist('MEMORY_AND_DISK')).toBe(r);
    expect(r.getStorageLevel()).toBe(StorageLevel.MEMORY_AND_DISK);
    expect(await r.collect()).toEqual([2, 4, 6]);
    expect(() => r.persist('DISK_ONLY')).toThrow(/from MEMORY_AND_DISK to DISK_ONLY/);
    const q = ctx().parallelize([1], 1);
    expect(() => q.persist('MEMORY_ONLY_SER' as never)).toThrow(
      /unknown storage level 'MEMORY_ONLY_SER' \(Spark's MEMORY_ONLY_SER .*use MEMORY_ONLY\).*StorageLevel\.DISK_ONLY/,
    );
    expect(() => q.persist({ name: 'BOGUS' } as never)).toThrow(/unknown storage level a level named 'BOGUS'/);
    expect(() => q.persist({ name: 'MEMORY_ONLY', useMemory: false, useDisk: true } as never)).toThrow(/unknown storage level/);
    expect(() => q.persist(null as never)).toThrow(/unknown storage level null/);
    expect(q.getStorageLevel()).toBe(StorageLevel.NONE);
    // A copy of a level (say, one that crossed a thread) is the level of its name.
    expect(q.persist({ ...StorageLevel.DISK_ONLY })).toBe(q);
    expect(q.getStorageLevel()).toBe(StorageLevel.DISK_ONLY);
    expect(await q.collect()).toEqual([1]);
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
    // A folder of this context's own under it, as Spark's getCheckpointDir: another context's rdd-N is not this one's.
    expect(path.dirname(sc.checkpointDir!)).toBe(path.join(root, master.replace(/\W/g, '_')));
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

// A task is sent without the input below a partition cached on its worker; these drop that block between the
// task's launch and its run. Before the worker noticed, the task read no input there: an empty partition, and a
// wrong result with no error.
describe('a cached partition dropped while a task that reads it is on its way', () => {
  it('unpersist() during a job: every partition is still computed, from its lineage', async () => {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    try {
      const busy = (x: number): number => {
        const t = Date.now();
        while (Date.now() - t < 15);
        return x;
      };
      for (const afterMs of [20, 60, 120]) {
        const r = sc
          .parallelize(
            Array.from({ length: 20 }, (_, i) => i),
            20,
          )
          .map(capture({ busy }, (x: number) => busy(x)))
          .cache();
        await r.count();
        const running = r
          .map(capture({ busy }, (x: number) => busy(x) * 2))
          .glom()
          .collect();
        setTimeout(() => r.unpersist(), afterMs);
        expect(await running).toEqual(Array.from({ length: 20 }, (_, i) => [i * 2]));
        expect(await r.sum()).toBe(190);
      }
    } finally {
      await sc.stop();
    }
  });

  it('a cached partition evicted by a task queued before the one reading it', async () => {
    // 12.8 MB of cache per worker: A (40 x 80 KB) fits, B (40 x 1.2 MB) evicts A's partitions as it is cached,
    // the least recently used first: those the next B tasks, already sent without A's input, are about to read.
    const sc = new Context({
      master: 'local[2]',
      progress: false,
      hints: false,
      ui: false,
      memory: { workerMB: 256, storageFraction: 0.05, shuffleFraction: 0.2 },
    });
    try {
      const a = sc
        .parallelize(
          Array.from({ length: 40 }, (_, i) => i),
          40,
        )
        .map((i) => new Float64Array(10_000).fill(i))
        .cache();
      await a.count();
      const b = a.map((x) => new Float64Array(150_000).fill(x[0]!)).cache();
      expect(await b.map((x) => x[0]).collect()).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(await b.map((x) => x.length).sum()).toBe(40 * 150_000);
    } finally {
      await sc.stop();
    }
  });
});

describe('checkpoints of two contexts given one directory', () => {
  it("each reads its own: RDD ids restart in every context, and one context's rdd-N is not the other's", async () => {
    const dir = path.join(root, 'shared-checkpoints');
    const a = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    const b = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    try {
      a.setCheckpointDir(dir);
      b.setCheckpointDir(dir);
      expect(a.checkpointDir).not.toBe(b.checkpointDir);
      const ra = a.parallelize(['a1', 'a2', 'a3'], 2).map((x) => x);
      const rb = b.parallelize(['b1', 'b2', 'b3'], 2).map((x) => x);
      expect(ra.id).toBe(rb.id);
      ra.checkpoint();
      rb.checkpoint();
      expect(ra.getCheckpointFile()).toBeUndefined();
      expect(await ra.collect()).toEqual(['a1', 'a2', 'a3']);
      expect(ra.getCheckpointFile()).toBe(path.join(a.checkpointDir!, `rdd-${ra.id}`));
      expect(readdirSync(ra.getCheckpointFile()!).sort()).toEqual(['part-00000', 'part-00001']);
      expect(await rb.collect()).toEqual(['b1', 'b2', 'b3']);
      expect(ra.isCheckpointed && rb.isCheckpointed).toBe(true);
      // Before, b's checkpoint job wrote over a's files, and a read b's data from then on.
      expect(await ra.collect()).toEqual(['a1', 'a2', 'a3']);
      expect(await rb.collect()).toEqual(['b1', 'b2', 'b3']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('an RDD marked for checkpointing, two actions on it at once', () => {
  // Spark's RDDCheckpointData: one writer per RDD (its state flips to CheckpointingInProgress under a lock), the other
  // action does not write it again. Before, both wrote, and the second rename onto rdd-N failed the second action with
  // ENOTEMPTY (found by random-programs-extended: randomSplit's parts collected at once after a checkpoint()).
  it.each(['memory', 'mapreduce'] as const)('both give their results and the checkpoint is written once (%s engine)', async (engine) => {
    const sc = new Context({ master: 'local[2]', engine, progress: false, hints: false, ui: false });
    try {
      sc.setCheckpointDir(path.join(root, `concurrent-checkpoint-${engine}`));
      const r = sc.parallelize([1, 2, 3, 4, 5], 2).map((x) => x * 10);
      r.checkpoint();
      const [a, b, c] = await Promise.all([r.collect(), r.count(), r.filter((x) => x > 20).collect()]);
      expect([a, b, c]).toEqual([[10, 20, 30, 40, 50], 5, [30, 40, 50]]);
      expect(r.isCheckpointed).toBe(true);
      expect(readdirSync(sc.checkpointDir!)).toEqual([`rdd-${r.id}`]);
      expect(await r.collect()).toEqual([10, 20, 30, 40, 50]);
    } finally {
      await sc.stop();
    }
  });
});

describe('the checkpoint folder removed between jobs', () => {
  // Spark makes an RDD's checkpoint folder with mkdirs (ReliableCheckpointRDD.writeRDDToCheckpointDirectory), parents
  // included: a folder a temp cleaner removed is made again. An RDD checkpointed before keeps its lineage cut and its
  // files are gone, so reading it fails naming the file (as Spark's FileNotFoundException).
  it.each(['memory', 'mapreduce'] as const)('a later checkpoint is written; an earlier one fails naming its file (%s engine)', async (engine) => {
    const sc = new Context({ master: 'local[2]', engine, progress: false, hints: false, ui: false });
    try {
      sc.setCheckpointDir(path.join(root, `removed-checkpoint-${engine}`));
      const before = sc.parallelize([1, 2, 3], 2).map((x) => x + 1);
      before.checkpoint();
      expect(await before.count()).toBe(3);
      rmSync(path.join(root, `removed-checkpoint-${engine}`), { recursive: true, force: true });
      const after = sc.parallelize([1, 2, 3, 4], 2).map((x) => x * 2);
      after.checkpoint();
      expect(await after.collect()).toEqual([2, 4, 6, 8]);
      expect(after.isCheckpointed).toBe(true);
      expect(readdirSync(sc.checkpointDir!)).toEqual([`rdd-${after.id}`]);
      expect(await after.collect()).toEqual([2, 4, 6, 8]);
      await expect(before.collect()).rejects.toThrow(/checkpoint file .*rdd-\d+.part-0000\d/);
    } finally {
      await sc.stop();
    }
  });
});

describe('a worker killed while a checkpoint is written', () => {
  it("between an attempt's write and its rename: the attempt file is removed once the checkpoint job succeeds", async () => {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    const watchers: FSWatcher[] = [];
    try {
      sc.setCheckpointDir(path.join(root, 'renamed-checkpoint'));
      // One partition of ~40 MB: its write takes long enough for the kill, sent the moment its attempt file
      // appears, to arrive before the write returns; the write is synchronous, so the worker stops right after it,
      // before the rename (no timing luck needed: the race is forced every run).
      const r = sc.range(0, 40_000, 1, 1).map((i) => `${i}:${'x'.repeat(1000)}`);
      r.checkpoint();
      const attemptFiles = new Set<string>();
      let killed = false;
      const onFile = (_event: string, name: string | null) => {
        if (name === null || !/^part-\d+\.attempt-/.test(name) || attemptFiles.has(name)) return;
        attemptFiles.add(name);
        if (killed) return;
        killed = true;
        // Which of the two threads runs the task is not known here: stopping both is what a lost host does.
        void sc.faults.killWorker(0);
        void sc.faults.killWorker(1);
      };
      // The job writes into a folder of its own (renamed to rdd-<id> once it succeeded), made by the driver just
      // before the job starts: watched as soon as it appears, long before the task has built its 40 MB partition.
      watchers.push(
        watch(sc.checkpointDir!, (_event, name) => {
          if (name === null || !name.startsWith(`.rdd-${r.id}.writing-`) || watchers.length > 1) return;
          watchers.push(watch(path.join(sc.checkpointDir!, name), onFile));
        }),
      );
      expect(await r.count()).toBe(40_000);
      for (const w of watchers) w.close();
      expect(killed).toBe(true);
      // The killed attempt's file and the retry's: two attempts wrote, one of them never renamed its file.
      expect(attemptFiles.size).toBeGreaterThanOrEqual(2);
      expect(r.isCheckpointed).toBe(true);
      expect(readdirSync(r.getCheckpointFile()!)).toEqual(['part-00000']);
      expect(await r.map((x) => Number(x.split(':')[0])).sum()).toBe((40_000 * 39_999) / 2);
    } finally {
      for (const w of watchers) w.close();
      await sc.stop();
    }
  });

  it('at any moment: the checkpoint holds the whole RDD, no attempt file is left or read, the context goes on', async () => {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    try {
      sc.setCheckpointDir(path.join(root, 'killed-checkpoint'));
      for (const delayMs of [0, 60, 200, 450]) {
        const r = sc
          .parallelize(
            Array.from({ length: 100_000 }, (_, i) => i),
            16,
          )
          .map((x) => [x % 1000, `v${x}`] as [number, string]);
        r.checkpoint();
        setTimeout(() => void sc.faults.killWorker(delayMs % 2), delayMs);
        expect(await r.count(), `kill at ${delayMs} ms`).toBe(100_000);
        expect(r.isCheckpointed).toBe(true);
        expect(await r.map(([k]) => k).sum(), `kill at ${delayMs} ms`).toBe(100 * 499_500);
        expect(readdirSync(r.getCheckpointFile()!).sort()).toEqual(Array.from({ length: 16 }, (_, p) => `part-${String(p).padStart(5, '0')}`));
      }
    } finally {
      await sc.stop();
    }
  });
});
