import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeBucket, encodeBucket } from '../../src/shuffle/bucket-codec.js';
import { OpenColumnFiles, readColumnBucket, writeColumnFile, type SharedColumnFile } from '../../src/shuffle/column-file.js';
import type { Pair } from '../../src/shuffle/combine.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-column-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** This process's descriptors open on files of `dir` (Linux: /proc/self/fd). */
function openHere(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

describe.skipIf(!existsSync('/proc/self/fd'))('writes into shared column files through kept descriptors', () => {
  it('opens each file once for many writes, keeps at most `max` open, and closes them when forgotten', async () => {
    const kept = new OpenColumnFiles(3);
    const files: SharedColumnFile[] = Array.from({ length: 6 }, (_, i) => ({ path: path.join(dir, `f${i}.cols`), size: 0 }));
    const written: Array<{ file: SharedColumnFile; pairs: Pair[]; index: Awaited<ReturnType<typeof writeColumnFile>> }> = [];
    // Rounds of writes to every file at once: each file's writes reserve their own ranges, none waits for another.
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        files.map(async (file, i) => {
          const pairs: Pair[] = Array.from({ length: 1 + ((round + i) % 5) }, (_, k) => [round * 100 + i * 10 + k, k / 4]);
          const index = await writeColumnFile(file, [encodeBucket(pairs)], kept);
          written.push({ file, pairs, index });
        }),
      );
      await vi.waitFor(() => expect(openHere()).toBeLessThanOrEqual(3), { timeout: 10_000 });
    }
    for (const { file, pairs, index } of written) expect(decodeBucket(readColumnBucket(file.path, index[0]!))).toEqual(pairs);
    for (const file of files) kept.forget(file);
    await vi.waitFor(() => expect(openHere()).toBe(0), { timeout: 10_000 });
  });
});
