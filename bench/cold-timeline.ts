/**
 * One cold word count on one clock, phase by phase, with every thread's CPU in each phase: where the COST row's wall
 * goes that is not the two workers running map work side by side (issue 8). Each run is a fresh process running the
 * COST program (`bench/cost-run.ts`'s word count: textFile → flatMap(split) → map([w, 1]) → reduceByKey(+) →
 * collectAsMap on local[2], default options, UI on) with marks from its own script and the hop trace's task steps
 * (`KINDLING_HOP_TRACE`, src/util/hop-trace.ts), while this process samples the child's threads every 5 ms from
 * `/proc/PID/task/*\/schedstat` (Linux). Per phase it prints the wall, the CPU of the driver's main thread, of each
 * worker thread and of the others (V8's compiler and GC helpers, tsx's loader thread, libuv), and the mean number of
 * the child's threads that were runnable (on a core or waiting for one). Below 2 on this 2-core machine, a quiet run
 * would leave a core idle for that phase; 2 or more, the phase is bound by CPU. Under load, wall times stretch but the
 * CPU columns and the runnable count still hold (a thread waiting for a core counts as runnable). The last column is
 * the minor page faults of all the child's threads (`/proc/PID/task/*\/stat`): a count the load does not stretch, and
 * on this VM a first touch of a page costs tens of µs, so a phase that grows a heap (a Map's table, a young
 * generation) or tears one down pays for memory more than for instructions (docs/benchmarks.md, session 34).
 *
 *   npx tsx bench/cold-timeline.ts [--runs 2] [--workload wordcount|wordcount-hc] [--tree DIR]
 *
 * `--tree`: the checkout whose `dist/` the child imports (a base tree, to compare), built and with its data.
 *
 * Phases: start (spawn to kindling imported), context, workers (context to the first map task computing: the
 * workers' start and the job's launch), maps (both map tasks computing), straggler (first map task done to the last),
 * reduce (last map task done to the last reduce task done: launch, fetch, combine, result sent), result (to
 * collectAsMap's return: the driver builds the Map from the reduce tasks' columns), digest (the user's loop over the
 * Map), stop (`sc.stop()`), exit (stop's return to the process gone: Node's and V8's teardown).
 *
 * The trace itself costs the reduce phase a little: with it on, the driver serializes each task batch once more to log
 * its size, and a reduce task's views of shared memory are copied by that (docs/benchmarks.md, session 24: 13-36 ms of
 * the driver's time at load 10); the engine without the trace does not pay it.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseHops } from '../src/util/hop-trace.js';
import { textParams } from './cost-data.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const now = (): number => performance.timeOrigin + performance.now();

if (args.includes('--child')) await child();
else await parent();

/** The COST program in the child, with its marks on stdout (epoch ms, the hop trace's clock). */
async function child(): Promise<void> {
  const mark = (m: string): void => void process.stdout.write(`MARK ${m} ${now().toFixed(3)}\n`);
  const tree = process.cwd();
  mark('script');
  const { Context } = (await import(pathToFileURL(path.join(tree, 'dist/entry.js')).href)) as typeof import('kindling');
  const { ensureDataset } = (await import(pathToFileURL(path.join(tree, 'dist/datagen/entry.js')).href)) as typeof import('kindling/datagen');
  mark('imported');
  const sc = new Context({ master: 'local[2]' });
  mark('context');
  const file = await ensureDataset('text', 'data', textParams(arg('--workload') ?? 'wordcount', false));
  const counts = await sc
    .textFile(file)
    .flatMap((line) => line.split(' '))
    .map((word): [string, number] => [word, 1])
    .reduceByKey((a, b) => a + b)
    .collectAsMap();
  mark('collected');
  let words = 0;
  for (const [, n] of counts) words += n;
  mark('digest');
  await sc.stop();
  mark('stopped');
  process.stdout.write(`RESULT ${counts.size} ${words}\n`);
}

interface Sample {
  t: number;
  /** tid → [on-CPU ms, runqueue wait ms, minor page faults] since the thread started. */
  threads: Map<string, [number, number, number]>;
}

/** Runs the child `--runs` times, sampling its threads, and prints each run's phases and the medians. */
async function parent(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('cold-timeline: needs Linux (/proc/PID/task/*/schedstat); skipped');
    return;
  }
  const runs = Number(arg('--runs') ?? 2);
  const tree = path.resolve(arg('--tree') ?? '.');
  const workload = arg('--workload') ?? 'wordcount';
  const self = path.resolve(process.argv[1]!);
  const all: Map<string, number[]>[] = [];
  console.log(`cold-timeline: ${workload}, tree ${tree}, ${runs} fresh processes, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
  for (let r = 0; r < runs; r++) {
    const trace = path.join(os.tmpdir(), `kindling-cold-timeline-${process.pid}-${r}.tsv`);
    rmSync(trace, { force: true });
    const spawned = now();
    const proc = spawn(process.execPath, ['--import', 'tsx', self, '--child', '--workload', workload], {
      cwd: tree,
      env: { ...process.env, KINDLING_HOP_TRACE: trace },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const samples: Sample[] = [];
    const sample = (): void => {
      const threads = new Map<string, [number, number, number]>();
      try {
        for (const tid of readdirSync(`/proc/${proc.pid}/task`)) {
          try {
            const [cpu, wait] = readFileSync(`/proc/${proc.pid}/task/${tid}/schedstat`, 'utf8').split(' ');
            // minflt is the 10th field of stat; the name before it (in parentheses) may hold spaces.
            const faults = readFileSync(`/proc/${proc.pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7];
            threads.set(tid, [Number(cpu) / 1e6, Number(wait) / 1e6, Number(faults)]);
          } catch {
            // The thread ended between the listing and the read.
          }
        }
      } catch {
        return; // the process is gone
      }
      samples.push({ t: now(), threads });
    };
    const timer = setInterval(sample, 5);
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    clearInterval(timer);
    const exited = now();
    if (code !== 0) throw new Error(`cold-timeline: run ${r} exited with ${code}`);
    const marks = new Map(
      out
        .split('\n')
        .filter((l) => l.startsWith('MARK '))
        .map((l) => {
          const [, m, t] = l.split(' ');
          return [m!, Number(t)] as const;
        }),
    );
    const hops = parseHops(readFileSync(trace, 'utf8')).sort((a, b) => a.t - b.t);
    rmSync(trace, { force: true });
    const phases = phasesOf(spawned, exited, marks, hops, samples, String(proc.pid));
    console.log(
      `\nrun ${r + 1} (${out
        .match(/RESULT (\d+) (\d+)/)
        ?.slice(1)
        .join(' distinct, ')} words; load ${os.loadavg()[0]!.toFixed(1)})`,
    );
    printPhases(phases);
    all.push(new Map(phases.map((p) => [p.name, [p.wall, p.driver, ...p.workers, p.others, p.runnable, p.faults]])));
  }
  if (runs > 1) {
    console.log(`\nmedians over ${runs} runs`);
    const names = [...all[0]!.keys()];
    printPhases(
      names.map((name) => {
        const col = (i: number): number => median(all.map((m) => m.get(name)![i]!));
        return { name, wall: col(0), driver: col(1), workers: [col(2), col(3)], others: col(4), runnable: col(5), faults: col(6) };
      }),
    );
  }
}

interface Phase {
  name: string;
  wall: number;
  driver: number;
  /** Each worker thread's CPU, in the order their first map task started computing. */
  workers: number[];
  others: number;
  runnable: number;
  /**
   * Minor page faults of all the child's threads (a thread that ended before the phase did takes its last ones along).
   * On this VM a first touch of a page costs tens of µs (sessions 29 and 34), so a phase that grows the heap pays for
   * it in faults as much as in instructions.
   */
  faults: number;
}

function phasesOf(
  spawned: number,
  exited: number,
  marks: ReadonlyMap<string, number>,
  hops: ReturnType<typeof parseHops>,
  samples: readonly Sample[],
  pid: string,
): Phase[] {
  const m = (name: string): number => {
    const t = marks.get(name);
    if (t === undefined) throw new Error(`cold-timeline: the child printed no mark ${name}`);
    return t;
  };
  // Job 0's first stage is the map stage: its tasks computed before the stage finished; the rest are reduce tasks.
  const stageDone = hops.find((h) => h.step === 'dag.stageFinished')?.t ?? Number.POSITIVE_INFINITY;
  const steps = (step: string): { t: number; tid: string }[] =>
    hops.filter((h) => h.step === step && h.job === 0).map((h) => ({ t: h.t, tid: h.detail.split(' ').at(-1)! }));
  const mapStarts = steps('w.inputs').filter((h) => h.t < stageDone);
  const mapEnds = steps('w.computed').filter((h) => h.t <= stageDone);
  const reduceEnds = steps('w.computed').filter((h) => h.t > stageDone);
  if (mapStarts.length === 0 || mapEnds.length === 0 || reduceEnds.length === 0)
    throw new Error('cold-timeline: the hop trace has no map or reduce task steps');
  const workerTids = [...new Set(mapStarts.map((h) => h.tid))];
  const firstMap = Math.min(...mapStarts.map((h) => h.t));
  const bounds: [string, number, number][] = [
    ['start', spawned, m('imported')],
    ['context', m('imported'), m('context')],
    ['workers', m('context'), firstMap],
    ['maps', firstMap, Math.min(...mapEnds.map((h) => h.t))],
    ['straggler', Math.min(...mapEnds.map((h) => h.t)), Math.max(...mapEnds.map((h) => h.t))],
    ['reduce', Math.max(...mapEnds.map((h) => h.t)), Math.max(...reduceEnds.map((h) => h.t))],
    ['result', Math.max(...reduceEnds.map((h) => h.t)), m('collected')],
    ['digest', m('collected'), m('digest')],
    ['stop', m('digest'), m('stopped')],
    ['exit', m('stopped'), exited],
  ];
  // The sample at or before `t` (the first one for earlier times: the child had not started its threads).
  const at = (t: number): Sample => {
    let lo = 0;
    for (let hi = samples.length - 1; lo < hi; ) {
      const mid = (lo + hi + 1) >> 1;
      if (samples[mid]!.t <= t) lo = mid;
      else hi = mid - 1;
    }
    return samples[lo]!;
  };
  const last = samples.at(-1)!;
  return bounds.map(([name, from, to]) => {
    const a = from <= samples[0]!.t ? { t: from, threads: new Map<string, [number, number, number]>() } : at(from);
    const b = to >= last.t ? last : at(to);
    let driver = 0;
    let others = 0;
    let demand = 0;
    let faults = 0;
    const workers = workerTids.map(() => 0);
    for (const [tid, [cpu, wait, flt]] of b.threads) {
      const [cpu0, wait0, flt0] = a.threads.get(tid) ?? [0, 0, 0];
      const d = cpu - cpu0;
      faults += flt - flt0;
      demand += d + wait - wait0;
      const w = workerTids.indexOf(tid);
      if (tid === pid) driver += d;
      else if (w >= 0) workers[w]! += d;
      else others += d;
    }
    const wall = to - from;
    return { name, wall, driver, workers, others, runnable: b.t > a.t ? demand / (b.t - a.t) : 0, faults };
  });
}

function printPhases(phases: readonly Phase[]): void {
  const f = (x: number): string => x.toFixed(0).padStart(6);
  console.log(
    `${'phase'.padEnd(10)} ${'wall'.padStart(6)} ${'driver'.padStart(6)} ${'wrk 1'.padStart(6)} ${'wrk 2'.padStart(6)} ${'others'.padStart(6)}  runnable ${'faults'.padStart(6)}`,
  );
  let wall = 0;
  let cpu = 0;
  let faults = 0;
  for (const p of phases) {
    const c = p.driver + p.workers.reduce((s, x) => s + x, 0) + p.others;
    wall += p.wall;
    cpu += c;
    faults += p.faults;
    console.log(
      `${p.name.padEnd(10)} ${f(p.wall)} ${f(p.driver)} ${p.workers.map(f).join(' ')} ${f(p.others)}  ${p.runnable.toFixed(2).padStart(8)} ${f(p.faults)}`,
    );
  }
  console.log(
    `${'total'.padEnd(10)} ${f(wall)} cpu ${cpu.toFixed(0)} ms, ${faults.toFixed(0)} faults (ms; runnable: the child's threads on a core or waiting for one, on average; faults: minor page faults of all its threads)`,
  );
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
