/**
 * Broadcast variables and accumulators belong to the context that created them. Each context numbers its own
 * from 0, and a function carries only that number to the workers, so a variable of context A used in a job of
 * context B would read (or add to) B's variable with the same number. That is refused when the function is
 * given to B, as a job over an RDD of another context is.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClosureError, Context, capture, taskContext } from 'kindling';

describe('shared variables of another context', () => {
  let a: Context;
  let b: Context;
  // Fresh contexts per test, so that both number their variables from 0.
  beforeEach(() => {
    a = new Context({ master: 'local', progress: false });
    b = new Context({ master: 'local[2]', progress: false });
  });
  afterEach(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it("a function that captures another context's broadcast is refused, naming it; the context keeps working", async () => {
    const fromA = a.broadcast('value of A');
    const fromB = b.broadcast('value of B');
    // Same number in each context: only the owner tells them apart.
    expect(fromA.id).toBe(fromB.id);
    const words = b.parallelize(['x', 'y'], 2);
    let error: unknown;
    try {
      words.map(capture({ fromA }, (w: string) => `${w}:${fromA.value}`));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClosureError);
    expect((error as ClosureError).identifier).toBe('fromA');
    expect((error as Error).message).toMatch(
      /map function of RDD \d+ \(map at shared-variables\.test\.ts:\d+\) captures 'fromA', broadcast \d+ of another context/,
    );

    // Its own broadcast reads its own value; A's broadcast still works in A.
    expect(await words.map(capture({ fromB }, (w: string) => `${w}:${fromB.value}`)).collect()).toEqual(['x:value of B', 'y:value of B']);
    expect(
      await a
        .parallelize([1], 1)
        .map(capture({ fromA }, () => fromA.value))
        .collect(),
    ).toEqual(['value of A']);
  });

  it('a foreign broadcast inside a helper function, or in an action, is refused too', async () => {
    const fromA = a.broadcast(10);
    const helper = capture({ fromA }, (x: number) => x + fromA.value);
    expect(() => b.parallelize([1], 1).map(capture({ helper }, (x: number) => helper(x)))).toThrow(
      /helper 'helper' of map function .* captures 'fromA', broadcast \d+ of another context/,
    );
    await expect(b.parallelize([1], 1).reduce(capture({ fromA }, (x: number, y: number) => x + y + fromA.value))).rejects.toThrow(
      /reduce function .* captures 'fromA', broadcast \d+ of another context/,
    );
  });

  it("a job that adds to another context's accumulator is refused, and neither accumulator changes", async () => {
    const countA = a.accumulator(0, 'A');
    const countB = b.accumulator(0, 'B');
    expect(countA.id).toBe(countB.id);
    await expect(b.parallelize([1, 2, 3], 2).foreach(capture({ countA }, () => countA.add(1)))).rejects.toThrow(
      /foreach function .* captures 'countA', accumulator \d+ of another context/,
    );
    expect(countA.value).toBe(0);
    expect(countB.value).toBe(0);
    await b.parallelize([1, 2, 3], 2).foreach(capture({ countB }, () => countB.add(1)));
    expect(countB.value).toBe(3);
    expect(countA.value).toBe(0);
  });

  it('a destroyed broadcast still gives its own error, in a new function and in a job built before destroy()', async () => {
    const gone = b.broadcast([1, 2]);
    const built = b.parallelize([0], 1).map(capture({ gone }, (i: number) => gone.value[i]));
    expect(await built.collect()).toEqual([1]);
    gone.destroy();
    expect(() => b.parallelize([0], 1).map(capture({ gone }, (i: number) => gone.value[i]))).toThrow(
      /broadcast \d+ was destroyed and cannot be used in a new job/,
    );
    await expect(built.map((x) => x).collect()).rejects.toThrow(/broadcast \d+ was destroyed/);
  });

  // Spark: "Attempted to use Broadcast(id) after it was destroyed (destroy at ...)"; unpersist() keeps it usable.
  it('reading .value on the driver after destroy() throws, naming the broadcast and where destroy() was called; unpersist() does not', async () => {
    const kept = b.broadcast(new Map([['k', 1]]));
    await b
      .parallelize(['k'], 1)
      .map(capture({ kept }, (k: string) => kept.value.get(k)))
      .collect();
    kept.unpersist();
    expect(kept.value.get('k')).toBe(1);
    expect(
      await b
        .parallelize(['k'], 1)
        .map(capture({ kept }, (k: string) => kept.value.get(k)))
        .collect(),
    ).toEqual([1]);
    kept.destroy();
    expect(kept.destroyed).toBe(true);
    expect(() => kept.value).toThrow(
      /attempted to read broadcast \d+\.value after it was destroyed \(destroy\(\) at shared-variables\.test\.ts:\d+\)/,
    );
    expect(() => kept.value).toThrow(/unpersist\(\)/);
    kept.destroy();
    kept.unpersist();
    expect(await b.parallelize([1, 2], 2).collect()).toEqual([1, 2]);
  });
});

// Spark's programming guide: "For accumulator updates performed inside actions only, Spark guarantees that each
// task's update to the accumulator will only be applied once, i.e. restarted tasks will not update the value",
// and tasks "cannot read its value. Only the driver program can read the accumulator's value".
describe('accumulators and broadcasts under retries, speculation and lost workers', () => {
  let sc: Context;
  beforeEach(() => {
    sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
  });
  afterEach(async () => {
    await sc.stop();
  });
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it('additions in an action count once per task when each first attempt fails after adding', async () => {
    const sum = sc.accumulator(0);
    const seen = sc.collectionAccumulator<number>();
    const distinct = sc.customAccumulator({
      zero: () => new Set<number>(),
      add: (s: Set<number>, v: number) => s.add(v),
      merge: (a: Set<number>, b: Set<number>) => new Set([...a, ...b]),
    });
    const task = taskContext; // an imported binding is renamed by vitest: a local const is what the function sees
    await sc.parallelize(range(12), 4).foreach(
      capture({ sum, seen, distinct, task }, (x: number) => {
        sum.add(x);
        seen.add(x);
        distinct.add(x % 5);
        if (task().attemptNumber === 0 && x % 3 === 2) throw new Error('first attempt fails after adding');
      }),
    );
    expect(sum.value).toBe(66);
    expect([...seen.value].sort((a, b) => a - b)).toEqual(range(12));
    expect([...distinct.value].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('a worker killed during the action: its tasks run again, their additions count once', async () => {
    const n = sc.accumulator(0);
    const running = sc.parallelize(range(40), 40).foreach(
      capture({ n }, () => {
        n.add(1);
        const t = Date.now();
        while (Date.now() - t < 25);
      }),
    );
    setTimeout(() => void sc.faults.killWorker(1), 150);
    await running;
    expect(n.value).toBe(40);
  });

  it('the losing copy of a speculated straggler does not count', async () => {
    await sc.stop();
    sc = new Context({
      master: 'local[2]',
      progress: false,
      hints: false,
      ui: false,
      speculation: { enabled: true, multiplier: 1.5, quantile: 0.5 },
    });
    const n = sc.accumulator(0);
    sc.faults.slowWorker(1, 1500);
    await sc.parallelize(range(8), 8).foreach(capture({ n }, () => n.add(1)));
    expect(n.value).toBe(8);
  });

  it('reading .value inside a task is refused (a task would see only its own additions), naming the accumulator', async () => {
    const n = sc.accumulator(5, 'five');
    const job = sc
      .parallelize([1], 1)
      .map(capture({ n }, () => n.value))
      .collect();
    await expect(job).rejects.toThrow(new RegExp(`accumulator ${n.id} cannot be read inside a task`));
    const list = sc.collectionAccumulator<number>();
    await expect(
      sc
        .parallelize([1], 1)
        .map(capture({ list }, () => list.value.length))
        .collect(),
    ).rejects.toThrow(/cannot be read inside a task/);
    expect(n.value).toBe(5);
    expect(await sc.parallelize([1, 2], 2).sum()).toBe(3);
  });

  it('a number accumulator refuses a string or a bigint, in a task and on the driver, rather than concatenate', async () => {
    // Before, adding '1', '2', '3' gave the string "001023" (0 + '1' in the task, then 0 + '01' on the driver ...).
    const n = sc.accumulator(0, 'total');
    await expect(sc.parallelize(['1', '2', '3'], 2).foreach(capture({ n }, (x: string) => n.add(x as never)))).rejects.toThrow(
      new RegExp(`accumulator ${n.id} adds numbers, got the string "[123]"`),
    );
    await expect(sc.parallelize([1n], 1).foreach(capture({ n }, (x: bigint) => n.add(x as never)))).rejects.toThrow(/adds numbers, got bigint/);
    expect(() => n.add('4' as never)).toThrow(/adds numbers, got the string "4"/);
    expect(n.value).toBe(0);
    await sc.parallelize([1, 2, 3], 2).foreach(capture({ n }, (x: number) => n.add(x)));
    expect(n.value).toBe(6);
  });

  it('a broadcast Map, typed array, nested object and Date arrive whole on every worker, also on a replaced one', async () => {
    const table = sc.broadcast({
      map: new Map([
        [1, 'a'],
        [2, 'b'],
      ]),
      floats: new Float64Array([0.5, 1.5]),
      nested: { deep: [1, { set: new Set(['x']) }] as const },
      when: new Date(86_400_000),
    });
    const probe = capture({ table }, (i: number) => {
      const v = table.value;
      return [v.map.get(1 + (i % 2)), v.floats instanceof Float64Array ? v.floats[i % 2] : -1, v.nested.deep[1].set.has('x'), v.when.getTime()];
    });
    const expected = range(8).map((i) => [i % 2 === 0 ? 'a' : 'b', i % 2 === 0 ? 0.5 : 1.5, true, 86_400_000]);
    expect(await sc.parallelize(range(8), 8).map(probe).collect()).toEqual(expected);
    await sc.faults.killWorker(0);
    expect(await sc.parallelize(range(8), 8).map(probe).collect()).toEqual(expected);
  });
});
