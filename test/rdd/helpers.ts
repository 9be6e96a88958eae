/**
 * Shared helpers for the RDD specification tests. Everything here runs on the driver only: functions that
 * travel to workers must never reference these imports (vitest renames imported bindings); declare what they
 * need with `capture` instead.
 */
import { afterAll, beforeAll } from 'vitest';
import { Context } from 'kindling';
import { redisSkipReason } from '../streaming/redis-server.js';
import { keyId } from '../../src/core/keys.js';

/**
 * Every operation is checked in each master mode: one worker thread, two, and two executor processes met through
 * Redis (`local-cluster[2]`, the code path of real clusters: tasks through Redis streams, shuffle blocks over
 * TCP). `KINDLING_SPEC_MASTERS=local,local[2]` narrows the list.
 */
const ALL_MODES = ['local', 'local[2]', 'local-cluster[2]'] as const;
export type Mode = (typeof ALL_MODES)[number];
export const MODES: readonly Mode[] = (
  process.env.KINDLING_SPEC_MASTERS ? ALL_MODES.filter((m) => process.env.KINDLING_SPEC_MASTERS!.split(',').includes(m)) : ALL_MODES
).filter((m) => {
  // Without redis-server (and outside CI, which installs it) the cluster mode is left out, saying so.
  if (m !== 'local-cluster[2]' || redisSkipReason === undefined) return true;
  console.warn(`RDD specifications on local-cluster[2] skipped: ${redisSkipReason}`);
  return false;
});

/**
 * One context per describe block: started in beforeAll, stopped in afterAll. Returns a getter because the
 * context only exists once the hooks have run.
 */
export function useContext(master: Mode): () => Context {
  let sc: Context | undefined;
  beforeAll(() => {
    sc = new Context({ master, progress: false });
  });
  afterAll(async () => {
    await sc?.stop();
  });
  return () => {
    if (sc === undefined) throw new Error('context not started yet');
    return sc;
  };
}

/** A total order on JSON-able values, for comparing results whose order the engine does not fix. */
export function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Sorts a copy by canonical JSON (for multiset comparisons). */
export function sorted<T>(xs: readonly T[]): T[] {
  return xs
    .map((x) => [canonical(x), x] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, x]) => x);
}

/** Numbers ascending (a copy). */
export function numSorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** The `[k, v]` pairs of a Map, sorted canonically. */
export function mapEntries<K, V>(m: Map<K, V>): Array<[K, V]> {
  return sorted([...m.entries()]);
}

/** Replaces call sites (`file.ts:12`) in a debug string so its shape can be compared exactly. */
export function stripCallSites(s: string): string {
  return s.replace(/ at ([A-Za-z]+) at [^\s\]]+:\d+ /g, ' at $1 ').replace(/\[\d+\]/g, '[#]');
}

/** Deep equality that tells -0 from 0 and NaN from nothing; objects by the engine's key identity. */
export function sameResult(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameResult(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') return keyId(a) === keyId(b);
  return a === b;
}
