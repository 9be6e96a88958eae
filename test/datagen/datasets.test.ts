import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATAGEN_VERSION, ensureDataset, type DatasetName } from '../../src/datagen/datasets.js';
import { generateGraphEdges } from '../../src/datagen/graph.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kindling-datasets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureDataset', () => {
  it('writes each data set once, with its parameters in the name and a sidecar', async () => {
    const text = await ensureDataset('text', dir, { bytes: 100_000, seed: 3 });
    expect(basename(text)).toBe('text-bytes100000-vocabulary200000-seed3.txt');
    const sidecar = JSON.parse(await readFile(`${text}.json`, 'utf8'));
    expect(sidecar).toEqual({
      dataset: 'text',
      version: DATAGEN_VERSION,
      params: { bytes: 100_000, vocabulary: 200_000, seed: 3 },
    });
    const before = (await stat(text)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await ensureDataset('text', dir, { bytes: 100_000, seed: 3 })).toBe(text);
    expect((await stat(text)).mtimeMs).toBe(before);
  });

  it('keeps differently parameterised data sets side by side', async () => {
    const small = await ensureDataset('graph', dir, { nodes: 100, edges: 400, seed: 1 });
    const other = await ensureDataset('graph', dir, { nodes: 100, edges: 500, seed: 1 });
    expect(small).not.toBe(other);
    const lines = (await readFile(small, 'latin1')).trimEnd().split('\n');
    expect(lines).toHaveLength(400);
    const g = generateGraphEdges({ nodes: 100, edges: 400, seed: 1 });
    expect(lines[0]).toBe(`${g.src[0]} ${g.dst[0]}`);
    const points = await ensureDataset('points', dir, { count: 50, dims: 3 });
    expect(basename(points)).toBe('points-count50-dims3-seed42.txt');
    expect((await readFile(points, 'latin1')).trimEnd().split('\n')).toHaveLength(50);
  });

  it('regenerates when the sidecar is missing or stale', async () => {
    const path = await ensureDataset('points', dir, { count: 20, dims: 2, seed: 9 });
    const original = await readFile(path);
    await writeFile(path, 'truncated');
    await rm(`${path}.json`);
    expect(await ensureDataset('points', dir, { count: 20, dims: 2, seed: 9 })).toBe(path);
    expect((await readFile(path)).equals(original)).toBe(true);

    await writeFile(path, 'garbage');
    const sidecar = JSON.parse(await readFile(`${path}.json`, 'utf8'));
    await writeFile(`${path}.json`, JSON.stringify({ ...sidecar, version: DATAGEN_VERSION - 1 }));
    await ensureDataset('points', dir, { count: 20, dims: 2, seed: 9 });
    expect((await readFile(path)).equals(original)).toBe(true);
  });

  it('leaves no temporary files behind and rejects unknown names', async () => {
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expect(ensureDataset('nope' as DatasetName, dir)).rejects.toThrow(/unknown data set 'nope'/);
  });
});
