/**
 * Driver-side registry of shuffle map outputs (Spark's MapOutputTracker): for each shuffle, which worker holds
 * the output of each map task. Reduce tasks get these locations in their task message; a stage is available
 * when every map output is registered. Outputs of a lost worker are unregistered so they are recomputed.
 */
import type { MapStatus } from '../exec/protocol.js';

interface Output {
  readonly workerIndex: number;
  readonly status: MapStatus;
}

export class MapOutputTracker {
  readonly #shuffles = new Map<number, Array<Output | undefined>>();

  registerShuffle(shuffleId: number, numMaps: number): void {
    if (!this.#shuffles.has(shuffleId)) this.#shuffles.set(shuffleId, new Array(numMaps).fill(undefined));
  }

  registerOutput(shuffleId: number, mapId: number, workerIndex: number, status: MapStatus): void {
    const outputs = this.#shuffles.get(shuffleId);
    if (outputs !== undefined) outputs[mapId] = { workerIndex, status };
  }

  unregisterOutput(shuffleId: number, mapId: number, workerIndex: number): void {
    const outputs = this.#shuffles.get(shuffleId);
    if (outputs?.[mapId]?.workerIndex === workerIndex) outputs[mapId] = undefined;
  }

  /** Forgets every output held by a worker; returns the shuffles that lost something. */
  removeWorker(workerIndex: number): number[] {
    const touched: number[] = [];
    for (const [id, outputs] of this.#shuffles) {
      let hit = false;
      outputs.forEach((o, i) => {
        if (o?.workerIndex === workerIndex) {
          outputs[i] = undefined;
          hit = true;
        }
      });
      if (hit) touched.push(id);
    }
    return touched;
  }

  missingMaps(shuffleId: number): number[] {
    const outputs = this.#shuffles.get(shuffleId) ?? [];
    const out: number[] = [];
    outputs.forEach((o, i) => {
      if (o === undefined) out.push(i);
    });
    return out;
  }

  isAvailable(shuffleId: number): boolean {
    const outputs = this.#shuffles.get(shuffleId);
    return outputs !== undefined && outputs.every((o) => o !== undefined);
  }

  /** The worker holding each map output; throws if one is missing (the scheduler checks availability first). */
  locations(shuffleId: number): number[] {
    const outputs = this.#shuffles.get(shuffleId) ?? [];
    return outputs.map((o, i) => {
      if (o === undefined) throw new Error(`map output ${i} of shuffle ${shuffleId} is missing`);
      return o.workerIndex;
    });
  }

  unregisterShuffle(shuffleId: number): void {
    this.#shuffles.delete(shuffleId);
  }
}
