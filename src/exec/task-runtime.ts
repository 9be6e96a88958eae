/**
 * What a task's user functions reach at run time: broadcast values held by this worker, the task's own
 * accumulators (merged on the driver only if the task succeeds, so retries and speculative copies count once),
 * and modules. Functions are compiled against it (compiled factories are cached per worker; env values are
 * applied per task).
 */
// The closure modules a worker runs, one by one: the index also brings the driver's analysis (acorn, eslint-scope).
import { compileFunction } from '../closure/compile.js';
import { importModuleFrom } from '../closure/modules.js';
import type { AccumulatorKind, ClosureRuntime, Compile, Fn } from '../closure/index.js';
import { ArgumentTypeError, IllegalStateError } from '../core/errors.js';

/** A task's own copy of an accumulator; its value goes back with the task's result. */
export class LocalAccumulator {
  /** What this task added, sent back with its outcome. */
  taskValue: unknown;
  readonly #add: Fn | undefined;
  /** `custom`: a custom accumulator's compiled `zero` and `add`. */
  constructor(
    readonly id: number,
    readonly kind: AccumulatorKind,
    custom?: { zero: Fn; add: Fn },
  ) {
    this.#add = custom?.add;
    this.taskValue = custom !== undefined ? custom.zero() : kind === 'sum' ? 0 : [];
  }
  add(v: unknown): void {
    if (this.#add !== undefined) this.taskValue = this.#add(this.taskValue, v);
    else if (this.kind === 'sum') this.taskValue = (this.taskValue as number) + numberToAdd(this.id, v);
    else (this.taskValue as unknown[]).push(v);
  }
  /**
   * Spark's rule: tasks add, only the driver reads. Here a task would see only its own additions, a partial value
   * that looks like the total (0 in a fresh task), so reading it is refused rather than answered wrongly.
   */
  get value(): never {
    throw new IllegalStateError(
      `accumulator ${this.id} cannot be read inside a task (only its own additions are here): tasks add(), the driver reads .value after the action`,
    );
  }
}

/**
 * A number accumulator's `+` would concatenate a string ('0' + '1' + '2', PySpark raises a TypeError) and turn the
 * total into a string on the driver; a bigint would throw an unhelpful mixing error.
 */
export function numberToAdd(id: number, v: unknown): number {
  if (typeof v === 'number') return v;
  throw new ArgumentTypeError(
    `accumulator ${id} adds numbers, got ${typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : typeof v}; convert it (Number(x)), or use sc.collectionAccumulator() or sc.customAccumulator() for other values`,
  );
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
  // A custom accumulator's copy starts from its shipped `zero`, compiled when a function first binds it.
  const customs = new Map<number, Promise<LocalAccumulator>>();
  for (const [id, kind] of accumulatorKinds) if (typeof kind !== 'object') accumulators.set(id, new LocalAccumulator(id, kind));
  const customCopy = (id: number, kind: Extract<AccumulatorKind, object>): Promise<LocalAccumulator> => {
    let copy = customs.get(id);
    if (copy === undefined) {
      copy = Promise.all([compile(kind.custom.zero), compile(kind.custom.add)]).then(([zero, add]) => {
        const acc = new LocalAccumulator(id, kind, { zero, add });
        accumulators.set(id, acc);
        return acc;
      });
      customs.set(id, copy);
    }
    return copy;
  };
  const kinds = new Map(accumulatorKinds);
  const runtime: ClosureRuntime = {
    broadcastValue: (id) => {
      // internal: the task builder sends every broadcast a task uses before the task
      if (!broadcasts.has(id)) throw new Error(`broadcast ${id} was not delivered to worker ${workerIndex} (destroyed?)`);
      return broadcasts.get(id);
    },
    accumulator: (id) => {
      const kind = kinds.get(id);
      // internal: the task message lists every accumulator its functions use
      if (kind === undefined) throw new Error(`accumulator ${id} is unknown to this task`);
      return typeof kind === 'object' ? customCopy(id, kind) : accumulators.get(id);
    },
    importModule: importModuleFrom,
  };
  const compile: Compile = async (f) => (await compileFunction(f, runtime)) as Fn;
  return { accumulators, compile };
}
