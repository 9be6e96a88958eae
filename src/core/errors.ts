/**
 * Errors that reach users. Each names what failed and where (job, stage, partition, RDD) and, where there is
 * one, the fix. Failures travel between threads as plain `ErrorInfo` values and become errors only at the edge.
 */

/** A serializable description of an error thrown in a worker. */
export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** The RDD whose user function threw, when known. */
  readonly rddId?: number;
  readonly rddLabel?: string;
}

/** Base class of kindling's own errors. */
export class KindlingError extends Error {
  override name = 'KindlingError';
}

/** Thrown for actions on a stopped context. */
export class ContextStoppedError extends KindlingError {
  override name = 'ContextStoppedError';
}

/**
 * A job was cancelled: its AbortSignal was aborted, its job group was cancelled, or cancelAllJobs() was called.
 * The message names the job.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const p = rdd.count({ signal: ac.signal });
 * ac.abort();
 * await p.catch((e) => e instanceof AbortError); // true
 * ```
 */
export class AbortError extends KindlingError {
  override name = 'AbortError';
  constructor(
    message: string,
    /** The cancelled job (undefined when the action was aborted before its job started). */
    readonly jobId?: number,
  ) {
    super(message);
  }
}

/** Where a failed task ran. */
export interface TaskLocation {
  readonly jobId: number;
  readonly stageId: number;
  readonly partition: number;
  readonly rddId: number;
  readonly rddLabel: string;
}

/** A job failed: the message names job, stage, partition and RDD, and carries every attempt's cause. */
export class JobFailedError extends KindlingError {
  override name = 'JobFailedError';
  constructor(
    message: string,
    readonly location: TaskLocation | undefined,
    readonly causes: readonly ErrorInfo[],
  ) {
    super(message);
  }
}

const kTagged = Symbol.for('kindling.userFunctionRdd');

/**
 * Marks an error thrown by a user function with the RDD whose function it was, once: an error passing up through
 * a pipeline of narrow RDDs keeps the innermost (the one that really threw).
 */
export function tagUserError(error: unknown, rddId: number, rddLabel: string): unknown {
  if (error !== null && typeof error === 'object') {
    const e = error as Record<symbol, unknown>;
    if (e[kTagged] === undefined) {
      try {
        Object.defineProperty(e, kTagged, { value: { rddId, rddLabel }, enumerable: false });
      } catch {
        // A frozen error object cannot be tagged; the task still fails with its message.
      }
    }
    return error;
  }
  // A thrown primitive (throw 'boom') is wrapped so it can carry where it came from.
  const wrapped = new Error(String(error));
  return tagUserError(wrapped, rddId, rddLabel);
}

/** Converts anything thrown into plain data that can be posted to the driver. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const tag = (error as unknown as Record<symbol, { rddId: number; rddLabel: string } | undefined>)[kTagged];
    return {
      name: error.name,
      message: error.message,
      ...(error.stack !== undefined ? { stack: error.stack } : {}),
      ...(tag ? { rddId: tag.rddId, rddLabel: tag.rddLabel } : {}),
    };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * `saveAsTextFile` refused an output path before touching anything: an empty path, a directory whose loss would
 * be a disaster (a filesystem root, the home or working directory or one of their parents), a path that overlaps
 * the job's input, or an `overwrite` target holding files that no save wrote. `path` is the refused path.
 */
export class OutputPathError extends KindlingError {
  override name = 'OutputPathError';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** An input path cannot be read as asked, e.g. a directory that has subdirectories, read without `recursive`. */
export class InputPathError extends KindlingError {
  override name = 'InputPathError';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}
