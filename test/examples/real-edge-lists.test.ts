/**
 * PageRank and connected components on edge lists as SNAP publishes them, checked against a naive computation
 * written here from the text itself: `#` header comments, tab-separated ids, CRLF line ends, self-loops, duplicate
 * edges, dangling vertices (no out-links), lines of white space only, and ids above 2^31 up to 2^53 - 1. An id that
 * a double cannot hold exactly fails naming the line, instead of merging two vertices.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as connectedComponents } from '../../examples/connected-components.js';
import { parseEdge, run as pageRank } from '../../examples/pagerank.js';
import { ENGINES, useContext, useTempDir } from './helpers.js';

const BIG = 2 ** 31;
const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1

/** The edges of an edge list's text, read the plainest way: every line that is not blank or a `#` comment. */
function naiveEdges(text: string): Array<[number, number]> {
  return text
    .split(/\r\n|\n/)
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [a, b] = l.trim().split(/\s+/);
      return [Number(a), Number(b)];
    });
}

/** Spark's example PageRank: distinct links, ranks start at 1 for vertices with out-links, 0.15 + 0.85 * contributions. */
function naivePageRank(edges: Array<[number, number]>, iterations: number): Map<number, number> {
  const links = new Map<number, number[]>();
  for (const key of new Set(edges.map(([a, b]) => `${a} ${b}`))) {
    const [a, b] = key.split(' ').map(Number) as [number, number];
    links.set(a, [...(links.get(a) ?? []), b]);
  }
  let ranks = new Map([...links.keys()].map((v) => [v, 1]));
  for (let i = 0; i < iterations; i++) {
    const sums = new Map<number, number>();
    for (const [v, outs] of links) {
      const r = ranks.get(v);
      if (r === undefined) continue;
      for (const u of outs) sums.set(u, (sums.get(u) ?? 0) + r / outs.length);
    }
    ranks = new Map([...sums].map(([v, s]) => [v, 0.15 + 0.85 * s]));
  }
  return ranks;
}

/** Components of the undirected graph, each vertex labelled with its component's smallest id. */
function naiveComponents(edges: Array<[number, number]>): Map<number, number> {
  const label = new Map<number, number>();
  for (const [a, b] of edges) {
    label.set(a, label.get(a) ?? a);
    label.set(b, label.get(b) ?? b);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [a, b] of edges) {
      const m = Math.min(label.get(a)!, label.get(b)!);
      if (label.get(a) !== m || label.get(b) !== m) {
        label.set(a, m);
        label.set(b, m);
        changed = true;
      }
    }
  }
  return label;
}

const SNAP = [
  '# Directed graph (each unordered pair of nodes is saved once): web-Tiny.txt',
  '# Nodes: 9 Edges: 14',
  '# FromNodeId\tToNodeId',
  `${BIG}\t${BIG + 1}`,
  `${BIG}\t${BIG + 1}`, // duplicate
  `${BIG + 1}\t${BIG}`,
  `${BIG + 1}\t${MAX}`, // MAX has no out-links: dangling
  `${MAX - 1}\t${MAX - 1}`, // a self-loop alone
  `${MAX - 2}\t${MAX - 1}`,
  '7\t7',
  '7\t8',
  '8\t7 ', // a trailing space
  '   ', // white space only
  '9 10\t1.0', // a third column (a weight), ignored
  '',
  `11\t${BIG}`, // nothing links to 11
].join('\r\n');

describe.each(ENGINES)('the graph examples on a SNAP-style edge list (%s engine)', (engine) => {
  const ctx = useContext(engine);
  const tmp = useTempDir('real-edges');
  const edges = naiveEdges(SNAP);

  it('pagerank: the ranks of the naive computation, exactly the vertices it ranks', async () => {
    const input = join(tmp(), 'web-Tiny.txt');
    writeFileSync(input, SNAP);
    const { summary } = await pageRank(ctx(), { input, iterations: 5 });
    const want = naivePageRank(edges, 5);
    expect(summary.edges).toBe(new Set(edges.map(([a, b]) => `${a} ${b}`)).size);
    expect([...summary.ranks.keys()].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b));
    for (const [v, r] of want) expect(summary.ranks.get(v)).toBeCloseTo(r, 12);
    expect(summary.ranks.has(MAX)).toBe(true); // dangling, but linked to
    expect(summary.ranks.has(11)).toBe(false); // nothing links to it: it drops out, as in Spark's example
  });

  it('connected components: the naive components, ids near 2^53 kept apart', async () => {
    const input = join(tmp(), 'web-Tiny-cc.txt');
    writeFileSync(input, SNAP);
    const { summary } = await connectedComponents(ctx(), { input });
    const want = naiveComponents(edges);
    expect(summary.converged).toBe(true);
    expect(new Map([...summary.labels].sort((a, b) => a[0] - b[0]))).toEqual(new Map([...want].sort((a, b) => a[0] - b[0])));
    expect(summary.labels.get(MAX)).toBe(11);
    expect(summary.labels.get(MAX - 1)).toBe(MAX - 2);
  });

  it('an id beyond 2^53 - 1 fails naming the line, instead of merging two vertices into one', async () => {
    const input = join(tmp(), 'huge-ids.txt');
    writeFileSync(input, '1 2\n9007199254740993 9007199254740992\n');
    await expect(connectedComponents(ctx(), { input })).rejects.toThrow(/9007199254740993 9007199254740992/);
    await expect(pageRank(ctx(), { input, iterations: 1 })).rejects.toThrow(/huge-ids\.txt, line 2/);
  });
});

describe('parseEdge', () => {
  it('reads two integer ids separated by spaces or tabs, further columns ignored', () => {
    expect(parseEdge(`${BIG}\t${MAX}`)).toEqual([BIG, MAX]);
    expect(parseEdge(' 3  4 0.5')).toEqual([3, 4]);
  });

  it('refuses ids that are not integers a double holds exactly, naming the line', () => {
    expect(() => parseEdge('9007199254740992 1')).toThrow(/9007199254740992 1/);
    expect(() => parseEdge('1 2.5')).toThrow(/not an edge/);
    expect(() => parseEdge('a b')).toThrow(/not an edge/);
  });
});
