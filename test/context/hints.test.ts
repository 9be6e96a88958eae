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
