import type { RddWireBody } from './wire.js';
import { oneToOne, type Dependency } from './dependency.js';
import { tagUserError, InvalidDataError } from '../core/errors.js';
import type { ShippedFunction } from '../closure/index.js';
import type { Aggregator, AggregatorWire } from '../shuffle/aggregator.js';
import { combineValuesByKey } from '../shuffle/combine.js';
import { samplePartition, type SampleArgs } from './sampling.js';
import type { TaskContext } from './task-context.js';
import { RDD, describeResult, type RddOptions, type Sink } from './internal.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/** How a MapPartitionsRDD turns a parent partition into its own. */
export type PartitionOp =
  | { mode: 'user'; fn: Function; op: string; preservesPartitioning?: boolean }
  | { mode: 'userWithIndex'; fn: Function; op: string; preservesPartitioning?: boolean }
  | { mode: 'glom'; op: string }
  | { mode: 'sample'; args: SampleArgs; op: string; preservesPartitioning: true }
  /** Combine by key inside the partition: the parent is already partitioned by the target partitioner. */
  | { mode: 'combineLocal'; aggregator: AggregatorWire; op: string; preservesPartitioning: true }
  /** repartition's first half: key each element by its target partition, round-robin from a per-partition start. */
  | { mode: 'roundRobin'; args: { numPartitions: number }; op: string };

/** The op as a worker receives it: user functions as shipped source, everything else as it is. */
export type PartitionOpWire =
  | { readonly mode: 'user'; readonly op: string; readonly fn: ShippedFunction }
  | { readonly mode: 'userWithIndex'; readonly op: string; readonly fn: ShippedFunction }
  | Exclude<PartitionOp, { mode: 'user' | 'userWithIndex' }>;

/** Worker-side, compiled form of the op. */
export interface CompiledPartitionOp {
  readonly fn?: Function;
  readonly aggregator?: Aggregator;
}

/** A whole-partition transformation (mapPartitions and the engine's own per-partition steps). */
export class MapPartitionsRDD<T, U> extends RDD<U> {
  readonly kind = 'MapPartitionsRDD';
  readonly #shipped: ShippedFunction | undefined;

  constructor(
    readonly parent: RDD<T>,
    readonly pop: PartitionOp,
    options: RddOptions & { compiled?: CompiledPartitionOp } = {},
  ) {
    super(parent.context, { op: pop.op, ...options });
    this.inheritPartitionCount(parent);
    if ((pop.mode === 'user' || pop.mode === 'userWithIndex') && this.context.isDriver) {
      this.#shipped = this.context.ship(pop.fn, `${pop.op} function of ${this.label}`);
    }
    this.compiled = options.compiled ?? {};
    if ('preservesPartitioning' in pop && pop.preservesPartitioning) this.partitioner = parent.partitioner;
  }
  readonly compiled: CompiledPartitionOp;

  getNumPartitions(): number {
    return this.inheritedNumPartitions();
  }
  protected getDependencies(): readonly Dependency[] {
    return [oneToOne(this.parent)];
  }
  /**
   * Round-robin targets, per-position samples, glom's arrays and a function given the partition index (which may
   * number the elements: zipWithUniqueId) follow the input's order. A plain mapPartitions is taken as
   * order-insensitive, as Spark takes it.
   */
  override get orderSensitive(): boolean {
    const { mode } = this.pop;
    return mode === 'roundRobin' || mode === 'sample' || mode === 'glom' || mode === 'userWithIndex';
  }
  protected wireBody(): RddWireBody {
    const { pop } = this;
    switch (pop.mode) {
      case 'user':
        return { kind: 'MapPartitionsRDD', args: { mode: 'user', op: pop.op, fn: this.#shipped! } };
      case 'userWithIndex':
        return { kind: 'MapPartitionsRDD', args: { mode: 'userWithIndex', op: pop.op, fn: this.#shipped! } };
      default:
        return { kind: 'MapPartitionsRDD', args: pop };
    }
  }

  compute(p: number, tc: TaskContext): Iterable<U> {
    const { pop } = this;
    switch (pop.mode) {
      case 'user':
      case 'userWithIndex': {
        const fn = (this.compiled.fn ?? pop.fn) as (...a: unknown[]) => Iterable<U>;
        const input = this.parent.iterator(p, tc);
        let result: Iterable<U>;
        try {
          result = pop.mode === 'user' ? fn(input) : fn(p, input);
        } catch (e) {
          throw tagUserError(e, this.id, this.label);
        }
        if (result === null || result === undefined || typeof (result as Iterable<U>)[Symbol.iterator] !== 'function') {
          throw tagUserError(
            new InvalidDataError(
              `the ${pop.op} function of ${this.label} must return an Iterable (an array or a generator), got ${describeResult(result)}`,
            ),
            this.id,
            this.label,
          );
        }
        return Array.isArray(result) ? result : this.#tagged(result);
      }
      default: {
        const out: U[] = [];
        this.pushCompute(p, tc, (x) => out.push(x));
        return out;
      }
    }
  }

  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<U>): void {
    const { pop } = this;
    const out = sink as Sink<unknown>;
    switch (pop.mode) {
      case 'user':
      case 'userWithIndex': {
        // The user's function may yield many records per record it reads: its input's checks would not come in time.
        let i = 0;
        for (const x of this.compute(p, tc)) {
          if ((++i & INTERRUPT_MASK) === 0) checkInterrupted();
          sink(x);
        }
        return;
      }
      case 'glom': {
        const xs: unknown[] = [];
        this.parent.forEach(p, tc, (x) => xs.push(x));
        out(xs);
        return;
      }
      case 'sample':
        samplePartition(pop.args, p, (emit) => this.parent.forEach(p, tc, emit), out);
        return;
      case 'combineLocal': {
        const agg = this.compiled.aggregator;
        // internal: the aggregator is compiled when the RDD is rebuilt in the worker
        if (agg === undefined) throw new Error(`${this.label}: aggregator was not compiled`);
        const combined = combineValuesByKey((each) => this.parent.forEach(p, tc, each as Sink<T>), agg, this.id, this.label, this.parent.label);
        for (const kv of combined) out(kv);
        return;
      }
      case 'roundRobin': {
        const n = pop.args.numPartitions;
        // Spark starts each map partition at a different target so small partitions do not all fill target 0.
        let target = hashInt(p) % n;
        this.parent.forEach(p, tc, (x) => {
          out([target, x]);
          target = target + 1 === n ? 0 : target + 1;
        });
        return;
      }
      default: {
        const never: never = pop;
        // internal: exhaustive switch over the partition operations
        throw new Error(`unknown partition op ${(never as PartitionOp).mode}`);
      }
    }
  }

  /** Tags an error thrown while iterating a user generator with this RDD. */
  *#tagged(it: Iterable<U>): Iterable<U> {
    try {
      yield* it;
    } catch (e) {
      throw tagUserError(e, this.id, this.label);
    }
  }
}

/** A small integer mix (deterministic across workers). */
function hashInt(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
