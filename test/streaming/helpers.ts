/**
 * Helpers for the streaming tests: one Context per file, and a manual clock stepped batch by batch. Functions that
 * travel to workers must never reference these imports; declare what they need with `capture`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  Context,
  ManualClock,
  type RDD,
  type Source,
  StreamingContext,
  type StreamingOptions,
  type BatchCompletedEvent,
  type DStream,
} from 'kindling';

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
  const tick = (n = 1): Promise<BatchCompletedEvent[]> => tickBatches(ssc, clock, n);
  return { ssc, clock, tick };
}

/**
 * Advances `clock` (the one `ssc` reads) one batch interval at a time and waits for each batch to complete; rejects
 * with a batch's error. Returns the batches' events.
 */
export async function tickBatches(ssc: StreamingContext, clock: ManualClock, n = 1): Promise<BatchCompletedEvent[]> {
  const events: BatchCompletedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ms = clock.now() + ssc.batchIntervalMs;
    const done = new Promise<BatchCompletedEvent>((resolve, reject) => {
      const off = ssc.events.on('batchCompleted', (e) => {
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
}

/**
 * Advances a manual clock a batch every 20 ms until the stream stops (a failure is seen at the next cut); resolves
 * with the error `awaitTermination()` rejected with, or undefined when the stream stopped without one.
 */
export async function stepUntilStopped(ssc: StreamingContext, clock: ManualClock): Promise<Error | undefined> {
  const ended = ssc.awaitTermination().then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  const stepping = setInterval(() => clock.advance(ssc.batchIntervalMs), 20);
  try {
    return await ended;
  } finally {
    clearInterval(stepping);
  }
}

/**
 * A broker in memory (a replayable source, as Redis in direct mode): each batch takes what was appended to `log`
 * since the previous one, as a [from, to) range that a restart reads again.
 */
export function brokerSource<T>(log: readonly T[]): Source<T> {
  let pos = 0;
  return {
    name: 'broker',
    start() {},
    cut: () => {
      const from = pos;
      pos = log.length;
      return { records: log.slice(from, pos), range: [from, pos] };
    },
    replay: (range) => log.slice(...(range as [number, number])),
    resume: (range) => {
      pos = (range as [number, number])[1];
    },
    stop() {},
  };
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

/**
 * A plain reference of event-time windows with a watermark: per batch, the watermark is the newest event time of the
 * batches before minus `delayMs`; records older than it are late (dropped, counted); a record counts once in every
 * window [start, start + windowMs) holding its time (starts multiples of `slideMs`); a window whose end is at or
 * before the watermark is final: emitted then in `append` mode, and forgotten. `update` emits what a batch changed.
 */
export function eventWindowCountsRef(
  batches: ReadonlyArray<ReadonlyArray<readonly [string, number]>>,
  delayMs: number,
  windowMs: number,
  slideMs: number,
  mode: 'append' | 'update',
): Array<{ late: number; windows: Array<{ start: number; end: number; key: string; value: number }> }> {
  let max = Number.NEGATIVE_INFINITY;
  const open = new Map<string, { start: number; key: string; value: number }>();
  return batches.map((batch) => {
    const w = max - delayMs;
    let late = 0;
    const changed = new Set<string>();
    for (const [key, t] of batch) {
      if (t < w) {
        late++;
        continue;
      }
      for (let start = Math.floor(t / slideMs) * slideMs; start > t - windowMs; start -= slideMs) {
        const id = JSON.stringify([key, start]);
        const entry = open.get(id) ?? { start, key, value: 0 };
        entry.value++;
        open.set(id, entry);
        changed.add(id);
      }
    }
    for (const [, t] of batch) max = Math.max(max, t);
    const windows: Array<{ start: number; end: number; key: string; value: number }> = [];
    for (const [id, { start, key, value }] of open) {
      const final = start + windowMs <= w;
      if (mode === 'append' ? final : changed.has(id)) windows.push({ start, end: start + windowMs, key, value });
      if (final) open.delete(id);
    }
    return { late, windows: windows.sort((a, b) => a.start - b.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
  });
}

/** Sorts event windows by start, then key. */
export function sortedWindows<W extends { start: number; key: unknown }>(xs: readonly W[]): W[] {
  return [...xs].sort(
    (a, b) => a.start - b.start || (JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : JSON.stringify(a.key) > JSON.stringify(b.key) ? 1 : 0),
  );
}

/**
 * Options for `vi.waitFor` in these specs: it waits on a condition (a producer got far enough, a file was
 * deleted), and its default of 1 s is a wall-clock bound a loaded machine broke (a producer paused for longer than
 * that between two of its yields). The condition is what is asserted; this only bounds a hang.
 */
export const UNTIL = { timeout: 30_000, interval: 10 } as const;
