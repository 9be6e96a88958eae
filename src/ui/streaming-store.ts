/**
 * The Streaming page's data, built only from the streaming events on the bus (the UI sits below streaming in the
 * one-way chain, so it never imports it): batches with their records, input rate, delays and processing time,
 * retained up to a bound as Spark's `spark.streaming.ui.retainedBatches`; and the answers of Spark's streaming
 * REST endpoints (`/streaming/statistics`, `/streaming/batches[/{batchId}]`) with Spark's field names.
 */
import type { ReceiverErrorEvent, StreamingEvent, StreamingStartedEvent, StreamingStoppedEvent } from '../scheduler/events.js';
import { type RestResponse, sparkDate } from './rest.js';

/** One batch as the page shows it. */
export interface BatchData {
  readonly id: number;
  readonly batchMs: number;
  status: 'QUEUED' | 'PROCESSING' | 'COMPLETED';
  records: number;
  dropped: number;
  /** Entries the sources had not read yet at the broker when the batch was cut (those that report it), else undefined. */
  lag: number | undefined;
  schedulingDelayMs: number | undefined;
  processingMs: number | undefined;
  totalDelayMs: number | undefined;
  outputs: number;
  failure: string | undefined;
  /** Records older than the watermark dropped in this batch (event-time streams). */
  late: number;
  watermarkMs: number | undefined;
}

/**
 * Batches of the application's StreamingContext, from its events.
 *
 * @example
 * ```ts
 * const s = new StreamingStore();
 * sc.events.onAny((e) => { if (StreamingStore.handles(e)) s.apply(e); });
 * s.statistics().numTotalCompletedBatches;
 * ```
 */
export class StreamingStore {
  started: StreamingStartedEvent | undefined;
  stopped: StreamingStoppedEvent | undefined;
  /** Batches by id, oldest first; completed ones beyond the bound are forgotten (counted in the totals). */
  readonly batches = new Map<number, BatchData>();
  readonly #retained: number;
  #completed = 0;
  #records = 0;
  readonly #rates = new Map<string, number>();
  /** Each receiver's last error (Spark's ReceiverInfo.lastError*), by source name. */
  readonly receiverErrors = new Map<string, ReceiverErrorEvent>();

  constructor(retainedBatches = 1000) {
    this.#retained = retainedBatches;
  }

  static handles(e: { type: string }): e is StreamingEvent {
    return STREAMING_TYPES.has(e.type);
  }

  apply(e: StreamingEvent): void {
    switch (e.type) {
      case 'streamingStarted':
        // A new StreamingContext of the same application starts its batch ids at 0 again: the page shows the
        // current one (as Spark's listener is per StreamingContext).
        this.started = e;
        this.stopped = undefined;
        this.batches.clear();
        this.#completed = 0;
        this.#records = 0;
        this.#rates.clear();
        this.receiverErrors.clear();
        return;
      case 'batchSubmitted':
        this.batches.set(e.batch.id, {
          id: e.batch.id,
          batchMs: e.batch.ms,
          status: 'QUEUED',
          records: e.records,
          dropped: e.sources.reduce((n, s) => n + s.dropped, 0),
          lag: e.sources.reduce<number | undefined>((n, s) => (s.lag === undefined ? n : (n ?? 0) + s.lag), undefined),
          schedulingDelayMs: undefined,
          processingMs: undefined,
          totalDelayMs: undefined,
          outputs: 0,
          failure: undefined,
          late: 0,
          watermarkMs: undefined,
        });
        return;
      case 'batchStarted': {
        const b = this.batches.get(e.batch.id);
        if (b === undefined) return;
        b.status = 'PROCESSING';
        b.schedulingDelayMs = e.schedulingDelayMs;
        return;
      }
      case 'batchCompleted': {
        const b = this.batches.get(e.batch.id);
        if (b === undefined) return;
        b.status = 'COMPLETED';
        b.records = e.records;
        b.schedulingDelayMs = e.schedulingDelayMs;
        b.processingMs = e.processingMs;
        b.totalDelayMs = e.totalDelayMs;
        b.outputs = e.outputs.length;
        b.failure = e.error;
        this.#completed++;
        this.#records += e.records;
        this.#trim();
        return;
      }
      case 'watermarkAdvanced': {
        const b = this.batches.get(e.batch.id);
        if (b === undefined) return;
        b.late += e.lateRecords;
        if (Number.isFinite(e.watermarkMs)) b.watermarkMs = e.watermarkMs;
        return;
      }
      case 'rateUpdated':
        this.#rates.set(e.source, e.recordsPerSec);
        return;
      case 'receiverError':
        this.receiverErrors.set(e.source, e);
        return;
      case 'streamingStopped':
        this.stopped = e;
        return;
    }
  }

  #trim(): void {
    let completed = 0;
    for (const b of this.batches.values()) if (b.status === 'COMPLETED') completed++;
    for (const [id, b] of this.batches) {
      if (completed <= this.#retained) break;
      if (b.status !== 'COMPLETED') continue;
      this.batches.delete(id);
      completed--;
    }
  }

  /** Spark's `/streaming/statistics`. */
  statistics(): Record<string, unknown> {
    const done = [...this.batches.values()].filter((b) => b.status === 'COMPLETED');
    const avg = (f: (b: BatchData) => number | undefined) => {
      const xs = done.map(f).filter((x): x is number => x !== undefined);
      return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const interval = this.started?.batchIntervalMs ?? 0;
    return {
      startTime: sparkDate(this.started?.time),
      batchDuration: interval,
      numReceivers: this.started?.sources.length ?? 0,
      numActiveReceivers: this.stopped === undefined ? (this.started?.sources.length ?? 0) : 0,
      numInactiveReceivers: this.stopped === undefined ? 0 : (this.started?.sources.length ?? 0),
      numTotalCompletedBatches: this.#completed,
      numRetainedCompletedBatches: done.length,
      numActiveBatches: this.batches.size - done.length,
      numProcessedRecords: this.#records,
      numReceivedRecords: this.#records + [...this.batches.values()].filter((b) => b.status !== 'COMPLETED').reduce((n, b) => n + b.records, 0),
      avgInputRate: interval > 0 ? avg((b) => (b.records * 1000) / interval) : undefined,
      avgSchedulingDelay: avg((b) => b.schedulingDelayMs),
      avgProcessingTime: avg((b) => b.processingMs),
      avgTotalDelay: avg((b) => b.totalDelayMs),
      kindlingStopped: this.stopped !== undefined,
      kindlingRateLimits: Object.fromEntries(this.#rates),
    };
  }

  /** Spark's `/streaming/receivers` items: each source with its last error and how often it restarted. */
  receivers(): Record<string, unknown>[] {
    return (this.started?.sources ?? []).map((name, streamId) => {
      const e = this.receiverErrors.get(name);
      return {
        streamId,
        streamName: name,
        isActive: this.stopped === undefined,
        lastErrorTime: sparkDate(e?.time),
        lastErrorMessage: e?.message,
        lastError: e?.error,
        kindlingRestarts: e?.restarts ?? 0,
      };
    });
  }

  /** Spark's `/streaming/batches` item. */
  batchJson(b: BatchData): Record<string, unknown> {
    const interval = this.started?.batchIntervalMs ?? 0;
    return {
      batchId: b.id,
      batchTime: sparkDate(b.batchMs),
      status: b.status,
      batchDuration: interval,
      inputSize: b.records,
      schedulingDelay: b.schedulingDelayMs,
      processingTime: b.processingMs,
      totalDelay: b.totalDelayMs,
      numActiveOutputOps: b.status === 'PROCESSING' ? 1 : 0,
      numCompletedOutputOps: b.status === 'COMPLETED' ? b.outputs - (b.failure === undefined ? 0 : 1) : 0,
      numFailedOutputOps: b.failure === undefined ? 0 : 1,
      numTotalOutputOps: b.outputs,
      firstFailureReason: b.failure,
      kindlingInputRate: interval > 0 ? (b.records * 1000) / interval : undefined,
      kindlingDropped: b.dropped,
      kindlingLag: b.lag,
      kindlingLateRecords: b.late,
      kindlingWatermark: b.watermarkMs === undefined ? undefined : sparkDate(b.watermarkMs),
    };
  }
}

const STREAMING_TYPES = new Set<string>([
  'streamingStarted',
  'batchSubmitted',
  'batchStarted',
  'batchCompleted',
  'rateUpdated',
  'watermarkAdvanced',
  'receiverError',
  'streamingStopped',
]);

/** Answers `/applications/{appId}/streaming/...` (`a`, `b`: the path after `streaming`). */
export function streamingRest(store: StreamingStore, a: string | undefined, b: string | undefined, query: URLSearchParams): RestResponse {
  if (store.started === undefined) return { status: 404, body: { error: 'no StreamingContext has started in this application' } };
  if (a === 'statistics') return { status: 200, body: store.statistics() };
  if (a === 'receivers') {
    const all = store.receivers();
    if (b === undefined) return { status: 200, body: all };
    const one = all[Number(b)];
    return one === undefined ? { status: 404, body: { error: `unknown receiver: ${b}` } } : { status: 200, body: one };
  }
  if (a === 'batches') {
    if (b === undefined) {
      const wanted = query.getAll('status').map((s) => s.toUpperCase());
      const batches = [...store.batches.values()].reverse().filter((x) => wanted.length === 0 || wanted.includes(x.status));
      return { status: 200, body: batches.map((x) => store.batchJson(x)) };
    }
    const batch = store.batches.get(Number(b));
    return batch === undefined ? { status: 404, body: { error: `unknown batch: ${b}` } } : { status: 200, body: store.batchJson(batch) };
  }
  return { status: 404, body: { error: `unknown endpoint streaming/${a ?? ''}` } };
}
