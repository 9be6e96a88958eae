#!/usr/bin/env node
// Part of `npm run build`, after tsc: bundles the live UI (dist/ui/live-ui.js and the UI modules only it loads:
// status store, event log, server, REST, page scripts) into one file, dist/ui/live-ui-bundle.js, which
// src/ui/index.ts imports lazily instead. Every program with the UI on (the default) loads it at start-up, on the
// driver's thread while its workers start: one file instead of eight to resolve, read, compile and link cost
// about a third less CPU (docs/benchmarks.md, session 8). Modules outside ui/, and the UI modules the context
// loads eagerly (app-events, errors, options, index), stay imports of the very same files, so the bundle shares
// their one instance (a UiError is the same class wherever it is thrown). The bundle is used only while it is at
// least as new as live-ui.js, as the worker's bundle is (src/exec/local/worker-entry.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ui = path.resolve(fileURLToPath(new URL('../dist/ui', import.meta.url)));
const SHARED = new Set(['app-events.js', 'errors.js', 'index.js', 'options.js']);

await build({
  entryPoints: [path.join(ui, 'live-ui.js')],
  outfile: path.join(ui, 'live-ui-bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [
    {
      name: 'only-the-live-ui',
      setup(b) {
        b.onResolve({ filter: /^\.\.?\// }, (args) => {
          const file = path.resolve(args.resolveDir, args.path);
          if (path.dirname(file) === ui && !SHARED.has(path.basename(file))) return undefined;
          // The bundle sits in dist/ui, as the importing modules do: the same relative path names the same file.
          return { path: `./${path.relative(ui, file).split(path.sep).join('/')}`, external: true };
        });
      },
    },
  ],
});
