/**
 * The driver's shared secret: from the `secret` Context option, or from `kindling run --secret-file FILE` (the
 * script gets it as KINDLING_SECRET). An executor started with a secret serves only a driver that has it; large
 * results are fetched from it over TCP, so a driver without the secret cannot collect them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Context } from 'kindling';
import { redisSkipReason, useRedisServer } from '../../streaming/redis-server.js';
import { BIN, useExecutors } from './helpers.js';

describe.skipIf(redisSkipReason !== undefined)('the driver secret', () => {
  const url = useRedisServer();
  const executor = useExecutors();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-secret-'));
  const secretFile = path.join(dir, 'secret');
  writeFileSync(secretFile, 'the-cluster-secret\n', { mode: 0o600 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'run', 'test/fixtures/large-result.ts', '--master', `${url()}?cores=1`, '--conf', 'cluster=secret', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      // The test's own environment must not hand the script a secret.
      env: { ...process.env, KINDLING_SECRET: '' },
    });

  // Three fresh driver processes in a row (each `kindling run` starts Node, tsx and a cluster client), after an
  // executor's start: measured at load ~15 (session 16) 5 s + 25 s + 14 s + 3 s, so the 60 s default leaves no room
  // at load 30. Each run keeps its own 60 s bound (spawnSync's timeout).
  const CLI_RUNS_MS = 180_000;

  it(
    'kindling run --secret-file gives the script the secret; without it the executor refuses the driver',
    async () => {
      const e = executor(['--master', url(), '--cluster', 'secret', '--cores', '1', '--memory', '512m', '--secret-file', secretFile]);
      await e.waitFor('registered and ready');
      const ok = run('--secret-file', secretFile);
      expect(ok.stderr).toBe('');
      expect(JSON.parse(ok.stdout.trim().split('\n').pop()!)).toEqual({ rows: 200_000 });

      const refused = run();
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/could not be fetched from executor/);
      // spawnSync held this process's event loop: the executor's lines arrive now.
      await e.waitFor(/refused a connection from 127\.0\.0\.1:\d+: wrong or missing shared secret/, 10_000);

      const missing = run('--secret-file', path.join(dir, 'nope'));
      expect(missing.status).toBe(1);
      expect(missing.stderr.trim()).toMatch(/^kindling: --secret-file: ENOENT: no such file or directory/);
    },
    CLI_RUNS_MS,
  );

  it('the secret Context option, which the UI and event log never show', async () => {
    const e = executor(['--master', url(), '--cluster', 'secret2', '--cores', '1', '--memory', '512m', '--secret-file', secretFile]);
    await e.waitFor('registered and ready');
    const sc = new Context({ master: `${url()}?cores=1`, cluster: 'secret2', secret: 'the-cluster-secret', progress: false, ui: false });
    try {
      const rows = await sc
        .range(0, 2, 1, 2)
        .flatMap((p) => Array.from({ length: 100_000 }, (_, i) => `${p}-${i}`))
        .collect();
      expect(rows).toHaveLength(200_000);
      expect(JSON.stringify(sc.options)).not.toContain('the-cluster-secret');
    } finally {
      await sc.stop();
    }
  });
});
