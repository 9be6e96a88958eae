/**
 * Results to the driver: `collect` of 400k cached pairs on local[2], numeric (`[i, i / 3]`) and string keyed
 * (`['w' + i, i]`), 7 runs each, median. Results of 512 or more pairs cross the thread boundary as columns
 * (typed arrays transferred) rather than one structured clone per pair.
 *
 *   npx tsx bench/collect-pairs.ts
 */
import { Context } from 'kindling';
import { machine } from './harness.js';

const sc = new Context({ master: 'local[2]', progress: false, ui: false });
const numeric = sc
  .range(0, 400_000, 1, 2)
  .map((i): [number, number] => [i, i / 3])
  .cache();
const keyed = sc
  .range(0, 400_000, 1, 2)
  .map((i): [string, number] => [`w${i}`, i])
  .cache();
await numeric.count();
await keyed.count();
console.log(`collect of cached pairs, ${machine()}`);
for (const [name, rdd] of [
  ['numeric pairs', numeric],
  ['string-number pairs', keyed],
] as const) {
  const ms: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await rdd.collect();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(`collect 400k ${name}: median ${ms[3]!.toFixed(0)} ms`);
}
await sc.stop();
