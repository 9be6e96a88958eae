/**
 * Sources (files, async iterables) and outputs (print, saveAsTextFiles, failures), plus one run on the wall clock.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Context, ManualClock, StreamingContext } from 'kindling';
import { collectBatches, manual, stepUntilStopped, UNTIL, useStreamingContext } from './helpers.js';

describe('sources and outputs', () => {
  const { sc, dir } = useStreamingContext();

  it('textFileStream reads only files that appear after the start, each once', async () => {
    const inbox = path.join(dir(), 'inbox');
    mkdirSync(inbox, { recursive: true });
    writeFileSync(path.join(inbox, 'old.txt'), 'before the start\n');
    const { ssc, tick } = manual(sc());
    const lines = collectBatches(ssc.textFileStream(inbox));
    await ssc.start();
    // Written under a hidden name, then renamed in: a half-written file is never listed.
    writeFileSync(path.join(inbox, '.a.tmp'), 'a1\na2\n');
    renameSync(path.join(inbox, '.a.tmp'), path.join(inbox, 'a.txt'));
    await tick();
    await tick();
    writeFileSync(path.join(inbox, 'b.txt'), 'b1\n');
    writeFileSync(path.join(inbox, '_SUCCESS'), '');
    await tick();
    await ssc.stop({ stopContext: false });
    expect(lines.map(([t, xs]) => [t, xs.sort()])).toEqual([
      [1000, ['a1', 'a2']],
      [2000, []],
      [3000, ['b1']],
    ]);
  });

  it('saveAsTextFiles writes one committed folder per batch and skips a batch already committed', async () => {
    const prefix = path.join(dir(), 'out', 'counts');
    mkdirSync(path.dirname(prefix), { recursive: true });
    // A replayed batch: the folder of batch 2000 exists from an earlier run, committed, with other content.
    mkdirSync(`${prefix}-2000.txt`, { recursive: true });
    writeFileSync(`${prefix}-2000.txt/part-00000`, 'from the first run\n');
    writeFileSync(`${prefix}-2000.txt/_SUCCESS`, '');
    const { ssc, tick } = manual(sc());
    ssc.queueStream([['a', 'b'], ['c'], ['d']]).saveAsTextFiles(prefix, 'txt');
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    const read = (ms: number) =>
      readdirSync(`${prefix}-${ms}.txt`)
        .filter((f) => f.startsWith('part-'))
        .flatMap((f) =>
          readFileSync(path.join(`${prefix}-${ms}.txt`, f), 'utf8')
            .split('\n')
            .filter(Boolean),
        )
        .sort();
    expect(read(1000)).toEqual(['a', 'b']);
    expect(read(2000)).toEqual(['from the first run']);
    expect(read(3000)).toEqual(['d']);
  });

  it('print(n) shows the first n elements of each batch under its time', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { ssc, tick } = manual(sc());
      ssc.queueStream([[1, 2, 3], [4]]).print(2);
      await ssc.start();
      await tick(2);
      await ssc.stop({ stopContext: false });
      const printed = log.mock.calls.map((c) => String(c[0]));
      expect(printed).toHaveLength(2);
      expect(printed[0]).toContain('Time: 1000 ms');
      expect(printed[0]!.split('\n').slice(3, 6)).toEqual(['1', '2', '...']);
      expect(printed[1]!.split('\n').slice(3, 5)).toEqual(['4', '']);
    } finally {
      log.mockRestore();
    }
  });

  it('a failing batch stops the stream and rejects awaitTermination with the job error', async () => {
    const { ssc, clock } = manual(sc());
    ssc
      .queueStream([[1], [0], [2]])
      .map((x) => {
        if (x === 0) throw new Error('zero is not allowed');
        return x;
      })
      .foreachRDD(async (rdd) => {
        await rdd.collect();
      });
    await ssc.start();
    clock.advance(3000);
    await expect(ssc.awaitTermination()).rejects.toThrow(/zero is not allowed/);
    expect(ssc.state).toBe('stopped');
  });

  it.each([false, true])(
    'stop() (graceful: %s) ends a generator held back by back pressure: its finally runs, nothing is left running',
    async (graceful) => {
      // Before: the pump left its loop without return(), so a generator suspended at a yield (holding a file or a
      // cursor) was never closed.
      await sc().parallelize([1]).count();
      // Per kind, how many handles are open; a timer of an earlier test may end meanwhile, so none may be added.
      const resources = () => {
        const n: Record<string, number> = {};
        for (const r of process.getActiveResourcesInfo()) if (r !== 'TTYWrap' && r !== 'Immediate') n[r] = (n[r] ?? 0) + 1;
        return n;
      };
      const before = resources();
      const { ssc, tick } = manual(sc());
      let pulled = 0;
      let closed = false;
      async function* produce() {
        try {
          for (let i = 0; ; i++) {
            pulled++;
            yield i;
          }
        } finally {
          closed = true;
        }
      }
      const got = collectBatches(ssc.fromAsyncIterable(produce(), { backpressure: { mode: 'block', maxRate: 10 } }));
      await ssc.start();
      await vi.waitFor(() => expect(pulled).toBe(10), UNTIL);
      await tick(1);
      await vi.waitFor(() => expect(pulled).toBe(20), UNTIL);
      expect(closed).toBe(false);
      await ssc.stop({ graceful, stopContext: false });
      await vi.waitFor(() => expect(closed).toBe(true), UNTIL);
      expect(got[0]).toEqual([1000, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
      const after = resources();
      for (const kind of Object.keys(after)) expect({ kind, n: after[kind] }).toEqual({ kind, n: Math.min(after[kind]!, before[kind] ?? 0) });
    },
  );

  it('an input whose producer fails stops the stream; awaitTermination names the input, with the error as cause', async () => {
    // Before: the rejection was the producer's bare error ("connect ECONNREFUSED 127.0.0.1:1", "producer broke").
    const { ssc, clock } = manual(sc());
    const broken = new Error('producer broke');
    async function* produce() {
      yield 1;
      throw broken;
    }
    collectBatches(ssc.fromAsyncIterable(produce(), { name: 'sensor' }));
    await ssc.start();
    // The failure is seen at the next cut: advance until the stream stops.
    const error = await stepUntilStopped(ssc, clock);
    expect(error?.message).toBe('sensor: the input failed: producer broke');
    expect(error?.cause).toBe(broken);
    expect(ssc.state).toBe('stopped');
  });

  it('fromAsyncIterable pulls no more than a batch takes (block), and a graceful stop processes what was received', async () => {
    const { ssc, tick } = manual(sc());
    let pulled = 0;
    async function* produce() {
      for (let i = 0; i < 250; i++) {
        pulled = i + 1;
        yield i;
      }
    }
    const it = ssc.fromAsyncIterable(produce(), { backpressure: { mode: 'block', maxRate: 100 } }).batches();
    await ssc.start();
    // 100/s over 1 s batches: the source holds at most one batch (100) and leaves the generator suspended.
    await vi.waitFor(() => expect(pulled).toBe(100), UNTIL);
    await new Promise((r) => setTimeout(r, 20));
    expect(pulled).toBe(100);
    await tick();
    await vi.waitFor(() => expect(pulled).toBe(200), UNTIL);
    await tick();
    await vi.waitFor(() => expect(pulled).toBe(250), UNTIL);
    await ssc.stop({ graceful: true, stopContext: false });
    const all: number[] = [];
    const sizes: number[] = [];
    for await (const b of it) {
      sizes.push(b.records.length);
      all.push(...b.records);
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect(all).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('runs on the wall clock: batches at multiples of the interval until stopped', async () => {
    const ssc = new StreamingContext(sc(), { batchInterval: '100ms' });
    let n = 0;
    const times: number[] = [];
    ssc.source<number>({ name: 'counter', start() {}, cut: () => ({ records: [n++] }), stop() {} }).foreachRDD(async (rdd, t) => {
      expect(await rdd.collect()).toEqual([t.id]);
      times.push(t.ms);
    });
    await ssc.start({ signal: AbortSignal.timeout(650) });
    expect(await ssc.awaitTermination({ timeout: '5s' })).toBe(true);
    expect(times.length).toBeGreaterThanOrEqual(3);
    for (const t of times) expect(t % 100).toBe(0);
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual(times.slice(1).map(() => 100));
  });

  it('stop({ stopContext: true }) during a running batch stops both contexts, and is not reported as a failure', async () => {
    const own = new Context({ master: 'local[1]', progress: false, hints: false });
    const clock = new ManualClock(0);
    const ssc = new StreamingContext(own, { batchInterval: 1000, clock });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    ssc.queueStream([[1, 2, 3]]).foreachRDD(async (rdd) => {
      started();
      // A job that runs until the context is stopped under it.
      await rdd
        .map((x) => {
          const end = Date.now() + 2000;
          while (Date.now() < end);
          return x;
        })
        .collect();
    });
    await ssc.start();
    clock.advance(1000);
    await running;
    await ssc.stop({ stopContext: true });
    expect(await ssc.awaitTermination()).toBe(true);
    expect(own.isStopped).toBe(true);
  });

  it('socketTextStream in block mode pauses the socket: the producer stalls, and lines arrive in order, none lost', async () => {
    const total = 1_000_000;
    let written = 0;
    let finished = false;
    const server = net.createServer((socket) => {
      // Writes as fast as TCP accepts, honouring write() === false like any well-behaved producer.
      const pump = () => {
        while (written < total) {
          let chunk = '';
          for (let i = 0; i < 1000; i++) chunk += `line-${String(written + i).padStart(12, '0')}\n`;
          written += 1000;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        finished = true;
        socket.end();
      };
      socket.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const { ssc, tick } = manual(sc());
      const got: string[] = [];
      const sizes: number[] = [];
      ssc.socketTextStream('127.0.0.1', port, { backpressure: { mode: 'block', maxRate: 1000 } }).foreachRDD(async (rdd) => {
        const lines = await rdd.collect();
        sizes.push(lines.length);
        got.push(...lines);
      });
      await ssc.start();
      await new Promise((r) => setTimeout(r, 500));
      const stalledAt = written;
      for (let i = 0; i < 3; i++) {
        // Time for the source to read one batch's worth; the producer keeps trying to write the rest.
        await new Promise((r) => setTimeout(r, 100));
        await tick();
      }
      await ssc.stop({ stopContext: false });
      // 20 MB offered; what the kernel's socket buffers and readline hold is a small fraction of it.
      expect(finished).toBe(false);
      expect(stalledAt).toBeLessThan(total / 4);
      // At most the rate limit per batch (1000/s x 1 s), and what arrived is the start of the sequence: in order, none lost.
      expect(sizes.every((n) => n <= 1000)).toBe(true);
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => `line-${String(i).padStart(12, '0')}`));
    } finally {
      server.close();
    }
  });
});
