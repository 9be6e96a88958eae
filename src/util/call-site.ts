/**
 * Where user code created an RDD: the first stack frame outside kindling's own files, as `file.ts:12`.
 * toDebugString and error messages print it, so a user can map lineage back to their script.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// dist/util/call-site.js -> the package root. Frames in its dist/ (or in src/, when a loader such as tsx maps
// stack traces through source maps) are kindling's own.
const packageRoot = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const ownDirs = [path.join(packageRoot, 'dist') + path.sep, path.join(packageRoot, 'src') + path.sep];

export function userCallSite(): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  Error.captureStackTrace(holder, userCallSite);
  Error.stackTraceLimit = limit;
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?\s*$/.exec(line);
    if (!m || m[1] === undefined) continue;
    let file = m[1];
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (file.startsWith('node:') || ownDirs.some((d) => file.startsWith(d)) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    return `${path.basename(file)}:${m[2]}`;
  }
  return '<unknown>';
}
