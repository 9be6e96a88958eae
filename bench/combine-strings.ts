/**
 * The two by-key loops a word count spends its CPU in, measured in one thread, side by side with an earlier build:
 *
 * - the map-side combine: one worker's half of the text (the first 25 MiB of the 50 MiB file, split into words
 *   beforehand so that only the combine is measured), each word pushed as `[word, 1]` into the engine's grouping
 *   with `(a, b) => a + b`, as `reduceByKey` does; a plain `Map<string, number>` loop alongside as a yardstick;
 * - the driver's `collectAsMap`: 1.1M `[string, number]` pairs in two partitions into the structural map (the
 *   earlier build's way: a Map of ids, then the structural map from it).
 *
 * CPU time (user + system) of this process, minimum over rounds, rounds interleaved: on a shared 2-core machine
 * the minimum CPU time moves far less with the load than wall time does.
 *
 *   npx tsx bench/combine-strings.ts [--rounds 7] [--baseline DIR]
 *
 * `--baseline DIR`: the root of another checkout whose `dist/` was built (e.g. `git worktree add /tmp/old <commit>`
 * and `npm run build` there); its grouping and structural map run in the same rotation.
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
const rounds = Number(flag('--rounds') ?? 7);
const baseline = flag('--baseline');

type Pair = [unknown, unknown];
interface Grouping {
  add(kv: Pair): void;
  groups(): Pair[];
}
type GroupingFn = (first: (v: unknown) => unknown, merge: (c: unknown, v: unknown) => unknown) => Grouping;
type StructuralMapFn = <K, V>(entries?: Iterable<readonly [K, V]> | null) => Map<K, V>;
type KeyIdFn = (key: unknown) => unknown;

const load = async (root: string, file: string): Promise<Record<string, unknown>> =>
  (await import(pathToFileURL(path.join(root, 'dist', file)).href)) as Record<string, unknown>;
const here = path.resolve(import.meta.dirname, '..');
const builds: Array<{ name: string; root: string }> = [{ name: 'this build', root: here }];
if (baseline !== undefined) builds.push({ name: `baseline (${baseline})`, root: path.resolve(baseline) });

const { forEachSplitLine } = (await load(here, 'io/index.js')) as { forEachSplitLine: (s: object, f: (l: string) => void) => void };
const cpu = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** The words of one worker's half of a text (its first 25 MiB). */
async function halfOfText(vocabulary: number): Promise<string[]> {
  const file = await ensureDataset('text', 'data', { bytes: 50 * 1024 * 1024, vocabulary });
  const words: string[] = [];
  forEachSplitLine({ path: file, start: 0, length: 25 * 1024 * 1024, whole: false }, (line) => {
    const ws = line.split(' ');
    for (let i = 0; i < ws.length; i++) words.push(ws[i]!);
  });
  return words;
}

const cases: Array<{ name: string; run: () => number }> = [];
const plus = (a: unknown, b: unknown): unknown => (a as number) + (b as number);
const same = (v: unknown): unknown => v;
for (const [label, vocabulary] of [
  ['Zipf text', 200_000],
  ['high-cardinality text', 2_000_000],
] as const) {
  const words = await halfOfText(vocabulary);
  cases.push({
    name: `${label}: plain Map<string, number> (${words.length} words)`,
    run: () => {
      const m = new Map<string, number>();
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        m.set(w, (m.get(w) ?? 0) + 1);
      }
      return m.size;
    },
  });
  for (const b of builds) {
    const grouping = (await load(b.root, 'shuffle/combine.js')).grouping as GroupingFn;
    cases.push({
      name: `${label}: grouping, ${b.name}`,
      run: () => {
        const g = grouping(same, plus);
        for (let i = 0; i < words.length; i++) g.add([words[i], 1]);
        return g.groups().length;
      },
    });
  }
}

// collectAsMap's driver side: 1.1M distinct string keys in two partitions.
const parts: Array<Array<[string, number]>> = [[], []];
for (let i = 0; i < 1_100_000; i++) parts[i & 1]!.push([`w${((i * 2654435761) >>> 0).toString(36)}`, i]);
for (const b of builds) {
  const structuralMap = (await load(b.root, 'core/structural-map.js')).structuralMap as StructuralMapFn;
  const keyId = (await load(b.root, 'core/keys.js')).keyId as KeyIdFn;
  const direct = b.root === here;
  cases.push({
    name: `collectAsMap of 1.1M string pairs, ${b.name}`,
    run: direct
      ? () => {
          const out = structuralMap<string, number>();
          for (const pairs of parts) for (let i = 0; i < pairs.length; i++) out.set(pairs[i]![0], pairs[i]![1]);
          return out.size;
        }
      : () => {
          // The earlier build's collectAsMap: flattened pairs, a Map by id, then the structural map from it.
          const byId = new Map<unknown, [string, number]>();
          for (const [k, v] of parts.flat()) {
            const id = keyId(k);
            const cur = byId.get(id);
            if (cur === undefined) byId.set(id, [k, v]);
            else cur[1] = v;
          }
          return structuralMap(byId.values()).size;
        },
  });
}

const best = new Map<string, number>();
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const c0 = cpu();
    c.run();
    const ms = cpu() - c0;
    best.set(c.name, Math.min(best.get(c.name) ?? Infinity, ms));
  }
}
console.log(
  `combine and collect of string keys, one thread, CPU ms (minimum of ${rounds} interleaved rounds); ${machine()}; load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log('');
console.log('| case | CPU ms |');
console.log('|---|---|');
for (const c of cases) console.log(`| ${c.name} | ${best.get(c.name)!.toFixed(0)} |`);
