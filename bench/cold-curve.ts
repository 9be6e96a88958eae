/**
 * A cold worker's first job against its later ones, on one clock: `--jobs` word counts in one context (local[2], the
 * COST program's pipeline over the 50 MiB Zipf text), each worker's map task sampled every `--chunk` lines by its own
 * thread's on-CPU time (Linux's `/proc/thread-self/schedstat`). Per job and worker it prints the first four chunks'
 * CPU beyond the job's steady rate (the median chunk of its second half), which is the warm-up the job pays (JIT
 * tiers, first-touch faults, the young generation's growth), the steady ms per chunk and the map task's total. On
 * one thread's clock, waiting for a core does not count, so the curve holds at a load where wall time means nothing;
 * a busy machine still stretches every chunk (cache and memory contention), so compare jobs of one run, and trees
 * run by run, alternating.
 *
 *   npx tsx bench/cold-curve.ts [--jobs 4] [--chunk 20000] [--runs 1]
 *
 * The split function captures nothing, so every job runs the same function object in a worker (as the COST
 * program's does); it counts lines in a global of the worker and writes a sample line to a file named by an
 * environment variable the workers inherit. A job's map task starts at the first line after a pause in that worker
 * (sampled too); job windows come from the driver on the same clock as the samples (`performance.timeOrigin +
 * performance.now()`). The first chunk of a task is partial (chunks count lines across tasks), so each chunk's ms are
 * scaled to `--chunk` lines. At load 15-20 the jobs of one run still differ by ±10-15 % in total: read several runs.
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';

const args = process.argv.slice(2);
const numberArg = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const jobs = numberArg('--jobs', 4);
const chunk = numberArg('--chunk', 20_000);
const runs = numberArg('--runs', 1);
if (process.platform !== 'linux') {
  console.log('cold-curve: needs Linux (/proc/thread-self/schedstat); skipped');
  process.exit(0);
}

const input = await ensureDataset('text', 'data', { bytes: 50 * 1024 * 1024 });
const samples = path.join(os.tmpdir(), `kindling-cold-curve-${process.pid}.tsv`);
process.env['KINDLING_COLD_CURVE_FILE'] = samples;
process.env['KINDLING_COLD_CURVE_CHUNK'] = String(chunk);

interface CurveState {
  n: number;
  last: number;
  every: number;
  file: string;
  fs: typeof import('node:fs');
  threadId: number;
}

/** `line.split(' ')`, sampling this thread's on-CPU ns every `every` lines. */
const split = (line: string): string[] => {
  const g = globalThis as unknown as { __coldCurve?: CurveState };
  let s = g.__coldCurve;
  if (s === undefined) {
    const get = (process as unknown as { getBuiltinModule(id: string): unknown }).getBuiltinModule;
    s = g.__coldCurve = {
      n: 0,
      last: Number.NEGATIVE_INFINITY,
      every: Number(process.env['KINDLING_COLD_CURVE_CHUNK']),
      file: process.env['KINDLING_COLD_CURVE_FILE']!,
      fs: get('node:fs') as typeof import('node:fs'),
      threadId: (get('node:worker_threads') as typeof import('node:worker_threads')).threadId,
    };
  }
  // A map task's lines come microseconds apart; a pause means the next task may have started (its reduce, the
  // driver's merge and the next job's launch lie between), so the line after one is sampled too. A pause inside a
  // task (the thread preempted) adds a sample the report ignores: it takes the first of a job's window as the start.
  // (150 is a literal: the function runs in the worker and captures nothing.)
  const t = performance.now();
  const pause = t - s.last > 150;
  s.last = t;
  s.n++;
  if (pause || s.n % s.every === 0) {
    const onCpuNs = s.fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0];
    s.fs.appendFileSync(s.file, `${(performance.timeOrigin + t).toFixed(3)}\t${s.threadId}\t${onCpuNs}\t${s.n}\t${pause ? 'pause' : 'chunk'}\n`);
  }
  return line.split(' ');
};

const now = (): number => performance.timeOrigin + performance.now();
interface Sample {
  t: number;
  ns: number;
  n: number;
  pause: boolean;
}
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

for (let r = 0; r < runs; r++) {
  rmSync(samples, { force: true });
  const sc = new Context({ master: 'local[2]', progress: false, ui: false });
  const windows: Array<[number, number]> = [];
  try {
    for (let j = 0; j < jobs; j++) {
      const start = now();
      await sc
        .textFile(input)
        .flatMap(split)
        .map((w): [string, number] => [w, 1])
        .reduceByKey((a, b) => a + b)
        .collectAsMap();
      windows.push([start, now()]);
    }
  } finally {
    await sc.stop();
  }
  const byThread = new Map<string, Sample[]>();
  for (const line of readFileSync(samples, 'utf8').split('\n')) {
    if (line === '') continue;
    const [t, thread, ns, n, kind] = line.split('\t');
    let list = byThread.get(thread!);
    if (list === undefined) byThread.set(thread!, (list = []));
    list.push({ t: Number(t), ns: Number(ns), n: Number(n), pause: kind === 'pause' });
  }
  rmSync(samples, { force: true });
  console.log(`run ${r + 1} (load ${os.loadavg()[0]!.toFixed(1)}), ms of thread CPU per ${chunk} lines:`);
  for (const [thread, list] of [...byThread].sort(([a], [b]) => Number(a) - Number(b))) {
    for (let j = 0; j < windows.length; j++) {
      const [from, to] = windows[j]!;
      const inJob = list.filter((x) => x.t >= from && x.t < to);
      // The job's map task starts at its first sample after a pause; from there, its chunk samples. The first
      // chunk is partial (the chunk samples count lines across tasks), so every chunk is scaled to `chunk` lines.
      const first = inJob.findIndex((x) => x.pause);
      if (first < 0) continue;
      const points = [inJob[first]!, ...inJob.slice(first + 1).filter((x) => !x.pause)];
      const deltas: number[] = [];
      for (let i = 1; i < points.length; i++) {
        const lines = points[i]!.n - points[i - 1]!.n;
        if (lines > 0) deltas.push(((points[i]!.ns - points[i - 1]!.ns) / 1e6) * (chunk / lines));
      }
      if (deltas.length < 8) continue;
      const steady = median(deltas.slice(Math.floor(deltas.length / 2)));
      const warm = deltas.slice(0, 4).reduce((a, b) => a + b, 0) - 4 * steady;
      const total = deltas.reduce((a, b) => a + b, 0);
      console.log(
        `  worker thread ${thread} job ${j}: first 4 chunks +${warm.toFixed(0)} ms over steady ${steady.toFixed(1)} ms/chunk, ` +
          `${deltas.length} chunks ${total.toFixed(0)} ms | ${deltas.map((d) => d.toFixed(0)).join(' ')}`,
      );
    }
  }
}
