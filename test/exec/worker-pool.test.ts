/** Worker start-up: a worker that cannot start fails the context's jobs clearly instead of respawning forever. */
import { describe, expect, it } from 'vitest';
import { Context } from 'kindling';

describe('worker pool start-up', () => {
  it('a worker that dies during start-up is not respawned in a loop: jobs fail with the reason', async () => {
    // 1 MiB of heap is not enough to load a worker.
    const sc = new Context({ master: 'local[2]', progress: false, memory: { workerMB: 1 } });
    const started = Date.now();
    await expect(sc.range(3).count()).rejects.toThrow(/worker \d died during start-up .*memory limit/);
    await expect(sc.range(3).count()).rejects.toThrow(/died during start-up/);
    expect(Date.now() - started).toBeLessThan(20_000);
    await sc.stop();
  });
});
