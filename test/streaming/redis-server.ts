/**
 * A private redis-server per test file, on a free loopback port, with no persistence. Where redis-server is not
 * installed the Redis tests skip locally (saying why) but fail under CI, which installs it (.ci/run).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { startRedis } from '../exec/cluster/helpers.js';

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

/** Starts redis-server in beforeAll, stops it in afterAll; returns its URL once started. */
export function useRedisServer(): () => string {
  let server: Awaited<ReturnType<typeof startRedis>> | undefined;
  beforeAll(async () => {
    if (!redisAvailable) throw new Error('redis-server is not installed, and CI is set: .ci/run installs it (apt-get install -y redis-server)');
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => server!.url;
}
