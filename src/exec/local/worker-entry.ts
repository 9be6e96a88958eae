/**
 * Which file a worker thread starts from. `npm run build` bundles the worker's entry and everything it imports
 * into `worker-bundle.js` (scripts/bundle.js): one file to read and compile instead of ~90 modules to
 * resolve, read, compile and link, which was most of a worker's start-up. The bundle is used only while it is at
 * least as new as `worker-main.js`: a build that rewrote the modules without bundling (a bare `tsc`) must not
 * leave workers running the code of an older build, so they fall back to the modules themselves.
 */
import { bundleIsCurrent } from '../../util/bundle.js';
import { fileURLToPath } from 'node:url';

const MODULES = new URL('./worker-main.js', import.meta.url);
const BUNDLE = new URL('./worker-bundle.js', import.meta.url);

/** The bundle when it is current, else the unbundled entry module. */
export function workerEntry(): URL {
  return bundleIsCurrent(fileURLToPath(BUNDLE), fileURLToPath(MODULES)) ? BUNDLE : MODULES;
}
