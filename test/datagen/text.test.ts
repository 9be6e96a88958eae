import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WORDS_PER_LINE, MIN_WORDS_PER_LINE, generateText, textLines, wordForRank, writeTextCorpus } from '../../src/datagen/text.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kindling-text-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

describe('wordForRank', () => {
  it('gives distinct lowercase words, shorter for more frequent ranks', () => {
    const seen = new Set<string>();
    let previousLength = 0;
    let bad = 0;
    for (let r = 0; r < 200_000; r++) {
      const w = wordForRank(r);
      seen.add(w);
      if (w.length < previousLength || !/^[a-z]+$/.test(w)) bad++;
      previousLength = w.length;
    }
    expect(bad).toBe(0);
    expect(seen.size).toBe(200_000);
    expect(wordForRank(0)).toHaveLength(2);
    expect(wordForRank(199_999)).toHaveLength(6);
    expect(() => wordForRank(-1)).toThrow(RangeError);
  });
});

describe('writeTextCorpus', () => {
  it('is byte-identical for the same seed and differs for another seed', async () => {
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    const c = join(dir, 'c.txt');
    await writeTextCorpus(a, { bytes: 256 * 1024, seed: 5 });
    await writeTextCorpus(b, { bytes: 256 * 1024, seed: 5 });
    await writeTextCorpus(c, { bytes: 256 * 1024, seed: 6 });
    const [ba, bb, bc] = await Promise.all([readFile(a), readFile(b), readFile(c)]);
    expect(ba.equals(bb)).toBe(true);
    expect(ba.equals(bc)).toBe(false);
  });

  it('stops at the first line that reaches the requested size, across chunk boundaries', async () => {
    const path = join(dir, 'size.txt');
    const bytes = 5 * MiB + 17; // more than one 4 MiB chunk
    const written = await writeTextCorpus(path, { bytes, seed: 1 });
    const content = await readFile(path, 'latin1');
    expect((await stat(path)).size).toBe(written);
    expect(written).toBeGreaterThanOrEqual(bytes);
    const lastLine = content.slice(content.lastIndexOf('\n', content.length - 2) + 1);
    expect(written - lastLine.length).toBeLessThan(bytes);
    expect(content.endsWith('\n')).toBe(true);
  });

  it('writes an empty file for zero bytes and rejects a negative size', async () => {
    const path = join(dir, 'empty.txt');
    expect(await writeTextCorpus(path, { bytes: 0 })).toBe(0);
    expect((await stat(path)).size).toBe(0);
    await expect(writeTextCorpus(path, { bytes: -1 })).rejects.toThrow(RangeError);
  });

  it('matches textLines and generateText line for line', async () => {
    const path = join(dir, 'lines.txt');
    await writeTextCorpus(path, { bytes: 64 * 1024, seed: 9, vocabulary: 1000 });
    const sync = [...textLines({ bytes: 64 * 1024, seed: 9, vocabulary: 1000 })];
    const async: string[] = [];
    for await (const line of generateText({ bytes: 64 * 1024, seed: 9, vocabulary: 1000 })) async.push(line);
    expect(async).toEqual(sync);
    expect(await readFile(path, 'latin1')).toBe(`${sync.join('\n')}\n`);
  });
});

describe('text statistics (2 MiB sample)', () => {
  const counts = new Map<string, number>();
  const wordsPerLine: number[] = [];

  beforeAll(() => {
    for (const line of textLines({ bytes: 2 * MiB, seed: 2024 })) {
      const words = line.split(' ');
      wordsPerLine.push(words.length);
      for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  });

  it('has 5 to 15 words on every line, all of them seen', () => {
    expect(Math.min(...wordsPerLine)).toBe(MIN_WORDS_PER_LINE);
    expect(Math.max(...wordsPerLine)).toBe(MAX_WORDS_PER_LINE);
    expect([...counts.keys()].filter((w) => !/^[a-z]+$/.test(w))).toEqual([]);
  });

  it('follows Zipf: the log-log rank-frequency slope over the top 1000 ranks is about -1', () => {
    const top = [...counts.values()].sort((a, b) => b - a).slice(0, 1000);
    expect(top).toHaveLength(1000);
    const xs = top.map((_, i) => Math.log(i + 1));
    const ys = top.map((c) => Math.log(c));
    const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
    const my = ys.reduce((s, y) => s + y, 0) / ys.length;
    let num = 0;
    let den = 0;
    for (let i = 0; i < xs.length; i++) {
      num += (xs[i]! - mx) * (ys[i]! - my);
      den += (xs[i]! - mx) ** 2;
    }
    const slope = num / den;
    expect(slope).toBeGreaterThan(-1.15);
    expect(slope).toBeLessThan(-0.85);
  });

  it('makes the most frequent word the rank-0 word', () => {
    const [first] = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    expect(first?.[0]).toBe(wordForRank(0));
  });
});
