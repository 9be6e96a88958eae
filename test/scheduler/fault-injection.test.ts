/**
 * Faults at any moment: workers die during start-up, in map and reduce stages, during fetches, between jobs,
 * two at once, by every kind of death (killed, process.exit, out of memory, unhandled rejection). Every run
 * gives the fault-free result or a clear error, the next job succeeds, and the context is whole again: every
 * worker index ready, every channel pointing at the peer's current incarnation, no scheduler state left.
 * `bench/faults.ts` runs the same harness thousands of times; this suite runs a seeded sample and the cases
 * that once broke.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Context, capture, useModule, type SchedulerEvent } from 'kindling';
import { SeededRandom } from 'kindling/datagen';
import { record, useContexts } from './helpers.js';
import { checkWhole, expectedSum, randomPlan, runWithFault, DEATH_KINDS, MOMENTS } from '../../bench/fault-harness.js';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-fault-injection-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = useContexts({ hints: false });

const N = 200_000;
const EXPECTED = expectedSum(N);

describe('faults at random moments (a seeded sample of bench/faults.ts)', () => {
  const rng = new SeededRandom(20261202);
  const random = () => rng.nextFloat();
  // Every kind at every moment once, with a random delay and one or two workers, plus random extra plans.
  const plans = DEATH_KINDS.flatMap((kind) => MOMENTS.map((moment) => ({ ...randomPlan(random, 300), kind, moment })));
  for (let i = 0; i < 4; i++) plans.push(randomPlan(random, 300));
  for (const plan of plans) {
    it(`${plan.kind} of ${plan.workers} worker${plan.workers === 2 ? 's' : ''}, ${plan.moment}, after ${plan.delayMs} ms`, async () => {
      const r = await runWithFault({
        context: (localDir) =>
          new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 160 }, fetchTimeoutMs: 10_000, localDir }),
        plan,
        n: N,
        expected: EXPECTED,
        random,
      });
      expect(r.outcome === 'wrong' ? r.detail : r.outcome).toMatch(/^(correct|error)$/);
      expect(r.nextJobOk).toBe(true);
      expect(r.whole).toBe(true);
      expect(r.clean).toBe(true);
    });
  }
});

describe('worker replacement', () => {
  it('a worker killed 100 ms into start-up is started again; jobs run on both workers', async () => {
    const sc = context();
    const events = record(sc);
    await new Promise((r) => setTimeout(r, 100));
    await sc.faults.killWorker(1);
    expect(await sc.range(0, 1000, 1, 8).sum()).toBe(499_500);
    expect(await checkWhole(sc)).toBe(true);
    // Both indexes ran tasks: the killed one came back.
    const workers = new Set(events.filter((e) => e.type === 'taskStart').map((e) => (e as { workerIndex: number }).workerIndex));
    await sc.range(0, 1000, 1, 16).sum();
    const after = new Set(events.filter((e) => e.type === 'taskStart').map((e) => (e as { workerIndex: number }).workerIndex));
    expect(workers.size + after.size).toBeGreaterThanOrEqual(3);
    expect(after).toEqual(new Set([0, 1]));
  });

  it('a worker that exits in user code is replaced, and a later job with one failing task succeeds', async () => {
    const sc = context();
    const events = record(sc);
    const dir = mkdtempSync(path.join(scratch, 'exit-'));
    const fs = useModule('node:fs');
    const marker = path.join(dir, 'exited');
    const out = await sc
      .range(0, 40, 1, 4)
      .map(
        capture({ fs, marker }, (x: number) => {
          if (x === 17 && !fs.existsSync(marker)) {
            fs.writeFileSync(marker, '');
            process.exit(3);
          }
          return x;
        }),
      )
      .sum();
    expect(out).toBe(780);
    expect(await checkWhole(sc)).toBe(true);
    const lost = events.filter((e) => e.type === 'workerLost').length;
    const added = events.filter((e) => e.type === 'workerAdded' && e.replacement).length;
    expect(lost).toBe(1);
    expect(added).toBe(lost);
    // Executor ids are Spark's: strings, one per incarnation, never reused by a replacement.
    const lostEvent = events.find((e) => e.type === 'workerLost') as Extract<SchedulerEvent, { type: 'workerLost' }>;
    const replacement = events.find((e) => e.type === 'workerAdded' && e.replacement) as Extract<SchedulerEvent, { type: 'workerAdded' }>;
    expect(replacement.workerIndex).toBe(lostEvent.workerIndex);
    expect(typeof replacement.executorId).toBe('string');
    expect(replacement.executorId).not.toBe(lostEvent.executorId);
    const ids = (await sc.faults.snapshot()).backend.workers.map((w) => w.executorId);
    expect(new Set(ids).size).toBe(2);
    expect(ids).toContain(replacement.executorId);
    const failedOnce = path.join(dir, 'failed');
    const second = await sc
      .range(0, 40, 1, 4)
      .map(
        capture({ fs, failedOnce }, (x: number) => {
          if (x === 3 && !fs.existsSync(failedOnce)) {
            fs.writeFileSync(failedOnce, '');
            throw new Error('fails once');
          }
          return x;
        }),
      )
      .sum();
    expect(second).toBe(780);
  });

  it('killing a worker at random moments of a large shuffle always recovers, and later shuffles keep working', async () => {
    const sc = context();
    const rng = new SeededRandom(99);
    const big = () =>
      sc
        .range(0, 3_000_000, 1, 16)
        .map((x): [number, number] => [x % 5003, 1])
        .reduceByKey((a, b) => a + b, 16)
        .map(([, n]) => n)
        .sum();
    for (let i = 0; i < 3; i++) {
      const delay = 50 + rng.nextInt(400);
      const kill = new Promise((r) => setTimeout(r, delay)).then(() => sc.faults.killWorker(1));
      expect(await big()).toBe(3_000_000);
      await kill;
    }
    expect(await checkWhole(sc)).toBe(true);
    expect(
      await sc
        .parallelize(
          [
            [1, 1],
            [2, 2],
            [1, 3],
          ] as Array<[number, number]>,
          3,
        )
        .reduceByKey((a, b) => a + b, 2)
        .collectAsMap(),
    ).toEqual(
      new Map([
        [1, 4],
        [2, 2],
      ]),
    );
  });
});

describe('a runaway task', () => {
  /**
   * Partition 0 never ends (a bug in user code): the worker running it is stuck for good, and it still has a
   * free queue slot, so later tasks are sent there unless the scheduler moves them.
   */
  const runaway = (sc: Context) =>
    sc
      .range(0, 2, 1, 2)
      .map((x) => {
        if (x === 0) for (;;);
        return x;
      })
      .collect();

  it('does not hold up unrelated jobs: queued tasks move, fetches from the stuck worker time out', async () => {
    const sc = context({ fetchTimeoutMs: 1500, localityWaitMs: 50 });
    // A shuffle whose map outputs live on both workers, computed before anything goes wrong.
    const counts = sc
      .range(0, 1000, 1, 8)
      .map((x): [number, number] => [x % 10, 1])
      .reduceByKey((a, b) => a + b, 4);
    expect(await counts.count()).toBe(10);
    const stuck = runaway(sc).then(
      () => 'finished',
      (e: Error) => e.message,
    );
    // A job without a shuffle: its tasks run on the free worker (and those queued behind the runaway move).
    expect(await sc.range(0, 100, 1, 8).sum()).toBe(4950);
    // Reading the shuffle fetches from the stuck worker: the fetch times out and that output is recomputed.
    const read = await counts.mapValues((n) => n * 2).collect();
    expect(new Map(read)).toEqual(new Map(Array.from({ length: 10 }, (_, k) => [k, 200])));
    await sc.stop();
    expect(await stuck).toMatch(/stopped/);
  });

  it('with taskTimeoutMs, fails its job with a clear error, replaces the worker, and the context goes on', async () => {
    const sc = context({ taskTimeoutMs: 800, maxTaskFailures: 2 });
    const err = await runaway(sc).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/taskTimeoutMs \(800 ms\)/);
    expect(err?.message).toMatch(/partition 0 of stage \d+/);
    expect(await sc.range(0, 100, 1, 8).sum()).toBe(4950);
    expect(await checkWhole(sc)).toBe(true);
  });
});

describe('captured values', () => {
  it('are released when their job ends: the same job 50 times keeps memory flat', async () => {
    const sc = context();
    // 24 MB captured per job, a fresh copy each time (as a program that rebuilds its lookup table would).
    const run = () => {
      const table = new Float64Array(3_000_000).fill(1);
      return sc
        .range(0, 64, 1, 4)
        .map(capture({ table }, (x: number) => x + table[x]!))
        .sum();
    };
    const rss: number[] = [];
    for (let i = 0; i < 50; i++) {
      expect(await run()).toBe(2016 + 64);
      rss.push(process.memoryUsage().rss);
    }
    const s = await sc.faults.snapshot();
    expect(s.stagesHeld).toBe(0);
    // Kept per job, 50 jobs would hold 50 x 24 MB in each of two workers (about 2.3 GB).
    const growth = (rss[49]! - rss[9]!) / 2 ** 20;
    expect(growth).toBeLessThan(250);
    // Legitimately heavy: 50 jobs each filling 24 MB and cloning it to two workers (2.4 GB copied in all); it took
    // 64-66 s at load 20-30 against the 60 s default, and 187 s in a full run at load 25-30.
  }, 360_000);
});
