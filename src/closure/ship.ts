import { analyzeFunction, type FunctionAnalysis } from './analyze.js';
import { capturedInfo, isShippable, kShip, ModuleRef, type WireShippable } from './capture.js';
import { findUnclonable } from './clonable.js';
import { ClosureError } from './errors.js';
import { safeBuiltinExpression } from './builtins.js';
import { ALLOWED_GLOBALS, NAME_HELPER, VITE_IMPORT_PATTERN } from './globals.js';
import { closureHolds, shadowedNames } from './scopes.js';

/**
 * How one env entry travels to workers.
 *
 * @example
 * ```ts
 * import type { WireEnvValue } from './index.js';
 * const entries: WireEnvValue[] = [
 *   { t: 'value', v: 3 },
 *   { t: 'broadcast', id: 1 },
 *   { t: 'module', specifier: 'node:zlib', cwd: process.cwd() },
 * ];
 * ```
 */
export type WireEnvValue =
  | { t: 'value'; v: unknown }
  | { t: 'fn'; fn: ShippedFunction }
  | WireShippable
  | { t: 'module'; specifier: string; cwd: string };

/**
 * A function as it travels to workers: structured-clonable, compiled there by
 * {@link compileFunction}. `src` is an expression that evaluates to the function (usually its
 * own source text; method shorthand and self-recursive helpers are wrapped), and `env` holds
 * only the env entries the source mentions.
 *
 * @example
 * ```ts
 * import { capture, shipFunction } from './index.js';
 * const factor = 3;
 * const shipped = shipFunction(capture({ factor }, (x: number) => x * factor), 'map function');
 * shipped.env; // { factor: { t: 'value', v: 3 } }
 * ```
 */
export interface ShippedFunction {
  readonly src: string;
  readonly env: Readonly<Record<string, WireEnvValue>>;
  readonly name: string;
  /**
   * Set when no code but the engine can ever hold the compiled function: it captures nothing, and it cannot reach
   * itself (an arrow, or a function expression that does not use its own name). A worker then compiles one function
   * object per source and gives it to every stage: each stage's call sites see the same callee, so V8's optimized
   * code stays valid from one stage to the next (a new object per stage deoptimized every call site inlining it,
   * "wrong call target", and recompiled them: docs/benchmarks.md, session 22).
   */
  readonly shared?: true;
}

/**
 * Calls `visit` with each env entry of every shipped function found in `wire` (any structure holding them: an RDD's
 * wire, a result function, an aggregator), helpers' envs included; a helper function's own entry (`t: 'fn'`) is
 * descended into, not visited. The driver reads what a stage's functions capture this way (broadcasts and
 * accumulators to ship, values that make a task large).
 *
 * @example
 * ```ts
 * eachCapturedEntry(rddWires, (name, entry) => {
 *   if (entry.t === 'broadcast') broadcastIds.add(entry.id);
 * });
 * ```
 */
export function eachCapturedEntry(wire: unknown, visit: (name: string, entry: WireEnvValue) => void): void {
  const stack: unknown[] = [wire];
  // The wire holds user data beside the functions (fold's or aggregateByKey's zero value), which may refer to itself:
  // without the set, a zero with `z.self = z` looped here for ever, on the driver's thread.
  const seen = new Set<object>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      continue;
    }
    const fn = v as Partial<ShippedFunction>;
    if (typeof fn.src === 'string' && fn.env !== undefined && typeof fn.env === 'object') {
      for (const [name, entry] of Object.entries(fn.env)) {
        if (entry.t === 'fn') stack.push(entry.fn);
        else visit(name, entry);
      }
      continue;
    }
    for (const x of Object.values(v)) if (x !== null && typeof x === 'object') stack.push(x);
  }
}

// Env graphs cannot be cyclic (capture copies its env before the result exists), so this only
// guards against pathological nesting.
const MAX_DEPTH = 64;

/**
 * Driver side: checks `fn` (plain or `capture()`d) and describes it for workers. Every free
 * identifier must be declared in its env, be a standard global, or be esbuild's `__name`;
 * helper functions in the env are shipped recursively. Throws {@link ClosureError}, labelling
 * the function with `what`.
 *
 * @example
 * ```ts
 * import { capture, shipFunction } from './index.js';
 * const factor = 3;
 * const wire = shipFunction(capture({ factor }, (x: number) => x * factor), 'map function of RDD 3 (words)');
 * worker.postMessage(wire);
 * ```
 */
export function shipFunction(fn: Function, what: string, options: ShipOptions = {}): ShippedFunction {
  return shipNested(fn, what, undefined, 0, options);
}

/** How a function may be shipped. */
export interface ShipOptions {
  /**
   * The operation awaits what the function returns (`mapAsync`, `foreachPartition`), so it may be `async`, and so
   * may the helpers it captures.
   */
  readonly allowAsync?: boolean;
}

function shipNested(fn: Function, what: string, selfKey: string | undefined, depth: number, options: ShipOptions): ShippedFunction {
  if (typeof fn !== 'function') {
    throw new ClosureError(what, `${what} must be a function, got ${fn === null ? 'null' : typeof fn}`);
  }
  if (depth > MAX_DEPTH) {
    throw new ClosureError(what, `${what} nests helper functions more than ${MAX_DEPTH} levels deep`);
  }
  const captured = capturedInfo(fn);
  const target = captured?.fn ?? fn;
  const env = captured?.env ?? {};
  const builtin = captured === undefined ? safeBuiltinExpression(target) : undefined;
  if (builtin !== undefined) return { src: builtin, env: {}, name: target.name, shared: true };
  const analysis = analyzeFunction(target, what, options);
  const used: string[] = [];
  const undeclared: string[] = [];
  /** Names the function uses for an env entry of another name (the entry's key), see renamedCapture. */
  const renamed = new Map<string, string>();
  let selfReference = false;
  for (const [name, written] of analysis.free) {
    const original = Object.hasOwn(env, name) ? undefined : renamedCapture(target, name, env);
    if (original !== undefined) renamed.set(name, original);
    const declared = Object.hasOwn(env, name) || original !== undefined;
    const self = !declared && name === selfKey;
    if (!declared && !self && !ALLOWED_GLOBALS.has(name)) {
      undeclared.push(name);
      continue;
    }
    if (written) throw writeError(what, name, declared || self);
    if (declared) used.push(name);
    else if (self) selfReference = true;
  }
  if (undeclared.length > 0) {
    const error = undeclaredError(what, undeclared, Object.keys(env), analysis, target.name);
    // A plain helper with names of its own is often a module's function (capture({ join }) of node:path's join
    // listed 'validateString', 'posix' and 'ArrayPrototypeJoin'): the module is what travels.
    if (selfKey !== undefined && captured === undefined) {
      error.message +=
        `. (If '${selfKey}' is imported from a module, capture the module instead and call the function through it: ` +
        `capture({ mod: useModule('the-module') }, ...) with mod.${selfKey}(...))`;
    }
    throw error;
  }
  const globals = [...analysis.free.keys()].filter(
    (name) => !Object.hasOwn(env, name) && !renamed.has(name) && name !== selfKey && name !== NAME_HELPER,
  );
  const shadowed = shadowedNames(target, globals);
  if (shadowed.length > 0) throw shadowedError(what, shadowed[0]!);

  const wireEnv: Record<string, WireEnvValue> = {};
  for (const key of used) {
    if (key === 'arguments' || key === 'eval') {
      throw new ClosureError(what, `${what} declares '${key}' in its env, which strict-mode code cannot bind; rename it`, key);
    }
    wireEnv[key] = wireValue(key, env[renamed.get(key) ?? key], what, depth, options);
  }
  // A helper that calls itself through the env name it was declared under (an arrow assigned
  // to a const) needs that name bound to itself in the worker too.
  const src = selfReference && selfKey !== undefined ? `(() => { const ${selfKey} = (${analysis.expr}\n); return ${selfKey}; })()` : analysis.expr;
  const shipped = { src, env: wireEnv, name: target.name };
  return used.length === 0 && !selfReference && !analysis.selfReachable ? { ...shipped, shared: true } : shipped;
}

/**
 * The env key a free name stands for when esbuild (tsx) renamed it: a variable that shadows a global (`const URL`) is
 * renamed in the function's source (`URL2`) but not in a shorthand key (`capture({ URL })` becomes `{ URL: URL2 }`).
 * Only where the variable around the function holds the env entry's value itself, so an unrelated `URL2` is never
 * taken for it.
 */
function renamedCapture(fn: Function, name: string, env: Readonly<Record<string, unknown>>): string | undefined {
  const original = shadowedGlobal(name);
  if (original === undefined || !Object.hasOwn(env, original)) return undefined;
  return closureHolds(fn, name, env[original]) ? original : undefined;
}

function wireValue(key: string, value: unknown, what: string, depth: number, options: ShipOptions): WireEnvValue {
  if (isShippable(value)) return value[kShip]();
  if (value instanceof ModuleRef) return { t: 'module', specifier: value.specifier, cwd: value.cwd };
  if (typeof value === 'function') {
    return { t: 'fn', fn: shipNested(value, `helper '${key}' of ${what}`, key, depth + 1, options) };
  }
  const problem = findUnclonable(value, key);
  if (problem) {
    const subject = problem.path === key ? 'it' : problem.path;
    throw new ClosureError(
      what,
      `${what} captures '${key}', which cannot be sent to worker threads: ${subject} ` +
        `is ${problem.reason}. Capture plain data instead (numbers, strings, arrays, plain objects, Map, Set, ` +
        'typed arrays, Date), or a broadcast variable.',
      key,
    );
  }
  return { t: 'value', v: value };
}

function shadowedError(what: string, name: string): ClosureError {
  return new ClosureError(
    what,
    `${what} uses '${name}', which here is not the global '${name}' but a variable of the code around the function ` +
      `with a different value. In worker threads the name would mean the global, so the function would compute ` +
      'something else. Rename the variable, then declare it in capture() like any other value the function uses',
    name,
  );
}

function writeError(what: string, name: string, declared: boolean): ClosureError {
  const why = declared
    ? `each worker gets its own copy of '${name}', so the change would never reach the driver or other tasks. ` +
      'Use an accumulator to collect results, or a local variable for scratch state'
    : `'${name}' is a global, and workers share theirs between tasks. Use a local variable instead`;
  return new ClosureError(what, `${what} assigns to '${name}': ${why}.`, name);
}

function undeclaredError(
  what: string,
  names: readonly string[],
  declared: readonly string[],
  analysis: FunctionAnalysis,
  fnName: string,
): ClosureError {
  const quoted = names.map((n) => `'${n}'`);
  const list = quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)!}`;
  // An arrow (or a function with only an inferred name) calling the variable it is assigned to: that variable does not
  // exist yet where capture() would be written, so suggest a form that names itself instead. (A function that names
  // itself never lists its own name as free.)
  const itself = names.find((n) => n === fnName && n !== '');
  // Strict code cannot bind these two, so a capture naming them would only be refused in turn.
  const capturable = names.filter((n) => n !== 'arguments' && n !== 'eval' && n !== itself);
  const toCapture = [...declared, ...capturable];
  const suggestion = toCapture.length > 0 ? `: capture({ ${toCapture.join(', ')} }, ${signature(analysis, fnName)})` : '';
  let message =
    `${what} uses ${list}, which ${names.length === 1 ? 'is' : 'are'} not declared. Functions run in ` +
    `worker threads and see only their arguments, globals and what you declare${suggestion}`;
  const vite = names.find((n) => VITE_IMPORT_PATTERN.test(n));
  if (vite !== undefined) {
    message +=
      `. ('${vite}' is how Vite/vitest renames an imported binding inside the function: imported ` +
      "bindings must be declared too; use capture({ zlib: useModule('node:zlib') }, ...) for modules, and copy " +
      'imported values or functions into a local const, then capture that)';
  }
  if (names.includes('arguments')) {
    message += ". ('arguments' of an arrow function belongs to the code around it: use rest parameters, (...args) => ...)";
  }
  if (names.includes('eval')) {
    message +=
      ". ('eval' cannot be declared: strict code cannot bind it, and the driver cannot check the code it would run " +
      'for undeclared names. Parse data with JSON.parse, or ship the code as a function)';
  }
  const renamed = names.find((n) => shadowedGlobal(n) !== undefined);
  if (renamed !== undefined) {
    const original = shadowedGlobal(renamed)!;
    message +=
      `. ('${renamed}' is how esbuild/tsx renames a variable '${original}' that shadows the global of that name: ` +
      `capture it under the name the function uses, capture({ ${original} }, ...), or rename the variable)`;
  }
  if (itself !== undefined) {
    message +=
      `. ('${itself}' is the variable this function is assigned to, which it calls: a function that calls itself must ` +
      `carry its own name, function ${itself}${analysis.params.startsWith('(') ? analysis.params : `(${analysis.params})`} { ... return ${itself}(...); })`;
  }
  if (names.includes('require')) {
    message += ". (Workers have no 'require': declare modules with useModule('name'))";
  }
  return new ClosureError(what, message, names[0]);
}

/** esbuild appends a number to a top-level or block variable whose name a global already has (`Math` becomes `Math2`). */
const ESBUILD_RENAMED = /^([A-Za-z_$][\w$]*?)\d+$/;

function shadowedGlobal(name: string): string | undefined {
  const original = ESBUILD_RENAMED.exec(name)?.[1];
  return original !== undefined && ALLOWED_GLOBALS.has(original) ? original : undefined;
}

function signature(analysis: FunctionAnalysis, fnName: string): string {
  const params = analysis.params.startsWith('(') ? analysis.params : `(${analysis.params})`;
  switch (analysis.kind) {
    case 'arrow':
      return `${analysis.params} => ...`;
    case 'generator':
      return `function* ${fnName}${params} { ... }`;
    default:
      return `function ${fnName}${params} { ... }`;
  }
}
