/**
 * Reliable checkpoint files: one file per partition under the checkpoint folder of an RDD, written with V8's
 * serializer to a temporary name and renamed, so a partition file is either complete or absent (a retried or
 * speculative attempt simply replaces it with identical content).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { CheckpointError } from '../core/errors.js';

export const checkpointPartFile = (dir: string, partition: number): string => path.join(dir, `part-${String(partition).padStart(5, '0')}`);

export function writeCheckpointPartition(dir: string, partition: number, attempt: number, values: readonly unknown[]): number {
  mkdirSync(dir, { recursive: true });
  const file = checkpointPartFile(dir, partition);
  const tmp = `${file}.attempt-${attempt}-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const data = v8.serialize(values);
  writeFileSync(tmp, data);
  renameSync(tmp, file);
  return data.length;
}

const ATTEMPT_FILE = /^part-\d+\.attempt-/;

/**
 * Removes the temporary files of attempts that never renamed theirs: a worker terminated between its write and
 * its rename (a sync write is not interrupted, so the kill lands right after it). Run once the checkpoint job has
 * succeeded, when every partition file is in place; a reader never opens these, this only leaves the folder clean.
 */
export function removeAttemptFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (ATTEMPT_FILE.test(name)) rmSync(path.join(dir, name), { force: true });
}

export function readCheckpointPartition(dir: string, partition: number): unknown[] {
  const file = checkpointPartFile(dir, partition);
  try {
    return v8.deserialize(readFileSync(file)) as unknown[];
  } catch (e) {
    throw new CheckpointError(
      `checkpoint file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); was the checkpoint folder removed?`,
    );
  }
}
