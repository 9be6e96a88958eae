/**
 * A shuffle of many small map outputs into many reducers (issue 8 on real data: a word count over many small files,
 * `textFile` of N paths then `reduceByKey`, is N map tasks into N reducers, each output a few hundred non-empty
 * buckets of a record or two). What such a shuffle costs per non-empty bucket must be its bytes, not objects kept for
 * as long as the output is unread, nor copies per worker:
 * - a shared output's writer keeps no views of its buckets (made from the segment when read);
 * - its handle's reducer ids and layout live in shared memory, so the driver's and each worker's clone share them;
 * And whatever the fast paths, a shuffle of M maps into M reducers with 1-3 keys per map output (every bucket but a
 * few empty) gives the same result with outputs in shared memory and without, for keys of every kind, also when a
 * worker dies mid-shuffle. `FUZZ_RUNS` and `FUZZ_SEED` widen or replay the property; the seed is printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { liveHeapBytes } from '../fixtures/live-heap.js';
import { Context } from 'kindling';
import { keyId } from '../../src/core/keys.js';
import { decodeBucket, type EncodedBucket } from '../../src/shuffle/bucket-codec.js';
import { clearSegmentPool, shareOutput, sharedBucketAt } from '../../src/shuffle/shared-output.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { column, latin1String, wideWord } from '../fixtures/column-arbitraries.js';
import { sameResult } from '../rdd/helpers.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-small-shuffle-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeEach(() => clearSegmentPool());

const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`small-shuffle: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} (replay: FUZZ_SEED=${SEED} npx vitest run test/shuffle/small-shuffle.test.ts)`);

/** One bucket of `n` int32 keys and double values. */
function bucket(n: number, seed: number): EncodedBucket {
  const keys = Int32Array.from({ length: n }, (_, i) => seed * 13 + i);
  const values = Float64Array.from({ length: n }, (_, i) => seed + i / 4);
  return { length: n, keys: { kind: 'i32', data: keys }, values: { kind: 'f64', data: values } };
}

describe('a shared map output of many small buckets', () => {
  it("carries its reducer ids and layout in shared memory: a handle's clone shares them with the writer's", () => {
    const out = shareOutput([bucket(1, 1), bucket(0, 2), bucket(2, 3)]);
    expect(out.handle.ids.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(out.handle.layout.buffer).toBeInstanceOf(SharedArrayBuffer);
    // As postMessage clones it to the driver and on to a worker.
    const clone = structuredClone(out.handle);
    expect(Array.from(clone.ids)).toEqual([0, 2]);
    expect(decodeBucket(sharedBucketAt(clone, 1))).toEqual(decodeBucket(bucket(2, 3)));
    clone.layout[0] = 7;
    expect(out.handle.layout[0]).toBe(7);
    clone.ids[1] = 5;
    expect(out.handle.ids[1]).toBe(5);
  });

  it("held by a manager costs a few dozen bytes a non-empty bucket beyond its records' bytes, not objects per bucket", () => {
    const live = (): number => liveHeapBytes();
    const m = new SpillingShuffleManager({
      workerIndex: 0,
      dir: path.join(scratch, 'held'),
      spillBytes: 1 << 30,
      writeAllToDisk: false,
      moveReadOutputs: true,
      shareOutputs: true,
    });
    const reducers = 400;
    const write = (mapId: number): void => {
      const w = m.writer(0, mapId, reducers);
      // One record in every other reducer: 200 non-empty buckets.
      for (let r = 0; r < reducers; r += 2) w.add(r, [mapId * reducers + r, r / 2]);
      expect(w.close().shared).toBeDefined();
    };
    // The code these outputs run (compiled functions, their feedback) is not part of what they hold.
    write(0);
    const before = live();
    const outputs = 300;
    for (let mapId = 1; mapId <= outputs; mapId++) write(mapId);
    const perBucket = (live() - before) / (outputs * (reducers / 2));
    // Each bucket's bytes in the segment (an int32 and a double, 8-aligned: 16), its ints in the handle (15: 60) and
    // a slot of the writer's list (8): ~84. Views of its two columns kept by the writer were ~300 more.
    expect(perBucket).toBeLessThan(160);
    // Still served as written.
    expect(decodeBucket(m.fetchEncoded(0, [outputs], 2)[0]!)).toEqual([[outputs * reducers + 2, 1]]);
    m.close();
  });
});

/** Keys of every kind: one generated kind per run (numbers, rows, strings latin1 and wide, structures), or mixed. */
const keyKind = fc.oneof(column, fc.constant(fc.oneof(latin1String, wideWord, fc.integer(), fc.tuple(fc.integer(), fc.integer()))));

/** A shuffle of `maps` map tasks into as many reducers, each map task's partition 1-3 keys drawn from a pool. */
const program = fc.record({
  maps: fc.integer({ min: 20, max: 200 }),
  perMap: fc.integer({ min: 1, max: 3 }),
  pool: keyKind.chain((k) => fc.array(k, { minLength: 1, maxLength: 120 })),
  picks: fc.array(fc.nat(), { minLength: 600, maxLength: 600 }),
});

/** The groups of a reduceByKey(sum) by key, in one order (by key id). */
function sortedGroups(pairs: ReadonlyArray<readonly [unknown, unknown]>): Array<readonly [unknown, unknown]> {
  const id = (k: unknown): string => `${typeof k}:${String(keyId(k))}`;
  return [...pairs].sort((a, b) => (id(a[0]) < id(b[0]) ? -1 : id(a[0]) > id(b[0]) ? 1 : 0));
}

function sameGroups(a: ReadonlyArray<readonly [unknown, unknown]>, b: ReadonlyArray<readonly [unknown, unknown]>): boolean {
  const x = sortedGroups(a);
  const y = sortedGroups(b);
  return x.length === y.length && x.every((p, i) => sameResult(p[0], y[i]![0]) && sameResult(p[1], y[i]![1]));
}

async function sums(sc: Context, records: ReadonlyArray<[unknown, number]>, maps: number): Promise<Array<[unknown, unknown]>> {
  return sc
    .parallelize([...records], maps)
    .reduceByKey((a, b) => a + b, maps)
    .collect();
}

/** A context whose workers keep map outputs in shared memory, or not (`KINDLING_SHARED_SHUFFLE`, read as they start). */
function context(shared: boolean): Context {
  const was = process.env.KINDLING_SHARED_SHUFFLE;
  process.env.KINDLING_SHARED_SHUFFLE = shared ? '1' : '0';
  try {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, localDir: mkdtempSync(path.join(scratch, 'ctx-')) });
    return sc;
  } finally {
    if (was === undefined) delete process.env.KINDLING_SHARED_SHUFFLE;
    else process.env.KINDLING_SHARED_SHUFFLE = was;
  }
}

describe('M maps into M reducers with 1-3 keys per map output', () => {
  const contexts: Context[] = [];
  afterAll(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.stop()));
  });

  it('gives the same groups with outputs in shared memory and without, for keys of every kind (property)', async () => {
    const shared = context(true);
    const unshared = context(false);
    contexts.push(shared, unshared);
    // Workers start with the first job: each reads the setting its context was made with.
    await fc.assert(
      fc.asyncProperty(program, async ({ maps, perMap, pool, picks }) => {
        const records = Array.from({ length: maps * perMap }, (_, i): [unknown, number] => [pool[picks[i % picks.length]! % pool.length], 1]);
        const a = await sums(shared, records, maps);
        const b = await sums(unshared, records, maps);
        expect(sameGroups(a, b)).toBe(true);
        expect(a.reduce((n, [, c]) => n + (c as number), 0)).toBe(records.length);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Each path was the one compared: the first context's outputs went to shared memory, the second's did not (a
    // generated kind without a byte form, objects or mixed keys, is not shared, so not every run shares).
    expect((await shared.faults.snapshot()).driver.sharedMapOutputsRegistered).toBeGreaterThan(0);
    expect((await unshared.faults.snapshot()).driver.sharedMapOutputsRegistered).toBe(0);
  });
});

describe('M maps into M reducers of words with a worker killed mid-shuffle', () => {
  const contexts: Context[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.stop()));
  });

  for (const when of ['map stage', 'reduce stage'] as const) {
    it(`gives the words' counts when a worker dies in the ${when}`, async () => {
      const maps = 150;
      // 1-3 words per map task, some with a char above 255 (their buckets as utf16), repeating across map tasks.
      const words = Array.from({ length: maps * 2 }, (_, i) => (i % 7 === 0 ? `w–${i % 90}` : `w${(i * 31) % 120}`));
      const sc = context(true);
      contexts.push(sc);
      let killed = false;
      sc.events.on('taskStart', (e) => {
        // Late enough in the reduce stage that reducers on both workers have read outputs in shared memory.
        const hit = when === 'map stage' ? e.stageId === 0 && e.partition === 60 : e.stageId >= 1 && e.partition === 70;
        if (!killed && hit) {
          killed = true;
          void sc.faults.killWorker(e.workerIndex);
        }
      });
      const counts = await sc
        .parallelize(words, maps)
        .map((w): [string, number] => [w, 1])
        .reduceByKey((a, b) => a + b, maps)
        .collectAsMap();
      expect(killed).toBe(true);
      expect((await sc.faults.snapshot()).driver.sharedMapOutputsRegistered).toBeGreaterThan(0);
      const expected = new Map<string, number>();
      for (const w of words) expected.set(w, (expected.get(w) ?? 0) + 1);
      expect(counts.size).toBe(expected.size);
      for (const [w, n] of expected) expect(counts.get(w)).toBe(n);
    });
  }
});
