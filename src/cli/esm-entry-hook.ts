/**
 * Loaded with `--import` in the child process of `kindling run` (see esm-entry.ts): registers a resolve hook that
 * gives the script named by KINDLING_ESM_ENTRY the format `module`, after tsx's own resolve has found it.
 */
import { register } from 'node:module';

register('./esm-entry-resolve.js', import.meta.url);
