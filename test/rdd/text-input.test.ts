/**
 * `textFile` against the plainest reference there is: the file read whole with `readFileSync`, decoded as UTF-8
 * (invalid bytes becoming U+FFFD, as Java's decoder in Spark), a leading byte-order mark dropped, split at `\n`,
 * `\r\n` and a lone `\r` (Hadoop's LineRecordReader's line ends), no line after a final line end. Random files of the shapes that
 * break line readers: multi-byte characters, CRLF and lone `\r`, empty lines, lines longer than the reader's 64 KiB
 * decoded piece, no final newline, invalid UTF-8, plain or gzip (one member or several), with any number of splits,
 * through both engines. The count must agree with the lines.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { Context } from 'kindling';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-text-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function reference(bytes: Buffer): string[] {
  let text = bytes.toString('utf8');
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) text = text.slice(1);
  if (text === '') return [];
  // Hadoop's LineRecordReader's line ends: \n, \r\n and a lone \r.
  const lines = text.split(/\r\n|\r|\n/);
  if (/[\r\n]$/.test(text)) lines.pop();
  return lines;
}

const piece = fc.oneof(
  fc.constantFrom('\n', '\r\n', '\r', '\n\n', 'é', '😀', '€ ', 'a', ' '),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: 60_000, max: 140_000 }).map((n) => 'x'.repeat(n)), // past a 64 KiB piece, sometimes two
  fc.integer({ min: 20_000, max: 40_000 }).map((n) => 'ü'.repeat(n)), // 2 bytes each: a piece cut among them
);
const file = fc.record({
  pieces: fc.array(piece, { maxLength: 14 }),
  bom: fc.boolean(),
  invalid: fc.boolean(),
  gzip: fc.constantFrom('none', 'one', 'members'),
});

function bytesOf(f: { pieces: string[]; bom: boolean; invalid: boolean }): Buffer {
  let b = Buffer.from(f.pieces.join(''), 'utf8');
  // A truncated 3-byte sequence before a newline, a truncated 2-byte one before a letter, a stray 0xff.
  if (f.invalid) b = Buffer.concat([b.subarray(0, b.length >> 1), Buffer.from([0xe2, 0x82, 0x0a, 0xc3, 0x41, 0xff]), b.subarray(b.length >> 1)]);
  return f.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]) : b;
}

function write(dir: string, name: string, bytes: Buffer, gzip: string): void {
  if (gzip === 'none') writeFileSync(path.join(dir, name), bytes);
  else if (gzip === 'one') writeFileSync(path.join(dir, `${name}.gz`), gzipSync(bytes));
  // Concatenated members decompress to the concatenation (gzip's rule, Hadoop's too).
  else
    writeFileSync(
      path.join(dir, `${name}.gz`),
      Buffer.concat([gzipSync(bytes.subarray(0, bytes.length / 3)), gzipSync(bytes.subarray(bytes.length / 3))]),
    );
}

describe.each(['memory', 'mapreduce'] as const)('textFile against a plain read of the file (local[2], %s engine)', (engine) => {
  let sc: Context | undefined;
  const ctx = (): Context => (sc ??= new Context({ master: 'local[2]', engine, progress: false, ui: false }));
  afterAll(async () => {
    await sc?.stop();
  });

  test('every line and the count, for random files, split counts and gzip (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 40 }), async (files, minPartitions) => {
        const dir = path.join(root, `${engine}-${counter++}`);
        mkdirSync(dir);
        const want: string[] = [];
        files.forEach((f, i) => {
          const bytes = bytesOf(f);
          write(dir, `f${i}.txt`, bytes, f.gzip);
          want.push(...reference(bytes));
        });
        const lines = ctx().textFile(dir, minPartitions);
        const got = await lines.collect();
        expect(got.length).toBe(want.length);
        expect(got).toEqual(want);
        expect(await lines.count()).toBe(want.length);
      }),
      { numRuns: 15 },
    );
  });
});
