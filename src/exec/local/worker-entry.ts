/**
 * Which file a worker thread starts from. `npm run build` bundles the worker's entry and everything it imports
 * into `worker-bundle.js` (scripts/bundle.js): one file to read and compile instead of ~90 modules to
 * resolve, read, compile and link, which was most of a worker's start-up. The bundle is used only while it is at
 * least as new as `worker-main.js`: a build that rewrote the modules without bundling (a bare `tsc`) must not
 * leave workers running the code of an older build, so they fall back to the modules themselves.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MODULES = new URL('./worker-main.js', import.meta.url);
const BUNDLE = new URL('./worker-bundle.js', import.meta.url);

/** The bundle when it is current, else the unbundled entry module. */
export function workerEntry(): URL {
  return bundleIsCurrent(fileURLToPath(BUNDLE), fileURLToPath(MODULES)) ? BUNDLE : MODULES;
}

/** Whether `bundle` exists and was written no earlier than `entry` (the build writes the bundle last). */
export function bundleIsCurrent(bundle: string, entry: string): boolean {
  const b = statSync(bundle, { throwIfNoEntry: false });
  const e = statSync(entry, { throwIfNoEntry: false });
  return b !== undefined && e !== undefined && b.mtimeMs >= e.mtimeMs;
}
