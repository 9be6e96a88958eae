#!/usr/bin/env node
// Part of `npm run build`, after tsc: bundles the worker thread's entry (dist/exec/local/worker-main.js and the
// modules it imports, comlink and lru-cache included) into one file, dist/exec/local/worker-bundle.js, which the
// local backend and cluster executors start instead. A worker otherwise resolves, reads, compiles and links ~90
// modules before it can run its first task (measured: 2 workers' start-up CPU about halved, see docs/benchmarks.md,
// session 6). The bundle is used only while it is newer than worker-main.js (src/exec/local/worker-entry.ts), so a
// plain `tsc` that leaves it stale falls back to the unbundled modules rather than running old code.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/exec/local/worker-main.js'],
  outfile: 'dist/exec/local/worker-bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Chains the dist files' own maps, so --enable-source-maps still names src/ lines.
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
