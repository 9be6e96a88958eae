/**
 * Random directory trees of real files, read and written through a context and its workers, against a plain-Node
 * model of the documented semantics: Hadoop's LineRecordReader (a line ends at `\n`, `\r\n` or a lone `\r`; a
 * split owns the lines whose first byte lies in it; a leading UTF-8 BOM is dropped), FileInputFormat's split sizes
 * (goal = total / minPartitions, SPLIT_SLOP 1.1), Spark 3.2+'s `ignoreEmptySplits`, compressed files read whole by
 * extension, hidden and `_` names skipped in directories and globs but kept when named, listings sorted and
 * deduplicated (input-files.ts), `wholeTextFiles` keeping the text exactly (BOM included), and `saveAsTextFile` /
 * `saveAsObjectFile` / `saveAsJsonLines` read back. `FUZZ_RUNS` and `FUZZ_SEED` search longer; every failure prints
 * its seed and the shrunk tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, type Context } from 'kindling';
import { useFuzzContext } from '../rdd/random-programs.js';
import { redisSkipReason } from '../streaming/redis-server.js';

/**
 * Cases per property and engine. Few in CI (a tree of a few hundred partitions is several jobs; the file must stay
 * under a minute on 2 busy cores), more for a search: `FUZZ_RUNS=100 FUZZ_SEED=n`.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
/** Room for a search's many cases on a loaded machine. */
const TIMEOUT = 120_000 + RUNS * 20_000;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const HAS_BZIP2 = (() => {
  try {
    execFileSync('bzip2', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// ---------------------------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------------------------

type Codec = 'none' | 'gz' | 'GZ' | 'gz2' | 'deflate' | 'br' | 'bz2';
const EXTENSION: Record<Codec, string> = { none: '', gz: '.gz', GZ: '.GZ', gz2: '.gz', deflate: '.deflate', br: '.br', bz2: '.bz2' };

interface FileSpec {
  /** '' for the root, else a subdirectory's name (`_tmp` and `.hid` are hidden). */
  readonly dir: string;
  /** Visible, `.`-prefixed or `_`-prefixed. */
  readonly hidden: '' | '.' | '_';
  /** Characters in the file's name after its index. */
  readonly decoration: string;
  readonly txt: boolean;
  readonly codec: Codec;
  /** The file's bytes before compression. */
  readonly text: Buffer;
}

/**
 * Pieces of a line's bytes. Multi-byte characters and invalid UTF-8 (a latin1 file, a cut sequence) land anywhere,
 * split boundaries of a few bytes fall inside them; a BOM inside a line is text.
 */
const piece: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'bc', 'word ', '\t', ',', '"', ' ', 'x,y').map((s) => Buffer.from(s)) },
  { weight: 3, arbitrary: fc.constantFrom('é', '€', '😀', 'ß', '中文', '\uFEFF', '\u2028', '\u0000').map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x80, 0x80], [0xe9]).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map((n) => Buffer.from('L'.repeat(n - 1) + 'é')) },
);
const lineBytes = fc.array(piece, { maxLength: 8 }).map((ps) => Buffer.concat(ps));
const lineEnd = fc.constantFrom('\n', '\r\n', '\r').map((s) => Buffer.from(s));

/** A text file's bytes: lines with mixed line ends, maybe no final one, maybe a BOM, maybe empty. */
const textBytes: fc.Arbitrary<Buffer> = fc
  .record({
    lines: fc.array(fc.tuple(lineBytes, lineEnd), { maxLength: 25 }),
    last: fc.option(lineBytes, { nil: undefined }),
    bom: fc.boolean(),
    // Many short lines past the reader's 64 KiB decoded piece, cut at a `\r` as often as at a `\n`.
    bulk: fc.option(fc.constantFrom('\n', '\r', '\r\n'), { freq: 30, nil: undefined }),
    // A line longer than the reader's 64 KiB look-ahead past a split's end, at some line of the file.
    huge: fc.option(fc.tuple(fc.integer({ min: 65_000, max: 140_000 }), fc.nat()), { freq: 30, nil: undefined }),
  })
  .map(({ lines, last, bom, bulk, huge }) => {
    const parts: Buffer[] = bom ? [BOM] : [];
    lines.forEach(([l, e], k) => {
      if (huge !== undefined && k === huge[1] % lines.length) parts.push(Buffer.from('€'.repeat(huge[0] / 3)));
      parts.push(l, e);
    });
    if (bulk !== undefined) parts.push(Buffer.from(Array.from({ length: 6000 }, (_, i) => `row ${i} é${bulk}`).join('')));
    if (last !== undefined) parts.push(last);
    return Buffer.concat(parts);
  });

const codecs: Codec[] = ['none', 'none', 'none', 'none', 'gz', 'GZ', 'gz2', 'deflate', 'br', ...(HAS_BZIP2 ? (['bz2'] as const) : [])];
const fileSpec: fc.Arbitrary<FileSpec> = fc.record({
  // Folders and files named as people name them: Hadoop's globs take `(`, `)`, `+`, `@`, `!` literally.
  dir: fc.constantFrom('', '', 's0', 's1 (copy)', 's+2 é', '_tmp', '.hid'),
  decoration: fc.constantFrom('', '', '', ' (1)', '+x', '@é', '!', ' [1]', '{a}'),
  hidden: fc.constantFrom<'' | '.' | '_'>('', '', '', '', '.', '_'),
  txt: fc.boolean(),
  codec: fc.constantFrom(...codecs),
  text: textBytes,
});

function compress(codec: Codec, raw: Buffer): Buffer {
  switch (codec) {
    case 'none':
      return raw;
    case 'gz':
    case 'GZ':
      return gzipSync(raw);
    case 'gz2': {
      // Two gzip members back to back (`cat a.gz b.gz`): one text, as Hadoop reads it.
      const cut = raw.length >> 1;
      return Buffer.concat([gzipSync(raw.subarray(0, cut)), gzipSync(raw.subarray(cut))]);
    }
    case 'deflate':
      return deflateSync(raw);
    case 'br':
      return brotliCompressSync(raw);
    case 'bz2':
      return execFileSync('bzip2', ['-c'], { input: raw });
  }
}

interface Written {
  readonly abs: string;
  readonly spec: FileSpec;
  readonly bytes: Buffer;
  readonly visible: boolean;
  readonly dirVisible: boolean;
  readonly inRoot: boolean;
}

function writeTree(root: string, files: readonly FileSpec[]): Written[] {
  return files.map((spec, i) => {
    const dir = path.join(root, spec.dir);
    mkdirSync(dir, { recursive: true });
    const abs = path.join(dir, `${spec.hidden}f${i}${spec.decoration}${spec.txt ? '.txt' : ''}${EXTENSION[spec.codec]}`);
    const bytes = spec.text.length === 0 && spec.codec !== 'none' && i % 2 === 0 ? Buffer.alloc(0) : compress(spec.codec, spec.text);
    writeFileSync(abs, bytes);
    return {
      abs,
      spec,
      bytes,
      visible: spec.hidden === '',
      dirVisible: !spec.dir.startsWith('_') && !spec.dir.startsWith('.'),
      inRoot: spec.dir === '',
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Input specs and their model listing
// ---------------------------------------------------------------------------------------------------------------

type InputSpec =
  | { readonly kind: 'recursive'; readonly form?: 'plain' | 'slash' | 'uri' | 'relative' }
  | { readonly kind: 'star' }
  | { readonly kind: 'subdirs' }
  | { readonly kind: 'anyDir' }
  | { readonly kind: 'globstar' }
  | { readonly kind: 'txt' }
  | { readonly kind: 'list'; readonly picks: readonly number[]; readonly withDir: boolean };

const inputSpec: fc.Arbitrary<InputSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('recursive' as const),
    form: fc.constantFrom<'plain' | 'slash' | 'uri' | 'relative'>('plain', 'slash', 'uri', 'relative'),
  }),
  fc.constant({ kind: 'star' as const }),
  fc.constant({ kind: 'subdirs' as const }),
  fc.constant({ kind: 'anyDir' as const }),
  fc.constant({ kind: 'globstar' as const }),
  fc.constant({ kind: 'txt' as const }),
  fc.record({ kind: fc.constant('list' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), withDir: fc.boolean() }),
);

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What the input spec names: the path to pass and the files the model reads (sorted, deduplicated), or undefined. */
function listing(root: string, files: readonly Written[], spec: InputSpec): { path: string; recursive: boolean; files: Written[] } | undefined {
  let chosen: Written[];
  let p: string;
  let recursive = false;
  switch (spec.kind) {
    case 'recursive':
      // Spark's file:// URIs, a trailing slash and paths relative to the working directory name the same folder.
      p = { plain: root, slash: `${root}/`, uri: `file://${root}`, relative: path.relative(process.cwd(), root) }[spec.form ?? 'plain'];
      recursive = true;
      chosen = files.filter((f) => f.visible && f.dirVisible);
      break;
    case 'star':
      // A directory matched by a glob contributes its direct files.
      p = path.join(root, '*');
      chosen = files.filter((f) => f.visible && f.dirVisible);
      break;
    case 'subdirs':
      p = path.join(root, 's*');
      chosen = files.filter((f) => f.visible && f.dirVisible && !f.inRoot);
      break;
    case 'anyDir':
      // Hadoop's globs filter hidden names at the last part only: a wildcard before it matches `_tmp` and `.hid`.
      p = path.join(root, '*', '*');
      chosen = files.filter((f) => f.visible && !f.inRoot);
      break;
    case 'globstar':
      // `**` (not Hadoop's) walks folders as a recursive listing does, skipping hidden ones.
      p = path.join(root, '**', '*');
      chosen = files.filter((f) => f.visible && f.dirVisible);
      break;
    case 'txt': {
      // Every entry of a list must match a file, or the listing fails: cases where one would not are skipped.
      const rootTxt = files.filter((f) => f.visible && f.inRoot && f.abs.endsWith('.txt'));
      const subTxt = files.filter((f) => f.visible && f.dirVisible && !f.inRoot && f.spec.txt);
      if (rootTxt.length === 0 || subTxt.length === 0) return undefined;
      p = `${path.join(root, '*.txt')},${path.join(root, 's*', '*.txt*')}`;
      chosen = [...rootTxt, ...subTxt];
      break;
    }
    case 'list': {
      if (files.length === 0) return undefined;
      // Named files are read whatever their name; a file named twice is read once.
      const named = spec.picks.map((k) => files[k % files.length]!);
      const entries = named.map((f) => f.abs);
      chosen = [...named];
      if (spec.withDir) {
        const sub = files.find((f) => !f.inRoot && f.dirVisible);
        if (sub !== undefined) {
          const dir = path.dirname(sub.abs);
          entries.push(dir);
          chosen.push(...files.filter((f) => path.dirname(f.abs) === dir && f.visible));
        }
      }
      p = entries.join(',');
      break;
    }
  }
  const unique = [...new Map(chosen.map((f) => [f.abs, f])).values()].sort((a, b) => byCodeUnit(a.abs, b.abs));
  if (unique.length === 0) return undefined;
  return { path: p, recursive, files: unique };
}

// ---------------------------------------------------------------------------------------------------------------
// The model of text input
// ---------------------------------------------------------------------------------------------------------------

interface ModelLine {
  readonly start: number;
  readonly text: string;
}

/** Lines as Hadoop's LineRecordReader reads them, each with the byte where it starts. */
function modelLines(bytes: Buffer): ModelLine[] {
  const bom = bytes.subarray(0, 3).equals(BOM) ? 3 : 0;
  const lines: ModelLine[] = [];
  let s = 0;
  const push = (from: number, to: number): void => {
    lines.push({ start: from, text: bytes.toString('utf8', from === 0 ? bom : from, to) });
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0a || b === 0x0d) {
      push(s, i);
      if (b === 0x0d && bytes[i + 1] === 0x0a) i++;
      s = i + 1;
    }
  }
  // A file holding only a BOM is no line (docs/pyspark.md).
  if (s < bytes.length && !(s === 0 && bytes.length === bom)) push(s, bytes.length);
  return lines;
}

/** The partitions of `textFile(files, minPartitions)`: FileInputFormat's splits, each with the lines it owns. */
function modelPartitions(files: readonly Written[], minPartitions: number, ignoreEmptySplits: boolean): string[][] {
  const total = files.reduce((a, f) => a + f.bytes.length, 0);
  const splitSize = Math.max(1, Math.min(Math.floor(total / Math.max(minPartitions, 1)), 32 * 1024 * 1024));
  const parts: string[][] = [];
  for (const f of files) {
    const size = f.bytes.length;
    if (size === 0) {
      if (!ignoreEmptySplits) parts.push([]);
      continue;
    }
    if (f.spec.codec !== 'none') {
      parts.push(modelLines(f.spec.text).map((l) => l.text));
      continue;
    }
    const lines = modelLines(f.bytes);
    const owned = (s: number, len: number): string[] => lines.filter((l) => l.start >= s && l.start < s + len).map((l) => l.text);
    let remaining = size;
    while (remaining / splitSize > 1.1) {
      parts.push(owned(size - remaining, splitSize));
      remaining -= splitSize;
    }
    parts.push(owned(size - remaining, remaining));
  }
  return parts;
}

// ---------------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------------

const tree = fc.record({
  files: fc.array(fileSpec, { minLength: 1, maxLength: 7 }),
  input: inputSpec,
  /** Bytes per split aimed at through minPartitions (the documented way to cut files small). */
  splitAim: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 200 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  ignoreEmptySplits: fc.boolean(),
  wholeParts: fc.integer({ min: 1, max: 5 }),
});

/** The most partitions one case plans: enough for splits of a few bytes, few enough for CI. */
const MAX_PARTITIONS = 120;

async function checkTextInput(sc: Context, scratch: string, t: TreeCase): Promise<void> {
  const root = mkdtempSync(path.join(scratch, 'tree-'));
  try {
    const written = writeTree(root, t.files);
    // A spec naming no file (a glob matching nothing fails the job) falls back to one that names some.
    const named =
      listing(root, written, t.input) ??
      listing(root, written, { kind: 'recursive' }) ??
      listing(root, written, { kind: 'list', picks: written.map((_, i) => i), withDir: false })!;
    const total = named.files.reduce((a, f) => a + f.bytes.length, 0);
    const minPartitions = Math.max(1, Math.min(MAX_PARTITIONS, Math.floor(total / Math.min(t.splitAim, Math.max(total, 1)))));
    const expected = modelPartitions(named.files, minPartitions, t.ignoreEmptySplits);
    const began = Date.now();
    const rdd = sc.textFile(named.path, { minPartitions, recursive: named.recursive, ignoreEmptySplits: t.ignoreEmptySplits });
    const context = `textFile(${named.path}, minPartitions ${minPartitions}, ignoreEmptySplits ${t.ignoreEmptySplits})`;
    expect(rdd.getNumPartitions(), context).toBe(expected.length);
    expect(await rdd.glom().collect(), context).toEqual(expected);
    expect(await rdd.count(), context).toBe(expected.flat().length);

    // A function failing on a line names its file and line number, counted as the reader ends lines (lone \r too),
    // whichever split holds it. Only a line unique in the input marks one place.
    const counts = new Map<string, number>();
    for (const l of expected.flat()) counts.set(l, (counts.get(l) ?? 0) + 1);
    const marked = named.files
      .flatMap((f) => modelLines(f.spec.text).map((l, k) => ({ file: f.abs, line: k + 1, text: l.text })))
      .filter((l) => counts.get(l.text) === 1 && l.text.length < 1000);
    const mark = marked[t.wholeParts % Math.max(marked.length, 1)];
    if (mark !== undefined) {
      const target = mark.text;
      const failing = rdd.map(
        capture({ target }, (l: string) => {
          if (l === target) throw new RangeError('the marked line');
          return l;
        }),
      );
      await expect(failing.count(), context).rejects.toThrow(`Input record: ${mark.file}, line ${mark.line}`);
    }

    // wholeTextFiles: each file's whole text, decompressed, BOM kept (as Spark's).
    const whole = sc.wholeTextFiles(named.path, { minPartitions: t.wholeParts, recursive: named.recursive });
    const texts = await whole.collect();
    expect(texts, `wholeTextFiles(${named.path})`).toEqual(named.files.map((f) => [f.abs, f.spec.text.toString('utf8')]));
    expect(whole.getNumPartitions()).toBe(Math.min(t.wholeParts, named.files.length));
    // binaryFiles: the bytes as they are on disk, compressed or not.
    const raw = await sc.binaryFiles(named.path, { minPartitions: t.wholeParts, recursive: named.recursive }).collect();
    // As base64: toEqual walks a Buffer byte by byte, seconds for a few hundred KB.
    const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    expect(
      raw.map(([f, b]) => [f, base64(b)]),
      `binaryFiles(${named.path})`,
    ).toEqual(named.files.map((f) => [f.abs, base64(f.bytes)]));
    if (process.env.FUZZ_VERBOSE) console.log(`${expected.length} partitions, ${total} bytes: ${Date.now() - began} ms`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface TreeCase {
  readonly files: readonly FileSpec[];
  readonly input: InputSpec;
  readonly splitAim: number;
  readonly ignoreEmptySplits: boolean;
  readonly wholeParts: number;
}

/** Lines of every kind a program may save: no line end inside (a string holding one is read back as more lines). */
const savedLine = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, '.')) },
  {
    weight: 2,
    arbitrary: fc.array(piece, { maxLength: 4 }).map((ps) =>
      Buffer.concat(ps)
        .toString('utf8')
        .replace(/[\r\n]/g, '.'),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\uFEFFbom', '\uD800 lone', 'x\u2028y', 'é'.repeat(40)) },
);

const saveCase = fc.record({
  lines: fc.array(savedLine, { maxLength: 60 }),
  slices: fc.integer({ min: 1, max: 9 }),
  compression: fc.constantFrom('none', 'gzip', 'deflate', 'org.apache.hadoop.io.compress.GzipCodec', undefined),
  minPartitions: fc.integer({ min: 1, max: 40 }),
});

/** What a saved line reads back as: UTF-8's (a lone surrogate is U+FFFD), a BOM starting a part file dropped. */
function readBack(partitions: readonly (readonly string[])[]): string[] {
  return partitions.flatMap((p) =>
    p.map((l, i) => {
      const text = Buffer.from(l, 'utf8').toString('utf8');
      return i === 0 && text.startsWith('\uFEFF') ? text.slice(1) : text;
    }),
  );
}

function partNames(n: number, ext: string): string[] {
  return [...Array.from({ length: n }, (_, i) => `part-${String(i).padStart(5, '0')}${ext}`), '_SUCCESS'].sort(byCodeUnit);
}

async function checkSave(sc: Context, scratch: string, c: SaveCase): Promise<void> {
  // Missing parent folders are made, as Hadoop's mkdirs.
  const out = path.join(mkdtempSync(path.join(scratch, 'save-')), 'a', 'b', 'out');
  try {
    const rdd = sc.parallelize(c.lines, c.slices);
    const partitions = await rdd.glom().collect();
    await rdd.saveAsTextFile(out, c.compression === undefined ? {} : { compression: c.compression });
    const ext = c.compression === undefined || c.compression === 'none' ? '' : c.compression === 'deflate' ? '.deflate' : '.gz';
    expect(readdirSync(out).sort(byCodeUnit)).toEqual(partNames(c.slices, ext));
    const back = sc.textFile(out, c.minPartitions);
    expect(await back.collect(), `saveAsTextFile(${c.compression}) then textFile(${c.minPartitions})`).toEqual(readBack(partitions));

    // An existing output is refused, and left as it was; overwrite replaces it.
    await expect(rdd.saveAsTextFile(out)).rejects.toThrow(/exists/i);
    expect(readdirSync(out).sort(byCodeUnit)).toEqual(partNames(c.slices, ext));
    await sc.parallelize(c.lines, 1).saveAsTextFile(out, { overwrite: true });
    expect(readdirSync(out).sort(byCodeUnit)).toEqual(partNames(1, ''));
    expect(await sc.textFile(out).collect()).toEqual(readBack([c.lines]));

    // A file where the output folder would go is refused too, and left alone.
    writeFileSync(`${out}-file`, 'mine\n');
    await expect(rdd.saveAsTextFile(`${out}-file`)).rejects.toThrow(/exists/i);
    expect(readFileSync(`${out}-file`, 'utf8')).toBe('mine\n');

    // Object files and JSON lines keep every string exactly, line ends and lone surrogates included.
    const exact = [...c.lines, 'a\nb', '\r', 'c\r\nd', '\uDC00'];
    await sc.parallelize(exact, c.slices).saveAsObjectFile(`${out}-obj`);
    expect(await sc.objectFile<string>(`${out}-obj`).collect()).toEqual(exact);
    await sc.parallelize(exact, c.slices).saveAsJsonLines(`${out}-json`, c.compression === undefined ? {} : { compression: c.compression });
    expect(await sc.jsonLinesFile<string>(`${out}-json`, { minPartitions: c.minPartitions }).collect()).toEqual(exact);
  } finally {
    rmSync(path.dirname(path.dirname(path.dirname(out))), { recursive: true, force: true });
  }
}

type SaveCase = {
  readonly lines: readonly string[];
  readonly slices: number;
  readonly compression: 'none' | 'gzip' | 'deflate' | 'org.apache.hadoop.io.compress.GzipCodec' | undefined;
  readonly minPartitions: number;
};

/** A CSV field's text: delimiters, quotes, white space, multi-byte characters, a `\r` (kept inside quotes). */
const csvField = (multiLine: boolean): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom('a', 'b c', ',', '"', ' ', '\t', 'é', '😀', '中', '\r', ...(multiLine ? ['\n', '\r\n'] : [])), { maxLength: 5 })
    .map((ps) => ps.join(''));

interface CsvCase {
  readonly multiLine: boolean;
  readonly header: boolean;
  readonly files: ReadonlyArray<{
    readonly rows: readonly (readonly string[])[];
    readonly crlf: readonly boolean[];
    readonly blank: readonly string[];
    readonly finalEnd: boolean;
    readonly bom: boolean;
    readonly quoteAll: boolean;
    readonly codec: Codec;
  }>;
  readonly splitAim: number;
}

const csvCase: fc.Arbitrary<CsvCase> = fc.boolean().chain((multiLine) =>
  fc.record({
    multiLine: fc.constant(multiLine),
    header: fc.boolean(),
    files: fc.array(
      fc.integer({ min: 1, max: 4 }).chain((cols) =>
        fc.record({
          rows: fc.array(fc.array(csvField(multiLine), { minLength: cols, maxLength: cols }), { maxLength: 30 }),
          crlf: fc.array(fc.boolean(), { minLength: 31, maxLength: 31 }),
          // Blank lines before a record (the header too) are skipped, as Spark's CSV source skips them.
          blank: fc.array(fc.constantFrom('', '', '', '\n', ' \n', '\r\n', '\t \r\n'), { minLength: 31, maxLength: 31 }),
          finalEnd: fc.boolean(),
          bom: fc.boolean(),
          quoteAll: fc.boolean(),
          codec: fc.constantFrom<Codec>('none', 'none', 'gz', 'bz2', 'deflate'),
        }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    splitAim: fc.integer({ min: 1, max: 60 }),
  }),
);

/** A record as RFC 4180 writes it: fields holding a delimiter, quote or line break quoted, quotes doubled. */
function csvLine(fields: readonly string[], quoteAll: boolean): string {
  const line = fields.map((f) => (quoteAll || /[,"\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
  // A line of nothing but white space is no record (Spark skips blank lines): such a record is written quoted.
  return [...line].every((ch) => ch.charCodeAt(0) <= 0x20) ? fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',') : line;
}

async function checkCsv(sc: Context, scratch: string, c: CsvCase): Promise<void> {
  const dir = mkdtempSync(path.join(scratch, 'csv-'));
  try {
    const expected: Array<string[] | Record<string, string>> = [];
    let total = 0;
    c.files.forEach((f, i) => {
      const cols = f.rows[0]?.length ?? 1;
      const names = Array.from({ length: cols }, (_, k) => `c${k}`);
      const rows = c.header ? [names, ...f.rows] : f.rows;
      const text = rows
        .map((r, k) => f.blank[k] + csvLine(r, f.quoteAll) + (k < rows.length - 1 || f.finalEnd ? (f.crlf[k] ? '\r\n' : '\n') : ''))
        .join('');
      const bytes = Buffer.concat([f.bom ? BOM : Buffer.alloc(0), Buffer.from(text)]);
      total += bytes.length;
      // A compressed CSV file is read whole, from its first line (its header).
      const codec = f.codec === 'bz2' && !HAS_BZIP2 ? 'gz' : f.codec;
      writeFileSync(path.join(dir, `p${i}.csv${EXTENSION[codec]}`), compress(codec, bytes));
      // With multiLine a line break inside quotes reads as \n, whatever the file's (docs/pyspark.md).
      for (const r of f.rows) {
        const fields = r.map((x) => (c.multiLine ? x.replace(/\r\n/g, '\n') : x));
        expected.push(c.header ? Object.fromEntries(names.map((n, k) => [n, fields[k]!])) : fields);
      }
    });
    const minPartitions = Math.max(1, Math.min(MAX_PARTITIONS, Math.floor(total / c.splitAim)));
    const rdd = sc.csvFile(dir, { header: c.header, multiLine: c.multiLine, minPartitions });
    const where = `csvFile(header ${c.header}, multiLine ${c.multiLine}, minPartitions ${minPartitions})`;
    expect(await rdd.collect(), where).toEqual(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const recordsCase = fc.record({
  recordLength: fc.integer({ min: 1, max: 9 }),
  files: fc.array(fc.tuple(fc.nat({ max: 60 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
  minPartitions: fc.integer({ min: 1, max: 80 }),
  ignoreEmptySplits: fc.boolean(),
});

/** binaryRecords: FileInputFormat's split size rounded down to whole records, each record in the split it starts in. */
async function checkRecords(sc: Context, scratch: string, c: typeof recordsCase extends fc.Arbitrary<infer T> ? T : never): Promise<void> {
  const dir = mkdtempSync(path.join(scratch, 'records-'));
  try {
    const r = c.recordLength;
    const files = c.files.map(([n, hidden], i) => {
      const bytes = Buffer.from(Array.from({ length: n * r }, (_, k) => (k * 7 + i * 31) % 256));
      const abs = path.join(dir, `${hidden ? '_' : ''}r${i}.bin`);
      writeFileSync(abs, bytes);
      return { abs, bytes, hidden };
    });
    const read = files.filter((f) => !f.hidden);
    const total = read.reduce((a, f) => a + f.bytes.length, 0);
    const splitSize = Math.max(1, Math.floor(Math.floor(total / c.minPartitions) / r)) * r;
    const expected: number[][][] = [];
    for (const f of read) {
      const records = (from: number, to: number): number[][] => {
        const out: number[][] = [];
        for (let k = Math.ceil(from / r) * r; k < to; k += r) out.push([...f.bytes.subarray(k, k + r)]);
        return out;
      };
      const size = f.bytes.length;
      if (size === 0 && !c.ignoreEmptySplits) expected.push([]);
      let remaining = size;
      while (remaining / splitSize > 1.1) {
        expected.push(records(size - remaining, size - remaining + splitSize));
        remaining -= splitSize;
      }
      if (remaining > 0) expected.push(records(size - remaining, size));
    }
    const rdd = sc.binaryRecords(dir, r, { minPartitions: c.minPartitions, ignoreEmptySplits: c.ignoreEmptySplits });
    const got = (await rdd.glom().collect()).map((p) => p.map((rec) => [...rec]));
    expect(got, `binaryRecords(${r}, minPartitions ${c.minPartitions})`).toEqual(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A scratch folder per describe block, removed after it. Not kindling-prefixed: that check is for what the engine leaves. */
function useScratch(): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'random-files-'));
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return () => dir!;
}

const CONFIGS = [
  { name: 'local[2], memory engine', seed: 0, runs: RUNS, options: { master: 'local[2]', engine: 'memory' } },
  { name: 'local[2], mapreduce engine', seed: 1, runs: RUNS, options: { master: 'local[2]', engine: 'mapreduce' } },
] as const;

for (const { name, seed, runs, options } of CONFIGS) {
  describe(`random files through a context (${name})`, () => {
    const ctx = useFuzzContext(options);
    const scratch = useScratch();

    it(`textFile, its partitions and wholeTextFiles equal the model of Hadoop's reader (seed ${SEED + seed})`, { timeout: TIMEOUT }, async () => {
      let cases = 0;
      await fc.assert(
        fc.asyncProperty(tree, async (t) => {
          await checkTextInput(ctx(), scratch(), t);
          cases++;
        }),
        { numRuns: runs, seed: SEED + seed },
      );
      console.log(`random files (${name}): ${cases} trees read, seed ${SEED + seed}`);
    });

    it(`csvFile equals the records written, quoted fields and CRLF across split boundaries (seed ${SEED + seed + 20})`, {
      timeout: TIMEOUT,
    }, async () => {
      await fc.assert(
        fc.asyncProperty(csvCase, async (c) => {
          await checkCsv(ctx(), scratch(), c);
        }),
        { numRuns: runs, seed: SEED + seed + 20 },
      );
    });

    it(`binaryRecords gives every record once, in the split it starts in (seed ${SEED + seed + 30})`, { timeout: TIMEOUT }, async () => {
      await fc.assert(
        fc.asyncProperty(recordsCase, async (c) => {
          await checkRecords(ctx(), scratch(), c);
        }),
        { numRuns: runs, seed: SEED + seed + 30 },
      );
    });

    it(`saveAsTextFile (any codec), saveAsObjectFile and saveAsJsonLines read back (seed ${SEED + seed + 10})`, { timeout: TIMEOUT }, async () => {
      await fc.assert(
        fc.asyncProperty(saveCase, async (c) => {
          await checkSave(ctx(), scratch(), c);
        }),
        { numRuns: runs, seed: SEED + seed + 10 },
      );
    });
  });
}

describe.skipIf(redisSkipReason !== undefined)('random files through a context (local-cluster[2])', () => {
  const ctx = useFuzzContext({ master: 'local-cluster[2]' });
  const scratch = useScratch();

  it(`textFile, csvFile and a save read back as on local[2] (seed ${SEED + 2})`, { timeout: TIMEOUT }, async () => {
    const runs = Math.max(1, Math.floor(RUNS / 4));
    await fc.assert(
      fc.asyncProperty(tree, saveCase, csvCase, async (t, c, csv) => {
        await checkTextInput(ctx(), scratch(), t);
        await checkSave(ctx(), scratch(), c);
        await checkCsv(ctx(), scratch(), csv);
      }),
      { numRuns: runs, seed: SEED + 2 },
    );
  });
});
