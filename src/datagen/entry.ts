/**
 * What `import 'kindling/datagen'` loads: `index.ts`'s generators. `npm run build` (scripts/bundle.js) rewrites this
 * file's output to re-export the driver bundle's `datagen` names: one bundle holds both entries (one
 * `InvalidArgumentError`, one `SeededRandom` class in a process); a bare `tsc` writes this re-export again (see
 * `src/entry.ts`).
 */
export * from './index.js';
