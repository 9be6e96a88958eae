/**
 * A worker thread's first file when the worker bundle is current (see worker-entry.ts): it runs the bundle as Node
 * runs a CommonJS file (the same five wrapper arguments), but compiled with V8's code cache of it, kept beside it
 * (`worker-bundle.cjs.cache`): V8 then skips parsing and compiling what the cache holds (measured in a worker:
 * compiling and running the bundle's top level ~33 -> ~17 ms of CPU, docs/benchmarks.md, session 19).
 *
 * The first worker that finds no cache of this very bundle writes one, once the bundle's top level ran (so the
 * functions run at start-up are in it), to a temporary file renamed into place: workers of several processes may
 * race, each writes a whole file. The cache's name holds the bundle's modification time and size, taken before its
 * text is read, and a tag of the process's V8 flags (see flagsTag): a build that rewrites the bundle gives it a new name, so a cache is only ever used with the text
 * it was made from (V8's own check compares the source's length, not its text; it also checks its version and
 * flags, and rejects a mismatch: the bundle then compiles as usual). A cache that cannot be written (a
 * read-only install) only costs the compile it would have saved.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { threadId, workerData } from 'node:worker_threads';

const file = path.join(__dirname, 'worker-bundle.cjs');

/** What this worker did with the cache: read by a spec from inside a task. */
type CodeCacheUse = 'accepted' | 'rejected' | 'written' | 'none';
const USE = Symbol.for('kindling.workerCodeCache');

function readCache(cacheFile: string): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

if (process.sourceMapsEnabled) {
  // --enable-source-maps: Node maps the stack traces of the files it loads itself, not of a script compiled here.
  (globalThis as Record<symbol, unknown>)[USE] = 'none';
  require(file);
} else {
  // The bundle's import() calls (useModule's) come here (scripts/bundle.js): code V8 took from the cache cannot make
  // one itself. This file sits beside the bundle, so the same specifiers resolve the same.
  (globalThis as Record<symbol, unknown>)[Symbol.for('kindling.import')] = (specifier: string) => import(specifier);
  // Stat first: were the bundle replaced between the two, the cache would be named after the older file, never used.
  const { mtimeMs, size } = statSync(file);
  const source = readFileSync(file, 'utf8');
  const cacheFile = `${file}.${Math.round(mtimeMs * 1000)}-${size}-${flagsTag()}.cache`;
  const cachedData = readCache(cacheFile);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const use: CodeCacheUse = cachedData === undefined ? 'none' : script.cachedDataRejected === true ? 'rejected' : 'accepted';
  (globalThis as Record<symbol, unknown>)[USE] = use;
  const module_ = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module_.exports, createRequire(file), module_, file, __dirname);
  if (use !== 'accepted') writeCache(script, cacheFile);
}

/**
 * A tag of the V8 flags this process runs with. V8 rejects a cache made under other flags, and processes with other
 * flags share this folder (a `--max-old-space-size`, or `--expose-gc`, which the heap guard and tests set at run
 * time): under one name, each rejected the other's cache and wrote its own in its place, so neither kept one (a spec
 * saw a worker's cache swapped between two workers of one context, CI session 23).
 */
function flagsTag(): string {
  // A local pool's worker has only some of its process's flags in its own execArgv: the pool sends them all.
  const started = (workerData as { processFlags?: unknown } | null)?.processFlags;
  const own = typeof started === 'string' ? started : process.execArgv.join('\0');
  const flags = `${own}\0${process.env.NODE_OPTIONS ?? ''}\0${typeof (globalThis as { gc?: unknown }).gc}`;
  // FNV-1a: node:crypto would cost a worker's start-up more than the cache saves here.
  let h = 0x811c9dc5;
  for (let i = 0; i < flags.length; i++) h = Math.imul(h ^ flags.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function writeCache(script: vm.Script, cacheFile: string): void {
  const tmp = `${cacheFile}.${process.pid}-${threadId}.tmp`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
    (globalThis as Record<symbol, unknown>)[USE] = 'written';
  } catch {
    // Not writable here: the next worker compiles as this one did.
    rmSync(tmp, { force: true });
  }
}
