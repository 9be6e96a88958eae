/**
 * Errors thrown by user functions reach the driver as themselves: the user's exception, the RDD whose function
 * threw, the partition, the line of the function's source, and the input record when the input is a file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Context, InvalidDataError, JobFailedError } from 'kindling';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-user-errors-'));

async function failure(p: Promise<unknown>): Promise<JobFailedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(JobFailedError);
    return e as JobFailedError;
  }
  throw new Error('expected the job to fail');
}

describe('a user function that throws in a textFile pipeline', () => {
  let sc: Context;
  const file = path.join(root, 'numbers.txt');
  beforeAll(() => {
    // 2000 lines, read as several splits, so line numbers after the first split must be counted from the file.
    writeFileSync(file, Array.from({ length: 2000 }, (_, i) => (i === 1776 ? 'not a number' : String(i + 1))).join('\n') + '\n');
    sc = new Context({ master: 'local[2]', progress: false });
  });
  afterAll(async () => {
    await sc.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('is reported as itself, in the RDD that threw, with the input file and line and the user code line', async () => {
    const parsed = sc.textFile(file, 4).map((line) => {
      const n = Number(line);
      if (Number.isNaN(n)) throw new RangeError(`not a number: ${line}`);
      return n;
    });
    const positive = parsed.filter((n) => n > 0);
    const e = await failure(positive.collect());
    expect(e.message).not.toContain('Cannot read input file');
    expect(e.message).toContain('RangeError: not a number: not a number');
    expect(e.location?.rddId).toBe(parsed.id);
    expect(e.location?.rddLabel).toBe(parsed.label);
    expect(e.message).toContain(`in ${parsed.label}`);
    expect(e.message).toContain(`Input record: ${file}, line 1777`);
    expect(e.message).toMatch(/User code: line 3, column \d+ of the function: if \(Number\.isNaN\(n\)\) throw new RangeError/);
    // The cause is the user's exception, by name and message.
    expect(e.cause).toBeInstanceOf(Error);
    expect((e.cause as Error).name).toBe('RangeError');
    expect((e.cause as Error).message).toBe('not a number: not a number');
    // The same message on every attempt: said once, not listed four times.
    expect(e.message).toMatch(/All 4 attempts \(on workers? [\d, ]+\) failed with this same error: it is deterministic/);
    expect(e.message).not.toContain('All attempts:');
    expect(e.causes).toHaveLength(4);
  });

  test('the partition named is the one holding the line', async () => {
    const lines = sc.textFile(file, 4);
    const e = await failure(
      lines
        .map((l) => {
          if (l === 'not a number') throw new Error('bad');
          return l;
        })
        .count(),
    );
    const holding = (await lines.glom().collect()).findIndex((part) => part.includes('not a number'));
    expect(e.location?.partition).toBe(holding);
    expect(e.message).toContain(`task for partition ${holding} of stage`);
  });

  test('an error that differs between attempts lists every attempt', async () => {
    const e = await failure(
      sc
        .textFile(file, 2)
        .map((l) => {
          if (l === '1') throw new Error(`flaky ${Math.random()}`);
          return l;
        })
        .count(),
    );
    expect(e.message).toContain('All attempts:');
    expect(e.message).not.toContain('deterministic');
  });

  test('a real read failure still says the file cannot be read', async () => {
    const gone = path.join(root, 'gone.txt');
    writeFileSync(gone, 'a\nb\n');
    const rdd = sc.textFile(gone);
    rdd.getNumPartitions(); // plan the splits while the file exists
    rmSync(gone);
    const e = await failure(rdd.count());
    expect(e.message).toMatch(/ENOENT: no such file or directory, open .*gone\.txt/);
    expect(e.message).not.toContain('Input record');
  });

  test('a flatMap or flatMapValues function that returns no iterable is named by its RDD', async () => {
    const flat = sc.textFile(file, 2).flatMap((l) => (l === '7' ? (7 as unknown as string[]) : [l]));
    const e = await failure(flat.count());
    expect(e.message).toContain(`the function of ${flat.label} must return an Iterable (e.g. an array), got number`);
    const values = sc
      .textFile(file, 2)
      .map((l): [string, string] => [l, l])
      .flatMapValues((v) => (v === '9' ? (null as unknown as string[]) : [v]));
    const e2 = await failure(values.count());
    expect(e2.message).toContain(`the function of ${values.label} must return an Iterable (e.g. an array), got null`);
  });

  test('a failing pipe command is named by its pipe RDD (as Spark names its PipedRDD), not by a mapPartitions the user never wrote', async () => {
    const piped = sc.textFile(file, 2).pipe('exit 3');
    expect(piped.label).toMatch(/^RDD \d+ \(pipe at .*user-errors\.test\.ts:\d+\)$/);
    const e = await failure(piped.count());
    expect(e.message).toContain(`in ${piped.label}`);
    expect(e.message).toContain('pipe: "exit 3" exited with 3');
  });

  test('a thrown object that refers to itself shows its fields, not "[object Object]"', async () => {
    const e = await failure(
      sc
        .parallelize([1, 2, 3], 2)
        .map((x) => {
          if (x === 2) {
            const problem: Record<string, unknown> = { reason: 'quota', x };
            problem.self = problem;
            throw problem;
          }
          return x;
        })
        .collect(),
    );
    expect(e.message).toContain('the object {"reason":"quota","x":2,"self":"[Circular]"} was thrown, not an Error');
  });

  test('a key that refers to itself fails its job naming the key, not with a stack overflow', async () => {
    const pairs = sc.parallelize([1, 2, 3], 2).map((x): [unknown, number] => {
      const k: Record<string, unknown> = { x };
      if (x === 3) k.self = k;
      return [k, x];
    });
    const e = await failure(pairs.reduceByKey((a, b) => a + b).collect());
    expect(e.message).toContain(
      'InvalidDataError: kindling: a key that refers to itself (or is nested thousands of levels deep) cannot be a key: {"x":3,"self":"[Circular]"}',
    );
    expect(e.message).not.toContain('Maximum call stack size exceeded');
  });

  test('a key the driver cannot order or hold (sortByKey sample, collectAsMap) names its RDD and the action', async () => {
    // These keys are met on the driver, outside any task: the error named neither the RDD nor the action.
    const pairs = sc.parallelize([1, 2, 3], 2).map((x): [unknown, number] => [new Uint8Array([x]), x]);
    const sorted = pairs.sortByKey();
    const sortError = await sorted.collect().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(sortError).toBeInstanceOf(InvalidDataError);
    expect(sortError?.message).toBe(
      `${sorted.label}: its sampled keys cannot be sorted: [object Uint8Array] cannot be a key; use primitives, Dates, arrays or plain objects of them`,
    );
    await expect(pairs.collectAsMap()).rejects.toThrow(
      new InvalidDataError(
        `collectAsMap on ${pairs.label}: [object Uint8Array] cannot be a key; use primitives, Dates, arrays or plain objects of them`,
      ),
    );
    // The context stays usable.
    expect([
      ...(await sc
        .parallelize<[number, string]>(
          [
            [2, 'b'],
            [1, 'a'],
          ],
          2,
        )
        .sortByKey()
        .collectAsMap()),
    ]).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  test('wholeTextFiles names the file whose content the function was processing', async () => {
    const dir = path.join(root, 'docs');
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.json'), '{"ok":1}');
    writeFileSync(path.join(dir, 'b.json'), '{broken');
    const e = await failure(
      sc
        .wholeTextFiles(dir)
        .mapValues((s) => JSON.parse(s))
        .collect(),
    );
    expect(e.message).toContain('SyntaxError');
    expect(e.message).not.toContain('Cannot read input file');
    expect(e.message).toContain(`Input record: ${path.join(dir, 'b.json')}`);
  });
});
