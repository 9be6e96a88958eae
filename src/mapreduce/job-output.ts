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
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  // On the driver's disk the driver made the job's folder and removes it at the job's end: a task still running
  // then (a losing copy, a task of a failed job) must not make it again, or its file stays until stop().
  makeDir(tmpDir, local, jobId);
  const attemptFile = path.join(tmpDir, `part-${partition}.attempt-${stageAttempt}.${attempt}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(attemptFile, v8.serialize(value));
  const final = partFile(dir, stageAttempt, partition);
  makeDir(path.dirname(final), local, jobId);
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

/** A folder inside the job's: on the driver's disk only inside the folder the driver made (see openJobOutput). */
function makeDir(dir: string, local: boolean, jobId: number): void {
  if (local) {
    mkdirSync(dir, { recursive: true });
    return;
  }
  try {
    mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    // internal: the outcome of a task of an ended job is dropped by the scheduler; the message is for logs
    if (code === 'ENOENT') throw new Error(`job ${jobId} has ended: its output folder is gone, this result is not needed`);
    throw e;
  }
}

/** Driver side, before a job's tasks are sent: its output folder, which result tasks write into but never make. */
export function openJobOutput(root: string, jobId: number): void {
  mkdirSync(jobOutputDir(root, jobId), { recursive: true });
}

/**
 * Driver side: removes a job's output folder. Renamed away first, so that a task still writing (a losing copy)
 * finds no folder to write into while the removal walks it, and neither fails the other.
 */
export function removeJobOutput(root: string, jobId: number): void {
  const dir = jobOutputDir(root, jobId);
  const gone = `${dir}.ended-${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(dir, gone);
  } catch {
    return; // never made (no task ran), or already removed
  }
  try {
    rmSync(gone, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
  } catch {
    // A copy's file landing during the walk: the context's local folder, this one inside it, goes at stop().
  }
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
      writeFileSync(path.join(dir, '_SUCCESS'), '');
    } catch {
      // Every result is read: the marker is for a reader of the folder, which goes next anyway.
    }
    removeJobOutput(root, jobId);
  }
  return values;
}
