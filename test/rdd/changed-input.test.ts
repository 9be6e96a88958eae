/**
 * Input that changes between planning a job and running its tasks, and the smallest files. A file deleted after
 * the job was planned fails its task with an InputPathError naming the file and saying it may have changed since
 * planning, with the job, stage, partition and RDD named by the job's error, whichever reader read it (before,
 * textFile, a `.gz`, csvFile and wholeTextFiles failed with Node's bare `ENOENT: ... open '<path>'`). A file of
 * only a UTF-8 byte-order mark reads as no lines, as Hadoop's LineRecordReader: its first record is the line with
 * the BOM stripped and its size counted without the BOM's 3 bytes, and a size of 0 ends the split. BOM + `\n` is
 * one empty line there and here.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { Context, type RDD } from 'kindling';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-changed-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(['memory', 'mapreduce'] as const)('input changed after planning (local[2], %s engine)', (engine) => {
  let sc: Context | undefined;
  // One attempt per task: the file stays gone, so retries would only repeat the same error.
  const ctx = (): Context => (sc ??= new Context({ master: 'local[2]', engine, progress: false, ui: false, maxTaskFailures: 1 }));
  afterAll(async () => {
    await sc?.stop();
  });

  const readers: [string, string, (dir: string) => [string, RDD<unknown>]][] = [
    [
      'textFile',
      'RDD \\d+ \\(textFile at changed-input\\.test\\.ts:\\d+\\)',
      (dir) => {
        const f = path.join(dir, 'a.txt');
        writeFileSync(f, 'x\ny\n'.repeat(100));
        return [f, ctx().textFile(f, 3)];
      },
    ],
    [
      'textFile of a .gz',
      'RDD \\d+ \\(textFile at changed-input\\.test\\.ts:\\d+\\)',
      (dir) => {
        const f = path.join(dir, 'a.txt.gz');
        writeFileSync(f, gzipSync('x\ny\n'));
        return [f, ctx().textFile(f)];
      },
    ],
    [
      'csvFile',
      'RDD \\d+ \\(csvFile at changed-input\\.test\\.ts:\\d+\\)',
      (dir) => {
        const f = path.join(dir, 'a.csv');
        writeFileSync(f, 'h,i\n1,2\n3,4\n');
        return [f, ctx().csvFile(f, { header: true }) as RDD<unknown>];
      },
    ],
    [
      'wholeTextFiles',
      'RDD \\d+ \\(wholeTextFiles at changed-input\\.test\\.ts:\\d+\\)',
      (dir) => {
        const f = path.join(dir, 'a.txt');
        writeFileSync(f, 'whole\n');
        return [f, ctx().wholeTextFiles(dir) as RDD<unknown>];
      },
    ],
    [
      'binaryFiles',
      'RDD \\d+ \\(binaryFiles at changed-input\\.test\\.ts:\\d+\\)',
      (dir) => {
        const f = path.join(dir, 'a.bin');
        writeFileSync(f, Buffer.from([1, 2, 3]));
        return [f, ctx().binaryFiles(dir) as RDD<unknown>];
      },
    ],
  ];

  test.each(readers)(
    '%s: an InputPathError naming the file, in a job error naming job, stage, partition and RDD',
    async (_name, rddPattern, make) => {
      const dir = path.join(root, `${engine}-${_name.replace(/\W+/g, '-')}`);
      mkdirSync(dir);
      const [file, rdd] = make(dir);
      // Planned: the splits (and a CSV's header) are worked out now, while the file is there.
      expect(rdd.getNumPartitions()).toBeGreaterThan(0);
      rmSync(file);
      const err = await rdd.count().then(
        () => new Error('resolved'),
        (e: unknown) => e as Error,
      );
      const message = err.message;
      expect(message).toMatch(
        new RegExp(`^Job \\d+ failed: task for partition \\d+ of stage \\d+ \\(count at ${rddPattern}\\) failed 1 times?, in ${rddPattern}`),
      );
      expect(message).toContain(`InputPathError: Cannot read input file ${file}`);
      expect(message).toContain('it may have changed since the job was planned');
      expect(message).not.toMatch(/Error: ENOENT/);
    },
  );

  test('a file of only a UTF-8 BOM is no lines; BOM + newline one empty line (Hadoop LineRecordReader)', async () => {
    const dir = path.join(root, `${engine}-bom`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'bom.txt'), '\uFEFF');
    writeFileSync(path.join(dir, 'bom-nl.txt'), '\uFEFF\n');
    writeFileSync(path.join(dir, 'bom-crlf.txt'), '\uFEFF\r\n');
    writeFileSync(path.join(dir, 'bom-a.txt'), '\uFEFFa');
    for (const minPartitions of [1, 3]) {
      expect(await ctx().textFile(path.join(dir, 'bom.txt'), minPartitions).collect()).toEqual([]);
      expect(await ctx().textFile(path.join(dir, 'bom-nl.txt'), minPartitions).collect()).toEqual(['']);
      expect(await ctx().textFile(path.join(dir, 'bom-crlf.txt'), minPartitions).collect()).toEqual(['']);
      expect(await ctx().textFile(path.join(dir, 'bom-a.txt'), minPartitions).collect()).toEqual(['a']);
    }
    // wholeTextFiles keeps the file's text as it is (Spark's WholeTextFileRecordReader does not strip a BOM).
    expect(await ctx().wholeTextFiles(path.join(dir, 'bom.txt')).values().collect()).toEqual(['\uFEFF']);
  });
});
