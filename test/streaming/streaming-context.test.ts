/**
 * What Spark's StreamingContext checks at definition and start time, and what stop() and a failing batch leave
 * behind (Spark's StreamingContextSuite: "only one active context", "adding operations after start", "stop
 * before start", "awaitTermination with error in job generation").
 */
import { describe, expect, it, vi } from 'vitest';
import { IllegalStateError, ManualClock, type Source, StreamingContext, StreamingJobError } from 'kindling';
import { brokerSource, collectBatches, manual, useStreamingContext } from './helpers.js';

const { sc } = useStreamingContext('local[2]');

describe('StreamingContext: the graph is fixed at start()', () => {
  it('refuses new transformations, windows, inputs and outputs after start() and after stop(), naming them; the stream runs on', async () => {
    const { ssc, tick } = manual(sc());
    const nums = ssc.queueStream<number>([[1], [2], [3]]);
    const got = collectBatches(nums);
    await ssc.start();
    expect(() => nums.map((x) => x + 1)).toThrow(IllegalStateError);
    expect(() => nums.map((x) => x + 1)).toThrow(
      /^map: adding inputs, transformations or output operations after starting a StreamingContext is not supported/,
    );
    expect(() => nums.window(2000)).toThrow(/^window\(2000, 1000\): .*after starting/);
    expect(() => nums.print()).toThrow(/^print on queue-0: .*after starting/);
    expect(() => ssc.queueStream<number>([])).toThrow(/^source 'queue-1': .*after starting/);
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(() => nums.filter((x) => x > 0)).toThrow(/^filter: .*after stopping a StreamingContext/);
    expect(got).toEqual([
      [1000, [1]],
      [2000, [2]],
    ]);
  });

  it('allows one active StreamingContext per Context: a second start() fails, leaves it startable, and it starts once the first stops', async () => {
    const first = manual(sc());
    collectBatches(first.ssc.queueStream<number>([[1]]));
    const second = manual(sc());
    const got = collectBatches(second.ssc.queueStream<number>([[7]]));
    await first.ssc.start();
    await expect(second.ssc.start()).rejects.toThrow(
      /^start\(\): another StreamingContext \(batch interval 1000 ms\) is active on this Context; stop it first/,
    );
    expect(second.ssc.state).toBe('initialized');
    await first.tick(1);
    await first.ssc.stop({ stopContext: false });
    await second.ssc.start();
    await second.tick(1);
    await second.ssc.stop({ stopContext: false });
    expect(got).toEqual([[1000, [7]]]);
  });

  it('refuses reduceByWindow without its options object as a type error naming the call', () => {
    const { ssc } = manual(sc());
    const s = ssc.queueStream<number>([]);
    expect(() => s.reduceByWindow((a, b) => a + b, null as never)).toThrow(/^reduceByWindow expects options \{ window, slide\?, inverse\? \}$/);
  });
});

describe('StreamingContext: failures and stop', () => {
  it('a failing output rejects awaitTermination naming the batch and the output, runs no later batch, and leaves the Context usable', async () => {
    const { ssc, clock, tick } = manual(sc());
    const ran: number[] = [];
    const nums = ssc.queueStream<number>([[1], [2], [3], [4]]);
    nums.foreachRDD((_rdd, t) => {
      ran.push(t.ms);
    });
    nums.foreachRDD((_rdd, t) => {
      if (t.id === 1) throw new TypeError('no batch 1 here');
    });
    await ssc.start();
    await tick(1);
    clock.advance(3000);
    const error = await ssc.awaitTermination().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamingJobError);
    expect((error as Error).message).toBe("no batch 1 here (streaming batch 1 at 2000 ms, output 'foreachRDD on queue-0')");
    expect((error as StreamingJobError).batch).toEqual({ id: 1, ms: 2000 });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    expect(ssc.state).toBe('stopped');
    // As Spark's JobScheduler after reportError: the generator stops, batches 2000+ never run.
    expect(ran).toEqual([1000, 2000]);
    expect(await sc().parallelize([1, 2, 3]).count()).toBe(3);
  });

  it('a source whose stopReceiving() or stop() throws or rejects is logged by name; the stop completes and every other input still stops', async () => {
    const stopped: string[] = [];
    const failing = (name: string, how: 'throws' | 'rejects'): Source<number> => ({
      name,
      start() {},
      cut: () => ({ records: [] }),
      stopReceiving() {
        throw new Error(`${name} cannot stop receiving`);
      },
      stop() {
        stopped.push(name);
        if (how === 'throws') throw new Error(`${name} cannot stop`);
        return Promise.reject(new Error(`${name} cannot stop`));
      },
    });
    const calm: Source<number> = { ...brokerSource<number>([]), name: 'calm', stop: () => void stopped.push('calm') };
    const warned: string[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((m: unknown) => void warned.push(String(m)));
    try {
      for (const graceful of [false, true]) {
        stopped.length = 0;
        warned.length = 0;
        const { ssc, tick } = manual(sc());
        for (const s of [failing('thrower', 'throws'), failing('rejecter', 'rejects'), calm]) ssc.source(s).foreachRDD(() => {});
        await ssc.start();
        await tick(1);
        await ssc.stop({ graceful, stopContext: false });
        expect(ssc.getState()).toBe('STOPPED');
        await ssc.awaitTermination();
        expect(stopped).toEqual(['thrower', 'rejecter', 'calm']);
        expect(warned).toEqual([
          'kindling: thrower: stopping the input failed (the stream stops anyway): thrower cannot stop receiving',
          'kindling: rejecter: stopping the input failed (the stream stops anyway): rejecter cannot stop receiving',
          'kindling: thrower: stopping the input failed (the stream stops anyway): thrower cannot stop',
          'kindling: rejecter: stopping the input failed (the stream stops anyway): rejecter cannot stop',
        ]);
      }
    } finally {
      warn.mockRestore();
    }
    expect(await sc().parallelize([1, 2, 3]).count()).toBe(3);
  });

  it('stop() during a batch lets that batch finish and starts none of the queued ones', async () => {
    const clock = new ManualClock(0);
    const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    const finished: number[] = [];
    const running = new Promise<void>((entered) => {
      ssc.queueStream<number>([[1], [2], [3]]).foreachRDD(async (_rdd, t) => {
        started.push(t.ms);
        entered();
        await gate;
        finished.push(t.ms);
      });
    });
    await ssc.start();
    clock.advance(3000);
    await running;
    const stopped = ssc.stop({ stopContext: false });
    release();
    await stopped;
    expect([started, finished]).toEqual([[1000], [1000]]);
    expect(await ssc.awaitTermination({ timeout: 10 })).toBe(true);
  });

  it("awaitTermination with a timeout past Node's longest timer ('1000h') waits for the stop; it answered false after 1 ms", async () => {
    const { ssc } = manual(sc());
    ssc.queueStream<number>([[1]]).foreachRDD(() => undefined);
    await ssc.start();
    const waited = ssc.awaitTermination({ timeout: '1000h' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ssc.stop({ stopContext: false });
    expect(await waited).toBe(true);
  });
});
