/**
 * Names a shipped function may use without declaring them. This is an explicit allow list
 * rather than "whatever exists on globalThis": the driver's global object may hold things a
 * worker thread does not (test-runner globals, user-installed polyfills), and an allow list
 * keeps the check identical wherever the driver runs.
 */
const ECMASCRIPT = [
  'globalThis',
  'undefined',
  'NaN',
  'Infinity',
  'Object',
  'Function',
  'Array',
  'Number',
  'String',
  'Boolean',
  'Symbol',
  'BigInt',
  'Math',
  'JSON',
  'Reflect',
  'Proxy',
  'Intl',
  'Atomics',
  'WebAssembly',
  'Date',
  'RegExp',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'Promise',
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Error',
  'AggregateError',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
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
] as const;

const NODE_AND_WEB = [
  'console',
  'Buffer',
  'process',
  'TextEncoder',
  'TextDecoder',
  'URL',
  'URLSearchParams',
  'queueMicrotask',
  'structuredClone',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'performance',
  'crypto',
  'atob',
  'btoa',
  'AbortController',
  'AbortSignal',
  'Blob',
  'fetch',
] as const;

/**
 * esbuild (and so tsx) with `keepNames` inserts `__name(fn, "fn")` calls into function bodies;
 * workers bind a compatible shim under this name.
 */
export const NAME_HELPER = '__name';

/** Standard globals a shipped function may read without declaring them. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set<string>([...ECMASCRIPT, ...NODE_AND_WEB, NAME_HELPER]);

/**
 * Namespaces searched to give a native function a readable qualified name in error messages
 * (`Math.max` rather than `max`).
 */
export const NATIVE_NAMESPACES: ReadonlyArray<readonly [string, object]> = [
  // Bare global names first: `parseInt` reads better than its alias `Number.parseInt`.
  ['globalThis', globalThis],
  ['Math', Math],
  ['JSON', JSON],
  ['Number', Number],
  ['String', String],
  ['Array', Array],
  ['Object', Object],
  ['Reflect', Reflect],
  ['Date', Date],
  ['BigInt', BigInt],
  ['Atomics', Atomics],
  ['Symbol', Symbol],
  ['Promise', Promise],
];

/** Vite/vitest's SSR transform renames imported bindings to these. */
export const VITE_IMPORT_PATTERN = /^__vite_ssr_(?:dynamic_)?import(?:_\d+)?__$|^__vi_import_\d+__$/;
