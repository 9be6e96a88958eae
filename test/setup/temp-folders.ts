/**
 * Every test file runs with its own temporary folder (`TMPDIR`, which `os.tmpdir()` and child processes read), and
 * fails when it leaves a `kindling-*` folder or file there: a context stopped, a spec's scratch folder removed,
 * nothing may stay behind. The folder is private to the file, so the check holds with test files running in
 * parallel and other programs writing to /tmp at the same time. It is removed after the check either way.
 *
 * Deliberately shared between files: the example tests' generated data sets (`KINDLING_TEST_SHARED_TMPDIR`).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const shared = process.env['KINDLING_TEST_SHARED_TMPDIR'] ?? os.tmpdir();
process.env['KINDLING_TEST_SHARED_TMPDIR'] = shared;
const own = mkdtempSync(path.join(shared, 'kindling-test-file-'));
process.env['TMPDIR'] = own;

// Registered before the file's own hooks, so it runs after them (vitest runs afterAll hooks in reverse order).
afterAll(() => {
  const left = readdirSync(own).filter((name) => name.startsWith('kindling-'));
  process.env['TMPDIR'] = shared;
  rmSync(own, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  if (left.length > 0) {
    throw new Error(
      `this test file left ${left.length} kindling temp folder(s) behind: ${left.sort().join(', ')} (stop every context, remove every scratch folder)`,
    );
  }
});
