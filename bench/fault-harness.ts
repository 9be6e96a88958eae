/**
 * Fault injection with random timing, shared by `bench/faults.ts` (thousands of short runs) and the test suite
 * (a sample). One run: a context, a shuffle job, and faults injected at a random moment (during start-up, in
 * the map or the reduce stage, during fetches, between jobs; one worker or two at once) by each kind of death:
 * - `kill`: the driver terminates the thread (sc.faults.killWorker);
 * - `exit`: user code calls process.exit in the worker;
 * - `oom`: user code exhausts the worker's heap;
 * - `rejection`: user code leaves a rejected promise unhandled.
 * Every run must give the fault-free result or a clear error; then the next job on the same context must
 * succeed, and the context must be whole again: every worker index ready, every pair of workers connected to
 * each other's current incarnation, and no job, stage or task state left on the driver; after stop(), nothing
 * may be left in the context's scratch folder.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { capture, type Context, type RDD } from 'kindling';

export const DEATH_KINDS = ['kill', 'exit', 'oom', 'rejection'] as const;
export type DeathKind = (typeof DEATH_KINDS)[number];
export const MOMENTS = ['start-up', 'during job', 'between jobs'] as const;
export type Moment = (typeof MOMENTS)[number];

export interface FaultPlan {
  readonly kind: DeathKind;
  readonly moment: Moment;
  /** Delay of the fault after the moment begins (context creation, job start, first job's end), in ms. */
  readonly delayMs: number;
  /** How many workers die (two: both at once). */
  readonly workers: 1 | 2;
}

/** In-task deaths are armed through shared memory: the next element any task processes triggers one. */
const CODES: Record<Exclude<DeathKind, 'kill'>, number> = { exit: 1, oom: 2, rejection: 3 };

/** Runs in workers: takes an armed death (once per arming, whichever task sees it first) and dies of it. */
function die(flag: Int32Array): void {
  const code = Atomics.exchange(flag, 0, 0);
  if (code === 1) process.exit(3);
  if (code === 2) {
    const hog: number[][] = [];
    for (;;) hog.push(new Array(1 << 20).fill(hog.length));
  }
  if (code === 3) void Promise.reject(new Error('a promise rejected in user code with no handler'));
}

/** The job of each run: a map stage, a shuffle with map-side combine, a narrow step after it, a sum. */
export function shuffleJob(sc: Context, flag: Int32Array, n: number): RDD<number> {
  return sc
    .range(0, n, 1, 16)
    .map(
      capture({ flag, die }, (x: number): [number, number] => {
        if (flag[0] !== 0) die(flag);
        return [x % 1009, x % 7];
      }),
    )
    .reduceByKey((a, b) => a + b, 8)
    .map(
      capture({ flag, die }, ([k, v]: [number, number]) => {
        if (flag[0] !== 0) die(flag);
        return (k * 31 + v) % 10007;
      }),
    );
}

/** What shuffleJob sums to, computed plainly. */
export function expectedSum(n: number): number {
  const sums = new Map<number, number>();
  for (let x = 0; x < n; x++) sums.set(x % 1009, (sums.get(x % 1009) ?? 0) + (x % 7));
  let total = 0;
  for (const [k, v] of sums) total += (k * 31 + v) % 10007;
  return total;
}

export interface RunResult {
  readonly plan: FaultPlan;
  /** 'correct': the fault-free result; 'error': a clear error (named); 'wrong': anything else (a bug). */
  readonly outcome: 'correct' | 'error' | 'wrong';
  readonly detail: string;
  /** The next job on the same context succeeded with the right result. */
  readonly nextJobOk: boolean;
  /** The context was whole again (see checkWhole); the reason if not. */
  readonly whole: true | string;
  /** After stop(), nothing was left in the context's scratch folder (spills, shuffle files, job outputs). */
  readonly clean: true | string;
  readonly ms: number;
}

/** Injects the plan's fault now; a second in-task death waits for the first to be taken, until `over()`. */
async function inject(sc: Context, flag: Int32Array, plan: FaultPlan, pick: () => number, over: () => boolean): Promise<void> {
  const targets = plan.workers === 2 ? [0, 1] : [pick()];
  if (plan.kind === 'kill') {
    await Promise.all(targets.map((w) => sc.faults.killWorker(w)));
    return;
  }
  // In-task deaths hit whichever worker processes an element next; two means arming twice.
  for (let i = 0; i < targets.length; i++) {
    while (Atomics.load(flag, 0) !== 0) {
      // The job may end before any task takes the first death: then there is nothing left to die in.
      if (over()) return;
      await new Promise((r) => setTimeout(r, 1));
    }
    Atomics.store(flag, 0, CODES[plan.kind]);
  }
}

/**
 * Waits until the context is whole again (or `ms` passes): returns true, or what is still wrong.
 * Whole: every index ready, every worker connected to every other's current incarnation (`peers`: worker threads
 * only; executor processes connect to each other on demand), no driver state.
 */
export async function checkWhole(sc: Context, ms = 15_000, peers = true): Promise<true | string> {
  const deadline = Date.now() + ms;
  let problem = '';
  for (;;) {
    const s = await sc.faults.snapshot();
    problem = wholeProblem(s, peers);
    if (problem === '') return true;
    if (Date.now() > deadline) return problem;
    await new Promise((r) => setTimeout(r, 25));
  }
}

function wholeProblem(s: Awaited<ReturnType<Context['faults']['snapshot']>>, peers: boolean): string {
  const { backend, dag, tasks } = s;
  if (backend.workers.length !== backend.configured) return `${backend.workers.length} of ${backend.configured} worker slots exist`;
  for (const w of backend.workers) {
    if (w.state !== 'ready') return `worker ${w.index} is ${w.state}`;
    if (!peers) continue;
    const want = backend.workers
      .filter((o) => o.index !== w.index)
      .map((o) => `${o.index}.${o.epoch}`)
      .sort();
    const have = w.peers.map(([i, e]) => `${i}.${e}`).sort();
    if (want.join() !== have.join()) return `worker ${w.index} has channels to [${have.join(', ')}], expected [${want.join(', ')}]`;
  }
  if (dag.activeJobs + dag.runningStages + dag.waitingStages + dag.shuffleStages > 0) return `DAG scheduler state left: ${JSON.stringify(dag)}`;
  if (tasks.taskSets > 0 || tasks.runningAttempts > 0) return `task scheduler state left: ${JSON.stringify(tasks)}`;
  if (tasks.inFlight.some((n) => n !== 0)) return `tasks still in flight: ${JSON.stringify(tasks.inFlight)}`;
  if (s.stagesHeld > 0) return `the driver still holds ${s.stagesHeld} stage descriptions`;
  return '';
}

export interface RunOptions {
  /** Creates the context (local[2]) with `localDir` as its scratch folder; the harness stops it. */
  readonly context: (localDir: string) => Context;
  readonly plan: FaultPlan;
  readonly n: number;
  readonly expected: number;
  /** Uniform random numbers in [0, 1). */
  readonly random: () => number;
}

/** One run: see the file comment. */
export async function runWithFault(o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const pick = () => (o.random() < 0.5 ? 0 : 1);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-fault-'));
  const sc = o.context(scratch);
  const { plan } = o;
  let outcome: RunResult['outcome'] = 'correct';
  let detail = '';
  let nextJobOk = false;
  let whole: true | string = 'not checked';
  let jobOver = false;
  try {
    let fault: Promise<void> = Promise.resolve();
    if (plan.moment === 'start-up') fault = sleep(plan.delayMs).then(() => inject(sc, flag, plan, pick, () => jobOver));
    if (plan.moment === 'between jobs') await sc.range(0, 4, 1, 2).count();
    if (plan.moment === 'between jobs') fault = sleep(plan.delayMs).then(() => inject(sc, flag, plan, pick, () => jobOver));
    if (plan.moment === 'during job') fault = sleep(plan.delayMs).then(() => inject(sc, flag, plan, pick, () => jobOver));
    try {
      const got = await shuffleJob(sc, flag, o.n).sum();
      if (got !== o.expected) {
        outcome = 'wrong';
        detail = `sum ${got}, expected ${o.expected}`;
      }
    } catch (e) {
      const err = e as Error;
      outcome = /job \d+|stage \d+|worker \d/i.test(err.message) ? 'error' : 'wrong';
      detail = `${err.name}: ${err.message.split('\n')[0]}`;
    }
    jobOver = true;
    await fault;
    // A death armed after the job's last element was processed has not happened: disarm it.
    Atomics.store(flag, 0, 0);
    try {
      nextJobOk = (await shuffleJob(sc, flag, o.n).sum()) === o.expected;
    } catch (e) {
      detail += ` | next job: ${(e as Error).message.split('\n')[0]}`;
    }
    whole = await checkWhole(sc);
  } finally {
    await sc.stop();
  }
  const left = readdirSync(scratch, { recursive: true });
  const clean: true | string = left.length === 0 ? true : `left behind after stop(): ${left.slice(0, 3).join(', ')}`;
  rmSync(scratch, { recursive: true, force: true });
  return { plan, outcome, detail, nextJobOk, whole, clean, ms: Date.now() - started };
}

/** A random plan: any kind, any moment, a delay within `maxDelayMs`, two workers in one run of four. */
export function randomPlan(random: () => number, maxDelayMs: number): FaultPlan {
  const kind = DEATH_KINDS[Math.floor(random() * DEATH_KINDS.length)]!;
  const moment = MOMENTS[Math.floor(random() * MOMENTS.length)]!;
  return { kind, moment, delayMs: Math.floor(random() * maxDelayMs), workers: random() < 0.25 ? 2 : 1 };
}

/** What withLimit rejects with: the run hung (a bad run, not a clear error). */
export class HangError extends Error {}

/** `p`, or a HangError naming `what` once `ms` passed. */
export function withLimit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new HangError(`${what} did not end within ${ms} ms`)), ms);
    }),
  ]);
}

// ---- processes and ports, for the benches and specs that start processes ----------------------------------------

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly cmd: string;
}

/** Every live process whose chain of parents reaches `pid` (zombies included: a child not reaped is left too). */
export function descendants(pid: number): ProcessInfo[] {
  const all: ProcessInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // The command in parentheses may hold spaces: the parent is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      all.push({ pid: Number(d), ppid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  const below = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all)
      if (!below.has(p.pid) && below.has(p.ppid)) {
        below.add(p.pid);
        grew = true;
      }
  }
  return all.filter((p) => p.pid !== pid && below.has(p.pid));
}

/** A free loopback port (another program may take it before it is bound: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
