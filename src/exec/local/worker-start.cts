/**
 * A worker thread's first file when the worker bundle is current (see worker-entry.ts): it runs the bundle compiled
 * with V8's code cache of it, kept beside it (`worker-bundle.cjs.<mtime>-<size>-<flags>.cache`, see
 * src/util/code-cache.cts; measured in a worker: compiling and running the bundle's top level ~33 -> ~17 ms of CPU,
 * docs/benchmarks.md, session 19).
 */
import path from 'node:path';
import { workerData } from 'node:worker_threads';
import { type CodeCacheUse, runWithCodeCache, wordDigest } from '../../util/code-cache.cjs';

const file = path.join(__dirname, 'worker-bundle.cjs');

/** What this worker did with the cache: read by a spec from inside a task. */
const USE = Symbol.for('kindling.workerCodeCache');

if (process.sourceMapsEnabled) {
  // --enable-source-maps: Node maps the stack traces of the files it loads itself, not of a script compiled here.
  (globalThis as Record<symbol, unknown>)[USE] = 'none' satisfies CodeCacheUse;
  require(file);
} else {
  // The bundle's import() calls (useModule's) come here (scripts/bundle.js): code V8 took from the cache cannot make
  // one itself. This file sits beside the bundle, so the same specifiers resolve the same.
  (globalThis as Record<symbol, unknown>)[Symbol.for('kindling.import')] = (specifier: string) => import(specifier);
  // A local pool's worker has only some of its process's flags in its own execArgv: the pool sends them all.
  const started = (workerData as { processFlags?: unknown } | null)?.processFlags;
  const { use } = runWithCodeCache(file, typeof started === 'string' ? started : process.execArgv.join('\0'), wordDigest);
  (globalThis as Record<symbol, unknown>)[USE] = use;
}
