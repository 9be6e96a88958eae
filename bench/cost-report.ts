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
export function wordDigest(counts: ReadonlyMap<string, number>): unknown {
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
  return { distinct: counts.size, total, top };
}

/** The three lines bench/cost.ts reads from either side: the result, the program's phase timings, the peak RSS. */
export function printRun(result: unknown, timings: ReadonlyArray<{ phase: string; ms: number }>): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
  console.log(`TIMINGS ${JSON.stringify(timings.map(({ phase, ms }) => ({ phase, ms })))}`);
  console.log(`MAXRSS ${process.resourceUsage().maxRSS}`);
}
