/** What the fault specifications share: contexts stopped after each test, and a recorder of scheduler events. */
import { afterEach, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { Context, capture, type SchedulerEvent, useModule } from 'kindling';
import { zeroTaskMetrics } from '../../src/exec/protocol.js';

type Options = ConstructorParameters<typeof Context>[0];

/** A `context(options)` factory for a test file: local[2], no progress bar, every context stopped after each test. */
export function useContexts(defaults: Options = {}): (options?: Options) => Context {
  const contexts: Context[] = [];
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((sc) => sc.stop()));
  });
  return (options = {}) => {
    const sc = new Context({ master: 'local[2]', progress: false, ...defaults, ...options });
    contexts.push(sc);
    return sc;
  };
}

/** Every event the context emits from now on, in order. */
export function record(sc: Context): SchedulerEvent[] {
  const events: SchedulerEvent[] = [];
  sc.events.onAny((e) => void events.push(e));
  return events;
}

/** Task metrics as a worker reports them, every figure 0 unless given. */
export const taskMetrics = zeroTaskMetrics;

/**
 * A job whose reduce stage is skewed: the partition holding the key 'hot' computes for `ms` (over the 1 s skew floor),
 * the others at once. `pairs` are spread over 4 map partitions and grouped into 4.
 */
export function skewedJob(
  sc: Context,
  ms = 1200,
  pairs: Array<[string, number]> = [
    ['hot', 1],
    ['cold', 2],
    ['x', 3],
    ['y', 4],
  ],
): Promise<unknown> {
  return sc
    .parallelize(pairs, 4)
    .groupByKey(4)
    .mapPartitions(
      capture({ ms }, (it) => {
        const rows = [...it];
        if (rows.some(([k]) => k === 'hot')) {
          const until = Date.now() + ms;
          while (Date.now() < until);
        }
        return rows;
      }),
    )
    .collect();
}

/** Attempts whose `taskStart` came without their `taskEnd` (stage.attempt/partition#attempt): what workers still compute. */
export function unended(events: readonly SchedulerEvent[]): string[] {
  const open = new Set<string>();
  for (const e of events) {
    if (e.type !== 'taskStart' && e.type !== 'taskEnd') continue;
    const key = `${e.stageId}.${e.stageAttempt}/${e.partition}#${e.attempt}`;
    if (e.type === 'taskStart') open.add(key);
    else open.delete(key);
  }
  return [...open];
}

/** Waits, 20 ms at a time, until `condition()` holds; fails naming `what` after `ms` (45 s: a kill's grace, then a worker start under load). */
export async function waitFor(what: string, condition: () => boolean, ms = 45_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What `p` rejects with (an Error saying so if it resolves). */
export const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    (v) => new Error(`resolved with ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );

/**
 * Runs a job of `n` tasks that each wait (at most 30 s) until all have started: it ends only if `n` workers are free
 * at once (none is still held by a stuck task). `dir` holds the marker files.
 */
export async function runsOnWorkersAtOnce(sc: Context, n: number, dir: string): Promise<void> {
  const marker = path.join(mkdtempSync(path.join(dir, 'together-')), 'started');
  const fs = useModule('node:fs');
  const all = Array.from({ length: n }, (_, i) => i);
  const out = await sc
    .parallelize(all, n)
    .map(
      capture({ fs, marker, all }, (x: number) => {
        fs.writeFileSync(`${marker}-${x}`, 'x');
        const until = Date.now() + 30_000;
        for (const o of all) {
          while (!fs.existsSync(`${marker}-${o}`)) {
            if (Date.now() > until) throw new Error(`partition ${o} never ran alongside ${x}: a worker is still held`);
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          }
        }
        return x;
      }),
    )
    .collect();
  expect(out).toEqual(all);
}
