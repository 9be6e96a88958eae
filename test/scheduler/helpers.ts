/** What the fault specifications share: contexts stopped after each test, and a recorder of scheduler events. */
import { afterEach } from 'vitest';
import { Context, capture, type SchedulerEvent, type TaskMetrics } from 'kindling';

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

/** Task metrics as a worker reports them, every figure 0 unless given. */
export function taskMetrics(given: Partial<TaskMetrics> = {}): TaskMetrics {
  return {
    durationMs: 0,
    runMs: 0,
    compileMs: 0,
    gcMs: 0,
    fetchWaitMs: 0,
    inputRecords: 0,
    inputBytes: 0,
    shuffleReadRecords: 0,
    shuffleReadBytes: 0,
    shuffleWriteRecords: 0,
    shuffleWriteBytes: 0,
    outputRecords: 0,
    outputBytes: 0,
    spillCount: 0,
    memoryBytesSpilled: 0,
    diskBytesSpilled: 0,
    resultRecords: 0,
    resultBytes: 0,
    ...given,
  };
}

/** A job whose reduce stage is skewed: the partition holding the key 'hot' computes for `ms` (over the 1 s skew floor), the others at once. */
export function skewedJob(sc: Context, ms = 1200): Promise<unknown> {
  return sc
    .parallelize(
      [
        ['hot', 1],
        ['cold', 2],
        ['x', 3],
        ['y', 4],
      ] as [string, number][],
      4,
    )
    .groupByKey(4)
    .mapPartitions(
      capture({ ms }, (it) => {
        const rows = [...it];
        if (rows.some(([k]) => k === 'hot')) {
          const until = Date.now() + ms;
          while (Date.now() < until);
        }
        return rows;
      }),
    )
    .collect();
}
