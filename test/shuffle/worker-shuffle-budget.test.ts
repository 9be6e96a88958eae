/**
 * The memory engine's shuffle store is bounded per worker, not only per map task: a worker keeps the outputs of
 * many map tasks, each under the per-task spill threshold, and together they must still fit the worker's
 * shuffle pool (Spark's shared execution memory). What the pool spills reads back identical.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compareKeys } from '../../src/core/keys.js';
import { SpillingShuffleManager } from '../../src/shuffle/spilling-shuffle-manager.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';
import type { Pair } from '../../src/shuffle/combine.js';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-worker-shuffle-budget-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MAPS = 20;
const REDUCERS = 4;
const RECORDS_PER_MAP = 5000;

/** Map output `m`: keys shared across maps (so reducers see each key from several outputs), mixed kinds. */
function mapOutput(m: number): Pair[] {
  const out: Pair[] = [];
  for (let i = 0; i < RECORDS_PER_MAP; i++) {
    const k = (i * 31 + m) % 3000;
    const key = k % 3 === 0 ? k : k % 3 === 1 ? `w${k}` : [k % 7, `x${k}`];
    out.push([key, { map: m, i }]);
  }
  return out;
}

function store(manager: SpillingShuffleManager): void {
  for (let m = 0; m < MAPS; m++) {
    const w = manager.writer(0, m, REDUCERS);
    mapOutput(m).forEach((kv, i) => w.add(i % REDUCERS, kv));
    w.close();
  }
}

/** A bucket's records in the engine's key order, ties by value, so spilled (sorted) and unspilled compare. */
const canonical = (b: readonly Pair[]): Pair[] =>
  [...b].sort(
    (x, y) =>
      compareKeys(x[0], y[0]) ||
      compareKeys([(x[1] as { map: number }).map, (x[1] as { i: number }).i], [(y[1] as { map: number }).map, (y[1] as { i: number }).i]),
  );

describe('the shuffle store under a worker-wide budget', () => {
  it('spills stored map outputs once their total outgrows the pool, though each is under the per-task threshold', () => {
    const dir = mkdtempSync(path.join(scratch, 'budget-'));
    // Each map output is far below the per-task threshold (so without the pool nothing would spill), but the
    // twenty of them are several times the pool.
    const perTask = 64 * 2 ** 20;
    const budget = new MemoryBudget(1.5 * 2 ** 20, dir);
    const bounded = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: perTask, writeAllToDisk: false, budget });
    const unbounded = new SpillingShuffleManager({ workerIndex: 0, dir: path.join(dir, 'plain'), spillBytes: perTask, writeAllToDisk: false });
    store(bounded);
    store(unbounded);

    expect(unbounded.spills).toBe(0);
    expect(bounded.spills).toBeGreaterThan(0);
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
    expect(readdirSync(dir).some((f) => f.startsWith('shuffle_0_'))).toBe(true);

    const mapIds = Array.from({ length: MAPS }, (_, m) => m);
    for (let r = 0; r < REDUCERS; r++) {
      const got = bounded.fetchBuckets(0, mapIds, r);
      const want = unbounded.fetchBuckets(0, mapIds, r);
      for (let m = 0; m < MAPS; m++) expect(canonical(got[m]!)).toEqual(canonical(want[m]!));
    }
    // Fetching twice (a later job) gives the same again: spilling never consumed or reordered stored data.
    expect(bounded.fetchBuckets(0, mapIds, 1).map(canonical)).toEqual(unbounded.fetchBuckets(0, mapIds, 1).map(canonical));
    bounded.close();
    unbounded.close();
  });

  it("releases a shuffle's share of the pool when the shuffle is removed", () => {
    const dir = mkdtempSync(path.join(scratch, 'budget-'));
    const budget = new MemoryBudget(64 * 2 ** 20, dir);
    const manager = new SpillingShuffleManager({ workerIndex: 0, dir, spillBytes: 64 * 2 ** 20, writeAllToDisk: false, budget });
    store(manager);
    expect(budget.used).toBeGreaterThan(0);
    manager.remove(0);
    expect(budget.used).toBe(0);
    manager.close();
  });
});
