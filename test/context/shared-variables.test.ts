/**
 * Broadcast variables and accumulators belong to the context that created them. Each context numbers its own
 * from 0, and a function carries only that number to the workers, so a variable of context A used in a job of
 * context B would read (or add to) B's variable with the same number. That is refused when the function is
 * given to B, as a job over an RDD of another context is.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClosureError, Context, capture } from 'kindling';

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
});
