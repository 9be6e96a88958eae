import { Session } from 'node:inspector';

/**
 * The names among `candidates` that a variable around `fn` declares, so that in `fn` they do not mean the global of
 * that name (`const Math = ...` in the module, then `x => Math.max(x, 0)`). The source text cannot tell: it shows
 * only the function. Worker threads compile that source where the name is the global, so without this check such a
 * function ran with the real Math and returned other results than on the driver, silently. V8 keeps a function's
 * surrounding scopes (closure, block, module) where its debugger protocol can list them, and a same-thread inspector
 * session answers synchronously. Where no inspector is available, nothing is reported (the check is best effort).
 *
 * @example
 * ```ts
 * const Math = { max: () => 42 };
 * shadowedNames((x: number) => Math.max(x, 0), ['Math']); // ['Math']
 * ```
 */
export function shadowedNames(fn: Function, candidates: readonly string[]): string[] {
  if (candidates.length === 0) return [];
  const key = candidates.join(',');
  let byCandidates = checked.get(fn);
  const cached = byCandidates?.get(key);
  if (cached !== undefined) return cached;
  const found = shadowing(fn, candidates);
  if (found === undefined) return [];
  if (byCandidates === undefined) checked.set(fn, (byCandidates = new Map()));
  byCandidates.set(key, found);
  return found;
}

const checked = new WeakMap<Function, Map<string, string[]>>();
const GROUP = 'kindling-closure-scopes';
const HANDLE = Symbol.for('kindling.closure.scopeProbe');
let session: Session | null | undefined;

interface RemoteProperty {
  readonly name: string;
  readonly value?: { readonly objectId?: string; readonly description?: string; readonly value?: unknown; readonly unserializableValue?: string };
}

// An import of the global's own value (`import process from 'node:process'`) means the same thing in a worker.
const SAME_AS_GLOBAL = 'function (v, name) { return Object.is(v, globalThis[name]); }';

function post<T>(method: string, params: object): T {
  let result: T | undefined;
  let failure: Error | null = null;
  session!.post(method, params, (err, res) => {
    failure = err;
    result = res as T;
  });
  if (failure !== null) throw failure;
  // internal: a same-thread session calls back before post returns
  if (result === undefined) throw new Error(`inspector ${method} did not answer synchronously`);
  return result;
}

/**
 * Calls `visit` with each variable of the scopes around `fn` (closure, block, script, module; not the global scope),
 * innermost first, until it returns true. Undefined where no inspector is available or the scopes cannot be read.
 */
function eachSurroundingVariable(fn: Function, visit: (v: RemoteProperty, fnId: string) => boolean): true | undefined {
  if (session === undefined) {
    try {
      session = new Session();
      session.connect();
    } catch {
      session = null;
    }
  }
  if (session === null) return undefined;
  const holder = globalThis as Record<symbol, unknown>;
  holder[HANDLE] = fn;
  try {
    const found = post<{ result: { objectId?: string } }>('Runtime.evaluate', {
      expression: `globalThis[Symbol.for(${JSON.stringify(HANDLE.description)})]`,
      objectGroup: GROUP,
    });
    const fnId = found.result.objectId;
    if (fnId === undefined) return undefined;
    const props = post<{ internalProperties?: RemoteProperty[] }>('Runtime.getProperties', { objectId: fnId, ownProperties: true });
    const scopes = props.internalProperties?.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (scopes === undefined) return undefined;
    for (const scope of post<{ result: RemoteProperty[] }>('Runtime.getProperties', { objectId: scopes, ownProperties: true }).result) {
      // The global scope holds the globals themselves; every other scope (closure, block, script, module) shadows them.
      if (!/^\d+$/.test(scope.name) || scope.value?.objectId === undefined || scope.value.description === 'Global') continue;
      for (const v of post<{ result: RemoteProperty[] }>('Runtime.getProperties', { objectId: scope.value.objectId, ownProperties: true }).result) {
        if (visit(v, fnId)) return true;
      }
    }
    return true;
  } catch {
    return undefined;
  } finally {
    delete holder[HANDLE];
    try {
      post('Runtime.releaseObjectGroup', { objectGroup: GROUP });
    } catch {
      // nothing was kept
    }
  }
}

/** Calls `declaration` (a function source) on the driver with the variable's value and `more`, returning its result. */
function callWith(fnId: string, declaration: string, v: RemoteProperty, more: unknown): unknown {
  const { objectId, value, unserializableValue } = v.value ?? {};
  const answer = post<{ result: { value?: unknown } }>('Runtime.callFunctionOn', {
    objectId: fnId,
    functionDeclaration: declaration,
    arguments: [objectId !== undefined ? { objectId } : unserializableValue !== undefined ? { unserializableValue } : { value }, { value: more }],
    returnByValue: true,
    objectGroup: GROUP,
  });
  return answer.result.value;
}

function shadowing(fn: Function, candidates: readonly string[]): string[] | undefined {
  const wanted = new Set(candidates);
  const shadowed = new Set<string>();
  const read = eachSurroundingVariable(fn, (v, fnId) => {
    // The innermost declaration decides; scopes come innermost first.
    if (!wanted.has(v.name)) return false;
    wanted.delete(v.name);
    if (callWith(fnId, SAME_AS_GLOBAL, v, v.name) !== true) shadowed.add(v.name);
    return wanted.size === 0;
  });
  return read === undefined ? undefined : candidates.filter((n) => shadowed.has(n));
}

const VALUE = Symbol.for('kindling.closure.scopeValue');
const SAME_AS_VALUE = `function (v) { return Object.is(v, globalThis[Symbol.for(${JSON.stringify(VALUE.description)})]); }`;

/**
 * Whether the variable `name` of the code around `fn` holds `value` itself (false where no such variable is found, or
 * its scopes cannot be read). esbuild (tsx) renames a variable that shadows a global (`const URL = ...` becomes
 * `URL2`) in the function too, but not the key of a shorthand property: `capture({ URL }, x => URL + x)` reaches the
 * driver with the env's key `URL` holding `URL2`, and the function reading `URL2`. This tells such a variable from an
 * unrelated one named `URL2`.
 *
 * @example
 * ```ts
 * const URL2 = 'u';
 * closureHolds(() => URL2, 'URL2', 'u'); // true
 * ```
 */
export function closureHolds(fn: Function, name: string, value: unknown): boolean {
  const holder = globalThis as Record<symbol, unknown>;
  holder[VALUE] = value;
  let same = false;
  try {
    eachSurroundingVariable(fn, (v, fnId) => {
      if (v.name !== name) return false;
      same = callWith(fnId, SAME_AS_VALUE, v, undefined) === true;
      return true;
    });
  } finally {
    delete holder[VALUE];
  }
  return same;
}
