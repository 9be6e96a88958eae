/**
 * Random programs for the model-based specs (random-programs*.test.ts): a program is a source of pairs, a chain of
 * 1–8 steps and an action; `runProgram` runs it on a context and checks the result against a plain-JavaScript model
 * of the same program. Everything here runs on the driver: the functions the steps hand to the engine use only
 * their arguments and globals (they travel to the workers as source text), and the model calls the very same
 * functions, so what is checked is the operators (shuffles, joins, caches, sorts, partitioners), not the functions.
 *
 * The model knows what order the engine promises: `exact` (partition order of a parallelize, kept by narrow steps,
 * coalesce, union and zipWithIndex; a sort by distinct keys), `sorted` (a sort with ties: the sort keys' sequence is
 * fixed, not which tied element comes first) or `none` (after a shuffle: results compare as multisets). Keys compare
 * structurally by an encoding written independently of src/core/keys.ts (test/core/key-arbitraries.ts): -0 is 0,
 * NaN is NaN, objects regardless of property order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect } from 'vitest';
import { capture, Context, JobFailedError, StorageLevel, type ContextOptions, type RDD } from 'kindling';
import { canonical } from '../core/key-arbitraries.js';

export type KeyKind = 'int' | 'latin1' | 'string' | 'float' | 'mixed';

export interface Source {
  readonly n: number;
  readonly slices: number;
  readonly seed: number;
  readonly distinct: number;
}

export interface StepSpec {
  readonly op: number;
  readonly a: number;
  readonly b: number;
}

export interface Program {
  readonly keys: KeyKind;
  readonly src: Source;
  readonly other: Source;
  readonly steps: readonly StepSpec[];
  readonly action: number;
  readonly actionArg: number;
  /** Unpersist what the program persisted between its two runs (the second then recomputes from lineage). */
  readonly unpersist: boolean;
  /** `extended`: the steps and actions of {@link EXT_STEPS} and {@link EXT_ACTIONS} drawn too (programs(…, 'extended')). */
  readonly ops?: 'extended';
}

/** Pairs with int values, pairs with other (keyable) values, ints, other keyable items. */
type Shape = 'pn' | 'po' | 'in' | 'io';
type Order = { readonly kind: 'exact' } | { readonly kind: 'none' } | { readonly kind: 'sorted'; readonly by: (x: any) => unknown };

interface State {
  readonly rdd: RDD<any>;
  readonly xs: readonly any[];
  readonly shape: Shape;
  readonly order: Order;
  /**
   * Whether the numbers of a pn or in shape are the computed ones bit for bit (-0 told from 0): not once an
   * operation kept one of several equal elements (distinct, intersection) or made values of keys (whose object
   * stands for equal ones in no fixed way).
   */
  readonly strict: boolean;
  /**
   * The elements of each partition, where the model knows them (extended programs only): from the parallelize's
   * slicing (slice i holds elements floor(i*n/slices) to floor((i+1)*n/slices)) through narrow steps.
   */
  readonly parts?: ReadonlyArray<readonly any[]>;
}

interface Env {
  readonly sc: Context;
  readonly other: RDD<[unknown, number]>;
  readonly otherXs: ReadonlyArray<[unknown, number]>;
  readonly persisted: Array<RDD<any>>;
  /** Whether a worker may be killed while the program runs. */
  readonly losesWorkers: boolean;
  /** The state after each step, to read one of them again once the program has run. */
  readonly states: State[];
}

interface StepDef {
  readonly name: string;
  /** Whether `run` says the partitions of its result itself (`parts`, undefined when unknown). */
  readonly partsAware?: boolean;
  readonly on: readonly Shape[];
  readonly when?: (st: State, env: Env) => boolean;
  /** How often it is drawn, relative to the others (1 when not given): the fast paths' combinations more. */
  readonly weight?: number;
  run(st: State, s: StepSpec, env: Env): State & { readonly label: string };
}

const EXACT: Order = { kind: 'exact' };
const NONE: Order = { kind: 'none' };

// ---- data ----------------------------------------------------------------------------------------------------

/** mulberry32: a small seeded generator for the data (driver side only). */
export function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FLOATS: readonly number[] = [0, -0, NaN, 1.5, -2.25, 2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 3, Infinity, -Infinity, 1e-300, 0.1, 3, -7];
/** Every kind keys.ts supports, and objects equal in another property order. */
const MIXED: readonly unknown[] = [
  0,
  -0,
  1,
  -1,
  1.5,
  NaN,
  2 ** 31,
  '',
  'a',
  '\u00e9t\u00e9',
  '\u0101',
  '\ud83d\ude00',
  '\u0001',
  '\u0001[1]',
  '\u0001\u0001x',
  true,
  false,
  null,
  undefined,
  [],
  [1, 'x'],
  [[0], null],
  { p: 1, q: 2 },
  { q: 2, p: 1 },
  {},
  { a: [1, { b: null }] },
  10n,
  -(2n ** 70n),
  new Date(5),
  new Date(NaN),
];

function randomString(r: () => number, alphabet: readonly string[], maxLen: number): string {
  const n = Math.floor(r() * (maxLen + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function keyPool(kind: KeyKind, distinct: number, r: () => number): readonly unknown[] {
  const shuffled = (xs: readonly unknown[]): unknown[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  switch (kind) {
    case 'int':
      return Array.from({ length: distinct }, (_, i) => i - (distinct >> 1));
    case 'latin1':
      // Up to 12 chars: short ones pack into the latin1 table's ints, longer ones do not.
      return Array.from({ length: distinct }, () => randomString(r, ['a', 'b', 'z', ' ', '0', '\u00e9', '\u00ff'], 12));
    case 'string':
      return Array.from({ length: distinct }, (_, i) =>
        i === 0 ? '' : randomString(r, ['a', 'b', '\u0001', '\u0101', '\u00e9', '\ud83d\ude00', '[', '"'], 6),
      );
    case 'float':
      return shuffled([...FLOATS, ...Array.from({ length: Math.max(0, distinct - FLOATS.length) }, (_, i) => i * 0.25)]).slice(0, distinct);
    case 'mixed':
      return shuffled([...MIXED, ...Array.from({ length: Math.max(0, distinct - MIXED.length) }, (_, i) => `k${i}`)]).slice(0, distinct);
  }
}

/** The pairs of a source: keys drawn from a pool of `distinct` keys (the same pool for both sources), int values. */
export function sourceData(kind: KeyKind, src: Source, poolSeed: number, distinct: number): Array<[unknown, number]> {
  const pool = keyPool(kind, distinct, rng(poolSeed));
  const r = rng(src.seed);
  // A hot key now and then: skew puts most records in one group.
  const hot = r() < 0.3;
  return Array.from({ length: src.n }, (): [unknown, number] => {
    const k = hot && r() < 0.5 ? pool[0] : pool[Math.floor(r() * pool.length)];
    // A fresh copy of a structured key: equal keys are never the same object.
    // -0 now and then: a value the columns must keep as it is (an Int32Array would make it 0).
    return [copyKey(k), r() < 0.05 ? -0 : Math.floor(r() * 101) - 50];
  });
}

/** An equal key written otherwise: 0 and -0 swapped, an object's properties in reverse order. */
function twin(k: unknown): unknown {
  if (k === 0) return Object.is(k, 0) ? -0 : 0;
  if (k instanceof Date) return new Date(k.getTime());
  if (Array.isArray(k)) return k.map(twin);
  if (k !== null && typeof k === 'object')
    return Object.fromEntries(
      Object.entries(k)
        .reverse()
        .map(([p, v]) => [p, twin(v)]),
    );
  return k;
}

function copyKey(k: unknown): unknown {
  if (k instanceof Date) return new Date(k.getTime());
  if (Array.isArray(k)) return k.map(copyKey);
  if (k !== null && typeof k === 'object') return Object.fromEntries(Object.entries(k).map(([p, v]) => [p, copyKey(v)]));
  return k;
}

// ---- the model's helpers ---------------------------------------------------------------------------------------

const id = (x: unknown): string => canonical(x);

function groups<V>(xs: ReadonlyArray<readonly [unknown, V]>): Map<string, [unknown, V[]]> {
  const m = new Map<string, [unknown, V[]]>();
  for (const [k, v] of xs) {
    const g = m.get(id(k));
    if (g === undefined) m.set(id(k), [k, [v]]);
    else g[1].push(v);
  }
  return m;
}

function uniq(xs: readonly unknown[]): unknown[] {
  return [...new Map(xs.map((x) => [id(x), x])).values()];
}

const RANKS = ['undefined', 'null', 'boolean', 'number', 'bigint', 'string', 'date', 'array', 'object'];
function rankOf(x: unknown): number {
  if (x === null) return 1;
  if (x instanceof Date) return 6;
  if (Array.isArray(x)) return 7;
  return RANKS.indexOf(typeof x);
}
function compareNum(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The documented default order of keys (keys.ts `compareKeys`), written again for the model. */
export function modelCompare(a: unknown, b: unknown): number {
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 2:
      return Number(a) - Number(b);
    case 3:
      return compareNum(a as number, b as number);
    case 4:
    case 5:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 6:
      return compareNum((a as Date).getTime(), (b as Date).getTime());
    case 7: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = modelCompare(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 8: {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const xs = Object.keys(x).sort();
      const ys = Object.keys(y).sort();
      for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
        if (xs[i] !== ys[i]) return xs[i]! < ys[i]! ? -1 : 1;
        const c = modelCompare(x[xs[i]!], y[ys[i]!]);
        if (c !== 0) return c;
      }
      return xs.length - ys.length;
    }
    default:
      return 0;
  }
}

/** A stable sort by `by`; the order is exact when no two sort keys are equal, else only the keys' sequence is. */
function sortModel(xs: readonly unknown[], by: (x: any) => unknown, asc: boolean): { xs: unknown[]; order: Order } {
  const out = xs.map((x, i) => [x, i] as const).sort((p, q) => (asc ? 1 : -1) * modelCompare(by(p[0]), by(q[0])) || p[1] - q[1]);
  const distinct = new Set(xs.map((x) => id(by(x)))).size === xs.length;
  return { xs: out.map(([x]) => x), order: distinct ? EXACT : { kind: 'sorted', by } };
}

const parts = (a: number): number | undefined => (a % 4 === 0 ? undefined : 1 + (a % 7));
const keep = (st: State, rdd: RDD<any>, xs: readonly unknown[], label: string): State & { label: string } => ({ ...st, rdd, xs, label });

/** Output size of a join of `xs` with the second source, to keep programs from exploding. */
function joinSize(xs: ReadonlyArray<readonly [unknown, unknown]>, ys: ReadonlyArray<readonly [unknown, unknown]>): number {
  const g = groups(ys);
  let n = 0;
  for (const [k] of xs) n += g.get(id(k))?.[1].length ?? 1;
  return n + ys.length;
}

/** The second source, co-partitioned with `rdd` when asked: by its partitioner, or both by a new one. */
function coPartitioned(st: State, env: Env, b: number): [RDD<any>, RDD<any>, string] {
  if (b % 3 === 0) return [st.rdd, env.other, ''];
  if (st.rdd.partitioner !== undefined) return [st.rdd, env.other.partitionBy(st.rdd.partitioner), ' (other co-partitioned)'];
  const p = 1 + (b % 5);
  return [st.rdd.partitionBy(p), env.other.partitionBy(p), ` (both partitionBy ${p})`];
}

const LEVELS = [undefined, StorageLevel.MEMORY_ONLY, StorageLevel.MEMORY_AND_DISK, StorageLevel.DISK_ONLY] as const;

// A [sum, count] accumulator changed in place, as Spark allows aggregate's and aggregateByKey's ops to (the zero must
// then be copied for each key and partition). Functions only of their arguments: they travel as source text.
const addInPlace = (acc: number[], v: number): number[] => {
  acc[0] = acc[0]! + v;
  acc[1] = acc[1]! + 1;
  return acc;
};
const mergeInPlace = (a: number[], b: number[]): number[] => {
  a[0] = a[0]! + b[0]!;
  a[1] = a[1]! + b[1]!;
  return a;
};

// ---- steps -------------------------------------------------------------------------------------------------------

export const STEPS: readonly StepDef[] = [
  {
    name: 'mapValues',
    on: ['pn', 'po'],
    run: (st) =>
      st.shape === 'pn'
        ? keep(
            st,
            st.rdd.mapValues((v: number) => v * 3 - 1),
            st.xs.map(([k, v]) => [k, v * 3 - 1]),
            'mapValues(v*3-1)',
          )
        : keep(
            st,
            st.rdd.mapValues((v: unknown) => [v]),
            st.xs.map(([k, v]) => [k, [v]]),
            'mapValues([v])',
          ),
  },
  {
    name: 'map',
    on: ['pn', 'in', 'io'],
    run: (st) => {
      const o = { ...st, order: st.order.kind === 'exact' ? EXACT : NONE };
      if (st.shape === 'pn') {
        const f = ([k, v]: [unknown, number]): [unknown, number] => [k, v + 1];
        return keep(o, st.rdd.map(f), st.xs.map(f), 'map([k,v+1])');
      }
      if (st.shape === 'in') {
        const f = (x: number): number => x * 2 - 3;
        return keep(o, st.rdd.map(f), st.xs.map(f), 'map(x*2-3)');
      }
      const f = (x: unknown): unknown[] => [x];
      return keep(o, st.rdd.map(f), st.xs.map(f), 'map([x])');
    },
  },
  {
    name: 'swap',
    on: ['pn', 'po'],
    run: (st) => {
      const f = ([k, v]: [unknown, unknown]): [unknown, unknown] => [v, k];
      return { ...keep(st, st.rdd.map(f), st.xs.map(f), 'map([v,k])'), shape: 'po', order: st.order.kind === 'exact' ? EXACT : NONE, strict: false };
    },
  },
  {
    name: 'numify',
    on: ['po'],
    run: (st) => {
      const f = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e6 ? v : Array.isArray(v) ? v.length : 1);
      return {
        ...keep(
          st,
          st.rdd.mapValues(f),
          st.xs.map(([k, v]) => [k, f(v)]),
          'mapValues(numify)',
        ),
        shape: 'pn',
        strict: false,
      };
    },
  },
  {
    name: 'toPairs',
    on: ['in', 'io'],
    run: (st) => {
      const o = { ...st, shape: 'pn' as const, order: st.order.kind === 'exact' ? EXACT : NONE };
      if (st.shape === 'in') {
        const f = (x: number): [number, number] => [x % 5, x];
        return keep(o, st.rdd.map(f), st.xs.map(f), 'map([x%5,x])');
      }
      const f = (x: unknown): [unknown, number] => [x, 1];
      return keep({ ...o, strict: true }, st.rdd.map(f), st.xs.map(f), 'map([x,1])');
    },
  },
  {
    name: 'filter',
    on: ['pn', 'po', 'in', 'io'],
    run: (st) => {
      // A filter keeps the order and the partitioner.
      const f =
        st.shape === 'pn'
          ? ([, v]: [unknown, number]) => v % 3 !== 0
          : st.shape === 'po'
            ? ([k]: [unknown, unknown]) => typeof k !== 'string'
            : st.shape === 'in'
              ? (x: number) => x % 2 === 0
              : (x: unknown) => typeof x !== 'object';
      return keep(st, st.rdd.filter(f as (x: unknown) => boolean), st.xs.filter(f as (x: unknown) => boolean), `filter(${st.shape})`);
    },
  },
  {
    name: 'flatMap',
    on: ['pn', 'in', 'io'],
    run: (st) => {
      const o = { ...st, order: st.order.kind === 'exact' ? EXACT : NONE };
      if (st.shape === 'pn') {
        const f = ([k, v]: [unknown, number]): Array<[unknown, number]> =>
          v % 2 === 0
            ? []
            : [
                [k, v],
                [k, v + 100],
              ];
        return keep(o, st.rdd.flatMap(f), st.xs.flatMap(f), 'flatMap(odd v twice)');
      }
      if (st.shape === 'in') {
        const f = (x: number): number[] => [x, x + 1];
        return keep(o, st.rdd.flatMap(f), st.xs.flatMap(f), 'flatMap([x,x+1])');
      }
      const f = (x: unknown): unknown[] => [x, [x]];
      return keep(o, st.rdd.flatMap(f), st.xs.flatMap(f), 'flatMap([x,[x]])');
    },
  },
  {
    name: 'flatMapValues',
    on: ['pn', 'po'],
    run: (st) => {
      if (st.shape === 'pn') {
        const f = (v: number): number[] => (v % 4 === 0 ? [] : [v, -v]);
        return keep(
          st,
          st.rdd.flatMapValues(f),
          st.xs.flatMap(([k, v]) => f(v).map((w) => [k, w])),
          'flatMapValues(v,-v)',
        );
      }
      const f = (v: unknown): unknown[] => [v, v];
      return keep(
        st,
        st.rdd.flatMapValues(f),
        st.xs.flatMap(([k, v]) => f(v).map((w) => [k, w])),
        'flatMapValues(v,v)',
      );
    },
  },
  {
    name: 'keys/values',
    on: ['pn', 'po'],
    run: (st, s) => {
      const o = { ...st, order: st.order.kind === 'exact' ? EXACT : NONE };
      if (s.a % 2 === 0)
        return {
          ...keep(
            o,
            st.rdd.keys(),
            st.xs.map(([k]) => k),
            'keys()',
          ),
          shape: 'io',
        };
      return {
        ...keep(
          o,
          st.rdd.values(),
          st.xs.map(([, v]) => v),
          'values()',
        ),
        shape: st.shape === 'pn' ? 'in' : 'io',
      };
    },
  },
  {
    name: 'reduceByKey',
    weight: 2,
    on: ['pn'],
    run: (st, s) => {
      const p = parts(s.a);
      const ref = [...groups(st.xs as Array<[unknown, number]>).values()].map(([k, vs]) => [k, vs.reduce((a, b) => a + b)]);
      return {
        ...keep(
          st,
          st.rdd.reduceByKey((a: number, b: number) => a + b, p),
          ref,
          `reduceByKey(+, ${p})`,
        ),
        order: NONE,
      };
    },
  },
  {
    name: 'foldByKey',
    on: ['pn'],
    run: (st, s) => {
      const p = parts(s.a);
      const ref = [...groups(st.xs as Array<[unknown, number]>).values()].map(([k, vs]) => [k, vs.reduce((a, b) => a + b, 0)]);
      return {
        ...keep(
          st,
          st.rdd.foldByKey(0, (a: number, b: number) => a + b, p),
          ref,
          `foldByKey(0, +, ${p})`,
        ),
        order: NONE,
      };
    },
  },
  {
    name: 'aggregateByKey',
    on: ['pn'],
    run: (st, s) => {
      const p = parts(s.a);
      const rdd = st.rdd.aggregateByKey([0, 0], addInPlace, mergeInPlace, p);
      const ref = [...groups(st.xs as Array<[unknown, number]>).values()].map(([k, vs]) => [k, [vs.reduce((a, b) => a + b, 0), vs.length]]);
      return { ...keep(st, rdd, ref, `aggregateByKey([0,0] in place, ${p})`), shape: 'po', order: NONE };
    },
  },
  {
    name: 'combineByKey',
    on: ['pn'],
    run: (st, s) => {
      const p = parts(s.a);
      const rdd = st.rdd.combineByKey(
        (v: number) => v,
        (c: number, v: number) => Math.max(c, v),
        (a: number, b: number) => Math.max(a, b),
        p,
      );
      const ref = [...groups(st.xs as Array<[unknown, number]>).values()].map(([k, vs]) => [k, Math.max(...vs)]);
      return { ...keep(st, rdd, ref, `combineByKey(max, ${p})`), order: NONE };
    },
  },
  {
    name: 'groupByKey',
    weight: 2,
    on: ['pn', 'po'],
    run: (st, s) => {
      const p = parts(s.a);
      const g = [...groups(st.xs as Array<[unknown, unknown]>).values()];
      if (st.shape === 'pn' && s.b % 2 === 0) {
        // The values of a group come in no fixed order: sorted, they are the model's.
        const rdd = st.rdd.groupByKey(p).mapValues((vs: any) => [...(vs as number[])].sort((a, b) => a - b));
        const ref = g.map(([k, vs]) => [k, [...(vs as number[])].sort((a, b) => a - b)]);
        return { ...keep(st, rdd, ref, `groupByKey(${p}).mapValues(sorted)`), shape: 'po', order: NONE };
      }
      const rdd = st.rdd.groupByKey(p).mapValues((vs: unknown[]) => vs.length);
      return {
        ...keep(
          st,
          rdd,
          g.map(([k, vs]) => [k, vs.length]),
          `groupByKey(${p}).mapValues(length)`,
        ),
        shape: 'pn',
        strict: true,
        order: NONE,
      };
    },
  },
  {
    name: 'partitionBy',
    on: ['pn', 'po'],
    run: (st, s) => ({ ...keep(st, st.rdd.partitionBy(1 + (s.a % 6)), st.xs, `partitionBy(${1 + (s.a % 6)})`), order: NONE }),
  },
  {
    name: 'join',
    weight: 2,
    on: ['pn', 'po'],
    when: (st, env) => joinSize(st.xs as Array<[unknown, unknown]>, env.otherXs) < 20_000,
    run: (st, s, env) => {
      const kind = st.shape === 'pn' ? s.a % 6 : s.a % 5;
      const [left, right, how] = coPartitioned(st, env, s.b);
      // Co-partitioned inputs join narrow only under their own partitioner (no count given, as Spark's default).
      const p = how === '' ? parts(s.a >> 3) : undefined;
      const xs = st.xs as Array<[unknown, unknown]>;
      const gy = groups(env.otherXs);
      const gx = groups(xs);
      const inner: unknown[] = [];
      const leftOnly: unknown[] = [];
      for (const [k, v] of xs) {
        const ws = gy.get(id(k))?.[1] ?? [];
        for (const w of ws) inner.push([k, [v, w]]);
        if (ws.length === 0) leftOnly.push([k, [v, null]]);
      }
      const rightOnly = env.otherXs.filter(([k]) => !gx.has(id(k))).map(([k, w]) => [k, [null, w]]);
      const out = { ...st, shape: 'po' as const, order: NONE };
      switch (kind) {
        case 0:
          return keep(out, left.join(right, p), inner, `join(other, ${p})${how}`);
        case 1:
          return keep(out, left.leftOuterJoin(right, p), [...inner, ...leftOnly], `leftOuterJoin(other, ${p})${how}`);
        case 2:
          return keep(out, left.rightOuterJoin(right, p), [...inner, ...rightOnly], `rightOuterJoin(other, ${p})${how}`);
        case 3:
          return keep(out, left.fullOuterJoin(right, p), [...inner, ...leftOnly, ...rightOnly], `fullOuterJoin(other, ${p})${how}`);
        case 4: {
          const ref = [...new Set([...gx.keys(), ...gy.keys()])].map((k) => [
            (gx.get(k) ?? gy.get(k))![0],
            [gx.get(k)?.[1].length ?? 0, gy.get(k)?.[1].length ?? 0],
          ]);
          const rdd = left.cogroup(right, p).mapValues(([a, b]: [unknown[], unknown[]]) => [a.length, b.length]);
          return keep(out, rdd, ref, `cogroup(other, ${p}).mapValues(lengths)${how}`);
        }
        default: {
          const srt = (vs: number[]): number[] => [...vs].sort((a, b) => a - b);
          const ref = [...new Set([...gx.keys(), ...gy.keys()])].map((k) => [
            (gx.get(k) ?? gy.get(k))![0],
            [srt((gx.get(k)?.[1] ?? []) as number[]), srt(gy.get(k)?.[1] ?? [])],
          ]);
          const rdd = left
            .cogroup(right, p)
            .mapValues(([a, b]: any) => [[...(a as number[])].sort((x, y) => x - y), [...(b as number[])].sort((x, y) => x - y)]);
          return keep(out, rdd, ref, `cogroup(other, ${p}).mapValues(sorted)${how}`);
        }
      }
    },
  },
  {
    // PageRank's loop: links partitioned and cached (as columns, for int32 keys and number values), joined with a
    // co-partitioned right side (cached too, or read as pairs), its values alone or its pairs.
    name: 'cached co-partitioned join',
    on: ['pn'],
    weight: 4,
    when: (st, env) => joinSize(st.xs as Array<[unknown, unknown]>, env.otherXs) < 20_000,
    run: (st, s, env) => {
      let left = st.rdd.partitioner !== undefined ? st.rdd : st.rdd.partitionBy(1 + (s.b % 5));
      // Only what this step persists is unpersisted between the runs: a local checkpoint's blocks are its data
      // (unpersisting it loses them, as in Spark).
      if (left.getStorageLevel().name === 'NONE') env.persisted.push((left = left.cache()));
      let right = env.other.partitionBy(left.partitioner!);
      if (s.b % 2 === 1) env.persisted.push((right = right.cache()));
      const gy = groups(env.otherXs);
      const inner = (st.xs as Array<[unknown, number]>).flatMap(([k, v]) => (gy.get(id(k))?.[1] ?? []).map((w) => [k, [v, w]]));
      const how = `(left cached${s.b % 2 === 1 ? ', right cached' : ''})`;
      if (s.a % 2 === 0)
        return {
          ...keep(
            st,
            left.join(right).values(),
            inner.map(([, vw]) => vw),
            `join(other) ${how}.values()`,
          ),
          order: NONE,
          strict: st.strict,
        };
      return { ...keep(st, left.join(right), inner, `join(other) ${how}`), shape: 'po', order: NONE };
    },
  },
  {
    // A reduce ending with its groups as columns, mapped and cached from them (PageRank's ranks).
    name: 'reduce, mapValues, cache',
    on: ['pn'],
    weight: 3,
    run: (st, s, env) => {
      const p = parts(s.a);
      const rdd = st.rdd
        .reduceByKey((a: number, b: number) => a + b, p)
        .mapValues((v: number) => v * 2 + 1)
        .cache();
      env.persisted.push(rdd);
      const ref = [...groups(st.xs as Array<[unknown, number]>).values()].map(([k, vs]) => [k, vs.reduce((a, b) => a + b) * 2 + 1]);
      return { ...keep(st, rdd, ref, `reduceByKey(+, ${p}).mapValues(2v+1).cache()`), order: NONE };
    },
  },
  {
    name: 'custom partitioner',
    on: ['pn', 'po'],
    run: (st, s) => {
      // A user's partitioner: ints by their value, every other key in partition 0.
      const partitioner = { numPartitions: 3, getPartition: (k: unknown) => (typeof k === 'number' && Number.isInteger(k) ? Math.abs(k) % 3 : 0) };
      if (s.a % 2 === 0) return { ...keep(st, st.rdd.partitionBy(partitioner), st.xs, 'partitionBy(custom 3)'), order: NONE };
      const asc = s.b % 2 === 0;
      return {
        ...keep(st, st.rdd.repartitionAndSortWithinPartitions(partitioner, asc), st.xs, `repartitionAndSortWithinPartitions(custom 3, ${asc})`),
        order: NONE,
      };
    },
  },
  {
    name: 'mapPartitions',
    on: ['pn'],
    run: (st) => {
      // Keys unchanged, so it may say it keeps the partitioner (a join after it stays narrow).
      const rdd = st.rdd.mapPartitions((it: Iterable<[unknown, number]>) => {
        const out: Array<[unknown, number]> = [];
        for (const [k, v] of it) out.push([k, v - 2]);
        return out;
      }, true);
      return keep(
        st,
        rdd,
        st.xs.map(([k, v]) => [k, v - 2]),
        'mapPartitions([k,v-2], preservesPartitioning)',
      );
    },
  },
  {
    name: 'cartesian',
    on: ['pn', 'po', 'in', 'io'],
    when: (st, env) => st.xs.length * env.otherXs.length <= 5000,
    run: (st, _s, env) => {
      const ref = st.xs.flatMap((x) => env.otherXs.map((y) => [x, y]));
      return { ...keep(st, st.rdd.cartesian(env.other), ref, 'cartesian(other)'), shape: 'po', order: NONE };
    },
  },
  {
    name: 'union',
    on: ['pn', 'in', 'io'],
    run: (st, s, env) => {
      if (st.shape === 'pn' && s.a % 2 === 0 && st.rdd.partitioner !== undefined) {
        // Both sides partitioned alike: the partitioner-aware union, partition i of each side together.
        const rdd = st.rdd.union(env.other.partitionBy(st.rdd.partitioner));
        return { ...keep(st, rdd, [...st.xs, ...env.otherXs], 'union(other.partitionBy(same))'), order: NONE };
      }
      const [rdd, ys, label] =
        st.shape === 'pn'
          ? [env.other, env.otherXs, 'other']
          : st.shape === 'in'
            ? [env.other.values(), env.otherXs.map(([, v]) => v), 'other.values()']
            : [env.other.keys(), env.otherXs.map(([k]) => k), 'other.keys()'];
      return { ...keep(st, st.rdd.union(rdd), [...st.xs, ...ys], `union(${label})`), order: st.order.kind === 'exact' ? EXACT : NONE };
    },
  },
  {
    name: 'distinct',
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s) => ({ ...keep(st, st.rdd.distinct(parts(s.a)), uniq(st.xs), `distinct(${parts(s.a)})`), order: NONE, strict: false }),
  },
  {
    name: 'subtract',
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s, env) => {
      const p = parts(s.a);
      if (st.shape === 'po' || (st.shape === 'pn' && s.b % 2 === 0)) {
        const ks = new Set(env.otherXs.map(([k]) => id(k)));
        return {
          ...keep(
            st,
            st.rdd.subtractByKey(env.other, p),
            st.xs.filter(([k]) => !ks.has(id(k))),
            `subtractByKey(other, ${p})`,
          ),
          order: NONE,
        };
      }
      const [rdd, ys] = otherAsShape(st.shape, env);
      const inY = new Set(ys.map(id));
      return {
        ...keep(
          st,
          st.rdd.subtract(rdd, p),
          st.xs.filter((x) => !inY.has(id(x))),
          `subtract(other, ${p})`,
        ),
        order: NONE,
        // Elements are keys here: equal ones (-0 and 0, objects in another property order) come out as the one
        // object that stands for them all, as in Spark's SubtractedRDD (its map keeps the first key of a group).
        strict: false,
      };
    },
  },
  {
    name: 'intersection',
    on: ['pn', 'in', 'io'],
    run: (st, s, env) => {
      const p = parts(s.a);
      const [rdd, ys] = otherAsShape(st.shape, env);
      const inY = new Set(ys.map(id));
      return {
        ...keep(st, st.rdd.intersection(rdd, p), uniq(st.xs.filter((x) => inY.has(id(x)))), `intersection(other, ${p})`),
        order: NONE,
        strict: false,
      };
    },
  },
  {
    name: 'sort',
    weight: 2,
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s) => {
      const asc = s.a % 2 === 0;
      const p = parts(s.a >> 1);
      if ((st.shape === 'pn' || st.shape === 'po') && s.b % 2 === 0) {
        const m = sortModel(st.xs, (x) => x[0], asc);
        return { ...keep(st, st.rdd.sortByKey(asc, p), m.xs, `sortByKey(${asc}, ${p})`), order: m.order };
      }
      const by = st.shape === 'pn' ? ([, v]: [unknown, number]) => v : st.shape === 'po' ? ([, v]: [unknown, unknown]) => v : (x: unknown) => x;
      const m = sortModel(st.xs, by, asc);
      return { ...keep(st, st.rdd.sortBy(by as (x: unknown) => unknown, asc, p), m.xs, `sortBy(${st.shape}, ${asc}, ${p})`), order: m.order };
    },
  },
  {
    name: 'coalesce/repartition',
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s) => {
      const n = 1 + (s.a % 6);
      if (s.b % 2 === 0) return { ...keep(st, st.rdd.coalesce(n), st.xs, `coalesce(${n})`), order: st.order.kind === 'none' ? NONE : st.order };
      return { ...keep(st, st.rdd.repartition(n), st.xs, `repartition(${n})`), order: NONE };
    },
  },
  {
    name: 'zipWithIndex',
    on: ['pn', 'po', 'in', 'io'],
    when: (st) => st.order.kind === 'exact',
    run: (st) => ({
      ...keep(
        st,
        st.rdd.zipWithIndex(),
        st.xs.map((x, i) => [x, i]),
        'zipWithIndex()',
      ),
      shape: 'pn',
      strict: true,
    }),
  },
  {
    name: 'persist',
    weight: 2,
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s, env) => {
      const level = LEVELS[s.a % LEVELS.length];
      // An RDD's level is set once (Spark's rule): persisting again, the program persists a step after it.
      const base = st.rdd.getStorageLevel().name === 'NONE' ? st.rdd : st.rdd.filter(() => true);
      const rdd = level === undefined ? base.cache() : base.persist(level);
      env.persisted.push(rdd);
      return keep(st, rdd, st.xs, level === undefined ? 'cache()' : `persist(${level.name})`);
    },
  },
  {
    name: 'checkpoint',
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s, env) => {
      // A fresh RDD to mark: checkpointing one the program already ran is not the point here.
      const rdd = st.rdd.filter(() => true);
      // A local checkpoint dies with its worker (Spark's rule): a program that loses workers checkpoints reliably.
      const local = s.a % 2 === 0 && !env.losesWorkers;
      if (local) rdd.localCheckpoint();
      else rdd.checkpoint();
      return keep(st, rdd, st.xs, local ? 'localCheckpoint()' : 'checkpoint()');
    },
  },
];

/** Indexes into STEPS, each as often as its weight. */
const PICKS: readonly number[] = STEPS.flatMap((d, i) => Array.from({ length: d.weight ?? 1 }, () => i));

function otherAsShape(shape: Shape, env: Env): [RDD<any>, readonly unknown[]] {
  if (shape === 'pn' || shape === 'po') return [env.other, env.otherXs];
  if (shape === 'in') return [env.other.values(), env.otherXs.map(([, v]) => v)];
  return [env.other.keys(), env.otherXs.map(([k]) => k)];
}

// ---- actions -----------------------------------------------------------------------------------------------------

interface ActionDef {
  readonly name: string;
  readonly on: readonly Shape[];
  readonly when?: (st: State) => boolean;
  /** `env` is given by runOnce and runTwice (the extended actions need it: accumulators, files). */
  run(rdd: RDD<any>, arg: number, xs: readonly any[], env?: Env): Promise<unknown>;
  check(got: unknown, st: State, arg: number, what: string): void;
}

const sortedIds = (xs: readonly unknown[]): string[] => xs.map(id).sort();

const numId = (v: unknown): string => (Object.is(v, -0) ? '-0' : id(v));

/** An element's identity for comparing results: keys structurally, the numbers of a strict state bit for bit. */
function elemId(st: State): (x: any) => string {
  if (!st.strict) return id;
  if (st.shape === 'pn') return (x) => (Array.isArray(x) && x.length === 2 ? `${id(x[0])}|${numId(x[1])}` : id(x));
  if (st.shape === 'in') return numId;
  return id;
}

function checkCollected(got: readonly unknown[], st: State, what: string): void {
  const eid = elemId(st);
  if (st.order.kind === 'exact') expect(got.map(eid), what).toEqual(st.xs.map(eid));
  else {
    if (st.order.kind === 'sorted')
      expect(
        got.map((x) => id((st.order as { by: (x: unknown) => unknown }).by(x))),
        `${what} (sort keys)`,
      ).toEqual(st.xs.map((x) => id(st.order.kind === 'sorted' ? st.order.by(x) : x)));
    expect(got.map(eid).sort(), what).toEqual(st.xs.map(eid).sort());
  }
}

function lookupKey(xs: readonly any[], arg: number): unknown {
  return xs.length === 0 || arg % 5 === 0 ? 'no such key' : twin(xs[arg % xs.length][0]);
}

export const ACTIONS: readonly ActionDef[] = [
  {
    name: 'collect',
    on: ['pn', 'po', 'in', 'io'],
    run: (rdd) => rdd.collect(),
    check: (got, st, _arg, what) => checkCollected(got as unknown[], st, what),
  },
  {
    name: 'count',
    on: ['pn', 'po', 'in', 'io'],
    run: (rdd) => rdd.count(),
    check: (got, st, _arg, what) => expect(got, what).toBe(st.xs.length),
  },
  {
    name: 'collectAsMap',
    on: ['pn', 'po'],
    run: (rdd) => rdd.collectAsMap(),
    check: (got, st, _arg, what) => {
      const m = got as Map<unknown, unknown>;
      const g = groups(st.xs as Array<[unknown, unknown]>);
      expect(sortedIds([...m.keys()]), `${what} (keys)`).toEqual([...g.keys()].sort());
      for (const [k, v] of m) {
        const vs = g.get(id(k))![1];
        // In partition order a later value replaces an earlier one; a hash-partitioned RDD's order is not fixed.
        const vid = st.strict && st.shape === 'pn' ? numId : id;
        if (st.order.kind === 'exact') expect(vid(v), `${what} (value of ${id(k)})`).toBe(vid(vs[vs.length - 1]));
        else expect(vs.map(vid), `${what} (value of ${id(k)})`).toContain(vid(v));
      }
    },
  },
  {
    name: 'countByKey',
    on: ['pn', 'po'],
    run: (rdd) => rdd.countByKey(),
    check: (got, st, _arg, what) => {
      const m = got as Map<unknown, number>;
      const want = [...groups(st.xs as Array<[unknown, unknown]>).entries()].map(([k, [, vs]]) => `${k}=${vs.length}`).sort();
      expect([...m].map(([k, n]) => `${id(k)}=${n}`).sort(), what).toEqual(want);
    },
  },
  {
    name: 'reduce',
    on: ['in'],
    run: (rdd) => rdd.reduce((a: number, b: number) => a + b).catch((e: Error) => ({ rejected: e.message })),
    check: (got, st, _arg, what) => {
      if (st.xs.length === 0) expect(got, what).toMatchObject({ rejected: expect.stringMatching(/empty/) });
      else expect(got, what).toBe((st.xs as number[]).reduce((a, b) => a + b));
    },
  },
  {
    name: 'take',
    on: ['pn', 'po', 'in', 'io'],
    run: (rdd, arg) => rdd.take(arg % 12),
    check: (got, st, arg, what) => {
      const xs = got as unknown[];
      const n = arg % 12;
      expect(xs.length, what).toBe(Math.min(n, st.xs.length));
      if (st.order.kind === 'exact') expect(xs.map(id), what).toEqual(st.xs.slice(0, n).map(id));
      else if (st.order.kind === 'sorted') {
        const by = st.order.by;
        expect(
          xs.map((x) => id(by(x))),
          what,
        ).toEqual(st.xs.slice(0, n).map((x) => id(by(x))));
      }
      // Always a part of the whole.
      const left = new Map<string, number>();
      for (const x of st.xs) left.set(id(x), (left.get(id(x)) ?? 0) + 1);
      for (const x of xs) {
        expect(left.get(id(x)) ?? 0, `${what}: ${id(x)} taken more often than it is in the model`).toBeGreaterThan(0);
        left.set(id(x), left.get(id(x))! - 1);
      }
    },
  },
  {
    name: 'countByValue',
    on: ['pn', 'po', 'in', 'io'],
    run: (rdd) => rdd.countByValue(),
    check: (got, st, _arg, what) => {
      const counts = new Map<string, number>();
      for (const x of st.xs) counts.set(id(x), (counts.get(id(x)) ?? 0) + 1);
      expect([...(got as Map<unknown, number>)].map(([x, n]) => `${id(x)}=${n}`).sort(), what).toEqual(
        [...counts].map(([x, n]) => `${x}=${n}`).sort(),
      );
    },
  },
  {
    name: 'takeOrdered/top',
    on: ['in', 'io'],
    run: (rdd, arg) => (arg % 2 === 0 ? rdd.takeOrdered(arg % 9) : rdd.top(arg % 9)),
    check: (got, st, arg, what) => {
      // Boxed: Array.prototype.sort puts undefined elements last without asking the comparator, where the key
      // order puts undefined first.
      const want = st.xs
        .map((x) => [x])
        .sort(([a], [b]) => (arg % 2 === 0 ? 1 : -1) * modelCompare(a, b))
        .slice(0, arg % 9)
        .map(([x]) => x);
      expect((got as unknown[]).map(id), what).toEqual(want.map(id));
    },
  },
  {
    name: 'aggregate',
    on: ['in'],
    run: (rdd) => rdd.aggregate([0, 0], addInPlace, mergeInPlace),
    check: (got, st, _arg, what) => expect(got, what).toEqual([(st.xs as number[]).reduce((a, b) => a + b, 0), st.xs.length]),
  },
  {
    name: 'lookup',
    on: ['pn', 'po'],
    run: (rdd, arg, xs) => rdd.lookup(lookupKey(xs, arg)),
    check: (got, st, arg, what) => {
      const key = id(lookupKey(st.xs, arg));
      const vid = st.strict && st.shape === 'pn' ? numId : id;
      const want = st.xs.filter(([k]) => id(k) === key).map(([, v]) => vid(v));
      expect((got as unknown[]).map(vid).sort(), what).toEqual(want.sort());
    },
  },
];

// ---- programs ----------------------------------------------------------------------------------------------------

const source = (maxN: number): fc.Arbitrary<Source> =>
  fc.record({
    // Mostly small (empty partitions, more slices than elements); sometimes long enough for the column paths
    // (a result partition of 512 pairs or more travels as columns).
    n: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 40 }), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: maxN }), weight: 1 }),
    slices: fc.integer({ min: 1, max: 8 }),
    seed: fc.integer(),
    distinct: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 3000 })),
  });

/**
 * A random program; `maxN` bounds a source's length. `extended` draws the steps and actions of EXT_STEPS and
 * EXT_ACTIONS too (without it, a seed draws what it always drew).
 */
export function programs(maxN = 2500, maxSteps = 8, ops?: 'extended'): fc.Arbitrary<Program> {
  // The fields in this order: a seed without `ops` draws the programs it always drew.
  const fields = {
    keys: fc.constantFrom<KeyKind>('int', 'int', 'latin1', 'latin1', 'string', 'float', 'mixed'),
    src: source(maxN),
    other: source(Math.min(maxN, 600)),
    steps: fc.array(fc.record({ op: fc.nat(1000), a: fc.nat(1000), b: fc.nat(1000) }), { minLength: 1, maxLength: maxSteps }),
    action: fc.nat((ops === 'extended' ? ALL_ACTIONS_EXT : ACTIONS).length * 4 - 1),
    actionArg: fc.nat(1000),
    unpersist: fc.boolean(),
  };
  return ops === 'extended' ? fc.record({ ...fields, ops: fc.constant('extended' as const) }) : fc.record(fields);
}

/** What a built program does: its state after the steps, its action, and its description. */
export interface Built {
  readonly st: State;
  readonly action: ActionDef;
  readonly what: string;
  readonly env: Env;
}

/** Builds the program's RDDs on `sc` and its model. */
export function build(sc: Context, prog: Program, losesWorkers = false): Built {
  // The same key pool for both sources (seeded by the first), and no larger than the first, so that joins match.
  const distinct = Math.min(prog.src.distinct, Math.max(1, prog.src.n));
  const xs = sourceData(prog.keys, prog.src, prog.src.seed ^ 0x5bd1e995, distinct);
  const otherXs = sourceData(prog.keys, prog.other, prog.src.seed ^ 0x5bd1e995, distinct);
  const env: Env = { sc, other: sc.parallelize(otherXs, prog.other.slices), otherXs, persisted: [], states: [], losesWorkers };
  const extended = prog.ops === 'extended';
  const steps = extended ? ALL_STEPS_EXT : STEPS;
  const picks = extended ? PICKS_EXT : PICKS;
  const actions = extended ? ALL_ACTIONS_EXT : ACTIONS;
  let st: State = {
    rdd: sc.parallelize(xs, prog.src.slices),
    xs,
    shape: 'pn',
    order: EXACT,
    strict: true,
    ...(extended ? { parts: sliced(xs, prog.src.slices) } : {}),
  };
  const labels = [
    `parallelize(${prog.keys} keys, n=${prog.src.n}, distinct=${distinct}, slices=${prog.src.slices}; other n=${prog.other.n}, slices=${prog.other.slices})`,
  ];
  for (const s of prog.steps) {
    const fits = (d: StepDef): boolean => d.on.includes(st.shape) && (d.when?.(st, env) ?? true);
    const first = steps[picks[s.op % picks.length]!]!;
    const can = steps.filter(fits);
    const def = fits(first) ? first : can[s.op % can.length]!;
    const next = def.run(st, s, env);
    labels.push(next.label);
    const parts = extended ? nextParts(def, st, s, env, next) : undefined;
    st = { rdd: next.rdd, xs: next.xs, shape: next.shape, order: next.order, strict: next.strict, ...(parts !== undefined ? { parts } : {}) };
    env.states.push(st);
  }
  const fitsAction = (a: ActionDef): boolean => a.on.includes(st.shape) && (a.when?.(st) ?? true);
  const acts = actions.filter(fitsAction);
  const action = fitsAction(actions[prog.action % actions.length]!) ? actions[prog.action % actions.length]! : acts[prog.action % acts.length]!;
  labels.push(`${action.name}(${action.name === 'take' ? prog.actionArg % 12 : ''})`);
  return { st, action, what: labels.join(' -> '), env };
}

/** Actions that take each partition's result as it arrives (a job whose results cannot be taken back). */
const AS_THEY_COME = new Set(['collectAsMap', 'countByKey', 'countByValue']);

/**
 * The one failure a fault may cause (docs/architecture.md, output levels): an indeterminate shuffle (an
 * order-sensitive step such as repartition over unordered input) lost outputs and must run again in full, but the
 * action had already taken results from the first computation: the job fails naming itself, the stage and the RDD,
 * rather than lose or double records.
 */
export function refused(e: unknown, action: string, outputLevel: string): boolean {
  return (
    e instanceof JobFailedError &&
    e.causes.some((c) => c.name === 'IndeterminateStageRetry') &&
    /^Job \d+ \(.*\) failed: stage \d+ \(.*\) must be computed again, and its output is indeterminate: RDD \d+/.test(e.message) &&
    AS_THEY_COME.has(action) &&
    outputLevel === 'indeterminate'
  );
}

/**
 * Runs the program once in `sc` and checks its result against the model (`losesWorkers`: no local checkpoints, and
 * the documented refusal of {@link refused} is an outcome too, named in the string returned).
 */
export async function runOnce(sc: Context, prog: Program, losesWorkers = false): Promise<string> {
  const { st, action, what, env } = build(sc, prog, losesWorkers);
  let got: unknown;
  try {
    got = await action.run(st.rdd, prog.actionArg, st.xs, env);
  } catch (e) {
    // A lost worker may leave an indeterminate shuffle to run again after the action took results: the one
    // documented failure, and only then.
    if (!losesWorkers || !refused(e, action.name, st.rdd.outputLevel)) throw e;
    return `${what} [refused: indeterminate stage]`;
  }
  action.check(got, st, prog.actionArg, what);
  return what;
}

/**
 * Runs the program twice in `sc` (the second run reads the first one's caches and shuffle outputs, or recomputes
 * them when the program unpersists in between) and checks both results against the model.
 */
/**
 * {@link runOnce} with the worker of the program's k-th task (0-based, in start order) killed as that task starts;
 * true when a kill happened (a program of fewer tasks runs whole), once the kill settled.
 */
export async function runKillingKthTask(sc: Context, prog: Program, k: number): Promise<boolean> {
  let started = 0;
  let killed: Promise<void> | undefined;
  const off = sc.events.on('taskStart', (e) => {
    if (started++ === k) killed = sc.faults.killWorker(e.workerIndex);
  });
  try {
    await runOnce(sc, prog, true);
  } finally {
    off();
  }
  if (killed === undefined) return false;
  await killed;
  return true;
}

export async function runTwice(sc: Context, prog: Program): Promise<string> {
  const { st, action, what, env } = build(sc, prog);
  action.check(await action.run(st.rdd, prog.actionArg, st.xs, env), st, prog.actionArg, `${what} [first run]`);
  if (prog.unpersist) for (const r of env.persisted) r.unpersist();
  action.check(
    await action.run(st.rdd, prog.actionArg, st.xs, env),
    st,
    prog.actionArg,
    `${what} [second run${prog.unpersist ? ', unpersisted' : ''}]`,
  );
  // Each step's RDD read again after the runs: its cached inputs are read now (an action after a shuffle reuses the
  // shuffle's outputs instead, so the runs above may never have read them back).
  for (const [i, mid] of env.states.entries()) checkCollected(await mid.rdd.collect(), mid, `${what} [step ${i + 1} collected after the runs]`);
  return what;
}

/**
 * Whether a shuffle's reduce partition computed again comes back in the same order (true by default: the models
 * check that randomSplit's parts, each its own computation, tile the input). A spilling shuffle need not
 * (docs/architecture.md, output levels: spills decide the order): test/shuffle/random-spill.test.ts sets it false.
 */
export let recomputedShufflesKeepOrder = true;
export function setRecomputedShufflesKeepOrder(v: boolean): void {
  recomputedShufflesKeepOrder = v;
}

/** A context for the random programs, with a checkpoint folder of its own (removed at the end). */
export function useFuzzContext(options: ContextOptions): () => Context {
  let sc: Context | undefined;
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-fuzz-'));
    sc = new Context({ progress: false, hints: false, ui: false, ...options });
    sc.setCheckpointDir(dir);
  });
  afterAll(async () => {
    await sc?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return () => sc!;
}

// ---- extended operations (programs(…, 'extended')) -------------------------------------------------------------
//
// The operations the programs above never draw, each checked against Spark's documented behaviour: where Spark is
// exact the model is exact (fold's zero once per partition and once more at the driver, zipWithUniqueId's
// `i * numPartitions + k`, glom by partition, histogram's buckets), where it is random or approximate the checks
// are properties (a seeded sample the same on a re-run and a sub-multiset, randomSplit's disjoint union, bounds).

/** Spark's slicing of a parallelize: slice i holds elements floor(i*n/slices) to floor((i+1)*n/slices). */
function sliced<X>(xs: readonly X[], slices: number): X[][] {
  return Array.from({ length: slices }, (_, i) => xs.slice(Math.floor((i * xs.length) / slices), Math.floor(((i + 1) * xs.length) / slices)));
}

/** Steps that map each partition's elements on their own, keeping the partitions (the model re-runs them per part). */
const PER_ELEMENT = new Set([
  'mapValues',
  'map',
  'swap',
  'numify',
  'toPairs',
  'filter',
  'flatMap',
  'flatMapValues',
  'keys/values',
  'mapPartitions',
  'keyBy',
  'mapAsync',
  'sampleByKey(0 or 1)',
]);

function nextParts(def: StepDef, st: State, s: StepSpec, env: Env, next: State): ReadonlyArray<readonly any[]> | undefined {
  if (def.partsAware) return next.parts;
  if (st.parts === undefined || next.order.kind !== 'exact') return undefined;
  if (def.name === 'persist' || def.name === 'checkpoint') return st.parts;
  if (def.name === 'zipWithIndex') {
    let at = 0;
    return st.parts.map((p) => next.xs.slice(at, (at += p.length)));
  }
  if (!PER_ELEMENT.has(def.name)) return undefined;
  const { parts: _, ...whole } = st;
  const parts = st.parts.map((p) => def.run({ ...whole, xs: p }, s, env).xs);
  // The model's own consistency: the parts, in order, are the whole.
  expect(parts.flat().map(id), `the model's partitions after ${def.name}`).toEqual(next.xs.map(id));
  return parts;
}

/** A key of a po/pn element, an int's residue, an item's type: the keys keyBy and groupBy make. */
function keyFnFor(shape: Shape): (x: any) => unknown {
  switch (shape) {
    case 'pn':
    case 'po':
      return ([k]: [unknown, unknown]) => k;
    case 'in':
      // -4 % 4 is -0: one key with 0, by the engine's key equality.
      return (x: number) => x % 4;
    case 'io':
      return (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x);
  }
}

/** A fraction of 0 or 1 for a key, by its canonical form only (the same for every twin and every partition). */
function zeroOrOne(k: unknown): number {
  let h = 0;
  for (const c of id(k)) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h & 1;
}

/** A fraction in [0, 1] (or [0, 2] with replacement) for a key, by its canonical form. */
function fractionOf(k: unknown, withReplacement: boolean): number {
  let h = 7;
  for (const c of id(k)) h = (h * 131 + c.charCodeAt(0)) | 0;
  const f = (Math.abs(h) % 5) / 4;
  return withReplacement ? 2 * f : f;
}

const partsOrUnknown = (st: State, f: (p: readonly any[], i: number) => any[]): { parts?: any[][] } =>
  st.parts === undefined ? {} : { parts: st.parts.map(f) };

export const EXT_STEPS: readonly StepDef[] = [
  {
    name: 'keyBy',
    on: ['pn', 'po', 'in', 'io'],
    run: (st) => {
      const f = keyFnFor(st.shape);
      return {
        ...keep(
          st,
          st.rdd.keyBy(f),
          st.xs.map((x) => [f(x), x]),
          `keyBy(${st.shape})`,
        ),
        shape: 'po',
        order: st.order.kind === 'exact' ? EXACT : NONE,
        strict: false,
      };
    },
  },
  {
    name: 'groupBy',
    weight: 2,
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s) => {
      const f = keyFnFor(st.shape);
      const p = parts(s.a);
      const g = [...groups(st.xs.map((x) => [f(x), x] as const)).values()];
      return {
        ...keep(
          st,
          st.rdd.groupBy(f, p).mapValues((vs: unknown[]) => vs.length),
          g.map(([k, vs]) => [k, vs.length]),
          `groupBy(${st.shape}, ${p}).mapValues(length)`,
        ),
        shape: 'pn',
        order: NONE,
        strict: true,
      };
    },
  },
  {
    name: 'groupWith',
    on: ['pn', 'po'],
    run: (st, s, env) => {
      const even = ([, v]: [unknown, number]): boolean => v % 2 === 0;
      const gx = groups(st.xs as Array<[unknown, unknown]>);
      const gy = groups(env.otherXs);
      const gz = groups(env.otherXs.filter(even));
      const keys = [...new Set([...gx.keys(), ...gy.keys()])];
      const first = (k: string): unknown => (gx.get(k) ?? gy.get(k))![0];
      const out = { ...st, shape: 'po' as const, order: NONE, strict: false };
      if (s.a % 2 === 0)
        return keep(
          out,
          st.rdd.groupWith(env.other).mapValues(([a, b]: unknown[][]) => [a!.length, b!.length]),
          keys.map((k) => [first(k), [gx.get(k)?.[1].length ?? 0, gy.get(k)?.[1].length ?? 0]]),
          'groupWith(other).mapValues(lengths)',
        );
      return keep(
        out,
        st.rdd.groupWith(env.other, env.other.filter(even)).mapValues(([a, b, c]: unknown[][]) => [a!.length, b!.length, c!.length]),
        keys.map((k) => [first(k), [gx.get(k)?.[1].length ?? 0, gy.get(k)?.[1].length ?? 0, gz.get(k)?.[1].length ?? 0]]),
        'groupWith(other, other.filter(even)).mapValues(lengths)',
      );
    },
  },
  {
    name: 'mapAsync',
    on: ['pn', 'po', 'in', 'io'],
    run: (st, s) => {
      const concurrency = 1 + (s.a % 8);
      const o = { ...st, order: st.order.kind === 'exact' ? EXACT : NONE };
      if (st.shape === 'pn') {
        const f = async ([k, v]: [unknown, number]): Promise<[unknown, number]> => [k, v - 5];
        return keep(
          o,
          st.rdd.mapAsync(f, { concurrency }),
          st.xs.map(([k, v]) => [k, v - 5]),
          `mapAsync([k,v-5], ${concurrency})`,
        );
      }
      if (st.shape === 'in')
        return keep(
          o,
          st.rdd.mapAsync(async (x: number) => x + 7, { concurrency }),
          st.xs.map((x) => x + 7),
          `mapAsync(x+7, ${concurrency})`,
        );
      // A promise now and then, a plain value otherwise: both are awaited in order.
      return keep(
        o,
        st.rdd.mapAsync((x: unknown) => (Array.isArray(x) ? Promise.resolve(x) : x), { concurrency }),
        st.xs,
        `mapAsync(identity, ${concurrency})`,
      );
    },
  },
  {
    name: 'mapPartitionsWithIndex',
    partsAware: true,
    on: ['pn', 'po', 'in', 'io'],
    when: (st) => st.parts !== undefined,
    run: (st) => {
      const rdd = st.rdd.mapPartitionsWithIndex((i: number, it: Iterable<unknown>) => Array.from(it, (x) => [i, x]));
      const ps = st.parts!.map((p, i) => p.map((x) => [i, x]));
      return { ...keep(st, rdd, ps.flat(), 'mapPartitionsWithIndex([i,x])'), shape: st.shape === 'in' ? 'pn' : 'po', order: EXACT, parts: ps };
    },
  },
  {
    name: 'zipWithUniqueId',
    partsAware: true,
    on: ['pn', 'po', 'in', 'io'],
    when: (st) => st.parts !== undefined,
    run: (st) => {
      const n = st.parts!.length;
      const ps = st.parts!.map((p, k) => p.map((x, i) => [x, i * n + k]));
      return { ...keep(st, st.rdd.zipWithUniqueId(), ps.flat(), 'zipWithUniqueId()'), shape: 'pn', order: EXACT, strict: true, parts: ps };
    },
  },
  {
    // Both sides read the same partitions, so their counts agree (a partition whose order is fixed: an exact one).
    name: 'zip',
    partsAware: true,
    on: ['pn', 'po', 'in', 'io'],
    when: (st) => st.order.kind === 'exact',
    run: (st) => {
      const g =
        st.shape === 'pn'
          ? ([, v]: [unknown, number]) => v * 2
          : st.shape === 'in'
            ? (x: number) => x * 2
            : (x: unknown) => (Array.isArray(x) ? x.length : 1);
      return {
        ...keep(
          st,
          st.rdd.zip(st.rdd.map(g as (x: unknown) => number)),
          st.xs.map((x) => [x, (g as (x: unknown) => number)(x)]),
          `zip(map(${st.shape}))`,
        ),
        shape: 'pn',
        order: EXACT,
        strict: st.strict || st.shape === 'po' || st.shape === 'io',
        ...partsOrUnknown(st, (p) => p.map((x) => [x, (g as (x: unknown) => number)(x)])),
      };
    },
  },
  {
    name: 'zipPartitions',
    partsAware: true,
    on: ['pn', 'in'],
    run: (st, s) => {
      const h = st.shape === 'pn' ? ([, v]: [unknown, number]) => v % 2 === 0 : (x: number) => x % 2 === 0;
      const both = (mine: Iterable<unknown>, theirs: Iterable<unknown>): unknown[] => [...mine, ...theirs];
      const preserves = s.b % 2 === 0;
      const rdd = st.rdd.zipPartitions(st.rdd.filter(h as (x: unknown) => boolean), both, preserves);
      if (preserves) expect(rdd.partitioner, 'zipPartitions(…, true) keeps the partitioner').toBe(st.rdd.partitioner);
      const ps = partsOrUnknown(st, (p) => [...p, ...p.filter(h as (x: unknown) => boolean)]);
      return {
        ...keep(
          st,
          rdd,
          ps.parts?.flat() ?? [...st.xs, ...st.xs.filter(h as (x: unknown) => boolean)],
          `zipPartitions(filter(even), concat, ${preserves})`,
        ),
        order: ps.parts !== undefined ? EXACT : NONE,
        ...ps,
      };
    },
  },
  {
    // Fractions of 0 and 1 only: the sample is exact (a filter by key), and keys are found by the engine's equality.
    name: 'sampleByKey(0 or 1)',
    on: ['pn', 'po'],
    run: (st, s) => {
      const fractions = new Map(uniq((st.xs as Array<[unknown, unknown]>).map(([k]) => twin(k))).map((k) => [k, zeroOrOne(k)]));
      return keep(
        st,
        st.rdd.sampleByKey(false, fractions, s.a),
        st.xs.filter(([k]) => zeroOrOne(k) === 1),
        'sampleByKey(fractions 0 or 1)',
      );
    },
  },
];

const ALL_STEPS_EXT: readonly StepDef[] = [...STEPS, ...EXT_STEPS];
/** Indexes into ALL_STEPS_EXT: the new steps drawn about as often as the old ones together. */
const PICKS_EXT: readonly number[] = [...PICKS, ...EXT_STEPS.flatMap((d, i) => Array.from({ length: 3 * (d.weight ?? 1) }, () => STEPS.length + i))];

/** Whether `got` is a sub-multiset of `xs` (by `eid`). */
function subMultiset(got: readonly unknown[], xs: readonly unknown[], eid: (x: any) => string, what: string): void {
  const left = new Map<string, number>();
  for (const x of xs) left.set(eid(x), (left.get(eid(x)) ?? 0) + 1);
  for (const x of got) {
    expect(left.get(eid(x)) ?? 0, `${what}: ${eid(x)} drawn more often than it is in the model`).toBeGreaterThan(0);
    left.set(eid(x), left.get(eid(x))! - 1);
  }
}

/** Whether `got` is `xs` with some elements left out, the rest in their order. */
function subsequence(got: readonly unknown[], xs: readonly unknown[], eid: (x: any) => string, what: string): void {
  let j = 0;
  for (const x of got) {
    while (j < xs.length && eid(xs[j]) !== eid(x)) j++;
    expect(j, `${what}: ${eid(x)} is not next in the model's order`).toBeLessThan(xs.length);
    j++;
  }
}

const sameMultiset = (a: readonly unknown[], b: readonly unknown[], eid: (x: any) => string, what: string): void =>
  expect(a.map(eid).sort(), what).toEqual(b.map(eid).sort());

/** Equal as numbers: NaN to NaN, else within a relative 1e-9 (the engine merges moments in another order). */
function close(got: number, want: number, what: string): void {
  if (Number.isNaN(want) || !Number.isFinite(want)) expect(Object.is(got, want) || got === want, `${what}: ${got} vs ${want}`).toBe(true);
  else expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
}

/** Spark's StatCounter of `xs`, two-pass (empty: count 0, mean 0, sum 0, min Infinity, max -Infinity). */
function statsModel(xs: readonly number[]): Record<string, number> {
  const n = xs.length;
  const sum = xs.reduce((a, b) => a + b, 0);
  const mean = n === 0 ? 0 : sum / n;
  const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  const nan = xs.some((x) => Number.isNaN(x));
  const variance = n === 0 ? NaN : m2 / n;
  const sampleVariance = n <= 1 ? NaN : m2 / (n - 1);
  return {
    count: n,
    mean,
    sum,
    min: nan ? NaN : Math.min(Infinity, ...xs),
    max: nan ? NaN : Math.max(-Infinity, ...xs),
    variance,
    sampleVariance,
    stdev: Math.sqrt(variance),
    sampleStdev: Math.sqrt(sampleVariance),
  };
}

/**
 * The numbers the numeric actions read: an RDD of numbers itself, or a pair RDD's values (a program ends with pairs
 * far more often than with numbers). A pair is an array, a number never is; empty, either is empty.
 */
const numbersRdd = (rdd: RDD<any>, xs: readonly unknown[]): RDD<number> => (xs.length > 0 && Array.isArray(xs[0]) ? rdd.values() : rdd);
const numbersOf = (st: State): number[] => (st.shape === 'pn' ? st.xs.map(([, v]) => v as number) : (st.xs as number[]));
const allNumbers = (st: State): boolean => numbersOf(st).every((x) => typeof x === 'number');
const finiteNumbers = (st: State): boolean => numbersOf(st).every((x) => typeof x === 'number' && Number.isFinite(x));

/** The buckets a histogram is asked for: a count (pyspark's even buckets) or sorted bounds, open ends now and then. */
function bucketsFor(arg: number, xs: readonly number[]): number | number[] {
  if (arg % 2 === 0) return 1 + (arg % 7);
  const lo = xs.length === 0 ? 0 : Math.min(...xs.filter((x) => Number.isFinite(x)), 0);
  const step = 1 + (arg % 13);
  const bounds = Array.from({ length: 2 + (arg % 5) }, (_, i) => lo - 3 + i * step);
  if (arg % 3 === 0) bounds.unshift(-Infinity);
  if (arg % 5 === 0) bounds.push(Infinity);
  return bounds;
}

/** The histogram's documented counts: bucket i is [b_i, b_i+1), the last one closed; NaN and values outside not counted. */
function histogramModel(xs: readonly number[], bounds: readonly number[]): number[] {
  const counts = new Array<number>(bounds.length - 1).fill(0);
  for (const x of xs) {
    if (Number.isNaN(x) || x < bounds[0]! || x > bounds[bounds.length - 1]!) continue;
    let i = 0;
    while (i < bounds.length - 2 && x >= bounds[i + 1]!) i++;
    counts[i]!++;
  }
  return counts;
}

/** pyspark's even buckets from a count: min and max of the numbers (NaN left out), `min + i*span/n` between. */
function evenBucketsModel(xs: readonly number[], n: number): number[] | string {
  const ns = xs.filter((x) => !Number.isNaN(x));
  if (ns.length === 0) return 'no numbers';
  const min = Math.min(...ns);
  const max = Math.max(...ns);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return 'infinite';
  if (min === max || n === 1) return [min, max];
  return [...Array.from({ length: n }, (_, i) => min + (i * (max - min)) / n), max];
}

const textLineModel = (x: unknown): string | undefined =>
  typeof x === 'string'
    ? x
    : typeof x === 'number' || typeof x === 'boolean' || typeof x === 'undefined' || typeof x === 'bigint' || x === null
      ? String(x)
      : undefined;

/** Runs `f` with a fresh folder, removed afterwards. */
async function inScratch<R>(f: (dir: string) => Promise<R>): Promise<R> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-fuzz-save-'));
  try {
    return await f(path.join(dir, 'out'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ANY: readonly Shape[] = ['pn', 'po', 'in', 'io'];

/** The elements of each partition: the model's where it knows them, else together as collect gives them. */
function checkPartitions(ps: readonly unknown[][], st: State, what: string): void {
  const eid = elemId(st);
  if (st.parts !== undefined)
    expect(
      ps.map((p) => p.map(eid)),
      what,
    ).toEqual(st.parts.map((p) => p.map(eid)));
  else checkCollected(ps.flat(), st, what);
}

interface Twice {
  readonly a: readonly unknown[];
  readonly b: readonly unknown[];
}

export const EXT_ACTIONS: readonly ActionDef[] = [
  {
    // Spark's fold: each partition folded from the zero, then the partitions' results from the zero again, so a
    // zero that is not neutral counts numPartitions + 1 times.
    name: 'fold',
    on: ['in', 'pn'],
    run: (rdd, arg, xs) => numbersRdd(rdd, xs).fold(arg % 3, (a: number, b: number) => a + b),
    check: (got, st, arg, what) =>
      expect(got, `${what} (${st.rdd.getNumPartitions()} partitions)`).toBe(
        numbersOf(st).reduce((a, b) => a + b, 0) + (arg % 3) * (st.rdd.getNumPartitions() + 1),
      ),
  },
  {
    // Accumulators updated in an action count each task once, whatever ran again (Spark's guarantee for actions).
    name: 'foreach/foreachPartition',
    on: ANY,
    run: async (rdd, arg, _xs, env) => {
      const elements = env!.sc.accumulator(0);
      const numbers = env!.sc.accumulator(0);
      const partitions = env!.sc.accumulator(0);
      if (arg % 2 === 0)
        await rdd.foreach(
          capture({ elements, numbers }, (x: unknown) => {
            elements.add(1);
            if (typeof x === 'number' && Number.isInteger(x)) numbers.add(x);
          }),
        );
      else
        await rdd.foreachPartition(
          capture({ elements, numbers, partitions }, async (it: Iterable<unknown>) => {
            partitions.add(1);
            for (const x of it) {
              elements.add(1);
              if (typeof x === 'number' && Number.isInteger(x)) numbers.add(x);
            }
            await Promise.resolve();
          }),
        );
      return { elements: elements.value, numbers: numbers.value, partitions: partitions.value };
    },
    check: (got, st, arg, what) => {
      const ints = st.xs.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
      expect(got, what).toEqual({
        elements: st.xs.length,
        numbers: ints.reduce((a, b) => a + b, 0),
        partitions: arg % 2 === 0 ? 0 : st.rdd.getNumPartitions(),
      });
    },
  },
  {
    name: 'glom',
    on: ANY,
    run: (rdd) => rdd.glom().collect(),
    check: (got, st, _arg, what) => {
      const ps = got as unknown[][];
      expect(ps.length, `${what}: one array per partition`).toBe(st.rdd.getNumPartitions());
      checkPartitions(ps, st, what);
    },
  },
  {
    // Partition k's i-th element gets i * numPartitions + k (Spark's zipWithUniqueId), read by partition with glom.
    name: 'zipWithUniqueId',
    on: ANY,
    run: (rdd) => rdd.zipWithUniqueId().glom().collect(),
    check: (got, st, _arg, what) => {
      const ps = got as Array<Array<[unknown, number]>>;
      const n = st.rdd.getNumPartitions();
      expect(ps.length, what).toBe(n);
      ps.forEach((p, k) =>
        expect(
          p.map(([, u]) => u),
          `${what}: the ids of partition ${k}`,
        ).toEqual(p.map((_, i) => i * n + k)),
      );
      checkPartitions(
        ps.map((p) => p.map(([x]) => x)),
        st,
        what,
      );
    },
  },
  {
    name: 'histogram',
    on: ['in', 'io', 'pn'],
    when: allNumbers,
    run: (rdd, arg, xs) => {
      const nums = numbersRdd(rdd, xs);
      const values = xs.length > 0 && Array.isArray(xs[0]) ? xs.map((x) => (x as [unknown, number])[1]) : (xs as number[]);
      return nums.histogram(bucketsFor(arg, values)).catch((e: Error) => ({ rejected: `${e.name}: ${e.message}` }));
    },
    check: (got, st, arg, what) => {
      const xs = numbersOf(st);
      const asked = bucketsFor(arg, xs);
      if (typeof asked !== 'number') {
        expect(got, what).toEqual([asked, histogramModel(xs, asked)]);
        return;
      }
      const bounds = evenBucketsModel(xs, asked);
      if (bounds === 'no numbers') expect(got, what).toMatchObject({ rejected: expect.stringMatching(/^InvalidArgumentError: .*no numbers/) });
      else if (bounds === 'infinite') expect(got, what).toMatchObject({ rejected: expect.stringMatching(/^InvalidArgumentError: .*infinite/) });
      else {
        const [b, counts] = got as [number[], number[]];
        expect(b, `${what} (buckets)`).toEqual(bounds);
        // The counts of a count's buckets: every number once (NaN left out), as by the bounds returned.
        expect(counts, `${what} (counts)`).toEqual(bounds.length === 2 ? [xs.filter((x) => !Number.isNaN(x)).length] : histogramModel(xs, b));
      }
    },
  },
  {
    name: 'isEmpty',
    on: ANY,
    run: (rdd) => rdd.isEmpty(),
    check: (got, st, _arg, what) => expect(got, what).toBe(st.xs.length === 0),
  },
  {
    name: 'toLocalIterator',
    on: ANY,
    run: async (rdd) => {
      const out: unknown[] = [];
      for await (const x of rdd.toLocalIterator()) out.push(x);
      return out;
    },
    check: (got, st, _arg, what) => checkCollected(got as unknown[], st, what),
  },
  {
    name: 'stats',
    on: ['in', 'io', 'pn'],
    when: allNumbers,
    run: async (all, arg, xs) => {
      const rdd = numbersRdd(all, xs);
      switch (arg % 7) {
        case 0: {
          const s = await rdd.stats();
          return {
            count: s.count,
            mean: s.mean,
            sum: s.sum,
            min: s.min,
            max: s.max,
            variance: s.variance,
            sampleVariance: s.sampleVariance,
            stdev: s.stdev,
            sampleStdev: s.sampleStdev,
          };
        }
        case 1:
          return { mean: await rdd.mean() };
        case 2:
          return { stdev: await rdd.stdev() };
        case 3:
          return { sampleStdev: await rdd.sampleStdev() };
        case 4:
          return { variance: await rdd.variance() };
        case 5:
          return { sampleVariance: await rdd.sampleVariance() };
        default:
          return { sum: await rdd.sum() };
      }
    },
    check: (got, st, _arg, what) => {
      const want = statsModel(numbersOf(st));
      const g = got as Record<string, number>;
      // The moments of infinities are NaN or infinite by the order they are merged in: the count, min and max only.
      const exactOnly = !finiteNumbers(st);
      for (const [k, v] of Object.entries(g)) {
        if (k === 'count' || k === 'min' || k === 'max')
          expect(Object.is(v, want[k]) || v === want[k], `${what}: ${k} ${v} vs ${want[k]}`).toBe(true);
        else if (!exactOnly) close(v, want[k]!, `${what}: ${k}`);
        else if (Number.isNaN(want[k]!) && (k === 'mean' || k === 'sum')) expect(v, `${what}: ${k}`).toBeNaN();
      }
    },
  },
  {
    // treeAggregate is aggregate for every depth (an in-place accumulator: the zero copied per partition); treeReduce
    // is reduce, and rejects on empty data.
    name: 'treeAggregate/treeReduce',
    on: ['in', 'pn'],
    run: (all, arg, xs) => {
      const rdd = numbersRdd(all, xs);
      const depth = 1 + (arg % 4);
      if (arg % 2 === 0) return rdd.treeAggregate([0, 0], addInPlace, mergeInPlace, depth);
      return rdd.treeReduce((a: number, b: number) => a + b, depth).catch((e: Error) => ({ rejected: e.message }));
    },
    check: (got, st, arg, what) => {
      const xs = numbersOf(st);
      if (arg % 2 === 0) expect(got, what).toEqual([xs.reduce((a, b) => a + b, 0), xs.length]);
      else if (xs.length === 0) expect(got, what).toMatchObject({ rejected: expect.stringMatching(/empty/) });
      else expect(got, what).toBe(xs.reduce((a, b) => a + b));
    },
  },
  {
    name: 'takeSample',
    on: ANY,
    run: async (rdd, arg) => {
      const withReplacement = arg % 2 === 1;
      const num = (arg >> 1) % 15;
      return { a: await rdd.takeSample(withReplacement, num, arg), b: await rdd.takeSample(withReplacement, num, arg) };
    },
    check: (got, st, arg, what) => {
      const { a, b } = got as Twice;
      const withReplacement = arg % 2 === 1;
      const num = (arg >> 1) % 15;
      const eid = elemId(st);
      expect(a.length, `${what}: takeSample(${withReplacement}, ${num}) size`).toBe(
        withReplacement ? (st.xs.length === 0 ? 0 : num) : Math.min(num, st.xs.length),
      );
      // A seeded sample of an exactly ordered RDD is the same on a re-run; of a shuffled one the same multiset at least.
      if (st.order.kind === 'exact') expect(b.map(eid), `${what}: the same seed again`).toEqual(a.map(eid));
      if (withReplacement) {
        const all = new Set(st.xs.map(eid));
        for (const x of a) expect(all.has(eid(x)), `${what}: ${eid(x)} is not an element`).toBe(true);
      } else subMultiset(a, st.xs, eid, what);
    },
  },
  {
    name: 'sample',
    on: ANY,
    run: async (rdd, arg) => {
      const withReplacement = arg % 3 === 2;
      const fraction = withReplacement ? [0.5, 2][arg % 2]! : [0, 0.3, 0.7, 1][arg % 4]!;
      return { a: await rdd.sample(withReplacement, fraction, arg).collect(), b: await rdd.sample(withReplacement, fraction, arg).collect() };
    },
    check: (got, st, arg, what) => {
      const { a, b } = got as Twice;
      const withReplacement = arg % 3 === 2;
      const fraction = withReplacement ? [0.5, 2][arg % 2]! : [0, 0.3, 0.7, 1][arg % 4]!;
      const w = `${what}: sample(${withReplacement}, ${fraction})`;
      const eid = elemId(st);
      if (st.order.kind === 'exact') expect(b.map(eid), `${w}: the same seed again`).toEqual(a.map(eid));
      if (withReplacement) {
        const all = new Set(st.xs.map(eid));
        for (const x of a) expect(all.has(eid(x)), `${w}: ${eid(x)} is not an element`).toBe(true);
        return;
      }
      if (fraction === 0) expect(a, w).toEqual([]);
      if (fraction === 1) sameMultiset(a, st.xs, eid, w);
      if (st.order.kind === 'exact') subsequence(a, st.xs, eid, w);
      else subMultiset(a, st.xs, eid, w);
    },
  },
  {
    // Disjoint parts whose union is the input, the same on a re-run with the seed (Spark's randomSplit).
    name: 'randomSplit',
    on: ANY,
    run: async (rdd, arg) => {
      const weights = [
        [1, 2],
        [1, 1, 1],
        [0, 1],
        [3, 0, 1],
        [0.2, 0.8],
      ][arg % 5]!;
      const a = await Promise.all(rdd.randomSplit(weights, arg).map((r) => r.collect()));
      const b = await Promise.all(rdd.randomSplit(weights, arg).map((r) => r.collect()));
      return { a, b, weights };
    },
    check: (got, st, _arg, what) => {
      const { a, b, weights } = got as { a: unknown[][]; b: unknown[][]; weights: number[] };
      const eid = elemId(st);
      const w = `${what}: randomSplit([${weights.join(', ')}])`;
      expect(a.length, w).toBe(weights.length);
      // Each part samples its own computation of the input by position (Spark's randomSplit): over a shuffle's
      // output, recomputed in another order once spills differ (a small pool), the parts need not tile the input
      // (an element can fall in two parts, or none): each is then only a sample of it.
      if (st.order.kind === 'exact' || recomputedShufflesKeepOrder) sameMultiset(a.flat(), st.xs, eid, `${w}: the parts' union`);
      a.forEach((part, i) => {
        if (weights[i] === 0) expect(part, `${w}: part ${i} of weight 0`).toEqual([]);
        if (st.order.kind !== 'exact' && !recomputedShufflesKeepOrder) subMultiset(part, st.xs, eid, `${w}: part ${i}`);
        else if (st.order.kind === 'exact') {
          subsequence(part, st.xs, eid, `${w}: part ${i}`);
          expect(b[i]!.map(eid), `${w}: part ${i} with the same seed again`).toEqual(part.map(eid));
        } else sameMultiset(b[i]!, part, eid, `${w}: part ${i} with the same seed again`);
      });
    },
  },
  {
    name: 'sampleByKey',
    on: ['pn', 'po'],
    run: async (rdd, arg, xs) => {
      const withReplacement = arg % 2 === 1;
      const fractions = new Map(uniq((xs as Array<[unknown, unknown]>).map(([k]) => k)).map((k) => [twin(k), fractionOf(k, withReplacement)]));
      return {
        a: await rdd.sampleByKey(withReplacement, fractions, arg).collect(),
        b: await rdd.sampleByKey(withReplacement, fractions, arg).collect(),
      };
    },
    check: (got, st, arg, what) => {
      const { a, b } = got as Twice;
      const withReplacement = arg % 2 === 1;
      const eid = elemId(st);
      const w = `${what}: sampleByKey(${withReplacement})`;
      if (st.order.kind === 'exact') expect(b.map(eid), `${w}: the same seed again`).toEqual(a.map(eid));
      for (const x of a)
        expect(fractionOf((x as [unknown, unknown])[0], withReplacement), `${w}: ${eid(x)} of a key with fraction 0`).toBeGreaterThan(0);
      if (withReplacement) {
        const all = new Set(st.xs.map(eid));
        for (const x of a) expect(all.has(eid(x)), `${w}: ${eid(x)} is not an element`).toBe(true);
      } else {
        subMultiset(a, st.xs, eid, w);
        // A key of fraction 1 is kept whole.
        const whole = (st.xs as Array<[unknown, unknown]>).filter(([k]) => fractionOf(k, false) === 1);
        sameMultiset(
          (a as Array<[unknown, unknown]>).filter(([k]) => fractionOf(k, false) === 1),
          whole,
          eid,
          `${w}: the keys of fraction 1`,
        );
      }
    },
  },
  {
    // Approximate: HyperLogLog++ with 2^p registers for the relative error asked; keys equal by the engine's key
    // equality count once. Bound: five times the relative error, plus one.
    name: 'countApproxDistinct',
    on: ANY,
    run: (rdd, arg) => rdd.countApproxDistinct([0.05, 0.01][arg % 2]),
    check: (got, st, arg, what) => {
      const d = uniq(st.xs).length;
      const rsd = [0.05, 0.01][arg % 2]!;
      expect(Math.abs((got as number) - d), `${what}: countApproxDistinct(${rsd}) ${got} for ${d} distinct`).toBeLessThanOrEqual(5 * rsd * d + 1);
    },
  },
  {
    name: 'reduceByKeyLocally',
    on: ['pn'],
    run: (rdd) => rdd.reduceByKeyLocally((a: number, b: number) => a + b),
    check: (got, st, _arg, what) => {
      const m = got as Map<unknown, number>;
      const vid = st.strict ? numId : id;
      const want = [...groups(st.xs as Array<[unknown, number]>).entries()].map(([k, [, vs]]) => `${k}=${vid(vs.reduce((a, b) => a + b))}`).sort();
      expect([...m].map(([k, v]) => `${id(k)}=${vid(v)}`).sort(), what).toEqual(want);
    },
  },
  {
    // zip refuses other partition counts when called (kindling checks at once; Spark when the partitions are
    // first asked for), and other element counts in a partition when that partition runs.
    name: 'zip (mismatched)',
    on: ANY,
    run: async (rdd) => {
      const n = rdd.getNumPartitions();
      let counts: string;
      try {
        rdd.zip(rdd.coalesce(n + 1, true));
        counts = 'accepted';
      } catch (e) {
        counts = `${(e as Error).name}: ${(e as Error).message}`;
      }
      const elements = await rdd
        .zip(rdd.filter(() => false))
        .collect()
        .then(
          (xs) => xs.length,
          (e: Error) => e.message,
        );
      return { counts, elements };
    },
    check: (got, st, _arg, what) => {
      const { counts, elements } = got as { counts: string; elements: number | string };
      expect(counts, what).toMatch(/^InvalidArgumentError: Can only zip RDDs with the same number of partitions/);
      if (st.xs.length === 0) expect(elements, what).toBe(0);
      else expect(elements, what).toMatch(/Can only zip RDDs with the same number of elements in each partition/);
    },
  },
  {
    // Written and read back: objects as they were (V8 serialization), text lines as saveAsTextFile writes them,
    // JSON lines as JSON gives them back; in partition order, so an exactly ordered RDD comes back in its order.
    name: 'save and read back',
    on: ANY,
    run: (rdd, arg, _xs, env) =>
      inScratch(async (dir) => {
        const sc = env!.sc;
        switch (arg % 3) {
          case 0:
            await rdd.saveAsObjectFile(dir);
            return { kind: 'object', back: await sc.objectFile(dir).collect() };
          case 1:
            await rdd.saveAsTextFile(dir);
            return { kind: 'text', back: await sc.textFile(dir).collect() };
          default:
            try {
              await rdd.saveAsJsonLines(dir);
            } catch (e) {
              return { kind: 'json', rejected: (e as Error).message };
            }
            return { kind: 'json', back: await sc.jsonLinesFile(dir).collect() };
        }
      }),
    check: (got, st, _arg, what) => {
      const r = got as { kind: string; back?: unknown[]; rejected?: string };
      const w = `${what}: ${r.kind} file read back`;
      if (r.kind === 'object') {
        checkCollected(r.back!, st, w);
        return;
      }
      if (r.kind === 'text') {
        expect(r.back!.length, w).toBe(st.xs.length);
        // Primitive elements only: the line of an object is its JSON, as the JSON lines below check.
        const line = (xs: readonly unknown[]): string[] => xs.map(textLineModel).filter((l): l is string => l !== undefined);
        const want = line(st.xs);
        if (st.order.kind === 'exact' && want.length === st.xs.length) expect(r.back, w).toEqual(want);
        else expect(r.back!.filter((l) => want.includes(l as string)).length, w).toBeGreaterThanOrEqual(want.length);
        return;
      }
      let want: unknown[];
      try {
        want = st.xs.map((x) => {
          const s = JSON.stringify(x);
          if (s === undefined) throw new TypeError(`${typeof x} cannot be written as JSON`);
          return JSON.parse(s) as unknown;
        });
      } catch (e) {
        expect(r.rejected, `${w}: ${(e as Error).message}`).toBeDefined();
        return;
      }
      expect(r.rejected, w).toBeUndefined();
      if (st.order.kind === 'exact') expect(r.back!.map(id), w).toEqual(want.map(id));
      else expect(r.back!.map(id).sort(), w).toEqual(want.map(id).sort());
    },
  },
];

/**
 * Actions at once on one RDD (randomSplit's parts collected together found two of them writing one checkpoint):
 * each must give what it gives alone, whatever the others cache, checkpoint or shuffle meanwhile.
 */
const concurrent: ActionDef = {
  name: 'actions at once',
  on: ANY,
  run: async (rdd) => {
    const [all, n, ps, first] = await Promise.all([rdd.collect(), rdd.count(), rdd.glom().collect(), rdd.take(3)]);
    return { all, n, ps, first };
  },
  check: (got, st, _arg, what) => {
    const { all, n, ps, first } = got as { all: unknown[]; n: number; ps: unknown[][]; first: unknown[] };
    checkCollected(all, st, `${what} (collect)`);
    expect(n, `${what} (count)`).toBe(st.xs.length);
    expect(ps.length, `${what} (glom)`).toBe(st.rdd.getNumPartitions());
    checkCollected(ps.flat(), st, `${what} (glom)`);
    expect(first.length, `${what} (take(3))`).toBe(Math.min(3, st.xs.length));
    subMultiset(first, st.xs, elemId(st), `${what} (take(3))`);
  },
};

/** The extended programs' actions: the new ones weighted three to one over the old. */
const ALL_ACTIONS_EXT: readonly ActionDef[] = [...EXT_ACTIONS, concurrent, ...EXT_ACTIONS, concurrent, ...EXT_ACTIONS, concurrent, ...ACTIONS];
