/**
 * Sorted runs: a shuffle bucket sorted by key and written to one file with V8's serializer, and the k-way merge
 * that reads several runs back as one sorted bucket (Hadoop's spill and merge). Sorting uses the engine's key
 * order, so runs of any key type merge correctly.
 */
import { IndexHeap } from './index-heap.js';
import { mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { compareKeys } from '../core/keys.js';
import type { Pair } from './combine.js';

const byKey = (a: Pair, b: Pair): number => compareKeys(a[0], b[0]);

/** Sorts the pairs by key in place and writes them to `file`; returns the bytes written. */
export function writeSortedRun(file: string, pairs: Pair[]): number {
  pairs.sort(byKey);
  mkdirSync(path.dirname(file), { recursive: true });
  const data = v8.serialize(pairs);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
  return data.length;
}

export function readRun(file: string): Pair[] {
  return v8.deserialize(readFileSync(file)) as Pair[];
}

export function removeRun(file: string): void {
  rmSync(file, { force: true });
}

/** Merges sorted runs into one sorted array (stable: equal keys keep run order). */
export function mergeSortedRuns(runs: readonly Pair[][]): Pair[] {
  const live = runs.filter((r) => r.length > 0);
  if (live.length === 0) return [];
  if (live.length === 1) return live[0]!;
  const out: Pair[] = [];
  const pos = new Array<number>(live.length).fill(0);
  // Run indexes ordered by their current head (ties by run index, for stability).
  const heap = new IndexHeap((i, j) => {
    const c = byKey(live[i]![pos[i]!]!, live[j]![pos[j]!]!);
    return c < 0 || (c === 0 && i < j);
  });
  for (let i = 0; i < live.length; i++) heap.push(i);
  for (let i = heap.peek(); i !== undefined; i = heap.peek()) {
    out.push(live[i]![pos[i]!]!);
    pos[i]!++;
    heap.advanced(pos[i]! >= live[i]!.length);
  }
  return out;
}
