#!/usr/bin/env node
// Part of `npm run build`, after tsc: bundles with esbuild what is loaded at start-up as many modules.
//
// The worker thread's entry (dist/exec/local/worker-main.js and the modules it imports, comlink and lru-cache
// included) into dist/exec/local/worker-bundle.cjs, which the local backend and cluster executors start instead. A
// worker otherwise resolves, reads, compiles and links ~90 modules before it can run its first task (measured: 2
// workers' start-up CPU about halved, see docs/benchmarks.md, session 6).
//
// The live UI (dist/ui/live-ui.js and the UI modules only it loads: status store, server, REST, page scripts) into
// dist/ui/live-ui-bundle.js, which src/ui/index.ts imports lazily, on the UI's first connection (or once it holds
// 2,048 events): one file instead of seven costs about a third less CPU to load (session 8). Modules outside ui/,
// and the UI modules the context loads eagerly (app-events, errors, options, index, listen), stay imports of the
// very same files, so the bundle shares their one instance (a UiError is the same class wherever it is thrown). The
// event log's writer (event-log.js) is loaded on its own, without the UI.
//
// A bundle is used only while it is at least as new as its entry module (src/exec/local/worker-entry.ts), so a
// plain `tsc` that leaves it stale falls back to the unbundled modules rather than running old code.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Chains the dist files' own maps, so --enable-source-maps still names src/ lines.
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
};

// The worker's bundle is CommonJS (worker-bundle.cjs): a worker started from an ES module sets up Node's ESM loader
// before its first line runs, one started from a CommonJS file does not (measured: worker ready ~10 % sooner and
// ~30 ms less CPU per worker, docs/benchmarks.md, session 16). Nothing in it needs ESM: no top-level await; the
// `import()` of a user's module (useModule) works from CommonJS too. Its modules' `import.meta.url` becomes the
// bundle's own URL, as it was in the ESM bundle; strict mode as in the modules.
await build({
  ...common,
  format: 'cjs',
  entryPoints: ['dist/exec/local/worker-main.js'],
  outfile: 'dist/exec/local/worker-bundle.cjs',
  define: { 'import.meta.url': '__kindlingBundleUrl' },
  banner: { js: '"use strict";\nvar __kindlingBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
});

const ui = path.resolve(fileURLToPath(new URL('../dist/ui', import.meta.url)));
const SHARED = new Set(['app-events.js', 'errors.js', 'index.js', 'listen.js', 'options.js']);
await build({
  ...common,
  entryPoints: [path.join(ui, 'live-ui.js')],
  outfile: path.join(ui, 'live-ui-bundle.js'),
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
