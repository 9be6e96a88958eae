/**
 * FailureSuite-style specifications: failed tasks run again, lost workers are replaced and their work
 * recomputed from lineage, lost shuffle output is regenerated, stragglers get speculative copies, and every
 * run returns exactly what a fault-free run returns.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Context, capture, useModule, type RDD } from 'kindling';
import { record, useContexts } from './helpers.js';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-fault-tolerance-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = useContexts();

/** Waits until `condition` holds, failing after `ms`. */
async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${condition.toString()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Blocks the worker thread for `ms`, so a task is still running when a fault is injected. */
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const LINES = Array.from({ length: 400 }, (_, i) => `w${i % 37} w${i % 11} w${(i * 7) % 23} common`);

/** Word count, a join with word lengths, then a descending sort: three shuffles, four stages. */
function job(sc: Context, slowMs = 0): RDD<[number, string]> {
  const words = sc
    .parallelize(LINES, 6)
    .flatMap(
      capture({ slowMs, sleep }, (l: string) => {
        // About one line in 37 sleeps, so every map task takes a little while.
        if (slowMs > 0 && l.startsWith('w0 ')) sleep(slowMs);
        return l.split(' ');
      }),
    )
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b, 4);
  const lengths = words.map(([w]): [string, number] => [w, w.length]);
  return words
    .join(lengths)
    .map(([w, [count, len]]): [number, string] => [count * 100 + len, w])
    .sortByKey(false, 3);
}

describe('fault tolerance', () => {
  it('a task that fails on its first attempt only: the job succeeds after exactly one retry', async () => {
    const sc = context();
    const events = record(sc);
    const marker = path.join(mkdtempSync(path.join(scratch, 'ft-')), 'failed-once');
    const fs = useModule('node:fs');
    const out = await sc
      .range(20, undefined, 1, 4)
      .map(
        capture({ fs, marker }, (x: number) => {
          if (x === 13 && !fs.existsSync(marker)) {
            fs.writeFileSync(marker, 'x');
            throw new Error('transient failure');
          }
          return x * 2;
        }),
      )
      .collect();
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    const ends = events.filter((e) => e.type === 'taskEnd');
    expect(ends.filter((e) => e.result === 'failed')).toHaveLength(1);
    expect(ends.filter((e) => e.result === 'success')).toHaveLength(4);
  });

  it('accumulators count each successful task once, not the failed attempts', async () => {
    const sc = context();
    const marker = path.join(mkdtempSync(path.join(scratch, 'ft-')), 'failed-once');
    const fs = useModule('node:fs');
    const seen = sc.accumulator(0);
    await sc.range(100, undefined, 1, 4).foreach(
      capture({ fs, marker, seen }, (x: number) => {
        seen.add(1);
        if (x === 60 && !fs.existsSync(marker)) {
          fs.writeFileSync(marker, 'x');
          throw new Error('after counting 10 elements of this partition');
        }
      }),
    );
    expect(seen.value).toBe(100);
  });

  it('a custom accumulator counts each task of an action once when a worker is killed at a random moment', async () => {
    let lostMidJob = 0;
    for (let run = 0; run < 3; run++) {
      const sc = context();
      const events = record(sc);
      const merges: number[] = [];
      const total = sc.customAccumulator({
        zero: () => 0,
        add: (a: number, v: number) => a + v,
        merge: (a: number, b: number) => {
          merges.push(b);
          return a + b;
        },
      });
      await sc.range(2).count(); // both workers up, so the kill lands in the job
      // The job takes about 8 x 40 ms / 2 workers; the kill lands somewhere in it.
      const delayMs = Math.floor(Math.random() * 120);
      const killing = new Promise<void>((resolve) => setTimeout(() => void sc.faults.killWorker(run % 2).then(resolve, resolve), delayMs));
      await sc.range(400, undefined, 1, 8).foreach(
        capture({ total, sleep }, (x: number) => {
          total.add(x);
          if (x % 5 === 0) sleep(4);
        }),
      );
      if (events.some((e) => e.type === 'taskEnd' && e.result !== 'success')) lostMidJob++;
      await killing;
      expect(total.value, `kill after ${delayMs} ms`).toBe((399 * 400) / 2);
      expect(merges, `kill after ${delayMs} ms`).toHaveLength(8);
    }
    // At least one kill hit a running task (each run's delay is random, within the job's length).
    expect(lostMidJob).toBeGreaterThan(0);
  });

  for (const when of ['map stage', 'reduce stage'] as const) {
    it(`killing a worker in the ${when} of word count + join + sortByKey gives the fault-free result`, async () => {
      const expected = await job(context({ master: 'local' })).collect();
      const sc = context();
      const events = record(sc);
      let killed = false;
      sc.events.on('taskStart', (e) => {
        // Stage 0 is the word count's map stage; later stage ids are reduce-side stages.
        const hit = when === 'map stage' ? e.stageId === 0 && e.partition === 3 : e.stageId >= 2;
        if (!killed && hit) {
          killed = true;
          void sc.faults.killWorker(e.workerIndex);
        }
      });
      expect(await job(sc, 30).collect()).toEqual(expected);
      expect(killed).toBe(true);
      expect(events.some((e) => e.type === 'workerLost')).toBe(true);
      // The replacement starts in the background; the job may well have finished on the other worker first.
      await waitFor(() => events.some((e) => e.type === 'workerAdded' && e.replacement));
    });
  }

  it('a skipped stage whose output died with a worker while a sibling stage ran is run again (the job never waits forever)', async () => {
    // Job 2 joins `left` (its shuffle output kept from job 1: the stage is skipped) with `right` (a new map stage).
    // The worker killed while `right`'s map stage runs held part of `left`'s output, which nobody is running now.
    const build = (sc: Context) => {
      const left = sc
        .parallelize(
          Array.from({ length: 400 }, (_, i) => i),
          4,
        )
        .map((x): [number, number] => [x % 20, x])
        .reduceByKey((a, b) => a + b, 4);
      const right = sc
        .parallelize(
          Array.from({ length: 400 }, (_, i) => i),
          4,
        )
        .map(
          capture({ sleep }, (x): [number, number] => {
            if (x % 100 === 0) sleep(150);
            return [x % 20, 1];
          }),
        )
        .reduceByKey((a, b) => a + b, 4);
      return { left, right };
    };
    const sorted = (xs: Array<[number, [number, number]]>) => xs.sort((a, b) => a[0] - b[0]);
    const ref = build(context({ master: 'local' }));
    const expected = sorted(await ref.left.join(ref.right).collect());
    let leftRerun = 0;
    for (const victim of [0, 1]) {
      const sc = context();
      const events = record(sc);
      const { left, right } = build(sc);
      expect(await left.count()).toBe(20);
      // Stages of job 1 by name ("shuffle 0 of RDD 1 (map at ...)"): job 2 makes its own stages for the same shuffles.
      const leftMapStage = events.find((e) => e.type === 'stageSubmitted' && e.name.startsWith('shuffle '));
      const leftStageName = leftMapStage?.type === 'stageSubmitted' ? leftMapStage.name : '';
      const jobOneStages = new Set(events.filter((e) => e.type === 'stageSubmitted').map((e) => (e as { stageId: number }).stageId));
      let killed = false;
      sc.events.on('taskStart', (e) => {
        if (!killed && !jobOneStages.has(e.stageId) && e.workerIndex === victim) {
          killed = true;
          void sc.faults.killWorker(victim);
        }
      });
      const joinedFrom = events.length;
      const joined = left.join(right).collect();
      const outcome = await Promise.race([joined, new Promise((r) => setTimeout(() => r('still waiting after 20 s'), 20_000))]);
      expect(outcome, `victim ${victim}`).not.toBe('still waiting after 20 s');
      expect(sorted(outcome as Array<[number, [number, number]]>), `victim ${victim}`).toEqual(expected);
      expect(killed).toBe(true);
      expect(events.some((e) => e.type === 'workerLost')).toBe(true);
      if (events.slice(joinedFrom).some((e) => e.type === 'stageSubmitted' && e.name === leftStageName)) leftRerun++;
    }
    // At least one victim held part of `left`'s output, and its map stage ran again in job 2.
    expect(leftRerun).toBeGreaterThan(0);
  });

  it('killing a worker between two jobs of an iterative loop: lost shuffle output is recomputed, results identical', async () => {
    const run = async (sc: Context, kill: boolean) => {
      let ranks: RDD<[number, number]> = sc.parallelize(
        Array.from({ length: 60 }, (_, i): [number, number] => [i % 12, 1]),
        4,
      );
      const trace: number[] = [];
      for (let i = 0; i < 6; i++) {
        ranks = ranks.mapValues((v) => v * 0.5 + 1).reduceByKey((a, b) => a + b, 3);
        trace.push(await ranks.map(([, v]) => v).sum());
        if (kill && i === 2) await sc.faults.killWorker(1);
      }
      return { trace, final: (await ranks.collect()).sort((a, b) => a[0] - b[0]) };
    };
    const expected = await run(context({ master: 'local' }), false);
    const sc = context();
    const events = record(sc);
    expect(await run(sc, true)).toEqual(expected);
    expect(events.some((e) => e.type === 'workerLost')).toBe(true);
  });

  it('a killed worker does not count against its tasks (maxTaskFailures: 1 still succeeds)', async () => {
    const sc = context({ maxTaskFailures: 1 });
    let killed = false;
    sc.events.on('taskStart', (e) => {
      if (!killed && e.partition === 1) {
        killed = true;
        void sc.faults.killWorker(e.workerIndex);
      }
    });
    const out = await sc
      .range(40, undefined, 1, 4)
      .map(
        capture({ sleep }, (x: number) => {
          sleep(5);
          return x + 1;
        }),
      )
      .sum();
    expect(out).toBe(820);
    expect(killed).toBe(true);
  });

  it('speculation: a straggler gets a copy on another worker, the first to finish wins, output counted once', async () => {
    const sc = context({ speculation: { enabled: true, multiplier: 2, quantile: 0.5, minRuntimeMs: 50, intervalMs: 20 } });
    const events = record(sc);
    const counted = sc.accumulator(0);
    await sc.range(4).count(); // start both workers before slowing one
    // Longer than a loaded machine could take to run the job the normal way, so finishing well before it means the
    // speculative copies won (the delay is cut short when a copy is cancelled).
    sc.faults.slowWorker(1, 30_000);
    const started = Date.now();
    const out = await sc
      .range(80, undefined, 1, 8)
      .map(
        capture({ counted }, (x: number) => {
          counted.add(1);
          return x;
        }),
      )
      .collect();
    const elapsed = Date.now() - started;
    expect(out).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect(counted.value).toBe(80);
    // Without speculation the job would wait for worker 1's 30 s delay.
    expect(elapsed).toBeLessThan(20_000);
    const spec = events.filter((e) => e.type === 'taskStart' && e.speculative);
    expect(spec.length).toBeGreaterThan(0);
    // The losing copies end as 'killed' once the worker hears of the cancellation (after the job returned).
    await waitFor(() => events.some((e) => e.type === 'taskEnd' && e.result === 'killed'), 20_000);
    expect(counted.value).toBe(80);
  });

  it('chaos: random worker kills during a multi-stage job always give the fault-free result', async () => {
    const expected = await job(context({ master: 'local' })).collect();
    for (let run = 0; run < 3; run++) {
      const sc = context();
      let kills = 0;
      sc.events.on('taskStart', (e) => {
        // Deterministic "random": kill on a few task starts chosen by a hash of the run and the event.
        if (kills < 2 && (e.stageId * 31 + e.partition * 7 + run * 13) % 9 === 0) {
          kills++;
          void sc.faults.killWorker(e.workerIndex);
        }
      });
      expect(await job(sc, 10).collect()).toEqual(expected);
      expect(kills).toBeGreaterThan(0);
    }
  });
});
