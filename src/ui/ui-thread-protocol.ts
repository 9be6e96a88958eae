/**
 * The messages between the driver and the live UI's thread (ui-thread.ts), on one port and so in one order: events
 * first as the bus delivered them, a request after the events before it. Types only.
 */
import type { TaskRowsWire } from '../scheduler/task-event-batch.js';
import type { AppEvent } from './app-events.js';

/** What the thread starts with. */
export interface UiThreadData {
  readonly appId: string;
  readonly retainedJobs: number;
  readonly retainedStages: number;
}

/** Driver to thread. */
export type ToUiThread =
  | { readonly k: 'event'; readonly e: AppEvent }
  /** Events held while the thread was not there yet, in order. */
  | { readonly k: 'events'; readonly es: readonly AppEvent[] }
  | { readonly k: 'tasks'; readonly rows: TaskRowsWire }
  /** A REST request: `path` under /api/v1/, `query` the URL's search string. */
  | { readonly k: 'rest'; readonly id: number; readonly path: string; readonly query: string }
  /** The store's version, for the live streams. */
  | { readonly k: 'version'; readonly id: number };

/** Thread to driver: an answer to the request of that id. */
export type FromUiThread =
  | { readonly k: 'rest'; readonly id: number; readonly status: number; readonly body: string }
  | { readonly k: 'version'; readonly id: number; readonly version: number };
