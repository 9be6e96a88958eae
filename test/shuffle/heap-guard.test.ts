/**
 * The heap guard end to end, on real worker threads with a 64 MiB heap: a reduce whose one group cannot fit fails
 * its task with a HeapLimitError naming task, RDD and sizes before V8's limit would kill the worker (no worker is
 * lost, no run file stays, the context runs the next job); a reduce larger than the heap whose groups are small
 * spills and completes with the right result; ordinary work never trips it.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Context, JobFailedError, capture } from 'kindling';

/** Legitimately heavy: groups of tens of MB spilled and merged in a 64 MiB heap (see docs/benchmarks.md, session 8). */
const HEAVY_MS = 240_000;

let localDir: string;
beforeEach(() => {
  localDir = mkdtempSync(path.join(os.tmpdir(), 'heap-guard-'));
});
afterEach(() => {
  rmSync(localDir, { recursive: true, force: true });
});

/** Spill run files (combine tables, fetched input) anywhere under the context's folder. */
function runFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...runFiles(p));
    else if (name.endsWith('.run')) out.push(p);
  }
  return out;
}

function context(extra: { maxTaskFailures?: number } = {}): { sc: Context; lost: number[] } {
  const sc = new Context({
    master: 'local[2]',
    progress: false,
    hints: false,
    localDir,
    memory: { workerMB: 64 },
    maxTaskFailures: extra.maxTaskFailures ?? 2,
    maxStageAttempts: 2,
  });
  const lost: number[] = [];
  sc.events.on('workerLost', (e) => void lost.push(e.workerIndex));
  return { sc, lost };
}

/** One key holding 600k values of ~55 characters: ~45 MB as strings alone, more than the heap leaves. */
async function hotGroup(sc: Context): Promise<Error | undefined> {
  return sc
    .range(600_000, undefined, 1, 2)
    .map((x): [number, string] => [0, `value-${x}-${'z'.repeat(40)}`])
    .groupByKey(2)
    .mapValues((vs) => vs.length)
    .collect()
    .then(
      () => undefined,
      (e: Error) => e,
    );
}

function expectGuardFailure(err: Error | undefined): void {
  expect(err).toBeInstanceOf(JobFailedError);
  const e = err as JobFailedError;
  expect(e.causes.length).toBeGreaterThan(0);
  for (const c of e.causes) expect(c.code, e.message).toBe('KINDLING_HEAP_LIMIT');
  expect(e.message).toMatch(/HeapLimitError: result task for partition [01] of stage \d+ \(job \d+\): /);
  expect(e.message).toMatch(/groupByKey at heap-guard\.test\.ts:\d+/);
  expect(e.message).toMatch(
    /needs ~\d+ MiB (more on top of ~\d+ MiB )?of live heap after spilling what could spill, over 80 % of the worker's heap limit 64 MiB \(the context's memory\.workerMB\); use more partitions, or reduceByKey\/aggregateByKey instead of groupByKey/,
  );
  expect(e.message).not.toMatch(/ran out of memory/);
  // Every attempt names its task, also when another task reached the worker while this one awaited its input.
  expect(e.message).not.toMatch(/HeapLimitError: a task:/);
}

describe('heap guard on the reduce side', () => {
  it(
    'a group of one key that cannot fit fails its task with the sizes, no worker dies, and the next job runs',
    async () => {
      const { sc, lost } = context();
      try {
        expectGuardFailure(await hotGroup(sc));
        expect(lost).toEqual([]);
        // The failed tasks' combine and input runs are gone (stored map outputs may stay: later jobs reuse them).
        expect(runFiles(localDir)).toEqual([]);
        const counts = await sc
          .range(0, 20_000, 1, 4)
          .map((i): [number, number] => [i % 7, 1])
          .reduceByKey((a, b) => a + b)
          .collectAsMap();
        expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(20_000);
        expect(counts.size).toBe(7);
      } finally {
        await sc.stop();
      }
    },
    HEAVY_MS,
  );

  it(
    'fails the same way with a straggler of random delay (timing of fetches and spills changes)',
    async () => {
      for (let round = 0; round < 2; round++) {
        const { sc, lost } = context({ maxTaskFailures: 1 });
        try {
          const worker = Math.floor(Math.random() * 2);
          const delayMs = Math.floor(Math.random() * 300);
          sc.faults.slowWorker(worker, delayMs);
          const err = await hotGroup(sc);
          expect(err, `straggler: worker ${worker}, ${delayMs} ms`).toBeDefined();
          expectGuardFailure(err);
          expect(lost).toEqual([]);
          expect(await sc.range(10).count()).toBe(10);
        } finally {
          await sc.stop();
        }
      }
    },
    HEAVY_MS,
  );

  it(
    'a groupByKey larger than the heap whose groups are small spills and completes with the right result',
    async () => {
      // 1M values of ~30 characters over 100k keys (~60 MB as strings), two reduce partitions of ~30 MB each.
      const n = 1_000_000;
      const keys = 100_000;
      const { sc, lost } = context();
      try {
        const groups = await sc
          .range(0, n, 1, 4)
          .map(capture({ keys }, (i): [number, string] => [i % keys, `v-${i}-${'y'.repeat(20)}`]))
          .groupByKey(2)
          .mapValues((vs) => {
            let sum = 0;
            for (const v of vs) sum += Number(v.slice(2, v.indexOf('-', 2)));
            return [vs.length, sum];
          })
          .collect();
        expect(groups.length).toBe(keys);
        for (const [k, [len, sum]] of groups) {
          // Key k holds k, k + keys, ..., k + 9 keys.
          expect(len).toBe(n / keys);
          expect(sum).toBe(10 * k + keys * 45);
        }
        expect(lost).toEqual([]);
        expect(runFiles(localDir)).toEqual([]);
      } finally {
        await sc.stop();
      }
    },
    HEAVY_MS,
  );

  it('ordinary work in a 64 MiB worker never trips it: pairs, cache, sort, collect', async () => {
    const { sc, lost } = context({ maxTaskFailures: 1 });
    try {
      const words = sc.range(0, 200_000, 1, 4).map((i) => `w${(i * 7919) % 5000}`);
      const counts = words.map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b);
      const cached = counts.cache();
      expect(await cached.count()).toBe(5000);
      const sorted = await cached.sortByKey().collect();
      expect(sorted.length).toBe(5000);
      expect(sorted.reduce((a, [, c]) => a + c, 0)).toBe(200_000);
      const all = await words.collect();
      expect(all.length).toBe(200_000);
      expect(lost).toEqual([]);
    } finally {
      await sc.stop();
    }
  }, 120_000);
});
