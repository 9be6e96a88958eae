/**
 * The data plane's connections: frames cut from a byte stream however it is split, large frames streamed with
 * back pressure, and the HMAC challenge on every connection (a peer without the shared secret is refused with a
 * log line and never served).
 */
import net from 'node:net';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { checkBind, FrameClient, FrameReader, hmac, startFrameServer, writeFrame } from '../../../src/exec/cluster/wire.js';
import { redisSkipReason, useRedisServer } from '../../streaming/redis-server.js';
import { useExecutors } from './helpers.js';

function frame(value: unknown): Buffer {
  const body = v8.serialize(value);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

describe('frames', () => {
  it('are cut from a stream split at every possible place', () => {
    const values = [{ a: 1 }, new Float64Array([1.5, 2.5]), 'x'.repeat(1000), [null, [1, 'two']]];
    const bytes = Buffer.concat(values.map(frame));
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const got: unknown[] = [];
      const reader = new FrameReader((v) => got.push(v));
      reader.push(bytes.subarray(0, cut));
      reader.push(bytes.subarray(cut));
      expect(got).toEqual(values);
    }
  });

  it('a 64 MiB answer arrives whole and right', async () => {
    const big = new Float64Array(8 * 2 ** 20).map((_, i) => i);
    const server = await startFrameServer(
      '127.0.0.1',
      0,
      undefined,
      async () => big,
      () => undefined,
    );
    const client = new FrameClient('127.0.0.1', server.port, undefined);
    try {
      const got = (await client.request({})) as Float64Array;
      expect(got.length).toBe(big.length);
      expect(got[big.length - 1]).toBe(big.length - 1);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe('large typed arrays are not copied', () => {
  /** A socket that keeps what is written to it, as written. */
  function capture(): { socket: net.Socket; chunks: Buffer[] } {
    const chunks: Buffer[] = [];
    const socket = {
      cork: () => undefined,
      uncork: () => undefined,
      write: (b: Buffer) => chunks.push(b) > 0,
      once: () => undefined,
      off: () => undefined,
    } as unknown as net.Socket;
    return { socket, chunks };
  }

  /** Equal contents, compared as bytes (an element-wise deep equality of a million numbers takes seconds). */
  const sameBytes = (x: ArrayBufferView, y: ArrayBufferView) =>
    Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)) && x.constructor === y.constructor;

  const columns = () => ({
    a: new Float64Array(2 ** 20).map((_, i) => i / 2),
    b: new Int32Array(100_000).map((_, i) => -i),
    small: new Float64Array([1, 2, 3]),
  });

  it('are written from their own memory and read back as aligned views onto one frame buffer', async () => {
    const sent = columns();
    const { socket, chunks } = capture();
    await writeFrame(socket, sent);
    // Sending: the arrays' own memory is handed to the socket, not a serialized copy of it.
    expect(chunks.some((c) => c.buffer === sent.a.buffer && c.byteLength === sent.a.byteLength)).toBe(true);
    expect(chunks.some((c) => c.buffer === sent.b.buffer && c.byteLength === sent.b.byteLength)).toBe(true);
    // Receiving as a socket's onread does: every read lands in the same reused buffer (transient).
    const bytes = Buffer.concat(chunks);
    const readBuffer = Buffer.alloc(65_536);
    const got: Array<ReturnType<typeof columns>> = [];
    const reader = new FrameReader((v) => got.push(v as ReturnType<typeof columns>));
    for (let at = 0; at < bytes.length; at += readBuffer.length) {
      const n = bytes.copy(readBuffer, 0, at, Math.min(bytes.length, at + readBuffer.length));
      reader.push(readBuffer.subarray(0, n), true);
    }
    expect(got).toHaveLength(1);
    const { a, b, small } = got[0]!;
    expect(sameBytes(a, sent.a)).toBe(true);
    expect(sameBytes(b, sent.b)).toBe(true);
    expect(small).toEqual(sent.small);
    // A copy would own an ArrayBuffer of exactly its size; views share the frame's, larger than either.
    // (Compared as booleans: a failing toBe would print two 8 MiB buffers.)
    expect(a.buffer === b.buffer).toBe(true);
    expect(a.buffer.byteLength).toBeGreaterThan(a.byteLength + b.byteLength);
    expect(a.byteOffset % 8).toBe(0);
    expect(b.byteOffset % 8).toBe(0);
    // The readBuffer is reused by the next read: what was received must not live in it.
    expect(a.buffer === readBuffer.buffer).toBe(false);
  });

  it('an answer over TCP arrives as views onto its frame, not copies', async () => {
    const server = await startFrameServer(
      '127.0.0.1',
      0,
      'secret',
      async () => columns(),
      () => undefined,
    );
    const client = new FrameClient('127.0.0.1', server.port, 'secret');
    try {
      const got = (await client.request({})) as ReturnType<typeof columns>;
      expect(sameBytes(got.a, columns().a)).toBe(true);
      expect(sameBytes(got.b, columns().b)).toBe(true);
      expect(got.a.buffer === got.b.buffer).toBe(true);
      expect(got.a.buffer.byteLength).toBeGreaterThan(got.a.byteLength + got.b.byteLength);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe('authentication', () => {
  it('binding a non-loopback address needs a secret', () => {
    expect(() => checkBind('0.0.0.0', undefined)).toThrow(/needs a shared secret/);
    expect(() => checkBind('10.1.2.3', '')).toThrow(/needs a shared secret/);
    expect(() => checkBind('10.1.2.3', 's3cret')).not.toThrow();
    expect(() => checkBind('127.0.0.1', undefined)).not.toThrow();
  });

  it('a client with the secret is served; a wrong or missing one is refused with a log line', async () => {
    const log: string[] = [];
    const server = await startFrameServer(
      '127.0.0.1',
      0,
      'right',
      async (r) => ({ echo: r.body }),
      (l) => log.push(l),
    );
    try {
      const good = new FrameClient('127.0.0.1', server.port, 'right');
      expect(await good.request('hi')).toEqual({ echo: 'hi' });
      good.close();
      for (const secret of ['wrong', undefined]) {
        const bad = new FrameClient('127.0.0.1', server.port, secret);
        await expect(bad.request('hi')).rejects.toThrow(/refused the connection \(wrong shared secret\?\)/);
      }
      expect(log).toEqual([
        expect.stringMatching(/^refused a connection from 127\.0\.0\.1:\d+: wrong or missing shared secret$/),
        expect.stringMatching(/^refused a connection from 127\.0\.0\.1:\d+: wrong or missing shared secret$/),
      ]);
    } finally {
      await server.close();
    }
  });

  it('a raw connection that answers the challenge with garbage is closed without a byte of service', async () => {
    const log: string[] = [];
    let served = 0;
    const server = await startFrameServer(
      '127.0.0.1',
      0,
      'right',
      async () => ++served,
      (l) => log.push(l),
    );
    try {
      const socket = net.connect(server.port, '127.0.0.1');
      const frames: unknown[] = [];
      const reader = new FrameReader((v) => frames.push(v));
      socket.on('data', (d) => reader.push(d));
      await new Promise((r) => socket.once('data', r));
      const nonce = Buffer.from((frames[0] as { nonce: Uint8Array }).nonce);
      socket.write(frame({ mac: hmac('guess', nonce) }));
      socket.write(frame({ id: 0, body: 'please' }));
      await new Promise((r) => socket.once('close', r));
      expect(served).toBe(0);
      expect(frames).toHaveLength(1);
      expect(log).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(redisSkipReason !== undefined)('a driver with another secret than its executor', () => {
  const url = useRedisServer();
  const executor = useExecutors();

  it('is refused when it fetches a large result: the executor logs the refusal, the job fails saying so', async () => {
    const { Context } = await import('kindling');
    const e = executor(['--master', url(), '--cluster', 'secrets', '--cores', '1', '--memory', '512m'], { KINDLING_SECRET: 'alpha' });
    await e.waitFor('registered and ready');
    const saved = process.env.KINDLING_SECRET;
    process.env.KINDLING_SECRET = 'gamma';
    const sc = new Context({ master: `${url()}?cores=1`, cluster: 'secrets', progress: false, ui: false, maxTaskFailures: 2 });
    if (saved === undefined) delete process.env.KINDLING_SECRET;
    else process.env.KINDLING_SECRET = saved;
    try {
      // Over 1 MiB: the result stays on the executor and the driver fetches it over TCP.
      const err = await sc
        .range(0, 400_000, 1, 1)
        .collect()
        .catch((x: unknown) => x as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        /could not be fetched from executor \d+: 127\.0\.0\.1:\d+ refused the connection \(wrong shared secret\?\)/,
      );
      await e.waitFor(/kindling executor \d+: refused a connection from 127\.0\.0\.1:\d+: wrong or missing shared secret/);
    } finally {
      await sc.stop();
    }
  });
});
