/**
 * Fast ASCII output for the generators: records are encoded straight into a large byte buffer and the
 * buffer is written in multi-megabyte chunks. Going through strings and a stream per line would cost
 * more than generating the data itself.
 *
 * Files appear atomically (written under a temporary name, then renamed), so a reader, or a concurrent
 * `ensureDataset` in another process, never sees a half-written data set.
 */

import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Bytes per write; large enough that syscalls are negligible, small enough to stay cache-friendly. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Fills `buf` from offset 0 with whole records, stopping when fewer than the generator's largest record
 * size remains, and returns the number of bytes used; 0 means the data set is complete.
 */
export type ChunkFiller = (buf: Uint8Array) => number;

/**
 * Writes the chunks produced by `fill` to `path` (creating parent directories) and returns the size.
 *
 * @example
 * ```ts
 * let left = 3;
 * await writeChunks('/tmp/abc.txt', (buf) => (left-- > 0 ? writeAscii(buf, 0, 'abc\n') : 0)); // 12 bytes
 * ```
 */
export async function writeChunks(path: string, fill: ChunkFiller, chunkBytes = CHUNK_BYTES): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`;
  const buf = new Uint8Array(chunkBytes);
  const handle = await open(tmp, 'w');
  let total = 0;
  try {
    for (;;) {
      const used = fill(buf);
      if (used === 0) break;
      let written = 0;
      while (written < used) {
        const { bytesWritten } = await handle.write(buf, written, used - written);
        written += bytesWritten;
      }
      total += used;
    }
    await handle.close();
    await rename(tmp, path);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
  return total;
}

/**
 * Writes an ASCII string at `pos` and returns the position after it.
 *
 * @example
 * ```ts
 * const end = writeAscii(buf, 0, 'label'); // 5
 * ```
 */
export function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/**
 * Writes a non-negative integer (below 2^53) in decimal at `pos` and returns the position after it.
 *
 * @example
 * ```ts
 * const end = writeUint(buf, 0, 1024); // writes "1024", returns 4
 * ```
 */
export function writeUint(buf: Uint8Array, pos: number, n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let v = n;
  for (let i = pos + digits - 1; i >= pos; i--) {
    buf[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return pos + digits;
}

/**
 * Writes `value / 10^decimals` in fixed-point decimal (like `toFixed`) given the already-rounded
 * integer `value`, and returns the position after it. Negative zero is written as `0.000…`.
 *
 * @example
 * ```ts
 * writeFixed(buf, 0, -12345, 4); // writes "-1.2345", returns 7
 * ```
 */
export function writeFixed(buf: Uint8Array, pos: number, value: number, decimals: number): number {
  let scale = 1;
  for (let i = 0; i < decimals; i++) scale *= 10;
  if (value < 0) buf[pos++] = 45; // '-'
  const abs = Math.abs(value);
  pos = writeUint(buf, pos, Math.floor(abs / scale));
  if (decimals === 0) return pos;
  buf[pos++] = 46; // '.'
  let frac = abs % scale;
  for (let i = pos + decimals - 1; i >= pos; i--) {
    buf[i] = 48 + (frac % 10);
    frac = Math.floor(frac / 10);
  }
  return pos + decimals;
}
