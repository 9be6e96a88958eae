/**
 * Reading the lines of a {@link TextSplit} inside a worker, straight from the file.
 *
 * Ownership rule, which makes the splits of a file partition its lines exactly: a split
 * `[s, s + len)` owns every line whose first byte lies in that range. So a split reads on past its end
 * to finish its last line, and a split with s > 0 starts reading at byte s - 1: if that byte is `\n`,
 * a line starts exactly at s and is ours; otherwise the partial line belongs to the previous split and
 * is skipped up to its `\n`. Both cases are "skip through the first `\n` at or after s - 1".
 *
 * Line ends are Hadoop's LineRecordReader's, which Spark's `textFile` reads with: `\n`, `\r\n` and a lone `\r`
 * (classic Mac files). So "the first `\n`" above means the first line end, a `\r` counting only once the byte after
 * it is known not to be `\n`. Readers that keep `\r` as text (the CSV reader, whose quoted fields may hold one)
 * pass `{ loneCR: false }`: then only `\n` ends a line and a `\r` before it (or at the end of the file) is
 * dropped. A UTF-8 byte-order mark at the start of a file is dropped, as Hadoop's LineRecordReader does.
 *
 * Speed: bytes are read synchronously in chunks of a few MiB, and every chunk is cut at its last `\n`
 * (a byte that never occurs inside a multi-byte UTF-8 sequence), decoded in pieces of some 64 KiB cut at a `\n`
 * each (latin1 when the piece is ASCII, see decodeText), whose lines are then cut with `indexOf` and `slice` (or, for
 * the readers that hand over arrays, one `split('\n')`). Decoding per line is several times slower, decoding a whole
 * chunk at once ~1.4x slower (see DECODE_PIECE_BYTES). Compressed files (`.gz`, `.deflate`, `.bz2`, `.br`, see
 * codecs.ts) are decompressed in one piece (none is entered mid-stream here), then cut the same way.
 */

import { constants, isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { isCompressedPath, type TextSplit } from './text-splits.js';
import { decompressForPath } from './codecs.js';
import { InputPathError, InvalidArgumentError } from '../core/errors.js';

/** Bytes per read; big enough to amortise decode/split calls, small enough not to double a 32 MiB split. */
export const DEFAULT_READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Extra bytes read past a split's end so its last line usually arrives in the same read. */
const TAIL_SLACK = 64 * 1024;
const NL = 0x0a;
const CR = 0x0d;

/**
 * The text of `buf[from, to)`, decoded as UTF-8. A run of ASCII bytes (most text, checked at several GB/s) is
 * decoded as latin1, which gives the same characters without UTF-8's validation (and, for a run past ~1 MiB,
 * into memory outside the V8 heap where UTF-8's would go to the old generation). Any byte of 0x80 or above takes
 * the UTF-8 decoder, so the characters are always UTF-8's.
 */
function decodeText(buf: Buffer, from: number, to: number): string {
  try {
    return buf.toString(isAscii(buf.subarray(from, to)) ? 'latin1' : 'utf8', from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_STRING_TOO_LONG') throw new LineTooLongError(to - from, err);
    throw err;
  }
}

/**
 * A line longer than the longest string V8 holds (2^29 - 24 characters, some 512 MiB: a whole JSON dump on one line,
 * a binary file read as text). Thrown by decodeText without the file's name, which {@link withSource} adds.
 */
class LineTooLongError extends Error {
  constructor(
    readonly bytes: number,
    cause: unknown,
  ) {
    super(`a line of ${bytes} bytes`, { cause });
  }
}

/**
 * Bytes per decoded piece of text. A read's few MiB decoded as one string cost ~4-6 ns per byte, far more than a copy
 * (the string goes to memory outside V8's heap, or to its large-object space, fresh to the process each time); pieces
 * below V8's largest regular object (128 KiB) are ordinary young strings, allocated and freed by the young
 * generation's collections like the lines and words made from them. Measured on half the 50 MiB Zipf text, lines
 * split into words (docs/benchmarks.md, session 11): 32-64 KiB pieces ~360 ms of CPU, 8 KiB ~420, 117 KiB ~415,
 * 4 MiB ~500. Not past 128 KiB: V8 puts a larger young string in its young large-object space and promotes it whole
 * when a scavenge finds it alive, and 512 KiB pieces more than doubled what PageRank's load promoted (session 12).
 */
export const DECODE_PIECE_BYTES = 64 * 1024;

/**
 * Calls `onText` with the text of `buf[from, to)` (whole lines, no final line end) in pieces of about `pieceBytes`
 * (at most one line more), each cut at a `\n` that it drops (with `loneCR`, with the `\r` of a `\r\n`): the pieces'
 * lines are the lines of the whole run. A line longer than a piece is decoded whole.
 */
function decodeLines(buf: Buffer, from: number, to: number, pieceBytes: number, loneCR: boolean, onText: (text: string) => void): void {
  while (to - from > pieceBytes) {
    const cut = pieceCut(buf, from, from + pieceBytes, loneCR);
    if (cut < 0 || cut >= to) break;
    onText(decodeText(buf, from, withoutCR(buf, from, cut, loneCR)));
    from = cut + 1;
  }
  onText(decodeText(buf, from, to));
}

/**
 * Where to end a piece that starts at `from`: the last line end at or before `at` past `from`, else the first after
 * it; -1 if none. A `\r` counts (with `loneCR`) as its `\r\n`'s `\n` or as a lone `\r`. The `\r` searches are bounded
 * to the piece: a file of classic Mac line ends has no `\n` to cut at, and one `\r` far behind must not be searched
 * for from every piece.
 */
function pieceCut(buf: Buffer, from: number, at: number, loneCR: boolean): number {
  let cut = buf.lastIndexOf(NL, at);
  if (loneCR) {
    const c = buf.subarray(Math.max(from, cut + 1), at + 1).lastIndexOf(CR);
    if (c >= 0) cut = crEnd(buf, Math.max(from, cut + 1) + c);
  }
  if (cut >= from) return cut;
  cut = buf.indexOf(NL, at);
  if (loneCR) {
    const c = buf.subarray(at, cut < 0 ? undefined : cut).indexOf(CR);
    if (c >= 0) cut = crEnd(buf, at + c);
  }
  return cut;
}

/** The line end a `\r` at `c` makes: itself when lone, the `\n` after it otherwise. */
function crEnd(buf: Buffer, c: number): number {
  return buf[c + 1] === NL ? c + 1 : c;
}

/**
 * `to`, or with `loneCR` one less when the run `buf[from, to)` ends with the `\r` of a `\r\n` whose `\n` is at `to`:
 * a run must not end with a `\r` that is not a line end. Without `loneCR` the line's consumer drops it.
 */
function withoutCR(buf: Buffer, from: number, to: number, loneCR: boolean): number {
  return loneCR && to > from && buf[to] === NL && buf[to - 1] === CR ? to - 1 : to;
}

/**
 * The first line end in `view` at or after `from`: a `\n`, or with `loneCR` a `\r` not followed by `\n`. -1 when
 * there is none yet, which includes a `\r` as the last byte before more input (it may start a `\r\n`).
 */
function nextLineEnd(view: Buffer, from: number, loneCR: boolean, eof: boolean): number {
  const nl = view.indexOf(NL, from);
  if (!loneCR) return nl;
  const limit = nl < 0 ? view.length : nl;
  for (let c = view.indexOf(CR, from); c >= 0 && c < limit; c = view.indexOf(CR, c + 1)) {
    if (c + 1 === view.length) return eof ? c : -1;
    if (view[c + 1] !== NL) return c;
  }
  return nl;
}

/**
 * The last line end in `view` at or after `from` (see {@link nextLineEnd}), or -1. Bounded below by `from` (the bytes
 * of the last read): searched from the end of the whole buffer, every 64 KiB read of a line longer than its split
 * scanned the line again, and a 600 MB line took ~100 s instead of ~2.
 */
function lastLineEnd(whole: Buffer, from: number, loneCR: boolean, eof: boolean): number {
  const view = whole.subarray(from);
  const nl = view.lastIndexOf(NL);
  let last = nl;
  if (loneCR && view.length > 0) {
    // A `\r` after the last `\n` is not followed by one: a line end, unless it is the last byte and more may come.
    const at = !eof && view[view.length - 1] === CR ? view.length - 2 : view.length - 1;
    const c = at < 0 ? -1 : view.lastIndexOf(CR, at);
    if (c > nl) last = c;
  }
  return last < 0 ? -1 : last + from;
}

/** A byte source: fills `buf[offset, offset + length)` from `position`, returns the bytes copied. */
interface ByteSource {
  readonly size: number;
  read(buf: Buffer, offset: number, length: number, position: number): number;
}

/**
 * Calls `onText` with decoded runs of whole owned lines joined by their line ends (no final one): each call
 * stands for the text split at its line ends, at least one line, possibly one empty line.
 */
function scanOwnedLines(src: ByteSource, start: number, end: number, sizes: ReadSizes, onText: (text: string) => void): void {
  const { chunkBytes, decodeBytes, loneCR } = sizes;
  if (end <= start || start >= src.size) return;
  const slack = Math.min(TAIL_SLACK, chunkBytes);
  let bufStart = start > 0 ? start - 1 : 0; // source offset of buf[0]
  const initial = Math.min(chunkBytes, end - bufStart + slack, src.size - bufStart);
  let buf = Buffer.allocUnsafe(Math.max(initial, 1));
  let filled = 0;
  let lineStart = 0; // first byte in buf of the owned line being assembled
  let skipping = start > 0;
  let checkBom = start === 0;

  for (;;) {
    // Keep only the unfinished line at the front of the buffer.
    if (skipping) {
      // A `\r` ending the bytes skipped may be a line end: kept until the byte after it is read.
      const keep = filled > 0 && buf[filled - 1] === CR ? 1 : 0;
      if (keep === 1) buf[0] = CR;
      bufStart += filled - keep;
      filled = keep;
    } else if (lineStart > 0) {
      buf.copyWithin(0, lineStart, filled);
      bufStart += lineStart;
      filled -= lineStart;
      lineStart = 0;
    }
    if (filled === buf.length) {
      // One line is longer than the buffer.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const pos = bufStart + filled;
    const want = Math.min(buf.length - filled, src.size - pos, Math.max(end - pos, 0) + slack);
    const n = want > 0 ? src.read(buf, filled, want, pos) : 0;
    const eof = n === 0 || pos + n >= src.size;
    // A `\r` last in the buffer was not known to end a line: looked at again now that its next byte is here.
    let scanFrom = filled > 0 && buf[filled - 1] === CR ? filled - 1 : filled;
    filled += n;
    // Searches stop at `filled`: bytes past it are stale leftovers of earlier reads.
    const view = buf.subarray(0, filled);
    // Bytes before scanFrom hold no `\r` but that one: only a read that brought one pays for lone-`\r` searches.
    const cr = loneCR && view.indexOf(CR, scanFrom) >= 0;

    if (checkBom && (filled >= 3 || eof)) {
      checkBom = false;
      const atFileStart = bufStart === 0 && lineStart === 0 && filled >= 3;
      if (atFileStart && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        lineStart = 3;
        scanFrom = Math.max(scanFrom, 3);
      }
    }
    if (skipping) {
      const k = nextLineEnd(view, scanFrom, cr, eof);
      if (k < 0) {
        if (eof) return;
        continue;
      }
      skipping = false;
      lineStart = scanFrom = k + 1;
      if (bufStart + lineStart >= end) return; // no line starts inside the split
    }

    // The owned region ends at the first line end at or after byte end - 1.
    const cutFrom = Math.max(scanFrom, end - 1 - bufStart);
    if (cutFrom < filled) {
      const k = nextLineEnd(view, cutFrom, cr, eof);
      if (k >= 0) {
        decodeLines(buf, lineStart, withoutCR(buf, lineStart, k, loneCR), decodeBytes, loneCR, onText);
        return;
      }
    }
    if (eof) {
      if (lineStart < filled) decodeLines(buf, lineStart, filled, decodeBytes, loneCR, onText);
      return;
    }
    const last = lastLineEnd(view, scanFrom, cr, eof);
    if (last >= scanFrom) {
      decodeLines(buf, lineStart, withoutCR(buf, lineStart, last, loneCR), decodeBytes, loneCR, onText);
      lineStart = last + 1;
    }
  }
}

function withSource<T>(split: TextSplit, body: (src: ByteSource, start: number, end: number) => T): T {
  try {
    return readSource(split, body);
  } catch (err) {
    if (!(err instanceof LineTooLongError)) throw err;
    throw new InputPathError(
      `Input file ${split.path} holds a line of about ${err.bytes} bytes (in the split from byte ${split.start}), longer than ` +
        `the longest string JavaScript can hold (${constants.MAX_STRING_LENGTH} characters). Split the file into lines ` +
        '(a JSON dump on one line: convert it to JSON lines), or read it as bytes with binaryFiles.',
      split.path,
      { cause: err.cause },
    );
  }
}

function readSource<T>(split: TextSplit, body: (src: ByteSource, start: number, end: number) => T): T {
  if (split.whole || isCompressedPath(split.path)) {
    const data = readWholeBytes(split.path);
    const src: ByteSource = {
      size: data.length,
      read: (buf, offset, length, position) => data.copy(buf, offset, position, position + length),
    };
    return body(src, 0, data.length);
  }
  let fd: number;
  try {
    fd = openSync(split.path, 'r');
  } catch (err) {
    throw inputReadError(split.path, err);
  }
  try {
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (err) {
      throw inputReadError(split.path, err);
    }
    // A split ends inside the file as planned (the last one at its end): a file now shorter than that was cut or
    // rewritten since the job was planned. Read anyway, a split past the end read nothing and one cut mid-way took the
    // final line end for one more empty line; Hadoop reads on regardless, but the lines would not be the planned ones.
    // A file grown since is read as planned (the lines starting in the planned bytes), as Hadoop reads it.
    if (size < split.start + split.length) throw shorterThanPlanned(split, size);
    // Only the reads are wrapped: `body` also runs the consumer of the lines (user functions), whose own
    // exceptions must reach the driver as themselves, not as a failure to read the file.
    const read = (buf: Buffer, offset: number, length: number, position: number): number => {
      try {
        return readSync(fd, buf, offset, length, position);
      } catch (err) {
        throw inputReadError(split.path, err);
      }
    };
    return body({ size, read }, split.start, split.start + split.length);
  } finally {
    closeSync(fd);
  }
}

/**
 * The 1-based number, in its file, of the first line a split owns: one more than the lines that start before
 * byte `split.start`. Reads the file up to there, so it is meant for error reports, not for every task.
 *
 * @example
 * ```ts
 * // file: "a\nbb\nccc"
 * firstLineNumber({ path: '/data/f.txt', start: 3, length: 6, whole: false }); // 3 (the split owns 'ccc')
 * ```
 */
export function firstLineNumber(split: TextSplit, opts?: Pick<LineReadOptions, 'loneCR'>): number {
  if (split.whole || isCompressedPath(split.path) || split.start <= 0) return 1;
  const loneCR = opts?.loneCR ?? true;
  // Lines starting before `start`: the one at byte 0 and one after each line end in [0, start - 1). Bytes are read
  // through start - 1 so that the byte after every `\r` before it is known.
  let lines = 1;
  const end = split.start - 1;
  const fd = openSync(split.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(DEFAULT_READ_CHUNK_BYTES, Math.max(end + 1, 1)));
    let afterCR = false; // the byte before this chunk was a `\r` before `end`
    for (let pos = 0; pos <= end; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end + 1 - pos), pos);
      if (n === 0) break;
      const view = buf.subarray(0, n);
      const within = Math.min(n, end - pos); // bytes of this chunk before `end`
      if (afterCR && view[0] !== NL) lines++;
      for (let i = view.indexOf(NL); i >= 0 && i < within; i = view.indexOf(NL, i + 1)) lines++;
      afterCR = false;
      if (loneCR) {
        for (let i = view.indexOf(CR); i >= 0 && i < within; i = view.indexOf(CR, i + 1)) {
          if (i + 1 < n) {
            if (view[i + 1] !== NL) lines++;
          } else afterCR = true;
        }
      }
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return lines + 1;
}

function shorterThanPlanned(split: TextSplit, size: number): InputPathError {
  return new InputPathError(
    `Input file ${split.path} changed since the job was planned: it holds ${size} bytes, and a split was planned for ` +
      `bytes ${split.start} to ${split.start + split.length}. Re-run the job on a file that no longer changes (or copy it first).`,
    split.path,
  );
}

function readWholeBytes(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw inputReadError(path, err);
  }
  return decompressForPath(path, raw);
}

/**
 * `err` (from reading input file `path` inside a task) as an {@link InputPathError} naming the file and saying that
 * it may have changed since the job was planned; one already an InputPathError passes as it is. Node's own errors
 * name the path too (`ENOENT: no such file or directory, open '…'`), but kept bare they lost the hint and the
 * error's kind: a file deleted after planning failed as a plain Error.
 *
 * @example
 * ```ts
 * try { openSync(path, 'r'); } catch (err) { throw inputReadError(path, err); }
 * ```
 */
export function inputReadError(path: string, err: unknown): Error {
  if (err instanceof InputPathError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  return new InputPathError(
    `Cannot read input file ${path} (${code}): ${(err as Error).message}. ` +
      'Check that it still exists and is readable; it may have changed since the job was planned.',
    path,
    { cause: err },
  );
}

/** Tuning for the split readers. */
export interface LineReadOptions {
  /** Bytes per read (default {@link DEFAULT_READ_CHUNK_BYTES}); a line longer than this grows the buffer. */
  readonly chunkBytes?: number;
  /** Bytes decoded into one string at a time (default {@link DECODE_PIECE_BYTES}), cut at a line's end. */
  readonly decodeBytes?: number;
  /**
   * Whether a `\r` not followed by `\n` ends a line, as in Hadoop's LineRecordReader (default true). With false a
   * lone `\r` is text, for readers whose records may hold one (CSV's quoted fields).
   */
  readonly loneCR?: boolean;
}

/** Arrays passed to one `concat` call as arguments, well within V8's limit on a call's argument count. */
const SPREAD_LIMIT = 4096;

interface ReadSizes {
  readonly chunkBytes: number;
  readonly decodeBytes: number;
  readonly loneCR: boolean;
}

function sizesOf(opts: LineReadOptions | undefined): ReadSizes {
  const sizes = { chunkBytes: opts?.chunkBytes ?? DEFAULT_READ_CHUNK_BYTES, decodeBytes: opts?.decodeBytes ?? DECODE_PIECE_BYTES };
  for (const [name, n] of Object.entries(sizes)) {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got ${n}. Omit it to use the default.`);
    }
  }
  return { ...sizes, loneCR: opts?.loneCR ?? true };
}

function stripCR(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

const LINE_END = /\r\n?|\n/;

/** The lines of a decoded run (see scanOwnedLines), split at its line ends. */
function linesOf(text: string, loneCR: boolean): string[] {
  if (!text.includes('\r')) return text.split('\n');
  if (loneCR) return text.split(LINE_END);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) lines[i] = stripCR(lines[i] as string);
  return lines;
}

/**
 * Returns the lines a split owns, without their line ends (`\n`, `\r\n` or a lone `\r`, as Hadoop's).
 *
 * A final line without a line end counts; a file ending in one has no extra empty line; a line made
 * of only a line end is `''`. `whole` (gzip) splits yield every line of the decompressed file.
 *
 * @example
 * ```ts
 * // file: "a\nbb\r\nccc" (9 bytes)
 * readSplitLines({ path: '/data/f.txt', start: 0, length: 3, whole: false }); // ['a', 'bb']
 * readSplitLines({ path: '/data/f.txt', start: 3, length: 6, whole: false }); // ['ccc']
 * // file: "x\ry\r" (a classic Mac file)
 * readSplitLines({ path: '/data/mac.txt', start: 0, length: 4, whole: false }); // ['x', 'y']
 * ```
 */
export function readSplitLines(split: TextSplit, opts?: LineReadOptions): string[] {
  const pieces: string[][] = [];
  const sizes = sizesOf(opts);
  withSource(split, (src, start, end) => scanOwnedLines(src, start, end, sizes, (text) => void pieces.push(linesOf(text, sizes.loneCR))));
  // concat copies element slots in bulk; flat() walks them generically and was 2x slower here. A split holds one
  // piece per ~64 KiB (a decompressed gzip file may hold tens of thousands): spread a bounded number at a time.
  let all = pieces[0] ?? [];
  for (let i = 1; i < pieces.length; i += SPREAD_LIMIT) all = all.concat(...pieces.slice(i, i + SPREAD_LIMIT));
  return all;
}

/**
 * Pushes each line a split owns to `fn`, in order, with the same rules as {@link readSplitLines}
 * but without materialising the split's lines as one array.
 *
 * @example
 * ```ts
 * let count = 0;
 * forEachSplitLine({ path: '/data/f.txt', start: 0, length: 9, whole: false }, () => count++);
 * ```
 */
export function forEachSplitLine(split: TextSplit, fn: (line: string) => void, opts?: LineReadOptions): void {
  const sizes = sizesOf(opts);
  withSource(split, (src, start, end) =>
    scanOwnedLines(src, start, end, sizes, (text) => {
      // Each line is cut from the piece as it is handed on, never all of a piece's lines at once: an array of them
      // (one split('\n') per piece) kept ~6,000 short lines alive at every scavenge and doubled what PageRank's load
      // promoted to the old generation, ~8 instead of ~3 full collections per worker (docs/benchmarks.md, session 12).
      let cr = text.indexOf('\r');
      const stripped = cr >= 0 && !sizes.loneCR;
      if (stripped) cr = -1;
      let from = 0;
      // The next `\n` and `\r` (-1: none left), kept from line to line and searched for again only once passed: with
      // classic Mac line ends, a search for the next `\n` at every line would scan to the end of the text each time.
      let nl = text.indexOf('\n');
      for (;;) {
        if (nl >= 0 && nl < from) nl = text.indexOf('\n', from);
        if (cr >= 0 && cr < from) cr = text.indexOf('\r', from);
        if (cr >= 0 && (nl < 0 || cr < nl)) {
          fn(text.slice(from, cr));
          from = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
          continue;
        }
        const line = nl < 0 ? text.slice(from) : text.slice(from, nl);
        fn(stripped ? stripCR(line) : line);
        if (nl < 0) return;
        from = nl + 1;
      }
    }),
  );
}

/**
 * Pushes the lines a split owns to `fn` in batches (one array per decoded piece of ~64 KiB), with the same
 * rules as {@link readSplitLines}: fewer calls than {@link forEachSplitLine}, bounded memory unlike
 * {@link readSplitLines}. A batch array is handed over and is not reused.
 *
 * @example
 * ```ts
 * let count = 0;
 * forEachSplitLineBatch(split, (lines) => { count += lines.length; });
 * ```
 */
export function forEachSplitLineBatch(split: TextSplit, fn: (lines: string[]) => void, opts?: LineReadOptions): void {
  const sizes = sizesOf(opts);
  withSource(split, (src, start, end) => scanOwnedLines(src, start, end, sizes, (text) => fn(linesOf(text, sizes.loneCR))));
}

/**
 * Reads a whole file as one UTF-8 string, decompressing `.gz`, `.deflate`, `.bz2` and `.br` files, for `wholeTextFiles`. The text
 * is returned exactly (no line splitting, no byte-order-mark removal).
 *
 * @example
 * ```ts
 * const text = readWholeTextFile('/data/notes.txt.gz');
 * ```
 */
export function readWholeTextFile(path: string): string {
  const data = readWholeBytes(path);
  try {
    return data.toString('utf8');
  } catch (err) {
    throw new InputPathError(`File ${path} is too large to hold as one string (${data.length} bytes). Read it with textFile instead.`, path, {
      cause: err,
    });
  }
}
