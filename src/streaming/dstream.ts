/**
 * DStreams: a discretized stream is a sequence of RDDs, one per batch time (Spark's three hooks: a slide, its
 * parents, `compute(time)`). Every batch's RDD is an ordinary RDD, so its jobs run on the engine unchanged.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { capture } from '../closure/index.js';
import type { Context } from '../context/context.js';
import type { CustomAccumulator } from '../context/shared-variables.js';
import { ArgumentTypeError, IllegalStateError, InvalidArgumentError, describeValue } from '../core/errors.js';
import { HashPartitioner, type Partitioner } from '../core/partitioner.js';
import { RDD } from '../rdd/index.js';
import type { StreamingBatchTime } from '../scheduler/events.js';
import { StorageLevel, storageLevelOf } from '../storage/storage-level.js';
import { checkMultiple, type Duration, parseDuration } from './duration.js';
import {
  assignWindows,
  batchEventStats,
  dropLateMeasured,
  type EventWindow,
  type OutputMode,
  type PartitionEventStats,
  type WindowState,
  windowStep,
} from './event-time.js';
import { batchStep, mappedOf, snapshotOf, type StateSpec, stateOf, type Tagged, type TaggedOut } from './map-with-state.js';
import { addRedisSink, type RedisSinkOptions } from './redis.js';
import { type StateCheckpoint, stateCheckpointsNeeded } from './checkpoint-log.js';
import type { StreamingContext } from './streaming-context.js';

/** A batch: `id` counts batches from 0, `ms` is its time (a multiple of the batch interval). */
export type BatchTime = StreamingBatchTime;

/** @internal What a DStream needs of its StreamingContext. */
export interface StreamGraph {
  readonly sc: Context;
  readonly batchMs: number;
  /** The time before the first batch (Spark's zeroTime); defined once started. */
  readonly zeroMs: number | undefined;
  /**
   * The first batch time this run processes (an earlier run's uncommitted batch, or the first new one). RDDs of
   * earlier times were computed by an earlier run: what chains to them (an incremental window) starts afresh.
   */
  readonly runStartMs: number | undefined;
  /** The newest batch time cut (data handed to the input streams), undefined before the first. */
  readonly lastCutMs: number | undefined;
  /**
   * False for a time before this run at which no batch ran (the driver was down): a state stream has no RDD
   * there. True for every time of a run that restored nothing.
   */
  hadBatch(ms: number): boolean;
  /** The StreamingContext this graph belongs to (Spark's DStream.context()). */
  readonly ssc: StreamingContext;
  batchTime(ms: number): BatchTime;
  addOutput(op: OutputOperation): void;
  /** An id for a new stream; refuses once the context started (Spark's DStream.validateAtInit). */
  nextStreamId(label: string): number;
}

/**
 * @internal The type-free face of a DStream that the graph walks (a DStream<T> is not a DStream<unknown>: its
 * methods take T).
 */
export interface StreamNode {
  readonly slideMs: number;
  readonly label: string;
  readonly checkpointMs: number | undefined;
  isTimeValid(ms: number): boolean;
  getOrCompute(ms: number): RDD<unknown> | undefined;
  initialize(minRememberMs: number): void;
  clearOld(ms: number, seen: Set<StreamNode>): void;
  lineage(into?: Set<StreamNode>): Set<StreamNode>;
}

/** @internal An output operation: one action (or a few) per batch, run in registration order. */
export interface OutputOperation {
  readonly name: string;
  readonly stream: StreamNode;
  run(ms: number): Promise<void>;
  /** Runs after the batch's other outputs (bookkeeping that reads what their jobs measured). */
  readonly last?: boolean;
  /** Called once the streaming context stops (ends `batches()` iterators). */
  close?(): void;
  /** Called when stop() is called: an output that waits on its consumer must stop waiting (the consumer may be the caller). */
  stopping?(): void;
}

/** Options of the windowed reductions. */
export interface WindowSpec<V> {
  /** Length of the window; a multiple of this stream's slide. */
  window: Duration;
  /** How often the window is evaluated; a multiple of this stream's slide, default this stream's slide. */
  slide?: Duration;
  /**
   * The inverse of the reduce function (`inverse(f(a, b), b) == a`). With it, each window is the previous one
   * minus the batches that left plus those that entered, instead of a reduction over every batch in the window.
   */
  inverse?: (a: V, b: V) => V;
  /** With an inverse: keys whose pair fails this test are dropped from the window (e.g. counts that fell to 0). */
  filter?: (kv: [unknown, V]) => boolean;
  /** Partitions of the windowed result; default the context's parallelism. */
  partitions?: number;
}

/**
 * A discretized stream: one RDD per batch. Transformations return new DStreams and are checked at the call
 * (functions must be shippable, as for RDDs); output operations (`foreachRDD`, `print`, `saveAsTextFiles`,
 * `batches`) register work for every batch and must be added before `start()`.
 *
 * @example
 * ```ts
 * const words = ssc.queueStream([['a b', 'b'], ['c']]).flatMap((line) => line.split(' '));
 * words.map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b).print();
 * await ssc.start();
 * ```
 */
export abstract class DStream<T> implements StreamNode {
  /** @internal */
  readonly graph: StreamGraph;
  /** @internal */
  readonly parents: readonly StreamNode[];
  /** Interval between this stream's RDDs, in ms (the batch interval, or a window's slide). */
  readonly slideMs: number;
  readonly id: number;
  /** @internal */
  readonly label: string;
  /** @internal How long generated RDDs are kept after their batch. */
  rememberMs = 0;
  /** @internal Interval of checkpoints of generated RDDs (lineage cut), when any. */
  checkpointMs: number | undefined;
  /** @internal Streams whose RDDs chain to their own previous RDD need checkpoints to keep lineage bounded. */
  readonly mustCheckpoint: boolean = false;
  /** @internal State streams: a reader that remembers (a window) keeps one more checkpoint interval. */
  protected readonly keepsCheckpointBeforeWindow: boolean = false;
  #storage: StorageLevel | undefined;
  readonly #generated = new Map<number, RDD<unknown>>();
  /** RDDs this stream persisted itself (and so may unpersist); a transform may return a user's cached RDD. */
  readonly #ownPersisted = new WeakSet<RDD<unknown>>();
  #lastCheckpointed: RDD<unknown> | undefined;
  #lastCheckpointedMs = 0;
  /** Set by initialize(): the stream is part of the started graph (an output reads it). */
  #initialized = false;
  /** Times at or before this were forgotten by clearOld (their RDDs dropped, their input gone). */
  #forgottenThroughMs = Number.NEGATIVE_INFINITY;
  readonly #checkpointedOld: { ms: number; rdd: RDD<unknown> }[] = [];

  /** @internal */
  constructor(graph: StreamGraph, parents: readonly StreamNode[], slideMs: number, label: string) {
    this.graph = graph;
    this.parents = parents;
    this.slideMs = slideMs;
    this.id = graph.nextStreamId(label);
    this.label = label;
  }

  /** @internal The RDD of batch time `ms`, or undefined when this stream has none at that time. */
  protected abstract compute(ms: number): RDD<T> | undefined;

  get #sc(): Context {
    return this.graph.sc;
  }

  /** @internal True for times at which this stream produces an RDD (after the start, on its slide). */
  isTimeValid(ms: number): boolean {
    const zero = this.graph.zeroMs;
    return zero !== undefined && ms > zero && (ms - zero) % this.slideMs === 0;
  }

  /** @internal Memoized by time, so every output and child of one batch sees the same RDD (and its cache). */
  getOrCompute(ms: number): RDD<T> | undefined {
    const hit = this.#generated.get(ms);
    if (hit !== undefined) return hit as RDD<T>;
    if (!this.isTimeValid(ms)) return undefined;
    const rdd = this.compute(ms);
    if (rdd === undefined) return undefined;
    const checkpointDue = this.checkpointMs !== undefined && (ms - this.graph.zeroMs!) % this.checkpointMs === 0;
    if ((this.#storage !== undefined || checkpointDue) && rdd.storageLevel === StorageLevel.NONE) {
      // Checkpointing runs one more job over the RDD; caching it first keeps that job from recomputing it.
      rdd.persist(this.#storage ?? StorageLevel.MEMORY_ONLY);
      this.#ownPersisted.add(rdd);
    }
    if (checkpointDue && !rdd.checkpointRequested) {
      rdd.checkpoint();
      if (this.#lastCheckpointed !== undefined) this.#checkpointedOld.push({ ms: this.#lastCheckpointedMs, rdd: this.#lastCheckpointed });
      this.#lastCheckpointed = rdd;
      this.#lastCheckpointedMs = ms;
    }
    this.#generated.set(ms, rdd);
    return rdd;
  }

  /** @internal The newest RDD of this stream whose checkpoint files are written, with its batch time. */
  get lastCheckpoint(): { ms: number; rdd: RDD<unknown> } | undefined {
    return this.#lastCheckpointed?.isCheckpointed ? { ms: this.#lastCheckpointedMs, rdd: this.#lastCheckpointed } : undefined;
  }

  /** @internal Every checkpoint of this run whose files are written and not yet deleted, oldest first. */
  get writtenCheckpoints(): { ms: number; rdd: RDD<unknown> }[] {
    const last = this.lastCheckpoint;
    return [...this.#checkpointedOld.filter((c) => c.rdd.isCheckpointed), ...(last === undefined ? [] : [last])];
  }

  /** @internal Installs the RDD of a time computed by an earlier run (state restored from its checkpoint). */
  protected seed(ms: number, rdd: RDD<T>): void {
    this.#generated.set(ms, rdd);
  }

  /** @internal This stream's RDDs at its valid times in (fromMs, toMs] (what windows read; the public `slice` includes both ends). */
  sliceBetween(fromMs: number, toMs: number): RDD<T>[] {
    const zero = this.graph.zeroMs!;
    const first = Math.max(zero + this.slideMs, zero + (Math.floor((fromMs - zero) / this.slideMs) + 1) * this.slideMs);
    const out: RDD<T>[] = [];
    for (let t = first; t <= toMs; t += this.slideMs) {
      const rdd = this.getOrCompute(t);
      if (rdd !== undefined) out.push(rdd);
    }
    return out;
  }

  /**
   * The RDDs of this stream's batches from `fromTime` to `toTime`, both included (Spark's `DStream.slice`): times
   * are batch times in ms (or a `BatchTime`, or a `Date`), floored to this stream's slide as Spark does. Only
   * batches already cut are returned (a later time has no data yet), and only those this stream still remembers:
   * by default a batch's RDDs are kept for its windows and checkpoints only; `ssc.remember(duration)` keeps at
   * least `duration`. A range reaching a forgotten batch fails naming the stream and how long it remembers. The
   * stream must be read by an output operation and the context started (as Spark's "not initialized").
   *
   * @example
   * ```ts
   * ssc.remember('1m');
   * counts.foreachRDD(async (rdd, time) => {
   *   const lastMinute = counts.slice(time.ms - 59_000, time.ms); // up to 60 RDDs of a 1 s stream
   *   console.log(await sc.union(lastMinute).count());
   * });
   * ```
   */
  slice(fromTime: number | Date | BatchTime, toTime: number | Date | BatchTime): RDD<T>[] {
    const from = timeMs(fromTime, `slice on ${this.label}`);
    const to = timeMs(toTime, `slice on ${this.label}`);
    const zero = this.graph.zeroMs;
    if (zero === undefined || !this.#initialized) {
      throw new IllegalStateError(
        `slice on ${this.label}: the stream is not initialized (start the StreamingContext, with an output operation that reads this stream)`,
      );
    }
    if (to < from) throw new InvalidArgumentError(`slice on ${this.label}: toTime (${to} ms) is before fromTime (${from} ms)`);
    const s = this.slideMs;
    const floor = (ms: number) => zero + Math.floor((ms - zero) / s) * s;
    const lo = Math.max(floor(from), zero + s);
    const hi = Math.min(floor(to), floor(this.graph.lastCutMs ?? zero));
    if (lo > hi) return [];
    if (lo <= this.#forgottenThroughMs) {
      throw new InvalidArgumentError(
        `slice on ${this.label}: the batches up to ${this.#forgottenThroughMs} ms are forgotten (this stream remembers ${this.rememberMs} ms); ` +
          `asked from ${lo} ms: call ssc.remember(duration) before start() to keep more`,
      );
    }
    const out: RDD<T>[] = [];
    for (let t = lo; t <= hi; t += s) {
      const rdd = this.getOrCompute(t);
      if (rdd !== undefined) out.push(rdd);
    }
    return out;
  }

  /** The StreamingContext of this stream (Spark's `DStream.context()`). @example `words.context().sc` */
  context(): StreamingContext {
    return this.graph.ssc;
  }

  /** @internal How much more history parents must keep than this stream (a window keeps its length). */
  protected parentRememberMs(): number {
    return this.rememberMs;
  }

  /** @internal Sets remember durations top-down before the start (Spark's DStream.initialize). */
  initialize(minRememberMs: number): void {
    if (this.mustCheckpoint && this.checkpointMs === undefined) {
      // Spark's default: the first multiple of the slide of at least 10 s.
      this.checkpointMs = this.slideMs * Math.ceil(10_000 / this.slideMs);
    }
    const beforeWindow = this.keepsCheckpointBeforeWindow && minRememberMs > 0 ? (this.checkpointMs ?? 0) : 0;
    let remember = Math.max(this.rememberMs, minRememberMs + beforeWindow, this.slideMs);
    // Spark keeps twice the checkpoint interval ("#paranoia"): a lost partition recomputes from the last checkpoint.
    if (this.checkpointMs !== undefined) remember = Math.max(remember, 2 * this.checkpointMs);
    this.rememberMs = remember;
    this.#initialized = true;
    for (const p of this.parents) p.initialize(this.parentRememberMs());
  }

  /** @internal Forgets RDDs older than the remember duration after batch `ms` (Spark's clearMetadata). */
  clearOld(ms: number, seen: Set<StreamNode>): void {
    if (seen.has(this)) return;
    seen.add(this);
    this.#forgottenThroughMs = Math.max(this.#forgottenThroughMs, ms - this.rememberMs);
    for (const [t, rdd] of this.#generated) {
      if (t > ms - this.rememberMs) continue;
      this.#generated.delete(t);
      if (this.#ownPersisted.has(rdd) && rdd !== this.#lastCheckpointed) rdd.unpersist();
      this.forgetTime(t);
    }
    // An older checkpoint is read by nothing once a newer one cut the lineage and the RDDs between are forgotten.
    const dir = this.#sc.checkpointDir;
    if (dir !== undefined && this.#lastCheckpointed?.isCheckpointed) {
      const oldest = Math.min(...[...this.#generated.values()].map((r) => r.id));
      for (let i = this.#checkpointedOld.length - 1; i >= 0; i--) {
        const old = this.#checkpointedOld[i]!.rdd;
        if (old.id >= oldest) continue;
        this.#checkpointedOld.splice(i, 1);
        if (old.storageLevel !== StorageLevel.NONE) old.unpersist();
        // The context writes an RDD's checkpoint to <dir>/rdd-<id> (context.ts, #checkpointLineage).
        rm(path.join(dir, `rdd-${old.id}`), { recursive: true, force: true }).catch(() => undefined);
      }
    }
    for (const p of this.parents) p.clearOld(ms, seen);
  }

  /** @internal Inputs drop the data they held for a forgotten time. */
  protected forgetTime(_ms: number): void {}

  /** @internal Every stream this one reads from, itself included. */
  lineage(into: Set<StreamNode> = new Set()): Set<StreamNode> {
    if (into.has(this)) return into;
    into.add(this);
    for (const p of this.parents) p.lineage(into);
    return into;
  }

  /** @internal Ships `fn` once now, so an undeclared identifier fails at the call, not in the first batch. */
  protected check(fn: Function, what: string): void {
    this.#sc.ship(fn, `${what} on ${this.label}`);
  }

  /** @internal */
  derive<U>(label: string, fn: (rdd: RDD<T>, ms: number) => RDD<U>): DStream<U> {
    return new TransformedDStream<U>(this.graph, [this], this.slideMs, label, (rdds, ms) => fn(rdds[0] as RDD<T>, ms));
  }

  // ---- configuration ----------------------------------------------------------------------------------------

  /**
   * Caches every RDD of this stream (until it is forgotten), for streams several outputs or windows read.
   *
   * @example
   * ```ts
   * const parsed = lines.map((l) => JSON.parse(l)).persist();
   * ```
   */
  persist(level: StorageLevel | StorageLevel['name'] = StorageLevel.MEMORY_ONLY): this {
    this.#storage = storageLevelOf(level);
    return this;
  }

  /** Same as `persist()`. @example `stream.cache()` */
  cache(): this {
    return this.persist();
  }

  /**
   * Checkpoints this stream's RDDs every `interval` (a multiple of its slide), cutting their lineage; needs a
   * checkpoint folder (the `checkpoint` option or `sc.setCheckpointDir`).
   *
   * @example
   * ```ts
   * counts.updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.length).checkpoint('5s');
   * ```
   */
  checkpoint(interval: Duration): this {
    const ms = parseDuration(interval, 'checkpoint interval');
    checkMultiple(ms, this.slideMs, 'checkpoint interval', `the slide of ${this.label}`);
    this.checkpointMs = ms;
    return this;
  }

  // ---- transformations --------------------------------------------------------------------------------------

  /** Applies `fn` to every element. @example `lines.map((l) => l.length)` */
  map<U>(fn: (x: T) => U): DStream<U> {
    this.check(fn, 'map');
    return this.derive('map', (rdd) => rdd.map(fn));
  }

  /** Keeps elements for which `fn` is true. @example `nums.filter((n) => n > 0)` */
  filter(fn: (x: T) => boolean): DStream<T> {
    this.check(fn, 'filter');
    return this.derive('filter', (rdd) => rdd.filter(fn));
  }

  /** Maps each element to zero or more. @example `lines.flatMap((l) => l.split(' '))` */
  flatMap<U>(fn: (x: T) => Iterable<U>): DStream<U> {
    this.check(fn, 'flatMap');
    return this.derive('flatMap', (rdd) => rdd.flatMap(fn));
  }

  /** Maps each partition of each batch. @example `s.mapPartitions(function* (it) { for (const x of it) yield x * 2; })` */
  mapPartitions<U>(fn: (it: Iterable<T>) => Iterable<U>): DStream<U> {
    this.check(fn, 'mapPartitions');
    return this.derive('mapPartitions', (rdd) => rdd.mapPartitions(fn));
  }

  /**
   * Maps each partition of each batch with its index (PySpark's `mapPartitionsWithIndex`).
   *
   * @example
   * ```ts
   * lines.mapPartitionsWithIndex(function* (i, it) { for (const l of it) yield `${i}: ${l}`; });
   * ```
   */
  mapPartitionsWithIndex<U>(fn: (index: number, it: Iterable<T>) => Iterable<U>, preservesPartitioning = false): DStream<U> {
    this.check(fn, 'mapPartitionsWithIndex');
    return this.derive('mapPartitionsWithIndex', (rdd) => rdd.mapPartitionsWithIndex(fn, preservesPartitioning));
  }

  /** Spreads each batch over `n` partitions (a shuffle). @example `input.repartition(8)` */
  repartition(n: number): DStream<T> {
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`repartition: number of partitions must be a positive integer, got ${n}`);
    return this.derive('repartition', (rdd) => rdd.repartition(n));
  }

  /** The elements of both streams, batch by batch; both must have the same slide. @example `a.union(b)` */
  union(other: DStream<T>): DStream<T> {
    this.#sameSlide(other, 'union');
    const sc = this.#sc;
    return new TransformedDStream<T>(this.graph, [this, other], this.slideMs, 'union', (rdds) => sc.union(rdds as RDD<T>[]));
  }

  /**
   * Any RDD-to-RDD function, run on the driver for every batch (join with a static RDD, sort, sample, ...).
   *
   * @example
   * ```ts
   * const blocked = sc.parallelize([['spam', true]] as [string, boolean][]);
   * words.map((w): [string, number] => [w, 1]).transform((rdd) => rdd.subtractByKey(blocked));
   * ```
   */
  transform<U>(fn: (rdd: RDD<T>, time: BatchTime) => RDD<U>): DStream<U> {
    if (typeof fn !== 'function') throw new ArgumentTypeError(`transform expects a function, got ${typeof fn}`);
    return this.derive('transform', (rdd, ms) => this.#returnedRdd<U>(fn(rdd, this.graph.batchTime(ms)), 'transform', ms));
  }

  /**
   * Any function of this stream's and `other`'s RDDs of the same batch, run on the driver for every batch (Spark's
   * transformWith); both streams must have the same slide.
   *
   * @example
   * ```ts
   * // Clicks whose user is not in this batch's logins.
   * const strays = clicks.transformWith(logins, (c, l, time) => c.subtractByKey(l));
   * ```
   */
  transformWith<U, R>(other: DStream<U>, fn: (rdd: RDD<T>, otherRdd: RDD<U>, time: BatchTime) => RDD<R>): DStream<R> {
    if (typeof fn !== 'function') throw new ArgumentTypeError(`transformWith expects a function, got ${typeof fn}`);
    this.#sameSlide(other, 'transformWith');
    return new TransformedDStream<R>(this.graph, [this, other], this.slideMs, 'transformWith', (rdds, ms) =>
      this.#returnedRdd<R>(fn(rdds[0] as RDD<T>, rdds[1] as RDD<U>, this.graph.batchTime(ms)), 'transformWith', ms),
    );
  }

  #returnedRdd<U>(out: unknown, op: string, ms: number): RDD<U> {
    return returnedRdd<U>(out, `${op} of ${this.label}`, ms);
  }

  /** One element per batch: its number of elements. @example `events.count().print()` */
  count(): DStream<number> {
    const sc = this.#sc;
    return this.derive('count', (rdd) =>
      sc
        .union([rdd.mapPartitions(countPartition), sc.parallelize([0], 1)])
        .coalesce(1)
        .mapPartitions(sumPartition),
    );
  }

  /** One element per non-empty batch: all elements reduced with `fn`. @example `nums.reduce((a, b) => a + b)` */
  reduce(fn: (a: T, b: T) => T): DStream<T> {
    this.check(fn, 'reduce');
    return this.derive('reduce', (rdd) =>
      rdd
        .map((x) => [0, x])
        .reduceByKey(fn, 1)
        .map(([, v]) => v),
    );
  }

  /** Occurrences of each distinct element per batch, in `partitions` partitions (Spark's `countByValue(numPartitions)`). @example `words.countByValue()` */
  countByValue(partitions?: number | Partitioner): DStream<[T, number]> {
    return this.derive('countByValue', (rdd) => rdd.map((x): [T, number] => [x, 1]).reduceByKey((a, b) => a + b, partitions));
  }

  /** Each partition of each batch as one array (Spark's `glom`). @example `nums.glom().map((part) => part.length)` */
  glom(): DStream<T[]> {
    return this.derive('glom', (rdd) => rdd.glom());
  }

  /**
   * Every `slide`, the union of the batches of the last `window` (both multiples of this stream's slide).
   *
   * @example
   * ```ts
   * const last30s = events.window('30s', '10s');
   * ```
   */
  window(window: Duration, slide?: Duration): DStream<T> {
    const [windowMs, slideMs] = this.#windowSpec(window, slide);
    return new WindowedDStream<T>(this, windowMs, slideMs);
  }

  /** Elements in the last `window`, every `slide`. @example `clicks.countByWindow('1m', '10s')` */
  countByWindow(window: Duration, slide?: Duration): DStream<number> {
    return this.window(window, slide).count();
  }

  /**
   * All elements of the last `window` reduced with `fn`, every `slide`; with `inverse`, computed incrementally
   * (needs a checkpoint folder).
   *
   * @example
   * ```ts
   * nums.reduceByWindow((a, b) => a + b, { window: '30s', slide: '10s', inverse: (a, b) => a - b });
   * ```
   */
  reduceByWindow(fn: (a: T, b: T) => T, spec: WindowSpec<T>): DStream<T>;
  /** Spark's positional form: `reduceByWindow(f, windowDuration, slideDuration?)`. @example `nums.reduceByWindow((a, b) => a + b, '30s', '10s')` */
  reduceByWindow(fn: (a: T, b: T) => T, window: Duration, slide?: Duration): DStream<T>;
  /**
   * Spark's positional form with an inverse: `reduceByWindow(f, invF, windowDuration, slideDuration?)` (PySpark's
   * `invReduceFunc` may be null: no inverse).
   *
   * @example
   * ```ts
   * nums.reduceByWindow((a, b) => a + b, (a, b) => a - b, '30s', '10s');
   * ```
   */
  reduceByWindow(fn: (a: T, b: T) => T, inverse: ((a: T, b: T) => T) | null | undefined, window: Duration, slide?: Duration): DStream<T>;
  reduceByWindow(fn: (a: T, b: T) => T, specOrArg: unknown, ...rest: unknown[]): DStream<T> {
    const spec = windowArgs<T>('reduceByWindow', specOrArg, rest, 2);
    this.check(fn, 'reduceByWindow');
    if (spec.inverse === undefined) return this.reduce(fn).window(spec.window, spec.slide).reduce(fn);
    return this.map((x): [number, T] => [0, x])
      .reduceByKeyAndWindow(fn, { ...spec, partitions: 1 })
      .map(([, v]) => v);
  }

  #windowSpec(window: Duration, slide: Duration | undefined): [number, number] {
    const windowMs = parseDuration(window, 'window');
    const slideMs = slide === undefined ? this.slideMs : parseDuration(slide, 'slide');
    checkMultiple(windowMs, this.slideMs, 'window', `the slide of ${this.label}`);
    checkMultiple(slideMs, this.slideMs, 'slide', `the slide of ${this.label}`);
    return [windowMs, slideMs];
  }

  #sameSlide(other: StreamNode, op: string): void {
    if (!(other instanceof DStream) || other.graph !== this.graph) {
      throw new InvalidArgumentError(`${op}: expects a DStream of the same StreamingContext`);
    }
    if (other.slideMs !== this.slideMs) {
      throw new InvalidArgumentError(`${op}: both streams must have the same slide, got ${this.slideMs} ms and ${other.slideMs} ms`);
    }
  }

  // ---- pair transformations ---------------------------------------------------------------------------------

  /** Transforms each value, keeping keys. @example `counts.mapValues((n) => n * 2)` */
  mapValues<K, V, W>(this: DStream<[K, V]>, fn: (v: V) => W): DStream<[K, W]> {
    this.check(fn, 'mapValues');
    return this.derive('mapValues', (rdd) => rdd.mapValues(fn));
  }

  /** Maps each value to zero or more, keeping its key. @example `sentences.flatMapValues((s) => s.split(' '))` */
  flatMapValues<K, V, W>(this: DStream<[K, V]>, fn: (v: V) => Iterable<W>): DStream<[K, W]> {
    this.check(fn, 'flatMapValues');
    return this.derive('flatMapValues', (rdd) => rdd.flatMapValues(fn));
  }

  /**
   * Per batch, the values of each key combined (Spark's `combineByKey`): `create` makes a combiner from a key's
   * first value in a partition, `mergeValue` adds a value to it, `mergeCombiners` merges combiners of partitions.
   *
   * @example
   * ```ts
   * // Per batch, each key's [sum, count].
   * pairs.combineByKey((v: number) => [v, 1] as [number, number], ([s, n], v) => [s + v, n + 1], ([s, n], [t, m]) => [s + t, n + m]);
   * ```
   */
  combineByKey<K, V, C>(
    this: DStream<[K, V]>,
    create: (v: V) => C,
    mergeValue: (c: C, v: V) => C,
    mergeCombiners: (a: C, b: C) => C,
    partitions?: number | Partitioner,
  ): DStream<[K, C]> {
    this.check(create, 'combineByKey (createCombiner)');
    this.check(mergeValue, 'combineByKey (mergeValue)');
    this.check(mergeCombiners, 'combineByKey (mergeCombiners)');
    return this.derive('combineByKey', (rdd) => rdd.combineByKey(create, mergeValue, mergeCombiners, partitions));
  }

  /** Per batch, the pairs partitioned by key (PySpark's `partitionBy`). @example `pairs.partitionBy(8)` */
  partitionBy<K, V>(this: DStream<[K, V]>, partitions: number | Partitioner): DStream<[K, V]> {
    return this.derive('partitionBy', (rdd) => rdd.partitionBy(partitions));
  }

  /** Per batch, the values of each key reduced with `fn`. @example `pairs.reduceByKey((a, b) => a + b)` */
  reduceByKey<K, V>(this: DStream<[K, V]>, fn: (a: V, b: V) => V, partitions?: number | Partitioner): DStream<[K, V]> {
    this.check(fn, 'reduceByKey');
    return this.derive('reduceByKey', (rdd) => rdd.reduceByKey(fn, partitions));
  }

  /** Per batch, the values of each key. @example `pairs.groupByKey()` */
  groupByKey<K, V>(this: DStream<[K, V]>, partitions?: number | Partitioner): DStream<[K, V[]]> {
    return this.derive('groupByKey', (rdd) => rdd.groupByKey(partitions));
  }

  /** Per batch, the inner join with the same batch of `other`. @example `clicks.join(impressions)` */
  join<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, partitions?: number | Partitioner): DStream<[K, [V, W]]> {
    return this.#binary(other, 'join', (a, b) => a.join(b, partitions));
  }

  /** Per batch, the left outer join with `other`. @example `clicks.leftOuterJoin(users)` */
  leftOuterJoin<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, partitions?: number | Partitioner): DStream<[K, [V, W | null]]> {
    return this.#binary(other, 'leftOuterJoin', (a, b) => a.leftOuterJoin(b, partitions));
  }

  /** Per batch, the right outer join with `other` (null for a key this stream lacks). @example `clicks.rightOuterJoin(users)` */
  rightOuterJoin<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, partitions?: number | Partitioner): DStream<[K, [V | null, W]]> {
    return this.#binary(other, 'rightOuterJoin', (a, b) => a.rightOuterJoin(b, partitions));
  }

  /** Per batch, the full outer join with `other` (null on the side that lacks the key). @example `a.fullOuterJoin(b)` */
  fullOuterJoin<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, partitions?: number | Partitioner): DStream<[K, [V | null, W | null]]> {
    return this.#binary(other, 'fullOuterJoin', (a, b) => a.fullOuterJoin(b, partitions));
  }

  /** Per batch, each key's values in this stream and in `other`. @example `a.cogroup(b)` */
  cogroup<K, V, W>(this: DStream<[K, V]>, other: DStream<[K, W]>, partitions?: number | Partitioner): DStream<[K, [V[], W[]]]> {
    return this.#binary(other, 'cogroup', (a, b) => a.cogroup(b, partitions));
  }

  #binary<K, V, W, R>(this: DStream<[K, V]>, other: DStream<[K, W]>, op: string, fn: (a: RDD<[K, V]>, b: RDD<[K, W]>) => RDD<R>): DStream<R> {
    this.#sameSlide(other, op);
    const sc = this.#sc;
    return new TransformedDStream<R>(this.graph, [this, other], this.slideMs, op, (rdds) =>
      fn((rdds[0] ?? sc.emptyRDD()) as RDD<[K, V]>, (rdds[1] ?? sc.emptyRDD()) as RDD<[K, W]>),
    );
  }

  /**
   * Every `slide`, the values of each key over the last `window` reduced with `fn`. With `inverse`, only the
   * batches entering and leaving the window are combined with the previous window (Spark's
   * ReducedWindowedDStream); this needs a checkpoint folder, as the window's lineage grows with every slide.
   *
   * @example
   * ```ts
   * const counts = pairs.reduceByKeyAndWindow((a, b) => a + b,
   *   { window: '30s', slide: '10s', inverse: (a, b) => a - b, filter: ([, n]) => n > 0 });
   * ```
   */
  reduceByKeyAndWindow<K, V>(this: DStream<[K, V]>, fn: (a: V, b: V) => V, spec: WindowSpec<V>): DStream<[K, V]>;
  /**
   * Spark's positional form: `reduceByKeyAndWindow(f, windowDuration, slideDuration?, numPartitions?)`.
   *
   * @example
   * ```ts
   * pairs.reduceByKeyAndWindow((a, b) => a + b, '30s', '10s', 4);
   * ```
   */
  reduceByKeyAndWindow<K, V>(this: DStream<[K, V]>, fn: (a: V, b: V) => V, window: Duration, slide?: Duration, partitions?: number): DStream<[K, V]>;
  /**
   * Spark's (and PySpark's) positional form with an inverse:
   * `reduceByKeyAndWindow(f, invF, windowDuration, slideDuration?, numPartitions?, filterFunc?)`; `invF` may be null
   * (PySpark's `None`: no inverse).
   *
   * @example
   * ```ts
   * pairs.reduceByKeyAndWindow((a, b) => a + b, (a, b) => a - b, '30s', '10s', 2, ([, n]) => n > 0);
   * ```
   */
  reduceByKeyAndWindow<K, V>(
    this: DStream<[K, V]>,
    fn: (a: V, b: V) => V,
    inverse: ((a: V, b: V) => V) | null | undefined,
    window: Duration,
    slide?: Duration,
    partitions?: number,
    filter?: (kv: [K, V]) => boolean,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(this: DStream<[K, V]>, fn: (a: V, b: V) => V, specOrArg: unknown, ...rest: unknown[]): DStream<[K, V]> {
    const spec = windowArgs<V>('reduceByKeyAndWindow', specOrArg, rest, 4);
    this.check(fn, 'reduceByKeyAndWindow');
    const [windowMs, slideMs] = this.#windowSpec(spec.window, spec.slide);
    const partitioner = new HashPartitioner(spec.partitions ?? this.#sc.defaultParallelism);
    const reduced = this.reduceByKey(fn, partitioner);
    if (spec.inverse === undefined) {
      if (spec.filter !== undefined) throw new InvalidArgumentError('reduceByKeyAndWindow: filter applies only with an inverse function');
      return reduced.window(windowMs, slideMs).reduceByKey(fn, partitioner);
    }
    this.check(spec.inverse, 'reduceByKeyAndWindow (inverse)');
    if (spec.filter !== undefined) this.check(spec.filter, 'reduceByKeyAndWindow (filter)');
    reduced.persist();
    return new ReducedWindowedDStream<K, V>(reduced, windowMs, slideMs, fn, spec.inverse, spec.filter, partitioner);
  }

  /**
   * Every `slide`, the values of each key over the last `window` (Spark's `groupByKeyAndWindow`); both multiples
   * of this stream's slide.
   *
   * @example
   * ```ts
   * const sessions = clicks.groupByKeyAndWindow('5m', '1m'); // [user, pages of the last 5 minutes]
   * ```
   */
  groupByKeyAndWindow<K, V>(this: DStream<[K, V]>, window: Duration, slide?: Duration, partitions?: number | Partitioner): DStream<[K, V[]]> {
    return this.window(window, slide).groupByKey(partitions);
  }

  /**
   * Occurrences of each distinct element over the last `window`, every `slide`, computed incrementally (an
   * inverse reduction; needs a checkpoint folder). Elements whose count falls to 0 leave the result.
   *
   * @example
   * ```ts
   * words.countByValueAndWindow('1m', '10s');
   * ```
   */
  countByValueAndWindow(window: Duration, slide?: Duration, partitions?: number): DStream<[T, number]> {
    return this.map((x): [T, number] => [x, 1]).reduceByKeyAndWindow((a, b) => a + b, {
      window,
      ...(slide === undefined ? {} : { slide }),
      ...(partitions === undefined ? {} : { partitions }),
      inverse: (a, b) => a - b,
      filter: ([, n]) => n > 0,
    });
  }

  /**
   * A state per key carried across batches: every batch, `fn(newValues, previousState)` runs for every key with
   * new values or a state (`previousState` undefined for a new key); returning undefined removes the key. The
   * state RDDs are checkpointed every `checkpoint` interval (default the first multiple of the slide of at least
   * 10 s) so their lineage stays short; this needs a checkpoint folder.
   *
   * @example
   * ```ts
   * const totals = pairs.updateStateByKey((values: number[], state?: number) => (state ?? 0) + values.length);
   * ```
   */
  updateStateByKey<K, V, S>(
    this: DStream<[K, V]>,
    fn: (values: V[], state: S | undefined) => S | undefined,
    options: { partitions?: number; initial?: RDD<[K, S]> } = {},
  ): DStream<[K, S]> {
    this.check(fn, 'updateStateByKey');
    const partitioner = new HashPartitioner(options.partitions ?? this.#sc.defaultParallelism);
    return new StateDStream<K, V, S>(this, fn, partitioner, options.initial);
  }

  /**
   * Spark's mapWithState: for every record of every batch, `spec`'s function gets the key, the value and the key's
   * {@link State} (get, update, remove, exists), and what it returns (unless undefined) is this stream's element.
   * Keys without data cost nothing per batch except with a timeout, which removes keys idle longer than it (one
   * last call with `state.isTimingOut()`). The state is checkpointed every 10 batches (needs a checkpoint folder)
   * and restored after a driver restart; `stateSnapshots()` gives every key's state.
   *
   * @example
   * ```ts
   * const spec = StateSpec.function((word: string, one: number | undefined, state: State<number>) => {
   *   if (state.isTimingOut()) return undefined;
   *   const n = (state.getOption() ?? 0) + (one ?? 0);
   *   state.update(n);
   *   return [word, n] as [string, number];
   * }).timeout('10m');
   * words.map((w): [string, number] => [w, 1]).mapWithState(spec).print();
   * ```
   */
  mapWithState<K, V, S, M>(this: DStream<[K, V]>, spec: StateSpec<K, V, S, M>): MapWithStateDStream<K, S, M> {
    if (spec === null || typeof spec !== 'object' || typeof spec.fn !== 'function') {
      throw new ArgumentTypeError('mapWithState expects a StateSpec: StateSpec.function((key, value, state) => ...)');
    }
    const p = spec.partitioning;
    const partitioner = p !== undefined && typeof p === 'object' ? p : new HashPartitioner(p ?? this.#sc.defaultParallelism);
    return new MapWithStateDStream<K, S, M>(new MapWithStateStepDStream<K, V, S, M>(this, spec, partitioner), 'mapWithState (mapped)');
  }

  /**
   * Event time: `eventTime(x)` is a record's time in ms, or a `Date` (from the record, not its arrival). The watermark is the
   * newest event time of the batches so far minus `delay`; each batch drops (and counts) records older than its
   * watermark. Windows by event time: `reduceByKeyAndEventWindow` on the returned stream.
   *
   * @example
   * ```ts
   * const events = lines.map((l) => JSON.parse(l) as { ts: number; user: string }).withWatermark((e) => e.ts, '10s');
   * ```
   */
  withWatermark(eventTime: (x: T) => number | Date, delay: Duration): EventTimeDStream<T> {
    if (typeof eventTime !== 'function')
      throw new ArgumentTypeError(`withWatermark expects an event-time function (x) => ms, got ${typeof eventTime}`);
    this.check(eventTime, 'withWatermark');
    // No delay at all is allowed (Spark's "0 seconds"): then any record older than the newest one seen is late.
    const delayMs = delay === 0 || delay === '0ms' || delay === '0s' ? 0 : parseDuration(delay, 'watermark delay');
    return new EventTimeDStream<T>(this, eventTime, delayMs);
  }

  // ---- output operations ------------------------------------------------------------------------------------

  /**
   * Runs `fn` on the driver with every batch's RDD, in order (at-least-once: a restarted batch runs it again; use
   * `time.id` or `time.ms` to make writes idempotent).
   *
   * @example
   * ```ts
   * counts.foreachRDD(async (rdd, time) => console.log(time.ms, await rdd.collect()));
   * ```
   */
  foreachRDD(fn: (rdd: RDD<T>, time: BatchTime) => void | Promise<void>): void {
    if (typeof fn !== 'function') throw new ArgumentTypeError(`foreachRDD expects a function, got ${typeof fn}`);
    this.graph.addOutput({
      name: `foreachRDD on ${this.label}`,
      stream: this,
      run: async (ms) => {
        const rdd = this.getOrCompute(ms);
        if (rdd !== undefined) await fn(rdd, this.graph.batchTime(ms));
      },
    });
  }

  /**
   * Prints the first `n` elements of every batch, as Spark does.
   *
   * @example
   * ```ts
   * counts.print(5);
   * ```
   */
  print(n = 10): void {
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`print: n must be a positive integer, got ${n}`);
    this.graph.addOutput({
      name: `print on ${this.label}`,
      stream: this,
      run: async (ms) => {
        const rdd = this.getOrCompute(ms);
        if (rdd === undefined) return;
        const first = await rdd.take(n + 1);
        const lines = ['-------------------------------------------', `Time: ${ms} ms`, '-------------------------------------------'];
        for (const x of first.slice(0, n)) lines.push(typeof x === 'string' ? x : JSON.stringify(x));
        if (first.length > n) lines.push('...');
        console.log(`${lines.join('\n')}\n`);
      },
    });
  }

  /**
   * Writes every batch to the folder `<prefix>-<batch ms>[.<suffix>]` (atomically, with `_SUCCESS`). Idempotent per
   * batch: a batch whose folder is already committed is not written again, so a replayed batch writes nothing twice.
   *
   * @example
   * ```ts
   * counts.saveAsTextFiles('out/counts', 'txt'); // out/counts-1764662400000.txt/part-00000, ...
   * ```
   */
  saveAsTextFiles(prefix: string, suffix?: string): void {
    this.#saveEach('saveAsTextFiles', prefix, suffix, (rdd, target) => rdd.saveAsTextFile(target, { overwrite: true }));
  }

  /**
   * Writes every batch as object files (`sc.objectFile` reads them back) to `<prefix>-<batch ms>[.<suffix>]`, as
   * Spark's `saveAsObjectFiles`; idempotent per batch like `saveAsTextFiles`.
   *
   * @example
   * ```ts
   * counts.saveAsObjectFiles('out/counts'); // later: sc.objectFile('out/counts-1764662400000')
   * ```
   */
  saveAsObjectFiles(prefix: string, suffix?: string): void {
    this.#saveEach('saveAsObjectFiles', prefix, suffix, (rdd, target) => rdd.saveAsObjectFile(target, { overwrite: true }));
  }

  #saveEach(op: string, prefix: string, suffix: string | undefined, save: (rdd: RDD<T>, target: string) => Promise<void>): void {
    if (typeof prefix !== 'string' || prefix === '') throw new ArgumentTypeError(`${op} expects a path prefix`);
    this.graph.addOutput({
      name: `${op} ${prefix}`,
      stream: this,
      run: async (ms) => {
        const rdd = this.getOrCompute(ms);
        if (rdd === undefined) return;
        // Spark's rddToFileName: <prefix>-<ms>, then .<suffix> when there is one.
        const target = `${prefix}-${ms}${suffix ? `.${suffix}` : ''}`;
        if (existsSync(path.join(target, '_SUCCESS'))) return;
        await save(rdd, target);
      },
    });
  }

  /**
   * Appends every batch to the Redis stream `key`, one entry per record with the fields `encode` returns (run on
   * the driver), ids `<batch ms>-<index>`. Idempotent per batch: a batch already written is skipped, so a replayed
   * batch writes nothing twice. One writer per output stream.
   *
   * @example
   * ```ts
   * counts.toRedis({ key: 'word-counts', encode: ([w, n]) => ({ word: w, count: String(n) }) });
   * ```
   */
  toRedis(options: RedisSinkOptions<T>): void {
    addRedisSink(this, options);
  }

  /**
   * Every batch's elements as an async iterable of `{ time, records }`, ending when the streaming context stops.
   * At most `highWaterMark` batches wait for the reader; past that the next batch waits, so a slow reader slows
   * the stream instead of filling memory. Call before `start()`.
   *
   * @example
   * ```ts
   * for await (const { time, records } of counts.batches()) console.log(time.id, records);
   * ```
   */
  batches(options: { highWaterMark?: number; signal?: AbortSignal } = {}): AsyncIterable<{ time: BatchTime; records: T[] }> {
    const hwm = options.highWaterMark ?? 8;
    if (!Number.isInteger(hwm) || hwm <= 0) throw new InvalidArgumentError(`batches: highWaterMark must be a positive integer, got ${hwm}`);
    const queue: { time: BatchTime; records: T[] }[] = [];
    let closed = false;
    let detached = false;
    let stopping = false;
    let wakeReader: (() => void) | undefined;
    let wakeWriter: (() => void) | undefined;
    const wake = () => {
      wakeReader?.();
      wakeReader = undefined;
    };
    const detach = () => {
      detached = true;
      queue.length = 0;
      wakeWriter?.();
      wakeWriter = undefined;
      wake();
    };
    options.signal?.addEventListener('abort', detach, { once: true });
    this.graph.addOutput({
      name: `batches on ${this.label}`,
      stream: this,
      run: async (ms) => {
        if (detached) return;
        while (queue.length >= hwm && !detached && !stopping) await new Promise<void>((r) => (wakeWriter = r));
        if (detached) return;
        const rdd = this.getOrCompute(ms);
        const records = rdd === undefined ? [] : await rdd.collect();
        queue.push({ time: this.graph.batchTime(ms), records });
        wake();
      },
      close: () => {
        closed = true;
        wake();
      },
      // A reader that calls `await ssc.stop()` in its loop no longer reads: a batch waiting for room waited for it
      // while the stop waited for that batch. Once stopping, the batches left (the running one, or all of a graceful
      // stop's) are queued past the high-water mark for the reader to take after the stop.
      stopping: () => {
        stopping = true;
        wakeWriter?.();
        wakeWriter = undefined;
      },
    });
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<{ time: BatchTime; records: T[] }>> => {
          for (;;) {
            if (detached) return { done: true, value: undefined };
            const item = queue.shift();
            if (item !== undefined) {
              wakeWriter?.();
              wakeWriter = undefined;
              return { done: false, value: item };
            }
            if (closed) return { done: true, value: undefined };
            await new Promise<void>((r) => (wakeReader = r));
          }
        },
        return: async (): Promise<IteratorResult<{ time: BatchTime; records: T[] }>> => {
          detach();
          return { done: true, value: undefined };
        },
      }),
    };
  }
}

/** @internal What a transform function returned, refused unless an RDD. */
export function returnedRdd<U>(out: unknown, what: string, ms: number): RDD<U> {
  // An undefined was taken for "no RDD at this time": the batch's outputs were skipped without a word. Spark
  // fails the batch ("Transform function must not return null"); anything else reached the outputs as if it
  // were an RDD and failed there ("rdd.count is not a function").
  if (!(out instanceof RDD)) {
    throw new InvalidArgumentError(
      `${what} returned ${out === undefined ? 'undefined' : describeValue(out)} for the batch at ${ms} ms, not an RDD; ` +
        'return sc.emptyRDD() for a batch without elements',
    );
  }
  return out as RDD<U>;
}

/** A batch time given as ms, a `BatchTime` or a `Date`, in ms. */
function timeMs(t: number | Date | BatchTime, op: string): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'object' && t !== null ? (t as BatchTime).ms : t;
  if (typeof ms !== 'number' || !Number.isFinite(ms))
    throw new ArgumentTypeError(`${op}: expects a time in ms, a BatchTime or a Date, got ${describeValue(t)}`);
  return ms;
}

/**
 * The window options of `reduceByWindow` / `reduceByKeyAndWindow` from Spark's positional forms: an options object;
 * `(window, slide?, partitions?)`; or `(inverse | null, window, slide?, partitions?, filter?)`. `max` is how many
 * arguments may follow the inverse: 4, or 2 for reduceByWindow (no partitions or filter, so nothing past the slide).
 */
function windowArgs<V>(op: string, first: unknown, rest: unknown[], max: number): WindowSpec<V> {
  const given = (x: unknown) => x !== undefined && x !== null;
  if (typeof first === 'function' || (!given(first) && rest.length > 0)) {
    if (rest.length > max)
      throw new InvalidArgumentError(`${op}: too many arguments (inverse, window, slide${max > 2 ? ', partitions, filter' : ''})`);
    const [window, slide, partitions, filter] = rest;
    if (given(filter) && typeof filter !== 'function') throw new ArgumentTypeError(`${op}: filter must be a function, got ${describeValue(filter)}`);
    return {
      window: window as Duration,
      ...(given(slide) && { slide: slide as Duration }),
      ...(given(partitions) && { partitions: partitions as number }),
      ...(typeof first === 'function' && { inverse: first as (a: V, b: V) => V }),
      ...(given(filter) && { filter: filter as (kv: [unknown, V]) => boolean }),
    };
  }
  if (typeof first === 'number' || typeof first === 'string') {
    if (rest.length > max / 2) throw new InvalidArgumentError(`${op}: too many arguments (window, slide${max > 2 ? ', partitions' : ''})`);
    const [slide, partitions] = rest;
    return {
      window: first as Duration,
      ...(given(slide) && { slide: slide as Duration }),
      ...(given(partitions) && { partitions: partitions as number }),
    };
  }
  if (typeof first !== 'object' || first === null || rest.length > 0)
    throw new ArgumentTypeError(`${op} expects options { window, slide?, inverse?${max > 2 ? ', filter?' : ''} }`);
  return first as WindowSpec<V>;
}

function countPartition(it: Iterable<unknown>): number[] {
  let n = 0;
  for (const _ of it) n++;
  return [n];
}

function sumPartition(it: Iterable<number>): number[] {
  let s = 0;
  for (const x of it) s += x;
  return [s];
}

/** @internal A stream computed from its parents' RDDs of the same time by a driver-side function. */
export class TransformedDStream<T> extends DStream<T> {
  readonly #fn: (rdds: RDD<unknown>[], ms: number) => RDD<T>;
  constructor(graph: StreamGraph, parents: readonly StreamNode[], slideMs: number, label: string, fn: (rdds: RDD<unknown>[], ms: number) => RDD<T>) {
    super(graph, parents, slideMs, label);
    this.#fn = fn;
  }
  protected compute(ms: number): RDD<T> | undefined {
    const rdds = this.parents.map((p) => p.getOrCompute(ms) ?? this.graph.sc.emptyRDD());
    return this.#fn(rdds, ms);
  }
}

/** @internal Every `slide`, the union of the parent's RDDs in (t - window, t]. */
export class WindowedDStream<T> extends DStream<T> {
  readonly #parent: DStream<T>;
  readonly windowMs: number;
  constructor(parent: DStream<T>, windowMs: number, slideMs: number) {
    super(parent.graph, [parent], slideMs, `window(${windowMs}, ${slideMs})`);
    this.#parent = parent;
    this.windowMs = windowMs;
  }
  protected override parentRememberMs(): number {
    return this.rememberMs + this.windowMs;
  }
  protected compute(ms: number): RDD<T> {
    const rdds = this.#parent.sliceBetween(ms - this.windowMs, ms);
    return rdds.length === 0 ? this.graph.sc.emptyRDD() : this.graph.sc.union(rdds);
  }
}

/**
 * @internal Spark's ReducedWindowedDStream: window(t) = previous window, minus (inverse) the reduced batches that
 * left, plus the reduced batches that entered; one shuffle over the previous window and the changed batches.
 */
export class ReducedWindowedDStream<K, V> extends DStream<[K, V]> {
  override readonly mustCheckpoint = true;
  readonly #reduced: DStream<[K, V]>;
  readonly windowMs: number;
  readonly #merge: (kv: [K, [number, V][]]) => [K, V][];
  readonly #partitioner: Partitioner;

  constructor(
    reduced: DStream<[K, V]>,
    windowMs: number,
    slideMs: number,
    fn: (a: V, b: V) => V,
    inverse: (a: V, b: V) => V,
    filter: ((kv: [unknown, V]) => boolean) | undefined,
    partitioner: Partitioner,
  ) {
    super(reduced.graph, [reduced], slideMs, `reduceByKeyAndWindow(${windowMs}, ${slideMs})`);
    // Each window is read by its outputs and by the next window (Spark persists these too).
    this.persist();
    this.#reduced = reduced;
    this.windowMs = windowMs;
    this.#partitioner = partitioner;
    const keep = filter ?? (() => true);
    // Tags: 0 the previous window's value, 1 a batch that left, 2 a batch that entered.
    this.#merge = capture({ fn, inverse, keep }, ([k, tagged]: [K, [number, V][]]): [K, V][] => {
      let prev: V | undefined;
      let hasPrev = false;
      let olds: V | undefined;
      let hasOld = false;
      let news: V | undefined;
      let hasNew = false;
      for (const [tag, v] of tagged) {
        if (tag === 0) {
          prev = v;
          hasPrev = true;
        } else if (tag === 1) {
          olds = hasOld ? fn(olds as V, v) : v;
          hasOld = true;
        } else {
          news = hasNew ? fn(news as V, v) : v;
          hasNew = true;
        }
      }
      let value: V;
      if (hasPrev) {
        value = prev as V;
        if (hasOld) value = inverse(value, olds as V);
        if (hasNew) value = fn(value, news as V);
      } else if (hasNew) {
        // A key the filter removed had nothing left in the window, so nothing of it can be leaving either.
        value = news as V;
      } else return [];
      return keep([k, value]) ? [[k, value]] : [];
    });
    this.check(this.#merge, 'reduceByKeyAndWindow');
  }

  protected override parentRememberMs(): number {
    return this.rememberMs + this.windowMs;
  }

  protected compute(ms: number): RDD<[K, V]> {
    const sc = this.graph.sc;
    const s = this.slideMs;
    const w = this.windowMs;
    // The previous window is used only when this run computed it; after a restart the first window is reduced
    // from scratch over its batches, whose input the StreamingContext put back from the offsets log.
    // A window shorter than its slide shares no batch with the previous one: batches between the two windows would
    // be "leaving" without ever having entered (Spark's slices count them in both, keeping a key seen only there).
    const prev = w >= s && ms - s >= (this.graph.runStartMs ?? 0) ? this.getOrCompute(ms - s) : undefined;
    const parts: RDD<[K, [number, V]]>[] = [];
    if (prev !== undefined) parts.push(prev.mapValues((v): [number, V] => [0, v]));
    // Without a previous window (the first one), every batch of the window is new and none leaves.
    if (prev !== undefined) for (const r of this.#reduced.sliceBetween(ms - w - s, ms - w)) parts.push(r.mapValues((v): [number, V] => [1, v]));
    for (const r of this.#reduced.sliceBetween(prev === undefined ? ms - w : ms - s, ms)) parts.push(r.mapValues((v): [number, V] => [2, v]));
    if (parts.length === 0) return sc.emptyRDD();
    return sc.union(parts).groupByKey(this.#partitioner).flatMap(this.#merge);
  }
}

/**
 * @internal A stream whose RDD at t is computed from its own RDD of the previous batch (state streams). After a
 * restart its chain resumes from a restored RDD (or from its initial state) instead of the batch before.
 */
export abstract class StatefulDStream<T> extends DStream<T> {
  override readonly mustCheckpoint = true;
  /**
   * A window over the state keeps one more checkpoint interval: after a restart, its earliest state chains from a
   * checkpoint at or before the window's start, whose files are then still on disk.
   */
  protected override readonly keepsCheckpointBeforeWindow = true;
  /**
   * The last time this stream computed: the previous state. Normally ms - slide; after a restart, the restored
   * checkpoint's time, so the time the driver was down is skipped instead of chained through batch by batch.
   */
  #lastMs: number | undefined;
  /** How far back the streams reading this one reach (a window's length), from initialize(). */
  #readMs = 0;
  /**
   * Checkpoints of earlier runs this run restored, oldest first: until this run's own checkpoints replace them,
   * every commit records them again (a restart right after this one still finds them), then their files go.
   */
  #restored: StateCheckpoint[] = [];

  /** @internal The RDD of time `ms` from the previous one (undefined before the first batch). */
  protected abstract next(prev: RDD<T> | undefined, ms: number): RDD<T>;

  override initialize(minRememberMs: number): void {
    this.#readMs = Math.max(this.#readMs, minRememberMs);
    super.initialize(minRememberMs);
  }

  /**
   * @internal The oldest state time a reader asks for in the batch after `ms` (a window of length W at ms + slide
   * reads the states after ms + slide - W): the state a restart after `ms` must give back, not only the newest.
   */
  oldestReadMs(ms: number): number {
    return ms + 2 * this.slideMs - Math.max(this.#readMs, this.slideMs);
  }

  /** @internal No checkpoint of an earlier run: the state chains from the initial state at the zero time. */
  restoreInitial(zeroMs: number): void {
    this.#lastMs = zeroMs;
  }

  /**
   * @internal Checkpoints of an earlier run (oldest first, the newest last), read back by `read`, as the states at
   * their times: the state goes on from the newest, and a window reaching before it reads the older ones.
   */
  restoreFrom(checkpoints: readonly StateCheckpoint[], read: (c: StateCheckpoint) => RDD<T>): void {
    for (const c of checkpoints) this.seed(c.ms, read(c));
    this.#restored = [...checkpoints];
    this.#lastMs = checkpoints.at(-1)?.ms;
  }

  /**
   * @internal What the commit of batch `ms` records: the checkpoints a restart after it needs (restored ones and
   * this run's, oldest first), and the time the offsets log must keep batches from (the oldest of them, or the zero
   * time when the oldest state read chains from the initial state).
   */
  checkpointsAt(ms: number): { checkpoints: StateCheckpoint[]; keepFromMs: number } {
    const dir = this.graph.sc.checkpointDir;
    const written = this.writtenCheckpoints.flatMap(({ ms: t, rdd }): StateCheckpoint[] =>
      dir === undefined ? [] : [{ ms: t, dir: path.join(dir, `rdd-${rdd.id}`), partitions: rdd.getNumPartitions() }],
    );
    const mine = new Set(written.map((c) => c.ms));
    const all = [...this.#restored.filter((c) => !mine.has(c.ms)), ...written].sort((a, b) => a.ms - b.ms);
    const { base, needed } = stateCheckpointsNeeded(all, this.oldestReadMs(ms));
    return { checkpoints: needed, keepFromMs: base?.ms ?? this.graph.zeroMs ?? 0 };
  }

  /** @internal After a commit that no longer records them: the files of restored checkpoints before `ms` go. */
  dropRestoredBefore(ms: number): void {
    for (const c of this.#restored.filter((r) => r.ms < ms)) rm(c.dir, { recursive: true, force: true }).catch(() => undefined);
    this.#restored = this.#restored.filter((r) => r.ms >= ms);
  }

  /** @internal After a restore: the state at `ms`, a committed batch of the earlier run, if it is past the restored one. */
  chainTo(ms: number): void {
    if (this.#lastMs !== undefined && ms > this.#lastMs) this.getOrCompute(ms);
  }

  protected compute(ms: number): RDD<T> | undefined {
    // A time no batch ran at (the driver was down; kindling does not run those times) has no state. Computing one
    // (a window over the state asks) would call the update function for a batch that never was, and the next
    // state would chain from it.
    if (!this.graph.hadBatch(ms)) return undefined;
    let prevMs = this.#lastMs !== undefined && this.#lastMs < ms ? this.#lastMs : ms - this.slideMs;
    while (prevMs > (this.graph.zeroMs ?? 0) && !this.graph.hadBatch(prevMs)) prevMs -= this.slideMs;
    this.#lastMs = Math.max(this.#lastMs ?? ms, ms);
    return this.next(this.getOrCompute(prevMs), ms);
  }
}

/** @internal Spark's StateDStream: state(t) = cogroup(state(t - slide), batch(t)) through the update function. */
export class StateDStream<K, V, S> extends StatefulDStream<[K, S]> {
  readonly #parent: DStream<[K, V]>;
  readonly #update: (kv: [K, [S[], V[]]]) => [K, S][];
  readonly #partitioner: Partitioner;
  readonly #initial: RDD<[K, S]> | undefined;

  constructor(
    parent: DStream<[K, V]>,
    fn: (values: V[], state: S | undefined) => S | undefined,
    partitioner: Partitioner,
    initial: RDD<[K, S]> | undefined,
  ) {
    super(parent.graph, [parent], parent.slideMs, 'updateStateByKey');
    this.#parent = parent;
    this.#partitioner = partitioner;
    this.#initial = initial;
    // Each state is read twice: by this batch's outputs and by the next batch (Spark persists state streams too).
    this.persist();
    this.#update = capture({ fn }, ([k, [states, values]]: [K, [S[], V[]]]): [K, S][] => {
      const next = fn(values, states.length > 0 ? states[0] : undefined);
      return next === undefined ? [] : [[k, next]];
    });
    this.check(this.#update, 'updateStateByKey');
  }

  protected next(prev: RDD<[K, S]> | undefined, ms: number): RDD<[K, S]> {
    const sc = this.graph.sc;
    const batch = this.#parent.getOrCompute(ms) ?? sc.emptyRDD<[K, V]>();
    return (prev ?? this.#initial ?? sc.emptyRDD<[K, S]>()).cogroup(batch, this.#partitioner).flatMap(this.#update);
  }
}

/**
 * @internal Spark's InternalMapWithStateDStream: every batch, one RDD holding the keys' states and the mapped
 * values (tagged), partitioned like the state so the next batch's cogroup reads the state without a shuffle.
 */
export class MapWithStateStepDStream<K, V, S, M> extends StatefulDStream<Tagged<K, S, M>> {
  readonly #parent: DStream<[K, V]>;
  readonly #spec: StateSpec<K, V, S, M>;
  readonly #partitioner: Partitioner;

  constructor(parent: DStream<[K, V]>, spec: StateSpec<K, V, S, M>, partitioner: Partitioner) {
    super(parent.graph, [parent], parent.slideMs, 'mapWithState');
    this.#parent = parent;
    this.#spec = spec;
    this.#partitioner = partitioner;
    // Spark's default for mapWithState: a checkpoint every 10 batches.
    this.checkpointMs = 10 * this.slideMs;
    // Read three times a batch (mapped values, snapshots, the next batch's state).
    this.persist();
    this.check(batchStep(spec.fn, spec.timeoutMs, 0), 'mapWithState');
  }

  protected next(prev: RDD<Tagged<K, S, M>> | undefined, ms: number): RDD<Tagged<K, S, M>> {
    const sc = this.graph.sc;
    const state: RDD<[K, [S, number]]> =
      prev !== undefined
        ? prev.mapPartitions(stateOf as (it: Iterable<Tagged<K, S, M>>) => Iterable<[K, [S, number]]>, true)
        : (this.#spec.initial?.mapValues(capture({ ms }, (s: S): [S, number] => [s, ms])) ?? sc.emptyRDD<[K, [S, number]]>());
    const batch = this.#parent.getOrCompute(ms) ?? sc.emptyRDD<[K, V]>();
    return state.cogroup(batch, this.#partitioner).mapPartitions(batchStep(this.#spec.fn, this.#spec.timeoutMs, ms), true);
  }
}

/** @internal The output part of a stateful step's RDDs (the part that is not the state). */
export class StepOutputDStream<E, M> extends DStream<M> {
  /** @internal */
  readonly step: DStream<TaggedOut<E, M>>;

  /** @internal */
  constructor(step: DStream<TaggedOut<E, M>>, label: string) {
    super(step.graph, [step], step.slideMs, label);
    this.step = step;
  }

  protected compute(ms: number): RDD<M> | undefined {
    return this.step.getOrCompute(ms)?.mapPartitions(mappedOf as (it: Iterable<TaggedOut<E, M>>) => Iterable<M>);
  }

  /** Checkpoints the state (its RDDs chain batch to batch), not this stream. @example `running.checkpoint('5s')` */
  override checkpoint(interval: Duration): this {
    this.step.checkpoint(interval);
    return this;
  }
}

/**
 * The stream `mapWithState` returns: the values the mapping function returned, every batch; `stateSnapshots()`
 * gives every key's state.
 *
 * @example
 * ```ts
 * const running = pairs.mapWithState(StateSpec.function((k: string, v: number | undefined, s: State<number>) => {
 *   s.update((s.getOption() ?? 0) + (v ?? 0));
 *   return [k, s.get()] as [string, number];
 * }));
 * running.stateSnapshots().print();
 * ```
 */
export class MapWithStateDStream<K, S, M> extends StepOutputDStream<[K, [S, number]], M> {
  /** Every key's state after each batch, as [key, state] pairs. @example `running.stateSnapshots().print()` */
  stateSnapshots(): DStream<[K, S]> {
    return this.step.derive('stateSnapshots', (rdd) => rdd.mapPartitions(snapshotOf as (it: Iterable<Tagged<K, S, M>>) => Iterable<[K, S]>, true));
  }
}

/**
 * A stream with event time (from `withWatermark`): each batch keeps the records at or after the watermark, the
 * newest event time seen in earlier batches minus the allowed delay; older ones are dropped and counted
 * (`lateRecords`, and a `watermarkAdvanced` event per batch). Its windows are by event time.
 *
 * @example
 * ```ts
 * const clicks = ssc.redisStream({ key: 'clicks' }).withWatermark((e) => Number(e.fields.ts), '10s');
 * clicks.reduceByKeyAndEventWindow((e) => [e.fields.page!, 1], (a, b) => a + b, { window: '1m', slide: '10s' }).print();
 * ```
 */
export class EventTimeDStream<T> extends DStream<T> {
  readonly #parent: DStream<T>;
  /** @internal */
  readonly eventTime: (x: T) => number | Date;
  readonly delayMs: number;
  /** Newest event time seen so far (records of completed batches). */
  #maxEventMs = Number.NEGATIVE_INFINITY;
  /** The watermark each batch time used, fixed when its RDD was first computed. */
  readonly #at = new Map<number, number>();
  #late = 0;
  /**
   * Each partition's newest event time and late count, measured by the tasks that filter it (in the batch's own
   * jobs), keyed `ms/partition`. A partition computed twice reports the same values, so merging overwrites.
   */
  readonly #stats: CustomAccumulator<Map<string, [number, number]>, PartitionEventStats>;

  /** @internal */
  constructor(parent: DStream<T>, eventTime: (x: T) => number | Date, delayMs: number) {
    super(parent.graph, [parent], parent.slideMs, `withWatermark(${delayMs})`);
    this.#parent = parent;
    this.eventTime = eventTime;
    this.delayMs = delayMs;
    this.#stats = this.graph.sc.customAccumulator(
      {
        zero: () => new Map<string, [number, number]>(),
        add: (m: Map<string, [number, number]>, [ms, p, max, late]: PartitionEventStats) => m.set(`${ms}/${p}`, [max, late]),
        merge: (a, b) => {
          for (const [k, v] of b) a.set(k, v);
          return a;
        },
      },
      `event time of ${parent.label}`,
    );
    // After each batch's outputs: its newest event time (for the next batches' watermark) and its late records.
    this.graph.addOutput({ name: `watermark of ${parent.label}`, stream: this, last: true, run: (ms) => this.#measure(ms) });
  }

  /** The watermark the next batch uses (-Infinity before any record). */
  get watermarkMs(): number {
    return this.#maxEventMs - this.delayMs;
  }

  /** Records dropped as late (older than the watermark of their batch) so far. */
  get lateRecords(): number {
    return this.#late;
  }

  /** @internal The watermark of batch `ms`: fixed by the batches before it. */
  watermarkAt(ms: number): number {
    let w = this.#at.get(ms);
    if (w === undefined) this.#at.set(ms, (w = this.watermarkMs));
    return w;
  }

  /** @internal What a commit records, and what a restart puts back: the watermark used at `ms`, the newest event time after it. */
  checkpointState(ms: number): { used: number; maxEventMs: number } {
    return { used: this.watermarkAt(ms), maxEventMs: this.#maxEventMs };
  }

  /** @internal */
  restoreWatermark(usedAt: ReadonlyMap<number, number | null>, maxEventMs: number | null): void {
    // JSON writes -Infinity (no record yet) as null.
    const read = (x: number | null) => (typeof x === 'number' && Number.isFinite(x) ? x : Number.NEGATIVE_INFINITY);
    for (const [ms, w] of usedAt) this.#at.set(ms, read(w));
    this.#maxEventMs = read(maxEventMs);
  }

  protected compute(ms: number): RDD<T> | undefined {
    const w = this.watermarkAt(ms);
    return this.#parent.getOrCompute(ms)?.mapPartitionsWithIndex(dropLateMeasured(this.eventTime, w, ms, this.#stats), true);
  }

  /**
   * The batch's newest event time and late records, as its jobs measured them while filtering; partitions no job
   * read whole (no output read this stream, or only `take`) are read by one small job here, as before.
   */
  async #measure(ms: number): Promise<void> {
    const rdd = this.#parent.getOrCompute(ms);
    const w = this.watermarkAt(ms);
    const seen = this.#stats.value;
    let late = 0;
    if (rdd !== undefined) {
      const n = rdd.getNumPartitions();
      const stats: [number, number][] = [];
      for (let p = 0; p < n; p++) {
        const s = seen.get(`${ms}/${p}`);
        if (s === undefined) break;
        stats.push(s);
      }
      const measured = stats.length === n ? stats : await rdd.mapPartitions(batchEventStats(this.eventTime, w)).collect();
      for (const [max, count] of measured) {
        if (max > this.#maxEventMs) this.#maxEventMs = max;
        late += count;
      }
    }
    // This batch's entries, and any of batches that failed before their measure.
    for (const k of seen.keys()) if (Number(k.slice(0, k.indexOf('/'))) <= ms) seen.delete(k);
    this.#late += late;
    for (const t of this.#at.keys()) if (t < ms - this.rememberMs) this.#at.delete(t);
    this.graph.sc.events.emit({
      type: 'watermarkAdvanced',
      stream: this.label,
      batch: this.graph.batchTime(ms),
      watermarkMs: w,
      nextWatermarkMs: this.watermarkMs,
      lateRecords: late,
      time: Date.now(),
    });
  }

  /**
   * Every record `toPair(x)` into each event-time window `[start, start + window)` holding its event time (starts
   * are multiples of `slide` from 0), values of a key and window reduced with `fn` across batches. In `append`
   * mode (default) a window is emitted once, at the first batch whose watermark passed its end, then forgotten;
   * in `update` mode every batch emits the windows it changed. Late records never reach a window, and state
   * stays bounded: windows are forgotten once the watermark passes their end. Checkpointed like other state.
   *
   * @example
   * ```ts
   * events.withWatermark((e) => e.ts, '5s')
   *   .reduceByKeyAndEventWindow((e) => [e.user, 1], (a, b) => a + b, { window: '1m', slide: '30s' })
   *   .foreachRDD(async (rdd) => console.log(await rdd.collect())); // { start, end, key, value }
   * ```
   */
  reduceByKeyAndEventWindow<K, V>(
    toPair: (x: T) => [K, V],
    fn: (a: V, b: V) => V,
    spec: { window: Duration; slide?: Duration; outputMode?: OutputMode; partitions?: number },
  ): DStream<EventWindow<K, V>> {
    if (typeof spec !== 'object' || spec === null)
      throw new ArgumentTypeError('reduceByKeyAndEventWindow expects options { window, slide?, outputMode? }');
    const windowMs = parseDuration(spec.window, 'window');
    const slideMs = spec.slide === undefined ? windowMs : parseDuration(spec.slide, 'slide');
    if (windowMs % slideMs !== 0)
      throw new InvalidArgumentError(`reduceByKeyAndEventWindow: window (${windowMs} ms) must be a multiple of slide (${slideMs} ms)`);
    const mode = spec.outputMode ?? 'append';
    if (mode !== 'append' && mode !== 'update')
      throw new InvalidArgumentError(`reduceByKeyAndEventWindow: outputMode must be 'append' or 'update', got '${String(mode)}'`);
    this.check(toPair, 'reduceByKeyAndEventWindow');
    this.check(fn, 'reduceByKeyAndEventWindow');
    const partitioner = new HashPartitioner(spec.partitions ?? this.graph.sc.defaultParallelism);
    const step = new EventWindowDStream<T, K, V>(this, toPair, fn, windowMs, slideMs, mode, partitioner);
    return new StepOutputDStream(step, `reduceByKeyAndEventWindow(${windowMs}, ${slideMs})`);
  }
}

/** @internal The state of the open event-time windows, batch to batch, and the windows each batch emits. */
export class EventWindowDStream<T, K, V> extends StatefulDStream<TaggedOut<WindowState<K, V>, EventWindow<K, V>>> {
  readonly #events: EventTimeDStream<T>;
  readonly #assign: (x: T) => Iterable<[[K, number], V]>;
  readonly #fn: (a: V, b: V) => V;
  readonly #windowMs: number;
  readonly #mode: OutputMode;
  readonly #partitioner: Partitioner;

  constructor(
    events: EventTimeDStream<T>,
    toPair: (x: T) => [K, V],
    fn: (a: V, b: V) => V,
    windowMs: number,
    slideMs: number,
    mode: OutputMode,
    partitioner: Partitioner,
  ) {
    super(events.graph, [events], events.slideMs, 'reduceByKeyAndEventWindow');
    this.#events = events;
    this.#assign = assignWindows(events.eventTime, toPair, windowMs, slideMs);
    this.#fn = fn;
    this.#windowMs = windowMs;
    this.#mode = mode;
    this.#partitioner = partitioner;
    this.persist();
  }

  protected next(
    prev: RDD<TaggedOut<WindowState<K, V>, EventWindow<K, V>>> | undefined,
    ms: number,
  ): RDD<TaggedOut<WindowState<K, V>, EventWindow<K, V>>> {
    const sc = this.graph.sc;
    const state: RDD<WindowState<K, V>> =
      prev === undefined
        ? sc.emptyRDD<WindowState<K, V>>()
        : prev.mapPartitions(stateOf as (it: Iterable<TaggedOut<WindowState<K, V>, unknown>>) => Iterable<WindowState<K, V>>, true);
    const batch = this.#events.getOrCompute(ms) ?? sc.emptyRDD<T>();
    const added = (batch.flatMap(this.#assign) as RDD<WindowState<K, V>>).reduceByKey(this.#fn, this.#partitioner);
    const w = this.#events.watermarkAt(ms);
    return state.cogroup(added, this.#partitioner).mapPartitions(windowStep<K, V>(this.#fn, this.#windowMs, w, this.#mode), true);
  }
}

/** @internal A stream fed by a source: the generator stores each batch's records, compute turns them into an RDD. */
export class InputDStream<T> extends DStream<T> {
  readonly #pending = new Map<number, T[] | RDD<T>>();
  constructor(graph: StreamGraph, label: string) {
    super(graph, [], graph.batchMs, label);
  }
  /** @internal */
  put(ms: number, records: T[] | RDD<T>): void {
    this.#pending.set(ms, records);
  }
  protected compute(ms: number): RDD<T> {
    const sc = this.graph.sc;
    const data = this.#pending.get(ms);
    this.#pending.delete(ms);
    if (data === undefined) return sc.emptyRDD();
    if (!Array.isArray(data)) return data;
    return data.length === 0 ? sc.emptyRDD() : sc.parallelize(data, Math.min(sc.defaultParallelism, data.length));
  }
  protected override forgetTime(ms: number): void {
    this.#pending.delete(ms);
  }
  /** @internal Data of times never computed is dropped with them. */
  dropBefore(ms: number): void {
    for (const t of this.#pending.keys()) if (t <= ms) this.#pending.delete(t);
  }
}
