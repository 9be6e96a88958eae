/**
 * Anomaly-detector example against a real redis-server: the alerts it publishes to Redis equal a recomputation
 * from the batches it read, and every injected spike it read is among them.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../examples/streaming-anomaly.js';
import { redisSkipReason, useRedisServer } from '../streaming/redis-server.js';
import { useContext } from './helpers.js';

describe.skipIf(redisSkipReason !== undefined)(`streaming-anomaly example${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  const sc = useContext('memory');
  const url = useRedisServer();

  it('publishes an alert for every spike, and only what the rule flags', async () => {
    const { summary } = await run(sc(), { redisUrl: url(), batches: 15, intervalMs: 100, windowBatches: 10, rate: 1000, sigmas: 4 });
    expect(summary.validated).toBe(true);
    expect(summary.spikesRead).toBeGreaterThan(3);
    expect(summary.spikesFlagged).toBe(summary.spikesRead);
    expect(summary.alerts).toBeGreaterThanOrEqual(summary.spikesRead);
  });
});
