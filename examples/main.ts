/**
 * The main job (`npm start`): PageRank on the generated graph (100k nodes, 1M edges; `--small` for 2k/20k),
 * 10 iterations, on the embedded default master (one worker thread per core), run once with each engine —
 * memory (Spark-style: links cached, shuffles in memory) and mapreduce (Hadoop-style: every shuffle and every
 * job's result through files, nothing cached) — then a per-iteration comparison table. Both runs show the
 * console progress bar on a terminal, and both are checked against the single-thread CSR baseline.
 *
 *   npx tsx examples/main.ts [--small] [--iterations 10] [--master local[N]] [--help]
 */
import { Context } from 'kindling';
import { compareRanks, graphInput, run } from './pagerank.js';
import { pageRankBaseline } from '../bench/baselines/pagerank.js';
import { fail, formatMs, parseCli, printTable, reportFailure, type Timing } from './common.js';

// Both engines run, side by side: --engine is refused (example pagerank takes it), not accepted and ignored.
const cli = parseCli(
  'main',
  'PageRank on the generated graph with the memory engine, then the mapreduce engine, checked against the\n' +
    'single-thread baseline, with a per-iteration comparison table (npm start).',
  { iterations: { type: 'string', help: 'iterations (default 10)' } },
  undefined,
  undefined,
  ['master', 'small'],
);
const iterations = cli.int('iterations', 10);
if (iterations < 1) fail('main', `--iterations expects a positive integer, got '${cli.string('iterations')}'`);
const small = cli.small;
try {
  const input = await graphInput({ small });
  const results: Record<'memory' | 'mapreduce', readonly Timing[]> = { memory: [], mapreduce: [] };
  const baseline = pageRankBaseline(input, iterations);
  for (const engine of ['memory', 'mapreduce'] as const) {
    const sc = new Context({ master: cli.master, engine, appName: `pagerank-${engine}` });
    try {
      console.log(`\nPageRank, ${iterations} iterations, engine ${engine} on ${sc.options.master} (${sc.defaultParallelism} workers)`);
      const { summary, timings } = await run(sc, { small, iterations });
      const mismatch = compareRanks(summary.ranks, baseline.summary.ranks);
      if (mismatch !== undefined) throw new Error(`engine ${engine} disagrees with the single-thread baseline: ${mismatch}`);
      results[engine] = timings;
      console.log(
        `  ${summary.vertices} ranked vertices; top: ${summary.top
          .slice(0, 3)
          .map(([v, r]) => `${v} (${r.toFixed(1)})`)
          .join(', ')}`,
      );
    } finally {
      await sc.stop();
    }
  }

  const phases = results.memory.map((t) => t.phase);
  const ms = (engine: 'memory' | 'mapreduce', phase: string) => results[engine].find((t) => t.phase === phase)?.ms ?? NaN;
  console.log('\nper-iteration comparison (same data, same program; ranks equal the single-thread baseline in both engines)');
  printTable(
    ['phase', 'memory', 'mapreduce', 'mapreduce / memory'],
    phases.map((p) => [p, formatMs(ms('memory', p)), formatMs(ms('mapreduce', p)), `${(ms('mapreduce', p) / ms('memory', p)).toFixed(1)}x`]),
    [1, 2, 3],
  );
  const later = (engine: 'memory' | 'mapreduce') => {
    const its = results[engine].filter((t) => /^iteration ([2-9]|\d\d+)$/.test(t.phase));
    return its.reduce((s, t) => s + t.ms, 0) / its.length;
  };
  // "Later" are iterations 2 and on: with one iteration there are none to average.
  if (iterations > 1)
    console.log(
      `\nlater iterations: memory ${formatMs(later('memory'))}, mapreduce ${formatMs(later('mapreduce'))} per iteration (${(later('mapreduce') / later('memory')).toFixed(1)}x)`,
    );
} catch (e) {
  reportFailure('main', e);
}
