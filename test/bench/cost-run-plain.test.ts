import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root, runRecorded } from './recorded-run.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kindling-cost-plain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What of kindling a plain program may load: the seeded generator the LR baseline draws its initial weights with. */
const ALLOWED = new Set(['dist/core/random.js', 'dist/core/errors.js']);
const engineModules = (modules: readonly string[]): string[] =>
  modules.filter((m) => (m.startsWith('dist/') || m.startsWith('src/') || m.includes('node_modules/')) && !ALLOWED.has(m));

const text = path.join(dir, 'text.txt');
writeFileSync(text, 'a b c a\nb a  d\n\nz a\n');
const points = path.join(dir, 'points.txt');
writeFileSync(points, ['1 0.5 -1.25', '0 -0.5 2', '1 1.5 0.25', '0 -2 1', '1 0.75 0.5'].join('\n') + '\n');
const graph = path.join(dir, 'graph.txt');
writeFileSync(graph, ['0 1', '1 2', '2 0', '2 3', '3 0'].join('\n') + '\n');

describe('bench/cost-run-plain.ts: the plain side of a COST run', () => {
  it.each([
    ['plain', 'wordcount', text],
    ['scan', 'wordcount', text],
    ['scan', 'wordcount-hc', text],
    ['plain', 'pagerank', graph],
    ['plain', 'lr', points],
    ['plain', 'kmeans', points],
  ])(
    '%s %s loads no module of the engine and prints the three lines cost.ts reads',
    (side, workload, data) => {
      const { stdout, modules } = runRecorded(dir, 'bench/cost-run-plain.ts', [side, workload, data]);
      expect(modules).toContain('bench/cost-run-plain.ts');
      expect(engineModules(modules)).toEqual([]);
      expect(stdout).toMatch(/^RESULT \{.+\}$/m);
      expect(stdout).toMatch(/^TIMINGS \[.*\]$/m);
      expect(stdout).toMatch(/^MAXRSS \d+$/m);
    },
    60_000,
  );

  it('counts the words as line.split(" ") does, empty tokens included', () => {
    for (const side of ['plain', 'scan']) {
      const { stdout } = runRecorded(dir, 'bench/cost-run-plain.ts', [side, 'wordcount', text]);
      const result = JSON.parse(/^RESULT (.*)$/m.exec(stdout)![1]!);
      // Tokens: a b c a | b a '' d | '' | z a: the empty line is one empty token, as the kindling side's
      // `line.split(' ')` makes it (the loops skipped it before session 30, so COST's check failed on any text
      // with a blank line).
      expect(result).toEqual({
        distinct: 6,
        total: 11,
        top: [
          ['a', 4],
          ['', 2],
          ['b', 2],
          ['c', 1],
          ['d', 1],
        ],
      });
    }
  }, 60_000);

  it('the recorder sees a program that loads kindling (so the check above can fail)', () => {
    const probe = path.join(root, 'bench', `.probe-${process.pid}.ts`);
    writeFileSync(probe, "import { Context } from 'kindling';\nconsole.log(typeof Context);\n");
    try {
      const { modules } = runRecorded(dir, probe, []);
      // The package's entry (package.json exports): it re-exports the driver bundle, or index.js after a bare tsc.
      expect(engineModules(modules)).toContain('dist/entry.js');
    } finally {
      rmSync(probe, { force: true });
    }
  }, 60_000);
});
