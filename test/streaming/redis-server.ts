/**
 * A private redis-server per test file, on a free loopback port, with no persistence. Where redis-server is not
 * installed the Redis tests skip locally (saying why) but fail under CI, which installs it (.ci/run).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../src/exec/cluster/local-cluster.js';

function installed(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const redisAvailable = installed();
export const redisSkipReason =
  redisAvailable || process.env.CI ? undefined : 'redis-server is not installed (apt-get install -y redis-server); these tests run in CI';

function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise<ChildProcess>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start: ${out}`));
    }, 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
}

/** Starts redis-server in beforeAll, stops it in afterAll; returns its URL once started. */
export function useRedisServer(): () => string {
  let child: ChildProcess | undefined;
  let url: string | undefined;
  beforeAll(async () => {
    if (!redisAvailable) throw new Error('redis-server is not installed, and CI is set: .ci/run installs it (apt-get install -y redis-server)');
    // A port free a moment ago can be taken before redis-server binds it (a parallel test file, an outgoing
    // connection): then another port, not a failed file.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        child = await spawnRedis(port);
        url = `redis://127.0.0.1:${port}`;
        break;
      } catch (e) {
        if (attempt >= 5 || !String((e as Error).message).includes('Address already in use')) throw e;
      }
    }
  });
  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });
  return () => url!;
}
