/**
 * The external combiner measures its table from a reservoir of 64 sampled combiners. A number drawn into a
 * reservoir of numbers only is not drawn at all (it would change neither the estimate nor any later group's chance
 * to be drawn): that shortcut must not keep combiners of other kinds out once they come.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Pair } from '../../src/shuffle/combine.js';
import { combineValuesExternally } from '../../src/shuffle/external-combiner.js';
import { MemoryBudget, setWorkerMemoryBudget } from '../../src/shuffle/memory-budget.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-combine-estimate-'));
afterEach(() => setWorkerMemoryBudget(undefined));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Combines `records` under a pool of `limit` bytes; returns the spills and the groups. */
function combine(records: Pair[], limit: number): { spills: number; groups: Map<unknown, unknown> } {
  const budget = new MemoryBudget(limit, mkdtempSync(path.join(scratch, 'run-')));
  setWorkerMemoryBudget(budget);
  const groups = new Map<unknown, unknown>();
  const agg = {
    createCombiner: (v: unknown) => v,
    mergeValue: (c: unknown, v: unknown) => (typeof c === 'number' ? c + (v as number) : [...(c as number[]), ...(v as number[])]),
    mergeCombiners: (a: unknown, b: unknown) => (typeof a === 'number' ? a + (b as number) : [...(a as number[]), ...(b as number[])]),
  };
  combineValuesExternally(
    (add) => {
      for (const kv of records) add(kv);
    },
    agg,
    1,
    'RDD 1 (mixed)',
    ([k, c]) => groups.set(k, c),
  );
  return { spills: budget.spills, groups };
}

describe('the combine table estimate', () => {
  it('sees combiners of another kind that come after many numbers, and spills for them', () => {
    // 20k keys with number combiners (the reservoir all numbers, no draws), then 20k keys of 256-number lists
    // (~2 KB each, ~40 MB in all): about 64 * ln 2 = 44 of the 64 samples end as lists, an estimate of ~30 MB.
    const list = Array.from({ length: 256 }, (_, i) => i);
    const records: Pair[] = [];
    for (let k = 0; k < 20_000; k++) records.push([k, 1]);
    for (let k = 20_000; k < 40_000; k++) records.push([k, list]);
    const { spills, groups } = combine(records, 8 * 2 ** 20);
    expect(spills).toBeGreaterThan(0);
    expect(groups.size).toBe(40_000);
    expect(groups.get(5)).toBe(1);
    expect(groups.get(30_000)).toEqual(list);
  });

  it('does not spill a table of numbers that fits, however many keys', () => {
    const records: Pair[] = [];
    for (let k = 0; k < 40_000; k++) records.push([k, k / 2]);
    for (let k = 0; k < 40_000; k += 3) records.push([k, 1]);
    const { spills, groups } = combine(records, 8 * 2 ** 20);
    expect(spills).toBe(0);
    expect(groups.get(3)).toBe(2.5);
    expect(groups.get(4)).toBe(2);
  });
});
