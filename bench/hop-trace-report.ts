/**
 * The per-step table of a job's fixed cost, from a trace written with KINDLING_HOP_TRACE (src/util/hop-trace.ts):
 * for each job in the range, every step's time since the previous step of that job (driver and worker threads on one
 * clock), then per step the median over the jobs. Steps are named by thread role (driver, or worker w0/w1 by the
 * order the job's tasks reached them) and occurrence, so a two-stage job reads as two rounds of launch, run, report.
 *
 *   KINDLING_HOP_TRACE=/tmp/hops.tsv npx tsx bench/pagerank-timeline.ts --small --iterations 12
 *   npx tsx bench/hop-trace-report.ts /tmp/hops.tsv --jobs 4-12
 *
 * With `--workers`, instead, the balance of each job's tasks between the worker threads (Linux): per worker, the
 * span from its first task's start of computing to its last task's end, and over that span the thread's on-CPU
 * time, its runqueue wait (runnable while other threads held the cores), the rest (asleep: its event loop idle, or
 * a scavenge waiting on V8's helper threads), and its GC pauses; then the slowest worker's span over the fastest's,
 * and what the process's other threads (driver, V8 platform threads) ran during the job. A worker slower on CPU
 * for the same work runs slower code or data; one slower by runqueue wait lost its core to another thread.
 *
 *   KINDLING_HOP_TRACE=/tmp/hops.tsv npx tsx bench/cost-run.ts kindling kmeans
 *   npx tsx bench/hop-trace-report.ts /tmp/hops.tsv --workers --jobs 2-12
 *
 * With `--budget`, every thread's CPU per job (Linux), from the driver's snapshots of the process's threads at each
 * job's start: from one job's start to the next, the driver's main thread, each worker thread split into its tasks'
 * computation and the rest (rebuilding, fetching and serving, outcomes, moved outputs, GC between tasks), and the
 * other threads together (V8's platform threads: background compilation, concurrent marking, GC helpers; libuv's
 * pool), over the job's wall time. A sum above the machine's cores times the wall is impossible; a sum near it says
 * the job was bound by CPU, not by waiting; the other threads' column shows background compilation still running.
 *
 *   npx tsx bench/hop-trace-report.ts /tmp/hops.tsv --budget --jobs 2-10
 *
 * With `--phases`, a two-stage job (a PageRank iteration: map stage, reduce stage) cut into consecutive phases on one
 * clock, medians and quartiles over every job in the range of every trace given (one trace per process, so several
 * cold processes pool): the program between jobs (previous return to this runJob), the launch (runJob to the first
 * map task computing), the map stage (first map task computing to the last one's end: the only phase where both
 * workers compute at once), the hand-off (last map end to the first reduce task computing: outcome, registration,
 * launch, delivery), the reduce stage, and the finish (last reduce end to the job's return). For the map stage also
 * the faster and slower worker's time computing map tasks and their on-CPU time (schedstat), and the slower one's
 * start lag: what the straggler costs, and whether as CPU (it ran longer) or as waiting (it lost its core); and each
 * reduce task's time.
 *
 *   npx tsx bench/hop-trace-report.ts /tmp/h1.tsv /tmp/h2.tsv /tmp/h3.tsv --phases --jobs 5-12
 */
import { readFileSync } from 'node:fs';
import { parseHops, type Hop } from '../src/util/hop-trace.js';

const file = process.argv[2];
if (process.argv.includes('--phases')) {
  phases();
  process.exit(0);
}
if (file === undefined) {
  // Part of `npx kindling bench` (every benchmark): nothing to report without a trace.
  console.log('usage: npx tsx bench/hop-trace-report.ts TRACE.tsv [--jobs FROM-TO]');
  process.exit(0);
}
const j = process.argv.indexOf('--jobs');
const [from, to] = j >= 0 ? process.argv[j + 1]!.split('-').map(Number) : [2, Number.MAX_SAFE_INTEGER];
const hops: Hop[] = parseHops(readFileSync(file, 'utf8')).sort((a, b) => a.t - b.t);
// A job's window: from the driver's ctx.runJob before its dag.stagesBuilt to its ctx.returned.
if (process.argv.includes('--workers')) {
  workerBalance();
  process.exit(0);
}
if (process.argv.includes('--budget')) {
  cpuBudget();
  process.exit(0);
}
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
    // GC pauses are not steps of the job (see --workers).
    if (x.step === 'gc') continue;
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
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
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

/** Each task's stage (task id to stage id): the driver launches a stage's tasks right after submitting its task set. */
function stagesOfTasks(trace: readonly Hop[]): Map<string, string> {
  const stageOf = new Map<string, string>();
  let stage = '';
  for (const h of trace) {
    if (h.thread !== 'driver') continue;
    if (h.step === 'dag.taskSetSubmit') stage = h.detail;
    else if (h.step === 'ts.launched') stageOf.set(h.detail, stage);
  }
  return stageOf;
}

/** The `--workers` table (see the file's comment). */
function workerBalance(): void {
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  // GC kinds of Node's performance entries.
  const kinds: Record<string, string> = { '1': 'scavenge', '2': 'mark-compact', '4': 'incremental', '8': 'weak callbacks' };
  const stageOf = stagesOfTasks(hops);
  console.log("per stage of a job and worker: compute span ms (its first task's start of computing to its last task's end) =");
  console.log('on CPU + runqueue wait + asleep; GC pauses in the span (count, ms; kinds other than scavenges named)');
  console.log('| job | stage | worker | span | on CPU | runqueue | asleep | GC | slowest / fastest span | other threads on CPU over the job |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const excess: [ratio: number, span: number, cpu: number, wait: number, gc: number][] = [];
  const jobIds = [...new Set(hops.filter((h) => h.step === 'w.inputs' && h.job >= from! && h.job <= to!).map((h) => h.job))];
  for (const job of jobIds) {
    const mine = hops.filter((h) => h.job === job && (h.step === 'w.inputs' || h.step === 'w.computed'));
    const stages = [...new Set(mine.map((h) => stageOf.get(h.detail.split(' ')[0]!) ?? '?'))];
    const workerTids = new Set(mine.map((h) => h.detail.split(' ')[4]));
    const lines: string[] = [];
    for (const st of stages) {
      const spans: number[] = [];
      const parts: [span: number, cpu: number, wait: number, gcMs: number][] = [];
      const rowsOf: string[] = [];
      const threads = [...new Set(mine.map((h) => h.thread))].sort();
      for (const thread of threads) {
        const ofStage = mine.filter((h) => h.thread === thread && (stageOf.get(h.detail.split(' ')[0]!) ?? '?') === st);
        const starts = ofStage.filter((h) => h.step === 'w.inputs');
        const ends = ofStage.filter((h) => h.step === 'w.computed');
        if (starts.length === 0 || ends.length === 0) continue;
        const a = starts[0]!;
        const b = ends[ends.length - 1]!;
        const [, run0, wait0] = a.detail.split(' ').map(Number);
        const [, run1, wait1] = b.detail.split(' ').map(Number);
        const span = b.t - a.t;
        spans.push(span);
        const cpu = run1! - run0!;
        const wait = wait1! - wait0!;
        const gcs = hops.filter((h) => h.thread === thread && h.step === 'gc' && h.t >= a.t && h.t < b.t);
        const gcMs = gcs.reduce((sum, h) => sum + Number(h.detail.split(' ')[1]), 0);
        parts.push([span, cpu / 1e6, wait / 1e6, gcMs]);
        const other = new Map<string, number>();
        for (const g of gcs) {
          const kind = kinds[g.detail.split(' ')[0]!] ?? g.detail;
          if (kind !== 'scavenge') other.set(kind, (other.get(kind) ?? 0) + 1);
        }
        const named = [...other].map(([k, n]) => `, ${n} ${k}`).join('');
        const times = Number.isFinite(cpu) ? [ms(cpu), ms(wait), ms(span * 1e6 - cpu - wait)] : ['?', '?', '?'];
        rowsOf.push(
          `| ${job} | ${st} | ${thread} (${starts.length} tasks) | ${span.toFixed(1)} | ${times.join(' | ')} | ${gcs.length}, ${gcMs.toFixed(1)}${named} |`,
        );
      }
      const ratio = spans.length > 1 ? (Math.max(...spans) / Math.max(Math.min(...spans), 1e-3)).toFixed(2) : '';
      for (let i = 0; i < rowsOf.length; i++) lines.push(`${rowsOf[i]} ${i === 0 ? ratio : ''} |`);
      // Stages of more than 10 ms on two workers or more: what the slowest worker spent beyond the fastest.
      if (parts.length > 1 && Math.min(...spans) > 10) {
        const slow = parts.reduce((x, y) => (y[0] > x[0] ? y : x));
        const fast = parts.reduce((x, y) => (y[0] < x[0] ? y : x));
        excess.push([slow[0] / fast[0], slow[0] - fast[0], slow[1] - fast[1], slow[2] - fast[2], slow[3] - fast[3]]);
      }
    }
    // The driver's snapshots around the job: every thread but the workers, over the whole job.
    const first = Math.min(...mine.map((h) => h.t));
    const last = Math.max(...mine.map((h) => h.t));
    const begin = hops.filter((h) => h.thread === 'driver' && h.step === 'ctx.runJob' && h.t <= first).at(-1);
    const end = hops.find((h) => h.thread === 'driver' && h.step === 'ctx.returned' && h.t >= last);
    let others = '';
    if (begin !== undefined && end !== undefined && begin.detail !== '' && end.detail !== '') {
      const parse = (d: string): Map<string, number> =>
        new Map(
          d.split(',').map((x) => {
            const [tid, , run] = x.split(':');
            return [tid!, Number(run)];
          }),
        );
      const before = parse(begin.detail);
      // The process's first thread (its id is the pid) is the driver.
      const main = [...before.keys()].sort((x, y) => Number(x) - Number(y))[0];
      let driver = 0;
      let rest = 0;
      for (const [tid, run] of parse(end.detail)) {
        if (workerTids.has(tid)) continue;
        const used = run - (before.get(tid) ?? 0);
        if (tid === main) driver += used;
        else rest += used;
      }
      others = `driver ${ms(driver)}, others ${ms(rest)}`;
    }
    for (let i = 0; i < lines.length; i++) console.log(`${lines[i]} ${i === 0 ? others : ''} |`);
  }
  if (excess.length > 0) {
    const med = (i: number): string => median(excess.map((e) => e[i]!)).toFixed(i === 0 ? 2 : 1);
    console.log(
      `\n${excess.length} stages over 10 ms: slowest / fastest worker's span, median ${med(0)}; the slowest's excess, median ms: ` +
        `span ${med(1)} = on CPU ${med(2)} + runqueue ${med(3)} + asleep (rest); of which GC pauses ${med(4)}`,
    );
  }
}

/** The `--budget` table (see the file's comment). */
function cpuBudget(): void {
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  const snap = (d: string): Map<string, number> =>
    new Map(
      d.split(',').map((x) => {
        const [tid, , run] = x.split(':');
        return [tid!, Number(run)];
      }),
    );
  const starts = hops.filter((h) => h.thread === 'driver' && h.step === 'ctx.runJob' && h.detail !== '');
  // Each worker thread's id (its task's schedstat line names it) and the on-CPU time of its tasks' computations.
  const tidOf = new Map<string, string>();
  const computeNs = new Map<string, number>();
  const open = new Map<string, Hop>();
  for (const h of hops) {
    if (h.step === 'w.inputs') {
      open.set(h.thread, h);
      const tid = h.detail.split(' ')[4];
      if (tid !== undefined) tidOf.set(h.thread, tid);
    } else if (h.step === 'w.computed' && open.has(h.thread)) {
      const a = open.get(h.thread)!;
      open.delete(h.thread);
      const used = Number(h.detail.split(' ')[1]) - Number(a.detail.split(' ')[1]);
      if (Number.isFinite(used)) computeNs.set(`${h.thread} ${h.job}`, (computeNs.get(`${h.thread} ${h.job}`) ?? 0) + used);
    }
  }
  const workers = [...tidOf.keys()].sort();
  const workerTids = new Set(tidOf.values());
  console.log("CPU ms per job, from its start to the next job's: the driver, each worker (its tasks computing + the rest), the");
  console.log("process's other threads; the sum over the wall time is the cores in use on average");
  const head = workers.map((w) => `${w} compute + rest`).join(' | ');
  console.log(`| job | wall | driver | ${head} | other threads | sum | sum / wall |`);
  console.log(`|---|---|---|${workers.map(() => '---|').join('')}---|---|---|`);
  const cols: number[][] = [];
  for (let i = 0; i + 1 < starts.length; i++) {
    const a = starts[i]!;
    const b = starts[i + 1]!;
    const job = hops.find((h) => h.thread === 'driver' && h.step === 'dag.stagesBuilt' && h.t >= a.t && h.t < b.t)?.job;
    if (job === undefined || job < from! || job > to!) continue;
    const before = snap(a.detail);
    const after = snap(b.detail);
    const main = [...before.keys()].sort((x, y) => Number(x) - Number(y))[0];
    const used = (tid: string): number => (after.get(tid) ?? 0) - (before.get(tid) ?? 0);
    let others = 0;
    for (const tid of after.keys()) if (tid !== main && !workerTids.has(tid)) others += used(tid);
    const wall = b.t - a.t;
    const row: number[] = [wall, used(main!) / 1e6];
    const cells: string[] = [];
    let sum = used(main!) + others;
    for (const w of workers) {
      const total = used(tidOf.get(w)!);
      const comp = computeNs.get(`${w} ${job}`) ?? 0;
      sum += total;
      cells.push(`${ms(comp)} + ${ms(total - comp)}`);
      row.push(comp / 1e6, (total - comp) / 1e6);
    }
    row.push(others / 1e6, sum / 1e6, sum / 1e6 / wall);
    cols.push(row);
    console.log(
      `| ${job} | ${wall.toFixed(1)} | ${ms(used(main!))} | ${cells.join(' | ')} | ${ms(others)} | ${ms(sum)} | ${(sum / 1e6 / wall).toFixed(2)} |`,
    );
  }
  if (cols.length === 0) return;
  const med = (k: number): string => median(cols.map((r) => r[k]!)).toFixed(k === cols[0]!.length - 1 ? 2 : 1);
  const wcells = workers.map((_, i) => `${med(2 + 2 * i)} + ${med(3 + 2 * i)}`);
  const n = cols[0]!.length;
  console.log(`| median | ${med(0)} | ${med(1)} | ${wcells.join(' | ')} | ${med(n - 3)} | ${med(n - 2)} | ${med(n - 1)} |`);
}

/** The `--phases` table (see the file's comment): every trace named on the command line, pooled. */
function phases(): void {
  const args = process.argv.slice(2);
  const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--jobs');
  const [lo, hi] = args.includes('--jobs') ? args[args.indexOf('--jobs') + 1]!.split('-').map(Number) : [2, Number.MAX_SAFE_INTEGER];
  const names = ['between jobs', 'launch', 'map stage', 'hand-off', 'reduce stage', 'finish', 'job cycle'] as const;
  const rows = new Map<string, number[]>(
    [
      ...names,
      'map tasks, faster worker',
      'map tasks, slower worker',
      'on CPU, faster worker',
      'on CPU, slower worker',
      "slower worker's start lag",
      'reduce task',
      'reduce task on CPU',
    ].map((n) => [n, []]),
  );
  const add = (name: string, ms: number): void => void rows.get(name)!.push(ms);
  let jobs = 0;
  for (const f of files) {
    const all = parseHops(readFileSync(f, 'utf8')).sort((a, b) => a.t - b.t);
    const stageOf = stagesOfTasks(all);
    const driver = (step: string): Hop[] => all.filter((h) => h.thread === 'driver' && h.step === step);
    const runJobs = driver('ctx.runJob');
    const returns = driver('ctx.returned');
    for (const job of new Set(all.filter((h) => h.step === 'w.inputs' && h.job >= lo! && h.job <= hi!).map((h) => h.job))) {
      const tasks = new Map<string, { start: Hop; end?: Hop }>();
      for (const h of all) {
        if (h.job !== job || (h.step !== 'w.inputs' && h.step !== 'w.computed')) continue;
        const id = h.detail.split(' ')[0]!;
        if (h.step === 'w.inputs') tasks.set(id, { start: h });
        else if (tasks.has(id)) tasks.get(id)!.end = h;
      }
      const stages = [...new Set([...tasks.keys()].map((id) => stageOf.get(id) ?? '?'))];
      const done = [...tasks.values()].filter((x) => x.end !== undefined) as Array<{ start: Hop; end: Hop }>;
      // Two stages of two tasks or more each, every task ended: one iteration's shape.
      if (stages.length !== 2 || done.length !== tasks.size) continue;
      const of = (st: string): Array<{ start: Hop; end: Hop }> =>
        done.filter((x) => stageOf.get(x.start.detail.split(' ')[0]!) === st).sort((a, b) => a.start.t - b.start.t);
      const [map, reduce] = [of(stages[0]!), of(stages[1]!)].sort((a, b) => a[0]!.start.t - b[0]!.start.t) as [typeof done, typeof done];
      if (map.length < 2 || reduce.length < 1) continue;
      const begin = runJobs.filter((h) => h.t <= map[0]!.start.t).at(-1);
      const before = begin === undefined ? undefined : returns.filter((h) => h.t <= begin.t).at(-1);
      const end = returns.find((h) => h.t >= reduce.at(-1)!.end.t);
      if (begin === undefined || before === undefined || end === undefined) continue;
      jobs++;
      const mapEnd = Math.max(...map.map((x) => x.end.t));
      const reduceStart = Math.min(...reduce.map((x) => x.start.t));
      const reduceEnd = Math.max(...reduce.map((x) => x.end.t));
      add('between jobs', begin.t - before.t);
      add('launch', map[0]!.start.t - begin.t);
      add('map stage', mapEnd - map[0]!.start.t);
      add('hand-off', reduceStart - mapEnd);
      add('reduce stage', reduceEnd - reduceStart);
      add('finish', end.t - reduceEnd);
      add('job cycle', end.t - before.t);
      // Per worker, its map tasks' computing time and on-CPU time (schedstat readings); the slower worker is the one
      // whose last map task ends last (with one task a worker, as PageRank's, the slower task).
      const cpu = (x: { start: Hop; end: Hop }): number => (Number(x.end.detail.split(' ')[1]) - Number(x.start.detail.split(' ')[1])) / 1e6;
      const workers = [...new Set(map.map((x) => x.start.thread))].map((thread) => {
        const mine = map.filter((x) => x.start.thread === thread);
        return {
          start: Math.min(...mine.map((x) => x.start.t)),
          end: Math.max(...mine.map((x) => x.end.t)),
          computing: unionLength(mine.map((x) => [x.start.t, x.end.t] as const)),
          onCpu: mine.reduce((sum, x) => sum + cpu(x), 0),
        };
      });
      if (workers.length > 1) {
        workers.sort((a, b) => a.end - b.end);
        const fast = workers[0]!;
        const slow = workers.at(-1)!;
        add('map tasks, faster worker', fast.computing);
        add('map tasks, slower worker', slow.computing);
        if (Number.isFinite(fast.onCpu) && Number.isFinite(slow.onCpu)) {
          add('on CPU, faster worker', fast.onCpu);
          add('on CPU, slower worker', slow.onCpu);
        }
        add("slower worker's start lag", slow.start - map[0]!.start.t);
      }
      for (const x of reduce) {
        add('reduce task', x.end.t - x.start.t);
        if (Number.isFinite(cpu(x))) add('reduce task on CPU', cpu(x));
      }
    }
  }
  const q = (xs: number[], p: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  };
  console.log(`${jobs} two-stage jobs (${lo}-${hi === Number.MAX_SAFE_INTEGER ? 'end' : hi}) from ${files.length} trace(s); ms on one clock`);
  // On-CPU readings move at the kernel's ticks (a few ms): of a short task, the mean over many is the figure to read.
  console.log('| phase | median | p25 | p75 | mean | share of the median cycle |');
  console.log('|---|---|---|---|---|---|');
  const cycle = jobs > 0 ? median(rows.get('job cycle')!) : Number.NaN;
  for (const [name, xs] of rows) {
    if (xs.length === 0) continue;
    const share = (names as readonly string[]).includes(name) && name !== 'job cycle' ? `${((100 * median(xs)) / cycle).toFixed(0)} %` : '';
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`| ${name} | ${median(xs).toFixed(2)} | ${q(xs, 0.25).toFixed(2)} | ${q(xs, 0.75).toFixed(2)} | ${mean.toFixed(2)} | ${share} |`);
  }
}

/**
 * The length of the union of `spans`: a worker's tasks can overlap (a task that reaches its inputs while another's
 * computation awaits between its parts), and a sum would count the overlap twice, reading more than the stage.
 */
function unionLength(spans: ReadonlyArray<readonly [number, number]>): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let from = Number.NEGATIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const [a, b] of sorted) {
    if (a > to) {
      if (to > from) total += to - from;
      from = a;
      to = b;
    } else if (b > to) to = b;
  }
  if (to > from) total += to - from;
  return total;
}
