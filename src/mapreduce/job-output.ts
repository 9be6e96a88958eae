/**
 * Job results through files, as in Hadoop: in the mapreduce engine every result task writes its partition's
 * result to the job's output folder (an attempt file, renamed into place: one commit per partition), the
 * driver marks the job done with `_SUCCESS` and then reads the results back from disk.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';

export const jobOutputDir = (root: string, jobId: number): string => path.join(root, `job-${jobId}`);
const partFile = (dir: string, p: number): string => path.join(dir, `part-${String(p).padStart(5, '0')}`);

/** Worker side: writes one partition's result and commits it (the first attempt to commit wins). */
export function writeJobResult(root: string, jobId: number, partition: number, attempt: number, value: unknown): { resultFile: string } {
  const dir = jobOutputDir(root, jobId);
  const tmpDir = path.join(dir, '_temporary');
  mkdirSync(tmpDir, { recursive: true });
  const attemptFile = path.join(tmpDir, `part-${partition}.attempt-${attempt}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(attemptFile, v8.serialize(value));
  const final = partFile(dir, partition);
  try {
    linkSync(attemptFile, final);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  rmSync(attemptFile, { force: true });
  return { resultFile: final };
}

/** Driver side: marks the job's output complete, reads every partition's result back, removes the folder. */
export function readJobResults(root: string, jobId: number, results: readonly unknown[]): unknown[] {
  const dir = jobOutputDir(root, jobId);
  if (results.length === 0) return [];
  rmSync(path.join(dir, '_temporary'), { recursive: true, force: true });
  writeFileSync(path.join(dir, '_SUCCESS'), '');
  const values = results.map((r) => {
    const file = (r as { resultFile?: string } | null)?.resultFile;
    // internal: every successful task wrote and committed its result file before reporting success
    if (typeof file !== 'string' || !existsSync(file)) throw new Error(`job ${jobId}: a result file is missing in ${dir}`);
    return v8.deserialize(readFileSync(file));
  });
  rmSync(dir, { recursive: true, force: true });
  return values;
}
