import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compareKeys } from '../../src/core/keys.js';
import { mergeSortedRuns, readRun, writeSortedRun } from '../../src/shuffle/sorted-runs.js';
import type { Pair } from '../../src/shuffle/combine.js';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-sorted-runs-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sortPairs = (xs: Pair[]) => [...xs].sort((a, b) => compareKeys(a[0], b[0]));

describe('sorted runs', () => {
  it('a run is written sorted by key and reads back identical', () => {
    const dir = mkdtempSync(path.join(scratch, 'runs-'));
    const pairs: Pair[] = [
      ['b', 1],
      [[1, 2], 'x'],
      [3, { a: 1 }],
      ['a', new Map([[1, 2]])],
    ];
    writeSortedRun(path.join(dir, 'r0'), pairs);
    expect(readRun(path.join(dir, 'r0'))).toEqual(sortPairs(pairs));
  });

  it('merging sorted runs equals sorting their concatenation, stably', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.string({ maxLength: 2 })), fc.nat()), { maxLength: 30 }), {
          maxLength: 6,
        }),
        (runs) => {
          const sortedRuns = runs.map((r) => sortPairs(r as Pair[]));
          const merged = mergeSortedRuns(sortedRuns);
          // Stable reference: sort the concatenation (Array.prototype.sort is stable), runs in order.
          expect(merged).toEqual(sortPairs(sortedRuns.flat()));
        },
      ),
      { numRuns: 100 },
    );
  });
});
