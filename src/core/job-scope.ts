/**
 * The job settings of the code running now (Spark keeps them per thread; here they follow the async call
 * chain): the AbortSignal of the action being run and the job group set with Context.setJobGroup. Every job
 * an action starts (take and sortByKey start several) carries them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface JobScope {
  readonly signal?: AbortSignal;
  readonly jobGroup?: string;
  /** The description given with the job group (Spark's spark.job.description), shown as the jobs' description. */
  readonly jobDescription?: string;
}

/** What every action accepts. */
export interface ActionOptions {
  /** Aborting it cancels the action's running job(s), which reject with an AbortError naming the job. */
  readonly signal?: AbortSignal;
}

export const jobScope = new AsyncLocalStorage<JobScope>();

/** Runs an action's body with its signal in scope (and without the cost of a scope when there is none). */
export function withActionOptions<R>(options: ActionOptions | undefined, body: () => Promise<R>): Promise<R> {
  if (options?.signal === undefined) return body();
  return jobScope.run({ ...jobScope.getStore(), signal: options.signal }, body);
}
