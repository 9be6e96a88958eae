/**
 * mapWithState against Spark's documented semantics (StateSpec, State): the function runs once per record with the
 * key's state, its returns are the stream, state can be updated or removed, idle keys time out with one last call,
 * an initial state seeds keys, snapshots show every key's state; and a property against a plain reference.
 */
import fc from 'fast-check';
import { capture, StateSpec, type State } from 'kindling';
import { describe, expect, it } from 'vitest';
import { collectBatches, manual, sortedPairs, useStreamingContext } from './helpers.js';

/** A running count per word, emitting [word, count so far] for every record. */
function runningCount(word: string, one: number | undefined, state: State<number>): [string, number] | undefined {
  if (state.isTimingOut()) return undefined;
  const n = (state.getOption() ?? 0) + (one ?? 0);
  state.update(n);
  return [word, n];
}

describe('mapWithState (manual clock)', () => {
  const { sc } = useStreamingContext();

  it('calls the function once per record with the state so far; snapshots hold every key, also those without data', async () => {
    const { ssc, tick } = manual(sc());
    const pairs = ssc.queueStream([['a', 'b', 'a'], ['a'], [], ['c']]).map((w): [string, number] => [w, 1]);
    const running = pairs.mapWithState(StateSpec.function(runningCount));
    const mapped = collectBatches(running);
    const snapshots = collectBatches(running.stateSnapshots());
    await ssc.start();
    await tick(4);
    await ssc.stop({ stopContext: false });
    // Two records of 'a' in one batch: two calls, the second sees the first's update.
    expect(mapped.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        1000,
        [
          ['a', 1],
          ['a', 2],
          ['b', 1],
        ],
      ],
      [2000, [['a', 3]]],
      [3000, []],
      [4000, [['c', 1]]],
    ]);
    expect(snapshots.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        1000,
        [
          ['a', 2],
          ['b', 1],
        ],
      ],
      [
        2000,
        [
          ['a', 3],
          ['b', 1],
        ],
      ],
      [
        3000,
        [
          ['a', 3],
          ['b', 1],
        ],
      ],
      [
        4000,
        [
          ['a', 3],
          ['b', 1],
          ['c', 1],
        ],
      ],
    ]);
  });

  it('remove() drops a key; a value returned as undefined emits nothing; the initial state seeds keys', async () => {
    const { ssc, tick } = manual(sc());
    const events = ssc.queueStream([['x+', 'y+'], ['x-'], ['x+', 'z+']]).map((e): [string, string] => [e[0]!, e[1]!]);
    const spec = StateSpec.function((key: string, op: string | undefined, state: State<number>): string | undefined => {
      if (op === '-') {
        state.remove();
        return `${key} removed`;
      }
      state.update((state.getOption() ?? 0) + 1);
      return state.get() > 1 ? `${key} seen ${state.get()} times` : undefined;
    })
      .initialState(sc().parallelize([['z', 10]] as [string, number][]))
      .numPartitions(3);
    const out = events.mapWithState(spec);
    const mapped = collectBatches(out);
    const snapshots = collectBatches(out.stateSnapshots());
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(mapped.map(([t, xs]) => [t, [...xs].sort()])).toEqual([
      [1000, []],
      [2000, ['x removed']],
      [3000, ['z seen 11 times']],
    ]);
    expect(snapshots.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual([
      [
        1000,
        [
          ['x', 1],
          ['y', 1],
          ['z', 10],
        ],
      ],
      [
        2000,
        [
          ['y', 1],
          ['z', 10],
        ],
      ],
      [
        3000,
        [
          ['x', 1],
          ['y', 1],
          ['z', 11],
        ],
      ],
    ]);
  });

  it('a key idle longer than the timeout gets one last call (isTimingOut, no value) and is removed; data keeps a key alive', async () => {
    const { ssc, tick } = manual(sc());
    // 'a' every batch; 'b' in batches 1 and 2 only; timeout 2 s: 'b' last had data at 2000, times out at 5000
    // (idle for more than 2 s, as Spark: last update < batch time - timeout).
    const q = [['a', 'b'], ['a', 'b'], ['a'], ['a'], ['a'], ['a']];
    const spec = StateSpec.function((key: string, v: number | undefined, state: State<number>): string => {
      if (state.isTimingOut()) {
        let refused = '';
        try {
          state.update(0);
        } catch (e) {
          refused = (e as Error).message;
        }
        return `${key} timed out at ${state.get()} (value ${String(v)}; ${refused})`;
      }
      state.update((state.getOption() ?? 0) + (v ?? 0));
      return `${key}=${state.get()}`;
    }).timeout('2s');
    const out = ssc
      .queueStream(q)
      .map((w): [string, number] => [w, 1])
      .mapWithState(spec);
    const mapped = collectBatches(out);
    const snapshots = collectBatches(out.stateSnapshots());
    await ssc.start();
    await tick(q.length);
    await ssc.stop({ stopContext: false });
    expect(mapped.map(([t, xs]) => [t, [...xs].sort()])).toEqual([
      [1000, ['a=1', 'b=1']],
      [2000, ['a=2', 'b=2']],
      [3000, ['a=3']],
      [4000, ['a=4']],
      [5000, ['a=5', 'b timed out at 2 (value undefined; mapWithState: State.update() on key "b", which is timing out)']],
      [6000, ['a=6']],
    ]);
    expect(snapshots.map(([t, xs]) => [t, sortedPairs(xs).map(([k]) => k)])).toEqual([
      [1000, ['a', 'b']],
      [2000, ['a', 'b']],
      [3000, ['a', 'b']],
      [4000, ['a', 'b']],
      [5000, ['a']],
      [6000, ['a']],
    ]);
  });

  it('State.get() on a key without state fails the batch, naming the key', async () => {
    const { ssc, tick } = manual(sc());
    ssc
      .queueStream([['k']])
      .map((w): [string, number] => [w, 1])
      .mapWithState(StateSpec.function((_k: string, _v: number | undefined, state: State<number>) => state.get()))
      .foreachRDD(async (rdd) => void (await rdd.collect()));
    await ssc.start();
    await expect(tick(1)).rejects.toThrow(/State\.get\(\) on key "k", which has no state/);
    await expect(ssc.awaitTermination()).rejects.toThrow(/which has no state/);
  });

  it.each([
    ['update() after remove()', 'update', /State\.update\(\) on key "k" after State\.remove\(\) in the same call/],
    ['a second remove()', 'remove', /State\.remove\(\) on key "k", removed already in the same call/],
  ])("%s in one call fails the batch, as Spark's State refuses it (IllegalArgumentException)", async (_name, then, message) => {
    // Before: update() after remove() kept the key with the new state, a second remove() passed.
    const { ssc, tick } = manual(sc());
    const out: unknown[] = [];
    ssc
      .queueStream([['k'], ['k']])
      .map((w): [string, number] => [w, 1])
      .mapWithState(
        StateSpec.function(
          capture({ then }, (_k: string, v: number | undefined, state: State<number>) => {
            if (!state.exists()) {
              state.update(v ?? 0);
              return 'created';
            }
            state.remove();
            if (then === 'update') state.update(9);
            else state.remove();
            return 'changed';
          }),
        ),
      )
      .foreachRDD(async (rdd) => void out.push(await rdd.collect()));
    await ssc.start();
    await tick(1);
    await expect(tick(1)).rejects.toThrow(message);
    await expect(ssc.awaitTermination()).rejects.toThrow(message);
    expect(out).toEqual([['created']]);
  });

  it('the state removed in one call may be created again by the next record of the same batch', async () => {
    const { ssc, tick } = manual(sc());
    const snapshots: [string, number][][] = [];
    const mapped = ssc
      .queueStream([['k', 'k', 'k']])
      .map((w): [string, number] => [w, 1])
      .mapWithState(
        StateSpec.function((_k: string, v: number | undefined, state: State<number>) => {
          const n = (state.getOption() ?? 0) + (v ?? 0);
          if (n === 2) state.remove();
          else state.update(n);
          return n;
        }),
      );
    mapped.stateSnapshots().foreachRDD(async (rdd) => void snapshots.push(await rdd.collect()));
    const got = collectBatches(mapped);
    await ssc.start();
    await tick(1);
    await ssc.stop({ stopContext: false });
    expect(got).toEqual([[1000, [1, 2, 1]]]);
    expect(snapshots).toEqual([[['k', 1]]]);
  });

  it('a StateSpec is checked at the call: a function using an undeclared name fails there', () => {
    const { ssc } = manual(sc());
    const limit = 3;
    const pairs = ssc.queueStream([['a']]).map((w): [string, number] => [w, 1]);
    expect(() => pairs.mapWithState(StateSpec.function((_k: string, v: number | undefined) => (v ?? 0) > limit))).toThrow(/limit/);
    expect(() => pairs.mapWithState(StateSpec.function(capture({ limit }, (_k: string, v: number | undefined) => (v ?? 0) > limit)))).not.toThrow();
    expect(() => (pairs as any).mapWithState((k: string) => k)).toThrow(/StateSpec/);
  });

  it('equals a plain per-record reference over random batches, with removals and a timeout, checkpointed (property)', async () => {
    const scenario = fc.record({
      batches: fc.array(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: -1, max: 5 })), { maxLength: 6 }), {
        minLength: 1,
        maxLength: 10,
      }),
      timeoutBatches: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ batches, timeoutBatches }) => {
        const interval = 100;
        // -1 removes the key; other values add; the stream emits [key, sum or 'removed' or 'timeout'].
        const fn = (key: string, v: number | undefined, state: State<number>): [string, number | string] => {
          if (state.isTimingOut()) return [key, `timeout ${state.get()}`];
          if (v === -1) {
            state.remove();
            return [key, 'removed'];
          }
          state.update((state.getOption() ?? 0) + (v ?? 0));
          return [key, state.get()];
        };
        // The reference: a Map of [state, last data time]; within a batch, a key's records in arrival order.
        const ref: Array<[number, Array<[string, number | string]>, Array<[string, number]>]> = [];
        const st = new Map<string, [number, number]>();
        batches.forEach((b, i) => {
          const now = (i + 1) * interval;
          const out: Array<[string, number | string]> = [];
          for (const [k, v] of b) {
            if (v === -1) {
              st.delete(k);
              out.push([k, 'removed']);
            } else {
              const n = (st.get(k)?.[0] ?? 0) + v;
              st.set(k, [n, now]);
              out.push([k, n]);
            }
          }
          if (timeoutBatches !== undefined) {
            for (const [k, [n, t]] of [...st]) {
              if (!b.some(([bk]) => bk === k) && t < now - timeoutBatches * interval) {
                st.delete(k);
                out.push([k, `timeout ${n}`]);
              }
            }
          }
          ref.push([now, out, [...st].map(([k, [n]]): [string, number] => [k, n])]);
        });
        const { ssc, tick } = manual(sc(), interval);
        let spec = StateSpec.function(fn).numPartitions(2);
        if (timeoutBatches !== undefined) spec = spec.timeout(timeoutBatches * interval);
        const out = ssc.queueStream<[string, number]>(batches.map((b) => [...b])).mapWithState(spec);
        out.checkpoint(2 * interval);
        const mapped = collectBatches(out);
        const snapshots = collectBatches(out.stateSnapshots());
        await ssc.start();
        await tick(batches.length);
        await ssc.stop({ stopContext: false });
        // Records of one key keep their order; across keys the engine does not fix one.
        const byKey = (xs: Array<[string, number | string]>) => {
          const m: Record<string, Array<number | string>> = {};
          for (const [k, v] of xs) (m[k] ??= []).push(v);
          return m;
        };
        expect(mapped.map(([t, xs]) => [t, byKey(xs)])).toEqual(ref.map(([t, xs]) => [t, byKey(xs)]));
        expect(snapshots.map(([t, xs]) => [t, sortedPairs(xs)])).toEqual(ref.map(([t, , s]) => [t, sortedPairs(s)]));
      }),
      { numRuns: 10 },
    );
  });
});
