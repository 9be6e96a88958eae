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
const JOB = `
import { Context } from 'kindling';
const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
await sc.range(400000, undefined, 1, 4).map((x) => [x % 7, [x, x + 1, x + 2]]).reduceByKey((a, b) => [a[0] + b[0], a[1], a[2]]).collect();
await sc.stop();
`;

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
    const rows = report.split('\n').filter((l) => /^\| \d+ \| \d+ \| t\d+ \(2 tasks\)/.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(2);
  });
});
