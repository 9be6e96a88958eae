/**
 * Spark's monitoring REST API (`/api/v1`) over status stores: the same paths, field names and status values, so
 * that tools written for Spark's API read kindling's. Fields Spark has that have no meaning here (JVM-specific
 * ones) are present with neutral values where tools expect them; kindling's own extras are marked `kindling*`.
 */
import { SUMMARIZED_METRICS, type SummarizedMetric } from '../scheduler/task-metrics.js';
import type { ExecutorData, JobData, StageData, StatusStore, TaskData } from './status-store.js';
import { streamingRest } from './streaming-store.js';

/** Spark's date format in the REST API: `2015-02-03T16:42:59.720GMT`. */
export function sparkDate(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString().replace('Z', 'GMT');
}

export interface RestResponse {
  readonly status: number;
  readonly body: unknown;
}

const notFound = (message: string): RestResponse => ({ status: 404, body: { error: message } });

/** Answers one `/api/v1/...` path (without the prefix) from the given applications. */
export function handleRest(apps: ReadonlyMap<string, StatusStore>, path: string, query: URLSearchParams): RestResponse {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] !== 'applications') return notFound(`unknown endpoint /api/v1/${path}`);
  if (parts.length === 1) return { status: 200, body: [...apps.values()].map(applicationJson) };
  const store = apps.get(decodeURIComponent(parts[1]!));
  if (store === undefined) return notFound(`no such app: ${parts[1]}`);
  const [, , what, a, b, c] = parts;
  switch (what) {
    case undefined:
      return { status: 200, body: applicationJson(store) };
    case 'jobs': {
      if (a === undefined) {
        const wanted = query.getAll('status').map((s) => s.toUpperCase());
        const jobs = [...store.jobs.values()].reverse().filter((j) => wanted.length === 0 || wanted.includes(j.status));
        return { status: 200, body: jobs.map((j) => jobJson(store, j)) };
      }
      const job = store.jobs.get(Number(a));
      return job === undefined ? notFound(`unknown job: ${a}`) : { status: 200, body: jobJson(store, job) };
    }
    case 'stages': {
      if (a === undefined) {
        const wanted = query.getAll('status').map((s) => s.toUpperCase());
        const stages = [...store.stages.values()].reverse().filter((s) => wanted.length === 0 || wanted.includes(s.status));
        return { status: 200, body: stages.map((s) => stageJson(store, s, false)) };
      }
      const attempts = [...store.stages.values()].filter((s) => s.stageId === Number(a));
      if (attempts.length === 0) return notFound(`unknown stage: ${a}`);
      if (b === undefined) return { status: 200, body: attempts.map((s) => stageJson(store, s, true)) };
      const stage = attempts.find((s) => s.attemptId === Number(b));
      if (stage === undefined) return notFound(`unknown attempt for stage ${a}: ${b}`);
      if (c === undefined) return { status: 200, body: stageJson(store, stage, true) };
      if (c === 'taskList') return { status: 200, body: taskList(stage, query) };
      if (c === 'taskSummary') return { status: 200, body: taskSummary(store, stage) };
      return notFound(`unknown endpoint ${c}`);
    }
    case 'executors':
      return { status: 200, body: executors(store, false) };
    case 'allexecutors':
      return { status: 200, body: executors(store, true) };
    case 'storage': {
      if (a !== 'rdd') return notFound(`unknown endpoint storage/${a ?? ''}`);
      if (b === undefined)
        return { status: 200, body: [...store.rdds.values()].filter((r) => r.partitions.size > 0).map((r) => rddJson(store, r, false)) };
      const rdd = store.rdds.get(Number(b));
      return rdd === undefined ? notFound(`unknown rdd: ${b}`) : { status: 200, body: rddJson(store, rdd, true) };
    }
    case 'environment':
      return { status: 200, body: environment(store) };
    case 'streaming':
      return streamingRest(store.streaming, a, b, query);
    default:
      return notFound(`unknown endpoint ${what}`);
  }
}

function applicationJson(store: StatusStore): unknown {
  const app = store.app;
  const start = app?.time ?? 0;
  const end = store.endTime;
  return {
    id: app?.appId ?? 'unknown',
    name: app?.appName ?? 'unknown',
    attempts: [
      {
        startTime: sparkDate(start),
        endTime: sparkDate(end ?? -1),
        lastUpdated: sparkDate(store.lastUpdated),
        duration: end === undefined ? 0 : end - start,
        sparkUser: process.env.USER ?? '',
        completed: end !== undefined,
        appSparkVersion: app?.versions.find(([k]) => k === 'kindling')?.[1] ?? '',
        startTimeEpoch: start,
        endTimeEpoch: end ?? -1,
        lastUpdatedEpoch: store.lastUpdated,
      },
    ],
  };
}

function jobJson(store: StatusStore, j: JobData): unknown {
  const skipped = j.stageIds.filter((id) => !j.ranStages.has(id));
  let skippedTasks = 0;
  for (const s of j.stages) if (skipped.includes(s.stageId)) skippedTasks += s.numTasks;
  return {
    jobId: j.jobId,
    // Spark: the name is the call site, the description the one given with setJobGroup (else the name here).
    name: j.description,
    description: j.jobDescription ?? j.description,
    submissionTime: sparkDate(j.submissionTime),
    completionTime: sparkDate(j.completionTime),
    stageIds: j.stageIds,
    ...(j.jobGroup !== undefined ? { jobGroup: j.jobGroup } : {}),
    status: j.status,
    numTasks: j.numTasks + skippedTasks,
    numActiveTasks: j.numActiveTasks,
    numCompletedTasks: j.numCompletedTasks,
    numSkippedTasks: j.status === 'RUNNING' ? 0 : skippedTasks,
    numFailedTasks: j.numFailedTasks,
    numKilledTasks: j.numKilledTasks,
    numCompletedIndices: j.numCompletedTasks,
    numActiveStages: j.activeStages.size,
    numCompletedStages: j.completedStages.size,
    numSkippedStages: j.status === 'RUNNING' ? 0 : skipped.length,
    numFailedStages: j.failedStages.size,
    killedTasksSummary: {},
    ...(j.error !== undefined ? { failureReason: j.error } : {}),
    kindlingStages: j.stages,
    kindlingStageStatus: Object.fromEntries(j.stageIds.map((id) => [id, latestStatus(store, id, j)])),
  };
}

function latestStatus(store: StatusStore, stageId: number, job: JobData): string {
  if (job.status !== 'RUNNING' && !job.ranStages.has(stageId)) return 'SKIPPED';
  let status = 'PENDING';
  for (const s of store.stages.values()) if (s.stageId === stageId) status = s.status;
  return status;
}

const METRIC_NAMES: Record<SummarizedMetric, string> = {
  durationMs: 'duration',
  runMs: 'executorRunTime',
  compileMs: 'executorDeserializeTime',
  gcMs: 'jvmGcTime',
  fetchWaitMs: 'fetchWaitTime',
  inputRecords: 'inputRecords',
  inputBytes: 'inputBytes',
  shuffleReadRecords: 'shuffleReadRecords',
  shuffleReadBytes: 'shuffleReadBytes',
  shuffleWriteRecords: 'shuffleWriteRecords',
  shuffleWriteBytes: 'shuffleWriteBytes',
  outputRecords: 'outputRecords',
  outputBytes: 'outputBytes',
  spillCount: 'kindlingSpillCount',
  memoryBytesSpilled: 'memoryBytesSpilled',
  diskBytesSpilled: 'diskBytesSpilled',
  resultRecords: 'kindlingResultRecords',
  resultBytes: 'resultSize',
};

function stageJson(store: StatusStore, s: StageData, withTasks: boolean): unknown {
  const t = s.totals;
  const body: Record<string, unknown> = {
    status: s.status,
    stageId: s.stageId,
    attemptId: s.attemptId,
    numTasks: s.numTasks,
    numActiveTasks: s.numActiveTasks,
    numCompleteTasks: s.numCompleteTasks,
    numFailedTasks: s.numFailedTasks,
    numKilledTasks: s.numKilledTasks,
    numCompletedIndices: s.completedIndices.size,
    submissionTime: sparkDate(s.submissionTime),
    firstTaskLaunchedTime: sparkDate(s.firstTaskLaunchedTime),
    completionTime: sparkDate(s.completionTime),
    failureReason: s.failureReason,
    executorDeserializeTime: Math.round(t.compileMs),
    executorRunTime: Math.round(t.runMs),
    executorCpuTime: 0,
    resultSize: t.resultBytes,
    jvmGcTime: Math.round(t.gcMs),
    inputBytes: t.inputBytes,
    inputRecords: t.inputRecords,
    outputBytes: t.outputBytes,
    outputRecords: t.outputRecords,
    shuffleFetchWaitTime: Math.round(t.fetchWaitMs),
    shuffleReadBytes: t.shuffleReadBytes,
    shuffleReadRecords: t.shuffleReadRecords,
    shuffleWriteBytes: t.shuffleWriteBytes,
    shuffleWriteRecords: t.shuffleWriteRecords,
    memoryBytesSpilled: t.memoryBytesSpilled,
    diskBytesSpilled: t.diskBytesSpilled,
    name: s.name,
    details: '',
    schedulingPool: 'default',
    rddIds: s.rdds.map((r) => r.id),
    accumulatorUpdates: [],
    killedTasksSummary: {},
    jobIds: [...s.jobIds],
    kindlingParentStageIds: s.parentIds,
    kindlingSkew: s.skew ?? null,
    kindlingSpillCount: t.spillCount,
    kindlingResultRecords: t.resultRecords,
  };
  if (withTasks) {
    body.tasks = Object.fromEntries([...s.tasks.values()].map((task) => [task.taskId, taskJson(task)]));
    const q = store.stageQuantiles(s);
    body.kindlingTaskQuantiles = q ?? null;
  }
  return body;
}

function taskJson(t: TaskData): unknown {
  const m = t.metrics;
  return {
    taskId: t.taskId,
    index: t.index,
    attempt: t.attempt,
    launchTime: sparkDate(t.launchTime),
    duration: t.duration,
    executorId: t.executorId,
    host: 'localhost',
    status: t.status,
    taskLocality: t.locality,
    speculative: t.speculative,
    accumulatorUpdates: [],
    ...(t.errorMessage !== undefined ? { errorMessage: t.errorMessage } : {}),
    ...(m !== undefined
      ? {
          taskMetrics: {
            executorDeserializeTime: Math.round(m.compileMs),
            executorRunTime: Math.round(m.runMs),
            executorCpuTime: 0,
            resultSize: m.resultBytes,
            jvmGcTime: Math.round(m.gcMs),
            resultSerializationTime: 0,
            memoryBytesSpilled: m.memoryBytesSpilled,
            diskBytesSpilled: m.diskBytesSpilled,
            inputMetrics: { bytesRead: m.inputBytes, recordsRead: m.inputRecords },
            outputMetrics: { bytesWritten: m.outputBytes, recordsWritten: m.outputRecords },
            shuffleReadMetrics: {
              remoteBlocksFetched: 0,
              localBlocksFetched: 0,
              fetchWaitTime: Math.round(m.fetchWaitMs),
              remoteBytesRead: 0,
              localBytesRead: 0,
              recordsRead: m.shuffleReadRecords,
              kindlingBytesRead: m.shuffleReadBytes,
            },
            shuffleWriteMetrics: { bytesWritten: m.shuffleWriteBytes, writeTime: 0, recordsWritten: m.shuffleWriteRecords },
            kindling: m,
          },
        }
      : {}),
  };
}

const TASK_SORTS: Record<string, (t: TaskData) => number> = {
  ID: (t) => t.taskId,
  '-ID': (t) => -t.taskId,
  runtime: (t) => t.metrics?.runMs ?? -1,
  '-runtime': (t) => -(t.metrics?.runMs ?? -1),
  duration: (t) => t.duration ?? -1,
  '-duration': (t) => -(t.duration ?? -1),
};

function taskList(s: StageData, q: URLSearchParams): unknown {
  const offset = Number(q.get('offset') ?? 0);
  const length = Number(q.get('length') ?? 20);
  const key = TASK_SORTS[q.get('sortBy') ?? 'ID'] ?? TASK_SORTS.ID!;
  const status = q.get('status')?.toUpperCase();
  return [...s.tasks.values()]
    .filter((t) => status === undefined || t.status === status)
    .sort((a, b) => key(a) - key(b))
    .slice(offset, offset + length)
    .map(taskJson);
}

function taskSummary(store: StatusStore, s: StageData): unknown {
  const q = store.stageQuantiles(s);
  const out: Record<string, unknown> = { quantiles: [0, 0.25, 0.5, 0.75, 1] };
  if (q === undefined) return out;
  for (const k of SUMMARIZED_METRICS) out[METRIC_NAMES[k]] = q[k];
  // Spark's TaskMetricDistributions nests the I/O metrics; both shapes are given (the flat one is kindling's).
  out.inputMetrics = { bytesRead: q.inputBytes, recordsRead: q.inputRecords };
  out.outputMetrics = { bytesWritten: q.outputBytes, recordsWritten: q.outputRecords };
  out.shuffleReadMetrics = { readBytes: q.shuffleReadBytes, readRecords: q.shuffleReadRecords, fetchWaitTime: q.fetchWaitMs };
  out.shuffleWriteMetrics = { writeBytes: q.shuffleWriteBytes, writeRecords: q.shuffleWriteRecords };
  return out;
}

function executors(store: StatusStore, all: boolean): unknown {
  const storage = store.storageByExecutor();
  const budget = store.app?.storageBytesPerWorker ?? 0;
  return [...store.executors.values()]
    .filter((e) => all || e.isActive)
    .sort((a, b) => byId(a.id, b.id))
    .map((e: ExecutorData) => {
      const s = e.isActive ? storage.get(e.id) : undefined;
      return {
        id: e.id,
        hostPort: e.hostPort,
        isActive: e.isActive,
        rddBlocks: s?.blocks ?? 0,
        memoryUsed: s?.memoryBytes ?? 0,
        diskUsed: s?.diskBytes ?? 0,
        totalCores: 1,
        maxTasks: 1,
        activeTasks: e.activeTasks,
        failedTasks: e.failedTasks,
        completedTasks: e.completedTasks,
        totalTasks: e.activeTasks + e.failedTasks + e.completedTasks + e.killedTasks,
        totalDuration: Math.round(e.totalDuration),
        totalGCTime: Math.round(e.totalGCTime),
        totalInputBytes: e.totalInputBytes,
        totalShuffleRead: e.totalShuffleRead,
        totalShuffleWrite: e.totalShuffleWrite,
        isBlacklisted: false,
        isExcluded: false,
        maxMemory: budget,
        addTime: sparkDate(e.addTime),
        ...(e.removeTime !== undefined ? { removeTime: sparkDate(e.removeTime), removeReason: e.removeReason } : {}),
        executorLogs: {},
        kindlingWorkerIndex: e.workerIndex,
        kindlingReplacement: e.replacement,
        kindlingKilledTasks: e.killedTasks,
        kindlingInputRecords: e.totalInputRecords,
      };
    });
}

/** Executor ids in their order: numerically where they are numbers (`local`), slot by slot within a process (`3.1`). */
function byId(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function rddJson(store: StatusStore, r: StatusStore['rdds'] extends Map<number, infer R> ? R : never, withPartitions: boolean): unknown {
  let memoryUsed = 0;
  let diskUsed = 0;
  const byExecutor = new Map<string, { memoryUsed: number; diskUsed: number }>();
  for (const where of r.partitions.values()) {
    for (const [w, b] of where) {
      memoryUsed += b.memoryBytes;
      diskUsed += b.diskBytes;
      const t = byExecutor.get(w) ?? { memoryUsed: 0, diskUsed: 0 };
      t.memoryUsed += b.memoryBytes;
      t.diskUsed += b.diskBytes;
      byExecutor.set(w, t);
    }
  }
  const body: Record<string, unknown> = {
    id: r.info.id,
    name: r.info.name,
    numPartitions: r.info.numPartitions,
    numCachedPartitions: r.partitions.size,
    storageLevel: r.info.storageLevel,
    memoryUsed,
    diskUsed,
  };
  if (withPartitions) {
    body.dataDistribution = [...byExecutor]
      .sort((a, b) => byId(a[0], b[0]))
      .map(([id, t]) => ({ address: store.executors.get(id)?.hostPort ?? 'localhost', executorId: id, ...t, memoryRemaining: 0 }));
    body.partitions = [...r.partitions]
      .sort((a, b) => a[0] - b[0])
      .map(([p, where]) => ({
        blockName: `rdd_${r.info.id}_${p}`,
        storageLevel: r.info.storageLevel,
        memoryUsed: [...where.values()].reduce((s, b) => s + b.memoryBytes, 0),
        diskUsed: [...where.values()].reduce((s, b) => s + b.diskBytes, 0),
        executors: [...where.keys()].sort(byId),
      }));
  }
  return body;
}

function environment(store: StatusStore): unknown {
  const versions = store.app?.versions ?? [];
  return {
    runtime: {
      javaVersion: '',
      javaHome: '',
      scalaVersion: '',
      nodeVersion: versions.find(([k]) => k === 'node')?.[1] ?? '',
      kindlingVersion: versions.find(([k]) => k === 'kindling')?.[1] ?? '',
    },
    sparkProperties: [['appId', store.app?.appId ?? ''], ['appName', store.app?.appName ?? ''], ...(store.app?.options ?? [])],
    hadoopProperties: [],
    systemProperties: versions,
    metricsProperties: [],
    classpathEntries: [],
    resourceProfiles: [],
  };
}
