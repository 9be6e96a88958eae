import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  firstLineNumber,
  forEachSplitLine,
  forEachSplitLineBatch,
  readSplitLines,
  readWholeTextFile,
  type LineReadOptions,
} from '../../src/io/line-reader.js';
import { computeTextSplits, type TextSplit } from '../../src/io/text-splits.js';
import { InputPathError } from '../../src/core/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;

function writeTemp(content: string | Buffer, ext = '.txt'): string {
  const file = path.join(dir, `f${fileCounter++}${ext}`);
  writeFileSync(file, content);
  return file;
}

/**
 * The specification, Hadoop's LineRecordReader's: `\n`, `\r\n` and a lone `\r` end a line, a final line end adds no
 * empty line, a leading BOM is dropped. With `loneCR: false` (the CSV reader's) only `\n` ends a line and one `\r`
 * before it (or at the end of the text) is dropped.
 */
function expectedLines(content: string, loneCR = true): string[] {
  const text = content.startsWith('\uFEFF') ? content.slice(1) : content;
  if (text === '') return [];
  if (loneCR) {
    const lines = text.split(/\r\n|\r|\n/);
    if (/[\r\n]$/.test(text)) lines.pop();
    return lines;
  }
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function allLines(splits: TextSplit[], how: 'array' | 'each' | 'batch', opts?: LineReadOptions): string[] {
  const out: string[] = [];
  for (const split of splits) {
    if (how === 'array') out.push(...readSplitLines(split, opts));
    else if (how === 'each') forEachSplitLine(split, (l) => out.push(l), opts);
    else forEachSplitLineBatch(split, (ls) => out.push(...ls), opts);
  }
  return out;
}

const piece = fc.constantFrom('a', 'b', 'xyz', ' ', 'é', '€', '😀', '\r', '\t', 'line');
const lineArb = fc.array(piece, { maxLength: 12 }).map((ps) => ps.join(''));
const textArb = fc
  .record({
    lines: fc.array(fc.tuple(lineArb, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 30 }),
    finalNewline: fc.boolean(),
    bom: fc.boolean(),
  })
  .map(({ lines, finalNewline, bom }) => {
    const body = lines.map(([l, end]) => l + end).join('');
    const text = finalNewline ? body : body.replace(/(\r\n|\r|\n)$/, '');
    return (bom ? '\uFEFF' : '') + text;
  });

describe('readSplitLines and friends', () => {
  it('read every line exactly once across the splits, for any split, chunk and decoded piece size', async () => {
    await fc.assert(
      fc.asyncProperty(
        textArb,
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 40 }),
        // Pieces from one byte (every line its own piece, lines longer than a piece) to more than a chunk.
        fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
        fc.constantFrom<'array' | 'each' | 'batch'>('array', 'each', 'batch'),
        fc.boolean(),
        async (content, maxSplitBytes, minPartitions, chunkBytes, decodeBytes, how, loneCR) => {
          const file = writeTemp(content);
          const splits = await computeTextSplits([file], minPartitions, { maxSplitBytes });
          expect(allLines(splits, how, { chunkBytes, decodeBytes, loneCR })).toEqual(expectedLines(content, loneCR));
          rmSync(file);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles every split size on one multi-byte CRLF text with the default chunk size', async () => {
    const content = 'héllo\r\n\r\n€€ wörld\n😀\n\nlast line without newline';
    const file = writeTemp(content);
    const size = Buffer.byteLength(content);
    for (let s = 1; s <= size + 1; s++) {
      const splits = await computeTextSplits([file], 1, { maxSplitBytes: s });
      expect(allLines(splits, 'array')).toEqual(expectedLines(content));
    }
  });

  it('ends a line at a lone \\r as Hadoop does, a \\r\\n cut by a split boundary or a read chunk being one line end', () => {
    // Classic Mac line ends, an empty line between two lone \r, CRLF and LF mixed, a final lone \r.
    const content = 'mac\rline\r\rcrlf\r\nlf\n\r\nend\r';
    const expected = ['mac', 'line', '', 'crlf', 'lf', '', 'end'];
    const file = writeTemp(content);
    const size = Buffer.byteLength(content);
    for (let s = 1; s <= size + 1; s++) {
      for (const chunkBytes of [1, 2, 3, 64]) {
        const splits: TextSplit[] = [];
        for (let at = 0; at < size; at += s) splits.push({ path: file, start: at, length: Math.min(s, size - at), whole: false });
        for (const how of ['array', 'each', 'batch'] as const) expect(allLines(splits, how, { chunkBytes })).toEqual(expected);
      }
    }
    // The reader that keeps a lone \r as text (CSV's) drops only the \r before a \n and at the very end.
    expect(readSplitLines({ path: file, start: 0, length: size, whole: false }, { loneCR: false })).toEqual(['mac\rline\r\rcrlf', 'lf', '', 'end']);
  });

  it('decodes a file of classic Mac line ends in pieces cut at its \\r, as a file of \\n in pieces cut at its \\n', () => {
    // Decoded whole per read chunk instead, every line of a few MiB of text would be cut from one long string.
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${'m'.repeat(i % 50)}`);
    const file = writeTemp(`${lines.join('\r')}\r`);
    const batches: number[] = [];
    const got: string[] = [];
    forEachSplitLineBatch({ path: file, start: 0, length: Buffer.byteLength(`${lines.join('\r')}\r`), whole: false }, (ls) => {
      batches.push(ls.length);
      got.push(...ls);
    });
    expect(got).toEqual(lines);
    // ~1.8 MB in pieces of at most 64 KiB (and a line).
    expect(batches.length).toBeGreaterThan(20);
    expect(Math.max(...batches)).toBeLessThan(3000);
  });

  it('numbers the lines before a split as its reader counts them, lone \\r included', () => {
    const file = writeTemp('a\rb\r\nc\nd\r\re');
    const split = (start: number): TextSplit => ({ path: file, start, length: 1, whole: false });
    // Lines start at bytes 0, 2, 5, 7, 9, 10: the first line a split owns is the first starting at or after its start.
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => firstLineNumber(split(s)))).toEqual([2, 2, 3, 3, 3, 4, 4, 5, 5, 6]);
    // Only \n ends a line for the CSV reader: lines start at bytes 0, 5, 7.
    expect([1, 5, 6, 7, 8].map((s) => firstLineNumber(split(s), { loneCR: false }))).toEqual([2, 2, 3, 3, 4]);
  });

  it('gives each line to the split holding its first byte', () => {
    const file = writeTemp('a\nbb\r\nccc');
    const split = (start: number, length: number): TextSplit => ({ path: file, start, length, whole: false });
    expect(readSplitLines(split(0, 1))).toEqual(['a']);
    expect(readSplitLines(split(1, 1))).toEqual([]);
    expect(readSplitLines(split(1, 2))).toEqual(['bb']);
    expect(readSplitLines(split(2, 1))).toEqual(['bb']);
    expect(readSplitLines(split(3, 3))).toEqual([]);
    expect(readSplitLines(split(3, 4))).toEqual(['ccc']);
    // A split reaching past the end of its file was planned for a longer file: it fails naming the file (read, it gave
    // no lines here, and a split cut short took the final line end for one more empty line).
    expect(() => readSplitLines(split(9, 5))).toThrow(/changed since the job was planned: it holds 9 bytes.*bytes 9 to 14/);
    expect(() => readSplitLines(split(6, 5))).toThrow(InputPathError);
  });

  it('reads lines longer than the read chunk and splits cut inside them', () => {
    const long = 'x'.repeat(5000) + '€'.repeat(700);
    const content = `${long}\nshort\n${long}\n`;
    const file = writeTemp(content);
    const size = Buffer.byteLength(content);
    const splits: TextSplit[] = [];
    for (let s = 0; s < size; s += 1000) splits.push({ path: file, start: s, length: Math.min(1000, size - s), whole: false });
    expect(allLines(splits, 'each', { chunkBytes: 64 })).toEqual([long, 'short', long]);
  });

  it('reads splits larger than the default read chunk', async () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `${i} ünïcode line ${'z'.repeat(i % 60)}`);
    const content = lines.join('\r\n') + '\r\n';
    const file = writeTemp(content);
    const splits = await computeTextSplits([file], 2);
    expect(splits.map((s) => s.length > 4 * 1024 * 1024)).toEqual([true, true]);
    expect(allLines(splits, 'array')).toEqual(lines);
    expect(allLines(splits, 'each')).toEqual(lines);
  });

  it('decodes ASCII runs (as latin1) and runs with any other byte (as UTF-8) to the characters UTF-8 gives', async () => {
    // Bytes, not characters: lone continuation bytes, cut sequences and overlong forms must come out as the UTF-8
    // decoder's U+FFFD, also when every other line of the run is ASCII.
    const asciiLine = fc
      .array(fc.constantFrom('a', 'Z', '0', ' ', '\t', '\r', '~', '\u0000', '\u007f'), { maxLength: 30 })
      .map((cs) => Buffer.from(cs.join(''), 'latin1'));
    const otherLine = fc.oneof(
      fc.constantFrom('é', '€', '😀', '\u0080', '\u00ff', '\uffff', 'aé b').map((t) => Buffer.from(t, 'utf8')),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b.map((x) => (x === 10 ? 0x80 : x)))),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 6, arbitrary: asciiLine }, { weight: 1, arbitrary: otherLine }), { maxLength: 40 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 100 }),
        async (lines, finalNewline, numSplits, chunkBytes, decodeBytes) => {
          const parts = lines.flatMap((l, i) => (i < lines.length - 1 || finalNewline ? [l, Buffer.from('\n')] : [l]));
          const bytes = Buffer.concat(parts);
          const file = writeTemp(bytes);
          const splits = await computeTextSplits([file], numSplits);
          // The whole file through the UTF-8 decoder at once: a cut at a newline never splits a character, and each
          // decoded piece (ASCII or not) is decided on its own bytes.
          const expected = expectedLines(bytes.toString('utf8'));
          expect(allLines(splits, 'each', { chunkBytes })).toEqual(expected);
          expect(allLines(splits, 'batch', { chunkBytes })).toEqual(expected);
          expect(allLines(splits, 'each', { chunkBytes, decodeBytes })).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it.each([
    ['in pieces of the default size (young heap strings)', undefined],
    ['whole (external latin1 strings)', 2 << 20],
  ])('decodes chunks of MiBs of ASCII %s like UTF-8, with a non-ASCII line among them', (_, decodeBytes) => {
    // Past about 1 MiB Node makes a latin1 run an external string, below it a string in V8's heap: lines sliced
    // from either and words split from those must be the same strings as the UTF-8 decoder's (the same
    // characters, equal, same length).
    const lines = Array.from({ length: 120_000 }, (_, i) => (i === 60_000 ? 'née à Zürich 😀 ' : `w${i % 977} line ${i}`));
    const file = writeTemp(lines.join('\n') + '\n');
    const got = allLines([{ path: file, start: 0, length: Buffer.byteLength(lines.join('\n') + '\n'), whole: false }], 'each', {
      chunkBytes: 2 << 20,
      decodeBytes,
    });
    expect(got).toEqual(lines);
    expect(got[60_000]!.split(' ')).toEqual(['née', 'à', 'Zürich', '😀', '']);
    expect(new Map(got.slice(0, 1000).map((l) => [l.split(' ')[0], 1])).get('w976')).toBe(1);
  });

  it('lists the lines of a split decoded in more pieces than one concat call takes', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i}`);
    const file = writeTemp(lines.join('\n'));
    const split: TextSplit = { path: file, start: 0, length: Buffer.byteLength(lines.join('\n')), whole: false };
    // One piece per line: 10,000 arrays joined.
    expect(readSplitLines(split, { decodeBytes: 1 })).toEqual(lines);
  });

  it('refuses a decoded piece size that is not a positive integer, naming it', () => {
    const file = writeTemp('a\nb\n');
    const split: TextSplit = { path: file, start: 0, length: 4, whole: false };
    expect(() => readSplitLines(split, { decodeBytes: 0 })).toThrow(/decodeBytes must be a positive integer, got 0/);
    expect(() => readSplitLines(split, { chunkBytes: 1.5 })).toThrow(/chunkBytes must be a positive integer, got 1.5/);
  });

  it('gives the same lines in pieces as decoding each read chunk whole (the reader before pieces), plain or gzip', async () => {
    // A piece size past any chunk makes decodeLines decode each chunk in one string, as the reader did before pieces.
    const whole: LineReadOptions = { decodeBytes: 2 ** 40 };
    await fc.assert(
      fc.asyncProperty(
        textArb,
        fc.boolean(),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 80 }),
        fc.constantFrom<'array' | 'each' | 'batch'>('array', 'each', 'batch'),
        async (content, gzip, maxSplitBytes, minPartitions, chunkBytes, decodeBytes, how) => {
          const file = gzip ? writeTemp(gzipSync(Buffer.from(content)), '.txt.gz') : writeTemp(content);
          const splits = await computeTextSplits([file], minPartitions, { maxSplitBytes });
          const before = allLines(splits, how, { ...whole, chunkBytes });
          expect(allLines(splits, how, { chunkBytes, decodeBytes })).toEqual(before);
          expect(allLines(splits, how, { chunkBytes })).toEqual(before);
          expect(before).toEqual(expectedLines(content));
          rmSync(file);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([false, true])('reads a 10 MB line among short ones with the default sizes (gzip: %s)', (gzip) => {
    const long = 'é'.repeat(1000) + 'w '.repeat(5_000_000);
    const content = `a\r\n${long}\r\nb\n\n${long}`; // no final newline
    const file = gzip ? writeTemp(gzipSync(Buffer.from(content)), '.txt.gz') : writeTemp(content);
    const length = gzip ? 1 : Buffer.byteLength(content);
    const splits: TextSplit[] = gzip
      ? [{ path: file, start: 0, length, whole: true }]
      : [0, 3, 7 << 20].map((start, i, all) => ({ path: file, start, length: (all[i + 1] ?? length) - start, whole: false }));
    const expected = ['a', long, 'b', '', long];
    for (const how of ['each', 'batch', 'array'] as const) expect(allLines(splits, how)).toEqual(expected);
    rmSync(file);
  });

  it('fails naming the file on a line longer than a JavaScript string can hold (simulated: V8 allows ~512 MiB)', () => {
    const file = writeTemp(`short\n${'x'.repeat(5000)}\nshort\n`);
    const toString = Buffer.prototype.toString;
    // A 600 MB line took the same path for real (docs/pyspark.md): Node's decoder refuses the string with this code.
    const spy = vi.spyOn(Buffer.prototype, 'toString').mockImplementation(function (this: Buffer, ...args: unknown[]) {
      const [, start = 0, end = this.length] = args as [string, number, number];
      if (end - start > 4000)
        throw Object.assign(new Error('Cannot create a string longer than 0x1fffffe8 characters'), { code: 'ERR_STRING_TOO_LONG' });
      return toString.apply(this, args as Parameters<Buffer['toString']>);
    });
    try {
      expect(() => readSplitLines({ path: file, start: 0, length: 5012, whole: false })).toThrow(InputPathError);
      let err: unknown;
      try {
        readSplitLines({ path: file, start: 0, length: 5012, whole: false });
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).toMatch(/holds a line of about \d+ bytes \(in the split from byte 0\).*binaryFiles/);
      expect((err as Error).message).toContain(file);
    } finally {
      spy.mockRestore();
    }
    expect(readSplitLines({ path: file, start: 0, length: 5012, whole: false })).toEqual(['short', 'x'.repeat(5000), 'short']);
  });

  it('searches each byte of a line longer than its split a bounded number of times, not once per read', () => {
    // Past a split's end the reader reads 64 KiB (here 4 KiB) at a time to finish its last line; each read searched
    // the whole buffer again for its last line end, so a 600 MB line took ~100 s (docs/benchmarks.md, session 30).
    const long = 'y'.repeat(2 * 1024 * 1024);
    const file = writeTemp(`a\n${long}\nb\n`);
    const lastIndexOf = Buffer.prototype.lastIndexOf;
    let searched = 0;
    const spy = vi.spyOn(Buffer.prototype, 'lastIndexOf').mockImplementation(function (this: Buffer, ...args: unknown[]) {
      if (args.length === 1) searched += this.length; // a search from the end of the buffer
      return lastIndexOf.apply(this, args as Parameters<Buffer['lastIndexOf']>);
    });
    try {
      expect(readSplitLines({ path: file, start: 0, length: 100, whole: false }, { chunkBytes: 4096 })).toEqual(['a', long]);
    } finally {
      spy.mockRestore();
    }
    expect(searched).toBeLessThan(3 * long.length);
  });

  it('reads nothing from an empty file or a split past its end', () => {
    const file = writeTemp('');
    expect(allLines([{ path: file, start: 0, length: 0, whole: false }], 'each')).toEqual([]);
    const gz = writeTemp(gzipSync(Buffer.alloc(0)), '.txt.gz');
    expect(allLines([{ path: gz, start: 0, length: 1, whole: true }], 'batch')).toEqual([]);
  });

  it('reads a gzip file as one whole split', async () => {
    const content = 'one\r\ntwo\n\nthree';
    const file = writeTemp(gzipSync(Buffer.from(content)), '.txt.gz');
    const splits = await computeTextSplits([file], 4, { maxSplitBytes: 2 });
    expect(splits).toEqual([{ path: file, start: 0, length: expect.any(Number), whole: true }]);
    expect(readSplitLines(splits[0] as TextSplit)).toEqual(['one', 'two', '', 'three']);
    expect(allLines(splits, 'each', { chunkBytes: 3 })).toEqual(['one', 'two', '', 'three']);
  });

  it('names the file when it cannot be read', () => {
    const missing = path.join(dir, 'gone.txt');
    expect(() => readSplitLines({ path: missing, start: 0, length: 10, whole: false })).toThrow(missing);
    const notGzip = writeTemp('plain text', '.gz');
    expect(() => readSplitLines({ path: notGzip, start: 0, length: 10, whole: true })).toThrow(/Cannot decompress .*not valid gzip/);
  });
});

describe('readWholeTextFile', () => {
  it('returns the exact text of plain and gzip files', () => {
    const content = '\uFEFFfirst\r\nsecond €\n';
    expect(readWholeTextFile(writeTemp(content))).toBe(content);
    expect(readWholeTextFile(writeTemp(gzipSync(Buffer.from(content)), '.gz'))).toBe(content);
  });
});
