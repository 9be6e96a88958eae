/**
 * What the specs of indeterminate shuffles share: a reduceByKey whose reduce partitions come back in another order
 * when computed again after a death (a 1 MB shuffle pool makes them spill depending on what the worker holds), the
 * exact records it must give, and a fault that lands mid-stage.
 */
import { capture, type Context, type RDD, type SchedulerEvent } from 'kindling';

/** The memory options that make reduce partitions spill, so that a partition computed again comes back in another order. */
export const SPILLING = { workerMB: 256, storageFraction: 0.5, shuffleFraction: 0.004 } as const;

export const N = 60_000;
export const KEYS = 20_000;

/** Blocks the worker thread for `ms`, so a stage is still running when a fault lands. */
export const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** N records over KEYS keys, in permuted key order, summed by key into 4 partitions (the unordered shuffle). */
export function sums(sc: Context): RDD<[number, number]> {
  return sc
    .range(N, undefined, 1, 4)
    .map(capture({ KEYS }, (i: number): [number, number] => [(i * 7919) % KEYS, i]))
    .reduceByKey((a, b) => a + b, 4);
}

/**
 * A few records of each reduce task sleep (30 ms each, ~50 ms a task), so a kill 0-40 ms after the first result
 * lands while the stage still runs: with 5 ms, a third of the runs hit after the last result and ran nothing again.
 */
export const slow = capture({ sleep }, (kv: [number, number]): [number, number] => {
  if (kv[0] % 4000 === 0) sleep(30);
  return kv;
});

export function expectedSums(): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const k = (i * 7919) % KEYS;
    m.set(k, (m.get(k) ?? 0) + i);
  }
  return m;
}

/** Records that are not exactly the expected ones, each key once with its sum: lost, doubled, wrong. */
export function problems(out: ReadonlyArray<readonly [number, number]>, expected: ReadonlyMap<number, number>): string[] {
  const seen = new Map<number, number>();
  const bad: string[] = [];
  for (const [k, v] of out) {
    seen.set(k, (seen.get(k) ?? 0) + 1);
    if (expected.get(k) !== v) bad.push(`key ${k}: ${v}, not ${expected.get(k)}`);
  }
  for (const [k, c] of seen) if (c > 1) bad.push(`key ${k} ${c} times`);
  for (const k of expected.keys()) if (!seen.has(k)) bad.push(`key ${k} lost`);
  return bad;
}

/**
 * Kills workers `victims` (at once) `delayMs` after the first result task of the job's last stage succeeds, so
 * some reducers have read the first computation. Returns whether the kill happened.
 */
export function killAfterFirstResult(
  sc: Context,
  victims: readonly number[],
  delayMs: number,
  isLast: (e: { name: string }) => boolean,
): () => boolean {
  let last = -1;
  let killed = false;
  sc.events.on('stageSubmitted', (e) => {
    if (isLast(e)) last = e.stageId;
  });
  sc.events.on('taskEnd', (e) => {
    if (killed || e.stageId !== last || e.result !== 'success') return;
    killed = true;
    setTimeout(() => {
      for (const v of victims) void sc.faults.killWorker(v).catch(() => undefined);
    }, delayMs);
  });
  return () => killed;
}

export const resubmitted = (events: readonly SchedulerEvent[]) => events.filter((e) => e.type === 'stageSubmitted' && e.attempt > 0).length;
