import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Latin1Keys, encodeBucket } from '../../src/shuffle/bucket-codec.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { FetchedInput, type FetchedBucket } from '../../src/shuffle/fetched-input.js';
import { MemoryBudget } from '../../src/shuffle/memory-budget.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-fetched-input-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A fetch: buckets of map outputs arriving in parts, each part as pairs or encoded (as a peer sends it), with a
// spill asked for after some of them. Values number the records in fetch order.
const fetchPlan = fc.record({
  keys: fc.constantFrom<unknown[]>([1, 2, 3], ['a', 'b'], [0, 'x', 2.5], [7]),
  parts: fc.array(
    fc.record({
      map: fc.integer({ min: 0, max: 3 }),
      length: fc.integer({ min: 0, max: 5_000 }),
      encoded: fc.boolean(),
      spillAfter: fc.boolean(),
    }),
    { minLength: 1, maxLength: 8 },
  ),
});

describe('FetchedInput spilling', () => {
  it('gives back the records in map order, spilled or not, read whole, as pairs or as columns (property)', () => {
    fc.assert(
      fc.property(fetchPlan, ({ keys, parts }) => {
        const dir = mkdtempSync(path.join(scratch, 'pool-'));
        // A pool large enough never to spill by itself: the plan says when.
        const budget = new MemoryBudget(1 << 30, dir);
        const input = new FetchedInput(budget, 'a shuffle');
        const again = new FetchedInput(budget, 'a shuffle');
        let n = 0;
        const expected: Pair[] = [];
        // A map output's parts must arrive in order and before the next map's (as the fetcher asks), so the plan's
        // parts are ordered by map. A second input gets them in reverse map order (peers answer in any order).
        const ordered = [...parts].sort((a, b) => a.map - b.map);
        const byMap = new Map<number, FetchedBucket[]>();
        let spills = 0;
        for (const p of ordered) {
          const records: Pair[] = [];
          for (let i = 0; i < p.length; i++) records.push([keys[(i * 7 + n) % keys.length], n + i]);
          n += p.length;
          expected.push(...records);
          const bucket = p.encoded && records.length > 0 ? encodeBucket(records) : records;
          byMap.set(p.map, [...(byMap.get(p.map) ?? []), bucket]);
          input.add([p.map], [bucket]);
          if (p.spillAfter) {
            input.spill();
            spills++;
          }
        }
        for (const m of [...byMap.keys()].sort((a, b) => b - a)) {
          // Every other part spilled: a bucket's parts on disk and in memory, in turn.
          for (const [i, bucket] of byMap.get(m)!.entries()) {
            again.add([m], [bucket]);
            if (i % 2 === 0) again.spill();
          }
        }
        if (spills > 0 && n > 0) expect(readdirSync(dir).length).toBeGreaterThan(0);
        const whole: Pair[] = [];
        for (const b of input.all()) whole.push(...(b as Pair[]));
        expect(whole).toEqual(expected);
        // Columns or pairs, in the same order.
        const read: Pair[] = [];
        again.parts().read(
          (kv) => read.push(kv),
          (ks, vs, from, to) => {
            for (let i = from; i < to; i++) read.push([ks instanceof Latin1Keys ? ks.key(i) : ks[i], vs[i]]);
          },
        );
        expect(read).toEqual(expected);
        input.dispose();
        again.dispose();
        expect(readdirSync(dir)).toEqual([]);
        // The pool's account is kept in floating point: what this input took is given back to within rounding.
        expect(Math.abs(budget.used)).toBeLessThan(1e-3);
      }),
      { numRuns: 40 },
    );
  });
});
