import { describe, expect, test } from 'vitest';
import { capture, compileFunction, shipFunction } from '../../src/closure/index.js';
import { fakeRuntime, fromSource, roundTrip } from './helpers.js';

describe('accepted function forms round-trip', () => {
  test('arrow functions, expression and block bodies', async () => {
    const { compiled: a } = await roundTrip((x: number) => x * 2 + 1);
    expect(a(20)).toBe(41);
    const { compiled: b } = await roundTrip((a: number, b: number) => {
      const s = a + b;
      return Math.max(s, 0);
    });
    expect(b(-5, 2)).toBe(0);
  });

  test('function expressions and declarations, named or anonymous', async () => {
    const { compiled: anon } = await roundTrip(function (s: string) {
      return s.toUpperCase();
    });
    expect(anon('ab')).toBe('AB');
    function lengthOf(s: string): number {
      return s.length;
    }
    const { compiled: named, wire } = await roundTrip(lengthOf);
    expect(named('abc')).toBe(3);
    expect(wire.name).toBe('lengthOf');
  });

  test('a function recursive by its own name', async () => {
    const { compiled } = await roundTrip(function fib(n: number): number {
      return n < 2 ? n : fib(n - 1) + fib(n - 2);
    });
    expect(compiled(15)).toBe(610);
  });

  test('generator functions, as mapPartitions uses them', async () => {
    const { compiled } = await roundTrip(function* (it: Iterable<number>) {
      for (const x of it) yield x * 10;
    });
    expect([...compiled([1, 2, 3])]).toEqual([10, 20, 30]);
  });

  test('method shorthand, including generator methods and quoted keys', async () => {
    const obj = {
      double(x: number) {
        return x * 2;
      },
      *pairs(xs: number[]) {
        for (const x of xs) yield [x, x] as const;
      },
      'with space'(x: number) {
        return -x;
      },
    };
    expect((await roundTrip(obj.double)).compiled(4)).toBe(8);
    expect([...(await roundTrip(obj.pairs)).compiled([1, 2])]).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect((await roundTrip(obj['with space'])).compiled(3)).toBe(-3);
  });

  test('computed-key methods and a trailing line comment in the source', async () => {
    const method = fromSource('{ [Symbol.iterator](x) { return x + 1; } }')[Symbol.iterator] as (x: number) => number;
    expect((await roundTrip(method)).compiled(1)).toBe(2);
    const commented = fromSource('(x) => x + 1 // trailing');
    expect((await roundTrip(commented)).compiled(1)).toBe(2);
  });

  test('nested functions may use their own this and arguments', async () => {
    const { compiled } = await roundTrip((x: number) => {
      const counter = {
        n: x,
        inc() {
          return ++this.n;
        },
      };
      function count(..._ignored: number[]) {
        return arguments.length;
      }
      return counter.inc() + count.call(null, 1, 2);
    });
    expect(compiled(1)).toBe(4);
  });

  test("arguments read in a function's parameter defaults is that function's own, and ships", async () => {
    // eslint-scope leaves these reads unresolved; they were refused as "uses 'arguments', which is not declared".
    const inDefault = fromSource('function (x, n = arguments.length) { return x + n; }');
    expect((await roundTrip(inDefault)).compiled(1)).toBe(2);
    const inPattern = fromSource('function (x, { a = arguments[0] } = {}) { return a; }');
    expect((await roundTrip(inPattern)).compiled(5)).toBe(5);
    const method = fromSource('{ m(x, y = (() => arguments.length)()) { return y; } }').m as (x: number) => number;
    expect((await roundTrip(method)).compiled(7)).toBe(1);
    // An arrow's parameters still read the code around it.
    expect(() => shipFunction(fromSource('(x, n = arguments.length) => x + n'), 'test function')).toThrow(/uses 'arguments'/);
  });

  test('script-goal code: await is an ordinary identifier, as in new Function', async () => {
    expect((await roundTrip(fromSource('(await) => await + 1'))).compiled(1)).toBe(2);
  });

  test('compiled functions are strict, like the ES modules they come from', async () => {
    const { compiled } = await roundTrip(() =>
      (function (this: unknown) {
        return this;
      })(),
    );
    expect(compiled()).toBeUndefined();
  });
});

describe('captured values', () => {
  test('capture() result still works on the driver', () => {
    const factor = 3;
    const f = capture({ factor }, (x: number) => x * factor);
    expect(f(2)).toBe(6);
    expect(f.name).toBe('');
    function named(x: number) {
      return x + factor;
    }
    const g = capture({ factor }, named);
    expect(g.name).toBe('named');
    expect(g.length).toBe(1);
  });

  test('data of every structured-clonable kind arrives intact', async () => {
    const env = {
      n: 3,
      s: 'x',
      big: 10n,
      arr: [1, [2]],
      obj: { a: { b: 1 } },
      map: new Map([['k', 1]]),
      set: new Set([1, 2]),
      typed: new Float64Array([0.5, 1.5]),
      when: new Date(0),
      re: /a+/g,
      nothing: null,
    };
    const { n, s, big, arr, obj, map, set, typed, when, re, nothing } = env;
    const { compiled } = await roundTrip(
      capture(env, () => [n, s, big, arr, obj, map.get('k'), set.has(2), typed[1], when.getTime(), re.source, nothing]),
    );
    expect(compiled()).toEqual([3, 'x', 10n, [1, [2]], { a: { b: 1 } }, 1, true, 1.5, 0, 'a+', null]);
  });

  test('only the env entries the function mentions are shipped', async () => {
    const used = 1;
    const unused = new Float64Array(1000);
    const { wire, compiled } = await roundTrip(capture({ used, unused }, () => used));
    expect(Object.keys(wire.env)).toEqual(['used']);
    expect(compiled()).toBe(1);
  });

  test('env names may shadow globals', async () => {
    const JSON = { stringify: 'mine' };
    const { compiled } = await roundTrip(capture({ JSON }, () => JSON.stringify));
    expect(compiled()).toBe('mine');
  });

  test('capture of a captured function merges the envs', async () => {
    const a = 1;
    const b = 2;
    const { compiled } = await roundTrip(
      capture(
        { b },
        capture({ a }, () => a + b),
      ),
    );
    expect(compiled()).toBe(3);
  });

  test('values are read per compile, so a new job can bring new values', async () => {
    const runtime = fakeRuntime();
    const results: number[] = [];
    for (const weight of [1, 2, 3]) {
      const wire = shipFunction(
        capture({ weight }, (x: number) => x * weight),
        'map',
      );
      results.push(((await compileFunction(wire, runtime)) as (x: number) => number)(10));
    }
    expect(results).toEqual([10, 20, 30]);
  });
});

describe('helper functions', () => {
  test('plain helpers are shipped as source', async () => {
    const square = (x: number) => x * x;
    function cube(x: number) {
      return x * x * x;
    }
    const { compiled, wire } = await roundTrip(capture({ square, cube }, (x: number) => square(x) + cube(x)));
    expect(compiled(2)).toBe(12);
    expect(wire.env['square']?.t).toBe('fn');
  });

  test('captured helpers bring their own env, recursively', async () => {
    const offset = 100;
    const shift = capture({ offset }, (x: number) => x + offset);
    const factor = 2;
    const scaleAndShift = capture({ shift, factor }, (x: number) => shift(x * factor));
    const { compiled } = await roundTrip(capture({ scaleAndShift }, (xs: number[]) => xs.map(scaleAndShift)));
    expect(compiled([1, 2])).toEqual([102, 104]);
  });

  test('recursive helpers: a declaration, and an arrow calling itself by its env name', async () => {
    function fib(n: number): number {
      return n < 2 ? n : fib(n - 1) + fib(n - 2);
    }
    const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
    const { compiled } = await roundTrip(capture({ fib, fact }, (n: number) => [fib(n), fact(n)]));
    expect(compiled(10)).toEqual([55, 3628800]);
  });

  test('helpers are compiled with the shipped function, as generators too', async () => {
    const evens = function* (xs: Iterable<number>) {
      for (const x of xs) if (x % 2 === 0) yield x;
    };
    const { compiled } = await roundTrip(
      capture({ evens }, function* (it: Iterable<number>) {
        yield* evens(it);
      }),
    );
    expect([...compiled([1, 2, 3, 4])]).toEqual([2, 4]);
  });
});

describe("esbuild's __name helper", () => {
  test('tsx-shaped source with __name compiles against the worker shim', async () => {
    const src = 'x=>{function inner(y){return y*2}__name(inner,"inner");return inner(x)+inner.name.length}';
    const { compiled } = await roundTrip(fromSource(src));
    expect(compiled(4)).toBe(8 + 5);
  });

  test('an env entry named __name takes precedence over the shim', async () => {
    const __name = (_target: unknown, value: string) => `custom ${value}`;
    const { compiled } = await roundTrip(capture({ __name }, () => __name(null, 'x')));
    expect(compiled()).toBe('custom x');
  });
});

describe('broadcasts and accumulators', () => {
  test('a broadcast is bound as { value } and an accumulator as the runtime object', async () => {
    const { kShip } = await import('../../src/closure/index.js');
    const bc = { [kShip]: () => ({ t: 'broadcast', id: 7 }) as const, value: 'driver copy' };
    const acc = { [kShip]: () => ({ t: 'accumulator', id: 2 }) as const, add(_n: number) {} };
    const fn = capture({ bc, acc }, (x: number) => {
      acc.add(x);
      return bc.value.length;
    });
    const wire = shipFunction(fn, 'map');
    expect(wire.env).toEqual({ bc: { t: 'broadcast', id: 7 }, acc: { t: 'accumulator', id: 2 } });
    const added: number[] = [];
    const taskAcc = { add: (n: number) => added.push(n) };
    const runtime = fakeRuntime({ 7: ['a', 'b', 'c'] }, { 2: taskAcc });
    const compiled = (await compileFunction(structuredClone(wire), runtime)) as (x: number) => number;
    expect(compiled(5)).toBe(3);
    expect(added).toEqual([5]);
  });
});
