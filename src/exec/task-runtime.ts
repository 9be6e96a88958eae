/**
 * What a task's user functions reach at run time: broadcast values held by this worker, the task's own
 * accumulators (merged on the driver only if the task succeeds, so retries and speculative copies count once),
 * and modules. Functions are compiled against it (compiled factories are cached per worker; env values are
 * applied per task).
 */
import { compileFunction, importModuleFrom, type AccumulatorKind, type ClosureRuntime, type Compile } from '../closure/index.js';

/** A task-local accumulator. */
export class LocalAccumulator {
  value: unknown;
  constructor(readonly kind: AccumulatorKind) {
    this.value = kind === 'sum' ? 0 : [];
  }
  add(v: unknown): void {
    if (this.kind === 'sum') this.value = (this.value as number) + (v as number);
    else (this.value as unknown[]).push(v);
  }
}

export interface TaskRuntime {
  readonly accumulators: ReadonlyMap<number, LocalAccumulator>;
  readonly compile: Compile;
}

/** The runtime of one task, given the broadcast values this worker holds. */
export function taskRuntime(
  workerIndex: number,
  broadcasts: ReadonlyMap<number, unknown>,
  accumulatorKinds: ReadonlyArray<readonly [id: number, kind: AccumulatorKind]>,
): TaskRuntime {
  const accumulators = new Map<number, LocalAccumulator>();
  for (const [id, kind] of accumulatorKinds) accumulators.set(id, new LocalAccumulator(kind));
  const runtime: ClosureRuntime = {
    broadcastValue: (id) => {
      // internal: the task builder sends every broadcast a task uses before the task
      if (!broadcasts.has(id)) throw new Error(`broadcast ${id} was not delivered to worker ${workerIndex} (destroyed?)`);
      return broadcasts.get(id);
    },
    accumulator: (id) => {
      const acc = accumulators.get(id);
      // internal: the task message lists every accumulator its functions use
      if (acc === undefined) throw new Error(`accumulator ${id} is unknown to this task`);
      return acc;
    },
    importModule: importModuleFrom,
  };
  return { accumulators, compile: async (f) => (await compileFunction(f, runtime)) as (...args: unknown[]) => unknown };
}
