/**
 * Cached partitions of an RDD computed from an indeterminate shuffle (a repartition over a reduceByKey whose
 * partitions come back in another order when computed again) must roll back with that shuffle. When a worker dies,
 * the partitions it cached are computed again from the shuffle run again in full; the partitions the live worker
 * kept came from the first computation, so reading both would lose and double records. The specs kill a worker at a
 * random moment of jobs over such a cached RDD, and check that every job's result is one whole computation: every
 * key once, with its sum. A cache above the shuffle (unordered) is kept, and a task of an earlier stage attempt
 * that caches its partition after the rollback never has it read.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { capture, taskContext, useModule, type BlockUpdatedEvent, type RDD } from 'kindling';
import { record, useContexts } from './helpers.js';
import { KEYS, SPILLING, expectedSums, killAfterFirstResult, problems, slow, sums } from './indeterminate-helpers.js';

// Local bindings for the modules a shipped function uses (Vite rewrites statically imported names inside function bodies).
const fsm = await import('node:fs');
const threads = await import('node:worker_threads');
const currentTask = taskContext;

const context = useContexts({ hints: false, memory: SPILLING });
const expected = expectedSums();

const MOMENTS = ['during the job that caches', 'between the jobs', 'during the job that reads the cache'] as const;

/**
 * The RDD cached (the repartition itself, or a map computed from it) and a reader of it whose tasks last long
 * enough for a kill to land mid-stage.
 */
function cachedRepartition(
  sc: ReturnType<typeof context>,
  at: 'repartition' | 'map after it',
): { cached: RDD<[number, number]>; reader: RDD<[number, number]> } {
  const repartitioned = sums(sc).repartition(3);
  const cached = (at === 'repartition' ? repartitioned : repartitioned.map(slow)).cache();
  return { cached, reader: cached.map(slow) };
}

describe('cached partitions of an RDD computed from an indeterminate shuffle', () => {
  it('a worker killed at a random moment of jobs over the cached RDD: every job gives one whole computation, no key lost or doubled', async () => {
    let rolledBack = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.constantFrom(...MOMENTS),
        fc.integer({ min: 0, max: 40 }),
        fc.constantFrom('repartition' as const, 'map after it' as const),
        async (victim, moment, delayMs, at) => {
          const sc = context();
          await sc.range(2).count(); // both workers up, so the kill lands in the job
          const { cached, reader } = cachedRepartition(sc, at);
          const what = `victim ${victim}, ${moment}, ${delayMs} ms, cached at the ${at}`;
          if (moment === MOMENTS[0]) killAfterFirstResult(sc, [victim], delayMs, (e) => e.name.startsWith('count'));
          expect(await reader.count(), what).toBe(KEYS);
          if (moment === MOMENTS[1]) await sc.faults.killWorker(victim);
          if (moment === MOMENTS[2]) killAfterFirstResult(sc, [victim], delayMs, (e) => e.name.startsWith('collect'));
          const out = await reader.collect();
          expect(problems(out, expected).slice(0, 5), what).toEqual([]);
          expect(out).toHaveLength(KEYS);
          // What stays cached is one computation too: read again from the cache, the same exact records.
          expect(problems(await cached.collect(), expected).slice(0, 5), `${what}: read from the cache`).toEqual([]);
          // A kill between the jobs always takes map outputs of the repartition and cached partitions with it.
          if (moment === MOMENTS[1]) expect(cached.cacheGeneration, what).toBeGreaterThan(0);
          if (cached.cacheGeneration > 0) rolledBack++;
          await sc.stop();
        },
      ),
      { numRuns: 6, examples: [[0, MOMENTS[1], 0, 'map after it']], endOnFailure: true },
    );
    expect(rolledBack).toBeGreaterThan(0);
  }, 300_000);

  it('the mapreduce engine caches nothing: the cached RDD is computed again with its shuffle, exactly', async () => {
    for (const victim of [0, 1]) {
      const sc = context({ engine: 'mapreduce' });
      await sc.range(2).count();
      const { cached, reader } = cachedRepartition(sc, 'map after it');
      expect(await reader.count()).toBe(KEYS);
      await sc.faults.killWorker(victim);
      expect(problems(await reader.collect(), expected).slice(0, 5)).toEqual([]);
      expect(problems(await cached.collect(), expected).slice(0, 5)).toEqual([]);
      await sc.stop();
    }
  }, 180_000);

  it('a cached RDD above the shuffle (unordered) is kept: only its partitions lost with the worker are computed again', async () => {
    const victim = 1;
    const sc = context();
    const events = record(sc);
    await sc.range(2).count();
    const above = sums(sc).map(slow).cache();
    const below = above.repartition(3).cache();
    expect(above.outputLevel).toBe('unordered');
    expect(await below.count()).toBe(KEYS);
    const blocks = (from: number, rdd: RDD<unknown>, change: BlockUpdatedEvent['change']) =>
      events.slice(from).filter((e): e is BlockUpdatedEvent => e.type === 'blockUpdated' && e.rddId === rdd.id && e.change === change);
    const lost = blocks(0, above, 'added')
      .filter((e) => e.workerIndex === victim)
      .map((e) => e.partition);
    const kept = blocks(0, above, 'added')
      .filter((e) => e.workerIndex !== victim)
      .map((e) => e.partition);
    expect(lost.length, 'the victim cached part of the RDD above').toBeGreaterThan(0);
    await sc.faults.killWorker(victim);
    const mark = events.length;
    expect(problems(await below.collect(), expected).slice(0, 5)).toEqual([]);
    // The cache below the repartition rolled back (dropped on the live worker too); the one above did not.
    expect(below.cacheGeneration).toBe(1);
    expect(blocks(mark, below, 'dropped').some((e) => e.workerIndex !== victim)).toBe(true);
    expect(above.cacheGeneration).toBe(0);
    expect(blocks(mark, above, 'dropped')).toEqual([]);
    // A partition can be cached on both workers (a task queued behind a slow one moves and computes it again): it
    // survives. Every partition cached on the victim alone is computed again, and nothing else.
    const lostOnly = [...new Set(lost.filter((p) => !kept.includes(p)))].sort();
    const computedAgain = blocks(mark, above, 'added').map((e) => e.partition);
    expect(computedAgain.filter((p) => kept.includes(p))).toEqual([]);
    expect([...new Set(computedAgain)].sort()).toEqual(lostOnly);
  }, 120_000);

  it('a task of the first stage attempt that caches its partition after the rollback: its block is never read', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kindling-stale-cache-'));
    try {
      const stalled = path.join(dir, 'stalled');
      const go = path.join(dir, 'go');
      // The first task to get here (whichever partition) says which worker runs it, then waits, at an await (so its
      // worker serves messages meanwhile), until the driver has rolled the cache back; the others go on. The worker's
      // index is read from the thread's start data: a test of the local backend.
      const stallOnce = capture(
        { fsm: useModule('node:fs'), threads: useModule('node:worker_threads'), stalled, go, currentTask },
        async (kv: [number, number]): Promise<[number, number]> => {
          try {
            fsm.writeFileSync(stalled, `${threads.workerData.workerIndex} ${currentTask().partitionId}`, { flag: 'wx' });
          } catch {
            return kv;
          }
          for (let waited = 0; !fsm.existsSync(go) && waited < 60_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
          return kv;
        },
      );
      const sc = context();
      const events = record(sc);
      await sc.range(2).count();
      const x = sums(sc).repartition(3).mapAsync(stallOnce).cache();
      let rolledBackWhileStalled = false;
      sc.events.on('stageSubmitted', (e) => {
        // The repartition's map stage submitted again: the rollback has happened on the driver.
        if (e.attempt > 0 && e.name.includes('repartition') && !rolledBackWhileStalled) {
          rolledBackWhileStalled = true;
          writeFileSync(go, '');
        }
      });
      const counted = x.count();
      let stall = '';
      for (const t0 = Date.now(); stall === '' && Date.now() - t0 < 60_000; await new Promise((r) => setTimeout(r, 10))) {
        try {
          stall = readFileSync(stalled, 'utf8');
        } catch {}
      }
      const [holder, partition] = stall.split(' ').map(Number) as [number, number];
      // The other worker dies: its map outputs of both shuffles are lost, so the repartition runs again in full.
      await sc.faults.killWorker(1 - holder);
      expect(await counted).toBe(KEYS);
      expect(rolledBackWhileStalled, 'the rollback happened while the first attempt of the partition was still running').toBe(true);
      // The stalled task ended after the rollback and cached what it computed from the first computation.
      const ends = events.filter((e) => e.type === 'taskEnd' && e.partition === partition && e.workerIndex === holder && e.stageAttempt === 0);
      expect(ends.length).toBeGreaterThan(0);
      expect(x.cacheGeneration).toBe(1);
      // Read from the cache: one computation, not the late block mixed with the rest.
      expect(problems(await x.collect(), expected).slice(0, 5)).toEqual([]);
      expect(problems(await x.map(slow).collect(), expected).slice(0, 5)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
