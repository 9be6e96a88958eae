/**
 * What the UI subsystem records besides the scheduler's events: the application's start (its settings, for the
 * Environment page) and end. Together with the scheduler events they are exactly what an event log holds, so a
 * history server rebuilds the same status store from a log as the live UI built from the bus.
 */
import type { SchedulerEvent, TaskStartEvent } from '../scheduler/events.js';

/** An event log's file name is `{appId}.jsonl`. */
export const EVENT_LOG_SUFFIX = '.jsonl';

export interface ApplicationStartEvent {
  readonly type: 'applicationStart';
  readonly appId: string;
  readonly appName: string;
  /** Who ran the application (Spark's sparkUser): absent in logs written before it was recorded. */
  readonly sparkUser?: string;
  readonly time: number;
  readonly numWorkers: number;
  /** Storage budget of each worker in bytes (the Executors page's memory budget). */
  readonly storageBytesPerWorker: number;
  /** The context's resolved options, flattened to `name = value` pairs. */
  readonly options: ReadonlyArray<readonly [string, string]>;
  readonly versions: ReadonlyArray<readonly [string, string]>;
}

export interface ApplicationEndEvent {
  readonly type: 'applicationEnd';
  readonly time: number;
}

/** A task computing at the time of a {@link TasksRunningEvent}: its start, as its `taskStart` said it. */
export type RunningTask = Omit<TaskStartEvent, 'type'>;

/**
 * A task of a {@link TasksRunningEvent}: `[stageId, stageAttempt, partition, attempt, workerIndex, executorId,
 * speculative, age, taskId]`, its launch time being the event's `time` less `age` (ms), its id the one the live UI
 * gave it (absent in older logs). A row, not an object: ~40 bytes a task.
 */
export type RunningTaskRow = readonly [number, number, number, number, number, string, boolean, number, number?];

/**
 * Tasks that were computing when the event log last wrote what it held, and that no earlier such line listed: the
 * log does not write task starts (a line per task on the scheduler's path), so without these a history of an
 * application killed mid-task would not show the tasks it was computing, as Spark's does (RUNNING). A task listed
 * that has a later `taskEnd` ended since. Only the event log writes it.
 */
export interface TasksRunningEvent {
  readonly type: 'tasksRunning';
  readonly time: number;
  readonly tasks: readonly RunningTaskRow[];
}

export type AppEvent = SchedulerEvent | ApplicationStartEvent | ApplicationEndEvent | TasksRunningEvent;

/** Flattens nested option objects to dotted names, as Spark lists its properties. */
export function flattenOptions(options: object, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(options)) {
    const name = prefix === '' ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flattenOptions(v as object, name));
    else out.push([name, String(v)]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
