/**
 * RDD: an immutable, partitioned collection described by its lineage.
 *
 * Every RDD knows three things (Spark's hooks): how many partitions it has, its dependencies on parent RDDs
 * (narrow or shuffle), and how to compute one partition from its parents. Transformations only build new RDDs;
 * actions (in actions.ts) submit a job through the context.
 *
 * The same classes live on both sides: the driver builds lineage and describes each RDD as plain data
 * (`toWire`); a worker rebuilds the RDDs of a stage from that data (registry.ts) and computes partitions.
 * Computation is push-based for element-wise chains (`forEach` passes each element down a chain of sinks, with
 * no intermediate arrays or iterator objects) and pull-based (`iterator`) where a user function wants an
 * Iterable (mapPartitions). `forEach` and `iterator` are the only places that consult the cache.
 */
import { oneToOne, type Dependency, type ShuffleDependency } from './dependency.js';
import type { Partitioner } from '../core/partitioner.js';
import type { CustomPartitioner } from './user-partitioner.js';
import { StorageLevel, describeStorageLevel, storageLevelOf } from '../storage/storage-level.js';
import { type ColumnBlock, eachCached, pairBlockOf, type CachedPartition } from '../storage/columnar-block.js';
import { userCallSite } from '../util/call-site.js';
import { classInstanceError, IllegalStateError, InvalidArgumentError, ArgumentTypeError, OutputPathError } from '../core/errors.js';
import { keyId } from '../core/keys.js';
import { checkHeap } from '../core/heap-guard.js';
import { INTERRUPT_MASK, checkInterrupted, interruptible } from '../core/task-interrupt.js';
import { outputCodecOf, OUTPUT_CODEC_NAMES } from '../io/index.js';
// Closure modules one by one, not the index: workers load this file, and the index brings the driver's function
// analysis (acorn, eslint-scope), most of a worker's module loading.
import { capture, useModule } from '../closure/capture.js';
import { findClassInstance } from '../closure/clonable.js';
import type { RddContext } from './rdd-context.js';
import { withActionOptions, type ActionOptions } from '../core/job-scope.js';
import type { TaskContext } from './task-context.js';
import type { StatCounter } from './stat-counter.js';
import type { BoundedDouble, PartialResult } from './approx.js';
import type { RddWire, RddWireBody } from './wire.js';
import type { NumberGroupsSink } from '../shuffle/external-combiner.js';
import {
  MappedRDD,
  MapAsyncRDD,
  MapPartitionsRDD,
  unionOf,
  CoalescedRDD,
  CartesianRDD,
  ZippedPartitionsRDD,
  ZippedWithIndexRDD,
  pair,
  actions,
  setOps,
  type ElementOp,
} from './internal.js';

export type Sink<T> = (x: T) => void;

declare const needsPairs: unique symbol;
/**
 * The parameter type of the fallback overload of each pair method: on an RDD whose elements are not
 * `[key, value]` pairs, the compiler reports the mistake at that call, naming the method (the `this` parameter
 * of the pair overload alone would report it at the start of the chain).
 */
export interface NotPairs<M extends string> {
  readonly [needsPairs]: `${M}() needs an RDD of [key, value] pairs, e.g. rdd.map((x) => [key(x), x])`;
}
/**
 * The parameters of a pair method whose arguments may all be omitted (`keys()`, `groupByKey()`,
 * `countByKey()`): `A` on an RDD of pairs; otherwise one required `NotPairs` argument, so that a call with no
 * arguments is an arity error, which the compiler reports at that call (a `this` mismatch alone is reported at
 * the start of the chain, and overloads cannot catch a call that has no argument to mismatch). `T` is a tuple
 * even in generic code (`RDD<[K, V]>`), so the condition resolves there too. The `NotPairs` argument is also
 * of the first optional parameter's type, so that methods compare bivariantly and an `RDD<[K, V]>` stays
 * assignable to `RDD<unknown>`.
 */
export type PairArgs<T, M extends string, A extends unknown[] = []> = T extends readonly [unknown, unknown]
  ? A
  : [rddOfPairsNeeded: NotPairs<M> & (A extends [] ? unknown : A[0])];
/**
 * A single literal type widened (`1` to `number`, `'a'` to `string`), as an `as const` tuple's elements are, so
 * its values can be combined (`reduceByKey((a, b) => a + b)`); unions of literals (`'red' | 'green'`) are kept.
 */
export type WidenLiteral<X> = [X] extends [boolean]
  ? boolean extends X
    ? X
    : boolean
  : IsUnion<X> extends true
    ? X
    : X extends string
      ? string extends X
        ? X
        : string
      : X extends number
        ? number extends X
          ? X
          : number
        : X extends bigint
          ? bigint extends X
            ? X
            : bigint
          : X;
type IsUnion<X, Y = X> = X extends unknown ? ([Y] extends [X] ? false : true) : never;

/**
 * Partitions written to disk (persisted with a disk level, checkpointed) come back through V8's serializer, which
 * drops prototypes as the structured clone does: the same rule as for data crossing threads, checked whether or
 * not memory is short this time, so that a program does not fail only under memory pressure.
 */
export function refuseClassInstances(values: readonly unknown[], owner: string, crossing: string): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'object' || x === null) continue;
    const found = findClassInstance(x, 1);
    if (found !== undefined) throw classInstanceError(found, `Element ${i} of a partition of ${owner}`, crossing);
  }
}

export type { RddWire } from './wire.js';

export interface RddOptions {
  /** Given when a worker rebuilds an RDD; new RDDs on the driver take the context's next id. */
  readonly id?: number;
  readonly label?: string;
  /** The operation that created this RDD, e.g. `map`. */
  readonly op?: string;
}

/**
 * A resilient distributed dataset of `T`.
 *
 * @example
 * ```ts
 * const sc = new Context({ master: 'local[2]' });
 * const counts = await sc.textFile('corpus.txt')
 *   .flatMap((line) => line.split(' '))
 *   .map((w) => [w, 1])
 *   .reduceByKey((a, b) => a + b)
 *   .collect();
 * ```
 */
export abstract class RDD<T> {
  /** Unique within its context, increasing. */
  readonly id: number;
  readonly context: RddContext;
  /** Spark's class name for this kind of RDD, as toDebugString prints it. */
  abstract readonly kind: string;
  /** The partitioner, when the RDD's keys are known to be partitioned by one. */
  partitioner: Partitioner | undefined = undefined;
  #name: string | undefined;
  #storageLevel: StorageLevel = StorageLevel.NONE;
  #cacheGeneration = 0;
  #origin: string;
  #deps: readonly Dependency[] | undefined;
  /** The parent whose partition count this RDD shares (see `inheritPartitionCount`). */
  #countParent: RDD<unknown> | undefined;
  #countMemo: number | undefined;

  protected constructor(context: RddContext, options: RddOptions = {}) {
    this.context = context;
    this.id = options.id ?? context.newRddId();
    this.#origin = options.label ?? (context.isDriver ? `${options.op ?? 'rdd'} at ${userCallSite()}` : 'rdd');
  }

  // ---- the three hooks ------------------------------------------------------------------------------------

  /** Number of partitions. */
  abstract getNumPartitions(): number;

  /**
   * Declares that this RDD has exactly as many partitions as `parent` (map, mapPartitions, zipWithIndex, ...);
   * `inheritedNumPartitions` then finds the count by walking such chains in a loop. A recursive
   * `parent.getNumPartitions()` would overflow the stack on the deep lineages iterative programs build.
   */
  protected inheritPartitionCount(parent: RDD<unknown>): void {
    this.#countParent = parent;
  }

  /** The partition count of an RDD declared with `inheritPartitionCount`, without recursion; memoized. */
  protected inheritedNumPartitions(): number {
    if (this.#countMemo !== undefined) return this.#countMemo;
    const chain: RDD<unknown>[] = [];
    let cur: RDD<unknown> = this;
    while (cur.#countParent !== undefined && cur.#countMemo === undefined) {
      chain.push(cur);
      cur = cur.#countParent;
    }
    const n = cur.#countMemo ?? cur.getNumPartitions();
    for (const r of chain) r.#countMemo = n;
    return n;
  }
  /** Computes the dependencies (driver side); called once and memoized by `dependencies`. */
  protected abstract getDependencies(): readonly Dependency[];
  /**
   * Computes one partition as an Iterable (pull).
   *
   * `compute` and `pushCompute` must yield the same elements in the same order: consumers use whichever is
   * cheaper (the shuffle writer and most actions push; zip and cartesian pull). An RDD that overrides
   * `pushCompute` for speed (element-wise RDDs push each element down a chain of functions) keeps `compute`
   * as the reference, and a test compares the two.
   */
  abstract compute(partition: number, tc: TaskContext): Iterable<T>;
  /** Computes one partition by pushing each element into `sink` (see `compute` for the pairing rule). */
  protected pushCompute(partition: number, tc: TaskContext, sink: Sink<T>): void {
    // compute's own loops may pass no check (a zip's, a mapAsync's results, a file reader's): one here.
    let i = 0;
    for (const x of this.compute(partition, tc)) {
      if ((++i & INTERRUPT_MASK) === 0) checkInterrupted();
      sink(x);
    }
  }
  /** What a worker needs to rebuild this RDD: its kind and that kind's arguments (see wire.ts). */
  protected abstract wireBody(): RddWireBody;
  /**
   * Leaf data a task for `partition` carries with it (a parallelized slice, an input split), for RDDs whose data
   * starts on the driver; the worker reads it back with `tc.payload(id, partition)`.
   */
  partitionPayload?(partition: number): readonly unknown[];
  /** A leaf so cheap to compute again that recomputation hints never name it (parallelize, range, empty). */
  get cheapToRecompute(): boolean {
    return false;
  }
  /** Parents a worker must rebuild before this one. */
  protected wireParents(): readonly RDD<unknown>[] {
    return this.dependencies.filter((d) => d.type === 'narrow').map((d) => d.rdd);
  }

  /** Work to do on the driver before the first job that uses this RDD (e.g. sampling for a range partitioner). */
  prepare?(): Promise<void>;

  // ---- lineage ----------------------------------------------------------------------------------------------

  get dependencies(): readonly Dependency[] {
    this.#deps ??= this.getDependencies();
    return this.#deps;
  }

  /** Replaces the dependencies (checkpointing truncates lineage). */
  protected resetDependencies(deps: readonly Dependency[]): void {
    this.#deps = deps;
  }

  // ---- output levels (Spark's DeterministicLevel) -------------------------------------------------------------

  /**
   * True when what this RDD makes of a partition depends on the order of its input, not only on its elements
   * (round-robin targets, positional indexes, per-position sampling): Spark's `isOrderSensitive`. Over an
   * input whose order can change when it is computed again (a shuffle's output, see {@link outputLevel}), such
   * an RDD gives different records on a recompute.
   */
  get orderSensitive(): boolean {
    return false;
  }

  /**
   * What computing a partition of this RDD again gives, compared with the first time (Spark's
   * `outputDeterministicLevel`): `determinate` (the same records in the same order), `unordered` (the same
   * records, perhaps in another order: a shuffle's reduce side, whose order follows spills and fetches), or
   * `indeterminate` (perhaps other records: an order-sensitive step over unordered input, or anything reading
   * such an RDD's shuffle). The DAG scheduler runs an indeterminate shuffle map stage again in full when part of
   * its output is lost, and every stage that read it; see `DAGScheduler`. Walks the lineage without recursion.
   *
   * @example
   * ```ts
   * sc.range(10).outputLevel;                                     // 'determinate'
   * sc.range(10).map((x) => [x % 3, x]).groupByKey().outputLevel; // 'unordered'
   * sc.range(10).map((x) => [x % 3, x]).groupByKey().repartition(2).outputLevel; // 'indeterminate'
   * ```
   */
  get outputLevel(): OutputLevel {
    return outputLevelOf(this).level;
  }

  /** The order-sensitive RDD that makes this one indeterminate (over unordered input), if it is. */
  get indeterminateSource(): RDD<unknown> | undefined {
    return outputLevelOf(this).source;
  }

  /** The shuffle dependencies of this RDD itself (not of its ancestors). */
  get shuffleDependencies(): readonly ShuffleDependency[] {
    return this.dependencies.filter((d): d is ShuffleDependency => d.type === 'shuffle');
  }

  toWire(): RddWire {
    if (this.#checkpoint !== undefined) {
      // Lineage ends at the checkpoint: a worker rebuilds this RDD (same id) as a reader of its files.
      return {
        ...this.#checkpoint.toWire(),
        id: this.id,
        label: this.#name ?? this.#origin,
        storageLevel: this.#storageLevel.name,
        ...(this.#cacheGeneration !== 0 ? { cacheGeneration: this.#cacheGeneration } : {}),
      };
    }
    return {
      ...this.wireBody(),
      id: this.id,
      label: this.#name ?? this.#origin,
      numPartitions: this.getNumPartitions(),
      storageLevel: this.#storageLevel.name,
      ...(this.#cacheGeneration !== 0 ? { cacheGeneration: this.#cacheGeneration } : {}),
      parents: this.wireParents().map((r) => r.id),
    };
  }

  /** Called by the worker-side registry to restore what the driver knew. */
  restoreStorageLevel(name: StorageLevel['name'], cacheGeneration = 0): void {
    this.#storageLevel = StorageLevel[name];
    this.#cacheGeneration = cacheGeneration;
  }

  /**
   * Which computation of this RDD its cached partitions belong to: 0 until the DAG scheduler rolls them back, when
   * a shuffle it was computed from must be computed again in full (an indeterminate shuffle, see
   * {@link outputLevel}) and its partitions cached so far would mix with partitions computed from the new shuffle.
   * Tasks carry it; workers keep and read only blocks of the generation their task carries.
   *
   * @example
   * ```ts
   * const x = sums.repartition(3).cache();
   * x.cacheGeneration; // 0; 1 after a lost worker made the repartition run again in full
   * ```
   */
  get cacheGeneration(): number {
    return this.#cacheGeneration;
  }

  /** @internal the DAG scheduler's rollback: later tasks compute and cache a new generation of the partitions. */
  nextCacheGeneration(): number {
    return ++this.#cacheGeneration;
  }

  // ---- computing in a worker --------------------------------------------------------------------------------

  /** The partition's elements, from the cache when persisted. */
  iterator(partition: number, tc: TaskContext): Iterable<T> {
    // Whoever pulls (a user's mapPartitions, zip, take, a save) passes interrupt checks as push loops do.
    if (this.#storageLevel !== StorageLevel.NONE) return interruptible(this.#getOrCompute(partition, tc));
    tc.computed?.(this.id);
    return interruptible(this.compute(partition, tc));
  }

  /** Pushes the partition's elements into `sink`, from the cache when persisted. */
  forEach(partition: number, tc: TaskContext, sink: Sink<T>): void {
    if (this.#storageLevel !== StorageLevel.NONE) {
      eachCached(this.#getOrCompute(partition, tc), sink as (x: unknown) => void);
      return;
    }
    tc.computed?.(this.id);
    this.pushCompute(partition, tc, sink);
  }

  /**
   * As {@link forEach}, for a reader that can take a partition of pairs as two columns (collectAsMap's collect): an
   * RDD whose computation ends with its pairs held as columns (a combine by key whose keys are all int32 or all
   * strings and whose combiners are all numbers) hands them to `columns` once, in the order `sink` would have seen
   * them, and pushes nothing to `sink`. Any other RDD pushes to `sink`.
   */
  forEachOrColumns(partition: number, tc: TaskContext, sink: Sink<T>, columns: NumberGroupsSink): void {
    // A persisted partition is read from (or computed into) the cache, as forEach does.
    if (this.#storageLevel !== StorageLevel.NONE) {
      this.forEach(partition, tc, sink);
      return;
    }
    tc.computed?.(this.id);
    this.pushComputeOrColumns(partition, tc, sink, columns);
  }

  /**
   * `pushCompute`, for a reader that takes pairs as columns (see {@link forEachOrColumns}): an RDD that can end with
   * its pairs as columns overrides it (the shuffle's combine, a mapValues over one); others push to `sink`.
   */
  protected pushComputeOrColumns(partition: number, tc: TaskContext, sink: Sink<T>, columns: NumberGroupsSink): void {
    void columns;
    this.pushCompute(partition, tc, sink);
  }

  /**
   * The partition as the cache holds it (computed and cached first on a miss) when this RDD is persisted, so that
   * a by-key reader can use its columns; undefined when it is not persisted (read it with `forEach`).
   */
  cachedPartition(partition: number, tc: TaskContext): CachedPartition | undefined {
    return this.#storageLevel === StorageLevel.NONE ? undefined : this.#getOrCompute(partition, tc);
  }

  #getOrCompute(partition: number, tc: TaskContext): CachedPartition & Iterable<T> {
    const hit = tc.blocks.get(this.id, partition, this.#cacheGeneration);
    if (hit !== undefined) return hit as CachedPartition & Iterable<T>;
    const values: T[] = [];
    let block: ColumnBlock | undefined;
    tc.computed?.(this.id);
    // A partition that ends as int32 keys with number values (a reduceByKey's groups, a mapValues over them) is
    // cached as the columns it would be packed into anyway, with no pair built on the way.
    const keep = (x: T): void => {
      if ((values.push(x) & 4095) === 0)
        checkHeap(() => `the partition being cached (${values.length} elements so far) of ${this.label}`, 'use more partitions');
    };
    this.pushComputeOrColumns(partition, tc, keep, (keys, combiners, _hashes, ownCombiners) => {
      if (keys instanceof Int32Array) block = pairBlockOf(keys, combiners, ownCombiners);
      else for (let i = 0; i < keys.length; i++) keep([keys[i], combiners[i]] as T);
    });
    if (block !== undefined) {
      tc.blocks.put(this.id, partition, block, this.#storageLevel.name, this.#cacheGeneration);
      return block as ColumnBlock & Iterable<T>;
    }
    if (this.#storageLevel.useDisk)
      refuseClassInstances(values, `${this.label}, persisted ${this.#storageLevel.name},`, 'would be read back from disk');
    tc.blocks.put(this.id, partition, values, this.#storageLevel.name, this.#cacheGeneration);
    return values;
  }

  // ---- naming and introspection -----------------------------------------------------------------------------

  /** The name set by `setName`, if any. */
  get name(): string | undefined {
    return this.#name;
  }

  /**
   * Names the RDD in debug strings, errors and the storage report.
   *
   * @example
   * ```ts
   * const links = sc.textFile('edges.txt').map(parseEdge).setName('links');
   * ```
   */
  setName(name: string): this {
    if (typeof name !== 'string') throw new ArgumentTypeError(`setName: name must be a string, got ${describeArgument(name)}`);
    this.#name = name;
    return this;
  }

  /** `RDD 7 (links)` or `RDD 7 (map at job.ts:12)`: how errors and hints refer to this RDD. */
  get label(): string {
    return `RDD ${this.id} (${this.#name ?? this.#origin})`;
  }

  get storageLevel(): StorageLevel {
    return this.#storageLevel;
  }

  /**
   * This RDD's storage level (Spark's `getStorageLevel()`; the same as {@link storageLevel}): `NONE` until
   * `persist()` or `cache()`, and `NONE` again after `unpersist()`.
   *
   * @example
   * ```ts
   * const words = sc.textFile('notes.txt').persist(StorageLevel.MEMORY_AND_DISK);
   * words.getStorageLevel().name; // 'MEMORY_AND_DISK'
   * ```
   */
  getStorageLevel(): StorageLevel {
    return this.#storageLevel;
  }

  /** The RDD's lineage, indented at shuffle boundaries, as Spark prints it. */
  toDebugString(): string {
    const out: string[] = [];
    type Frame = { rdd: RDD<unknown>; prefix: string; mode: 'first' | 'shuffle' | 'narrow'; last: boolean };
    // Explicit stack: iterative programs build lineages deeper than the call stack allows.
    const stack: Frame[] = [{ rdd: this, prefix: '', mode: 'first', last: false }];
    while (stack.length > 0) {
      const f = stack.pop()!;
      const self = f.rdd.#debugSelf();
      let nextPrefix = f.prefix;
      if (f.mode === 'narrow') {
        out.push(f.prefix + self);
      } else {
        // A shuffle boundary starts a new indented block headed by its partition count.
        const count = `(${f.rdd.getNumPartitions()})`;
        const left = Math.floor((count.length - 1) / 2);
        const bar = ' '.repeat(left) + '|' + ' '.repeat(count.length - left);
        if (f.mode === 'first') {
          out.push(`${count} ${self}`);
          nextPrefix = bar;
        } else {
          const thisPrefix = f.prefix.replace(/\|\s+$/, '');
          out.push(`${thisPrefix}+-${count} ${self}`);
          nextPrefix = thisPrefix + (f.last ? '  ' : '| ') + bar;
        }
      }
      const deps = f.rdd.dependencies;
      for (let i = deps.length - 1; i >= 0; i--) {
        const d = deps[i]!;
        stack.push({ rdd: d.rdd, prefix: nextPrefix, mode: d.type === 'shuffle' ? 'shuffle' : 'narrow', last: i === deps.length - 1 });
      }
    }
    return out.join('\n');
  }

  #debugSelf(): string {
    const level = describeStorageLevel(this.#storageLevel);
    return `${this.#name ? this.#name + ' ' : ''}${this.kind}[${this.id}] at ${this.#origin} [${level}]`;
  }

  // ---- persistence ------------------------------------------------------------------------------------------

  /**
   * Keeps computed partitions in worker memory for later jobs (MEMORY_ONLY).
   *
   * @example
   * ```ts
   * const points = sc.textFile('points.txt').map(parsePoint).cache();
   * ```
   */
  cache(): this {
    return this.persist(StorageLevel.MEMORY_ONLY);
  }

  /**
   * Keeps computed partitions at the given storage level. A level cannot be changed once set (Spark's rule);
   * `unpersist()` first.
   *
   * @example
   * ```ts
   * rdd.persist(StorageLevel.MEMORY_AND_DISK);
   * ```
   */
  persist(given: StorageLevel | StorageLevel['name'] = StorageLevel.MEMORY_ONLY): this {
    const level = storageLevelOf(given);
    if (this.#storageLevel !== StorageLevel.NONE && this.#storageLevel !== level) {
      throw new IllegalStateError(
        `Cannot change the storage level of ${this.label} from ${this.#storageLevel.name} to ${level.name} ` +
          'after it was assigned; call unpersist() first.',
      );
    }
    if (this.#storageLevel === level) return this;
    this.#storageLevel = level;
    this.context.persistRdd(this);
    return this;
  }

  /**
   * Drops the RDD's cached partitions on every worker and marks it not persisted.
   *
   * @example
   * ```ts
   * await ranks.unpersist();
   * ```
   */
  unpersist(): this {
    if (this.#storageLevel === StorageLevel.NONE) return this;
    this.#storageLevel = StorageLevel.NONE;
    void this.context.unpersistRdd(this);
    return this;
  }

  /**
   * Marks the RDD for checkpointing: the next action saves it to the context's checkpoint directory and later
   * jobs read it from there, with its lineage truncated. Actions ending at once write it once (as Spark): the others
   * wait for that write.
   *
   * @example
   * ```ts
   * sc.setCheckpointDir('/tmp/ckpt');
   * ranks.checkpoint();
   * ```
   */
  checkpoint(): this {
    if (this.context.checkpointDir === undefined) {
      throw new IllegalStateError(`Checkpoint directory has not been set for ${this.label}: call sc.setCheckpointDir(dir) before checkpoint().`);
    }
    // Spark keeps the first kind asked for: a local checkpoint already requested stays one.
    if (!this.#localCheckpointRequested) this.#checkpointRequested = true;
    return this;
  }
  #checkpointRequested = false;
  #localCheckpointRequested = false;
  #checkpoint: RDD<unknown> | undefined;
  /** True once checkpoint() has been called. */
  get checkpointRequested(): boolean {
    return this.#checkpointRequested;
  }
  /**
   * True once the lineage is truncated: the checkpoint files are written, or (after {@link localCheckpoint}) every
   * partition is cached on the workers.
   */
  get isCheckpointed(): boolean {
    return this.#checkpoint !== undefined;
  }

  /**
   * Marks the RDD for local checkpointing (Spark's `localCheckpoint`): it is persisted (`MEMORY_AND_DISK`, or its own
   * level made to spill to disk rather than drop partitions), and after the first action that computes it (any
   * partition missing from the cache then is computed by one more job) its lineage is cut: later jobs read its cached
   * partitions, from whichever worker holds them, and never recompute them. This bounds the lineage (and the driver's
   * per-job work) of an iterative program without writing files, as {@link checkpoint} does; but it is not
   * fault-tolerant: a partition lost with its worker (or dropped by `unpersist()`) fails the jobs that read it, with an
   * error naming the RDD and partition. Has no effect in the `mapreduce` engine, which caches nothing.
   *
   * @example
   * ```ts
   * let ranks = initial;
   * for (let i = 1; i <= 30; i++) {
   *   ranks = step(ranks);
   *   if (i % 5 === 0) ranks.localCheckpoint(); // lineage depth stays bounded
   * }
   * await ranks.count();
   * ranks.isLocallyCheckpointed; // true
   * ```
   */
  localCheckpoint(): this {
    if (this.#storageLevel === StorageLevel.NONE) this.persist(StorageLevel.MEMORY_AND_DISK);
    // Spark's transformStorageLevel: a block evicted from memory must go to disk, or nothing would hold it.
    else if (!this.#storageLevel.useDisk) this.#storageLevel = StorageLevel.MEMORY_AND_DISK;
    this.#localCheckpointRequested = true;
    // The later request wins, as in Spark (a reliable checkpoint of the same RDD is not written as well).
    this.#checkpointRequested = false;
    return this;
  }
  /** True once localCheckpoint() has been called (the lineage is cut after the next action). */
  get localCheckpointRequested(): boolean {
    return this.#localCheckpointRequested;
  }
  /** True once the RDD is locally checkpointed: its lineage ends at its cached partitions (see {@link localCheckpoint}). */
  get isLocallyCheckpointed(): boolean {
    return this.#localCheckpointRequested && this.#checkpoint !== undefined;
  }
  /**
   * The folder this RDD was checkpointed to, once it was (Spark's `getCheckpointFile`); undefined before the first
   * action after `checkpoint()`.
   */
  getCheckpointFile(): string | undefined {
    const reader = this.#checkpoint as { dir?: unknown } | undefined;
    return typeof reader?.dir === 'string' ? reader.dir : undefined;
  }
  /** Called by the context after the checkpoint job: lineage now ends at the checkpoint files. */
  markCheckpointed(reader: RDD<unknown>): void {
    this.#checkpoint = reader;
    this.resetDependencies([oneToOne(reader)]);
  }

  // ---- element-wise transformations -------------------------------------------------------------------------

  /** @internal builds an element-wise RDD */
  protected elementwise<U>(op: ElementOp, fn?: Function): RDD<U> {
    return new MappedRDD<T, U>(this, op, fn);
  }

  /**
   * Applies `fn` to every element.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 3]).map((x) => x * 2); // [2, 4, 6]
   * sc.parallelize(['a', 'b']).map((w) => [w, 1]); // RDD<[string, number]>: a function returning a
   * // 2-element array literal (or an `as const` tuple) makes a pair RDD, with no annotation
   * function ones<T>(rdd: RDD<T>): RDD<[T, number]> {
   *   return rdd.map((x) => [x, 1]); // generic code too
   * }
   * ```
   *
   * An `as const` tuple's literal types are widened (`1` to `number`) where they are concrete; a key or value
   * whose type is a type parameter is kept as it is, so generic code gets exactly `[T, ...]`. Only a type
   * parameter constrained to `{}` (or narrower) would be widened too, which the compiler cannot resolve: give
   * the element type there, `rdd.map<[T, number]>((x) => [x, 1])`.
   */
  // The constraint `{}` is what tells a concrete key or value from a type parameter of generic code, which
  // `WidenLiteral` cannot resolve (an unconstrained type parameter is not assignable to `{}`); a nullable value
  // (`number | null`) takes an unwidened overload, which is right because only `as const` keeps literals there.
  map<K extends {}, V extends {}>(fn: (x: T) => readonly [K, V]): RDD<[WidenLiteral<K>, WidenLiteral<V>]>;
  map<K extends {}, V>(fn: (x: T) => readonly [K, V]): RDD<[WidenLiteral<K>, V]>;
  map<K, V extends {}>(fn: (x: T) => readonly [K, V]): RDD<[K, WidenLiteral<V>]>;
  map<K, V>(fn: (x: T) => readonly [K, V]): RDD<[K, V]>;
  map<U>(fn: (x: T) => U): RDD<U>;
  map<U>(fn: (x: T) => U): RDD<U> {
    return this.elementwise('map', fn);
  }

  /**
   * Applies `fn`, which may be `async` (or return a Promise), to every element: each task awaits up to
   * `concurrency` calls at a time (default 8) in its worker and keeps the elements' order. For I/O per element
   * (an HTTP call, a database lookup) without blocking the worker thread. A rejection fails the task like a throw.
   * A task holds its partition's results until it has awaited them all, and `taskContext()` is right only
   * before the function's first `await`. (Spark has no such operation; Scala users reach for `mapPartitions`
   * with futures.)
   *
   * @example
   * ```ts
   * const pages = urls.mapAsync(async (url) => (await fetch(url)).status, { concurrency: 16 });
   * const named = ids.mapAsync(async (id) => [id, await lookup(id)]); // RDD<[number, string]>
   * ```
   */
  mapAsync<K, V>(fn: (x: T) => PromiseLike<readonly [K, V]> | readonly [K, V], options?: { concurrency?: number }): RDD<[K, V]>;
  mapAsync<U>(fn: (x: T) => PromiseLike<U> | U, options?: { concurrency?: number }): RDD<U>;
  mapAsync<U>(fn: (x: T) => PromiseLike<U> | U, options: { concurrency?: number } = {}): RDD<U> {
    const concurrency = options.concurrency ?? 8;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`mapAsync: concurrency must be a positive integer, got ${String(options.concurrency)}`);
    }
    if (typeof fn !== 'function') throw new ArgumentTypeError(`mapAsync expects a function, got ${typeof fn}`);
    return new MapAsyncRDD<T, U>(this, fn, concurrency);
  }

  /**
   * Keeps the elements for which `fn` is true.
   *
   * @example
   * ```ts
   * sc.range(10).filter((x) => x % 2 === 0);
   * sc.parallelize([1, 'a']).filter((x): x is string => typeof x === 'string'); // RDD<string>
   * ```
   */
  filter<S extends T>(fn: (x: T) => x is S): RDD<S>;
  filter(fn: (x: T) => boolean): RDD<T>;
  filter(fn: (x: T) => boolean): RDD<T> {
    return this.elementwise('filter', fn);
  }

  /**
   * Maps every element to an iterable and flattens the results.
   *
   * @example
   * ```ts
   * sc.parallelize(['a b', 'c']).flatMap((l) => l.split(' ')); // ['a', 'b', 'c']
   * ```
   */
  flatMap<K, V>(fn: (x: T) => Iterable<[K, V]>): RDD<[K, V]>;
  flatMap<U>(fn: (x: T) => Iterable<U>): RDD<U>;
  flatMap<U>(fn: (x: T) => Iterable<U>): RDD<U> {
    return this.elementwise('flatMap', fn);
  }

  /**
   * Pairs every element with `fn(element)` as its key.
   *
   * @example
   * ```ts
   * sc.parallelize(['ab', 'c']).keyBy((s) => s.length); // [[2, 'ab'], [1, 'c']]
   * ```
   */
  keyBy<K>(fn: (x: T) => K): RDD<[K, T]> {
    return this.elementwise('keyBy', fn);
  }

  /**
   * Transforms each partition as a whole; `fn` receives an Iterable and returns one (a generator works well).
   *
   * @example
   * ```ts
   * rdd.mapPartitions(function* (it) { let n = 0; for (const _ of it) n++; yield n; });
   * ```
   */
  mapPartitions<U>(fn: (it: Iterable<T>) => Iterable<U>, preservesPartitioning = false): RDD<U> {
    return new MapPartitionsRDD<T, U>(this, { mode: 'user', fn, preservesPartitioning, op: 'mapPartitions' });
  }

  /**
   * Like mapPartitions, with the partition's index as the first argument.
   *
   * @example
   * ```ts
   * rdd.mapPartitionsWithIndex((i, it) => [...it].map((x) => [i, x]));
   * ```
   */
  mapPartitionsWithIndex<U>(fn: (index: number, it: Iterable<T>) => Iterable<U>, preservesPartitioning = false): RDD<U> {
    return new MapPartitionsRDD<T, U>(this, { mode: 'userWithIndex', fn, preservesPartitioning, op: 'mapPartitionsWithIndex' });
  }

  /**
   * Turns each partition into one array.
   *
   * @example
   * ```ts
   * await sc.parallelize([0, 1, 2, 3, 4], 2).glom().collect(); // [[0, 1], [2, 3, 4]]
   * ```
   */
  glom(): RDD<T[]> {
    return new MapPartitionsRDD<T, T[]>(this, { mode: 'glom', op: 'glom' });
  }

  /**
   * A sample of the elements: each kept with probability `fraction` (without replacement), or drawn a Poisson
   * number of times (with replacement). Deterministic for a given seed.
   *
   * @example
   * ```ts
   * sc.range(1000).sample(false, 0.1, 42);
   * ```
   */
  sample(withReplacement: boolean, fraction: number, seed?: number): RDD<T> {
    checkSampleArguments('sample', withReplacement, fraction, 'fraction');
    if (!(fraction >= 0) || (!withReplacement && fraction > 1)) {
      throw new InvalidArgumentError(`sample: fraction must be in [0, 1] without replacement and >= 0 with it; got ${fraction}`);
    }
    const s = seed ?? Math.floor(Math.random() * 2 ** 31);
    return new MapPartitionsRDD<T, T>(this, {
      mode: 'sample',
      args: { withReplacement, fraction, seed: s },
      op: 'sample',
      preservesPartitioning: true,
    });
  }

  /**
   * Splits the RDD randomly by `weights` (normalized if they do not sum to 1): every element lands in exactly
   * one split. Deterministic for a given seed.
   *
   * @example
   * ```ts
   * const [train, test] = sc.range(500).randomSplit([2, 3], 17); // about 200 and 300 elements
   * ```
   */
  randomSplit(weights: readonly number[], seed?: number): RDD<T>[] {
    if (!Array.isArray(weights)) throw new ArgumentTypeError(`randomSplit: weights must be an array of numbers, got ${describeArgument(weights)}`);
    if (weights.length === 0 || weights.some((w) => !(w >= 0) || !Number.isFinite(w))) {
      throw new InvalidArgumentError(`randomSplit: weights must be non-negative finite numbers, got [${weights.join(', ')}]`);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new InvalidArgumentError('randomSplit: the sum of weights must be positive');
    const s = seed ?? Math.floor(Math.random() * 2 ** 31);
    let lower = 0;
    return weights.map((w, i) => {
      // The last split ends at exactly 1 so rounding in the running sum loses no element.
      const upper = i === weights.length - 1 ? 1 : lower + w / total;
      const cell = [lower, upper] as const;
      lower = upper;
      return new MapPartitionsRDD<T, T>(this, {
        mode: 'sample',
        args: { withReplacement: false, fraction: upper - cell[0], seed: s, cell },
        op: 'randomSplit',
        preservesPartitioning: true,
      });
    });
  }

  /**
   * Pairs each element with a unique id: elements of partition k get k, n + k, 2n + k, ... (n partitions). Unlike
   * zipWithIndex it runs no job, but the ids have gaps.
   *
   * @example
   * ```ts
   * await sc.parallelize(['a', 'b', 'c', 'd', 'e'], 3).zipWithUniqueId().collect();
   * // [['a', 0], ['b', 1], ['c', 4], ['d', 2], ['e', 5]]
   * ```
   */
  zipWithUniqueId(): RDD<[T, number]> {
    const n = this.getNumPartitions();
    return this.mapPartitionsWithIndex(
      capture({ n }, function* (k: number, it: Iterable<T>): Iterable<[T, number]> {
        let i = 0;
        for (const x of it) yield [x, i++ * n + k];
      }),
      false,
    );
  }

  /**
   * Combines the i-th partition of this RDD and of `other` with `fn` (both must have as many partitions; the
   * element counts may differ). Each partition is held in memory while `fn` runs. With `preservesPartitioning`
   * (Spark's argument of that name) the result keeps this RDD's partitioner: say so only when `fn` leaves every
   * pair's key in its partition, and a later join or reduceByKey then needs no shuffle.
   *
   * @example
   * ```ts
   * const a = sc.parallelize([1, 2, 3, 4], 2);
   * const b = sc.parallelize(['a', 'b', 'c'], 2);
   * await a.zipPartitions(b, (xs, ys) => [[...xs].length, [...ys].length]).collect(); // [2, 1, 2, 2]
   * const counts = pairs.reduceByKey((x, y) => x + y);
   * counts.zipPartitions(other, (xs) => xs, true).partitioner === counts.partitioner; // true
   * ```
   */
  zipPartitions<U, V>(other: RDD<U>, fn: (mine: Iterable<T>, theirs: Iterable<U>) => Iterable<V>, preservesPartitioning = false): RDD<V> {
    requireRdd('zipPartitions', 'other', other, this);
    this.context.ship(fn, `zipPartitions function of ${this.label}`);
    // One array per partition on each side, zipped partition by partition: the pair of arrays is what fn sees.
    const out = this.glom()
      .zip(other.glom())
      .flatMap(capture({ fn }, ([mine, theirs]: [T[], U[]]) => fn(mine, theirs)));
    if (preservesPartitioning) out.partitioner = this.partitioner;
    return out;
  }

  /**
   * Pipes each partition through an external command (run by the shell when given as a string): one line per
   * element in, written as `saveAsTextFile` writes it (strings as they are, numbers with `String`, `null` and
   * `undefined` as `null` and `undefined`, arrays and objects as JSON), one element per output line out, as Spark's pipe
   * (a line ends at `\n`, `\r\n` or a lone `\r`, as Java's `readLine` that Spark reads it with). A command that exits with a non-zero code fails the task with its stderr.
   *
   * @example
   * ```ts
   * await sc.parallelize(['1', '2', '', '3']).pipe('cat').collect(); // ['1', '2', '', '3']
   * await sc.parallelize(['b', 'a']).pipe(['sort']).collect(); // ['a', 'b']
   * await sc.parallelize([null, undefined, [1, 'a']]).pipe('cat').collect(); // ['null', 'undefined', '[1,"a"]']
   * ```
   */
  pipe(command: string | readonly string[], options: { env?: Record<string, string> } = {}): RDD<string> {
    checkOptionsArgument('pipe', options, ['env'], "pass the environment as { env: { NAME: 'value' } }");
    if (typeof command !== 'string' && !Array.isArray(command)) {
      throw new ArgumentTypeError(`pipe: command must be a non-empty string or array of strings, got ${describeArgument(command)}`);
    }
    const argv = typeof command === 'string' ? [command] : [...command];
    if (argv.length === 0 || argv.some((a) => typeof a !== 'string') || argv[0] === '') {
      throw new ArgumentTypeError('pipe: command must be a non-empty string or array of strings');
    }
    const shell = typeof command === 'string';
    const env = options.env ?? null;
    const cp = useModule<typeof import('node:child_process')>('node:child_process');
    // Its own op, so that errors and the UI name the pipe the user wrote (Spark's PipedRDD), not a mapPartitions.
    // Each element becomes its line as saveAsTextFile writes it, so the two agree (`null` and `undefined` included).
    const lines = new MappedRDD<T, string>(this, 'textLine', undefined, { op: 'pipe' });
    return new MapPartitionsRDD<string, string>(lines, {
      mode: 'user',
      op: 'pipe',
      fn: capture({ cp, argv, shell, env }, (it: Iterable<string>): string[] => {
        const lines = [...it];
        const input = lines.length === 0 ? '' : lines.join('\n') + '\n';
        const r = cp.spawnSync(argv[0]!, argv.slice(1), {
          input,
          shell,
          encoding: 'utf8',
          maxBuffer: 2 ** 31 - 1,
          env: env === null ? process.env : { ...process.env, ...env },
        });
        // A command that exits before reading all its input (`head`, or one that fails at once) closes the pipe
        // under the writer: its exit status says what happened, not the EPIPE.
        const stoppedReading = (r.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' && r.status !== null;
        // shipped: runs in the workers as the mapPartitions function of pipe()
        if (r.error && !stoppedReading) throw new Error(`pipe: cannot run ${JSON.stringify(argv.join(' '))}: ${r.error.message}`);
        if (r.status !== 0) {
          // shipped: runs in the workers as the mapPartitions function of pipe()
          throw new Error(`pipe: ${JSON.stringify(argv.join(' '))} exited with ${r.status ?? r.signal}: ${String(r.stderr).trim().slice(0, 2000)}`);
        }
        const out = String(r.stdout);
        if (out === '') return [];
        // Spark reads the output with Java's readLine: `\n`, `\r\n` and a lone `\r` each end a line.
        const result = out.split(/\r\n|\r|\n/);
        if (result[result.length - 1] === '') result.pop();
        return result;
      }),
    });
  }

  // ---- structural transformations ---------------------------------------------------------------------------

  /**
   * All elements of this RDD and `other` (duplicates kept), partitions side by side. When both have one
   * partitioner (equal by `equals`), as Spark's partitioner-aware union: its partitions, partition `i` holding
   * both inputs' partition `i`, and its partitioner kept, so a join or reduce after it needs no shuffle.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2]).union(sc.parallelize([2, 3])); // [1, 2, 2, 3]
   * a.partitionBy(4).union(b.partitionBy(4)).getNumPartitions(); // 4, partitioned as both were
   * ```
   */
  union(other: RDD<T>): RDD<T> {
    requireRdd('union', 'other', other, this);
    return unionOf<T>(this.context, [this, other]);
  }

  /**
   * Merges neighbouring partitions into `numPartitions` without a shuffle, keeping element order (never more
   * partitions than there are). With `shuffle` true it is {@link repartition}, as in Spark, and may add partitions.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 3, 4], 4).coalesce(2).glom(); // [[1, 2], [3, 4]]
   * sc.parallelize([1, 2, 3, 4], 1).coalesce(4, true).getNumPartitions(); // 4
   * ```
   */
  coalesce(numPartitions: number, shuffle = false): RDD<T> {
    checkPartitionCount('coalesce', numPartitions);
    if (typeof shuffle !== 'boolean') throw new ArgumentTypeError(`coalesce: shuffle must be a boolean, got ${describeArgument(shuffle)}`);
    // Before the flag existed, coalesce(n, true) quietly kept the partition count where Spark raises it.
    if (shuffle) return this.repartition(numPartitions);
    return new CoalescedRDD<T>(this, numPartitions);
  }

  /**
   * Redistributes the elements over `numPartitions` partitions with a shuffle, round-robin (balanced).
   *
   * @example
   * ```ts
   * sc.textFile('big.txt').repartition(8);
   * ```
   */
  repartition(numPartitions: number): RDD<T> {
    checkPartitionCount('repartition', numPartitions);
    return setOps.repartition(this, numPartitions);
  }

  /**
   * Every pair `[a, b]` of an element of this RDD and one of `other`.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2]).cartesian(sc.parallelize(['x'])); // [[1, 'x'], [2, 'x']]
   * ```
   */
  cartesian<U>(other: RDD<U>): RDD<[T, U]> {
    requireRdd('cartesian', 'other', other, this);
    return new CartesianRDD<T, U>(this, other);
  }

  /**
   * Pairs the i-th element of each partition with the i-th element of `other`'s same partition. Both RDDs must
   * have the same number of partitions and of elements per partition.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2], 1).zip(sc.parallelize(['a', 'b'], 1)); // [[1, 'a'], [2, 'b']]
   * ```
   */
  zip<U>(other: RDD<U>): RDD<[T, U]> {
    requireRdd('zip', 'other', other, this);
    if (this.getNumPartitions() !== other.getNumPartitions()) {
      throw new InvalidArgumentError(
        `Can only zip RDDs with the same number of partitions: ${this.label} has ${this.getNumPartitions()}, ` +
          `${other.label} has ${other.getNumPartitions()}`,
      );
    }
    return new ZippedPartitionsRDD<T, U>(this, other);
  }

  /**
   * Pairs each element with its index in the RDD's order (`[element, index]`).
   *
   * @example
   * ```ts
   * sc.parallelize(['a', 'b']).zipWithIndex(); // [['a', 0], ['b', 1]]
   * ```
   */
  zipWithIndex(): RDD<[T, number]> {
    return new ZippedWithIndexRDD<T>(this);
  }

  /**
   * The distinct elements (structural equality), over `numPartitions` partitions. An RDD with a partitioner (and
   * no other count given) has its duplicates removed within each partition, as Spark does: no shuffle, and the
   * partitioner kept.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 1, 2]).distinct(); // [1, 2] in some order
   * pairs.partitionBy(4).distinct(); // no second shuffle; still partitioned by key
   * ```
   */
  distinct(numPartitions?: number): RDD<T> {
    return setOps.distinct(this, numPartitions);
  }

  /**
   * Elements present in both RDDs, without duplicates; placed by the default partitioner of both, by a count, or by
   * a partitioner (Scala's `intersection(other, partitioner)`), a user's `{ numPartitions, getPartition }` of elements too.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 3]).intersection(sc.parallelize([2, 3, 4])); // [2, 3]
   * ```
   */
  intersection(other: RDD<T>, numPartitions?: number | Partitioner | CustomPartitioner): RDD<T> {
    requireRdd('intersection', 'other', other, this);
    return setOps.intersection(this, other, numPartitions);
  }

  /**
   * Elements of this RDD that are not in `other` (duplicates in this RDD are kept). Elements are compared as keys are
   * (structurally), and the elements of one group come out as the first-seen of them, as Spark's SubtractedRDD keeps
   * its map's first key: `[k, -0]` and `[k, 0]`, or `{ a, b }` and `{ b, a }`, both come back as the one seen first.
   * The result has `numPartitions` partitions (this RDD's count by default) or is placed by a partitioner of the
   * elements (Scala's `subtract(other, partitioner)`); this RDD's own partitioner places its pairs by their keys.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 2, 3]).subtract(sc.parallelize([2])); // [1, 3]
   * ```
   */
  subtract(other: RDD<T>, numPartitions?: number | Partitioner | CustomPartitioner): RDD<T> {
    requireRdd('subtract', 'other', other, this);
    return setOps.subtract(this, other, numPartitions);
  }

  /**
   * Groups the elements by `fn(element)`.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 3]).groupBy((x) => x % 2); // [[1, [1, 3]], [0, [2]]]
   * ```
   */
  groupBy<K>(fn: (x: T) => K, numPartitions?: number): RDD<[K, T[]]> {
    requireFunction('groupBy', fn);
    return this.keyBy(fn).groupByKey(numPartitions);
  }

  /**
   * Sorts by `keyFn` with a range-partitioning shuffle; by the engine's order of keys (numbers, then strings,
   * ..., arrays element by element), or by `compare` (Scala's implicit Ordering), a comparator that ships to
   * the workers like any function.
   *
   * @example
   * ```ts
   * sc.parallelize(['bb', 'a', 'ccc']).sortBy((s) => s.length); // ['a', 'bb', 'ccc']
   * words.sortBy((w) => w, true, undefined, (a, b) => a.localeCompare(b, 'de')); // German collation
   * ```
   */
  sortBy<K>(keyFn: (x: T) => K, ascending = true, numPartitions?: number, compare?: (a: K, b: K) => number): RDD<T> {
    requireFunction('sortBy', keyFn);
    checkSortArguments('sortBy', ascending, compare);
    return this.keyBy(keyFn).sortByKey(ascending, numPartitions, compare).values();
  }

  // ---- pair transformations (RDD<[K, V]> only) ---------------------------------------------------------------

  /** The keys of a pair RDD. @example `pairs.keys()` */
  keys<K, V>(this: RDD<[K, V]>, ...pairsOnly: PairArgs<T, 'keys'>): RDD<K>;
  keys<K>(this: RDD<any>): RDD<K> {
    return this.elementwise('keys');
  }

  /** The values of a pair RDD. @example `pairs.values()` */
  values<K, V>(this: RDD<[K, V]>, ...pairsOnly: PairArgs<T, 'values'>): RDD<V>;
  values<V>(this: RDD<any>): RDD<V> {
    return this.elementwise('values');
  }

  /**
   * Maps each value, keeping keys and the partitioner.
   *
   * @example
   * ```ts
   * pairs.mapValues((v) => v * 2);
   * ```
   */
  mapValues<K, V, W>(this: RDD<[K, V]>, fn: (v: V) => W): RDD<[K, W]>;
  mapValues(notPairs: NotPairs<'mapValues'>, ...rest: unknown[]): never;
  mapValues<K, W>(this: RDD<any>, fn: any): RDD<[K, W]> {
    return this.elementwise('mapValues', fn);
  }

  /**
   * Maps each value to an iterable and emits one pair per produced value, keeping the partitioner.
   *
   * @example
   * ```ts
   * sc.parallelize([['a', 'x y']]).flatMapValues((v) => v.split(' ')); // [['a', 'x'], ['a', 'y']]
   * ```
   */
  flatMapValues<K, V, W>(this: RDD<[K, V]>, fn: (v: V) => Iterable<W>): RDD<[K, W]>;
  flatMapValues(notPairs: NotPairs<'flatMapValues'>, ...rest: unknown[]): never;
  flatMapValues<K, W>(this: RDD<any>, fn: any): RDD<[K, W]> {
    return this.elementwise('flatMapValues', fn);
  }

  /**
   * Merges the values of each key with an associative, commutative function; combines on the map side first.
   *
   * @example
   * ```ts
   * words.map((w) => [w, 1]).reduceByKey((a, b) => a + b);
   * ```
   */
  reduceByKey<K, V>(this: RDD<[K, V]>, fn: (a: V, b: V) => V, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, V]>;
  reduceByKey(notPairs: NotPairs<'reduceByKey'>, ...rest: unknown[]): never;
  reduceByKey<K, V>(this: RDD<any>, fn: any, numPartitions?: number | Partitioner | CustomPartitioner, ...rest: unknown[]): RDD<[K, V]> {
    refusePartitionFunc('reduceByKey', rest);
    return pair.reduceByKey(this, fn, numPartitions);
  }

  /**
   * Groups the values of each key into an array. Prefer reduceByKey/aggregateByKey when you only need a
   * summary: groupByKey ships every value.
   *
   * @example
   * ```ts
   * pairs.groupByKey(); // [[k, [v1, v2, ...]], ...]
   * ```
   */
  groupByKey<K, V>(this: RDD<[K, V]>, ...args: PairArgs<T, 'groupByKey', [numPartitions?: number | Partitioner | CustomPartitioner]>): RDD<[K, V[]]>;
  groupByKey(notPairs: NotPairs<'groupByKey'>, ...rest: unknown[]): never;
  groupByKey<K, V>(this: RDD<any>, numPartitions?: any, ...rest: unknown[]): RDD<[K, V[]]> {
    refusePartitionFunc('groupByKey', rest);
    return pair.groupByKey(this, numPartitions);
  }

  /**
   * Aggregates the values of each key from a zero value (copied for each key) with `seqOp` within partitions
   * and `combOp` across them.
   *
   * @example
   * ```ts
   * pairs.aggregateByKey([0, 0], (acc, v) => [acc[0] + v, acc[1] + 1], (a, b) => [a[0] + b[0], a[1] + b[1]]);
   * ```
   */
  aggregateByKey<K, V, U>(
    this: RDD<[K, V]>,
    zero: U,
    seqOp: (acc: U, v: V) => U,
    combOp: (a: U, b: U) => U,
    numPartitions?: number | Partitioner | CustomPartitioner,
  ): RDD<[K, U]>;
  aggregateByKey(zero: unknown, notPairs: NotPairs<'aggregateByKey'>, ...rest: unknown[]): never;
  aggregateByKey<K, U>(
    this: RDD<any>,
    zero: U,
    seqOp: any,
    combOp: (a: U, b: U) => U,
    numPartitions?: number | Partitioner | CustomPartitioner,
    ...rest: unknown[]
  ): RDD<[K, U]> {
    refusePartitionFunc('aggregateByKey', rest);
    return pair.aggregateByKey(this, zero, seqOp, combOp, numPartitions);
  }

  /**
   * Folds the values of each key, starting from `zero` (copied for each key).
   *
   * @example
   * ```ts
   * pairs.foldByKey(0, (a, b) => a + b);
   * ```
   */
  foldByKey<K, V>(this: RDD<[K, V]>, zero: V, fn: (a: V, b: V) => V, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, V]>;
  foldByKey(zero: unknown, notPairs: NotPairs<'foldByKey'>, ...rest: unknown[]): never;
  foldByKey<K, V>(this: RDD<any>, zero: V, fn: any, numPartitions?: number | Partitioner | CustomPartitioner, ...rest: unknown[]): RDD<[K, V]> {
    refusePartitionFunc('foldByKey', rest);
    return pair.foldByKey(this, zero, fn, numPartitions);
  }

  /**
   * The general per-key aggregation: `create` makes a combiner from a key's first value, `mergeValue` adds a
   * value, `mergeCombiners` merges combiners from different partitions.
   *
   * @example
   * ```ts
   * pairs.combineByKey((v) => [v], (c, v) => [...c, v], (a, b) => [...a, ...b]);
   * ```
   */
  combineByKey<K, V, C>(
    this: RDD<[K, V]>,
    create: (v: V) => C,
    mergeValue: (c: C, v: V) => C,
    mergeCombiners: (a: C, b: C) => C,
    numPartitions?: number | Partitioner | CustomPartitioner,
  ): RDD<[K, C]>;
  combineByKey(notPairs: NotPairs<'combineByKey'>, ...rest: unknown[]): never;
  combineByKey<K, V, C>(
    this: RDD<any>,
    create: any,
    mergeValue: (c: C, v: V) => C,
    mergeCombiners: (a: C, b: C) => C,
    numPartitions?: number | Partitioner | CustomPartitioner,
    ...rest: unknown[]
  ): RDD<[K, C]> {
    refusePartitionFunc('combineByKey', rest);
    return pair.combineByKey(this, create, mergeValue, mergeCombiners, numPartitions);
  }

  /**
   * Partitions a pair RDD by key. RDDs partitioned by equal partitioners join without a shuffle.
   *
   * @example
   * ```ts
   * const links = edges.groupByKey().partitionBy(new HashPartitioner(8)).cache();
   * ```
   */
  partitionBy<K, V>(this: RDD<[K, V]>, partitioner: number | Partitioner | CustomPartitioner): RDD<[K, V]>;
  partitionBy(notPairs: NotPairs<'partitionBy'>, ...rest: unknown[]): never;
  partitionBy<K, V>(this: RDD<any>, partitioner: any, ...rest: unknown[]): RDD<[K, V]> {
    refusePartitionFunc('partitionBy', rest);
    return pair.partitionBy(this, partitioner);
  }

  /**
   * Partitions by `partitioner` (a count means hash partitioning) and sorts each partition by key, in one
   * shuffle: cheaper than `partitionBy` followed by sorting, as in Spark.
   *
   * @example
   * ```ts
   * sc.parallelize([[0, 5], [3, 8], [2, 6], [0, 8], [3, 8], [1, 3]])
   *   .repartitionAndSortWithinPartitions({ numPartitions: 2, getPartition: (k: number) => k % 2 })
   *   .glom(); // [[[0, 5], [0, 8], [2, 6]], [[1, 3], [3, 8], [3, 8]]]
   * ```
   */
  repartitionAndSortWithinPartitions<K, V>(
    this: RDD<[K, V]>,
    partitioner: number | Partitioner | CustomPartitioner,
    ascending?: boolean,
    keyFn?: (key: K) => unknown,
  ): RDD<[K, V]>;
  repartitionAndSortWithinPartitions(notPairs: NotPairs<'repartitionAndSortWithinPartitions'>, ...rest: unknown[]): never;
  repartitionAndSortWithinPartitions<K, V>(this: RDD<any>, partitioner: any, ascending = true, keyFn?: (key: any) => unknown): RDD<[K, V]> {
    const op = 'repartitionAndSortWithinPartitions';
    if (typeof ascending === 'function') {
      // PySpark's order is (numPartitions, partitionFunc, ascending, keyfunc): its partitionFunc landed here and, being
      // truthy, sorted ascending by hash partitions instead of partitioning by it.
      throw new ArgumentTypeError(
        `${op}: the second argument is ascending (a boolean), got a function (PySpark's partitionFunc?). ` +
          'Pass a partitioner as the first argument instead: { numPartitions: 2, getPartition: (k) => k % 2 }.',
      );
    }
    checkSortArguments(op, ascending, undefined);
    if (keyFn !== undefined && (typeof keyFn !== 'function' || keyFn.length >= 2)) {
      throw new ArgumentTypeError(`${op}: the third argument is a key function of one key (PySpark's keyfunc), got ${describeArgument(keyFn)}.`);
    }
    return pair.repartitionAndSortWithinPartitions(this, partitioner, ascending, keyFn);
  }

  /**
   * A sample of each key's values with its own fraction (Spark's stratified sampling): `fractions` as a plain
   * object (string keys) or a `Map` (any keys, compared structurally). Every key of the RDD must have a
   * fraction. Deterministic for a given seed.
   *
   * @example
   * ```ts
   * pairs.sampleByKey(false, { a: 0.2, b: 0.1 }, 2);
   * pairs.sampleByKey(true, new Map([[1, 0.5], [2, 2]]));
   * ```
   */
  sampleByKey<K, V>(
    this: RDD<[K, V]>,
    withReplacement: boolean,
    fractions: Readonly<Record<string, number>> | ReadonlyMap<K, number>,
    seed?: number,
  ): RDD<[K, V]>;
  sampleByKey(notPairs: NotPairs<'sampleByKey'>, ...rest: unknown[]): never;
  sampleByKey<K, V>(this: RDD<any>, withReplacement: any, fractions?: any, seed?: number): RDD<[K, V]> {
    // A number here (one fraction for all keys, as sample takes) gave no key a fraction: an empty sample, no error.
    if (!(fractions instanceof Map) && (fractions === null || typeof fractions !== 'object' || Array.isArray(fractions))) {
      throw new ArgumentTypeError(
        `sampleByKey: fractions must be a Map or an object of key -> fraction, got ${describeArgument(fractions)}; for one fraction of all keys use sample`,
      );
    }
    checkSampleArguments('sampleByKey', withReplacement, 0, 'fraction');
    const entries: Array<[unknown, number]> =
      fractions instanceof Map ? [...fractions.entries()] : Object.entries(fractions as Record<string, number>);
    for (const [k, f] of entries) {
      if (!(f >= 0) || !Number.isFinite(f) || (!withReplacement && f > 1)) {
        throw new InvalidArgumentError(
          `sampleByKey: the fraction of key ${String(k)} must be in [0, 1] without replacement and >= 0 with it; got ${f}`,
        );
      }
    }
    const s = seed ?? Math.floor(Math.random() * 2 ** 31);
    const byId = entries.map(([k, f]) => [keyId(k), f] as const);
    return new MapPartitionsRDD<[K, V], [K, V]>(this, {
      mode: 'sample',
      args: { withReplacement, fraction: 0, seed: s, fractions: byId },
      op: 'sampleByKey',
      preservesPartitioning: true,
    });
  }

  /**
   * Inner join on keys: `[k, [v, w]]` for every matching pair.
   *
   * @example
   * ```ts
   * a.join(b); // [['k', [1, 'x']], ...]
   * ```
   */
  join<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V, W]]>;
  join(notPairs: NotPairs<'join'>, ...rest: unknown[]): never;
  join<K, V, W>(this: RDD<any>, other: any, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V, W]]> {
    requireRdd('join', 'other', other, this);
    return pair.join(this, other, 'joinInner', numPartitions);
  }

  /** Left outer join; a missing right value is `null`. @example `a.leftOuterJoin(b)` */
  leftOuterJoin<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V, W | null]]>;
  leftOuterJoin(notPairs: NotPairs<'leftOuterJoin'>, ...rest: unknown[]): never;
  leftOuterJoin<K, V, W>(this: RDD<any>, other: any, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V, W | null]]> {
    requireRdd('leftOuterJoin', 'other', other, this);
    return pair.join(this, other, 'joinLeft', numPartitions);
  }

  /** Right outer join; a missing left value is `null`. @example `a.rightOuterJoin(b)` */
  rightOuterJoin<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V | null, W]]>;
  rightOuterJoin(notPairs: NotPairs<'rightOuterJoin'>, ...rest: unknown[]): never;
  rightOuterJoin<K, V, W>(this: RDD<any>, other: any, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V | null, W]]> {
    requireRdd('rightOuterJoin', 'other', other, this);
    return pair.join(this, other, 'joinRight', numPartitions);
  }

  /** Full outer join; a missing side is `null`. @example `a.fullOuterJoin(b)` */
  fullOuterJoin<K, V, W>(
    this: RDD<[K, V]>,
    other: RDD<[K, W]>,
    numPartitions?: number | Partitioner | CustomPartitioner,
  ): RDD<[K, [V | null, W | null]]>;
  fullOuterJoin(notPairs: NotPairs<'fullOuterJoin'>, ...rest: unknown[]): never;
  fullOuterJoin<K, V, W>(this: RDD<any>, other: any, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V | null, W | null]]> {
    requireRdd('fullOuterJoin', 'other', other, this);
    return pair.join(this, other, 'joinFull', numPartitions);
  }

  /**
   * For each key in either RDD, the arrays of its values on each side: `[k, [vs, ws]]`.
   *
   * @example
   * ```ts
   * a.cogroup(b); // [['k', [[1, 2], ['x']]], ...]
   * ```
   */
  cogroup<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V[], W[]]]>;
  cogroup(notPairs: NotPairs<'cogroup'>, ...rest: unknown[]): never;
  cogroup<K, V, W>(this: RDD<any>, other: any, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, [V[], W[]]]> {
    requireRdd('cogroup', 'other', other, this);
    return pair.cogroup(this, other, numPartitions);
  }

  /**
   * For each key in this RDD or any of `others`, the arrays of its values in each, in argument order:
   * `[k, [vs, ws1, ws2, ...]]` (Spark's `groupWith`, a cogroup of more than two RDDs). One shuffle for them all,
   * none for an input already partitioned as the result; the partitioner is the default one of them all.
   *
   * @example
   * ```ts
   * a.groupWith(b, c); // [['k', [[1, 2], ['x'], []]], ...]
   * ```
   */
  groupWith<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>): RDD<[K, [V[], W[]]]>;
  groupWith<K, V, W1, W2>(this: RDD<[K, V]>, other1: RDD<[K, W1]>, other2: RDD<[K, W2]>): RDD<[K, [V[], W1[], W2[]]]>;
  groupWith<K, V, W1, W2, W3>(this: RDD<[K, V]>, other1: RDD<[K, W1]>, other2: RDD<[K, W2]>, other3: RDD<[K, W3]>): RDD<[K, [V[], W1[], W2[], W3[]]]>;
  groupWith<K>(this: RDD<[K, unknown]>, ...others: RDD<[K, unknown]>[]): RDD<[K, unknown[][]]>;
  groupWith(notPairs: NotPairs<'groupWith'>, ...rest: unknown[]): never;
  groupWith(this: RDD<any>, ...others: unknown[]): RDD<any> {
    return pair.groupWith(this, others);
  }

  /**
   * The pairs whose key does not occur in `other`.
   *
   * @example
   * ```ts
   * a.subtractByKey(b);
   * ```
   */
  subtractByKey<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, V]>;
  subtractByKey(notPairs: NotPairs<'subtractByKey'>, ...rest: unknown[]): never;
  subtractByKey<K, V>(this: RDD<any>, other: any, numPartitions?: number | Partitioner | CustomPartitioner): RDD<[K, V]> {
    requireRdd('subtractByKey', 'other', other, this);
    return pair.subtractByKey(this, other, numPartitions);
  }

  /**
   * Sorts by key with a range partitioner computed from a sample when the job runs; by the engine's order of
   * keys, or by `compare` (a comparator, shipped to the workers: it places keys in ranges and sorts each range).
   *
   * @example
   * ```ts
   * await counts.map(([w, n]) => [n, w]).sortByKey(false).take(10);
   * await pairs.sortByKey(true, undefined, (a, b) => a.toLowerCase().localeCompare(b.toLowerCase())).collect();
   * ```
   */
  sortByKey<K, V>(
    this: RDD<[K, V]>,
    ...args: PairArgs<T, 'sortByKey', [ascending?: boolean, numPartitions?: number, compare?: (a: K, b: K) => number]>
  ): RDD<[K, V]>;
  sortByKey(notPairs: NotPairs<'sortByKey'>, ...rest: unknown[]): never;
  sortByKey<K, V>(this: RDD<any>, ascending: any = true, numPartitions?: number, compare?: (a: K, b: K) => number): RDD<[K, V]> {
    checkSortArguments('sortByKey', ascending, compare);
    if (numPartitions !== undefined) checkPartitionCount('sortByKey', numPartitions);
    return pair.sortByKey(this, ascending, numPartitions ?? this.getNumPartitions(), compare);
  }

  // ---- actions ----------------------------------------------------------------------------------------------
  // Each accepts `{ signal }` last: aborting it cancels the action's job(s) (see ActionOptions).

  /** All elements, in partition order. @example `await rdd.collect()` */
  collect(options?: ActionOptions): Promise<T[]> {
    return withActionOptions(
      options,
      () => actions.collect(this),
      () => `collect at ${this.label}`,
    );
  }

  /** Number of elements. @example `await rdd.count()` */
  count(options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.count(this),
      () => `count at ${this.label}`,
    );
  }

  /** The first element; rejects on an empty RDD. @example `await rdd.first()` */
  first(options?: ActionOptions): Promise<T> {
    return withActionOptions(
      options,
      () => actions.first(this),
      () => `first at ${this.label}`,
    );
  }

  /** The first `n` elements, scanning as few partitions as possible. @example `await rdd.take(5)` */
  take(n: number, options?: ActionOptions): Promise<T[]> {
    return withActionOptions(
      options,
      () => actions.take(this, n),
      () => `take at ${this.label}`,
    );
  }

  /**
   * The `n` smallest elements (by `keyFn`, default the element itself), in ascending order.
   *
   * @example
   * ```ts
   * await sc.parallelize([5, 1, 3]).takeOrdered(2); // [1, 3]
   * ```
   */
  takeOrdered(n: number, keyFn?: (x: T) => unknown, options?: ActionOptions): Promise<T[]> {
    return withActionOptions(
      options,
      () => actions.takeOrdered(this, n, keyFn, false),
      () => `takeOrdered at ${this.label}`,
    );
  }

  /**
   * The `n` largest elements (by `keyFn`), largest first.
   *
   * @example
   * ```ts
   * await sc.parallelize([5, 1, 3]).top(2); // [5, 3]
   * ```
   */
  top(n: number, keyFn?: (x: T) => unknown, options?: ActionOptions): Promise<T[]> {
    return withActionOptions(
      options,
      () => actions.takeOrdered(this, n, keyFn, true),
      () => `top at ${this.label}`,
    );
  }

  /** Reduces with an associative, commutative function; rejects on an empty RDD. @example `await rdd.reduce((a, b) => a + b)` */
  reduce(fn: (a: T, b: T) => T, options?: ActionOptions): Promise<T> {
    return withActionOptions(
      options,
      () => actions.reduce(this, fn),
      () => `reduce at ${this.label}`,
    );
  }

  /** Folds each partition from `zero`, then the partition results from `zero`. @example `await rdd.fold(0, (a, b) => a + b)` */
  fold(zero: T, fn: (a: T, b: T) => T, options?: ActionOptions): Promise<T> {
    return withActionOptions(
      options,
      () => actions.fold(this, zero, fn),
      () => `fold at ${this.label}`,
    );
  }

  /**
   * Aggregates each partition with `seqOp` from a copy of `zero`, then the partition results with `combOp`.
   *
   * @example
   * ```ts
   * await rdd.aggregate([0, 0], (a, x) => [a[0] + x, a[1] + 1], (a, b) => [a[0] + b[0], a[1] + b[1]]);
   * ```
   */
  aggregate<U>(zero: U, seqOp: (acc: U, x: T) => U, combOp: (a: U, b: U) => U, options?: ActionOptions): Promise<U> {
    return withActionOptions(
      options,
      () => actions.aggregate(this, zero, seqOp, combOp),
      () => `aggregate at ${this.label}`,
    );
  }

  /** Runs `fn` on every element in the workers (for side effects, e.g. accumulators). @example `await rdd.foreach((x) => acc.add(x))` */
  foreach(fn: (x: T) => void, options?: ActionOptions): Promise<void> {
    return withActionOptions(
      options,
      () => actions.foreach(this, fn),
      () => `foreach at ${this.label}`,
    );
  }

  /**
   * Runs `fn` once per partition with an Iterable of its elements. `fn` may be `async` (or return a Promise):
   * the task awaits it, so a partition's writes to a database or a service are done when the action resolves.
   *
   * @example
   * ```ts
   * await rdd.foreachPartition((it) => { for (const x of it) send(x); });
   * await rows.foreachPartition(
   *   capture({ url }, async (it) => {
   *     for (const row of it) await fetch(url, { method: 'POST', body: JSON.stringify(row) });
   *   }),
   * );
   * ```
   */
  foreachPartition(fn: (it: Iterable<T>) => void | PromiseLike<void>, options?: ActionOptions): Promise<void> {
    return withActionOptions(
      options,
      () => actions.foreachPartition(this, fn),
      () => `foreachPartition at ${this.label}`,
    );
  }

  /** Counts of each key, in a Map that finds array and object keys by an equal new key (see `structuralMap`). @example `(await pairs.countByKey()).get(['a', 1])` */
  countByKey<K, V>(this: RDD<[K, V]>, ...args: PairArgs<T, 'countByKey', [options?: ActionOptions]>): Promise<Map<K, number>>;
  countByKey(notPairs: NotPairs<'countByKey'>, ...rest: unknown[]): never;
  countByKey<K>(this: RDD<any>, options?: any): Promise<Map<K, number>> {
    return withActionOptions(
      options,
      () => actions.countByKey(this),
      () => `countByKey at ${this.label}`,
    );
  }

  /** Counts of each distinct element, in a Map keyed structurally (see `structuralMap`). @example `await words.countByValue()` */
  countByValue(options?: ActionOptions): Promise<Map<T, number>> {
    return withActionOptions(
      options,
      () => actions.countByValue(this),
      () => `countByValue at ${this.label}`,
    );
  }

  /**
   * The pairs as a Map keyed structurally (see `structuralMap`); a later value for a key replaces an earlier one,
   * and the first key object seen for a key stands for it. The Map iterates in partition order, except for a
   * hash-partitioned RDD (after `reduceByKey`, `groupByKey`, `join`, `partitionBy(n)`, ...; no key is then in two
   * partitions): its partitions are merged as they arrive, each partition's keys together and in their order, the
   * partitions in the order their tasks ended, which may vary from run to run (Spark's collectAsMap returns a
   * HashMap, with no order at all). Keys, key objects and values do not depend on it. A sorted RDD (`sortByKey`)
   * keeps its order.
   * @example `await pairs.collectAsMap()`
   */
  collectAsMap<K, V>(this: RDD<[K, V]>, ...args: PairArgs<T, 'collectAsMap', [options?: ActionOptions]>): Promise<Map<K, V>>;
  collectAsMap(notPairs: NotPairs<'collectAsMap'>, ...rest: unknown[]): never;
  collectAsMap<K, V>(this: RDD<any>, options?: any): Promise<Map<K, V>> {
    return withActionOptions(
      options,
      () => actions.collectAsMap(this),
      () => `collectAsMap at ${this.label}`,
    );
  }

  /**
   * Merges the values of each key with an associative, commutative function and returns them to the driver as a
   * Map keyed structurally (Spark's `reduceByKeyLocally`). It runs as `reduceByKey(fn).collectAsMap()`: each
   * partition is combined on its worker first, so only one value per key and partition moves.
   *
   * @example
   * ```ts
   * const counts = await words.map((w) => [w, 1]).reduceByKeyLocally((a, b) => a + b); // Map { 'the' => 8, ... }
   * ```
   */
  reduceByKeyLocally<K, V>(this: RDD<[K, V]>, fn: (a: V, b: V) => V, options?: ActionOptions): Promise<Map<K, V>>;
  reduceByKeyLocally(notPairs: NotPairs<'reduceByKeyLocally'>, ...rest: unknown[]): never;
  reduceByKeyLocally<K, V>(this: RDD<any>, fn: any, options?: any): Promise<Map<K, V>> {
    return (this.reduceByKey(fn) as RDD<[K, V]>).collectAsMap(options);
  }

  /** The values of `key`; reads only the key's partition when the RDD has a partitioner. @example `await pairs.lookup('a')` */
  lookup<K, V>(this: RDD<[K, V]>, key: K, options?: ActionOptions): Promise<V[]>;
  lookup(notPairs: NotPairs<'lookup'>, ...rest: unknown[]): never;
  lookup<V>(this: RDD<any>, key: any, options?: ActionOptions): Promise<V[]> {
    return withActionOptions(
      options,
      () => actions.lookup(this, key),
      () => `lookup at ${this.label}`,
    );
  }

  /** Sum of a numeric RDD. @example `await sc.range(5).sum()` */
  sum(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.stats(this, 'sum'),
      () => `sum at ${this.label}`,
    ).then((s) => s.sum);
  }

  /** Mean of a numeric RDD (0 when empty, as Spark's `stats().mean`). @example `await sc.range(5).mean()` */
  mean(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.stats(this, 'mean'),
      () => `mean at ${this.label}`,
    ).then((s) => s.mean);
  }

  /**
   * The largest element, by `keyFn` when given (compared with the engine's ordering); rejects on an empty RDD.
   *
   * @example
   * ```ts
   * await sc.parallelize([1, 5, 43, 10]).max(); // 43
   * await sc.parallelize([1, 5, 43, 10]).max(String); // 5 ('5' > '43')
   * ```
   */
  max(keyFn?: (x: T) => unknown, options?: ActionOptions): Promise<T> {
    return withActionOptions(
      options,
      () => actions.extreme(this, 'max', keyFn),
      () => `max at ${this.label}`,
    );
  }

  /**
   * The smallest element, by `keyFn` when given; rejects on an empty RDD.
   *
   * @example
   * ```ts
   * await sc.parallelize([2, 5, 43, 10]).min(); // 2
   * await sc.parallelize([2, 5, 43, 10]).min(String); // 10 ('10' < '2')
   * ```
   */
  min(keyFn?: (x: T) => unknown, options?: ActionOptions): Promise<T> {
    return withActionOptions(
      options,
      () => actions.extreme(this, 'min', keyFn),
      () => `min at ${this.label}`,
    );
  }

  /** Population variance of a numeric RDD (NaN when empty). @example `await sc.parallelize([1, 2, 3]).variance() // 0.666...` */
  variance(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.stats(this, 'variance'),
      () => `variance at ${this.label}`,
    ).then((s) => s.variance);
  }

  /** Population standard deviation of a numeric RDD. @example `await sc.parallelize([1, 2, 3]).stdev() // 0.816...` */
  stdev(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.stats(this, 'stdev'),
      () => `stdev at ${this.label}`,
    ).then((s) => s.stdev);
  }

  /** Sample variance (divided by n - 1) of a numeric RDD. @example `await sc.parallelize([1, 2, 3]).sampleVariance() // 1` */
  sampleVariance(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.stats(this, 'sampleVariance'),
      () => `sampleVariance at ${this.label}`,
    ).then((s) => s.sampleVariance);
  }

  /** Sample standard deviation (divided by n - 1) of a numeric RDD. @example `await sc.parallelize([1, 2, 3]).sampleStdev() // 1` */
  sampleStdev(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.stats(this, 'sampleStdev'),
      () => `sampleStdev at ${this.label}`,
    ).then((s) => s.sampleStdev);
  }

  /**
   * The elements as an async iterable that fetches one partition at a time (a job per partition, run when the
   * iteration reaches it), so the driver holds only the largest partition.
   *
   * @example
   * ```ts
   * for await (const line of sc.textFile('big.log').toLocalIterator()) if (line.includes('ERROR')) console.log(line);
   * ```
   * With `{ signal }`, aborting cancels the partition's job that runs and makes the iteration reject with an
   * `AbortError`; no later partition's job starts.
   */
  toLocalIterator(options?: ActionOptions): AsyncIterableIterator<T> {
    return actions.toLocalIterator(this, options);
  }

  /**
   * A random sample of exactly `num` elements (fewer only when the RDD is smaller and `withReplacement` is
   * false), in random order, as Spark computes it; deterministic for a given seed.
   *
   * @example
   * ```ts
   * await sc.range(10).takeSample(false, 5, 2); // 5 distinct elements of 0..9
   * await sc.range(10).takeSample(true, 20, 1); // 20 elements, repeats allowed
   * ```
   */
  takeSample(withReplacement: boolean, num: number, seed?: number, options?: ActionOptions): Promise<T[]> {
    return withActionOptions(
      options,
      () => actions.takeSample(this, withReplacement, num, seed),
      () => `takeSample at ${this.label}`,
    );
  }

  /**
   * The approximate number of distinct elements (structural equality), by HyperLogLog with registers chosen
   * for `relativeSD` (smaller is more accurate and uses more memory: 2^p one-byte registers per task).
   *
   * @example
   * ```ts
   * await sc.range(1000).countApproxDistinct(); // about 1000 (within a few percent)
   * ```
   */
  countApproxDistinct(relativeSD = 0.05, options?: ActionOptions): Promise<number> {
    return withActionOptions(
      options,
      () => actions.countApproxDistinct(this as RDD<unknown>, relativeSD),
      () => `countApproxDistinct at ${this.label}`,
    );
  }

  /**
   * Spark's `countApprox`: counts, and answers after `timeout` ms (or sooner, exactly, if the job ends first) from
   * the partitions counted by then, with a `confidence` interval (Spark's CountEvaluator: the uncounted rest taken
   * as Poisson). The answer is a {@link PartialResult} of a {@link BoundedDouble}; the job runs on after the timeout,
   * and `finalValue()` gives its exact count. (PySpark's `countApprox` returns the estimate as an int.)
   *
   * @example
   * ```ts
   * const r = await big.countApprox(2000, 0.95);
   * console.log(r.initialValue.mean, String(r.initialValue)); // e.g. 1000212 [998213.000, 1002219.000]
   * const exact = (await r.finalValue()).mean;
   * ```
   */
  countApprox(timeout: number, confidence = 0.95, options?: ActionOptions): Promise<PartialResult<BoundedDouble>> {
    return withActionOptions(
      options,
      () => actions.countApprox(this as RDD<unknown>, timeout, confidence),
      () => `countApprox at ${this.label}`,
    );
  }

  /**
   * Spark's `sumApprox`: as `countApprox`, for the sum of numbers (Spark's SumEvaluator: the seen mean times the
   * estimated unseen count, with a t or normal interval). PySpark's returns the estimate as a float with its bounds.
   *
   * @example
   * ```ts
   * const { initialValue } = await amounts.sumApprox(1000);
   * console.log(`about ${initialValue.mean}, 95% in ${initialValue}`);
   * ```
   */
  sumApprox(this: RDD<number>, timeout: number, confidence = 0.95, options?: ActionOptions): Promise<PartialResult<BoundedDouble>> {
    return withActionOptions(
      options,
      () => actions.sumApprox(this, timeout, confidence),
      () => `sumApprox at ${this.label}`,
    );
  }

  /**
   * Spark's `meanApprox`: as `countApprox`, for the mean of numbers (Spark's MeanEvaluator: the seen mean, with a
   * t interval up to 100 numbers seen and a normal one above).
   *
   * @example
   * ```ts
   * const { initialValue, isInitialValueFinal } = await latencies.meanApprox(500, 0.99);
   * ```
   */
  meanApprox(this: RDD<number>, timeout: number, confidence = 0.95, options?: ActionOptions): Promise<PartialResult<BoundedDouble>> {
    return withActionOptions(
      options,
      () => actions.meanApprox(this, timeout, confidence),
      () => `meanApprox at ${this.label}`,
    );
  }

  /**
   * Reduces like `reduce`, combining the partitions' results in a multi-level tree of `depth` levels (shuffles)
   * instead of all on the driver: for many partitions or large results. Rejects on an empty RDD.
   *
   * @example
   * ```ts
   * await sc.parallelize([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10).treeReduce((a, b) => a + b); // -5
   * ```
   */
  treeReduce(fn: (a: T, b: T) => T, depth = 2, options?: ActionOptions): Promise<T> {
    return withActionOptions(
      options,
      () => actions.treeReduce(this, fn, depth),
      () => `treeReduce at ${this.label}`,
    );
  }

  /**
   * Aggregates like `aggregate`, combining the partitions' results in a multi-level tree of `depth` levels.
   *
   * @example
   * ```ts
   * await sc.parallelize([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10).treeAggregate(0, (a, x) => a + x, (a, b) => a + b); // -5
   * ```
   */
  treeAggregate<U>(zero: U, seqOp: (acc: U, x: T) => U, combOp: (a: U, b: U) => U, depth = 2, options?: ActionOptions): Promise<U> {
    return withActionOptions(
      options,
      () => actions.treeAggregate(this, zero, seqOp, combOp, depth),
      () => `treeAggregate at ${this.label}`,
    );
  }

  /**
   * A histogram, as pyspark's: with a number, that many even buckets between the minimum and the maximum; with
   * sorted bounds `[b0, b1, ..., bn]`, the buckets `[b0, b1), ..., [b(n-1), bn]` (the last one closed). Returns
   * `[buckets, counts]`; values outside the buckets (and NaN) are not counted. Bounds may be strings, and the
   * outer ones `-Infinity` / `Infinity` (open-ended buckets). A value equal to a bound is counted in the bucket
   * that bound opens, by the bounds returned (Spark's arithmetic can round it into the bucket below).
   *
   * @example
   * ```ts
   * await sc.range(51).histogram(2); // [[0, 25, 50], [25, 26]]
   * await sc.range(51).histogram([0, 5, 25, 50]); // [[0, 5, 25, 50], [5, 20, 26]]
   * await sc.parallelize([-3, 7, 12]).histogram([-Infinity, 0, 10, Infinity]); // [[...], [1, 1, 1]]
   * ```
   */
  histogram(buckets: number | readonly T[], options?: ActionOptions): Promise<[T[], number[]]> {
    return withActionOptions(
      options,
      () => actions.histogram(this as RDD<unknown>, buckets),
      () => `histogram at ${this.label}`,
    ) as Promise<[T[], number[]]>;
  }

  /**
   * Count, mean, sum, min, max, variance and standard deviation in one pass, as a {@link StatCounter} (Spark's:
   * the statistics as properties, `merge`, `copy`, and PySpark's text when printed). A NaN element makes the mean,
   * min and max NaN, as Spark's StatCounter does (`min()` orders NaN after +Infinity, so skips it).
   *
   * @example
   * ```ts
   * const { mean, stdev } = await sc.parallelize([1, 2, 3, 4]).stats();
   * console.log(await sc.parallelize([1, 2, 3]).stats()); // (count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)
   * ```
   */
  stats(this: RDD<number>, options?: ActionOptions): Promise<StatCounter> {
    return withActionOptions(
      options,
      () => actions.stats(this),
      () => `stats at ${this.label}`,
    );
  }

  /** True when the RDD has no elements. @example `await rdd.isEmpty()` */
  isEmpty(options?: ActionOptions): Promise<boolean> {
    return withActionOptions(
      options,
      () => actions.take(this, 1),
      () => `isEmpty at ${this.label}`,
    ).then((xs) => xs.length === 0);
  }

  /**
   * Writes one text file per partition (`part-00000`, ...) and `_SUCCESS` into the directory `path`, committed
   * atomically; strings are written as they are, numbers with `String`, anything else as JSON. `compression`
   * names a codec as Hadoop names its part files: `'gzip'` writes `part-00000.gz`, `'deflate'` (Hadoop's
   * DefaultCodec, a zlib stream) `part-00000.deflate`; Hadoop's codec class names (PySpark's
   * `compressionCodecClass`, `org.apache.hadoop.io.compress.GzipCodec`) are accepted too. `textFile` reads
   * them all back, picking the codec by extension.
   *
   * @example
   * ```ts
   * await counts.saveAsTextFile('out/counts', { overwrite: true });
   * await lines.saveAsTextFile('out/logs', { compression: 'gzip' });
   * await lines.saveAsTextFile('out/zlib', { compression: 'org.apache.hadoop.io.compress.DefaultCodec' });
   * ```
   */
  saveAsTextFile(path: string, options: { overwrite?: boolean; compression?: SaveCompression } & ActionOptions = {}): Promise<void> {
    try {
      checkSavePath('saveAsTextFile', path);
      checkOptionsArgument('saveAsTextFile', options, SAVE_OPTIONS, SAVE_HINT);
    } catch (err) {
      return Promise.reject(err);
    }
    const c = options.compression ?? 'none';
    const codec = typeof c === 'string' ? outputCodecOf(c) : undefined;
    if (codec === undefined) {
      return Promise.reject(
        new ArgumentTypeError(
          `saveAsTextFile: compression must be one of ${OUTPUT_CODEC_NAMES.map((n) => `'${n}'`).join(', ')}; got ${describeArgument(c)}` +
            (typeof c === 'string' && /bz|zst|lz4|snappy|br/i.test(c) ? ' (kindling reads .bz2 and .br but writes only gzip and deflate)' : ''),
        ),
      );
    }
    const format = codec === 'none' ? 'text' : codec === 'gzip' ? 'text-gzip' : 'text-deflate';
    return withActionOptions(
      options,
      () => actions.saveAsTextFile(this, path, options.overwrite ?? false, format),
      () => `saveAsTextFile at ${this.label}`,
      SAVE_OPTIONS,
    );
  }

  /**
   * Writes the elements with V8 serialization (any structured-clone value: Maps, Sets, Dates, typed arrays,
   * nested objects), one part file per partition, committed as `saveAsTextFile` is; `sc.objectFile(path)`
   * reads them back.
   *
   * @example
   * ```ts
   * await model.saveAsObjectFile('out/model', { signal: AbortSignal.timeout(60_000) });
   * const again = sc.objectFile<[string, Float64Array]>('out/model');
   * ```
   */
  saveAsObjectFile(path: string, options: { overwrite?: boolean } & ActionOptions = {}): Promise<void> {
    try {
      checkSavePath('saveAsObjectFile', path);
      checkOptionsArgument('saveAsObjectFile', options, ['overwrite', 'signal'], 'pass { overwrite: true } or nothing');
    } catch (err) {
      return Promise.reject(err);
    }
    return withActionOptions(
      options,
      () => actions.saveAsTextFile(this, path, options.overwrite ?? false, 'object'),
      () => `saveAsObjectFile at ${this.label}`,
      SAVE_OPTIONS,
    );
  }

  /**
   * Writes one `JSON.stringify`d element per line (JSON Lines), committed as `saveAsTextFile`; strings are
   * quoted, unlike `saveAsTextFile`. `sc.jsonLinesFile(path)` reads them back. An element JSON cannot
   * represent (`undefined`, a function, a BigInt) fails the job, and so does a Map or a Set anywhere in an element
   * (JSON.stringify would write `{}`, its entries lost): convert them first, or use `saveAsObjectFile`.
   *
   * @example
   * ```ts
   * await events.saveAsJsonLines('out/events', { compression: 'gzip' });
   * ```
   */
  saveAsJsonLines(path: string, options: { overwrite?: boolean; compression?: SaveCompression } & ActionOptions = {}): Promise<void> {
    try {
      checkSavePath('saveAsJsonLines', path);
      checkOptionsArgument('saveAsJsonLines', options, SAVE_OPTIONS, SAVE_HINT);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.map(
      capture({ findMapOrSet }, (x: T) => {
        const line = JSON.stringify(x);
        // shipped: runs in the workers as the map function of saveAsJsonLines
        if (line === undefined) throw new TypeError(`saveAsJsonLines: ${typeof x} cannot be written as JSON`);
        // A Map or a Set has no own fields: JSON.stringify writes {} and its entries are gone without a word. Only
        // a line holding {} can hold one, so only such an element is walked again.
        if (line.includes('{}')) findMapOrSet(x, '');
        return line;
      }),
    ).saveAsTextFile(path, options);
  }
}

const SAVE_OPTIONS = ['overwrite', 'compression', 'signal'];

/** A save's path: a string (Spark's `Path`), not empty. The committer's own check named saveAsTextFile for every save. */
function checkSavePath(op: string, path: unknown): void {
  if (typeof path !== 'string') throw new ArgumentTypeError(`${op}: path must be a string (an output directory), got ${describeArgument(path)}`);
  if (path.trim() === '') {
    throw new OutputPathError(`Can not create a Path from an empty string: ${op} needs an output directory, got ${JSON.stringify(path)}.`, path);
  }
}
const SAVE_HINT = "for PySpark's compressionCodecClass write { compression: 'gzip' } (or the class name)";

/**
 * What `saveAsTextFile`'s `compression` takes: `'none'`, a codec kindling writes, or Hadoop's class name of one.
 * Typed as any string past the short names so a class name from PySpark code passes; others are refused at the call.
 */
export type SaveCompression = 'none' | 'gzip' | 'deflate' | (string & {});

/**
 * Refuses, at the call, an argument that should be an RDD of this context: from JavaScript a number or an array got
 * as far as the lineage (`r.getNumPartitions is not a function`), or built an RDD whose job failed far from the call;
 * another context's RDD failed only at the action.
 */
function requireRdd(op: string, name: string, x: unknown, self: RDD<unknown>): void {
  if (!(x instanceof RDD)) throw new ArgumentTypeError(`${op}: ${name} must be an RDD, got ${describeArgument(x)}`);
  if (x.context !== self.context) {
    throw new InvalidArgumentError(`${op}: ${x.label} belongs to another context than ${self.label}; RDDs cannot be shared between contexts`);
  }
}

/** Refuses a missing or non-function argument at the call, naming the operation the user called. */
function requireFunction(op: string, fn: unknown): void {
  if (typeof fn !== 'function') throw new ArgumentTypeError(`${op} expects a function, got ${describeArgument(fn)}`);
}

/**
 * `withReplacement` must be a boolean and the fraction a number: a string fraction was compared by coercion and
 * sampled, and `sample('yes', 0.5)` read as with replacement.
 */
export function checkSampleArguments(op: string, withReplacement: unknown, fraction: unknown, name: string): void {
  if (typeof withReplacement !== 'boolean') {
    throw new ArgumentTypeError(`${op}: withReplacement must be a boolean, got ${describeArgument(withReplacement)}`);
  }
  if (typeof fraction !== 'number') throw new ArgumentTypeError(`${op}: ${name} must be a number, got ${describeArgument(fraction)}`);
}

/** Throws a RangeError at the call when a partition count is not a positive integer. */
export function checkPartitionCount(op: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`${op}: number of partitions must be a positive integer, got ${describeArgument(n)}`);
  }
}

/** How an argument of the wrong kind is shown in an error: a string quoted, so `'3'` does not read as `3`. */
export function describeArgument(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (typeof x === 'function') return `a function of ${x.length} parameter${x.length === 1 ? '' : 's'}`;
  if (x === null || typeof x !== 'object') return String(x);
  return Array.isArray(x) ? 'an array' : 'an object';
}

/**
 * PySpark's partitionBy, reduceByKey, groupByKey, foldByKey, aggregateByKey and combineByKey take a `partitionFunc`
 * after the number of partitions. Passed from JavaScript it was ignored and the keys hash-partitioned, which for
 * partitionBy (whose point is the placement) is a different result with no error. kindling's place for it is a
 * partitioner object in the partitioning argument.
 */
function refusePartitionFunc(op: string, extra: readonly unknown[]): void {
  const given = extra.find((x) => x !== undefined);
  if (given === undefined) return;
  throw new ArgumentTypeError(
    `${op}: got an argument after the partitioning argument (${describeArgument(given)}; PySpark's partitionFunc?). ` +
      'Pass a partitioner there instead: { numPartitions: 2, getPartition: (k) => ... }.',
  );
}

/**
 * Refuses an options argument that is not an object, or that names an option `op` does not have. From JavaScript,
 * PySpark's positional arguments arrived here and were ignored without a word: `saveAsTextFile(path,
 * 'org.apache.hadoop.io.compress.GzipCodec')` wrote uncompressed files, `pipe(cmd, { FOO: 'bar' })` (PySpark's `env`
 * dict) ran without the variable. `hint` says what to write instead.
 */
export function checkOptionsArgument(op: string, options: unknown, known: readonly string[], hint: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentTypeError(`${op}: the options argument must be an object, got ${describeArgument(options)}; ${hint}.`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ArgumentTypeError(
      `${op}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (it takes ${known.join(', ')}); ${hint}.`,
    );
  }
}

/**
 * `ascending` must be a boolean, and `compare` a comparator `(a, b) => number`. PySpark's third argument of
 * sortByKey is a keyfunc of one key: taken for a comparator, its strings or numbers of one key compared as NaN,
 * so `sortByKey(true, 3, (k) => k.toLowerCase())` (PySpark's own example) returned its input unsorted, no error.
 * A non-boolean `ascending` (an options object, a function) was read as truthy.
 */
function checkSortArguments(op: string, ascending: unknown, compare: unknown): void {
  if (ascending !== undefined && typeof ascending !== 'boolean') {
    throw new ArgumentTypeError(`${op}: ascending must be a boolean, got ${describeArgument(ascending)}`);
  }
  if (compare === undefined) return;
  if (typeof compare !== 'function')
    throw new ArgumentTypeError(`${op}: compare must be a function (a, b) => number, got ${describeArgument(compare)}`);
  if (compare.length === 1) {
    const hint =
      op === 'sortBy'
        ? 'fold the key function into the first argument, e.g. sortBy((x) => f(x))'
        : "map the keys instead, e.g. sortBy(([k]) => k.toLowerCase(), ascending, numPartitions) for PySpark's keyfunc";
    throw new ArgumentTypeError(
      `${op}: the comparator must take two keys (a, b) and return a number, got a function of 1 parameter (PySpark's keyfunc?); ${hint}.`,
    );
  }
}

/** See {@link RDD.outputLevel}. */
export type OutputLevel = 'determinate' | 'unordered' | 'indeterminate';

const LEVEL_RANK: Readonly<Record<OutputLevel, number>> = { determinate: 0, unordered: 1, indeterminate: 2 };

interface LevelOf {
  readonly level: OutputLevel;
  /** The order-sensitive RDD over unordered input that the indeterminacy comes from. */
  readonly source: RDD<unknown> | undefined;
}

/**
 * A value for every RDD of `roots` and of their lineages, each computed by `visit` once its parents' are known
 * (`parentValue` reads a parent's): one walk for all roots, with an explicit stack (lineages of iterative programs are
 * deep). Used for the output level here and by the DAG scheduler's cache rollback.
 *
 * @example
 * ```ts
 * const depth = foldLineage([rdd], (r, parentValue) => 1 + Math.max(0, ...r.dependencies.map((d) => parentValue(d.rdd))));
 * ```
 */
export function foldLineage<V>(
  roots: Iterable<RDD<unknown>>,
  visit: (rdd: RDD<unknown>, parentValue: (parent: RDD<unknown>) => V) => V,
): Map<RDD<unknown>, V> {
  const done = new Map<RDD<unknown>, V>();
  const parentValue = (parent: RDD<unknown>): V => done.get(parent)!;
  for (const root of roots) {
    const stack: Array<{ rdd: RDD<unknown>; expanded: boolean }> = [{ rdd: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (done.has(top.rdd)) continue;
      if (!top.expanded) {
        stack.push({ rdd: top.rdd, expanded: true });
        for (const d of top.rdd.dependencies) if (!done.has(d.rdd)) stack.push({ rdd: d.rdd, expanded: false });
        continue;
      }
      done.set(top.rdd, visit(top.rdd, parentValue));
    }
  }
  return done;
}

/**
 * The output level of `root`, from its ancestors' (`foldLineage`). Not memoized: checkpointing changes dependencies,
 * and the scheduler asks only when a shuffle must be computed again.
 */
function outputLevelOf(root: RDD<unknown>): LevelOf {
  return foldLineage<LevelOf>([root], (rdd, parentValue) => {
    let level: OutputLevel = 'determinate';
    let source: RDD<unknown> | undefined;
    for (const d of rdd.dependencies) {
      const parent = parentValue(d.rdd);
      // A reducer's order follows spills and where the map outputs are; its records are the same unless the map
      // side's are not.
      const l: OutputLevel = d.type === 'shuffle' && parent.level !== 'indeterminate' ? 'unordered' : parent.level;
      if (LEVEL_RANK[l] > LEVEL_RANK[level]) {
        level = l;
        source = l === 'indeterminate' ? parent.source : undefined;
      }
    }
    if (level === 'unordered' && rdd.orderSensitive) {
      level = 'indeterminate';
      source = rdd;
    }
    return { level, source };
  }).get(root)!;
}

/**
 * saveAsJsonLines' check, shipped with its map function: throws on a Map or a Set in `v` where JSON.stringify would
 * write it (own enumerable fields, array items, not inside what has a toJSON), naming the field or index.
 */
function findMapOrSet(v: unknown, key: string): void {
  if (typeof v !== 'object' || v === null || typeof (v as { toJSON?: unknown }).toJSON === 'function') return;
  const tag = Object.prototype.toString.call(v);
  if (tag === '[object Map]' || tag === '[object Set]') {
    const where = key === '' ? 'an element' : `the field or index '${key}' of an element`;
    // shipped: runs in the workers with the map function of saveAsJsonLines
    throw new TypeError(
      `saveAsJsonLines: ${where} is a ${tag.slice(8, -1)}, which JSON would write as {} (its entries lost); ` +
        'convert it first (Object.fromEntries(map), [...set]) or use saveAsObjectFile',
    );
  }
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) findMapOrSet(v[i], String(i));
  else for (const k of Object.keys(v)) findMapOrSet((v as Record<string, unknown>)[k], k);
}
