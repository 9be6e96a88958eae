import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareKeys, hashKey, hashPackedLatin1, keyId, keysEqual, nonNegativeMod } from '../../src/core/keys.js';
import { InvalidDataError } from '../../src/core/errors.js';
import { canonical, codeUnitString, sameValueZero, smallKey, twin, wideKey } from './key-arbitraries.js';

/** Textbook murmur3 x86_32 over bytes, written independently of keys.ts, to pin what hashKey computes. */
function murmur3Bytes(bytes: Uint8Array, seed: number): number {
  const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
  let h = seed | 0;
  const blocks = bytes.length >> 2;
  for (let b = 0; b < blocks; b++) {
    const o = b * 4;
    let k = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
    k = Math.imul(rotl(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    for (let j = rest - 1; j >= 0; j--) k = (k << 8) | bytes[tail + j]!;
    h ^= Math.imul(rotl(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

describe('hashKey', () => {
  it('the murmur3 reference matches published test vectors', () => {
    expect(murmur3Bytes(Buffer.from('hello'), 0) >>> 0).toBe(0x248bfa47);
    expect(murmur3Bytes(Buffer.from('The quick brown fox jumps over the lazy dog'), 0) >>> 0).toBe(0x2e4ff723);
  });

  it('hashes a string as murmur3 (seed 0) of its UTF-16LE code units', () => {
    fc.assert(
      fc.property(codeUnitString, (s) => {
        expect(hashKey(s)).toBe(murmur3Bytes(Buffer.from(s, 'utf16le'), 0));
      }),
    );
  });

  it('pins outputs so a change in placement across workers is noticed', () => {
    expect(hashKey('')).toBe(0);
    expect(hashKey('a')).toBe(1867108634);
    expect(hashKey('spark')).toBe(812344602);
    expect(hashKey('hello world')).toBe(1689409188);
    expect(hashKey(0)).toBe(0);
    expect(hashKey(1)).toBe(1364076727);
    expect(hashKey(42)).toBe(142593372);
    expect(hashKey(-1)).toBe(-2114883783);
    expect(hashKey(2 ** 31)).toBe(-1172589801);
    expect(hashKey(1.5)).toBe(-194861392);
    expect(hashKey(NaN)).toBe(2146959360);
    expect(hashKey([1, { a: 2, b: 3 }])).toBe(1874887762);
    expect(hashKey(null)).toBe(189665011);
    expect(hashKey(true)).toBe(-1640531527);
  });

  it('is a signed 32-bit integer for every key', () => {
    fc.assert(
      fc.property(wideKey, (k) => {
        const h = hashKey(k);
        expect(h | 0).toBe(h);
      }),
    );
  });

  it('treats -0 as 0 and every NaN as one key', () => {
    expect(hashKey(-0)).toBe(hashKey(0));
    expect(hashKey([-0, { z: -0 }])).toBe(hashKey([0, { z: 0 }]));
    const otherNaN = new Float64Array(new Uint32Array([1, 0x7ff00000]).buffer)[0]!;
    expect(hashKey(otherNaN)).toBe(hashKey(NaN));
  });

  it('mixes consecutive integers into different low bits', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) seen.add(hashKey(i) & 63);
    expect(seen.size).toBeGreaterThan(32); // the identity hash would give 64, a constant one 1
    expect(new Set([0, 1, 2, 3].map((i) => hashKey(i) & 3)).size).toBeGreaterThan(1);
  });
});

describe('hashPackedLatin1', () => {
  const pack = (s: string): [number, number] => {
    let lo = 0;
    let hi = 0;
    for (let j = 0; j < s.length; j++) {
      if (j < 4) lo |= s.charCodeAt(j) << (j << 3);
      else hi |= s.charCodeAt(j) << ((j - 4) << 3);
    }
    return [lo, hi];
  };

  it('is hashKey of the string its ints pack, for every length 0-8 and every byte (property)', () => {
    const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }).map((cs) => String.fromCharCode(...cs));
    // Bytes at the edges (0, 127, 128, 255) in every position, where a sign or a shift slip would show.
    const edgy = fc.array(fc.constantFrom(0, 1, 127, 128, 254, 255), { maxLength: 8 }).map((cs) => String.fromCharCode(...cs));
    fc.assert(
      fc.property(fc.oneof(latin1, edgy), (s) => {
        const [lo, hi] = pack(s);
        expect(hashPackedLatin1(lo, hi, s.length)).toBe(hashKey(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('tells apart keys that pack to the same ints with different lengths, and numbers-as-strings', () => {
    for (const s of ['', '\0', '\0\0', '\0'.repeat(8), 'a', 'a\0', '0', '00', '12345678', '__proto_', '\xff'.repeat(8)]) {
      const [lo, hi] = pack(s);
      expect(hashPackedLatin1(lo, hi, s.length)).toBe(hashKey(s));
    }
  });
});

describe('structural identity', () => {
  it('structurally equal keys have equal hashKey, keyId, keysEqual and compare as 0', () => {
    fc.assert(
      fc.property(wideKey, fc.integer(), (k, seed) => {
        const t = twin(k, seed);
        expect(keysEqual(k, t)).toBe(true);
        expect(hashKey(t)).toBe(hashKey(k));
        expect(sameValueZero(keyId(t), keyId(k))).toBe(true);
        expect(compareKeys(k, t)).toBe(0);
      }),
    );
  });

  it('keyId and keysEqual agree with a reference canonical form on both equal and unequal keys', () => {
    fc.assert(
      fc.property(smallKey, smallKey, (a, b) => {
        const equal = canonical(a) === canonical(b);
        expect(keysEqual(a, b)).toBe(equal);
        expect(sameValueZero(keyId(a), keyId(b))).toBe(equal);
        if (equal) expect(hashKey(a)).toBe(hashKey(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('returns primitives from keyId as themselves', () => {
    for (const p of [0, -1.5, NaN, Infinity, 'word', '', true, false, null, undefined, 10n]) {
      expect(Object.is(keyId(p), p)).toBe(true);
    }
  });

  it('keeps strings apart from composite ids, including strings that mimic their encoding', () => {
    const composite = keyId([1]);
    expect(typeof composite).toBe('string');
    expect(keyId(composite)).not.toBe(composite);
    expect(keyId('\u0001')).not.toBe(keyId([]));
    fc.assert(
      fc.property(codeUnitString, smallKey, (s, k) => {
        fc.pre(typeof k === 'object' && k !== null);
        expect(keyId(s)).not.toBe(keyId(k));
        expect(keyId(keyId(k))).not.toBe(keyId(k));
      }),
    );
  });

  it('distinguishes look-alikes of different kinds', () => {
    const lookAlikes = [1, '1', 1n, [1], ['1'], { 0: 1 }, true, 'true', null, 'null', undefined, [], {}, [[]], new Date(1)];
    const ids = new Set(lookAlikes.map((k) => keyId(k)));
    expect(ids.size).toBe(lookAlikes.length);
    expect(keysEqual({ a: undefined }, {})).toBe(false);
    expect(keysEqual([undefined], [])).toBe(false);
  });

  it('treats Dates by time value and class instances as their own properties', () => {
    expect(keysEqual(new Date(5), new Date(5))).toBe(true);
    expect(keysEqual(new Date(NaN), new Date(NaN))).toBe(true);
    expect(keysEqual(new Date(5), 5)).toBe(false);
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    expect(keyId(new Point(1, 2))).toBe(keyId({ y: 2, x: 1 }));
    expect(hashKey(new Point(1, 2))).toBe(hashKey({ x: 1, y: 2 }));
  });

  it('rejects keys whose identity is not structural', () => {
    const bad: unknown[] = [new Map(), new Set([1]), /x/, new Uint8Array(2), () => 1, Symbol('s'), [new Map()], { m: new Set() }];
    for (const k of bad) {
      expect(() => hashKey(k)).toThrow(TypeError);
      expect(() => keyId(k)).toThrow(TypeError);
    }
    expect(() => keysEqual(new Map(), new Map())).toThrow(TypeError);
    // Comparison looks only as deep as it must: [Map] vs 1 is decided by kind alone.
    expect(() => compareKeys(new Map(), 1)).toThrow(TypeError);
    expect(() => compareKeys([new Set()], [new Set()])).toThrow(TypeError);
  });

  it('refuses a key that refers to itself as invalid data naming the key, not with "Maximum call stack size exceeded"', () => {
    const o: Record<string, unknown> = { x: 1 };
    o.self = o;
    const inArray: unknown[] = ['k'];
    inArray.push(inArray);
    for (const [k, shown] of [
      [o, '{"x":1,"self":"[Circular]"}'],
      [[1, o], '[1,{"x":1,"self":"[Circular]"}]'],
      [inArray, '["k","[Circular]"]'],
    ] as const) {
      for (const f of [hashKey, keyId]) {
        expect(() => f(k)).toThrow(InvalidDataError);
        expect(() => f(k)).toThrow(`kindling: a key that refers to itself (or is nested thousands of levels deep) cannot be a key: ${shown}`);
      }
    }
  });

  it('refuses to order two keys that refer to themselves, naming one, where the comparison overflowed the stack', () => {
    // sortByKey / sortBy of such keys failed every attempt with a bare "Maximum call stack size exceeded".
    const a: unknown[] = [1];
    a.push(a);
    const b: unknown[] = [1];
    b.push(b);
    for (const [x, y] of [
      [a, b],
      [
        [0, a],
        [0, b],
      ],
      [{ k: a }, { k: b }],
    ] as const) {
      expect(() => compareKeys(x, y)).toThrow(InvalidDataError);
      expect(() => compareKeys(x, y)).toThrow(/^kindling: a key that refers to itself .* cannot be a key: .*\[Circular\]/);
    }
    // One circular key against a key that differs early compares as usual: no walk reaches the cycle.
    expect(compareKeys(a, [2])).toBe(-1);
  });
});

describe('compareKeys', () => {
  const sign = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);
  // Array.prototype.sort moves `undefined` elements to the end without asking the comparator, so keys
  // are sorted inside one-element boxes, as pair RDDs sort [key, value] records.
  const sortKeys = (keys: unknown[]): unknown[] =>
    keys
      .map((k) => [k] as const)
      .sort((x, y) => compareKeys(x[0], y[0]))
      .map((b) => b[0]);

  it('is antisymmetric and returns 0 exactly for structurally equal keys', () => {
    fc.assert(
      fc.property(smallKey, smallKey, (a, b) => {
        const c = compareKeys(a, b);
        expect([-1, 0, 1]).toContain(c);
        expect(compareKeys(b, a)).toBe(-c || 0);
        expect(c === 0).toBe(keysEqual(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('is transitive: a sorted list is ordered between every pair, not just neighbours', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(smallKey, wideKey), { maxLength: 14 }), (keys) => {
        const sorted = sortKeys(keys);
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i + 1; j < sorted.length; j++) expect(compareKeys(sorted[i], sorted[j])).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it('orders numbers numerically with -0 = 0 and NaN after +Infinity', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.double({ noNaN: true }), (a, b) => {
        expect(compareKeys(a, b)).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
    expect(compareKeys(-0, 0)).toBe(0);
    expect(compareKeys(NaN, Infinity)).toBe(1);
    expect(compareKeys(NaN, NaN)).toBe(0);
    expect([3, NaN, -Infinity, 1].sort(compareKeys)).toEqual([-Infinity, 1, 3, NaN]);
  });

  it('orders strings by UTF-16 code unit (not by code point or locale)', () => {
    const byUnits = (a: string, b: string): number => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const d = a.charCodeAt(i) - b.charCodeAt(i);
        if (d !== 0) return sign(d);
      }
      return sign(a.length - b.length);
    };
    fc.assert(
      fc.property(codeUnitString, codeUnitString, (a, b) => {
        expect(compareKeys(a, b)).toBe(byUnits(a, b));
      }),
    );
    expect(compareKeys('\uffff', '\ud83d\ude00')).toBe(1); // code points would say the opposite
    expect(compareKeys('B', 'a')).toBe(-1);
  });

  it('orders arrays element by element with a proper prefix first', () => {
    expect(compareKeys(['a', 2], ['a', 10])).toBe(-1);
    expect(compareKeys([1], [1, 0])).toBe(-1);
    expect(compareKeys([2], [1, 9])).toBe(1);
    expect(compareKeys([], [])).toBe(0);
  });

  it('orders keys of different kinds by a fixed rank', () => {
    const ranked = [undefined, null, false, true, -1, NaN, -5n, 3n, '', 'z', new Date(0), [], [undefined], {}, { a: 1 }];
    const shuffled = [...ranked].reverse();
    expect(sortKeys(shuffled)).toEqual(ranked);
  });

  it('orders objects independently of property insertion order', () => {
    expect(compareKeys({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(0);
    expect(compareKeys({ a: 1 }, { b: 0 })).toBe(-1);
    expect(compareKeys({ a: 1 }, { a: 1, b: 0 })).toBe(-1);
  });
});

describe('nonNegativeMod', () => {
  it('returns the remainder in [0, n), never -0, congruent to x', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (x, n) => {
        const r = nonNegativeMod(x, n);
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThan(n);
        expect(Object.is(r, -0)).toBe(false);
        expect(Number.isInteger(r)).toBe(true);
        expect(BigInt(x) - BigInt(r)).toSatisfy((d: bigint) => d % BigInt(n) === 0n);
      }),
    );
    expect(nonNegativeMod(-7, 4)).toBe(1);
    expect(Object.is(nonNegativeMod(-8, 4), 0)).toBe(true);
  });
});
