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
  /** Removes the value from every worker; later jobs cannot use it. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.onDestroy(this.id);
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
