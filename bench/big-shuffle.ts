/**
 * A shuffle much larger than the workers' memory (the "trust" issue, item 4): word count over generated text
 * with millions of distinct words, workers capped at memory.workerMB 256, run by the memory engine and by the
 * mapreduce engine side by side. Reports time, peak process RSS (driver + workers, sampled every 50 ms), and
 * checks that both engines give the same answer. A run that does not finish within --timeout seconds is
 * reported as such (before the worker-wide shuffle budget, the memory engine looped on worker OOMs).
 *
 *   npx tsx bench/big-shuffle.ts [--mb 256] [--vocabulary 30000000] [--worker-mb 256] [--timeout 240]
 */
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { machine } from './harness.js';
import { appendFileSync, mkdirSync } from 'node:fs';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const mb = arg('mb', 256);
const vocabulary = arg('vocabulary', 30_000_000);
const workerMB = arg('worker-mb', 256);
const timeoutS = arg('timeout', 240);

const t0 = performance.now();
const path = await ensureDataset('text', 'data', { bytes: mb * 2 ** 20, vocabulary });
const genSeconds = (performance.now() - t0) / 1000;

interface Outcome {
  engine: string;
  seconds: number;
  peakRssMiB: number;
  result?: { distinct: number; words: number };
  error?: string;
}

async function run(engine: 'memory' | 'mapreduce'): Promise<Outcome> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const sc = new Context({ master: 'local[2]', engine, progress: false, hints: false, memory: { workerMB } });
  const start = performance.now();
  const job = (async () => {
    const counts = sc
      .textFile(path)
      .flatMap((l) => l.split(' '))
      .map((w): [string, number] => [w, 1])
      .reduceByKey((a, b) => a + b);
    // One job: its count is the distinct words, its sum all words.
    const stats = await counts.map(([, n]) => n).stats();
    return { distinct: stats.count, words: stats.sum };
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result and no error after ${timeoutS} s`)), timeoutS * 1000);
  });
  try {
    const result = await Promise.race([job, timeout]);
    return { engine, seconds: (performance.now() - start) / 1000, peakRssMiB: peak / 2 ** 20, result };
  } catch (e) {
    return { engine, seconds: (performance.now() - start) / 1000, peakRssMiB: peak / 2 ** 20, error: (e as Error).message.split('\n')[0] };
  } finally {
    clearTimeout(timer);
    clearInterval(sampler);
    job.catch(() => undefined);
    await sc.stop();
  }
}

console.log(`big shuffle: word count of ${mb} MiB (vocabulary ${vocabulary}), memory.workerMB ${workerMB}, local[2], ${machine()}`);
if (genSeconds > 1) console.log(`(generated the text in ${genSeconds.toFixed(0)} s)`);
const outcomes: Outcome[] = [];
for (const engine of ['memory', 'mapreduce'] as const) {
  const o = await run(engine);
  outcomes.push(o);
  const what = o.result ? `${o.result.distinct} distinct words, ${o.result.words} words` : `FAILED: ${o.error}`;
  console.log(`${engine.padEnd(9)} ${o.seconds.toFixed(1).padStart(6)} s   peak RSS ${o.peakRssMiB.toFixed(0).padStart(5)} MiB   ${what}`);
}
const [m, r] = outcomes;
const same = m!.result !== undefined && JSON.stringify(m!.result) === JSON.stringify(r!.result);
console.log(same ? 'both engines give the same counts' : 'the engines DISAGREE or one failed');
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  JSON.stringify({ workload: 'big-shuffle', time: new Date().toISOString(), machine: machine(), mb, vocabulary, workerMB, outcomes, same }) + '\n',
);
if (!same) process.exit(1);
