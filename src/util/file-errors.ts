/**
 * Node names no file in the error of a write to a descriptor (`ENOSPC: no space left on device, write`), so a full
 * or read-only disk under a spill, a cached block or a checkpoint failed a job without saying where. The file is
 * added as Node adds it to an `open`'s error (`…, open '/path'`), and as `path`.
 */
export function namingFile(e: unknown, file: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err instanceof Error && typeof err.code === 'string' && DESCRIPTOR_CALLS.has(err.syscall ?? '') && err.path === undefined) {
    err.path = file;
    err.message += ` '${file}'`;
  }
  return e;
}

/** The system calls on a descriptor, whose errors never name a file. */
const DESCRIPTOR_CALLS = new Set(['write', 'writev', 'fsync', 'fdatasync', 'close', 'ftruncate']);
