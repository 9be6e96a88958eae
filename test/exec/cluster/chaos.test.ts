/**
 * Faults at the moments the other fault specs leave out, on worker threads (`local[2]`) and executor processes
 * (`local-cluster[2]`), each at a random moment (seeded per run, logged; replay with KINDLING_FAULT_SEED): a worker
 * killed while `saveAsTextFile` commits its tasks (one or both at once), while a later job reads a cached RDD whose
 * blocks it holds, during `stop()`; an executor SIGKILLed while the context starts, the same executor twice in a
 * row, an executor SIGSTOPped past executorTimeoutMs. Each ends in exactly the fault-free result (a save: the whole
 * output with `_SUCCESS`, no `_temporary`, no staging folder beside it), the pool full again, and after stop() no
 * process of the context's own. `bench/chaos.ts --backend ...` runs such faults by the hundred.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capture } from 'kindling';
import { redisSkipReason } from '../../streaming/redis-server.js';
import { record, useContexts } from '../../scheduler/helpers.js';
import { checkWhole, descendants } from '../../../bench/fault-harness.js';
import { seededRandom, waitUntil } from './helpers.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-chaos-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // computing
  }
}

const { seed, random } = seededRandom();
const context = useContexts({ ui: false, hints: false });

const LINES = Array.from({ length: 24 }, (_, i) => `line ${i}`);

/** The executor processes below this one (local-cluster's children), oldest first. */
const executorPids = () =>
  descendants(process.pid)
    .filter((p) => p.cmd.includes(' executor '))
    .map((p) => p.pid);

/** Waits until no process of the context's own is left below this one (redis-server, executors). */
async function noProcessesLeft(): Promise<void> {
  const left = () => descendants(process.pid).filter((p) => / executor |redis-server/.test(p.cmd));
  const deadline = Date.now() + 15_000;
  while (left().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(left()).toEqual([]);
}

/** Checks a save's output folder: every line, `_SUCCESS`, nothing else in it or beside it. */
function expectWholeOutput(out: string): void {
  const names = readdirSync(out).sort();
  expect(names).toContain('_SUCCESS');
  expect(names.filter((n) => !n.startsWith('part-') && n !== '_SUCCESS')).toEqual([]);
  const lines = names.filter((n) => n.startsWith('part-')).flatMap((n) => readFileSync(path.join(out, n), 'utf8').split('\n').filter(Boolean));
  expect(lines).toEqual(LINES);
  expect(readdirSync(path.dirname(out))).toEqual([path.basename(out)]);
}

const masters = ['local[2]', ...(redisSkipReason === undefined ? ['local-cluster[2]'] : [])];

describe.each(masters)(`%s: faults at moments of their own (seed ${seed})`, (master) => {
  const cluster = master.startsWith('local-cluster');

  it('one worker, or both at once, killed while saveAsTextFile commits: the whole output, once', async () => {
    const sc = context({ master });
    const events = record(sc);
    await sc.range(0, 4, 1, 2).count();
    const parent = mkdtempSync(path.join(scratch, 'save-'));
    const out = path.join(parent, 'out');
    const at = Math.floor(random() * 6);
    const delay = Math.floor(random() * 15);
    const both = random() < 0.5;
    console.log(`${master}: kill ${both ? 'both workers' : 'one worker'} ${delay} ms after the save's task ${at} starts`);
    let killed = false;
    sc.events.on('taskStart', (e) => {
      if (!killed && e.partition >= at && e.stageId > 0) {
        killed = true;
        const victims = both ? [0, 1] : [e.workerIndex];
        setTimeout(() => void Promise.all(victims.map((w) => sc.faults.killWorker(w))), delay);
      }
    });
    await sc
      .parallelize(LINES, 6)
      .map(
        capture({ spin }, (l: string) => {
          spin(5);
          return l;
        }),
      )
      .saveAsTextFile(out);
    expect(killed).toBe(true);
    expectWholeOutput(out);
    await waitUntil(() => events.some((e) => e.type === 'workerLost'), 15_000, 'the lost worker');
    expect(await checkWhole(sc, 30_000, !cluster)).toBe(true);
  });

  it('the worker holding cached blocks killed while a later job reads them: recomputed from lineage', async () => {
    const sc = context({ master });
    const cached = sc
      .range(0, 6000, 1, 6)
      .map((x): [number, number] => [x % 17, x])
      .persist();
    expect(await cached.count()).toBe(6000);
    const holders = (await sc.faults.snapshot()).backend.workers.map((w) => w.index);
    const victim = holders[Math.floor(random() * holders.length)]!;
    const delay = Math.floor(random() * 20);
    console.log(`${master}: kill worker ${victim} ${delay} ms into the job reading the cache`);
    let killed = false;
    sc.events.on('taskStart', () => {
      if (!killed) {
        killed = true;
        setTimeout(() => void sc.faults.killWorker(victim), delay);
      }
    });
    const sums = await cached
      .map(
        capture({ spin }, (kv: [number, number]) => {
          if (kv[1] % 1000 === 0) spin(5);
          return kv;
        }),
      )
      .reduceByKey((a, b) => a + b, 3)
      .collect();
    expect(killed).toBe(true);
    const want = new Map<number, number>();
    for (let x = 0; x < 6000; x++) want.set(x % 17, (want.get(x % 17) ?? 0) + x);
    expect(new Map(sums)).toEqual(want);
    expect(await cached.count()).toBe(6000);
  });

  it('stop() while a worker dies: stop() ends, the job fails naming the stop or ended right, nothing is left', async () => {
    const localDir = mkdtempSync(path.join(scratch, 'local-'));
    const sc = context({ master, localDir });
    await sc.range(0, 4, 1, 2).count();
    const at = Math.floor(random() * 8);
    let stopped: Promise<void> | undefined;
    sc.events.on('taskStart', (e) => {
      if (stopped === undefined && e.partition >= at) {
        void sc.faults.killWorker(e.workerIndex);
        stopped = sc.stop();
      }
    });
    const result = await sc
      .range(0, 64, 1, 16)
      .map((x): [number, number] => [x % 5, x])
      .reduceByKey((a, b) => a + b, 4)
      .count()
      .then(
        (n) => ({ n }),
        (e: unknown) => ({ e: e as Error }),
      );
    expect(stopped).toBeDefined();
    await stopped;
    if ('n' in result) expect(result.n).toBe(5);
    else expect(result.e.message).toMatch(/stopped/i);
    expect(readdirSync(localDir)).toEqual([]);
    await noProcessesLeft();
  });
});

describe.skipIf(redisSkipReason !== undefined)(`local-cluster[2]: executors signalled (seed ${seed})`, () => {
  it('an executor SIGKILLed while the context starts (before any task): the job runs, the pool fills again', async () => {
    const sc = context({ master: 'local-cluster[2]' });
    const events = record(sc);
    const job = sc.range(0, 200, 1, 8).sum();
    await waitUntil(() => executorPids().length === 2, 30_000, 'two executor processes');
    const delay = Math.floor(random() * 300);
    await new Promise((r) => setTimeout(r, delay));
    const taskStarted = events.some((e) => e.type === 'taskStart');
    const victim = executorPids()[Math.floor(random() * 2)]!;
    console.log(`local-cluster: SIGKILL of an executor ${delay} ms after both were spawned (a task had started: ${taskStarted})`);
    process.kill(victim, 'SIGKILL');
    expect(await job).toBe(19_900);
    await waitUntil(() => executorPids().length === 2 && !executorPids().includes(victim), 30_000, 'a new executor process');
    expect(await checkWhole(sc, 30_000, false)).toBe(true);
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  });

  it('stop() while the cluster starts (redis-server or the executors starting): stop() ends, no process or folder is left', async () => {
    // Four contexts, each stopped at a random moment of its first 80 ms: before redis-server is spawned, while it
    // starts, while the executors are spawned (they take a second or more to register).
    for (let i = 0; i < 4; i++) {
      const delay = Math.floor(random() * 80);
      console.log(`local-cluster: stop() ${delay} ms after the context was made`);
      const sc = context({ master: 'local-cluster[2]' });
      await new Promise((r) => setTimeout(r, delay));
      await sc.stop();
    }
    await noProcessesLeft();
  });

  it('the same executor killed twice in a row, the second time as soon as its replacement is leased', async () => {
    const sc = context({ master: 'local-cluster[2]' });
    const events = record(sc);
    await sc.range(0, 4, 1, 2).count();
    const victim = Math.floor(random() * 2);
    const delay = Math.floor(random() * 100);
    let kills = 0;
    sc.events.on('taskStart', (e) => {
      if (kills === 0 && e.workerIndex === victim) {
        kills = 1;
        void sc.faults.killWorker(victim);
      }
    });
    sc.events.on('workerAdded', (e) => {
      if (kills === 1 && e.workerIndex === victim && e.replacement) {
        kills = 2;
        setTimeout(() => void sc.faults.killWorker(victim), delay);
      }
    });
    const out = await sc
      .range(0, 40, 1, 20)
      .map(
        capture({ spin }, (x: number): [number, number] => {
          spin(40);
          return [x % 3, x];
        }),
      )
      .reduceByKey((a, b) => a + b, 2)
      .collect();
    expect(new Map(out)).toEqual(
      new Map(
        [0, 1, 2].map((k) => [
          k,
          Array.from({ length: 40 }, (_, x) => x)
            .filter((x) => x % 3 === k)
            .reduce((a, b) => a + b, 0),
        ]),
      ),
    );
    await waitUntil(() => kills === 2, 30_000, 'the second kill');
    await waitUntil(() => events.filter((e) => e.type === 'workerLost' && e.workerIndex === victim).length >= 2, 15_000, 'two losses');
    expect(await checkWhole(sc, 30_000, false)).toBe(true);
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  });

  it('an executor SIGSTOPped past executorTimeoutMs: lost, its tasks rerun, the same result; after SIGCONT the pool is full', async () => {
    const timeoutMs = 1500;
    const sc = context({ master: 'local-cluster[2]', executorTimeoutMs: timeoutMs });
    const events = record(sc);
    await sc.range(0, 4, 1, 2).count();
    const victim = executorPids()[Math.floor(random() * 2)]!;
    const at = Math.floor(random() * 6);
    let stopped = false;
    sc.events.on('taskStart', (e) => {
      if (!stopped && e.partition >= at) {
        stopped = true;
        process.kill(victim, 'SIGSTOP');
      }
    });
    try {
      const out = await sc
        .range(0, 24, 1, 12)
        .map(
          capture({ spin }, (x: number) => {
            spin(50);
            return x * 2;
          }),
        )
        .collect();
      expect(out).toEqual(Array.from({ length: 24 }, (_, i) => i * 2));
      await waitUntil(() => events.some((e) => e.type === 'workerLost'), timeoutMs + 5000, 'the stopped executor declared lost');
    } finally {
      process.kill(victim, 'SIGCONT');
    }
    expect(await checkWhole(sc, 30_000, false)).toBe(true);
    expect(await sc.range(0, 100, 1, 4).sum()).toBe(4950);
  });
});
