/**
 * StreamingContext.getOrCreate (Spark's recoverable-program entry): a first run creates the context with the
 * function; a run on the same folder after a stop restores from the checkpoint (zero time, source positions, state
 * and windows) and goes on, batch by batch on manual clocks, against a plain fold over every batch of both runs.
 * The creating function runs on the restart too (kindling rebuilds the graph from code: docs/streaming.md).
 */
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { type CheckpointRecovery, ManualClock, StreamingContext } from 'kindling';
import { brokerSource, collectBatches, sortedPairs, tickBatches, useStreamingContext } from './helpers.js';

/** Word counts of a list of batches. */
function counts(batches: readonly string[][]): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const b of batches) for (const w of b) m.set(w, (m.get(w) ?? 0) + 1);
  return sortedPairs([...m]);
}

describe('StreamingContext.getOrCreate', () => {
  const { sc, dir } = useStreamingContext();

  it('restores state and windows on a restart: every batch equals an uninterrupted run, batch ids go on', async () => {
    const folder = path.join(dir(), 'wc');
    const log: string[] = [];
    const calls: boolean[] = [];
    let running: Array<[number, Array<[string, number]>]> = [];
    let windowed: Array<[number, Array<[string, number]>]> = [];
    const ids: number[] = [];
    const program =
      (clock: ManualClock) =>
      ({ restoring }: CheckpointRecovery): StreamingContext => {
        calls.push(restoring);
        const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
        const words = ssc.source(brokerSource(log)).map((w): [string, number] => [w, 1]);
        running = collectBatches(words.updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.length));
        windowed = collectBatches(
          words.reduceByKeyAndWindow(
            (a, b) => a + b,
            (a, b) => a - b,
            3000,
            1000,
            2,
            ([, n]) => n > 0,
          ),
        );
        words.foreachRDD((_rdd, t) => {
          ids.push(t.id);
        });
        return ssc;
      };
    const batches: string[][] = Array.from({ length: 16 }, (_, i) => (i % 5 === 3 ? [] : ['a', 'b', 'a', 'c', 'b', 'a'].slice(0, (i % 6) + 1)));

    // First run: 12 batches (a state and window checkpoint at 10 s, Spark's default interval), then a stop.
    const clock1 = new ManualClock(0);
    const first = StreamingContext.getOrCreate(folder, program(clock1));
    await first.start();
    for (let i = 0; i < 12; i++) {
      log.push(...batches[i]!);
      await tickBatches(first, clock1, 1);
    }
    await first.stop({ stopContext: false });
    const run1 = { running, windowed };

    // Second run on the same folder, the clock where the first stopped: the windows span the restart.
    const clock2 = new ManualClock(12_000);
    const second = StreamingContext.getOrCreate(folder, program(clock2));
    await second.start();
    for (let i = 12; i < 16; i++) {
      log.push(...batches[i]!);
      await tickBatches(second, clock2, 1);
    }
    await second.stop({ stopContext: false });

    expect(calls).toEqual([false, true]);
    expect(ids).toEqual(Array.from({ length: 16 }, (_, i) => i));
    const all = [...run1.running, ...running].map(([t, xs]) => [t, sortedPairs(xs)]);
    expect(all).toEqual(batches.map((_, i) => [(i + 1) * 1000, counts(batches.slice(0, i + 1))]));
    const windows = [...run1.windowed, ...windowed].map(([t, xs]) => [t, sortedPairs(xs)]);
    expect(windows).toEqual(batches.map((_, i) => [(i + 1) * 1000, counts(batches.slice(Math.max(0, i - 2), i + 1))]));
  });

  it('a restart after down time skips the batches the driver missed, and the state goes on from where it was', async () => {
    const folder = path.join(dir(), 'down');
    const log: string[] = [];
    let running: Array<[number, Array<[string, number]>]> = [];
    const program = (clock: ManualClock) => () => {
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
      running = collectBatches(
        ssc
          .source(brokerSource(log))
          .map((w): [string, number] => [w, 1])
          .updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.length),
      );
      return ssc;
    };
    const clock1 = new ManualClock(0);
    const first = StreamingContext.getOrCreate(folder, program(clock1));
    await first.start();
    log.push('x', 'y');
    await tickBatches(first, clock1, 1);
    log.push('x');
    await tickBatches(first, clock1, 1);
    await first.stop({ stopContext: false });
    // Written while the driver was down: read by the first batch after the restart.
    log.push('x', 'z');
    const clock2 = new ManualClock(30_000);
    const second = StreamingContext.getOrCreate(folder, program(clock2));
    await second.start();
    await tickBatches(second, clock2, 1);
    await second.stop({ stopContext: false });
    expect(running.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        31_000,
        [
          ['x', 3],
          ['y', 1],
          ['z', 1],
        ],
      ],
    ]);
  });

  it("after a restart, slice reaches the earlier run's remembered batches of a replayable source (read back from their ranges)", async () => {
    const folder = path.join(dir(), 'remember');
    const log: string[] = [];
    const sliced: string[][][] = [];
    const program = (clock: ManualClock) => () => {
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
      ssc.remember('3s');
      const words = ssc.source(brokerSource(log)).map((w) => w.toUpperCase());
      words.foreachRDD(async (_rdd, t) => {
        sliced.push(await Promise.all(words.slice(t.ms - 2000, t.ms).map((r) => r.collect())));
      });
      return ssc;
    };
    const clock1 = new ManualClock(0);
    const first = StreamingContext.getOrCreate(folder, program(clock1));
    await first.start();
    for (const w of ['a', 'b', 'c']) {
      log.push(w);
      await tickBatches(first, clock1, 1);
    }
    await first.stop({ stopContext: false });
    const clock2 = new ManualClock(3000);
    const second = StreamingContext.getOrCreate(folder, program(clock2));
    await second.start();
    log.push('d');
    await tickBatches(second, clock2, 1);
    await second.stop({ stopContext: false });
    expect(sliced.at(-1)).toEqual([['B'], ['C'], ['D']]);
  });

  it('refuses to restore a checkpoint into another program, naming the first stream that differs', async () => {
    const folder = path.join(dir(), 'changed');
    const clock1 = new ManualClock(0);
    const first = StreamingContext.getOrCreate(folder, () => {
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock: clock1 });
      collectBatches(ssc.queueStream<string>([['a']]).map((w): [string, number] => [w, 1]));
      return ssc;
    });
    await first.start();
    await tickBatches(first, clock1, 1);
    await first.stop({ stopContext: false });
    const changed = StreamingContext.getOrCreate(folder, () => {
      const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock: new ManualClock(1000) });
      collectBatches(ssc.queueStream<string>([['a']]).filter((w) => w !== ''));
      return ssc;
    });
    await expect(changed.start()).rejects.toThrow(
      /^getOrCreate: checkpoint .*changed was written by another program: its stream 1 was 'map', this program's is 'filter' \(2 streams then, 2 now\)/,
    );
    expect(changed.getState()).toBe('STOPPED');
  });

  it('refuses another program on a checkpoint folder without getOrCreate too (the checkpoint option, run again)', async () => {
    const checkpoint = path.join(dir(), 'changed-plain');
    const clock1 = new ManualClock(0);
    const run1 = new StreamingContext(sc(), { batchInterval: 1000, clock: clock1, checkpoint });
    collectBatches(run1.queueStream<string>([['a']]).map((w): [string, number] => [w, 1]));
    await run1.start();
    await tickBatches(run1, clock1, 1);
    await run1.stop({ stopContext: false });
    const changed = new StreamingContext(sc(), { batchInterval: 1000, clock: new ManualClock(1000), checkpoint });
    collectBatches(changed.queueStream<string>([['a']]).filter((w) => w !== ''));
    // Stopped whatever happens: a context left running would keep the next spec's from starting.
    onTestFinished(() => changed.stop({ stopContext: false }));
    await expect(changed.start()).rejects.toThrow(
      /^start\(\): checkpoint .*changed-plain was written by another program: its stream 1 was 'map', this program's is 'filter'/,
    );
  });

  it("sets the folder as the context's checkpoint, and refuses a creating function that returns no fresh context or sets another folder", () => {
    const folder = path.join(dir(), 'args');
    expect(() => StreamingContext.getOrCreate(folder, () => 42 as never)).toThrow(
      /^getOrCreate: the creating function returned 42, not a StreamingContext/,
    );
    expect(() =>
      StreamingContext.getOrCreate(folder, () => new StreamingContext(sc(), { batchInterval: 1000, checkpoint: path.join(dir(), 'elsewhere') })),
    ).toThrow(/set another checkpoint folder/);
    const same = StreamingContext.getOrCreate(folder, ({ checkpointPath }) => {
      const ssc = new StreamingContext(sc(), { batchInterval: 1000 });
      ssc.checkpoint(checkpointPath);
      return ssc;
    });
    expect(same.getState()).toBe('INITIALIZED');
    expect(() => StreamingContext.getOrCreate('', () => same)).toThrow(/expects a checkpoint folder path/);
  });
  it('a source that cannot replay is named on restart, and what misses its records: windows only when the state came back whole', async () => {
    const log: string[] = [];
    const run = async (folder: string, stateCheckpoint: boolean, startMs: number, batches: string[]): Promise<string[]> => {
      const clock = new ManualClock(startMs);
      // The broker's positions are recorded, but without `replay` its batches cannot be read again.
      const { replay: _, ...source } = brokerSource(log);
      const ssc = StreamingContext.getOrCreate(folder, () => {
        const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
        const words = ssc.source(source).map((w): [string, number] => [w, 1]);
        const state = words.updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.length);
        collectBatches(stateCheckpoint ? state.checkpoint(1000) : state);
        collectBatches(words.window(3000, 1000).count());
        return ssc;
      });
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      try {
        await ssc.start();
        for (const b of batches) {
          log.push(b);
          await tickBatches(ssc, clock, 1);
        }
        await ssc.stop({ stopContext: false });
        return warn.mock.calls.map((c) => String(c[0])).filter((w) => w.includes('cannot replay'));
      } finally {
        warn.mockRestore();
      }
    };
    const whole = path.join(dir(), 'no-replay-whole');
    expect(await run(whole, true, 0, ['a', 'b', 'a'])).toEqual([]);
    // The window reaches back into the first run's batches (what it remembers); the state's checkpoint at 3 s has all three.
    expect(await run(whole, true, 3000, ['c'])).toEqual([
      "kindling: source 'broker' cannot replay batch 0; windows and slice() after a restart miss its records",
      "kindling: source 'broker' cannot replay batch 1; windows and slice() after a restart miss its records",
      "kindling: source 'broker' cannot replay batch 2; windows and slice() after a restart miss its records",
    ]);
    const chained = path.join(dir(), 'no-replay-chained');
    expect(await run(chained, false, 0, ['a', 'b', 'a'])).toEqual([]);
    // No state checkpoint was written: the state chains through every batch, which the queue cannot give back.
    expect((await run(chained, false, 3000, ['c'])).every((w) => w.endsWith('windows, slice() and state after a restart miss its records'))).toBe(
      true,
    );
  });
});
