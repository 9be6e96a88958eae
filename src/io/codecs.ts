/**
 * Compression codecs of text input and output, picked as Hadoop's CompressionCodecFactory picks them: by the file
 * name's extension when reading (`.gz`, `.deflate`, `.bz2`, `.br`), by name when writing (`saveAsTextFile(path,
 * { compression })`). A compressed file cannot be entered mid-stream here, so it is one split, decompressed whole
 * (Hadoop splits bzip2 at its block markers; kindling does not, see docs/pyspark.md).
 *
 * Formats Hadoop reads by extension that Node cannot decode (zstd, lz4, snappy, ...) are refused, naming the codec
 * and the file, rather than read as bytes: their lines would be binary garbage and no error.
 */

import type * as Zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { InputPathError } from '../core/errors.js';

/** A codec kindling can read: its name, its extension (Hadoop's default one) and how to decompress a whole file. */
export interface ReadableCodec {
  readonly name: string;
  readonly extension: string;
  decompress(raw: Buffer): Buffer;
}

// node:zlib is loaded when a compressed file is first read or written: every worker imports this module, few decompress.
const zlib = (): typeof Zlib => process.getBuiltinModule('node:zlib');

interface SeekBzip {
  decode(input: Buffer, output: undefined, multistream: boolean): Buffer;
}
let seekBzip: SeekBzip | undefined;
/** seek-bzip (pure JavaScript, MIT), loaded when a `.bz2` file is first read. */
const bunzip = (): SeekBzip => (seekBzip ??= createRequire(import.meta.url)('seek-bzip') as SeekBzip);

/**
 * Hadoop's DefaultCodec stream (zlib), which may hold several zlib streams back to back, as a file made by
 * concatenating parts does: each is inflated in turn, as Hadoop's DecompressorStream does.
 */
function inflateConcatenated(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let pos = 0; pos < raw.length; ) {
    const { buffer, engine } = zlib().inflateSync(raw.subarray(pos), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    out.push(buffer);
    if (engine.bytesWritten <= 0) break;
    pos += engine.bytesWritten;
  }
  return out.length === 1 ? out[0]! : Buffer.concat(out);
}

const READABLE: readonly ReadableCodec[] = [
  { name: 'gzip', extension: '.gz', decompress: (raw) => zlib().gunzipSync(raw) },
  { name: 'deflate', extension: '.deflate', decompress: inflateConcatenated },
  // Multistream: pbzip2's output and Wikipedia's multistream dumps are bzip2 streams back to back.
  { name: 'bzip2', extension: '.bz2', decompress: (raw) => bunzip().decode(raw, undefined, true) },
  { name: 'brotli', extension: '.br', decompress: (raw) => zlib().brotliDecompressSync(raw) },
];

/** Compressions Hadoop's codecs read by file name that Node 20 cannot decode, by extension. */
const UNREADABLE: Readonly<Record<string, string>> = {
  '.xz': 'xz',
  '.lzma': 'lzma',
  '.zst': 'zstd',
  '.lz4': 'lz4',
  '.snappy': 'snappy',
  '.lzo': 'lzo',
  '.zip': 'zip',
  '.7z': '7z',
};

function extensionOf(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot <= slash ? '' : path.slice(dot).toLowerCase();
}

/**
 * The codec that reads `path`, by its extension, or `undefined` for a file read as it is.
 *
 * @example
 * ```ts
 * codecForPath('/dumps/enwiki.xml.bz2')?.name; // 'bzip2'
 * codecForPath('/logs/a.log'); // undefined
 * ```
 */
export function codecForPath(path: string): ReadableCodec | undefined {
  const ext = extensionOf(path);
  return ext === '' ? undefined : READABLE.find((c) => c.extension === ext);
}

/**
 * Refuses a text input whose name says it is compressed in a format the text readers cannot decode. Read as
 * bytes, such a file gave lines of binary garbage and no error; Spark decompresses these by extension.
 *
 * @throws InputPathError naming the file and the format.
 * @example
 * ```ts
 * checkReadableCompression('/data/events.json.zst'); // throws: zstd, decompress it first
 * ```
 */
export function checkReadableCompression(path: string): void {
  const codec = UNREADABLE[extensionOf(path)];
  if (codec !== undefined) {
    throw new InputPathError(
      `Input ${path} is ${codec}-compressed (by its name), which kindling cannot decode (Node has no ${codec}); ` +
        `it reads ${READABLE.map((c) => c.extension).join(', ')}. Decompress it first (or recompress it with gzip), ` +
        'or rename it if it is not compressed.',
      path,
    );
  }
}

/**
 * `raw`, the bytes of `path`, decompressed by the codec its name picks (as they are when none does).
 *
 * @throws InputPathError naming the file and the codec when the name says a format kindling cannot decode, or the
 * bytes are not valid (a truncated or corrupt file).
 * @example
 * ```ts
 * const text = decompressForPath('/data/a.txt.deflate', readFileSync('/data/a.txt.deflate')).toString('utf8');
 * ```
 */
export function decompressForPath(path: string, raw: Buffer): Buffer {
  checkReadableCompression(path);
  const codec = codecForPath(path);
  // An empty file is no text, whatever its name (an empty partition's part file, for instance).
  if (codec === undefined || raw.length === 0) return raw;
  try {
    return codec.decompress(raw);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      // Not a corrupt file: Hadoop streams it, and Spark reads it in one (long) task.
      throw new InputPathError(
        `Cannot decompress ${path} (${codec.name}): it decompresses to more than the largest buffer Node holds (${why}). ` +
          'kindling decompresses a compressed file whole, in one task: split it into smaller files, or decompress it first ' +
          '(plain text is read in splits).',
        path,
        { cause: err },
      );
    }
    throw new InputPathError(
      `Cannot decompress ${path} (${codec.name}, by its ${codec.extension} name): ${why}. The file is truncated or is not ` +
        `valid ${codec.name}; rename it if it is not compressed.`,
      path,
      { cause: err },
    );
  }
}

/** The codecs `saveAsTextFile` writes, by the name its `compression` option takes. */
export type OutputCodecName = 'gzip' | 'deflate';

/**
 * Hadoop's codec class names (PySpark's `compressionCodecClass`) and short names, each to the codec kindling writes.
 * Its short names are Spark's `spark.io.compression.codec`-style ones (`gzip`, `deflate`).
 */
const OUTPUT_CODECS: Readonly<Record<string, OutputCodecName | 'none'>> = {
  none: 'none',
  gzip: 'gzip',
  deflate: 'deflate',
  'org.apache.hadoop.io.compress.GzipCodec': 'gzip',
  'org.apache.hadoop.io.compress.DefaultCodec': 'deflate',
  'org.apache.hadoop.io.compress.DeflateCodec': 'deflate',
};

/**
 * The codec a `compression` option names, or `undefined` for a name kindling does not write.
 *
 * @example
 * ```ts
 * outputCodecOf('org.apache.hadoop.io.compress.GzipCodec'); // 'gzip'
 * outputCodecOf('bzip2'); // undefined
 * ```
 */
export function outputCodecOf(name: string): OutputCodecName | 'none' | undefined {
  return Object.hasOwn(OUTPUT_CODECS, name) ? OUTPUT_CODECS[name] : undefined;
}

/** The names {@link outputCodecOf} accepts, for an error message. */
export const OUTPUT_CODEC_NAMES: readonly string[] = Object.keys(OUTPUT_CODECS);

/** The extension of a part file written with `codec` (Hadoop's default extensions). */
export function outputExtension(codec: OutputCodecName): string {
  return codec === 'gzip' ? '.gz' : '.deflate';
}

/** Adler-32 of `data` continued from `adler` (1 for a new stream), as zlib's trailer holds it. */
function adler32(adler: number, data: Buffer): number {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  // 5552 bytes is zlib's NMAX: the most that can be summed before b overflows 2^32 without a modulo.
  for (let i = 0; i < data.length; ) {
    const end = Math.min(data.length, i + 5552);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * Compresses a part file's text as it is written, a chunk at a time, synchronously (tasks write synchronously).
 * gzip: each chunk is its own gzip member (concatenated members are one gzip file, which every reader reads).
 * deflate: one zlib stream, as Hadoop's DefaultCodec writes and every zlib reader reads: each chunk is raw deflate
 * ended by a sync flush (so the next one starts on a byte boundary), then a final empty block and the Adler-32 of
 * all the text. Each chunk is compressed on its own (no back-references across a ~1 MiB boundary; ratio unchanged).
 */
export class ChunkCompressor {
  #adler = 1;
  #started = false;
  constructor(readonly codec: OutputCodecName) {}

  /** The compressed bytes of the next chunk of text. */
  chunk(text: string): Buffer {
    if (this.codec === 'gzip') return zlib().gzipSync(text);
    const data = Buffer.from(text, 'utf8');
    this.#adler = adler32(this.#adler, data);
    const body = zlib().deflateRawSync(data, { finishFlush: zlib().constants.Z_SYNC_FLUSH });
    if (this.#started) return body;
    this.#started = true;
    return Buffer.concat([ZLIB_HEADER, body]);
  }

  /** The bytes that end the file (none for gzip; an empty gzip part is an empty file, as Hadoop's). */
  end(): Buffer {
    if (this.codec === 'gzip') return Buffer.alloc(0);
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32BE(this.#adler);
    return Buffer.concat([this.#started ? Buffer.alloc(0) : ZLIB_HEADER, zlib().deflateRawSync(Buffer.alloc(0)), trailer]);
  }
}

/** zlib's header for the default compression level and a 32 KiB window (what `deflateSync` writes). */
const ZLIB_HEADER = Buffer.from([0x78, 0x9c]);
