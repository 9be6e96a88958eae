/**
 * Scheduler overhead: throughput of empty tasks (a job of 4,000 partitions with nothing in them) and the
 * latency of a tiny job (`parallelize` of 10 numbers, `count`) once warm. Targets: >= 20,000 empty tasks/s,
 * a tiny job under 5 ms.
 *
 *   npx tsx bench/scheduler.ts
 */
import { Context } from 'kindling';
import { compare, machine } from './harness.js';

const TASKS = 4000;
const sc = new Context({ master: 'local[2]', progress: false });
const empty = sc.parallelize([], TASKS);
const tiny = sc.parallelize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

console.log(`scheduler overhead, ${machine()}`);
const [emptyJob, tinyJob] = await compare(
  'scheduler',
  [
    { name: `${TASKS} empty tasks (one job)`, run: () => empty.count() },
    { name: 'tiny job (10 numbers, count)', run: () => tiny.count() },
  ],
  20,
);
console.log(`empty tasks per second: ${Math.round(TASKS / (emptyJob!.meanMs / 1000))} (target >= 20000)`);
console.log(`tiny job: ${tinyJob!.meanMs.toFixed(2)} ms (target < 5 ms)`);
await sc.stop();
