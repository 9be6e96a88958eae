import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runRecorded } from './recorded-run.js';

// A COST run's process is the user's program of one workload: what it loads for the others is start-up that no such
// program pays (until session 42 the word count's process loaded the PageRank, logistic regression and k-means
// examples and their baselines through tsx, ~0.1-0.2 s of each cold run).

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-cost-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The programs of the workloads other than a word count, on either side. */
const otherPrograms = (modules: readonly string[]): string[] =>
  modules.filter((m) =>
    /^examples\/(pagerank|logistic-regression|kmeans|common)\.ts$|^bench\/baselines\/(pagerank|logistic-regression|kmeans)\.ts$/.test(m),
  );

describe('bench/cost-run*.ts: a COST process loads the program of its own workload only', () => {
  it('the kindling side of a word count loads no example or baseline of another workload', () => {
    const { stdout, modules } = runRecorded(dir, 'bench/cost-run.ts', ['kindling', 'wordcount', '--small']);
    expect(modules).toContain('bench/cost-run.ts');
    expect(otherPrograms(modules)).toEqual([]);
    expect(stdout).toMatch(/^RESULT \{"distinct":\d+/m);
  }, 60_000);

  it('the plain side of a word count loads no baseline of another workload', () => {
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, 'a b c a\n');
    for (const side of ['plain', 'scan']) {
      const { modules } = runRecorded(dir, 'bench/cost-run-plain.ts', [side, 'wordcount', text]);
      expect(modules).toContain(side === 'scan' ? 'bench/baselines/wordcount-scan.ts' : 'bench/baselines/wordcount.ts');
      expect(otherPrograms(modules)).toEqual([]);
    }
  }, 60_000);

  it('the recorder sees a program of another workload when one is loaded (so the checks above can fail)', () => {
    const points = path.join(dir, 'points.txt');
    writeFileSync(points, ['1 0.5 -1.25', '0 -0.5 2', '1 1.5 0.25', '0 -2 1', '1 0.75 0.5', '0 -1 -1'].join('\n') + '\n');
    const { modules } = runRecorded(dir, 'bench/cost-run-plain.ts', ['plain', 'kmeans', points]);
    expect(otherPrograms(modules)).toContain('bench/baselines/kmeans.ts');
  }, 60_000);
});
