/**
 * The REST API, shaped like Spark's monitoring API (`/api/v1`), live from a running context and from event
 * logs through `kindling history`.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context, capture, type RDD, useModule } from 'kindling';
import { collectGarbage } from '../fixtures/live-heap.js';
import { readEventLog } from '../../src/ui/event-log.js';
import { handleRest } from '../../src/ui/rest.js';
import { StatusStore } from '../../src/ui/status-store.js';

/** node:fs as a local name, so that a shipped function can name it (Vite renames imported bindings). */
const fsm = await import('node:fs');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
type Json = Record<string, any>;

async function get(url: string): Promise<Json> {
  const r = await fetch(url);
  expect(r.status, url).toBe(200);
  return (await r.json()) as Json;
}

/** Resolves at the context's first task start. */
function firstTaskStart(sc: Context): Promise<void> {
  return new Promise<void>((resolve) => {
    const off: () => void = sc.events.on('taskStart', () => {
      off();
      resolve();
    });
  });
}

/**
 * The cached RDDs the specs read back later: a cached RDD the program dropped is unpersisted when collected
 * (Spark's ContextCleaner), and the specs that list it run after the one that made it has returned.
 */
const held = new Set<RDD<unknown>>();

/** Word count over a cached result: two jobs, the second skipping the map stage. */
async function wordCount(sc: Context): Promise<RDD<[string, number]>> {
  const counts = sc
    .parallelize('to be or not to be that is the question'.split(' '), 4)
    .map((w) => [w, 1] as [string, number])
    .reduceByKey((a, b) => a + b, 3)
    .setName('counts')
    .cache();
  held.add(counts);
  await counts.collect();
  await counts.count();
  return counts;
}

describe('REST API of a live context', () => {
  let sc: Context;
  let api: string;
  let logDir: string;
  beforeAll(async () => {
    logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-'));
    sc = new Context({ master: 'local[2]', progress: false, appName: 'rest-test', ui: { port: 0 }, eventLog: { dir: logDir } });
    api = `${await sc.uiWebUrl()}/api/v1`;
    await wordCount(sc);
  });
  afterAll(async () => {
    await sc.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('lists the application with its id and name, incomplete while it runs', async () => {
    const apps = (await get(`${api}/applications`)) as unknown as Json[];
    expect(apps).toHaveLength(1);
    expect(apps[0]!.id).toBe(sc.applicationId);
    expect(apps[0]!.name).toBe('rest-test');
    expect(apps[0]!.attempts[0].completed).toBe(false);
    expect(apps[0]!.attempts[0].startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}GMT$/);
  });

  it('lists jobs newest first with Spark’s fields and statuses; the second job skipped the map stage', async () => {
    const jobs = (await get(`${api}/applications/${sc.applicationId}/jobs`)) as unknown as Json[];
    expect(jobs.map((j) => j.jobId)).toEqual([1, 0]);
    const [count, collect] = jobs as [Json, Json];
    expect(collect).toMatchObject({
      status: 'SUCCEEDED',
      numTasks: 7,
      numCompletedTasks: 7,
      numFailedTasks: 0,
      numActiveTasks: 0,
      numCompletedStages: 2,
      numSkippedStages: 0,
    });
    expect(collect.stageIds).toEqual([0, 1]);
    expect(collect.description).toMatch(/^collect at RDD \d+ \(counts\)/);
    expect(count).toMatchObject({
      status: 'SUCCEEDED',
      numTasks: 7,
      numCompletedTasks: 3,
      numSkippedTasks: 4,
      numCompletedStages: 1,
      numSkippedStages: 1,
    });
    expect(Date.parse(count.completionTime.replace('GMT', 'Z'))).toBeGreaterThanOrEqual(Date.parse(count.submissionTime.replace('GMT', 'Z')));
    expect(await get(`${api}/applications/${sc.applicationId}/jobs/0`)).toMatchObject({ jobId: 0, status: 'SUCCEEDED' });
    expect(((await get(`${api}/applications/${sc.applicationId}/jobs?status=running`)) as unknown as Json[]).length).toBe(0);
  });

  it('shows a job’s end by the time its action settles', async () => {
    const n = await sc.parallelize([1, 2, 3], 3).count();
    expect(n).toBe(3);
    const jobs = (await get(`${api}/applications/${sc.applicationId}/jobs`)) as unknown as Json[];
    expect(jobs[0]).toMatchObject({ jobId: 2, status: 'SUCCEEDED', numCompletedTasks: 3 });
  });

  it('describes stages with shuffle sizes, task lists and task-metric quantiles', async () => {
    const app = `${api}/applications/${sc.applicationId}`;
    const stages = (await get(`${app}/stages`)) as unknown as Json[];
    const map = stages.find((s) => s.stageId === 0)!;
    const reduce = stages.find((s) => s.stageId === 1)!;
    expect(map).toMatchObject({ status: 'COMPLETE', attemptId: 0, numTasks: 4, numCompleteTasks: 4, numCompletedIndices: 4, numFailedTasks: 0 });
    expect(map.shuffleWriteRecords).toBeGreaterThan(0);
    expect(map.shuffleWriteBytes).toBeGreaterThan(0);
    expect(reduce.shuffleReadRecords).toBe(map.shuffleWriteRecords);
    expect(reduce.shuffleReadBytes).toBeGreaterThan(0);
    expect(reduce.inputRecords + map.inputRecords).toBe(10);
    const tasks = (await get(`${app}/stages/1/0/taskList?sortBy=-runtime`)) as unknown as Json[];
    expect(tasks).toHaveLength(3);
    expect(tasks.map((t) => t.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    const runs = tasks.map((t) => t.taskMetrics.kindling.runMs);
    expect(runs).toEqual([...runs].sort((a, b) => b - a));
    expect(tasks[0]).toHaveProperty('taskMetrics.shuffleReadMetrics.recordsRead');
    const summary = await get(`${app}/stages/1/0/taskSummary`);
    expect(summary.quantiles).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const reads = tasks.map((t) => t.taskMetrics.shuffleReadMetrics.recordsRead).sort((a: number, b: number) => a - b);
    expect(summary.shuffleReadRecords[0]).toBe(reads[0]);
    expect(summary.shuffleReadRecords[4]).toBe(reads[2]);
    const attempt = await get(`${app}/stages/1/0`);
    expect(Object.keys(attempt.tasks)).toHaveLength(3);
  });

  it('lists cached RDDs with partitions, memory and disk, and executors with task counts', async () => {
    // A collection between the specs must not matter while the program holds the RDD.
    collectGarbage();
    await new Promise((r) => setTimeout(r, 20));
    const app = `${api}/applications/${sc.applicationId}`;
    const rdds = (await get(`${app}/storage/rdd`)) as unknown as Json[];
    expect(rdds).toHaveLength(1);
    expect(rdds[0]).toMatchObject({ name: 'counts', numPartitions: 3, numCachedPartitions: 3, storageLevel: 'MEMORY_ONLY', diskUsed: 0 });
    expect(rdds[0]!.memoryUsed).toBeGreaterThan(0);
    const detail = await get(`${app}/storage/rdd/${rdds[0]!.id}`);
    expect(detail.partitions.map((p: Json) => p.blockName)).toEqual([0, 1, 2].map((p) => `rdd_${rdds[0]!.id}_${p}`));
    const execs = (await get(`${app}/executors`)) as unknown as Json[];
    expect(execs.map((e) => e.id).sort()).toEqual(['0', '1']);
    const total = execs.reduce((s, e) => s + e.completedTasks, 0);
    expect(total).toBe(7 + 3 + 3);
    for (const e of execs) expect(e).toMatchObject({ isActive: true, activeTasks: 0, failedTasks: 0, maxMemory: sc.options.storageBytes });
    expect(execs.reduce((s, e) => s + e.memoryUsed, 0)).toBe(rdds[0]!.memoryUsed);
  });

  it('shows the environment: options and versions', async () => {
    const env = await get(`${api}/applications/${sc.applicationId}/environment`);
    expect(env.runtime.nodeVersion).toBe(process.versions.node);
    expect(env.sparkProperties).toContainEqual(['master', 'local[2]']);
    expect(env.sparkProperties).toContainEqual(['appName', 'rest-test']);
  });

  it('answers an unknown application or job with 404', async () => {
    expect((await fetch(`${api}/applications/nope/jobs`)).status).toBe(404);
    expect((await fetch(`${api}/applications/${sc.applicationId}/jobs/999`)).status).toBe(404);
  });

  // The tests below add jobs: the ones above count the jobs and tasks of the word count.

  it('shows the description given with setJobGroup as the job’s description, its action as its name', async () => {
    sc.setJobGroup('nightly', 'nightly aggregates');
    await sc.parallelize([1, 2, 3], 2).count();
    sc.clearJobGroup();
    await sc.withJobGroup('hourly', () => sc.parallelize([1], 1).count(), 'hourly check');
    await sc.parallelize([1], 1).count();
    const [plain, hourly, nightly] = (await get(`${api}/applications/${sc.applicationId}/jobs`)) as unknown as Json[];
    expect(nightly).toMatchObject({ jobGroup: 'nightly', description: 'nightly aggregates' });
    expect(nightly!.name).toMatch(/^count at /);
    expect(hourly).toMatchObject({ jobGroup: 'hourly', description: 'hourly check' });
    expect(plain!.jobGroup).toBeUndefined();
    expect(plain!.description).toBe(plain!.name);
  });

  it('shows Spark’s input, output and spill metrics of stages and tasks', async () => {
    const app = `${api}/applications/${sc.applicationId}`;
    const out = path.join(logDir, 'saved');
    await sc
      .parallelize(
        Array.from({ length: 100 }, (_, i) => `line ${i}`),
        2,
      )
      .saveAsTextFile(out);
    const [job] = (await get(`${app}/jobs`)) as unknown as Json[];
    const stage = (await get(`${app}/stages/${job!.stageIds.at(-1)}/0`)) as Json;
    const written = readdirSync(out)
      .filter((f) => f.startsWith('part-'))
      .reduce((s, f) => s + statSync(path.join(out, f)).size, 0);
    expect(stage).toMatchObject({ outputRecords: 100, outputBytes: written, inputRecords: 100, memoryBytesSpilled: 0, diskBytesSpilled: 0 });
    const tasks = (await get(`${app}/stages/${stage.stageId}/0/taskList`)) as unknown as Json[];
    expect(tasks.map((t) => t.taskMetrics.outputMetrics.recordsWritten).sort()).toEqual([50, 50]);
    expect(tasks.reduce((s, t) => s + t.taskMetrics.outputMetrics.bytesWritten, 0)).toBe(written);
    const summary = await get(`${app}/stages/${stage.stageId}/0/taskSummary`);
    expect(summary.outputRecords).toEqual([50, 50, 50, 50, 50]);
    // Spark's nested shape of the same distributions.
    expect(summary.outputMetrics.recordsWritten).toEqual([50, 50, 50, 50, 50]);
    expect(summary.inputMetrics.recordsRead).toEqual([50, 50, 50, 50, 50]);
    expect(summary.diskBytesSpilled).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('executors by executor id', () => {
  it('lists a worker killed at a random moment of a job as a removed executor, its replacement as a new one in the same worker', async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-'));
    const sc = new Context({ master: 'local[2]', progress: false, appName: 'executors-test', ui: { port: 0 }, eventLog: { dir: logDir } });
    try {
      const app = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      await sc.parallelize([1, 2], 2).count();
      const replaced = new Promise<void>((resolve) => {
        const off = sc.events.on('workerAdded', (e) => {
          if (e.replacement) resolve(off());
        });
      });
      const job = sc
        .parallelize(
          Array.from({ length: 60 }, (_, i) => i),
          60,
        )
        .map((x) => {
          const until = Date.now() + 5;
          while (Date.now() < until);
          return x;
        })
        .count();
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      await sc.faults.killWorker(1);
      expect(await job).toBe(60);
      await replaced;
      const all = (await get(`${app}/allexecutors`)) as unknown as Json[];
      expect(all.map((e) => [e.id, e.kindlingWorkerIndex, e.isActive, e.kindlingReplacement])).toEqual([
        ['0', 0, true, false],
        ['1', 1, false, false],
        ['2', 1, true, true],
      ]);
      expect(all[1]!.removeReason).toMatch(/killed|exit/i);
      expect(all[1]!.removeTime).toMatch(/GMT$/);
      expect(((await get(`${app}/executors`)) as unknown as Json[]).map((e) => e.id)).toEqual(['0', '2']);
      // Each successful task is counted once, on the executor that ran it (the stages' task lists agree).
      const ran = new Map<string, number>();
      for (const stage of (await get(`${app}/stages`)) as unknown as Json[]) {
        const tasks = (await get(`${app}/stages/${stage.stageId}/${stage.attemptId}/taskList?length=1000`)) as unknown as Json[];
        for (const t of tasks) if (t.status === 'SUCCESS') ran.set(t.executorId, (ran.get(t.executorId) ?? 0) + 1);
      }
      expect([...ran.values()].reduce((a, b) => a + b, 0)).toBe(62);
      for (const e of all) expect(e.completedTasks, `executor ${e.id}`).toBe(ran.get(e.id) ?? 0);
    } finally {
      await sc.stop();
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});

describe('event log and kindling history', () => {
  let logDir: string;
  let history: ChildProcess | undefined;
  afterAll(() => {
    history?.kill();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('logs JSON lines as the application runs, and the history server serves the same REST API, an unfinished application as incomplete', async () => {
    logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-history-'));
    const done = new Context({ master: 'local[2]', progress: false, ui: false, appName: 'finished', eventLog: { dir: logDir } });
    await wordCount(done);
    await done.stop();
    // An application that has not stopped: its log is flushed as it goes.
    process.env.KINDLING_EVENT_LOG_DIR = logDir;
    const running = new Context({ master: 'local[2]', progress: false, ui: false, appName: 'running' });
    delete process.env.KINDLING_EVENT_LOG_DIR;
    try {
      await running.parallelize([1, 2, 3], 3).count();
      const files = readdirSync(logDir).sort();
      expect(files).toEqual([`${done.applicationId}.jsonl`, `${running.applicationId}.jsonl`].sort());
      const lines = readFileSync(path.join(logDir, `${done.applicationId}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
      expect(lines[0]!.type).toBe('applicationStart');
      // Task ends go in blocks of columns, one per run of them between other events. One success per task; on a
      // busy machine a task waiting behind a slow one can be moved to an idle worker, and the copy left behind ends
      // as killed (logged, as Spark logs it): so no exact count of all ends (CI once read 11).
      expect(lines.filter((l) => l.type === 'taskEnds').length).toBeGreaterThan(0);
      const ends = readEventLog(path.join(logDir, `${done.applicationId}.jsonl`)).filter((e) => e.type === 'taskEnd');
      expect(ends.filter((e) => e.result === 'success')).toHaveLength(7 + 3);
      expect(ends.filter((e) => e.result !== 'success' && e.result !== 'killed')).toEqual([]);
      expect(lines.at(-1)!.type).toBe('applicationEnd');
      expect(lines.filter((l) => l.type === 'jobEnd')).toHaveLength(2);

      history = spawn(process.execPath, [path.join(root, 'bin/kindling.js'), 'history', logDir, '--port', '0'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        history!.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        history!.on('exit', (code) => reject(new Error(`history exited with ${code}: ${out}`)));
      });
      const apps = (await get(`${url}/api/v1/applications`)) as unknown as Json[];
      const byName = Object.fromEntries(apps.map((a) => [a.name, a]));
      expect(byName.finished.attempts[0].completed).toBe(true);
      expect(byName.running.attempts[0].completed).toBe(false);
      const jobs = (await get(`${url}/api/v1/applications/${done.applicationId}/jobs`)) as unknown as Json[];
      expect(jobs.map((j) => [j.jobId, j.status, j.numSkippedStages])).toEqual([
        [1, 'SUCCEEDED', 1],
        [0, 'SUCCEEDED', 0],
      ]);
      // The log has no taskStart lines; each task is rebuilt from its end, metrics included.
      const tasks = (await get(`${url}/api/v1/applications/${done.applicationId}/stages/1/0/taskList`)) as unknown as Json[];
      expect(tasks.map((t) => [t.index, t.status]).sort()).toEqual([
        [0, 'SUCCESS'],
        [1, 'SUCCESS'],
        [2, 'SUCCESS'],
      ]);
      expect(tasks.reduce((n, t) => n + t.taskMetrics.shuffleReadMetrics.recordsRead, 0)).toBeGreaterThan(0);
      const rdds = (await get(`${url}/api/v1/applications/${done.applicationId}/storage/rdd`)) as unknown as Json[];
      expect(rdds.map((r) => [r.name, r.numCachedPartitions])).toEqual([['counts', 3]]);
      const page = await fetch(`${url}/history/${done.applicationId}/jobs/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('kindling-ui.js');
    } finally {
      await running.stop();
    }
  });
});

/**
 * What a tool written for Spark's monitoring API reads (docs/ui.md lists where kindling differs): the query
 * parameters Spark documents, its error answers, its field types and date format, SKIPPED and FAILED states.
 */
describe('REST API against Spark’s documented parameters and shapes', () => {
  let sc: Context;
  let base: string;
  let app: string;
  const SPARK_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}GMT$/;
  beforeAll(async () => {
    sc = new Context({ master: 'local[2]', progress: false, hints: false, appName: 'spark-shape', ui: { port: 0 } });
    base = `${await sc.uiWebUrl()}/api/v1`;
    app = `${base}/applications/${sc.applicationId}`;
    await wordCount(sc); // jobs 0 and 1 (1 skips the map stage)
    await expect(
      sc
        .parallelize([1, 2, 3, 4], 2)
        .map((x) => {
          if (x === 4) throw new Error('four <is> bad');
          return x;
        })
        .collect(),
    ).rejects.toThrow(/four <is> bad/); // job 2
  });
  afterAll(async () => {
    await sc.stop();
  });

  async function answer(p: string): Promise<{ status: number; body: Json }> {
    const r = await fetch(p);
    expect(r.headers.get('content-type'), p).toMatch(/^application\/json/);
    return { status: r.status, body: (await r.json()) as Json };
  }

  it('gives Spark’s field types: numbers as numbers, dates in Spark’s format, ids as Spark has them', async () => {
    const [a] = (await get(`${base}/applications`)) as unknown as Json[];
    expect(a).toMatchObject({ id: expect.any(String), name: 'spark-shape' });
    const at = a!.attempts[0];
    expect(at).toMatchObject({
      startTime: expect.stringMatching(SPARK_DATE),
      lastUpdated: expect.stringMatching(SPARK_DATE),
      duration: expect.any(Number),
      completed: false,
    });
    expect(at).toMatchObject({
      startTimeEpoch: expect.any(Number),
      endTimeEpoch: -1,
      lastUpdatedEpoch: expect.any(Number),
      sparkUser: expect.any(String),
    });
    const jobs = (await get(`${app}/jobs`)) as unknown as Json[];
    for (const j of jobs) {
      expect(j).toMatchObject({
        jobId: expect.any(Number),
        name: expect.any(String),
        submissionTime: expect.stringMatching(SPARK_DATE),
        completionTime: expect.stringMatching(SPARK_DATE),
      });
      for (const k of [
        'numTasks',
        'numActiveTasks',
        'numCompletedTasks',
        'numSkippedTasks',
        'numFailedTasks',
        'numKilledTasks',
        'numCompletedIndices',
        'numActiveStages',
        'numCompletedStages',
        'numSkippedStages',
        'numFailedStages',
      ])
        expect(typeof j[k], k).toBe('number');
      expect(j.stageIds.every((s: unknown) => typeof s === 'number')).toBe(true);
    }
    const stages = (await get(`${app}/stages`)) as unknown as Json[];
    for (const s of stages) {
      expect(s).toMatchObject({
        stageId: expect.any(Number),
        attemptId: expect.any(Number),
        name: expect.any(String),
        numTasks: expect.any(Number),
        executorRunTime: expect.any(Number),
        shuffleReadBytes: expect.any(Number),
        rddIds: expect.any(Array),
      });
      if (s.submissionTime !== undefined) expect(s.submissionTime).toMatch(SPARK_DATE);
    }
    const [t] = (await get(`${app}/stages/0/0/taskList?length=1`)) as unknown as Json[];
    expect(t).toMatchObject({
      taskId: expect.any(Number),
      index: expect.any(Number),
      attempt: expect.any(Number),
      launchTime: expect.stringMatching(SPARK_DATE),
      duration: expect.any(Number),
      executorId: expect.any(String),
      host: expect.any(String),
      status: 'SUCCESS',
      speculative: false,
    });
    expect(t!.taskMetrics).toMatchObject({
      executorRunTime: expect.any(Number),
      shuffleWriteMetrics: { bytesWritten: expect.any(Number), recordsWritten: expect.any(Number) },
    });
    for (const e of (await get(`${app}/allexecutors`)) as unknown as Json[])
      expect(e).toMatchObject({
        id: expect.any(String),
        addTime: expect.stringMatching(SPARK_DATE),
        totalCores: expect.any(Number),
        maxMemory: expect.any(Number),
        activeTasks: expect.any(Number),
        totalDuration: expect.any(Number),
      });
    expect(await get(`${base}/version`)).toEqual({ spark: expect.any(String) });
  });

  it('gives the shuffle read as Spark’s tools total it (remote + local bytes) in tasks, stages and distributions, and every field of Spark’s StageData', async () => {
    // Spark has no total of a task's shuffle read: its own task table and tools add remoteBytesRead and localBytesRead.
    const stage = (await get(`${app}/stages/1/0`)) as Json;
    expect(stage.shuffleReadBytes).toBeGreaterThan(0);
    expect(stage.shuffleRemoteBytesRead + stage.shuffleLocalBytesRead).toBe(stage.shuffleReadBytes);
    const tasks = (await get(`${app}/stages/1/0/taskList`)) as unknown as Json[];
    let sum = 0;
    for (const t of tasks) {
      const r = t.taskMetrics.shuffleReadMetrics;
      expect(r.remoteBytesRead + r.localBytesRead).toBe(t.taskMetrics.kindling.shuffleReadBytes);
      expect(r.remoteBytesReadToDisk).toBe(0);
      sum += r.remoteBytesRead + r.localBytesRead;
    }
    expect(sum).toBe(stage.shuffleReadBytes);
    // StageData's fields (Spark 3.x api.scala); the JVM's and the block manager's are there as numbers.
    for (const k of [
      'executorDeserializeTime',
      'executorDeserializeCpuTime',
      'executorRunTime',
      'executorCpuTime',
      'resultSize',
      'jvmGcTime',
      'resultSerializationTime',
      'memoryBytesSpilled',
      'diskBytesSpilled',
      'peakExecutionMemory',
      'inputBytes',
      'inputRecords',
      'outputBytes',
      'outputRecords',
      'shuffleRemoteBlocksFetched',
      'shuffleLocalBlocksFetched',
      'shuffleFetchWaitTime',
      'shuffleRemoteBytesRead',
      'shuffleRemoteBytesReadToDisk',
      'shuffleLocalBytesRead',
      'shuffleReadBytes',
      'shuffleReadRecords',
      'shuffleWriteBytes',
      'shuffleWriteTime',
      'shuffleWriteRecords',
    ])
      expect(typeof stage[k], k).toBe('number');
    const d = (await get(`${app}/stages/1/0/taskSummary`)) as Json;
    const five = expect.arrayContaining([expect.any(Number)]);
    expect(d).toMatchObject({ schedulerDelay: five, gettingResultTime: five, executorCpuTime: five, peakExecutionMemory: five });
    expect(d.shuffleReadMetrics.remoteBytesRead).toEqual(d.shuffleReadMetrics.readBytes);
    expect(d.shuffleReadMetrics.readBytes[4]).toBe(Math.max(...tasks.map((t) => t.taskMetrics.kindling.shuffleReadBytes)));
    expect(d.shuffleWriteMetrics.writeTime).toEqual([0, 0, 0, 0, 0]);
  });

  it('gives the fields of Spark 3.5’s TaskData and JobData kindling has a value for: partitionId, schedulerDelay, gettingResultTime, jobTags', async () => {
    const tasks = (await get(`${app}/stages/1/0/taskList`)) as unknown as Json[];
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) {
      expect(t.partitionId).toBe(t.index);
      // Spark's AppStatusUtils.schedulerDelay: what of the task's duration its executor did not spend on it.
      const m = t.taskMetrics;
      expect(t.schedulerDelay).toBe(Math.max(0, t.duration - m.executorRunTime - m.executorDeserializeTime));
      expect(t.gettingResultTime).toBe(0);
      expect(t.executorLogs).toEqual({});
    }
    const running = (await get(`${app}/stages/1/0/taskSummary?quantiles=0,1`)) as Json;
    const delays = tasks.map((t) => t.schedulerDelay);
    expect(running.schedulerDelay).toEqual([Math.min(...delays), Math.max(...delays)]);
    for (const j of (await get(`${app}/jobs`)) as unknown as Json[]) expect(j.jobTags).toEqual([]);
  });

  it('gives the sparkUser the application recorded at its start: the user who ran it, not the user serving a log', async () => {
    const [live] = (await get(`${base}/applications`)) as unknown as Json[];
    expect(live!.attempts[0].sparkUser).toBe(process.env.SPARK_USER || os.userInfo().username);
    const start = {
      type: 'applicationStart',
      appId: 'app-1',
      appName: 'a',
      time: 1,
      numWorkers: 1,
      storageBytesPerWorker: 1,
      options: [],
      versions: [],
    } as const;
    const logged = new StatusStore();
    logged.apply({ ...start, sparkUser: 'alice' });
    const old = new StatusStore();
    old.apply(start); // a log written before the user was recorded
    const user = process.env.USER;
    process.env.USER = 'history-server';
    try {
      const sparkUser = (store: StatusStore) =>
        (handleRest(new Map([['app-1', store]]), 'applications/app-1', new URLSearchParams()).body as Json).attempts[0].sparkUser;
      expect(sparkUser(logged)).toBe('alice');
      expect(sparkUser(old)).toBe('');
    } finally {
      if (user === undefined) delete process.env.USER;
      else process.env.USER = user;
    }
  });

  it('gives a stage’s executorSummary (Spark’s ExecutorStageSummary) with its details: per executor, tasks by outcome and metrics that add up to the stage’s', async () => {
    for (const [stageId, field, total] of [
      [0, 'shuffleWrite', 'shuffleWriteBytes'],
      [1, 'shuffleRead', 'shuffleReadBytes'],
      [4, 'shuffleRead', 'shuffleReadBytes'],
    ] as const) {
      const stage = await get(`${app}/stages/${stageId}/0`);
      const summary = stage.executorSummary as Record<string, Json>;
      const tasks = Object.values(stage.tasks as Json) as Json[];
      expect(Object.keys(summary).sort()).toEqual([...new Set(tasks.map((t) => t.executorId))].sort());
      const sum = (k: string) => Object.values(summary).reduce((n, e) => n + (e[k] as number), 0);
      expect(sum('succeededTasks')).toBe(stage.numCompleteTasks);
      expect(sum('failedTasks')).toBe(stage.numFailedTasks);
      expect(sum('killedTasks')).toBe(stage.numKilledTasks);
      expect(sum(field)).toBe(stage[total]);
      expect(sum('inputRecords')).toBe(stage.inputRecords);
      for (const [id, e] of Object.entries(summary)) {
        const own = tasks.filter((t) => t.executorId === id && t.status !== 'RUNNING');
        expect(e.taskTime).toBe(Math.round(own.reduce((n, t) => n + t.duration, 0)));
        expect(e).toMatchObject({ isBlacklistedForStage: false, isExcludedForStage: false });
      }
    }
    expect((await get(`${app}/stages/4/0`)).numFailedTasks).toBeGreaterThan(0);
    expect((await get(`${app}/stages/1/0?details=false`)).executorSummary).toBeUndefined();
  });

  it('filters jobs and stages by ?status= (case-insensitive, repeated or comma-separated) and answers an unknown status with 400', async () => {
    const ids = async (p: string) => ((await get(p)) as unknown as Json[]).map((x) => x.jobId ?? x.stageId);
    expect(await ids(`${app}/jobs?status=failed`)).toEqual([2]);
    expect(await ids(`${app}/jobs?status=SUCCEEDED`)).toEqual([1, 0]);
    expect(await ids(`${app}/jobs?status=failed&status=succeeded`)).toEqual([2, 1, 0]);
    expect(await ids(`${app}/jobs?status=running`)).toEqual([]);
    // The second job's map stage was skipped: its output from the first job was reused.
    expect(await ids(`${app}/stages?status=skipped`)).toEqual([2]);
    expect(await ids(`${app}/stages?status=failed`)).toEqual([4]);
    expect(await ids(`${app}/stages?status=complete,skipped`)).toEqual([3, 2, 1, 0]);
    for (const p of ['/jobs?status=bogus', '/stages?status=done', '/stages/0/0/taskList?status=ok', '/stages?taskStatus=nope&details=true']) {
      const r = await answer(app + p);
      expect(r.status, p).toBe(400);
      expect(r.body.error, p).toMatch(/unknown (status|taskStatus) '(bogus|done|ok|nope)'; one of /);
    }
  });

  it('gives a FAILED job its failure reason and its stage the task’s error, and counts the failed attempts', async () => {
    const job = await get(`${app}/jobs/2`);
    expect(job).toMatchObject({ status: 'FAILED', numFailedStages: 1, numActiveTasks: 0 });
    expect(job.numFailedTasks).toBeGreaterThan(0);
    expect(job.failureReason).toMatch(/four <is> bad/);
    const [stage] = (await get(`${app}/stages/4`)) as unknown as Json[];
    expect(stage).toMatchObject({ status: 'FAILED', failureReason: expect.stringMatching(/four <is> bad/) });
    const failed = (await get(`${app}/stages/4/0/taskList?status=failed`)) as unknown as Json[];
    expect(failed.length).toBe(job.numFailedTasks);
    expect(failed.every((t) => t.status === 'FAILED' && /four <is> bad/.test(t.errorMessage))).toBe(true);
  });

  it('gives a stage’s tasks with ?details=true (list) unless ?details=false (one stage), filtered by ?taskStatus=, and its distributions with ?withSummaries=true', async () => {
    const plain = (await get(`${app}/stages`)) as unknown as Json[];
    expect(plain.every((s) => s.tasks === undefined)).toBe(true);
    const detailed = (await get(`${app}/stages?details=true`)) as unknown as Json[];
    expect(Object.keys(detailed.find((s) => s.stageId === 0)!.tasks)).toHaveLength(4);
    const one = (await get(`${app}/stages/0`)) as unknown as Json[];
    expect(Object.keys(one[0]!.tasks)).toHaveLength(4);
    expect(((await get(`${app}/stages/0?details=false`)) as unknown as Json[])[0]!.tasks).toBeUndefined();
    expect((await get(`${app}/stages/0/0?details=false`)).tasks).toBeUndefined();
    const onlyFailed = await get(`${app}/stages/4/0?taskStatus=FAILED`);
    expect(Object.values(onlyFailed.tasks as Json).every((t: Json) => t.status === 'FAILED')).toBe(true);
    expect(Object.keys(onlyFailed.tasks)).toHaveLength(onlyFailed.numFailedTasks);
    const summarized = await get(`${app}/stages/0/0?withSummaries=true&quantiles=0,1`);
    expect(summarized.taskMetricsDistributions.quantiles).toEqual([0, 1]);
    expect(summarized.taskMetricsDistributions.executorRunTime).toHaveLength(2);
  });

  it('pages and sorts taskList (offset, length, sortBy) and refuses parameters it cannot read', async () => {
    const all = (await get(`${app}/stages/0/0/taskList`)) as unknown as Json[];
    expect(all.map((t) => t.taskId)).toEqual([...all.map((t) => t.taskId)].sort((a, b) => a - b));
    const page = (await get(`${app}/stages/0/0/taskList?offset=1&length=2`)) as unknown as Json[];
    expect(page.map((t) => t.taskId)).toEqual(all.slice(1, 3).map((t) => t.taskId));
    const byRuntime = (await get(`${app}/stages/0/0/taskList?sortBy=runtime`)) as unknown as Json[];
    const runs = byRuntime.map((t) => t.taskMetrics.executorRunTime as number);
    expect(runs).toEqual([...runs].sort((a, b) => a - b));
    expect(await get(`${app}/stages/0/0/taskList?offset=99`)).toEqual([]);
    for (const p of ['offset=-1', 'length=abc', 'length=1.5', 'sortBy=fastest']) {
      const r = await answer(`${app}/stages/0/0/taskList?${p}`);
      expect(r.status, p).toBe(400);
      expect(r.body.error, p).toMatch(/^(offset|length|unknown sortBy)/);
    }
  });

  it('answers taskSummary at the ?quantiles= asked for, nearest-rank over the successful tasks', async () => {
    const tasks = (await get(`${app}/stages/0/0/taskList`)) as unknown as Json[];
    const reads = tasks.map((t) => t.taskMetrics.shuffleWriteMetrics.recordsWritten as number).sort((a, b) => a - b);
    const s = await get(`${app}/stages/0/0/taskSummary?quantiles=0.01,0.5,0.99`);
    expect(s.quantiles).toEqual([0.01, 0.5, 0.99]);
    expect(s.shuffleWriteRecords).toEqual([reads[0], reads[1], reads[3]]);
    expect(s.shuffleWriteMetrics.writeRecords).toEqual(s.shuffleWriteRecords);
    const dflt = await get(`${app}/stages/0/0/taskSummary`);
    expect(dflt.quantiles).toEqual([0, 0.25, 0.5, 0.75, 1]);
    for (const q of ['2', 'a,b', '-0.5', '0.5;1']) expect((await answer(`${app}/stages/0/0/taskSummary?quantiles=${q}`)).status, q).toBe(400);
  });

  it('answers unknown and odd ids with a JSON 404, and a malformed one with a JSON 400, never 500', async () => {
    const cases: Array<[string, number]> = [
      [`${base}/applications/nope`, 404],
      [`${base}/applications/nope/jobs`, 404],
      [`${base}/applications/%E0%A4%A/jobs`, 400],
      [`${app}/jobs/999`, 404],
      [`${app}/jobs/1.0`, 404],
      [`${app}/jobs/0x1`, 404],
      [`${app}/jobs/-1`, 404],
      [`${app}/jobs/abc`, 404],
      [`${app}/stages/99`, 404],
      [`${app}/stages/0/7`, 404],
      [`${app}/stages/0/0/nope`, 404],
      [`${app}/storage/rdd/12345`, 404],
      [`${app}/nope`, 404],
      [`${base}/nope`, 404],
    ];
    for (const [p, status] of cases) {
      const r = await answer(p);
      expect(r.status, p).toBe(status);
      expect(r.body.error, p).toEqual(expect.any(String));
    }
    expect((await fetch(`${app}/jobs`, { method: 'POST' })).status).toBe(405);
  });

  it('filters applications by Spark’s ?status=, minDate / maxDate, minEndDate / maxEndDate and limit', async () => {
    const ids = async (q: string) => ((await get(`${base}/applications?${q}`)) as unknown as Json[]).map((a) => a.id);
    expect(await ids('status=running')).toEqual([sc.applicationId]);
    expect(await ids('status=completed')).toEqual([]);
    const started = (await get(app)).attempts[0].startTimeEpoch as number;
    const day = new Date(started).toISOString().slice(0, 10);
    expect(await ids(`minDate=${day}`)).toEqual([sc.applicationId]);
    expect(await ids(`minDate=${new Date(started + 1).toISOString().replace('Z', 'GMT')}`)).toEqual([]);
    expect(await ids(`maxDate=${started}`)).toEqual([sc.applicationId]);
    expect(await ids(`maxDate=${started - 1}`)).toEqual([]);
    // A running application has no end: an end-date bound leaves it out.
    expect(await ids('minEndDate=2000-01-01')).toEqual([]);
    expect(await ids('limit=0')).toEqual([]);
    expect((await answer(`${base}/applications?minDate=yesterday`)).status).toBe(400);
    expect((await answer(`${base}/applications?status=done`)).status).toBe(400);
  });

  it('counts a running job’s active tasks and stages as the status tracker does, and both are empty once it settles', async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-running-'));
    const release = path.join(scratch, 'release');
    const started = firstTaskStart(sc);
    // The tasks run until the test has looked (a file appears), not for a time a loaded machine could outlast.
    const running = sc
      .parallelize([0, 1, 2, 3], 2)
      .map(
        capture({ fsm: useModule('node:fs'), release }, (x: number) => {
          const t = Date.now();
          while (!fsm.existsSync(release) && Date.now() - t < 60_000);
          return x;
        }),
      )
      .collect();
    onTestFinished(() => {
      writeFileSync(release, '');
      rmSync(scratch, { recursive: true, force: true });
    });
    await started;
    const tracker = sc.statusTracker();
    const [jobId] = tracker.getActiveJobIds();
    expect(jobId).toBeDefined();
    // The tracker reads the scheduler; the REST API reads the status store, which takes task events in batches (a
    // request first delivers the one the scheduler holds): the first request after a task started shows it.
    const [job] = (await get(`${app}/jobs?status=running`)) as unknown as Json[];
    expect(job).toMatchObject({ jobId, status: 'RUNNING', numActiveStages: 1 });
    expect(job!.numActiveTasks).toBeGreaterThan(0);
    const stageIds = tracker.getActiveStageIds();
    const active = (await get(`${app}/stages?status=active`)) as unknown as Json[];
    expect(active.map((s) => s.stageId)).toEqual(stageIds);
    const info = tracker.getStageInfo(stageIds[0]!)!;
    expect(active[0]).toMatchObject({ numTasks: info.numTasks });
    expect(active[0]!.numActiveTasks).toBeGreaterThan(0);
    writeFileSync(release, '');
    expect(await running).toEqual([0, 1, 2, 3]);
    expect(tracker.getActiveJobIds()).toEqual([]);
    expect(tracker.getActiveStageIds()).toEqual([]);
    // Ended, the job is known with its outcome (Spark's SparkStatusTracker: "running, failed, and completed jobs").
    expect(tracker.getJobInfo(jobId!)).toMatchObject({ status: 'SUCCEEDED', numCompletedTasks: 2 });
    expect(await get(`${app}/jobs?status=running`)).toEqual([]);
    expect(await get(`${app}/stages?status=active`)).toEqual([]);
    expect(await get(`${app}/jobs/${jobId}`)).toMatchObject({ status: 'SUCCEEDED', numActiveTasks: 0, numCompletedTasks: 2 });
  });
});

describe('active tasks as Spark counts them', () => {
  // A worker holds up to slotsPerWorker (2) tasks and computes one: a task queued behind the one computing is not
  // active (Spark launches a task only onto a free core), so local[2] shows at most 1 active task per executor.
  it('never shows more active tasks on an executor than its cores', async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-cores-'));
    const release = path.join(scratch, 'release');
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: { port: 0 } });
    try {
      const app = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      const started = firstTaskStart(sc);
      // Six tasks of 150 ms, one after another on each worker (the moments a task ends and the next starts are the
      // ones a store could count twice), then two that run until the test has looked: a loaded machine cannot end
      // the job before the requests see it.
      const job = sc
        .parallelize([0, 1, 2, 3, 4, 5, 6, 7], 8)
        .map(
          capture({ fsm: useModule('node:fs'), release }, (x: number) => {
            const t = Date.now();
            if (x < 6) while (Date.now() - t < 150);
            else while (!fsm.existsSync(release) && Date.now() - t < 60_000);
            return x;
          }),
        )
        .collect();
      await started;
      const tracker = sc.statusTracker();
      let completed = 0;
      while (completed < 6) {
        const execs = (await get(`${app}/executors`)) as unknown as Json[];
        for (const e of execs) expect(e.activeTasks, `executor ${e.id}`).toBeLessThanOrEqual(e.totalCores);
        const [stage] = (await get(`${app}/stages?status=active`)) as unknown as Json[];
        expect(stage, 'the stage is active until the test releases its last tasks').toBeDefined();
        expect(stage!.numActiveTasks).toBeLessThanOrEqual(2);
        completed = stage!.numCompleteTasks;
        const [stageId] = tracker.getActiveStageIds();
        expect(tracker.getStageInfo(stageId!)!.numActiveTasks).toBeLessThanOrEqual(2);
        await new Promise((r) => setTimeout(r, 20));
      }
      writeFileSync(release, '');
      expect(await job).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      writeFileSync(release, '');
      await sc.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('a job of many tasks, whatever their timing', () => {
  // The scheduler hands task events to the UI in batches (src/scheduler/task-scheduler.ts): the batch still held
  // when a job ends must reach the store before the job's end does, so every task shows by the time the action
  // settles, whatever the tasks' timing.
  it('shows every task of the job by the time its action settles', async () => {
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: { port: 0 } });
    try {
      const app = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      let seed = 24;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const n = 700;
      // Per task, µs to compute: none, a few slow ones at random, or a slow end of the job.
      const timings: Array<(i: number) => number> = [
        () => 0,
        () => (random() < 0.1 ? Math.floor(random() * 400) : 0),
        (i) => (i >= n - 4 ? 3000 : 0),
        () => Math.floor(random() * 60),
      ];
      for (let round = 0; round < 8; round++) {
        const spins = Array.from({ length: n }, (_, i) => timings[round % timings.length]!(i));
        const count = await sc
          .parallelize(spins, n)
          .map((us) => {
            const end = performance.now() + us / 1000;
            while (performance.now() < end);
            return us;
          })
          .count();
        expect(count).toBe(n);
        const job = await get(`${app}/jobs/${round}`);
        expect(job, `round ${round}`).toMatchObject({ status: 'SUCCEEDED', numTasks: n, numCompletedTasks: n, numActiveTasks: 0 });
        const stage = await get(`${app}/stages/${job.stageIds[0]}/0`);
        expect(stage, `round ${round}`).toMatchObject({ status: 'COMPLETE', numCompleteTasks: n, numActiveTasks: 0 });
        const tasks = (await get(`${app}/stages/${job.stageIds[0]}/0/taskList?length=${n + 1}`)) as unknown as Json[];
        expect(
          tasks.filter((t) => t.status === 'SUCCESS'),
          `round ${round}`,
        ).toHaveLength(n);
      }
    } finally {
      await sc.stop();
    }
  });
});

describe('stage status values over REST while a job runs', () => {
  it('lists a running job’s later stage as PENDING (and ?status=pending finds it) while its map stage is ACTIVE, then both COMPLETE', async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-pending-'));
    const release = path.join(scratch, 'release');
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: { port: 0 } });
    try {
      const app = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      const started = firstTaskStart(sc);
      // The map tasks run until the test has looked (a file appears), not for a time a loaded machine could outlast.
      const job = sc
        .parallelize([1, 2, 3, 4], 2)
        .map(
          capture({ fsm: useModule('node:fs'), release }, (x: number) => {
            const until = Date.now() + 60_000;
            while (!fsm.existsSync(release) && Date.now() < until);
            return [x % 2, x] as [number, number];
          }),
        )
        .reduceByKey((a, b) => a + b, 2)
        .collect();
      await started;
      await vi.waitFor(
        async () => {
          const stages = (await get(`${app}/stages`)) as unknown as Json[];
          expect(stages.map((s) => [s.stageId, s.status])).toEqual([
            [1, 'PENDING'],
            [0, 'ACTIVE'],
          ]);
        },
        { timeout: 20_000, interval: 50 },
      );
      expect(((await get(`${app}/stages?status=pending`)) as unknown as Json[]).map((s) => s.stageId)).toEqual([1]);
      expect(((await get(`${app}/stages?status=active`)) as unknown as Json[]).map((s) => s.stageId)).toEqual([0]);
      const [j] = (await get(`${app}/jobs`)) as unknown as Json[];
      expect(j).toMatchObject({ status: 'RUNNING', numActiveStages: 1, kindlingStageStatus: { 0: 'ACTIVE', 1: 'PENDING' } });
      writeFileSync(release, '');
      expect((await job).sort((a, b) => a[0] - b[0])).toEqual([
        [0, 6],
        [1, 4],
      ]);
      const after = (await get(`${app}/stages`)) as unknown as Json[];
      expect(after.map((s) => [s.stageId, s.status])).toEqual([
        [1, 'COMPLETE'],
        [0, 'COMPLETE'],
      ]);
    } finally {
      writeFileSync(release, '');
      await sc.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
