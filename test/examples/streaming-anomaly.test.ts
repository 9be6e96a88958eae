/**
 * Anomaly-detector example against a real redis-server: the alerts it publishes to Redis equal a recomputation
 * from the batches it read, the job read exactly the readings and spikes the producer sent (by the producer's own
 * record, not by how many arrived within some wall-clock time), and every one of those spikes was flagged.
 *
 * The producer is paced by the job (a chunk of readings per batch, the next once the job has read it), so the
 * counts are the same on a quiet and on a loaded machine: 1,500 readings hold the spikes 97, 194, ..., 1455.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../examples/streaming-anomaly.js';
import { redisSkipReason, useRedisServer } from '../streaming/redis-server.js';
import { useContext } from './helpers.js';

describe.skipIf(redisSkipReason !== undefined)(`streaming-anomaly example${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  const sc = useContext('memory');
  const url = useRedisServer();

  it('publishes an alert for every spike the producer sent, and only what the rule flags', async () => {
    const { summary } = await run(sc(), {
      redisUrl: url(),
      batches: 15,
      intervalMs: 100,
      windowBatches: 10,
      rate: 0,
      paced: { readings: 1500, perBatch: 100 },
      sigmas: 4,
    });
    const spikes = Array.from({ length: 15 }, (_, i) => 97 * (i + 1));
    expect(summary.validated).toBe(true);
    expect(summary.sent).toBe(1500);
    expect(summary.readings).toBe(1500);
    expect(summary.spikesSent).toEqual(spikes);
    expect(summary.spikesRead).toBe(spikes.length);
    expect(summary.spikesFlagged).toBe(spikes.length);
    expect(summary.alerts).toBeGreaterThanOrEqual(spikes.length);
    // 15+ batches of several jobs each (window, join, sink, the validation's collect): 11 s at load 20, over 60 s
    // in 1 of 10 runs at load 38.
  }, 180_000);
});
