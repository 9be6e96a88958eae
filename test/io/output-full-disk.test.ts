/**
 * A save whose part file cannot be written (a full disk) fails its task naming the file, and leaves no part of it:
 * Node names no file in a write's error (`ENOSPC: no space left on device, write`), and the job's error said what
 * but not where (session 46, an output folder on a 2 MB tmpfs). The full disk is a write that fails as Node's does.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { abortJob, setupJob, taskAttemptPath, writeTaskOutput } from '../../src/io/output-committer.js';

vi.mock('node:fs', async (original) => {
  const actual = await original<typeof import('node:fs')>();
  const writeSync = vi.fn(actual.writeSync);
  return { ...actual, writeSync, default: { ...actual, writeSync } };
});

const root = mkdtempSync(path.join(tmpdir(), 'kindling-output-full-disk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The error Node's writeSync throws on a full disk. */
const enospc = (): NodeJS.ErrnoException =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { errno: -28, code: 'ENOSPC', syscall: 'write' });

describe('a part file that cannot be written', () => {
  for (const compressed of [false, true]) {
    it(`fails naming the attempt's file, and leaves none (${compressed ? 'gzip' : 'plain text'})`, async () => {
      const parent = path.join(root, compressed ? 'gz' : 'plain');
      mkdirSync(parent);
      const plan = await setupJob(path.join(parent, 'out'), { jobId: 1, format: compressed ? 'text-gzip' : 'text' });
      vi.mocked(fs.writeSync).mockImplementationOnce(() => {
        throw enospc();
      });
      const attempt = taskAttemptPath(plan, 0, 0);
      expect(() => writeTaskOutput(plan, 0, 0, ['a', 'b'])).toThrow(`ENOSPC: no space left on device, write '${attempt}'`);
      expect(existsSync(attempt)).toBe(false);
      await abortJob(plan);
      expect(readdirSync(parent)).toEqual([]);
    });
  }
});
