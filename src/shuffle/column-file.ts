/**
 * Encoded buckets (bucket-codec.ts) whose columns are all compact (typed arrays, or only nulls / undefineds) written
 * to one file as their raw bytes, and read back one bucket at a time. Used for map outputs that every reducer has
 * already read (spilling-shuffle-manager.ts): they are kept only in case a reduce partition is computed again (a
 * lost cached block, a retried task, a second job over an uncached shuffle), so they can wait on disk (in the OS's
 * page cache, as Spark's shuffle files do) instead of in the worker's memory. Writing them costs one copy of their
 * bytes, with no serializer: a column that is a plain array (strings, objects) has no such form, and an output
 * holding one stays in memory.
 */
import { closeSync, constants, openSync, readSync, type OpenMode } from 'node:fs';
import path from 'node:path';
import { close, mkdir, open, rm, writeAll } from '../util/fs-async.js';
import { isStringColumn, type EncodedBucket } from './bucket-codec.js';

type Column = EncodedBucket['keys'];

/** Where a column's bytes are in the file (the column's kind and shape, without its data). */
type FileColumn =
  | { readonly kind: 'null' }
  | { readonly kind: 'undefined' }
  | { readonly kind: 'i32'; readonly offset: number; readonly count: number }
  | { readonly kind: 'f64'; readonly offset: number; readonly count: number }
  | { readonly kind: 'i32rows'; readonly width: number; readonly offset: number; readonly count: number }
  | { readonly kind: 'f64rows'; readonly width: number; readonly offset: number; readonly count: number }
  /** The chars' bytes at `offset` (two a char for `utf16`), then the `count` ends at `endsOffset`. */
  | { readonly kind: 'latin1'; readonly offset: number; readonly bytes: number; readonly endsOffset: number; readonly count: number }
  | { readonly kind: 'utf16'; readonly offset: number; readonly bytes: number; readonly endsOffset: number; readonly count: number };

/** One bucket of a column file. */
export interface FileBucket {
  readonly length: number;
  readonly keys: FileColumn;
  readonly values: FileColumn;
}

/**
 * Whether {@link writeColumnFile} can hold these buckets: no column of them is a plain array (a column of strings as
 * chars, latin1 or utf16, its chars and ends, is held: a word count's map output).
 */
export function compactColumns(buckets: readonly EncodedBucket[]): boolean {
  return buckets.every((b) => b.keys.kind !== 'any' && b.values.kind !== 'any');
}

/**
 * Opens `file` for writing, making its folder only when it is missing: an iterative program moves one output per
 * iteration and worker into the same folder, and a recursive mkdir before each (a walk of the path's stats) cost
 * ~0.13 ms of CPU every time (PageRank's later iterations, session 20).
 */
async function openCreatingDir(file: string, flags: OpenMode): Promise<number> {
  try {
    return await open(file, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(path.dirname(file), { recursive: true });
    return await open(file, flags);
  }
}

/** Opens for writing at given offsets, creating the file if missing and keeping what it holds (see `into`). */
const WRITE_INTO = constants.O_WRONLY | constants.O_CREAT;

/**
 * A file that several column writes share, each into its own byte range (reserved as the write starts, so writes
 * under way at once do not overlap): a map output moved to a file of its own was a file created per output, a
 * directory entry each, and a worker's folder of SparkTC's last rounds held 100,000 of them, each creation dearer than
 * the last.
 */
export interface SharedColumnFile {
  readonly path: string;
  /** Bytes reserved so far (the next write starts there). */
  size: number;
  /** Its descriptor while {@link OpenColumnFiles} keeps it open, and the writes using it now. */
  fd?: Promise<number>;
  writes?: number;
  /** Given up by its owner (see OpenColumnFiles.forget): closed once its writes end. */
  forgotten?: boolean;
}

/**
 * Descriptors of shared column files kept open between writes, the `max` used last: an open and a close per write held
 * a worker's thread ~5 s of SparkTC's round 14 (one per moved output, tens of thousands). A file in use is never
 * closed under its writes; one evicted or forgotten closes when they end.
 *
 * @example
 * ```ts
 * const files = new OpenColumnFiles();
 * const index = await writeColumnFile(shared, buckets, files); // opens shared.path once, keeps it open
 * files.forget(shared); // before removing the file
 * ```
 */
export class OpenColumnFiles {
  readonly #open = new Set<SharedColumnFile>();

  constructor(private readonly max = 8) {}

  async acquire(file: SharedColumnFile): Promise<number> {
    file.fd ??= openCreatingDir(file.path, WRITE_INTO);
    file.writes = (file.writes ?? 0) + 1;
    this.#open.delete(file);
    this.#open.add(file);
    this.#trim();
    try {
      return await file.fd;
    } catch (e) {
      file.writes--;
      file.fd = undefined;
      this.#open.delete(file);
      throw e;
    }
  }

  release(file: SharedColumnFile): void {
    if (--file.writes! > 0) return;
    if (file.forgotten || !this.#open.has(file)) closeKept(file);
    // More were in use at once than are kept: the least recently used idle ones close now.
    else this.#trim();
  }

  /** The file is being removed: its descriptor closes now, or when the writes under way end. */
  forget(file: SharedColumnFile): void {
    file.forgotten = true;
    this.#open.delete(file);
    if ((file.writes ?? 0) === 0) closeKept(file);
  }

  /** Closes every descriptor kept (the owner stops; writes still under way may then fail). */
  closeAll(): void {
    for (const file of this.#open) closeKept(file);
    this.#open.clear();
  }

  #trim(): void {
    for (const file of this.#open) {
      if (this.#open.size <= this.max) return;
      if ((file.writes ?? 0) > 0) continue;
      this.#open.delete(file);
      closeKept(file);
    }
  }
}

function closeKept(file: SharedColumnFile): void {
  const fd = file.fd;
  file.fd = undefined;
  fd?.then(
    (n) => close(n).catch(() => undefined),
    () => undefined,
  );
}

/** The bytes {@link writeColumnFile} writes for these buckets. */
export function columnBytes(buckets: readonly EncodedBucket[]): number {
  let bytes = 0;
  const add = (c: Column): void => {
    if (isStringColumn(c)) bytes += c.data.byteLength + c.ends.byteLength;
    else if ('data' in c && !Array.isArray(c.data)) bytes += (c.data as Int32Array | Float64Array).byteLength;
  };
  for (const b of buckets) {
    if (b.length === 0 && b.keys.kind === 'null' && b.values.kind === 'null') continue;
    add(b.keys);
    add(b.values);
  }
  return bytes;
}

/**
 * Writes the buckets' columns to `file` (created, or replaced) and resolves to where each one is; on a failure the
 * file is removed and the promise rejects. The write runs off the thread (libuv's pool), so the caller's event loop
 * goes on meanwhile; the columns must not change until it ends (stored map outputs never do). The caller checks
 * {@link compactColumns} first.
 */
export async function writeColumnFile(
  file: string | SharedColumnFile,
  buckets: readonly EncodedBucket[],
  kept?: OpenColumnFiles,
): Promise<FileBucket[]> {
  const chunks: Array<{ bytes: Uint8Array; offset: number }> = [];
  const into = typeof file === 'string' ? undefined : file;
  const filePath = typeof file === 'string' ? file : file.path;
  // Into a shared file: after the bytes reserved before, and this write's reserved now, before anything awaits.
  const start = into?.size ?? 0;
  const reserved = into === undefined ? 0 : columnBytes(buckets);
  if (into !== undefined) into.size += reserved;
  let offset = start;
  const place = (c: Column): FileColumn => {
    // internal: callers check compactColumns first.
    if (c.kind === 'any') throw new Error(`a column of kind ${c.kind} has no raw form`);
    if (c.kind === 'null') return { kind: 'null' };
    if (c.kind === 'undefined') return { kind: 'undefined' };
    if (isStringColumn(c)) {
      const at = offset;
      chunks.push({ bytes: new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength), offset });
      offset += c.data.byteLength;
      const endsOffset = offset;
      chunks.push({ bytes: new Uint8Array(c.ends.buffer, c.ends.byteOffset, c.ends.byteLength), offset });
      offset += c.ends.byteLength;
      return { kind: c.kind, offset: at, bytes: c.data.byteLength, endsOffset, count: c.ends.length } as FileColumn;
    }
    chunks.push({ bytes: new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength), offset });
    const at = offset;
    offset += c.data.byteLength;
    if (c.kind === 'i32' || c.kind === 'f64') return { kind: c.kind, offset: at, count: c.data.length } as FileColumn;
    return { kind: c.kind, width: c.width, offset: at, count: c.data.length } as FileColumn;
  };
  const index = buckets.map((b) =>
    b.length === 0 && b.keys.kind === 'null' && b.values.kind === 'null' ? EMPTY : { length: b.length, keys: place(b.keys), values: place(b.values) },
  );
  // internal: columnBytes counts the bytes `place` lays out; a write past its range would overwrite another's.
  if (into !== undefined && offset - start !== reserved) throw new Error(`${filePath}: ${offset - start} bytes placed, ${reserved} reserved`);
  if (into !== undefined && kept !== undefined) {
    const fd = await kept.acquire(into);
    try {
      for (const { bytes, offset: at } of coalesce(chunks)) await writeAll(fd, bytes, at);
    } finally {
      kept.release(into);
    }
    return index;
  }
  const fd = await openCreatingDir(filePath, into === undefined ? 'w' : WRITE_INTO);
  try {
    for (const { bytes, offset: at } of coalesce(chunks)) await writeAll(fd, bytes, at);
  } catch (e) {
    await close(fd);
    // A shared file holds other writes: its owner removes it.
    if (into === undefined) await rm(filePath, { force: true });
    throw e;
  }
  await close(fd);
  return index;
}

/**
 * An empty bucket's entry, one object for all: an output of a shuffle into many reducers is mostly empty buckets, and
 * its index is kept as long as the file.
 */
const EMPTY: FileBucket = { length: 0, keys: { kind: 'null' }, values: { kind: 'null' } };

/** Chunks of fewer bytes are copied together and written at once (see coalesce). */
const SMALL_CHUNK = 64 * 1024;

/**
 * The chunks to write (consecutive in the file), the small ones copied into one buffer per run of them: a write is a
 * request to libuv's pool and a system call, and an output of a shuffle into 2000 reducers has hundreds of columns of
 * a few bytes (one write each took 8 of the 21 s of CPU of a 1000 x 2001 repartition; bench/wide-shuffle.ts).
 */
function coalesce(chunks: ReadonlyArray<{ bytes: Uint8Array; offset: number }>): Array<{ bytes: Uint8Array; offset: number }> {
  const out: Array<{ bytes: Uint8Array; offset: number }> = [];
  for (let i = 0; i < chunks.length; ) {
    if (chunks[i]!.bytes.byteLength >= SMALL_CHUNK) {
      out.push(chunks[i++]!);
      continue;
    }
    let j = i;
    let bytes = 0;
    while (j < chunks.length && chunks[j]!.bytes.byteLength < SMALL_CHUNK && bytes < 16 * SMALL_CHUNK) bytes += chunks[j++]!.bytes.byteLength;
    if (j === i + 1) {
      out.push(chunks[i++]!);
      continue;
    }
    const joined = new Uint8Array(bytes);
    for (let k = i, at = 0; k < j; at += chunks[k++]!.bytes.byteLength) joined.set(chunks[k]!.bytes, at);
    out.push({ bytes: joined, offset: chunks[i]!.offset });
    i = j;
  }
  return out;
}

/** One bucket of a column file, as new typed arrays (the caller's to keep or transfer). */
export function readColumnBucket(file: string, b: FileBucket): EncodedBucket {
  const fd = openSync(file, 'r');
  try {
    const readAt = (bytes: Uint8Array, offset: number): void => {
      for (let done = 0; done < bytes.length; ) {
        const n = readSync(fd, bytes, done, bytes.length - done, offset + done);
        // internal: the engine's own file, written whole before it is used; cut short only by something outside.
        if (n === 0) throw new Error(`${file} ends before its column at ${offset} (${bytes.length} bytes)`);
        done += n;
      }
    };
    const load = (c: FileColumn): Column => {
      if (c.kind === 'null') return { kind: 'null' };
      if (c.kind === 'undefined') return { kind: 'undefined' };
      if (c.kind === 'latin1' || c.kind === 'utf16') {
        const bytes = new Uint8Array(c.bytes);
        const ends = new Int32Array(c.count);
        readAt(bytes, c.offset);
        readAt(new Uint8Array(ends.buffer), c.endsOffset);
        return c.kind === 'latin1' ? { kind: 'latin1', data: bytes, ends } : { kind: 'utf16', data: new Uint16Array(bytes.buffer), ends };
      }
      const data = c.kind === 'i32' || c.kind === 'i32rows' ? new Int32Array(c.count) : new Float64Array(c.count);
      readAt(new Uint8Array(data.buffer), c.offset);
      if (c.kind === 'i32') return { kind: 'i32', data: data as Int32Array };
      if (c.kind === 'f64') return { kind: 'f64', data: data as Float64Array };
      if (c.kind === 'i32rows') return { kind: 'i32rows', width: c.width, data: data as Int32Array };
      return { kind: 'f64rows', width: c.width, data: data as Float64Array };
    };
    return { length: b.length, keys: load(b.keys), values: load(b.values) };
  } finally {
    closeSync(fd);
  }
}
