/**
 * Faults at random moments on the paths session 10 changed: tasks go to a worker in batches and outcomes come back
 * in batches (task-channel.ts), results merge as they arrive (collectAsMap), flatMap arrays go whole to the
 * combine. Many tiny tasks keep batches of several in flight. Each run must end in the fault-free result or a clear
 * error (an AbortError for a cancellation), the context whole again, the next job right, no scratch file left.
 */
import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Context, capture, type ContextOptions, type RDD } from 'kindling';
import { checkWhole } from '../../../bench/fault-harness.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-batch-faults-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const N = 40_000;
const PARTS = 48;

/** Word-count shaped: each element's flatMap returns an array of pairs (the withMany path), reduced by key. */
function counts(sc: Context): RDD<[number | string, number]> {
  return sc
    .range(0, N, 1, PARTS)
    .flatMap(
      (i): Array<[number | string, number]> => [
        [i % 997, 1],
        [`w${i % 101}`, 2],
      ],
    )
    .reduceByKey((a, b) => a + b, 6);
}

function expected(): Map<number | string, number> {
  const m = new Map<number | string, number>();
  for (let i = 0; i < N; i++) {
    m.set(i % 997, (m.get(i % 997) ?? 0) + 1);
    m.set(`w${i % 101}`, (m.get(`w${i % 101}`) ?? 0) + 2);
  }
  return m;
}
const EXPECTED = [...expected()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
const entries = (m: Map<unknown, unknown>): Array<[unknown, unknown]> => [...m].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `body` on a fresh local[2] context with its own scratch folder; checks whole, next job, and clean. */
async function withContext(options: Partial<ContextOptions>, body: (sc: Context) => Promise<void>): Promise<void> {
  const localDir = mkdtempSync(path.join(scratch, 'run-'));
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, localDir, ...options });
  try {
    await body(sc);
    expect(await checkWhole(sc)).toBe(true);
    expect(entries(await counts(sc).collectAsMap())).toEqual(EXPECTED);
  } finally {
    await sc.stop();
  }
  expect(readdirSync(localDir, { recursive: true })).toEqual([]);
  rmSync(localDir, { recursive: true, force: true });
}

describe('faults while batches of tasks and outcomes are in flight (local[2])', () => {
  it('a worker (or both) killed at a random moment of a streamed collectAsMap, speculation on or off', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 400 }),
        fc.constantFrom<Array<0 | 1>>([0], [1], [0, 1]),
        fc.boolean(),
        async (delay, victims, speculate) => {
          await withContext(
            speculate ? { speculation: { enabled: true, multiplier: 1.5, quantile: 0.5, minRuntimeMs: 10, intervalMs: 10 } } : {},
            async (sc) => {
              await sc.range(0, 4, 1, 2).count(); // workers up: the kill lands in the job, not in start-up
              const job = counts(sc).collectAsMap();
              await sleep(delay);
              await Promise.all(victims.map((w) => sc.faults.killWorker(w)));
              expect(entries(await job)).toEqual(EXPECTED);
            },
          );
        },
      ),
      { numRuns: 8, endOnFailure: true },
    );
  }, 240_000);

  it('a cancellation at a random moment rejects with an AbortError naming the job, or the job had already ended right', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 250 }), fc.constantFrom('signal', 'group'), async (delay, how) => {
        await withContext({}, async (sc) => {
          await sc.range(0, 4, 1, 2).count();
          const abort = new AbortController();
          const job =
            how === 'signal'
              ? counts(sc).collectAsMap({ signal: abort.signal })
              : sc.withJobGroup('probe', () => counts(sc).collectAsMap(), 'cancelled at random');
          const settled = job.then(
            (m) => ({ ok: true as const, m }),
            (e: Error) => ({ ok: false as const, e }),
          );
          await sleep(delay);
          if (how === 'signal') abort.abort();
          else sc.cancelJobGroup('probe');
          const r = await settled;
          if (r.ok) expect(entries(r.m)).toEqual(EXPECTED);
          else {
            expect(r.e.name).toBe('AbortError');
            expect(r.e.message).toMatch(/job \d+/i);
          }
        });
      }),
      { numRuns: 8, endOnFailure: true },
    );
  }, 240_000);

  it('a cancellation from a taskStart listener, while the tasks launched before it wait in an unsent batch', async () => {
    for (const nth of [1, 3, 10, 47]) {
      await withContext({}, async (sc) => {
        await sc.range(0, 4, 1, 2).count();
        const abort = new AbortController();
        let starts = 0;
        const off = sc.events.on('taskStart', () => {
          if (++starts === nth) abort.abort();
        });
        try {
          const error = await counts(sc)
            .collectAsMap({ signal: abort.signal })
            .then(
              () => undefined,
              (e: Error) => e,
            );
          expect(error?.name).toBe('AbortError');
          expect(error?.message).toMatch(/job \d+/i);
        } finally {
          off();
        }
      });
    }
  }, 120_000);

  it('a worker killed at a random moment while fetched reduce input spills runs: the right sum', async () => {
    let spills = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1_500 }), fc.constantFrom<Array<0 | 1>>([0], [1], [0, 1]), async (delay, victims) => {
        await withContext({ memory: { workerMB: 128, shuffleFraction: 0.01 } }, async (sc) => {
          sc.events.on('taskEnd', (e) => void (spills += e.metrics?.spillCount ?? 0));
          await sc.range(0, 4, 1, 2).count();
          const job = sc
            .range(0, 150_000, 1, 12)
            .map((i): [number, string] => [i % 60_000, `v${i}`])
            .groupByKey(4)
            .map(([k, vs]) => k + vs.length)
            .sum();
          await sleep(delay);
          await Promise.all(victims.map((w) => sc.faults.killWorker(w)));
          // sum of k over 60k keys, plus 150k values
          expect(await job).toBe((59_999 * 60_000) / 2 + 150_000);
        });
      }),
      { numRuns: 6, endOnFailure: true },
    );
    expect(spills).toBeGreaterThan(0);
  }, 300_000);

  it('one task failing inside a batch of several: retried alone, or the job fails naming its partition and RDD', async () => {
    await withContext({}, async (sc) => {
      const once = new Int32Array(new SharedArrayBuffer(4));
      const flaky = sc.range(0, 4_800, 1, PARTS).mapPartitionsWithIndex(
        capture({ once }, (p: number, it: Iterable<number>) => {
          if (p === 17 && Atomics.exchange(once, 0, 1) === 0) throw new Error('first attempt of partition 17 fails');
          return it;
        }),
      );
      expect(await flaky.count()).toBe(4_800);
      const always = sc
        .range(0, 4_800, 1, PARTS)
        .map((i) => {
          if (i === 1_800) throw new Error('element 1800 is bad');
          return i;
        })
        .setName('bad element');
      await expect(always.count()).rejects.toThrow(/partition 18 .*RDD \d+ \(bad element\).*element 1800 is bad/s);
    });
  }, 120_000);
});
