/**
 * Map outputs in shared memory (local mode; shuffle/shared-output.ts, `shareOutputs` of the memory engine's manager).
 * What a reducer on another worker reads through the shared handle must be exactly what the writer serves when
 * asked (the same records in the same order, numbers bit for bit), for keys and values of every kind; an output
 * with a plain-array column, or one that spilled, is not shared. Reads on any thread count as reads for the move
 * to disk; a writer that spills, replaces or removes an output withdraws it, and no new reader takes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBucket, encodeBucket, stringColumn, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import { compactColumns } from '../../src/shuffle/column-file.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import { SpillingShuffleManager, type SpillingShuffleOptions } from '../../src/shuffle/spilling-shuffle-manager.js';
import {
  allRead,
  bucketOf,
  markRead,
  shareOutput,
  sharedBucketAt,
  spent,
  takeShared,
  withdrawn,
  type SharedOutput,
  type SharedOutputHandle,
} from '../../src/shuffle/shared-output.js';
import type { MapStatus } from '../../src/shuffle/wire.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { mapOutputBuckets, stringOfEveryShape } from '../fixtures/column-arbitraries.js';
import { slotOf } from '../../src/shuffle/sparse-buckets.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-shared-output-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const dir = (): string => path.join(scratch, `m${dirs++}`);

const output = mapOutputBuckets as fc.Arbitrary<Pair[][]>;

// Each property's own count unless FUZZ_RUNS asks for another (a search, or a quick replay).
const RUNS = process.env.FUZZ_RUNS === undefined ? undefined : Number(process.env.FUZZ_RUNS);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`shared-output: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS ?? 'default'}`);

/**
 * A word count's map output as the string table hands it over: string keys as chars (each bucket's words of one
 * shape: latin1 only, wider chars only, or mostly latin1), double counts, added encoded.
 */
const wordOutput = fc.integer({ min: 1, max: 4 }).chain((reducers) =>
  fc.array(
    stringOfEveryShape.chain((word) => fc.uniqueArray(word, { minLength: 256, maxLength: 400 })),
    { minLength: reducers, maxLength: reducers },
  ),
);

function manager(options: Partial<SpillingShuffleOptions> = {}): SpillingShuffleManager {
  return new SpillingShuffleManager({ workerIndex: 0, dir: dir(), spillBytes: 1 << 30, writeAllToDisk: false, moveReadOutputs: true, ...options });
}

function write(m: SpillingShuffleManager, buckets: readonly Pair[][], mapId = 0): MapStatus {
  const w = m.writer(0, mapId, buckets.length);
  buckets.forEach((b, r) => {
    for (const kv of b) w.add(r, kv);
  });
  return w.close();
}

function writeWords(m: SpillingShuffleManager, words: readonly string[][]): MapStatus {
  const w = m.writer(0, 0, words.length);
  words.forEach((ws, r) => {
    const keys = stringColumn(ws)!;
    w.addEncoded!(r, { length: ws.length, keys, values: { kind: 'f64', data: Float64Array.from(ws, (_, i) => i + 0.5) } });
  });
  return w.close();
}

/** What a reducer on another worker reads: the status's bucket after the structured clone of two posts. */
function readShared(status: MapStatus, r: number): Pair[] {
  const shared = structuredClone(status.shared!);
  return decodeBucket(handleBucket(shared, r));
}

/** Bucket `r` of a shared output, read through its handle as a reducer's worker reads it (empty when it has none). */
function handleBucket(h: SharedOutputHandle, r: number): EncodedBucket {
  const slot = slotOf(h, r);
  return slot < 0 ? encodeBucket([]) : sharedBucketAt(h, slot);
}

describe('map outputs in shared memory', () => {
  it('the comparison below tells -0 from 0 and NaN from a number', () => {
    expect(() => expect([[-0, 1]]).toEqual([[0, 1]])).toThrow();
    expect(() => expect([[NaN, 1]]).toEqual([[0, 1]])).toThrow();
  });

  it('a reducer reads through the handle exactly what the writer serves and what an unshared manager serves, keys and values of every kind', () => {
    fc.assert(
      fc.property(output, (buckets) => {
        const shared = manager({ shareOutputs: true });
        const plain = manager();
        const status = write(shared, buckets);
        write(plain, buckets);
        const stored = buckets.map((b) => encodeBucket(b));
        // Shared exactly when every column has a byte form (the columns a move to disk also needs).
        expect(status.shared !== undefined).toBe(compactColumns(stored));
        for (let r = 0; r < buckets.length; r++) {
          const expected = [...plain.fetchBuckets(0, [0], r)[0]!];
          if (status.shared !== undefined) expect(readShared(status, r)).toEqual(expected);
          expect([...shared.fetchBuckets(0, [0], r)[0]!]).toEqual(expected);
          expect(decodeBucket(shared.fetchEncoded(0, [0], r)[0]!)).toEqual(expected);
        }
        shared.close();
        plain.close();
      }),
      { numRuns: RUNS ?? 300, seed: SEED },
    );
  });

  it('string keys (a word count) are shared as their chars, latin1 bytes or utf16 code units by bucket, read back as the same strings, and moved to disk once read', async () => {
    await fc.assert(
      fc.asyncProperty(wordOutput, async (words) => {
        const shared = manager({ shareOutputs: true });
        const plain = manager();
        const status = writeWords(shared, words);
        writeWords(plain, words);
        expect(status.shared).toBeDefined();
        for (let r = 0; r < words.length; r++) {
          const latin1 = words[r]!.every((w) => [...w].every((c) => c.length === 1 && c.charCodeAt(0) < 256));
          expect(handleBucket(status.shared!, r).keys.kind).toBe(latin1 ? 'latin1' : 'utf16');
          const got = readShared(status, r);
          expect(got.map((kv) => kv[0])).toEqual(words[r]);
          expect(got).toEqual([...plain.fetchBuckets(0, [0], r)[0]!]);
          // The writer's own reader reads the same (and marks the bucket read).
          expect([...shared.fetchBuckets(0, [0], r)[0]!]).toEqual(got);
        }
        // Every bucket was read (here and through the handle): the output moves to its column file, and reads the same.
        shared.pollShared();
        await shared.moveReadOutputs();
        expect(shared.movedToDisk).toBe(1);
        for (let r = 0; r < words.length; r++)
          expect(decodeBucket(shared.fetchEncoded(0, [0], r)[0]!)).toEqual([...plain.fetchBuckets(0, [0], r)[0]!]);
        shared.close();
        plain.close();
      }),
      { numRuns: RUNS ?? 60, seed: SEED },
    );
  });

  it('the shared pool counts an output once, at the same size as unshared', () => {
    const buckets: Pair[][] = [Array.from({ length: 5000 }, (_, i): Pair => [i, i / 3]), Array.from({ length: 300 }, (_, i): Pair => [-i, 1])];
    const bytes = (share: boolean): number => {
      const budget = new MemoryBudget(1 << 30, dir());
      const m = manager({ shareOutputs: share, budget });
      write(m, buckets);
      return budget.used;
    };
    expect(bytes(true)).toBe(bytes(false));
    expect(bytes(true)).toBeGreaterThan(0);
  });

  it('reads on other threads count for the move to disk; the moved output still serves the same records', async () => {
    const m = manager({ shareOutputs: true });
    const buckets: Pair[][] = [[[1, 2]], [], [[3, 4.5]], [[5, -0]]];
    const status = write(m, buckets);
    const elsewhere = structuredClone(status.shared!); // another worker's copy of the handle: the same memory
    for (const r of [0, 2]) markRead(elsewhere.state, slotOf(elsewhere, r));
    expect(allRead(status.shared!.state)).toBe(false);
    m.pollShared();
    await m.moveReadOutputs();
    expect(m.movedToDisk).toBe(0);
    // The last bucket read by this worker's own reducer.
    expect([...m.fetchBuckets(0, [0], 3)[0]!]).toEqual([[5, -0]]);
    expect(allRead(elsewhere.state)).toBe(true);
    await m.moveReadOutputs();
    expect(m.movedToDisk).toBe(1);
    for (let r = 0; r < 4; r++) expect([...m.fetchBuckets(0, [0], r)[0]!]).toEqual(buckets[r]);
    // A reader still holding its view reads the bytes as they were.
    expect(decodeBucket(handleBucket(elsewhere, 3))).toEqual([[5, -0]]);
    m.close();
  });

  it('removing the shuffle, replacing the output or closing the manager withdraws it; views stay readable', () => {
    const m = manager({ shareOutputs: true });
    const first = write(m, [[[1, 1]], [[2, 2]]]);
    const replaced = write(m, [[[1, 1]], [[2, 2]]]); // map 0 run again here
    expect(withdrawn(first.shared!.state)).toBe(true);
    expect(withdrawn(replaced.shared!.state)).toBe(false);
    const other = write(m, [[[7, 7]], []], 1);
    m.remove(0);
    expect(withdrawn(replaced.shared!.state)).toBe(true);
    expect(withdrawn(other.shared!.state)).toBe(true);
    expect(decodeBucket(handleBucket(replaced.shared!, 1))).toEqual([[2, 2]]);
    const last = write(m, [[[3, 3]]]);
    m.close();
    expect(withdrawn(last.shared!.state)).toBe(true);
  });

  it('an output spilled by the shuffle pool is withdrawn (its memory is to go) and served from its runs', () => {
    const budget = new MemoryBudget(1 << 30, dir());
    const m = manager({ shareOutputs: true, budget });
    const buckets: Pair[][] = [Array.from({ length: 2000 }, (_, i): Pair => [i % 7, i]), [[1, 2]]];
    const status = write(m, buckets);
    expect(status.shared).toBeDefined();
    budget.spillAll();
    expect(m.spills).toBe(1);
    expect(withdrawn(status.shared!.state)).toBe(true);
    expect(takeShared([{ state: status.shared!.state, bucket: sharedBucketAt(status.shared!, 1), reduceId: 1, slot: 1 }])).toBeUndefined();
    const sorted = (xs: readonly Pair[]) => [...xs].sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
    expect(sorted(m.fetchBuckets(0, [0], 0)[0]!)).toEqual(sorted(buckets[0]!));
    m.close();
  });

  it('the manager lets go of the shared memory once the output is moved to disk, spilled or removed', async () => {
    const records = (): Pair[][] => [Array.from({ length: 3000 }, (_, i): Pair => [i, i / 7]), [[1, 2]]];
    const moving = manager({ shareOutputs: true });
    write(moving, records());
    write(moving, records(), 1);
    moving.fetchBuckets(0, [0], 0);
    moving.fetchBuckets(0, [0], 1);
    await moving.moveReadOutputs();
    expect(moving.movedToDisk).toBe(1);
    expect(moving.sharedHeld).toBe(1); // map 1, not read yet
    const budget = new MemoryBudget(1 << 30, dir());
    const spilling = manager({ shareOutputs: true, budget });
    write(spilling, records());
    expect(spilling.sharedHeld).toBe(1);
    budget.spillAll();
    expect(spilling.spills).toBe(1);
    expect(spilling.sharedHeld).toBe(0);
    moving.remove(0);
    expect(moving.sharedHeld).toBe(0);
    moving.close();
    spilling.close();
  });

  it('an output with runs (spilled while written) is not shared', () => {
    const m = manager({ shareOutputs: true, spillBytes: 2000 });
    const status = write(m, [Array.from({ length: 3000 }, (_, i): Pair => [i, i])]);
    expect(m.spills).toBeGreaterThan(0);
    expect(status.shared).toBeUndefined();
    m.close();
  });

  it('takeShared marks each bucket read once and leaves out withdrawn outputs; a spent output gives no bucket', () => {
    const out: SharedOutput = shareOutput([
      { length: 1, keys: { kind: 'i32', data: Int32Array.of(1) }, values: { kind: 'null' } },
      encodeBucket([]),
      { length: 2, keys: { kind: 'f64', data: Float64Array.of(0.5, -0) }, values: { kind: 'undefined' } },
    ]);
    expect(bucketOf(out.handle, 1)).toBeUndefined(); // empty
    const b0 = bucketOf(out.handle, 0)!;
    const taken = takeShared([null, b0]);
    expect([...taken!.keys()]).toEqual([1]);
    expect(decodeBucket(taken!.get(1)! as EncodedBucket)).toEqual([[1, null]]);
    takeShared([b0]); // a retried task: not counted twice
    expect(allRead(out.state)).toBe(false);
    expect(spent(out.state)).toBe(false);
    takeShared([bucketOf(out.handle, 2)!]);
    expect(spent(out.state)).toBe(true);
    expect(bucketOf(out.handle, 0)).toBeUndefined();
  });

  it('a poll looks at a bounded number of held outputs, the longest unlooked first: every output read is moved within a few polls', async () => {
    // A stage of many tasks polls once per task: a look at every held output each time was quadratic (1000 x 2001).
    const m = manager({ shareOutputs: true });
    const held = 200;
    const handles = Array.from({ length: held }, (_, mapId) => structuredClone(write(m, [[[mapId, 1]], []], mapId).shared!));
    for (const h of handles) markRead(h.state, 0); // read on another thread: this manager is told nothing
    const moved: number[] = [];
    for (let poll = 0; poll < 4; poll++) {
      m.pollShared();
      await m.moveReadOutputs();
      moved.push(m.movedToDisk);
    }
    expect(moved).toEqual([64, 128, 192, 200]);
    for (let mapId = 0; mapId < held; mapId += 37) expect([...m.fetchBuckets(0, [mapId], 0)[0]!]).toEqual([[mapId, 1]]);
  });
});
