import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_NOISE_STD, generatePoints, lrWeights, writePoints } from '../../src/datagen/points.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kindling-points-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generatePoints', () => {
  it('has the requested shape, ±1 labels and N(0, 1) features', () => {
    const p = generatePoints({ count: 20_000, dims: 10, seed: 4 });
    expect(p.count).toBe(20_000);
    expect(p.dims).toBe(10);
    expect(p.labels).toHaveLength(20_000);
    expect(p.features).toHaveLength(200_000);
    expect(p.labels.every((y) => y === 1 || y === -1)).toBe(true);
    const mean = p.features.reduce((s, x) => s + x, 0) / p.features.length;
    const variance = p.features.reduce((s, x) => s + x * x, 0) / p.features.length - mean ** 2;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });

  it('labels agree with sign(w·x) for at least 95% of the points, but not all', () => {
    const p = generatePoints({ count: 20_000, seed: 5 });
    expect(p.weights).toEqual(lrWeights(10));
    let agree = 0;
    for (let i = 0; i < p.count; i++) {
      let score = 0;
      for (let j = 0; j < p.dims; j++) score += p.weights[j]! * p.features[i * p.dims + j]!;
      if ((score >= 0 ? 1 : -1) === p.labels[i]) agree++;
    }
    expect(agree / p.count).toBeGreaterThanOrEqual(0.95);
    expect(agree).toBeLessThan(p.count); // the noise is real
    expect(LABEL_NOISE_STD).toBeGreaterThan(0);
  });

  it('documents its weights', () => {
    expect([...lrWeights(6)]).toEqual([1, -1.5, 2, -1, 1.5, -2]);
  });

  it('supports other dimensions and rejects invalid ones', () => {
    const p = generatePoints({ count: 10, dims: 3, seed: 1 });
    expect(p.features).toHaveLength(30);
    expect(generatePoints({ count: 0 }).labels).toHaveLength(0);
    expect(() => generatePoints({ count: 10, dims: 0 })).toThrow(RangeError);
    expect(() => generatePoints({ count: -1 })).toThrow(RangeError);
  });
});

describe('writePoints', () => {
  it('writes "label f1 ... fD" lines that parse back to exactly the generated doubles', async () => {
    const opts = { count: 5000, dims: 7, seed: 12 };
    const path = join(dir, 'p.txt');
    const size = await writePoints(path, opts);
    const text = await readFile(path, 'latin1');
    expect(text.length).toBe(size);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    const p = generatePoints(opts);
    let mismatches = 0;
    lines.forEach((line, i) => {
      const fields = line.split(' ').map(Number);
      if (fields.length !== 8 || fields[0] !== p.labels[i]) mismatches++;
      for (let j = 0; j < 7; j++) if (fields[j + 1] !== p.features[i * 7 + j]) mismatches++;
    });
    expect(mismatches).toBe(0);
    expect(lines[0]).toMatch(/^-?1( -?\d+\.\d{4}){7}$/);
    expect(text).not.toContain('-0.0000');
  });

  it('is byte-identical for the same seed and differs for another', async () => {
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    const c = join(dir, 'c.txt');
    await writePoints(a, { count: 3000, seed: 1 });
    await writePoints(b, { count: 3000, seed: 1 });
    await writePoints(c, { count: 3000, seed: 2 });
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
    expect((await readFile(a)).equals(await readFile(c))).toBe(false);
  });
});
