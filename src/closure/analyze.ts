import { parse, type Options } from 'acorn';
import { analyze as analyzeScopes, type Scope } from 'eslint-scope';
import type * as ESTree from 'estree';
import { wrapperAdvice } from './builtins.js';
import { ClosureError } from './errors.js';
import { NATIVE_NAMESPACES } from './globals.js';

/** How the function was written; decides how its source becomes an expression. */
export type FunctionKind = 'arrow' | 'function' | 'generator' | 'method';

/** What the driver learns once per source text. */
export interface FunctionAnalysis {
  /** An expression that evaluates to the function. */
  readonly expr: string;
  readonly kind: FunctionKind;
  /** Free identifiers (unresolved inside the function) mapped to whether any use writes them. */
  readonly free: ReadonlyMap<string, boolean>;
  /** Parameter list as written, for suggestions in error messages. */
  readonly params: string;
  /** An `async` function (or async generator): shipped only where the operation awaits it. */
  readonly async: boolean;
  /**
   * Whether code inside the function can reach the function object itself: only a named function expression that
   * uses its own name can (strict code has no `arguments.callee`, and `this` is refused). Where it cannot, and the
   * function captures nothing, nothing but the engine ever holds the object, so a worker may hand every stage the
   * same one (see ShippedFunction.shared).
   */
  readonly selfReachable: boolean;
}

// Workers compile with `new Function` and a "use strict" directive: strict script code, not a
// module (so `await` stays a plain identifier and `import.meta` is a syntax error). The driver
// parses exactly that. `ranges` is needed by eslint-scope, which compares identifier positions.
const STRICT = '"use strict";';
const PARSE_OPTIONS: Options = { ecmaVersion: 'latest', sourceType: 'script', ranges: true };
const SCOPE_OPTIONS = { ecmaVersion: 2022, sourceType: 'script' } as const;

const MAX_CACHED_SOURCES = 512;
const bySource = new Map<string, FunctionAnalysis>();
const byFunction = new WeakMap<Function, FunctionAnalysis>();

const NATIVE_SOURCE = /\{\s*\[native code\]\s*\}\s*$/;

type AnyNode = ESTree.Node & { range?: [number, number] };
type FunctionNode = ESTree.ArrowFunctionExpression | ESTree.FunctionExpression;

/**
 * Parses `fn`'s source and finds its free identifiers. Results are cached by function object
 * and by source text, so a hot function is parsed once per driver.
 */
export function analyzeFunction(fn: Function, what: string, options: { allowAsync?: boolean } = {}): FunctionAnalysis {
  const analysis = analyzeCached(fn, what);
  if (analysis.async && options.allowAsync !== true) {
    throw new ClosureError(
      what,
      `${what} is an async function, which is not supported: the engine calls shipped functions synchronously and ` +
        'would receive a Promise instead of a result. Use a synchronous function, or an operation that awaits: ' +
        'rdd.mapAsync(f, { concurrency }) or rdd.foreachPartition(async (it) => ...).',
    );
  }
  return analysis;
}

function analyzeCached(fn: Function, what: string): FunctionAnalysis {
  const known = byFunction.get(fn);
  if (known) return known;
  const src = Function.prototype.toString.call(fn);
  if (NATIVE_SOURCE.test(src)) throw nativeError(fn, what);
  let analysis = bySource.get(src);
  if (analysis) {
    // Refresh recency so the bound below evicts the least recently used source.
    bySource.delete(src);
  } else {
    analysis = analyzeSource(src, what);
  }
  bySource.set(src, analysis);
  if (bySource.size > MAX_CACHED_SOURCES) {
    const oldest = bySource.keys().next();
    if (!oldest.done) bySource.delete(oldest.value);
  }
  byFunction.set(fn, analysis);
  return analysis;
}

interface Parsed {
  readonly program: ESTree.Program;
  readonly root: FunctionNode;
  readonly text: string;
  readonly expr: string;
  readonly kind: FunctionKind;
}

function analyzeSource(src: string, what: string): FunctionAnalysis {
  const parsed = parseFunction(src, what);
  const { root, text } = parsed;
  checkReceiverAndImports(root, what);
  const scopes = analyzeScopes(parsed.program, SCOPE_OPTIONS);
  const free = new Map<string, boolean>();
  for (const ref of scopes.globalScope?.through ?? []) {
    const name = ref.identifier.name;
    if (name === 'arguments' && ownArguments(ref.from)) continue;
    free.set(name, (free.get(name) ?? false) || ref.isWrite());
  }
  const params = root.params.map((p) => slice(text, p)).join(', ');
  const single = root.params.length === 1 && root.params[0]?.type === 'Identifier';
  // A named function expression binds its name in a scope of its own, around the function's.
  const selfReachable = scopes.scopes.some(
    (s) => s.type === 'function-expression-name' && s.block === root && s.variables.some((v) => v.references.length > 0),
  );
  return { expr: parsed.expr, kind: parsed.kind, free, params: single ? params : `(${params})`, async: root.async === true, selfReachable };
}

/**
 * Whether `arguments` read in `scope` is the arguments object of a function of the source: the nearest enclosing
 * function that is not an arrow binds it (strict code cannot declare the name). eslint-scope leaves a read in a
 * parameter default (`function (x, n = arguments.length)`) unresolved, as it does a read in the parameters of a name
 * the function's body declares, and `arguments` has no declaration to tell it apart.
 */
function ownArguments(scope: Scope | null): boolean {
  for (let s = scope; s !== null; s = s.upper) {
    if (s.type === 'function' && s.block.type !== 'ArrowFunctionExpression') return true;
  }
  return false;
}

function parseFunction(src: string, what: string): Parsed {
  // The newline keeps a trailing line comment from swallowing the closing parenthesis.
  const asExpression = `(${src}\n)`;
  let firstError: unknown;
  try {
    const program = parse(STRICT + asExpression, PARSE_OPTIONS) as unknown as ESTree.Program;
    const node = onlyExpression(program);
    if (node?.type === 'ClassExpression') {
      throw new ClosureError(
        what,
        `${what} is a class (${node.id?.name ?? 'anonymous'}); classes cannot be ` +
          'shipped. Pass a function instead, and capture plain data rather than class instances.',
      );
    }
    if (node && (node.type === 'ArrowFunctionExpression' || node.type === 'FunctionExpression') && spans(node, STRICT.length + 1, src.length)) {
      const kind: FunctionKind = node.type === 'ArrowFunctionExpression' ? 'arrow' : node.generator ? 'generator' : 'function';
      return { program, root: node, text: STRICT + asExpression, expr: src, kind };
    }
    firstError = new Error('the source is not a function expression');
  } catch (err) {
    if (err instanceof ClosureError) throw err;
    firstError = err;
  }
  // Method shorthand (`{ f(x) {...} }.f`) stringifies as `f(x) {...}`, which only parses
  // inside an object literal.
  const asMethod = `({${src}\n})`;
  try {
    const program = parse(STRICT + asMethod, PARSE_OPTIONS) as unknown as ESTree.Program;
    const node = onlyExpression(program);
    const prop = node?.type === 'ObjectExpression' && node.properties.length === 1 ? node.properties[0] : undefined;
    if (
      prop?.type === 'Property' &&
      (prop.method || prop.kind !== 'init') &&
      prop.value.type === 'FunctionExpression' &&
      spans(prop, STRICT.length + 2, src.length)
    ) {
      return { program, root: prop.value, text: STRICT + asMethod, expr: methodExpression(asMethod, prop), kind: 'method' };
    }
  } catch {
    // Report the expression-form error: it describes the common case better.
  }
  throw syntaxError(src, [asExpression, asMethod], firstError, what);
}

function onlyExpression(program: ESTree.Program): ESTree.Expression | undefined {
  const [, stmt, ...rest] = program.body;
  return stmt?.type === 'ExpressionStatement' && rest.length === 0 ? stmt.expression : undefined;
}

function spans(node: AnyNode, start: number, length: number): boolean {
  const range = (node as AnyNode).range;
  return range !== undefined && range[0] === start && range[1] === start + length;
}

function slice(text: string, node: ESTree.Node): string {
  const range = (node as AnyNode).range;
  return range ? text.slice(range[0], range[1]) : '';
}

function methodExpression(wrapped: string, prop: ESTree.Property): string {
  const key = prop.key;
  if (!prop.computed && prop.kind === 'init') {
    const name =
      key.type === 'Identifier'
        ? key.name
        : key.type === 'Literal' && (typeof key.value === 'string' || typeof key.value === 'number')
          ? String(key.value)
          : undefined;
    if (name !== undefined) return `${wrapped}[${JSON.stringify(name)}]`;
  }
  // Computed keys and accessors: take whatever single function the object literal defines.
  return `((o) => { const d = Object.getOwnPropertyDescriptor(o, Reflect.ownKeys(o)[0]); ` + `return d.get || d.set || d.value; })${wrapped}`;
}

function syntaxError(src: string, wrappings: readonly string[], err: unknown, what: string): ClosureError {
  const raw = err instanceof Error ? err.message : String(err);
  const pos = (err as { pos?: unknown } | undefined)?.pos;
  let reason = raw.replace(/\s*\(\d+:\d+\)$/, '');
  if (typeof pos === 'number') {
    // Positions refer to the wrapped text; report them against the function's own source.
    const offset = Math.max(0, Math.min(src.length, pos - STRICT.length - 1));
    const before = src.slice(0, offset).split('\n');
    reason += ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
  }
  const strictOnly = wrappings.some((wrapped) => {
    try {
      parse(wrapped, PARSE_OPTIONS);
      return true;
    } catch {
      return false;
    }
  });
  if (/import\.meta/.test(raw)) {
    return new ClosureError(
      what,
      `${what} uses import.meta, which does not exist in code compiled from source in ` +
        'worker threads. Compute what you need from it on the driver and capture the result: capture({ url }, x => ...)',
      'import.meta',
      { cause: err },
    );
  }
  const excerpt = src.length > 120 ? `${src.slice(0, 117)}...` : src;
  const why = strictOnly
    ? 'uses syntax that strict mode forbids; shipped functions are compiled as strict-mode code in workers'
    : 'could not be parsed';
  return new ClosureError(what, `${what} ${why} (${reason}): ${excerpt}`, undefined, { cause: err });
}

/**
 * Rejects `this` that reaches the shipped function's receiver (or, for an arrow, the scope
 * around it), and module syntax that `new Function` cannot compile. eslint-scope does not
 * model `this`, so a small walk tracks which function owns each `this`.
 */
function checkReceiverAndImports(root: FunctionNode, what: string): void {
  const stack: Array<{ node: unknown; escapes: boolean }> = [];
  for (const p of root.params) stack.push({ node: p, escapes: true });
  stack.push({ node: root.body, escapes: true });
  while (stack.length > 0) {
    const { node, escapes } = stack.pop()!;
    if (Array.isArray(node)) {
      for (const child of node) stack.push({ node: child, escapes });
      continue;
    }
    if (typeof node !== 'object' || node === null || typeof (node as { type?: unknown }).type !== 'string') continue;
    const n = node as ESTree.Node;
    if (n.type === 'ThisExpression' && escapes) {
      const arrowHint =
        root.type === 'ArrowFunctionExpression'
          ? "an arrow function's 'this' belongs to the code around it, which does not exist in a worker"
          : 'shipped functions are called without a receiver';
      throw new ClosureError(
        what,
        `${what} uses 'this', but ${arrowHint}. Pass what you need as an ` +
          'argument, or capture the plain data it holds: capture({ config }, x => ...)',
        'this',
      );
    }
    if (n.type === 'ImportExpression') {
      throw new ClosureError(
        what,
        `${what} uses import(), which shipped functions cannot use. Declare modules ` +
          "instead: capture({ zlib: useModule('node:zlib') }, s => zlib.gzipSync(s))",
        'import',
      );
    }
    // Inside these, `this` is bound by the nested function or class, not by the shipped one.
    const owns = n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration' || n.type === 'StaticBlock' || n.type === 'PropertyDefinition';
    for (const [key, child] of Object.entries(n)) {
      if (key === 'range' || key === 'loc') continue;
      const inner = owns && !(n.type === 'PropertyDefinition' && key === 'key') ? false : escapes;
      stack.push({ node: child, escapes: inner });
    }
  }
}

function nativeError(fn: Function, what: string): ClosureError {
  const name = fn.name;
  if (name.startsWith('bound ')) {
    return new ClosureError(
      what,
      `${what} is a bound function (${name === 'bound ' ? 'bound anonymous function' : name}): bind() results have no source ` +
        'to ship to worker threads. Use an arrow function and capture what it needs, e.g. capture({ obj }, x => obj.method(x))',
      name,
    );
  }
  let qualified = name || 'anonymous';
  for (const [prefix, ns] of NATIVE_NAMESPACES) {
    const key = Object.getOwnPropertyNames(ns).find((k) => {
      try {
        return (ns as Record<string, unknown>)[k] === fn;
      } catch {
        return false;
      }
    });
    if (key !== undefined) {
      qualified = prefix === 'globalThis' ? key : `${prefix}.${key}`;
      break;
    }
  }
  return new ClosureError(
    what,
    `${what} is a native function (${qualified}), which has no source to ship to ` +
      `worker threads. Wrap it in a function of your own, e.g. ${wrapperAdvice(qualified, fn, what)}`,
    qualified,
  );
}
