/**
 * `sc.binaryRecords(path, recordLength)` (Spark's name): fixed-length records as `Uint8Array`s, files cut into
 * record-aligned ranges read by the workers, listed by textFile's rules.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { InvalidArgumentError, JobFailedError } from 'kindling';
import { MODES, useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-binrec-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `count` records of `length` bytes, the first 4 bytes of each its index (big-endian) after `base`, the rest 0xab. */
function records(count: number, length: number, base = 0): Buffer {
  const b = Buffer.alloc(count * length, 0xab);
  for (let i = 0; i < count; i++) b.writeUInt32BE(base + i, i * length);
  return b;
}

describe.each(MODES)('binaryRecords (%s)', (master) => {
  const ctx = useContext(master);
  const dir = (name: string): string => {
    const d = path.join(root, `${master.replace(/\W/g, '_')}-${name}`);
    mkdirSync(d, { recursive: true });
    return d;
  };

  test('reads each record once as a Uint8Array of recordLength bytes, a large file in many partitions', async () => {
    const d = dir('many');
    writeFileSync(path.join(d, 'a.bin'), records(1000, 12));
    writeFileSync(path.join(d, 'b.bin'), records(10, 12, 5000));
    writeFileSync(path.join(d, '_SUCCESS'), 'not a record file');
    const rdd = ctx().binaryRecords(d, 12, { minPartitions: 7 });
    expect(rdd.getNumPartitions()).toBeGreaterThanOrEqual(7);
    const got = await rdd.collect();
    expect(got).toHaveLength(1010);
    for (const r of got) {
      expect(r).toBeInstanceOf(Uint8Array);
      expect(r.length).toBe(12);
    }
    const ids = got.map((r) => Buffer.from(r).readUInt32BE(0));
    expect(ids).toEqual([...Array.from({ length: 1000 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 5000 + i)]);
    expect(
      Buffer.from(got[3]!)
        .subarray(4)
        .every((x) => x === 0xab),
    ).toBe(true);
    expect(await rdd.count()).toBe(1010);
  });

  test('globs, comma lists and recursive reading follow textFile', async () => {
    const d = dir('tree');
    mkdirSync(path.join(d, 'sub'), { recursive: true });
    writeFileSync(path.join(d, 'x.bin'), records(3, 4));
    writeFileSync(path.join(d, 'sub', 'y.bin'), records(2, 4, 100));
    const sc = ctx();
    await expect(sc.binaryRecords(d, 4).count()).rejects.toThrow(`Not a file: ${path.join(d, 'sub')}`);
    expect(await sc.binaryRecords(d, 4, { recursive: true }).count()).toBe(5);
    expect(await sc.binaryRecords(`${d}/*.bin,${d}/sub/y.bin`, 4).count()).toBe(5);
  });

  test('a file that is not a whole number of records fails the job naming it; the context stays usable', async () => {
    const d = dir('partial');
    const bad = path.join(d, 'bad.bin');
    writeFileSync(path.join(d, 'good.bin'), records(4, 8));
    writeFileSync(bad, Buffer.alloc(20));
    const sc = ctx();
    const err = await sc
      .binaryRecords(d, 8)
      .count()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`${bad} holds 20 bytes, not a whole number of 8-byte records`);
    expect(err).not.toBeInstanceOf(JobFailedError); // refused while planning, not after retried tasks
    expect(await sc.parallelize([1, 2], 2).count()).toBe(2);
  });

  test('an empty file gives no partition; a bad recordLength is refused at the call', async () => {
    const d = dir('empty');
    writeFileSync(path.join(d, 'empty.bin'), '');
    const sc = ctx();
    expect(sc.binaryRecords(d, 16).getNumPartitions()).toBe(0);
    expect(await sc.binaryRecords(d, 16).collect()).toEqual([]);
    expect(() => sc.binaryRecords(d, 0)).toThrow(InvalidArgumentError);
    expect(() => sc.binaryRecords(d, '8' as never)).toThrow(/binaryRecords: recordLength must be a positive integer/);
  });
});
