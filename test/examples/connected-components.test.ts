/**
 * Connected components example: the labels and iteration count equal the single-thread label propagation's, the
 * labels equal union-find's, on the generated graph and on a hand-made graph with several components of known
 * shape.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectedComponentsBaseline, unionFindComponents } from '../../bench/baselines/connected-components.js';
import { compareLabels, run } from '../../examples/connected-components.js';
import { graphInput } from '../../examples/pagerank.js';
import { DATA_DIR, ENGINES, useContext, useTempDir } from './helpers.js';

describe.each(ENGINES)('connected components example (%s engine)', (engine) => {
  const ctx = useContext(engine);
  const tmp = useTempDir('cc');

  it('generated graph: same labels and iterations as label propagation, same labels as union-find', async () => {
    const path = await graphInput({ small: true, dataDir: DATA_DIR });
    const { summary } = await run(ctx(), { input: path });
    const lp = connectedComponentsBaseline(path).summary;
    const uf = unionFindComponents(path).summary;
    expect(summary.converged).toBe(true);
    expect(summary.iterations).toBe(lp.iterations);
    expect(compareLabels(summary.labels, lp.labels)).toBeUndefined();
    expect(compareLabels(summary.labels, uf.labels)).toBeUndefined();
    expect([summary.vertices, summary.components, summary.largest]).toEqual([uf.vertices, uf.components, uf.largest]);
    expect(summary.vertices).toBe(2_000);
  });

  it('a graph with known components: a triangle, a long chain, a self loop, a reversed edge, comments', async () => {
    const path = join(tmp(), 'components.txt');
    const chain = Array.from({ length: 20 }, (_, i) => `${30 - i} ${29 - i}`); // 30-29, ..., 11-10
    const lines = ['# components', '0 1', '1 2', '2 0', ...chain, '5 5', '7 8', '100 40', '40\t41', '', '8 7'];
    writeFileSync(path, lines.join('\n') + '\n');
    const { summary, timings } = await run(ctx(), { input: path, partitions: 3 });
    const expected = new Map<number, number>();
    for (const v of [0, 1, 2]) expected.set(v, 0);
    for (let v = 10; v <= 30; v++) expected.set(v, 10);
    expected.set(5, 5);
    for (const v of [7, 8]) expected.set(v, 7);
    for (const v of [40, 41, 100]) expected.set(v, 40);
    expect(compareLabels(summary.labels, expected)).toBeUndefined();
    expect([summary.components, summary.largest, summary.vertices]).toEqual([5, 21, 30]);
    // Label 10 needs 20 hops to reach 30; one more iteration finds nothing to change.
    expect(summary.iterations).toBe(21);
    expect(summary.iterations).toBe(connectedComponentsBaseline(path).summary.iterations);
    expect(compareLabels(summary.labels, unionFindComponents(path).summary.labels)).toBeUndefined();
    expect(timings.at(-2)?.note).toBe('0 labels changed');
  });

  it("stops at maxIterations without converging, with the baseline's partial labels", async () => {
    const path = join(tmp(), 'chain.txt');
    writeFileSync(path, Array.from({ length: 10 }, (_, i) => `${i} ${i + 1}`).join('\n') + '\n');
    const { summary } = await run(ctx(), { input: path, maxIterations: 3 });
    const lp = connectedComponentsBaseline(path, 3).summary;
    expect(summary.converged).toBe(false);
    expect(summary.iterations).toBe(3);
    expect(compareLabels(summary.labels, lp.labels)).toBeUndefined();
    expect(summary.labels.get(10)).toBe(7);
  });
});
