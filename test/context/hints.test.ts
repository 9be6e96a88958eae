/** Recomputation hints name only what a user can act on, and say how to switch hints off. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { capture, Context } from 'kindling';

const contexts: Context[] = [];
function context(): Context {
  const sc = new Context({ master: 'local[2]', progress: false, hints: true });
  contexts.push(sc);
  return sc;
}
function hintsLogged(warn: { mock: { calls: unknown[][] } }): string[] {
  return warn.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith('kindling hint:'));
}
afterEach(async () => {
  vi.restoreAllMocks();
  for (const sc of contexts.splice(0)) await sc.stop();
});

describe('recomputation hints', () => {
  test('a second full job over an unpersisted input names the RDD and says how to turn hints off', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const dir = mkdtempSync(path.join(tmpdir(), 'kindling-hints-'));
    try {
      writeFileSync(path.join(dir, 'f.txt'), 'a\nb\n');
      const lines = context()
        .textFile(path.join(dir, 'f.txt'))
        .map((l) => l.toUpperCase());
      await lines.count();
      await lines.collect();
      expect(hintsLogged(warn)).toEqual([
        `kindling hint: ${lines.label} was computed 2 times; persist() it? (Hints are off with { hints: false } in the Context options.)`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('not for the sampling job of sortBy/sortByKey', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const sc = context();
    const words = sc.range(1000, undefined, 1, 4).map((i) => `w${i % 37}`);
    expect(await words.sortBy((w) => w).take(2)).toEqual(['w0', 'w0']);
    const counts = words.map((w) => [w, 1]).reduceByKey((a, b) => a + b);
    expect(await counts.sortByKey().first()).toEqual(['w0', 28]);
    expect(hintsLogged(warn)).toEqual([]);
  });

  test('not for first() or take() reading a few records before a full job', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const sc = context();
    const squares = sc.range(100, undefined, 1, 4).map((x) => x * x);
    expect(await squares.first()).toBe(0);
    expect(await squares.take(3)).toEqual([0, 1, 4]);
    expect(await squares.count()).toBe(100);
    expect(hintsLogged(warn)).toEqual([]);
  });

  test("the README's ten-line word count triggers none", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const dir = mkdtempSync(path.join(tmpdir(), 'kindling-hints-'));
    try {
      const corpus = path.join(dir, 'corpus.txt');
      writeFileSync(corpus, 'the cat sat on the mat\nthe dog ate the cat food\n'.repeat(50));
      const sc = context();
      const minLength = 3;
      const counts = sc
        .textFile(corpus)
        .flatMap((line) => line.split(' '))
        .filter(capture({ minLength }, (w) => w.length >= minLength))
        .map((w) => [w, 1])
        .reduceByKey((a, b) => a + b);
      expect((await counts.top(2, ([, n]) => n)).map(([, n]) => n)).toEqual([200, 100]);
      expect(hintsLogged(warn)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Spark's TaskSetManager: "Stage N contains a task of very large size (K KiB). The maximum recommended task size is
// 1000 KiB.", once per task set. Here the captured values travel with a stage's first task to every worker.
describe('large task warning', () => {
  // About 1.6 MB of doubles (estimated larger): over 1000 KiB, yet quick to clone on a loaded machine.
  const table = Array.from({ length: 200_000 }, (_, i) => i / 2);

  test.each(['memory', 'mapreduce'] as const)(
    'a stage whose functions capture a large Array warns once, naming the stage, the RDD and the variable (%s engine)',
    async (engine) => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const sc = new Context({ master: 'local[2]', engine, progress: false, hints: true });
      contexts.push(sc);
      const small = 3;
      const looked = sc.parallelize([0, 1, 2, 3, 4, 5], 6).map(capture({ table, small }, (i: number) => table[i]! * small));
      expect(await looked.collect()).toEqual([0, 1.5, 3, 4.5, 6, 7.5]);
      const logged = hintsLogged(warn);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(
        new RegExp(
          `^kindling hint: stage \\d+ \\(collect at ${looked.label.replace(/[()]/g, '\\$&')}\\) contains a task of very large size \\([\\d,]+ KiB\\); ` +
            `the maximum recommended task size is 1000 KiB\\. Its functions capture 'table' \\([\\d,]+ KiB\\) in ${looked.label.replace(/[()]/g, '\\$&')},`,
        ),
      );
      expect(logged[0]).not.toContain("'small'");
      expect(logged[0]).toContain('sc.broadcast(table)');
      expect(logged[0]).toContain('typed array');
      expect(logged[0]).toContain('hints: false');
    },
  );

  test("in an action's function and in a helper a function captures; a shuffle's map stage is named too", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const sc = context();
    await sc.parallelize([1, 2], 2).foreach(capture({ table }, (i: number) => void table[i]));
    const lookup = capture({ table }, (i: number) => table[i]!);
    const pairs = sc.parallelize([1, 2], 2).map(capture({ lookup }, (i: number) => [i % 2, lookup(i)] as [number, number]));
    await pairs.reduceByKey((a, b) => a + b).collect();
    const logged = hintsLogged(warn);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatch(
      /^kindling hint: stage \d+ \(foreach at RDD \d+ .*\) contains a task of very large size .* capture 'table' \([\d,]+ KiB\) in foreach at /,
    );
    expect(logged[1]).toMatch(
      new RegExp(`^kindling hint: stage \\d+ \\(shuffle \\d+ of RDD ${pairs.id} .* capture 'table' \\([\\d,]+ KiB\\) in RDD ${pairs.id} `),
    );
  });

  test('none for small captured values or a large broadcast, nor with hints: false', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const sc = context();
    const few = new Float64Array(1000);
    const big = sc.broadcast(new Float64Array(table));
    await sc
      .parallelize([1, 2], 2)
      .map(capture({ few, big }, (i: number) => few[i]! + big.value[i]!))
      .collect();
    const quiet = new Context({ master: 'local', progress: false, hints: false });
    contexts.push(quiet);
    await quiet
      .parallelize([1, 2], 2)
      .map(capture({ table }, (i: number) => table[i]!))
      .collect();
    expect(hintsLogged(warn)).toEqual([]);
  });
});

describe('context conveniences', () => {
  test('setLogLevel: ERROR silences hints, WARN shows them again; unknown levels are refused', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const sc = context();
    sc.setLogLevel('ERROR');
    const doubled = sc.range(10, undefined, 1, 2).map((x) => x * 2);
    await doubled.count();
    await doubled.count();
    expect(hintsLogged(warn)).toEqual([]);
    sc.setLogLevel('warn' as never);
    const tripled = sc.range(10, undefined, 1, 2).map((x) => x * 3);
    await tripled.count();
    await tripled.count();
    expect(hintsLogged(warn)).toHaveLength(1);
    expect(() => sc.setLogLevel('LOUD' as never)).toThrow(/unknown level 'LOUD'/);
  });

  test('version, appName and defaultParallelism', () => {
    const sc = new Context({ master: 'local[3]', progress: false, appName: 'my-app' });
    contexts.push(sc);
    expect(sc.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(sc.appName).toBe('my-app');
    expect(sc.defaultParallelism).toBe(3);
  });
});
