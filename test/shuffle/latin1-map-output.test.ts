/**
 * A map-side combine of string keys with number combiners under a hash partitioner (a word count) stores its
 * buckets with the keys as chars, made from the combine table without a string per key (StringTable.stringBuckets):
 * latin1 bytes for a bucket whose every char is below 256, utf16 code units for any other, and serves those chars as
 * they are. Whatever a reducer reads of such an output (this worker's own reader, a peer, through shared memory, in
 * bounded parts, read back after the output moved to disk or was spilled) must be exactly what the pair path stores,
 * for keys of every kind: empty, long, chars 128-255, chars above 255 (astral pairs, lone surrogates) and keys that
 * are not strings (which keep the old path). End to end, on every engine (local threads, local-cluster, the
 * mapreduce engine), with spills forced, and with a worker killed mid-shuffle, a word count equals a plain Map's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Context } from 'kindling';
import { HashPartitioner } from '../../src/core/partitioner.js';
import type { Aggregator } from '../../src/shuffle/aggregator.js';
import { decodeBucket } from '../../src/shuffle/bucket-codec.js';
import { sharedBucketAt } from '../../src/shuffle/shared-output.js';
import { slotOf } from '../../src/shuffle/sparse-buckets.js';
import { wideWord } from '../fixtures/column-arbitraries.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';
import { BUCKET_START, type BucketCursor, type MapOutputWriter } from '../../src/shuffle/shuffle-manager.js';
import type { MapStatus } from '../../src/shuffle/wire.js';
import { writeShuffleOutput } from '../../src/shuffle/shuffle-writer.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { MODES, sameResult as same } from '../rdd/helpers.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-latin1-map-output-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => setWorkerMemoryBudget(undefined));

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
/** Words the bytes carry: repeating, packed (up to 8 chars) and longer, any char below 256. */
const latin1Word = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('', 'a', 'é', '\u0000', '\u00ff\u0080', '__proto__', 'eight ch', 'nine char', 'a word over nine characters'),
  },
  { weight: 3, arbitrary: fc.nat(400).map((n) => `w${n}`) },
  { weight: 2, arbitrary: fc.string({ unit: latin1Char, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: latin1Char, minLength: 9, maxLength: 30 }) },
);
/** Keys that are not strings. */
const otherKey = fc.constantFrom<unknown>(7, -0, 2.5);
/**
 * Words only (latin1 bytes), with a wider char now and then (those buckets as utf16 code units), or now and then a
 * key that is not a string anywhere (the old path for the whole table).
 */
const keys = fc.oneof(
  { weight: 2, arbitrary: fc.array(latin1Word, { maxLength: 2500 }) },
  { weight: 2, arbitrary: fc.array(fc.oneof({ weight: 40, arbitrary: latin1Word }, { weight: 1, arbitrary: wideWord }), { maxLength: 2500 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof({ weight: 40, arbitrary: latin1Word }, { weight: 1, arbitrary: otherKey }), { maxLength: 2500 }) },
);
// Each property's own count unless FUZZ_RUNS asks for another (a search, or a quick replay).
const RUNS = process.env.FUZZ_RUNS === undefined ? undefined : Number(process.env.FUZZ_RUNS);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`latin1-map-output: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS ?? 'default'}`);
const records = keys.chain((ks) =>
  fc.array(fc.integer({ min: -3, max: 1000 }), { minLength: ks.length, maxLength: ks.length }).map((vs) => ks.map((k, i): Pair => [k, vs[i]!])),
);

const sum: Aggregator = {
  createCombiner: (v) => v,
  mergeValue: (a, b) => (a as number) + (b as number),
  mergeCombiners: (a, b) => (a as number) + (b as number),
};

/** A plain Map's sums by key, in first-seen order. */
function plainSums(data: readonly Pair[]): Map<unknown, number> {
  const m = new Map<unknown, number>();
  for (const [k, v] of data) {
    const key = Object.is(k, -0) ? 0 : k;
    m.set(key, (m.get(key) ?? 0) + (v as number));
  }
  return m;
}

const setup = fc.record({
  reducers: fc.integer({ min: 1, max: 4 }),
  spillBytes: fc.constantFrom(3_000, 1 << 30),
  budget: fc.constantFrom(undefined, 8_000, 1 << 30),
  writeAllToDisk: fc.boolean(),
  maxBytes: fc.constantFrom(200, 1 << 30),
});
type Setup = typeof setup extends fc.Arbitrary<infer T> ? T : never;

/**
 * A manager holding `data`'s combined output as map 0 of shuffle 0; `columns` false hides addEncoded (the pair path).
 * With `share`, the output goes to shared memory where it can (local mode), and its map status is kept in `status`.
 */
function written(
  data: readonly Pair[],
  s: Setup,
  columns: boolean,
  share = false,
  status: { shared?: MapStatus['shared'] } = {},
): SpillingShuffleManager {
  const dir = mkdtempSync(path.join(scratch, 'out-'));
  const budget = s.budget === undefined ? undefined : new MemoryBudget(s.budget, dir);
  setWorkerMemoryBudget(budget);
  const manager = new SpillingShuffleManager({
    workerIndex: 0,
    dir,
    spillBytes: s.spillBytes,
    writeAllToDisk: s.writeAllToDisk,
    budget,
    moveReadOutputs: !s.writeAllToDisk,
    shareOutputs: share,
  });
  const p = new HashPartitioner(s.reducers);
  const w = manager.writer(0, 0, s.reducers);
  const out: MapOutputWriter = columns ? w : { add: w.add, close: w.close, abort: w.abort };
  const wire = { shuffleId: 0, partitioner: p.toWire(), mapSideCombine: true, rddId: 2, rddLabel: 'reduceByKey' } as const;
  status.shared = writeShuffleOutput((f) => data.forEach(f), 'words', wire, sum, out, p).shared;
  setWorkerMemoryBudget(undefined);
  return manager;
}

/** Bucket r in every way a reader gets it: pairs, encoded (a peer's copy after the clone, a local view), in parts. */
function readings(manager: SpillingShuffleManager, r: number, maxBytes: number): Pair[][] {
  const parts: Pair[] = [];
  for (let at: BucketCursor | undefined = BUCKET_START; at !== undefined; ) {
    const got = manager.fetchParts(0, [0], r, at, maxBytes);
    parts.push(...decodeBucket(structuredClone(got.buckets[0]!)));
    at = got.rest?.at;
  }
  return [
    manager.fetchBuckets(0, [0], r)[0]! as Pair[],
    decodeBucket(structuredClone(manager.fetchEncoded(0, [0], r)[0]!)),
    decodeBucket(manager.fetchEncoded(0, [0], r, true)[0]!),
    parts,
  ];
}

describe('map outputs of string keys kept as chars', () => {
  it('are read exactly as the pair path stores them, in every way (shared memory included) and after moving to disk, and sum as a plain Map (property)', async () => {
    await fc.assert(
      fc.asyncProperty(records, setup, fc.boolean(), async (data, s, share) => {
        const status: { shared?: MapStatus['shared'] } = {};
        const bytes = written(data, s, true, share, status);
        const pairs = written(data, s, false);
        try {
          const got = new Map<unknown, number>();
          for (let r = 0; r < s.reducers; r++) {
            const expected = readings(pairs, r, s.maxBytes)[0]!;
            if (status.shared !== undefined) {
              // Another worker's reducer, through the handle after its trip to the driver and on.
              const h = structuredClone(status.shared);
              const slot = slotOf(h, r);
              expect(same(slot < 0 ? [] : decodeBucket(sharedBucketAt(h, slot)), expected)).toBe(true);
            }
            for (const read of readings(bytes, r, s.maxBytes)) expect(same(read, expected)).toBe(true);
            for (const [k, v] of expected) got.set(k, (got.get(k) ?? 0) + (v as number));
          }
          // Every bucket was read: the memory engine's outputs move to their column files; read back, the same.
          await bytes.moveReadOutputs();
          await pairs.moveReadOutputs();
          for (let r = 0; r < s.reducers; r++) {
            const expected = readings(pairs, r, s.maxBytes)[0]!;
            for (const read of readings(bytes, r, s.maxBytes)) expect(same(read, expected)).toBe(true);
          }
          expect(got).toEqual(plainSums(data));
        } finally {
          bytes.close();
          pairs.close();
        }
      }),
      { numRuns: RUNS ?? 120, seed: SEED },
    );
  });

  it('a bucket with a word of wider chars is stored as utf16 code units, the others as latin1 bytes; the output is shared and moves to disk once read', async () => {
    // As a changelog's words: mostly latin1 ("Müller" is), a few with "–", CJK or an emoji, in some buckets only.
    const wide = ['–', '日本語', 'x😀', 'naïve–ly', '\ud800'];
    const data: Pair[] = Array.from({ length: 6_000 }, (_, i) => [
      i % 997 === 0 ? wide[(i / 997) % wide.length]! : i % 3 === 0 ? `Müller ${i % 700}` : `w${i % 900}`,
      1,
    ]);
    const s: Setup = { reducers: 8, spillBytes: 1 << 30, budget: undefined, writeAllToDisk: false, maxBytes: 1 << 30 };
    const status: { shared?: MapStatus['shared'] } = {};
    const manager = written(data, s, true, true, status);
    try {
      // Shared: another worker's reducer reads it in place, asking this one nothing.
      expect(status.shared).toBeDefined();
      const kinds = new Map<string, number>();
      for (let r = 0; r < s.reducers; r++) {
        const e = manager.fetchEncoded(0, [0], r, true)[0]!;
        const hasWide = decodeBucket(e).some(([k]) => wide.includes(k as string));
        expect(e.keys.kind).toBe(hasWide ? 'utf16' : 'latin1');
        kinds.set(e.keys.kind, (kinds.get(e.keys.kind) ?? 0) + 1);
      }
      // Both kinds in one output (a per-bucket choice: one wide word does not widen the other buckets).
      expect(kinds.get('utf16')).toBeGreaterThan(0);
      expect(kinds.get('latin1')).toBeGreaterThan(0);
      manager.pollShared();
      await manager.moveReadOutputs();
      expect(manager.movedToDisk).toBe(1);
      const got = new Map<unknown, number>();
      for (let r = 0; r < s.reducers; r++) for (const [k, v] of decodeBucket(manager.fetchEncoded(0, [0], r)[0]!)) got.set(k, v as number);
      expect(got).toEqual(plainSums(data));
    } finally {
      manager.close();
    }
  });

  it('stores a word count bucket as bytes, and moves it to disk once read', async () => {
    const data: Pair[] = Array.from({ length: 5_000 }, (_, i) => [i % 3 === 0 ? `a long word ${i % 700}` : `w${i % 900}`, 1]);
    const s: Setup = { reducers: 3, spillBytes: 1 << 30, budget: undefined, writeAllToDisk: false, maxBytes: 1 << 30 };
    const manager = written(data, s, true);
    try {
      for (let r = 0; r < 3; r++) expect(manager.fetchEncoded(0, [0], r, true)[0]!.keys.kind).toBe('latin1');
      await manager.moveReadOutputs();
      expect(manager.movedToDisk).toBe(1);
      const got = new Map<unknown, number>();
      for (let r = 0; r < 3; r++) for (const [k, v] of decodeBucket(manager.fetchEncoded(0, [0], r)[0]!)) got.set(k, v as number);
      expect(got).toEqual(plainSums(data));
    } finally {
      manager.close();
    }
  });
});

/** A word count's words: latin1 ones mostly, some above 255, sometimes numbers among them. */
const words = fc
  .tuple(
    fc.array(fc.oneof({ weight: 30, arbitrary: latin1Word }, { weight: 1, arbitrary: wideWord }), {
      minLength: 500,
      maxLength: 3000,
    }),
    fc.boolean(),
  )
  .map(([ws, withNumbers]) => {
    // Many distinct words, so that each map task's buckets hold hundreds.
    const all: unknown[] = [...ws, ...Array.from({ length: 1500 }, (_, i) => `u${i}`)];
    if (withNumbers) for (let i = 0; i < all.length; i += 97) all[i] = i;
    return all;
  });

async function countOf(sc: Context, ws: readonly unknown[]): Promise<Map<unknown, number>> {
  return sc
    .parallelize([...ws], 3)
    .map((w): [unknown, number] => [w, 1])
    .reduceByKey((a, b) => a + b, 4)
    .collectAsMap();
}

const settings: Array<[string, ConstructorParameters<typeof Context>[0]]> = [];
for (const master of MODES.filter((m) => m !== 'local')) {
  settings.push([`${master}`, { master }]);
  settings.push([`${master}, mapreduce engine`, { master, engine: 'mapreduce' }]);
}
// A shuffle pool of a few hundred KiB: map-side tables and stored outputs spill.
settings.push(['local[2], spills forced', { master: 'local[2]', memory: { workerMB: 256, shuffleFraction: 0.001 } }]);
settings.push(['local[2], small pool', { master: 'local[2]', memory: { workerMB: 256, shuffleFraction: 0.004 } }]);

describe.each(settings)('a word count of latin1 keys (%s)', (_name, options) => {
  let sc: Context | undefined;
  afterAll(async () => {
    await sc?.stop();
  });

  it('equals a plain Map count (property)', async () => {
    const localDir = mkdtempSync(path.join(scratch, 'ctx-'));
    sc = new Context({ progress: false, hints: false, ui: false, localDir, ...options });
    await fc.assert(
      fc.asyncProperty(words, async (ws) => {
        const counts = await countOf(sc!, ws);
        const expected = plainSums(ws.map((w): Pair => [w, 1]));
        expect(counts.size).toBe(expected.size);
        for (const [w, n] of expected) expect(counts.get(w)).toBe(n);
      }),
      { numRuns: 5, seed: SEED },
    );
  });
});

describe('a word count of latin1 keys with a worker killed mid-shuffle', () => {
  const contexts: Context[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.stop()));
  });

  for (const when of ['map stage', 'reduce stage'] as const) {
    it(`equals a plain Map count when a worker dies in the ${when}`, async () => {
      const ws: string[] = Array.from({ length: 30_000 }, (_, i) => (i % 4 === 0 ? `a longer word ${i % 3000}` : `w${(i * 7) % 5000}`));
      const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
      contexts.push(sc);
      let killed = false;
      sc.events.on('taskStart', (e) => {
        const hit = when === 'map stage' ? e.stageId === 0 && e.partition === 2 : e.stageId >= 1;
        if (!killed && hit) {
          killed = true;
          void sc.faults.killWorker(e.workerIndex);
        }
      });
      const counts = await sc
        .parallelize(ws, 4)
        .map((w): [string, number] => [w, 1])
        .reduceByKey((a, b) => a + b, 3)
        .collectAsMap();
      expect(killed).toBe(true);
      const expected = plainSums(ws.map((w): Pair => [w, 1]));
      expect(counts.size).toBe(expected.size);
      for (const [w, n] of expected) expect(counts.get(w as string)).toBe(n);
    });
  }
});
