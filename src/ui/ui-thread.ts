/**
 * The live UI's own thread (Spark's asynchronous listener bus: its AppStatusListener runs off the scheduler's thread).
 * The status store lives here and is folded from the events the driver posts, in the bus's order, on one port; the
 * driver keeps the listening socket and the HTTP parsing (a socket cannot move to another thread) and forwards each
 * REST request on that same port, so the answer reflects every event posted before it (FIFO): a job's end is in the
 * API by the time its action settles. Started by live-ui.ts (uiThreadEntry), never imported by the driver.
 *
 * The event log moves here too once this thread runs (`log`: the driver's writer hands over its file and state at that
 * point of the events), written from the same events the store folds: the driver then encodes no line and copies each
 * task end once, into the ring.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TASK_ROW_CODES, TASK_ROW_WIDTH } from '../scheduler/events.js';
import { TaskEventBatch } from '../scheduler/task-event-batch.js';
import type { AppEvent, RunningTask } from './app-events.js';
import { EventLogWriter } from './event-log.js';
import { restAnswer } from './rest.js';
import { StatusStore } from './status-store.js';
import type { RestAnswer } from './server.js';
import type { ToUiThread, UiThreadData } from './ui-thread-protocol.js';

const data = workerData as UiThreadData;
const store = new StatusStore({ retainedJobs: data.retainedJobs, retainedStages: data.retainedStages });
const apps = new Map([[data.appId, store]]);
const ring = data.ring;
const port = parentPort!;
/** The event log, once the driver handed it over. */
let log: EventLogWriter | undefined;
/** The tasks computing when the driver last posted (the writer's `tasksRunning` lines list them). */
let running: readonly RunningTask[] = [];
/** Every task batch the driver sends, adopted in turn: the store and the log read a batch and keep none of it. */
const batch = new TaskEventBatch();

/** An event for the store and, from the hand-over on, the log. */
function apply(e: AppEvent): void {
  log?.write(e);
  store.apply(e);
}

port.on('message', (m: ToUiThread) => {
  switch (m.k) {
    case 'queued':
      if (m.running !== undefined) running = m.running;
      for (const q of m.q) {
        if (q.k === 'event') apply(q.e);
        else if (q.k === 'tasks') {
          batch.adopt(q.rows);
          log?.writeTasks(batch);
          store.applyTasks(batch);
        } else {
          const { at, size } = q;
          const rows = {
            ...q,
            numbers: ring.numbers.subarray(at * TASK_ROW_WIDTH, (at + size) * TASK_ROW_WIDTH),
            codes: ring.codes.subarray(at * TASK_ROW_CODES, (at + size) * TASK_ROW_CODES),
            idOf: ring.idOf.subarray(at, at + size),
          };
          batch.adopt(rows);
          log?.writeTasks(batch);
          store.applyTasks(batch);
          // The store and the log copied the rows: the driver may write over them.
          Atomics.store(ring.tail, 0, q.end);
        }
      }
      if (log !== undefined) Atomics.store(data.logSynced, 1, log.nextTaskId);
      return;
    case 'events':
      for (const e of m.es) store.apply(e);
      return;
    case 'log':
      log = new EventLogWriter('', data.appId, () => running, m.from);
      return;
    case 'logSync':
      running = m.running;
      if (m.end !== undefined) log?.write(m.end);
      log?.flushSync();
      Atomics.add(data.logSynced, 0, 1);
      Atomics.notify(data.logSynced, 0);
      return;
    case 'logClose':
      void (log?.close() ?? Promise.resolve()).then(() => port.postMessage({ k: 'logClosed', id: m.id }));
      log = undefined;
      return;
    case 'rest': {
      let answer: RestAnswer;
      try {
        answer = restAnswer(apps, m.path, m.query);
      } catch (e) {
        // A store that cannot answer this request still answers the next: the message names what failed.
        answer = { status: 500, body: JSON.stringify({ error: `the UI's thread failed on /api/v1/${m.path}: ${(e as Error).message}` }) };
      }
      port.postMessage({ k: 'rest', id: m.id, ...answer });
      return;
    }
    case 'version':
      port.postMessage({ k: 'version', id: m.id, version: store.version });
      return;
  }
});
