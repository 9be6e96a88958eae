/**
 * TeraSort example: the output is in global key order and a permutation of the generated input, equal to the
 * single-thread Array-sort baseline's records; the summary matches the baseline's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { teraSortBaseline } from '../../bench/baselines/terasort.js';
import { recordHash, run, teraRecord, teraSortRdds } from '../../examples/terasort.js';
import { ENGINES, useContext, useTempDir } from './helpers.js';

const RECORDS = 10_000;
const byRecord = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

describe('teraRecord', () => {
  it('makes 100-byte printable records from the index alone, with distinct keys', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const [k, v] = teraRecord(42, i);
      expect(k).toMatch(/^[ -~]{10}$/);
      expect(v).toHaveLength(90);
      keys.add(k);
    }
    expect(keys.size).toBe(5000);
    expect(teraRecord(42, 7)).toEqual(teraRecord(42, 7));
    expect(teraRecord(43, 7)[0]).not.toBe(teraRecord(42, 7)[0]);
    expect(recordHash('ab', 'c')).not.toBe(recordHash('ac', 'b'));
  });
});

describe.each(ENGINES)('terasort example (%s engine)', (engine) => {
  const ctx = useContext(engine);
  const tmp = useTempDir('terasort');

  it('sorts: in order, a permutation of the input, equal to the baseline', async () => {
    const options = { records: RECORDS, partitions: 3, seed: 5 };
    const { summary } = await run(ctx(), options);
    const base = teraSortBaseline(RECORDS, 5);
    expect(summary.ordered).toBe(true);
    expect({ ...summary, partitionSizes: undefined }).toEqual({ ...base.summary, partitionSizes: undefined });
    expect(summary.partitionSizes).toHaveLength(3);
    expect(summary.partitionSizes.reduce((a, b) => a + b, 0)).toBe(RECORDS);

    const { input, sorted } = teraSortRdds(ctx(), options);
    const out = await sorted.collect();
    expect(out).toHaveLength(RECORDS);
    for (let i = 1; i < out.length; i++) expect(out[i - 1]![0] <= out[i]![0]).toBe(true);
    // A permutation of the input: the same multiset of records (the sorted baseline is that multiset, ordered).
    expect([...out].sort(byRecord)).toEqual(base.sorted);
    expect((await input.collect()).sort(byRecord)).toEqual(base.sorted);
    expect(out.map(([k]) => k)).toEqual(base.sorted.map(([k]) => k));
  });

  it('writes the sorted records with the output option', async () => {
    const out = join(tmp(), 'sorted');
    const { summary } = await run(ctx(), { records: 3000, partitions: 2, output: out });
    expect(summary.ordered).toBe(true);
    const parts = readdirSync(out)
      .filter((f) => f.startsWith('part-'))
      .sort();
    expect(parts).toHaveLength(2);
    const lines = parts.flatMap((p) =>
      readFileSync(join(out, p), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0),
    );
    expect(lines).toEqual(teraSortBaseline(3000).sorted.map(([k, v]) => k + v));
  });
});
