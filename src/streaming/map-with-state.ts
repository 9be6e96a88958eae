/**
 * `mapWithState` (Spark's StateSpec and State): the per-batch step shipped to the workers, which calls the user's
 * function once per record with the key's state, times out idle keys, and tags what it emits as state or as
 * mapped data (one RDD per batch holds both, so the state is computed once for the mapped stream, the snapshots
 * and the next batch).
 */
import { capture } from '../closure/index.js';
import { ArgumentTypeError, InvalidArgumentError } from '../core/errors.js';
import type { Partitioner } from '../core/partitioner.js';
import type { RDD } from '../rdd/index.js';
import { type Duration, parseDuration } from './duration.js';

/**
 * The state of one key inside a `mapWithState` function (Spark's State).
 *
 * @example
 * ```ts
 * const fn = (word: string, one: number | undefined, state: State<number>) => {
 *   const sum = (state.getOption() ?? 0) + (one ?? 0);
 *   if (!state.isTimingOut()) state.update(sum);
 *   return [word, sum];
 * };
 * ```
 */
export interface State<S> {
  /** Whether the key has a state. */
  exists(): boolean;
  /** The state; throws when the key has none (use `getOption()` or check `exists()`). */
  get(): S;
  /** The state, or undefined when the key has none. */
  getOption(): S | undefined;
  /** Sets the key's state; refused while the key is timing out, and after remove() in the same call (as Spark). */
  update(state: S): void;
  /** Removes the key's state; refused while the key is timing out (it is removed anyway), and a second time in one call. */
  remove(): void;
  /** True in the one call a key gets when it timed out (its value is then undefined). */
  isTimingOut(): boolean;
}

/** The function of a {@link StateSpec}: called once per record (`value` undefined when the key is timing out). */
export type MappingFunction<K, V, S, M> = (key: K, value: V | undefined, state: State<S>) => M | undefined;

/**
 * What `mapWithState` does (Spark's StateSpec): the mapping function, and optionally an initial state, the
 * partitioning of the state, and a timeout after which a key that received no data is removed (its function
 * called one last time with `state.isTimingOut()` true).
 *
 * @example
 * ```ts
 * const spec = StateSpec.function((word: string, one: number | undefined, state: State<number>) => {
 *   const sum = (state.getOption() ?? 0) + (one ?? 0);
 *   if (!state.isTimingOut()) state.update(sum);
 *   return [word, sum] as [string, number];
 * }).timeout('30s');
 * const running = pairs.mapWithState(spec);  // [word, running count] for every record
 * running.stateSnapshots().print();          // every key's state, every batch
 * ```
 */
export class StateSpec<K, V, S, M> {
  /** @internal */
  readonly fn: MappingFunction<K, V, S, M>;
  /** @internal */
  initial: RDD<[K, S]> | undefined;
  /** @internal */
  partitioning: number | Partitioner | undefined;
  /** @internal */
  timeoutMs: number | undefined;

  private constructor(fn: MappingFunction<K, V, S, M>) {
    this.fn = fn;
  }

  /** A spec calling `fn(key, value, state)` for every record. @example `StateSpec.function((k, v, s) => v)` */
  static function<K, V, S, M>(fn: MappingFunction<K, V, S, M>): StateSpec<K, V, S, M> {
    if (typeof fn !== 'function') throw new ArgumentTypeError(`StateSpec.function expects a function (key, value, state), got ${typeof fn}`);
    return new StateSpec(fn);
  }

  /** The state keys start with (timed from the first batch). @example `spec.initialState(sc.parallelize([['a', 1]]))` */
  initialState(rdd: RDD<[K, S]>): this {
    if (rdd === null || typeof rdd !== 'object' || typeof (rdd as RDD<[K, S]>).cogroup !== 'function') {
      throw new ArgumentTypeError('StateSpec.initialState expects an RDD of [key, state] pairs');
    }
    this.initial = rdd;
    return this;
  }

  /** Partitions of the state (hash partitioned). @example `spec.numPartitions(8)` */
  numPartitions(n: number): this {
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`StateSpec.numPartitions expects a positive integer, got ${n}`);
    this.partitioning = n;
    return this;
  }

  /** The partitioner of the state. @example `spec.partitioner(new HashPartitioner(4))` */
  partitioner(p: Partitioner): this {
    this.partitioning = p;
    return this;
  }

  /**
   * Keys that received no data for longer than `interval` are removed, after one last call of the function with
   * an undefined value and `state.isTimingOut()` true. Checked at every batch (Spark checks at checkpoints only).
   *
   * @example
   * ```ts
   * spec.timeout('1m');
   * ```
   */
  timeout(interval: Duration): this {
    this.timeoutMs = parseDuration(interval, 'StateSpec timeout');
    return this;
  }
}

/** @internal What a stateful step emits for one batch: `[0, state entry]` (kept) or `[1, output]`. */
export type TaggedOut<E, M> = [0, E] | [1, M];

/** @internal mapWithState's step: state entries `[key, [state, last data ms]]`. */
export type Tagged<K, S, M> = TaggedOut<[K, [S, number]], M>;

/** @internal The step of batch `now`, over cogrouped [key, [[state, time][], values]]. */
export function batchStep<K, V, S, M>(
  fn: MappingFunction<K, V, S, M>,
  timeoutMs: number | undefined,
  now: number,
): (it: Iterable<[K, [[S, number][], V[]]]>) => Iterable<Tagged<K, S, M>> {
  return capture({ fn, timeoutMs, now }, function* (it: Iterable<[K, [[S, number][], V[]]]>): Iterable<Tagged<K, S, M>> {
    for (const [key, [states, values]] of it) {
      let exists = states.length > 0;
      let state = exists ? states[0]![0] : undefined;
      let time = exists ? states[0]![1] : now;
      let timingOut = false;
      // remove() called in the current call of fn: Spark's State refuses update() and a second remove() after it
      // within that call ("State cannot be updated if it has been already removed"); the next record's call may
      // create the state again.
      let removed = false;
      const handle = {
        exists: () => exists,
        get: () => {
          // shipped: runs in the workers inside the mapWithState step, where no kindling class is in scope
          if (!exists) throw new Error(`mapWithState: State.get() on key ${JSON.stringify(key)}, which has no state (check exists())`);
          return state as S;
        },
        getOption: () => (exists ? state : undefined),
        update: (s: S) => {
          // shipped: as above
          if (timingOut) throw new Error(`mapWithState: State.update() on key ${JSON.stringify(key)}, which is timing out`);
          // shipped: as above
          if (removed) throw new Error(`mapWithState: State.update() on key ${JSON.stringify(key)} after State.remove() in the same call`);
          state = s;
          exists = true;
        },
        remove: () => {
          // shipped: as above
          if (timingOut) throw new Error(`mapWithState: State.remove() on key ${JSON.stringify(key)}, which is timing out (it is removed anyway)`);
          // shipped: as above
          if (removed) throw new Error(`mapWithState: State.remove() on key ${JSON.stringify(key)}, removed already in the same call`);
          removed = true;
          state = undefined;
          exists = false;
        },
        isTimingOut: () => timingOut,
      };
      for (const value of values) {
        removed = false;
        const out = fn(key, value, handle);
        if (out !== undefined) yield [1, out];
        // Data refreshes the key's idle time (Spark records every existing key's state at the batch time).
        time = now;
      }
      if (exists && values.length === 0 && timeoutMs !== undefined && time < now - timeoutMs) {
        timingOut = true;
        const out = fn(key, undefined, handle);
        if (out !== undefined) yield [1, out];
        exists = false;
      }
      if (exists) yield [0, [key, [state as S, time]]];
    }
  });
}

/** @internal The state part of a batch's step output, keyed (partitioning preserved). */
export function* stateOf<E>(it: Iterable<TaggedOut<E, unknown>>): Iterable<E> {
  for (const x of it) if (x[0] === 0) yield x[1];
}

/** @internal The output part. */
export function* mappedOf<M>(it: Iterable<TaggedOut<unknown, M>>): Iterable<M> {
  for (const x of it) if (x[0] === 1) yield x[1];
}

/** @internal Every key's state, without its time. */
export function* snapshotOf<K, S>(it: Iterable<Tagged<K, S, unknown>>): Iterable<[K, S]> {
  for (const x of it) if (x[0] === 0) yield [x[1][0], x[1][1][0]];
}
