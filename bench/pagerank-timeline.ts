/**
 * Where a later PageRank iteration's wall time goes, from the scheduler's own events: per iteration (one job of
 * two stages), the driver's gaps (job start to the first task, between the stages, last task to the job's end)
 * and each task's worker-measured times (run, fetch wait, GC, compile) against its driver-side duration. The
 * classic program of examples/pagerank.ts, cold, on local[2] with default options; run under `node --cpu-prof`
 * (worker threads inherit it) to see the same iterations as CPU samples.
 *
 * With `--sched` (Linux), each stage also gets the on-CPU and run-queue time of every thread of the process from
 * stage submission to completion (`/proc/self/task/<tid>/schedstat`, ±4 ms: the kernel updates a running thread's
 * sum at ticks and switches), the two busiest first: a map task slower because it waited for a core shows as
 * run-queue time, one that ran longer as on-CPU time (session 14). Each thread's figure ends with the CPU it was
 * last on at the stage's submission and at its completion (`@c0`, `@c1>0` when it moved), and a `MAP_ONCPU_BY_CPU`
 * line sums up the later iterations' map stages: the two busiest threads' on-CPU time by the CPU each stayed on.
 * On a VM the two vCPUs need not be equally fast, and a worker thread tends to stay on one: session 31 found the
 * slower of PageRank's two equal map tasks following the vCPU (the slow one changing between runs and within one),
 * not the partition or the worker, so read that line before blaming either.
 *
 *   npx tsx bench/pagerank-timeline.ts [--small] [--iterations 10] [--sched]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Context } from 'kindling';
import { run as pageRank } from '../examples/pagerank.js';

const small = process.argv.includes('--small');
const i = process.argv.indexOf('--iterations');
const iterations = i >= 0 ? Number(process.argv[i + 1]) : 10;
const sched = process.argv.includes('--sched');

/**
 * On-CPU and run-queue ns of each thread of this process (driver, workers, V8's and libuv's helpers), and the CPU
 * it last ran on (field 39 of its `stat`).
 */
function threadTimes(): Map<string, [number, number, number]> {
  const times = new Map<string, [number, number, number]>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ');
      // The fields after the command's closing parenthesis start at field 3.
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const cpu = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
      times.set(tid, [Number(run), Number(wait), cpu]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return times;
}
const stageThreads = new Map<number, Map<string, [number, number, number]>>();
/** Per stage, "tid on-CPU/run-queue ms @cpu" of the threads that ran at least 0.5 ms, busiest first. */
const stageSched = new Map<number, string>();
/** Per stage, the two busiest threads' on-CPU ms with the CPU they stayed on (-1 when they moved). */
const stageBusiest = new Map<number, Array<[number, number]>>();

interface Row {
  job: number;
  start: number;
  end: number;
  stages: Array<{ id: number; submitted: number; completed: number }>;
  tasks: Array<{
    stage: number;
    partition: number;
    worker: number;
    start: number;
    end: number;
    run: number;
    fetch: number;
    gc: number;
    compile: number;
  }>;
}
const jobs = new Map<number, Row>();
const stageJob = new Map<number, Row>();
const taskStarts = new Map<string, number>();
const sc = new Context({ master: 'local[2]' });
/** Monotonic microseconds (the clock of V8's CPU profiles) at each job's start and end, to cut profiles to iterations. */
const marks: string[] = [];
const micros = (): string => (process.hrtime.bigint() / 1000n).toString();
/**
 * CPU time of the whole process (driver and worker threads) at each job's start and end: unlike wall time, it
 * does not count the time other processes held the cores, so it compares two builds on a loaded machine.
 */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpuAt = new Map<number, number>();
const cpuOf = new Map<number, number>();
sc.events.on('jobStart', (e) => {
  marks.push(`job ${e.jobId} start ${micros()}`);
  cpuAt.set(e.jobId, cpuMs());
  const row: Row = { job: e.jobId, start: e.time, end: 0, stages: [], tasks: [] };
  jobs.set(e.jobId, row);
});
sc.events.on('jobEnd', (e) => {
  jobs.get(e.jobId)!.end = e.time;
  marks.push(`job ${e.jobId} end ${micros()}`);
  cpuOf.set(e.jobId, cpuMs() - cpuAt.get(e.jobId)!);
});
sc.events.on('stageSubmitted', (e) => {
  const row = jobs.get(e.jobId)!;
  row.stages.push({ id: e.stageId, submitted: e.time, completed: 0 });
  if (sched) stageThreads.set(e.stageId, threadTimes());
  stageJob.set(e.stageId, row);
});
sc.events.on('stageCompleted', (e) => {
  const s = stageJob.get(e.stageId)?.stages.find((x) => x.id === e.stageId);
  if (s !== undefined) s.completed = e.time;
  const before = stageThreads.get(e.stageId);
  if (before !== undefined) {
    const main = String(process.pid);
    const spent = [...threadTimes()]
      .map(
        ([tid, [run, wait, cpu]]) =>
          [tid, (run - (before.get(tid)?.[0] ?? 0)) / 1e6, (wait - (before.get(tid)?.[1] ?? 0)) / 1e6, before.get(tid)?.[2] ?? cpu, cpu] as const,
      )
      .filter(([, run]) => run >= 0.5)
      .sort((a, b) => b[1] - a[1]);
    stageSched.set(
      e.stageId,
      spent
        .map(([tid, run, wait, c0, c1]) => `${tid === main ? 'driver' : tid} ${run.toFixed(1)}/${wait.toFixed(1)}@c${c0 === c1 ? c0 : `${c0}>${c1}`}`)
        .join(', '),
    );
    stageBusiest.set(
      e.stageId,
      spent.slice(0, 2).map(([, run, , c0, c1]) => [run, c0 === c1 ? c0 : -1]),
    );
  }
});
sc.events.on('taskStart', (e) => {
  taskStarts.set(`${e.stageId}.${e.partition}.${e.attempt}`, e.time);
});
sc.events.on('taskEnd', (e) => {
  const row = stageJob.get(e.stageId);
  const m = e.metrics;
  if (row === undefined || m === undefined) return;
  row.tasks.push({
    stage: e.stageId,
    partition: e.partition,
    worker: e.workerIndex,
    start: taskStarts.get(`${e.stageId}.${e.partition}.${e.attempt}`) ?? e.time - e.durationMs,
    end: e.time,
    run: m.runMs,
    fetch: m.fetchWaitMs,
    gc: m.gcMs,
    compile: m.compileMs,
  });
});
/**
 * The later iterations' map stages (each job's first), their two busiest threads (the map tasks' workers) by the CPU
 * each stayed on: the median on-CPU ms per CPU over the stages where the two were on different CPUs, and how often
 * each CPU's was the slower; stages where both shared a CPU or one moved are counted apart.
 */
function mapOnCpuByCpu(rows: Row[]): string {
  const byCpu = new Map<number, number[]>();
  const slower = new Map<number, number>();
  let shared = 0;
  let moved = 0;
  for (const row of rows) {
    const busiest = stageBusiest.get(row.stages[0]?.id ?? -1);
    if (busiest?.length !== 2) continue;
    const [[runA, cpuA], [runB, cpuB]] = busiest as [[number, number], [number, number]];
    if (cpuA < 0 || cpuB < 0) moved++;
    else if (cpuA === cpuB) shared++;
    else {
      for (const [run, cpu] of busiest) byCpu.set(cpu, [...(byCpu.get(cpu) ?? []), run]);
      const slow = runA >= runB ? cpuA : cpuB;
      slower.set(slow, (slower.get(slow) ?? 0) + 1);
    }
  }
  const med = (xs: number[]): string => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1);
  const cpus = [...byCpu.keys()].sort((a, b) => a - b);
  return `MAP_ONCPU_BY_CPU ${cpus.map((c) => `cpu${c} ${med(byCpu.get(c)!)} ms (slower in ${slower.get(c) ?? 0} of ${byCpu.get(c)!.length})`).join(', ') || 'no stage on two CPUs'}; on one CPU ${shared}, moved ${moved}`;
}

try {
  const { timings, summary } = await pageRank(sc, { small, iterations });
  // What two builds must agree on (as bench/cost-run.ts prints it).
  console.log(`RESULT ${JSON.stringify({ vertices: summary.vertices, rankSum: summary.rankSum, top: summary.top.slice(0, 5) })}`);
  const f = (x: number): string => x.toFixed(1);
  const ordered = [...jobs.values()].sort((a, b) => a.job - b.job);
  // The load job first, then one job per iteration, then collectAsMap.
  ordered.forEach((row, n) => {
    const phase = timings[n]?.phase ?? '?';
    const parts = [`${phase} (job ${row.job}): ${f(row.end - row.start)} ms, CPU ${f(cpuOf.get(row.job) ?? 0)} ms`];
    let last = row.start;
    for (const s of row.stages) {
      const ts = row.tasks.filter((t) => t.stage === s.id);
      const first = Math.min(...ts.map((t) => t.start));
      parts.push(
        `  stage ${s.id}: gap before ${f(first - last)}, span ${f(s.completed - first)}; tasks ` +
          ts
            .map(
              (t) =>
                `p${t.partition}@w${t.worker} [dur ${f(t.end - t.start)} run ${f(t.run)} fetch ${f(t.fetch)} gc ${f(t.gc)} compile ${f(t.compile)}]`,
            )
            .join(' '),
      );
      if (stageSched.has(s.id)) parts.push(`    threads on-CPU/run-queue ms: ${stageSched.get(s.id)}`);
      last = s.completed;
    }
    parts.push(`  after last stage ${f(row.end - last)}`);
    console.log(parts.join('\n'));
  });
  // Iterations 2-10: the jobs after the load and the first iteration, before collectAsMap.
  const later = ordered.slice(2, -1).map((row) => cpuOf.get(row.job) ?? 0);
  const sorted = [...later].sort((a, b) => a - b);
  console.log(`LATER_CPU_MEDIAN ${f(sorted[Math.floor(sorted.length / 2)] ?? 0)} ms of ${later.length} iterations`);
  if (sched) console.log(mapOnCpuByCpu(ordered.slice(2, -1)));
  console.log(`MARKS ${marks.join(', ')}`);
  console.log(`TIMINGS ${JSON.stringify(timings.map(({ phase, ms }) => ({ phase, ms: Math.round(ms) })))}`);
} finally {
  await sc.stop();
}
console.log(`MAXRSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB, TOTAL_CPU ${Math.round(cpuMs())} ms`);
