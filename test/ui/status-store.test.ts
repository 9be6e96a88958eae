/**
 * The status store: the UI's model of an application, built from events alone, with Spark's status values and
 * a bounded history.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ColumnPool, IndexSet, StatusStore, TaskTable, type TaskData } from '../../src/ui/status-store.js';
import { SUMMARIZED_METRICS } from '../../src/scheduler/task-metrics.js';
import type { TaskMetrics } from '../../src/exec/protocol.js';
import type { SchedulerEvent, TaskEndEvent } from '../../src/scheduler/events.js';
import type { StageInfo } from '../../src/scheduler/stage-info.js';
import { TaskEventBatch } from '../../src/scheduler/task-event-batch.js';
import type { AppEvent, RunningTaskRow } from '../../src/ui/app-events.js';

const rdd = (id: number, parentIds: number[] = [], storageLevel = 'NONE') => ({
  id,
  name: `RDD ${id}`,
  kind: 'MappedRDD',
  numPartitions: 2,
  storageLevel,
  parentIds,
});
const twoStages: StageInfo[] = [
  { stageId: 0, name: 'shuffle 0', numTasks: 2, parentIds: [], rdds: [rdd(0), rdd(1, [0])] },
  { stageId: 1, name: 'collect', numTasks: 2, parentIds: [0], rdds: [rdd(2, [1], 'MEMORY_ONLY')] },
];

function runJob(store: StatusStore, jobId: number, stages: StageInfo[], ran: number[], t = 0): void {
  const apply = (e: SchedulerEvent) => store.apply(e);
  apply({ type: 'jobStart', jobId, time: t, description: `job ${jobId}`, stageIds: stages.map((s) => s.stageId), stages });
  for (const stageId of ran) {
    apply({ type: 'stageSubmitted', jobId, stageId, attempt: 0, name: `stage ${stageId}`, numTasks: 2, numPartitions: 2, time: t });
    for (const p of [0, 1]) {
      apply({
        type: 'taskStart',
        stageId,
        stageAttempt: 0,
        partition: p,
        attempt: 0,
        workerIndex: p,
        executorId: String(p),
        speculative: false,
        time: t,
      });
      apply({
        type: 'taskEnd',
        stageId,
        stageAttempt: 0,
        partition: p,
        attempt: 0,
        workerIndex: p,
        executorId: String(p),
        speculative: false,
        result: 'success',
        durationMs: 5,
        locality: 'NO_PREF',
        time: t + 5,
      });
    }
    apply({ type: 'stageCompleted', jobId, stageId, attempt: 0, time: t + 6, result: 'succeeded' });
  }
  apply({ type: 'jobEnd', jobId, time: t + 7, result: 'succeeded' });
}

/** Starts a task in `table` and in the test's model of it (the row a fresh start must read back as). */
function startTask(
  table: TaskTable,
  model: Map<number, TaskData>,
  key: number,
  t: Pick<TaskData, 'taskId' | 'index' | 'attempt' | 'launchTime' | 'executorId' | 'speculative'>,
): void {
  const task: TaskData = { ...t, duration: undefined, status: 'RUNNING', locality: '', errorMessage: undefined, metrics: undefined };
  model.delete(key);
  model.set(key, task);
  table.start(key, task.taskId, task.index, task.attempt, task.executorId, task.speculative, task.launchTime);
}

/** Finishes the task of `key` in `table` and in the model. */
function finishTask(
  table: TaskTable,
  key: number,
  task: TaskData,
  result: 'success' | 'failed' | 'killed',
  f: { duration: number } & Pick<TaskData, 'locality' | 'errorMessage' | 'metrics'>,
): void {
  task.status = result === 'success' ? 'SUCCESS' : result === 'failed' ? 'FAILED' : 'KILLED';
  Object.assign(task, f);
  table.finish(table.rowOf(key, task.index), result, f.duration, f.locality, f.errorMessage, f.metrics);
}

/** Drops the oldest finished task from `table` and from the model (the table must say whether there was one). */
/** A task end as an event log gives it (no start before it): `durationMs` after its launch, ending at `time`. */
function loggedEnd(partition: number, time: number, durationMs: number): TaskEndEvent {
  return {
    type: 'taskEnd',
    stageId: 0,
    stageAttempt: 0,
    partition,
    attempt: 0,
    workerIndex: partition,
    executorId: String(partition),
    speculative: false,
    result: 'success',
    durationMs,
    locality: 'NO_PREF',
    time,
  };
}

function dropOldest(table: TaskTable, model: Map<number, TaskData>): void {
  const oldest = [...model].find(([, t]) => t.status !== 'RUNNING');
  expect(table.dropOldestFinished()).toBe(oldest !== undefined);
  if (oldest !== undefined) model.delete(oldest[0]);
}

describe('StatusStore', () => {
  it('lists a job’s stages as PENDING at its start, ACTIVE while they run, COMPLETE after, and counts tasks', () => {
    const store = new StatusStore();
    store.apply({ type: 'jobStart', jobId: 0, time: 0, description: 'collect', stageIds: [0, 1], stages: twoStages });
    expect([...store.stages.values()].map((s) => [s.stageId, s.status])).toEqual([
      [0, 'PENDING'],
      [1, 'PENDING'],
    ]);
    store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 'shuffle 0', numTasks: 2, numPartitions: 2, time: 1 });
    store.apply({
      type: 'taskStart',
      stageId: 0,
      stageAttempt: 0,
      partition: 0,
      attempt: 0,
      workerIndex: 0,
      executorId: String(0),
      speculative: false,
      time: 1,
    });
    expect(store.stages.get('0.0')!.status).toBe('ACTIVE');
    expect(store.jobs.get(0)!.numActiveTasks).toBe(1);
    expect(store.executors.get('0')!.activeTasks).toBe(1);
    store.apply({
      type: 'taskEnd',
      stageId: 0,
      stageAttempt: 0,
      partition: 0,
      attempt: 0,
      workerIndex: 0,
      executorId: String(0),
      speculative: false,
      result: 'failed',
      error: 'boom',
      durationMs: 3,
      locality: 'ANY',
      time: 4,
    });
    const task = [...store.stages.get('0.0')!.tasks.values()][0]!;
    expect([task.status, task.errorMessage, task.locality]).toEqual(['FAILED', 'boom', 'ANY']);
    expect(store.jobs.get(0)!.numFailedTasks).toBe(1);
    expect(store.executors.get('0')!.failedTasks).toBe(1);
  });

  it('gives a stage’s first task launch from a log as the earliest launch, not the launch of the task that ended first', () => {
    // A log has task ends only, in the order they ended: here the task launched second ends first.
    const store = new StatusStore();
    const end = (partition: number, launch: number, time: number): TaskEndEvent => loggedEnd(partition, time, time - launch);
    store.apply({ type: 'jobStart', jobId: 0, time: 1000, description: 'count', stageIds: [0] });
    store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 'count', numTasks: 2, numPartitions: 2, time: 1000 });
    store.apply(end(1, 1100, 1150));
    store.apply(end(0, 1001, 1400));
    expect(store.stages.get('0.0')!.firstTaskLaunchedTime).toBe(1001);
  });

  it('replays a log’s last tasksRunning line at its end: a task listed that did not end since is RUNNING, one that ended is not', () => {
    // An event log has no task starts: only this line names a task a killed application was computing.
    const end = (partition: number, time: number): SchedulerEvent => loggedEnd(partition, time, 4);
    /** A row of a tasksRunning line of time `now`. */
    const row = (partition: number, time: number, now: number): RunningTaskRow => [
      0,
      0,
      partition,
      0,
      partition,
      String(partition),
      false,
      now - time,
    ];
    const log: AppEvent[] = [
      { type: 'jobStart', jobId: 0, time: 0, description: 'collect', stageIds: [0], stages: [twoStages[0]!] },
      { type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 'shuffle 0', numTasks: 3, numPartitions: 3, time: 1 },
      { type: 'tasksRunning', time: 3, tasks: [row(0, 1, 3), row(1, 2, 3)] },
      end(0, 5),
      { type: 'tasksRunning', time: 6, tasks: [row(2, 6, 6)] },
      end(1, 6),
    ];
    const store = new StatusStore();
    for (const e of log) store.apply(e);
    const tasks = () => [...store.stages.get('0.0')!.tasks.values()].map((t) => [t.taskId, t.index, t.status, t.launchTime, t.executorId]);
    // Until the log's end, the lines make no task (a listed task may end a few lines on).
    expect(tasks()).toEqual([
      [0, 0, 'SUCCESS', 1, '0'],
      [1, 1, 'SUCCESS', 2, '1'],
    ]);
    store.endOfLog();
    store.endOfLog(); // once only
    expect(tasks()).toEqual([
      [0, 0, 'SUCCESS', 1, '0'],
      [1, 1, 'SUCCESS', 2, '1'],
      [2, 2, 'RUNNING', 6, '2'],
    ]);
    expect(store.stages.get('0.0')!.numActiveTasks).toBe(1);
    expect(store.jobs.get(0)!.numActiveTasks).toBe(1);
    expect(store.executors.get('2')!.activeTasks).toBe(1);
    // A stage that completed computes nothing, whatever an earlier line listed.
    const done = new StatusStore();
    for (const e of log) done.apply(e);
    done.apply({ type: 'stageCompleted', jobId: 0, stageId: 0, attempt: 0, time: 7, result: 'failed' });
    done.endOfLog();
    expect([...done.stages.get('0.0')!.tasks.values()]).toHaveLength(2);
  });

  it('reads a log whose listed tasks all ended as the same log without its tasksRunning lines', () => {
    const plain = new StatusStore();
    const listed = new StatusStore();
    const t = (p: number) => ({ stageId: 0, stageAttempt: 0, partition: p, attempt: 0, workerIndex: p, executorId: String(p), speculative: false });
    for (const store of [plain, listed]) {
      store.apply({ type: 'jobStart', jobId: 0, time: 0, description: 'collect', stageIds: [0], stages: [twoStages[0]!] });
      store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 'shuffle 0', numTasks: 2, numPartitions: 2, time: 1 });
      if (store === listed)
        store.apply({
          type: 'tasksRunning',
          time: 2,
          tasks: [
            [0, 0, 1, 0, 1, '1', false, 0],
            [0, 0, 0, 0, 0, '0', false, 1],
          ],
        });
      for (const p of [0, 1]) store.apply({ type: 'taskEnd', ...t(p), result: 'success', durationMs: 3, locality: 'ANY', time: 4 + p });
      store.apply({ type: 'stageCompleted', jobId: 0, stageId: 0, attempt: 0, time: 6, result: 'succeeded' });
      store.apply({ type: 'jobEnd', jobId: 0, time: 7, result: 'succeeded' });
      store.endOfLog();
    }
    expect([...listed.stages.get('0.0')!.tasks.values()]).toEqual([...plain.stages.get('0.0')!.tasks.values()]);
    expect([...listed.jobs.values()]).toEqual([...plain.jobs.values()]);
    expect([...listed.executors.values()]).toEqual([...plain.executors.values()]);
    const { tasks: _a, ...listedStage } = listed.stages.get('0.0')!;
    const { tasks: _b, ...plainStage } = plain.stages.get('0.0')!;
    expect(listedStage).toEqual(plainStage);
  });

  it('counts a job’s tasks from its stages’ first attempts: a stage attempted again does not add to the total', () => {
    const store = new StatusStore();
    store.apply({ type: 'jobStart', jobId: 0, time: 0, description: 'collect', stageIds: [0, 1], stages: twoStages });
    store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 'shuffle 0', numTasks: 2, numPartitions: 2, time: 1 });
    store.apply({ type: 'stageCompleted', jobId: 0, stageId: 0, attempt: 0, time: 2, result: 'succeeded' });
    store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 1, attempt: 0, name: 'collect', numTasks: 2, numPartitions: 2, time: 3 });
    store.apply({ type: 'stageCompleted', jobId: 0, stageId: 1, attempt: 0, time: 4, result: 'failed', failureReason: 'fetch failed' });
    // The map stage runs its lost partition again, then the result stage its two tasks.
    store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 1, name: 'shuffle 0', numTasks: 1, numPartitions: 2, time: 5 });
    store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 1, attempt: 1, name: 'collect', numTasks: 2, numPartitions: 2, time: 6 });
    expect(store.jobs.get(0)!.numTasks).toBe(4);
  });

  it('marks stages whose output an earlier job left as SKIPPED for the job that did not run them', () => {
    const store = new StatusStore();
    runJob(store, 0, twoStages, [0, 1]);
    runJob(store, 1, [twoStages[0]!, { ...twoStages[1]!, stageId: 2 }], [2]);
    expect(store.jobs.get(1)!.ranStages).toEqual(new Set([2]));
    expect(store.stages.get('0.0')!.status).toBe('COMPLETE');
    runJob(
      store,
      2,
      [
        { ...twoStages[0]!, stageId: 3 },
        { ...twoStages[1]!, stageId: 4, parentIds: [3] },
      ],
      [4],
    );
    expect(store.stages.get('3.0')!.status).toBe('SKIPPED');
  });

  it('keeps at most retainedJobs finished jobs and retainedStages finished stages, dropping the oldest first', () => {
    const store = new StatusStore({ retainedJobs: 5, retainedStages: 4 });
    for (let j = 0; j < 20; j++) runJob(store, j, [{ stageId: j, name: 's', numTasks: 2, parentIds: [], rdds: [rdd(j)] }], [j], j * 10);
    expect([...store.jobs.keys()]).toEqual([15, 16, 17, 18, 19]);
    expect([...store.stages.values()].map((s) => s.stageId)).toEqual([16, 17, 18, 19]);
  });

  it('never drops a running job to make room', () => {
    const store = new StatusStore({ retainedJobs: 2 });
    store.apply({ type: 'jobStart', jobId: 0, time: 0, description: 'long', stageIds: [], stages: [] });
    for (let j = 1; j < 6; j++) runJob(store, j, [], []);
    expect(store.jobs.has(0)).toBe(true);
    expect(store.jobs.size).toBe(2);
  });

  it('tracks cached partitions per executor, and forgets a lost executor’s blocks and marks it dead', () => {
    const store = new StatusStore();
    runJob(store, 0, twoStages, [0, 1]);
    for (const [w, p] of [
      [0, 0],
      [1, 1],
    ] as const) {
      store.apply({
        type: 'blockUpdated',
        workerIndex: w,
        executorId: String(w),
        rddId: 2,
        partition: p,
        change: 'added',
        memoryBytes: 100,
        diskBytes: 0,
        time: 9,
      });
    }
    expect(store.rdds.get(2)!.info.storageLevel).toBe('MEMORY_ONLY');
    expect(store.rdds.get(2)!.partitions.size).toBe(2);
    expect([...store.rdds.get(2)!.partitions.values()].map((where) => [...where.keys()])).toEqual([['0'], ['1']]);
    store.apply({ type: 'workerLost', workerIndex: 1, executorId: '1', reason: 'killed', time: 10 });
    // The replacement is a new executor (Spark's executor ids are never reused) in the same worker index.
    store.apply({ type: 'workerAdded', workerIndex: 1, executorId: '2', replacement: true, time: 11 });
    expect(store.rdds.get(2)!.partitions.size).toBe(1);
    expect([...store.executors.values()].map((e) => [e.id, e.workerIndex, e.isActive, e.removeReason, e.completedTasks, e.replacement])).toEqual([
      ['0', 0, true, undefined, 2, false],
      ['1', 1, false, 'killed', 2, false],
      ['2', 1, true, undefined, 0, true],
    ]);
  });

  it('counts each task on the executor that ran it: a dead incarnation’s late end stays with it, not with its replacement', () => {
    const store = new StatusStore();
    const task = (type: 'taskStart' | 'taskEnd', executorId: string, partition: number, time: number): SchedulerEvent =>
      type === 'taskStart'
        ? { type, stageId: 0, stageAttempt: 0, partition, attempt: 0, workerIndex: 1, executorId, speculative: false, time }
        : {
            type,
            stageId: 0,
            stageAttempt: 0,
            partition,
            attempt: 0,
            workerIndex: 1,
            executorId,
            speculative: false,
            result: 'failed',
            error: 'lost',
            durationMs: 1,
            locality: 'NO_PREF',
            time,
          };
    store.apply({ type: 'jobStart', jobId: 0, time: 0, description: 'j', stageIds: [0], stages: [twoStages[0]!] });
    store.apply({ type: 'stageSubmitted', jobId: 0, stageId: 0, attempt: 0, name: 's', numTasks: 2, numPartitions: 2, time: 0 });
    store.apply({ type: 'workerAdded', workerIndex: 1, executorId: '1', replacement: false, time: 0 });
    store.apply(task('taskStart', '1', 0, 1));
    store.apply({ type: 'workerLost', workerIndex: 1, executorId: '1', reason: 'killed', time: 2 });
    store.apply({ type: 'workerAdded', workerIndex: 1, executorId: '5', replacement: true, time: 3 });
    store.apply(task('taskStart', '5', 1, 4));
    store.apply(task('taskEnd', '1', 0, 5));
    const [dead, live] = [store.executors.get('1')!, store.executors.get('5')!];
    expect([dead.isActive, dead.failedTasks, dead.activeTasks]).toEqual([false, 1, 0]);
    expect([live.isActive, live.failedTasks, live.activeTasks]).toEqual([true, 0, 1]);
    expect([...store.stages.get('0.0')!.tasks.values()].map((t) => [t.index, t.executorId, t.status])).toEqual([
      [0, '1', 'FAILED'],
      [1, '5', 'RUNNING'],
    ]);
  });

  it('reads a log written before executor ids: the worker index names the executor, a replaced one stays listed', () => {
    const store = new StatusStore();
    // Events of such a log: no executorId field.
    const old = (e: object) => store.apply(e as SchedulerEvent);
    old({ type: 'workerAdded', workerIndex: 1, replacement: false, time: 1 });
    old({ type: 'workerLost', workerIndex: 1, reason: 'killed', time: 2 });
    old({ type: 'workerAdded', workerIndex: 1, replacement: true, time: 3 });
    expect([...store.executors.values()].map((e) => [e.id, e.isActive, e.replacement])).toEqual([
      ['1', false, false],
      ['1', true, true],
    ]);
  });

  it('names a cluster executor’s slots after it, with its host and port', () => {
    const store = new StatusStore();
    store.apply({ type: 'executorAdded', executorId: '7', host: '10.0.0.2', port: 7077, cores: 2, memoryMB: 1024, time: 0 });
    store.apply({ type: 'workerAdded', workerIndex: 0, executorId: '7.0', replacement: false, time: 1 });
    store.apply({ type: 'workerAdded', workerIndex: 1, executorId: '7.1', replacement: false, time: 1 });
    expect([...store.executors.values()].map((e) => [e.id, e.workerIndex, e.hostPort])).toEqual([
      ['7.0', 0, '10.0.0.2:7077'],
      ['7.1', 1, '10.0.0.2:7077'],
    ]);
  });

  it('keeps task rows as a table that reads back what a list of task objects would hold, oldest finished dropped first', () => {
    // A model (plain objects in insertion order) and the table, fed the same random starts, ends and drops.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const table = new TaskTable();
    const model = new Map<number, TaskData>();
    let nextId = 0;
    for (let step = 0; step < 5000; step++) {
      const r = random();
      if (r < 0.45 || model.size === 0) {
        const key = Math.floor(random() * 3000);
        startTask(table, model, key, {
          taskId: nextId++,
          index: key,
          attempt: key % 3,
          launchTime: 1_700_000_000_000 + step + 0.25,
          executorId: String(key % 4),
          speculative: key % 5 === 0,
        });
      } else if (r < 0.85) {
        const keys = [...model.keys()];
        const key = keys[Math.floor(random() * keys.length)]!;
        const task = model.get(key)!;
        const result = (['success', 'failed', 'killed'] as const)[Math.floor(random() * 3)]!;
        const metrics =
          result === 'success'
            ? ({
                ...Object.fromEntries(SUMMARIZED_METRICS.map((k, j) => [k, step * 31 + j + 0.5])),
                ...(step % 3 === 0 ? { keySample: [`k${step}`] } : {}),
              } as unknown as TaskMetrics)
            : undefined;
        finishTask(table, key, task, result, {
          duration: step / 4,
          locality: (['PROCESS_LOCAL', 'ANY', 'NO_PREF'] as const)[step % 3]!,
          errorMessage: result === 'failed' ? `boom ${step}` : undefined,
          metrics,
        });
      } else {
        dropOldest(table, model);
      }
      expect(table.size).toBe(model.size);
    }
    expect([...table.values()]).toEqual([...model.values()]);
    table.clear();
    expect([...table.values()]).toEqual([]);
  });

  it('reads back the same rows from columns another table used before (ColumnPool, full or exactly sized) or after compaction: nothing of the old rows shows', () => {
    // Each stage's table takes the columns of the one cleared or compacted before it, full of that stage's rows: the
    // new rows must read back as a fresh table's would, whatever the old ones held (metrics, errors, flags, more rows).
    // Compacting (at random points; refused while a task runs) must not change what a table reads back, before or
    // after later starts, ends and drops thaw it.
    type Op =
      | { kind: 'start'; index: number; attempt: number; worker: number; speculative: boolean }
      | { kind: 'finish'; pick: number; result: 0 | 1 | 2; metrics: boolean; value: number }
      | { kind: 'finishAll'; value: number }
      | { kind: 'compact' }
      | { kind: 'drop' };
    const value = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 2 ** 31, -(2 ** 31), 1.5));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('start' as const), index: fc.nat(300), attempt: fc.nat(2), worker: fc.nat(3), speculative: fc.boolean() }),
      fc.record({
        kind: fc.constant('finish' as const),
        pick: fc.nat(),
        result: fc.constantFrom(0 as const, 1 as const, 2 as const),
        metrics: fc.boolean(),
        value,
      }),
      fc.record({ kind: fc.constant('finishAll' as const), value }),
      fc.record({ kind: fc.constant('compact' as const) }),
      fc.record({ kind: fc.constant('drop' as const) }),
    );
    const play = (table: TaskTable, ops: Op[], step0: number, compacting: boolean): TaskData[] => {
      const model = new Map<number, TaskData>();
      // Compacting does something once a task was started, no task runs, and the table is not compacted already.
      let started = false;
      let compacted = false;
      const finish = (key: number, result: 'success' | 'failed' | 'killed', withMetrics: boolean, v: number, step: number) => {
        const metrics = withMetrics
          ? ({
              ...Object.fromEntries(SUMMARIZED_METRICS.map((k, j) => [k, j % 3 === 0 ? v : j % 3 === 1 ? v + j : 0])),
              ...(result === 'success' ? { keySample: [`k${step}`] } : {}),
            } as unknown as TaskMetrics)
          : undefined;
        finishTask(table, key, model.get(key)!, result, {
          // A finished task's duration is the scheduler's clock difference, never NaN (NaN is the table's mark of a
          // task still running); the metrics below do take NaN.
          duration: Number.isNaN(v) ? 0 : v,
          locality: 'ANY',
          errorMessage: result === 'failed' ? `boom ${step}` : undefined,
          metrics,
        });
      };
      ops.forEach((o, step) => {
        if (
          o.kind !== 'compact' &&
          (o.kind !== 'finish' || model.size > 0) &&
          (o.kind !== 'finishAll' || [...model.values()].some((t) => t.status === 'RUNNING'))
        )
          compacted = false;
        if (o.kind === 'start') {
          started = true;
          const key = o.index + 2 ** 24 * (o.worker + 2 ** 12 * o.attempt);
          startTask(table, model, key, {
            taskId: step0 + step,
            index: o.index,
            attempt: o.attempt,
            launchTime: step0 + step + 0.5,
            executorId: `e${o.worker}`,
            speculative: o.speculative,
          });
        } else if (o.kind === 'finish') {
          const keys = [...model.keys()];
          if (keys.length === 0) return;
          finish(keys[o.pick % keys.length]!, (['success', 'failed', 'killed'] as const)[o.result], o.metrics, o.value, step);
        } else if (o.kind === 'finishAll') {
          for (const [key, task] of model) if (task.status === 'RUNNING') finish(key, 'success', true, o.value, step);
        } else if (o.kind === 'compact') {
          const running = [...model.values()].some((t) => t.status === 'RUNNING');
          if (!compacting) return;
          expect(table.compact()).toBe(started && !compacted && !running);
          compacted ||= started && !running;
        } else {
          dropOldest(table, model);
        }
      });
      return [...model.values()];
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.array(op, { maxLength: 400 }), fc.boolean(), fc.boolean()), {
          minLength: 1,
          maxLength: 5,
        }),
        (stages) => {
          const pool = new ColumnPool();
          let previous: TaskTable | undefined;
          const kept: Array<[TaskTable, TaskData[]]> = [];
          stages.forEach(([capacity, ops, compactAtEnd, clearAfter], i) => {
            previous?.clear();
            previous = undefined;
            // Compacting tables of any size (a program's store compacts only large ones).
            const table = new TaskTable(capacity, pool, 0);
            const expected = play(table, ops, i * 1000, true);
            expect([...table.values()]).toEqual(expected);
            // The same operations on a table of fresh columns, never compacted, read back alike.
            const fresh = new TaskTable(capacity);
            play(fresh, ops, i * 1000, false);
            expect([...table.values()]).toEqual([...fresh.values()]);
            // A stage ending: compacted, it reads back the same, and the next table may take the columns it gave up.
            if (compactAtEnd) {
              table.compact();
              expect([...table.values()]).toEqual(expected);
              expect(table.size).toBe(expected.length);
            }
            // Cleared when the next stage starts (its columns, full or exactly sized, to the pool), or kept.
            if (clearAfter) previous = table;
            else kept.push([table, expected]);
          });
          // A kept table reads back what it held, whatever columns the tables after it took from the pool.
          for (const [table, expected] of kept) expect([...table.values()]).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('compacts a column of whole numbers into 16- or 32-bit integers only when every value reads back exactly (property)', () => {
    // Each column of its own kind of values: small, 32-bit and larger whole numbers, with now and then a value that
    // must keep the column in doubles (a fraction, -0, NaN, a value just out of range). Launch times and durations
    // are columns of the table; each metric is too.
    const small = fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 });
    const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    const spoiler = fc.constantFrom(0.5, -0, Number.NaN, 2 ** 15, -(2 ** 15) - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.POSITIVE_INFINITY);
    const columnOf = fc.oneof(
      fc.record({ kind: fc.constant('i16' as const), values: fc.array(small, { minLength: 2, maxLength: 80 }) }),
      fc.record({ kind: fc.constant('i32' as const), values: fc.array(int32, { minLength: 2, maxLength: 80 }) }),
      fc.record({
        kind: fc.constant('f64' as const),
        values: fc.array(fc.oneof(small, int32, spoiler, fc.double()), { minLength: 2, maxLength: 80 }),
      }),
    );
    fc.assert(
      fc.property(
        columnOf,
        columnOf,
        columnOf,
        fc.array(columnOf, { minLength: SUMMARIZED_METRICS.length, maxLength: SUMMARIZED_METRICS.length }),
        fc.boolean(),
        (launch, duration, taskIds, metricColumns, pooled) => {
          const rows = Math.min(launch.values.length, duration.values.length, taskIds.values.length, ...metricColumns.map((c) => c.values.length));
          const at = (c: { values: number[] }, r: number) => c.values[r]!;
          const pool = pooled ? new ColumnPool() : undefined;
          const table = new TaskTable(rows, pool, 0);
          const twin = new TaskTable(rows);
          for (const t of [table, twin]) {
            for (let r = 0; r < rows; r++) {
              t.start(r, at(taskIds, r), r, 0, `e${r % 3}`, false, at(launch, r));
              const m = Object.fromEntries(SUMMARIZED_METRICS.map((k, j) => [k, at(metricColumns[j]!, r)])) as unknown as TaskMetrics;
              // A duration is never NaN (the table's mark of a running task).
              t.finish(r, 'success', Number.isNaN(at(duration, r)) ? 0 : at(duration, r), 'ANY', undefined, m);
            }
          }
          const before = [...twin.values()];
          expect(table.compact()).toBe(true);
          expect([...table.values()]).toEqual(before);
          // Object.is tells -0 and NaN apart where toEqual might not: every number as it went in.
          const read = [...table.values()];
          read.forEach((t, r) => {
            expect(Object.is(t.launchTime, before[r]!.launchTime)).toBe(true);
            expect(Object.is(t.taskId, before[r]!.taskId)).toBe(true);
            SUMMARIZED_METRICS.forEach((k) => expect(Object.is(t.metrics![k], before[r]!.metrics![k])).toBe(true));
          });
          // The bytes kept: each varying column in the narrowest kind that holds all of its values.
          const width = (values: number[]) => {
            const v = values.slice(0, rows);
            if (v.every((x) => Object.is(x, v[0]))) return 0;
            if (v.every((x) => Number.isInteger(x) && !Object.is(x, -0) && x >= -(2 ** 15) && x < 2 ** 15)) return 2;
            if (v.every((x) => Number.isInteger(x) && !Object.is(x, -0) && x >= -(2 ** 31) && x < 2 ** 31)) return 4;
            return 8;
          };
          const index = Array.from({ length: rows }, (_, r) => r);
          const durations = duration.values.slice(0, rows).map((d) => (Number.isNaN(d) ? 0 : d));
          const expected = [index, taskIds.values, index, [0], launch.values, durations, ...metricColumns.map((c) => c.values)].reduce(
            (sum, v) => sum + width(v) * rows,
            0,
          );
          expect(table.compactedBytes).toBe(expected);
          // Late ends thaw it back: everything reads as it did.
          table.finish(table.rowOf(0, 0), 'killed', 1, 'ANY', 'late', undefined);
          twin.finish(twin.rowOf(0, 0), 'killed', 1, 'ANY', 'late', undefined);
          expect(table.compactedBytes).toBe(0);
          expect([...table.values()]).toEqual([...twin.values()]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('compacts a finished stage’s rows into columns and gives its row memory to the next table', () => {
    const pool = new ColumnPool();
    const a = new TaskTable(4000, pool);
    const model = new Map<number, TaskData>();
    for (let i = 0; i < 4000; i++) {
      startTask(a, model, i, { taskId: i, index: i, attempt: 0, launchTime: 1_700_000_000_000 + i / 8, executorId: `e${i % 2}`, speculative: false });
    }
    // Refused while a task runs.
    expect(a.compact()).toBe(false);
    const metrics = (i: number) =>
      ({ ...Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, k === 'runMs' ? i / 1000 : 0])), resultRecords: 1 }) as unknown as TaskMetrics;
    for (const [key, task] of model)
      finishTask(a, key, task, 'success', { duration: key % 7, locality: 'NO_PREF', errorMessage: undefined, metrics: metrics(key) });
    const before = [...a.values()];
    expect(a.compact()).toBe(true);
    expect(a.compact()).toBe(false);
    expect([...a.values()]).toEqual(before);
    expect(before).toEqual([...model.values()]);
    // A small table keeps its rows (compacting a few pages would cost more than it saves).
    const small = new TaskTable(64, pool);
    small.start(0, 0, 0, 0, 'e0', false, 1);
    small.finish(0, 'success', 1, 'ANY', undefined, undefined);
    expect(small.compact()).toBe(false);
    // The 4,000-row columns went to the pool: the next stage's table writes into them.
    const taken = pool.take(4000);
    expect(taken?.codes.length).toBe(4000 * 4);
    pool.give(taken!);
    const b = new TaskTable(4000, pool);
    b.start(0, 0, 0, 0, 'e0', false, 1);
    expect(pool.take(4000)).toBeUndefined();
    // A late end on the compacted table (its row found again) thaws it: everything else reads back unchanged.
    const row = a.rowOf(17, 17);
    expect(row).toBeGreaterThanOrEqual(0);
    a.finish(row, 'killed', 99, 'ANY', 'late', undefined);
    const late = model.get(17)!;
    Object.assign(late, { status: 'KILLED', duration: 99, locality: 'ANY', errorMessage: 'late', metrics: undefined });
    expect([...a.values()]).toEqual([...model.values()]);
  });

  it('compacts once the last running task ends, however rows ended: replaced while running, ended twice, dropped, cleared', () => {
    // compact() knows "nothing runs" from a count kept as rows start, end and go, not from a scan of the rows.
    const t = new TaskTable(16, undefined, 0);
    const key = (i: number) => i + 2 ** 24;
    t.start(key(0), 0, 0, 0, 'e0', false, 1);
    t.start(key(1), 1, 1, 0, 'e0', false, 1);
    // The same attempt on the same worker again, while it runs: its new row replaces the running one.
    t.start(key(0), 2, 0, 0, 'e0', false, 2);
    expect(t.size).toBe(2);
    t.finish(t.rowOf(key(0), 0), 'success', 1, 'ANY', undefined, undefined);
    expect(t.compact()).toBe(false); // task 1 still runs
    // A second end for an ended row does not count a task as ended twice.
    t.finish(t.rowOf(key(0), 0), 'failed', 1, 'ANY', 'again', undefined);
    expect(t.compact()).toBe(false);
    t.finish(t.rowOf(key(1), 1), 'success', 1, 'ANY', undefined, undefined);
    expect(t.dropOldestFinished()).toBe(true);
    expect(t.compact()).toBe(true);
    // A late start thaws it and runs again; clearing forgets it.
    t.start(key(2), 3, 2, 0, 'e1', false, 3);
    expect(t.compact()).toBe(false);
    t.clear();
    t.start(key(3), 4, 3, 0, 'e1', false, 4);
    t.finish(t.rowOf(key(3), 3), 'killed', 1, 'ANY', undefined, undefined);
    expect(t.compact()).toBe(true);
  });

  it('reuses a cleared or thawed compacted table’s exact columns for the next compaction of as many rows, never those of a table still kept', () => {
    const pool = new ColumnPool();
    const metrics = (v: number) => Object.fromEntries(SUMMARIZED_METRICS.map((k, j) => [k, v + j])) as unknown as TaskMetrics;
    const filled = (base: number): TaskTable => {
      const t = new TaskTable(50, pool, 0);
      for (let i = 0; i < 50; i++) {
        const row = t.start(i, base + i, i, 0, `e${i % 2}`, false, base + i + 0.5);
        t.finish(row, 'success', base + i / 7, 'ANY', undefined, metrics(base + i));
      }
      expect(t.compact()).toBe(true);
      return t;
    };
    const a = filled(1000);
    const aRows = [...a.values()];
    const b = filled(2000);
    const bRows = [...b.values()];
    // a is kept: b's compaction did not take its columns.
    expect([...a.values()]).toEqual(aRows);
    b.clear();
    const c = filled(3000);
    expect([...a.values()]).toEqual(aRows);
    expect([...c.values()].map((t) => t.taskId)).toEqual(bRows.map((t) => t.taskId + 1000));
    // A late start thaws c: its exact columns go to the pool, and c reads back from its full columns.
    const late = c.start(50, 3050, 50, 0, 'e0', false, 3050.5);
    c.finish(late, 'success', 1, 'ANY', undefined, metrics(3050));
    const cRows = [...c.values()];
    filled(4000);
    expect([...c.values()]).toEqual(cRows);
    expect([...a.values()]).toEqual(aRows);
    // The pool itself: a column of the length asked for, kept up to a bound in bytes.
    const column = new Float64Array(7);
    pool.giveExact([1, column]);
    expect(pool.column(7)).toBe(column);
    expect(pool.column(7)).not.toBe(column);
    pool.giveExact([new Float64Array(9 << 20)]);
    expect(pool.column(9 << 20)).toHaveLength(9 << 20);
  });

  it('gives a cleared table’s columns to the next table of a like size, and keeps few of them', () => {
    const pool = new ColumnPool();
    const a = new TaskTable(4000, pool);
    a.start(0, 0, 0, 0, 'e0', false, 1);
    a.clear();
    const taken = pool.take(4000);
    expect(taken?.codes.length).toBe(4000 * 4);
    expect(pool.take(4000)).toBeUndefined();
    pool.give(taken!);
    // Far larger than needed: kept for a stage its size, not spent on a small one.
    expect(pool.take(10)).toBeUndefined();
    const tables = Array.from({ length: 10 }, () => new TaskTable(64, pool));
    for (const t of tables) t.start(0, 0, 0, 0, 'e0', false, 1);
    expect(pool.take(4000)).toBe(taken);
    pool.give(taken!);
    for (const t of tables) t.clear();
    // The newest four are kept; the oldest (the 4,000-row one) went first.
    expect(pool.take(4000)).toBeUndefined();
    let kept = 0;
    while (pool.take(64) !== undefined) kept++;
    expect(kept).toBe(4);
  });

  it('sums each successful task’s metrics into its stage’s totals, read by metric name (failed and killed tasks not counted)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('success' as const, 'failed' as const, 'killed' as const),
            fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), {
              minLength: SUMMARIZED_METRICS.length,
              maxLength: SUMMARIZED_METRICS.length,
            }),
          ),
          { maxLength: 30 },
        ),
        (tasks) => {
          const store = new StatusStore();
          store.apply({
            type: 'jobStart',
            jobId: 0,
            time: 0,
            description: 'j',
            stageIds: [0],
            stages: [{ ...twoStages[0]!, numTasks: tasks.length }],
          });
          store.apply({
            type: 'stageSubmitted',
            jobId: 0,
            stageId: 0,
            attempt: 0,
            name: 's',
            numTasks: tasks.length,
            numPartitions: tasks.length,
            time: 0,
          });
          const expected = Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, 0]));
          tasks.forEach(([result, values], p) => {
            const metrics = Object.fromEntries(SUMMARIZED_METRICS.map((k, j) => [k, values[j]!])) as unknown as TaskMetrics;
            const task = { stageId: 0, stageAttempt: 0, partition: p, attempt: 0, workerIndex: 0, executorId: '0', speculative: false };
            store.apply({ type: 'taskStart', ...task, time: 1 });
            store.apply({ type: 'taskEnd', ...task, result, durationMs: 1, metrics, locality: 'ANY', time: 2 });
            if (result === 'success') SUMMARIZED_METRICS.forEach((k, j) => (expected[k]! += values[j]!));
          });
          const totals = store.stages.get('0.0')!.totals;
          expect(Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, totals[k]]))).toEqual(expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('counts distinct task indices once each, however far apart and however often added (IndexSet)', () => {
    const set = new IndexSet();
    const model = new Set<number>();
    let seed = 3;
    for (let i = 0; i < 3000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const v = seed % (i < 1500 ? 100 : 100_000);
      set.add(v);
      model.add(v);
    }
    expect(set.size).toBe(model.size);
    for (const v of [...model].slice(0, 200)) expect(set.has(v)).toBe(true);
    expect(set.has(100_001)).toBe(false);
  });
});

describe('StatusStore fed the scheduler’s task batches', () => {
  /** Every kind of number a metric column meets: -0, fractions, large integers, repeats. */
  const number = fc.oneof(
    fc.constantFrom(0, -0, 1, 0.5, 2 ** 31, 2 ** 53 - 1),
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.double({ min: -1e9, max: 1e9, noNaN: true }),
  );
  const metrics = fc.record({
    ...Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, number])),
    keySample: fc.option(fc.array(fc.string(), { maxLength: 3 }), { nil: undefined }),
  }) as fc.Arbitrary<TaskMetrics>;
  const task = fc.record({
    stage: fc.nat(1),
    attempt: fc.nat(2),
    worker: fc.nat(2),
    speculative: fc.boolean(),
    result: fc.constantFrom('success' as const, 'failed' as const, 'killed' as const),
    error: fc.option(fc.string(), { nil: undefined }),
    durationMs: number,
    metrics: fc.option(metrics, { nil: undefined }),
    locality: fc.constantFrom('PROCESS_LOCAL' as const, 'ANY' as const, 'NO_PREF' as const),
    endsAfter: fc.nat(5),
  });

  it('holds what a store fed the same events one by one holds, each task showing its own end’s values (property)', () => {
    fc.assert(
      fc.property(fc.array(task, { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (tasks, cuts) => {
        // Starts in order; each end some starts later (interleaved as a scheduler's turn has them).
        const events: Array<Extract<SchedulerEvent, { type: 'taskStart' | 'taskEnd' }>> = [];
        const pending: Array<{ at: number; e: Extract<SchedulerEvent, { type: 'taskEnd' }> }> = [];
        tasks.forEach((t, p) => {
          const common = {
            stageId: t.stage,
            stageAttempt: 0,
            partition: p,
            attempt: t.attempt,
            workerIndex: t.worker,
            executorId: `${t.worker}.${t.stage}`,
            speculative: t.speculative,
          };
          events.push({ type: 'taskStart', ...common, time: 1000 + p });
          pending.push({
            at: p + t.endsAfter,
            e: {
              type: 'taskEnd',
              ...common,
              result: t.result,
              error: t.error,
              durationMs: t.durationMs,
              metrics: t.metrics,
              locality: t.locality,
              time: 2000 + p,
            },
          });
          for (const q of pending.filter((x) => x.at <= p)) events.push(q.e);
          pending.splice(0, pending.length, ...pending.filter((x) => x.at > p));
        });
        for (const q of pending) events.push(q.e);
        const setUp = (store: StatusStore) => {
          store.apply({ type: 'jobStart', jobId: 0, time: 0, description: 'j', stageIds: [0, 1], stages: twoStages });
          for (const stageId of [0, 1])
            store.apply({
              type: 'stageSubmitted',
              jobId: 0,
              stageId,
              attempt: 0,
              name: 's',
              numTasks: tasks.length,
              numPartitions: tasks.length,
              time: 0,
            });
        };
        const byEvent = new StatusStore();
        setUp(byEvent);
        for (const e of events) byEvent.apply(e);
        // As the scheduler does: one batch whose rows are refilled turn after turn, cut anywhere (the store reads the
        // rows); and the same with records filled by hand (a batch without rows, read event by event).
        const fed = (asRows: boolean) => {
          const store = new StatusStore();
          setUp(store);
          const batch = new TaskEventBatch();
          let at = 0;
          for (let c = 0; at < events.length; c++) {
            const end = Math.min(events.length, at + cuts[c % cuts.length]!);
            for (; at < end; at++) {
              const e = events[at]!;
              // Every field of the event (error and metrics included, undefined or not).
              if (asRows) batch.add(e);
              else Object.assign(e.type === 'taskStart' ? batch.nextStart() : batch.nextEnd(), e);
            }
            expect(batch.rows !== undefined).toBe(asRows);
            store.apply({ type: 'taskBatch', tasks: batch });
            batch.clear();
          }
          return store;
        };
        for (const byBatch of [fed(true), fed(false)]) {
          for (const key of ['0.0', '1.0']) {
            const a = byEvent.stages.get(key)!;
            const b = byBatch.stages.get(key)!;
            expect([...b.tasks.values()]).toEqual([...a.tasks.values()]);
            expect(b.totals.sums).toEqual(a.totals.sums);
            expect([b.numCompleteTasks, b.numFailedTasks, b.numKilledTasks, b.numActiveTasks]).toEqual([
              a.numCompleteTasks,
              a.numFailedTasks,
              a.numKilledTasks,
              a.numActiveTasks,
            ]);
          }
          expect([...byBatch.executors.values()]).toEqual([...byEvent.executors.values()]);
          expect(byBatch.jobs.get(0)).toEqual(byEvent.jobs.get(0));
          expect(byBatch.lastUpdated).toBe(byEvent.lastUpdated);
          // And what both show is each task's own end: its metrics to the bit (-0 too), its error, status and locality.
          const gc = new Map<string, number>();
          for (const e of events) {
            if (e.type !== 'taskEnd') continue;
            const shown = [...byBatch.stages.get(`${e.stageId}.0`)!.tasks.values()].find((t) => t.index === e.partition)!;
            expect(shown.status).toBe(e.result === 'success' ? 'SUCCESS' : e.result === 'failed' ? 'FAILED' : 'KILLED');
            expect(shown.errorMessage).toBe(e.error);
            expect(shown.locality).toBe(e.locality);
            expect(Object.is(shown.duration, e.durationMs)).toBe(true);
            expect(shown.speculative).toBe(e.speculative);
            if (e.metrics === undefined) expect(shown.metrics).toBeUndefined();
            else {
              for (const k of SUMMARIZED_METRICS) expect(Object.is(shown.metrics![k], e.metrics[k])).toBe(true);
              expect(shown.metrics!.keySample).toEqual(e.metrics.keySample);
            }
            gc.set(e.executorId, (gc.get(e.executorId) ?? 0) + (e.metrics?.gcMs ?? 0));
          }
          for (const [id, ms] of gc) expect(byBatch.executors.get(id)!.totalGCTime).toBe(ms);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('StatusStore job counters', () => {
  type Op =
    | { k: 'jobStart'; job: number; stages: number[] }
    | { k: 'submit'; job: number; stage: number }
    | { k: 'start' | 'end'; stage: number; p: number; result: 'success' | 'failed' | 'killed' }
    | { k: 'jobEnd'; job: number; ok: boolean };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant('jobStart' as const), job: fc.nat({ max: 2 }), stages: fc.uniqueArray(fc.nat({ max: 2 }), { maxLength: 3 }) }),
    fc.record({ k: fc.constant('submit' as const), job: fc.nat({ max: 2 }), stage: fc.nat({ max: 2 }) }),
    fc.record({
      k: fc.constantFrom('start' as const, 'end' as const),
      stage: fc.nat({ max: 2 }),
      p: fc.nat({ max: 3 }),
      result: fc.constantFrom('success' as const, 'failed' as const, 'killed' as const),
    }),
    fc.record({ k: fc.constant('jobEnd' as const), job: fc.nat({ max: 2 }), ok: fc.boolean() }),
  );

  it("counts each task event into every job of its stage that is still listed, as the jobs' own lookups did (property)", () => {
    // The model: each listed job's counters as the events say (a task's start and end count into the jobs its stage
    // belongs to; only a running job's active tasks change), a job started again under its id starting from zero,
    // and jobs trimmed past retainedJobs forgotten. Stages shared by jobs, events of stages no job lists yet, and task
    // events delivered one by one or in the scheduler's batches.
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (ops, retainedJobs, batched) => {
        const store = new StatusStore({ retainedJobs });
        type Counts = { running: boolean; active: number; completed: number; failed: number; killed: number };
        const model = new Map<number, Counts>();
        const stageJobs = new Map<number, number[]>();
        const join = (stage: number, job: number) => {
          const list = stageJobs.get(stage) ?? [];
          if (!list.includes(job)) list.push(job);
          stageJobs.set(stage, list);
        };
        const batch = new TaskEventBatch();
        const deliver = () => {
          if (batch.size > 0) store.applyTasks(batch);
          batch.clear();
        };
        let t = 0;
        for (const o of ops) {
          t++;
          if (o.k === 'start' || o.k === 'end') {
            if (!stageJobs.has(o.stage)) continue;
            const task = {
              stageId: o.stage,
              stageAttempt: 0,
              partition: o.p,
              attempt: 0,
              workerIndex: o.p % 2,
              executorId: String(o.p % 2),
              speculative: false,
              time: t,
            };
            if (o.k === 'start') {
              if (batched) batch.add({ type: 'taskStart', ...task });
              else store.apply({ type: 'taskStart', ...task });
            } else {
              const end = { ...task, result: o.result, error: undefined, durationMs: 1, metrics: undefined, locality: 'NO_PREF' as const };
              if (batched) batch.add({ type: 'taskEnd', ...end });
              else store.apply({ type: 'taskEnd', ...end });
            }
            for (const j of stageJobs.get(o.stage)!) {
              const c = model.get(j);
              if (c === undefined) continue;
              if (o.k === 'start') {
                if (c.running) c.active++;
                continue;
              }
              if (c.running) c.active = Math.max(0, c.active - 1);
              if (o.result === 'success') c.completed++;
              else if (o.result === 'failed') c.failed++;
              else c.killed++;
            }
            if (batched && batch.size >= 5) deliver();
            continue;
          }
          deliver();
          if (o.k === 'jobStart') {
            const stages = o.stages.map((s) => ({ stageId: s, name: `s${s}`, numTasks: 4, parentIds: [], rdds: [] }));
            store.apply({ type: 'jobStart', jobId: o.job, time: t, description: `job ${o.job}`, stageIds: o.stages, stages });
            for (const s of o.stages) join(s, o.job);
            model.set(o.job, { running: true, active: 0, completed: 0, failed: 0, killed: 0 });
          } else if (o.k === 'submit') {
            store.apply({
              type: 'stageSubmitted',
              jobId: o.job,
              stageId: o.stage,
              attempt: 0,
              name: `s${o.stage}`,
              numTasks: 4,
              numPartitions: 4,
              time: t,
            });
            join(o.stage, o.job);
          } else if (o.k === 'jobEnd') {
            store.apply({ type: 'jobEnd', jobId: o.job, time: t, result: o.ok ? 'succeeded' : 'failed', ...(o.ok ? {} : { error: 'boom' }) });
            const c = model.get(o.job);
            if (c !== undefined) {
              c.running = false;
              c.active = 0;
            }
          }
          for (const id of [...model.keys()]) if (!store.jobs.has(id)) model.delete(id);
        }
        deliver();
        expect([...store.jobs.keys()].sort()).toEqual([...model.keys()].sort());
        for (const [id, job] of store.jobs) {
          const c = model.get(id)!;
          expect({
            id,
            active: job.numActiveTasks,
            completed: job.numCompletedTasks,
            failed: job.numFailedTasks,
            killed: job.numKilledTasks,
          }).toEqual({
            id,
            active: c.active,
            completed: c.completed,
            failed: c.failed,
            killed: c.killed,
          });
        }
      }),
      {
        numRuns: 500,
        // Found by CI: a stage kept a reference to job 1 after it was trimmed, and counted into it when job 1 was
        // started again (the new job 1 showed 0 active tasks).
        examples: [
          [
            [
              { k: 'jobStart', job: 1, stages: [2] },
              { k: 'jobEnd', job: 1, ok: false },
              { k: 'start', stage: 2, p: 0, result: 'success' },
              { k: 'jobStart', job: 0, stages: [] },
              { k: 'jobStart', job: 1, stages: [] },
              { k: 'start', stage: 2, p: 0, result: 'success' },
            ],
            1,
            false,
          ],
        ],
      },
    );
  });
});

describe('StatusStore against a naive fold of task-end batches', () => {
  /** Metric values as a worker reports them: counts, byte sizes, fractional times (-0 is the other property's). */
  const value = fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 2 ** 40 }), fc.double({ min: 0, max: 1e6, noNaN: true })).map((v) => v + 0);
  const metrics = fc.record(Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, value]))) as unknown as fc.Arbitrary<TaskMetrics>;
  const task = fc.record({
    stage: fc.nat(1),
    partition: fc.nat(30),
    worker: fc.nat(2),
    result: fc.constantFrom('success' as const, 'success' as const, 'failed' as const, 'killed' as const),
    durationMs: value,
    metrics: fc.option(metrics, { nil: undefined, freq: 5 }),
    endsAfter: fc.nat(6),
  });

  /** What the store must show, folded the plain way: a list of task objects per stage, sums as the tasks end. */
  interface Naive {
    tasks: Array<{ taskId: number; key: string; index: number; status: string; duration: number | undefined; metrics: TaskMetrics | undefined }>;
    sums: number[];
    counts: [number, number, number];
  }
  const naiveQuantiles = (values: number[]) => {
    const v = [...values].sort((a, b) => a - b);
    const rank = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))]!;
    return [v[0]!, rank(0.25), rank(0.5), rank(0.75), v[v.length - 1]!];
  };

  it('shows each retained task, the stage’s quantiles and totals, and the executors’ totals a plain fold gives, before and after the stage ends (property)', () => {
    fc.assert(
      fc.property(
        fc.array(task, { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom(4, 10_000),
        (tasks, cuts, retainedTasks) => {
          // Attempts of a partition count up per stage; each end comes some starts after its start.
          const attempts = new Map<string, number>();
          const events: Array<Extract<SchedulerEvent, { type: 'taskStart' | 'taskEnd' }>> = [];
          const pending: Array<{ at: number; e: Extract<SchedulerEvent, { type: 'taskEnd' }> }> = [];
          tasks.forEach((t, n) => {
            const a = attempts.get(`${t.stage}.${t.partition}`) ?? 0;
            attempts.set(`${t.stage}.${t.partition}`, a + 1);
            const common = {
              stageId: t.stage,
              stageAttempt: 0,
              partition: t.partition,
              attempt: a,
              workerIndex: t.worker,
              executorId: String(t.worker),
              speculative: false,
            };
            events.push({ type: 'taskStart', ...common, time: 1000 + n });
            const end = {
              type: 'taskEnd' as const,
              ...common,
              result: t.result,
              durationMs: t.durationMs,
              metrics: t.metrics,
              locality: 'NO_PREF' as const,
              time: 5000 + n,
            };
            pending.push({ at: n + t.endsAfter, e: end });
            for (const q of pending.filter((x) => x.at <= n)) events.push(q.e);
            pending.splice(0, pending.length, ...pending.filter((x) => x.at > n));
          });
          for (const q of pending) events.push(q.e);

          // The naive fold: retention as Spark's retainedTasks (the oldest finished task goes when one too many are kept).
          const naive = new Map<number, Naive>([0, 1].map((s) => [s, { tasks: [], sums: SUMMARIZED_METRICS.map(() => 0), counts: [0, 0, 0] }]));
          const executors = new Map<
            string,
            { completed: number; failed: number; killed: number; duration: number; gc: number; input: number; read: number; write: number }
          >();
          let taskId = 0;
          for (const e of events) {
            const s = naive.get(e.stageId)!;
            const key = `${e.partition}.${e.attempt}.${e.workerIndex}`;
            if (e.type === 'taskStart') {
              s.tasks.push({ taskId: taskId++, key, index: e.partition, status: 'RUNNING', duration: undefined, metrics: undefined });
              if (s.tasks.length > retainedTasks) {
                const oldest = s.tasks.findIndex((x) => x.status !== 'RUNNING');
                if (oldest >= 0) s.tasks.splice(oldest, 1);
              }
              continue;
            }
            const row = s.tasks.find((x) => x.key === key);
            if (row !== undefined) {
              row.status = e.result === 'success' ? 'SUCCESS' : e.result === 'failed' ? 'FAILED' : 'KILLED';
              row.duration = e.durationMs;
              row.metrics = e.metrics;
            }
            s.counts[e.result === 'success' ? 0 : e.result === 'failed' ? 1 : 2]++;
            if (e.result === 'success' && e.metrics !== undefined) SUMMARIZED_METRICS.forEach((k, j) => (s.sums[j]! += e.metrics![k]));
            const x = executors.get(e.executorId) ?? { completed: 0, failed: 0, killed: 0, duration: 0, gc: 0, input: 0, read: 0, write: 0 };
            executors.set(e.executorId, x);
            if (e.result === 'success') x.completed++;
            else if (e.result === 'failed') x.failed++;
            else x.killed++;
            x.duration += e.durationMs;
            x.gc += e.metrics?.gcMs ?? 0;
            x.input += e.metrics?.inputBytes ?? 0;
            x.read += e.metrics?.shuffleReadBytes ?? 0;
            x.write += e.metrics?.shuffleWriteBytes ?? 0;
          }

          // The store, fed as the scheduler feeds it: one batch of rows, refilled and cut anywhere.
          const store = new StatusStore({ retainedTasks });
          store.apply({ type: 'jobStart', jobId: 0, time: 0, description: 'j', stageIds: [0, 1], stages: twoStages });
          // Stages of as many tasks as a table needs to be compacted at their end.
          for (const stageId of [0, 1])
            store.apply({ type: 'stageSubmitted', jobId: 0, stageId, attempt: 0, name: 's', numTasks: 1100, numPartitions: 1100, time: 0 });
          const batch = new TaskEventBatch();
          for (let at = 0, c = 0; at < events.length; c++) {
            const end = Math.min(events.length, at + cuts[c % cuts.length]!);
            for (; at < end; at++) batch.add(events[at]!);
            store.apply({ type: 'taskBatch', tasks: batch });
            batch.clear();
          }

          const check = () => {
            for (const [stageId, s] of naive) {
              const st = store.stages.get(`${stageId}.0`)!;
              const shown = [...st.tasks.values()];
              expect(shown.map((t) => [t.taskId, t.index, t.status, t.duration])).toEqual(
                s.tasks.map((t) => [t.taskId, t.index, t.status, t.duration]),
              );
              shown.forEach((t, i) => {
                const m = s.tasks[i]!.metrics;
                expect(t.metrics === undefined ? undefined : Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, t.metrics![k]]))).toEqual(
                  m === undefined ? undefined : Object.fromEntries(SUMMARIZED_METRICS.map((k) => [k, m[k]])),
                );
              });
              expect([...st.totals.sums]).toEqual(s.sums);
              expect([st.numCompleteTasks, st.numFailedTasks, st.numKilledTasks]).toEqual(s.counts);
              // Quantiles over the retained successful tasks with metrics, as the stage page shows them while it runs.
              const done = s.tasks.filter((t) => t.status === 'SUCCESS' && t.metrics !== undefined);
              const q = store.stageQuantiles(st);
              if (done.length === 0) expect(q).toBeUndefined();
              else for (const k of SUMMARIZED_METRICS) expect([...q![k]]).toEqual(naiveQuantiles(done.map((t) => t.metrics![k])));
            }
            for (const [id, x] of executors) {
              const ex = store.executors.get(id)!;
              expect([ex.completedTasks, ex.failedTasks, ex.killedTasks, ex.totalDuration, ex.totalGCTime, ex.totalInputBytes]).toEqual([
                x.completed,
                x.failed,
                x.killed,
                x.duration,
                x.gc,
                x.input,
              ]);
              expect([ex.totalShuffleRead, ex.totalShuffleWrite, ex.activeTasks]).toEqual([x.read, x.write, 0]);
            }
          };
          check();
          // Ended stages keep their rows compacted (no quantiles in the events here: read from the rows again).
          for (const stageId of [0, 1]) store.apply({ type: 'stageCompleted', jobId: 0, stageId, attempt: 0, time: 9000, result: 'succeeded' });
          check();
        },
      ),
      { numRuns: 50 },
    );
  });
});
