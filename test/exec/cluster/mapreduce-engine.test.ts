/**
 * The mapreduce engine on a cluster assumes no shared filesystem: each executor process of `local-cluster[2]`
 * keeps its shuffle files and job output on a disk of its own (a folder the test gives it through TMPDIR), a
 * reducer fetches map output from the executor that wrote it over TCP, and every job result reaches the driver
 * with its task's outcome (inline through Redis, or fetched from the executor when over 1 MiB). The driver's
 * file calls are recorded: it must open nothing below the executors' folders and read no result file at all.
 */
import fs, { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from 'kindling';
import { redisSkipReason } from '../../streaming/redis-server.js';

/** Every path the driver process passes to these `fs` calls while the spy is on (the ESM bindings too). */
const opened: string[] = [];
const SPIED = ['openSync', 'readFileSync', 'existsSync', 'statSync', 'readdirSync', 'createReadStream', 'open', 'readFile'] as const;
const originals = new Map<string, unknown>();
const originalPromises = { open: fs.promises.open, readFile: fs.promises.readFile };

function spyOnFiles(): void {
  for (const name of SPIED) {
    const original = (fs as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    originals.set(name, original);
    (fs as unknown as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      if (typeof args[0] === 'string') opened.push(path.resolve(args[0]));
      return original.apply(this, args);
    };
  }
  fs.promises.open = ((p: string, ...rest: never[]) => {
    if (typeof p === 'string') opened.push(path.resolve(p));
    return originalPromises.open(p, ...rest);
  }) as typeof fs.promises.open;
  fs.promises.readFile = ((p: string, ...rest: never[]) => {
    if (typeof p === 'string') opened.push(path.resolve(p));
    return originalPromises.readFile(p, ...rest);
  }) as typeof fs.promises.readFile;
  // `import { readFileSync } from 'node:fs'` in the engine's modules sees the wrapped functions from now on.
  syncBuiltinESMExports();
}

function unspy(): void {
  for (const [name, f] of originals) (fs as unknown as Record<string, unknown>)[name] = f;
  fs.promises.open = originalPromises.open;
  fs.promises.readFile = originalPromises.readFile;
  syncBuiltinESMExports();
}

describe.skipIf(redisSkipReason !== undefined)('mapreduce engine on local-cluster[2]: no shared filesystem', () => {
  const executorsTmp = mkdtempSync(path.join(os.tmpdir(), 'kindling-mr-executors-'));
  const driverDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-mr-driver-'));
  const oldTmp = process.env.TMPDIR;
  let sc: Context;

  beforeAll(async () => {
    // The executor processes inherit TMPDIR; local-cluster gives each its own folder below it.
    process.env.TMPDIR = executorsTmp;
    sc = new Context({ master: 'local-cluster[2]', engine: 'mapreduce', localDir: driverDir, progress: false, ui: false });
    await sc.range(0, 4, 1, 2).count();
    if (oldTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = oldTmp;
    spyOnFiles();
  });

  afterAll(async () => {
    unspy();
    await sc?.stop();
    rmSync(executorsTmp, { recursive: true, force: true });
    rmSync(driverDir, { recursive: true, force: true });
  });

  it('each executor has a folder of its own, and shuffle files and results stay there', async () => {
    const clusterDirs = readdirSync(executorsTmp);
    expect(clusterDirs).toHaveLength(1);
    const perExecutor = readdirSync(path.join(executorsTmp, clusterDirs[0]!)).sort();
    expect(perExecutor).toEqual(['executor-1', 'executor-2']);

    const counts = await sc
      .range(0, 20_000, 1, 6)
      .map((x) => [x % 101, 1] as [number, number])
      .reduceByKey((a, b) => a + b, 4)
      .collect();
    expect(new Map(counts)).toEqual(new Map(Array.from({ length: 101 }, (_, k) => [k, Math.floor((20_000 - k - 1) / 101) + 1])));

    // The map outputs were written as sorted runs on the executors' disks (the engine keeps nothing in memory).
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name));
    };
    walk(executorsTmp);
    opened.length = 0;
    expect(files.some((f) => f.includes(`${path.sep}shuffle${path.sep}`))).toBe(true);
  });

  it('small and large results, over several jobs reading earlier shuffle files, reach the driver without its disk', async () => {
    opened.length = 0;
    const pairs = sc
      .range(0, 40_000, 1, 8)
      .map((x) => [x % 997, x] as [number, number])
      .reduceByKey((a, b) => a + b, 6);
    const expected = new Map<number, number>();
    for (let x = 0; x < 40_000; x++) expected.set(x % 997, (expected.get(x % 997) ?? 0) + x);
    expect(new Map(await pairs.collect())).toEqual(expected);
    // A second job reads the same shuffle's files back (Hadoop-style), from executors only.
    expect(await pairs.count()).toBe(997);
    // Over 1 MiB per partition: the result is fetched from the executor over TCP, not written for the driver.
    const big = await sc
      .range(0, 2, 1, 2)
      .flatMap((p) => Array.from({ length: 120_000 }, (_, i) => `${p}:${i}`))
      .collect();
    expect(big).toHaveLength(240_000);
    expect(big[0]).toBe('0:0');
    expect(big.at(-1)).toBe('1:119999');

    const underExecutors = opened.filter((p) => p.startsWith(executorsTmp));
    expect(underExecutors).toEqual([]);
    const resultFiles = opened.filter((p) => /job-\d+/.test(p));
    expect(resultFiles).toEqual([]);
  });

  it('an executor SIGKILLed at a random moment loses its shuffle files with it; the job still gives the same result', async () => {
    const seed = Number(process.env.KINDLING_FAULT_SEED ?? Date.now() % 100_000);
    const delayMs = 20 + (seed % 300);
    opened.length = 0;
    const seen: string[] = [];
    const off = sc.events.onAny((e) => void ((e.type === 'workerLost' || e.type === 'jobEnd') && seen.push(e.type)));
    const job = sc
      .range(0, 60_000, 1, 12)
      .map((x) => {
        const end = Date.now() + (x % 2500 === 0 ? 40 : 0);
        while (Date.now() < end) {
          // a map task that computes a little while, so the kill can land in either stage
        }
        return [x % 211, 1] as [number, number];
      })
      .reduceByKey((a, b) => a + b, 5)
      .collect();
    const kill = new Promise((r) => setTimeout(r, delayMs)).then(() => sc.faults.killWorker(0));
    const [counts] = await Promise.all([job, kill]);
    expect(new Map(counts), `seed ${seed} (kill after ${delayMs} ms)`).toEqual(
      new Map(Array.from({ length: 211 }, (_, k) => [k, Math.floor((60_000 - k - 1) / 211) + 1])),
    );
    // The kill landed while the job ran (not after it), so a lost executor's outputs were really recomputed.
    expect(seen.indexOf('workerLost'), `seed ${seed}`).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf('workerLost')).toBeLessThan(seen.indexOf('jobEnd'));
    expect(opened.filter((p) => p.startsWith(executorsTmp) || /job-\d+/.test(p))).toEqual([]);
    off();
  });
});
