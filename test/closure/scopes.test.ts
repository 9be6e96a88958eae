/**
 * A name that the function's source shows as a global may be a variable of the code around the function
 * (`const Math = ...`). Workers compile the source where the name is the global, so shipping such a function used to
 * compute other results than the same function on the driver, with no error. shadowedNames (closure/scopes.ts) asks
 * V8 for the function's surrounding scopes, and shipFunction refuses the function at the call.
 */
import { describe, expect, test } from 'vitest';
import { capture, ClosureError, compileFunction, shipFunction } from '../../src/closure/index.js';
import { fakeRuntime } from './helpers.js';
import { shadowedNames } from '../../src/closure/scopes.js';

const WHAT = 'map function of RDD 3 (scores)';

describe('globals shadowed by the code around a function', () => {
  test('a block variable named like a global is found, the real global is not', () => {
    const Math = { max: (..._xs: number[]) => 42 };
    const f = (x: number) => Math.max(x, 0) + JSON.stringify(x).length;
    expect(shadowedNames(f, ['Math', 'JSON'])).toEqual(['Math']);
    expect(shadowedNames((x: number) => globalThis.Math.max(x, 0), ['globalThis'])).toEqual([]);
  });

  test('shipFunction refuses it at the call, naming the function and the name', () => {
    const JSON = { stringify: (_x: unknown) => 'driver' };
    let err: unknown;
    try {
      shipFunction((x: number) => JSON.stringify(x), WHAT);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClosureError);
    expect((err as ClosureError).identifier).toBe('JSON');
    expect((err as ClosureError).message).toContain(`${WHAT} uses 'JSON', which here is not the global 'JSON'`);
  });

  test('a variable holding the global itself means the same in a worker and ships', () => {
    const process = globalThis.process;
    expect(() => shipFunction((x: number) => process.pid + x, WHAT)).not.toThrow();
  });

  test('the inner-most declaration decides: a shadowing parameter or local is the function’s own', () => {
    const Math = { max: () => 42 };
    void Math;
    // The function's own `Math` parameter hides the outer one; the analysis sees no free Math at all.
    expect(() =>
      shipFunction(
        capture({}, (x: number, Math = globalThis.Math) => Math.max(x, 0)),
        WHAT,
      ),
    ).not.toThrow();
  });

  test('helpers are checked too', () => {
    const Number = (s: string) => s.length;
    const parse = (s: string) => Number(s);
    expect(() =>
      shipFunction(
        capture({ parse }, (s: string) => parse(s)),
        WHAT,
      ),
    ).toThrow(/helper 'parse' of .* uses 'Number', which here is not the global/);
  });
});

describe('a captured variable that esbuild (tsx) renamed because it shadows a global', () => {
  // In a tsx script that also uses the global, `const URL = 'u'; capture({ URL }, x => URL + x)` reaches the driver
  // as below: the variable and the function's reads renamed URL2, the shorthand key still URL. It used to be refused,
  // "uses 'URL2', which is not declared", advising capture({ URL }), which the script had written.
  test('ships under the name the function reads, with the value of the entry it was captured under', async () => {
    const URL2 = 'https://example.org/';
    const wire = shipFunction(
      capture({ URL: URL2 }, (x: number) => URL2 + x),
      WHAT,
    );
    expect(wire.env).toEqual({ URL2: { t: 'value', v: 'https://example.org/' } });
    const f = (await compileFunction(structuredClone(wire), fakeRuntime())) as (x: number) => string;
    expect(f(1)).toBe('https://example.org/1');
  });

  test('a variable of that name holding another value is still refused', () => {
    const URL2 = 'https://elsewhere.org/';
    let err: unknown;
    try {
      shipFunction(
        capture({ URL: 'https://example.org/' }, (x: number) => URL2 + x),
        WHAT,
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClosureError);
    expect((err as ClosureError).identifier).toBe('URL2');
  });
});
