/**
 * What both sides of a COST run print for the check that they agree (bench/cost-run.ts, bench/cost-run-plain.ts).
 * It imports nothing, so the plain side loads no more than its own program.
 */

/**
 * The check both sides print: distinct words, total words and the five most frequent (ties by word). It is the
 * harness's, not the program's, so it is one pass keeping the best five: until session 15 it sorted every entry
 * (`[...counts].sort(...)`), which took ~0.3 s of the Zipf runs and ~3.3 s of the high-cardinality ones on both
 * sides, a third of a run that measured the check rather than the word count.
 */
export function wordDigest(counts: ReadonlyMap<string, number>, full = false): unknown {
  const before = (a: readonly [string, number], b: readonly [string, number]): boolean => a[1] > b[1] || (a[1] === b[1] && a[0] < b[0]);
  const top: Array<[string, number]> = [];
  let total = 0;
  for (const entry of counts) {
    total += entry[1];
    if (top.length === 5 && !before(entry, top[4]!)) continue;
    let i = top.length < 5 ? top.length : 4;
    while (i > 0 && before(entry, top[i - 1]!)) i--;
    top.splice(i, 0, [entry[0], entry[1]]);
    if (top.length > 5) top.pop();
  }
  return full ? { distinct: counts.size, total, top, every: fingerprint(counts) } : { distinct: counts.size, total, top };
}

/**
 * Every (word, count) of a word count in one number, whatever the map's order: the sum of each word's FNV-1a hash
 * times its count, mod 2^32. The digest above misses a count moved between two words outside the top five (a
 * fast path bucketing or decoding keys wrongly); this does not, but costs ~0.1 s on a million words, so cost.ts
 * asks for it (`--verify`) only in its untimed run of each side.
 */
function fingerprint(counts: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const [word, n] of counts) {
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
    sum = (sum + Math.imul(h, n) + Math.imul(h ^ 0x5bd1e995, Math.floor(n / 2 ** 32))) | 0;
  }
  return sum >>> 0;
}

/** The three lines bench/cost.ts reads from either side: the result, the program's phase timings, the peak RSS. */
export function printRun(result: unknown, timings: ReadonlyArray<{ phase: string; ms: number }>): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
  console.log(`TIMINGS ${JSON.stringify(timings.map(({ phase, ms }) => ({ phase, ms })))}`);
  console.log(`MAXRSS ${process.resourceUsage().maxRSS}`);
}
