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
  Date, RegExp, ArrayBuffer, Boolean, Number, String, BigInt,
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
    if (ArrayBuffer.isView(v) || v instanceof Error || LEAF_TYPES.some((t) => v instanceof t)) continue;
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
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const problem = classProblem(v, proto);
      if (problem) return { path, reason: problem };
    }
    for (const key of Object.keys(v)) {
      stack.push([(v as Record<string, unknown>)[key], `${path}.${key}`]);
    }
  }
  return undefined;
}

function describeKey(k: unknown): string {
  return typeof k === 'string' ? JSON.stringify(k) : typeof k === 'object' && k !== null ? '{...}' : String(k);
}

function classProblem(v: object, proto: unknown): string | undefined {
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'a class';
  if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet ||
      (typeof WeakRef === 'function' && v instanceof WeakRef)) {
    return `a ${name}, which cannot be cloned`;
  }
  for (let p = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const members = Object.getOwnPropertyNames(p).filter((k) => k !== 'constructor');
    if (members.length > 0) {
      return `an instance of ${name}; structured cloning keeps only its own data, so its methods ` +
        `(such as ${members[0]}) would be missing in workers`;
    }
  }
  return undefined;
}
