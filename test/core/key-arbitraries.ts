/**
 * Shared fast-check generators and reference models for the key tests. The references are written
 * independently of src/core/keys.ts (a different encoding) so that agreeing with them means something.
 */

import fc from 'fast-check';
import { SeededRandom } from '../../src/core/random.js';

// Small domains on purpose: random keys then collide often enough to exercise the "equal" branches.
const numbers = fc.constantFrom(0, -0, 1, -1, 2, 1.5, -2.25, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 40 + 3, 1e-300);
const strings = fc.constantFrom('', 'a', 'b', 'ab', '\u0001', '\u0001[#1]', '"', ':', ',', '1', '#1', '\ud800', '\udc00x');
const dates = fc.constantFrom(0, 1, -5, 1.7e12, NaN).map((t) => new Date(t));

/** Keys of every supported kind, nested, from a small domain. */
export const smallKey: fc.Arbitrary<unknown> = fc.letrec<{ key: unknown }>((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(undefined, null, true, false),
    numbers,
    fc.constantFrom(0n, 1n, -1n, 2n ** 70n),
    strings,
    dates,
    fc.array(tie('key'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', '0', '__x'), tie('key'), { maxKeys: 3 }),
  ),
})).key;

/** Keys drawn from wide domains: arbitrary doubles, strings of any code units, deeper nesting. */
export const wideKey: fc.Arbitrary<unknown> = fc.letrec<{ key: unknown }>((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(undefined, null, true, false),
    fc.double(),
    fc.integer(),
    fc.bigInt(),
    fc.string({ unit: 'binary' }),
    fc.double().map((t) => new Date(t)),
    fc.array(tie('key'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('key'), { maxKeys: 4 }),
  ),
})).key;

/** Any single UTF-16 code unit, including lone surrogates. */
export const codeUnitString = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 8,
});

/**
 * A structurally equal but physically different copy of a key: fresh arrays, objects and Dates, object
 * properties inserted in a shuffled order, 0 and -0 swapped at random.
 */
export function twin(key: unknown, seed: number): unknown {
  const rng = new SeededRandom(seed);
  const copy = (v: unknown): unknown => {
    if (typeof v === 'number') return v === 0 && rng.nextInt(2) === 0 ? -v : v;
    if (typeof v !== 'object' || v === null) return v;
    if (v instanceof Date) return new Date(v.getTime());
    if (Array.isArray(v)) return v.map(copy);
    const names = Object.keys(v);
    for (let i = names.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [names[i], names[j]] = [names[j]!, names[i]!];
    }
    const out: Record<string, unknown> = {};
    for (const k of names) out[k] = copy((v as Record<string, unknown>)[k]);
    return out;
  };
  return copy(key);
}

/** Reference structural identity: a tagged tree with sorted object entries, serialised as JSON. */
export function canonical(key: unknown): string {
  const norm = (v: unknown): unknown => {
    switch (typeof v) {
      case 'undefined':
        return ['u'];
      case 'boolean':
        return ['b', v];
      case 'number':
        return ['d', String(v === 0 ? 0 : v)];
      case 'bigint':
        return ['i', v.toString()];
      case 'string':
        return ['s', v];
      default:
        if (v === null) return ['n'];
        if (v instanceof Date) return ['t', String(v.getTime())];
        if (Array.isArray(v)) return ['a', ...v.map(norm)];
        return [
          'o',
          ...Object.keys(v as object)
            .sort()
            .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
        ];
    }
  };
  return JSON.stringify(norm(key));
}

/** SameValueZero, the equality `Map` uses for its keys. */
export function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}
