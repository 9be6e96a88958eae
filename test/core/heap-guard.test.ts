/**
 * The heap guard in this thread, with limits chosen against the thread's measured live heap: disarmed or far from
 * its limit it never fires; near it, it first asks for relief (spilling) and continues when that freed enough;
 * otherwise it fails with a HeapLimitError naming what grew, the sizes and the limit.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { armHeapGuard, checkHeap, checkHeapByTime, heapGuardLimit, setHeapGuardTask, setHeapRelief } from '../../src/core/heap-guard.js';
import { HeapLimitError, KindlingError } from '../../src/core/errors.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
v8.setFlagsFromString('--no-expose-gc');

const MiB = 2 ** 20;

/** Live old generation of this thread after a full collection. */
function liveOld(): number {
  gc();
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics()) if (!s.space_name.startsWith('new_')) used += s.space_used_size;
  return used;
}

afterEach(() => {
  armHeapGuard(0);
  setHeapRelief(undefined);
  setHeapGuardTask(undefined);
});

describe('heap guard', () => {
  it('is disarmed outside a worker: checks return, whatever the heap', () => {
    armHeapGuard();
    expect(heapGuardLimit()).toBe(0);
    for (let i = 0; i < 1000; i++) checkHeap(() => 'nothing', undefined, 2 ** 40);
    checkHeapByTime(() => 'nothing');
  });

  it('does not fire while the live heap is well under the limit (any work in between)', () => {
    const limitMb = Math.ceil((liveOld() * 4) / MiB) + 64;
    armHeapGuard(limitMb);
    let relieved = 0;
    setHeapRelief(() => relieved++);
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 2000 }), (xs) => {
        const kept = xs.map((x) => ({ x }));
        checkHeap(() => 'strings');
        checkHeapByTime(() => 'strings');
        return kept.length === xs.length;
      }),
      { numRuns: 50 },
    );
    expect(relieved).toBe(0);
  });

  it('asks for relief first and goes on when it freed enough', () => {
    const base = liveOld();
    // Over 90 % of the limit with the array, under 75 % without it.
    const limitMb = Math.ceil((base + 8 * MiB) / 0.75 / MiB);
    let held: number[] | undefined = new Array<number>(((limitMb * MiB) / 8) | 0).fill(1.5);
    expect(liveOld()).toBeGreaterThan(0.9 * limitMb * MiB);
    armHeapGuard(limitMb);
    let relieved = 0;
    setHeapRelief(() => {
      relieved++;
      held = undefined;
    });
    checkHeap(() => 'the held array');
    expect(relieved).toBe(1);
    expect(held).toBeUndefined();
  });

  it('fails with what grew, the task, the live size and the limit when relief frees nothing', () => {
    const base = liveOld();
    const limitMb = Math.ceil((base + 8 * MiB) / 0.75 / MiB);
    const held = new Array<number>(((limitMb * MiB) / 8) | 0).fill(2.5);
    armHeapGuard(limitMb);
    let relieved = 0;
    setHeapRelief(() => relieved++);
    setHeapGuardTask({ kind: 'result', partition: 3, stage: 2, job: 7 });
    let err: unknown;
    try {
      checkHeap(() => 'the combine table of RDD 7 (groupByKey at x.ts:1)', 'use more partitions');
    } catch (e) {
      err = e;
    }
    expect(relieved).toBe(1);
    expect(err).toBeInstanceOf(HeapLimitError);
    expect(err).toBeInstanceOf(KindlingError);
    const e = err as HeapLimitError;
    expect(e.code).toBe('KINDLING_HEAP_LIMIT');
    const live = Number(/needs ~(\d+) MiB of live heap/.exec(e.message)?.[1]);
    expect(live).toBeGreaterThanOrEqual(Math.floor((0.9 * limitMb * MiB) / MiB));
    expect(live).toBeLessThanOrEqual(limitMb + 16);
    expect(e.message).toContain(
      `result task for partition 3 of stage 2 (job 7): the combine table of RDD 7 (groupByKey at x.ts:1) needs ~${live} MiB`,
    );
    expect(e.message).toContain(`heap limit ${limitMb} MiB (the context's memory.workerMB); use more partitions`);
    expect(held.length).toBeGreaterThan(0);
  });

  it('counts an allocation about to be made (a frame to deserialize) against the limit', () => {
    const limitMb = Math.ceil(liveOld() / MiB) * 2 + 32;
    armHeapGuard(limitMb);
    checkHeap(() => 'a small frame', undefined, MiB);
    expect(() => checkHeap(() => 'a frame as large as the heap', undefined, limitMb * MiB)).toThrow(
      new RegExp(`a frame as large as the heap needs ~${limitMb} MiB more on top of ~\\d+ MiB of live heap`),
    );
  });
});
