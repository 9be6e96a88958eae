/**
 * `kindling executor`: the long-running process of a cluster. Its flags, its one-line errors, the one line that
 * says it is ready, and leaving cleanly on SIGTERM.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redisSkipReason, useRedisServer } from '../../streaming/redis-server.js';
import { BIN, registered, useExecutors } from './helpers.js';

const run = promisify(execFile);

async function kindling(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('kindling executor: flags', () => {
  it('--help documents every flag', async () => {
    const { code, stdout } = await kindling(['executor', '--help']);
    expect(code).toBe(0);
    for (const flag of ['--master', '--cluster', '--cores', '--memory', '--host', '--port', '--secret-file']) expect(stdout).toContain(flag);
    expect(stdout).not.toContain('--exit-with-parent');
  });

  it.each([
    [['executor'], /required option '--master <url>' not specified/],
    [['executor', '--master', 'localhost:6379'], /expected redis:\/\/HOST:PORT/],
    [['executor', '--master', 'redis://127.0.0.1:1', '--cores', '0'], /--cores.*expected a positive integer/],
    [['executor', '--master', 'redis://127.0.0.1:1', '--memory', 'lots'], /--memory.*expected a size like 2g/],
    [['executor', '--master', 'redis://127.0.0.1:1', '--port', '70000'], /--port.*expected a port/],
  ])('%j fails with one line', async (args, message) => {
    const { code, stderr } = await kindling(args);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('an unreachable Redis is one line naming the address and the cluster', async () => {
    const { code, stderr } = await kindling(['executor', '--master', 'redis://127.0.0.1:1', '--cluster', 'c1']);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^kindling: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(cluster 'c1'\): .*ECONNREFUSED/),
    ]);
  });

  it('a non-loopback --host without a secret is refused', async () => {
    const { code, stderr } = await kindling(['executor', '--master', 'redis://127.0.0.1:1', '--host', '0.0.0.0']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/binding 0\.0\.0\.0 \(not loopback\) needs a shared secret: pass --secret-file FILE or set KINDLING_SECRET/);
  });
});

describe.skipIf(redisSkipReason !== undefined)('kindling executor: life cycle', () => {
  const url = useRedisServer();
  const executor = useExecutors();

  it('prints one line when registered and ready, and leaves the cluster on SIGTERM', async () => {
    const e = executor(['--master', url(), '--cluster', 'life', '--cores', '1', '--memory', '256m']);
    const out = await e.waitFor('registered and ready');
    expect(out.trim().split('\n')).toEqual([
      expect.stringMatching(/^kindling executor \d+ registered and ready \(cluster 'life', 127\.0\.0\.1:\d+, 1 cores, 256 MiB\)$/),
    ]);
    expect(await registered(url(), 'life')).toHaveLength(1);
    e.child.kill('SIGTERM');
    expect(await e.exited).toEqual({ code: 0, signal: null });
    expect(await registered(url(), 'life')).toEqual([]);
  });

  // Found by random-faults.test.ts: a late executor SIGTERMed as it printed its ready line died by the signal's
  // default action (its handler was set only after the start-up), its registration left for a driver to lease.
  // Reading the secret from a FIFO holds it in its start-up for as long as the spec wants, deterministically.
  it('a SIGTERM while it starts ends it as cleanly: exit code 0, registered nowhere', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-executor-fifo-'));
    try {
      const fifo = path.join(dir, 'secret');
      execFileSync('mkfifo', [fifo]);
      const e = executor(['--master', url(), '--cluster', 'early', '--cores', '1', '--memory', '256m', '--secret-file', fifo]);
      // Opening a FIFO for writing waits until the executor opens it to read: it is in its start-up, reading it.
      const writer = await open(fifo, 'w');
      e.child.kill('SIGTERM');
      await writer.writeFile('s3cret\n');
      await writer.close();
      expect(await e.exited).toEqual({ code: 0, signal: null });
      expect(await registered(url(), 'early')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
