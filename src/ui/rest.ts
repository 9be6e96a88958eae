/**
 * Spark's monitoring REST API (`/api/v1`) over status stores: the same paths, field names and status values, so
 * that tools written for Spark's API read kindling's. Fields Spark has that have no meaning here (JVM-specific
 * ones) are present with neutral values where tools expect them; kindling's own extras are marked `kindling*`.
 */
import { nearestRank, SUMMARIZED_METRICS, type SummarizedMetric } from '../scheduler/task-metrics.js';
import type { TaskMetrics } from '../exec/protocol.js';
import type { ExecutorData, JobData, StageData, StatusStore, TaskData } from './status-store.js';
import { streamingRest } from './streaming-store.js';
import type { RestAnswer, UiStores } from './server.js';

/** Spark's date format in the REST API: `2015-02-03T16:42:59.720GMT`. */
export function sparkDate(ms: number | undefined): string | undefined {
  // A time missing from a hand-edited or foreign event log is no date, not a failed request.
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString().replace('Z', 'GMT');
}

export interface RestResponse {
  readonly status: number;
  readonly body: unknown;
}

const notFound = (message: string): RestResponse => ({ status: 404, body: { error: message } });
const badRequest = (message: string): RestResponse => ({ status: 400, body: { error: message } });

/** A query parameter that cannot be read: answered 400, naming the parameter and what it accepts. */
class BadParameter extends Error {}

/** Spark's status values a `?status=` may name, case-insensitively, per endpoint. */
const JOB_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'UNKNOWN'];
const STAGE_STATUSES = ['ACTIVE', 'COMPLETE', 'PENDING', 'SKIPPED', 'FAILED'];
const TASK_STATUSES = ['RUNNING', 'SUCCESS', 'FAILED', 'KILLED', 'PENDING', 'UNKNOWN'];
const APP_STATUSES = ['COMPLETED', 'RUNNING'];
/** Spark's default quantiles (taskSummary, withSummaries). */
const DEFAULT_QUANTILES = [0, 0.25, 0.5, 0.75, 1];

function statuses(query: URLSearchParams, name: string, allowed: readonly string[]): string[] {
  const given = query.getAll(name).flatMap((s) => s.split(','));
  const bad = given.find((s) => !allowed.includes(s.trim().toUpperCase()));
  if (bad !== undefined) throw new BadParameter(`unknown ${name} '${bad}'; one of ${allowed.map((s) => s.toLowerCase()).join(', ')}`);
  return given.map((s) => s.trim().toUpperCase());
}

/** A non-negative integer parameter, or `dflt` when absent. */
function intParam(query: URLSearchParams, name: string, dflt: number): number {
  const v = query.get(name);
  if (v === null) return dflt;
  if (!/^\d+$/.test(v.trim())) throw new BadParameter(`${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

function boolParam(query: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = query.get(name)?.trim().toLowerCase();
  if (v === undefined) return dflt;
  if (v === 'true' || v === '') return true;
  if (v === 'false') return false;
  throw new BadParameter(`${name} must be true or false, got '${v}'`);
}

/** `?quantiles=0.05,0.5,0.95`: numbers in [0, 1]. */
function quantilesParam(query: URLSearchParams): number[] {
  const v = query.get('quantiles');
  if (v === null) return DEFAULT_QUANTILES;
  const qs = v.split(',').map((x) => x.trim());
  if (qs.some((x) => !/^(0(\.\d*)?|1(\.0*)?|\.\d+)$/.test(x)))
    throw new BadParameter(`quantiles must be numbers in [0, 1] separated by commas, got '${v}'`);
  return qs.map(Number);
}

/**
 * Spark's date parameters (minDate, maxEndDate, ...): `2015-02-03T16:42:40.000GMT`, `2015-02-03` (GMT), or epoch
 * milliseconds.
 */
function dateParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name)?.trim();
  if (v === undefined) return undefined;
  let ms = Number.NaN;
  if (/^\d+$/.test(v)) ms = Number(v);
  else if (/^\d{4}-\d\d-\d\d$/.test(v)) ms = Date.parse(`${v}T00:00:00Z`);
  else {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?)(GMT|Z|[+-]\d\d:?\d\d)?$/.exec(v);
    if (m !== null) ms = Date.parse(m[1]! + (m[2] === undefined || m[2] === 'GMT' ? 'Z' : m[2]));
  }
  if (Number.isNaN(ms)) throw new BadParameter(`${name}: cannot read '${v}' as a date (2015-02-03T16:42:40.000GMT, 2015-02-03, or epoch ms)`);
  return ms;
}

/** An id in a path: digits only (`1.0`, `0x1` or ` 1` name no job). */
function idOf(s: string | undefined): number | undefined {
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
}

/** Answers one `/api/v1/...` path (without the prefix) from the given applications. */
export function handleRest(apps: ReadonlyMap<string, StatusStore>, path: string, query: URLSearchParams): RestResponse {
  try {
    return route(apps, path, query);
  } catch (e) {
    if (e instanceof BadParameter) return badRequest(e.message);
    throw e;
  }
}

/**
 * The REST answer at `/api/v1/{path}` with its body as the JSON text the server sends.
 *
 * @example
 * ```ts
 * restAnswer(new Map([[appId, store]]), 'applications', ''); // { status: 200, body: '[\n  {\n    "id": ...' }
 * ```
 */
export function restAnswer(apps: ReadonlyMap<string, StatusStore>, path: string, query: string): RestAnswer {
  const r = handleRest(apps, path, new URLSearchParams(query));
  return { status: r.status, body: JSON.stringify(r.body, null, 2) };
}

/**
 * The server's view of stores in this thread (the history server's, which reads logs in its own process): answers
 * at once.
 *
 * @example
 * ```ts
 * const server = await UiServer.start(localStores(() => folder.apps()), { host: '127.0.0.1', port: 18080, mode: 'history' });
 * ```
 */
export function localStores(apps: () => ReadonlyMap<string, StatusStore>): UiStores {
  return {
    rest: (path, query) => restAnswer(apps(), path, query),
    version: (app) => {
      const all = apps();
      const store = all.get(app) ?? (all.size === 1 ? [...all.values()][0] : undefined);
      return store?.version ?? 0;
    },
  };
}

function route(apps: ReadonlyMap<string, StatusStore>, path: string, query: URLSearchParams): RestResponse {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'version' && parts.length === 1) return { status: 200, body: { spark: kindlingVersionOf(apps) } };
  if (parts[0] !== 'applications') return notFound(`unknown endpoint /api/v1/${path}`);
  if (parts.length === 1) return { status: 200, body: applications(apps, query) };
  let appId: string;
  try {
    appId = decodeURIComponent(parts[1]!);
  } catch {
    throw new BadParameter(`malformed application id in the path: ${parts[1]}`);
  }
  const store = apps.get(appId);
  if (store === undefined) return notFound(`no such app: ${appId}`);
  const [, , what, a, b, c] = parts;
  switch (what) {
    case undefined:
      return { status: 200, body: applicationJson(store) };
    case 'jobs': {
      if (a === undefined) {
        const wanted = statuses(query, 'status', JOB_STATUSES);
        const jobs = [...store.jobs.values()].reverse().filter((j) => wanted.length === 0 || wanted.includes(j.status));
        return { status: 200, body: jobs.map((j) => jobJson(store, j)) };
      }
      const job = store.jobs.get(idOf(a) ?? -1);
      return job === undefined ? notFound(`unknown job: ${a}`) : { status: 200, body: jobJson(store, job) };
    }
    case 'stages': {
      if (a === undefined) {
        const wanted = statuses(query, 'status', STAGE_STATUSES);
        const stages = [...store.stages.values()].reverse().filter((s) => wanted.length === 0 || wanted.includes(s.status));
        const opts = stageOptions(query, false);
        return { status: 200, body: stages.map((s) => stageJson(store, s, opts)) };
      }
      const id = idOf(a);
      const attempts = [...store.stages.values()].filter((s) => s.stageId === id);
      if (attempts.length === 0) return notFound(`unknown stage: ${a}`);
      // Spark: one stage's attempts come with their tasks unless ?details=false.
      if (b === undefined) {
        const opts = stageOptions(query, true);
        return { status: 200, body: attempts.map((s) => stageJson(store, s, opts)) };
      }
      const stage = attempts.find((s) => s.attemptId === idOf(b));
      if (stage === undefined) return notFound(`unknown attempt for stage ${a}: ${b}`);
      if (c === undefined) return { status: 200, body: stageJson(store, stage, stageOptions(query, true)) };
      if (c === 'taskList') return { status: 200, body: taskList(stage, query) };
      if (c === 'taskSummary') return { status: 200, body: taskSummary(store, stage, quantilesParam(query)) };
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
      const rdd = store.rdds.get(idOf(b) ?? -1);
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

function kindlingVersionOf(apps: ReadonlyMap<string, StatusStore>): string {
  for (const s of apps.values()) {
    const v = s.app?.versions.find(([k]) => k === 'kindling')?.[1];
    if (v !== undefined) return v;
  }
  return '';
}

/** `/applications` with Spark's filters: status, minDate / maxDate (start), minEndDate / maxEndDate, limit. */
function applications(apps: ReadonlyMap<string, StatusStore>, query: URLSearchParams): unknown[] {
  const wanted = statuses(query, 'status', APP_STATUSES);
  const minDate = dateParam(query, 'minDate');
  const maxDate = dateParam(query, 'maxDate');
  const minEndDate = dateParam(query, 'minEndDate');
  const maxEndDate = dateParam(query, 'maxEndDate');
  const limit = intParam(query, 'limit', Number.MAX_SAFE_INTEGER);
  const out: unknown[] = [];
  for (const store of apps.values()) {
    if (out.length >= limit) break;
    const start = store.app?.time ?? 0;
    const end = store.endTime;
    if (wanted.length > 0 && !wanted.includes(end === undefined ? 'RUNNING' : 'COMPLETED')) continue;
    if ((minDate !== undefined && start < minDate) || (maxDate !== undefined && start > maxDate)) continue;
    // Spark: an end-date bound leaves out the applications that have not ended.
    if (minEndDate !== undefined && (end === undefined || end < minEndDate)) continue;
    if (maxEndDate !== undefined && (end === undefined || end > maxEndDate)) continue;
    out.push(applicationJson(store));
  }
  return out;
}

interface StageOptions {
  readonly details: boolean;
  readonly taskStatus: readonly string[];
  readonly withSummaries: boolean;
  readonly quantiles: readonly number[];
}

function stageOptions(query: URLSearchParams, details: boolean): StageOptions {
  return {
    details: boolParam(query, 'details', details),
    taskStatus: statuses(query, 'taskStatus', TASK_STATUSES),
    withSummaries: boolParam(query, 'withSummaries', false),
    quantiles: quantilesParam(query),
  };
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
        // Who ran it, as its start recorded (a log written before that: unknown, not the history server's user).
        sparkUser: app?.sparkUser ?? '',
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
    // Spark 3.5's job tags (SparkContext.addJobTag): kindling has none, its jobs are grouped by jobGroup only.
    jobTags: [],
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

function stageJson(store: StatusStore, s: StageData, o: StageOptions): unknown {
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
    executorDeserializeCpuTime: 0,
    executorRunTime: Math.round(t.runMs),
    executorCpuTime: 0,
    resultSize: t.resultBytes,
    jvmGcTime: Math.round(t.gcMs),
    resultSerializationTime: 0,
    peakExecutionMemory: 0,
    inputBytes: t.inputBytes,
    inputRecords: t.inputRecords,
    outputBytes: t.outputBytes,
    outputRecords: t.outputRecords,
    shuffleRemoteBlocksFetched: 0,
    shuffleLocalBlocksFetched: 0,
    shuffleFetchWaitTime: Math.round(t.fetchWaitMs),
    // As a task's: the read is not split into local and remote, so all of it is remote and the two add up.
    shuffleRemoteBytesRead: t.shuffleReadBytes,
    shuffleRemoteBytesReadToDisk: 0,
    shuffleLocalBytesRead: 0,
    shuffleReadBytes: t.shuffleReadBytes,
    shuffleReadRecords: t.shuffleReadRecords,
    shuffleWriteBytes: t.shuffleWriteBytes,
    shuffleWriteTime: 0,
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
  if (o.details) {
    const tasks = [...s.tasks.values()].filter((t) => o.taskStatus.length === 0 || o.taskStatus.includes(t.status));
    body.tasks = Object.fromEntries(tasks.map((task) => [task.taskId, taskJson(task)]));
    body.executorSummary = executorSummary(s);
    body.kindlingTaskQuantiles = store.stageQuantiles(s) ?? null;
  }
  if (o.withSummaries) body.taskMetricsDistributions = taskSummary(store, s, o.quantiles);
  return body;
}

/** The numbers of Spark's ExecutorStageSummary. */
const EXECUTOR_STAGE_FIELDS = [
  'taskTime',
  'failedTasks',
  'succeededTasks',
  'killedTasks',
  'inputBytes',
  'inputRecords',
  'outputBytes',
  'outputRecords',
  'shuffleRead',
  'shuffleReadRecords',
  'shuffleWrite',
  'shuffleWriteRecords',
  'memoryBytesSpilled',
  'diskBytesSpilled',
] as const;

/**
 * Spark's ExecutorStageSummary of each executor that ran a task of the stage attempt, by executor id, read from the
 * retained tasks (ui.retainedTasks): the time of the tasks that ended and their counts by outcome, and the metrics
 * of the successful ones (as the stage's own totals, which they so add up to).
 */
function executorSummary(s: StageData): Record<string, unknown> {
  const by = new Map<string, Record<string, number>>();
  for (const t of s.tasks.values()) {
    if (t.status === 'RUNNING') continue;
    let e = by.get(t.executorId);
    if (e === undefined) by.set(t.executorId, (e = Object.fromEntries(EXECUTOR_STAGE_FIELDS.map((k) => [k, 0]))));
    e.taskTime! += t.duration ?? 0;
    if (t.status === 'FAILED') e.failedTasks!++;
    else if (t.status === 'KILLED') e.killedTasks!++;
    else e.succeededTasks!++;
    const m = t.metrics;
    if (t.status !== 'SUCCESS' || m === undefined) continue;
    e.inputBytes! += m.inputBytes;
    e.inputRecords! += m.inputRecords;
    e.outputBytes! += m.outputBytes;
    e.outputRecords! += m.outputRecords;
    e.shuffleRead! += m.shuffleReadBytes;
    e.shuffleReadRecords! += m.shuffleReadRecords;
    e.shuffleWrite! += m.shuffleWriteBytes;
    e.shuffleWriteRecords! += m.shuffleWriteRecords;
    e.memoryBytesSpilled! += m.memoryBytesSpilled;
    e.diskBytesSpilled! += m.diskBytesSpilled;
  }
  const out: Record<string, unknown> = {};
  for (const id of [...by.keys()].sort(byId)) {
    const e = by.get(id)!;
    // No executor is excluded from a stage here (Spark's spark.excludeOnFailure).
    out[id] = { ...e, taskTime: Math.round(e.taskTime!), isBlacklistedForStage: false, isExcludedForStage: false };
  }
  return out;
}

/**
 * Spark's schedulerDelay (AppStatusUtils): the part of a finished task's duration its executor did not spend on it,
 * here the driver's send and the outcome's way back (no result is fetched apart, and no serialization is timed),
 * in the whole ms the task's fields give; 0 for a task still running or without metrics.
 */
function schedulerDelay(t: TaskData): number {
  const m = t.metrics;
  if (m === undefined || t.duration === undefined) return 0;
  return Math.max(0, Math.round(t.duration) - Math.round(m.runMs) - Math.round(m.compileMs));
}

function taskJson(t: TaskData): unknown {
  const m = t.metrics;
  return {
    taskId: t.taskId,
    index: t.index,
    attempt: t.attempt,
    // A task's index is its partition here (a stage's attempt runs the partitions still missing, each by its number).
    partitionId: t.index,
    launchTime: sparkDate(t.launchTime),
    duration: t.duration,
    executorId: t.executorId,
    host: 'localhost',
    status: t.status,
    taskLocality: t.locality,
    speculative: t.speculative,
    accumulatorUpdates: [],
    ...(t.errorMessage !== undefined ? { errorMessage: t.errorMessage } : {}),
    executorLogs: {},
    schedulerDelay: schedulerDelay(t),
    // Spark's time fetching a large result from the block manager: results come back with the task's outcome here.
    gettingResultTime: 0,
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
              // Spark has no total: its tools (its own task table too) add remote and local. Reads are not split
              // here, so the whole read is counted as remote and the sum is the bytes read.
              remoteBytesRead: m.shuffleReadBytes,
              remoteBytesReadToDisk: 0,
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
  const offset = intParam(q, 'offset', 0);
  const length = intParam(q, 'length', 20);
  const sortBy = q.get('sortBy') ?? 'ID';
  const key = TASK_SORTS[sortBy];
  if (key === undefined) throw new BadParameter(`unknown sortBy '${sortBy}'; one of ${Object.keys(TASK_SORTS).join(', ')}`);
  const wanted = statuses(q, 'status', TASK_STATUSES);
  return [...s.tasks.values()]
    .filter((t) => wanted.length === 0 || wanted.includes(t.status))
    .sort((a, b) => key(a) - key(b))
    .slice(offset, offset + length)
    .map(taskJson);
}

/**
 * Spark's TaskMetricDistributions over the stage attempt's successful tasks. Spark's own quantiles come from the
 * stage's end (over all its tasks); other quantiles are read from the retained tasks (ui.retainedTasks).
 */
function taskSummary(store: StatusStore, s: StageData, quantiles: readonly number[]): unknown {
  const out: Record<string, unknown> = { quantiles };
  let q: Record<SummarizedMetric, readonly number[]> | undefined;
  if (quantiles.length === DEFAULT_QUANTILES.length && quantiles.every((x, i) => x === DEFAULT_QUANTILES[i])) q = store.stageQuantiles(s);
  else q = retainedQuantiles(s, quantiles);
  if (q === undefined) return out;
  for (const k of SUMMARIZED_METRICS) out[METRIC_NAMES[k]] = q[k];
  // Spark's TaskMetricDistributions nests the I/O metrics; both shapes are given (the flat one is kindling's).
  out.inputMetrics = { bytesRead: q.inputBytes, recordsRead: q.inputRecords };
  out.outputMetrics = { bytesWritten: q.outputBytes, recordsWritten: q.outputRecords };
  const zeros = quantiles.map(() => 0);
  for (const k of ['executorDeserializeCpuTime', 'executorCpuTime', 'resultSerializationTime', 'gettingResultTime', 'peakExecutionMemory'])
    out[k] = zeros;
  // Not a worker's metric: over the retained tasks, as each task gives it.
  const delays: number[] = [];
  for (const t of s.tasks.values()) if (t.status === 'SUCCESS' && t.metrics !== undefined) delays.push(schedulerDelay(t));
  out.schedulerDelay = delays.length === 0 ? zeros : nearestRanks(Float64Array.from(delays), quantiles);
  out.shuffleReadMetrics = {
    readBytes: q.shuffleReadBytes,
    readRecords: q.shuffleReadRecords,
    remoteBlocksFetched: zeros,
    localBlocksFetched: zeros,
    fetchWaitTime: q.fetchWaitMs,
    remoteBytesRead: q.shuffleReadBytes,
    remoteBytesReadToDisk: zeros,
    totalBlocksFetched: zeros,
  };
  out.shuffleWriteMetrics = { writeBytes: q.shuffleWriteBytes, writeRecords: q.shuffleWriteRecords, writeTime: zeros };
  return out;
}

/** Nearest-rank quantiles (as the stage end's) of `v`, which it sorts. */
function nearestRanks(v: Float64Array, quantiles: readonly number[]): number[] {
  v.sort();
  return quantiles.map((q) => nearestRank(v, q));
}

/** Nearest-rank quantiles (as the stage end's) of each metric over the retained successful tasks. */
function retainedQuantiles(s: StageData, quantiles: readonly number[]): Record<SummarizedMetric, number[]> | undefined {
  const done: TaskMetrics[] = [];
  for (const t of s.tasks.values()) if (t.status === 'SUCCESS' && t.metrics !== undefined) done.push(t.metrics);
  if (done.length === 0) return undefined;
  const out = {} as Record<SummarizedMetric, number[]>;
  const v = new Float64Array(done.length);
  for (const k of SUMMARIZED_METRICS) {
    for (let i = 0; i < done.length; i++) v[i] = done[i]![k];
    out[k] = nearestRanks(v, quantiles);
  }
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
    // The options hold appName already: once each.
    sparkProperties: [
      ['appId', store.app?.appId ?? ''],
      ['appName', store.app?.appName ?? ''],
      ...(store.app?.options ?? []).filter(([k]) => k !== 'appId' && k !== 'appName'),
    ],
    hadoopProperties: [],
    systemProperties: versions,
    metricsProperties: [],
    classpathEntries: [],
    resourceProfiles: [],
  };
}
