/**
 * The output commit protocol behind `saveAsTextFile`: Hadoop's FileOutputCommitter (v1), adapted so
 * that a failed job leaves no partial output and an existing target is never lost or half-replaced.
 *
 * Protocol (driver = D, worker = W):
 * 0. D `setupJob` first refuses a path whose loss would be a disaster (empty, a filesystem root, the
 *    home or working directory or a parent of them) or that overlaps the job's input, and removes the
 *    staging and aside folders of this target that a killed process left (see "Stale folders").
 * 1. D `setupJob`: refuse an existing target unless `overwrite`, and with `overwrite` refuse one that
 *    holds anything but a previous output's `part-NNNNN` files and `_SUCCESS`: overwrite deletes only
 *    what a save wrote. Create a hidden staging folder next to the target,
 *    `<parent>/.<name>._kindling_temporary-<jobId>-<random>-p<pid>-h<host>/`, with `_temporary/`
 *    inside. Being hidden and a sibling, it is skipped by input listing and renames stay on one
 *    filesystem. The target is not touched yet.
 * 2. W `writeTaskOutput`: write the partition to its own attempt file,
 *    `staging/_temporary/part-NNNNN.attempt-A`, in ~1 MiB buffered writes. The file is created exclusively: an
 *    attempt of a retried stage numbered as one of the earlier stage attempt still writing fails (and runs again
 *    under the next number) rather than truncate the other's file.
 * 3. W `commitTask`: hard-link the attempt file to `staging/part-NNNNN`, then unlink the attempt.
 *    `link` fails atomically if the name exists, so exactly one attempt per partition wins even when
 *    speculative or retried attempts race; a loser discards its file and reports it lost. (Where
 *    hard links are unsupported, an existence check plus rename is used, which is not race-free.)
 * 4. D `commitJob`: check every expected part is there, drop `_temporary/` (renamed out of staging first: losing
 *    attempts may still create files in it), write `_SUCCESS`, then
 *    publish with renames: with no existing target, rename staging to the target; with `overwrite`,
 *    check the target again, rename it aside (`<parent>/.<name>._kindling_old-<same suffix>`), rename
 *    staging to the target, and only then delete the old copy's part files and `_SUCCESS` (anything
 *    else that appeared there meanwhile is left, with a warning). If the second rename fails the old
 *    target is renamed back.
 * 5. D `abortJob` (after any failure, including a failed `commitJob`): delete staging, and if a crash
 *    left the old target aside with no target in place, rename it back.
 *
 * Readers therefore see either the old target or the complete new one with `_SUCCESS`, except for the
 * instant between the two renames of an overwrite, when the path is briefly absent. Files are not
 * fsync'ed (as in Hadoop on a local filesystem), so the guarantee is against failures, not power loss.
 * The plan is plain data so it can be posted to workers.
 *
 * Stale folders: a process killed mid-save (SIGKILL, power loss) leaves its staging folder, and maybe
 * the old target aside. The suffix of both names records the owning process id and a tag of its host:
 * in the name rather than in a marker file, so no crash can leave a folder without its owner. A folder of this target is stale
 * when its host is this one and its process is gone, or is this process but not one of its running
 * jobs (a process that died earlier with the same id). Folders of live processes, of other hosts, or
 * without an owner in the name are left alone. A stale staging folder is deleted; a stale aside folder
 * is renamed back when the target is missing (the crash came between the two renames), otherwise its
 * part files and `_SUCCESS` are deleted.
 */

import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { OutputPathError, OutputCommitError, CommitDeniedError, InvalidArgumentError } from '../core/errors.js';
import { lstat, readdir, rename, rm, rmdir } from '../util/fs-async.js';
import { hostTag, isProcessAlive } from '../util/process-owner.js';
import { inputSpecRoots, localPathOf } from './input-files.js';
import { formatTextLine, partFileName } from './text-format.js';
import { ChunkCompressor, outputExtension, type OutputCodecName } from './codecs.js';
import { serialize } from 'node:v8';
import { namingFile } from '../util/file-errors.js';

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
  /**
   * How part files are written: text lines (the default), text lines gzip- or zlib-compressed (`part-NNNNN.gz`,
   * `part-NNNNN.deflate`, Hadoop's GzipCodec and DefaultCodec names, read back by `textFile`), or V8-serialized elements (`saveAsObjectFile`, read back by `objectFile`).
   */
  readonly format?: OutputFormat;
}

/** The part-file formats of {@link JobOutputPlan}. */
export type OutputFormat = 'text' | 'text-gzip' | 'text-deflate' | 'object';

/** The committed name of a partition's part file in a plan's format. */
export function partFileNameFor(plan: Pick<JobOutputPlan, 'format'>, partition: number): string {
  const codec = textCodecOf(plan.format);
  return partFileName(partition) + (codec === undefined ? '' : outputExtension(codec));
}

/** The codec of a compressed text format. */
function textCodecOf(format: OutputFormat | undefined): OutputCodecName | undefined {
  return format === 'text-gzip' ? 'gzip' : format === 'text-deflate' ? 'deflate' : undefined;
}

/** Options for {@link setupJob}. */
export interface SetupJobOptions {
  readonly overwrite?: boolean;
  readonly jobId: string | number;
  readonly numPartitions?: number;
  readonly format?: OutputFormat;
  /**
   * The job's input specs (as given to `textFile`/`wholeTextFiles`): the output may not be one of
   * them, contain one, or lie inside an input directory.
   */
  readonly inputs?: readonly string[];
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

const STAGING_MARK = '._kindling_temporary-';
const ASIDE_MARK = '._kindling_old-';
/** What a save writes into its output, and so all `overwrite` may delete. */
const OUTPUT_FILE = /^(part-\d{5,}(\.gz|\.deflate)?|_SUCCESS)$/;

/*
 * node:crypto, node:zlib and node:os are taken when a save first needs them, not when this module loads: every worker
 * thread loads this module at its start, most never save, and loading crypto and zlib was a measurable part of a
 * worker's start-up (docs/benchmarks.md, session 10).
 */
const crypto = () => process.getBuiltinModule('node:crypto');
const os = () => process.getBuiltinModule('node:os');

/**
 * Name suffixes of this process's save jobs between setup and commit or abort. Shared through the global
 * registry so two copies of this module in one process (a bundled and a linked one) agree.
 */
const activeJobs: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('kindling.activeSaveJobs')] ??= new Set<string>()) as Set<string>;

/**
 * The plans of this module's save jobs between setup and commit or abort, for {@link abortLiveJobsSync}: a process
 * that ends mid-save (a signal, `process.exit`, an uncaught error) never reaches the save's asynchronous abortJob.
 */
const livePlans = new Map<string, JobOutputPlan>();

/**
 * Abandons, synchronously, every save of this process that has not committed: its staging folder goes, and a target
 * an interrupted overwrite had moved aside is put back (or, when the overwrite had already moved its new output into
 * place, the old copy's part files and `_SUCCESS` are deleted, as the commit would have). For a process on its way
 * out (the context's signal handler, and 'exit', which a process ended by a signal skips), where the save's own
 * abortJob would never run; so a Ctrl-C mid-save leaves the output path as it was (or replaced, if the commit had
 * published), not a hidden folder of parts for the next save to clean up. Never throws:
 * what it cannot remove is left for the next save to the path (a stale folder of a dead process).
 *
 * @example
 * ```ts
 * process.once('exit', abortLiveJobsSync);
 * ```
 */
export function abortLiveJobsSync(): void {
  for (const [suffix, plan] of livePlans) {
    livePlans.delete(suffix);
    try {
      const trash = trashPathOf(plan);
      try {
        renameSync(plan.stagingPath, trash);
      } catch (err) {
        if (codeOf(err) !== 'ENOENT') throw err;
      }
      rmSync(trash, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
      // A commit that had moved its `_temporary` out of staging (to delete it) was still deleting it.
      rmSync(trashPathOf(plan, 'committed-'), { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
      if (existsSync(plan.asidePath)) {
        if (!existsSync(plan.outputPath)) renameSync(plan.asidePath, plan.outputPath);
        // The end came after the commit's second rename: the new output is in place, and the old copy goes, as the
        // commit would have deleted it (only what a save wrote; anything else stays, with the folder).
        else removeOutputFilesSync(plan.asidePath);
      }
    } catch {
      // Left for the next save to this path, which removes a dead process's folders.
    }
  }
}

/**
 * Where abortJob moves a staging folder (and commitJob its `_temporary`) before deleting it, so that tasks still
 * writing cannot refill it: a sibling named as the staging folder, so a crash leaves a stale folder of its owner.
 */
function trashPathOf(plan: JobOutputPlan, kind: 'aborted-' | 'committed-' = 'aborted-'): string {
  return path.join(path.dirname(plan.stagingPath), path.basename(plan.stagingPath).replace(STAGING_MARK, `${STAGING_MARK}${kind}`));
}

function forgetLivePlan(plan: JobOutputPlan): void {
  livePlans.delete(suffixOf(plan));
  if (livePlans.size === 0) process.off('exit', abortLiveJobsSync);
}

function existsError(abs: string, cause?: unknown): OutputPathError {
  const err = new OutputPathError(`Output path ${abs} already exists. Pass { overwrite: true } to replace it, or choose another path.`, abs);
  if (cause !== undefined) err.cause = cause;
  return err;
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
 * Prepares a save job on the driver: validates the target, removes what killed saves to it left (see
 * "Stale folders" above) and creates the hidden staging folder.
 *
 * @throws an {@link OutputPathError} for an empty path, a filesystem root, the home or working directory
 * or a parent of one, a path overlapping `inputs`, an existing target without `overwrite`, or an
 * `overwrite` target holding anything but `part-NNNNN` files and `_SUCCESS`; an `Error` when the parent
 * cannot be created or written. The target is left untouched.
 *
 * @example
 * ```ts
 * const plan = await setupJob('out/counts', { jobId: 3, overwrite: true, numPartitions: 2 });
 * // post `plan` to workers; each calls writeTaskOutput + commitTask; then:
 * await commitJob(plan);
 * ```
 */
export async function setupJob(outputPath: string, opts: SetupJobOptions): Promise<JobOutputPlan> {
  const abs = checkOutputPath(outputPath);
  checkNotInput(abs, opts.inputs ?? []);
  const parent = path.dirname(abs);
  const name = path.basename(abs);
  await removeStaleFolders(abs);
  const overwrite = opts.overwrite ?? false;
  if (await pathExists(abs)) {
    if (!overwrite) throw existsError(abs);
    await checkReplaceable(abs);
  }

  const jobId = String(opts.jobId).replace(/[^A-Za-z0-9_-]/g, '_');
  const suffix = `${jobId}-${crypto().randomBytes(4).toString('hex')}-p${process.pid}-h${hostTag()}`;
  const stagingPath = path.join(parent, `.${name}${STAGING_MARK}${suffix}`);
  activeJobs.add(suffix);
  try {
    // Synchronous, as every step of commitJob that creates or moves a folder: a signal's handler (abortLiveJobsSync)
    // runs between two turns of the event loop, and an operation still in flight on libuv's threads landed after it
    // had cleaned up (a staging folder made once it was removed, or before the plan below was live), just before the
    // process ended.
    mkdirSync(parent, { recursive: true });
    mkdirSync(stagingPath);
    mkdirSync(path.join(stagingPath, TEMPORARY));
  } catch (err) {
    await rm(stagingPath, { recursive: true, force: true }).catch(() => undefined);
    activeJobs.delete(suffix);
    const code = codeOf(err) ?? 'error';
    const why = ['EACCES', 'EPERM', 'EROFS'].includes(code)
      ? `its parent directory ${parent} is not writable`
      : `cannot create a staging folder in ${parent}`;
    throw new OutputPathError(
      `Cannot write output ${abs}: ${why} (${(err as Error).message}). ` +
        'Choose a path whose parent is a writable directory, or fix its permissions.',
      abs,
      { cause: err },
    );
  }
  const plan: JobOutputPlan = {
    jobId,
    outputPath: abs,
    stagingPath,
    asidePath: path.join(parent, `.${name}${ASIDE_MARK}${suffix}`),
    overwrite,
    ...(opts.numPartitions === undefined ? {} : { numPartitions: opts.numPartitions }),
    ...(opts.format === undefined || opts.format === 'text' ? {} : { format: opts.format }),
  };
  if (livePlans.size === 0) process.once('exit', abortLiveJobsSync);
  livePlans.set(suffix, plan);
  return plan;
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** `dir` is `p` or one of its ancestors. */
function isSameOrAncestor(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The absolute output path, or an {@link OutputPathError} for a path whose replacement or deletion by a
 * mistaken `overwrite` would destroy more than a job's output. Symlinks are followed too, so a link to
 * the home directory is no way around it.
 */
function checkOutputPath(outputPath: string): string {
  if (typeof outputPath !== 'string' || outputPath.trim() === '') {
    throw new OutputPathError(
      `Can not create a Path from an empty string: saveAsTextFile needs an output directory, got ${JSON.stringify(outputPath)}.`,
      String(outputPath),
    );
  }
  const abs = path.resolve(localPathOf(outputPath, 'output path', (message, p) => new OutputPathError(message, p)));
  const guarded: Array<[string, string]> = [
    [process.cwd(), 'the working directory'],
    [os().homedir(), 'the home directory'],
  ];
  const candidates = [...new Set([abs, realOrSelf(abs)])];
  for (const candidate of candidates) {
    if (path.dirname(candidate) === candidate) {
      throw new OutputPathError(`Output path ${outputPath} (${candidate}) is a filesystem root. Choose a directory below it.`, abs);
    }
  }
  // Equality first: the home directory is more often a parent of the working directory than not.
  for (const relation of ['is', 'is a parent of'] as const) {
    for (const candidate of candidates) {
      for (const [dir, what] of guarded) {
        for (const d of new Set([dir, realOrSelf(dir)])) {
          if (relation === 'is' ? candidate === d : isSameOrAncestor(candidate, d)) {
            throw new OutputPathError(
              `Output path ${outputPath} (${candidate}) ${relation} ${what} (${d}); saving there could replace it. ` +
                'Choose a directory of its own for the output, e.g. out/result.',
              abs,
            );
          }
        }
      }
    }
  }
  return abs;
}

/** Refuses an output that would replace, contain or sit inside what the job reads. */
function checkNotInput(abs: string, inputs: readonly string[]): void {
  for (const spec of inputs) {
    for (const root of inputSpecRoots(spec)) {
      let problem: string | undefined;
      if (isSameOrAncestor(abs, root.path)) {
        problem = root.glob ? `contains the files matched by the job's input ${spec}` : `is or contains the job's input ${root.path}`;
      } else if (!root.glob && isSameOrAncestor(root.path, abs)) {
        // Reading that directory again would then meet the output as a subdirectory.
        problem = `is inside the job's input directory ${root.path}`;
      }
      if (problem !== undefined) {
        throw new OutputPathError(`Output path ${abs} ${problem}. Write the output somewhere the job does not read from.`, abs);
      }
    }
  }
}

/**
 * Refuses to replace `abs` unless it is a directory holding only what a save writes, so `overwrite`
 * can never delete anything else.
 */
async function checkReplaceable(abs: string): Promise<void> {
  const s = await lstat(abs);
  if (!s.isDirectory()) {
    throw new OutputPathError(
      `Refusing to overwrite ${abs}: it is a ${s.isSymbolicLink() ? 'symbolic link' : 'file'}, not a previous saveAsTextFile output. ` +
        'Remove it yourself or choose another path.',
      abs,
    );
  }
  const foreign = (await readdir(abs, { withFileTypes: true })).filter((e) => !(e.isFile() && OUTPUT_FILE.test(e.name)));
  if (foreign.length > 0) {
    const names = foreign.map((e) => e.name + (e.isDirectory() ? '/' : '')).sort();
    const example = path.join(abs, names[0]!);
    const more = names.length > 1 ? ` and ${names.length - 1} more` : '';
    throw new OutputPathError(
      `Refusing to overwrite ${abs}: it holds ${example}${more}, which saveAsTextFile did not write. ` +
        'overwrite replaces only a previous output (part-NNNNN files and _SUCCESS); move the other files away or choose another path.',
      abs,
    );
  }
}

/**
 * Deletes what a save wrote in `dir` (its part files and `_SUCCESS`), then `dir` if that emptied it.
 * @returns the names of anything else, left in place.
 */
async function removeOutputFiles(dir: string): Promise<string[]> {
  const left: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile() && OUTPUT_FILE.test(e.name)) await rm(path.join(dir, e.name), { force: true });
    else left.push(e.name);
  }
  if (left.length === 0)
    await rmdir(dir).catch((err: unknown) => {
      if (codeOf(err) !== 'ENOENT') throw err;
    });
  return left;
}

/** {@link removeOutputFiles} for a process on its way out. */
function removeOutputFilesSync(dir: string): void {
  let left = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile() && OUTPUT_FILE.test(e.name)) rmSync(path.join(dir, e.name), { force: true });
    else left++;
  }
  if (left === 0) rmdirSync(dir);
}

/** The owner recorded in a staging or aside folder name, if it has one. */
function ownerOf(suffix: string): { pid: number; host: string } | undefined {
  const m = /-p(\d+)-h([0-9a-f]{8})$/.exec(suffix);
  return m ? { pid: Number(m[1]), host: m[2]! } : undefined;
}

function isStale(suffix: string): boolean {
  const owner = ownerOf(suffix);
  if (owner === undefined || owner.host !== hostTag()) return false;
  if (owner.pid === process.pid) return !activeJobs.has(suffix);
  return !isProcessAlive(owner.pid);
}

/**
 * Cleans up after save jobs to `abs` whose process died (see "Stale folders" in this module's comment).
 * Runs before each save, so a crash costs disk space only until the next save to the same path.
 */
async function removeStaleFolders(abs: string): Promise<void> {
  const parent = path.dirname(abs);
  const prefix = `.${path.basename(abs)}`;
  let names: string[];
  try {
    names = await readdir(parent);
  } catch (err) {
    // No parent yet (setupJob creates it), or not a directory (setupJob explains).
    if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') return;
    throw err;
  }
  const stale = (mark: string) =>
    names.filter((n) => n.startsWith(prefix + mark) && isStale(n.slice(prefix.length + mark.length))).map((n) => path.join(parent, n));
  for (const aside of stale(ASIDE_MARK)) {
    try {
      if (!(await pathExists(abs))) await rename(aside, abs);
      else await removeOutputFiles(aside);
    } catch (err) {
      // Another process cleaning up at the same time got there first.
      if (codeOf(err) !== 'ENOENT') throw err;
    }
  }
  for (const staging of stale(STAGING_MARK)) await rm(staging, { recursive: true, force: true });
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
    throw new InvalidArgumentError(`Task attempt number must be a non-negative integer, got ${attempt}.`);
  }
  return path.join(plan.stagingPath, TEMPORARY, `${partFileName(partition)}.attempt-${attempt}`);
}

function writeFully(fd: number, text: string): number {
  return writeBytes(fd, Buffer.from(text, 'utf8'));
}

function writeBytes(fd: number, bytes: Uint8Array): number {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  return bytes.length;
}

/** Elements per V8-serialized batch of an object file. */
const OBJECT_BATCH = 1024;

/**
 * An object file is a sequence of frames: a 4-byte little-endian length, then that many bytes of
 * `v8.serialize(batch)`, a batch being an array of up to 1024 elements (see `readObjectFile`).
 */
function writeObjectRecords(fd: number, values: Iterable<unknown>): { records: number; bytes: number } {
  let records = 0;
  let bytes = 0;
  let batch: unknown[] = [];
  const flush = (): void => {
    const body = serialize(batch);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(body.length, 0);
    bytes += writeBytes(fd, header) + writeBytes(fd, body);
    batch = [];
  };
  for (const v of values) {
    batch.push(v);
    records++;
    if (batch.length >= OBJECT_BATCH) flush();
  }
  if (batch.length > 0) flush();
  return { records, bytes };
}

/**
 * The elements of an object file written by `saveAsObjectFile`, in order. Self-contained (it uses only its
 * arguments and standard globals) so that it can be shipped to workers as a helper; pass `node:v8`.
 *
 * @example
 * ```ts
 * import * as v8 from 'node:v8';
 * readObjectFile(v8, readFileSync('out/part-00000')); // [ ...the partition's elements ]
 * ```
 */
export function readObjectFile(v8: { deserialize(bytes: Uint8Array): unknown }, data: Uint8Array, name = 'object file'): unknown[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: unknown[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = off + 4 <= buf.length ? buf.readUInt32LE(off) : -1;
    // shipped: readObjectFile runs in the workers as a helper of objectFile
    if (len < 0 || off + 4 + len > buf.length) throw new Error(`${name} is truncated or not an object file (saveAsObjectFile output)`);
    const batch = v8.deserialize(buf.subarray(off + 4, off + 4 + len));
    // shipped: readObjectFile runs in the workers as a helper of objectFile
    if (!Array.isArray(batch)) throw new Error(`${name} is not an object file (saveAsObjectFile output)`);
    for (const x of batch) out.push(x);
    off += 4 + len;
  }
  return out;
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
export function writeTaskOutput(plan: JobOutputPlan, partition: number, attempt: number, lines: Iterable<unknown>): TaskOutput {
  const attemptPath = taskAttemptPath(plan, partition, attempt);
  let fd: number;
  try {
    // Exclusive: a resubmitted stage numbers its attempts from 0 again while a task of the earlier stage attempt may
    // still write the same partition (Spark's SPARK-24552); truncating its file would publish one attempt's bytes
    // under the other's commit, and let the loser write on into the published part.
    fd = openSync(attemptPath, 'wx');
  } catch (err) {
    if (jobEnded(plan, err)) throw commitDenied(plan, partition, attempt, err);
    if (codeOf(err) === 'EEXIST') {
      throw new OutputCommitError(
        `Cannot create task output ${attemptPath}: another attempt numbered ${attempt} of partition ${partition} (a task of an ` +
          'earlier attempt of its stage) is writing it. This attempt wrote nothing; the task runs again under the next number.',
        { cause: err },
      );
    }
    throw new OutputCommitError(
      `Cannot create task output ${attemptPath} (${codeOf(err) ?? 'error'}). The job may have been aborted ` +
        'or its staging folder removed; re-run the job.',
      { cause: err },
    );
  }
  let records = 0;
  let bytes = 0;
  try {
    if (plan.format === 'object') {
      ({ records, bytes } = writeObjectRecords(fd, lines));
    } else {
      // A compressed part is compressed a ~1 MiB chunk at a time (see ChunkCompressor).
      const codec = textCodecOf(plan.format);
      const compressor = codec === undefined ? undefined : new ChunkCompressor(codec);
      const named = (bytesWritten: () => number): number => {
        try {
          return bytesWritten();
        } catch (err) {
          throw namingFile(err, attemptPath);
        }
      };
      const write =
        compressor === undefined
          ? (text: string) => named(() => writeFully(fd, text))
          : (text: string) => named(() => writeBytes(fd, compressor.chunk(text)));
      // Concatenation builds a rope that is flattened once per ~1 MiB write.
      let chunk = '';
      for (const value of lines) {
        chunk += formatTextLine(value) + '\n';
        records++;
        if (chunk.length >= WRITE_CHUNK_CHARS) {
          bytes += write(chunk);
          chunk = '';
        }
      }
      if (chunk.length > 0) bytes += write(chunk);
      if (compressor !== undefined) bytes += named(() => writeBytes(fd, compressor.end()));
    }
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
  const partPath = path.join(plan.stagingPath, partFileNameFor(plan, partition));
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
      if (jobEnded(plan, err)) throw commitDenied(plan, partition, attempt, err);
      throw new OutputCommitError(
        `Cannot commit task output ${attemptPath}: it does not exist. Call writeTaskOutput first; if you did, ` +
          'the job was aborted or already committed.',
        { cause: err },
      );
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') {
      throw new OutputCommitError(`Cannot commit task output ${attemptPath} to ${partPath} (${code ?? 'error'}).`, { cause: err });
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
 * Whether `err` (from an attempt's file) comes of the job's staging folder, or its `_temporary` (which commitJob moves
 * away first), being gone: the job was aborted or committed.
 */
function jobEnded(plan: JobOutputPlan, err: unknown): boolean {
  return codeOf(err) === 'ENOENT' && (!existsSync(plan.stagingPath) || !existsSync(path.join(plan.stagingPath, TEMPORARY)));
}

function commitDenied(plan: JobOutputPlan, partition: number, attempt: number, cause: unknown): CommitDeniedError {
  return new CommitDeniedError(
    `Task attempt ${attempt} of partition ${partition} may not commit to ${plan.outputPath}: its job has ended (aborted or ` +
      `committed) and its staging folder ${plan.stagingPath} is gone or published. Nothing of this attempt was kept.`,
    { cause },
  );
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
    throw new OutputCommitError(
      `Cannot commit job output ${outputPath}: staging folder ${stagingPath} is missing (${codeOf(err) ?? 'error'}). ` +
        'The job was aborted or already committed; re-run it.',
      { cause: err },
    );
  }
  const parts = new Set(names.filter((n) => n.startsWith('part-')));
  if (plan.numPartitions !== undefined) {
    const missing: string[] = [];
    for (let p = 0; p < plan.numPartitions; p++) if (!parts.has(partFileNameFor(plan, p))) missing.push(partFileNameFor(plan, p));
    if (missing.length > 0) {
      const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? `, ... (${missing.length} in all)` : '');
      throw new OutputCommitError(
        `Cannot commit job output ${outputPath}: no committed output for ${shown} in ${stagingPath}. ` +
          'Every task must call commitTask before commitJob; abort the job and re-run it.',
      );
    }
  }
  // Attempts that lost to another copy of their task may still be starting (a speculative copy sent just before the
  // other copy won) and create their files in _temporary: a recursive delete racing them failed with ENOTEMPTY, and
  // the save with it. Moved out of staging first, the folder gains nothing more (a late attempt finds no _temporary,
  // and is denied its commit), so deleting it ends.
  const temporary = trashPathOf(plan, 'committed-');
  // The renames and the marker are synchronous (see setupJob): a signal handled while one was in flight left the state
  // it made after the handler had looked (the target moved aside for good, a `_temporary` moved out).
  try {
    renameSync(path.join(stagingPath, TEMPORARY), temporary);
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw err;
  }
  await rm(temporary, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
  writeFileSync(path.join(stagingPath, SUCCESS), '');

  const warnings: string[] = [];
  if (await pathExists(outputPath)) {
    if (!plan.overwrite) throw existsError(outputPath);
    // The target may have changed since setupJob looked at it.
    try {
      await checkReplaceable(outputPath);
      renameSync(outputPath, asidePath);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') throw replacedWhileCommitting(outputPath, err);
      throw err;
    }
    try {
      renameSync(stagingPath, outputPath);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        // Another overwrite published between the two renames: the previous output, checked replaceable above, is
        // what both saves asked to replace.
        await removeOutputFiles(asidePath).catch(() => undefined);
        throw replacedWhileCommitting(outputPath, err);
      }
      try {
        renameSync(asidePath, outputPath);
      } catch (restoreErr) {
        throw new OutputCommitError(
          `Cannot move job output into ${outputPath} (${codeOf(err) ?? 'error'}), nor move the previous output back ` +
            `from ${asidePath} (${codeOf(restoreErr) ?? 'error'}). Call abortJob to retry, or rename it back by hand.`,
          { cause: err },
        );
      }
      throw new OutputCommitError(`Cannot move job output into ${outputPath} (${codeOf(err) ?? 'error'}); the previous output was restored.`, {
        cause: err,
      });
    }
    try {
      const left = await removeOutputFiles(asidePath);
      if (left.length > 0) {
        warnings.push(
          `The previous output, moved to ${asidePath}, gained files no save wrote while this job committed (${left.join(', ')}); ` +
            'they were left there.',
        );
      }
    } catch (err) {
      warnings.push(`The previous output, moved to ${asidePath}, could not be deleted (${codeOf(err)}); delete it by hand.`);
    }
  } else {
    try {
      renameSync(stagingPath, outputPath);
    } catch (err) {
      const code = codeOf(err);
      // Something created the target after setupJob checked it (with overwrite: after this commit looked again).
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw plan.overwrite ? replacedWhileCommitting(outputPath, err) : existsError(outputPath, err);
      throw err;
    }
  }
  activeJobs.delete(suffixOf(plan));
  forgetLivePlan(plan);
  return { outputPath, partFiles: parts.size, warnings };
}

/** Two saves overwriting one path at once: the one that lost must say so, not fail with a bare rename error. */
function replacedWhileCommitting(outputPath: string, cause: unknown): OutputCommitError {
  return new OutputCommitError(
    `Cannot commit job output ${outputPath}: it was moved or replaced while this job committed (another save to the same path at ` +
      "the same time?). This job's output was not committed; re-run it.",
    { cause },
  );
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
  // Tasks of a cancelled or failed job may still be writing (a kill takes hold only after a grace period), and a
  // recursive delete that races their new files fails with ENOTEMPTY. Once renamed, the folder can gain nothing
  // through the paths the tasks hold, so deleting it ends; a crash between the two leaves a stale folder that the
  // next save to this path removes.
  const trash = trashPathOf(plan);
  try {
    await rename(plan.stagingPath, trash);
  } catch (err) {
    // Gone already: an earlier abortJob (whose delete may not have finished) or a commit.
    if (codeOf(err) !== 'ENOENT') throw err;
  }
  await rm(trash, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
  if ((await pathExists(plan.asidePath)) && !(await pathExists(plan.outputPath))) {
    await rename(plan.asidePath, plan.outputPath);
  }
  activeJobs.delete(suffixOf(plan));
  forgetLivePlan(plan);
}

function suffixOf(plan: JobOutputPlan): string {
  const name = path.basename(plan.stagingPath);
  return name.slice(name.indexOf(STAGING_MARK) + STAGING_MARK.length);
}
