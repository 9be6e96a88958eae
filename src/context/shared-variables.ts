/**
 * Broadcast variables and accumulators: the two kinds of shared state a shipped function may capture.
 * Both ship themselves as an id (see closure/ `kShip`); the value itself travels separately: a broadcast once
 * per worker, an accumulator's per-task additions back with each successful task.
 */
import { findUnclonable, kShip, type Shippable, type WireShippable } from '../closure/index.js';
import { UnclonableDataError, IllegalStateError } from '../core/errors.js';
import type { AccumulatorKind } from '../closure/index.js';

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
  #destroyed = false;
  constructor(
    readonly id: number,
    readonly value: T,
    private readonly onDestroy: (id: number) => void,
    private readonly onUnpersist: (id: number) => void = () => {},
    /** @internal The token of the context that created it. */
    readonly owner?: string,
  ) {
    // The value reaches workers by structured clone, as captured values do: the same check, at the call.
    const problem = findUnclonable(value, 'value');
    if (problem !== undefined) {
      throw new UnclonableDataError(
        `broadcast(value): ${problem.path} is ${problem.reason}. Broadcast plain data (numbers, strings, arrays, plain ` +
          'objects, Map, Set, typed arrays, Date), and turn methods into functions.',
      );
    }
  }
  [kShip](): WireShippable {
    if (this.#destroyed) throw new IllegalStateError(`broadcast ${this.id} was destroyed and cannot be used in a new job`);
    return { t: 'broadcast', id: this.id, ...(this.owner !== undefined ? { owner: this.owner } : {}) };
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
    if (this.#destroyed) return;
    this.onUnpersist(this.id);
  }
  /**
   * Removes the value from every worker and the driver's registry; later jobs cannot use it (a function that
   * captures it is refused when its job is built).
   *
   * @example
   * ```ts
   * lookup.destroy();
   * ```
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.onDestroy(this.id);
  }
  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroyed;
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
    this.merge(this.kind === 'list' ? [v] : v);
  }
  /** @internal merges one successful task's additions */
  merge(delta: unknown): void {
    if (this.kind === 'sum') this.#value = ((this.#value as number) + (delta as number)) as T;
    else this.#value = [...(this.#value as unknown[]), ...(delta as unknown[])] as T;
  }
  [kShip](): WireShippable {
    return { t: 'accumulator', id: this.id, ...(this.owner !== undefined ? { owner: this.owner } : {}) };
  }
}

/**
 * What a custom accumulator does (Spark's AccumulatorV2, pyspark's AccumulatorParam): `zero` makes an empty
 * value, `add` adds one element to a value, `merge` combines two values. All three run on the driver only.
 */
export interface AccumulatorParam<T, V> {
  zero(): T;
  add(acc: T, v: V): T;
  merge(a: T, b: T): T;
}

/**
 * An accumulator of any mergeable value: a set of distinct items, a histogram, a max. Tasks `add` elements;
 * each successful task's elements reach the driver once, where they are added to a fresh `zero()` in task order
 * and the result is `merge`d into the total (so the elements must be structured-clonable; `add` and `merge` need
 * not be shipped and may use anything).
 *
 * @example
 * ```ts
 * const seen = sc.customAccumulator({ zero: () => new Set<string>(), add: (s, v: string) => s.add(v), merge: (a, b) => new Set([...a, ...b]) });
 * await words.foreach(capture({ seen }, (w) => seen.add(w)));
 * seen.value.size;
 * ```
 */
export class CustomAccumulator<T, V> implements Shippable {
  /** Tasks collect the elements they add in a list, like a collection accumulator's. */
  readonly kind: AccumulatorKind = 'list';
  #total: T;
  constructor(
    readonly id: number,
    readonly param: AccumulatorParam<T, V>,
    readonly name: string | undefined,
    /** @internal The token of the context that created it. */
    readonly owner?: string,
  ) {
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
  /** @internal merges one successful task's elements */
  merge(delta: unknown): void {
    let partial = this.param.zero();
    for (const v of delta as V[]) partial = this.param.add(partial, v);
    this.#total = this.param.merge(this.#total, partial);
  }
}
