import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyMap } from '../../src/core/key-map.js';
import { canonical, smallKey, twin } from './key-arbitraries.js';

type Op =
  | { op: 'set'; key: unknown; value: number }
  | { op: 'delete'; key: unknown }
  | { op: 'update'; key: unknown }
  | { op: 'combine'; key: unknown; value: number }
  | { op: 'clear' };

// Keys are re-built as twins so the model is exercised with equal-but-distinct key objects.
const keyArb = fc.tuple(smallKey, fc.integer()).map(([k, seed]) => twin(k, seed));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, value: fc.integer() }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('update' as const), key: keyArb }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('combine' as const), key: keyArb, value: fc.integer() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('clear' as const) }), weight: 1 },
);

describe('KeyMap', () => {
  it('behaves like a Map over canonical keys and yields first-seen key objects in insertion order', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const map = new KeyMap<unknown, number>();
        const model = new Map<string, { key: unknown; value: number }>();
        for (const o of ops) {
          if (o.op === 'clear') {
            map.clear();
            model.clear();
            continue;
          }
          const c = canonical(o.key);
          const entry = model.get(c);
          expect(map.has(o.key)).toBe(entry !== undefined);
          expect(map.get(o.key)).toBe(entry?.value);
          if (o.op === 'set') {
            expect(map.set(o.key, o.value)).toBe(map);
            if (entry) entry.value = o.value;
            else model.set(c, { key: o.key, value: o.value });
          } else if (o.op === 'delete') {
            expect(map.delete(o.key)).toBe(model.delete(c));
          } else if (o.op === 'update') {
            const next = entry ? entry.value * 2 + 1 : 7;
            expect(
              map.update(
                o.key,
                () => 7,
                (v) => v * 2 + 1,
              ),
            ).toBe(next);
            if (entry) entry.value = next;
            else model.set(c, { key: o.key, value: next });
          } else {
            const next = entry ? entry.value - o.value : o.value + 1;
            const got = map.combine(
              o.key,
              o.value,
              (v) => v + 1,
              (acc, v) => acc - v,
            );
            expect(got).toBe(next);
            if (entry) entry.value = next;
            else model.set(c, { key: o.key, value: next });
          }
          expect(map.size).toBe(model.size);
        }
        const expected = [...model.values()];
        const entries = [...map];
        expect(entries.length).toBe(expected.length);
        entries.forEach(([k, v], i) => {
          // toBe: the very object first stored, not merely an equal one (-0 excepted, as in Map).
          const want = expected[i]!;
          if (Object.is(want.key, -0)) expect(k).toBe(0);
          else expect(k).toBe(want.key);
          expect(v).toBe(want.value);
        });
        expect([...map.keys()]).toEqual(entries.map(([k]) => k));
        expect([...map.values()]).toEqual(entries.map(([, v]) => v));
        const seen: Array<[unknown, number]> = [];
        map.forEach((v, k) => seen.push([k, v]));
        expect(seen).toEqual(entries);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the first-seen composite key when later equal keys set the value', () => {
    const first = ['a', { x: 1, y: 2 }];
    const later = ['a', { y: 2, x: 1 }];
    const m = new KeyMap<unknown[], string>([[first, 'one']]);
    m.set(later, 'two');
    expect(m.size).toBe(1);
    expect(m.get(['a', { x: 1, y: 2 }])).toBe('two');
    const [[k, v]] = [...m.entries()] as [[unknown[], string]];
    expect(k).toBe(first);
    expect(v).toBe('two');
  });

  it('starts a new group, with the new key object, after a delete', () => {
    const a1 = [1];
    const a2 = [1];
    const m = new KeyMap<number[], number>();
    m.set(a1, 1);
    m.delete([1]);
    m.set(a2, 2);
    expect([...m.keys()][0]).toBe(a2);
  });

  it('round-trips strings that start with the id escape character', () => {
    const tricky = ['\u0001', '\u0001[#1]', '\u0001\u0001x'];
    const m = new KeyMap<unknown, number>();
    tricky.forEach((s, i) => m.set(s, i));
    m.set([1], 9);
    expect([...m.keys()]).toEqual([...tricky, [1]]);
    expect(m.get('\u0001[#1]')).toBe(1);
    expect(m.get([1])).toBe(9);
  });

  it('stores undefined values as present', () => {
    const m = new KeyMap<string, number | undefined>();
    m.set('k', undefined);
    expect(m.has('k')).toBe(true);
    let sawPresent = false;
    m.update(
      'k',
      () => 1,
      (v) => {
        sawPresent = true;
        return v === undefined ? 5 : v;
      },
    );
    expect(sawPresent).toBe(true);
    expect(m.get('k')).toBe(5);
  });

  it('counts words like countByKey, mixing primitive and composite keys', () => {
    const words = ['a', 'b', 'a', 'c', 'a', 'b'];
    const m = new KeyMap<unknown, number>();
    for (const w of words)
      m.update(
        w,
        () => 1,
        (n) => n + 1,
      );
    for (const w of words)
      m.update(
        [w, w.length],
        () => 1,
        (n) => n + 1,
      );
    expect([...m]).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 1],
      [['a', 1], 3],
      [['b', 1], 2],
      [['c', 1], 1],
    ]);
  });
});
