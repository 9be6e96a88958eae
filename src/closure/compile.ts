import { NAME_HELPER } from './globals.js';
import type { ShippedFunction, WireEnvValue } from './ship.js';

/**
 * Worker side: what a compiled function may need from its worker and task.
 *
 * @example
 * ```ts
 * import { importModuleFrom, type ClosureRuntime } from './index.js';
 * const runtime: ClosureRuntime = {
 *   broadcastValue: (id) => broadcasts.get(id),
 *   accumulator: (id) => taskAccumulators.get(id),
 *   importModule: importModuleFrom,
 * };
 * ```
 */
export interface ClosureRuntime {
  /** The value of broadcast `id`, already delivered to this worker. */
  broadcastValue(id: number): unknown;
  /** The task-local accumulator object for `id`. */
  accumulator(id: number): unknown;
  /** Imports a module declared with `useModule` (see `importModuleFrom` for a default). */
  importModule(specifier: string, cwd: string): Promise<unknown>;
}

type Factory = (...values: unknown[]) => unknown;

/** A compiled user function, called with whatever its operation passes. */
export type Fn = (...args: unknown[]) => unknown;
/** Compiles a shipped function in a worker (against one task's runtime). */
export type Compile = (f: ShippedFunction) => Promise<Fn>;

const MAX_FACTORIES = 1000;
const factories = new Map<string, Factory>();
/** The source of each cached factory by its `sourceURL`, so a stack frame in user code can show that code. */
const sourcesByUrl = new Map<string, string>();
const urlByKey = new Map<string, string>();
let nextUrl = 0;
const URL_PREFIX = 'kindling-fn-';
/** Lines the Function constructor and the factory wrapper put before the first line of `src`. */
const WRAPPER_LINES = 3;
/** `return (` before the first line of `src`. */
const WRAPPER_COLUMNS = 8;
let hits = 0;
let misses = 0;
/** Compiled functions shared by every task of this worker, by {@link sharedKey} (least recently used evicted). */
const MAX_INSTANCES = 1000;
const instances = new Map<string, Function>();
let reused = 0;
let reuseEnabled = true;

/** Compatible with esbuild's helper: keeps `fn.name` stable under minification. */
function nameShim(target: unknown, value: string): unknown {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

/**
 * Worker side: compiles a shipped function against this task's runtime. The source is compiled
 * into a factory once per worker (cached by env names and source, least recently used evicted);
 * each call applies the factory to the current env values, which may change between jobs. A function
 * whose env holds only primitives (or none) is built once per worker and its one object returned to
 * every task and job with the same source and values (see `sharedKey`).
 *
 * @example
 * ```ts
 * import { compileFunction, type ShippedFunction } from './index.js';
 * parentPort.on('message', async ({ fn, rows }: { fn: ShippedFunction; rows: number[] }) => {
 *   const f = (await compileFunction(fn, runtime)) as (x: number) => number;
 *   parentPort.postMessage(rows.map(f));
 * });
 * ```
 */
export async function compileFunction(fn: ShippedFunction, runtime: ClosureRuntime): Promise<Function> {
  const names = Object.keys(fn.env);
  const reuseKey = reuseEnabled ? sharedKey(fn, 0) : undefined;
  if (reuseKey !== undefined) {
    const shared = instances.get(reuseKey);
    // Only while its factory is cached (factoryFor keeps the counters and the least recently used order).
    if (shared !== undefined && factories.has(factoryKey(fn, names))) {
      touchFactories(fn);
      instances.delete(reuseKey);
      instances.set(reuseKey, shared);
      reused++;
      return shared;
    }
  }
  const values = await Promise.all(names.map((name) => materialize(fn.env[name]!, runtime)));
  const withShim = !names.includes(NAME_HELPER);
  const factory = factoryFor(paramsOf(names), fn.src);
  const compiled = withShim ? factory(nameShim, ...values) : factory(...values);
  if (typeof compiled !== 'function') {
    // internal: the driver parsed this source as a function expression before shipping it
    throw new TypeError(`shipped source for '${fn.name}' did not evaluate to a function`);
  }
  if (reuseKey !== undefined) {
    instances.set(reuseKey, compiled);
    if (instances.size > MAX_INSTANCES) {
      const oldest = instances.keys().next();
      if (!oldest.done) instances.delete(oldest.value);
    }
  }
  return compiled;
}

/** Uses the factories of `fn` and its helpers as compiling it would (their place in the cache, the counters). */
function touchFactories(fn: ShippedFunction): void {
  const names = Object.keys(fn.env);
  for (const name of names) {
    const wire = fn.env[name]!;
    if (wire.t === 'fn') touchFactories(wire.fn);
  }
  factoryFor(paramsOf(names), fn.src);
}

function paramsOf(names: readonly string[]): string[] {
  return names.includes(NAME_HELPER) ? [...names] : [NAME_HELPER, ...names];
}

function factoryKey(fn: ShippedFunction, names: readonly string[]): string {
  return `${paramsOf(names).join(',')}\n${fn.src}`;
}

/**
 * The key under which one compiled function object serves every task of this worker, or undefined when each
 * compile must build its own. A function is shared when nothing it can reach differs between tasks or can be
 * changed by one task for the next: every env value a primitive (copied, and a shipped function cannot assign
 * to an env name: the driver refuses it) or a helper that is itself shared. Objects (a task may change its
 * copy), broadcasts, accumulators (one per task) and modules keep the per-compile path, and so does a function
 * that names itself (it could keep state in its own properties). The key holds the source and every value, so
 * equal keys build equal functions. Sharing keeps the engine's call sites of a user function (the combine's
 * merge, a flatMap's step) on one function object across tasks and jobs, as V8's optimized code expects.
 */
function sharedKey(fn: ShippedFunction, depth: number): string | undefined {
  if (depth > MAX_SHARED_DEPTH || namesItself(fn.src)) return undefined;
  const names = Object.keys(fn.env);
  const parts: string[] = [];
  for (const name of names) {
    const wire = fn.env[name]!;
    let part: string | undefined;
    if (wire.t === 'value') part = primitiveKey(wire.v);
    else if (wire.t === 'fn') {
      const inner = sharedKey(wire.fn, depth + 1);
      part = inner === undefined ? undefined : `f${inner}`;
    }
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return JSON.stringify([names, fn.src, parts]);
}

const MAX_SHARED_DEPTH = 8;

/** A primitive's key, telling apart every two values that `Object.is` does (0 and -0 too); undefined for objects. */
function primitiveKey(v: unknown): string | undefined {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? 'n-0' : `n${v}`;
    case 'string':
      return `s${v}`;
    case 'boolean':
      return v ? 'b1' : 'b0';
    case 'bigint':
      return `g${v}`;
    case 'undefined':
      return 'u';
    default:
      return v === null ? 'l' : undefined;
  }
}

/**
 * Whether a function's source refers to the function by its own name: a named function expression that uses its
 * name, or a helper the driver wrapped to bind it to itself (see ship.ts).
 */
function namesItself(src: string): boolean {
  if (src.startsWith('(() => { const ')) return true;
  const m = /^\s*(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*\(/.exec(src);
  if (m === null) return false;
  const name = m[1]!;
  let count = 0;
  for (let i = src.indexOf(name); i >= 0; i = src.indexOf(name, i + name.length)) if (++count > 1) return true;
  return false;
}

function factoryFor(params: readonly string[], src: string): Factory {
  const key = `${params.join(',')}\n${src}`;
  let factory = factories.get(key);
  if (factory) {
    hits++;
    factories.delete(key);
  } else {
    misses++;
    // Strict, like the ES module the function most likely came from; the newline keeps a
    // trailing line comment in `src` from swallowing the closing parenthesis.
    // The sourceURL names the function's frames in stack traces, so a failure can point into user code.
    const url = `${URL_PREFIX}${nextUrl++}`;
    factory = new Function(...params, `"use strict";\nreturn (${src}\n);\n//# sourceURL=${url}`) as Factory;
    sourcesByUrl.set(url, src);
    urlByKey.set(key, url);
  }
  factories.set(key, factory);
  if (factories.size > MAX_FACTORIES) {
    const oldest = factories.keys().next();
    if (!oldest.done) {
      factories.delete(oldest.value);
      const url = urlByKey.get(oldest.value);
      urlByKey.delete(oldest.value);
      if (url !== undefined) sourcesByUrl.delete(url);
    }
  }
  return factory;
}

async function materialize(wire: WireEnvValue, runtime: ClosureRuntime): Promise<unknown> {
  switch (wire.t) {
    case 'value':
      return wire.v;
    case 'fn':
      return compileFunction(wire.fn, runtime);
    case 'broadcast':
      return { value: runtime.broadcastValue(wire.id) };
    case 'accumulator':
      return runtime.accumulator(wire.id);
    case 'module':
      return moduleBinding(await runtime.importModule(wire.specifier, wire.cwd));
  }
}

/** A CommonJS package imported from ESM shows up as `{ default }`; users expect `module.exports`. */
function moduleBinding(ns: unknown): unknown {
  if (typeof ns !== 'object' || ns === null) return ns;
  // Newer Node versions add a 'module.exports' export next to `default` for CommonJS modules.
  const keys = Object.keys(ns).filter((k) => k !== 'module.exports');
  return keys.length === 1 && keys[0] === 'default' ? (ns as { default: unknown }).default : ns;
}

/**
 * Counters of the worker-side factory cache, for tests and diagnostics: `builds` counts
 * factories compiled from source, `hits` the compilations that reused one.
 *
 * @example
 * ```ts
 * import { compileCacheStats } from './index.js';
 * const { builds, hits, size } = compileCacheStats();
 * ```
 */
export function compileCacheStats(): { size: number; builds: number; hits: number } {
  return { size: factories.size, builds: misses, hits };
}

/**
 * How many compilations returned a function object shared with earlier ones (see {@link compileFunction}), and
 * how many such objects are kept.
 *
 * @example
 * ```ts
 * import { sharedFunctionStats } from './index.js';
 * const { reused, size } = sharedFunctionStats();
 * ```
 */
export function sharedFunctionStats(): { size: number; reused: number } {
  return { size: instances.size, reused };
}

/**
 * Turns the sharing of compiled functions between tasks on or off (on by default); off, every compile applies
 * the factory to its env values, as before sharing existed. For tests that compare the two.
 *
 * @example
 * ```ts
 * import { setFunctionSharing } from './index.js';
 * setFunctionSharing(false);
 * ```
 */
export function setFunctionSharing(on: boolean): void {
  reuseEnabled = on;
  if (!on) instances.clear();
}

/**
 * Empties the worker-side factory cache and resets its counters.
 *
 * @example
 * ```ts
 * import { clearCompileCache, compileCacheStats } from './index.js';
 * clearCompileCache();
 * compileCacheStats().builds; // 0
 * ```
 */
export function clearCompileCache(): void {
  factories.clear();
  instances.clear();
  reused = 0;
  sourcesByUrl.clear();
  urlByKey.clear();
  hits = 0;
  misses = 0;
}

/**
 * The innermost frame of `stack` that lies in a shipped function, as the line of that function's source
 * (`line 2 of the function: if (x > 1) throw boom;`), or undefined when no user code is on the stack.
 * Worker stacks otherwise only show the engine's frames and an anonymous `eval`.
 *
 * @example
 * ```ts
 * import { userCodeFrame } from './index.js';
 * try { f(x); } catch (e) { console.log(userCodeFrame((e as Error).stack)); }
 * ```
 */
export function userCodeFrame(stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined;
  const m = new RegExp(`${URL_PREFIX}(\\d+):(\\d+):(\\d+)`).exec(stack);
  if (m === null) return undefined;
  const src = sourcesByUrl.get(`${URL_PREFIX}${m[1]}`);
  const line = Number(m[2]) - WRAPPER_LINES;
  if (src === undefined || line < 1) return undefined;
  const text = src.split('\n')[line - 1];
  if (text === undefined) return undefined;
  const column = Number(m[3]) - (line === 1 ? WRAPPER_COLUMNS : 0);
  const trimmed = text.trim();
  const shown = trimmed.length > 160 ? `${trimmed.slice(0, 157)}...` : trimmed;
  return `line ${line}, column ${column} of the function: ${shown}`;
}
