/**
 * One worker's half of PageRank's links on the generated graph (100k nodes, 1M edges): the out-lists of the sources
 * with an even id (a hash partition's share), as groupByKey leaves them, and a rank for each source. What the map-side
 * benchmarks (pagerank-map-combine.ts, pagerank-map-task.ts) feed one worker's task.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ensureDataset } from 'kindling/datagen';
import { machine } from './harness.js';

export interface WorkerHalf {
  /** [source, distinct destinations] in first-seen order. */
  readonly links: Array<[number, number[]]>;
  /** A rank per source of `links`, at the same index. */
  readonly ranks: number[];
  /** Destinations in all lists: the records one iteration's flatMap makes. */
  readonly contributions: number;
}

export async function workerHalf(): Promise<WorkerHalf> {
  const file = await ensureDataset('graph', 'data', { nodes: 100_000, edges: 1_000_000 });
  const byNode = new Map<number, number[]>();
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const [s, d] = line.split(/\s+/).map(Number) as [number, number];
    if (s % 2 !== 0) continue;
    let l = byNode.get(s);
    if (l === undefined) byNode.set(s, (l = []));
    if (!l.includes(d)) l.push(d);
  }
  const links = [...byNode.entries()];
  return {
    links,
    ranks: links.map((_, i) => 0.15 + ((i * 7919) % 1000) / 500),
    contributions: links.reduce((n, [, l]) => n + l.length, 0),
  };
}

/** CPU time (user + system) of this process so far, in ms. */
export function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** The middle sample (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** The machine and its load averages now, for a benchmark's first line. */
export function machineAndLoad(): string {
  return `${machine()}; load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}
