#!/usr/bin/env node
// Part of `npm run build`, after tsc: bundles with esbuild what is loaded at start-up as many modules.
//
// The worker thread's entry (dist/exec/local/worker-main.js and the modules it imports, comlink and lru-cache
// included) into dist/exec/local/worker-bundle.cjs, which the local backend and cluster executors start instead. A
// worker otherwise resolves, reads, compiles and links ~90 modules before it can run its first task (measured: 2
// workers' start-up CPU about halved, see docs/benchmarks.md, session 6).
//
// The live UI (dist/ui/live-ui.js and the UI modules only it loads: the server and the page scripts) into
// dist/ui/live-ui-bundle.js, which src/ui/index.ts imports lazily, on the UI's first connection (or once it holds
// HELD_FOR_STORE events): one file instead of seven costs about a third less CPU to load (session 8). Modules outside ui/,
// and the UI modules the context loads eagerly (app-events, errors, options, index, listen), stay imports of the
// very same files, so the bundle shares their one instance (a UiError is the same class wherever it is thrown). The
// event log's writer (event-log.js) is loaded on its own, without the UI.
//
// A bundle is used only while it is at least as new as its entry module (src/exec/local/worker-entry.ts), so a
// plain `tsc` that leaves it stale falls back to the unbundled modules rather than running old code.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Chains the dist files' own maps, so --enable-source-maps still names src/ lines.
  sourcemap: 'linked',
  // Without the sources' text: a stack trace needs only the mapping. Node parses a loaded file's whole map whenever
  // source maps are on (--enable-source-maps, or tsx, which turns them on for every script it runs), and the text
  // of src/ was 1.6 of the driver map's 2.3 MB: importing kindling took ~35 ms more CPU for it (docs/benchmarks.md,
  // session 20).
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
};

// The worker's bundle is CommonJS (worker-bundle.cjs): a worker started from an ES module sets up Node's ESM loader
// before its first line runs, one started from a CommonJS file does not (measured: worker ready ~10 % sooner and
// ~30 ms less CPU per worker, docs/benchmarks.md, session 16). Nothing in it needs ESM: no top-level await; the
// `import()` of a user's module (useModule) works from CommonJS too. Its modules' `import.meta.url` becomes the
// bundle's own URL, as it was in the ESM bundle; strict mode as in the modules.
const WORKER_BANNER =
  '"use strict";\nvar __kindlingBundleUrl = require("node:url").pathToFileURL(__filename).href;\n' +
  'var __kindlingImport = globalThis[Symbol.for("kindling.import")] ?? ((specifier) => import(specifier));';
await build({
  ...common,
  format: 'cjs',
  entryPoints: ['dist/exec/local/worker-main.js'],
  outfile: 'dist/exec/local/worker-bundle.cjs',
  define: { 'import.meta.url': '__kindlingBundleUrl' },
  banner: { js: WORKER_BANNER },
});
// src/exec/local/worker-start.cts runs the bundle compiled by hand with V8's code cache, where Node 20 cannot
// resolve an import() (it loses the script's import callback when the code comes from the cache: measured,
// ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). So the bundle's import() calls (useModule's) go through the function that
// file lends it, made in a file Node loaded itself, beside the bundle (the same specifiers resolve the same); run
// as a plain file (with --enable-source-maps), the bundle makes its own.
{
  const file = 'dist/exec/local/worker-bundle.cjs';
  const text = await readFile(file, 'utf8');
  const body = text.slice(WORKER_BANNER.length).replace(/(?<![\w$.])import\((?=\s*[\w$"'`(])/g, '__kindlingImport(');
  await writeFile(file, WORKER_BANNER + body);
}
// V8's code caches of the bundle, written by the first worker that runs one (src/exec/local/worker-start.cts), are
// of bundles replaced: workers would not use them (each is named after the bundle it was made from), but they are clutter.
for (const name of await readdir('dist/exec/local')) {
  if (/^worker-bundle\.cjs\..*\.cache$/.test(name)) await rm(path.join('dist/exec/local', name), { force: true });
}

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

// The live UI's thread (dist/ui/ui-thread.js: the status store and REST, src/ui/live-ui.ts starts it) into
// dist/ui/ui-thread-bundle.cjs, everything it imports included: another isolate shares no class with the driver, and
// as CommonJS the thread sets up no ESM loader, as the workers' bundle.
await build({
  ...common,
  format: 'cjs',
  entryPoints: [path.join(ui, 'ui-thread.js')],
  outfile: path.join(ui, 'ui-thread-bundle.cjs'),
  define: { 'import.meta.url': '__kindlingBundleUrl' },
  banner: { js: '"use strict";\nvar __kindlingBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
});

// The driver's entries, `import 'kindling'` and `import 'kindling/datagen'` (dist/index.js, dist/datagen/index.js and
// every module and package they import) into one CommonJS file, dist/driver/kindling.cjs: a script otherwise resolves,
// reads, compiles and links ~150 modules of dist/ and ~15 of node_modules before its first line runs (measured:
// `import('kindling')` ~245 ms of CPU unbundled, ~80 bundled, docs/benchmarks.md, session 19). CommonJS because Node
// 20 gives V8's code cache to a script it is handed, never to an ES module: src/entry-bundle.ts runs the bundle with
// its code cache (~30 ms less CPU per import; and tsx, which rewrites and maps anew every ES module it loads, never
// sees it: ~60 ms less under `node --import tsx`, session 28). One bundle for both entries, so that they share one
// copy of every module (an InvalidArgumentError thrown by datagen is `instanceof` the exported KindlingError). What
// the modules load with `import()` (the live UI, the event log's writer) is in it as modules whose top level runs on
// first use only (esbuild's lazy init): parsed lazily, never compiled before then. The live UI's own bundle above is
// not used from the driver bundle (`inDriverBundle`): it would hold a second copy of the modules it shares. ioredis
// (~120 ms to load) stays a package loaded on first use.
//
// dist/entry.js and dist/datagen/entry.js, what `package.json` `exports` names, are written here last, as ES modules
// re-exporting the bundle's names; `tsc` writes them as re-exports of the modules, so a bare `tsc` after a build
// (modules newer than the bundle) leaves the bundle unused (src/entry.ts).
const dist = path.resolve(fileURLToPath(new URL('../dist', import.meta.url)));
const driver = path.join(dist, 'driver');
const DRIVER_BUNDLE = 'kindling.cjs';
// Also removes the code caches of earlier bundles (src/util/code-cache.cts names them after the bundle they were made from).
await rm(driver, { recursive: true, force: true });
// The bundle's import() calls go through the function src/entry-bundle.ts lends it (code V8 took from the cache cannot
// make one); run as a plain file, the bundle makes its own.
const DRIVER_BANNER =
  '"use strict";\nvar __kindlingBundleUrl = require("node:url").pathToFileURL(__filename).href;\n' +
  'var __kindlingImport = globalThis[Symbol.for("kindling.import")] ?? ((specifier) => import(specifier));';
await build({
  ...common,
  format: 'cjs',
  stdin: {
    contents: "export * as index from './index.js';\nexport * as datagen from './datagen/index.js';\n",
    resolveDir: dist,
    sourcefile: 'driver-entry.js',
  },
  outfile: path.join(driver, DRIVER_BUNDLE),
  external: ['ioredis'],
  define: { KINDLING_DRIVER_BUNDLE: 'true', 'import.meta.url': '__kindlingBundleUrl' },
  banner: { js: DRIVER_BANNER },
  plugins: [
    {
      // A module's `import.meta.url` stays its own file's URL (not the bundle's): the modules find files beside
      // them with it (the worker's bundle, bin/kindling.js, package.json, the package root of call sites).
      name: 'module-urls',
      setup(b) {
        b.onLoad({ filter: /\.js$/ }, async (args) => {
          if (!args.path.startsWith(dist + path.sep)) return undefined;
          const text = await readFile(args.path, 'utf8');
          if (!text.includes('import.meta.url')) return undefined;
          const own = JSON.stringify(path.relative(driver, args.path).split(path.sep).join('/'));
          return { contents: text.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`), loader: 'js' };
        });
      },
    },
  ],
});
// Kindling ships some of its own functions to workers as source text, with `capture({ name }, fn)`: the env's keys
// must be the names the function's text uses. esbuild renames a module's symbol that another module's top-level
// symbol already names (`compare` -> `compare2`), the function's text with it, and keeps the key: `capture({ compare:
// compare2 }, (a, b) => compare2(a, b))`, which the driver refuses ("uses 'compare2', which is not declared"; found
// by the sortByKey, objectFile and event-time specs). So an entry `name: nameN` of a capture's env becomes `nameN`
// again, the name the text uses. kindling's sources never write such an entry themselves (test/entry.test.ts).
const CAPTURE_ENV = /\bcapture\d*\(\{([^{}]*)\}/g;
const renamedEntry = (entry) => entry.replace(/^(\s*)([\w$]+):\s*(\2\d+)(\s*)$/, '$1$3$4');
{
  const file = path.join(driver, DRIVER_BUNDLE);
  const text = await readFile(file, 'utf8');
  const body = text
    .slice(DRIVER_BANNER.length)
    .replace(CAPTURE_ENV, (call, env) => call.replace(env, env.split(',').map(renamedEntry).join(',')))
    .replace(/(?<![\w$.])import\((?=\s*[\w$"'`(])/g, '__kindlingImport(');
  await writeFile(file, DRIVER_BANNER + body);
}
// The entries name every export (an ES module cannot re-export a CommonJS file's names with `export *`).
const reexport = async (entry, part, loader) => {
  const names = Object.keys(await import(pathToFileURL(path.join(dist, part === 'index' ? 'index.js' : 'datagen/index.js')).href));
  const text =
    `// Written by scripts/bundle.js: see there.\nimport { driverBundle } from '${loader}';\n` +
    `export const { ${names.join(', ')} } = driverBundle('${DRIVER_BUNDLE}').${part};\n`;
  await writeFile(path.join(dist, entry), text);
};
await reexport('entry.js', 'index', './entry-bundle.js');
await reexport(path.join('datagen', 'entry.js'), 'datagen', '../entry-bundle.js');
