/**
 * What `import 'kindling'` and `import 'kindling/datagen'` run after `npm run build`: the driver bundle
 * (`dist/driver/kindling.cjs`, scripts/bundle.js), compiled with V8's code cache of it (src/util/code-cache.cts).
 * Node 20 gives an ES module no code cache, so the bundle is CommonJS and the entries (`dist/entry.js`,
 * `dist/datagen/entry.js`, written by the build) are ES modules that re-export its names. Measured against the ES
 * module bundle it replaced: importing kindling ~30 ms less CPU under plain `node`, ~60 ms less under
 * `node --import tsx`, which no longer sees the 1 MB file at all (docs/benchmarks.md, session 28).
 */
import { hash } from 'node:crypto';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeCacheUse } from './util/code-cache.cjs';

// Required, not imported: an ES module importing a CommonJS file has Node's ESM loader lex it for its names first
// (~9 ms more CPU per import of kindling, measured).
const { runWithCodeCache } = createRequire(import.meta.url)('./util/code-cache.cjs') as typeof import('./util/code-cache.cjs');

/** The bundle's exports: the public API of `index.ts` and of `datagen/index.ts`, one instance of every module. */
export interface DriverBundle {
  readonly index: Record<string, unknown>;
  readonly datagen: Record<string, unknown>;
}

/** What the driver did with the bundle's code cache: read by a spec. */
const USE = Symbol.for('kindling.driverCodeCache');

let loaded: DriverBundle | undefined;

/**
 * Runs the driver bundle `name` (a file of `dist/driver/`) once per process and returns its exports.
 *
 * @example
 * ```ts
 * export const { Context } = driverBundle('kindling.cjs').index as typeof import('./index.js');
 * ```
 */
export function driverBundle(name: string): DriverBundle {
  if (loaded !== undefined) return loaded;
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'driver', name);
  // The bundle's import() calls (the event log's, ioredis's) come here (scripts/bundle.js): code V8 took from the
  // cache cannot make one itself. dist/ holds the same node_modules as dist/driver/: specifiers resolve the same.
  (globalThis as Record<symbol, unknown>)[Symbol.for('kindling.import')] = (specifier: string) => import(specifier);
  if (process.sourceMapsEnabled) mapStackTraces(file);
  // The bundle loads node:crypto itself, so its hash (~1 ms for the ~450 KB cache) costs no load of its own here.
  const { exports, use } = runWithCodeCache(file, process.execArgv.join('\0'), (data) => hash('sha1', data));
  (globalThis as Record<symbol, unknown>)[USE] = use satisfies CodeCacheUse;
  loaded = exports as DriverBundle;
  return loaded;
}

/**
 * With source maps on (`--enable-source-maps`, or tsx, which turns them on), Node maps the stack frames of a file
 * only if it compiled a file of that name itself: its CommonJS loader reads the `sourceMappingURL` comment of what it
 * compiles and files the map under the module's file name, where a stack trace's frames look it up. A module of that
 * name holding the comment alone gives the bundle's frames their src/ lines (test/entry.test.ts), at the cost of
 * parsing the map, as Node did for the ES module bundle.
 */
function mapStackTraces(file: string): void {
  const stub = new Module(file) as Module & { _compile(content: string, filename: string): unknown };
  stub.filename = file;
  stub._compile(`//# sourceMappingURL=${path.basename(file)}.map`, file);
  // Node files the map in a weak map keyed by the module: kept alive for the process's life.
  stubs.push(stub);
}
const stubs: Module[] = [];
