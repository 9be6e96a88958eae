/**
 * The messages between the driver and the live UI's thread (ui-thread.ts), on one port and so in one order: events
 * first as the bus delivered them, a request after the events before it. Types only.
 */
import type { TaskRowColumns, TaskRowsExtras, TaskRowsWire } from '../scheduler/task-event-batch.js';
import type { AppEvent, RunningTask } from './app-events.js';
import type { EventLogHandover } from './event-log.js';

/**
 * Task rows the driver writes and the thread reads, in shared memory: `RING_ROWS` rows, written from `head` on (the
 * driver's count, kept there) and read up to `tail` (the thread's count, stored here once a batch's rows are folded;
 * counts wrap as int32, positions are count & (RING_ROWS - 1)). The driver writes only rows the thread has read.
 */
export interface TaskRowRing extends TaskRowColumns {
  readonly tail: Int32Array;
}

/** Rows in the ring: a power of two. 8,192 rows are ~1.7 MB, four times what the driver queues before it posts. */
export const RING_ROWS = 8192;

/** What the thread starts with. */
export interface UiThreadData {
  readonly appId: string;
  readonly retainedJobs: number;
  readonly retainedStages: number;
  readonly ring: TaskRowRing;
  /**
   * The event log's hand-over counter: the thread adds 1 (and notifies) once a `logSync` is written through, which the
   * driver waits for synchronously (`Atomics.wait`, at an exit or a signal); at index 1, the log's next task id as of
   * the last message (a driver that takes the log back, the thread dead, numbers tasks on from it). An Int32Array of two.
   */
  readonly logSynced: Int32Array;
}

/** An event, or a batch of task events as rows: what the driver queues for the thread, in the bus's order. */
export type UiThreadEvent =
  | { readonly k: 'event'; readonly e: AppEvent }
  /** A batch's rows in the ring from row `at`, and the driver's count once they were written. */
  | ({ readonly k: 'ring'; readonly at: number; readonly size: number; readonly end: number } & TaskRowsExtras)
  /** A batch's rows as copies (the ring was full: the thread lags a ring behind). */
  | { readonly k: 'tasks'; readonly rows: TaskRowsWire };

/** Driver to thread. */
export type ToUiThread =
  /**
   * Events queued since the last post, in order (posted together: each post may wake the thread); with the event log
   * here, the tasks computing when they were posted (for its `tasksRunning` lines: the thread cannot ask the scheduler).
   */
  | { readonly k: 'queued'; readonly q: readonly UiThreadEvent[]; readonly running?: readonly RunningTask[] }
  /** The event log goes on here from this point of the events on: the driver's writer's state. */
  | { readonly k: 'log'; readonly from: EventLogHandover }
  /** Write the log's lines now (`end` first, when given), then count it in `logSynced`: the process is about to end. */
  | { readonly k: 'logSync'; readonly running: readonly RunningTask[]; readonly end?: AppEvent }
  /** Write the rest of the log and close it, then answer (`logClosed`): stop(). */
  | { readonly k: 'logClose'; readonly id: number }
  /** Events held while the thread was not there yet, in order. */
  | { readonly k: 'events'; readonly es: readonly AppEvent[] }
  /** A REST request: `path` under /api/v1/, `query` the URL's search string. */
  | { readonly k: 'rest'; readonly id: number; readonly path: string; readonly query: string }
  /** The store's version, for the live streams. */
  | { readonly k: 'version'; readonly id: number };

/** Thread to driver: an answer to the request of that id. */
export type FromUiThread =
  | { readonly k: 'rest'; readonly id: number; readonly status: number; readonly body: string }
  | { readonly k: 'version'; readonly id: number; readonly version: number }
  | { readonly k: 'logClosed'; readonly id: number };
