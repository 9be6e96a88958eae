import { NAME_HELPER } from './globals.js';
import { unboxDeep, unboxEach } from '../util/unbox.js';
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
/** A source compiled once per worker, and the one function object of a shared function (ShippedFunction.shared). */
interface Entry {
  readonly factory: Factory;
  shared?: Function;
}

/** A compiled user function, called with whatever its operation passes. */
export type Fn = (...args: unknown[]) => unknown;
/** Compiles a shipped function in a worker (against one task's runtime). */
export type Compile = (f: ShippedFunction) => Promise<Fn>;

const MAX_FACTORIES = 1000;
const factories = new Map<string, Entry>();
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

/** Compatible with esbuild's helper: keeps `fn.name` stable under minification. */
function nameShim(target: unknown, value: string): unknown {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

/**
 * Worker side: compiles a shipped function against this task's runtime. The source is compiled
 * into a factory once per worker (cached by env names and source, least recently used evicted);
 * each call only applies the factory to the current env values, which may change between jobs. A function that
 * captures nothing and cannot reach itself (`fn.shared`) is one object per worker and source: every call returns it.
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
  if (fn.shared === true && names.length === 0) {
    const entry = factoryFor([NAME_HELPER], fn.src);
    return (entry.shared ??= evaluated(entry.factory(nameShim), fn));
  }
  unboxCaptured(names.map((name) => fn.env[name]!));
  const values = await Promise.all(names.map((name) => materialize(fn.env[name]!, runtime)));
  const withShim = !names.includes(NAME_HELPER);
  const { factory } = factoryFor(withShim ? [NAME_HELPER, ...names] : names, fn.src);
  return evaluated(withShim ? factory(nameShim, ...values) : factory(...values), fn);
}

function evaluated(compiled: unknown, fn: ShippedFunction): Function {
  if (typeof compiled !== 'function') {
    // internal: the driver parsed this source as a function expression before shipping it
    throw new TypeError(`shipped source for '${fn.name}' did not evaluate to a function`);
  }
  return compiled;
}

function factoryFor(params: readonly string[], src: string): Entry {
  const key = `${params.join(',')}\n${src}`;
  let entry = factories.get(key);
  if (entry) {
    hits++;
    factories.delete(key);
  } else {
    misses++;
    // Strict, like the ES module the function most likely came from; the newline keeps a
    // trailing line comment in `src` from swallowing the closing parenthesis.
    // The sourceURL names the function's frames in stack traces, so a failure can point into user code.
    const url = `${URL_PREFIX}${nextUrl++}`;
    entry = { factory: new Function(...params, `"use strict";\nreturn (${src}\n);\n//# sourceURL=${url}`) as Factory };
    sourcesByUrl.set(url, src);
    urlByKey.set(key, url);
  }
  factories.set(key, entry);
  if (factories.size > MAX_FACTORIES) {
    const oldest = factories.keys().next();
    if (!oldest.done) {
      factories.delete(oldest.value);
      const url = urlByKey.get(oldest.value);
      urlByKey.delete(oldest.value);
      if (url !== undefined) sourcesByUrl.delete(url);
    }
  }
  return entry;
}

/**
 * Captured values as the worker's user functions see them: the wire's value with its arrays of numbers unboxed, made
 * once per wire, so that every function compiled from one shipped value (the tasks of a stage on this worker) shares
 * one object, as they shared the wire's.
 */
const unboxed = new WeakMap<object, unknown>();
/**
 * The unboxed copy of each delivered array, for every wire of this worker: two captured variables that held one array
 * on the driver arrive holding one array (the clone keeps sharing within a message), and must keep holding one.
 */
const copiesOfDelivered = new WeakMap<unknown[], number[]>();

/** The captured values of one function not yet unboxed, unboxed as one value (see unboxEach). */
function unboxCaptured(wires: WireEnvValue[]): void {
  const fresh: Array<WireEnvValue & { t: 'value' }> = [];
  for (const w of wires) if (w.t === 'value' && typeof w.v === 'object' && w.v !== null && !unboxed.has(w)) fresh.push(w);
  if (fresh.length === 0) return;
  const values = unboxEach(
    fresh.map((w) => w.v),
    copiesOfDelivered,
  );
  for (let i = 0; i < fresh.length; i++) unboxed.set(fresh[i]!, values[i]);
}

async function materialize(wire: WireEnvValue, runtime: ClosureRuntime): Promise<unknown> {
  switch (wire.t) {
    case 'value': {
      // The value came through a structured clone, which boxes every number of an array: a captured model (k-means'
      // centers, LR's weights) read per record then costs a load more per number (k-means' map +30 %, session 20).
      // The clone is the worker's own, so it may be rebuilt.
      const v = wire.v;
      if (typeof v !== 'object' || v === null) return v;
      if (unboxed.has(wire)) return unboxed.get(wire);
      const u = unboxDeep(v, copiesOfDelivered);
      unboxed.set(wire, u);
      return u;
    }
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
