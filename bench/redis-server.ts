/** A private redis-server for a benchmark: a free loopback port, no persistence; `stop()` ends it. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  stop(): void;
}

export async function startRedis(): Promise<BenchRedis> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const server = await spawnRedisServer(port);
  // A benchmark that fails or is interrupted must not leave its server running.
  const stop = () => void server.kill('SIGTERM');
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      stop();
      process.exit(130);
    });
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

/**
 * A redis-server on `port` (loopback), resolved once it accepts connections; rejects if it exits first (a port
 * taken, say). No persistence, unless `aofDir`: an append-only file there, synced on every write, so that a restart
 * (even after SIGKILL) keeps every key.
 */
export async function spawnRedisServer(port: number, aofDir?: string): Promise<ChildProcess> {
  const persistence = aofDir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', aofDir];
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return server;
}
