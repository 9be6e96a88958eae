/**
 * The driver thread's cost per task with the UI and event log on, off, and (with `--burn US`) off with a stand-in
 * listener that spins US µs per task, read from the kernel rather than from V8's sampler: V8's CPU profile charges
 * wall time to the frame a thread stopped in, so a driver that loses its core to the worker it just woke shows the
 * wait as `postMessage` (docs/benchmarks.md, sessions 20 and 30). Linux `perf` (root, or perf_event_paranoid ≤ 1
 * for the tracepoints) does not: `cpu-clock` samples only on-CPU time, kernel and native frames included.
 *
 * - counts (default): `perf stat --per-thread` over the measured jobs: the driver thread's on-CPU time, context
 *   switches, wake-ups it issued, syscalls, `write`s (each an eventfd write: one wake of a worker's event loop) and
 *   `futex`es; the two workers' on-CPU time, context switches (their sleeps) and wake-ups. Counts the load does not
 *   stretch.
 * - `--symbols`: `perf record -e cpu-clock` of the driver thread (`node --perf-basic-prof`, so JS functions are
 *   named), its on-CPU self time per symbol in µs per task, summed over the rounds; on minus off, largest first, and
 *   split into kernel, native (Node, V8, libc) and JS.
 *
 * Each process is a `local[2]` context, 5 warm-up jobs, then `--jobs` jobs of 4,000 empty tasks (the
 * `bench/ui-overhead.ts --processes` program); settings alternate in fresh processes, `--rounds` times.
 *
 *   npm run build && npx tsx bench/ui-oncpu.ts [--rounds 5] [--jobs 15] [--burn 2.5] [--symbols] [--top 25]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './harness.js';
import { median } from './paired.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('--rounds', 5);
const jobs = arg('--jobs', 15);
const burn = arg('--burn', 0);
const top = arg('--top', 25);
const symbols = process.argv.includes('--symbols');
if (process.platform !== 'linux' || spawnSync('perf', ['stat', '-e', 'sched:sched_wakeup', 'true']).status !== 0) {
  console.log('ui-oncpu: needs Linux perf with tracepoints (root, or kernel.perf_event_paranoid ≤ 1); skipped');
  process.exit(0);
}
const settings = burn > 0 ? ['on', 'off', 'burn'] : ['on', 'off'];
const tasks = jobs * 4000;
const dist = fileURLToPath(new URL('../dist', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-oncpu-'));
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const COUNTED = [
  'task-clock',
  'context-switches',
  'sched:sched_wakeup',
  'raw_syscalls:sys_enter',
  'syscalls:sys_enter_write',
  'syscalls:sys_enter_futex',
];
// perf starts on the process itself after the warm-up and stops (SIGINT) before sc.stop().
const program = `
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path'; import { spawn } from 'node:child_process';
const [setting, out] = process.argv.slice(2);
const { Context } = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'index.js')).href)});
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-ui-oncpu-log-'));
const sc = new Context({ master: 'local[2]', progress: false, ...(setting === 'on' ? { ui: { port: 0 }, eventLog: { dir: logDir } } : { ui: false }) });
if (setting === 'burn') sc.events.onAny((e) => { if (e.type !== 'taskBatch') return; const until = performance.now() + (e.tasks.size / 2) * ${burn} / 1000; while (performance.now() < until); },
  { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } });
const rdd = sc.parallelize([], 4000);
for (let i = 0; i < 5; i++) await rdd.count();
const perf = spawn('perf', ${
  symbols
    ? `['record', '-e', 'cpu-clock', '-c', '50000', '-t', String(process.pid), '-o', out]`
    : `['stat', '--per-thread', '-x', ',', '-e', ${JSON.stringify(COUNTED.join(','))}, '-p', String(process.pid), '-o', out]`
}, { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
for (let i = 0; i < ${jobs}; i++) await rdd.count();
perf.kill('SIGINT'); await new Promise((r) => perf.on('exit', r));
await sc.stop();
fs.rmSync(logDir, { recursive: true, force: true });
`;
const programFile = path.join(tmp, 'program.mjs');
writeFileSync(programFile, program);

console.log(
  `${symbols ? 'on-CPU self time by symbol' : 'per-thread counts'}, ${machine()}, ${rounds} rounds of ${settings.join(' / ')}` +
    `${burn > 0 ? ` (burn: UI off, a batched listener spinning ${burn} µs per task)` : ''}, ${jobs} jobs of 4,000 empty tasks, load ${load()}`,
);
type Row = Record<string, number>;
const rows: Record<string, Row[]> = {};
const bySymbol: Record<string, Map<string, number>> = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const s of settings) {
      const out = path.join(tmp, `${s}-${r}.out`);
      execFileSync(process.execPath, [...(symbols ? ['--perf-basic-prof'] : []), programFile, s, out], { stdio: 'inherit' });
      if (symbols) addSymbols((bySymbol[s] ??= new Map()), out);
      else (rows[s] ??= []).push(counts(out));
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`load at the end ${load()}`);
if (symbols) printSymbols();
else printCounts();

/** Per task: the driver thread (the process's first) and its two busiest other threads (the workers). */
function counts(file: string): Row {
  const byThread = new Map<number, Record<string, number>>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [thread, value, , event] = line.split(',');
    if (!thread?.startsWith('node-') || event === undefined) continue;
    const tid = Number(thread.slice(thread.lastIndexOf('-') + 1));
    const t = byThread.get(tid) ?? {};
    t[event] = Number(value) || 0;
    byThread.set(tid, t);
  }
  const tids = [...byThread.keys()].sort((a, b) => a - b);
  const main = byThread.get(tids[0]!)!;
  const [w0, w1] = tids
    .slice(1)
    .map((t) => byThread.get(t)!)
    .sort((a, b) => b['task-clock']! - a['task-clock']!);
  const w = (e: string) => (w0![e]! + w1![e]!) / tasks;
  return {
    'driver on-CPU µs': (main['task-clock']! * 1000) / tasks,
    'driver switches': main['context-switches']! / tasks,
    'driver wake-ups issued': main['sched:sched_wakeup']! / tasks,
    'driver syscalls': main['raw_syscalls:sys_enter']! / tasks,
    'driver writes (eventfd)': main['syscalls:sys_enter_write']! / tasks,
    'driver futex': main['syscalls:sys_enter_futex']! / tasks,
    'workers on-CPU µs': w('task-clock') * 1000,
    'workers switches': w('context-switches'),
    'workers wake-ups issued': w('sched:sched_wakeup'),
  };
}

function printCounts(): void {
  console.log(`per task, median of ${rounds} processes (all values after |)`);
  console.log(`${''.padEnd(26)}${settings.map((s) => s.padEnd(9)).join('')}`);
  for (const k of Object.keys(rows[settings[0]!]![0]!)) {
    const cells = settings
      .map((s) =>
        median(rows[s]!.map((r) => r[k]!))
          .toFixed(3)
          .padEnd(9),
      )
      .join('');
    const all = settings.map((s) => rows[s]!.map((r) => r[k]!.toFixed(2)).join(' ')).join(' | ');
    console.log(`${k.padEnd(26)}${cells}| ${all}`);
  }
}

function addSymbols(into: Map<string, number>, file: string): void {
  const report = execFileSync('perf', ['report', '-i', file, '--no-children', '--sort', 'sym', '--stdio', '-F', 'sample,sym'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  for (const line of report.split('\n')) {
    const m = /^\s*(\d+)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (m === null) continue;
    // JS functions as `JS:*name file:///…:line:col`: the path kept, so that the UI's and the scheduler's code show apart.
    const key = `${m[2] === 'k' ? 'kernel' : m[3]!.startsWith('JS:') ? 'JS' : 'native'} ${m[3]!.trim()}`;
    into.set(key, (into.get(key) ?? 0) + Number(m[1]));
  }
}

function printSymbols(): void {
  // 50 µs a sample, summed over the rounds: µs per task.
  const us = (s: string, k: string) => ((bySymbol[s]!.get(k) ?? 0) * 50) / tasks / rounds;
  const groups = ['kernel', 'native', 'JS'];
  for (const s of settings) {
    const keys = [...bySymbol[s]!.keys()];
    const part = (g: string) => keys.filter((k) => k.startsWith(`${g} `)).reduce((a, k) => a + us(s, k), 0);
    console.log(
      `${s}: ${keys.reduce((a, k) => a + us(s, k), 0).toFixed(2)} µs per task on-CPU (${groups.map((g) => `${g} ${part(g).toFixed(2)}`).join(', ')})`,
    );
  }
  for (const other of settings.filter((s) => s !== 'off')) {
    const keys = [...new Set([...bySymbol[other]!.keys(), ...bySymbol.off!.keys()])];
    const diff = (k: string) => us(other, k) - us('off', k);
    keys.sort((a, b) => diff(b) - diff(a));
    console.log(`\n${other} minus off, µs per task (largest ${top}, then the ${Math.min(5, top)} most negative):`);
    for (const k of [...keys.slice(0, top), ...keys.slice(-Math.min(5, top))])
      console.log(
        `${(diff(k) >= 0 ? '+' : '') + diff(k).toFixed(3)}  (${us(other, k).toFixed(3)} vs ${us('off', k).toFixed(3)})  ${k.slice(0, 140)}`,
      );
  }
}
