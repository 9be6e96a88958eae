/**
 * The thread's pool of large typed arrays (util/scratch-arrays.ts): an array taken is zeroed and of the length
 * asked whatever it held before, no two arrays out of the pool share memory, and what the pool keeps is bounded.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MIN_POOLED_BYTES, giveBack, pooledBytes, setMinPooledBytes, takeFloat64, takeInt32 } from '../../src/util/scratch-arrays.js';

afterEach(() => setMinPooledBytes(MIN_POOLED_BYTES));

describe('scratch arrays', () => {
  it('reuses a given-back buffer for a request of about its size, zeroed', () => {
    const a = takeInt32(100_000);
    a.fill(7);
    const buffer = a.buffer;
    giveBack(a);
    const b = takeFloat64(49_000);
    expect(b.buffer).toBe(buffer);
    expect(b.length).toBe(49_000);
    expect(b.every((x) => x === 0)).toBe(true);
    giveBack(b);
  });

  it('leaves small arrays, foreign arrays and arrays given back twice alone', () => {
    const small = takeInt32(10);
    expect(small.buffer.byteLength).toBe(40);
    const before = pooledBytes();
    giveBack(small);
    giveBack(new Float64Array(100_000));
    expect(pooledBytes()).toBe(before);
    const a = takeInt32(200_000);
    giveBack(a);
    const held = pooledBytes();
    giveBack(a);
    expect(pooledBytes()).toBe(held);
    // Given back twice, it is still handed out once.
    const b = takeInt32(200_000);
    const c = takeInt32(200_000);
    expect(b.buffer).not.toBe(c.buffer);
    giveBack(b);
    giveBack(c);
  });

  it('never hands out memory in use, and keeps at most its bound (property)', () => {
    setMinPooledBytes(1);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ take: fc.integer({ min: 0, max: 300_000 }), f64: fc.boolean() }), fc.record({ give: fc.nat() })), {
          maxLength: 80,
        }),
        (ops) => {
          // Each live array is filled with its own mark; a shared buffer would overwrite another's.
          const live: Array<{ a: Int32Array | Float64Array; mark: number }> = [];
          let mark = 1;
          for (const op of ops) {
            if ('take' in op) {
              const a = op.f64 ? takeFloat64(op.take) : takeInt32(op.take);
              expect(a.length).toBe(op.take);
              expect(a.every((x) => x === 0)).toBe(true);
              a.fill(mark);
              live.push({ a, mark: mark++ });
            } else if (live.length > 0) {
              const [gone] = live.splice(op.give % live.length, 1);
              giveBack(gone!.a);
            }
            for (const { a, mark: m } of live) expect(a.length === 0 || (a[0] === m && a[a.length - 1] === m)).toBe(true);
            expect(pooledBytes()).toBeLessThanOrEqual(24 * 1024 * 1024);
          }
          for (const { a } of live) giveBack(a);
        },
      ),
      { numRuns: 200 },
    );
  });
});
