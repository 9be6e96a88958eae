/**
 * Stored map outputs whose column arrays came from the per-thread pool (util/scratch-arrays.ts), as the writer's
 * placeColumns takes them: the manager gives them back when the output no longer needs them (moved to disk,
 * removed, a move's write ended after a removal), except the buckets a local reader was handed as views. Whatever
 * the pool hands out afterwards (and whoever writes into it) must change no record read later and no view still held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { decodeBucket, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { BUCKET_START } from '../../src/shuffle/shuffle-manager.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { MIN_POOLED_BYTES, pooledBytes, setMinPooledBytes, takeFloat64, takeInt32 } from '../../src/util/scratch-arrays.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'kindling-pooled-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(() => setMinPooledBytes(MIN_POOLED_BYTES));

/** Per reducer, records with int32 keys and double values (-0, NaN and fractions among them). */
const outputRecords = fc
  .integer({ min: 1, max: 4 })
  .chain((reducers) =>
    fc.array(
      fc.array(fc.tuple(fc.integer({ min: -5, max: 200 }), fc.oneof(fc.double(), fc.constant(-0), fc.constant(Number.NaN))), { maxLength: 40 }),
      { minLength: reducers, maxLength: reducers },
    ),
  );

/**
 * Writes the records as placeColumns does: one encoded bucket per reducer, its arrays taken from the pool. Returns
 * each reducer's two buffers (none for an empty bucket).
 */
function writePooled(
  manager: SpillingShuffleManager,
  shuffleId: number,
  buckets: ReadonlyArray<ReadonlyArray<readonly [number, number]>>,
): ArrayBuffer[][] {
  const w = manager.writer(shuffleId, 0, buckets.length);
  const lent = buckets.map((b, r): ArrayBuffer[] => {
    if (b.length === 0) return [];
    const keys = takeInt32(b.length);
    const values = takeFloat64(b.length);
    b.forEach(([k, v], i) => {
      keys[i] = k;
      values[i] = v;
    });
    w.addEncoded!(r, { length: b.length, keys: { kind: 'i32', data: keys }, values: { kind: 'f64', data: values } });
    return [keys.buffer, values.buffer];
  });
  w.close();
  return lent;
}

/** Takes everything the pool holds (and more) and writes over it, as the next tasks would. Returns the buffers taken. */
function scribble(): Set<ArrayBuffer> {
  const taken = new Set<ArrayBuffer>();
  for (let n = 1; n <= 48; n++) {
    const a = takeFloat64(n);
    a.fill(12345.5);
    taken.add(a.buffer);
    const b = takeInt32(n);
    b.fill(-7);
    taken.add(b.buffer);
  }
  return taken;
}

const buffersOfBucket = (e: EncodedBucket): ArrayBuffer[] =>
  [e.keys, e.values].flatMap((c) => ('data' in c && !Array.isArray(c.data) ? [c.data.buffer as ArrayBuffer] : []));

describe('stored buckets whose arrays came from the pool', () => {
  it('go back to it once not needed, never when viewed, and no later use of the pool changes a record or a view', async () => {
    setMinPooledBytes(1);
    await fc.assert(
      fc.asyncProperty(
        outputRecords,
        fc.array(fc.constantFrom('pairs', 'copy', 'view', 'partView'), { minLength: 4, maxLength: 4 }),
        fc.constantFrom('move', 'remove', 'removeWhileMoving', 'keep'),
        async (buckets, firstRead, then) => {
          const manager = new SpillingShuffleManager({
            workerIndex: 0,
            dir: tempDir(),
            spillBytes: 1 << 30,
            writeAllToDisk: false,
            moveReadOutputs: true,
          });
          const expected = buckets.map((b) => b.map(([k, v]) => [k, v] as Pair));
          const lent = writePooled(manager, 1, buckets);
          const views: Array<{ r: number; held: EncodedBucket }> = [];
          const viewed = new Set<ArrayBuffer>();
          buckets.forEach((b, r) => {
            const way = firstRead[r]!;
            // Every bucket read once (so the output moves), one of four ways.
            if (way === 'view' || (way === 'partView' && b.length > 0)) {
              const held =
                way === 'view' ? manager.fetchEncoded(1, [0], r, true)[0]! : manager.fetchParts(1, [0], r, BUCKET_START, 1, true).buckets[0]!;
              views.push({ r, held });
              for (const buf of buffersOfBucket(held)) viewed.add(buf);
              if (way === 'partView') {
                // The rest of the bucket, so that it counts as read.
                manager.fetchParts(1, [0], r, { segment: 0, offset: held.length }, 1 << 30, true);
              }
            } else if (way === 'copy') decodeBucket(manager.fetchEncoded(1, [0], r)[0]!);
            else manager.fetchBuckets(1, [0], r);
          });
          let kept: Set<ArrayBuffer> | undefined;
          let pooled = pooledBytes();
          if (then === 'move') await manager.moveReadOutputs();
          else if (then === 'remove') manager.remove(1);
          else if (then === 'removeWhileMoving') {
            const moving = manager.moveReadOutputs();
            manager.remove(1);
            // Taken while the write still reads the arrays, and kept: none of these may be handed out again.
            kept = scribble();
            pooled = pooledBytes();
            await moving;
          }
          const given = pooledBytes() - pooled;
          if (kept !== undefined) for (const buf of scribble()) expect(kept.has(buf)).toBe(false);
          const taken = scribble();
          // A viewed bucket's arrays never came back from the pool; its view still reads the records it was given.
          for (const buf of viewed) expect(taken.has(buf)).toBe(false);
          for (const { r, held } of views) expect(decodeBucket(held)).toEqual(expected[r]!.slice(0, held.length));
          if (then === 'keep') expect(given).toBe(0);
          else if (then !== 'move' || manager.movedToDisk === 1) {
            // Removed or moved: exactly the arrays of the buckets no reader viewed went back.
            const back = lent.filter((_, r) => !views.some((v) => v.r === r)).flat();
            expect(given).toBe(back.reduce((n, buf) => n + buf.byteLength, 0));
          }
          if (then === 'move' || then === 'keep') {
            // Read again after the pool's arrays were written over: the same records.
            buckets.forEach((_, r) => expect(manager.fetchBuckets(1, [0], r)[0]).toEqual(expected[r]));
          }
          manager.close();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('by example: a moved output gives back exactly the arrays of its unviewed buckets', async () => {
    setMinPooledBytes(1);
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir: tempDir(), spillBytes: 1 << 30, writeAllToDisk: false, moveReadOutputs: true });
    const records = (base: number): Array<[number, number]> => Array.from({ length: 1000 }, (_, i) => [base + i, i / 7]);
    const lent = writePooled(manager, 2, [records(0), records(5000)]);
    const view = manager.fetchEncoded(2, [0], 0, true)[0]!;
    manager.fetchEncoded(2, [0], 1); // a peer's copy
    const pooled = pooledBytes();
    await manager.moveReadOutputs();
    expect(manager.movedToDisk).toBe(1);
    // Bucket 1's two arrays (4 KB of keys, 8 KB of values, as the pool rounds them), not bucket 0's.
    const bucket1 = lent[1]!.reduce((n, b) => n + b.byteLength, 0);
    expect(pooledBytes() - pooled).toBe(bucket1);
    scribble();
    expect(decodeBucket(view)).toEqual(records(0));
    expect(manager.fetchBuckets(2, [0], 1)[0]).toEqual(records(5000));
    manager.close();
  });
});
