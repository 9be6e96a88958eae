/**
 * A binary min-heap of run indexes, ordered by `less` on each run's current head: the k-way merge of sorted
 * runs (shuffle spills, fetched-input spills). `less` must break ties by index so equal keys keep run order.
 */
export class IndexHeap {
  readonly #heap: number[] = [];

  constructor(private readonly less: (i: number, j: number) => boolean) {}

  get size(): number {
    return this.#heap.length;
  }

  /** The run whose head is least (undefined when every run is done). */
  peek(): number | undefined {
    return this.#heap[0];
  }

  push(i: number): void {
    const heap = this.#heap;
    heap.push(i);
    let k = heap.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.less(heap[k]!, heap[parent]!)) break;
      [heap[k], heap[parent]] = [heap[parent]!, heap[k]!];
      k = parent;
    }
  }

  /** The least run advanced: `done` when it has no head any more (it leaves the heap), else it sinks to its place. */
  advanced(done: boolean): void {
    const heap = this.#heap;
    if (done) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    let k = 0;
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let m = k;
      if (l < heap.length && this.less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.less(heap[r]!, heap[m]!)) m = r;
      if (m === k) return;
      [heap[k], heap[m]] = [heap[m]!, heap[k]!];
      k = m;
    }
  }
}
