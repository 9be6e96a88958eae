/** What the fault specifications share: contexts stopped after each test, and a recorder of scheduler events. */
import { afterEach } from 'vitest';
import { Context, type SchedulerEvent } from 'kindling';

type Options = ConstructorParameters<typeof Context>[0];

/** A `context(options)` factory for a test file: local[2], no progress bar, every context stopped after each test. */
export function useContexts(defaults: Options = {}): (options?: Options) => Context {
  const contexts: Context[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
  });
  return (options = {}) => {
    const sc = new Context({ master: 'local[2]', progress: false, ...defaults, ...options });
    contexts.push(sc);
    return sc;
  };
}

/** Every event the context emits from now on, in order. */
export function record(sc: Context): SchedulerEvent[] {
  const events: SchedulerEvent[] = [];
  sc.events.onAny((e) => void events.push(e));
  return events;
}
