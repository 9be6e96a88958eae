import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, where the recorded programs run. */
export const root = fileURLToPath(new URL('../..', import.meta.url));
const recorder = fileURLToPath(new URL('../fixtures/record-imports.mjs', import.meta.url));

/**
 * Runs `node --import tsx FILE ARGS` from the repository root, recording into a file of `dir`; returns its stdout and
 * every module it resolved, as paths relative to the root.
 */
export function runRecorded(dir: string, file: string, args: readonly string[]): { stdout: string; modules: string[] } {
  const out = path.join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(out, '');
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--import', recorder, file, ...args], {
    cwd: root,
    env: { ...process.env, RECORD_IMPORTS_TO: out },
    encoding: 'utf8',
  });
  const modules = readFileSync(out, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:'));
  return { stdout, modules: [...new Set(modules.map((u) => path.relative(root, fileURLToPath(u))))] };
}
