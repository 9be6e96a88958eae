/**
 * Reliable checkpoint files: one file per partition under the checkpoint folder of an RDD, written with V8's
 * serializer to a temporary name and linked into place, so a partition file is either complete or absent, and the
 * first attempt to finish a partition is the one kept (as Spark's ReliableCheckpointRDD: a later copy of a
 * partition, a speculative one or one of an earlier job that failed and ran on, may hold other data when the RDD is
 * not deterministic, and must not replace what readers may already have read).
 *
 * The driver creates each checkpoint job's folder and writers never do: once the driver has renamed or removed it
 * (the job ended), a task still running finds no folder and writes nothing.
 *
 * Writing and reading a partition stay synchronous: they run in a task, on a worker's thread, never the driver's,
 * inside the synchronous result function and `compute` of the RDD (an asynchronous read would need the executor's
 * asynchronous partition path), and a worker terminated mid-task cannot be cut off inside a synchronous write.
 */
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rm } from '../util/fs-async.js';
import path from 'node:path';
import v8 from 'node:v8';
import { CheckpointError } from '../core/errors.js';
import { namingFile } from '../util/file-errors.js';
import { type BlockWire, type CachedPartition, fromBlockWire, packPartition, toBlockWire } from './columnar-block.js';

export const checkpointPartFile = (dir: string, partition: number): string => path.join(dir, `part-${String(partition).padStart(5, '0')}`);

/**
 * Writes one partition into `dir`, a folder that must exist; keeps the partition file already there, if any.
 * Returns the bytes written.
 */
export function writeCheckpointPartition(dir: string, partition: number, attempt: number, values: readonly unknown[]): number {
  const file = checkpointPartFile(dir, partition);
  const tmp = `${file}.attempt-${attempt}-${process.pid}-${Math.random().toString(36).slice(2)}`;
  // Numbers and pairs of numbers as their typed columns (as the disk store writes them): V8 reads an array of pairs
  // back ~25x slower than their columns.
  const packed = packPartition(values);
  const data = v8.serialize(packed === undefined ? values : toBlockWire(packed));
  try {
    writeFileSync(tmp, data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      // A full disk leaves part of the file: no later sweep reads a failed job's folder.
      rmSync(tmp, { force: true });
      throw namingFile(e, tmp);
    }
    throw new CheckpointError(`checkpoint folder ${dir} is gone: its job has ended (this task ran on after it failed or was cancelled)`);
  }
  try {
    linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      // Another attempt finished this partition first: its file is the one kept.
    } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      // No hard links on this filesystem: a rename, which replaces a file already there.
      renameSync(tmp, file);
      return data.length;
    } else {
      rmSync(tmp, { force: true });
      throw e;
    }
  }
  rmSync(tmp, { force: true });
  return data.length;
}

const ATTEMPT_FILE = /^part-\d+\.attempt-/;

/**
 * Removes the temporary files of attempts that never renamed theirs: a worker terminated between its write and
 * its rename (a sync write is not interrupted, so the kill lands right after it). Run once the checkpoint job has
 * succeeded, when every partition file is in place; a reader never opens these, this only leaves the folder clean.
 * Asynchronous: it runs on the driver, whose thread the scheduler and the UI share, and a folder may hold thousands.
 */
export async function removeAttemptFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((name) => ATTEMPT_FILE.test(name)).map((name) => rm(path.join(dir, name), { force: true })));
}

/**
 * The folders of this process's checkpoint jobs between their creation and their rename into place (or removal):
 * a signal or `process.exit()` ends the process before the job's asynchronous clean-up runs, and a folder left then
 * is a half-written checkpoint no run ever reads, in a folder no later context opens (each has its own).
 */
const writingFolders = new Set<string>();

/**
 * Records a checkpoint job's folder until {@link checkpointWriteEnded}: it is removed when the process exits or
 * {@link removeCheckpointWritesSync} runs first.
 *
 * @example
 * ```ts
 * checkpointWriteStarted(writing);
 * try { await runTheJob(writing); await rename(writing, target); } finally { checkpointWriteEnded(writing); }
 * ```
 */
export function checkpointWriteStarted(folder: string): void {
  if (writingFolders.size === 0) process.once('exit', removeCheckpointWritesSync);
  writingFolders.add(folder);
}

/** The job renamed its folder into place or removed it: nothing of it is left to clean on the way out. */
export function checkpointWriteEnded(folder: string): void {
  writingFolders.delete(folder);
  if (writingFolders.size === 0) process.off('exit', removeCheckpointWritesSync);
}

/**
 * Removes, synchronously, the folders of checkpoint jobs still writing (and the `.aborted` copy a failed job moves
 * its folder to before deleting it): for a process about to end, whose promises will not settle. Never throws.
 *
 * @example
 * ```ts
 * process.once('SIGINT', () => { removeCheckpointWritesSync(); process.exit(130); });
 * ```
 */
export function removeCheckpointWritesSync(): void {
  process.off('exit', removeCheckpointWritesSync);
  for (const folder of writingFolders) {
    writingFolders.delete(folder);
    for (const f of [folder, `${folder}.aborted`]) {
      try {
        // Tasks may still be writing attempt files into it: retry a folder that refills.
        rmSync(f, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
      } catch {
        // Nothing more can be done on the way out; the folder is hidden and never read.
      }
    }
  }
}

/** A partition's elements, or the columns they were written as (an array in files written before columns). */
export function readCheckpointPartition(dir: string, partition: number): CachedPartition {
  const file = checkpointPartFile(dir, partition);
  try {
    const read = v8.deserialize(readFileSync(file)) as unknown[] | BlockWire;
    return Array.isArray(read) ? read : fromBlockWire(read);
  } catch (e) {
    throw new CheckpointError(
      `checkpoint file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); was the checkpoint folder removed?`,
    );
  }
}
