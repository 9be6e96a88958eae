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
  /** The thrown error's `code` (a kindling code from `docs/errors.md`, or e.g. Node's 'ENOENT'), when it had one. */
  readonly code?: string;
  /** The input record being processed when the error was thrown: `file` or `file, line N`. */
  readonly input?: string;
  /** The innermost line of shipped user code on the stack (see `userCodeFrame`). */
  readonly userFrame?: string;
}

/** The stable codes of kindling's errors, documented in docs/errors.md; messages may change, codes do not. */
export type KindlingErrorCode =
  | 'KINDLING_ERROR'
  | 'KINDLING_CONTEXT_STOPPED'
  | 'KINDLING_JOB_FAILED'
  | 'KINDLING_INVALID_ARGUMENT'
  | 'KINDLING_INVALID_OPTION'
  | 'KINDLING_INVALID_DATA'
  | 'KINDLING_ILLEGAL_STATE'
  | 'KINDLING_CLOSURE'
  | 'KINDLING_MODULE_IMPORT'
  | 'KINDLING_NOT_A_PAIR'
  | 'KINDLING_UNCLONABLE_DATA'
  | 'KINDLING_EMPTY_COLLECTION'
  | 'KINDLING_INPUT_PATH'
  | 'KINDLING_OUTPUT_PATH'
  | 'KINDLING_OUTPUT_COMMIT'
  | 'KINDLING_CHECKPOINT'
  | 'KINDLING_CLUSTER'
  | 'KINDLING_HEAP_LIMIT'
  | 'KINDLING_ABORTED'
  | 'KINDLING_UI'
  | 'KINDLING_STREAMING_JOB';

const kKindlingError = Symbol.for('kindling.error');

/**
 * Base class of kindling's own errors; `code` is stable. Argument errors must stay `RangeError`/`TypeError` (as
 * Node's own ERR_OUT_OF_RANGE is a RangeError with a code), and a class has one parent, so those extend the
 * built-in and carry a brand instead: `instanceof KindlingError` recognizes the brand, and subclasses keep the
 * ordinary prototype check.
 */
export class KindlingError extends Error {
  static override [Symbol.hasInstance](x: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class instanceof was asked about (a subclass keeps the usual check)
    if (this !== KindlingError) return Function.prototype[Symbol.hasInstance].call(this, x);
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[kKindlingError] === true;
  }
  override name = 'KindlingError';
  readonly code: KindlingErrorCode = 'KINDLING_ERROR';
}
brand(KindlingError);

function brand(c: { prototype: object }): void {
  Object.defineProperty(c.prototype, kKindlingError, { value: true });
}

/** A value out of range or out of the allowed set, given to a public function (a RangeError too). */
export class InvalidArgumentError extends RangeError {
  override name = 'InvalidArgumentError';
  readonly code: KindlingErrorCode = 'KINDLING_INVALID_ARGUMENT';
}
brand(InvalidArgumentError);

/** An argument of the wrong type given to a public function, e.g. a number where a function goes (a TypeError too). */
export class ArgumentTypeError extends TypeError {
  override name = 'ArgumentTypeError';
  readonly code: KindlingErrorCode = 'KINDLING_INVALID_ARGUMENT';
}
brand(ArgumentTypeError);

/** A `Context` option kindling cannot use: an unknown master or engine, a bad size or fraction, an unwritable localDir. */
export class InvalidOptionError extends RangeError {
  override name = 'InvalidOptionError';
  readonly code: KindlingErrorCode = 'KINDLING_INVALID_OPTION';
}
brand(InvalidOptionError);

/**
 * Data of a shape the operation cannot handle: a key that cannot be hashed, a flatMap/mapPartitions function that
 * did not return an Iterable, an element that cannot be written as a text line (a TypeError too).
 */
export class InvalidDataError extends TypeError {
  override name = 'InvalidDataError';
  readonly code: KindlingErrorCode = 'KINDLING_INVALID_DATA';
}
brand(InvalidDataError);

/**
 * A call not allowed in the state its object is in: a destroyed broadcast used by a new job, a storage level changed
 * without unpersist(), checkpoint() with no checkpoint directory, an RDD used inside a task.
 */
export class IllegalStateError extends KindlingError {
  override name = 'IllegalStateError';
  override readonly code: KindlingErrorCode = 'KINDLING_ILLEGAL_STATE';
}

/** A module declared with `useModule` cannot be resolved or imported where the function runs. */
export class ModuleImportError extends KindlingError {
  override name = 'ModuleImportError';
  override readonly code: KindlingErrorCode = 'KINDLING_MODULE_IMPORT';
}

/** reduce(), first(), max() and friends on an RDD with no elements (Spark's "empty collection"). */
export class EmptyCollectionError extends KindlingError {
  override name = 'EmptyCollectionError';
  override readonly code: KindlingErrorCode = 'KINDLING_EMPTY_COLLECTION';
}

/** Writing or committing a save's output failed after its path was accepted (permissions, an aborted job, a full disk). */
export class OutputCommitError extends KindlingError {
  override name = 'OutputCommitError';
  override readonly code: KindlingErrorCode = 'KINDLING_OUTPUT_COMMIT';
}

/**
 * A save's task attempt may not commit its output because the job has ended (aborted after a failure or a
 * cancellation, or committed by other attempts): its staging folder is gone. Spark's CommitDeniedException; a task
 * of a job that has ended counts it as killed (Spark's TaskCommitDenied), not failed.
 */
export class CommitDeniedError extends OutputCommitError {
  override name = 'CommitDeniedError';
}

/**
 * A checkpoint cannot be read back: a checkpoint file, typically because the checkpoint folder was removed, or a
 * local checkpoint's block, lost with its worker.
 */
export class CheckpointError extends KindlingError {
  override name = 'CheckpointError';
  override readonly code: KindlingErrorCode = 'KINDLING_CHECKPOINT';
}

/**
 * A cluster backend (`redis://`, `local-cluster[N]`) cannot do its part: no executor came within
 * `executorWaitMs`, Redis is unreachable or went away mid-job, an executor cannot start or refused a peer. The
 * message names the Redis address and the cluster.
 */
export class ClusterError extends KindlingError {
  override name = 'ClusterError';
  override readonly code: KindlingErrorCode = 'KINDLING_CLUSTER';
}

/**
 * A task whose data would not fit its worker's heap (a group of one key, a partition's table): failed by the
 * worker's heap guard before V8's limit kills the worker, naming the task, the RDD and the sizes.
 */
export class HeapLimitError extends KindlingError {
  override name = 'HeapLimitError';
  override readonly code: KindlingErrorCode = 'KINDLING_HEAP_LIMIT';
}

/** Thrown for actions on a stopped context. */
export class ContextStoppedError extends KindlingError {
  override name = 'ContextStoppedError';
  override readonly code: KindlingErrorCode = 'KINDLING_CONTEXT_STOPPED';
}

/**
 * A pair operation met an element that is not a pair `[key, value]` (Spark would fail to unpack it too). Without
 * this check `[1, 2, 3].reduceByKey(f)` reads `1[0]` and `1[1]` and quietly returns `[[undefined, NaN]]`.
 */
export class NotAPairError extends KindlingError {
  override name = 'NotAPairError';
  override readonly code: KindlingErrorCode = 'KINDLING_NOT_A_PAIR';
  /** `consumer` names the operation or RDD that needs pairs; `producer` the RDD that produced `element`. */
  constructor(consumer: string, producer: string, element: unknown) {
    super(`${consumer} needs pairs [key, value], but ${producer} produced ${describeValue(element)}`);
  }
}

/** True for a pair `[key, value]`; the check pair operations make per record (no allocation). */
export function isPair(x: unknown): boolean {
  return Array.isArray(x) && x.length === 2;
}

/**
 * Data that would not arrive as it was sent between threads: an instance of a class with methods (the structured
 * clone keeps its fields and drops its prototype, so a call of a method fails far from the cause, or a getter
 * silently reads undefined), or something that cannot be cloned at all.
 */
export class UnclonableDataError extends KindlingError {
  override name = 'UnclonableDataError';
  override readonly code: KindlingErrorCode = 'KINDLING_UNCLONABLE_DATA';
}

/**
 * The error for a class instance found in data about to cross between threads. `subject` ends where the finding
 * goes ("In RDD 0 (parallelize at job.ts:3), element 2"); `crossing` says where the data was going ("would reach
 * the workers").
 */
export function classInstanceError(
  found: { readonly path: string; readonly className: string; readonly member?: string },
  subject: string,
  crossing: string,
): UnclonableDataError {
  const where = found.path === '' ? 'is' : `holds at ${found.path}`;
  const what =
    found.member === undefined
      ? `a ${found.className}, which cannot be cloned and so never ${crossing.replace(/^would /, '')}`
      : `an instance of ${found.className}, which ${crossing} without its methods (such as ${found.member}): structured cloning copies only an object's own fields`;
  return new UnclonableDataError(
    `${subject} ${where} ${what}. Data that crosses between threads (parallelize, shuffles, results of actions, broadcasts) ` +
      'must be plain: numbers, strings, arrays, plain objects, Map, Set, typed arrays, Date. Turn such objects into plain data, ' +
      'and their methods into functions, before they cross.',
  );
}

/** A short, readable rendering of a value for error messages. */
export function describeValue(x: unknown): string {
  if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
    const proto: unknown = Object.getPrototypeOf(x);
    if (proto !== Object.prototype && proto !== null) {
      const ctor = (x as { constructor?: { name?: unknown } }).constructor;
      if (typeof ctor?.name === 'string' && ctor.name !== '') return `a ${ctor.name}`;
    }
  }
  let s: string;
  try {
    s = typeof x === 'bigint' ? `${x}n` : (JSON.stringify(x) ?? String(x));
  } catch {
    s = jsonWithoutCycles(x) ?? String(x);
  }
  return s.length > 60 ? s.slice(0, 60) + '...' : s;
}

/**
 * JSON of a value that refers to itself (a thrown object with a `self` or `parent` field), an object met again on the
 * path to it written as "[Circular]": `String()` of it, "[object Object]", showed nothing the user had put in it.
 */
function jsonWithoutCycles(x: unknown): string | undefined {
  const path: object[] = [];
  try {
    return JSON.stringify(x, function (this: unknown, _key: string, v: unknown): unknown {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v !== 'object' || v === null) return v;
      // `this` is the holder of v: the ancestors of v are the path up to and including it.
      while (path.length > 0 && path[path.length - 1] !== this) path.pop();
      if (path.includes(v)) return '[Circular]';
      path.push(v);
      return v;
    });
  } catch {
    return undefined;
  }
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
  override readonly code: KindlingErrorCode = 'KINDLING_ABORTED';
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
  override readonly code: KindlingErrorCode = 'KINDLING_JOB_FAILED';
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
  // A thrown primitive (throw 'boom') is wrapped so it can carry where it came from; the user's own error, not kindling's.
  const wrapped = new Error(describeThrown(error));
  return tagUserError(wrapped, rddId, rddLabel);
}

/**
 * The message for a thrown value that is not an Error: `String()` of it said "undefined", "null" or "[object Object]",
 * which names neither what was thrown nor that it was no Error (and so has no stack to point at the line).
 */
function describeThrown(v: unknown): string {
  const what =
    typeof v === 'string'
      ? `the string ${JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}...` : v)}`
      : v === null || v === undefined
        ? String(v)
        : typeof v === 'object'
          ? `the object ${describeValue(v)}`
          : `the ${typeof v} ${describeValue(v)}`;
  return `${what} was thrown, not an Error (throw an Error instead: it carries a message and the line that threw)`;
}

const kInput = Symbol.for('kindling.inputRecord');

/**
 * Marks an error with the input record it was thrown for (`file, line N`), once: the reader closest to the
 * failing function knows the record, and readers further up (a union, a cached parent) must not overwrite it.
 */
export function tagInputRecord(error: unknown, input: string): unknown {
  if (error !== null && typeof error === 'object' && (error as Record<symbol, unknown>)[kInput] === undefined) {
    try {
      Object.defineProperty(error, kInput, { value: input, enumerable: false });
    } catch {
      // A frozen error object keeps its message only.
    }
  }
  return error;
}

/** Converts anything thrown into plain data that can be posted to the driver. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const tag = (error as unknown as Record<symbol, { rddId: number; rddLabel: string } | undefined>)[kTagged];
    const code: unknown = (error as { code?: unknown }).code;
    const input = (error as unknown as Record<symbol, unknown>)[kInput];
    return {
      name: error.name,
      message: error.message,
      ...(error.stack !== undefined ? { stack: error.stack } : {}),
      ...(tag ? { rddId: tag.rddId, rddLabel: tag.rddLabel } : {}),
      ...(typeof code === 'string' ? { code } : {}),
      ...(typeof input === 'string' ? { input } : {}),
    };
  }
  // A thrown object that is no Error (throw { code: 42 }) keeps the RDD it was tagged with and its code.
  const tag =
    error !== null && typeof error === 'object' ? (error as Record<symbol, { rddId: number; rddLabel: string } | undefined>)[kTagged] : undefined;
  const code: unknown = (error as { code?: unknown } | null | undefined)?.code;
  return {
    name: 'Error',
    message: describeThrown(error),
    ...(tag ? { rddId: tag.rddId, rddLabel: tag.rddLabel } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/**
 * `saveAsTextFile` refused an output path before touching anything: an empty path, a directory whose loss would
 * be a disaster (a filesystem root, the home or working directory or one of their parents), a path that overlaps
 * the job's input, or an `overwrite` target holding files that no save wrote. `path` is the refused path.
 */
export class OutputPathError extends KindlingError {
  override name = 'OutputPathError';
  override readonly code: KindlingErrorCode = 'KINDLING_OUTPUT_PATH';
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An input path cannot be read as asked, e.g. a directory that has subdirectories, read without `recursive`. */
export class InputPathError extends KindlingError {
  override name = 'InputPathError';
  override readonly code: KindlingErrorCode = 'KINDLING_INPUT_PATH';
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
