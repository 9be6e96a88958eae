/**
 * Nothing depends on sharing one loopback: Redis and two executors each run in a network namespace of their own
 * (`ip netns`), joined by veth pairs on a bridge, with loopback left down inside them; the driver (this process)
 * reaches them only at their bridge addresses. Non-loopback binds need a shared secret, so every connection is
 * authenticated; Redis needs a password, which comes from the URL. A shuffle, a broadcast, a large result fetched
 * from an executor over TCP, and the mapreduce engine all run across the namespaces.
 *
 * Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): it skips, saying why, only when not root or when the kernel
 * refuses to create a namespace (an unprivileged container); anywhere else it runs (CI runs as root).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, Context } from 'kindling';
import { redisAvailable } from '../../streaming/redis-server.js';
import { BIN } from './helpers.js';

const tag = String(process.pid % 100_000);
const subnet = `10.213.${process.pid % 200}`;
const ns = (i: number) => `kindling-${tag}-${i}`;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why this machine cannot run the test (only: not root, or namespaces not permitted), or undefined. */
function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); run the suite as root, as CI does';
  try {
    // Everything the test does once, on a probe: some containers allow `netns add` but not the mounts of
    // `netns exec` or a veth pair.
    ip('netns', 'add', `kindling-probe-${tag}`);
    try {
      execFileSync('ip', ['netns', 'exec', `kindling-probe-${tag}`, 'true'], { stdio: ['ignore', 'pipe', 'pipe'] });
      ip('link', 'add', `kp${tag}a`, 'type', 'veth', 'peer', 'name', `kp${tag}b`);
      ip('link', 'del', `kp${tag}a`);
    } finally {
      ip('netns', 'del', `kindling-probe-${tag}`);
    }
    return undefined;
  } catch (e) {
    const why = String((e as { stderr?: string }).stderr ?? (e as Error).message);
    // Anything but a refusal (ip missing, a typo) must fail the test, not skip it.
    if (/Operation not permitted|Permission denied/i.test(why))
      return `ip netns add is not permitted here (${why.trim().split('\n')[0]}): an unprivileged container; run it with CAP_SYS_ADMIN and CAP_NET_ADMIN`;
    return undefined;
  }
}

const reason = redisAvailable ? skipReason() : 'redis-server is not installed (apt-get install -y redis-server)';

interface Proc {
  readonly child: ChildProcess;
  output: string;
  waitFor(text: string, timeoutMs: number): Promise<void>;
}

/** Runs a command inside namespace `name`. */
function inNamespace(name: string, command: string, args: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn('ip', ['netns', 'exec', name, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const p: Proc = {
    child,
    output: '',
    waitFor: (text, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${command} in ${name} did not print '${text}' in ${timeoutMs} ms:\n${p.output}`)),
          timeoutMs,
        );
        const check = () => {
          if (!p.output.includes(text)) return;
          clearTimeout(timer);
          resolve();
        };
        child.stdout!.on('data', check);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`${command} in ${name} exited with ${code}:\n${p.output}`));
        });
        check();
      }),
  };
  const add = (d: Buffer) => void (p.output += d.toString());
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  return p;
}

describe.skipIf(reason !== undefined)(`executors in separate network namespaces${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const bridge = `kbr${tag}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-netns-'));
  const secretFile = path.join(dir, 'secret');
  const secret = 'netns-test-secret-0123456789';
  const password = 'redis-pw-netns';
  const redisHost = `${subnet}.10`;
  const url = `redis://:${password}@${redisHost}:6379`;
  const procs: Proc[] = [];
  const namespaces: string[] = [];

  beforeAll(async () => {
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    // Namespace 0 holds Redis, 1 and 2 an executor each; loopback stays down in all of them.
    for (let i = 0; i < 3; i++) {
      const name = ns(i);
      ip('netns', 'add', name);
      namespaces.push(name);
      const outside = `kv${tag}-${i}`;
      const inside = `kp${tag}-${i}`;
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', name);
      ip('link', 'set', outside, 'master', bridge, 'up');
      ip('netns', 'exec', name, 'ip', 'addr', 'add', `${subnet}.${10 + i}/24`, 'dev', inside);
      ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up');
    }
    const redis = inNamespace(ns(0), 'redis-server', [
      '--bind',
      redisHost,
      '--port',
      '6379',
      '--requirepass',
      password,
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    procs.push(redis);
    await redis.waitFor('Ready to accept connections', 15_000);
    // SIGKILLed at the end, so they cannot remove their folders: each makes its own in `dir`, removed with it.
    const executors = [1, 2].map((i) =>
      inNamespace(ns(i), process.execPath, [
        BIN,
        'executor',
        '--local-dir',
        path.join(dir, `executor-${i}`),
        '--master',
        url,
        '--cluster',
        'netns',
        '--cores',
        '1',
        '--memory',
        '512m',
        '--host',
        `${subnet}.${10 + i}`,
        '--port',
        '7078',
        '--secret-file',
        secretFile,
      ]),
    );
    procs.push(...executors);
    await Promise.all(executors.map((e) => e.waitFor('registered and ready', 60_000)));
  });

  afterAll(async () => {
    for (const p of procs.reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGKILL');
      await exited;
    }
    // `ip netns exec` leaves the command as its child: kill what still runs in each namespace, then remove it.
    for (const name of namespaces) {
      try {
        const pids = ip('netns', 'pids', name).split('\n').filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already empty.
      }
      ip('netns', 'del', name);
    }
    ip('link', 'del', bridge);
    rmSync(dir, { recursive: true, force: true });
  });

  it('loopback is down where Redis and the executors run, and each namespace sees only its own address', () => {
    for (let i = 0; i < 3; i++) {
      // Down: nothing in there can reach 127.0.0.1, so everything must go over the veth addresses.
      expect(ip('netns', 'exec', ns(i), 'ip', '-o', 'link', 'show', 'lo')).not.toMatch(/<[^>]*\bUP\b/);
      expect(ip('netns', 'exec', ns(i), 'ip', '-o', '-4', 'addr', 'show')).toContain(`${subnet}.${10 + i}/24`);
    }
  });

  it('a driver reaches Redis and the executors at their veth addresses: shuffle, broadcast, large results, both engines', async () => {
    for (const engine of ['memory', 'mapreduce'] as const) {
      const sc = new Context({ master: url, cluster: 'netns', engine, secret, progress: false, ui: false, executorWaitMs: 20_000 });
      try {
        const execs = new Set<string>();
        sc.events.on('executorAdded', (e) => void execs.add(`${e.host}:${e.port}`));
        const offset = sc.broadcast(1000);
        const counts = await sc
          .range(0, 30_000, 1, 6)
          .map((x) => [x % 97, 1] as [number, number])
          .reduceByKey((a, b) => a + b, 4)
          .map(capture({ offset }, ([k, n]: [number, number]) => [k + offset.value, n] as [number, number]))
          .collect();
        expect(new Map(counts)).toEqual(new Map(Array.from({ length: 97 }, (_, k) => [k + 1000, Math.floor((30_000 - k - 1) / 97) + 1])));
        // Over 1 MiB per partition: fetched from the executor over TCP, across the bridge.
        const big = await sc
          .range(0, 2, 1, 2)
          .flatMap((p) => Array.from({ length: 100_000 }, (_, i) => `${p}-${i}`))
          .collect();
        expect(big).toHaveLength(200_000);
        expect(big.at(-1)).toBe('1-99999');
        expect([...execs].sort()).toEqual([`${subnet}.11:7078`, `${subnet}.12:7078`]);
      } finally {
        await sc.stop();
      }
    }
    for (const p of procs.slice(1)) expect(p.output).not.toMatch(/refused a connection/);
  });

  it('a driver with the wrong secret is refused by the executors and the refusal is logged', async () => {
    const sc = new Context({ master: url, cluster: 'netns', secret: 'wrong', progress: false, ui: false, executorWaitMs: 20_000 });
    try {
      const err = await sc
        .range(0, 2, 1, 2)
        .flatMap((p) => Array.from({ length: 100_000 }, (_, i) => `${p}-${i}`))
        .collect()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
    } finally {
      await sc.stop();
    }
    expect(procs.slice(1).some((p) => /refused a connection from 10\.213\.\d+\.1:\d+: wrong or missing shared secret/.test(p.output))).toBe(true);
  });
});
