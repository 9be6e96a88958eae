/**
 * Word count over a generated Zipf corpus (about 50 MiB, written to data/ on first run) on the embedded default
 * master (one worker thread per core), with the console progress bar and a summary of the stages the job ran.
 * (The main job, `npm start`, is PageRank: see main.ts.)
 *
 *   npx kindling example wordcount
 *   npx tsx examples/wordcount.ts [path] [--master local[N]] [--engine memory|mapreduce] [--mb 50] [--help]
 */
import { Context, type SchedulerEvent } from 'kindling';
import { ensureDataset } from 'kindling/datagen';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(
    'Usage: wordcount [path] [--master local[N]] [--engine memory|mapreduce] [--mb 50]\n' +
      'Word count of a text file (default: a generated Zipf corpus of --mb MiB in data/), top 10 words and stages.',
  );
  process.exit(0);
}
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const master = flag('--master') ?? 'local[*]';
const engine = flag('--engine') ?? 'memory';
if (engine !== 'memory' && engine !== 'mapreduce') {
  console.error(`wordcount: --engine must be memory or mapreduce, got '${engine}'`);
  process.exit(2);
}
const mb = Number(flag('--mb') ?? 50);
const input =
  args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--'))) ??
  (await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 }));

const sc = new Context({ master, engine, appName: 'wordcount' });
const stages = new Map<number, { name: string; tasks: number; start: number; end?: number }>();
sc.events.onAny((e: SchedulerEvent) => {
  if (e.type === 'stageSubmitted') stages.set(e.stageId, { name: e.name, tasks: e.numTasks, start: e.time });
  if (e.type === 'stageCompleted') {
    const s = stages.get(e.stageId);
    if (s) s.end = e.time;
  }
});

const t0 = performance.now();
const counts = sc
  .textFile(input)
  .flatMap((line) => line.split(' '))
  .map((word): [string, number] => [word, 1])
  .reduceByKey((a, b) => a + b);
const top = await counts.top(10, ([, n]) => n);
const distinct = await counts.count();
const seconds = (performance.now() - t0) / 1000;

console.log(`\nword count of ${input} on ${master} (${sc.defaultParallelism} workers) in ${seconds.toFixed(2)} s`);
console.log(`${distinct} distinct words; the 10 most frequent:`);
for (const [word, n] of top) console.log(`  ${word.padEnd(12)} ${n}`);
console.log('\nstages:');
for (const [id, s] of stages) {
  console.log(`  stage ${id}: ${s.name}, ${s.tasks} tasks, ${s.end !== undefined ? `${s.end - s.start} ms` : 'not finished'}`);
}
console.log('\nlineage:\n' + counts.toDebugString());
await sc.stop();
