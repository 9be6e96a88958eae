/**
 * Chaos on every backend: many runs of one program that crosses two shuffles, a cached RDD read by later jobs, a
 * sort and a `saveAsTextFile` commit, each run on a fresh context with one to three faults at random moments
 * (counted from the context's creation, so during start-up, mid-fetch, mid-commit, while a cached block is read,
 * between jobs, or during `stop()`): one worker or both at once, the same worker again once it is back, SIGKILL
 * or, on the process backends, SIGSTOP past executorTimeoutMs (a hung executor, then SIGCONT). Every run must
 * give exactly the fault-free result (or a clear error that names what failed, with no output folder that looks
 * complete), leave the pool whole, no temp folder (`_temporary`, staging, scratch) and no process of its own.
 * The seed of each run is printed with a bad run: `--seed S --runs 1` replays it (plans depend on the seed only).
 *
 * With `--at-events`, each fault strikes instead at an event of the driver's, the n-th of its kind in the run (n drawn
 * up to the count of a fault-free run), 0-20 ms after it: a map or result task's success reported (its output just
 * registered with the map-output tracker, or its result taken), a cached block stored (the holder dies with a block
 * the driver has just learnt of), a stage completed (before the next is submitted), or a job ended (between the save's
 * job and its commit, or a job and the next). The worker struck is the event's own (the holder of what was just
 * registered), the other, or both (on the process backends a worker index names an executor process by the order of
 * their pids, which need not be the event's: there `self` and `other` are one worker or the other, not more). Plans of
 * these runs differ from the default ones of the same seed.
 *
 *   npx tsx bench/chaos.ts [--backend local|local-cluster|redis] [--runs 50] [--seed 2026] [--at-events] [--verbose]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { capture, Context, type RDD } from 'kindling';
import { SeededRandom } from 'kindling/datagen';
import { machine, numberArg as arg } from './harness.js';
import { spawnRedisServer } from './redis-server.js';
import { checkWhole, descendants, freePort, HangError, withLimit } from './fault-harness.js';

const BACKENDS = ['local', 'local-cluster', 'redis'] as const;
type Backend = (typeof BACKENDS)[number];
const backendArg = process.argv.indexOf('--backend');
const BACKEND = (backendArg > 0 ? process.argv[backendArg + 1] : 'local') as Backend;
if (!BACKENDS.includes(BACKEND)) throw new Error(`--backend must be one of ${BACKENDS.join(', ')}`);
const RUNS = arg('--runs', 50);
const SEED = arg('--seed', 2026);
const VERBOSE = process.argv.includes('--verbose');
const AT_EVENTS = process.argv.includes('--at-events');
const TIMEOUT_MS = 2000;
const RUN_LIMIT_MS = 120_000;
const CLUSTER = 'chaos';
const BIN = path.resolve(import.meta.dirname, '../bin/kindling.js');
const CLEAR = /Redis|executor|job \d+|stage \d+|partition \d+|worker \d+|stopped/i;

// Every temp folder of the run (the context's, local-cluster's executors', the output's staging) lands below
// one root, so that "nothing left" is one listing. Children inherit TMPDIR.
const root = mkdtempSync(path.join(tmpdir(), `kindling-chaos-${BACKEND}-`));
process.env.TMPDIR = path.join(root, 'tmp');
mkdirSync(process.env.TMPDIR);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the program ---------------------------------------------------------------------------------------------------

const LINES = Array.from({ length: 3000 }, (_, i) => `w${i % 53} w${(i * 7) % 31} x${i % 5} shared`);
function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // computing: keeps tasks alive long enough to be hit
  }
}

/** Word counts, cached: the later jobs read it, so a worker holding its blocks may die while another reads them. */
function counts(sc: Context): RDD<[string, number]> {
  return sc
    .parallelize(LINES, 8)
    .flatMap(
      capture({ spin }, (l: string) => {
        if (l.startsWith('w0 ')) spin(3);
        return l.split(' ');
      }),
    )
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b, 4)
    .cache();
}

function ranked(words: RDD<[string, number]>): RDD<[number, string]> {
  const lengths = words.map(([w]): [string, number] => [w, w.length]);
  return words
    .join(lengths, 3)
    .map(([w, [c, len]]): [number, string] => [c * 100 + len, w])
    .sortByKey(false, 3);
}

/** The program's jobs; `phase` names the one running (for the table). Returns what it computed, as text. */
async function program(sc: Context, outDir: string, phase: (p: string) => void): Promise<string> {
  const words = counts(sc);
  phase('count');
  const n = await words.count();
  phase('join+sort');
  const sorted = await ranked(words).collect();
  phase('save');
  await ranked(words)
    .map(([k, w]) => `${k} ${w}`)
    .saveAsTextFile(outDir);
  phase('read back');
  const parts = readdirSync(outDir)
    .filter((f) => f.startsWith('part-'))
    .sort();
  const saved = parts.flatMap((f) => readFileSync(path.join(outDir, f), 'utf8').split('\n').filter(Boolean));
  phase('done');
  return JSON.stringify({ n, sorted, saved, success: existsSync(path.join(outDir, '_SUCCESS')) });
}

// ---- the backends --------------------------------------------------------------------------------------------------

/** redis:// only: a redis-server and two executor processes of this script's own, replaced when they die. */
const own: { redis?: ChildProcess; url: string; executors: Array<ChildProcess | undefined>; stopping: boolean } = {
  url: '',
  executors: [undefined, undefined],
  stopping: false,
};
const executorsDir = path.join(root, 'executors');
function startExecutor(slot: number): void {
  const child = spawn(
    process.execPath,
    [BIN, 'executor', '--master', own.url, '--cluster', CLUSTER, '--cores', '1', '--memory', '512m', '--local-dir', executorsDir],
    { stdio: ['ignore', 'ignore', VERBOSE ? 'inherit' : 'ignore'] },
  );
  own.executors[slot] = child;
  child.once('exit', () => {
    // A killed executor cannot remove its folder: the supervisor (this script) does, and starts another.
    rmSync(path.join(executorsDir, `kindling-executor-${child.pid}`), { recursive: true, force: true });
    if (own.executors[slot] === child && !own.stopping) startExecutor(slot);
  });
}
if (BACKEND === 'redis') {
  mkdirSync(executorsDir);
  const port = await freePort();
  own.redis = await spawnRedisServer(port);
  own.url = `redis://127.0.0.1:${port}`;
  startExecutor(0);
  startExecutor(1);
}
process.once('exit', () => {
  own.stopping = true;
  for (const c of [own.redis, ...own.executors]) c?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

function newContext(localDir: string): Context {
  const common = { progress: false, hints: false, ui: false, localDir, fetchTimeoutMs: 10_000 } as const;
  if (BACKEND === 'local') return new Context({ ...common, master: 'local[2]' });
  const cluster = { executorTimeoutMs: TIMEOUT_MS, executorWaitMs: 30_000 };
  if (BACKEND === 'local-cluster') return new Context({ ...common, ...cluster, master: 'local-cluster[2]' });
  return new Context({ ...common, ...cluster, master: `${own.url}?cores=2`, cluster: CLUSTER });
}

/** The pids of the executor processes serving this run, by worker index's order (local-cluster and redis). */
function executorPids(): number[] {
  if (BACKEND === 'redis') return own.executors.map((c) => c?.pid ?? 0).filter((p) => p > 0);
  return descendants(process.pid)
    .filter((p) => p.cmd.includes(' executor '))
    .map((p) => p.pid);
}

// ---- faults --------------------------------------------------------------------------------------------------------

type Kind = 'kill' | 'stall';
/** The driver's events a fault may strike at (`--at-events`). */
const EVENTS = ['taskEnd', 'blockUpdated', 'stageCompleted', 'jobEnd'] as const;
type EventKind = (typeof EVENTS)[number];
interface Fault {
  readonly kind: Kind;
  /** From the context's creation, or (`afterFirstTask`) from the first task's start, in ms. */
  readonly delayMs: number;
  /** Half the faults count from the first task: start-up is long on the process backends and would take most. */
  readonly afterFirstTask: boolean;
  /** One worker (0 or 1) or both at once. */
  readonly target: 0 | 1 | 'both';
  /** Kill the same worker again this long after its replacement is added (the same worker twice in a row). */
  readonly againMs?: number;
  readonly stallMs?: number;
  /** `--at-events`: strike `delayMs` after the `nth` (from 1) event of this kind; `self` is the event's own worker. */
  readonly at?: { readonly event: EventKind; readonly nth: number; readonly whom: 'self' | 'other' | 'both' };
}
interface Plan {
  readonly faults: readonly Fault[];
  /** Call stop() at the first fault's moment, while the worker dies (the program is cut short). */
  readonly stopAtFault: boolean;
}

/** Events of each kind in a fault-free run (successful task ends, blocks added, stages and jobs that succeeded). */
let eventCounts = new Map<EventKind, number>();
/** The events the last run saw, by kind. */
let lastSeen = new Map<EventKind, number>();

function randomPlan(rng: SeededRandom, startUpMs: number, spanMs: number): Plan {
  const one = (): Fault => {
    if (AT_EVENTS) {
      const kind: Kind = BACKEND !== 'local' && rng.nextFloat() < 0.2 ? 'stall' : 'kill';
      const event = EVENTS[Math.floor(rng.nextFloat() * EVENTS.length)]!;
      const nth = 1 + Math.floor(rng.nextFloat() * Math.max(1, eventCounts.get(event) ?? 1));
      const r = rng.nextFloat();
      const whom = r < 0.6 ? 'self' : r < 0.8 ? 'other' : 'both';
      return {
        kind,
        afterFirstTask: false,
        delayMs: Math.floor(rng.nextFloat() * 20),
        target: whom === 'both' ? 'both' : 0,
        at: { event, nth, whom },
        ...(kind === 'stall' ? { stallMs: TIMEOUT_MS + 300 + Math.floor(rng.nextFloat() * 1500) } : {}),
      };
    }
    const kind: Kind = BACKEND !== 'local' && rng.nextFloat() < 0.2 ? 'stall' : 'kill';
    const r = rng.nextFloat();
    const target = r < 0.25 ? 'both' : r < 0.625 ? 0 : 1;
    const again = kind === 'kill' && target !== 'both' && rng.nextFloat() < 0.25;
    return {
      kind,
      ...(rng.nextFloat() < 0.5
        ? { afterFirstTask: false, delayMs: Math.floor(rng.nextFloat() * startUpMs * 1.2) }
        : { afterFirstTask: true, delayMs: Math.floor(rng.nextFloat() * (spanMs - startUpMs)) }),
      target,
      ...(again ? { againMs: Math.floor(rng.nextFloat() * 300) } : {}),
      ...(kind === 'stall' ? { stallMs: TIMEOUT_MS + 300 + Math.floor(rng.nextFloat() * 1500) } : {}),
    };
  };
  const faults = [one()];
  const more = rng.nextFloat();
  if (more < 0.3) faults.push(one());
  if (more < 0.1) faults.push(one());
  return { faults: faults.sort((a, b) => a.delayMs - b.delayMs), stopAtFault: rng.nextFloat() < 0.1 };
}

async function strike(sc: Context, f: Fault, index: number): Promise<void> {
  if (BACKEND === 'local') return sc.faults.killWorker(index);
  // By signal, as a crash or a hang is, not by the driver's hand; during start-up, before any slot exists, too.
  const pid = executorPids()[index];
  if (pid === undefined) return; // not started yet (start-up): nothing to hit
  try {
    if (f.kind === 'kill') process.kill(pid, 'SIGKILL');
    else {
      process.kill(pid, 'SIGSTOP');
      await sleep(f.stallMs!);
      process.kill(pid, 'SIGCONT');
    }
  } catch {
    // already gone
  }
}

async function inject(sc: Context, f: Fault, struck: string[], phase: () => string, eventWorker?: number): Promise<void> {
  const targets =
    f.at !== undefined && f.target !== 'both' && eventWorker !== undefined
      ? [f.at.whom === 'self' ? eventWorker : 1 - eventWorker]
      : f.target === 'both'
        ? [0, 1]
        : [f.target];
  struck.push(f.at === undefined ? phase() : `${f.at.event} (${f.at.whom}) in ${phase()}`);
  await Promise.all(targets.map((i) => strike(sc, f, i)));
  if (f.againMs === undefined) return;
  const index = targets[0]!;
  const back = new Promise<void>((resolve) => {
    const off = sc.events.on('workerAdded', (e) => {
      if (e.workerIndex === index && e.replacement) {
        off();
        resolve();
      }
    });
  });
  await Promise.race([back, sleep(15_000)]);
  await sleep(f.againMs);
  struck.push(`${phase()} (again)`);
  await strike(sc, f, index);
}

// ---- one run -------------------------------------------------------------------------------------------------------

interface RunResult {
  readonly outcome: 'identical' | 'error' | 'different' | 'hung' | 'stopped';
  readonly detail: string;
  readonly struck: readonly string[];
  /** Every problem found after the run: not whole, files left, processes left, a half output. */
  readonly problems: readonly string[];
  /** When the first task started, from the context's creation (ms). */
  readonly firstTaskMs: number;
}

/** What a run left: files anywhere below the run's folders, processes of this script's own, an output that lies. */
async function leftovers(runDir: string, outDir: string, outcome: RunResult['outcome']): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const left: string[] = [];
    const scratch = readdirSync(path.join(runDir, 'local'), { recursive: true });
    if (scratch.length > 0) left.push(`scratch: ${scratch.slice(0, 3).join(', ')}`);
    const temp = readdirSync(process.env.TMPDIR!, { recursive: true });
    if (temp.length > 0) left.push(`TMPDIR: ${temp.slice(0, 3).join(', ')}`);
    const beside = readdirSync(path.join(runDir, 'out-parent')).filter((f) => f !== 'out');
    if (beside.length > 0) left.push(`beside the output: ${beside.join(', ')}`);
    if (existsSync(outDir)) {
      const inside = readdirSync(outDir);
      if (inside.includes('_temporary')) left.push('_temporary left in the output');
      // A failed or cut run may leave no output, never one that looks complete but is not.
      if (inside.includes('_SUCCESS')) {
        const saved = inside
          .filter((f) => f.startsWith('part-'))
          .sort()
          .flatMap((f) => readFileSync(path.join(outDir, f), 'utf8').split('\n').filter(Boolean));
        if (JSON.stringify(saved) !== JSON.stringify(expectedSaved)) left.push(`_SUCCESS beside ${saved.length} lines (a ${outcome} run)`);
      }
    }
    if (BACKEND === 'redis') {
      for (const c of own.executors) {
        const dir = path.join(executorsDir, `kindling-executor-${c?.pid}`);
        if (c !== undefined && c.exitCode === null && existsSync(dir)) for (const f of readdirSync(dir)) left.push(`executor ${c.pid} folder ${f}`);
      }
    }
    const mine = new Set([...before, ...[own.redis, ...own.executors].map((c) => c?.pid)]);
    const procs = descendants(process.pid).filter((p) => !mine.has(p.pid) && !mine.has(p.ppid));
    if (procs.length > 0) left.push(`processes: ${procs.map((p) => `${p.pid} ${p.cmd.slice(0, 60)}`).join('; ')}`);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(200);
  }
}

async function run(plan: Plan, expected: string, runDir: string): Promise<RunResult> {
  mkdirSync(path.join(runDir, 'local'), { recursive: true });
  mkdirSync(path.join(runDir, 'out-parent'));
  const outDir = path.join(runDir, 'out-parent', 'out');
  let current = 'count';
  // Until a first task starts, the workers are still starting (threads, processes, registration, leases).
  let started = false;
  const phase = () => (started ? current : 'start-up');
  const struck: string[] = [];
  const problems: string[] = [];
  const made = Date.now();
  const sc = newContext(path.join(runDir, 'local'));
  let firstTaskMs = 0;
  let programEnded = () => {};
  const firstTask = new Promise<void>((resolve) => {
    programEnded = resolve;
    sc.events.on('taskStart', () => {
      if (!started) firstTaskMs = Date.now() - made;
      started = true;
      resolve();
    });
  });
  let outcome: RunResult['outcome'] = 'identical';
  let detail = '';
  let stopped: Promise<void> | undefined;
  // Counted in every run: the fault-free one's counts bound the n-th event a fault waits for.
  const seen = new Map<EventKind, number>();
  const waiters: Array<{ f: Fault; resolve: (worker: number | undefined) => void }> = [];
  let counting = true;
  const onEvent = (event: EventKind, worker: number | undefined): void => {
    // The program's events only: the check's next job comes after every fault has struck or given up.
    if (!counting) return;
    const n = (seen.get(event) ?? 0) + 1;
    seen.set(event, n);
    for (const w of waiters) if (w.f.at!.event === event && w.f.at!.nth === n) w.resolve(worker);
  };
  sc.events.on('taskEnd', (e) => e.result === 'success' && onEvent('taskEnd', e.workerIndex));
  sc.events.on('blockUpdated', (e) => e.change === 'added' && onEvent('blockUpdated', e.workerIndex));
  sc.events.on('stageCompleted', (e) => e.result === 'succeeded' && onEvent('stageCompleted', undefined));
  sc.events.on('jobEnd', (e) => e.result === 'succeeded' && onEvent('jobEnd', undefined));
  lastSeen = seen;
  const NONE = -1;
  const eventOf = (f: Fault): Promise<number | undefined> => new Promise((resolve) => waiters.push({ f, resolve }));
  const faults = plan.faults.map((f, i) =>
    (f.at !== undefined ? eventOf(f) : (f.afterFirstTask ? firstTask : Promise.resolve()).then(() => undefined))
      .then(async (worker) => {
        await sleep(f.delayMs);
        return worker;
      })
      .then(async (worker) => {
        // Not every run reaches the n-th event (an earlier fault cut it short, or retried tasks moved): no strike.
        if (worker === NONE) return;
        const hit = inject(sc, f, struck, phase, worker);
        if (i === 0 && plan.stopAtFault) {
          stopped = sc.stop();
          // Awaited (and a failure reported) after the program: not an unhandled rejection meanwhile.
          stopped.catch(() => undefined);
        }
        await hit;
      }),
  );
  try {
    const got = await withLimit(
      program(sc, outDir, (p) => (current = p)),
      RUN_LIMIT_MS,
      'the program',
    );
    if (got !== expected) {
      outcome = 'different';
      detail = got.slice(0, 200);
    }
  } catch (e) {
    const err = e as Error;
    outcome = err instanceof HangError ? 'hung' : stopped !== undefined ? 'stopped' : CLEAR.test(err.message) ? 'error' : 'different';
    detail = `${err.name}: ${err.message.split('\n')[0]}`;
  }
  current = 'between jobs';
  programEnded();
  counting = false;
  for (const w of waiters.splice(0)) w.resolve(NONE);
  await Promise.all(faults.map((f) => f.catch((e: unknown) => problems.push(`fault not injected: ${(e as Error).message}`))));
  if (stopped === undefined) {
    // The context goes on: whole again, and one more job gives the right count.
    const whole = await checkWhole(sc, 30_000, BACKEND === 'local');
    if (whole !== true) problems.push(`not whole: ${whole}`);
    try {
      const n = await withLimit(counts(sc).count(), RUN_LIMIT_MS, 'the next job');
      if (n !== JSON.parse(expected).n) problems.push(`next job counted ${n}`);
    } catch (e) {
      problems.push(`next job: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  await withLimit(stopped ?? sc.stop(), 30_000, 'stop()').catch((e: unknown) => problems.push((e as Error).message));
  problems.push(...(await leftovers(runDir, outDir, outcome)));
  rmSync(runDir, { recursive: true, force: true });
  return { outcome, detail, struck, problems, firstTaskMs };
}

// ---- the runs ------------------------------------------------------------------------------------------------------

/** Processes below this one before any context (tsx's esbuild service): not the runs' to end. */
const before = descendants(process.pid).map((p) => p.pid);
const t0 = performance.now();
const ref = path.join(root, 'reference');
mkdirSync(path.join(ref, 'local'), { recursive: true });
mkdirSync(path.join(ref, 'out-parent'));
const refContext = new Context({ master: 'local', progress: false, hints: false, ui: false, localDir: path.join(ref, 'local') });
const expected = await program(refContext, path.join(ref, 'out-parent', 'out'), () => undefined);
await refContext.stop();
rmSync(ref, { recursive: true, force: true });
const expectedSaved: string[] = JSON.parse(expected).saved;
// The span of the fault moments: a fault-free run on this backend, from the context's creation, and its start-up.
const { span, startUp } = await (async () => {
  const dir = path.join(root, 'span');
  const t = Date.now();
  const r = await run({ faults: [], stopAtFault: false }, expected, dir);
  if (r.outcome !== 'identical' || r.problems.length > 0) throw new Error(`the fault-free run: ${r.outcome} ${r.detail} ${r.problems.join('; ')}`);
  eventCounts = lastSeen;
  return { span: Date.now() - t, startUp: r.firstTaskMs };
})();
console.log(
  `chaos on ${BACKEND}: a fault-free run takes ${span} ms, its first task starts at ${startUp} ms; faults strike within 0-${Math.floor(startUp * 1.2)} ms of the context's creation or 0-${span - startUp} ms of the first task's start` +
    (AT_EVENTS ? `; at events instead (${[...eventCounts].map(([k, n]) => `${n} ${k}`).join(', ')} in it)` : ''),
);

const rows = new Map<string, { runs: number; identical: number; error: number; stopped: number; bad: number }>();
let bad = 0;
const outcomes = { identical: 0, error: 0, stopped: 0, different: 0, hung: 0 };
let kills = 0;
let stalls = 0;
/** Runs whose faults all waited for an event the run never reached (--at-events): nothing struck. */
let unstruck = 0;
for (let i = 0; i < RUNS; i++) {
  const seed = SEED + i;
  const plan = randomPlan(new SeededRandom(seed), startUp, span);
  const r = await run(plan, expected, path.join(root, `run-${i}`));
  for (const f of plan.faults) {
    const n = (f.target === 'both' ? 2 : 1) * (f.againMs !== undefined ? 2 : 1);
    if (f.kind === 'kill') kills += n;
    else stalls += n;
  }
  if (r.struck.length === 0) unstruck++;
  const isBad = r.outcome === 'different' || r.outcome === 'hung' || r.problems.length > 0;
  if (isBad) bad++;
  outcomes[r.outcome]++;
  if (isBad || VERBOSE)
    console.log(
      `run ${i} (--seed ${seed} --runs 1) ${JSON.stringify(plan)} struck in [${r.struck.join(', ')}]: ${r.outcome} ${r.detail} ${r.problems.join('; ')}`,
    );
  for (const moment of new Set(r.struck)) {
    const key = `${moment.replace(' (again)', '')}${r.struck.length > 1 ? ' (+ more)' : ''}`;
    const row = rows.get(key) ?? { runs: 0, identical: 0, error: 0, stopped: 0, bad: 0 };
    row.runs++;
    if (isBad) row.bad++;
    else if (r.outcome === 'identical') row.identical++;
    else if (r.outcome === 'error') row.error++;
    else row.stopped++;
    rows.set(key, row);
  }
  if ((i + 1) % 10 === 0) console.log(`${i + 1} runs, ${bad} bad, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const seconds = (performance.now() - t0) / 1000;
console.log(
  `\nchaos on ${BACKEND}: ${RUNS} runs (seeds ${SEED}-${SEED + RUNS - 1}), ${kills} kills, ${stalls} stalls, ${bad} bad runs${AT_EVENTS ? ` (${unstruck} struck nothing: their event never came)` : ''}, ${seconds.toFixed(0)} s, ${machine()}\noutcomes: ${JSON.stringify(outcomes)}`,
);
console.log('| moment struck | runs | identical result | clear error | cut by stop() | bad |');
console.log('|---|---|---|---|---|---|');
for (const [k, r] of [...rows].sort()) console.log(`| ${k} | ${r.runs} | ${r.identical} | ${r.error} | ${r.stopped} | ${r.bad} |`);
mkdirSync('.bench-out', { recursive: true });
appendFileSync(
  '.bench-out/results.jsonl',
  `${JSON.stringify({ workload: 'chaos', backend: BACKEND, time: new Date().toISOString(), machine: machine(), runs: RUNS, seed: SEED, kills, stalls, bad, seconds, rows: Object.fromEntries(rows) })}\n`,
);
own.stopping = true;
process.exit(bad > 0 ? 1 : 0);
