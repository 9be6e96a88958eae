/**
 * The idle thread's collection (util/idle-collect.ts): it collects exactly when no task runs, the heap grew by the
 * threshold and at least doubled since the lowest use seen after the last collection, and a full collection
 * since the last one it made found at least half of the heap garbage; never while a task runs, once per idle moment. The real
 * collection lowers a heap full of garbage, is seen by the GC profiler, and leaves no `gc` global to anyone.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY_MS, IdleCollector, majorCollections } from '../../src/util/idle-collect.js';

type Step = { kind: 'start' } | { kind: 'end' } | { kind: 'check'; used: number } | { kind: 'paid'; paid: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'start' }),
  fc.constant<Step>({ kind: 'end' }),
  fc.integer({ min: 0, max: 200 }).map((used): Step => ({ kind: 'check', used })),
  fc.boolean().map((paid): Step => ({ kind: 'paid', paid })),
);

describe('IdleCollector', () => {
  it('collects exactly when idle, grown by the threshold and doubled, and collecting pays (model)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 60 }), fc.array(step, { maxLength: 60 }), (start, growth, steps) => {
        let used = start;
        let collected = 0;
        let paid = false;
        const c = new IdleCollector({
          growth,
          used: () => used,
          paid: () => paid,
          // A collection leaves a tenth of what was used.
          collect: () => () => {
            collected++;
            used = Math.floor(used / 10);
          },
        });
        let running = 0;
        let floor = start;
        for (const s of steps) {
          if (s.kind === 'start') {
            c.taskStarted();
            running++;
          } else if (s.kind === 'end') {
            c.taskEnded();
            running = Math.max(0, running - 1);
          } else if (s.kind === 'paid') {
            paid = s.paid;
          } else {
            used = s.used;
            const before = collected;
            const idle = running === 0;
            if (idle) floor = Math.min(floor, used);
            const expected = idle && used - floor >= growth && used >= 2 * floor && paid;
            expect(c.check()).toBe(expected);
            expect(collected - before).toBe(expected ? 1 : 0);
            if (expected) floor = used;
          }
        }
        expect(c.collections).toBe(collected);
      }),
      { numRuns: 300 },
    );
  });

  it('checks at the next turn after the last task ends, not while another has started, at most once per CHECK_EVERY_MS', async () => {
    let used = 0;
    const c = new IdleCollector({ growth: 10, used: () => used, collect: () => () => void (used = 0), paid: () => true });
    c.taskStarted();
    c.taskStarted();
    used = 50;
    c.taskEnded();
    await new Promise((r) => setImmediate(r));
    expect(c.collections).toBe(0); // one task still runs
    c.taskEnded();
    c.taskStarted(); // a task arrived before the check's turn: the check is dropped
    await new Promise((r) => setImmediate(r));
    expect(c.collections).toBe(0);
    c.taskEnded(); // within CHECK_EVERY_MS of the dropped check: none scheduled
    await new Promise((r) => setImmediate(r));
    expect(c.collections).toBe(0);
    await new Promise((r) => setTimeout(r, CHECK_EVERY_MS + 5));
    c.taskStarted();
    c.taskEnded();
    await new Promise((r) => setImmediate(r));
    expect(c.collections).toBe(1);
    expect(used).toBe(0);
  });

  it('does nothing where no collection function is available', () => {
    let used = 0;
    const c = new IdleCollector({ growth: 1, used: () => used, collect: () => undefined, paid: () => true });
    used = 100;
    expect(c.check()).toBe(false);
    expect(c.collections).toBe(0);
  });

  it("collects this thread's garbage with V8's collector and exposes no gc global", () => {
    const start = v8.getHeapStatistics().used_heap_size;
    const majors = majorCollections();
    const c = new IdleCollector({ growth: 8 * 1024 * 1024, paid: () => true });
    // Garbage once the function returns: objects and strings until the heap has more than doubled.
    const grown = ((): number => {
      const made: unknown[] = [];
      for (let i = 0; v8.getHeapStatistics().used_heap_size < 2 * start + 16 * 1024 * 1024; i++)
        for (let j = 0; j < 10_000; j++) made.push({ i, s: `x${i}.${j}` });
      return v8.getHeapStatistics().used_heap_size;
    })();
    expect(c.check()).toBe(true);
    expect(c.collections).toBe(1);
    expect(v8.getHeapStatistics().used_heap_size).toBeLessThan(grown - 8 * 1024 * 1024);
    // The profiler saw it: the latest full collection left less than the grown heap.
    expect(majors.paid()).toBe(true);
    majors.made({ before: 10, after: 6 });
    expect(majors.paid()).toBe(false);
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
    expect(vm.runInNewContext('typeof gc')).toBe('undefined');
  });
});
