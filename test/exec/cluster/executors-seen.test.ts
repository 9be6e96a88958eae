/**
 * What users see of a cluster's executors: events when one is added or lost (with host, cores and memory), a
 * line above the progress bar for each, and errors that name the executor where a file or a module is missing
 * (the driver may have them; an executor on another host may not).
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, Context, type SchedulerEvent, useModule } from 'kindling';
import { ConsoleProgressBar } from '../../../src/scheduler/console-progress.js';
import { EventBus } from '../../../src/scheduler/event-bus.js';
import { redisSkipReason } from '../../streaming/redis-server.js';
import { waitUntil } from './helpers.js';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-executors-seen-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the progress bar', () => {
  it('prints a line for each executor added or lost, above the bar', () => {
    const writes: string[] = [];
    const bus = new EventBus<SchedulerEvent>();
    const bar = new ConsoleProgressBar(bus, { stream: { isTTY: true, columns: 80, write: (s: string) => writes.push(s) > 0 } });
    const base = { executorId: '7', host: '10.0.0.5', port: 4100, cores: 4, memoryMB: 8192, time: 0 };
    bus.emit({ type: 'executorAdded', ...base });
    bus.emit({ type: 'executorRemoved', ...base, reason: 'sent no heartbeat for 10012 ms' });
    bar.stop();
    expect(writes).toEqual([
      'kindling: executor 7 (10.0.0.5:4100, 4 cores, 8192 MiB) added\n',
      'kindling: executor 7 (10.0.0.5:4100, 4 cores, 8192 MiB) lost: sent no heartbeat for 10012 ms\n',
    ]);
  });
});

describe.skipIf(redisSkipReason !== undefined)('executors of local-cluster[2,1,512]', () => {
  let sc: Context;
  const events: SchedulerEvent[] = [];
  beforeAll(() => {
    sc = new Context({ master: 'local-cluster[2,1,512]', progress: false, ui: false, maxTaskFailures: 2 });
    sc.events.onAny((e) => void events.push(e));
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('appear in events when added and when lost, with host, port, cores and memory', async () => {
    await sc.range(0, 4, 1, 2).count();
    const added = events.filter((e) => e.type === 'executorAdded');
    expect(added).toHaveLength(2);
    for (const e of added) expect(e).toMatchObject({ host: '127.0.0.1', port: expect.any(Number), cores: 1, memoryMB: 512 });
    await sc.faults.killWorker(0);
    await waitUntil(() => events.some((e) => e.type === 'executorRemoved'), 10_000, 'executorRemoved');
    const removed = events.find((e) => e.type === 'executorRemoved');
    expect(removed).toMatchObject({ host: '127.0.0.1', cores: 1, memoryMB: 512, reason: expect.stringMatching(/its process \d+ ended \(SIGKILL\)/) });
    // local-cluster starts another executor process, and the driver leases it.
    await waitUntil(() => events.filter((e) => e.type === 'executorAdded').length === 3, 30_000, 'a third executorAdded');
  });

  it('a file missing on the executor fails naming the executor and the shared filesystem', async () => {
    const dir = mkdtempSync(path.join(scratch, 'shared-'));
    const file = path.join(dir, 'in.txt');
    writeFileSync(file, 'a\nb\n');
    const lines = sc.textFile(file);
    // The driver lists the file and cuts its splits; the executors open it only when the job runs.
    expect(lines.getNumPartitions()).toBeGreaterThan(0);
    unlinkSync(file);
    const err = await lines.count().catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(
      /Cannot read input file \S*in\.txt \(ENOENT\): ENOENT: no such file or directory, open '[^']*in\.txt'\. .* \(on executor \d+ at 127\.0\.0\.1: textFile, saveAsTextFile and checkpoint need a path every executor can see/,
    );
  });

  it('a module missing on the executor fails naming the executor and the module', async () => {
    // In the worker `m` is the module; here it only has to type-check.
    const m: unknown = undefined;
    const err = await sc
      .range(0, 2, 1, 1)
      .map(capture({ m: useModule('kindling-no-such-package') }, (x: number) => x + typeof m))
      .collect()
      .catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(
      /cannot import module 'kindling-no-such-package' \(declared with useModule\).*\(on executor \d+ at 127\.0\.0\.1: install the package where the executors run/,
    );
  });
});

describe.skipIf(redisSkipReason !== undefined)('taskTimeoutMs on local-cluster[1]', () => {
  it('a runaway task has its thread replaced and fails its attempts; the executor stays and runs the next job', async () => {
    const sc = new Context({ master: 'local-cluster[1]', progress: false, ui: false, taskTimeoutMs: 800, maxTaskFailures: 2 });
    try {
      await sc.range(0, 2, 1, 1).count();
      const t0 = Date.now();
      const err = await sc
        .range(0, 1, 1, 1)
        .map((x: number) => {
          while (x >= 0) x++;
          return x;
        })
        .collect()
        .catch((e: unknown) => e as Error);
      expect((err as Error).message).toMatch(/task \d+ computed for more than taskTimeoutMs \(800 ms\); slot 0 of executor \d+ was replaced/);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(await sc.range(0, 10, 1, 2).sum()).toBe(45);
    } finally {
      await sc.stop();
    }
  });
});
