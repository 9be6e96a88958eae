/**
 * Task metrics: measured by the workers, carried by taskEnd events, summarized as quantiles at each stage's end,
 * and a stage whose slowest task dwarfs the median flagged as skewed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { skewedJob, taskMetrics } from './helpers.js';
import fc from 'fast-check';
import { SUMMARIZED_METRICS, StageMetrics } from '../../src/scheduler/task-metrics.js';
import {
  Context,
  quantiles,
  detectSkew,
  summarizeTaskMetrics,
  type SchedulerEvent,
  type TaskEndEvent,
  type StageCompletedEvent,
  type TaskMetrics,
} from 'kindling';

const metrics = (durationMs: number, records = 0): TaskMetrics =>
  taskMetrics({ durationMs, runMs: durationMs, shuffleReadRecords: records, keySample: ['"hot"'] });

describe('quantiles', () => {
  it('are min, 25th, 50th, 75th percentile and max by nearest rank', () => {
    expect(quantiles([5])).toEqual([5, 5, 5, 5, 5]);
    expect(quantiles([4, 1, 3, 2])).toEqual([1, 1, 2, 3, 4]);
    expect(quantiles([10, 20, 30, 40, 50, 60, 70, 80])).toEqual([10, 20, 40, 60, 80]);
  });
});

describe('detectSkew', () => {
  it('flags the slowest task when it computed more than 3x the median and more than 1 s, naming partition, records and keys', () => {
    const tasks = [0, 1, 2, 3].map((p) => ({ partition: p, metrics: metrics(300, 10) }));
    tasks.push({ partition: 4, metrics: metrics(1500, 900) });
    expect(detectSkew(tasks)).toEqual({ partition: 4, runMs: 1500, medianMs: 300, records: 900, medianRecords: 10, keySample: ['"hot"'] });
  });

  it('does not flag a stage whose slowest task is under 1 s, or under 3x the median, or a single task', () => {
    expect(
      detectSkew([
        { partition: 0, metrics: metrics(10) },
        { partition: 1, metrics: metrics(10) },
        { partition: 2, metrics: metrics(900) },
      ]),
    ).toBeUndefined();
    expect(
      detectSkew([
        { partition: 0, metrics: metrics(1000) },
        { partition: 1, metrics: metrics(1000) },
        { partition: 2, metrics: metrics(2900) },
      ]),
    ).toBeUndefined();
    expect(detectSkew([{ partition: 0, metrics: metrics(5000) }])).toBeUndefined();
  });
});

// The summaries as they were computed before the scheduler kept metrics in columns: every task's metrics object kept
// by partition (the first success counts), then copied into columns at the stage's end.
function referenceSummary(tasks: ReadonlyArray<{ partition: number; metrics: TaskMetrics }>) {
  if (tasks.length === 0) return undefined;
  return Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, quantiles(tasks.map((t) => t.metrics[k]))]));
}
function referenceSkew(tasks: ReadonlyArray<{ partition: number; metrics: TaskMetrics }>) {
  if (tasks.length < 2) return undefined;
  let slowest = tasks[0]!;
  for (const t of tasks) if (t.metrics.runMs > slowest.metrics.runMs) slowest = t;
  const medianMs = quantiles(tasks.map((t) => t.metrics.runMs))[2];
  const ms = slowest.metrics.runMs;
  if (!(ms > 3 * medianMs && ms > 1000)) return undefined;
  const records = (m: TaskMetrics) => m.shuffleReadRecords + m.inputRecords;
  return {
    partition: slowest.partition,
    runMs: Math.round(ms),
    medianMs: Math.round(medianMs),
    records: records(slowest.metrics),
    medianRecords: quantiles(tasks.map((t) => records(t.metrics)))[2],
    keySample: slowest.metrics.keySample ?? [],
  };
}

describe("StageMetrics (the scheduler's per-stage columns)", () => {
  // Few distinct values, so that ties, constant columns and equal run times (the first slowest wins) all occur.
  const value = fc.oneof(fc.constantFrom(0, 1, 1500, 4000), fc.integer({ min: 0, max: 5000 }), fc.double({ min: 0, max: 1e4, noNaN: true }));
  const task = fc.record({
    partition: fc.integer({ min: 0, max: 40 }),
    values: fc.array(value, { minLength: SUMMARIZED_METRICS.length, maxLength: SUMMARIZED_METRICS.length }),
    keys: fc.option(fc.array(fc.string(), { maxLength: 3 }), { nil: undefined }),
  });
  const toMetrics = (values: number[], keys: string[] | undefined): TaskMetrics =>
    taskMetrics({ ...Object.fromEntries(SUMMARIZED_METRICS.map((k, j) => [k, values[j]!])), ...(keys !== undefined ? { keySample: keys } : {}) });

  let previous: StageMetrics | undefined;
  it('summarize and flag skew exactly as the metrics objects kept by partition did, with repeats counted once, any capacity, fresh or reused', () => {
    fc.assert(
      fc.property(fc.array(task, { maxLength: 120 }), fc.integer({ min: 0, max: 50 }), fc.boolean(), (ts, capacity, reused) => {
        // Reused: the previous run's columns, emptied (the scheduler hands a finished stage's to the next).
        const c = reused && previous !== undefined ? previous.reuse(capacity) : new StageMetrics(capacity);
        previous = c;
        const firstByPartition = new Map<number, TaskMetrics>();
        for (const t of ts) {
          const m = toMetrics(t.values, t.keys);
          const fresh = !firstByPartition.has(t.partition);
          expect(c.add(t.partition, m)).toBe(fresh);
          if (fresh) firstByPartition.set(t.partition, m);
        }
        const kept = [...firstByPartition].map(([partition, metrics]) => ({ partition, metrics }));
        expect(c.size).toBe(kept.length);
        expect(c.summary()).toEqual(referenceSummary(kept));
        expect(c.skew()).toEqual(referenceSkew(kept));
        // A task that ends after a summary counts in the next (nothing of the first is reused stale).
        if (ts.length > 0) {
          const late = {
            partition: 1000,
            metrics: toMetrics(
              ts[0]!.values.map((v) => v * 7 + 2000),
              undefined,
            ),
          };
          c.add(late.partition, late.metrics);
          kept.push(late);
          expect(c.skew()).toEqual(referenceSkew(kept));
          expect(c.summary()).toEqual(referenceSummary(kept));
        }
        // The exported functions count every task given, repeats included.
        const all = ts.map((t) => ({ partition: t.partition, metrics: toMetrics(t.values, t.keys) }));
        expect(summarizeTaskMetrics(all)).toEqual(referenceSummary(all));
        expect(detectSkew(all)).toEqual(referenceSkew(all));
      }),
      { numRuns: 300 },
    );
  });

  it("flags a straggler past the capacity it was sized for, keeping that task's key sample", () => {
    const c = new StageMetrics(2);
    for (let p = 0; p < 9; p++) c.add(p, metrics(100, 5));
    c.add(9, taskMetrics({ runMs: 5000, inputRecords: 70, shuffleReadRecords: 30, keySample: ['"k"'] }));
    expect(c.skew()).toEqual({ partition: 9, runMs: 5000, medianMs: 100, records: 100, medianRecords: 5, keySample: ['"k"'] });
    expect(c.summary()!.runMs).toEqual([100, 100, 100, 100, 5000]);
  });
});

describe('task metrics from real workers', () => {
  let sc: Context;
  const events: SchedulerEvent[] = [];
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, hints: false });
    sc.events.onAny((e) => events.push(e));
  });
  afterAll(() => sc.stop());

  it('count records in and out of a shuffle, time compile and run, and summarize each stage with quantiles', async () => {
    events.length = 0;
    const words = ['a', 'b', 'a', 'c', 'a', 'b', 'd', 'e'];
    const counts = await sc
      .parallelize(words, 2)
      .map((w) => [w, 1] as [string, number])
      .reduceByKey((x, y) => x + y, 2)
      .collect();
    expect(counts).toHaveLength(5);
    const ends = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd');
    expect(ends).toHaveLength(4);
    const [mapStage, reduceStage] = [...new Set(ends.map((e) => e.stageId))].sort((a, b) => a - b);
    const of = (stageId: number) => ends.filter((e) => e.stageId === stageId).map((e) => e.metrics!);
    const sum = (ms: TaskMetrics[], k: keyof TaskMetrics) => ms.reduce((s, m) => s + (m[k] as number), 0);
    // Map side: the 8 shipped words, combined per task to that task's distinct words.
    expect(sum(of(mapStage!), 'inputRecords')).toBe(8);
    const written = sum(of(mapStage!), 'shuffleWriteRecords');
    expect(written).toBeGreaterThanOrEqual(5);
    expect(written).toBeLessThanOrEqual(8);
    expect(sum(of(mapStage!), 'shuffleWriteBytes')).toBeGreaterThan(0);
    // Reduce side reads exactly what the map side wrote, and returns the 5 distinct words.
    expect(sum(of(reduceStage!), 'shuffleReadRecords')).toBe(written);
    expect(sum(of(reduceStage!), 'shuffleReadBytes')).toBeGreaterThan(0);
    expect(sum(of(reduceStage!), 'resultRecords')).toBe(5);
    for (const m of [...of(mapStage!), ...of(reduceStage!)]) {
      expect(m.runMs).toBeGreaterThan(0);
      expect(m.durationMs).toBeGreaterThanOrEqual(m.runMs);
    }
    for (const e of ends) expect(['PROCESS_LOCAL', 'ANY', 'NO_PREF']).toContain(e.locality);
    const done = events.filter((e): e is StageCompletedEvent => e.type === 'stageCompleted');
    expect(done.map((e) => e.stageId).sort()).toEqual([mapStage, reduceStage]);
    const reduceSummary = done.find((e) => e.stageId === reduceStage)!.taskMetrics!;
    const reads = of(reduceStage!)
      .map((m) => m.shuffleReadRecords)
      .sort((a, b) => a - b);
    expect(reduceSummary.shuffleReadRecords[0]).toBe(reads[0]);
    expect(reduceSummary.shuffleReadRecords[4]).toBe(reads[1]);
    expect(done.every((e) => e.skew === undefined)).toBe(true);
  });

  it("time the GC pauses of a task's synchronous computation, which Node reports only after it ends", async () => {
    events.length = 0;
    // Each task makes ~150 MB of short-lived pairs without an await: many scavenges of a worker's young generation.
    const made = await sc
      .parallelize([0, 1], 2)
      .map((x) => {
        let live: number[][] = [];
        for (let i = 0; i < 5_000_000; i++) {
          live.push([i, x]);
          if (live.length === 1000) live = [];
        }
        return live.length;
      })
      .collect();
    expect(made).toEqual([0, 0]);
    const ends = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd');
    expect(ends).toHaveLength(2);
    for (const e of ends) {
      // Before, a total read when the computation ended saw none of its pauses: gcMs was 0.
      expect(e.metrics!.gcMs).toBeGreaterThan(0);
      expect(e.metrics!.gcMs).toBeLessThanOrEqual(e.metrics!.durationMs);
    }
  });

  it('count the lines and bytes a text file task read', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-metrics-'));
    const file = path.join(dir, 'lines.txt');
    const text = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    writeFileSync(file, text);
    try {
      events.length = 0;
      expect(await sc.textFile(file, 3).count()).toBe(1000);
      // The successful attempts: at load a task queued behind a slow one can be moved to an idle worker, and its
      // first copy, if it had begun, ends as killed with the metrics of what it read (1,329 lines in all, once).
      const ms = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd' && e.result === 'success').map((e) => e.metrics!);
      expect(ms.length).toBeGreaterThanOrEqual(3);
      expect(ms.reduce((s, m) => s + m.inputRecords, 0)).toBe(1000);
      expect(ms.reduce((s, m) => s + m.inputBytes, 0)).toBe(Buffer.byteLength(text));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('count the records and bytes a task read from the cache as input, as Spark does', async () => {
    const cached = sc
      .parallelize(
        Array.from({ length: 400 }, (_, i) => `value ${i}`),
        4,
      )
      .cache();
    events.length = 0;
    await cached.count();
    const first = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd').map((e) => e.metrics!);
    // Computed the first time: the parallelized slices are the input (they have no size in bytes).
    expect(first.reduce((s, m) => s + m.inputRecords, 0)).toBe(400);
    expect(first.reduce((s, m) => s + m.inputBytes, 0)).toBe(0);
    events.length = 0;
    expect(await cached.map((x) => x.length).count()).toBe(400);
    const again = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd').map((e) => e.metrics!);
    // Read from the cache the second time: the records again, and the cached partitions' size.
    expect(again.reduce((s, m) => s + m.inputRecords, 0)).toBe(400);
    const bytes = again.reduce((s, m) => s + m.inputBytes, 0);
    const stored = sc.getRDDStorageInfo().find((r) => r.id === cached.id)!;
    expect(bytes).toBe(stored.memoryBytes);
    expect(bytes).toBeGreaterThan(400 * 'value 0'.length);
    const done = events.find((e): e is StageCompletedEvent => e.type === 'stageCompleted')!;
    expect(done.taskMetrics!.inputBytes[4]).toBeGreaterThan(0);
    cached.unpersist();
  });

  it('count the records and bytes a save action wrote', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-metrics-'));
    const out = path.join(dir, 'out');
    try {
      events.length = 0;
      await sc
        .parallelize(
          Array.from({ length: 1000 }, (_, i) => `line ${i}`),
          3,
        )
        .saveAsTextFile(out);
      const ms = events.filter((e): e is TaskEndEvent => e.type === 'taskEnd').map((e) => e.metrics!);
      expect(ms.reduce((s, m) => s + m.outputRecords, 0)).toBe(1000);
      const onDisk = readdirSync(out)
        .filter((f) => f.startsWith('part-'))
        .reduce((s, f) => s + statSync(path.join(out, f)).size, 0);
      expect(ms.reduce((s, m) => s + m.outputBytes, 0)).toBe(onDisk);
      const done = events.find((e): e is StageCompletedEvent => e.type === 'stageCompleted')!;
      expect(done.taskMetrics!.outputRecords).toEqual(quantiles(ms.map((m) => m.outputRecords)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('count what the shuffle memory pool spilled, in memory and on disk, in the tasks that spilled', async () => {
    // A pool of ~0.6 MiB per worker: 100k distinct keys cannot stay in it on either side of the shuffle.
    const small = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 64, shuffleFraction: 0.01 } });
    const seen: TaskEndEvent[] = [];
    small.events.on('taskEnd', (e) => void seen.push(e));
    try {
      const n = await small
        .range(0, 100_000, 1, 2)
        .map((i) => [`key ${i}`, i] as [string, number])
        .reduceByKey((a, b) => a + b, 2)
        .count();
      expect(n).toBe(100_000);
      const ms = seen.map((e) => e.metrics!);
      const spills = ms.reduce((s, m) => s + m.spillCount, 0);
      expect(spills).toBeGreaterThan(0);
      expect(ms.reduce((s, m) => s + m.memoryBytesSpilled, 0)).toBeGreaterThan(0);
      expect(ms.reduce((s, m) => s + m.diskBytesSpilled, 0)).toBeGreaterThan(0);
      // Bytes are reported by the tasks that spilled, and only by them.
      for (const m of ms) expect(m.diskBytesSpilled > 0).toBe(m.spillCount > 0);
    } finally {
      await small.stop();
    }
  });

  it('flags a stage whose one partition is a straggler, as an event field and as a hint at stage end', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const hinted = new Context({ master: 'local[2]', progress: false });
    const seen: StageCompletedEvent[] = [];
    hinted.events.on('stageCompleted', (e) => void seen.push(e));
    try {
      await skewedJob(hinted);
      const flagged = seen.filter((e) => e.skew !== undefined);
      expect(flagged).toHaveLength(1);
      expect(flagged[0]!.skew!.runMs).toBeGreaterThan(1000);
      expect(flagged[0]!.skew!.keySample).toContain('"hot"');
      expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(
        new RegExp(`kindling hint: stage ${flagged[0]!.stageId} is skewed: partition ${flagged[0]!.skew!.partition} computed`),
      );
    } finally {
      warn.mockRestore();
      await hinted.stop();
    }
  });

  it('names each key of a skewed partition once, however often its input holds it', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const sc = new Context({ master: 'local[2]', progress: false });
    const seen: StageCompletedEvent[] = [];
    sc.events.on('stageCompleted', (e) => void seen.push(e));
    try {
      // groupByKey combines nothing on the map side: each map's bucket for the hot key's reducer holds it many times.
      const pairs = [0, 1, 2, 3].flatMap((p) => [...[1, 2, 3, 4].map((v) => ['hot', v] as [string, number]), [`k${p}`, p] as [string, number]]);
      await skewedJob(sc, 1200, pairs);
      const flagged = seen.filter((e) => e.skew !== undefined);
      expect(flagged).toHaveLength(1);
      const keys = flagged[0]!.skew!.keySample;
      expect(keys).toContain('"hot"');
      expect(new Set(keys).size).toBe(keys.length);
    } finally {
      warn.mockRestore();
      await sc.stop();
    }
  });

  it('prints a skewed stage on the console at its end, with hints off or on (once: the hint does not repeat it)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    // The progress bar draws only on a terminal: make stderr one while the contexts are made and run.
    const wasTTY = process.stderr.isTTY;
    process.stderr.isTTY = true;
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      written.push(String(s));
      return true;
    });
    try {
      for (const hints of [false, true]) {
        written.length = 0;
        const sc = new Context({ master: 'local[2]', hints, ui: false });
        try {
          await skewedJob(sc);
        } finally {
          await sc.stop();
        }
        const lines = written.filter((s) => s.includes('skewed'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^kindling: stage \d+ is skewed: partition \d+ computed \d+ ms \(median \d+ ms\) over \d+ records .*keys "hot"/);
      }
      expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).not.toContain('skewed');
    } finally {
      write.mockRestore();
      process.stderr.isTTY = wasTTY;
      warn.mockRestore();
    }
  });
});
