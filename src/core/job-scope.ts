/**
 * The job settings of the code running now (Spark keeps them per thread; here they follow the async call
 * chain): the AbortSignal of the action being run and the job group set with Context.setJobGroup. Every job
 * an action starts (take and sortByKey start several) carries them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { AbortError, ArgumentTypeError } from './errors.js';

export interface JobScope {
  readonly signal?: AbortSignal;
  readonly jobGroup?: string;
  /** The description given with the job group (Spark's spark.job.description), shown as the jobs' description. */
  readonly jobDescription?: string;
}

/** What every action accepts. */
export interface ActionOptions {
  /**
   * Aborting it cancels the action's running job(s), which reject with an AbortError naming the job; a signal aborted
   * before the call rejects the action at once, whether or not it would run a job.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * setTimeout(() => ac.abort('too slow'), 5_000);
   * await rdd.count({ signal: ac.signal }); // AbortError: Job 3 (count at job.ts:12) was cancelled: too slow
   * ```
   */
  readonly signal?: AbortSignal;
}

export const jobScope = new AsyncLocalStorage<JobScope>();

/**
 * Runs an action's body with its signal in scope (and without the cost of a scope when there is none).
 *
 * An action given a signal that is already aborted rejects with an AbortError even when it needs no job (`take(0)`,
 * `takeSample(false, 0)`, `isEmpty()` of an RDD of no partitions): the DAG scheduler refuses every job such an action
 * would start, and an answer computed without one must not make the same call succeed or fail by its arguments.
 * `what` names the action in that error (called only then).
 */
export function withActionOptions<R>(
  options: ActionOptions | undefined,
  body: () => Promise<R>,
  what?: () => string,
  /** The option names the action takes (a save's overwrite and compression besides the signal). */
  known: readonly string[] = ['signal'],
): Promise<R> {
  const refused = refuseActionOptions(options, known);
  if (refused !== undefined) return Promise.reject(new ArgumentTypeError(`${what?.() ?? 'the action'}: ${refused}`));
  const signal = options?.signal;
  if (signal === undefined) return body();
  const abortedAtStart = signal.aborted;
  const run = jobScope.run({ ...jobScope.getStore(), signal }, body);
  if (!abortedAtStart) return run;
  return run.then(() => {
    throw new AbortError(`${what?.() ?? 'the action'} was cancelled before its job started: ${abortReason(signal)}`);
  });
}

/**
 * What is wrong with an action's options argument, if anything. From JavaScript a number or string there (`count(5)`,
 * PySpark's positional arguments) was ignored without a word, and a signal that is not an AbortSignal failed inside the
 * scheduler with `signal.addEventListener is not a function`.
 */
function refuseActionOptions(options: unknown, known: readonly string[]): string | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    return `the options argument must be an object such as { signal }, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options === 'string' ? JSON.stringify(options) : String(options)}`;
  }
  // A misspelt key (`{ singal: ac.signal }`) left the action uncancellable without a word.
  const unknown = Object.keys(options).find((k) => !known.includes(k));
  if (unknown !== undefined) return `unknown option '${unknown}'; it takes ${known.map((k) => `'${k}'`).join(', ')}`;
  const signal: unknown = (options as { signal?: unknown }).signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    return `options.signal must be an AbortSignal, got ${signal === null ? 'null' : typeof signal}`;
  return undefined;
}

/** The reason an aborted signal gives, for an AbortError's message. */
export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r.name === 'AbortError' && r.message === 'This operation was aborted' ? 'its AbortSignal was aborted' : r.message;
  return r === undefined ? 'its AbortSignal was aborted' : String(r);
}
