/**
 * A small seeded generator (mulberry32): a run, a report's interval or a failing spec can be made again from its seed.
 * A plain function of its seed, so a spec can also `capture` it and draw the same numbers in a worker.
 *
 * @example
 * ```ts
 * const rand = mulberry32(42);
 * rand(); // the same number in [0, 1) on every run
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
