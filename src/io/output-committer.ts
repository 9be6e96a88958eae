/**
 * The output commit protocol behind `saveAsTextFile`: Hadoop's FileOutputCommitter (v1), adapted so
 * that a failed job leaves no partial output and an existing target is never lost or half-replaced.
 *
 * Protocol (driver = D, worker = W):
 * 1. D `setupJob`: refuse an existing target unless `overwrite`; create a hidden staging folder next
 *    to the target, `<parent>/.<name>._kindling_temporary-<jobId>-<random>/`, with `_temporary/`
 *    inside. Being hidden and a sibling, it is skipped by input listing and renames stay on one
 *    filesystem. The target is not touched yet.
 * 2. W `writeTaskOutput`: write the partition to its own attempt file,
 *    `staging/_temporary/part-NNNNN.attempt-A`, in ~1 MiB buffered writes.
 * 3. W `commitTask`: hard-link the attempt file to `staging/part-NNNNN`, then unlink the attempt.
 *    `link` fails atomically if the name exists, so exactly one attempt per partition wins even when
 *    speculative or retried attempts race; a loser discards its file and reports it lost. (Where
 *    hard links are unsupported, an existence check plus rename is used, which is not race-free.)
 * 4. D `commitJob`: check every expected part is there, drop `_temporary/`, write `_SUCCESS`, then
 *    publish with renames: with no existing target, rename staging to the target; with `overwrite`,
 *    rename the old target aside (`<parent>/.<name>._kindling_old-<jobId>-<random>`), rename staging
 *    to the target, and only then delete the old copy. If the second rename fails the old target is
 *    renamed back.
 * 5. D `abortJob` (after any failure, including a failed `commitJob`): delete staging, and if a crash
 *    left the old target aside with no target in place, rename it back.
 *
 * Readers therefore see either the old target or the complete new one with `_SUCCESS`, except for the
 * instant between the two renames of an overwrite, when the path is briefly absent. Files are not
 * fsync'ed (as in Hadoop on a local filesystem), so the guarantee is against failures, not power loss.
 * The plan is plain data so it can be posted to workers.
 */

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatTextLine, partFileName } from './text-format.js';

/** Where one save job writes; plain data, created by {@link setupJob} and posted to workers. */
export interface JobOutputPlan {
  readonly jobId: string;
  /** Absolute final output directory. */
  readonly outputPath: string;
  /** Hidden sibling folder collecting committed parts until the job commits. */
  readonly stagingPath: string;
  /** Hidden sibling name the old target is moved to during an overwrite. */
  readonly asidePath: string;
  readonly overwrite: boolean;
  /** Partitions the job writes, if known: `commitJob` then refuses to publish with any missing. */
  readonly numPartitions?: number;
}

/** Options for {@link setupJob}. */
export interface SetupJobOptions {
  readonly overwrite?: boolean;
  readonly jobId: string | number;
  readonly numPartitions?: number;
}

/** What {@link writeTaskOutput} wrote. */
export interface TaskOutput {
  readonly partition: number;
  readonly attempt: number;
  readonly attemptPath: string;
  readonly records: number;
  readonly bytes: number;
}

/** Outcome of {@link commitTask}: `committed: false` means another attempt already committed. */
export interface TaskCommitResult {
  readonly committed: boolean;
  /** The partition's file in staging (written by this attempt or by the winner). */
  readonly partPath: string;
  readonly message: string;
}

/** Outcome of {@link commitJob}. */
export interface JobCommitResult {
  readonly outputPath: string;
  readonly partFiles: number;
  /** Non-fatal problems, e.g. an old target that could not be deleted after the new one was in place. */
  readonly warnings: string[];
}

const TEMPORARY = '_temporary';
const SUCCESS = '_SUCCESS';
const WRITE_CHUNK_CHARS = 1 << 20;

function existsMessage(abs: string): string {
  return `Output path ${abs} already exists. Pass { overwrite: true } to replace it, or choose another path.`;
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Prepares a save job on the driver: validates the target and creates the hidden staging folder.
 *
 * @throws when the target exists and `overwrite` is not set, or its parent cannot be created or
 * written; the target is left untouched.
 *
 * @example
 * ```ts
 * const plan = await setupJob('out/counts', { jobId: 3, overwrite: true, numPartitions: 2 });
 * // post `plan` to workers; each calls writeTaskOutput + commitTask; then:
 * await commitJob(plan);
 * ```
 */
export async function setupJob(outputPath: string, opts: SetupJobOptions): Promise<JobOutputPlan> {
  const abs = path.resolve(outputPath);
  const parent = path.dirname(abs);
  const name = path.basename(abs);
  if (parent === abs) throw new Error(`Output path ${abs} is a filesystem root. Choose a directory below it.`);
  const overwrite = opts.overwrite ?? false;
  if (!overwrite && (await pathExists(abs))) throw new Error(existsMessage(abs));

  const jobId = String(opts.jobId).replace(/[^A-Za-z0-9_-]/g, '_');
  const suffix = `${jobId}-${randomBytes(4).toString('hex')}`;
  const stagingPath = path.join(parent, `.${name}._kindling_temporary-${suffix}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(stagingPath);
    await mkdir(path.join(stagingPath, TEMPORARY));
  } catch (err) {
    await rm(stagingPath, { recursive: true, force: true }).catch(() => undefined);
    const code = codeOf(err) ?? 'error';
    const why = ['EACCES', 'EPERM', 'EROFS'].includes(code)
      ? `its parent directory ${parent} is not writable`
      : `cannot create a staging folder in ${parent}`;
    throw new Error(
      `Cannot write output ${abs}: ${why} (${(err as Error).message}). ` +
        'Choose a path whose parent is a writable directory, or fix its permissions.',
      { cause: err },
    );
  }
  const plan: JobOutputPlan = {
    jobId,
    outputPath: abs,
    stagingPath,
    asidePath: path.join(parent, `.${name}._kindling_old-${suffix}`),
    overwrite,
    ...(opts.numPartitions === undefined ? {} : { numPartitions: opts.numPartitions }),
  };
  return plan;
}

/**
 * The file a task attempt writes before it commits.
 *
 * @example
 * ```ts
 * taskAttemptPath(plan, 3, 1); // '<staging>/_temporary/part-00003.attempt-1'
 * ```
 */
export function taskAttemptPath(plan: JobOutputPlan, partition: number, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 0) {
    throw new RangeError(`Task attempt number must be a non-negative integer, got ${attempt}.`);
  }
  return path.join(plan.stagingPath, TEMPORARY, `${partFileName(partition)}.attempt-${attempt}`);
}

function writeFully(fd: number, text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  return bytes.length;
}

/**
 * Writes one partition's elements, one {@link formatTextLine} line each, to this attempt's file
 * (worker side, synchronous). On failure the attempt file is removed and the error rethrown.
 *
 * @example
 * ```ts
 * const out = writeTaskOutput(plan, 0, 0, ['a', 1, { b: 2 }]); // lines: a, 1, {"b":2}
 * const result = commitTask(plan, 0, 0);
 * ```
 */
export function writeTaskOutput(
  plan: JobOutputPlan,
  partition: number,
  attempt: number,
  lines: Iterable<unknown>,
): TaskOutput {
  const attemptPath = taskAttemptPath(plan, partition, attempt);
  let fd: number;
  try {
    fd = openSync(attemptPath, 'w');
  } catch (err) {
    throw new Error(
      `Cannot create task output ${attemptPath} (${codeOf(err) ?? 'error'}). The job may have been aborted ` +
        'or its staging folder removed; re-run the job.',
      { cause: err },
    );
  }
  let records = 0;
  let bytes = 0;
  try {
    // Concatenation builds a rope that is flattened once per ~1 MiB write.
    let chunk = '';
    for (const value of lines) {
      chunk += formatTextLine(value) + '\n';
      records++;
      if (chunk.length >= WRITE_CHUNK_CHARS) {
        bytes += writeFully(fd, chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) bytes += writeFully(fd, chunk);
  } catch (err) {
    closeSync(fd);
    rmSync(attemptPath, { force: true });
    throw err;
  }
  closeSync(fd);
  return { partition, attempt, attemptPath, records, bytes };
}

/**
 * Commits a task attempt's file as the partition's output (worker side). The first attempt to commit
 * a partition wins; a later one deletes its own file and returns `committed: false`.
 *
 * @throws when the attempt wrote no file (never called {@link writeTaskOutput}, or the job was aborted).
 *
 * @example
 * ```ts
 * const r = commitTask(plan, 0, 1);
 * if (!r.committed) console.warn(r.message); // another attempt already committed partition 0
 * ```
 */
export function commitTask(plan: JobOutputPlan, partition: number, attempt: number): TaskCommitResult {
  const attemptPath = taskAttemptPath(plan, partition, attempt);
  const partPath = path.join(plan.stagingPath, partFileName(partition));
  const lost: TaskCommitResult = {
    committed: false,
    partPath,
    message: `Partition ${partition} was already committed by another attempt; attempt ${attempt}'s output was discarded.`,
  };
  try {
    linkSync(attemptPath, partPath);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'EEXIST') {
      rmSync(attemptPath, { force: true });
      return lost;
    }
    if (code === 'ENOENT') {
      throw new Error(
        `Cannot commit task output ${attemptPath}: it does not exist. Call writeTaskOutput first; if you did, ` +
          'the job was aborted or already committed.',
        { cause: err },
      );
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') {
      throw new Error(`Cannot commit task output ${attemptPath} to ${partPath} (${code ?? 'error'}).`, { cause: err });
    }
    // No hard links on this filesystem: check-then-rename leaves a small race between attempts.
    if (existsSync(partPath)) {
      rmSync(attemptPath, { force: true });
      return lost;
    }
    renameSync(attemptPath, partPath);
    return { committed: true, partPath, message: `Committed partition ${partition} (attempt ${attempt}).` };
  }
  rmSync(attemptPath, { force: true });
  return { committed: true, partPath, message: `Committed partition ${partition} (attempt ${attempt}).` };
}

/**
 * Discards a failed task attempt's file (worker or driver side); harmless if there is none.
 *
 * @example
 * ```ts
 * try { writeTaskOutput(plan, 2, 0, rows); } catch (e) { abortTask(plan, 2, 0); throw e; }
 * ```
 */
export function abortTask(plan: JobOutputPlan, partition: number, attempt: number): void {
  rmSync(taskAttemptPath(plan, partition, attempt), { force: true });
}

/**
 * Publishes a job's committed parts at the output path (driver side), as described in this module's
 * protocol. If it rejects, any old target is still (or again) in place; call {@link abortJob} to remove
 * staging.
 *
 * @example
 * ```ts
 * try { await runTasks(plan); await commitJob(plan); } catch (e) { await abortJob(plan); throw e; }
 * ```
 */
export async function commitJob(plan: JobOutputPlan): Promise<JobCommitResult> {
  const { stagingPath, outputPath, asidePath } = plan;
  let names: string[];
  try {
    names = await readdir(stagingPath);
  } catch (err) {
    throw new Error(
      `Cannot commit job output ${outputPath}: staging folder ${stagingPath} is missing (${codeOf(err) ?? 'error'}). ` +
        'The job was aborted or already committed; re-run it.',
      { cause: err },
    );
  }
  const parts = new Set(names.filter((n) => n.startsWith('part-')));
  if (plan.numPartitions !== undefined) {
    const missing: string[] = [];
    for (let p = 0; p < plan.numPartitions; p++) if (!parts.has(partFileName(p))) missing.push(partFileName(p));
    if (missing.length > 0) {
      const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? `, ... (${missing.length} in all)` : '');
      throw new Error(
        `Cannot commit job output ${outputPath}: no committed output for ${shown} in ${stagingPath}. ` +
          'Every task must call commitTask before commitJob; abort the job and re-run it.',
      );
    }
  }
  await rm(path.join(stagingPath, TEMPORARY), { recursive: true, force: true });
  await writeFile(path.join(stagingPath, SUCCESS), '');

  const warnings: string[] = [];
  if (await pathExists(outputPath)) {
    if (!plan.overwrite) throw new Error(existsMessage(outputPath));
    await rename(outputPath, asidePath);
    try {
      await rename(stagingPath, outputPath);
    } catch (err) {
      try {
        await rename(asidePath, outputPath);
      } catch (restoreErr) {
        throw new Error(
          `Cannot move job output into ${outputPath} (${codeOf(err) ?? 'error'}), nor move the previous output back ` +
            `from ${asidePath} (${codeOf(restoreErr) ?? 'error'}). Call abortJob to retry, or rename it back by hand.`,
          { cause: err },
        );
      }
      throw new Error(
        `Cannot move job output into ${outputPath} (${codeOf(err) ?? 'error'}); the previous output was restored.`,
        { cause: err },
      );
    }
    try {
      await rm(asidePath, { recursive: true, force: true });
    } catch (err) {
      warnings.push(`The previous output, moved to ${asidePath}, could not be deleted (${codeOf(err)}); delete it by hand.`);
    }
  } else {
    try {
      await rename(stagingPath, outputPath);
    } catch (err) {
      const code = codeOf(err);
      // Something created the target after setupJob checked it.
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new Error(existsMessage(outputPath), { cause: err });
      throw err;
    }
  }
  return { outputPath, partFiles: parts.size, warnings };
}

/**
 * Abandons a save job (driver side): removes the staging folder and every attempt in it, and puts an
 * old target back if an interrupted overwrite left it aside. Safe to call more than once, and after a
 * failed {@link commitJob}; it never deletes the output path.
 *
 * @example
 * ```ts
 * await abortJob(plan);
 * ```
 */
export async function abortJob(plan: JobOutputPlan): Promise<void> {
  await rm(plan.stagingPath, { recursive: true, force: true });
  if ((await pathExists(plan.asidePath)) && !(await pathExists(plan.outputPath))) {
    await rename(plan.asidePath, plan.outputPath);
  }
}
