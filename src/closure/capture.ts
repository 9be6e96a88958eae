import path from 'node:path';
import type { ShippedFunction } from './ship.js';
import { pathToFileURL } from 'node:url';
import { ClosureError } from './errors.js';
import { ArgumentTypeError } from '../core/errors.js';

/**
 * Key of the method through which an env value ships itself (broadcast variables and
 * accumulators). Registered with `Symbol.for` so that two copies of this module (a bundler
 * quirk, or a test runner loading it twice) still recognise each other's objects.
 *
 * @example
 * ```ts
 * import { kShip, type Shippable } from './index.js';
 * const bc: Shippable = { [kShip]: () => ({ t: 'broadcast', id: 7 }) };
 * ```
 */
export const kShip: unique symbol = Symbol.for('kindling.closure.ship') as never;

/**
 * The wire form of an env value that ships itself. Workers look the id up in their runtime. Ids are numbered per
 * context, so `owner` names the context that created the variable: the driver refuses a function whose variables
 * belong to another context (the id alone would find that context's variable with the same number).
 *
 * @example
 * ```ts
 * import type { WireShippable } from './index.js';
 * const wire: WireShippable = { t: 'accumulator', id: 2 };
 * ```
 */
export type WireShippable = { t: 'broadcast'; id: number; owner?: string } | { t: 'accumulator'; id: number; owner?: string };

/**
 * How a task's own copy of an accumulator starts and grows: a sum of numbers, a list of values, or a custom
 * accumulator's `zero` and `add`, shipped to run in the task (Spark's AccumulatorV2: each task adds into its own
 * copy, which goes back with the task's result).
 */
export type AccumulatorKind = 'sum' | 'list' | { readonly custom: { readonly zero: ShippedFunction; readonly add: ShippedFunction } };

/**
 * Something in an env that ships itself instead of being structured-cloned.
 *
 * @example
 * ```ts
 * import { kShip, type Shippable } from './index.js';
 * class Broadcast implements Shippable {
 *   constructor(readonly id: number, readonly value: unknown) {}
 *   [kShip]() { return { t: 'broadcast', id: this.id } as const; }
 * }
 * ```
 */
export interface Shippable {
  [kShip](): WireShippable;
}

/** @internal Narrowing helper shared by the shipper. */
export function isShippable(value: unknown): value is Shippable {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { [kShip]?: unknown })[kShip] === 'function'
  );
}

/**
 * A module a shipped function uses, created by {@link useModule}. On the driver it is only a
 * description; in a worker the env name is bound to the imported module.
 *
 * @example
 * ```ts
 * import { useModule } from './index.js';
 * const ref = useModule('node:zlib');
 * ref.specifier; // 'node:zlib'
 * ```
 */
export class ModuleRef {
  /** What workers import: a bare specifier, a `node:` builtin or a `file:` URL. */
  readonly specifier: string;
  /** The driver's working directory when `useModule` was called, for resolving bare names. */
  readonly cwd: string;

  constructor(specifier: string, cwd: string) {
    this.specifier = specifier;
    this.cwd = cwd;
    Object.freeze(this);
  }

  toString(): string {
    return `useModule(${JSON.stringify(this.specifier)})`;
  }
}

/**
 * Declares a module that a shipped function uses. Put it in the function's env under the name
 * the body uses; in worker threads that name is bound to the module namespace (or, for a
 * CommonJS package whose namespace has only `default`, to `default`). Relative and absolute
 * paths are resolved against the current working directory now, so workers load the same file.
 *
 * The return type is the module's type (give it as `M`, or get `any`) so the function body type-checks; on the
 * driver the value is only a reference ({@link ModuleRef}) and must not be used directly.
 *
 * @example
 * ```ts
 * import { capture, useModule } from 'kindling';
 * const zlib = useModule<typeof import('node:zlib')>('node:zlib');
 * const gzip = capture({ zlib }, (s: string) => zlib.gzipSync(s));
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: an undeclared module type must be usable as any module
export function useModule<M = any>(specifier: string): M {
  if (typeof specifier !== 'string' || specifier === '') {
    throw new ArgumentTypeError('useModule expects a module specifier such as "node:zlib" or "lodash"');
  }
  const cwd = process.cwd();
  const isPath = specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..' || path.isAbsolute(specifier);
  // Workers import from this package's location, not the user's script, so a relative path
  // must be pinned to an absolute URL while we still know the driver's working directory.
  const wire = isPath ? pathToFileURL(path.resolve(cwd, specifier)).href : specifier;
  return new ModuleRef(wire, cwd) as M;
}

interface Captured {
  readonly fn: Function;
  readonly env: Readonly<Record<string, unknown>>;
}

const capturedFunctions = new WeakMap<Function, Captured>();

/** @internal The original function and env behind a `capture()` result, if `fn` is one. */
export function capturedInfo(fn: Function): Captured | undefined {
  return capturedFunctions.get(fn);
}

/**
 * Declares the values a function captures so it can run in worker threads. The result still
 * works when called directly on the driver (it calls `fn`); when shipped, each env entry is
 * sent along: structured-clonable data, helper functions (plain or themselves `capture`d),
 * broadcast variables, accumulators and {@link useModule} references. Only env entries the
 * function actually mentions are sent.
 *
 * @example
 * ```ts
 * import { capture } from './index.js';
 * const factor = 3;
 * const triple = capture({ factor }, (x: number) => x * factor);
 * triple(2); // 6, and rdd.map(triple) ships `factor` to the workers
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: any function signature, whatever its parameter types
export function capture<F extends (...args: any[]) => any>(env: Record<string, unknown>, fn: F): F {
  if (typeof fn !== 'function') {
    throw new ClosureError('capture()', `capture(env, fn) expects a function as its second argument, got ${typeof fn}`);
  }
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    throw new ClosureError(
      'capture()',
      'capture(env, fn) expects an object of named values as its first argument, e.g. capture({ factor }, x => x * factor)',
    );
  }
  const inner = capturedFunctions.get(fn);
  const target = inner ? inner.fn : fn;
  // Copy now so later mutation of the caller's object cannot change what ships (or form cycles).
  const merged = Object.freeze({ ...(inner?.env ?? {}), ...env });
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    return Reflect.apply(target, this, args);
  };
  Object.defineProperty(wrapper, 'name', { value: target.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: target.length, configurable: true });
  capturedFunctions.set(wrapper, { fn: target, env: merged });
  return wrapper as unknown as F;
}
