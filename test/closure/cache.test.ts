import fc from 'fast-check';
import { beforeEach, describe, expect, test } from 'vitest';
import { capture, ClosureError, clearCompileCache, compileCacheStats, compileFunction, shipFunction } from '../../src/closure/index.js';
import { fakeRuntime, fromSource } from './helpers.js';

describe('compile cache', () => {
  beforeEach(() => clearCompileCache());

  test('the factory is built once per source; env values still change per compile', async () => {
    const runtime = fakeRuntime();
    const outputs: number[] = [];
    for (let weight = 1; weight <= 5; weight++) {
      const wire = structuredClone(
        shipFunction(
          capture({ weight }, (x: number) => x * weight),
          'map',
        ),
      );
      outputs.push(((await compileFunction(wire, runtime)) as (x: number) => number)(2));
    }
    expect(outputs).toEqual([2, 4, 6, 8, 10]);
    expect(compileCacheStats()).toEqual({ size: 1, builds: 1, hits: 4 });
  });

  test('helpers are cached too, and different env names make different factories', async () => {
    const runtime = fakeRuntime();
    const square = (x: number) => x * x;
    const wire = shipFunction(
      capture({ square }, (x: number) => square(x)),
      'map',
    );
    await compileFunction(wire, runtime);
    await compileFunction(wire, runtime);
    expect(compileCacheStats()).toMatchObject({ builds: 2, hits: 2 });
    const a = 1;
    const b = 1;
    await compileFunction(shipFunction(capture({ a }, fromSource('() => 1')), 'x'), runtime);
    await compileFunction(shipFunction(capture({ b }, fromSource('() => 1')), 'x'), runtime);
    // Unused env entries are not shipped, so both share the parameterless factory.
    expect(compileCacheStats()).toMatchObject({ builds: 3, hits: 3 });
  });

  test('shipping is cached per function object and per source text', () => {
    const fns = Array.from({ length: 3 }, () => fromSource('(x) => x + 1'));
    const start = performance.now();
    for (let i = 0; i < 2000; i++) shipFunction(fns[i % 3]!, 'map');
    // Parsing 2000 times would take far longer than this; the cache makes it a lookup.
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

type Expr = { k: 'num'; v: number } | { k: 'var'; name: string } | { k: 'op'; op: string; l: Expr; r: Expr };

const NAMES = ['a', 'b', 'c', 'd'] as const;

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -20, max: 20 }).map((v): Expr => ({ k: 'num', v })),
    fc.constantFrom(...NAMES).map((name): Expr => ({ k: 'var', name })),
    fc.record({ k: fc.constant('op' as const), op: fc.constantFrom('+', '-', '*', '%'), l: tie('e'), r: tie('e') }),
  ),
})).e;

function render(e: Expr): string {
  switch (e.k) {
    case 'num':
      return `(${e.v})`;
    case 'var':
      return e.name;
    case 'op':
      return `(${render(e.l)} ${e.op} ${render(e.r)})`;
  }
}

function freeNames(e: Expr, into = new Set<string>()): Set<string> {
  if (e.k === 'var') into.add(e.name);
  if (e.k === 'op') {
    freeNames(e.l, into);
    freeNames(e.r, into);
  }
  return into;
}

describe('property: arithmetic over declared names', () => {
  const values = fc
    .record({ a: fc.integer(), b: fc.double(), c: fc.integer({ min: -3, max: 3 }), d: fc.bigInt() })
    .map(({ a, b, c, d }) => ({ a, b, c, d: Number(d % 1000n) }));

  test('round-trips to the same result as evaluating on the driver', async () => {
    await fc.assert(
      fc.asyncProperty(exprArb, values, async (expr, env) => {
        const body = render(expr);
        const direct = new Function(...NAMES, `return (x) => ${body} + x`)(env.a, env.b, env.c, env.d) as (x: number) => number;
        const fn = capture(env, direct);
        const wire = structuredClone(shipFunction(fn, 'map'));
        expect(Object.keys(wire.env).sort()).toEqual([...freeNames(expr)].sort());
        const compiled = (await compileFunction(wire, fakeRuntime())) as (x: number) => number;
        expect(compiled(7)).toStrictEqual(direct(7));
      }),
      { numRuns: 150 },
    );
  });

  test('leaving any used name out of the env names it in the error', () => {
    fc.assert(
      fc.property(exprArb, fc.constantFrom(...NAMES), (expr, missing) => {
        fc.pre(freeNames(expr).has(missing));
        const env: Record<string, number> = { a: 1, b: 2, c: 3, d: 4 };
        delete env[missing];
        const fn = capture(env, fromSource(`(x) => ${render(expr)} + x`));
        expect(() => shipFunction(fn, 'map')).toThrow(ClosureError);
        expect(() => shipFunction(fn, 'map')).toThrow(`uses '${missing}'`);
      }),
      { numRuns: 100 },
    );
  });
});
