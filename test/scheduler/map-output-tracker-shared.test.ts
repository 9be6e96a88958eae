/**
 * The driver's handles of map outputs in shared memory (MapOutputTracker; shuffle/shared-output.ts): a reduce task
 * is given the buckets of every worker's shared outputs, its own worker's too (read through the handle, it counts as
 * a reader, so its writer does not reuse the memory under it); a handle goes as soon as no new
 * reader needs it (read by every reducer, withdrawn by its writer), with its worker (lost, or failing a fetch),
 * with its shuffle, and when the output is registered again; holding it is what keeps the memory alive.
 */
import { describe, expect, it } from 'vitest';
import { MapOutputTracker } from '../../src/scheduler/map-output-tracker.js';
import { encodeBucket } from '../../src/shuffle/bucket-codec.js';
import { markRead, shareOutput, sharedBucketAt, withdraw, type SharedOutput } from '../../src/shuffle/shared-output.js';
import type { MapStatus } from '../../src/shuffle/wire.js';
import { bucketAt } from '../../src/shuffle/sparse-buckets.js';

/** The shared buckets `reads` gives a reducer `reduceId` on worker 0, as [map id, the bucket's reduce id]. */
function sharedRead(t: MapOutputTracker, shuffleId: number, reduceId: number): Array<[number | undefined, number]> | undefined {
  return t.reads(shuffleId, reduceId, 0).sharedMaps?.map((m) => [m, reduceId]);
}

/** A shared output of two reduce partitions, each with one record. */
function output(mapId: number): { status: MapStatus; shared: SharedOutput } {
  const shared = shareOutput([encodeBucket([[mapId, 0]]), encodeBucket([[mapId, 1]])]);
  return { status: { sizes: [1, 1], shared: shared.handle }, shared };
}

function tracker(): { t: MapOutputTracker; outs: SharedOutput[] } {
  const t = new MapOutputTracker();
  t.registerShuffle(3, 3);
  const outs: SharedOutput[] = [];
  for (let m = 0; m < 3; m++) {
    const o = output(m);
    outs.push(o.shared);
    t.registerOutput(3, m, m % 2, 0, o.status); // maps 0 and 2 on worker 0, map 1 on worker 1
  }
  return { t, outs };
}

describe('MapOutputTracker and outputs in shared memory', () => {
  it("gives a reducer the buckets of every worker's shared outputs, by map id, its own worker's too", () => {
    const { t, outs } = tracker();
    const r1 = t.reads(3, 1, 0);
    expect(sharedRead(t, 3, 1)).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
    // The handle rebuilds the bucket the writer placed: the same columns, over the same memory.
    const h0 = new Map(r1.handles).get(0)!;
    expect(sharedBucketAt(h0, r1.sharedSlots![0]!)).toEqual(bucketAt(outs[0]!.buckets, 1));
    expect(sharedBucketAt(h0, r1.sharedSlots![0]!).keys).not.toBe(bucketAt(outs[0]!.buckets, 1)!.keys);
    const r0 = t.reads(3, 0, 1);
    expect(r0.sharedMaps!.map((m, i) => sharedBucketAt(new Map(r0.handles).get(m)!, r0.sharedSlots![i]!))).toEqual(
      outs.map((o) => bucketAt(o.buckets, 0)),
    );
    expect(t.size.sharedOutputs).toBe(3);
    expect(t.size.sharedRegistered).toBe(3);
    // Every output is still read from its worker's location too (the fallback when a bucket was withdrawn).
    expect(r1.mapIds).toEqual([0, 1, 2]);
    expect(r1.locations).toEqual([0, 1, 0]);
  });

  it('sends each worker the handle of an output once, again to a replaced worker, and none for a read without a worker', () => {
    const { t } = tracker();
    const handlesOf = (reduceId: number, w?: number) => t.reads(3, reduceId, w).handles?.map(([m]) => m);
    expect(handlesOf(0, 0)).toEqual([0, 1, 2]);
    // Later tasks of worker 0 name the outputs only; worker 1 is sent them at its first task.
    expect(handlesOf(1, 0)).toBeUndefined();
    expect(t.reads(3, 1, 0).sharedMaps).toEqual([0, 1, 2]);
    expect(handlesOf(1, 1)).toEqual([0, 1, 2]);
    // A read the task may never make (below a remote block) takes nothing from shared memory.
    expect(t.reads(3, 1)).toEqual({ shuffleId: 3, reduceId: 1, mapIds: [0, 1, 2], locations: [0, 1, 0] });
    // Worker 1 lost, its map 1 computed again on worker 0: worker 1's replacement is sent every handle, worker 0
    // only the new output's.
    t.removeWorker(1, 'died');
    t.registerOutput(3, 1, 0, 1, output(1).status);
    expect(handlesOf(0, 1)).toEqual([0, 1, 2]);
    expect(handlesOf(0, 0)).toEqual([1]);
  });

  it('lets a handle go once every bucket was read or the writer withdrew it', () => {
    const { t, outs } = tracker();
    markRead(outs[0]!.state, 0);
    expect(t.size.sharedOutputs).toBe(3);
    markRead(outs[0]!.state, 1);
    withdraw(outs[1]!.state);
    expect(t.size.sharedOutputs).toBe(1);
    expect(sharedRead(t, 3, 0)).toEqual([[2, 0]]);
    expect(sharedRead(t, 3, 1)).toEqual([[2, 1]]);
    // The spent outputs are still read, from their workers.
    expect(t.reads(3, 0).mapIds).toEqual([0, 1, 2]);
  });

  it('forgets the handles with their worker, a fetch failure, a re-registered output, and the shuffle', () => {
    const { t } = tracker();
    t.removeWorker(1, 'died');
    expect(t.size.sharedOutputs).toBe(2);
    t.unregisterWorkerOutputs(0, 0, 'fetch failed');
    expect(t.size.sharedOutputs).toBe(0);
    // Computed again on a new incarnation, not shared: no reducer is handed the lost outputs' memory.
    for (let m = 0; m < 3; m++) t.registerOutput(3, m, 1, 1, { sizes: [1, 1] });
    expect(t.reads(3, 0, 0)).toEqual({ shuffleId: 3, reduceId: 0, mapIds: [0, 1, 2], locations: [1, 1, 1] });

    const again = tracker();
    again.t.registerOutput(3, 0, 1, 1, { sizes: [1, 1] }); // map 0 computed again, on worker 1, not shared
    expect(again.t.size.sharedOutputs).toBe(2);
    again.t.unregisterOutput(3, 2, 0);
    expect(again.t.size.sharedOutputs).toBe(1);
    again.t.unregisterAllOutputs(3, 'indeterminate');
    expect(again.t.size.sharedOutputs).toBe(0);

    const dropped = tracker();
    dropped.t.unregisterShuffle(3);
    expect(dropped.t.size.sharedOutputs).toBe(0);
    expect(dropped.t.reads(3, 0, 0).sharedMaps).toBeUndefined();
  });

  it("lets spent handles go at map tasks' ends, at the latest after a quarter as many registrations as outputs held", () => {
    const { t, outs } = tracker();
    for (const o of outs) for (const r of [0, 1]) markRead(o.state, r);
    // While few are held, the next map task's end lets them go (sharedHeld itself does not sweep).
    t.registerShuffle(4, 200);
    t.registerOutput(4, 0, 0, 0, output(0).status);
    expect(t.sharedHeld(3)).toBe(0);
    // With 100 unread outputs held, a spent one is let go within 25 more registrations, not necessarily at once.
    for (let m = 1; m < 100; m++) t.registerOutput(4, m, m % 2, 0, output(m).status);
    const spentOne = output(100);
    t.registerShuffle(5, 1);
    t.registerOutput(5, 0, 0, 0, spentOne.status);
    for (const r of [0, 1]) markRead(spentOne.shared.state, r);
    let registrations = 0;
    while (t.sharedHeld(5) > 0) {
      expect(registrations).toBeLessThanOrEqual(26);
      t.registerOutput(4, 100 + registrations++, 0, 0, output(101).status);
    }
    expect(t.sharedHeld(4)).toBe(100 + registrations);
  });
});
