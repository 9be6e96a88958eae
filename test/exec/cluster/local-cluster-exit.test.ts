/**
 * A script on local-cluster that exits while a job runs (process.exit, an uncaught error) leaves no redis-server
 * behind. The process's exit hook used to SIGKILL the shell around redis-server, which ended it before its trap
 * could end redis-server: the server outlived the script (found with a script that gave up on a hung job).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisSkipReason } from '../../streaming/redis-server.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(redisSkipReason !== undefined)('a script on local-cluster that exits mid-job', () => {
  it('leaves no redis-server running', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-lc-exit-'));
    try {
      const script = path.join(dir, 'driver.mjs');
      const dist = path.resolve(import.meta.dirname, '../../../dist/index.js');
      writeFileSync(
        script,
        `import { execFileSync } from 'node:child_process';
import { Context } from ${JSON.stringify(dist)};
const sc = new Context({ master: 'local-cluster[1]', progress: false, ui: false });
await sc.parallelize([1, 2], 2).collect();
const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm=']).toString().trim().split('\\n').map((l) => l.trim().split(/\\s+/));
const below = (pid) => table.filter((r) => Number(r[1]) === pid).map((r) => Number(r[0]));
const servers = below(process.pid).flatMap((p) => below(p)).filter((p) => table.some((r) => Number(r[0]) === p && r[2] === 'redis-server'));
console.log(JSON.stringify(servers));
sc.events.on('taskStart', () => process.exit(1));
void sc.range(0, 4, 1, 2).map((x) => { const end = Date.now() + 5000; while (Date.now() < end); return x; }).count();
`,
      );
      const driver = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      driver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => driver.once('exit', resolve));
      expect(code).toBe(1);
      const servers = JSON.parse(out.trim().split('\n')[0]!) as number[];
      expect(servers).toHaveLength(1);
      const deadline = Date.now() + 10_000;
      while (servers.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const left = servers.filter(alive);
      for (const pid of left) process.kill(pid, 'SIGKILL');
      expect(left).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('ended by SIGINT mid-job: its executors and redis-server end with it, none dies writing to it, no folder stays', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-lc-sigint-'));
    const localDir = path.join(dir, 'local');
    try {
      const script = path.join(dir, 'driver.mjs');
      const dist = path.resolve(import.meta.dirname, '../../../dist/index.js');
      writeFileSync(
        script,
        `import { execFileSync } from 'node:child_process';
import { Context } from ${JSON.stringify(dist)};
const sc = new Context({ master: 'local-cluster[2]', progress: false, ui: false, localDir: ${JSON.stringify(localDir)} });
await sc.parallelize([1, 2], 2).collect();
const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=']).toString().trim().split('\\n').map((l) => l.trim().split(/\\s+/).map(Number));
const below = (pid) => table.filter((r) => r[1] === pid).flatMap((r) => [r[0], ...below(r[0])]);
console.log(JSON.stringify(below(process.pid).filter((p) => p !== process.pid)));
let said = false;
sc.events.on('taskStart', () => { if (!said) console.log('running'); said = true; });
await sc.range(0, 400, 1, 4).map((x) => { const end = Date.now() + 100; while (Date.now() < end); return [x % 7, 1]; }).reduceByKey((a, b) => a + b).collect();
`,
      );
      const driver = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      driver.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('running') && !driver.killed) driver.kill('SIGINT');
      });
      driver.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => driver.once('exit', (_c, sig) => resolve(sig)));
      expect(signal).toBe('SIGINT');
      const children = JSON.parse(out.trim().split('\n')[0]!) as number[];
      expect(children.length).toBeGreaterThanOrEqual(4); // two executors, the shell, redis-server
      // Ended (a zombie waits only for its new parent to reap it) within a second.
      const running = (pid: number): boolean => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
        } catch {
          return false;
        }
      };
      const deadline = Date.now() + 1000;
      while (children.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const left = children.filter(running);
      for (const pid of left) process.kill(pid, 'SIGKILL');
      expect(left).toEqual([]);
      // Left running, the executors wrote to the dead driver's pipe and died of an unhandled EPIPE (on the terminal).
      await new Promise((r) => setTimeout(r, 1500));
      expect(err).not.toMatch(/EPIPE|Unhandled 'error' event/);
      expect(existsSync(localDir) ? readdirSync(localDir) : []).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
