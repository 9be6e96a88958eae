/**
 * Which file a worker thread starts from. `npm run build` bundles the worker's entry and everything it imports
 * into `worker-bundle.cjs` (scripts/bundle.js, CommonJS: no ESM loader to set up in the worker): one file to read and compile instead of ~90 modules to
 * resolve, read, compile and link, which was most of a worker's start-up. The bundle is used only while it is at
 * least as new as `worker-main.js`: a build that rewrote the modules without bundling (a bare `tsc`) must not
 * leave workers running the code of an older build, so they fall back to the modules themselves.
 */
import { bundleIsCurrent } from '../../util/bundle.js';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

const MODULES = new URL('./worker-main.js', import.meta.url);
const BUNDLE = new URL('./worker-bundle.cjs', import.meta.url);

// Runs the bundle compiled with V8's code cache of it (worker-start.cts).
const START = new URL('./worker-start.cjs', import.meta.url);

/**
 * The bundle when it is current (started through worker-start.cjs, which compiles it with its code cache), else
 * the unbundled entry module.
 */
export function workerEntry(): URL {
  if (!bundleIsCurrent(fileURLToPath(BUNDLE), fileURLToPath(MODULES))) return MODULES;
  return existsSync(fileURLToPath(START)) ? START : BUNDLE;
}

/** The flags this process started with, for a worker's `WorkerInit.processFlags`. */
export function processFlags(): string {
  return process.execArgv.join('\0');
}

/**
 * A worker's young generation, MiB (V8 splits it into two semi-spaces and a large-object space of one semi-space
 * each, so 24 gives 8 MiB semi-spaces). V8's default lets a worker's semi-spaces grow to 16 MiB each as soon as
 * a task's records survive a scavenge, and keeps them committed for the worker's life: 32 MiB resident per worker
 * for the young generation alone, the largest part of a PageRank worker's heap after its load (its live data is
 * 5–10 MB). 24 held PageRank's peak RSS 30–40 MB lower (every COST workload's 25–45 MB) at equal CPU but for
 * k-means (~6 % more); 12 cost PageRank ~13 % CPU; V8 rounds other sizes to a power-of-two semi-space
 * (docs/benchmarks.md, session 10).
 */
export const WORKER_YOUNG_GENERATION_MB = 24;

/** A worker thread's heap limits: the old generation's `maxOldMb` (the context's memory.workerMB), if given. */
export function workerResourceLimits(maxOldMb: number | undefined): { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb: number } {
  return maxOldMb
    ? { maxOldGenerationSizeMb: maxOldMb, maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB }
    : { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
}
