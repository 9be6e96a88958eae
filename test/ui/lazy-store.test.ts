/**
 * The UI is on by default, so it must cost a script nobody looks at nothing it would notice: at start it only
 * listens, holding the events; the status store, the HTTP server, REST and the pages load on the first connection
 * (or once HELD_FOR_STORE events are held), and then show every event since the start, as a store fed from the
 * start would.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context } from 'kindling';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent } from '../../src/scheduler/events.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import { HELD_FOR_STORE, startUi, type UiSubsystem } from '../../src/ui/index.js';
import { readEventLog } from '../../src/ui/event-log.js';

/** Drawn here and printed: a run cut by the spec's time limit gets no seed from fast-check. FUZZ_SEED replays. */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`lazy-store: FUZZ_SEED=${SEED} replays`);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function view(appName: string, port = 0, retainedJobs = 5000) {
  return {
    appName,
    numWorkers: 1,
    storageBytesPerWorker: 1,
    options: {},
    ui: { port, host: '127.0.0.1', killEnabled: false, retainedJobs, retainedStages: 5000 },
    eventLog: false as const,
  };
}

/**
 * A context without a UI of its own and two UIs on its events (the package's types are the build's, its bus the same
 * class as the sources'): `eager` to be asked before anything runs, `lazy` first asked at the end.
 */
function contextWithTwoUis() {
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
  const events = sc.events as unknown as EventBus<SchedulerEvent>;
  return { sc, eager: startUi(events, view('eager'))!, lazy: startUi(events, view('lazy'))! };
}

/** Turns of the event loop enough for a dynamic import to land, were one started. */
async function settle(ms = 150): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function api(ui: UiSubsystem, p: string): Promise<unknown> {
  const res = await fetch(`${await ui.url()}/api/v1/applications/${ui.appId}${p}`);
  expect(res.status, p).toBe(200);
  return res.json();
}

function run(script: string): Promise<string> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`)))));
}

/**
 * A script in a fresh process that imports `entry`, runs a job with the UI on and nobody connected, then asks the
 * REST API once: the files of dist/ it loaded before and after the request (paths under dist/, a chunk's content
 * hash dropped: `driver/live-ui.js`), recorded by a loader hook.
 */
async function lazyRun(entry: string): Promise<{ before: string[]; jobs: string; after: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-lazy-'));
  try {
    const log = path.join(dir, 'modules');
    const hook = `import { appendFileSync } from 'node:fs';
      export async function load(url, context, next) {
        if (url.includes('/dist/')) appendFileSync(${JSON.stringify(log)}, url.split('/dist/')[1].replace(/-[A-Z0-9]{8}\\.js$/, '.js') + '\\n');
        return next(url, context);
      }`;
    const script = `
      import { register } from 'node:module';
      import { readFileSync } from 'node:fs';
      import { pathToFileURL } from 'node:url';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), pathToFileURL('./'));
      const http = () => (process.moduleLoadList.includes('NativeModule http') ? ['node:http'] : []);
      const loaded = () => [...new Set([...readFileSync(${JSON.stringify(log)}, 'utf8').split('\\n').filter(Boolean), ...http()])].sort().join(' ');
      const { Context } = await import(${JSON.stringify(entry)});
      const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: { port: 0 }, eventLog: { dir: ${JSON.stringify(path.join(dir, 'events'))} } });
      const url = await sc.uiWebUrl();
      const counts = await sc.parallelize([1, 2, 3, 4], 2).map((x) => [x % 2, x]).reduceByKey((a, b) => a + b).collect();
      await new Promise((r) => setTimeout(r, 300));
      console.log('before: ' + loaded());
      const jobs = await (await fetch(url + '/api/v1/applications/' + sc.applicationId + '/jobs')).json();
      console.log('jobs: ' + jobs.map((j) => j.status + ' ' + j.numTasks).join(', '));
      console.log('after: ' + loaded());
      await sc.stop();
    `;
    const out = await run(script);
    const line = (name: string) =>
      out
        .split('\n')
        .find((l) => l.startsWith(`${name}: `))!
        .slice(name.length + 2);
    return { before: line('before').split(' '), jobs: line('jobs'), after: line('after').split(' ') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('lazy live UI', () => {
  it('loads nothing beyond its listener in a script nobody looks at, and the store, server and pages on the first request', async () => {
    // The modules themselves (what `import 'kindling'` loads after a bare `tsc`).
    const { before, jobs, after } = await lazyRun(path.join(root, 'dist/index.js'));
    // Listening, and the event log (it writes as the application runs, without the UI).
    expect(before).toContain('ui/index.js');
    expect(before).toContain('ui/listen.js');
    expect(before).toContain('ui/event-log.js');
    for (const lazy of ['live-ui-bundle.js', 'live-ui.js', 'status-store.js', 'server.js', 'rest.js', 'client.js'])
      expect(before).not.toContain(`ui/${lazy}`);
    // The first request loads them and sees the job that ran before it.
    expect(jobs).toBe('SUCCEEDED 4');
    expect(after).toContain('ui/live-ui-bundle.js');
  }, 60_000);

  it('is as lazy in the driver bundle (`import "kindling"` after `npm run build`): the live UI runs on the first request', async () => {
    const { before, jobs, after } = await lazyRun('kindling');
    // The bundle (one file src/entry-bundle.ts runs: the live UI and the event log's writer are modules in it whose
    // top level runs on first use), no module of dist/ui/ (no second copy of them). The live UI's server is the one
    // module that loads node:http.
    const bundle = ['entry.js', 'entry-bundle.js', 'node:http'];
    expect(before).toContain('entry-bundle.js');
    expect(before).not.toContain('node:http');
    expect(before.filter((f) => !bundle.includes(f))).toEqual([]);
    expect(jobs).toBe('SUCCEEDED 4');
    expect(after).toContain('node:http');
    expect(after.filter((f) => !bundle.includes(f))).toEqual([]);
  }, 60_000);

  it('answers the first request with every event since the start (jobs, stages, tasks, executors, storage) as a store fed from the start does', async () => {
    // Two UIs on the context's own events: one connected before anything ran, one first asked at the end.
    const { sc, eager, lazy } = contextWithTwoUis();
    try {
      expect(await api(eager, '/jobs')).toEqual([]);
      expect(eager.storeLoaded).toBe(true);
      const words = sc.parallelize(['a b', 'b c', 'c d a', 'a'], 3).flatMap((l) => l.split(' '));
      const cached = words.map((w) => [w, 1] as [string, number]).cache();
      expect((await cached.reduceByKey((a, b) => a + b).collect()).length).toBe(4);
      expect(await cached.count()).toBe(8);
      await expect(
        words
          .map(() => {
            throw new Error('boom');
          })
          .count(),
      ).rejects.toThrow('boom');
      await settle();
      expect(lazy.storeLoaded).toBe(false);
      for (const p of ['/jobs', '/stages', '/executors', '/storage/rdd', '/stages/0/0/taskList', '/stages/1/0/taskList', '/jobs/0']) {
        expect(await api(lazy, p), p).toEqual(await api(eager, p));
      }
      expect(lazy.storeLoaded).toBe(true);
      const jobs = (await api(lazy, '/jobs')) as Array<{ status: string }>;
      expect(jobs.map((j) => j.status).sort()).toEqual(['FAILED', 'SUCCEEDED', 'SUCCEEDED']);
    } finally {
      await Promise.all([eager.stop(), lazy.stop()]);
      await sc.stop();
    }
  }, 60_000);

  it('property: connected at any point of a random program (before, between or after its events, past the threshold or not), the UI then shows what one connected from the start shows', async () => {
    const stage = fc.record({
      // Now and then a stage that alone passes the threshold (HELD_FOR_STORE events: a task is two).
      tasks: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 400 }), weight: 9 },
        { arbitrary: fc.integer({ min: HELD_FOR_STORE / 2, max: HELD_FOR_STORE / 2 + 400 }), weight: 1 },
      ),
      turn: fc.integer({ min: 1, max: 64 }),
      failEvery: fc.nat(7),
      worker: fc.nat(3),
    });
    const program = fc.array(fc.array(stage, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(program, fc.nat(), async (jobs, connectAt) => {
        const bus = new EventBus<SchedulerEvent>();
        const eager = startUi(bus, view('eager'))!;
        const lazy = startUi(bus, view('lazy'))!;
        try {
          await api(eager, '/jobs');
          // As the task scheduler does: a turn's task events in a batch the bus holds, its records refilled after.
          const batch = new TaskEventBatch();
          const flush = (): void => {
            bus.emit({ type: 'taskBatch', tasks: batch });
            batch.clear();
          };
          const steps: Array<() => void> = [];
          let stageId = 0;
          let time = 0;
          jobs.forEach((stages, jobId) => {
            const ids = stages.map((_, i) => stageId + i);
            steps.push(() => bus.emit({ type: 'jobStart', jobId, time: ++time, description: `job ${jobId}`, stageIds: ids }));
            let failed = false;
            for (const st of stages) {
              const id = stageId++;
              steps.push(() =>
                bus.emit({
                  type: 'stageSubmitted',
                  jobId,
                  stageId: id,
                  attempt: 0,
                  name: `stage ${id}`,
                  numTasks: st.tasks,
                  numPartitions: st.tasks,
                  time: ++time,
                }),
              );
              for (let from = 0; from < st.tasks; from += st.turn) {
                const to = Math.min(st.tasks, from + st.turn);
                const fails = (p: number) => st.failEvery > 0 && p % st.failEvery === 0;
                if ([...Array(to - from).keys()].some((i) => fails(from + i))) failed = true;
                steps.push(() => {
                  bus.hold(flush);
                  const common = {
                    stageId: id,
                    stageAttempt: 0,
                    attempt: 0,
                    workerIndex: st.worker,
                    executorId: String(st.worker),
                    speculative: false,
                  };
                  for (let p = from; p < to; p++) Object.assign(batch.nextStart(), { ...common, partition: p, time: ++time });
                  for (let p = from; p < to; p++)
                    Object.assign(batch.nextEnd(), {
                      ...common,
                      partition: p,
                      result: fails(p) ? 'failed' : 'success',
                      error: fails(p) ? `boom ${p}` : undefined,
                      durationMs: p % 13,
                      locality: 'ANY',
                      time: ++time,
                    });
                  bus.flushHeld();
                });
              }
              steps.push(() =>
                bus.emit({ type: 'stageCompleted', jobId, stageId: id, attempt: 0, time: ++time, result: failed ? 'failed' : 'succeeded' }),
              );
            }
            steps.push(() => bus.emit({ type: 'jobEnd', jobId, time: ++time, result: failed ? 'failed' : 'succeeded' }));
          });
          const at = connectAt % (steps.length + 1);
          for (let i = 0; i < steps.length; i++) {
            if (i === at) await api(lazy, '/jobs');
            steps[i]!();
          }
          const paths = ['/jobs', '/stages', '/executors', ...Array.from({ length: stageId }, (_, s) => `/stages/${s}/0/taskList?length=1000`)];
          for (const p of paths) expect(await api(lazy, p), p).toEqual(await api(eager, p));
        } finally {
          await Promise.all([eager.stop(), lazy.stop()]);
        }
      }),
      // A run took 1.0–8.5 s at load 25 (two UIs fed up to ~11,000 tasks, then every page asked), the 25 runs 123 s:
      // past the 120 s this spec had, with no run near a hang. The spec's bound now only catches a hang; each run's
      // own bound fails the run that hangs, reported with its values (a cut by the spec's bound reports none).
      { numRuns: 25, seed: SEED, plugins: [fc.timeout(60_000)] },
    );
  }, 600_000);

  it('holds a job of 4,000 tasks nobody looks at without loading the store or starting its thread, and a later reader sees every task', async () => {
    // Before: the store loaded, and its thread started, once 2,048 events were held: a script of one medium job paid
    // the thread's start (~55 ms of CPU) beside its two workers.
    const { sc, eager, lazy } = contextWithTwoUis();
    try {
      await api(eager, '/jobs');
      expect(await sc.parallelize([], 4000).count()).toBe(0);
      await expect(
        sc
          .parallelize([1, 2, 3], 3)
          .map(() => {
            throw new Error('boom <b>');
          })
          .count(),
      ).rejects.toThrow('boom');
      await settle();
      expect(lazy.storeLoaded).toBe(false);
      expect(lazy.uiThread).toBeUndefined();
      for (const p of ['/jobs', '/stages', '/executors', '/stages/0/0/taskList?length=5000', '/stages/1/0/taskList']) {
        expect(await api(lazy, p), p).toEqual(await api(eager, p));
      }
      expect(((await api(lazy, '/stages/0/0/taskList?length=5000')) as unknown[]).length).toBe(4000);
    } finally {
      await Promise.all([eager.stop(), lazy.stop()]);
      await sc.stop();
    }
  }, 60_000);

  it(`loads the store once ${HELD_FOR_STORE} events are held, without a connection, and then keeps no buffer`, async () => {
    const bus = new EventBus<SchedulerEvent>();
    const ui = startUi(bus, view('threshold', 0, HELD_FOR_STORE))!;
    try {
      await ui.url();
      // The application's start is the first event held.
      for (let id = 0; id < HELD_FOR_STORE - 2; id++) bus.emit({ type: 'jobStart', jobId: id, time: id, description: `job ${id}`, stageIds: [] });
      await settle();
      expect(ui.storeLoaded).toBe(false);
      bus.emit({ type: 'jobStart', jobId: HELD_FOR_STORE - 2, time: 0, description: 'the one that tips it', stageIds: [] });
      await until(() => ui.storeLoaded, 'the store to load');
      // Later events go to the store directly; the first request sees them all.
      bus.emit({ type: 'jobStart', jobId: HELD_FOR_STORE - 1, time: 0, description: 'after', stageIds: [] });
      const jobs = (await api(ui, '/jobs')) as Array<{ jobId: number }>;
      expect(jobs.length).toBe(HELD_FOR_STORE);
      expect(new Set(jobs.map((j) => j.jobId)).size).toBe(HELD_FOR_STORE);
    } finally {
      await ui.stop();
    }
  });

  it('stop() closes the port whether or not anyone connected, and a UI stopped unconnected never loads the store', async () => {
    const bus = new EventBus<SchedulerEvent>();
    for (const connect of [false, true]) {
      const ui = startUi(bus, view(`stop-${connect}`))!;
      const url = (await ui.url())!;
      bus.emit({ type: 'jobStart', jobId: 0, time: 1, description: 'x', stageIds: [] });
      if (connect) expect(((await api(ui, '/jobs')) as unknown[]).length).toBe(1);
      await ui.stop();
      await expect(fetch(`${url}/api/v1/applications`)).rejects.toThrow();
      await settle();
      expect(ui.storeLoaded).toBe(connect);
    }
  });

  it('takes the next port when its port is taken, still loading nothing until asked', async () => {
    const blocker = await new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    const taken = (blocker.address() as net.AddressInfo).port;
    const bus = new EventBus<SchedulerEvent>();
    const ui = startUi(bus, view('taken', taken))!;
    try {
      const url = (await ui.url())!;
      expect(Number(new URL(url).port)).toBeGreaterThan(taken);
      await settle();
      expect(ui.storeLoaded).toBe(false);
      const root = await fetch(`${url}/`, { redirect: 'manual' });
      expect(root.headers.get('location')).toBe('/jobs/');
      expect(ui.storeLoaded).toBe(true);
    } finally {
      await ui.stop();
      blocker.close();
    }
  });

  it('with the UI off and an event log on, writes the log without loading the UI', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-lazy-log-'));
    try {
      const bus = new EventBus<SchedulerEvent>();
      const ui = startUi(bus, { ...view('log only'), ui: false, eventLog: { dir } })!;
      bus.emit({ type: 'jobStart', jobId: 0, time: 1, description: 'x', stageIds: [] });
      bus.emit({ type: 'jobEnd', jobId: 0, time: 2, result: 'succeeded' });
      expect(await ui.url()).toBeUndefined();
      await ui.stop();
      expect(ui.storeLoaded).toBe(false);
      const events = readEventLog(path.join(dir, `${ui.appId}.jsonl`));
      expect(events.map((e) => e.type)).toEqual(['applicationStart', 'jobStart', 'jobEnd', 'applicationEnd']);
      expect(events[0]).toMatchObject({
        versions: [['kindling', expect.any(String)], ['node', process.versions.node], expect.anything(), expect.anything()],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
