/**
 * Built-in functions passed directly (`map(Number)`, `reduce(Math.max)`, `map(JSON.parse)`): they have no
 * source to ship, but every worker has the same ones, so they travel as the expression that names them.
 */

/** Global functions that are safe to call plainly, with no `this` and no `new`. */
const SAFE_GLOBALS = [
  'Number',
  'String',
  'Boolean',
  'BigInt',
  'Symbol',
  'parseInt',
  'parseFloat',
  'isNaN',
  'isFinite',
  'encodeURI',
  'encodeURIComponent',
  'decodeURI',
  'decodeURIComponent',
  'escape',
  'unescape',
  'structuredClone',
  'atob',
  'btoa',
] as const;

/**
 * Namespaces whose function members work without their namespace as `this`. `Promise`'s statics are missing on
 * purpose: they need `this` to be a constructor. Node's `console` methods are bound to `console`.
 */
const SAFE_NAMESPACES: ReadonlyArray<readonly [string, object]> = [
  ['Math', Math],
  ['JSON', JSON],
  ['Number', Number],
  ['String', String],
  ['Array', Array],
  ['Object', Object],
  ['Reflect', Reflect],
  ['Date', Date],
  ['BigInt', BigInt],
  ['console', console],
];

/** Constructors that throw without `new`: wrapping them needs `new`. */
const CONSTRUCTORS = new Set<Function>([
  Date,
  Map,
  Set,
  WeakMap,
  WeakSet,
  RegExp,
  Promise,
  Error,
  TypeError,
  RangeError,
  ArrayBuffer,
  DataView,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
]);

let known: Map<Function, string> | undefined;

function knownBuiltins(): Map<Function, string> {
  if (known !== undefined) return known;
  known = new Map();
  for (const name of SAFE_GLOBALS) {
    const f = (globalThis as Record<string, unknown>)[name];
    if (typeof f === 'function') known.set(f, name);
  }
  for (const [prefix, ns] of SAFE_NAMESPACES) {
    for (const key of Object.getOwnPropertyNames(ns)) {
      let f: unknown;
      try {
        f = (ns as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      // Bare global names first: `parseInt` reads better than its alias `Number.parseInt`.
      if (typeof f === 'function' && !known.has(f) && !CONSTRUCTORS.has(f) && /^[A-Za-z_$][\w$]*$/.test(key)) known.set(f, `${prefix}.${key}`);
    }
  }
  return known;
}

/**
 * The expression that names `fn` in any worker (`'Number'`, `'Math.max'`), when `fn` is a built-in that is
 * safe to pass as it is; otherwise undefined.
 *
 * @example
 * ```ts
 * safeBuiltinExpression(JSON.parse); // 'JSON.parse'
 * safeBuiltinExpression(Promise.resolve); // undefined: it needs `this`
 * ```
 */
export function safeBuiltinExpression(fn: Function): string | undefined {
  return knownBuiltins().get(fn);
}

/** The methods (named first in a function's description) that call their function with two arguments. */
const TWO_ARGUMENTS =
  /^(?:helper '[^']*' of )?(?:reduce|fold|aggregate|reduceByKey|foldByKey|aggregateByKey|treeReduce|treeAggregate|combineByKey (?:mergeValue|mergeCombiners)|mapPartitionsWithIndex|zipPartitions)\b/;

/**
 * A wrapper to suggest for a native function that cannot be passed as it is, with as many parameters as the
 * method passes (`(x) => ...` for map, `(a, b) => ...` for reduce): a rest-parameter wrapper would forward
 * arguments a built-in may misread.
 */
export function wrapperAdvice(qualified: string, fn: Function, what: string): string {
  const arity = TWO_ARGUMENTS.test(what) ? 2 : 1;
  const params = arity === 2 ? ['a', 'b'] : ['x'];
  const call = `${qualified}(${params.join(', ')})`;
  return `(${params.join(', ')}) => ${CONSTRUCTORS.has(fn) ? `new ${call}` : call}`;
}
