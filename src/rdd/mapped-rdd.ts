import type { RddWireBody } from './wire.js';
import { oneToOne, type Dependency } from './dependency.js';
import { NotAPairError, isPair, tagUserError, InvalidDataError } from '../core/errors.js';
import type { Fn, ShippedFunction } from '../closure/index.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';
import { StorageLevel } from '../storage/storage-level.js';
import type { NumberGroupsSink } from '../shuffle/external-combiner.js';
import { eachCached, pairColumns } from '../storage/columnar-block.js';
import { manyOf, pairsOf } from '../core/many-sink.js';
import { formatTextLine } from '../io/text-format.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/** A two-input cogroup that can push its inner join without building its groups (CoGroupedRDD). */
interface InnerJoinSource {
  readonly sources: readonly unknown[];
  pushInnerJoin(p: number, tc: TaskContext, sink: Sink<unknown>, valuesOnly?: Sink<unknown>): void;
}

/**
 * Element-wise operations. User operations carry a function; the others are the engine's own steps (joins
 * flatten cogroup results, set operations pair elements with null) and ship as their name only.
 */
export type ElementOp =
  | 'map'
  | 'filter'
  | 'flatMap'
  | 'keyBy'
  | 'mapValues'
  | 'flatMapValues'
  | 'keys'
  | 'values'
  | 'pairWithNull'
  | 'joinInner'
  | 'joinLeft'
  | 'joinRight'
  | 'joinFull'
  | 'subtractByKey'
  | 'intersectKeys'
  | 'textLine';

/** The operations that carry a user function. */
const USER_FUNCTION_OPS: ReadonlySet<ElementOp> = new Set<ElementOp>(['map', 'filter', 'flatMap', 'keyBy', 'mapValues', 'flatMapValues']);

/** Operations after which the keys, and so the partitioner, are unchanged. */
const KEEPS_PARTITIONER: ReadonlySet<ElementOp> = new Set<ElementOp>([
  'filter',
  'mapValues',
  'flatMapValues',
  'joinInner',
  'joinLeft',
  'joinRight',
  'joinFull',
  'subtractByKey',
]);

/**
 * One element-wise step (Spark's MapPartitionsRDD for map/filter/flatMap). A chain of these is pipelined in one
 * pass: each step wraps the sink of the next, so no intermediate collection or iterator is created.
 */
export class MappedRDD<T, U> extends RDD<U> {
  readonly kind = 'MapPartitionsRDD';
  readonly #fn: Fn | undefined;
  readonly #shipped: ShippedFunction | undefined;

  constructor(
    readonly parent: RDD<T>,
    readonly op: ElementOp,
    fn: Function | undefined,
    options: RddOptions = {},
  ) {
    super(parent.context, { op, ...options });
    this.inheritPartitionCount(parent);
    this.#fn = fn as Fn | undefined;
    // map(), filter() and the like called without a function are refused here, not in the workers' first task.
    if (fn !== undefined || USER_FUNCTION_OPS.has(op)) this.#shipped = this.context.ship(fn as Function, `${op} function of ${this.label}`);
    if (KEEPS_PARTITIONER.has(op)) this.partitioner = parent.partitioner;
  }

  getNumPartitions(): number {
    return this.inheritedNumPartitions();
  }
  protected getDependencies(): readonly Dependency[] {
    return [oneToOne(this.parent)];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'MappedRDD', args: { op: this.op, fn: this.#shipped } };
  }

  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<U>): void {
    const join = this.#innerJoinSource();
    if (join !== undefined) {
      // A join straight from its inputs, in the order flattening the cogroup gives (what parent.forEach would do).
      tc.computed?.(this.parent.id);
      join.pushInnerJoin(p, tc, sink as Sink<unknown>);
      return;
    }
    const parentJoin = this.op === 'values' && this.parent instanceof MappedRDD ? this.parent.#innerJoinSource() : undefined;
    if (parentJoin !== undefined && this.parent.storageLevel === StorageLevel.NONE) {
      // A join's values, straight from its inputs: the join's [k, [v, w]] would only be taken apart again.
      tc.computed?.(this.parent.id);
      tc.computed?.((this.parent as MappedRDD<unknown, unknown>).parent.id);
      parentJoin.pushInnerJoin(p, tc, sink as Sink<unknown>, sink as Sink<unknown>);
      return;
    }
    if ((this.op === 'values' || this.op === 'keys') && this.parent.storageLevel !== StorageLevel.NONE) {
      // A cached partition held as columns gives its keys or values without a pair built for each.
      const cached = this.parent.cachedPartition(p, tc)!;
      const columns = pairColumns(cached);
      if (columns === undefined) eachCached(cached, this.#step(sink) as Sink<unknown>);
      else if (this.op === 'keys')
        for (let i = 0, keys = columns.keys; i < keys.length; i++) {
          if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
          (sink as Sink<unknown>)(keys[i]);
        }
      else
        for (let i = 0, n = columns.keys.length; i < n; i++) {
          if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
          (sink as Sink<unknown>)(columns.valueAt(i));
        }
      return;
    }
    if (this.op === 'map' && this.parent.storageLevel !== StorageLevel.NONE) {
      // A partition cached as an array (points, records) is mapped in one loop: no call per element through the
      // cache reader's sink and this step's closure on the way to the user's function.
      const cached = this.parent.cachedPartition(p, tc)!;
      if (Array.isArray(cached)) {
        mapArray(
          cached as readonly unknown[],
          this.#fn as Fn,
          sink as Sink<unknown>,
          (e) => {
            throw tagUserError(e, this.id, this.label);
          },
          () => promiseResult(this.op, this.label),
        );
        return;
      }
      eachCached(cached, this.#step(sink) as Sink<unknown>);
      return;
    }
    this.parent.forEach(p, tc, this.#step(sink));
  }

  /**
   * A mapValues hands columns on as columns: its function runs once per value, in order, and only where a result is
   * not a number do the groups go on as pairs (those before it with the values already computed).
   */
  protected override pushComputeOrColumns(p: number, tc: TaskContext, sink: Sink<U>, columns: NumberGroupsSink): void {
    if (this.op !== 'mapValues') {
      this.pushCompute(p, tc, sink);
      return;
    }
    const f = this.#fn as Fn;
    const out = sink as Sink<unknown>;
    const fail = (e: unknown): never => {
      throw tagUserError(e, this.id, this.label);
    };
    const apply = (v: number): unknown => {
      let w: unknown;
      try {
        w = f(v);
      } catch (e) {
        fail(e);
      }
      if (w instanceof Promise) fail(promiseResult(this.op, this.label));
      return w;
    };
    this.parent.forEachOrColumns(p, tc, this.#step(sink), (keys, combiners, hashes, ownCombiners) => {
      const n = keys.length;
      // Combiners that are ours (an earlier mapValues' results) take the results in place: each is read once, before
      // its own result is written, so the fallback below still sees the combiners after the one that failed.
      const mapped = ownCombiners === true ? combiners : new Float64Array(n);
      const i = mapNumbers(f, combiners, mapped, n, fail, this.op, this.label);
      if (i === n) {
        columns(keys, mapped, hashes, true);
        return;
      }
      const w = notANumber;
      notANumber = undefined;
      for (let j = 0; j < i; j++) out([keys[j], mapped[j]]);
      out([keys[i], w]);
      for (let j = i + 1; j < n; j++) out([keys[j], apply(combiners[j]!)]);
    });
  }

  /** The parent, when this is an inner join of a two-input cogroup that is computed (not read from a cache). */
  #innerJoinSource(): InnerJoinSource | undefined {
    const parent = this.parent as RDD<T> & Partial<InnerJoinSource>;
    const usable = this.op === 'joinInner' && parent.pushInnerJoin !== undefined && parent.sources?.length === 2;
    return usable && parent.storageLevel === StorageLevel.NONE ? (parent as InnerJoinSource) : undefined;
  }

  *compute(p: number, tc: TaskContext): Iterable<U> {
    if (this.#innerJoinSource() !== undefined) {
      // The cogroup's compute lists its whole partition too.
      const all: U[] = [];
      this.pushCompute(p, tc, (y) => all.push(y));
      yield* all;
      return;
    }
    const buffer: U[] = [];
    const step = this.#step((y) => buffer.push(y));
    for (const x of this.parent.iterator(p, tc)) {
      step(x);
      if (buffer.length > 0) {
        yield* buffer;
        buffer.length = 0;
      }
    }
  }

  /** The function that takes one parent element and pushes this RDD's elements for it into `sink`. */
  #step(sink: Sink<U>): Sink<T> {
    const f = this.#fn as Fn;
    const out = sink as Sink<unknown>;
    const fail = (e: unknown): never => {
      throw tagUserError(e, this.id, this.label);
    };
    const notAPair = (x: unknown): never => {
      throw new NotAPairError(this.label, this.parent.label, x);
    };
    switch (this.op) {
      case 'map': {
        const apply = (x: T): unknown => {
          let y: unknown;
          try {
            y = f(x);
          } catch (e) {
            fail(e);
          }
          if (y instanceof Promise) fail(promiseResult(this.op, this.label));
          return y;
        };
        const kv = pairsOf(out);
        if (kv === undefined) return (x) => out(apply(x));
        // A sink that takes a pair's halves (the shuffle writer's combine): read the pair here, where the user's
        // function made it, so that V8 need not allocate it (docs/benchmarks.md, session 11).
        return (x) => {
          const y = apply(x);
          if (isPair(y)) kv((y as unknown as [unknown, unknown])[0], (y as unknown as [unknown, unknown])[1]);
          else out(y);
        };
      }
      case 'filter':
        return (x) => {
          let keep: unknown;
          try {
            keep = f(x);
          } catch (e) {
            fail(e);
          }
          // A Promise is truthy: without this check an async predicate would keep everything, silently.
          if (keep instanceof Promise) fail(promiseResult(this.op, this.label));
          if (keep) out(x);
        };
      case 'flatMap': {
        // A sink that takes whole arrays (the shuffle writer's combine) gets each result array in one call.
        const many = manyOf(out);
        return (x) => {
          let ys: Iterable<unknown>;
          try {
            ys = f(x) as Iterable<unknown>;
          } catch (e) {
            return fail(e);
          }
          if (many !== undefined && Array.isArray(ys)) many(ys);
          else pushAll(ys, out, this);
        };
      }
      case 'keyBy':
        return (x) => {
          let k: unknown;
          try {
            k = f(x);
          } catch (e) {
            fail(e);
          }
          out([k, x]);
        };
      case 'mapValues':
        return (x) => {
          if (!isPair(x)) notAPair(x);
          const kv = x as unknown as [unknown, unknown];
          let w: unknown;
          try {
            w = f(kv[1]);
          } catch (e) {
            fail(e);
          }
          if (w instanceof Promise) fail(promiseResult(this.op, this.label));
          out([kv[0], w]);
        };
      case 'flatMapValues':
        return (x) => {
          if (!isPair(x)) notAPair(x);
          const kv = x as unknown as [unknown, unknown];
          let ws: Iterable<unknown>;
          try {
            ws = f(kv[1]) as Iterable<unknown>;
          } catch (e) {
            return fail(e);
          }
          const k = kv[0];
          pushAll(ws, (w) => out([k, w]), this);
        };
      case 'keys':
        return (x) => {
          if (!isPair(x)) notAPair(x);
          out((x as unknown as [unknown, unknown])[0]);
        };
      case 'values':
        return (x) => {
          if (!isPair(x)) notAPair(x);
          out((x as unknown as [unknown, unknown])[1]);
        };
      case 'pairWithNull':
        return (x) => out([x, null]);
      case 'textLine':
        // pipe's input lines, written as saveAsTextFile writes them (the analogue of the toString Spark's pipe prints).
        return (x) => out(formatTextLine(x));
      default:
        return cogroupStep(this.op, out);
    }
  }
}

/** The first result of {@link mapNumbers} that is not a number (read at once by its caller). */
let notANumber: unknown;

/**
 * `f` of each of the first `n` combiners, in order, into `mapped` (which may be `combiners` itself: each is read before its result is
 * written) up to the first result that is not a number, left in `notANumber`. Returns that result's index, or the
 * length when every result is a number.
 *
 * A module-level function, not a closure made per task, because V8 holds a closure's optimized code only weakly
 * between tasks: after a full collection in the worker the next task's closure started its loop over 45k ranks in
 * the interpreter and compiled it again (`--trace-opt`), where this function keeps its code.
 */
function mapNumbers(
  f: Fn,
  combiners: Float64Array,
  mapped: Float64Array,
  n: number,
  fail: (e: unknown) => never,
  op: ElementOp,
  label: string,
): number {
  for (let i = 0; i < n; i++) {
    let w: unknown;
    try {
      w = f(combiners[i]!);
    } catch (e) {
      fail(e);
    }
    if (typeof w === 'number') {
      mapped[i] = w;
      continue;
    }
    if (w instanceof Promise) fail(promiseResult(op, label));
    notANumber = w;
    return i;
  }
  return n;
}

/**
 * Pushes every element of an iterable; arrays take the fast path. The RDD is named only when the function returned
 * no iterable: its label is a new string each time it is read, and this runs once per input element.
 */
function pushAll(ys: Iterable<unknown>, out: Sink<unknown>, rdd: { readonly label: string }): void {
  // One record may explode into millions: the source's check per input record would not come in time.
  if (Array.isArray(ys)) {
    for (let i = 0; i < ys.length; i++) {
      if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      out(ys[i]);
    }
    return;
  }
  if (ys === null || ys === undefined || typeof (ys as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new InvalidDataError(`the function of ${rdd.label} must return an Iterable (e.g. an array), got ${describeResult(ys)}`);
  }
  let i = 0;
  for (const y of ys) {
    if ((++i & INTERRUPT_MASK) === 0) checkInterrupted();
    out(y);
  }
}

/** What a function returned instead of an Iterable, in words that point at the fix. */
export function describeResult(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Promise) return 'a Promise: RDD functions are called synchronously, so they cannot be async or return Promises';
  if (typeof v === 'object' && typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    return 'an async iterable: RDD functions are called synchronously; use a plain generator (function*)';
  }
  return typeof v;
}

/**
 * What a map step over `xs` pushes to `sink` (see #step's 'map'): `f` of each element, a pair handed on as its two
 * halves where the sink takes them (the shuffle writer's combine), an error of `f` (or a Promise it returns) through
 * `fail`. A function of its own, so that its call sites see only the maps over cached arrays of the worker.
 */
function mapArray(xs: readonly unknown[], f: Fn, sink: Sink<unknown>, fail: (e: unknown) => never, promise: () => TypeError): void {
  const kv = pairsOf(sink);
  for (let i = 0; i < xs.length; i++) {
    if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
    let y: unknown;
    try {
      y = f(xs[i]);
    } catch (e) {
      fail(e);
    }
    if (y instanceof Promise) fail(promise());
    if (kv !== undefined && isPair(y)) kv((y as unknown as [unknown, unknown])[0], (y as unknown as [unknown, unknown])[1]);
    else sink(y);
  }
}

function promiseResult(op: ElementOp, label: string): TypeError {
  return new TypeError(
    `the ${op} function of ${label} returned a Promise: RDD functions are called synchronously and must return ` +
      'their result. Use rdd.mapAsync(f, { concurrency }), which awaits, or synchronous APIs inside the function.',
  );
}

/** Steps over cogroup output `[k, [vs, ws]]` for joins and key-set operations. */
function cogroupStep(op: ElementOp, out: Sink<unknown>): Sink<unknown> {
  type Group = [unknown, [unknown[], unknown[]]];
  switch (op) {
    case 'joinInner':
      return (x) => {
        const [k, [vs, ws]] = x as Group;
        for (const v of vs) for (const w of ws) out([k, [v, w]]);
      };
    case 'joinLeft':
      return (x) => {
        const [k, [vs, ws]] = x as Group;
        for (const v of vs) {
          if (ws.length === 0) out([k, [v, null]]);
          else for (const w of ws) out([k, [v, w]]);
        }
      };
    case 'joinRight':
      return (x) => {
        const [k, [vs, ws]] = x as Group;
        for (const w of ws) {
          if (vs.length === 0) out([k, [null, w]]);
          else for (const v of vs) out([k, [v, w]]);
        }
      };
    case 'joinFull':
      return (x) => {
        const [k, [vs, ws]] = x as Group;
        if (vs.length === 0) for (const w of ws) out([k, [null, w]]);
        else if (ws.length === 0) for (const v of vs) out([k, [v, null]]);
        else for (const v of vs) for (const w of ws) out([k, [v, w]]);
      };
    case 'subtractByKey':
      return (x) => {
        const [k, [vs, ws]] = x as Group;
        if (ws.length === 0) for (const v of vs) out([k, v]);
      };
    case 'intersectKeys':
      return (x) => {
        const [k, [vs, ws]] = x as Group;
        if (vs.length > 0 && ws.length > 0) out(k);
      };
    default:
      // internal: exhaustive switch over the element operations
      throw new Error(`unknown element operation ${op}`);
  }
}
