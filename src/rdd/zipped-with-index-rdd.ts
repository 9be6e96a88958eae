import type { RddWireBody } from './wire.js';
import { oneToOne, type Dependency } from './dependency.js';
import type { TaskContext } from './task-context.js';
import { RDD, type RddOptions, type Sink } from './internal.js';

/**
 * zipWithIndex: `[element, index]` in RDD order. The start index of each partition needs the sizes of the
 * partitions before it; Spark counts them eagerly when zipWithIndex is called, kindling counts them when the
 * first job that uses this RDD is prepared, keeping transformations lazy.
 */
export class ZippedWithIndexRDD<T> extends RDD<[T, number]> {
  readonly kind = 'ZippedWithIndexRDD';
  #offsets: readonly number[] | undefined;
  #preparing: Promise<void> | undefined;

  constructor(
    readonly parent: RDD<T>,
    options: RddOptions & { offsets?: readonly number[] } = {},
  ) {
    super(parent.context, { op: 'zipWithIndex', ...options });
    this.inheritPartitionCount(parent);
    this.#offsets = options.offsets;
  }
  getNumPartitions(): number {
    return this.inheritedNumPartitions();
  }
  /** An element's index is its place in the partition. */
  override get orderSensitive(): boolean {
    return true;
  }
  protected getDependencies(): readonly Dependency[] {
    return [oneToOne(this.parent)];
  }
  protected wireBody(): RddWireBody {
    return { kind: 'ZippedWithIndexRDD', args: { offsets: this.#offsets } };
  }
  override prepare(): Promise<void> {
    if (this.#offsets !== undefined) return Promise.resolve();
    if (this.#preparing !== undefined) return this.#preparing;
    const preparing = (async () => {
      const n = this.parent.getNumPartitions();
      const counts =
        n <= 1
          ? []
          : await this.context.runJob<number>(
              this.parent,
              { kind: 'count' },
              Array.from({ length: n - 1 }, (_, i) => i),
              `zipWithIndex offsets of ${this.label}`,
            );
      const offsets = [0];
      for (const c of counts) offsets.push(offsets[offsets.length - 1]! + c);
      this.#offsets = offsets;
    })();
    this.#preparing = preparing;
    // A preparing job that was cancelled (or lost) must not fail every later job of this RDD: the next one prepares again.
    preparing.catch(() => {
      if (this.#preparing === preparing) this.#preparing = undefined;
    });
    return preparing;
  }
  compute(p: number, tc: TaskContext): Iterable<[T, number]> {
    const out: [T, number][] = [];
    this.pushCompute(p, tc, (x) => out.push(x));
    return out;
  }
  protected override pushCompute(p: number, tc: TaskContext, sink: Sink<[T, number]>): void {
    let i = this.#offsets?.[p];
    // internal: prepareLineage() counts the partitions before the job
    if (i === undefined) throw new Error(`${this.label}: partition offsets were not prepared`);
    this.parent.forEach(p, tc, (x) => sink([x, i!++]));
  }
}
