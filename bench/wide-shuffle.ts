/**
 * Many partitions: what a shuffle of M map tasks x R reducers, and a stage of thousands of tasks, cost as M and R
 * grow with the data held small (`sc.range(0, n, 1, M).repartition(R).count()`; Spark runs 1000 x 2000 routinely).
 * Each cell runs in a child process of its own (cold: a fresh context, its workers started, one job), so its peak
 * RSS is its own. Per cell: wall, the driver's CPU (the main thread, from /proc/thread-self/schedstat), the rest of
 * the process's CPU (the local workers are threads of it, with the GC's and libuv's threads), the driver's peak
 * heap (sampled every 50 ms) and the process's peak RSS (getrusage). A cell's result is checked against n.
 *
 *   npx tsx bench/wide-shuffle.ts [--maps 10,100,1000] [--reducers 10,100,1000,2000] [--tasks 20000] [--n 100000]
 *                                 [--engine memory|mapreduce] [--master local[2]] [--tree /work/other-checkout]
 *   npx tsx bench/wide-shuffle.ts --cell 1000x2001 [--prof DIR]   one cell in this process (--prof: --cpu-prof of
 *                                                                 the driver and the workers into DIR)
 *
 * `--tree` runs the cells against another checkout's build (its dist/entry.js) for a paired comparison; `--pairs K`
 * then alternates this tree and that one K times per cell and reports both (the machine is shared: say the load).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const list = (s: string): number[] => (s === '' ? [] : s.split(',').map(Number));
const here = path.dirname(fileURLToPath(import.meta.url));

interface CellResult {
  cell: string;
  wallMs: number;
  driverCpuMs: number;
  otherCpuMs: number;
  driverPeakHeapMiB: number;
  peakRssMiB: number;
  count: number;
}

const threadCpuMs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
const processCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function runCell(cell: string): Promise<CellResult> {
  const tree = opt('tree', path.join(here, '..'));
  const { Context } = (await import(pathToFileURL(path.join(tree, 'dist/entry.js')).href)) as typeof import('kindling');
  const n = Number(opt('n', '100000'));
  const [m, r] = cell.split('x').map(Number) as [number, number | undefined];
  const sc = new Context({ master: opt('master', 'local[2]'), engine: opt('engine', 'memory') as 'memory', progress: false, hints: false });
  // v8's heap statistics, not process.memoryUsage(), which reads the RSS too (1 s of the driver's CPU in 20 s).
  let peakHeap = v8.getHeapStatistics().used_heap_size;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, v8.getHeapStatistics().used_heap_size)), 50);
  const t0 = performance.now();
  const d0 = threadCpuMs();
  const p0 = processCpuMs();
  // r undefined: one stage of m tasks (a narrow job), to see a task's cost apart from the shuffle's.
  const count = r === undefined ? await sc.range(0, n, 1, m).count() : await sc.range(0, n, 1, m).repartition(r).count();
  const wallMs = performance.now() - t0;
  const driverCpuMs = threadCpuMs() - d0;
  const otherCpuMs = processCpuMs() - p0 - driverCpuMs;
  clearInterval(sampler);
  await sc.stop();
  if (count !== n) throw new Error(`cell ${cell}: counted ${count}, expected ${n}`);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  return { cell, wallMs, driverCpuMs, otherCpuMs, driverPeakHeapMiB: peakHeap / 2 ** 20, peakRssMiB, count };
}

function spawnCell(cell: string, tree: string | undefined): CellResult {
  const prof = opt('prof', '');
  const childArgs = [
    ...(prof === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]),
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--cell',
    cell,
    ...['n', 'engine', 'master'].flatMap((k) => (args.includes(`--${k}`) ? [`--${k}`, opt(k, '')] : [])),
    ...(tree === undefined ? [] : ['--tree', tree]),
  ];
  const out = spawnSync(process.execPath, childArgs, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status !== 0 || !line.startsWith('{')) throw new Error(`cell ${cell} failed (${out.status}): ${out.stderr.slice(-2000)}`);
  return JSON.parse(line) as CellResult;
}

const fmt = (c: CellResult): string =>
  `${c.cell.padStart(10)}  wall ${c.wallMs.toFixed(0).padStart(6)} ms  driver CPU ${c.driverCpuMs.toFixed(0).padStart(6)} ms  ` +
  `other CPU ${c.otherCpuMs.toFixed(0).padStart(6)} ms  driver heap ${c.driverPeakHeapMiB.toFixed(0).padStart(4)} MiB  ` +
  `peak RSS ${c.peakRssMiB.toFixed(0).padStart(5)} MiB`;

if (args.includes('--cell')) {
  console.log(JSON.stringify(await runCell(opt('cell', '10x10'))));
} else {
  const cells = [
    ...list(opt('maps', '10,100,1000')).flatMap((m) => list(opt('reducers', '10,100,1000,2000')).map((r) => `${m}x${r}`)),
    ...list(opt('tasks', '20000')).map(String),
  ];
  const other = args.includes('--tree') ? opt('tree', '') : undefined;
  const pairs = Number(opt('pairs', '1'));
  console.log(
    `wide shuffle: range(0, ${opt('n', '100000')}, 1, M).repartition(R).count() and range(...).count() of T tasks, ` +
      `${opt('engine', 'memory')} engine, ${opt('master', 'local[2]')}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  for (const cell of cells) {
    if (other === undefined) {
      console.log(fmt(spawnCell(cell, undefined)));
      continue;
    }
    for (let k = 0; k < pairs; k++) {
      // Alternating which goes first, so a change of load between the two runs does not favour one side.
      const order = k % 2 === 0 ? [undefined, other] : [other, undefined];
      for (const tree of order)
        console.log(`${tree === undefined ? 'this ' : 'other'} ${fmt(spawnCell(cell, tree))}  load ${os.loadavg()[0]!.toFixed(1)}`);
    }
  }
}
