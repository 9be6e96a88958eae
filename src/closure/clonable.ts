import { isShippable, ModuleRef } from './capture.js';

/** Where inside an env value something uncloneable sits, and what it is. */
export interface Unclonable {
  readonly path: string;
  readonly reason: string;
}

// Beyond this many visited values we stop looking and let postMessage report the rest: the check
// runs on every job submission and must not dominate it for large captured tables.
const VISIT_BUDGET = 200_000;

const LEAF_TYPES: ReadonlyArray<Function> = [
  Date,
  RegExp,
  ArrayBuffer,
  Boolean,
  Number,
  String,
  BigInt,
  ...(typeof SharedArrayBuffer === 'function' ? [SharedArrayBuffer] : []),
  ...(typeof Blob === 'function' ? [Blob] : []),
];

/**
 * Finds the first part of `value` that structured cloning would reject or silently damage:
 * functions and symbols (rejected), and class instances with methods (cloned as plain objects,
 * losing their methods), plus broadcasts, accumulators and modules nested inside other values,
 * which only work as top-level env entries.
 */
export function findUnclonable(value: unknown, root: string): Unclonable | undefined {
  const seen = new Set<object>();
  const stack: Array<[unknown, string]> = [[value, root]];
  let budget = VISIT_BUDGET;
  while (stack.length > 0 && budget-- > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'symbol') return { path, reason: 'a symbol' };
    if (typeof v === 'function' || (typeof v === 'object' && v !== null && isShippable(v)) || v instanceof ModuleRef) {
      const what = typeof v === 'function' && !isShippable(v) ? 'a function' : 'a broadcast, accumulator or module reference';
      return { path, reason: `${what} nested inside another value; declare it as its own env entry` };
    }
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const item: unknown = v[i];
        // Primitives are the bulk of large arrays; skip the stack round trip for them.
        if (typeof item === 'object' || typeof item === 'function' || typeof item === 'symbol') {
          stack.push([item, `${path}[${i}]`]);
        }
      }
      continue;
    }
    if (v instanceof Map) {
      for (const [k, item] of v) {
        stack.push([k, `${path} (a Map key)`], [item, `${path}.get(${describeKey(k)})`]);
      }
      continue;
    }
    if (v instanceof Set) {
      for (const item of v) stack.push([item, `${path} (a Set element)`]);
      continue;
    }
    const proto: object | null = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const kind = kindOf(v, proto);
      if (kind.as === 'data') continue;
      if (kind.as === 'problem') return { path, reason: kind.reason };
    }
    for (const key of Object.keys(v)) {
      stack.push([(v as Record<string, unknown>)[key], `${path}.${key}`]);
    }
  }
  return stack.length > 0 ? cloneProblem(value, root) : undefined;
}

/**
 * The walk ran out of budget with parts of `value` unseen. Without this, a function hidden there (the last of 300,000
 * records) surfaced only when the job's first task was posted: a JobFailedError naming neither the captured variable
 * nor the function. One trial clone, paid only by values this large (postMessage clones them per task anyway), turns
 * that into an error at the call; it cannot see class instances, which the clone accepts.
 */
function cloneProblem(value: unknown, root: string): Unclonable | undefined {
  try {
    structuredClone(value);
    return undefined;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return {
      path: root,
      reason: `refused by the structured clone (${detail}), beyond the first ${VISIT_BUDGET} values checked one by one`,
    };
  }
}

function describeKey(k: unknown): string {
  return typeof k === 'string' ? JSON.stringify(k) : typeof k === 'object' && k !== null ? '{...}' : String(k);
}

/**
 * How the structured clone copies an object that is neither a plain object nor an array: as what it is (the
 * built-ins it knows), as a plain object with the same fields (a class instance without methods, which loses
 * nothing a function could call), or badly (a class instance with methods arrives without them; a Promise or
 * WeakMap is refused).
 */
type Kind =
  | { readonly as: 'data' }
  | { readonly as: 'fields' }
  | { readonly as: 'problem'; readonly reason: string; readonly className: string; readonly member?: string };

// Keyed by prototype: the answer depends only on it, and the element checks ask once per record.
const kinds = new WeakMap<object, Kind>();
const DATA: Kind = { as: 'data' };
const FIELDS: Kind = { as: 'fields' };

function kindOf(v: object, proto: object): Kind {
  let kind = kinds.get(proto);
  if (kind === undefined) {
    kind = classify(v, proto);
    kinds.set(proto, kind);
  }
  return kind;
}

function classify(v: object, proto: object): Kind {
  if (ArrayBuffer.isView(v) || v instanceof Error || v instanceof Map || v instanceof Set || LEAF_TYPES.some((t) => v instanceof t)) {
    return DATA;
  }
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  const className = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'a class';
  if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || (typeof WeakRef === 'function' && v instanceof WeakRef)) {
    return { as: 'problem', reason: `a ${className}, which cannot be cloned`, className };
  }
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const member = Object.getOwnPropertyNames(p).find((k) => k !== 'constructor');
    if (member !== undefined) {
      return {
        as: 'problem',
        reason:
          `an instance of ${className}; structured cloning keeps only its own data, so its methods ` +
          `(such as ${member}) would be missing in workers`,
        className,
        member,
      };
    }
  }
  return FIELDS;
}

const isObject = (item: unknown): boolean => typeof item === 'object' && item !== null;

/** An instance of a class with methods (or an object that cannot be cloned) found in an element. */
export interface ClassInstance {
  /** Where in the element: '' for the element itself, else like `[1].pos`. */
  readonly path: string;
  readonly className: string;
  /** A method or accessor the copy would lack; absent for objects that cannot be cloned at all. */
  readonly member?: string;
}

/**
 * The first instance of a class with methods in data about to cross between threads (parallelize, a shuffle, a
 * result for the driver), which would arrive as a plain object without them. It looks at `x` and `levels` levels
 * into plain arrays and plain objects, never inside a Map or Set. Callers look at an element and its direct
 * items or fields (so a pair's key and value), no deeper: this runs per record on hot paths, where a primitive
 * costs one typeof test and an object one prototype test, but a loop over an object's fields costs about as much
 * as a tenth of cloning it (measured: 0.5-2 us for 20 fields). Deeper instances still arrive without methods.
 */
export function findClassInstance(x: unknown, levels: number): ClassInstance | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const proto = Object.getPrototypeOf(x) as object | null;
  if (proto !== Array.prototype && proto !== Object.prototype && proto !== null) {
    const kind = kindOf(x, proto);
    if (kind.as === 'data') return undefined;
    if (kind.as === 'problem') return { path: '', className: kind.className, ...(kind.member !== undefined ? { member: kind.member } : {}) };
  }
  if (levels === 0) return undefined;
  if (Array.isArray(x)) {
    // Most arrays hold no object (numbers, strings): a builtin finds that, reading the array as it is stored. An
    // element load here sees arrays of every kind, and V8's optimized code for such a load converts each array
    // of unboxed doubles it then reads (a cached point in a result, a partition persisted to disk) to boxed
    // numbers in place. Only arrays holding an object, never of unboxed doubles, reach the loop.
    const start = x.findIndex(isObject);
    if (start < 0) return undefined;
    for (let i = start; i < x.length; i++) {
      const item: unknown = x[i];
      if (typeof item !== 'object' || item === null) continue;
      const found = findClassInstance(item, levels - 1);
      if (found !== undefined) return { ...found, path: `[${i}]${found.path}` };
    }
    return undefined;
  }
  for (const key in x) {
    const item: unknown = (x as Record<string, unknown>)[key];
    if (typeof item !== 'object' || item === null || !Object.hasOwn(x, key)) continue;
    const found = findClassInstance(item, levels - 1);
    if (found !== undefined) return { ...found, path: `.${key}${found.path}` };
  }
  return undefined;
}
