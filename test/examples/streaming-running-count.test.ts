/**
 * Running-count example: every batch's updateStateByKey state equals a running fold of the batches so far.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../examples/streaming-running-count.js';
import { useContext } from './helpers.js';

describe('streaming-running-count example', () => {
  const sc = useContext('memory');

  it('keeps a running count per page, validated after every batch', async () => {
    const { summary } = await run(sc(), { batches: 8, intervalMs: 100, rate: 2000 });
    expect(summary.validated).toBe(true);
    expect(summary.batches).toBeGreaterThanOrEqual(8);
    expect(summary.views).toBeGreaterThan(0);
    expect(summary.top[0]![0]).toBe('/');
  });
});
