import type { RddWireBody } from './wire.js';
import { oneToOne, type Dependency } from './dependency.js';
import { tagUserError } from '../core/errors.js';
import type { Fn, ShippedFunction } from '../closure/index.js';
import type { TaskContext } from './task-context.js';
import { currentTaskInfo, setCurrentTask, type TaskInfo } from './task-info.js';
import { StorageLevel } from '../storage/storage-level.js';
import { setInterruptibleTask } from '../core/task-interrupt.js';
import { RDD, ShuffledRDD, CoGroupedRDD, type RddOptions } from './internal.js';

/**
 * `rdd.mapAsync(f, { concurrency })`: `f` may return a Promise (an HTTP call, a database lookup); each task
 * awaits up to `concurrency` calls at a time, in the worker, and keeps the elements' order.
 *
 * Computation inside a task is synchronous (elements are pushed down a chain of functions), so the awaiting
 * happens first: before a task computes, the executor asks `prepareAsyncPartitions` to await every `mapAsync`
 * partition the task will read, parents first, and each keeps its results for that task until it computes.
 * A partition's results are therefore held in memory at once, as a cached partition is.
 */
export class MapAsyncRDD<T, U> extends RDD<U> {
  readonly kind = 'MapAsyncRDD';
  readonly #fn: Fn | undefined;
  readonly #shipped: ShippedFunction | undefined;
  /** Results awaited for a task, by its TaskContext (dropped with it) and partition. */
  readonly #ready = new WeakMap<TaskContext, Map<number, U[]>>();

  constructor(
    readonly parent: RDD<T>,
    fn: Function,
    readonly concurrency: number,
    options: RddOptions = {},
  ) {
    super(parent.context, { op: 'mapAsync', ...options });
    this.inheritPartitionCount(parent);
    this.#fn = fn as Fn;
    this.#shipped = this.context.ship(fn, `mapAsync function of ${this.label}`, { allowAsync: true });
  }

  getNumPartitions(): number {
    return this.inheritedNumPartitions();
  }
  protected getDependencies(): readonly Dependency[] {
    return [oneToOne(this.parent)];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'MapAsyncRDD', args: { fn: this.#shipped!, concurrency: this.concurrency } };
  }

  compute(p: number, tc: TaskContext): Iterable<U> {
    const ready = this.#ready.get(tc)?.get(p);
    // internal: prepareAsyncPartitions runs before every task whose stage holds a mapAsync RDD
    if (ready === undefined) throw new Error(`${this.label}: partition ${p} was computed before its results were awaited`);
    return ready;
  }

  /** Awaits `f` on every element of partition `p` of the parent, at most `concurrency` at a time. */
  async awaitPartition(p: number, tc: TaskContext, task: TaskInfo | undefined): Promise<void> {
    const f = this.#fn!;
    const input = this.parent.iterator(p, tc)[Symbol.iterator]();
    const results: U[] = [];
    let next = 0;
    let failed: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (failed === undefined) {
        // Another task of this worker may have run while this one awaited: each call sees its own task, and the
        // parent's interrupt checks look for this task's stop (a stop asked for the other task would end this one).
        publish(task);
        // The parent is read lazily, one element per free slot.
        const step = input.next();
        if (step.done) return;
        const i = next++;
        try {
          results[i] = (await f(step.value)) as U;
        } catch (e) {
          failed ??= { error: tagUserError(e, this.id, this.label) };
        }
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, worker));
    publish(task);
    if (failed !== undefined) throw failed.error;
    let byPartition = this.#ready.get(tc);
    if (byPartition === undefined) this.#ready.set(tc, (byPartition = new Map()));
    byPartition.set(p, results);
  }
}

/** Makes `task` the one taskContext() returns and the interrupt checks look for. */
function publish(task: TaskInfo | undefined): void {
  setCurrentTask(task);
  setInterruptibleTask(task?.taskAttemptId);
}

/** Stages already known to hold no mapAsync RDD (the common case costs one lookup per task). */
const withoutAsync = new WeakSet<ReadonlyMap<number, RDD<unknown>>>();

/**
 * Before a task computes `partition` of `final`: awaits every mapAsync partition it will read, parents first
 * (undefined, and nothing to await, when the stage `rdds` has no mapAsync RDD). Walks the narrow lineage
 * inside the stage as the computation will, and stops at partitions this worker has cached.
 */
export function prepareAsyncPartitions(
  rdds: ReadonlyMap<number, RDD<unknown>>,
  final: RDD<unknown>,
  partition: number,
  tc: TaskContext,
): Promise<void> | undefined {
  if (withoutAsync.has(rdds)) return undefined;
  if (![...rdds.values()].some((r) => r instanceof MapAsyncRDD)) {
    withoutAsync.add(rdds);
    return undefined;
  }
  const found: Array<[MapAsyncRDD<unknown, unknown>, number]> = [];
  const seen = new Set<string>();
  const stack: Array<[RDD<unknown>, number]> = [[final, partition]];
  while (stack.length > 0) {
    const [r, p] = stack.pop()!;
    const key = `${r.id}/${p}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (r.storageLevel !== StorageLevel.NONE && tc.blocks.get(r.id, p, r.cacheGeneration) !== undefined) continue;
    if (r instanceof MapAsyncRDD) found.push([r, p]);
    for (const parent of narrowInputs(r, p)) stack.push(parent);
  }
  if (found.length === 0) return undefined;
  return (async () => {
    const task = currentTaskInfo();
    // Found from the task's RDD down: reversed, every mapAsync comes after the ones it reads.
    for (let i = found.length - 1; i >= 0; i--) {
      const [r, p] = found[i]!;
      await r.awaitPartition(p, tc, task);
    }
  })();
}

/** The partitions of RDDs of the same stage that partition `p` of `r` reads (a shuffle's input is not one). */
function narrowInputs(r: RDD<unknown>, p: number): Array<[RDD<unknown>, number]> {
  // A rebuilt shuffle reader knows its shuffle, not the RDD that wrote it.
  if (r instanceof ShuffledRDD) return [];
  if (r instanceof CoGroupedRDD) return r.sources.flatMap((s): Array<[RDD<unknown>, number]> => (s.type === 'narrow' ? [[s.rdd, p]] : []));
  return r.dependencies.flatMap((d) => (d.type === 'narrow' ? d.getParents(p).map((q): [RDD<unknown>, number] => [d.rdd, q]) : []));
}
