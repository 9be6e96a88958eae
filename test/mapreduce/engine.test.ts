/**
 * The mapreduce engine runs the same programs Hadoop-style: same results as the memory engine, every shuffle
 * through sorted run files, nothing cached between jobs. Also the memory engine's shuffle spill.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Context, capture, taskContext, type RDD } from 'kindling';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-mr-engine-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const LINES = Array.from({ length: 300 }, (_, i) => `w${i % 17} w${(i * 7) % 29} x${i % 5} shared`);

/** A battery of programs whose results are compared across the engines. */
async function programs(sc: Context): Promise<Record<string, unknown>> {
  const words = sc.parallelize(LINES, 4).flatMap((l) => l.split(' '));
  const counts = words.map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b, 3);
  const lengths = counts.map(([w]): [string, number] => [w, w.length]);
  const sorted = counts.map(([w, n]): [number, string] => [n, w]).sortByKey(false, 3);
  const out = mkdtempSync(path.join(scratch, 'mr-out-'));
  await counts.map(([w, n]) => `${w}\t${n}`).saveAsTextFile(path.join(out, 'counts'));
  const saved = readdirSync(path.join(out, 'counts')).sort();
  return {
    counts: (await counts.collect()).sort(),
    joined: (await counts.join(lengths).collect()).sort(),
    // sortByKey orders keys; elements with equal keys may come in any order (as in Spark).
    sorted: tiesSorted(await sorted.collect()),
    grouped: (
      await words
        .keyBy((w) => w.length)
        .groupByKey(2)
        .mapValues((ws) => ws.sort())
        .collect()
    ).sort(),
    distinct: (await words.distinct(3).collect()).sort(),
    cogroup: (await counts.cogroup(lengths.filter(([w]) => w.startsWith('w1'))).collect()).sort(),
    aggregated: (
      await counts
        .map(([w, n]): [string, number] => [w[0]!, n])
        .aggregateByKey(
          [0, 0],
          (a, n) => [a[0]! + n, a[1]! + 1],
          (a, b) => [a[0]! + b[0]!, a[1]! + b[1]!],
        )
        .collect()
    ).sort(),
    zipped: await words
      .zipWithIndex()
      .filter(([, i]) => i % 97 === 0)
      .collect(),
    sample: await words.sample(false, 0.1, 7).collect(),
    top: await counts.top(3, ([w, n]) => [n, w]),
    // Floating-point sums depend on the order values arrive in; compare to 12 significant digits.
    stats: Object.fromEntries(Object.entries(await counts.values().stats()).map(([k, v]) => [k, Number(v.toPrecision(12))])),
    saved,
    savedText: readFileSync(path.join(out, 'counts', 'part-00000'), 'utf8')
      .split('\n')
      .sort(),
  };
}

function tiesSorted(pairs: Array<[number, string]>): Array<[number, string[]]> {
  const out: Array<[number, string[]]> = [];
  for (const [k, v] of pairs) {
    const last = out[out.length - 1];
    if (last && last[0] === k) last[1].push(v);
    else out.push([k, [v]]);
  }
  return out.map(([k, vs]) => [k, vs.sort()]);
}

describe('engine: mapreduce', () => {
  let memory: Context;
  let mapreduce: Context;
  let localDir: string;
  beforeAll(() => {
    localDir = mkdtempSync(path.join(scratch, 'mr-'));
    memory = new Context({ master: 'local[2]', progress: false, hints: false });
    mapreduce = new Context({ master: 'local[2]', progress: false, hints: false, engine: 'mapreduce', localDir });
  });
  afterAll(async () => {
    await Promise.all([memory.stop(), mapreduce.stop()]);
  });

  it('gives the same results as the memory engine for every program', async () => {
    const [a, b] = await Promise.all([programs(memory), programs(mapreduce)]);
    expect(b).toEqual(a);
  });

  it('writes every shuffle as sorted run files on disk', async () => {
    const pairs = mapreduce
      .range(1000, undefined, 1, 4)
      .map((x): [number, number] => [x % 10, x])
      .reduceByKey((a, b) => a + b, 2);
    expect(await pairs.count()).toBe(10);
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(e.name);
    };
    walk(localDir);
    // One spill file per map task (of every shuffle the context ran so far), not one per map task and reducer.
    const maps = files.flatMap((f) => /^(shuffle_\d+_\d+)\.spill\d+$/.exec(f)?.[1] ?? []);
    expect(maps.length).toBeGreaterThanOrEqual(4);
    expect(new Set(maps).size).toBe(maps.length);
  });

  it('persist() keeps nothing between jobs (with a one-time notice): every job computes again', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const computed = mapreduce.accumulator(0);
    const rdd = mapreduce
      .range(100, undefined, 1, 2)
      .map(
        capture({ computed }, (x: number) => {
          computed.add(1);
          return x;
        }),
      )
      .cache();
    await rdd.count();
    await rdd.count();
    mapreduce.range(3).cache();
    expect(computed.value).toBe(200);
    expect(warn.mock.calls.filter((c) => String(c[0]).includes("engine 'mapreduce' keeps nothing in memory"))).toHaveLength(1);
    warn.mockRestore();
  });

  it('iterative programs read earlier iterations back from disk, with identical results', async () => {
    const iterate = async (sc: Context) => {
      let ranks: RDD<[number, number]> = sc.parallelize(
        Array.from({ length: 50 }, (_, i): [number, number] => [i % 7, 1]),
        3,
      );
      const trace: number[] = [];
      for (let i = 0; i < 5; i++) {
        ranks = ranks.mapValues((v) => v / 2 + 1).reduceByKey((a, b) => a + b, 3);
        trace.push(await ranks.values().sum());
      }
      return trace;
    };
    expect(await iterate(mapreduce)).toEqual(await iterate(memory));
  });
});

describe("engine: mapreduce, a job's result folder", () => {
  // Result tasks write into jobs/job-N under the context's local folder; the driver makes it before the tasks and
  // removes it at the job's end, whatever the end. Before, a failed job's committed results, and the file of a copy
  // still running when the job ended (which made the folder again), stayed there until stop().
  /** A local binding, as a captured function must be (vitest rewrites an imported name inside a function's source). */
  const task = taskContext;
  const jobFolders = (localDir: string): string[] =>
    readdirSync(localDir).flatMap((root) => {
      const jobs = path.join(localDir, root, 'jobs');
      return existsSync(jobs) ? readdirSync(jobs) : [];
    });

  it('is gone once a failed job rejects, though other tasks had committed their results', async () => {
    const localDir = mkdtempSync(path.join(scratch, 'mr-failed-'));
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, engine: 'mapreduce', localDir, maxTaskFailures: 1 });
    try {
      const job = sc
        .parallelize([0, 1, 2, 3, 4, 5, 6, 7], 8)
        .map((x) => {
          if (x === 7) {
            const end = Date.now() + 300;
            while (Date.now() < end) {
              // the other partitions commit meanwhile
            }
            throw new Error('partition 7 fails');
          }
          return x;
        })
        .collect();
      await expect(job).rejects.toThrow('partition 7 fails');
      expect(jobFolders(localDir)).toEqual([]);
      // The context runs on, and its next job's folder goes too.
      expect(await sc.parallelize([1, 2, 3], 3).collect()).toEqual([1, 2, 3]);
      expect(jobFolders(localDir)).toEqual([]);
    } finally {
      await sc.stop();
    }
  });

  it('is not made again by a losing speculative copy that writes after the job ended', async () => {
    const localDir = mkdtempSync(path.join(scratch, 'mr-late-'));
    const sc = new Context({
      master: 'local[3]',
      progress: false,
      hints: false,
      ui: false,
      engine: 'mapreduce',
      localDir,
      speculation: { enabled: true, quantile: 0.5, multiplier: 1.5, minRuntimeMs: 0, intervalMs: 20 },
    });
    let copies = 0;
    sc.events.on('taskStart', (e) => void (copies += e.speculative ? 1 : 0));
    try {
      // Partition 0's first attempt computes for 1.2 s; its copy, started once the others are done, wins, and the
      // first attempt writes its result after the job has ended.
      const result = await sc
        .parallelize([0, 1, 2, 3, 4, 5], 6)
        .map(
          capture({ task }, (x: number) => {
            if (x === 0 && task().attemptNumber === 0) {
              const end = Date.now() + 1200;
              while (Date.now() < end) {
                // a straggler
              }
            }
            return x * 10;
          }),
        )
        .collect();
      expect(result).toEqual([0, 10, 20, 30, 40, 50]);
      expect(copies).toBeGreaterThan(0);
      // Long enough for the straggler to end and write.
      await new Promise((r) => setTimeout(r, 2000));
      expect(jobFolders(localDir)).toEqual([]);
    } finally {
      await sc.stop();
    }
  });
});

describe('memory engine shuffle spill', () => {
  it('a map output larger than the shuffle budget spills sorted runs and merges them, with identical results', async () => {
    const localDir = mkdtempSync(path.join(scratch, 'spill-'));
    // 256 MiB heap x 0.001 = 256 KiB of buffered shuffle output per map task before a spill.
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, localDir, memory: { workerMB: 256, shuffleFraction: 0.001 } });
    try {
      const grouped = sc
        .range(60_000, undefined, 1, 2)
        .map((x): [number, string] => [x % 1000, `value-${x}`])
        .groupByKey(3);
      const result = await grouped.mapValues((vs) => vs.length).collectAsMap();
      expect(result.size).toBe(1000);
      expect([...result.values()].every((n) => n === 60)).toBe(true);
      const files: string[] = [];
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(e.name);
      };
      walk(localDir);
      expect(files.filter((f) => /\.spill\d+$/.test(f)).length).toBeGreaterThan(3);
    } finally {
      await sc.stop();
    }
  });
});
