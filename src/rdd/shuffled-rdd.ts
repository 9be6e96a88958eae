import type { ShippedFunction } from '../closure/index.js';
import type { RddWireBody } from './wire.js';
import type { Dependency, ShuffleDependency } from './dependency.js';
import { RangePartitioner, determineBounds, type Partitioner, type PartitionerWire } from '../core/partitioner.js';
import { InvalidDataError, JobFailedError, toErrorInfo } from '../core/errors.js';
import type { Aggregator, AggregatorWire } from '../shuffle/aggregator.js';
import { sortExternally } from '../shuffle/external-sorter.js';
import { combineCombinersExternally, combineValuesExternally, type NumberGroupsSink } from '../shuffle/external-combiner.js';
import type { NumberColumnsSink } from '../shuffle/combine.js';
import type { TaskContext, Pair } from './task-context.js';
import type { RddContext } from './rdd-context.js';
import { capture } from '../closure/capture.js';
import { RDD, type RddOptions, type Sink } from './internal.js';
import { ShippedPartitioner } from './user-partitioner.js';
import { SharedPreparation } from './shared-preparation.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/** What a shuffle does with the records it moves. */
export interface ShuffleSpec {
  readonly aggregator?: AggregatorWire;
  readonly mapSideCombine: boolean;
  readonly keyOrdering?: 'ascending' | 'descending';
  /** With keyOrdering: each partition is sorted by this function of the key (pyspark's `keyfunc`). */
  readonly sortKey?: ShippedFunction;
  /** With keyOrdering: each partition is sorted by this comparator of the keys (sortByKey's `compare`). */
  readonly compare?: ShippedFunction;
}

/**
 * sortByKey's range partitioner: its bounds come from a sample of the input, taken when the first job using it is
 * prepared (transformations stay lazy; Spark's RangePartitioner samples at the call). Until then it places no key and
 * equals only itself. It is settled in place, so that every RDD given it before its bounds were known (a mapValues
 * after the sort, a join or partitionBy by it, which Spark's defaultPartitioner picks) places keys by those same
 * bounds: each such RDD settles it before its own job, which samples the sort's input, not its own.
 */
export class PendingRangePartitioner implements Partitioner {
  #settled: Partitioner | undefined;

  constructor(
    readonly numPartitions: number,
    readonly ascending: boolean,
    /** A user's key order (sortByKey with `compare`); the engine's `compareKeys` when absent. */
    readonly compare: ((a: unknown, b: unknown) => number) | undefined,
    /** Samples the sort's input and calls {@link settleWith}, once (its owner's shared preparation). */
    readonly settle: () => Promise<void>,
  ) {}

  /** The range partitioner it has become, once its sort's input was sampled. */
  get settled(): Partitioner | undefined {
    return this.#settled;
  }

  settleWith(p: Partitioner): void {
    this.#settled = p;
  }

  getPartition(key: unknown): number {
    // internal: settle() runs in prepareLineage() before any task or lookup asks for a partition
    if (this.#settled === undefined) throw new Error('the range partitioner of sortByKey gets its bounds when a job runs; no partition is known yet');
    return this.#settled.getPartition(key);
  }

  equals(other: Partitioner | undefined): boolean {
    if (other === this) return true;
    // Two sorts whose samples gave equal bounds place every key alike (Spark's RangePartitioner equality).
    return this.#settled?.equals(other) === true;
  }

  toWire(): PartitionerWire {
    // internal: settle() runs in prepareLineage() before a stage is described
    if (this.#settled === undefined) throw new Error('range partitioner bounds were not computed before the job');
    return this.#settled.toWire();
  }
}

/** Sample size per partition, as Spark's RangePartitioner: about 20 keys per output partition overall, x3. */
function sampleSizePerPartition(outPartitions: number, inPartitions: number): number {
  const total = Math.min(20 * outPartitions, 1e6);
  return Math.ceil((3 * total) / Math.max(inPartitions, 1));
}

/**
 * The reduce side of a shuffle: partition p reads bucket p of every map output, then combines values by key
 * (reduceByKey & co.), or sorts by key (sortByKey), or simply concatenates (partitionBy, repartition).
 */
export class ShuffledRDD<K, V, C> extends RDD<[K, C]> {
  readonly kind = 'ShuffledRDD';
  readonly shuffleId: number;
  /** The compiled sort-key function (workers), when the spec has one. */
  readonly #sortKey: ((k: unknown) => unknown) | undefined;
  /** The compiled comparator (workers), when the spec has one. */
  readonly #compare: ((a: unknown, b: unknown) => number) | undefined;
  readonly #numPartitions: number;
  readonly #aggregator: Aggregator | undefined;
  readonly #preparing = new SharedPreparation();

  constructor(
    context: RddContext,
    /** The map side's RDD; undefined when a worker rebuilds the reduce side, which reads shuffle files only. */
    readonly parent: RDD<[K, V]> | undefined,
    partitioner: Partitioner | { rangeAscending: boolean; numPartitions: number; compare?: (a: unknown, b: unknown) => number },
    readonly spec: ShuffleSpec,
    options: RddOptions & {
      shuffleId?: number;
      aggregator?: Aggregator;
      numPartitions?: number;
      sortKey?: (k: unknown) => unknown;
      compare?: (a: unknown, b: unknown) => number;
    } = {},
  ) {
    super(context, options);
    this.#sortKey = options.sortKey;
    this.#compare = options.compare;
    this.shuffleId = options.shuffleId ?? this.context.newShuffleId(this);
    if ('rangeAscending' in partitioner) {
      const { numPartitions, rangeAscending, compare } = partitioner;
      const pending: PendingRangePartitioner = new PendingRangePartitioner(numPartitions, rangeAscending, compare, () => this.#sampleRanges(pending));
      this.partitioner = pending;
    } else this.partitioner = partitioner;
    this.#numPartitions = this.partitioner.numPartitions;
    this.#aggregator = options.aggregator;
  }

  getNumPartitions(): number {
    return this.#numPartitions;
  }

  protected getDependencies(): readonly Dependency[] {
    const self = this;
    const dep: ShuffleDependency = {
      type: 'shuffle',
      rdd: this.#driverParent(),
      shuffleId: this.shuffleId,
      partitioner: this.partitioner!,
      aggregator: this.spec.aggregator,
      mapSideCombine: this.spec.mapSideCombine,
      keyOrdering: this.spec.keyOrdering,
      childId: this.id,
      get childLabel() {
        return self.label;
      },
    };
    return [dep];
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return [];
  }
  /** The map side's RDD: known on the driver (where lineage is walked); a worker reads the shuffle instead. */
  #driverParent(): RDD<[K, V]> {
    // internal: lineage is walked on the driver only
    if (this.parent === undefined) throw new Error(`${this.label} was rebuilt in a worker, where its input is the shuffle, not its parent`);
    return this.parent;
  }
  protected wireBody(): RddWireBody {
    return { kind: 'ShuffledRDD', args: { shuffleId: this.shuffleId, spec: this.spec, numPartitions: this.#numPartitions } };
  }

  override prepare(): Promise<void> {
    // Its own sort's partitioner, or one given to partitionBy or repartitionAndSortWithinPartitions by another sort.
    return this.partitioner!.settle?.() ?? Promise.resolve();
  }

  /** sortByKey: samples the input's keys into range bounds, once, settling its partitioner with them. */
  #sampleRanges(pending: PendingRangePartitioner): Promise<void> {
    return this.#preparing.run(async () => {
      if (pending.settled !== undefined) return;
      const parent = this.#driverParent();
      const k = sampleSizePerPartition(pending.numPartitions, parent.getNumPartitions());
      const samples = await this.context.runJob<{ count: number; sample: unknown[] }>(
        parent,
        { kind: 'sampleKeys', k, seed: this.shuffleId, for: this.label },
        undefined,
        `sortByKey sample for ${this.label}`,
      );
      const candidates: Array<[unknown, number]> = [];
      for (const { count, sample } of samples) {
        const weight = sample.length > 0 ? count / sample.length : 0;
        for (const key of sample) candidates.push([key, weight]);
      }
      // Spark's RangePartitioner asks determineBounds for no more ranges than sampled keys: with fewer records than
      // partitions, one bound per sampled key would end the last range at the largest key, and a descending sort
      // would then leave partition 0 empty and start at 1, where Spark's starts at 0.
      const ranges = Math.max(1, Math.min(pending.numPartitions, candidates.length));
      const compare = pending.compare;
      if (compare === undefined) {
        let bounds: unknown[];
        try {
          bounds = determineBounds(candidates, ranges);
        } catch (e) {
          // The sampled keys are compared here, on the driver, outside any task: the bare error named no RDD.
          if (e instanceof InvalidDataError)
            throw new InvalidDataError(`${this.label}: its sampled keys cannot be sorted: ${e.message.replace(/^kindling: /, '')}`);
          throw e;
        }
        this.#settle(pending, new RangePartitioner(pending.numPartitions, bounds, pending.ascending));
        return;
      }
      // A user's order: the same range partitioning, placed by the user's comparator in the map tasks.
      let bounds: unknown[];
      try {
        bounds = determineBounds(candidates, ranges, compare);
      } catch (e) {
        // The comparator runs here on the driver, outside any task: without this, the action failed with the bare
        // error, naming neither the sort nor where its comparator ran.
        const info = toErrorInfo(e);
        throw Object.assign(
          new JobFailedError(
            `${this.label}: its comparator threw on the driver, placing the sampled keys in ranges: ${info.name}: ${info.message}`,
            undefined,
            [info],
          ),
          { cause: e },
        );
      }
      const ascending = pending.ascending;
      const getPartition = capture({ bounds, compare, ascending }, (key: unknown): number => {
        let lo = 0;
        let hi = bounds.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (compare(key, bounds[mid]) > 0) lo = mid + 1;
          else hi = mid;
        }
        return ascending ? lo : bounds.length - lo;
      });
      this.#settle(pending, new ShippedPartitioner({ numPartitions: pending.numPartitions, getPartition }, this.context));
    });
  }

  #settle(pending: PendingRangePartitioner, p: Partitioner): void {
    pending.settleWith(p);
    // The sorted RDD shows its RangePartitioner from now on (its bounds readable, as Spark's); RDDs made from it
    // before hold the pending one, which now places and compares as this one.
    this.partitioner = p;
  }

  compute(p: number, tc: TaskContext): Iterable<[K, C]> {
    const out: [K, C][] = [];
    this.pushCompute(p, tc, (x) => out.push(x));
    return out;
  }

  protected override pushComputeOrColumns(p: number, tc: TaskContext, sink: Sink<[K, C]>, columns: NumberGroupsSink): void {
    // Only an unsorted combine ends with columns; #push hands them over there alone.
    this.#push(p, tc, sink, columns);
  }

  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<[K, C]>): void {
    this.#push(p, tc, sink);
  }

  #push(p: number, tc: TaskContext, sink: Sink<[K, C]>, columns?: NumberGroupsSink): void {
    const agg = this.#aggregator;
    // An aggregating reader merge-reads what the worker spilled while fetching; others get it all as arrays.
    const parts = agg !== undefined && tc.shuffleInputParts ? tc.shuffleInputParts(this.shuffleId, p) : undefined;
    const buckets = parts?.buckets ?? tc.shuffleInput(this.shuffleId, p);
    const eachPair = (f: (kv: Pair) => void, numbers?: NumberColumnsSink): void => {
      // Numeric columns go to the combine as they are (no pair per record) where the input can hand them over.
      if (numbers !== undefined && parts?.read !== undefined) {
        parts.read(f, numbers);
        return;
      }
      for (const bucket of buckets)
        for (let i = 0; i < bucket.length; i++) {
          if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
          f(bucket[i]!);
        }
    };
    const ordering = this.spec.keyOrdering;
    const order = ordering === undefined ? undefined : { ascending: ordering === 'ascending', sortKey: this.#sortKey, compare: this.#compare };
    if (agg !== undefined) {
      // One reduce partition's keys may not fit the worker: the combine spills sorted runs and merges them.
      const combineInto = this.spec.mapSideCombine ? combineCombinersExternally : combineValuesExternally;
      const runs = parts?.runs ?? [];
      if (order === undefined) {
        // Map-side combined outputs hold each key once, so the table holds at least as many keys as the largest; room
        // for twice that (never more than all records) also spares the last doubling when, as in word counts of a
        // long tail, the other outputs add many keys of their own.
        const expected = this.spec.mapSideCombine ? Math.min(2 * (parts?.largestBucket ?? 0), parts?.inMemoryRecords ?? 0) : 0;
        combineInto(eachPair, agg, this.id, this.label, sink as (kv: Pair) => void, runs, columns, expected);
        return;
      }
      // The combined groups are sorted like any records: a partition of many keys spills sorted runs too.
      sortExternally((add) => combineInto(eachPair, agg, this.id, this.label, add, runs), order, this.label, sink as (kv: Pair) => void);
    } else if (order !== undefined) {
      // A sorted partition may outgrow the worker (a skewed key): the sorter spills sorted runs and merge-reads them.
      sortExternally(eachPair, order, this.label, sink as (kv: Pair) => void);
    } else {
      eachPair(sink as (kv: Pair) => void);
    }
  }
}
