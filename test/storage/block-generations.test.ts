/**
 * Cache generations on a worker (the worker half of rolling back the cached partitions of an RDD computed from an
 * indeterminate shuffle): a block belongs to the generation its task computed; a reader names its generation and
 * never sees another's; once the store has heard of a newer generation of an RDD (the driver's removal, or a task of
 * that generation caching), older blocks are gone and a late task of an older stage attempt cannot cache one again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlockManager } from '../../src/storage/block-manager.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-block-generations-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let stores = 0;
const store = () => new BlockManager({ storageBytes: 1 << 20, spillDir: path.join(scratch, `s${stores++}`) });

describe('cached blocks by generation', () => {
  it('a reader of one generation never reads a block of another', () => {
    const bm = store();
    bm.put(7, 0, ['first'], 'MEMORY_ONLY');
    expect(bm.get(7, 0, 1)).toBeUndefined();
    bm.put(7, 0, ['second'], 'MEMORY_ONLY', 1);
    expect([...bm.get(7, 0, 1)!]).toEqual(['second']);
    // Generation 1 is the newest this store has seen: the first computation's block went when it came.
    expect(bm.get(7, 0, 0)).toBeUndefined();
    expect(bm.get(7, 0)).toBeUndefined();
  });

  it("the driver's rollback drops older blocks in memory and on disk, unreported, and a late task of an older attempt cannot cache one", () => {
    const bm = store();
    bm.put(3, 0, ['a'], 'MEMORY_ONLY');
    bm.put(3, 1, ['b'], 'DISK_ONLY');
    bm.put(4, 0, ['other rdd'], 'MEMORY_ONLY');
    bm.drainUpdates();
    expect(bm.removeRdd(3, 1)).toEqual([]);
    expect(bm.drainUpdates()).toEqual([]);
    expect(bm.get(3, 0)).toBeUndefined();
    expect(bm.get(3, 1)).toBeUndefined();
    expect(bm.sizeOf(3, 1)).toBe(0);
    // A task of the stage attempt from before the rollback ends now, and caches what it computed from the old input.
    bm.put(3, 0, ['stale'], 'MEMORY_ONLY', 0);
    bm.put(3, 1, ['stale'], 'MEMORY_AND_DISK', 0);
    expect(bm.get(3, 0, 0)).toBeUndefined();
    expect(bm.get(3, 1, 0)).toBeUndefined();
    expect(bm.drainUpdates()).toEqual([]);
    // The new generation caches and reads as before, and its updates name it for the driver.
    bm.put(3, 0, ['new'], 'MEMORY_ONLY', 1);
    expect([...bm.get(3, 0, 1)!]).toEqual(['new']);
    expect(bm.drainUpdates()).toEqual([expect.objectContaining({ rddId: 3, partition: 0, change: 'added', generation: 1 })]);
    // Another RDD is left alone.
    expect([...bm.get(4, 0)!]).toEqual(['other rdd']);
    // unpersist() drops every generation, reported.
    expect(bm.removeRdd(3).map((u) => [u.partition, u.change, u.generation])).toEqual([[0, 'dropped', 1]]);
    bm.close();
  });

  it('any sequence of puts and rollbacks: a block is readable exactly when it was put in a generation no older than any seen since', () => {
    // RDD 0 is cached in memory, RDD 1 on disk (an RDD's storage level never changes while it is cached).
    type Op = { kind: 'put'; rdd: number; p: number; gen: number } | { kind: 'rollBack'; rdd: number; gen: number };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('put' as const),
        rdd: fc.integer({ min: 0, max: 1 }),
        p: fc.integer({ min: 0, max: 2 }),
        gen: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ kind: fc.constant('rollBack' as const), rdd: fc.integer({ min: 0, max: 1 }), gen: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops: Op[]) => {
        const bm = store();
        const newest = [0, 0];
        const model = new Map<string, string>();
        ops.forEach((o, i) => {
          if (o.gen > newest[o.rdd]!) {
            newest[o.rdd] = o.gen;
            for (const k of [...model.keys()]) if (k.startsWith(`${o.rdd}/`) && Number(k.split('/')[2]) < o.gen) model.delete(k);
          }
          if (o.kind === 'rollBack') bm.removeRdd(o.rdd, o.gen);
          else {
            bm.put(o.rdd, o.p, [`op ${i}`], o.rdd === 1 ? 'DISK_ONLY' : 'MEMORY_ONLY', o.gen);
            if (o.gen >= newest[o.rdd]!) model.set(`${o.rdd}/${o.p}/${o.gen}`, `op ${i}`);
          }
          for (let rdd = 0; rdd < 2; rdd++)
            for (let p = 0; p < 3; p++)
              for (let gen = 0; gen <= 3; gen++) {
                const got = bm.get(rdd, p, gen);
                expect(got === undefined ? undefined : [...got][0], `after op ${i}: rdd ${rdd} partition ${p} generation ${gen}`).toBe(
                  model.get(`${rdd}/${p}/${gen}`),
                );
              }
        });
        bm.close();
      }),
      { numRuns: 200 },
    );
  });
});
