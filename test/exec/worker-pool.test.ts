/** Worker start-up: a worker that cannot start fails the context's jobs clearly instead of respawning forever. */
import { describe, expect, it } from 'vitest';
import { Context, JobFailedError } from 'kindling';

describe('worker pool start-up', () => {
  it('a worker that dies during start-up is not respawned in a loop: jobs fail with the reason', async () => {
    // 1 MiB of heap is not enough to load a worker.
    const sc = new Context({ master: 'local[2]', progress: false, memory: { workerMB: 1 } });
    const started = Date.now();
    await expect(sc.range(3).count()).rejects.toThrow(/worker \d died during start-up .*memory limit/);
    // Every job that cannot start says which job it was, and is a JobFailedError like any failed job.
    const error = await sc
      .range(3)
      .map((x) => x + 1)
      .collect()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toMatch(/^Cannot run collect.*: no worker could start: worker \d died during start-up/);
    expect(Date.now() - started).toBeLessThan(20_000);
    await sc.stop();
  });
});
