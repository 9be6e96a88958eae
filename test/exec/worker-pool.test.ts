/** Worker start-up: a worker that cannot start fails the context's jobs clearly instead of respawning forever. */
import { describe, expect, it } from 'vitest';
import { Context, capture, useModule } from 'kindling';
import { WORKER_YOUNG_GENERATION_MB } from '../../src/exec/local/worker-api.js';

const v8 = useModule('node:v8');

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

describe('worker heap limits', () => {
  it("each worker's young generation is bounded (issue 8: it was most of a job's RSS), and workerMB still bounds the old one", async () => {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 512 } });
    try {
      // Records that survive a few scavenges make V8 grow the young generation up to its limit (48 MiB by
      // default); so do they here, then each worker reports its heap spaces.
      const spaces = await sc
        .parallelize([0, 1], 2)
        .mapPartitions(
          capture({ v8 }, () => {
            let window: Array<{ i: number }> = [];
            for (let i = 0; i < 2_000_000; i++) {
              window.push({ i });
              if (window.length > 300_000) window = [];
            }
            const stats: Array<{ space_name: string; space_size: number }> = v8.getHeapSpaceStatistics();
            const size = (name: string): number => stats.find((s) => s.space_name === name)?.space_size ?? 0;
            return [{ newSpace: size('new_space'), heapLimit: v8.getHeapStatistics().heap_size_limit, kept: window.length }];
          }),
        )
        .collect();
      expect(spaces).toHaveLength(2);
      for (const s of spaces) {
        // Two semi-spaces of a third of the young generation each.
        expect(s.newSpace).toBeGreaterThan(0);
        expect(s.newSpace).toBeLessThanOrEqual(((2 * WORKER_YOUNG_GENERATION_MB) / 3) * 2 ** 20);
        expect(s.heapLimit).toBeLessThan(1024 * 2 ** 20);
      }
    } finally {
      await sc.stop();
    }
  });
});
