/**
 * Functions that capture nothing and cannot reach themselves are one object per worker and source (ShippedFunction
 * .shared): nothing but the engine can hold such an object, so sharing it is unobservable, and V8's optimized code
 * that inlined it stays valid from stage to stage. Everything else is a new object per compile, as before.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, test } from 'vitest';
import { capture, clearCompileCache, compileFunction, shipFunction } from '../../src/closure/index.js';
import { fakeRuntime, fromSource } from './helpers.js';

const ship = (fn: Function) => structuredClone(shipFunction(fn, 'test function'));

describe('shared functions', () => {
  beforeEach(() => clearCompileCache());

  test.each([
    ['an arrow', '(x) => x + 1', true],
    ['an anonymous function expression', 'function (x) { return x + 1; }', true],
    ['a named function that does not use its name', 'function inc(x) { return x + 1; }', true],
    ['a method', '({ inc(x) { return x + 1; } }).inc', true],
    ['a named function that reads its own name', 'function inc(x) { return inc.length + x; }', false],
    ['a named function that sets a property on itself', 'function calls(x) { calls.n = (calls.n ?? 0) + 1; return calls.n; }', false],
    ['a recursive named function', 'function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }', false],
    ['a generator that uses its name', 'function* g(n) { if (n > 0) { yield n; yield* g(n - 1); } }', false],
  ])('%s: shared %s', (_what, src, shared) => {
    expect(ship(fromSource(src)).shared === true).toBe(shared);
  });

  test('a function that captures anything is not shared, nor a helper that calls itself through its env name', () => {
    const k = 2;
    expect(ship(capture({ k }, fromSource('(x) => x * k'))).shared).toBeUndefined();
    const fact = fromSource('(n) => (n <= 1 ? 1 : n * fact(n - 1))');
    const wire = ship(capture({ fact }, fromSource('(x) => fact(x)')));
    expect(wire.shared).toBeUndefined();
    const helper = wire.env.fact as { t: 'fn'; fn: { shared?: true } };
    expect(helper.fn.shared).toBeUndefined();
  });

  test('a builtin is shared', () => {
    expect(ship(Math.max).shared).toBe(true);
  });

  test('compiling a shared function twice gives one object; any other function a new one each time', async () => {
    const runtime = fakeRuntime();
    const shared = ship(fromSource('(x) => x + 1'));
    const a = await compileFunction(shared, runtime);
    const b = await compileFunction(structuredClone(shared), runtime);
    expect(a).toBe(b);
    const k = 1;
    const captured = ship(capture({ k }, fromSource('(x) => x + k')));
    expect(await compileFunction(captured, runtime)).not.toBe(await compileFunction(captured, runtime));
    const named = ship(fromSource('function calls() { calls.n = (calls.n ?? 0) + 1; return calls.n; }'));
    const first = (await compileFunction(named, runtime)) as () => number;
    expect([first(), first()]).toEqual([1, 2]);
    const second = (await compileFunction(named, runtime)) as () => number;
    expect(second).not.toBe(first);
    expect(second()).toBe(1);
  });

  test('after the cache is cleared a shared function is compiled again', async () => {
    const runtime = fakeRuntime();
    const wire = ship(fromSource('(x) => x * 2'));
    const a = await compileFunction(wire, runtime);
    clearCompileCache();
    expect(await compileFunction(wire, runtime)).not.toBe(a);
  });

  test('property: a shared function gives what a new one compiled from its source gives, in any order of compiles', async () => {
    const body = fc.oneof(
      fc.constant('x + 1'),
      fc.constant('x * x - 3'),
      fc.constant('(x % 7) / 2'),
      fc.constant('Math.max(x, 0) + Math.min(x, 1)'),
      fc.constant('String(x).length'),
      fc.constant('[x, x + 1]'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(body, fc.boolean()), { minLength: 1, maxLength: 12 }),
        fc.array(fc.double({ noNaN: true }), { maxLength: 8 }),
        async (fns, xs) => {
          const runtime = fakeRuntime();
          for (const [b, named] of fns) {
            const src = named ? `function f(x) { return ${b}; }` : `(x) => ${b}`;
            const compiled = (await compileFunction(ship(fromSource(src)), runtime)) as (x: number) => unknown;
            const fresh = fromSource<(x: number) => unknown>(src);
            expect(xs.map(compiled)).toEqual(xs.map(fresh));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
