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
  /** Types whose events this listener copies before it returns and never keeps (see {@link EventBus.onAny}). */
  readonly copies?: ReadonlySet<string>;
}

/** Options of {@link EventBus.onAny}. */
export interface AnyListenerOptions<T extends string> {
  /**
   * Event types whose events the listener only reads while it runs: it copies what it keeps and never holds on to
   * the event (nor hands it to code that might). While every listener of such a type says so, the emitter may pass
   * one record that it fills anew for each event instead of a new object per event ({@link EventBus.needsFreshEvent}).
   */
  readonly copies?: readonly T[];
}

const NO_SUBSCRIPTIONS: readonly never[] = Object.freeze([]);

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
  /** Catch-all listeners without a `copies` list. */
  #anyKeeping = 0;
  #generation = 0;

  /**
   * Changes whenever a listener subscribes or unsubscribes: an emitter on a hot path may remember what
   * {@link EventBus.hasListeners} and {@link EventBus.needsFreshEvent} said until it changes, instead of asking per event.
   */
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
    const sub: Subscription<E> = { listener: listener as EventListener<E>, warned: false };
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
   * Subscribes to every event, e.g. for an event log. With `options.copies`, the listener promises to only copy the
   * events of those types (see {@link AnyListenerOptions}), so that their emitter may reuse one record for them.
   *
   * @example
   * ```ts
   * const off = bus.onAny((e) => log.push(JSON.stringify(e)));
   * off();
   * ```
   */
  onAny(listener: EventListener<E>, options?: AnyListenerOptions<E['type']>): Unsubscribe {
    const copies = options?.copies !== undefined && options.copies.length > 0 ? new Set<string>(options.copies) : undefined;
    const sub: Subscription<E> = copies === undefined ? { listener, warned: false } : { listener, warned: false, copies };
    this.#any = [...this.#any, sub];
    this.#anyKeeping = this.#any.filter((s) => s.copies === undefined).length;
    this.#generation++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const remaining = this.#any.filter((s) => s !== sub);
      this.#any = remaining.length === 0 ? NO_SUBSCRIPTIONS : remaining;
      this.#anyKeeping = this.#any.filter((s) => s.copies === undefined).length;
      this.#generation++;
    };
  }

  /**
   * Whether an event of `type` would reach a listener that may keep it (a listener of the type, or a catch-all one
   * that did not list the type in its `copies`). When none would, an emitter on a hot path may emit one record it
   * fills anew for each event (the scheduler does so for task starts and ends, which the web UI only copies): no
   * object per event. Always false when {@link EventBus.hasListeners} is.
   *
   * @example
   * ```ts
   * if (bus.hasListeners('taskEnd')) bus.emit(bus.needsFreshEvent('taskEnd') ? { ...record } : record);
   * ```
   */
  needsFreshEvent(type: E['type']): boolean {
    if (this.#anyKeeping > 0 || this.#byType.has(type)) return true;
    const any = this.#any;
    for (let i = 0; i < any.length; i++) if (!any[i]!.copies!.has(type)) return true;
    return false;
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
    if (this.#any.length > 0) return true;
    return type === undefined ? this.#byType.size > 0 : this.#byType.has(type);
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
    const typed = this.#byType.get(event.type);
    const any = this.#any;
    if (typed !== undefined) {
      for (const sub of typed) this.#deliver(sub, event);
    }
    for (const sub of any) this.#deliver(sub, event);
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
    this.#anyKeeping = 0;
    this.#generation++;
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
