/**
 * The Streaming page's model, from the streaming events alone (the UI never imports streaming): batches with
 * their delays, records, late and dropped records, bounded retention, and Spark's streaming REST endpoints with
 * Spark's field names.
 */
import { describe, expect, it } from 'vitest';
import { handleRest } from '../../src/ui/rest.js';
import { StatusStore } from '../../src/ui/status-store.js';
import type { SchedulerEvent } from '../../src/scheduler/events.js';

function batch(store: StatusStore, id: number, records: number, processingMs: number, schedulingDelayMs = 0, error?: string): void {
  const ms = 1000 * (id + 1);
  const apply = (e: SchedulerEvent) => store.apply(e);
  // Only batch 1's source knows its lag at the broker (a Redis stream read from an explicit id knows it late).
  const sources = [{ name: 'in', records, dropped: id === 1 ? 5 : 0, buffered: 0, ...(id === 1 ? { lag: 42 } : {}) }];
  apply({ type: 'batchSubmitted', batch: { id, ms }, records, sources, time: ms });
  apply({ type: 'batchStarted', batch: { id, ms }, schedulingDelayMs, time: ms + schedulingDelayMs });
  apply({ type: 'watermarkAdvanced', stream: 's', batch: { id, ms }, watermarkMs: ms - 500, nextWatermarkMs: ms, lateRecords: id, time: ms });
  apply({
    type: 'batchCompleted',
    batch: { id, ms },
    records,
    schedulingDelayMs,
    processingMs,
    totalDelayMs: schedulingDelayMs + processingMs,
    sources,
    outputs: [{ name: 'print', ms: processingMs }],
    ...(error === undefined ? {} : { error }),
    time: ms + processingMs,
  });
}

function rest(store: StatusStore, p: string): { status: number; body: any } {
  const [pathPart, query] = p.split('?');
  return handleRest(new Map([['app-1', store]]), `applications/app-1/${pathPart}`, new URLSearchParams(query ?? '')) as { status: number; body: any };
}

describe('streaming status (events only)', () => {
  it('answers 404 until a StreamingContext starts', () => {
    const store = new StatusStore();
    expect(rest(store, 'streaming/statistics').status).toBe(404);
  });

  it('statistics and batches with Spark field names: averages over completed batches, an active batch, failures', () => {
    const store = new StatusStore();
    store.apply({ type: 'streamingStarted', batchIntervalMs: 1000, sources: ['in'], time: 0 });
    batch(store, 0, 100, 200);
    batch(store, 1, 300, 600, 100, 'boom');
    store.apply({ type: 'batchSubmitted', batch: { id: 2, ms: 3000 }, records: 50, sources: [], time: 3000 });
    const v = store.version;
    store.apply({ type: 'batchStarted', batch: { id: 2, ms: 3000 }, schedulingDelayMs: 10, time: 3010 });
    // Every event moves the version, which is what makes the page live.
    expect(store.version).toBe(v + 1);
    const stats = rest(store, 'streaming/statistics').body;
    expect(stats).toMatchObject({
      startTime: '1970-01-01T00:00:00.000GMT',
      batchDuration: 1000,
      numReceivers: 1,
      numActiveReceivers: 1,
      numTotalCompletedBatches: 2,
      numRetainedCompletedBatches: 2,
      numActiveBatches: 1,
      numProcessedRecords: 400,
      numReceivedRecords: 450,
      avgInputRate: 200,
      avgSchedulingDelay: 50,
      avgProcessingTime: 400,
      avgTotalDelay: 450,
    });
    const batches = rest(store, 'streaming/batches').body as any[];
    expect(batches.map((b) => [b.batchId, b.status, b.inputSize])).toEqual([
      [2, 'PROCESSING', 50],
      [1, 'COMPLETED', 300],
      [0, 'COMPLETED', 100],
    ]);
    expect(batches[1]).toMatchObject({
      batchTime: '1970-01-01T00:00:02.000GMT',
      batchDuration: 1000,
      schedulingDelay: 100,
      processingTime: 600,
      totalDelay: 700,
      numFailedOutputOps: 1,
      numTotalOutputOps: 1,
      firstFailureReason: 'boom',
      kindlingInputRate: 300,
      kindlingDropped: 5,
      kindlingLag: 42,
      kindlingLateRecords: 1,
    });
    expect(batches[2].kindlingLag).toBeUndefined();
    expect(rest(store, 'streaming/batches?status=processing').body.map((b: any) => b.batchId)).toEqual([2]);
    expect(rest(store, 'streaming/batches/0').body.inputSize).toBe(100);
    expect(rest(store, 'streaming/batches/9').status).toBe(404);
    store.apply({ type: 'streamingStopped', graceful: true, batchesCompleted: 2, time: 4000 });
    expect(rest(store, 'streaming/statistics').body).toMatchObject({ numActiveReceivers: 0, numInactiveReceivers: 1, kindlingStopped: true });
    // A second StreamingContext in the same application: its batches, from id 0 again, replace the first one's.
    store.apply({ type: 'streamingStarted', batchIntervalMs: 500, sources: ['a', 'b'], time: 5000 });
    batch(store, 0, 7, 10);
    expect(rest(store, 'streaming/batches').body.map((b: any) => [b.batchId, b.inputSize])).toEqual([[0, 7]]);
    expect(rest(store, 'streaming/statistics').body).toMatchObject({
      batchDuration: 500,
      numReceivers: 2,
      numTotalCompletedBatches: 1,
      kindlingStopped: false,
    });
  });

  it('keeps the last 1,000 completed batches; totals count every batch', () => {
    const store = new StatusStore();
    store.apply({ type: 'streamingStarted', batchIntervalMs: 1000, sources: ['in'], time: 0 });
    for (let i = 0; i < 1200; i++) batch(store, i, 1, 1);
    expect(store.streaming.batches.size).toBe(1000);
    expect([...store.streaming.batches.keys()][0]).toBe(200);
    expect(rest(store, 'streaming/statistics').body).toMatchObject({
      numTotalCompletedBatches: 1200,
      numRetainedCompletedBatches: 1000,
      numProcessedRecords: 1200,
    });
  });

  it("receivers with their last error and restarts (Spark's /streaming/receivers), from receiverError events", () => {
    const store = new StatusStore();
    store.apply({ type: 'streamingStarted', batchIntervalMs: 1000, sources: ['socket-localhost:9999', 'queue-0'], time: 0 });
    const error = (restarts: number, time: number) =>
      store.apply({
        type: 'receiverError',
        source: 'socket-localhost:9999',
        message: 'Error connecting to localhost:9999',
        error: 'connect ECONNREFUSED 127.0.0.1:9999',
        restartDelayMs: 2000,
        restarts,
        time,
      });
    error(1, 1000);
    error(2, 3000);
    expect(rest(store, 'streaming/receivers').body).toEqual([
      {
        streamId: 0,
        streamName: 'socket-localhost:9999',
        isActive: true,
        lastErrorTime: '1970-01-01T00:00:03.000GMT',
        lastErrorMessage: 'Error connecting to localhost:9999',
        lastError: 'connect ECONNREFUSED 127.0.0.1:9999',
        kindlingRestarts: 2,
      },
      { streamId: 1, streamName: 'queue-0', isActive: true, kindlingRestarts: 0 },
    ]);
    expect(rest(store, 'streaming/receivers/1').body.streamName).toBe('queue-0');
    expect(rest(store, 'streaming/receivers/2').status).toBe(404);
    // A new StreamingContext starts with no errors.
    store.apply({ type: 'streamingStarted', batchIntervalMs: 1000, sources: ['socket-localhost:9999'], time: 5000 });
    expect(rest(store, 'streaming/receivers/0').body.kindlingRestarts).toBe(0);
  });
});
