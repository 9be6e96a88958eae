/**
 * The memory of map outputs in shared memory reused (shuffle/shared-output.ts: a thread's pool of segments): a fresh
 * SharedArrayBuffer per map task costs a page fault per 4 KiB touched, so a writer puts a retired output's segment to
 * its next output. That is safe only if no reader can still read the old output: a reduce task counts itself a reader
 * from `takeShared` to `releaseShared`, and a segment is reused only once its output was withdrawn (no reader starts
 * on it) and no counted reader is left. So: whatever the order of shares, takes, releases and retirements, every
 * counted reader reads the output it took, unchanged, until it releases it; and segments are reused when they may be.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeBucket, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import {
  bucketOf,
  clearSegmentPool,
  readersOf,
  releaseShared,
  retireShared,
  segmentPool,
  shareOutput,
  takeShared,
  withdrawn,
  type SharedBucket,
  type SharedOutputHandle,
  type SharedOutput,
} from '../../src/shuffle/shared-output.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { bucketAt } from '../../src/shuffle/sparse-buckets.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-shared-segments-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const dir = (): string => path.join(scratch, `m${dirs++}`);

beforeEach(() => clearSegmentPool());

/** An output of `lengths[r]` records per reduce partition, int32 keys and double values from `seed`. */
function buckets(lengths: readonly number[], seed: number): EncodedBucket[] {
  return lengths.map((n, r) => {
    const keys = new Int32Array(n);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      keys[i] = (seed * 31 + r * 7 + i) | 0;
      values[i] = seed + i / 8;
    }
    return { length: n, keys: { kind: 'i32', data: keys }, values: { kind: 'f64', data: values } };
  });
}

/** The memory an output's buckets live in. */
const segment = (out: SharedOutput | SharedOutputHandle): ArrayBufferLike | undefined => {
  const h = 'handle' in out ? out.handle : out;
  return h.ids.length === 0 ? undefined : h.segment;
};

/** Whether a bucket still holds exactly the records of `expected` (typed arrays compared element by element). */
function same(bucket: EncodedBucket, expected: EncodedBucket): boolean {
  if (bucket.length !== expected.length) return false;
  const k = (bucket.keys as { data: Int32Array }).data;
  const v = (bucket.values as { data: Float64Array }).data;
  const ek = (expected.keys as { data: Int32Array }).data;
  const ev = (expected.values as { data: Float64Array }).data;
  for (let i = 0; i < expected.length; i++) if (k[i] !== ek[i] || !Object.is(v[i], ev[i])) return false;
  return true;
}

// Outputs around the pool's smallest segment (64 KiB: 12 bytes a record, ~5,500 records), so that some are pooled.
const lengths = fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 3 });
type Op =
  | { kind: 'share'; lengths: number[] }
  | { kind: 'take'; output: number; reduceId: number }
  | { kind: 'release'; reader: number }
  | { kind: 'retire'; output: number; reusable: boolean };
const op: fc.Arbitrary<Op> = fc.oneof(
  lengths.map((l): Op => ({ kind: 'share', lengths: l })),
  fc.record({ kind: fc.constant('take' as const), output: fc.nat(30), reduceId: fc.nat(2) }),
  fc.record({ kind: fc.constant('release' as const), reader: fc.nat(30) }),
  fc.record({ kind: fc.constant('retire' as const), output: fc.nat(30), reusable: fc.boolean() }),
);

describe('shared segments reused', () => {
  it('a counted reader reads the output it took, unchanged, until it releases it, whatever the order of shares, takes and retirements', () => {
    let reusedAtAll = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        clearSegmentPool();
        const outputs: Array<{ out: SharedOutput; expected: EncodedBucket[]; retired: boolean }> = [];
        const readers: Array<{ shared: SharedBucket[]; taken: Map<number, EncodedBucket>; expected: EncodedBucket }> = [];
        const seen = new Set<ArrayBufferLike>();
        let seed = 0;
        for (const o of ops) {
          if (o.kind === 'share') {
            const expected = buckets(o.lengths, ++seed);
            const out = shareOutput(expected);
            const s = segment(out);
            if (s !== undefined && seen.has(s)) reusedAtAll++;
            if (s !== undefined) seen.add(s);
            outputs.push({ out, expected, retired: false });
          } else if (o.kind === 'take' && outputs.length > 0) {
            const { out, expected, retired } = outputs[o.output % outputs.length]!;
            const b = bucketOf(out.handle, o.reduceId % out.buckets.length);
            if (b === undefined) continue;
            const shared = [b];
            const taken = takeShared(shared);
            // A retired output is withdrawn: nobody starts reading it (its memory may hold another output by now).
            expect(taken === undefined).toBe(retired);
            if (taken !== undefined) readers.push({ shared, taken, expected: expected[b.reduceId]! });
          } else if (o.kind === 'release' && readers.length > 0) {
            const [r] = readers.splice(o.reader % readers.length, 1);
            expect(same(r!.taken.get(0)!, r!.expected)).toBe(true);
            releaseShared(r!.shared, r!.taken);
          } else if (o.kind === 'retire' && outputs.length > 0) {
            const entry = outputs[o.output % outputs.length]!;
            if (entry.retired) continue;
            retireShared(entry.out, o.reusable);
            entry.retired = true;
          }
          // After every step: every reader still counted reads what it took.
          for (const r of readers) expect(same(r.taken.get(0)!, r.expected)).toBe(true);
        }
        for (const r of readers) releaseShared(r.shared, r.taken);
        for (const { out } of outputs) expect(readersOf(out.state)).toBe(0);
      }),
      { numRuns: 300 },
    );
    // The property was about reuse: segments were put to new outputs in the runs.
    expect(reusedAtAll).toBeGreaterThan(0);
  });

  it('a retired segment is reused at once when nobody reads it, after the last release when a reader does, never when not reusable', () => {
    const size = [6000, 6000];
    const a = shareOutput(buckets(size, 1));
    retireShared(a);
    expect(withdrawn(a.state)).toBe(true);
    expect(segmentPool().free).toBe(1);
    const b = shareOutput(buckets(size, 2));
    expect(segment(b)).toBe(segment(a));
    expect(segmentPool().free).toBe(0);

    const shared = [bucketOf(b.handle, 1)!];
    const taken = takeShared(shared)!;
    expect(readersOf(b.state)).toBe(1);
    retireShared(b);
    expect(segmentPool()).toMatchObject({ free: 0, parked: 1 });
    const c = shareOutput(buckets(size, 3)); // b's reader still reads: a new segment
    expect(segment(c)).not.toBe(segment(b));
    expect(decodeBucket(taken.get(0)!)).toEqual(decodeBucket(buckets(size, 2)[1]!));
    releaseShared(shared, taken);
    expect(readersOf(b.state)).toBe(0);
    retireShared(c, false); // a local reader had views outside the count
    const d = shareOutput(buckets(size, 4));
    expect(segment(d)).toBe(segment(b));
    expect(segment(d)).not.toBe(segment(c));
    // A stale handle of b (a task built before it was withdrawn) takes nothing and counts nothing.
    expect(takeShared([bucketOf(b.handle, 0) ?? { state: b.state, bucket: bucketAt(b.buckets, 0)!, reduceId: 0, slot: 0 }])).toBeUndefined();
    expect(readersOf(b.state)).toBe(0);
  });

  it('small outputs are not pooled; a much larger free segment is not taken for a small output', () => {
    const small = shareOutput(buckets([100], 1));
    retireShared(small);
    expect(segmentPool().free).toBe(0);
    const large = shareOutput(buckets([40_000], 2));
    retireShared(large);
    expect(segmentPool().free).toBe(1);
    const medium = shareOutput(buckets([8_000], 3));
    expect(segment(medium)).not.toBe(segment(large));
  });
});

describe("the manager's shared outputs reuse their memory once spent", () => {
  const records = (seed: number): Pair[][] => [
    Array.from({ length: 5000 }, (_, i): Pair => [i, seed + i / 3]),
    Array.from({ length: 5000 }, (_, i): Pair => [-i, seed]),
  ];
  const manager = (budget?: MemoryBudget): SpillingShuffleManager =>
    new SpillingShuffleManager({
      workerIndex: 0,
      dir: dir(),
      spillBytes: 1 << 30,
      writeAllToDisk: false,
      moveReadOutputs: true,
      shareOutputs: true,
      budget,
    });
  const write = (m: SpillingShuffleManager, shuffleId: number, buckets: Pair[][]): SharedOutputHandle => {
    const w = m.writer(shuffleId, 0, buckets.length);
    buckets.forEach((b, r) => {
      for (const kv of b) w.add(r, kv);
    });
    return w.close().shared!;
  };
  /** Reads every bucket as reduce tasks on other workers do, and ends their reads. */
  const readAll = (out: SharedOutputHandle): void => {
    const shared = Array.from(out.ids, (r) => bucketOf(out, r)!);
    for (const s of shared) releaseShared([s], takeShared([s]));
  };

  it('moved to disk once read: the next output of its size is written into the same memory, and the first is served from the file', async () => {
    const m = manager();
    const first = write(m, 0, records(1));
    readAll(structuredClone(first));
    m.pollShared();
    await m.moveReadOutputs();
    expect(m.movedToDisk).toBe(1);
    expect(withdrawn(first.state)).toBe(true);
    const second = write(m, 1, records(2));
    expect(segment(second)).toBe(segment(first));
    for (let r = 0; r < 2; r++) expect([...m.fetchBuckets(0, [0], r)[0]!]).toEqual(records(1)[r]);
    for (let r = 0; r < 2; r++) expect([...m.fetchBuckets(1, [0], r)[0]!]).toEqual(records(2)[r]);
    m.close();
  });

  it('a reader still reading when the output moves keeps its memory until it releases it', async () => {
    const m = manager();
    const first = write(m, 0, records(1));
    const elsewhere = structuredClone(first);
    const held = [bucketOf(elsewhere, 0)!];
    const taken = takeShared(held)!; // a reduce task still computing
    releaseShared([bucketOf(elsewhere, 1)!], takeShared([bucketOf(elsewhere, 1)!]));
    m.pollShared();
    await m.moveReadOutputs();
    expect(m.movedToDisk).toBe(1);
    const second = write(m, 1, records(2));
    expect(segment(second)).not.toBe(segment(first));
    expect(decodeBucket(taken.get(0)!)).toEqual(records(1)[0]);
    releaseShared(held, taken);
    const third = write(m, 2, records(3));
    expect(segment(third)).toBe(segment(first));
    m.close();
  });

  it('spilled by the pool or removed: reused; viewed by a local reader outside the count: never reused', () => {
    const budget = new MemoryBudget(1 << 30, dir());
    const m = manager(budget);
    const spilled = write(m, 0, records(1));
    budget.spillAll();
    expect(m.spills).toBe(1);
    const next = write(m, 1, records(2));
    expect(segment(next)).toBe(segment(spilled));
    m.fetchEncoded(1, [0], 0, true); // views of the stored (shared) bucket handed to a reader of this worker
    m.remove(1);
    const after = write(m, 2, records(3));
    expect(segment(after)).not.toBe(segment(next));
    m.remove(2);
    expect(segment(write(m, 3, records(4)))).toBe(segment(after));
    const sorted = (xs: readonly Pair[]) => [...xs].sort((a, b) => (a[0] as number) - (b[0] as number));
    expect(sorted(m.fetchBuckets(0, [0], 0)[0]!)).toEqual(sorted(records(1)[0]!));
    m.close();
  });
});
