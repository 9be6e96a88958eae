/**
 * Receivers that restart as Spark's (ReceiverSupervisor.restartReceiver): a socketTextStream whose connection is
 * refused, drops or ends connects again after its restart delay, and a fromAsyncIterable factory whose iterable
 * throws is called again; each restart is one `receiverError` event and one console line, and the stream runs on.
 *
 * What a socket receiver guarantees (at most once, as Spark's): every line it read from a connection is in exactly
 * one batch, in the order read, so of each connection the batches hold a prefix of the lines the server wrote;
 * the whole of it when the server ended the connection (FIN), since then every written line reaches the receiver.
 * Lines in flight when a connection is reset are lost, never read twice.
 */
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { ReceiverErrorEvent, StreamingContext } from 'kindling';
import { SeededRandom } from 'kindling/datagen';
import { collectBatches, manual as manualClock, stepUntilStopped, UNTIL, useStreamingContext } from './helpers.js';

/** A line server whose connections a test drives: it can stop listening and come back on the same port. */
class LineServer {
  readonly connections: net.Socket[] = [];
  #server: net.Server | undefined;
  port = 0;

  async listen(): Promise<void> {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      this.connections.push(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening (connections already made stay open until the test ends or resets them). */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Waits for connection number `i` (0-based) from the receiver. */
  async connection(i: number): Promise<net.Socket> {
    await vi.waitFor(() => expect(this.connections.length).toBeGreaterThan(i), UNTIL);
    return this.connections[i]!;
  }

  async dispose(): Promise<void> {
    for (const s of this.connections) s.destroy();
    await this.close();
  }
}

/** Writes lines honouring back pressure, as a well-behaved producer; resolves once the kernel took them all. */
async function writeLines(socket: net.Socket, lines: readonly string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 100) {
    const chunk = lines.slice(i, i + 100).join('\n') + '\n';
    if (!socket.write(chunk)) await new Promise<void>((r) => socket.once('drain', r));
  }
}

/**
 * A TCP port on loopback that takes no connection: a listener with a backlog of one in a worker thread whose event
 * loop is held (so nothing accepts), its accept queue filled by a few connections of its own. The kernel drops later
 * SYNs (and retries them for minutes), so a connection to it stays `connecting`, as one to a host that black-holes
 * SYN — without depending on routing, which a sandbox or CI machine may not have.
 */
async function blackHole(): Promise<{ port: number; dispose(): Promise<void> }> {
  const hold = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(new Int32Array(workerData), 0, 0);
     });`,
    { eval: true, workerData: hold.buffer },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  // Far more than the backlog: the first ones fill the accept queue, the rest already wait in SYN-SENT.
  const fillers = Array.from({ length: 8 }, () => net.connect(port, '127.0.0.1').on('error', () => undefined));
  await new Promise((resolve) => fillers[0]!.once('connect', resolve));
  return {
    port,
    async dispose() {
      for (const f of fillers) f.destroy();
      Atomics.store(hold, 0, 1);
      Atomics.notify(hold, 0);
      await worker.terminate();
    },
  };
}

/** Per kind, the handles open (timers, sockets); a timer of an earlier test may end meanwhile, so none may be added. */
function resources(): Record<string, number> {
  const n: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (r !== 'TTYWrap' && r !== 'Immediate') n[r] = (n[r] ?? 0) + 1;
  return n;
}

describe('receivers restart as Spark’s', () => {
  const { sc } = useStreamingContext();
  let warn: MockInstance<typeof console.warn>;
  let errors: ReceiverErrorEvent[];
  let off: () => void;
  const servers: LineServer[] = [];
  const contexts: StreamingContext[] = [];
  /** A StreamingContext on a manual clock, stopped after the test even when an expectation failed first. */
  const manual: typeof manualClock = (...args) => {
    const m = manualClock(...args);
    contexts.push(m.ssc);
    return m;
  };

  beforeEach(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    errors = [];
    off = sc().events.on('receiverError', (e) => void errors.push(e));
  });
  afterEach(async () => {
    off();
    warn.mockRestore();
    for (const ssc of contexts.splice(0)) await ssc.stop({ stopContext: false });
    for (const s of servers.splice(0)) await s.dispose();
  });

  const server = (): LineServer => {
    const s = new LineServer();
    servers.push(s);
    return s;
  };
  /** The console lines of receiver restarts. */
  const restartLines = () => warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('restarting the receiver'));

  it('socketTextStream started before its server: refused connections are reported and retried; lines flow once the server is up', async () => {
    // Before: the refused connection stopped the stream at the next batch ("the input failed: connect ECONNREFUSED").
    const srv = server();
    await srv.listen();
    const port = srv.port;
    await srv.close();
    const { ssc, tick } = manual(sc());
    const got = collectBatches(ssc.socketTextStream('127.0.0.1', port, { restartDelayMs: 20 }));
    await ssc.start();
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2), UNTIL);
    // Batches run meanwhile: the stream did not stop.
    await tick(2);
    expect(ssc.state).toBe('active');
    await srv.listen();
    const socket = await srv.connection(0);
    await writeLines(socket, ['a b a', 'b c']);
    await vi.waitFor(async () => {
      await tick();
      expect(got.flatMap(([, xs]) => xs)).toEqual(['a b a', 'b c']);
    }, UNTIL);
    await ssc.stop({ stopContext: false });
    expect(errors[0]).toMatchObject({
      type: 'receiverError',
      source: `socket-127.0.0.1:${port}`,
      message: `Error connecting to 127.0.0.1:${port}`,
      error: expect.stringContaining('ECONNREFUSED'),
      restartDelayMs: 20,
      restarts: 1,
    });
    expect(errors.map((e) => e.restarts)).toEqual(errors.map((_, i) => i + 1));
    // One console line per restart, naming the input, the delay and the error, as Spark's "Restarting receiver with delay 2000 ms: ...".
    const lines = restartLines();
    expect(lines).toHaveLength(errors.length);
    expect(lines[0]).toMatch(
      new RegExp(
        `^kindling: socket-127\\.0\\.0\\.1:${port}: restarting the receiver in 20 ms: Error connecting to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`,
      ),
    );
  });

  it.each(['end', 'reset'] as const)(
    'a connection that drops (%s) mid-stream is made again: of each connection the batches hold a prefix of what was written, once, in order',
    async (how) => {
      const srv = server();
      await srv.listen();
      const { ssc, clock } = manual(sc());
      const got = collectBatches(ssc.socketTextStream('127.0.0.1', srv.port, { restartDelayMs: 20, backpressure: { mode: 'block', maxRate: 150 } }));
      await ssc.start();
      // Batches keep being cut (150 lines each at most) while the connection drops and the server comes back.
      const stepping = setInterval(() => clock.advance(1000), 5);
      const first = Array.from({ length: 400 }, (_, i) => `first-${i}`);
      const second = Array.from({ length: 300 }, (_, i) => `second-${i}`);
      try {
        const c0 = await srv.connection(0);
        await writeLines(c0, first);
        // The server goes away: the receiver's attempts meanwhile are refused, and retried.
        if (how === 'end') c0.end();
        else c0.resetAndDestroy();
        await srv.close();
        await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2), UNTIL);
        await srv.listen();
        const c1 = await srv.connection(1);
        await writeLines(c1, second);
        c1.end();
        // Connection 2 is made once connection 1 ended: by then every line of it the receiver read is buffered.
        await srv.connection(2);
      } finally {
        clearInterval(stepping);
      }
      await ssc.stop({ graceful: true, stopContext: false });
      const lines = got.flatMap(([, xs]) => xs);
      const fromFirst = lines.filter((l) => l.startsWith('first-'));
      expect(lines).toEqual([...fromFirst, ...second]);
      expect(fromFirst).toEqual(first.slice(0, fromFirst.length));
      if (how === 'end') expect(fromFirst).toEqual(first);
      // Back pressure holds across the restarts: no batch took more than the rate limit (150/s over 1 s).
      expect(Math.max(...got.map(([, xs]) => xs.length))).toBeLessThanOrEqual(150);
      // A reset reaches a paused socket as an error or, when the kernel had the data already, as its end.
      if (how === 'end') expect(errors[0]).toMatchObject({ message: 'Socket data stream had no more data' });
      if (errors[0]!.error !== undefined)
        expect(errors[0]).toMatchObject({ message: 'Error receiving data', error: expect.stringContaining('ECONNRESET') });
      expect(errors.slice(1).some((e) => e.message.startsWith('Error connecting to'))).toBe(true);
      expect(restartLines()).toHaveLength(errors.length);
    },
  );

  it('a reset that cuts a line is not a line: the half written before the reset is never delivered; a last line ended cleanly is', async () => {
    // Before: Linux reads a reset that follows the data it cut at once (a server that crashes mid-write) as the end
    // of the stream, and readline delivered the half line ('c0-2:ha') as a line the server never wrote.
    const srv = server();
    await srv.listen();
    const connect = vi.spyOn(net, 'connect');
    try {
      const { ssc, tick } = manual(sc());
      const got = collectBatches(ssc.socketTextStream('127.0.0.1', srv.port, { restartDelayMs: 10 }));
      await ssc.start();
      const c0 = await srv.connection(0);
      const receiving = connect.mock.results[0]!.value as net.Socket;
      await vi.waitFor(() => expect(receiving.readyState).toBe('open'), UNTIL);
      c0.write('c0-0\nc0-1\nc0-2:ha');
      c0.resetAndDestroy();
      // A clean end whose last line has no newline (as `printf 'x' | nc -l`): delivered, as Spark's readLine.
      const c1 = await srv.connection(1);
      c1.end('c1-0\nc1-1');
      await srv.connection(2);
      await vi.waitFor(async () => {
        await tick();
        expect(got.flatMap(([, xs]) => xs)).toContain('c1-1');
      }, UNTIL);
      await ssc.stop({ graceful: true, stopContext: false });
      const lines = got.flatMap(([, xs]) => xs);
      const first = lines.filter((l) => l.startsWith('c0-'));
      expect(lines).toEqual([...first, 'c1-0', 'c1-1']);
      expect(first).toEqual(['c0-0', 'c0-1'].slice(0, first.length));
      expect(errors[0]).toMatchObject({ message: 'Error receiving data', error: expect.stringContaining('ECONNRESET') });
      expect(errors[1]).toMatchObject({ message: 'Socket data stream had no more data' });
    } finally {
      connect.mockRestore();
    }
  });

  it('fromAsyncIterable with a factory: an iterable that throws is made again after the delay (twice here), and the stream runs on', async () => {
    const { ssc, tick } = manual(sc());
    let made = 0;
    const boom = [new Error('boom 1'), new Error('boom 2')];
    async function* attempt(n: number) {
      if (n === 1) {
        yield* [0, 1];
        throw boom[0];
      }
      if (n === 2) {
        yield 2;
        throw boom[1];
      }
      yield* [3, 4, 5, 6];
    }
    const got = collectBatches(ssc.fromAsyncIterable(() => attempt(++made), { name: 'feed', restartDelayMs: 10 }));
    await ssc.start();
    await vi.waitFor(async () => {
      await tick();
      expect(got.flatMap(([, xs]) => xs)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    }, UNTIL);
    expect(ssc.state).toBe('active');
    await ssc.stop({ stopContext: false });
    // An iterable the factory made that ends is the end of the input: it is not made again.
    expect(made).toBe(3);
    expect(errors.map(({ source, message, error, restarts }) => ({ source, message, error, restarts }))).toEqual([
      { source: 'feed', message: 'Error receiving data', error: 'boom 1', restarts: 1 },
      { source: 'feed', message: 'Error receiving data', error: 'boom 2', restarts: 2 },
    ]);
    expect(restartLines()).toEqual([
      'kindling: feed: restarting the receiver in 10 ms: Error receiving data: boom 1',
      'kindling: feed: restarting the receiver in 10 ms: Error receiving data: boom 2',
    ]);
  });

  it('the context-wide receiverRestartDelay is the default delay; a factory that throws itself is restarted too', async () => {
    const { ssc, tick } = manual(sc(), 1000, { receiverRestartDelay: '15ms' });
    let made = 0;
    const got = collectBatches(
      ssc.fromAsyncIterable(() => {
        if (++made === 1) throw new Error('not ready');
        return (async function* () {
          yield 'ok';
        })();
      }),
    );
    await ssc.start();
    await vi.waitFor(async () => {
      await tick();
      expect(got.flatMap(([, xs]) => xs)).toEqual(['ok']);
    }, UNTIL);
    await ssc.stop({ stopContext: false });
    expect(errors).toMatchObject([{ message: 'Error receiving data', error: 'not ready', restartDelayMs: 15 }]);
  });

  it('a factory that returns something other than an async iterable fails the stream (a program error, not restarted)', async () => {
    const { ssc, clock } = manual(sc());
    collectBatches(ssc.fromAsyncIterable((() => [1, 2]) as unknown as () => AsyncIterable<number>, { name: 'bad' }));
    await ssc.start();
    expect((await stepUntilStopped(ssc, clock))?.message).toBe('bad: the function given to fromAsyncIterable returned object, not an async iterable');
    expect(errors).toEqual([]);
  });

  it.each([false, true])(
    'stop() (graceful: %s) while a receiver waits out its restart delay returns promptly, leaves no timer or socket, and keeps what was read',
    async (graceful) => {
      await sc().parallelize([1]).count();
      const before = resources();
      const srv = server();
      await srv.listen();
      const { ssc } = manual(sc());
      const got = collectBatches(ssc.socketTextStream('127.0.0.1', srv.port, { restartDelayMs: 600_000 }));
      await ssc.start();
      const c0 = await srv.connection(0);
      await writeLines(c0, ['x', 'y']);
      c0.end();
      await vi.waitFor(() => expect(errors).toHaveLength(1), UNTIL);
      const t0 = performance.now();
      await ssc.stop({ graceful, stopContext: false });
      // Generous for a loaded machine; the delay it cut short is ten minutes.
      expect(performance.now() - t0).toBeLessThan(10_000);
      await srv.dispose();
      // Closed handles go once the event loop has run their close callbacks; checked outside vi.waitFor, whose own
      // timers would count.
      const added = () => Object.entries(resources()).filter(([kind, n]) => n > (before[kind] ?? 0));
      for (let i = 0; i < 100 && added().length > 0; i++) await new Promise((r) => setImmediate(r));
      expect(added()).toEqual([]);
      // A graceful stop processes what the receiver read before the drop; a non-graceful one drops it (as today).
      expect(got.flatMap(([, xs]) => xs)).toEqual(graceful ? ['x', 'y'] : []);
      expect(srv.connections).toHaveLength(1);
    },
  );

  it.each([false, true])(
    'stop() (graceful: %s) while the socket is still connecting settles the receiver: the socket destroyed, no listener, timer or socket left',
    async (graceful) => {
      // Before: destroying a connecting socket emits neither 'connect' nor 'error', so the receiver's wait for
      // 'connect' never settled; its listeners stayed on the socket and the receiver's loop never ended.
      await sc().parallelize([1]).count();
      const hole = await blackHole();
      const before = resources();
      const connect = vi.spyOn(net, 'connect');
      try {
        const { ssc } = manual(sc());
        collectBatches(ssc.socketTextStream('127.0.0.1', hole.port, { restartDelayMs: 10 }));
        await ssc.start();
        await vi.waitFor(() => expect(connect).toHaveBeenCalled(), UNTIL);
        const socket = connect.mock.results[0]!.value as net.Socket;
        let connected = false;
        socket.on('connect', () => (connected = true));
        await ssc.stop({ graceful, stopContext: false });
        // Settled: the receiver's own wait took its listeners off (only this test's is left) once the socket closed.
        await vi.waitFor(() => expect({ destroyed: socket.destroyed, closed: socket.closed }).toEqual({ destroyed: true, closed: true }), UNTIL);
        for (let i = 0; i < 100 && socket.listenerCount('connect') > 1; i++) await new Promise((r) => setImmediate(r));
        expect({
          connected,
          connect: socket.listenerCount('connect'),
          error: socket.listenerCount('error'),
          close: socket.listenerCount('close'),
        }).toEqual({
          connected: false,
          connect: 1,
          error: 0,
          close: 0,
        });
        // A refused or dropped connection would have been a restart: the socket was still connecting.
        expect(errors).toEqual([]);
      } finally {
        connect.mockRestore();
        await hole.dispose();
      }
      const added = () => Object.entries(resources()).filter(([kind, n]) => n > (before[kind] ?? 0));
      for (let i = 0; i < 100 && added().length > 0; i++) await new Promise((r) => setImmediate(r));
      expect(added()).toEqual([]);
    },
  );

  it('random drops, resets and server downtimes (seeded): no line twice, per connection a prefix of what was written, all of it on a clean end', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rng = new SeededRandom(seed);
      const rnd = () => rng.nextFloat();
      const mode = (['block', 'buffer', 'drop'] as const)[seed % 3]!;
      const srv = server();
      await srv.listen();
      errors.length = 0;
      const { ssc, clock } = manual(sc());
      const submitted: number[] = [];
      const offSubmitted = sc().events.on('batchSubmitted', (e) => void submitted.push(e.sources[0]?.dropped ?? 0));
      const backpressure = mode === 'drop' ? { mode, maxBuffered: 40 } : mode === 'block' ? { mode, maxRate: 80 } : { mode, maxBuffered: 100 };
      const got = collectBatches(ssc.socketTextStream('127.0.0.1', srv.port, { restartDelayMs: 5 + Math.floor(rnd() * 20), backpressure }));
      await ssc.start();
      // Batches keep being cut while the server drops and comes back.
      const stepping = setInterval(() => clock.advance(1000), 5);
      const written: string[][] = [];
      const clean: boolean[] = [];
      try {
        const connections = 2 + Math.floor(rnd() * 3);
        for (let c = 0; c < connections; c++) {
          const socket = await srv.connection(c);
          const lines = Array.from({ length: 1 + Math.floor(rnd() * 300) }, (_, i) => `c${c}-${i}`);
          written.push(lines);
          // Drop mode counts what it discards, but cannot say which connection it came from: its connections end cleanly.
          const end = mode === 'drop' || rnd() < 0.5;
          clean.push(end);
          const cut = Math.floor(rnd() * lines.length);
          await writeLines(socket, lines.slice(0, cut));
          if (rnd() < 0.5) await new Promise((r) => setTimeout(r, rnd() * 30));
          await writeLines(socket, lines.slice(cut));
          if (end) socket.end();
          else socket.resetAndDestroy();
          if (rnd() < 0.5) {
            await srv.close();
            await new Promise((r) => setTimeout(r, rnd() * 60));
            await srv.listen();
          }
        }
        // The next connection is made only once the last one ended: every line the receiver read is buffered.
        await srv.connection(connections);
      } finally {
        clearInterval(stepping);
      }
      await ssc.stop({ graceful: true, stopContext: false });
      offSubmitted();
      await srv.dispose();
      const lines = got.flatMap(([, xs]) => xs);
      const label = { seed, mode, clean };
      expect({ ...label, twice: lines.length - new Set(lines).size }).toEqual({ ...label, twice: 0 });
      const dropped = submitted.reduce((a, b) => a + b, 0);
      const perConnection = written.map((_, c) => lines.filter((l) => l.startsWith(`c${c}-`)));
      // Across connections, in connection order.
      expect(lines).toEqual(perConnection.flat());
      if (mode === 'drop') {
        // Dropped records are counted: what the batches hold plus what was dropped is everything written, in order.
        expect({ ...label, n: lines.length + dropped }).toEqual({ ...label, n: written.flat().length });
        for (const [c, xs] of perConnection.entries()) expect(isSubsequence(xs, written[c]!)).toBe(true);
      } else {
        expect({ ...label, dropped }).toEqual({ ...label, dropped: 0 });
        for (const [c, xs] of perConnection.entries()) {
          expect({ ...label, c, xs }).toEqual({ ...label, c, xs: written[c]!.slice(0, clean[c] ? undefined : xs.length) });
        }
      }
      if (mode === 'block') expect(Math.max(...got.map(([, xs]) => xs.length))).toBeLessThanOrEqual(80);
      expect(errors.length).toBeGreaterThanOrEqual(written.length);
      expect(errors.map((e) => e.restarts)).toEqual(errors.map((_, i) => i + 1));
    }
  });
});

function isSubsequence<T>(xs: readonly T[], of: readonly T[]): boolean {
  let j = 0;
  for (const x of of) if (j < xs.length && xs[j] === x) j++;
  return j === xs.length;
}
