/**
 * A cancelled job of the mapreduce engine stops its tasks where that engine spends its time outside the record
 * loops the memory engine checks (test/core/task-interrupt.test.ts): a reduce task reading its map outputs from disk
 * (seconds before it computes), and a map task sorting and writing its whole output at close. Before, such a task
 * ran past its 1 s kill grace and its worker was terminated and replaced (start-up paid again, for a task that
 * would have stopped by itself).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortError, Context, type SchedulerEvent } from 'kindling';

/** ~10-20 µs of work a record. */
function slow(x: number): number {
  let s = 0;
  for (let i = 0; i < 3000; i++) s += Math.sqrt(i + x);
  return s;
}

const contexts: Context[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function context(): { sc: Context; localDir: string } {
  const localDir = mkdtempSync(path.join(tmpdir(), 'kindling-mr-interrupt-'));
  dirs.push(localDir);
  const sc = new Context({ master: 'local[2]', engine: 'mapreduce', localDir, progress: false, ui: false, hints: false });
  contexts.push(sc);
  return { sc, localDir };
}

/** Map output run files under `dir` (`shuffle_S_M.spillN`). */
function spillFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/^shuffle_\d+_\d+\.spill\d+$/.test(e.name)) out.push(e.name);
    }
  };
  walk(dir);
  return out;
}

const lost = (events: readonly SchedulerEvent[]) => events.filter((e) => e.type === 'workerLost' || e.type === 'executorRemoved');

/**
 * Runs `action` with a signal, aborts it once `when` resolves, and returns the events seen until 2.5 s after the
 * abort (past the kill grace) and the action's error.
 */
async function abortWhen(
  sc: Context,
  action: (signal: AbortSignal) => Promise<unknown>,
  when: (events: SchedulerEvent[]) => Promise<void>,
): Promise<SchedulerEvent[]> {
  const events: SchedulerEvent[] = [];
  const off = sc.events.onAny((e) => events.push(e));
  const ac = new AbortController();
  const settled = action(ac.signal).then(
    () => new Error('the job ended before it was aborted'),
    (e: unknown) => e,
  );
  await when(events);
  ac.abort();
  expect(await settled).toBeInstanceOf(AbortError);
  await new Promise((r) => setTimeout(r, 2500));
  off();
  return events;
}

/** Resolves once `test` holds, looking every 5 ms. */
async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((r) => setTimeout(r, 5));
}

describe('engine mapreduce: a cancelled job’s tasks stop where they read and write runs, their workers kept', () => {
  it('reduce tasks reading their map outputs from disk (before they compute)', async () => {
    const { sc } = context();
    await sc.range(0, 4, 1, 2).count(); // both workers up
    const events = await abortWhen(
      sc,
      (signal) =>
        sc
          .range(0, 6_000_000, 1, 2)
          .map((x): [number, number] => [x % 1000, x])
          .partitionBy(2)
          .values()
          .map(slow)
          .count({ signal }),
      async (seen) => {
        // Both reduce tasks started (the job's last stage): they read 3,000,000 records each, for seconds.
        await until(() => {
          const last = Math.max(...seen.flatMap((e) => (e.type === 'jobStart' ? e.stageIds : [])));
          return new Set(seen.flatMap((e) => (e.type === 'taskStart' && e.stageId === last ? [e.workerIndex] : []))).size === 2;
        });
        await new Promise((r) => setTimeout(r, 150));
      },
    );
    expect(lost(events)).toEqual([]);
    expect(await sc.range(0, 1000, 1, 2).sum()).toBe(499_500);
  }, 180_000);

  it('map tasks sorting and writing their output at close', async () => {
    const { sc, localDir } = context();
    await sc.range(0, 4, 1, 2).count();
    const events = await abortWhen(
      sc,
      (signal) =>
        sc
          .range(0, 4_000_000, 1, 2)
          .map((x): [number, number] => [x % 1000, x])
          .partitionBy(8)
          .count({ signal }),
      // A map task's first run file is made at close, once it has sorted its first reducer's records: seven to go.
      async () => until(() => spillFiles(localDir).length > 0),
    );
    expect(lost(events)).toEqual([]);
    // Stopped at close, neither map task stored an output: no run file stays.
    expect(spillFiles(localDir)).toEqual([]);
    expect(await sc.range(0, 1000, 1, 2).sum()).toBe(499_500);
  }, 180_000);
});
