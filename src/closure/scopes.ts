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

function shadowing(fn: Function, candidates: readonly string[]): string[] | undefined {
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
    const props = post<{ internalProperties?: RemoteProperty[] }>('Runtime.getProperties', { objectId: found.result.objectId, ownProperties: true });
    const scopes = props.internalProperties?.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (scopes === undefined) return undefined;
    const wanted = new Set(candidates);
    const shadowed = new Set<string>();
    for (const scope of post<{ result: RemoteProperty[] }>('Runtime.getProperties', { objectId: scopes, ownProperties: true }).result) {
      // The global scope holds the globals themselves; every other scope (closure, block, script, module) shadows them.
      if (!/^\d+$/.test(scope.name) || scope.value?.objectId === undefined || scope.value.description === 'Global') continue;
      for (const v of post<{ result: RemoteProperty[] }>('Runtime.getProperties', { objectId: scope.value.objectId, ownProperties: true }).result) {
        // The innermost declaration decides; scopes come innermost first.
        if (!wanted.has(v.name)) continue;
        wanted.delete(v.name);
        const { objectId, value, unserializableValue } = v.value ?? {};
        const same = post<{ result: { value?: unknown } }>('Runtime.callFunctionOn', {
          objectId: found.result.objectId,
          functionDeclaration: SAME_AS_GLOBAL,
          arguments: [
            objectId !== undefined ? { objectId } : unserializableValue !== undefined ? { unserializableValue } : { value },
            { value: v.name },
          ],
          returnByValue: true,
          objectGroup: GROUP,
        });
        if (same.result.value !== true) shadowed.add(v.name);
      }
    }
    return candidates.filter((n) => shadowed.has(n));
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
