/**
 * Are this machine's CPUs equally fast for a PageRank map task? The same work, in one process pinned to each CPU in
 * turn (the order swapped every round), CPU time per run: PageRank's later map task (this build, hash partition 0 of
 * the generated graph, see pagerank-worker-half.ts), a register-only loop, and random reads of a 1 MiB and of a
 * 64 MiB array. Printed per kind: the median per CPU and the median of each round's ratio to the first CPU.
 *
 * Why: on this 2-vCPU VM one of PageRank's two equal map tasks ran 30-50 % more CPU than the other, and session 31
 * found it following the vCPU a worker thread ran on, not the partition or the worker (the data cost the same in one
 * thread, `pagerank-map-task.ts --partition both`; the slow side changed between runs and, in one run, when the two
 * workers traded vCPUs). A vCPU that is slow for memory-bound code but not for the register-only loop points below
 * the guest (another tenant of the host's core or its caches); nothing in the engine can change it. Run this before
 * reading a slow map task, or a COST row's later iteration, as the engine's.
 *
 *   npx tsx bench/pagerank-vcpus.ts [--rounds 20]
 *
 * Linux only (`taskset`, from util-linux). The pinning is done by a helper shell started once, so this process never
 * forks while it measures: a fork write-protects every page of the parent, and the next run would pay a page fault
 * per page it writes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuMs, machineAndLoad, mapTaskOf, median, workerHalf } from './pagerank-worker-half.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] || 20);
const WARMUP = 3;
const cpus = os.cpus().map((_, i) => i);

/** `taskset` run by one helper shell, so that this process does not fork between measurements. */
const shell = spawn('sh', [], { stdio: ['pipe', 'pipe', 'inherit'] });
let answered: (() => void) | undefined;
shell.stdout.on('data', () => answered?.());
const pin = (cpu: number | string): Promise<void> =>
  new Promise((resolve) => {
    answered = resolve;
    // Every thread of the process (V8's helpers too), so none of the measured work runs on the other CPU.
    shell.stdin.write(`taskset -a -p -c ${cpu} ${process.pid} > /dev/null; echo\n`);
  });

/** Steal time (ticks) per CPU so far: a hypervisor that reports it says here how often it took each vCPU away. */
const steal = (): number[] =>
  readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d/.test(l))
    .map((l) => Number(l.split(/\s+/)[8]));

const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-vcpus-'));
const mapTask = await mapTaskOf(path.resolve(import.meta.dirname, '..'), await workerHalf(0), 0, scratch);
const small = new Float64Array(1 << 17);
const large = new Float64Array(1 << 23);
const at = new Int32Array(1 << 20);
for (let i = 0; i < at.length; i++) at[i] = (Math.imul(i, 2654435761) >>> 0) % large.length;
const kinds: Record<string, () => number> = {
  'map task': () => mapTask.run(),
  'register loop': () => {
    let x = 0;
    for (let i = 0; i < 20_000_000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    return x;
  },
  'random reads 1 MiB': () => {
    let sum = 0;
    for (let r = 0; r < 8; r++) for (let i = 0; i < at.length; i++) sum += small[at[i]! & (small.length - 1)]!;
    return sum;
  },
  'random reads 64 MiB': () => {
    let sum = 0;
    for (let r = 0; r < 2; r++) for (let i = 0; i < at.length; i++) sum += large[at[i]!]!;
    return sum;
  },
};
const cpu = new Map(Object.keys(kinds).map((k) => [k, cpus.map((): number[] => [])]));
const steal0 = steal();
try {
  for (let r = 0; r < rounds + WARMUP; r++) {
    for (const c of r % 2 === 0 ? cpus : [...cpus].reverse()) {
      await pin(c);
      for (const [kind, run] of Object.entries(kinds)) {
        const t = cpuMs();
        run();
        if (r >= WARMUP) cpu.get(kind)![c]!.push(cpuMs() - t);
      }
    }
  }
} finally {
  await pin(cpus.join(','));
  shell.stdin.end();
  rmSync(scratch, { recursive: true, force: true });
}
const stolen = steal().map((s, i) => s - steal0[i]!);
console.log(machineAndLoad());
console.log(`${rounds} rounds after ${WARMUP} of warm-up, CPU ms per run pinned to each CPU; steal ticks meanwhile ${stolen.join(' / ')}`);
for (const [kind, byCpu] of cpu) {
  const ratios = cpus.slice(1).map((c) => {
    const rs = byCpu[c]!.map((ms, i) => ms / byCpu[0]![i]!).sort((a, b) => a - b);
    const q = (f: number): string => rs[Math.floor(f * (rs.length - 1))]!.toFixed(3);
    return `cpu${c}/cpu0 ${q(0.5)} (quartiles ${q(0.25)}-${q(0.75)})`;
  });
  console.log(`  ${kind}: ${byCpu.map((ms, c) => `cpu${c} ${median(ms).toFixed(1)}`).join(', ')}; per round ${ratios.join(', ')}`);
}
