import { AbortError } from '../core/errors.js';

/**
 * An RDD's driver-side preparation (sortByKey's sampling job, zipWithIndex's counting job), run once for all the
 * actions that need it: those that come while it runs wait for it, those after it succeeded find it done.
 *
 * A failed preparation is forgotten, so the next action runs it again: a cancelled action's job must not fail every
 * later action on the RDD with its AbortError (as Spark, whose RangePartitioner a cancelled job leaves unbuilt, not
 * broken). And an action that waited for another action's preparation, which was cancelled with that action, runs
 * it again under its own signal and job group, instead of rejecting with the other action's AbortError.
 *
 * @example
 * ```ts
 * readonly #bounds = new SharedPreparation();
 * override prepare(): Promise<void> {
 *   return this.#bounds.run(() => this.#sampleBounds());
 * }
 * ```
 */
export class SharedPreparation {
  #running: Promise<void> | undefined;

  async run(prepare: () => Promise<void>): Promise<void> {
    for (;;) {
      let p = this.#running;
      const own = p === undefined;
      if (p === undefined) {
        const started = prepare();
        this.#running = p = started;
        // Registered before any waiter's handler, so it runs first: a waiter that tries again starts afresh.
        started.catch(() => {
          if (this.#running === started) this.#running = undefined;
        });
      }
      try {
        return await p;
      } catch (e) {
        if (own || !(e instanceof AbortError)) throw e;
      }
    }
  }
}
