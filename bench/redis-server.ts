/** A private redis-server for a benchmark: a free loopback port, no persistence; `stop()` ends it. */
import { spawn } from 'node:child_process';
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
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => void server.kill('SIGTERM') };
}
