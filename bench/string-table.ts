/**
 * StringTable as a word count's map task drives it: one worker's half of a text (its first 25 MiB, its lines read
 * beforehand), each line split on ' ' and each word added with `(a, b) => a + b` (fresh strings, and the young
 * generation's churn, as in a map task), then read as the map output's buckets (`stringBuckets(2)`); this build's
 * table and another build's alternating, a fresh table each round. CPU ms of this thread per round (the split
 * included, the same work on both sides); medians and minima, and the per-round ratio.
 *
 *   npx tsx bench/string-table.ts --baseline DIR [--rounds 11] [--vocabulary 200000]
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDataset } from 'kindling/datagen';
import { machine } from './harness.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 11);
const vocabulary = Number(flag('--vocabulary') ?? 200_000);
const baseline = flag('--baseline');
if (baseline === undefined) throw new Error('--baseline DIR: the root of another checkout whose dist/ was built');

interface Table {
  add(key: string, v: unknown, first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown): void;
  stringBuckets(parts: number): unknown;
  readonly size: number;
}
type TableClass = new (expected?: number) => Table;
const load = async (root: string): Promise<TableClass> =>
  ((await import(pathToFileURL(path.join(root, 'dist', 'shuffle', 'key-table.js')).href)) as { StringTable: TableClass }).StringTable;
const here = path.resolve(import.meta.dirname, '..');
const builds = [
  { name: 'this build', table: await load(here), ms: [] as number[] },
  { name: `baseline (${baseline})`, table: await load(path.resolve(baseline)), ms: [] as number[] },
];

const { forEachSplitLine } = (await import(pathToFileURL(path.join(here, 'dist', 'io', 'index.js')).href)) as {
  forEachSplitLine: (s: object, f: (l: string) => void) => void;
};
const file = await ensureDataset('text', 'data', { bytes: 50 * 1024 * 1024, vocabulary });
const lines: string[] = [];
let words = 0;
forEachSplitLine({ path: file, start: 0, length: 25 * 1024 * 1024, whole: false }, (line) => {
  lines.push(line);
  words += line.split(' ').length;
});
const cpu = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const plus = (a: unknown, b: unknown): unknown => (a as number) + (b as number);
const same = (v: unknown): unknown => v;
let groups = 0;
for (let r = 0; r < rounds; r++) {
  for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
    const c0 = cpu();
    const t = new b.table();
    for (let l = 0; l < lines.length; l++) {
      const ws = lines[l]!.split(' ');
      for (let i = 0; i < ws.length; i++) t.add(ws[i]!, 1, same, plus);
    }
    t.stringBuckets(2);
    b.ms.push(cpu() - c0);
    groups = t.size;
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`StringTable, ${words} words, ${groups} groups, ${rounds} rounds; ${machine()}; load ${os.loadavg()[0]!.toFixed(1)}`);
for (const b of builds) console.log(`${b.name}: median ${median(b.ms).toFixed(0)} ms, min ${Math.min(...b.ms).toFixed(0)} ms`);
const ratios = builds[0]!.ms.map((m, i) => m / builds[1]!.ms[i]!);
console.log(`ratio this/baseline per round: median ${median(ratios).toFixed(3)} [${ratios.map((x) => x.toFixed(2)).join(' ')}]`);
