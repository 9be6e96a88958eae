import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  capture,
  clearCompileCache,
  compileCacheStats,
  compileFunction,
  setFunctionSharing,
  sharedFunctionStats,
  shipFunction,
  type ShippedFunction,
} from '../../src/closure/index.js';
import { fakeRuntime, fromSource } from './helpers.js';

/** Ships as the driver does and clones as postMessage does, so every compile sees a fresh copy of the env. */
const wire = (fn: Function): ShippedFunction => structuredClone(shipFunction(fn, 'test function'));

describe('compiled functions shared between tasks', () => {
  beforeEach(() => clearCompileCache());
  afterEach(() => setFunctionSharing(true));

  test('a function without env values is one object for every compile of the same source', async () => {
    const runtime = fakeRuntime();
    const a = await compileFunction(wire(fromSource('(a, b) => a + b')), runtime);
    const b = await compileFunction(wire(fromSource('(a, b) => a + b')), fakeRuntime());
    const other = await compileFunction(wire(fromSource('(a, b) => a * b')), runtime);
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    expect(sharedFunctionStats()).toEqual({ size: 2, reused: 1 });
    // The factory cache still counts the shared compile as a hit.
    expect(compileCacheStats()).toMatchObject({ builds: 2, hits: 1 });
  });

  test('primitive env values are part of the key: equal values share, different ones (0 and -0 too) do not', async () => {
    const runtime = fakeRuntime();
    const compileWith = async (k: unknown) => (await compileFunction(wire(capture({ k }, fromSource('() => k'))), runtime)) as () => unknown;
    const values: unknown[] = [0, -0, NaN, 1, '1', true, false, null, undefined, 10n, 's', ''];
    const first = await Promise.all(values.map(compileWith));
    const again = await Promise.all(values.map(compileWith));
    for (let i = 0; i < values.length; i++) {
      expect(again[i]).toBe(first[i]);
      expect(Object.is(first[i]!(), values[i])).toBe(true);
      for (let j = 0; j < i; j++) expect(first[j]).not.toBe(first[i]);
    }
  });

  test('an object env value gets a fresh copy per compile: what one task changes, the next does not see', async () => {
    const runtime = fakeRuntime();
    const seen = { n: 0 };
    const counting = capture({ seen }, fromSource('(x) => { seen.n += 1; return seen.n + x; }'));
    const f = (await compileFunction(wire(counting), runtime)) as (x: number) => number;
    const g = (await compileFunction(wire(counting), runtime)) as (x: number) => number;
    expect(g).not.toBe(f);
    expect([f(0), f(0), g(0)]).toEqual([1, 2, 1]);
    expect(sharedFunctionStats().reused).toBe(0);
  });

  test('a helper with an object env keeps its caller per compile; a helper of primitives is shared with it', async () => {
    const runtime = fakeRuntime();
    const state = [0];
    const bump = capture({ state }, fromSource('() => ++state[0]'));
    const user = capture({ bump }, fromSource('(x) => bump() + x'));
    const f = (await compileFunction(wire(user), runtime)) as (x: number) => number;
    const g = (await compileFunction(wire(user), runtime)) as (x: number) => number;
    expect(g).not.toBe(f);
    expect([f(0), f(0), g(0)]).toEqual([1, 2, 1]);

    const half = capture({ d: 2 }, fromSource('(x) => x / d'));
    const user2 = capture({ half }, fromSource('(x) => half(x) + 1'));
    const h = await compileFunction(wire(user2), runtime);
    expect(await compileFunction(wire(user2), runtime)).toBe(h);
  });

  test('broadcasts and accumulators are bound per compile, from that compile runtime', async () => {
    const acc1 = { id: 'task 1' };
    const acc2 = { id: 'task 2' };
    const fn: ShippedFunction = {
      src: '() => [b.value, acc.id]',
      env: { b: { t: 'broadcast', id: 1 }, acc: { t: 'accumulator', id: 4 } },
      name: 'f',
    };
    const f = (await compileFunction(fn, fakeRuntime({ 1: 'one' }, { 4: acc1 }))) as () => unknown[];
    const g = (await compileFunction(fn, fakeRuntime({ 1: 'uno' }, { 4: acc2 }))) as () => unknown[];
    expect(g).not.toBe(f);
    expect(f()).toEqual(['one', 'task 1']);
    expect(g()).toEqual(['uno', 'task 2']);
    expect(sharedFunctionStats().reused).toBe(0);
  });

  test('a named function that uses its own name (it could keep state on itself) is compiled per task', async () => {
    const runtime = fakeRuntime();
    const src = 'function counter(x) { counter.calls = (counter.calls || 0) + 1; return counter.calls + x; }';
    const f = (await compileFunction(wire(fromSource(src)), runtime)) as (x: number) => number;
    const g = (await compileFunction(wire(fromSource(src)), runtime)) as (x: number) => number;
    expect(g).not.toBe(f);
    expect([f(0), f(0), g(0)]).toEqual([1, 2, 1]);
    // A named function that does not use its name is shared.
    const named = 'function plain(x) { return x + 1; }';
    expect(await compileFunction(wire(fromSource(named)), runtime)).toBe(await compileFunction(wire(fromSource(named)), runtime));
  });

  test('a self-recursive helper bound by its env name is compiled per task', async () => {
    const runtime = fakeRuntime();
    const fact = fromSource<(n: number) => number>('(n) => (n <= 1 ? 1 : n * fact(n - 1))');
    const user = capture({ fact }, fromSource('(x) => fact(x)'));
    const shipped = wire(user);
    expect(shipped.env.fact).toMatchObject({ t: 'fn' });
    const f = (await compileFunction(shipped, runtime)) as (x: number) => number;
    const g = (await compileFunction(structuredClone(shipped), runtime)) as (x: number) => number;
    expect(f(5)).toBe(120);
    expect(g).not.toBe(f);
  });

  test('sharing off: every compile builds its own function', async () => {
    setFunctionSharing(false);
    const runtime = fakeRuntime();
    const a = await compileFunction(wire(fromSource('(x) => x')), runtime);
    expect(await compileFunction(wire(fromSource('(x) => x')), runtime)).not.toBe(a);
    expect(sharedFunctionStats()).toEqual({ size: 0, reused: 0 });
  });
});

/** A random env value of every kind a capture can hold as data: primitives (shared) and objects (copied). */
const envValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, NaN, Infinity),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -100n, max: 100n }),
  fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }),
  fc.record({ n: fc.integer({ min: -5, max: 5 }) }),
);

describe('property: results with and without sharing are identical', () => {
  afterEach(() => setFunctionSharing(true));

  test('over random env values of every kind, a function that reads (and may change) them', async () => {
    // The function reports what it sees and changes an object it captured, so a shared copy would show.
    const src = `(x) => {
      const seen = [typeof v, typeof v === 'bigint' ? String(v) : v, x];
      if (typeof v === 'object' && v !== null) { if (Array.isArray(v)) v.push(x); else v.n += x; }
      return seen.concat(typeof w === 'bigint' ? String(w) : [w]);
    }`;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(envValue, envValue), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 3 }),
        async (envs, calls) => {
          const run = async (sharing: boolean): Promise<string> => {
            clearCompileCache();
            setFunctionSharing(sharing);
            const out: unknown[] = [];
            // The same envs twice: the second round meets whatever the first left behind.
            for (const round of [0, 1]) {
              for (const [v, w] of envs) {
                const f = (await compileFunction(wire(capture({ v, w }, fromSource(src))), fakeRuntime())) as (x: number) => unknown;
                for (let c = 0; c < calls; c++) out.push(round, f(c + 1));
              }
            }
            return JSON.stringify(out, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : Object.is(x, -0) ? '-0' : x));
          };
          const shared = await run(true);
          const unshared = await run(false);
          expect(shared).toBe(unshared);
        },
      ),
      { numRuns: 100 },
    );
  });
});
