/**
 * Faults a reviewer tries beyond faults.test.ts, each at a random moment (seeded per run, logged; replay with
 * KINDLING_FAULT_SEED): an executor SIGKILLed while it registers, two executors SIGKILLed at once, an executor
 * SIGKILLed while the driver fetches its large result, Redis restarted (its keys gone) mid-job or while an executor
 * is idle, an executor SIGKILLed in a batch of a stream with windows and state. Each ends in the right result or a
 * clear error, and the context runs the next job.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capture } from 'kindling';
import { manual } from '../../streaming/helpers.js';
import { redisSkipReason, useRedisServer } from '../../streaming/redis-server.js';
import { record, useContexts } from '../../scheduler/helpers.js';
import { expected, job, seededRandom, startRedis, useExecutors, waitUntil } from './helpers.js';

function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // computing
  }
}

const { seed, random } = seededRandom();

const context = useContexts({ ui: false });

describe.skipIf(redisSkipReason !== undefined)(`cluster faults at random moments (seed ${seed})`, () => {
  const url = useRedisServer();
  const executor = useExecutors();

  it('an executor SIGKILLed while it registers is never leased for long: the job runs on the others', async () => {
    const args = ['--master', url(), '--cluster', 'reg', '--cores', '1', '--memory', '512m'];
    const good = executor(args);
    await good.waitFor('registered and ready');
    const sc = context({ master: `${url()}?cores=2`, cluster: 'reg', executorTimeoutMs: 1500, executorWaitMs: 20_000 });
    const events = record(sc);
    expect(await sc.range(0, 4, 1, 2).count()).toBe(4);
    // Killed somewhere between spawning (node still loading) and just after it registered.
    const doomed = executor(args);
    const delay = Math.floor(random() * 1200);
    await new Promise((r) => setTimeout(r, delay));
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    expect(await job(sc)).toEqual(expected);
    // If the driver leased it, it declared it lost; the job above ran to its end either way.
    const added = events.filter((e) => e.type === 'workerAdded').length;
    expect(added).toBeGreaterThanOrEqual(1);
    expect(await job(sc)).toEqual(expected);
  });

  it('two executors SIGKILLed at once mid-shuffle (local-cluster[3]): the same result, then the next job', async () => {
    const sc = context({ master: 'local-cluster[3]' });
    const events = record(sc);
    await sc.range(0, 3).count();
    // The job's map stage or its reduce stage (the stage ids after the warm-up job's), at a random task.
    const stage = 1 + Math.floor(random() * 2);
    const at = Math.floor(random() * 4);
    const delay = Math.floor(random() * 40);
    let killed = false;
    sc.events.on('taskStart', (e) => {
      if (!killed && e.stageId === stage && e.partition >= at) {
        killed = true;
        const victims = [e.workerIndex, (e.workerIndex + 1) % 3];
        setTimeout(() => void Promise.all(victims.map((w) => sc.faults.killWorker(w))), delay);
      }
    });
    expect(await job(sc)).toEqual(expected);
    expect(killed).toBe(true);
    await waitUntil(() => events.filter((e) => e.type === 'workerLost').length >= 2, 15_000, 'two lost executors');
    expect(await job(sc)).toEqual(expected);
  });

  it('an executor SIGKILLed while the driver fetches its large result: recomputed, whole', async () => {
    const sc = context({ master: 'local-cluster[2]' });
    const events = record(sc);
    const big = sc.range(0, 4, 1, 4).flatMap((p: number) => Array.from({ length: 60_000 }, (_, i) => `row-${p}-${i}-${'x'.repeat(20)}`));
    await sc.range(0, 2).count();
    const delay = Math.floor(random() * 60);
    let killed = false;
    sc.events.on('taskEnd', (e) => {
      if (!killed && e.result === 'success') {
        killed = true;
        setTimeout(() => void sc.faults.killWorker(e.workerIndex), delay);
      }
    });
    const rows = await big.collect();
    expect(killed).toBe(true);
    expect(rows).toHaveLength(240_000);
    expect(new Set(rows).size).toBe(240_000);
    expect(rows[0]).toBe(`row-0-0-${'x'.repeat(20)}`);
    await waitUntil(() => events.some((e) => e.type === 'workerLost'), 15_000, 'the lost executor');
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  });
});

describe.skipIf(redisSkipReason !== undefined)(`Redis restarted mid-job (seed ${seed})`, () => {
  const executor = useExecutors();

  it('the job ends (right result or an error naming Redis); after the executors register again, the next job runs', async () => {
    let redis = await startRedis();
    const port = Number(new URL(redis.url).port);
    try {
      const args = ['--master', redis.url, '--cluster', 'restart', '--cores', '1', '--memory', '512m'];
      const execs = [executor(args), executor(args)];
      await Promise.all(execs.map((e) => e.waitFor('registered and ready')));
      // The mapreduce engine writes its map outputs to the executors' disks: files the dropped application leaves.
      const sc = context({
        master: `${redis.url}?cores=2`,
        cluster: 'restart',
        engine: 'mapreduce',
        executorTimeoutMs: 3000,
        executorWaitMs: 30_000,
      });
      const events = record(sc);
      await sc
        .range(0, 100, 1, 4)
        .map((x): [number, number] => [x % 3, 1])
        .reduceByKey((a, b) => a + b, 2)
        .count();
      // Each slot's folder (slot-INDEX-EPOCH in the application's folder); the same application leases the executors
      // again after the restart, into new epochs.
      const list = (d: string) => (existsSync(d) ? readdirSync(d).map((f) => path.join(d, f)) : []);
      const slotDirs = execs.flatMap((e) => list(e.folder).flatMap(list)).filter((d) => path.basename(d).startsWith('slot-'));
      expect(slotDirs.length).toBeGreaterThan(0);
      const delay = Math.floor(random() * 300);
      const down = Math.floor(random() * 1000);
      let restarted: Promise<void> | undefined;
      sc.events.on('taskStart', () => {
        restarted ??= new Promise<void>((resolve) =>
          setTimeout(async () => {
            await redis.stop();
            await new Promise((r) => setTimeout(r, down));
            redis = await startRedis(port);
            resolve();
          }, delay),
        );
      });
      const t0 = Date.now();
      const out = await sc
        .range(0, 200, 1, 40)
        .map(
          capture({ spin }, (x: number) => {
            spin(30);
            return x;
          }),
        )
        .sum()
        .then(
          (n) => ({ n }),
          (e: unknown) => ({ e: e as Error }),
        );
      console.log(`Redis restarted ${delay} ms after the first task, down ${down} ms:`, 'n' in out ? out.n : out.e.message);
      if ('n' in out) expect(out.n).toBe(19900);
      else expect(out.e.message).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+, cluster 'restart'/);
      expect(Date.now() - t0).toBeLessThan(30_000);
      await restarted;
      // Redis lost every key, ids included: the executors register again (ids from 1 again, new tokens), and
      // the driver leases them although it saw those ids lost.
      expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
      const lostAt = events.findIndex((e) => e.type === 'workerLost');
      expect(events.slice(lostAt).some((e) => e.type === 'workerAdded' && e.replacement)).toBe(true);
      for (const e of execs) await e.waitFor(/is idle again: registered as executor/);
      // The dropped application's files went with it.
      expect(slotDirs.filter((d) => existsSync(d))).toEqual([]);
    } finally {
      await redis.stop();
    }
  });

  it('an idle executor registers again after Redis restarted without its data, and a driver then finds it', async () => {
    let redis = await startRedis();
    const port = Number(new URL(redis.url).port);
    try {
      const args = ['--master', redis.url, '--cluster', 'idle', '--cores', '1', '--memory', '512m'];
      const e = executor(args);
      await e.waitFor('registered and ready');
      await redis.stop();
      await new Promise((r) => setTimeout(r, Math.floor(random() * 1000)));
      redis = await startRedis(port);
      await e.waitFor(/is idle again: registered as executor 1 /, 10_000);
      const sc = context({ master: redis.url, cluster: 'idle', executorWaitMs: 10_000 });
      expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
    } finally {
      await redis.stop();
    }
  });
});

describe.skipIf(redisSkipReason !== undefined)(`a stream on local-cluster[2], an executor SIGKILLed mid-batch (seed ${seed})`, () => {
  // A worker killed mid-batch once hung the job: the window re-reads batch 0's shuffle output (its stage skipped) and part
  // of it died with the worker; the DAG scheduler now runs such a skipped parent again (fault-tolerance.test.ts).
  it('windowed counts with and without an inverse, and running state, equal a recount of the input', async () => {
    const sc = context({ master: 'local-cluster[2]' });
    const events = record(sc);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-cluster-stream-'));
    try {
      sc.setCheckpointDir(path.join(dir, 'checkpoints'));
      const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 200 }, (_, i) => (b * 7 + i * 3) % 11));
      const { ssc, tick } = manual(sc);
      const pairs = ssc.queueStream(batches.map((b) => [...b])).map((k): [number, number] => [k, 1]);
      const windowed: Array<Array<[number, number]>> = [];
      const inverse: Array<Array<[number, number]>> = [];
      const state: Array<Array<[number, number]>> = [];
      const sorted = (xs: Array<[number, number]>) => xs.sort((a, b) => a[0] - b[0]);
      pairs
        .reduceByKeyAndWindow((a, b) => a + b, { window: 3000, slide: 1000 })
        .foreachRDD(async (rdd) => void windowed.push(sorted(await rdd.collect())));
      pairs
        .reduceByKeyAndWindow((a, b) => a + b, { window: 3000, slide: 1000, inverse: (a, b) => a - b, filter: ([, n]) => n > 0 })
        .foreachRDD(async (rdd) => void inverse.push(sorted(await rdd.collect())));
      pairs
        .updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.reduce((a, b) => a + b, 0))
        .foreachRDD(async (rdd) => void state.push(sorted(await rdd.collect())));
      const killBatch = 1 + Math.floor(random() * 6);
      const delay = Math.floor(random() * 50);
      let batch = 0;
      let killed = false;
      sc.events.on('taskStart', (e) => {
        if (!killed && batch === killBatch) {
          killed = true;
          setTimeout(() => void sc.faults.killWorker(e.workerIndex), delay);
        }
      });
      await ssc.start();
      for (batch = 0; batch < batches.length; batch++) await tick();
      await ssc.stop({ stopContext: false });
      expect(killed).toBe(true);
      await waitUntil(() => events.some((e) => e.type === 'workerLost'), 15_000, 'the lost executor');
      const counts = (bs: number[][]): Array<[number, number]> => {
        const m = new Map<number, number>();
        for (const k of bs.flat()) m.set(k, (m.get(k) ?? 0) + 1);
        return sorted([...m]);
      };
      const want = batches.map((_, t) => counts(batches.slice(Math.max(0, t - 2), t + 1)));
      expect(windowed).toEqual(want);
      expect(inverse).toEqual(want);
      expect(state).toEqual(batches.map((_, t) => counts(batches.slice(0, t + 1))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
