/**
 * The driver is a child process that gets SIGKILLed mid-stream, repeatedly, and restarted with the same checkpoint
 * folder: the Redis sink and the text files hold every input record exactly once, in order.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSkipReason, useRedisServer } from './redis-server.js';

describe.skipIf(redisSkipReason !== undefined)(`driver killed mid-stream${redisSkipReason ? ` (skipped: ${redisSkipReason})` : ''}`, () => {
  const url = useRedisServer();
  let redis: Redis;
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    redis = new Redis(url());
    dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-redis-kill-'));
  });
  afterAll(async () => {
    // A failed assertion must not leave a driver writing into the removed folder.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await redis?.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  function startDriver(): { child: ChildProcess; batches: () => number } {
    const child = spawn(process.execPath, ['test/fixtures/streaming-redis-job.mjs', url(), path.join(dir, 'ckpt'), path.join(dir, 'out', 'words')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let n = 0;
    child.stdout!.on('data', (d: Buffer) => {
      n += (d.toString().match(/^batch /gm) ?? []).length;
    });
    return { child, batches: () => n };
  }

  async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('SIGKILL at random points in 3 runs, then a clean run: every record exactly once in both sinks', async () => {
    const input = Array.from({ length: 1000 }, (_, i) => `w${i}`);
    const p = redis.pipeline();
    for (const w of input) p.xadd('in', '*', 'word', w);
    await p.exec();
    const killed: number[] = [];
    for (const waitBatches of [3, 5, 4]) {
      const { child, batches } = startDriver();
      await until(() => batches() >= waitBatches, `${waitBatches} batches`);
      // Land somewhere inside the next batch (reading, the sinks, the pause before the commit).
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 200)));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      killed.push(await redis.xlen('out'));
    }
    expect(killed[2]).toBeLessThan(input.length);
    const { child } = startDriver();
    await until(async () => (await redis.xlen('out')) >= input.length, 'all records in the sink');
    // A little longer: a duplicate written late would show up now.
    await new Promise((r) => setTimeout(r, 500));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const out = (await redis.xrange('out', '-', '+')) as [string, string[]][];
    expect(out.map(([, f]) => f[1])).toEqual(input);
    const outDir = path.join(dir, 'out');
    const folders = readdirSync(outDir).filter((f) => f.startsWith('words-') && existsSync(path.join(outDir, f, '_SUCCESS')));
    const lines = folders
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
      .flatMap((f) =>
        readdirSync(path.join(outDir, f))
          .filter((p) => p.startsWith('part-'))
          .sort()
          .flatMap((p) =>
            readFileSync(path.join(outDir, f, p), 'utf8')
              .split('\n')
              .filter(Boolean),
          ),
      );
    expect(lines).toEqual(input);
  });
});
