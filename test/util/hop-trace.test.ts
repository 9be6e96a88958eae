import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseHops, type Hop } from '../../src/util/hop-trace.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-hop-trace-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A two-stage job whose map tasks allocate enough for scavenges in both workers, traced in a fresh process (the
// trace is switched on by the environment at import).
const ACTION =
  'await sc.range(400000, undefined, 1, 4).map((x) => [x % 7, [x, x + 1, x + 2]]).reduceByKey((a, b) => [a[0] + b[0], a[1], a[2]]).collect();';
const program = (actions: number): string => `
import { Context } from 'kindling';
const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
${Array(actions).fill(ACTION).join('\n')}
await sc.stop();
`;
const JOB = program(1);

describe.skipIf(!existsSync('/proc/thread-self/schedstat'))('hop trace: why one worker takes longer', () => {
  const file = path.join(scratch, 'hops.tsv');
  const run = (): Hop[] => {
    execFileSync(process.execPath, ['--input-type=module', '-e', JOB], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, KINDLING_HOP_TRACE: file },
    });
    return parseHops(readFileSync(file, 'utf8'));
  };

  it("records each worker's GC pauses, its thread times where a task computes, and the process's threads", () => {
    const hops = run();
    const computing = hops.filter((h) => h.step === 'w.inputs' || h.step === 'w.computed');
    // Every task launched has its worker's lines, the last job's too: the context stops right after it, and a worker
    // terminated before writing its trace loses them (4 runs in 30 at load 8 did).
    const launched = hops.filter((h) => h.thread === 'driver' && h.step === 'ts.launched').map((h) => h.detail);
    expect(launched).toHaveLength(8);
    for (const step of ['w.inputs', 'w.computed'])
      expect(new Set(computing.filter((h) => h.step === step).map((h) => h.detail.split(' ')[0])), step).toEqual(new Set(launched));
    const workers = new Set(computing.map((h) => h.thread));
    expect(workers.size).toBe(2);
    const tids = new Map<string, string>();
    for (const h of computing) {
      // taskId onCpuNs runqueueWaitNs timeslices tid
      const fields = h.detail.split(' ');
      expect(fields).toHaveLength(5);
      for (const f of fields) expect(f).toMatch(/^\d+$/);
      tids.set(h.thread, fields[4]!);
    }
    // One OS thread per worker, and not the driver's (whose id is the pid).
    expect(new Set(tids.values()).size).toBe(2);
    // A task's thread times only grow from its start of computing to its end.
    for (const end of computing.filter((h) => h.step === 'w.computed')) {
      const task = end.detail.split(' ')[0];
      const start = computing.find((h) => h.step === 'w.inputs' && h.detail.split(' ')[0] === task)!;
      expect(Number(end.detail.split(' ')[1])).toBeGreaterThanOrEqual(Number(start.detail.split(' ')[1]));
    }
    for (const w of workers) {
      const gcs = hops.filter((h) => h.thread === w && h.step === 'gc');
      expect(gcs.length).toBeGreaterThan(0);
      for (const g of gcs) expect(g.detail).toMatch(/^(1|2|4|8|16) \d+\.\d{3}$/);
    }
    const snapshots = hops.filter((h) => h.thread === 'driver' && (h.step === 'ctx.runJob' || h.step === 'ctx.returned'));
    expect(snapshots.length).toBeGreaterThanOrEqual(2);
    for (const s of snapshots) {
      const threads = s.detail.split(',').map((x) => x.split(':'));
      for (const t of threads) expect(t).toHaveLength(4);
      // The workers' threads are among the process's.
      for (const tid of tids.values()) expect(threads.some((t) => t[0] === tid)).toBe(true);
    }
    // The report's --workers table reads it: a row per worker of the map stage.
    const report = execFileSync(process.execPath, ['--import', 'tsx', 'bench/hop-trace-report.ts', file, '--workers', '--jobs', '0-99'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    // How the 4 tasks of a stage split between the workers is the scheduler's (3 and 1 on a loaded machine): each
    // stage's rows account for its 4 tasks, and both workers have a row.
    const rows = report
      .split('\n')
      .map((l) => /^\| (\d+) \| (\d+) \| (t\d+) \((\d+) tasks\)/.exec(l))
      .filter((m) => m !== null);
    const perStage = new Map<string, number>();
    for (const m of rows) perStage.set(`${m[1]}/${m[2]}`, (perStage.get(`${m[1]}/${m[2]}`) ?? 0) + Number(m[4]));
    expect([...perStage.values()]).toEqual([4, 4]);
    expect(new Set(rows.map((m) => m[3])).size).toBe(2);
  });

  it("the report's --budget table: each job's CPU by thread, the workers' tasks computing within their thread's total", () => {
    // Two jobs: a job's row runs from its start to the next job's start.
    const twice = path.join(scratch, 'twice.tsv');
    execFileSync(process.execPath, ['--input-type=module', '-e', program(2)], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, KINDLING_HOP_TRACE: twice },
    });
    const report = execFileSync(process.execPath, ['--import', 'tsx', 'bench/hop-trace-report.ts', twice, '--budget', '--jobs', '0-99'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const header = report.split('\n').find((l) => l.startsWith('| job |'))!;
    expect(header).toMatch(/^\| job \| wall \| driver \| t\d+ compute \+ rest \| t\d+ compute \+ rest \| other threads \| sum \| sum \/ wall \|$/);
    const rows = report.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    // The first job's row (the second job ends the trace: it has no next start).
    expect(rows).toHaveLength(1);
    const cells = rows[0]!
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const [wall, driver, w0, w1, others, sum] = [cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]].map((c) => c!.split(' + ').map(Number));
    expect(wall![0]).toBeGreaterThan(0);
    expect(driver![0]).toBeGreaterThan(0);
    for (const [compute, rest] of [w0!, w1!]) {
      // Both workers computed map tasks of 400k records; a task's computation is within its thread's total (a
      // running thread's schedstat moves at ticks and switches: a few ms either way).
      expect(compute).toBeGreaterThan(0);
      expect(rest).toBeGreaterThan(-8);
    }
    expect(others![0]).toBeGreaterThanOrEqual(0);
    const total = driver![0]! + w0![0]! + w0![1]! + w1![0]! + w1![1]! + others![0]!;
    expect(Math.abs(sum![0]! - total)).toBeLessThan(0.5);
  });

  it("the report's --phases table: two-stage jobs of several traces pooled, cut into consecutive phases", () => {
    // Two processes of two jobs each: a job after another has the previous job's return to start its phases from.
    const traces = [1, 2].map((n) => {
      const trace = path.join(scratch, `phases-${n}.tsv`);
      execFileSync(process.execPath, ['--input-type=module', '-e', program(2)], {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, KINDLING_HOP_TRACE: trace },
      });
      return trace;
    });
    const report = execFileSync(process.execPath, ['--import', 'tsx', 'bench/hop-trace-report.ts', ...traces, '--phases', '--jobs', '0-99'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(report).toMatch(/^2 two-stage jobs \(0-99\) from 2 trace\(s\)/);
    const row = new Map(
      report
        .split('\n')
        .filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| phase'))
        .map((l) => {
          const cells = l.split('|').map((c) => c.trim());
          return [cells[1]!, { median: Number(cells[2]), mean: Number(cells[5]) }] as const;
        }),
    );
    const phases = ['between jobs', 'launch', 'map stage', 'hand-off', 'reduce stage', 'finish'];
    for (const name of [...phases, 'job cycle', 'map tasks, faster worker', 'map tasks, slower worker', 'reduce task', 'reduce task on CPU']) {
      expect(row.get(name)?.median, name).toBeGreaterThanOrEqual(0);
    }
    // The phases follow one another from the previous job's return to this one's: they add up to the cycle (of two
    // jobs, a median is the mean, which adds up; each figure is rounded to 0.01 ms).
    const sum = phases.reduce((s, name) => s + row.get(name)!.mean, 0);
    expect(Math.abs(sum - row.get('job cycle')!.mean)).toBeLessThan(0.05);
    // A worker computes its map tasks one after another, within the map stage.
    expect(row.get('map tasks, slower worker')!.median).toBeLessThanOrEqual(row.get('map stage')!.median + 0.01);
    expect(row.get('map tasks, faster worker')!.median).toBeLessThanOrEqual(row.get('map stage')!.median + 0.01);
  });
});
