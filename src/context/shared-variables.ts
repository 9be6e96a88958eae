/**
 * Broadcast variables and accumulators: the two kinds of shared state a shipped function may capture.
 * Both ship themselves as an id (see closure/ `kShip`); the value itself travels separately: a broadcast once
 * per worker, an accumulator's per-task additions back with each successful task.
 */
import { inspect } from 'node:util';
import { findUnclonable, kShip, shipFunction, type Shippable, type WireShippable } from '../closure/index.js';
import { UnclonableDataError, IllegalStateError } from '../core/errors.js';
import type { AccumulatorKind } from '../closure/index.js';
import { numberToAdd } from '../exec/task-runtime.js';
import { userCallSite } from '../util/call-site.js';

/**
 * A value as an accumulator's description shows it: on one line, shallow (`10`, `[ 'a' ]`, `Set(1) { 7 }`).
 */
function shown(value: unknown): string {
  return inspect(value, { breakLength: Number.POSITIVE_INFINITY, depth: 1 });
}

/** Scala's AccumulatorV2 `toString`: `LongAccumulator(id: 0, name: bytes, value: 10)`, the name only when it has one. */
function describeV2(kind: string, id: number, name: string | undefined, value: unknown): string {
  return `${kind}(id: ${id}, ${name === undefined ? '' : `name: ${name}, `}value: ${shown(value)})`;
}

/**
 * A read-only value shipped to each worker once, however many tasks use it. Declare it in `capture` and read
 * `.value` inside the function.
 *
 * @example
 * ```ts
 * const stop = sc.broadcast(new Set(['the', 'a']));
 * words.filter(capture({ stop }, (w) => !stop.value.has(w)));
 * ```
 */
export class Broadcast<T> implements Shippable {
  /** Where `destroy()` was called (`file.ts:12`), once it was. */
  #destroyedAt: string | undefined;
  #value: T | undefined;
  constructor(
    readonly id: number,
    value: T,
    private readonly onDestroy: (id: number) => void,
    private readonly onUnpersist: (id: number) => void = () => {},
    /** @internal The token of the context that created it. */
    readonly owner?: string,
  ) {
    this.#value = value;
    // The value reaches workers by structured clone, as captured values do: the same check, at the call.
    const problem = findUnclonable(value, 'value');
    if (problem !== undefined) {
      throw new UnclonableDataError(
        `broadcast(value): ${problem.path} is ${problem.reason}. Broadcast plain data (numbers, strings, arrays, plain ` +
          'objects, Map, Set, typed arrays, Date), and turn methods into functions.',
      );
    }
  }
  /**
   * The value, on the driver (inside a task, `.value` reads the worker's copy). After `destroy()` it is gone, as in
   * Spark ("Attempted to use Broadcast(id) after it was destroyed"): a read throws rather than answer from a value
   * the workers no longer hold.
   *
   * @example
   * ```ts
   * const lookup = sc.broadcast(new Map([['a', 1]]));
   * lookup.value.get('a'); // 1
   * ```
   */
  get value(): T {
    if (this.#destroyedAt !== undefined) throw this.#destroyedError(`attempted to read broadcast ${this.id}.value after it was destroyed`);
    return this.#value as T;
  }
  [kShip](): WireShippable {
    if (this.#destroyedAt !== undefined) throw this.#destroyedError(`broadcast ${this.id} was destroyed and cannot be used in a new job`);
    return { t: 'broadcast', id: this.id, ...(this.owner !== undefined ? { owner: this.owner } : {}) };
  }
  #destroyedError(what: string): IllegalStateError {
    return new IllegalStateError(
      `${what} (destroy() at ${this.#destroyedAt}). ` + "Use unpersist() to free the workers' copies and keep the broadcast usable.",
    );
  }
  /**
   * Removes the value's copies from the workers, as Spark's `unpersist`: a later job that uses the broadcast
   * ships it again. Call it when no running job uses it.
   *
   * @example
   * ```ts
   * const lookup = sc.broadcast(bigMap);
   * await rdd.map(capture({ lookup }, (k) => lookup.value.get(k))).count();
   * lookup.unpersist(); // workers free it; still usable
   * ```
   */
  unpersist(): void {
    if (this.#destroyedAt !== undefined) return;
    this.onUnpersist(this.id);
  }
  /**
   * Removes the value from every worker and from the driver; later jobs cannot use it (a function that captures
   * it is refused when its job is built) and reading `.value` throws.
   *
   * @example
   * ```ts
   * lookup.destroy();
   * ```
   */
  destroy(): void {
    if (this.#destroyedAt !== undefined) return;
    this.#destroyedAt = userCallSite();
    // The driver's copy goes too (Spark's destroy removes it everywhere): a destroyed broadcast holds no memory.
    this.#value = undefined;
    this.onDestroy(this.id);
  }
  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroyedAt !== undefined;
  }
  /**
   * `Broadcast(id)`, as Scala's shell shows one (also what `console.log` prints): the value stays out of it, since
   * a broadcast is usually large.
   *
   * @example
   * ```ts
   * String(sc.broadcast([1, 2, 3])); // 'Broadcast(0)'
   * ```
   */
  toString(): string {
    return `Broadcast(${this.id})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A value tasks can only add to; the driver reads the total. Additions from a task count once, and only if the
 * task succeeds (retries and discarded speculative copies do not count twice).
 *
 * @example
 * ```ts
 * const blank = sc.accumulator(0, 'blank lines');
 * await lines.foreach(capture({ blank }, (l) => { if (l === '') blank.add(1); }));
 * blank.value; // number of blank lines
 * ```
 */
export class Accumulator<T> implements Shippable {
  #value: T;
  constructor(
    readonly id: number,
    readonly kind: AccumulatorKind,
    initial: T,
    readonly name: string | undefined,
    /** @internal The token of the context that created it. */
    readonly owner?: string,
  ) {
    this.#value = initial;
  }
  get value(): T {
    return this.#value;
  }
  /** Adds on the driver (inside tasks, `add` goes to the task's own copy). */
  add(v: T extends (infer E)[] ? E : T): void {
    this.merge(this.kind === 'list' ? [v] : numberToAdd(this.id, v));
  }
  /** @internal merges one successful task's additions */
  merge(delta: unknown): void {
    if (this.kind === 'sum') this.#value = ((this.#value as number) + (delta as number)) as T;
    else this.#value = [...(this.#value as unknown[]), ...(delta as unknown[])] as T;
  }
  [kShip](): WireShippable {
    return { t: 'accumulator', id: this.id, ...(this.owner !== undefined ? { owner: this.owner } : {}) };
  }
  /**
   * The id and the value on the driver, as PySpark's shell shows an accumulator (also what `console.log` prints),
   * so that printing one does not hide its value.
   *
   * @example
   * ```ts
   * String(sc.accumulator(0)); // 'Accumulator<id=0, value=0>'
   * ```
   */
  toString(): string {
    return `Accumulator<id=${this.id}, ${this.name === undefined ? '' : `name=${this.name}, `}value=${shown(this.#value)}>`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * What a custom accumulator does (Spark's AccumulatorV2, pyspark's AccumulatorParam): `zero` makes an empty
 * value, `add` adds one element to a value and returns it (it may change `acc` in place), `merge` combines two
 * values. `zero` and `add` run in the tasks, so they follow the rules of every shipped function (arguments,
 * standard globals, what they declare with `capture`); `merge` runs on the driver only and may use anything.
 */
export interface AccumulatorParam<T, V> {
  zero(): T;
  add(acc: T, v: V): T;
  merge(a: T, b: T): T;
}

/**
 * An accumulator of any mergeable value: a set of distinct items, a histogram, a max. As Spark's AccumulatorV2:
 * each task adds into its own copy, started from `zero()` in the worker; the copy goes back with the task's
 * result (so it must be structured-clonable) and the driver `merge`s it into the total once per task, only if
 * the task succeeds: failed attempts and the losing copy of a speculative task never count. (As in Spark, a
 * stage computed again because its output was lost counts again; only additions made in actions are
 * guaranteed to count once.)
 *
 * @example
 * ```ts
 * const seen = sc.customAccumulator({ zero: () => new Set<string>(), add: (s, v: string) => s.add(v), merge: (a, b) => new Set([...a, ...b]) });
 * await words.foreach(capture({ seen }, (w) => seen.add(w)));
 * seen.value.size;
 * ```
 */
export class CustomAccumulator<T, V> implements Shippable {
  /** How a task makes and grows its copy: `zero` and `add`, shipped (checked here, at creation). */
  readonly kind: AccumulatorKind;
  #total: T;
  constructor(
    readonly id: number,
    readonly param: AccumulatorParam<T, V>,
    readonly name: string | undefined,
    /** @internal The token of the context that created it. */
    readonly owner?: string,
  ) {
    const what = `custom accumulator ${name === undefined ? id : `'${name}'`}`;
    this.kind = { custom: { zero: shipFunction(param.zero, `zero of ${what}`), add: shipFunction(param.add, `add of ${what}`) } };
    this.#total = param.zero();
  }
  get value(): T {
    return this.#total;
  }
  /** Adds on the driver (inside tasks, `add` goes to the task's own list of elements). */
  add(v: V): void {
    this.#total = this.param.add(this.#total, v);
  }
  [kShip](): WireShippable {
    return { t: 'accumulator', id: this.id, ...(this.owner !== undefined ? { owner: this.owner } : {}) };
  }
  /** @internal merges one successful task's copy */
  merge(taskCopy: unknown): void {
    this.#total = this.param.merge(this.#total, taskCopy as T);
  }
  /**
   * Scala's AccumulatorV2 description, the driver's value included (also what `console.log` prints).
   *
   * @example
   * ```ts
   * String(seen); // 'CustomAccumulator(id: 3, name: seen, value: Set(2) { 'a', 'b' })'
   * ```
   */
  toString(): string {
    return describeV2('CustomAccumulator', this.id, this.name, this.#total);
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/** A task's copy of a long or double accumulator: the sum of what it added, and how many numbers. */
type SumCount = [sum: number, count: number];

// Shipped to the workers as the accumulators' `zero` and `add`: they use their arguments and standard globals only.
function zeroSumCount(): SumCount {
  return [0, 0];
}
function addLong(acc: SumCount, v: unknown): SumCount {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    // shipped: runs in workers as its own source text, where no kindling error class is in scope
    throw new TypeError(
      `a long accumulator adds whole numbers, got ${typeof v === 'number' ? v : typeof v}; use sc.doubleAccumulator() for fractions`,
    );
  }
  acc[0] += v;
  acc[1] += 1;
  return acc;
}
function addDouble(acc: SumCount, v: unknown): SumCount {
  // shipped: runs in workers as its own source text, where no kindling error class is in scope
  if (typeof v !== 'number') throw new TypeError(`a double accumulator adds numbers, got ${typeof v}; convert it first (Number(x))`);
  acc[0] += v;
  acc[1] += 1;
  return acc;
}

/**
 * Scala's LongAccumulator and DoubleAccumulator (AccumulatorV2): the sum of the numbers tasks add, and their count,
 * so that the driver also has their mean. Built on the custom accumulator's mechanism (each task adds into its own
 * copy, merged on the driver once per successful task).
 */
abstract class SumCountAccumulator implements Shippable {
  readonly kind: AccumulatorKind;
  readonly #add: (acc: SumCount, v: unknown) => SumCount;
  #sum = 0;
  #count = 0;
  constructor(
    readonly id: number,
    readonly name: string | undefined,
    /** @internal The token of the context that created it. */
    readonly owner: string | undefined,
    add: (acc: SumCount, v: unknown) => SumCount,
  ) {
    this.#add = add;
    const what = `${name === undefined ? `accumulator ${id}` : `accumulator '${name}'`}`;
    this.kind = { custom: { zero: shipFunction(zeroSumCount, `zero of ${what}`), add: shipFunction(this.#add, `add of ${what}`) } };
  }
  /** The sum (Scala's `value`). */
  get value(): number {
    return this.#sum;
  }
  /** The sum of the numbers added. */
  get sum(): number {
    return this.#sum;
  }
  /** How many numbers were added. */
  get count(): number {
    return this.#count;
  }
  /** Their mean: `sum / count` (NaN before any was added, as Scala's 0.0 / 0). */
  get avg(): number {
    return this.#sum / this.#count;
  }
  /** Whether nothing was added (or it was `reset()`). */
  get isZero(): boolean {
    return this.#sum === 0 && this.#count === 0;
  }
  /** Adds a number on the driver (inside tasks, `add` goes to the task's own copy). */
  add(v: number): void {
    [this.#sum, this.#count] = this.#add([this.#sum, this.#count], v);
  }
  /** Back to zero, on the driver; what tasks of a running job add still arrives. */
  reset(): void {
    this.#sum = 0;
    this.#count = 0;
  }
  /** Adds another accumulator's sum and count to this one (Scala's `merge`); the context merges tasks' copies with it too. */
  merge(other: SumCountAccumulator | SumCount): void {
    const [sum, count] = other instanceof SumCountAccumulator ? [other.sum, other.count] : other;
    this.#sum += sum;
    this.#count += count;
  }
  [kShip](): WireShippable {
    return { t: 'accumulator', id: this.id, ...(this.owner !== undefined ? { owner: this.owner } : {}) };
  }
  /**
   * Scala's description (`LongAccumulator(id: 0, name: bytes, value: 10)`; also what `console.log` prints).
   *
   * @example
   * ```ts
   * String(sc.longAccumulator('My Accumulator')); // 'LongAccumulator(id: 0, name: My Accumulator, value: 0)'
   * ```
   */
  toString(): string {
    return describeV2(this instanceof LongAccumulator ? 'LongAccumulator' : 'DoubleAccumulator', this.id, this.name, this.#sum);
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * An accumulator of whole numbers with their count and mean (Scala's LongAccumulator, `sc.longAccumulator`): tasks
 * `add`, the driver reads `value` (the sum), `sum`, `count`, `avg`, `isZero`, and may `reset()`. A fraction added
 * fails the task. Sums are exact up to 2^53.
 *
 * @example
 * ```ts
 * const bytes = sc.longAccumulator('bytes');
 * await lines.foreach(capture({ bytes }, (l) => bytes.add(l.length)));
 * console.log(bytes.value, bytes.count, bytes.avg); // total, lines, mean line length
 * ```
 */
export class LongAccumulator extends SumCountAccumulator {
  constructor(id: number, name?: string, owner?: string) {
    super(id, name, owner, addLong);
  }
}

/**
 * An accumulator of numbers with their count and mean (Scala's DoubleAccumulator, `sc.doubleAccumulator`), as
 * {@link LongAccumulator} for any number.
 *
 * @example
 * ```ts
 * const latency = sc.doubleAccumulator('latency');
 * await calls.foreach(capture({ latency }, (c) => latency.add(c.ms)));
 * latency.avg; // mean latency
 * ```
 */
export class DoubleAccumulator extends SumCountAccumulator {
  constructor(id: number, name?: string, owner?: string) {
    super(id, name, owner, addDouble);
  }
}
