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
import { oneToOne, type Dependency, type ShuffleDependency } from '../core/dependency.js';
import type { Partitioner } from '../core/partitioner.js';
import { StorageLevel, describeStorageLevel } from '../storage/storage-level.js';
import { userCallSite } from '../util/call-site.js';
import type { RddContext } from './rdd-context.js';
import { withActionOptions, type ActionOptions } from '../core/job-scope.js';
import type { TaskContext } from './task-context.js';
import {
  MappedRDD,
  MapPartitionsRDD,
  UnionRDD,
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

/** An RDD described as plain data, for rebuilding in a worker. */
export interface RddWire {
  readonly id: number;
  readonly kind: string;
  /** The name or origin (`map at job.ts:12`) the worker shows in its label. */
  readonly label: string;
  readonly numPartitions: number;
  readonly storageLevel: StorageLevel['name'];
  /** Parent RDDs the worker must rebuild first (narrow parents only; shuffle parents are read as shuffle input). */
  readonly parents: readonly number[];
  readonly args: unknown;
}

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
 *   .map((w) => [w, 1] as [string, number])
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
    let cur: RDD<unknown> = this as RDD<unknown>;
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
  /** Computes one partition as an Iterable (pull). */
  abstract compute(partition: number, tc: TaskContext): Iterable<T>;
  /** Computes one partition by pushing each element into `sink`; element-wise RDDs override it. */
  protected pushCompute(partition: number, tc: TaskContext, sink: Sink<T>): void {
    for (const x of this.compute(partition, tc)) sink(x);
  }
  /** The arguments a worker needs to rebuild this RDD (plain data and shipped functions). */
  protected abstract wireArgs(): unknown;
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

  /** The shuffle dependencies of this RDD itself (not of its ancestors). */
  get shuffleDependencies(): readonly ShuffleDependency[] {
    return this.dependencies.filter((d): d is ShuffleDependency => d.type === 'shuffle');
  }

  /** Which factory rebuilds this RDD in a worker (several kinds share Spark's class name). */
  get wireKind(): string {
    return this.kind;
  }

  toWire(): RddWire {
    if (this.#checkpoint !== undefined) {
      // Lineage ends at the checkpoint: a worker rebuilds this RDD (same id) as a reader of its files.
      return { ...this.#checkpoint.toWire(), id: this.id, label: this.#name ?? this.#origin, storageLevel: this.#storageLevel.name };
    }
    return {
      id: this.id,
      kind: this.wireKind,
      label: this.#name ?? this.#origin,
      numPartitions: this.getNumPartitions(),
      storageLevel: this.#storageLevel.name,
      parents: this.wireParents().map((r) => r.id),
      args: this.wireArgs(),
    };
  }

  /** Called by the worker-side registry to restore what the driver knew. */
  restoreStorageLevel(name: StorageLevel['name']): void {
    this.#storageLevel = StorageLevel[name];
  }

  // ---- computing in a worker --------------------------------------------------------------------------------

  /** The partition's elements, from the cache when persisted. */
  iterator(partition: number, tc: TaskContext): Iterable<T> {
    if (this.#storageLevel !== StorageLevel.NONE) return this.#getOrCompute(partition, tc);
    tc.computed?.(this.id);
    return this.compute(partition, tc);
  }

  /** Pushes the partition's elements into `sink`, from the cache when persisted. */
  forEach(partition: number, tc: TaskContext, sink: Sink<T>): void {
    if (this.#storageLevel !== StorageLevel.NONE) {
      const values = this.#getOrCompute(partition, tc);
      for (let i = 0; i < values.length; i++) sink(values[i] as T);
      return;
    }
    tc.computed?.(this.id);
    this.pushCompute(partition, tc, sink);
  }

  #getOrCompute(partition: number, tc: TaskContext): readonly T[] {
    const hit = tc.blocks.get(this.id, partition);
    if (hit !== undefined) return hit as readonly T[];
    const values: T[] = [];
    tc.computed?.(this.id);
    this.pushCompute(partition, tc, (x) => values.push(x));
    tc.blocks.put(this.id, partition, values, this.#storageLevel.name);
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

  /** The RDD's lineage, indented at shuffle boundaries, as Spark prints it. */
  toDebugString(): string {
    const out: string[] = [];
    type Frame = { rdd: RDD<unknown>; prefix: string; mode: 'first' | 'shuffle' | 'narrow'; last: boolean };
    // Explicit stack: iterative programs build lineages deeper than the call stack allows.
    const stack: Frame[] = [{ rdd: this as RDD<unknown>, prefix: '', mode: 'first', last: false }];
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
  persist(level: StorageLevel = StorageLevel.MEMORY_ONLY): this {
    if (this.#storageLevel !== StorageLevel.NONE && this.#storageLevel !== level) {
      throw new Error(
        `Cannot change the storage level of ${this.label} from ${this.#storageLevel.name} to ${level.name} ` +
          'after it was assigned; call unpersist() first.',
      );
    }
    if (this.#storageLevel === level) return this;
    this.#storageLevel = level;
    this.context.persistRdd(this as RDD<unknown>);
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
    void this.context.unpersistRdd(this as RDD<unknown>);
    return this;
  }

  /**
   * Marks the RDD for checkpointing: the next action saves it to the context's checkpoint directory and later
   * jobs read it from there, with its lineage truncated.
   *
   * @example
   * ```ts
   * sc.setCheckpointDir('/tmp/ckpt');
   * ranks.checkpoint();
   * ```
   */
  checkpoint(): this {
    if (this.context.checkpointDir === undefined) {
      throw new Error(
        `Checkpoint directory has not been set for ${this.label}: call sc.setCheckpointDir(dir) before checkpoint().`,
      );
    }
    this.#checkpointRequested = true;
    return this;
  }
  #checkpointRequested = false;
  #checkpoint: RDD<unknown> | undefined;
  /** True once checkpoint() has been called. */
  get checkpointRequested(): boolean {
    return this.#checkpointRequested;
  }
  /** True once the checkpoint files are written and the lineage truncated. */
  get isCheckpointed(): boolean {
    return this.#checkpoint !== undefined;
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
   * ```
   */
  map<U>(fn: (x: T) => U): RDD<U> {
    return this.elementwise('map', fn);
  }

  /**
   * Keeps the elements for which `fn` is true.
   *
   * @example
   * ```ts
   * sc.range(10).filter((x) => x % 2 === 0);
   * ```
   */
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
    if (!(fraction >= 0) || (!withReplacement && fraction > 1)) {
      throw new RangeError(`sample: fraction must be in [0, 1] without replacement and >= 0 with it; got ${fraction}`);
    }
    const s = seed ?? Math.floor(Math.random() * 2 ** 31);
    return new MapPartitionsRDD<T, T>(this, { mode: 'sample', args: { withReplacement, fraction, seed: s }, op: 'sample', preservesPartitioning: true });
  }

  // ---- structural transformations ---------------------------------------------------------------------------

  /**
   * All elements of this RDD and `other` (duplicates kept), partitions side by side.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2]).union(sc.parallelize([2, 3])); // [1, 2, 2, 3]
   * ```
   */
  union(other: RDD<T>): RDD<T> {
    return new UnionRDD<T>(this.context, [this, other]);
  }

  /**
   * Merges neighbouring partitions into `numPartitions` without a shuffle, keeping element order.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 3, 4], 4).coalesce(2).glom(); // [[1, 2], [3, 4]]
   * ```
   */
  coalesce(numPartitions: number): RDD<T> {
    checkPartitionCount('coalesce', numPartitions);
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
    if (this.getNumPartitions() !== other.getNumPartitions()) {
      throw new Error(
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
   * The distinct elements (structural equality), over `numPartitions` partitions.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 1, 2]).distinct(); // [1, 2] in some order
   * ```
   */
  distinct(numPartitions?: number): RDD<T> {
    return setOps.distinct(this, numPartitions);
  }

  /**
   * Elements present in both RDDs, without duplicates.
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 3]).intersection(sc.parallelize([2, 3, 4])); // [2, 3]
   * ```
   */
  intersection(other: RDD<T>, numPartitions?: number): RDD<T> {
    return setOps.intersection(this, other, numPartitions);
  }

  /**
   * Elements of this RDD that are not in `other` (duplicates in this RDD are kept).
   *
   * @example
   * ```ts
   * sc.parallelize([1, 2, 2, 3]).subtract(sc.parallelize([2])); // [1, 3]
   * ```
   */
  subtract(other: RDD<T>, numPartitions?: number): RDD<T> {
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
    return this.keyBy(fn).groupByKey(numPartitions);
  }

  /**
   * Sorts by `keyFn` with a range-partitioning shuffle.
   *
   * @example
   * ```ts
   * sc.parallelize(['bb', 'a', 'ccc']).sortBy((s) => s.length); // ['a', 'bb', 'ccc']
   * ```
   */
  sortBy<K>(keyFn: (x: T) => K, ascending = true, numPartitions?: number): RDD<T> {
    return this.keyBy(keyFn).sortByKey(ascending, numPartitions).values();
  }

  // ---- pair transformations (RDD<[K, V]> only) ---------------------------------------------------------------

  /** The keys of a pair RDD. @example `pairs.keys()` */
  keys<K, V>(this: RDD<[K, V]>): RDD<K> {
    return this.elementwise('keys');
  }

  /** The values of a pair RDD. @example `pairs.values()` */
  values<K, V>(this: RDD<[K, V]>): RDD<V> {
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
  mapValues<K, V, W>(this: RDD<[K, V]>, fn: (v: V) => W): RDD<[K, W]> {
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
  flatMapValues<K, V, W>(this: RDD<[K, V]>, fn: (v: V) => Iterable<W>): RDD<[K, W]> {
    return this.elementwise('flatMapValues', fn);
  }

  /**
   * Merges the values of each key with an associative, commutative function; combines on the map side first.
   *
   * @example
   * ```ts
   * words.map((w) => [w, 1] as [string, number]).reduceByKey((a, b) => a + b);
   * ```
   */
  reduceByKey<K, V>(this: RDD<[K, V]>, fn: (a: V, b: V) => V, numPartitions?: number | Partitioner): RDD<[K, V]> {
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
  groupByKey<K, V>(this: RDD<[K, V]>, numPartitions?: number | Partitioner): RDD<[K, V[]]> {
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
    numPartitions?: number | Partitioner,
  ): RDD<[K, U]> {
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
  foldByKey<K, V>(this: RDD<[K, V]>, zero: V, fn: (a: V, b: V) => V, numPartitions?: number | Partitioner): RDD<[K, V]> {
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
    numPartitions?: number | Partitioner,
  ): RDD<[K, C]> {
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
  partitionBy<K, V>(this: RDD<[K, V]>, partitioner: number | Partitioner): RDD<[K, V]> {
    return pair.partitionBy(this, partitioner);
  }

  /**
   * Inner join on keys: `[k, [v, w]]` for every matching pair.
   *
   * @example
   * ```ts
   * a.join(b); // [['k', [1, 'x']], ...]
   * ```
   */
  join<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner): RDD<[K, [V, W]]> {
    return pair.join(this, other, 'joinInner', numPartitions);
  }

  /** Left outer join; a missing right value is `null`. @example `a.leftOuterJoin(b)` */
  leftOuterJoin<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner): RDD<[K, [V, W | null]]> {
    return pair.join(this, other, 'joinLeft', numPartitions);
  }

  /** Right outer join; a missing left value is `null`. @example `a.rightOuterJoin(b)` */
  rightOuterJoin<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner): RDD<[K, [V | null, W]]> {
    return pair.join(this, other, 'joinRight', numPartitions);
  }

  /** Full outer join; a missing side is `null`. @example `a.fullOuterJoin(b)` */
  fullOuterJoin<K, V, W>(
    this: RDD<[K, V]>,
    other: RDD<[K, W]>,
    numPartitions?: number | Partitioner,
  ): RDD<[K, [V | null, W | null]]> {
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
  cogroup<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner): RDD<[K, [V[], W[]]]> {
    return pair.cogroup(this, other, numPartitions);
  }

  /**
   * The pairs whose key does not occur in `other`.
   *
   * @example
   * ```ts
   * a.subtractByKey(b);
   * ```
   */
  subtractByKey<K, V, W>(this: RDD<[K, V]>, other: RDD<[K, W]>, numPartitions?: number | Partitioner): RDD<[K, V]> {
    return pair.subtractByKey(this, other, numPartitions);
  }

  /**
   * Sorts by key with a range partitioner computed from a sample when the job runs.
   *
   * @example
   * ```ts
   * await counts.map(([w, n]) => [n, w]).sortByKey(false).take(10);
   * ```
   */
  sortByKey<K, V>(this: RDD<[K, V]>, ascending = true, numPartitions?: number): RDD<[K, V]> {
    if (numPartitions !== undefined) checkPartitionCount('sortByKey', numPartitions);
    return pair.sortByKey(this, ascending, numPartitions ?? this.getNumPartitions());
  }

  // ---- actions ----------------------------------------------------------------------------------------------
  // Each accepts `{ signal }` last: aborting it cancels the action's job(s) (see ActionOptions).

  /** All elements, in partition order. @example `await rdd.collect()` */
  collect(options?: ActionOptions): Promise<T[]> {
    return withActionOptions(options, () => actions.collect(this));
  }

  /** Number of elements. @example `await rdd.count()` */
  count(options?: ActionOptions): Promise<number> {
    return withActionOptions(options, () => actions.count(this));
  }

  /** The first element; rejects on an empty RDD. @example `await rdd.first()` */
  first(options?: ActionOptions): Promise<T> {
    return withActionOptions(options, () => actions.first(this));
  }

  /** The first `n` elements, scanning as few partitions as possible. @example `await rdd.take(5)` */
  take(n: number, options?: ActionOptions): Promise<T[]> {
    return withActionOptions(options, () => actions.take(this, n));
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
    return withActionOptions(options, () => actions.takeOrdered(this, n, keyFn, false));
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
    return withActionOptions(options, () => actions.takeOrdered(this, n, keyFn, true));
  }

  /** Reduces with an associative, commutative function; rejects on an empty RDD. @example `await rdd.reduce((a, b) => a + b)` */
  reduce(fn: (a: T, b: T) => T, options?: ActionOptions): Promise<T> {
    return withActionOptions(options, () => actions.reduce(this, fn));
  }

  /** Folds each partition from `zero`, then the partition results from `zero`. @example `await rdd.fold(0, (a, b) => a + b)` */
  fold(zero: T, fn: (a: T, b: T) => T, options?: ActionOptions): Promise<T> {
    return withActionOptions(options, () => actions.fold(this, zero, fn));
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
    return withActionOptions(options, () => actions.aggregate(this, zero, seqOp, combOp));
  }

  /** Runs `fn` on every element in the workers (for side effects, e.g. accumulators). @example `await rdd.foreach((x) => acc.add(x))` */
  foreach(fn: (x: T) => void, options?: ActionOptions): Promise<void> {
    return withActionOptions(options, () => actions.foreach(this, fn));
  }

  /** Runs `fn` once per partition with an Iterable of its elements. @example `await rdd.foreachPartition((it) => { for (const x of it) send(x); })` */
  foreachPartition(fn: (it: Iterable<T>) => void, options?: ActionOptions): Promise<void> {
    return withActionOptions(options, () => actions.foreachPartition(this, fn));
  }

  /** Counts of each key; with structural keys the first-seen key object stands for its group. @example `await pairs.countByKey()` */
  countByKey<K, V>(this: RDD<[K, V]>, options?: ActionOptions): Promise<Map<K, number>> {
    return withActionOptions(options, () => actions.countByKey(this));
  }

  /** Counts of each distinct element. @example `await words.countByValue()` */
  countByValue(options?: ActionOptions): Promise<Map<T, number>> {
    return withActionOptions(options, () => actions.countByValue(this));
  }

  /** The pairs as a Map (a later value for a key replaces an earlier one). @example `await pairs.collectAsMap()` */
  collectAsMap<K, V>(this: RDD<[K, V]>, options?: ActionOptions): Promise<Map<K, V>> {
    return withActionOptions(options, () => actions.collectAsMap(this));
  }

  /** The values of `key`; reads only the key's partition when the RDD has a partitioner. @example `await pairs.lookup('a')` */
  lookup<K, V>(this: RDD<[K, V]>, key: K, options?: ActionOptions): Promise<V[]> {
    return withActionOptions(options, () => actions.lookup(this, key));
  }

  /** Sum of a numeric RDD. @example `await sc.range(5).sum()` */
  sum(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(options, () => actions.stats(this)).then((s) => s.sum);
  }

  /** Mean of a numeric RDD (NaN when empty). @example `await sc.range(5).mean()` */
  mean(this: RDD<number>, options?: ActionOptions): Promise<number> {
    return withActionOptions(options, () => actions.stats(this)).then((s) => s.mean);
  }

  /** Largest element by the default ordering; rejects on an empty RDD. @example `await rdd.max()` */
  max(options?: ActionOptions): Promise<T> {
    return withActionOptions(options, () => actions.extreme(this, 'max'));
  }

  /** Smallest element by the default ordering; rejects on an empty RDD. @example `await rdd.min()` */
  min(options?: ActionOptions): Promise<T> {
    return withActionOptions(options, () => actions.extreme(this, 'min'));
  }

  /**
   * Count, mean, sum, min, max, variance and standard deviation in one pass (Spark's StatCounter).
   *
   * @example
   * ```ts
   * const { mean, stdev } = await sc.parallelize([1, 2, 3, 4]).stats();
   * ```
   */
  stats(this: RDD<number>, options?: ActionOptions): Promise<actions.Stats> {
    return withActionOptions(options, () => actions.stats(this));
  }

  /** True when the RDD has no elements. @example `await rdd.isEmpty()` */
  isEmpty(options?: ActionOptions): Promise<boolean> {
    return withActionOptions(options, () => actions.take(this, 1)).then((xs) => xs.length === 0);
  }

  /**
   * Writes one text file per partition (`part-00000`, ...) and `_SUCCESS` into the directory `path`, committed
   * atomically; strings are written as they are, numbers with `String`, anything else as JSON.
   *
   * @example
   * ```ts
   * await counts.saveAsTextFile('out/counts', { overwrite: true });
   * ```
   */
  saveAsTextFile(path: string, options: { overwrite?: boolean } & ActionOptions = {}): Promise<void> {
    return withActionOptions(options, () => actions.saveAsTextFile(this, path, options.overwrite ?? false));
  }
}

/** Throws a RangeError at the call when a partition count is not a positive integer. */
export function checkPartitionCount(op: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`${op}: number of partitions must be a positive integer, got ${n}`);
  }
}
