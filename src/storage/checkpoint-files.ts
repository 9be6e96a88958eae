/**
 * Reliable checkpoint files: one file per partition under the checkpoint folder of an RDD, written with V8's
 * serializer to a temporary name and renamed, so a partition file is either complete or absent (a retried or
 * speculative attempt simply replaces it with identical content).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
