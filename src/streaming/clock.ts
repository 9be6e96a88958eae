/**
 * Streaming time. Batches are cut when the clock reaches their time; tests drive a {@link ManualClock} instead of
 * waiting (Spark's `spark.streaming.clock`).
 */

/** What the streaming context reads time from and waits on. */
export interface Clock {
  /** Milliseconds since the epoch (or since any fixed origin, for a manual clock). */
  now(): number;
  /** Resolves once `now() >= ms`; rejects with the signal's reason when aborted first. */
  sleepUntil(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * Wall-clock time.
 *
 * @example
 * ```ts
 * const ssc = new StreamingContext(sc, { batchInterval: '1s', clock: new SystemClock() }); // the default
 * ```
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      // The timer keeps the process alive on purpose: a started stream should run until stopped.
      const timer = setTimeout(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms - Date.now()),
      );
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * A clock that moves only when told to, for deterministic tests: each `advance` releases the batches whose time
 * has come.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const ssc = new StreamingContext(sc, { batchInterval: 1000, clock });
 * // ... define streams, await ssc.start()
 * clock.advance(1000); // cuts the first batch
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #waiters: { ms: number; resolve: () => void }[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  /** Moves time forward by `ms` and wakes every waiter whose time has come; returns the new time. */
  advance(ms: number): number {
    return this.setTime(this.#now + ms);
  }
  /** Moves time to `ms` (never backwards). */
  setTime(ms: number): number {
    if (ms > this.#now) this.#now = ms;
    const due = this.#waiters.filter((w) => w.ms <= this.#now);
    this.#waiters = this.#waiters.filter((w) => w.ms > this.#now);
    for (const w of due) w.resolve();
    return this.#now;
  }
  sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (ms <= this.#now) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        ms,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal.reason);
      };
      this.#waiters.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
