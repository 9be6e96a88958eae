/**
 * A worker's shuffle outputs: for each shuffle, the buckets each map task wrote, kept until the driver removes
 * the shuffle. Reduce tasks on this worker read them directly; peers fetch them through the shuffle service.
 */
import type { Bucket } from '../exec/protocol.js';

export class FetchFailedError extends Error {
  override name = 'FetchFailedError';
  constructor(
    readonly shuffleId: number,
    readonly mapId: number,
    readonly workerIndex: number,
    message: string,
  ) {
    super(message);
  }
}

export class ShuffleStore {
  readonly #outputs = new Map<number, Map<number, Bucket[]>>();

  constructor(readonly workerIndex: number) {}

  put(shuffleId: number, mapId: number, buckets: Bucket[]): void {
    let byMap = this.#outputs.get(shuffleId);
    if (byMap === undefined) {
      byMap = new Map();
      this.#outputs.set(shuffleId, byMap);
    }
    byMap.set(mapId, buckets);
  }

  /** Bucket `reduceId` of each map output, in the order asked. */
  fetchBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): Bucket[] {
    const byMap = this.#outputs.get(shuffleId);
    return mapIds.map((mapId) => {
      const buckets = byMap?.get(mapId);
      if (buckets === undefined) {
        throw new FetchFailedError(shuffleId, mapId, this.workerIndex, `worker ${this.workerIndex} has no output of map ${mapId} of shuffle ${shuffleId}`);
      }
      return buckets[reduceId] ?? [];
    });
  }

  remove(shuffleId: number): void {
    this.#outputs.delete(shuffleId);
  }
}
