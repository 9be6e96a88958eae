import type { RddWireBody } from './wire.js';
import { oneToOne, type Dependency } from './dependency.js';
import type { Partitioner } from '../core/partitioner.js';
import { NotAPairError, isPair } from '../core/errors.js';
import { grouping } from '../shuffle/combine.js';
import { KeyIndex } from '../shuffle/key-index.js';
import { joinColumns } from '../shuffle/column-join.js';
import { arrayOfLength } from '../util/arrays.js';
import { joinColumnsWithPairs } from '../shuffle/column-pairs-join.js';
import { eachCached, pairColumns, type CachedPartition, type PairColumns } from '../storage/columnar-block.js';
import type { TaskContext, Pair } from './task-context.js';
import type { RddContext } from './rdd-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';
import { INTERRUPT_MASK, checkInterrupted } from '../core/task-interrupt.js';

/** Where one input of a cogroup comes from inside a task. */
export type CoGroupSource =
  | { readonly type: 'narrow'; readonly rdd: RDD<Pair> }
  | { readonly type: 'shuffle'; readonly shuffleId: number; readonly rdd?: RDD<Pair> };

/**
 * cogroup and the joins built on it: for every key, the arrays of its values in each input. An input already
 * partitioned by the same partitioner is read through a narrow dependency (no shuffle: the co-partitioned join).
 */
export class CoGroupedRDD<K> extends RDD<[K, unknown[][]]> {
  readonly kind = 'CoGroupedRDD';
  readonly sources: readonly CoGroupSource[];
  readonly #numPartitions: number;

  constructor(
    context: RddContext,
    inputs: readonly RDD<Pair>[] | readonly CoGroupSource[],
    partitioner: Partitioner | undefined,
    options: RddOptions & { numPartitions?: number } = {},
  ) {
    super(context, { op: 'cogroup', ...options });
    this.partitioner = partitioner;
    this.#numPartitions = options.numPartitions ?? partitioner!.numPartitions;
    this.sources = inputs.map((input): CoGroupSource => {
      if (!(input instanceof RDD)) return input;
      return partitioner !== undefined && input.partitioner?.equals(partitioner)
        ? { type: 'narrow', rdd: input }
        : { type: 'shuffle', shuffleId: context.newShuffleId(this), rdd: input };
    });
  }

  getNumPartitions(): number {
    return this.#numPartitions;
  }
  override prepare(): Promise<void> {
    // A sort's partitioner given before its job (a.join(b, sorted.partitioner)) places the shuffled inputs' keys.
    return this.partitioner?.settle?.() ?? Promise.resolve();
  }
  protected getDependencies(): readonly Dependency[] {
    return this.sources.map(
      (s): Dependency =>
        s.type === 'narrow'
          ? oneToOne(s.rdd)
          : {
              type: 'shuffle',
              rdd: driverSide(s.rdd, this.label),
              shuffleId: s.shuffleId,
              partitioner: this.partitioner!,
              aggregator: undefined,
              mapSideCombine: false,
              keyOrdering: undefined,
              childId: this.id,
              childLabel: this.label,
            },
    );
  }
  protected override wireParents(): readonly RDD<unknown>[] {
    return this.sources.flatMap((s) => (s.type === 'narrow' ? [s.rdd] : []));
  }
  protected wireBody(): RddWireBody {
    return {
      kind: 'CoGroupedRDD',
      args: {
        numPartitions: this.#numPartitions,
        sources: this.sources.map((s) => (s.type === 'narrow' ? { type: 'narrow', rddId: s.rdd.id } : { type: 'shuffle', shuffleId: s.shuffleId })),
      },
    };
  }

  compute(p: number, tc: TaskContext): Iterable<[K, unknown[][]]> {
    const out: [K, unknown[][]][] = [];
    this.pushCompute(p, tc, (x) => out.push(x));
    return out;
  }

  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<[K, unknown[][]]>): void {
    const n = this.sources.length;
    // A cogroup is a combine whose combiner is the array of value lists: each group comes out as
    // [first-seen key, lists], in first-seen order.
    let i = 0;
    const groups = grouping(
      (v) => {
        let lists: unknown[][];
        if (n === 2) lists = [[], []];
        else {
          lists = new Array<unknown[]>(n);
          for (let j = 0; j < n; j++) lists[j] = [];
        }
        lists[i]!.push(v);
        return lists;
      },
      (lists, v) => {
        (lists as unknown[][])[i]!.push(v);
        return lists;
      },
    );
    for (; i < n; i++) this.#read(i, p, tc, groups.add);
    groups.each(sink as (kv: Pair) => void);
  }

  /**
   * Pushes each record of input `i` (checked to be a pair when read here, from a co-partitioned input); `cached`
   * is that input's cached partition when the caller already read it from the cache.
   */
  #read(i: number, p: number, tc: TaskContext, each: (kv: Pair) => void, cached?: CachedPartition): void {
    const s = this.sources[i]!;
    if (s.type === 'narrow') {
      // A co-partitioned input is read here directly, so its records are checked here (a shuffled one was
      // checked by the map side's writer).
      const from = s.rdd;
      const checked = (kv: unknown): void => {
        if (!isPair(kv)) throw new NotAPairError(this.label, from.label, kv);
        each(kv as Pair);
      };
      if (cached !== undefined) eachCached(cached, checked);
      else from.forEach(p, tc, checked);
    } else {
      for (const bucket of tc.shuffleInput(s.shuffleId, p)) for (let j = 0; j < bucket.length; j++) each(bucket[j]!);
    }
  }

  /**
   * The inner join of a two-input cogroup, `[k, [v, w]]` for every pair of values of a key in both inputs, pushed
   * in exactly the order that flattening the cogroup gives (keys in first-seen order, first input's values
   * outer, second's inner), without building the cogroup: no `[k, [vs, ws]]` and two lists per key, which were
   * most of the garbage of PageRank's join. Values are kept by key index, the first one of each side in a column
   * and any further ones in a list of their own (a key seen once per side, the usual case, costs no list).
   * With `valuesOnly` (the join's `values()`), each `[v, w]` goes there instead, with no pair with its key built.
   */
  pushInnerJoin(p: number, tc: TaskContext, sink: Sink<[unknown, [unknown, unknown]]>, valuesOnly?: Sink<[unknown, unknown]>): void {
    // The left input cached as pair columns with int32 keys (co-partitioned): joined by row, the right side in columns
    // too when it is cached so (column-join.ts), else read as pairs (column-pairs-join.ts).
    const [a, b] = this.sources;
    const leftCached = a!.type === 'narrow' ? a!.rdd.cachedPartition(p, tc) : undefined;
    const rightCached = leftCached !== undefined && b!.type === 'narrow' ? b!.rdd.cachedPartition(p, tc) : undefined;
    const leftColumns = leftCached === undefined ? undefined : pairColumns(leftCached);
    const rightColumns = rightCached === undefined ? undefined : pairColumns(rightCached);
    if (leftColumns !== undefined && leftColumns.keys instanceof Int32Array) {
      const leftInts = leftColumns as PairColumns & { keys: Int32Array };
      if (rightColumns !== undefined) joinColumns(leftInts, rightColumns, sink, valuesOnly);
      // The right side read as pairs (checked by #read when narrow), the left still by row: no list of links is
      // built before its records are pushed (PageRank's first iteration, whose ranks are not cached).
      else joinColumnsWithPairs(leftInts, (each) => this.#read(1, p, tc, each, rightCached), sink, valuesOnly);
      return;
    }
    const index = new KeyIndex();
    const left: unknown[] = [];
    let leftMore: Map<number, unknown[]> | undefined;
    this.#read(
      0,
      p,
      tc,
      (kv) => {
        const k = kv[0];
        const i = index.find(k);
        if (i < 0) {
          index.add(k);
          left.push(kv[1]);
        } else {
          addMore((leftMore ??= new Map<number, unknown[]>()), i, kv[1]);
        }
      },
      leftCached,
    );
    const n = index.size;
    // Right values of keys the left side has (inner join: others are dropped).
    const rightCount = new Int32Array(n);
    const right = arrayOfLength<unknown>(n);
    let rightMore: Map<number, unknown[]> | undefined;
    this.#read(
      1,
      p,
      tc,
      (kv) => {
        const i = index.find(kv[0]);
        if (i < 0) return;
        const seen = rightCount[i]!;
        rightCount[i] = seen + 1;
        if (seen === 0) right[i] = kv[1];
        else {
          addMore((rightMore ??= new Map<number, unknown[]>()), i, kv[1]);
        }
      },
      rightCached,
    );
    const keys = index.keys;
    for (let i = 0; i < n; i++) {
      if ((i & INTERRUPT_MASK) === INTERRUPT_MASK) checkInterrupted();
      if (rightCount[i] === 0) continue;
      const k = keys[i];
      const lMore = leftMore?.get(i);
      const rMore = rightCount[i]! > 1 ? rightMore!.get(i)! : undefined;
      if (lMore === undefined && rMore === undefined) {
        if (valuesOnly !== undefined) valuesOnly([left[i], right[i]]);
        else sink([k, [left[i], right[i]]]);
        continue;
      }
      const vs = lMore === undefined ? [left[i]] : [left[i], ...lMore];
      const ws = rMore === undefined ? [right[i]] : [right[i], ...rMore];
      for (const v of vs) {
        for (const w of ws) {
          if (valuesOnly !== undefined) valuesOnly([v, w]);
          else sink([k, [v, w]]);
        }
      }
    }
  }
}

/** The RDD behind a shuffle input: always known on the driver, where dependencies are walked; absent in workers. */
function driverSide(rdd: RDD<Pair> | undefined, owner: string): RDD<Pair> {
  // internal: shuffle inputs are walked on the driver only
  if (rdd === undefined) throw new Error(`${owner} was rebuilt in a worker, where shuffle inputs are read, not walked`);
  return rdd;
}

/** A key's values after its first (kept in a column), by key number: lists only for the keys that have them. */
function addMore(more: Map<number, unknown[]>, i: number, v: unknown): void {
  const list = more.get(i);
  if (list === undefined) more.set(i, [v]);
  else list.push(v);
}
