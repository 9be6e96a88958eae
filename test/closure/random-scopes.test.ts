/**
 * Random user functions, built from scopes and bindings of every kind, checked against plain JavaScript.
 *
 * A generator writes function sources over a known set of outer names, keeping its own model of every scope it opens
 * (parameters, bodies, blocks, loop heads, catch clauses, class and function names, hoisted `var`s), so it knows for
 * each identifier it writes whether that identifier reads a binding of the function or a name from outside it. The
 * set of outside names is the oracle: the driver's analysis must find exactly that set (a name it misses ships a
 * function that reads the worker's global; a name it invents refuses a correct program). Each function is then made
 * in-process with the outer names in scope (the driver's answer), some of them declared with `capture`, and shipped:
 * with every outside name captured or a standard global, the shipped function must compute what the driver computes;
 * otherwise the operation must throw a `ClosureError` naming an uncaptured outside name (never a local, a key, a
 * label or a parameter).
 *
 * The code the generator writes never throws on the driver and never reads a `let`/`const` before its declaration
 * (TDZ), so any failure of a job is a finding. Labels and property keys deliberately reuse the outer names.
 *
 * FUZZ_RUNS (default 50 in-process, 30 through workers) and FUZZ_SEED widen or replay the search; the seed is printed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { capture as captureForWorkers, ClosureError as WorkerClosureError, Context } from 'kindling';
import { analyzeFunction } from '../../src/closure/analyze.js';
import { capture, ClosureError, compileFunction, type ShippedFunction, shipFunction } from '../../src/closure/index.js';
import { fakeRuntime } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const WORKER_RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const TSX_CASES = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

/** Names only the function itself declares: `message` is what `catch ({ message })` binds, `x` the element. */
const LOCALS = ['a', 'b', 'c', 'message', 'x'] as const;
/** Names of the code around the function: each is captured or not, and the function may shadow any of them. */
const OUTER = ['k1', 'k2', 'k3', 'k4'] as const;
/** Names declared nowhere: reading one (even under `typeof`) must be refused. */
const UNDECLARED = ['u1', 'u2'] as const;
/** A standard global that the code around the function may redeclare (a shadowed global must be refused). */
const SHADOWABLE = 'NaN';
const DECLARABLE: readonly string[] = [...LOCALS, ...OUTER, SHADOWABLE, 'u1'];
const NAMES: readonly string[] = [...new Set([...DECLARABLE, ...OUTER, SHADOWABLE, ...UNDECLARED])];
const OUTER_VALUES: Readonly<Record<string, unknown>> = { k1: 3, k2: 'two', k3: [1, 2], k4: { p: 1, q: 'w' }, NaN: 5 };

type Param = 'simple' | 'default' | 'object' | 'array' | 'rest';

interface Binding {
  state: 'pending' | 'live';
  readonly mutable: boolean;
  readonly isVar?: boolean;
  /** The parameters of a function this binding always holds, so calls can pass fitting arguments. */
  readonly callable?: readonly Param[];
}

interface Scope {
  readonly names: Map<string, Binding>;
  /** Names that code inside this scope read from outside it: declaring one here now would change what they mean. */
  readonly passed: Set<string>;
  /** `body` is a var boundary (a function body, a static block, a field initialiser). */
  readonly kind: 'block' | 'params' | 'body';
  readonly params?: Scope;
}

function scope(kind: Scope['kind'], params?: Scope): Scope {
  return { names: new Map(), passed: new Set(), kind, params };
}

interface Label {
  readonly name: string;
  readonly loop: boolean;
}

/**
 * Writes one random function from a sequence of choices (fast-check shrinks the sequence; a missing choice is 0, the
 * simplest option), tracking which identifiers are free.
 */
class Writer {
  readonly free = new Set<string>();
  private at = 0;
  private budget: number;
  private readonly scopes: Scope[] = [];
  private labels: Label[] = [];

  constructor(
    private readonly choices: readonly number[],
    budget: number,
  ) {
    this.budget = budget;
  }

  private pick(n: number): number {
    const c = this.choices[this.at++] ?? 0;
    return c % n;
  }

  private chance(percent: number): boolean {
    return this.pick(100) >= 100 - percent;
  }

  private oneOf<T>(xs: readonly T[]): T {
    return xs[this.pick(xs.length)]!;
  }

  private get top(): Scope {
    return this.scopes[this.scopes.length - 1]!;
  }

  private spend(): boolean {
    return this.budget-- > 0;
  }

  private resolve(name: string): 'local' | 'free' | 'blocked' {
    for (let j = this.scopes.length - 1; j >= 0; j--) {
      const b = this.scopes[j]!.names.get(name);
      if (b) return b.state === 'live' ? 'local' : 'blocked';
    }
    return 'free';
  }

  private binding(name: string): Binding | undefined {
    for (let j = this.scopes.length - 1; j >= 0; j--) {
      const b = this.scopes[j]!.names.get(name);
      if (b) return b;
    }
    return undefined;
  }

  /** A read of `name` (which must not be in its TDZ): recorded as free when no scope of the function declares it. */
  private use(name: string): string {
    for (let j = this.scopes.length - 1; j >= 0; j--) {
      const s = this.scopes[j]!;
      if (s.names.has(name)) break;
      s.passed.add(name);
    }
    if (this.resolve(name) === 'free') this.free.add(name);
    return name;
  }

  private global(name: string): string {
    return this.use(name);
  }

  /** A local binding in scope (not in its TDZ), or an outside name (never a local-only name that is not declared). */
  private referable(): string[] {
    return NAMES.filter((n) => {
      const r = this.resolve(n);
      return r === 'local' || (r === 'free' && !(LOCALS as readonly string[]).includes(n));
    });
  }

  private reference(): string {
    const ok = this.referable();
    const locals = ok.filter((n) => this.resolve(n) === 'local');
    // Rare per read, since one read of an undeclared name refuses the whole function.
    const c = this.pick(200);
    if (locals.length > 0 && c < 110) return this.use(this.oneOf(locals));
    if (c === 199) {
      const undeclared = ok.filter((n) => (UNDECLARED as readonly string[]).includes(n));
      if (undeclared.length > 0) return this.use(this.oneOf(undeclared));
    }
    const outer = ok.filter((n) => (OUTER as readonly string[]).includes(n) || n === SHADOWABLE);
    if (outer.length > 0) return this.use(this.oneOf(outer));
    return this.use(this.oneOf(ok));
  }

  private canDeclareLexical(name: string): boolean {
    const s = this.top;
    if (s.names.has(name) || s.passed.has(name)) return false;
    return !(s.kind === 'body' && s.params?.names.has(name));
  }

  private canDeclareVar(name: string): boolean {
    for (let j = this.scopes.length - 1; j >= 0; j--) {
      const s = this.scopes[j]!;
      const b = s.names.get(name);
      if (s.kind === 'body') {
        if (b !== undefined) return b.isVar === true;
        return !s.passed.has(name) && !s.params?.names.has(name);
      }
      if (b !== undefined) return false;
    }
    return false;
  }

  private declareVar(name: string): void {
    for (let j = this.scopes.length - 1; j >= 0; j--) {
      const s = this.scopes[j]!;
      if (s.kind === 'body') {
        s.names.set(name, { state: 'live', mutable: true, isVar: true });
        return;
      }
      s.passed.add(name);
    }
  }

  private lexicalName(): string | undefined {
    const ok = DECLARABLE.filter((n) => this.canDeclareLexical(n));
    return ok.length === 0 ? undefined : this.oneOf(ok);
  }

  private within<T>(s: Scope, f: () => T): T {
    this.scopes.push(s);
    try {
      return f();
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * What `arguments` means here: the arguments of a function of the source, those of the code around an arrow
   * (free), or a syntax error (class field initialisers and static blocks).
   */
  argumentsAre: 'local' | 'free' | 'forbidden' = 'free';
  /** Whether `this` belongs to a function of the source (else it would be the shipped function's receiver). */
  ownsThis = false;

  /**
   * Code of another function: labels of the code around it are not visible; `arguments` and `this` are its own,
   * except in an arrow, which sees those of the code around it.
   */
  private insideFunction<T>(kind: 'arrow' | 'function' | 'initialiser', f: () => T): T {
    const { labels, argumentsAre, ownsThis } = this;
    this.labels = [];
    if (kind !== 'arrow') {
      this.argumentsAre = kind === 'function' ? 'local' : 'forbidden';
      this.ownsThis = true;
    }
    try {
      return f();
    } finally {
      this.labels = labels;
      this.argumentsAre = argumentsAre;
      this.ownsThis = ownsThis;
    }
  }

  // ---- expressions ----

  expr(d: number): string {
    if (d <= 0 || !this.spend()) return this.atom();
    switch (this.pick(22)) {
      case 0:
        return this.atom();
      case 1:
        return this.reference();
      case 2: {
        if (this.chance(15)) return `(${this.expr(d - 1)} in ${this.object(d - 1).src})`;
        const op = this.oneOf(['+', '===', '??', ',', '<']);
        return `(${this.expr(d - 1)} ${op} ${this.expr(d - 1)})`;
      }
      case 3:
        return `(${this.expr(d - 1)} ? ${this.expr(d - 1)} : ${this.expr(d - 1)})`;
      case 4: {
        const undeclared = this.referable().filter((n) => (UNDECLARED as readonly string[]).includes(n));
        return `typeof ${undeclared.length > 0 && this.chance(15) ? this.use(this.oneOf(undeclared)) : this.reference()}`;
      }
      case 5:
        return this.oneOf([
          () => `${this.global('Math')}.max(${this.expr(d - 1)}, ${this.expr(d - 1)})`,
          () => `${this.global('JSON')}.stringify(${this.expr(d - 1)})`,
          () => `${this.global('Number')}(${this.expr(d - 1)})`,
          () => `${this.global('Array')}.isArray(${this.expr(d - 1)})`,
          () => `${this.global('Object')}.keys(${this.object(d - 1).src}).join()`,
        ])();
      case 6:
        return `\`<\${${this.expr(d - 1)}}|\${${this.expr(d - 1)}}>\``;
      case 7: {
        const tags = NAMES.filter((n) => this.resolve(n) === 'local' && this.binding(n)?.callable?.every((p) => p !== 'array') === true);
        const tag = tags.length > 0 && this.chance(50) ? this.use(this.oneOf(tags)) : `${this.global('String')}.raw`;
        return `${tag}\`t\${${this.expr(d - 1)}}u\``;
      }
      case 8:
        return this.member(d - 1);
      case 9:
        return this.oneOf([
          () => `[...[${this.expr(d - 1)}, ${this.expr(d - 1)}], ${this.expr(d - 1)}].join('/')`,
          () => `${this.global('Math')}.min(...[${this.expr(d - 1)}, 4])`,
        ])();
      case 10:
        return `(${this.expr(d - 1)})?.${this.oneOf(NAMES)}`;
      case 11:
        return `delete ${this.object(d - 1).src}.${this.oneOf(NAMES)}`;
      case 12:
        return `new ${this.global('Map')}([[${this.expr(d - 1)}, ${this.expr(d - 1)}]]).size`;
      case 13:
        return this.arrowCall(d - 1);
      case 14:
        return this.functionCall(d - 1);
      case 15:
        return this.generatorCall(d - 1);
      case 16:
        return this.classExpr(d - 1);
      case 17:
        return this.call(d - 1) ?? this.atom();
      case 18:
        return this.assign(d - 1) ?? this.atom();
      case 19:
        return `(${this.object(d - 1).src})[${this.expr(d - 1)}]`;
      case 20:
        return `(${this.reference()} ?? ${this.expr(d - 1)})`;
      case 21:
        if (this.argumentsAre === 'local' ? this.chance(50) : this.argumentsAre === 'free' && this.chance(10)) {
          if (this.argumentsAre === 'free') this.free.add('arguments');
          return 'arguments.length';
        }
        // new.target and this are no variables; new.target exists only inside a function (or class).
        if (this.argumentsAre === 'local' && this.chance(30)) return 'typeof new.target';
        return this.ownsThis ? 'typeof this' : this.atom();
      default:
        return `${this.expr(d - 1)}`;
    }
  }

  private atom(): string {
    switch (this.pick(4)) {
      case 0:
        return String(this.pick(7));
      case 1:
        return this.reference();
      case 2:
        return `'s${this.pick(3)}'`;
      default:
        return this.reference();
    }
  }

  private object(d: number): { src: string; methods: Map<string, readonly Param[]> } {
    const parts: string[] = [];
    const methods = new Map<string, readonly Param[]>();
    const n = 1 + this.pick(3);
    for (let i = 0; i < n; i++) {
      switch (this.pick(8)) {
        case 0:
          parts.push(`${this.oneOf(NAMES)}: ${this.expr(d)}`);
          break;
        case 1:
          parts.push(this.reference());
          break;
        case 2:
          // Prefixed so that no computed key replaces a method the caller then calls.
          parts.push(`['z' + ${this.expr(d)}]: ${this.expr(d)}`);
          break;
        case 3: {
          const key = this.oneOf(NAMES);
          const f = this.func(d, { arrow: false, generator: false });
          parts.push(`${key}${f.paramsSrc} ${f.body}`);
          methods.set(key, f.params);
          break;
        }
        case 4: {
          const key = this.oneOf(NAMES);
          const f = this.func(d, { arrow: false, generator: false, noParams: true });
          parts.push(`get ${key}() ${f.body}`);
          methods.delete(key);
          break;
        }
        case 5: {
          const key = this.oneOf(NAMES);
          parts.push(`...{ ${key}: ${this.expr(d)} }`);
          methods.delete(key);
          break;
        }
        case 6: {
          // A setter nothing calls: its parameter and body are code all the same.
          const key = this.oneOf(NAMES);
          const f = this.func(d, { arrow: false, generator: false, oneParam: true });
          parts.push(`set ${key}${f.paramsSrc} ${f.body}`);
          methods.delete(key);
          break;
        }
        default:
          parts.push(`${this.oneOf(NAMES)}: ${this.expr(d)}`);
      }
      // A later data property of the same name replaces a method.
      const last = parts[parts.length - 1]!;
      for (const key of [...methods.keys()]) if (!last.startsWith(`${key}(`) && last.startsWith(key)) methods.delete(key);
    }
    return { src: `{ ${parts.join(', ')} }`, methods };
  }

  private member(d: number): string {
    const o = this.object(d);
    const methods = [...o.methods.entries()];
    if (methods.length > 0 && this.chance(60)) {
      const [key, params] = this.oneOf(methods);
      return `(${o.src}).${key}(${this.args(params, d)})`;
    }
    return this.chance(50) ? `(${o.src}).${this.oneOf(NAMES)}` : `(${o.src})?.[${this.expr(d)}]`;
  }

  /** Parameters, each default written where the earlier ones (and nothing later) are initialised. */
  private paramList(p: Scope, d: number, noParams = false, oneParam = false): { src: string; params: Param[] } {
    const count = noParams ? 0 : oneParam ? 1 : this.pick(4);
    const kinds: Param[] = [];
    for (let i = 0; i < count; i++) {
      // A setter has exactly one parameter, and no rest parameter.
      const k = this.oneOf<Param>(oneParam ? ['simple', 'default', 'object', 'array'] : ['simple', 'default', 'object', 'array', 'rest']);
      if (k === 'rest' && i !== count - 1) kinds.push('simple');
      else kinds.push(k);
    }
    const free = DECLARABLE.filter((n) => !p.names.has(n));
    const take = (): string | undefined => {
      const avail = free.filter((n) => !p.names.has(n));
      if (avail.length === 0) return undefined;
      const name = this.oneOf(avail);
      p.names.set(name, { state: 'pending', mutable: true });
      return name;
    };
    // Every parameter is in its TDZ until its turn: declare them all first, then write them in order.
    const plans: Array<{ kind: Param; names: string[] }> = [];
    for (const kind of kinds) {
      const per = kind === 'object' || kind === 'array' ? 1 + this.pick(2) : 1;
      const names: string[] = [];
      for (let i = 0; i < per; i++) {
        const name = take();
        if (name !== undefined) names.push(name);
      }
      if (names.length === 0) break;
      plans.push({ kind, names });
    }
    const live = (name: string) => {
      p.names.get(name)!.state = 'live';
    };
    const texts = this.within(p, () =>
      plans.map(({ kind, names }) => {
        switch (kind) {
          case 'simple':
            live(names[0]!);
            return names[0]!;
          case 'rest':
            live(names[0]!);
            return `...${names[0]!}`;
          case 'default': {
            const e = this.expr(d);
            live(names[0]!);
            return `${names[0]!} = ${e}`;
          }
          case 'object':
            return `${this.objectPattern(names, d, live)} = {}`;
          case 'array': {
            const elems = names.map((name) => {
              const dflt = this.chance(50) ? ` = ${this.expr(d)}` : '';
              live(name);
              return `${name}${dflt}`;
            });
            return `[${elems.join(', ')}] = []`;
          }
        }
      }),
    );
    return { src: `(${texts.join(', ')})`, params: plans.map((x) => x.kind) };
  }

  /**
   * An object pattern binding `names` left to right: shorthand, renamed, or under a computed key (a read), each maybe
   * with a default that sees the names bound before it; the last maybe a rest element.
   */
  private objectPattern(names: readonly string[], d: number, live: (name: string) => void): string {
    const props = names.map((name, i) => {
      if (i > 0 && i === names.length - 1 && this.chance(20)) {
        live(name);
        return `...${name}`;
      }
      const how = this.pick(3);
      const key = how === 0 ? name : how === 1 ? this.oneOf(NAMES) : `['z' + ${this.expr(d)}]`;
      const dflt = this.chance(50) ? ` = ${this.expr(d)}` : '';
      live(name);
      return how === 0 ? `${name}${dflt}` : `${key}: ${name}${dflt}`;
    });
    return `{ ${props.join(', ')} }`;
  }

  private args(params: readonly Param[], d: number): string {
    return params
      .map((kind) => {
        switch (kind) {
          case 'object':
            return this.chance(50) ? this.object(d).src : this.global('undefined');
          case 'array':
            return this.chance(50) ? `[${this.expr(d)}]` : this.global('undefined');
          case 'default':
            return this.chance(50) ? this.expr(d) : this.global('undefined');
          default:
            return this.expr(d);
        }
      })
      .join(', ');
  }

  /** A function's parameters and body; the name (if any) is the caller's business. */
  func(
    d: number,
    opts: { arrow: boolean; generator: boolean; noParams?: boolean; oneParam?: boolean; expressionBody?: boolean },
  ): { paramsSrc: string; params: Param[]; body: string } {
    return this.insideFunction(opts.arrow ? 'arrow' : 'function', () => {
      const p = scope('params');
      const list = this.paramList(p, d, opts.noParams, opts.oneParam);
      const paramsSrc = list.src;
      return this.within(p, () => {
        if (opts.expressionBody) return { paramsSrc, params: list.params, body: `(${this.expr(d)})` };
        const body = scope('body', p);
        return this.within(body, () => {
          const stmts = this.statements(d, 1 + this.pick(3));
          if (opts.generator) stmts.push(`yield ${this.expr(d)};`, `yield* [${this.expr(d)}];`);
          stmts.push(`return ${this.expr(d)};`);
          return { paramsSrc, params: list.params, body: `{ ${stmts.join(' ')} }` };
        });
      });
    });
  }

  private functionName(): { scope: Scope; name: string } | undefined {
    if (!this.chance(50)) return undefined;
    const s = scope('block');
    const name = this.oneOf(DECLARABLE);
    s.names.set(name, { state: 'live', mutable: false });
    return { scope: s, name };
  }

  private arrowCall(d: number): string {
    const f = this.func(d, { arrow: true, generator: false, expressionBody: this.chance(50) });
    return `(${f.paramsSrc} => ${f.body})(${this.args(f.params, d)})`;
  }

  private functionCall(d: number): string {
    const named = this.functionName();
    const f = named
      ? this.within(named.scope, () => this.func(d, { arrow: false, generator: false }))
      : this.func(d, { arrow: false, generator: false });
    return `(function ${named?.name ?? ''}${f.paramsSrc} ${f.body})(${this.args(f.params, d)})`;
  }

  private generatorCall(d: number): string {
    const named = this.functionName();
    const f = named
      ? this.within(named.scope, () => this.func(d, { arrow: false, generator: true }))
      : this.func(d, { arrow: false, generator: true });
    return `[...(function* ${named?.name ?? ''}${f.paramsSrc} ${f.body})(${this.args(f.params, d)})].join()`;
  }

  /** A class expression: fields whose initialisers read names, a static block, a method, maybe a computed key. */
  private classExpr(d: number): string {
    const cls = scope('block');
    const name = this.chance(50) ? this.oneOf(DECLARABLE) : undefined;
    // The class binding is in its TDZ while the heritage and computed keys are evaluated, and initialised before
    // static elements run.
    if (name !== undefined) cls.names.set(name, { state: 'pending', mutable: false });
    const made = this.within(cls, () => {
      const heritage = this.chance(30) ? ` extends (${this.expr(d)}, ${this.global('Object')})` : '';
      const computed = this.chance(30) ? `['z' + ${this.expr(d)}] = 1;` : '';
      if (name !== undefined) cls.names.get(name)!.state = 'live';
      const field = this.oneOf(NAMES);
      const initialiser = () => this.insideFunction('initialiser', () => this.within(scope('body', scope('params')), () => this.expr(d)));
      const fieldSrc = `${field} = ${initialiser()};`;
      // A private name is no variable: `#k1` and `this.#k1` never read k1.
      const priv = this.chance(30) ? `#${this.oneOf(NAMES)}` : '';
      const privSrc = priv === '' ? '' : `${priv} = ${initialiser()}; static has${priv.slice(1)}(o) { return ${priv} in o ? o.${priv} : 0; }`;
      const staticSrc = this.chance(50) ? `static ${this.oneOf(NAMES)} = ${initialiser()};` : '';
      const block = this.chance(50)
        ? `static { ${this.insideFunction('initialiser', () => this.within(scope('body', scope('params')), () => this.statements(d, 1 + this.pick(2)).join(' ')))} }`
        : '';
      const method = this.oneOf(NAMES);
      const m = this.func(d, { arrow: false, generator: false });
      const src = `class ${name ?? ''}${heritage} { ${computed} ${fieldSrc} ${privSrc} ${staticSrc} ${block} ${method}${m.paramsSrc} ${m.body} }`;
      return { src, field, method, params: m.params };
    });
    // The instance is used outside the class: the arguments see the code around it, not the class's name.
    const use = made.method === made.field || this.chance(30) ? `.${made.field}` : `.${made.method}(${this.args(made.params, d)})`;
    return `new (${made.src})()${use}`;
  }

  private call(d: number): string | undefined {
    const fs = NAMES.filter((n) => this.resolve(n) === 'local' && this.binding(n)?.callable !== undefined);
    if (fs.length === 0) return undefined;
    const name = this.oneOf(fs);
    const params = this.binding(name)!.callable!;
    return `${this.use(name)}${this.chance(30) ? '?.' : ''}(${this.args(params, d)})`;
  }

  private assign(d: number): string | undefined {
    const vs = NAMES.filter((n) => this.resolve(n) === 'local' && this.binding(n)?.mutable === true && this.binding(n)?.callable === undefined);
    if (vs.length === 0) return undefined;
    const name = this.oneOf(vs);
    switch (this.pick(4)) {
      case 0:
        return `(${this.use(name)}++)`;
      case 1: {
        // A destructuring assignment: its targets are writes, its defaults and computed keys reads.
        const other = this.oneOf(vs);
        if (this.chance(50)) {
          const value = this.expr(d);
          const dflt = this.expr(d);
          return `([${this.use(name)}, ${this.use(other)} = ${dflt}] = [${value}])`;
        }
        const value = this.object(d).src;
        const key = this.expr(d);
        return `({ ${this.oneOf(NAMES)}: ${this.use(name)}, ['z' + ${key}]: ${this.use(other)} } = ${value})`;
      }
      default: {
        const value = this.expr(d);
        return `(${this.use(name)} ${this.oneOf(['=', '+=', '??='])} ${value})`;
      }
    }
  }

  // ---- statements ----

  statements(d: number, n: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.statement(d));
    return out;
  }

  /** A statement whose value shows in the result (where the shipped function's `out$` is visible). */
  private emit(d: number): string {
    const sink = this.resolve('out$') === 'local' ? 'out$ +=' : 'void';
    return `${sink} ${this.global('String')}(${this.expr(d)});`;
  }

  private inBlock(d: number, n: number, s: Scope = scope('block')): string {
    return `{ ${this.within(s, () => this.statements(d, n).join(' '))} }`;
  }

  private statement(d: number): string {
    if (d <= 0 || !this.spend()) return this.emit(0);
    if (this.labels.length > 0 && this.chance(20)) return this.jump(d - 1);
    switch (this.pick(18)) {
      case 0:
        return this.emit(d - 1);
      case 1: {
        const name = this.lexicalName();
        if (name === undefined) return this.emit(d - 1);
        const constant = this.chance(50);
        this.top.names.set(name, { state: 'pending', mutable: !constant });
        const e = this.expr(d - 1);
        this.top.names.get(name)!.state = 'live';
        return `${constant ? 'const' : 'let'} ${name} = ${e};`;
      }
      case 2:
        return this.destructuring(d - 1);
      case 3: {
        // Hoisted: the name is the function's from its first line (its own initialiser included), undefined until
        // this runs; so no code of the function may have read an outer name of that name.
        const e = this.expr(d - 1);
        const ok = DECLARABLE.filter((n) => this.canDeclareVar(n));
        if (ok.length === 0) return `void ${e};`;
        const name = this.oneOf(ok);
        this.declareVar(name);
        return `var ${name} = ${e};`;
      }
      case 4: {
        const name = this.lexicalName();
        if (name === undefined) return this.emit(d - 1);
        const s = this.top;
        s.names.set(name, { state: 'pending', mutable: false });
        const f = this.func(d - 1, { arrow: false, generator: false });
        s.names.set(name, { state: 'live', mutable: false, callable: f.params });
        return `function ${name}${f.paramsSrc} ${f.body}`;
      }
      case 5: {
        const name = this.lexicalName();
        if (name === undefined) return this.emit(d - 1);
        const s = this.top;
        s.names.set(name, { state: 'pending', mutable: false });
        const f = this.func(d - 1, { arrow: true, generator: false, expressionBody: this.chance(50) });
        s.names.set(name, { state: 'live', mutable: false, callable: f.params });
        return `const ${name} = ${f.paramsSrc} => ${f.body};`;
      }
      case 6:
        return this.inBlock(d - 1, 1 + this.pick(3));
      case 7:
        return `if (${this.expr(d - 1)}) ${this.inBlock(d - 1, 1 + this.pick(2))} else ${this.inBlock(d - 1, 1)}`;
      case 8:
      case 9:
      case 10:
        return this.loop(d - 1, undefined);
      case 11:
        return this.labelled(d - 1);
      case 12:
        return this.labels.length === 0 ? this.emit(d - 1) : this.jump(d - 1);
      case 13:
        return this.tryCatch(d - 1);
      case 14:
        return this.switchStatement(d - 1);
      case 15: {
        const a = this.assign(d - 1);
        return a === undefined ? this.emit(d - 1) : `${a};`;
      }
      case 16: {
        const c = this.call(d - 1);
        return c === undefined ? this.emit(d - 1) : `${c};`;
      }
      default:
        return this.emit(d - 1);
    }
  }

  private jump(d: number): string {
    const label = this.oneOf(this.labels);
    const jump = label.loop && this.chance(50) ? 'continue' : 'break';
    return `if (${this.expr(d)}) ${jump} ${label.name};`;
  }

  private destructuring(d: number): string {
    const kind = this.oneOf(['const', 'let']);
    const s = this.top;
    const names: string[] = [];
    for (let i = 1 + this.pick(3); i > 0; i--) {
      const name = DECLARABLE.filter((n) => this.canDeclareLexical(n) && !names.includes(n));
      if (name.length === 0) break;
      names.push(this.oneOf(name));
    }
    if (names.length === 0) return this.emit(d);
    for (const name of names) s.names.set(name, { state: 'pending', mutable: kind === 'let' });
    const live = (name: string) => {
      s.names.get(name)!.state = 'live';
    };
    // The initialiser runs first (every name of the pattern in its TDZ), then the pattern, left to right.
    if (this.chance(50)) {
      const init = this.object(d).src;
      return `${kind} ${this.objectPattern(names, d, live)} = ${init};`;
    }
    const init = `[${this.expr(d)}]`;
    const elems = names.map((name, i) => {
      const rest = i === names.length - 1 && this.chance(30);
      const dflt = !rest && this.chance(50) ? ` = ${this.expr(d)}` : '';
      live(name);
      return rest ? `...${name}` : `${name}${dflt}`;
    });
    return `${kind} [${elems.join(', ')}] = ${init};`;
  }

  private loop(d: number, label: string | undefined): string {
    const head = scope('block');
    const withLabel = <T>(f: () => T): T => {
      if (label === undefined) return f();
      this.labels.push({ name: label, loop: true });
      try {
        return f();
      } finally {
        this.labels.pop();
      }
    };
    if (this.chance(15)) {
      // A var in the head belongs to the function, and its array may already read it (undefined until the loop runs).
      const xs = `[${this.expr(d)}, ${this.expr(d)}]`;
      const ok = DECLARABLE.filter((n) => this.canDeclareVar(n));
      if (ok.length > 0) {
        const v = this.oneOf(ok);
        this.declareVar(v);
        return `for (var ${v} of ${xs}) ${withLabel(() => this.inBlock(d, 1 + this.pick(2)))}`;
      }
    }
    const name = this.oneOf(DECLARABLE);
    head.names.set(name, { state: 'pending', mutable: false });
    return this.within(head, () => {
      switch (this.pick(3)) {
        case 0: {
          // A pattern in the head binds a second name; the array is evaluated with both in their TDZ.
          const second = this.chance(30) ? this.oneOf(DECLARABLE.filter((n) => n !== name)) : undefined;
          if (second !== undefined) head.names.set(second, { state: 'pending', mutable: false });
          const xs = second === undefined ? `[${this.expr(d)}, ${this.expr(d)}]` : `[${this.object(d).src}, ${this.object(d).src}]`;
          if (second !== undefined) {
            const pattern = this.objectPattern([name, second], d, (n) => {
              head.names.get(n)!.state = 'live';
            });
            return `for (const ${pattern} of ${xs}) ${withLabel(() => this.inBlock(d, 1 + this.pick(2)))}`;
          }
          head.names.get(name)!.state = 'live';
          return `for (const ${name} of ${xs}) ${withLabel(() => this.inBlock(d, 1 + this.pick(2)))}`;
        }
        case 1: {
          head.names.get(name)!.state = 'live';
          const cond = `${name} < 2`;
          return `for (let ${name} = 0; ${cond}; ${name}++) ${withLabel(() => this.inBlock(d, 1 + this.pick(2)))}`;
        }
        default: {
          const o = this.object(d).src;
          head.names.get(name)!.state = 'live';
          return `for (const ${name} in ${o}) ${withLabel(() => this.inBlock(d, 1 + this.pick(2)))}`;
        }
      }
    });
  }

  private labelled(d: number): string {
    const free = NAMES.filter((n) => !this.labels.some((l) => l.name === n));
    const name = this.oneOf(free);
    if (this.chance(50)) return `${name}: ${this.loop(d, name)}`;
    this.labels.push({ name, loop: false });
    try {
      return `${name}: ${this.inBlock(d, 1 + this.pick(3))}`;
    } finally {
      this.labels.pop();
    }
  }

  private tryCatch(d: number): string {
    const throws = this.chance(70);
    const tryBlock = `{ ${this.within(scope('block'), () => {
      const stmts = this.statements(d, 1 + this.pick(2));
      if (throws) stmts.push(`throw new ${this.global('Error')}(${this.global('String')}(${this.expr(d)}));`);
      return stmts.join(' ');
    })} }`;
    const clause = scope('block');
    let param: string;
    switch (this.pick(4)) {
      case 0: {
        param = this.oneOf(DECLARABLE);
        clause.names.set(param, { state: 'live', mutable: true });
        break;
      }
      case 1: {
        clause.names.set('message', { state: 'live', mutable: true });
        param = '{ message }';
        break;
      }
      case 2:
        param = '';
        break;
      default: {
        // A renamed property, then a default that may read it (`cause` is absent, so the default runs).
        const name = this.oneOf(DECLARABLE.filter((n) => n !== 'message'));
        const other = this.oneOf(DECLARABLE.filter((n) => n !== name));
        clause.names.set(name, { state: 'live', mutable: true });
        clause.names.set(other, { state: 'pending', mutable: true });
        const dflt = this.within(clause, () => this.expr(d));
        clause.names.get(other)!.state = 'live';
        param = `{ message: ${name}, cause: ${other} = ${dflt} }`;
      }
    }
    const handler = this.inBlock(d, 1 + this.pick(2), clause);
    const fin = this.chance(30) ? ` finally ${this.inBlock(d, 1)}` : '';
    return `try ${tryBlock} catch ${param === '' ? '' : `(${param}) `}${handler}${fin}`;
  }

  /** Case clauses share one scope; a case may be entered directly, so what earlier ones declare is in its TDZ there. */
  private switchStatement(d: number): string {
    const discriminant = this.expr(d);
    const sw = scope('block');
    const cases = this.within(sw, () => {
      const out: string[] = [];
      for (let i = 1 + this.pick(3); i > 0; i--) {
        const test = this.chance(25) ? 'default' : `case ${this.expr(d)}`;
        if (test === 'default' && out.some((c) => c.startsWith('default'))) continue;
        const body = this.chance(50) ? this.statements(d, 1 + this.pick(2)).join(' ') : this.inBlock(d, 1 + this.pick(2));
        for (const b of sw.names.values()) b.state = 'pending';
        out.push(`${test}: ${body}${this.chance(50) ? ' break;' : ''}`);
      }
      return out;
    });
    return `switch (${discriminant}) { ${cases.join(' ')} }`;
  }

  // ---- the shipped function ----

  /** The function to ship, taking one element (`map`) or an iterator (`mapPartitions`, a generator). */
  root(form: RootForm, depth: number): string {
    const paramName = 'x';
    if (form !== 'arrow' && form !== 'arrow-expression') this.argumentsAre = 'local';
    if (form === 'generator') {
      const p = scope('params');
      p.names.set('it', { state: 'live', mutable: true });
      return this.within(p, () =>
        this.within(scope('body', p), () => {
          this.top.names.set('out$', { state: 'live', mutable: true });
          const loopScope = scope('block');
          loopScope.names.set(paramName, { state: 'live', mutable: false });
          const inner = this.within(loopScope, () =>
            this.within(scope('block'), () => {
              const stmts = this.statements(depth, 1 + this.pick(4));
              return `{ out$ = ''; ${stmts.join(' ')} yield out$ + ${this.global('String')}(${this.expr(depth)}); }`;
            }),
          );
          return `function* (it) { let out$ = ''; for (const ${paramName} of it) ${inner} }`;
        }),
      );
    }
    const p = scope('params');
    // A named function expression's own name is its binding; a method's name is no binding at all.
    const own = scope('block');
    if (form === 'named') own.names.set(this.rootName, { state: 'live', mutable: false });
    return this.within(own, () =>
      this.within(p, () => {
        p.names.set(paramName, { state: 'live', mutable: true });
        const extra = this.chance(40) ? `, ${this.paramList(p, depth).src.slice(1, -1)}` : '';
        const params = `(${paramName}${extra === ', ' ? '' : extra})`;
        if (form === 'arrow-expression') return `${params} => ${this.global('String')}(${this.expr(depth)})`;
        return this.within(scope('body', p), () => {
          this.top.names.set('out$', { state: 'live', mutable: true });
          const stmts = this.statements(depth, 1 + this.pick(5));
          const body = `{ let out$ = ''; ${stmts.join(' ')} return out$ + ${this.global('String')}(${this.expr(depth)}); }`;
          switch (form) {
            case 'arrow':
              return `${params} => ${body}`;
            case 'function':
              return `function ${params} ${body}`;
            case 'named':
              return `function ${this.rootName}${params} ${body}`;
            case 'method':
              return `${this.rootName}${params} ${body}`;
          }
        });
      }),
    );
  }

  rootName = 'k1';
}

type RootForm = 'arrow' | 'arrow-expression' | 'function' | 'named' | 'method' | 'generator';
const FORMS: readonly RootForm[] = ['arrow', 'arrow-expression', 'function', 'named', 'method', 'generator'];

interface Case {
  readonly src: string;
  readonly form: RootForm;
  /** Outside names the source reads, globals included. */
  readonly free: ReadonlySet<string>;
  /** Outer names in the closure around the function (on the driver). */
  readonly declared: readonly string[];
  /** Of those, the ones declared with capture(). */
  readonly captured: readonly string[];
}

const caseArb = fc
  .record({
    choices: fc.array(fc.nat({ max: 999 }), { maxLength: 600, size: 'max' }),
    form: fc.constantFrom(...FORMS),
    rootName: fc.constantFrom(...DECLARABLE),
    // Each outer name: 0 captured, 1 declared around the function but not captured.
    outer: fc.array(fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1), { minLength: OUTER.length, maxLength: OUTER.length }),
    // The global NaN: 0 not redeclared, 1 redeclared and captured, 2 redeclared and not captured.
    shadow: fc.constantFrom(0, 0, 0, 1, 2),
    depth: fc.integer({ min: 2, max: 5 }),
  })
  .map(({ choices, form, rootName, outer, shadow, depth }): Case => {
    const w = new Writer(choices, 40);
    w.rootName = rootName;
    const src = w.root(form, depth);
    const declared: string[] = [...OUTER];
    const captured: string[] = OUTER.filter((_, i) => outer[i] === 0);
    if (shadow > 0) declared.push(SHADOWABLE);
    if (shadow === 1) captured.push(SHADOWABLE);
    return { src, form, free: w.free, declared, captured };
  });

function expression(c: Case): string {
  return c.form === 'method' ? `({ ${c.src} })[${JSON.stringify(c.src.slice(0, c.src.indexOf('(')))}]` : `(${c.src}\n)`;
}

/** The function as written: made in a scope where the declared outer names are variables, as in a user's module. */
function build(c: Case): (...args: unknown[]) => unknown {
  const factory = new Function(...c.declared, `"use strict"; return ${expression(c)};`) as (...xs: unknown[]) => (...args: unknown[]) => unknown;
  return factory(...c.declared.map((n) => OUTER_VALUES[n]));
}

/** The function as the driver ships it, its captured names declared. */
function make(c: Case, declare: typeof capture = capture): Function {
  return declare(Object.fromEntries(c.captured.map((n) => [n, OUTER_VALUES[n]])), build(c));
}

const XS = [1, 2, 3, 4];

function driverResult(c: Case, fn: Function): string[] {
  if (c.form === 'generator') return [...(fn as (it: Iterable<number>) => Iterable<string>)(XS)];
  return XS.map((x) => (fn as (x: number) => string)(x));
}

/** The uncaptured outside names a refusal may name (a redeclared NaN only when it is not captured). */
function refusable(c: Case): string[] {
  return [...c.free].filter(
    (n) =>
      !c.captured.includes(n) &&
      (n === 'arguments' ||
        (OUTER as readonly string[]).includes(n) ||
        (UNDECLARED as readonly string[]).includes(n) ||
        (n === SHADOWABLE && c.declared.includes(n))),
  );
}

function describeCase(c: Case): string {
  return `${c.form} function, captured [${c.captured.join(', ')}], declared [${c.declared.join(', ')}], free [${[...c.free].sort().join(', ')}]:\n${c.src}`;
}

/** The driver's answer (the writer's code never throws where every name it reads is declared). */
function expected(c: Case, fn: Function): string[] {
  try {
    return driverResult(c, fn);
  } catch (e) {
    throw new Error(`the generated function throws on the driver (a generator bug): ${String(e)}\n${describeCase(c)}`);
  }
}

function checkRefusal(c: Case, err: unknown, names: readonly string[], type: typeof ClosureError = ClosureError): void {
  expect(err, describeCase(c)).toBeInstanceOf(type);
  const ce = err as ClosureError;
  expect(names, `${ce.message}\n${describeCase(c)}`).toContain(ce.identifier);
  const listed = /uses ((?:'[^']+'(?:, | and )?)+), which (?:is|are) not declared/.exec(ce.message);
  if (listed) {
    const quoted = [...listed[1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
    const undeclared = names.filter((n) => n !== SHADOWABLE);
    expect(quoted.sort(), `${ce.message}\n${describeCase(c)}`).toEqual([...undeclared].sort());
  }
}

const params = (runs: number): fc.Parameters<[Case]> => ({ numRuns: runs, seed: SEED, endOnFailure: false });

describe('random user functions: free names and results against plain JavaScript', () => {
  test('the analysis finds exactly the outside names; shipped and compiled, the function computes what the driver does or is refused by name', async () => {
    console.log(`random-scopes: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const fn = make(c);
        const analysed = analyzeFunction(build(c), 'test function');
        expect(new Set(analysed.free.keys()), describeCase(c)).toEqual(c.free);
        const names = refusable(c);
        let wire: ShippedFunction;
        try {
          wire = structuredClone(shipFunction(fn, 'map function of RDD 1 (random)'));
        } catch (err) {
          if (names.length === 0) throw err;
          checkRefusal(c, err, names);
          return;
        }
        expect(names, `shipped although it reads uncaptured names\n${describeCase(c)}`).toEqual([]);
        const compiled = await compileFunction(wire, fakeRuntime());
        expect(driverResult(c, compiled), describeCase(c)).toEqual(expected(c, fn));
      }),
      params(RUNS),
    );
  }, 120_000);
});

describe('random user functions through worker threads (local[2])', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, ui: false, hints: false, maxTaskFailures: 1 });
  });
  afterAll(async () => {
    await sc.stop();
  });

  test('map / mapPartitions collect what the driver computes, or the call throws a ClosureError naming an uncaptured outside name', async () => {
    console.log(`random-scopes (workers): FUZZ_SEED=${SEED} FUZZ_RUNS=${WORKER_RUNS}`);
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const fn = make(c, captureForWorkers);
        const names = refusable(c);
        const run = async (): Promise<unknown[]> => {
          const rdd = sc.parallelize(XS, 2);
          return c.form === 'generator'
            ? rdd.mapPartitions(fn as (it: Iterable<number>) => Iterable<string>).collect()
            : rdd.map(fn as (x: number) => string).collect();
        };
        if (names.length > 0) {
          const err = await run().then(
            () => new Error('shipped'),
            (e: unknown) => e,
          );
          checkRefusal(c, err, names, WorkerClosureError);
          return;
        }
        expect(await run(), describeCase(c)).toEqual(expected(c, fn));
      }),
      params(WORKER_RUNS),
    );
  }, 120_000);
});

/**
 * TypeScript modules for `kindling run` (tsx: esbuild rewrites the functions before they are shipped, adding `__name`
 * calls and renaming a variable that shadows a global): one per case, so that a case esbuild turns into code V8 will
 * not parse (it drops the parentheses of `f([1], ([k] = [5]))`, which V8 20 then refuses) fails alone; and a main
 * script printing one outcome per case.
 */
function tsxFiles(cases: readonly Case[]): Map<string, string> {
  const entry = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href;
  const files = new Map<string, string>();
  cases.forEach((c, i) => {
    const values = c.declared.map((n) => `const ${n} = ${JSON.stringify(OUTER_VALUES[n])};`).join(' ');
    const op = c.form === 'generator' ? 'mapPartitions' : 'map';
    files.set(
      `case${i}.ts`,
      [
        `import { capture } from ${JSON.stringify(entry)};`,
        `export async function run(sc: any) { ${values}`,
        `  const fn = capture({ ${c.captured.join(', ')} }, ${expression(c)}) as any;`,
        `  const ok = await sc.parallelize([${XS.join(', ')}], 2).${op}(fn).collect();`,
        `  return { ok, direct: ${c.form === 'generator' ? `[...fn([${XS.join(', ')}])]` : `[${XS.join(', ')}].map((x) => fn(x))`} }; }`,
      ].join('\n'),
    );
  });
  // ES modules, like the main script: CommonJS case files would load a second copy of kindling through require.
  files.set('package.json', '{ "type": "module" }');
  files.set(
    'main.ts',
    [
      `import { Context } from ${JSON.stringify(entry)};`,
      "const sc = new Context({ master: 'local[2]', progress: false, ui: false, hints: false, maxTaskFailures: 1 });",
      'const out: unknown[] = [];',
      `for (let i = 0; i < ${cases.length}; i++) {`,
      '  let mod: any;',
      '  try { mod = await import(`./case${i}.ts`); } catch (e: any) { out.push({ unparsable: String(e) }); continue; }',
      '  try { out.push(await mod.run(sc)); } catch (e: any) { out.push({ error: { name: e.name, identifier: e.identifier, message: e.message } }); }',
      '}',
      'await sc.stop();',
      'console.log(JSON.stringify(out));',
    ].join('\n'),
  );
  return files;
}

describe('random user functions in a script run by `kindling run` (tsx)', () => {
  test('each computes what it computes in plain JavaScript, or is refused naming an uncaptured outside name', async () => {
    console.log(`random-scopes (kindling run): FUZZ_SEED=${SEED} cases=${TSX_CASES}`);
    const cases = fc.sample(caseArb, { numRuns: TSX_CASES, seed: SEED });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'random-scopes-'));
    try {
      // FUZZ_KEEP=folder keeps a copy of the scripts to rerun by hand.
      for (const [name, text] of tsxFiles(cases)) {
        writeFileSync(path.join(dir, name), text);
        if (process.env.FUZZ_KEEP !== undefined) writeFileSync(path.join(process.env.FUZZ_KEEP, name), text);
      }
      const script = path.join(dir, 'main.ts');
      const bin = fileURLToPath(new URL('../../bin/kindling.js', import.meta.url));
      const { stdout } = await promisify(execFile)(process.execPath, [bin, 'run', script], { timeout: 100_000, maxBuffer: 64 << 20 });
      const outcomes = JSON.parse(stdout.trim().split('\n').at(-1)!) as Array<{
        ok?: string[];
        direct?: string[];
        unparsable?: string;
        error?: { name: string; identifier?: string; message: string };
      }>;
      expect(outcomes).toHaveLength(cases.length);
      cases.forEach((c, i) => {
        const names = refusable(c);
        const outcome = outcomes[i]!;
        if (outcome.unparsable !== undefined) {
          // The in-process property parses the source as written; this is esbuild's output.
          console.log(`random-scopes: esbuild's output of case ${i} does not load: ${outcome.unparsable}`);
          return;
        }
        // esbuild renames a variable that shadows a global (NaN becomes NaN2); the message explains the renaming.
        const id = outcome.error?.identifier?.replace(/^NaN\d+$/, 'NaN');
        if (
          outcome.error?.name === 'ClosureError' &&
          id !== undefined &&
          !new RegExp(`(?<![\\w$])${id.replace(/\$/g, '\\$')}(?![\\w$])`).test(c.src)
        ) {
          // A name that is not in the source as written: esbuild's (0.28: `class x { f = x }` in a default of a
          // parameter `x` reads an undeclared `_x`). The refusal is right for the source that reached the driver.
          console.log(`random-scopes: esbuild's rewrite reads '${id}': ${outcome.error.message}`);
          return;
        }
        if (names.length === 0) {
          expect(outcome.error, describeCase(c)).toBeUndefined();
          expect(outcome.ok, describeCase(c)).toEqual(outcome.direct);
          // esbuild rewrites the source text of functions, which a result may show (String of a function).
          const plain = expected(c, make(c));
          if (!plain.some((r) => /function|class|=>/.test(r))) expect(outcome.direct, describeCase(c)).toEqual(plain);
          return;
        }
        if (outcome.error === undefined) {
          // esbuild may drop the read (`6 ?? NaN` folds to 6): what ships must then compute what the driver does.
          expect(outcome.ok, describeCase(c)).toEqual(outcome.direct);
          console.log(`random-scopes: shipped under tsx though the source reads ${names.join(', ')} (esbuild dropped the read)`);
          return;
        }
        expect(outcome.error.name, `${JSON.stringify(outcome)}\n${describeCase(c)}`).toBe('ClosureError');
        expect(names, `${outcome.error!.message}\n${describeCase(c)}`).toContain(id);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
