/**
 * Event time (Structured Streaming's watermarks, on DStreams): the shipped steps that drop records older than the
 * watermark, measure a batch's newest event time, assign records to event-time windows, and fold each batch into
 * the windows' state (emitting windows as the watermark closes them, or every update).
 */
import { capture } from '../closure/index.js';
import type { TaggedOut } from './map-with-state.js';

/** One event-time window's aggregate: the window is `[start, end)` in event-time milliseconds. */
export interface EventWindow<K, V> {
  readonly start: number;
  readonly end: number;
  readonly key: K;
  readonly value: V;
}

/**
 * `append` (default): a window is emitted once, when the watermark passes its end (no later record can change
 * it), and then forgotten. `update`: every batch emits the windows that batch changed; windows are forgotten once
 * the watermark passes their end.
 */
export type OutputMode = 'append' | 'update';

/** @internal Per partition: [newest event time, records older than `w`]. */
export function batchEventStats<T>(eventTime: (x: T) => number | Date, w: number): (it: Iterable<T>) => Iterable<[number, number]> {
  return capture({ eventTime, w }, (it: Iterable<T>): [number, number][] => {
    let max = Number.NEGATIVE_INFINITY;
    let late = 0;
    for (const x of it) {
      // A Date counts as its milliseconds: compared and kept as a number (a commit writes it as JSON).
      const t = Number(eventTime(x));
      if (t > max) max = t;
      if (t < w) late++;
    }
    return [[max, late]];
  });
}

/** @internal What one partition of batch `ms` held: `[ms, partition, newest event time, records older than w]`. */
export type PartitionEventStats = [number, number, number, number];

/**
 * @internal Keeps the records at or after the watermark `w` and, once the whole partition was read, reports its
 * newest event time and late count to `stats` (an accumulator merged on the driver when the task succeeds). A
 * partition read only in part (`take`) reports nothing, so the batch's measure knows to read it itself.
 */
export function dropLateMeasured<T>(
  eventTime: (x: T) => number | Date,
  w: number,
  ms: number,
  stats: { add(v: PartitionEventStats): void },
): (index: number, it: Iterable<T>) => Iterable<T> {
  return capture({ eventTime, w, ms, stats }, function* (index: number, it: Iterable<T>): Iterable<T> {
    let max = Number.NEGATIVE_INFINITY;
    let late = 0;
    for (const x of it) {
      const t = Number(eventTime(x));
      if (t > max) max = t;
      if (t < w) late++;
      else yield x;
    }
    stats.add([ms, index, max, late]);
  });
}

/**
 * @internal Each record as `[[key, window start], value]` for every window `[start, start + windowMs)` that holds its
 * event time (starts are multiples of the slide from 0, as Spark's `window()`).
 */
export function assignWindows<T, K, V>(
  eventTime: (x: T) => number | Date,
  toPair: (x: T) => [K, V],
  windowMs: number,
  slideMs: number,
): (x: T) => Iterable<[[K, number], V]> {
  return capture({ eventTime, toPair, windowMs, slideMs }, (x: T): [[K, number], V][] => {
    const t = Number(eventTime(x));
    const [k, v] = toPair(x);
    const out: [[K, number], V][] = [];
    for (let start = Math.floor(t / slideMs) * slideMs; start > t - windowMs; start -= slideMs) out.push([[k, start], v]);
    return out;
  });
}

/** @internal State entries of the window step: `[[key, window start], aggregate]`. */
export type WindowState<K, V> = [[K, number], V];

/**
 * @internal One batch over cogrouped `[[key, start], [previous aggregate (0 or 1), this batch's (0 or 1)]]`: windows
 * whose end is at or before the watermark `w` are final (emitted in append mode) and leave the state.
 */
export function windowStep<K, V>(
  fn: (a: V, b: V) => V,
  windowMs: number,
  w: number,
  mode: OutputMode,
): (it: Iterable<[[K, number], [V[], V[]]]>) => Iterable<TaggedOut<WindowState<K, V>, EventWindow<K, V>>> {
  return capture({ fn, windowMs, w, mode }, function* (it: Iterable<[[K, number], [V[], V[]]]>): Iterable<
    TaggedOut<WindowState<K, V>, EventWindow<K, V>>
  > {
    for (const [[key, start], [olds, news]] of it) {
      let value: V | undefined;
      let has = false;
      for (const v of [...olds, ...news]) {
        value = has ? fn(value as V, v) : v;
        has = true;
      }
      if (!has) continue;
      const end = start + windowMs;
      const final = end <= w;
      if (mode === 'update' ? news.length > 0 : final) yield [1, { start, end, key, value: value as V }];
      if (!final) yield [0, [[key, start], value as V]];
    }
  });
}
