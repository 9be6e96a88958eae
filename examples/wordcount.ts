/**
 * Word count over a generated Zipf corpus (about 50 MiB, written to data/ on first run) on the embedded default
 * master (one worker thread per core), with the console progress bar and a summary of the stages the job ran.
 * (The main job, `npm start`, is PageRank: see main.ts.)
 *
 *   npx kindling example wordcount
 *   npx tsx examples/wordcount.ts [path] [--master local[N]] [--engine memory|mapreduce] [--mb 50] [--data dir]
 *     [--no-progress] [--help]
 */
import { Context, type SchedulerEvent } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { fail, parseCli, reportFailure } from './common.js';

// No --validate (the result is not checked) and no --small (--mb sizes the corpus): the common options this
// script does not read are refused, not accepted and ignored.
const cli = parseCli(
  'wordcount',
  'Word count of a text file (default: a generated Zipf corpus of --mb MiB in --data), top 10 words and stages.',
  { mb: { type: 'string', help: 'size of the generated corpus in MiB (default 50)' } },
  undefined,
  'path',
  ['master', 'engine', 'data', 'progress'],
);
const mb = cli.number('mb', 50);
if (!(mb > 0)) fail('wordcount', `--mb expects a positive number of MiB, got '${cli.string('mb')}'`);
const master = cli.master;

let sc: Context | undefined;
try {
  const input = cli.positional ?? (await ensureDataset('text', cli.dataDir, { bytes: Math.round(mb * 1024 * 1024) }));
  sc = new Context({ master, engine: cli.engine, appName: 'wordcount', progress: cli.progress });
  await wordCount(sc, input);
} catch (e) {
  reportFailure('wordcount', e);
} finally {
  await sc?.stop();
}

async function wordCount(sc: Context, input: string): Promise<void> {
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
}
