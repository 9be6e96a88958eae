import * as net from 'node:net';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { capture, ClosureError, kShip, shipFunction, useModule } from '../../src/closure/index.js';
import { fromSource } from './helpers.js';

const WHAT = 'map function of RDD 3 (words)';

function shipError(fn: Function): ClosureError {
  try {
    shipFunction(fn, WHAT);
  } catch (err) {
    expect(err).toBeInstanceOf(ClosureError);
    expect((err as ClosureError).message).toContain(WHAT);
    return err as ClosureError;
  }
  throw new Error('expected shipFunction to throw');
}

describe('undeclared free variables', () => {
  test("a helper that is a module's function (node:path's join) is told to capture the module instead", () => {
    const { join } = path;
    const err = shipError(capture({ join }, (x: string) => join('/r', x)));
    expect(err.message).toMatch(new RegExp(`^helper 'join' of ${WHAT.replace(/[()]/g, '\\$&')} uses .* not declared`));
    expect(err.message).toContain(
      "(If 'join' is imported from a module, capture the module instead and call the function through it: " +
        "capture({ mod: useModule('the-module') }, ...) with mod.join(...))",
    );
    // A helper made with capture() is the program's own: no such hint.
    const [offset, scale] = [1, 2];
    const own = capture({ offset }, (x: number) => (x + offset) * scale);
    expect(shipError(capture({ own }, (x: number) => own(x))).message).not.toContain('imported from a module');
  });

  test('names the identifier, the function and the fix', () => {
    const factor = 3;
    const err = shipError((x: number) => x * factor);
    expect(err.message).toBe(
      `${WHAT} uses 'factor', which is not declared. Functions run in worker threads and ` +
        'see only their arguments, globals and what you declare: capture({ factor }, x => ...)',
    );
    expect(err.identifier).toBe('factor');
    expect(err.what).toBe(WHAT);
  });

  test('lists every missing name and keeps the declared ones in the suggestion', () => {
    const a = 1,
      b = 2,
      c = 3;
    const err = shipError(capture({ a }, (x: number, y: number) => x * a + b + c + y));
    expect(err.message).toContain("uses 'b' and 'c', which are not declared");
    expect(err.message).toContain('capture({ a, b, c }, (x, y) => ...)');
  });

  test('names undeclared variables of helpers, labelled by their env key', () => {
    const offset = 1;
    const shift = (x: number) => x + offset;
    const err = shipError(capture({ shift }, (x: number) => shift(x)));
    expect(err.message).toContain(`helper 'shift' of ${WHAT} uses 'offset'`);
    expect(err.identifier).toBe('offset');
  });

  test('an arrow that calls the variable it is assigned to is told to name itself, not to capture what does not exist yet', () => {
    const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
    const err = shipError(fact);
    expect(err.identifier).toBe('fact');
    expect(err.message).not.toContain('capture({ fact }');
    expect(err.message).toContain("('fact' is the variable this function is assigned to, which it calls");
    expect(err.message).toContain('function fact(n) { ... return fact(...); }');
    // The form suggested ships: a named function reaches itself by its own name.
    expect(() => shipFunction(fromSource('function fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }'), WHAT)).not.toThrow();
  });

  test('globals outside the allow list are rejected, standard ones accepted', () => {
    expect(() => shipFunction((s: string) => JSON.parse(s) ?? Buffer.from(s) ?? new URL(s), WHAT)).not.toThrow();
    const err = shipError(fromSource('() => document.title'));
    expect(err.identifier).toBe('document');
    expect(shipError(fromSource('(s) => eval(s)')).identifier).toBe('eval');
  });

  test('Vite-renamed imports get a hint about declaring imported bindings', () => {
    const err = shipError(fromSource('(s) => __vite_ssr_import_0__.gzipSync(s)'));
    expect(err.identifier).toBe('__vite_ssr_import_0__');
    expect(err.message).toContain('imported bindings must be declared');
    expect(err.message).toContain('useModule');
  });

  test("'arguments' of an arrow and 'require' get hints", () => {
    expect(shipError(fromSource('() => arguments[0]')).message).toContain('rest parameters');
    expect(shipError(fromSource("() => require('fs')")).message).toContain("useModule('name')");
  });

  test('assigning to a captured value or a global is rejected', () => {
    let count = 0;
    const err = shipError(
      capture({ count }, (x: number) => {
        count += x;
      }),
    );
    expect(err.identifier).toBe('count');
    expect(err.message).toContain("assigns to 'count'");
    expect(err.message).toContain('accumulator');
    expect(shipError(fromSource('() => { NaN = 1; }')).message).toContain("assigns to 'NaN'");
  });
});

describe('functions that cannot be shipped', () => {
  test("native functions that cannot be passed as they are suggest a wrapper with the method's own arity", () => {
    // Promise's statics need `this`; a rest-parameter wrapper would forward arguments a built-in may misread.
    const err = shipError(Promise.resolve);
    expect(err.identifier).toBe('Promise.resolve');
    expect(err.message).toContain('native function (Promise.resolve)');
    expect(err.message).toContain('e.g. (x) => Promise.resolve(x)');
    expect(err.message).not.toContain('...');
    const reduceErr = (() => {
      try {
        shipFunction(Promise.all, 'reduce function of an action on RDD 1');
      } catch (e) {
        return e as ClosureError;
      }
      throw new Error('expected shipFunction to throw');
    })();
    expect(reduceErr.message).toContain('e.g. (a, b) => Promise.all(a, b)');
    // Constructors that refuse to be called without `new` are wrapped with `new`.
    expect(shipError(Map).message).toContain('e.g. (x) => new Map(x)');
  });

  test('bound functions', () => {
    const obj = {
      k: 2,
      times(x: number) {
        return x * this.k;
      },
    };
    const err = shipError(obj.times.bind(obj));
    expect(err.identifier).toBe('bound times');
    expect(err.message).toContain('bound function');
  });

  test('classes', () => {
    class Tokenizer {}
    const err = shipError(Tokenizer);
    expect(err.message).toContain('is a class (Tokenizer)');
  });

  test('async functions and async generators say they are not supported', () => {
    expect(shipError(async (x: number) => x).message).toContain('async function, which is not supported');
    expect(
      shipError(async function* (it: number[]) {
        yield* it;
      }).message,
    ).toContain('not supported');
    expect(shipError({ async m() {} }.m).message).toContain('not supported');
  });

  test("'this' in a non-arrow function, and an arrow's outer 'this'", () => {
    const err = shipError(function (this: { k: number }, x: number) {
      return x * this.k;
    });
    expect(err.identifier).toBe('this');
    expect(err.message).toContain("uses 'this'");
    expect(
      shipError(
        {
          m(x: number) {
            return (this as unknown as { k: number }).k + x;
          },
        }.m,
      ).identifier,
    ).toBe('this');
    expect(shipError(fromSource('(x) => this.k + x')).message).toContain("arrow function's 'this'");
    expect(shipError(fromSource('function () { class A { [this.k] = 1 } }')).identifier).toBe('this');
  });

  test('dynamic import points to useModule', () => {
    expect(shipError(fromSource("() => import('node:fs')")).message).toContain('useModule');
  });

  test('proxies have no source either', () => {
    expect(shipError(new Proxy((x: number) => x, {})).message).toContain('native function');
  });

  test('syntax the strict-mode parser cannot read', () => {
    const sloppy = fromSource('function (o) { with (o) { return a; } }');
    const err = shipError(sloppy);
    expect(err.message).toContain('strict mode');
    expect(err.message).toContain('line 1');
    const sloppyMethod = fromSource('{ m(o) { with (o) { return a; } } }').m;
    expect(shipError(sloppyMethod).message).toContain('strict mode');
  });

  test('non-functions', () => {
    expect(() => shipFunction(42 as unknown as Function, WHAT)).toThrow(/must be a function/);
    expect(() => capture({}, 'x' as never)).toThrow(ClosureError);
  });
});

describe('env values that cannot be cloned', () => {
  test('a socket, naming the env key', () => {
    const sock = new net.Socket();
    const err = shipError(capture({ sock }, () => sock.remotePort));
    expect(err.identifier).toBe('sock');
    expect(err.message).toContain("captures 'sock', which cannot be sent to worker threads");
    expect(err.message).toContain('instance of Socket');
  });

  test('a class instance with methods, also deep inside plain data', () => {
    class Model {
      constructor(readonly w: number) {}
      predict(x: number) {
        return x * this.w;
      }
    }
    const model = new Model(2);
    expect(shipError(capture({ model }, (x: number) => model.predict(x))).message).toContain('instance of Model');
    const config = { models: [{ m: new Model(1) }] };
    const err = shipError(capture({ config }, () => config.models.length));
    expect(err.identifier).toBe('config');
    expect(err.message).toContain('config.models[0].m is an instance of Model');
  });

  test('data-only class instances, errors and cycles are fine', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const data: Record<string, unknown> = { p: new Point(1, 2), e: new RangeError('x') };
    data['self'] = data;
    expect(() =>
      shipFunction(
        capture({ data }, () => data),
        WHAT,
      ),
    ).not.toThrow();
  });

  test('symbols, WeakMaps, promises and functions nested in data', () => {
    const tag = Symbol('t');
    expect(shipError(capture({ tag }, () => tag)).message).toContain('a symbol');
    const cache = new WeakMap();
    expect(shipError(capture({ cache }, () => cache)).message).toContain('WeakMap');
    const pending = Promise.resolve(1);
    expect(shipError(capture({ pending }, () => pending)).message).toContain('Promise');
    const fns = { f: (x: number) => x };
    expect(shipError(capture({ fns }, () => fns.f(1))).message).toContain('declare it as its own env entry');
    const nested = { bc: { [kShip]: () => ({ t: 'broadcast', id: 1 }) as const }, zlib: useModule('node:zlib') };
    expect(shipError(capture({ nested }, () => nested)).message).toContain('declare it as its own env entry');
  });

  test('env keys strict code cannot bind', () => {
    expect(shipError(capture({ arguments: 1 }, fromSource('() => arguments'))).identifier).toBe('arguments');
  });
});

describe('very large env values', () => {
  test('a function past what the value-by-value check looks at is still refused at the call, naming the env key', () => {
    // 300,000 records: more than the per-value walk visits, so only the trial clone can find the last one's function.
    const rows: Array<Record<string, unknown>> = Array.from({ length: 300_000 }, (_, i) => ({ i }));
    rows[rows.length - 1] = { i: -1, f: () => 1 };
    const err = shipError(capture({ rows }, () => rows.length));
    expect(err.identifier).toBe('rows');
    expect(err.message).toContain("captures 'rows', which cannot be sent to worker threads: it is refused by the structured clone");
    expect(err.message).toContain('could not be cloned');
  }, 60_000);

  test('a large value that clones is accepted', () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => ({ i }));
    expect(() =>
      shipFunction(
        capture({ rows }, () => rows.length),
        WHAT,
      ),
    ).not.toThrow();
  }, 60_000);
});

describe('hints for names that cannot simply be captured', () => {
  test("the suggested capture leaves out 'arguments' and 'eval', which strict code cannot bind", () => {
    const err = shipError(fromSource('(x) => arguments.length + x'));
    expect(err.message).not.toContain('capture(');
    expect(err.message).toContain('rest parameters');
    const both = shipError(capture({ k: 1 }, fromSource('(x) => arguments.length + x + k + j')));
    expect(both.message).toContain('capture({ k, j }, x => ...)');
    const evalErr = shipError(fromSource("(x) => eval('x + 1')"));
    expect(evalErr.identifier).toBe('eval');
    expect(evalErr.message).not.toContain('capture({ eval }');
    expect(evalErr.message).toContain("'eval' cannot be declared");
  });

  test('a global shadowed by a variable that esbuild/tsx renamed (Math becomes Math2) is explained', () => {
    const err = shipError(fromSource('(x) => Math2.max(x, 0)'));
    expect(err.identifier).toBe('Math2');
    expect(err.message).toContain("'Math2' is how esbuild/tsx renames a variable 'Math' that shadows the global");
    expect(shipError(fromSource('(x) => x1 + x')).message).not.toContain('esbuild/tsx renames');
  });

  test('an anonymous bound function is called one', () => {
    const err = shipError(((a: number, x: number) => a + x).bind(null, 1));
    expect(err.message).toContain('is a bound function (bound anonymous function)');
  });
});
