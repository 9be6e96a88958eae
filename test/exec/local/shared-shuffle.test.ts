/**
 * Map outputs in shared memory on `local[2]` (shuffle/shared-output.ts): a reducer reads a peer's output where it
 * lies instead of fetching it. Every program must give the same result with and without it (keys and values of
 * every kind, combining or not, joins), a worker killed at a random moment of a shuffle (mid-stage, mid-fetch) must
 * still give the right result, and the driver must let go of every handle once read (the memory goes with them).
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, capture, type RDD } from 'kindling';
import { checkWhole } from '../../../bench/fault-harness.js';
import { smallKey } from '../../core/key-arbitraries.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-shared-shuffle-test-'));

/** A context whose workers share map outputs or not (the switch is read as each worker starts). */
async function start(shared: boolean): Promise<Context> {
  const before = process.env.KINDLING_SHARED_SHUFFLE;
  process.env.KINDLING_SHARED_SHUFFLE = shared ? '1' : '0';
  try {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, localDir: mkdtempSync(path.join(scratch, 'run-')) });
    await sc.range(0, 4, 1, 2).count(); // both workers started under the switch
    return sc;
  } finally {
    if (before === undefined) delete process.env.KINDLING_SHARED_SHUFFLE;
    else process.env.KINDLING_SHARED_SHUFFLE = before;
  }
}

let on: Context;
let off: Context;
beforeAll(async () => {
  [on, off] = await Promise.all([start(true), start(false)]);
}, 60_000);
afterAll(async () => {
  await Promise.all([on?.stop(), off?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

/** A result in an order that does not depend on which task ended first. */
const canonical = (xs: readonly unknown[]): string[] => xs.map((x) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).sort();

const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', 'ÿ'), minLength: 1, maxLength: 6 });
/** Keys of one kind per data set: int32, doubles, latin1 words (shared as bytes), any small key (tuples, strings above 255...). */
const keyKind = fc.constantFrom<fc.Arbitrary<unknown>>(fc.integer({ min: -50, max: 50 }), fc.constantFrom(0.5, -0, 1e300, NaN, 3), word, smallKey);
const valueKind = fc.constantFrom<fc.Arbitrary<unknown>>(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
  fc.constant(null),
);

type Program = (sc: Context, data: Array<[unknown, unknown]>, parts: number) => RDD<unknown>;
const programs: Record<string, Program> = {
  reduceByKey: (sc, data, parts) =>
    sc
      .parallelize(data, parts)
      .mapValues((v) => (typeof v === 'number' ? v : 1))
      .reduceByKey((a, b) => a + b, 3),
  groupByKey: (sc, data, parts) =>
    sc
      .parallelize(data, parts)
      .groupByKey(3)
      .mapValues((vs) => [...vs].map((v) => JSON.stringify(v)).sort()),
  join: (sc, data, parts) => {
    const left = sc.parallelize(data, parts).reduceByKey((a) => a, 2);
    return sc.parallelize(data.slice(0, 40), 2).join(left, 3);
  },
  distinct: (sc, data, parts) =>
    sc
      .parallelize(data, parts)
      .map(([k]) => k)
      .distinct(2),
};

describe('map outputs in shared memory (local[2])', () => {
  it('every program gives the same result with and without them, keys and values of every kind', async () => {
    await fc.assert(
      fc.asyncProperty(
        keyKind.chain((k) => valueKind.chain((v) => fc.array(fc.tuple(k, v), { maxLength: 600 }))),
        fc.constantFrom(...Object.keys(programs)),
        fc.integer({ min: 1, max: 5 }),
        async (data, name, parts) => {
          const program = programs[name]!;
          const [a, b] = await Promise.all([
            program(on, data as Array<[unknown, unknown]>, parts).collect(),
            program(off, data as Array<[unknown, unknown]>, parts).collect(),
          ]);
          expect(canonical(a)).toEqual(canonical(b));
        },
      ),
      { numRuns: 40 },
    );
    // The comparison compared two paths: outputs were shared on one side, never on the other.
    const [sOn, sOff] = await Promise.all([on.faults.snapshot(), off.faults.snapshot()]);
    expect(sOn.driver.sharedMapOutputsRegistered).toBeGreaterThan(0);
    expect(sOff.driver.sharedMapOutputsRegistered).toBe(0);
  }, 300_000);

  it('a word count at scale reads its peer’s output shared and gives the plain result; every handle is let go once read', async () => {
    const words = Array.from({ length: 30_000 }, (_, i) => `w${(i * 7919) % 4099}`);
    const count = (sc: Context) =>
      sc
        .parallelize(words, 6)
        .map((w): [string, number] => [w, 1])
        .reduceByKey((a, b) => a + b, 4)
        .collectAsMap();
    const before = (await on.faults.snapshot()).driver.sharedMapOutputsRegistered;
    const [a, b] = await Promise.all([count(on), count(off)]);
    expect([...a].sort()).toEqual([...b].sort());
    const { driver } = await on.faults.snapshot();
    expect(driver.sharedMapOutputsRegistered - before).toBe(6);
    expect(driver.sharedMapOutputs).toBe(0);
  }, 120_000);
});

/**
 * An iterative program whose map outputs are large enough for the writers to reuse their memory (a segment of 64 KiB
 * or more: shuffle/shared-output.ts): every iteration a new shuffle of `n` keys, sums modulo a prime (exact, so the
 * result is the same whatever the order of the additions). Its reference is computed here.
 */
const P = 1_000_003;
function iterate(sc: Context, n: number, iterations: number, seed: number): Promise<Map<number, number>> {
  let ranks = sc.parallelize(
    Array.from({ length: n }, (_, k): [number, number] => [k, (k * seed) % P]),
    2,
  );
  for (let i = 0; i < iterations; i++) {
    ranks = ranks
      .flatMap(
        capture(
          { seed, n, P },
          ([k, v]: [number, number]): Array<[number, number]> => [
            [k, v],
            [(k * 7 + seed) % n, (v * 3 + 1) % P],
          ],
        ),
      )
      .reduceByKey(
        capture({ P }, (a: number, b: number) => (a + b) % P),
        2,
      );
  }
  return ranks.collectAsMap();
}
function iterated(n: number, iterations: number, seed: number): Map<number, number> {
  let ranks = new Map<number, number>();
  for (let k = 0; k < n; k++) ranks.set(k, (k * seed) % P);
  for (let i = 0; i < iterations; i++) {
    const next = new Map<number, number>();
    const add = (k: number, v: number): void => void next.set(k, ((next.get(k) ?? 0) + v) % P);
    for (const [k, v] of ranks) {
      add(k, v);
      add((k * 7 + seed) % n, (v * 3 + 1) % P);
    }
    ranks = next;
  }
  return ranks;
}

describe('map outputs in shared memory, their memory reused from one iteration to the next', () => {
  it('an iterative program gives the same result with and without them, and the reference result', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 8_000, max: 30_000 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 1, max: 1000 }),
        async (n, iterations, seed) => {
          const [a, b] = await Promise.all([iterate(on, n, iterations, seed), iterate(off, n, iterations, seed)]);
          const expected = iterated(n, iterations, seed);
          expect(a.size).toBe(expected.size);
          for (const [k, v] of expected) expect(a.get(k)).toBe(v);
          expect([...b].sort((x, y) => x[0] - y[0])).toEqual([...a].sort((x, y) => x[0] - y[0]));
        },
      ),
      { numRuns: 8 },
    );
  }, 300_000);

  it('a worker killed at a random moment of an iterative program: the reference result, the context whole, the next run right', async () => {
    const n = 20_000;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1500 }),
        fc.constantFrom<Array<0 | 1>>([0], [1], [0, 1]),
        fc.integer({ min: 1, max: 1000 }),
        async (delay, victims, seed) => {
          const sc = await start(true);
          try {
            const job = iterate(sc, n, 4, seed);
            await new Promise((r) => setTimeout(r, delay));
            await Promise.all(victims.map((w) => sc.faults.killWorker(w)));
            const got = await job;
            const expected = iterated(n, 4, seed);
            expect(got.size).toBe(expected.size);
            for (const [k, v] of expected) expect(got.get(k)).toBe(v);
            expect(await checkWhole(sc)).toBe(true);
            // The same program again on the healed context (its workers' pools start empty or hold reused memory).
            const again = await iterate(sc, n, 4, seed);
            for (const [k, v] of expected) expect(again.get(k)).toBe(v);
          } finally {
            await sc.stop();
          }
        },
      ),
      { numRuns: 4, endOnFailure: true },
    );
  }, 300_000);
});

describe('map outputs in shared memory with a worker killed at a random moment', () => {
  it('mid-stage or mid-fetch: the right sums, the context whole, no handle left', async () => {
    const N = 120_000;
    const expected = new Map<number, number>();
    for (let i = 0; i < N; i++) expected.set(i % 5000, (expected.get(i % 5000) ?? 0) + i);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 600 }), fc.constantFrom<Array<0 | 1>>([0], [1], [0, 1]), async (delay, victims) => {
        const sc = await start(true);
        try {
          const sums = sc
            .range(0, N, 1, 8)
            .map((i): [number, number] => [i % 5000, i])
            .reduceByKey((a, b) => a + b, 4);
          const job = sums.collectAsMap();
          await new Promise((r) => setTimeout(r, delay));
          await Promise.all(victims.map((w) => sc.faults.killWorker(w)));
          const got = await job;
          expect(got.size).toBe(expected.size);
          for (const [k, v] of expected) expect(got.get(k)).toBe(v);
          expect(await checkWhole(sc)).toBe(true);
          // Outputs computed again after the kill may hold buckets of reduce partitions that had already ended (never
          // read again, like the writer's copy of them): a second job over the same shuffle reads every partition.
          expect(await sums.count()).toBe(expected.size);
          expect((await sc.faults.snapshot()).driver.sharedMapOutputs).toBe(0);
        } finally {
          await sc.stop();
        }
      }),
      { numRuns: 6, endOnFailure: true },
    );
  }, 300_000);
});
