/**
 * Block updates reach the driver whatever else the worker is told meanwhile: a removal (unpersist of another RDD)
 * that arrives while a task awaits must not take the updates that task's puts queued (they go with its outcome).
 * And what the driver forgets, its listeners hear of: an unpersisted RDD leaves the REST API's storage/rdd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { capture, Context } from 'kindling';
import { BlockManager } from '../../src/storage/block-manager.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-block-updates-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const contexts: Context[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
});

describe('block updates', () => {
  it("removing an RDD returns its own drops and leaves the updates queued for other blocks to the tasks' outcomes", () => {
    const bm = new BlockManager({ storageBytes: 1 << 20, spillDir: path.join(scratch, 'unit') });
    bm.put(1, 0, ['old'], 'MEMORY_ONLY');
    bm.put(1, 1, ['old'], 'DISK_ONLY');
    bm.drainUpdates();
    // A running task caches a partition of RDD 2; the removal of RDD 1 comes before the task ends.
    bm.put(2, 0, ['new'], 'MEMORY_ONLY');
    expect(bm.removeRdd(1).map((u) => [u.rddId, u.partition, u.change])).toEqual([
      [1, 0, 'dropped'],
      [1, 1, 'dropped'],
    ]);
    expect(bm.drainUpdates().map((u) => [u.rddId, u.partition, u.change])).toEqual([[2, 0, 'added']]);
    bm.close();
  });

  it('a partition cached by a task awaiting a mapAsync while another RDD is unpersisted is in the storage report', async () => {
    const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: false, localityWaitMs: 600_000 });
    contexts.push(sc);
    const other = sc.range(4, undefined, 1, 2).cache();
    await other.count();
    const computed = sc.accumulator(0);
    const cached = sc
      .range(40, undefined, 1, 2)
      .map(
        capture({ computed }, (x: number) => {
          computed.add(1);
          return x * 2;
        }),
      )
      .cache();
    let unpersisted = false;
    // The partition is cached as the mapAsync starts on it; each element then waits, and the removal comes meanwhile.
    const job = cached
      .mapAsync(async (x: number) => {
        await new Promise((r) => setTimeout(r, 40));
        return x;
      })
      .count();
    sc.events.on('taskStart', () => {
      if (unpersisted) return;
      unpersisted = true;
      setTimeout(() => other.unpersist(), 20);
    });
    expect(await job).toBe(40);
    expect(unpersisted).toBe(true);
    const info = sc.getRDDStorageInfo();
    expect(info.map((i) => [i.id, i.numCachedPartitions])).toEqual([[cached.id, 2]]);
    // And the worker does hold them: the next job reads both from the cache.
    expect(await cached.count()).toBe(40);
    expect(computed.value).toBe(40);
  });

  it("an unpersisted RDD leaves the REST API's storage/rdd (and the UI's Storage page), as getRDDStorageInfo()", async () => {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: { port: 0 } });
    contexts.push(sc);
    const storage = async (): Promise<Array<[number, number]>> => {
      const res = await fetch(`${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}/storage/rdd`);
      return ((await res.json()) as Array<{ id: number; numCachedPartitions: number }>).map((r) => [r.id, r.numCachedPartitions]);
    };
    const kept = sc.range(100, undefined, 1, 4).cache();
    const dropped = sc.range(100, undefined, 1, 4).cache();
    await kept.count();
    await dropped.count();
    // The UI's store hears of blocks through the event bus, off the job's own promise.
    await vi.waitFor(
      async () =>
        expect(await storage()).toEqual([
          [kept.id, 4],
          [dropped.id, 4],
        ]),
      { timeout: 10_000 },
    );
    dropped.unpersist();
    await vi.waitFor(async () => expect(await storage()).toEqual([[kept.id, 4]]), { timeout: 10_000 });
    expect(sc.getRDDStorageInfo().map((i) => i.id)).toEqual([kept.id]);
  });
});
