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

// Defined as `true` by scripts/bundle.js in the driver bundle only (esbuild `define`); no such global exists elsewhere.
declare const KINDLING_DRIVER_BUNDLE: boolean | undefined;

/**
 * Whether this code runs from the driver bundle (`dist/driver/`, what `import 'kindling'` loads after
 * `npm run build`). There, a module must not load another bundle built from the same modules (the live UI's): that
 * would make a second copy of classes the bundle already holds (a `UiError` that is not `instanceof` the exported one).
 */
export const inDriverBundle: boolean = typeof KINDLING_DRIVER_BUNDLE !== 'undefined' && KINDLING_DRIVER_BUNDLE === true;
