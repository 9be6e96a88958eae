/**
 * Word count over the generated 50 MiB Zipf corpus: kindling on local[2] against the hand-written
 * single-threaded baseline, in one run. Target: kindling at most 0.8x the baseline's time.
 *
 *   npx tsx bench/wordcount.ts [--mb 50]
 */
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { wordCountBaseline } from './baselines/wordcount.js';
import { compare, machine } from './harness.js';

const mbArg = process.argv.indexOf('--mb');
const mb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 50;
const path = await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 });
const sc = new Context({ master: 'local[2]', progress: false });

const expected = wordCountBaseline(path);
const check = async () => {
  const got = await sc
    .textFile(path)
    .flatMap((l) => l.split(' '))
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b)
    .collectAsMap();
  if (got.size !== expected.size || got.get('ba') !== expected.get('ba')) throw new Error('kindling and the baseline disagree');
  return got;
};

console.log(`word count, ${mb} MiB, ${machine()}`);
const [base, kindling] = await compare(`wordcount-${mb}MiB`, [
  { name: 'baseline (1 thread)', run: async () => wordCountBaseline(path) },
  { name: 'kindling local[2] (collectAsMap)', run: check },
]);
console.log(`ratio kindling/baseline: ${(kindling!.meanMs / base!.meanMs).toFixed(2)}x (target <= 0.8x)`);
await sc.stop();
