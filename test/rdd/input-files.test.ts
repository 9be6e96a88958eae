/**
 * Empty input files, across the file readers. The split readers (textFile, csvFile, binaryRecords) plan no partition
 * for an empty file, as Spark 3.2+ (`spark.hadoopRDD.ignoreEmptySplits`, true by default since SPARK-34809); with
 * `ignoreEmptySplits: false` each empty file gets one empty partition, as Hadoop's FileInputFormat (and Spark before
 * 3.2). The whole-file readers (wholeTextFiles, binaryFiles) give an empty file its pair. Elements never change.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MODES, sorted, useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-empty-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(MODES)('empty input files (%s)', (master) => {
  const ctx = useContext(master);
  /** A directory holding `a.txt` (two lines) and the empty files `e1.txt` and `e2.txt`. */
  const dirWithEmpties = (name: string): string => {
    const d = path.join(root, `${master.replace(/\W/g, '_')}-${name}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'a.txt'), 'one\ntwo\n');
    writeFileSync(path.join(d, 'e1.txt'), '');
    writeFileSync(path.join(d, 'e2.txt'), '');
    return d;
  };

  test('textFile: no partition for an empty file by default, one each with ignoreEmptySplits: false; same lines', async () => {
    const d = dirWithEmpties('text');
    const sc = ctx();
    const spark32 = sc.textFile(d, 1);
    const hadoop = sc.textFile(d, 1, { ignoreEmptySplits: false });
    expect(spark32.getNumPartitions()).toBe(1);
    expect(hadoop.getNumPartitions()).toBe(3);
    expect(await hadoop.glom().collect()).toEqual([['one', 'two'], [], []]);
    expect(await spark32.collect()).toEqual(['one', 'two']);
    expect(await hadoop.count()).toBe(2);
    // minPartitions cuts the non-empty file as before; the empty files add one partition each.
    expect(sc.textFile(d, { minPartitions: 4, ignoreEmptySplits: false }).getNumPartitions()).toBe(sc.textFile(d, 4).getNumPartitions() + 2);
    const one = path.join(d, 'e1.txt');
    expect(sc.textFile(one).getNumPartitions()).toBe(0);
    expect(sc.textFile(one, { ignoreEmptySplits: false }).getNumPartitions()).toBe(1);
    expect(await sc.textFile(one, { ignoreEmptySplits: false }).collect()).toEqual([]);
    // Saved, the empty partitions are empty part files, as Spark's.
    const out = path.join(root, `${master.replace(/\W/g, '_')}-saved`);
    await hadoop.saveAsTextFile(out);
    expect(readdirSync(out).sort()).toEqual(['_SUCCESS', 'part-00000', 'part-00001', 'part-00002']);
    expect(readFileSync(path.join(out, 'part-00002'), 'utf8')).toBe('');
  });

  test('csvFile and binaryRecords take the same option; wholeTextFiles and binaryFiles give an empty file its pair', async () => {
    const d = dirWithEmpties('csv');
    writeFileSync(path.join(d, 'a.txt'), 'k,v\nx,1\n');
    const sc = ctx();
    expect(sc.csvFile(d, { minPartitions: 1 }).getNumPartitions()).toBe(1);
    const csv = sc.csvFile(d, { minPartitions: 1, ignoreEmptySplits: false });
    expect(csv.getNumPartitions()).toBe(3);
    expect(await csv.collect()).toEqual([{ k: 'x', v: '1' }]);
    expect(sc.csvFile(d, { multiLine: true, ignoreEmptySplits: false }).getNumPartitions()).toBe(3);

    const b = path.join(root, `${master.replace(/\W/g, '_')}-records`);
    mkdirSync(b, { recursive: true });
    writeFileSync(path.join(b, 'r.bin'), Buffer.alloc(8, 1));
    writeFileSync(path.join(b, 'z.bin'), '');
    expect(sc.binaryRecords(b, 4, { minPartitions: 1 }).getNumPartitions()).toBe(1);
    const records = sc.binaryRecords(b, 4, { minPartitions: 1, ignoreEmptySplits: false });
    expect(records.getNumPartitions()).toBe(2);
    expect((await records.collect()).map((r) => [...r])).toEqual([
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ]);

    expect(sorted(await sc.wholeTextFiles(d).collect())).toEqual([
      [path.join(d, 'a.txt'), 'k,v\nx,1\n'],
      [path.join(d, 'e1.txt'), ''],
      [path.join(d, 'e2.txt'), ''],
    ]);
    expect((await sc.binaryFiles(d, 3).collect()).map(([f, bytes]) => [path.basename(f), bytes.length])).toEqual([
      ['a.txt', 8],
      ['e1.txt', 0],
      ['e2.txt', 0],
    ]);
  });
});
