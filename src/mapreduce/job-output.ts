/**
 * Job results through files, as in Hadoop: in the mapreduce engine every result task writes its partition's
 * result to the job's output folder (an attempt file, renamed into place: one commit per partition and result
 * stage attempt), the driver marks the job done with `_SUCCESS` and then reads the results back from disk.
 *
 * Commits are per stage attempt because the DAG scheduler may drop every result of a stage and run it again
 * (its input was an indeterminate shuffle computed again): the first attempt to commit a partition wins only
 * among copies that read the same input (retries, speculative copies), never over a later computation.
 *
 * On a cluster the output folder is on each executor's own disk, which the driver cannot see: the committed
 * file's bytes travel back with the task's outcome (through Redis, or fetched from the executor over TCP when
 * large, like any other result), and the file is removed once read. Nothing assumes a shared filesystem.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { partFileName } from '../io/index.js';

export const jobOutputDir = (root: string, jobId: number): string => path.join(root, `job-${jobId}`);
const partFile = (dir: string, stageAttempt: number, p: number): string => path.join(dir, `stage-attempt-${stageAttempt}`, partFileName(p));

/**
 * What a result task sends the driver: the committed file, and with a worker-local output folder its bytes
 * (the path then names a file on the executor, kept only for messages).
 */
export interface JobResult {
  readonly resultFile: string;
  readonly bytes?: Uint8Array;
}

/**
 * Worker side: writes one partition's result and commits it (the first attempt to commit wins). `local`: the
 * folder is on this worker's own disk, so the committed file is read back, removed, and its bytes returned.
 */
export function writeJobResult(
  root: string,
  jobId: number,
  partition: number,
  stageAttempt: number,
  attempt: number,
  value: unknown,
  local = false,
): JobResult {
  const dir = jobOutputDir(root, jobId);
  const tmpDir = path.join(dir, '_temporary');
  mkdirSync(tmpDir, { recursive: true });
  const attemptFile = path.join(tmpDir, `part-${partition}.attempt-${stageAttempt}.${attempt}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(attemptFile, v8.serialize(value));
  const final = partFile(dir, stageAttempt, partition);
  mkdirSync(path.dirname(final), { recursive: true });
  try {
    linkSync(attemptFile, final);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  rmSync(attemptFile, { force: true });
  if (!local) return { resultFile: final };
  const bytes = readFileSync(final);
  rmSync(final, { force: true });
  return { resultFile: final, bytes };
}

/**
 * Driver side: reads every partition's result (from the bytes that came with the outcome, or from the file on
 * the driver's disk), marks the job's output complete with `_SUCCESS`, and removes the folder.
 */
export function readJobResults(root: string, jobId: number, results: readonly unknown[]): unknown[] {
  const dir = jobOutputDir(root, jobId);
  if (results.length === 0) return [];
  let onDriverDisk = false;
  const values = results.map((r) => {
    const { resultFile, bytes } = (r ?? {}) as Partial<JobResult>;
    if (bytes !== undefined) return v8.deserialize(bytes);
    onDriverDisk = true;
    // internal: every successful task wrote and committed its result file before reporting success
    if (typeof resultFile !== 'string' || !existsSync(resultFile)) throw new Error(`job ${jobId}: a result file is missing in ${dir}`);
    return v8.deserialize(readFileSync(resultFile));
  });
  if (onDriverDisk) {
    try {
      rmSync(path.join(dir, '_temporary'), { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
      writeFileSync(path.join(dir, '_SUCCESS'), '');
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    } catch {
      // Every result is read: a speculative copy still writing here must not fail the job, and the driver's local
      // folder, this one inside it, is removed when the context stops.
    }
  }
  return values;
}
