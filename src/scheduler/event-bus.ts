/**
 * A small synchronous publish/subscribe bus for scheduler events.
 *
 * The scheduler emits on its hot path (every task start and end), so two properties matter more than
 * features: a listener can never break the emitter, and emitting to nobody costs next to nothing. The
 * listener lists are copy-on-write: subscribing and unsubscribing are rare, emitting is frequent, and a
 * listener that unsubscribes itself (or another) mid-dispatch must not disturb the loop in progress.
 */

/** A listener for one event type. A returned promise is watched so that its rejection is reported too. */
export type EventListener<E> = (event: E) => unknown;

/** Call to remove the listener again. Calling it more than once is harmless. */
export type Unsubscribe = () => void;

interface Subscription<E> {
  readonly listener: EventListener<E>;
  /** Set after the first failure so that a listener throwing on every event does not flood the log. */
  warned: boolean;
  /**
   * Types this catch-all listener is not given: for a batched one, what it takes in batches; for any other, the batch
   * types (the bus's own set, kept current).
   */
  readonly skips: ReadonlySet<string>;
  readonly batched?: { readonly type: string; readonly of: ReadonlySet<string> };
}

/** Options of {@link EventBus.onAny}. */
export interface AnyListenerOptions<T extends string> {
  /**
   * Events of the types `of` reach this listener in batches, as events of type `type`, not one by one. An emitter
   * that can batch them asks {@link EventBus.listenedMask} whether anyone wants them one by one or in batches, and
   * builds only what is wanted (the scheduler: task starts and ends, most events, as one batch per turn for the web UI).
   * Catch-all listeners without this option never receive `type`'s events.
   */
  readonly batched?: { readonly type: T; readonly of: readonly T[] };
}

const NO_SUBSCRIPTIONS: readonly never[] = Object.freeze([]);
const SKIPS_NONE: ReadonlySet<string> = new Set();

/**
 * Synchronous event bus keyed by the events' `type` field.
 *
 * Listeners registered with {@link EventBus.on} run before those registered with {@link EventBus.onAny},
 * each group in subscription order. A listener that throws (or returns a promise that rejects) is
 * reported once to `console.warn`, together with the event type, and the remaining listeners still run.
 *
 * @example
 * ```ts
 * import type { SchedulerEvent } from './events.js';
 * const bus = new EventBus<SchedulerEvent>();
 * const off = bus.on('taskEnd', (e) => console.log(`task ${e.partition} took ${e.durationMs} ms`));
 * if (bus.hasListeners('taskEnd')) {
 *   bus.emit({ type: 'taskEnd', stageId: 0, stageAttempt: 0, partition: 3, attempt: 0, workerIndex: 1, executorId: '1',
 *     speculative: false, result: 'success', durationMs: 12, locality: 'NO_PREF', time: Date.now() });
 * }
 * off();
 * ```
 */
export class EventBus<E extends { type: string }> {
  readonly #byType = new Map<string, readonly Subscription<E>[]>();
  #any: readonly Subscription<E>[] = NO_SUBSCRIPTIONS;
  /** The batch types of the batched catch-all listeners: the other catch-all listeners skip them. */
  readonly #batchTypes = new Set<string>();
  /** What the batched catch-all listeners take in batches: an emit of these does not run what is held. */
  readonly #batchedTypes = new Set<string>();
  #generation = 0;
  /** Set by {@link EventBus.hold}: runs before the next event of another type is delivered. */
  #held: (() => void) | undefined;
  #maskTypes: readonly string[] | undefined;
  #maskGeneration = -1;
  #mask = 0;

  /** Changes whenever a listener subscribes or unsubscribes (what {@link EventBus.listenedMask} remembers until then). */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Subscribes to one event type; the listener receives the narrowed event.
   *
   * @example
   * ```ts
   * const off = bus.on('stageSubmitted', (e) => console.log(`stage ${e.stageId}: ${e.numTasks} tasks`));
   * off();
   * ```
   */
  on<T extends E['type']>(type: T, listener: EventListener<Extract<E, { type: T }>>): Unsubscribe {
    // The map is keyed by type, so a listener only ever sees events whose type matches T.
    const sub: Subscription<E> = { listener: listener as EventListener<E>, warned: false, skips: SKIPS_NONE };
    this.#byType.set(type, [...(this.#byType.get(type) ?? NO_SUBSCRIPTIONS), sub]);
    this.#generation++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const remaining = (this.#byType.get(type) ?? NO_SUBSCRIPTIONS).filter((s) => s !== sub);
      if (remaining.length === 0) this.#byType.delete(type);
      else this.#byType.set(type, remaining);
      this.#generation++;
    };
  }

  /**
   * Subscribes to every event, e.g. for an event log; with `options.batched`, takes some types in batches (see
   * {@link AnyListenerOptions}).
   *
   * @example
   * ```ts
   * const off = bus.onAny((e) => log.push(JSON.stringify(e)));
   * off();
   * ```
   */
  onAny(listener: EventListener<E>, options?: AnyListenerOptions<E['type']>): Unsubscribe {
    const b = options?.batched;
    const sub: Subscription<E> =
      b === undefined
        ? { listener, warned: false, skips: this.#batchTypes }
        : { listener, warned: false, skips: new Set<string>(b.of), batched: { type: b.type, of: new Set<string>(b.of) } };
    this.#any = [...this.#any, sub];
    this.#subscriptionsChanged();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const remaining = this.#any.filter((s) => s !== sub);
      this.#any = remaining.length === 0 ? NO_SUBSCRIPTIONS : remaining;
      this.#subscriptionsChanged();
    };
  }

  #subscriptionsChanged(): void {
    this.#batchTypes.clear();
    this.#batchedTypes.clear();
    for (const s of this.#any) {
      if (s.batched === undefined) continue;
      this.#batchTypes.add(s.batched.type);
      for (const t of s.batched.of) this.#batchedTypes.add(t);
    }
    this.#generation++;
  }

  /**
   * Bit i set when an event of `types[i]` would reach a listener ({@link EventBus.hasListeners}), remembered until the
   * subscriptions change: an emitter on a hot path asks per event without a lookup by name (pass the same array).
   *
   * @example
   * ```ts
   * const TYPES = ['taskStart', 'taskBatch'] as const;
   * if ((bus.listenedMask(TYPES) & 1) !== 0) bus.emit(buildTaskStartEvent());
   * ```
   */
  listenedMask(types: readonly E['type'][]): number {
    if (this.#maskGeneration !== this.#generation || this.#maskTypes !== types) {
      let mask = 0;
      for (let i = 0; i < types.length; i++) if (this.hasListeners(types[i])) mask |= 1 << i;
      this.#mask = mask;
      this.#maskTypes = types;
      this.#maskGeneration = this.#generation;
    }
    return this.#mask;
  }

  /**
   * Whether a listener takes events of `type` as batches: one subscribed to `type` itself, or a catch-all listener
   * batched as `type`. A catch-all listener without `batched` is given the batched types' events one by one, so an
   * emitter builds batches only when this says so (it would otherwise give that listener every event twice).
   *
   * @example
   * ```ts
   * if (bus.takesBatches('taskBatch')) bus.hold(() => bus.emit({ type: 'taskBatch', tasks: batch }));
   * ```
   */
  takesBatches(type: E['type']): boolean {
    return this.#byType.has(type) || this.#batchTypes.has(type);
  }

  /**
   * Asks the bus to run `flush` before it delivers the next event of a type not taken in batches (or at
   * {@link EventBus.flushHeld}): an emitter holding a batch so delivers it before any later event, and every listener
   * sees events in the order they happened. One hold at a time: a later one replaces it.
   *
   * @example
   * ```ts
   * bus.hold(() => bus.emit({ type: 'taskBatch', tasks: batch }));
   * ```
   */
  hold(flush: () => void): void {
    this.#held = flush;
  }

  /** Runs what {@link EventBus.hold} asked for, now (e.g. when the turn ends, or before the listeners stop). */
  flushHeld(): void {
    const h = this.#held;
    if (h === undefined) return;
    this.#held = undefined;
    h();
  }

  /**
   * Whether an event of `type` (or, without an argument, of any type) would reach a listener. The
   * scheduler checks this before building an event so that an unobserved bus costs one map lookup.
   *
   * @example
   * ```ts
   * if (bus.hasListeners('taskStart')) bus.emit(buildTaskStartEvent());
   * ```
   */
  hasListeners(type?: E['type']): boolean {
    if (type === undefined) return this.#any.length > 0 || this.#byType.size > 0;
    if (this.#byType.has(type)) return true;
    const any = this.#any;
    for (let i = 0; i < any.length; i++) if (!any[i]!.skips.has(type)) return true;
    return false;
  }

  /**
   * Delivers `event` synchronously to its type's listeners, then to the catch-all listeners. Never throws
   * because of a listener.
   *
   * @example
   * ```ts
   * bus.emit({ type: 'jobEnd', jobId: 4, time: Date.now(), result: 'succeeded' });
   * ```
   */
  emit(event: E): void {
    if (this.#held !== undefined && !this.#batchedTypes.has(event.type)) this.flushHeld();
    const typed = this.#byType.get(event.type);
    const any = this.#any;
    if (typed !== undefined) {
      for (const sub of typed) this.#deliver(sub, event);
    }
    for (const sub of any) if (!sub.skips.has(event.type)) this.#deliver(sub, event);
  }

  /**
   * Removes every listener, e.g. when the owning context stops.
   *
   * @example
   * ```ts
   * bus.clear();
   * bus.hasListeners(); // false
   * ```
   */
  clear(): void {
    this.#byType.clear();
    this.#any = NO_SUBSCRIPTIONS;
    this.#subscriptionsChanged();
  }

  #deliver(sub: Subscription<E>, event: E): void {
    let result: unknown;
    try {
      result = sub.listener(event);
    } catch (error) {
      this.#report(sub, event.type, error);
      return;
    }
    // An async listener's rejection would otherwise surface as an unhandled rejection, which terminates
    // Node by default: exactly the "listener breaks the emitter" failure this class exists to prevent.
    if (isThenable(result)) {
      result.then(undefined, (error: unknown) => this.#report(sub, event.type, error));
    }
  }

  #report(sub: Subscription<E>, type: string, error: unknown): void {
    if (sub.warned) return;
    sub.warned = true;
    try {
      console.warn(`kindling: a listener for '${type}' events threw; it stays subscribed, further errors from it are not reported:`, error);
    } catch {
      // A broken console must not turn into the emitter's problem either.
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
