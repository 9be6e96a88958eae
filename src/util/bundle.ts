/**
 * Whether a file that `npm run build` bundles (scripts/bundle.js: the worker's entry, the live UI) may be loaded
 * instead of its modules: a build that rewrote the modules without bundling (a bare `tsc`) must not leave the
 * process running the code of an older build.
 */
import { statSync } from 'node:fs';

/** Whether `bundle` exists and was written no earlier than `entry` (the build writes the bundle last). */
export function bundleIsCurrent(bundle: string, entry: string): boolean {
  const b = statSync(bundle, { throwIfNoEntry: false });
  const e = statSync(entry, { throwIfNoEntry: false });
  return b !== undefined && e !== undefined && b.mtimeMs >= e.mtimeMs;
}
