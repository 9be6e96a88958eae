/**
 * The per-step table of a job's fixed cost, from a trace written with KINDLING_HOP_TRACE (src/util/hop-trace.ts):
 * for each job in the range, every step's time since the previous step of that job (driver and worker threads on one
 * clock), then per step the median over the jobs. Steps are named by thread role (driver, or worker w0/w1 by the
 * order the job's tasks reached them) and occurrence, so a two-stage job reads as two rounds of launch, run, report.
 *
 *   KINDLING_HOP_TRACE=/tmp/hops.tsv npx tsx bench/pagerank-timeline.ts --small --iterations 12
 *   npx tsx bench/hop-trace-report.ts /tmp/hops.tsv --jobs 4-12
 */
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (file === undefined) {
  // Part of `npx kindling bench` (every benchmark): nothing to report without a trace.
  console.log('usage: npx tsx bench/hop-trace-report.ts TRACE.tsv [--jobs FROM-TO]');
  process.exit(0);
}
const j = process.argv.indexOf('--jobs');
const [from, to] = j >= 0 ? process.argv[j + 1]!.split('-').map(Number) : [2, Number.MAX_SAFE_INTEGER];
interface Hop {
  t: number;
  thread: string;
  step: string;
  job: number;
  detail: string;
}
const hops: Hop[] = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => {
    const [t, thread, step, job, detail] = l.split('\t');
    return { t: Number(t), thread: thread!, step: step!, job: Number(job), detail: detail ?? '' };
  })
  .sort((a, b) => a.t - b.t);
// A job's window: from the driver's ctx.runJob before its dag.stagesBuilt to its ctx.returned.
const rows = new Map<string, number[]>();
const order: string[] = [];
let jobs = 0;
for (let i = 0; i < hops.length; i++) {
  const h = hops[i]!;
  if (h.step !== 'dag.stagesBuilt' || h.job < from! || h.job > to!) continue;
  let s = i;
  while (s > 0 && !(hops[s]!.thread === 'driver' && hops[s]!.step === 'ctx.runJob')) s--;
  let e = i;
  while (e < hops.length - 1 && !(hops[e]!.thread === 'driver' && hops[e]!.step === 'ctx.returned')) e++;
  const workers = new Map<string, string>();
  const seen = new Map<string, number>();
  let prev = hops[s]!.t;
  // The program's own code since the previous job returned (building the next RDDs: call sites, closures).
  let r = s - 1;
  while (r > 0 && !(hops[r]!.thread === 'driver' && hops[r]!.step === 'ctx.returned')) r--;
  if (r >= 0 && hops[r]!.step === 'ctx.returned') {
    if (!rows.has('program between jobs')) {
      rows.set('program between jobs', []);
      order.push('program between jobs');
    }
    rows.get('program between jobs')!.push(hops[s]!.t - hops[r]!.t);
  }
  jobs++;
  for (let k = s; k <= e; k++) {
    const x = hops[k]!;
    let who = x.thread;
    if (who !== 'driver') {
      if (!workers.has(who)) workers.set(who, `w${workers.size}`);
      who = workers.get(who)!;
    }
    const name = `${who} ${x.step}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    const key = `${name} #${n}`;
    if (!rows.has(key)) {
      rows.set(key, []);
      order.push(key);
    }
    rows.get(key)!.push(x.t - prev);
    prev = x.t;
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
// Rows in the order of their median offset: the order of the typical job.
const at = new Map<string, number>();
console.log(`${jobs} jobs; per step: median ms since the step before it (in the job's own order), and how many jobs had it`);
console.log('| step | median ms | jobs |');
console.log('|---|---|---|');
for (const key of order) {
  const xs = rows.get(key)!;
  at.set(key, median(xs));
  if (xs.length < jobs / 2) continue;
  console.log(`| ${key} | ${median(xs).toFixed(3)} | ${xs.length} |`);
}
