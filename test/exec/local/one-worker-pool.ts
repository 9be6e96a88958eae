/** The built worker pool with one worker thread and small limits: for the specs of the worker's side of a task. */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';

// The built pool: its workers start from the build (dist), not from the sources.
const { WorkerPool } = (await import(
  path.resolve(import.meta.dirname, '../../../dist/exec/local/worker-pool.js')
)) as typeof import('../../../src/exec/local/worker-pool.js');

/** A pool of one worker whose spill and job-output folders go under `scratch` (the caller removes it). */
export function oneWorkerPool(scratch: string): InstanceType<typeof WorkerPool> {
  return new WorkerPool({
    numWorkers: 1,
    spillRoot: scratch,
    worker: {
      fetchTimeoutMs: 60_000,
      storageBytes: 1 << 20,
      maxResultBytes: 1 << 20,
      engine: 'memory',
      shuffleSpillBytes: 1 << 20,
      jobOutputRoot: mkdtempSync(path.join(scratch, 'jobs-')),
    },
  });
}
