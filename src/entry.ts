/**
 * What `import 'kindling'` loads (`package.json` `exports`): the public API of `index.ts`.
 *
 * As `tsc` writes it, this module re-exports `index.js`, whose ~150 modules (and acorn, eslint-scope, comlink,
 * lru-cache) a script then resolves, reads, compiles and links before its first line runs. `npm run build`
 * (scripts/bundle.js) then rewrites this file's output to re-export the driver bundle's names (`dist/driver/kindling.cjs`:
 * the same modules as one CommonJS file, run with V8's code cache by `entry-bundle.ts`). A later bare `tsc` writes this
 * re-export of `index.js` again, so a bundle older than the modules is never used.
 */
export * from './index.js';
