/**
 * A sorted reduce partition larger than its worker spills sorted runs and merges them (Spark's ExternalSorter), on
 * real workers: a sortByKey skewed onto one key, which failed with a HeapLimitError ("the sort buffer of ...") when
 * the partition was held whole, now succeeds in order; and a descending sort by a key function under a tiny
 * shuffle pool is in order and keeps every record.
 */
import { describe, expect, it } from 'vitest';
import { Context, type TaskEndEvent } from 'kindling';
import { compareKeys } from '../../src/core/keys.js';

describe('sorting a partition larger than the worker (local[2])', () => {
  it('sortByKey of 1M records, 90 % on one key, with 48 MB workers succeeds in order and spills', async () => {
    // One attempt: the old code failed this task deterministically, and retries would only take longer.
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, maxTaskFailures: 1, memory: { workerMB: 48 } });
    const ends: TaskEndEvent[] = [];
    sc.events.on('taskEnd', (e) => void ends.push(e));
    try {
      const n = 1_000_000;
      const pairs = sc.range(0, n, 1, 4).map((i): [number, number] => [i % 10 < 9 ? 7 : i, i]);
      // Folded in the task as the records stream by: the partition never exists as one array on the driver.
      const r = await pairs.sortByKey(true, 2).aggregate(
        { n: 0, outOfOrder: 0, sum: 0, prev: Number.NEGATIVE_INFINITY, parts: 0 },
        (a, kv) => {
          if (kv[0] < a.prev) a.outOfOrder++;
          a.prev = kv[0];
          a.n++;
          a.sum += kv[1];
          return a;
        },
        (a, b) => ({ n: a.n + b.n, outOfOrder: a.outOfOrder + b.outOfOrder, sum: a.sum + b.sum, prev: 0, parts: a.parts + b.parts + 1 }),
      );
      expect(r).toMatchObject({ n, outOfOrder: 0, sum: (n * (n - 1)) / 2 });
      // The reduce task of the hot key's partition spilled (the sorter's runs are counted with the pool's spills).
      const reduces = ends.filter((e) => e.result === 'success' && (e.metrics?.shuffleReadRecords ?? 0) > 0);
      const hot = reduces.find((e) => e.metrics!.shuffleReadRecords >= 0.9 * n);
      expect(hot).toBeDefined();
      expect(hot!.metrics!.spillCount).toBeGreaterThan(0);
      expect(hot!.metrics!.diskBytesSpilled).toBeGreaterThan(0);
    } finally {
      await sc.stop();
    }
  }, 120_000);

  it('repartitionAndSortWithinPartitions, descending by a key function, under a tiny pool is ordered and loses nothing', async () => {
    const keys: unknown[] = [3, -0, 0, Number.NaN, Number.POSITIVE_INFINITY, 'b', 'a\uD800', '', [1, 'x'], null, 2.5, -7];
    const data = Array.from({ length: 60_000 }, (_, i): [unknown, number] => [keys[(i * 7) % keys.length], i]);
    const keyfunc = (k: unknown): unknown => (typeof k === 'number' ? Math.trunc(k / 2) : typeof k);
    await onTinyPool(async (sc) => {
      const parts = await sc.parallelize(data, 3).repartitionAndSortWithinPartitions(1, false, keyfunc).glom().collect();
      expect(parts).toHaveLength(1);
      expectOrderedAndWhole(parts[0]!, data, (a, b) => compareKeys(keyfunc(a), keyfunc(b)) < 0);
    });
  }, 120_000);

  it('sortByKey with a comparator, under a tiny pool, sorts each partition by it and loses nothing', async () => {
    const data = Array.from({ length: 60_000 }, (_, i): [string, number] => [`k${(i * 7919) % 5000}`, i]);
    const reversed = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);
    await onTinyPool(async (sc) => {
      const parts = await sc.parallelize(data, 3).sortByKey(true, 2, reversed).glom().collect();
      expectOrderedAndWhole(parts.flat(), data, (a, b) => reversed(a as string, b as string) > 0);
    });
  }, 120_000);
});

/** Runs `body` on local[2] with a shuffle pool of ~0.26 MiB per worker, then asserts that a reduce task spilled. */
async function onTinyPool(body: (sc: Context) => Promise<void>): Promise<void> {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 128, shuffleFraction: 0.002 } });
  const ends: TaskEndEvent[] = [];
  sc.events.on('taskEnd', (e) => void ends.push(e));
  try {
    await body(sc);
    expect(ends.some((e) => (e.metrics?.shuffleReadRecords ?? 0) > 0 && e.metrics!.spillCount > 0)).toBe(true);
  } finally {
    await sc.stop();
  }
}

/**
 * No key of `out` comes after a key that should follow it (`after(prev, next)`), and `out` holds every record of
 * `data` once, unchanged (-0 stays -0; the values are the indexes). Ties are not compared with the input's order:
 * fetched input that spills comes back as key-sorted runs, so a tie's arrival order is not map order.
 */
function expectOrderedAndWhole(
  out: Array<[unknown, number]>,
  data: Array<[unknown, number]>,
  after: (prev: unknown, next: unknown) => boolean,
): void {
  let outOfOrder = 0;
  for (let i = 1; i < out.length; i++) if (after(out[i - 1]![0], out[i]![0])) outOfOrder++;
  expect(outOfOrder).toBe(0);
  expect([...out].sort((a, b) => a[1] - b[1])).toStrictEqual(data);
}
