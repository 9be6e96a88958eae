/**
 * Streaming word count example: every window of the inverse-reduced count equals a recount of its batches.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../examples/streaming-wordcount.js';
import { useContext } from './helpers.js';

describe('streaming-wordcount example', () => {
  const sc = useContext('memory');

  it('counts words over sliding windows, each window validated against a recount', async () => {
    const { summary } = await run(sc(), { batches: 8, intervalMs: 100, windowBatches: 3, slideBatches: 2, rate: 2000 });
    expect(summary.validated).toBe(true);
    expect(summary.windows).toBeGreaterThanOrEqual(3);
    expect(summary.records).toBeGreaterThan(0);
    expect(summary.topWords[0]![0]).toBe('the');
  });
});
