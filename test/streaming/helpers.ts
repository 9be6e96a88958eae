/**
 * Helpers for the streaming tests: one Context per file, and a manual clock stepped batch by batch. Functions that
 * travel to workers must never reference these imports; declare what they need with `capture`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Context, ManualClock, type RDD, StreamingContext, type StreamingOptions, type BatchCompletedEvent, type DStream } from 'kindling';

export function useStreamingContext(master: 'local' | 'local[2]' = 'local[2]'): { sc: () => Context; dir: () => string } {
  let sc: Context | undefined;
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-streaming-'));
    sc = new Context({ master, progress: false, hints: false });
    sc.setCheckpointDir(path.join(dir, 'checkpoints'));
  });
  afterAll(async () => {
    await sc?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return {
    sc: () => {
      if (sc === undefined) throw new Error('context not started yet');
      return sc;
    },
    dir: () => dir!,
  };
}

/** A StreamingContext on a manual clock at 0, and a way to run its batches one by one. */
export function manual(sc: Context, batchInterval = 1000, options: Partial<StreamingOptions> = {}) {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext(sc, { batchInterval, clock, ...options });
  /** Advances the clock one interval at a time and waits for each batch to complete; returns their events. */
  const tick = async (n = 1): Promise<BatchCompletedEvent[]> => {
    const events: BatchCompletedEvent[] = [];
    for (let i = 0; i < n; i++) {
      const ms = clock.now() + ssc.batchIntervalMs;
      const done = new Promise<BatchCompletedEvent>((resolve, reject) => {
        const off = sc.events.on('batchCompleted', (e) => {
          if (e.batch.ms !== ms) return;
          off();
          if (e.error !== undefined) reject(new Error(`batch ${ms} failed: ${e.error}`));
          else resolve(e);
        });
      });
      clock.advance(ssc.batchIntervalMs);
      events.push(await done);
    }
    return events;
  };
  return { ssc, clock, tick };
}

/** Registers an output that collects every batch of `stream` as [batch ms, elements]. */
export function collectBatches<T>(stream: DStream<T>): Array<[number, T[]]> {
  const out: Array<[number, T[]]> = [];
  stream.foreachRDD(async (rdd: RDD<T>, t) => {
    out.push([t.ms, await rdd.collect()]);
  });
  return out;
}

/** Sorts a copy of pairs by JSON, for comparing results whose order the engine does not fix. */
export function sortedPairs<T>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));
}
