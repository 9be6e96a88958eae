/**
 * The driver walks each stage's wire for the values its functions capture (the large-task hint weighs them). The wire
 * holds user data beside the functions: fold's, aggregate's, foldByKey's and aggregateByKey's zero value. A zero that
 * refers to itself (`z.self = z`, legal data: structured cloning keeps cycles) made that walk loop for ever on the
 * driver's thread: the action never settled, no timer fired, and SIGTERM (handled on that thread) could not end the
 * process. Found by test/context/random-misuse.test.ts's search (scratch probes of its misuse catalogue).
 */
import { describe, expect, it } from 'vitest';
import { eachCapturedEntry } from '../../src/closure/ship.js';
import { useContext } from '../rdd/helpers.js';

describe('captured entries of a wire holding data that refers to itself', () => {
  it('are each visited once, and the walk ends', () => {
    const zero: Record<string, unknown> = { n: 0 };
    // Counts its reads, so that a walk in circles fails here instead of hanging the test.
    let reads = 0;
    Object.defineProperty(zero, 'self', {
      enumerable: true,
      get: () => {
        if (++reads > 100) throw new Error('the walk went round the cycle');
        return zero;
      },
    });
    // A shipped function as it travels: its source and its env of captured values.
    const fn = { src: '(a) => a + big.length', env: { big: { t: 'value', v: [1, 2, 3] } } };
    const wire = { kind: 'fold', zero, fn, again: [zero, fn] };
    const seen: string[] = [];
    eachCapturedEntry(wire, (name) => seen.push(name));
    expect(seen).toEqual(['big']);
    expect(reads).toBe(1);
  });
});

describe('a zero value that refers to itself (local[2])', () => {
  const ctx = useContext('local[2]');

  it('fold, aggregate, foldByKey and aggregateByKey settle with it', async () => {
    const sc = ctx();
    const zero: { n: number; self?: unknown } = { n: 0 };
    zero.self = zero;
    const nums = sc.parallelize([1, 2, 3, 4], 2);
    const add = (acc: { n: number; self?: unknown }, x: number) => ({ ...acc, n: acc.n + x });
    const merge = (a: { n: number; self?: unknown }, b: { n: number; self?: unknown }) => ({ ...a, n: a.n + b.n });
    // fold's zero has the elements' type: objects like it, folded by summing n.
    const objects = nums.map((x) => ({ n: x }) as { n: number; self?: unknown });
    expect((await objects.fold(zero, merge)).n).toBe(10);
    expect((await nums.aggregate(zero, add, merge)).n).toBe(10);
    const pairs = nums.map((x): [number, number] => [x % 2, x]);
    const byKey = await pairs
      .aggregateByKey(zero, add, merge)
      .mapValues((z) => z.n)
      .collectAsMap();
    expect(byKey).toEqual(
      new Map([
        [0, 6],
        [1, 4],
      ]),
    );
    const foldedByKey = await pairs
      .mapValues((x) => ({ n: x }) as { n: number; self?: unknown })
      .foldByKey(zero, merge)
      .mapValues((z) => z.n)
      .collectAsMap();
    expect(foldedByKey).toEqual(
      new Map([
        [0, 6],
        [1, 4],
      ]),
    );
  }, 60_000);
});
