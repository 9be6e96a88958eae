/**
 * Where user code created an RDD: the first stack frame outside kindling's own files, as `file.ts:12`.
 * toDebugString and error messages print it, so a user can map lineage back to their script.
 */
import { fileURLToPath } from 'node:url';
import { findSourceMap } from 'node:module';
import path from 'node:path';

// dist/util/call-site.js -> the package root. Frames in its dist/ (or in src/, when a loader such as tsx maps
// stack traces through source maps) are kindling's own.
const packageRoot = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const ownDirs = [path.join(packageRoot, 'dist') + path.sep, path.join(packageRoot, 'src') + path.sep];

/** A stack frame's file as a path (`file://` URLs turned into paths), or undefined for frames without one. */
function pathOf(file: string | null | undefined): string | undefined {
  if (file === null || file === undefined || file === '') return undefined;
  return file.startsWith('file://') ? fileURLToPath(file) : file;
}

/** Whether a frame in `file` is kindling's own, Node's or a dependency's rather than the user's. */
function notUsers(file: string): boolean {
  return file.startsWith('node:') || ownDirs.some((d) => file.startsWith(d)) || file.includes(`${path.sep}node_modules${path.sep}`);
}

/**
 * The call site of the caller's caller outside kindling, as `file.ts:12` (`<unknown>` when every frame is kindling's).
 *
 * With Node's own stack formatting (no other `Error.prepareStackTrace` installed), the frames are read as V8's call sites
 * and only the user's frame is mapped through its source map (a script run with tsx, or compiled with maps):
 * formatting the whole stack made Node parse the source map of every kindling file on it (`rdd.js.map` and the
 * others), 50–200 ms of the driver's first RDD in a cold run. A `prepareStackTrace` a tool installed (say
 * source-map-support) is honoured: the stack is then formatted by it and parsed, as before.
 */
export function userCallSite(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  try {
    if (nodesOwnFormatting()) return fromCallSites();
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder, userCallSite);
    return fromFormatted(holder.stack ?? '');
  } finally {
    Error.stackTraceLimit = limit;
  }
}

type PrepareStackTrace = (e: Error, sites: NodeJS.CallSite[]) => unknown;
const errorClass = Error as { prepareStackTrace?: PrepareStackTrace };

/** Whether stacks are formatted by Node itself (no hook, or Node 20's own `ErrorPrepareStackTrace`), not by a tool. */
function nodesOwnFormatting(): boolean {
  const f = errorClass.prepareStackTrace;
  return f === undefined || f.name === 'ErrorPrepareStackTrace';
}

/**
 * What the frame loop below learned, kept by what V8 reports: each generated file's ownership (kindling's, Node's or
 * a dependency's), and each user position's mapped `file.ts:12` (or `undefined` when the original file is not the
 * user's either). An iterative program makes the same few RDDs every iteration: reading the file URL of every frame
 * and looking its position up in the source map again was ~10 % of the driver's CPU in a later PageRank iteration
 * (session 21). Both maps are keyed by what V8 gives, so an entry never goes stale: a file's path does not change,
 * and a source map is registered when its module loads, before any of its frames can run; entries are only added per
 * distinct file and per distinct call site in user code, and both maps start over past a bound.
 */
const foreignFile = new Map<string, boolean>();
const mappedSite = new Map<string, string | undefined>();
const CACHE_BOUND = 4096;

function fromCallSites(): string {
  const holder: { stack?: NodeJS.CallSite[] } = {};
  const own = errorClass.prepareStackTrace;
  errorClass.prepareStackTrace = (_e, sites) => sites;
  try {
    Error.captureStackTrace(holder, userCallSite);
    // Reading `stack` runs prepareStackTrace, which must still be ours then.
    void holder.stack;
  } finally {
    errorClass.prepareStackTrace = own;
  }
  const sites = Array.isArray(holder.stack) ? holder.stack : [];
  // Skips userCallSite's own caller (the RDD constructor or helper that asked), as captureStackTrace already did.
  for (const site of sites) {
    const generated = site.getFileName();
    const line = site.getLineNumber();
    if (generated === null || generated === undefined || generated === '' || line === null) continue;
    let foreign = foreignFile.get(generated);
    if (foreign === undefined) {
      if (foreignFile.size >= CACHE_BOUND) foreignFile.clear();
      foreignFile.set(generated, (foreign = notUsers(pathOf(generated)!)));
    }
    // Kindling's dist files map into its src/, which is kindling's too: no need to read their maps.
    if (foreign) continue;
    const key = `${sourceMapsOn() ? 'm' : 'p'}${line}:${site.getColumnNumber() ?? 1}:${generated}`;
    if (mappedSite.has(key)) {
      const known = mappedSite.get(key);
      if (known === undefined) continue;
      return known;
    }
    const site1 = userSite(generated, line, site.getColumnNumber() ?? 1);
    if (mappedSite.size >= CACHE_BOUND) mappedSite.clear();
    mappedSite.set(key, site1);
    if (site1 !== undefined) return site1;
  }
  return '<unknown>';
}

/** A user frame's `file.ts:12`, through its source map when there is one; undefined when the original is not the user's. */
function userSite(generated: string, line: number, column: number): string | undefined {
  const file = pathOf(generated)!;
  const mapped = mapThroughSourceMap(generated, line, column);
  if (mapped === undefined) return `${path.basename(file)}:${line}`;
  const original = pathOf(mapped.file) ?? file;
  if (notUsers(original)) return undefined;
  return `${path.basename(original)}:${mapped.line}`;
}

const sourceMapsOn = (): boolean => (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;

/** The original position of a generated one, as Node's source-mapped stack traces print it, when a map is known. */
function mapThroughSourceMap(file: string, line: number, column: number): { file: string; line: number } | undefined {
  if (!sourceMapsOn()) return undefined;
  const map = findSourceMap(file);
  if (map === undefined) return undefined;
  const entry = map.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number } | Record<string, never>;
  if (!('originalSource' in entry) || entry.originalSource === undefined || entry.originalLine === undefined) return undefined;
  return { file: entry.originalSource, line: entry.originalLine + 1 };
}

function fromFormatted(stack: string): string {
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?\s*$/.exec(line);
    if (!m || m[1] === undefined) continue;
    const file = pathOf(m[1])!;
    if (notUsers(file)) continue;
    return `${path.basename(file)}:${m[2]}`;
  }
  return '<unknown>';
}
