/**
 * Where PageRank's peak RSS is reached (issue 8): runs the classic program (examples/pagerank.ts, default options
 * but the console bar) on local[2] while the driver samples the whole process's RSS every 20 ms, and prints each
 * stage's start and end with the RSS then, and the peak with the stage running at that moment. Run it under
 * `node --trace-gc` to see every isolate's heap (driver and both workers; V8 flags reach worker threads) at
 * each collection.
 *
 *   node [--trace-gc] --import tsx bench/pagerank-rss-trace.ts [--iterations 10] [--small]
 */
import { Context } from 'kindling';
import { run } from '../examples/pagerank.js';

const args = process.argv.slice(2);
const i = args.indexOf('--iterations');
const iterations = i >= 0 ? Number(args[i + 1]) : 10;
const t0 = performance.now();
const mb = (x: number): string => (x / 2 ** 20).toFixed(0);
const stamp = (): string => `${(performance.now() - t0).toFixed(0).padStart(6)} ms`;
let peak = 0;
let peakAt = '';
let phase = 'start';
const running = new Map<number, string>();
const timer = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) {
    peak = rss;
    const m = process.memoryUsage();
    peakAt =
      `${stamp()} during stage(s) ${[...running.values()].join(', ') || `(none; ${phase})`}; driver heap ${mb(m.heapUsed)} of ` +
      `${mb(m.heapTotal)} MB, its array buffers ${mb(m.arrayBuffers)} MB`;
  }
}, 20);
const sc = new Context({ master: 'local[2]', progress: false });
sc.events.on('stageSubmitted', (e) => {
  running.set(e.stageId, `${e.stageId} ${e.name}`);
  console.log(`${stamp()} rss ${mb(process.memoryUsage.rss())} MB  start stage ${e.stageId} ${e.name}`);
});
sc.events.on('stageCompleted', (e) => {
  running.delete(e.stageId);
  console.log(`${stamp()} rss ${mb(process.memoryUsage.rss())} MB  end   stage ${e.stageId}`);
});
const { summary } = await run(sc, { small: args.includes('--small'), iterations });
phase = 'stopping';
console.log(`${stamp()} rss ${mb(process.memoryUsage.rss())} MB  program done, stopping`);
await sc.stop();
phase = 'stopped';
console.log(`${stamp()} rss ${mb(process.memoryUsage.rss())} MB  stopped`);
clearInterval(timer);
console.log(`vertices ${summary.vertices}, rank sum ${summary.rankSum.toFixed(6)}`);
console.log(`peak RSS sampled ${mb(peak)} MB at ${peakAt}; maxRSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
