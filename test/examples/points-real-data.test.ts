/**
 * Logistic regression and k-means on points files as people have them rather than as the generator writes them:
 * CRLF, tabs, blank lines and runs of spaces read as the clean file; a file in another format (CSV, LIBSVM) or with
 * a point missing a feature fails naming the problem, where both examples ran on to NaN weights and centers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as runKMeans } from '../../examples/kmeans.js';
import { parsePoint, run as runLR } from '../../examples/logistic-regression.js';
import { readPoints } from '../../bench/baselines/logistic-regression.js';
import { useContext, useTempDir } from './helpers.js';

const POINTS: number[][] = Array.from({ length: 60 }, (_, i) => [
  i % 2 === 0 ? 1 : -1,
  (i % 7) - 3 + (i % 2),
  ((i * 5) % 11) / 3 - 1.5,
  (i % 3) * 0.25,
]);

describe('points examples on real-world-shaped files', () => {
  const ctx = useContext('memory');
  const tmp = useTempDir('points-real');

  it('CRLF, tabs, blank lines and runs of spaces give the results of the clean file', async () => {
    const clean = join(tmp(), 'clean.txt');
    const messy = join(tmp(), 'messy.txt');
    writeFileSync(clean, POINTS.map((p) => p.join(' ')).join('\n') + '\n');
    writeFileSync(messy, `\r\n${POINTS.map((p, i) => (i % 5 === 0 ? `  ${p.join('\t')}  \r\n\r\n` : `${p.join('   ')}\r\n`)).join('')}\t\r\n`);
    const options = { iterations: 3, step: 1, seed: 7, partitions: 4 };
    const a = (await runLR(ctx(), { ...options, input: clean })).summary;
    const b = (await runLR(ctx(), { ...options, input: messy })).summary;
    expect([b.points, b.dims]).toEqual([60, 3]);
    expect(b.weights).toEqual(a.weights);
    const ka = (await runKMeans(ctx(), { input: clean, k: 3, iterations: 3, partitions: 4 })).summary;
    const kb = (await runKMeans(ctx(), { input: messy, k: 3, iterations: 3, partitions: 4 })).summary;
    expect(kb).toEqual(ka);
  });

  it('a field that is not a number fails naming the line (a CSV or LIBSVM file)', async () => {
    expect(() => parsePoint('1,0.5,0.25')).toThrow(/not a point .*"1,0\.5,0\.25"/);
    expect(() => parsePoint('1 1:0.5 3:0.25')).toThrow(/"1 1:0\.5 3:0\.25"/);
    const csv = join(tmp(), 'points.csv');
    writeFileSync(csv, 'label,x,y\n1,0.5,0.25\n');
    // Both lines are bad; the error names the one whose task failed first (partitions run in parallel).
    await expect(runLR(ctx(), { input: csv, iterations: 1 })).rejects.toThrow(
      /not a point .*("label,x,y"[\s\S]*points\.csv, line 1\b|"1,0\.5,0\.25"[\s\S]*points\.csv, line 2\b)/,
    );
    // The plain programs of the COST benchmark refuse it too (they must do the work the example does).
    expect(() => readPoints(csv)).toThrow(/points\.csv: point 0 is not numbers: "label,x,y"/);
  });

  it('points of different lengths fail naming the lengths, instead of NaN weights and centers', async () => {
    const ragged = join(tmp(), 'ragged.txt');
    writeFileSync(ragged, `${POINTS.map((p, i) => (i === 40 ? p.slice(0, 3) : p).join(' ')).join('\n')}\n`);
    await expect(runLR(ctx(), { input: ragged, iterations: 1 })).rejects.toThrow(/3 to 4 numbers/);
    await expect(runKMeans(ctx(), { input: ragged, k: 3, iterations: 1 })).rejects.toThrow(/2 to 3 numbers/);
  });
});
