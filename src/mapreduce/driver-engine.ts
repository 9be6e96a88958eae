/**
 * The driver's half of an engine, chosen once by the context: how persist() behaves and how a job's results
 * arrive. The memory engine receives results in task messages and caches persisted RDDs; the mapreduce engine
 * reads results back from the job's output files and caches nothing (with a one-time notice).
 */
import { mkdirSync } from 'node:fs';
import { readJobResults } from './job-output.js';

export interface DriverEngine {
  readonly name: 'memory' | 'mapreduce';
  /** Where workers write job results (mapreduce); unused by the memory engine. */
  readonly jobOutputRoot: string;
  /** Whether persisted RDDs stay cached between jobs (recomputation hints only make sense then). */
  readonly caches: boolean;
  /** Called when an RDD is persisted. */
  onPersist(label: string): void;
  /** Turns what result tasks sent into the job's results. */
  collectResults(jobId: number, sent: readonly unknown[]): unknown[];
}

export function createDriverEngine(name: 'memory' | 'mapreduce', jobOutputRoot: string, notice: (m: string) => void): DriverEngine {
  if (name === 'memory') {
    return { name, jobOutputRoot, caches: true, onPersist: () => undefined, collectResults: (_id, sent) => [...sent] };
  }
  mkdirSync(jobOutputRoot, { recursive: true });
  let noticed = false;
  return {
    name,
    jobOutputRoot,
    caches: false,
    onPersist: (label) => {
      if (noticed) return;
      noticed = true;
      notice(`engine 'mapreduce' keeps nothing in memory between jobs: persist() of ${label} (and any other) has no effect`);
    },
    collectResults: (jobId, sent) => readJobResults(jobOutputRoot, jobId, sent),
  };
}
