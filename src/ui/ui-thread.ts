/**
 * The live UI's own thread (Spark's asynchronous listener bus: its AppStatusListener runs off the scheduler's thread).
 * The status store lives here and is folded from the events the driver posts, in the bus's order, on one port; the
 * driver keeps the listening socket and the HTTP parsing (a socket cannot move to another thread) and forwards each
 * REST request on that same port, so the answer reflects every event posted before it (FIFO): a job's end is in the
 * API by the time its action settles. Started by live-ui.ts (uiThreadEntry), never imported by the driver.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TASK_ROW_CODES, TASK_ROW_WIDTH } from '../scheduler/events.js';
import { TaskEventBatch } from '../scheduler/task-event-batch.js';
import { restAnswer } from './rest.js';
import { StatusStore } from './status-store.js';
import type { RestAnswer } from './server.js';
import type { ToUiThread, UiThreadData } from './ui-thread-protocol.js';

const data = workerData as UiThreadData;
const store = new StatusStore({ retainedJobs: data.retainedJobs, retainedStages: data.retainedStages });
const apps = new Map([[data.appId, store]]);
const ring = data.ring;
const port = parentPort!;

port.on('message', (m: ToUiThread) => {
  switch (m.k) {
    case 'queued':
      for (const q of m.q) {
        if (q.k === 'event') store.apply(q.e);
        else if (q.k === 'tasks') store.applyTasks(TaskEventBatch.fromWire(q.rows));
        else {
          const { at, size } = q;
          const rows = {
            ...q,
            numbers: ring.numbers.subarray(at * TASK_ROW_WIDTH, (at + size) * TASK_ROW_WIDTH),
            codes: ring.codes.subarray(at * TASK_ROW_CODES, (at + size) * TASK_ROW_CODES),
            idOf: ring.idOf.subarray(at, at + size),
          };
          store.applyTasks(TaskEventBatch.fromWire(rows));
          // The store copied the rows: the driver may write over them.
          Atomics.store(ring.tail, 0, q.end);
        }
      }
      return;
    case 'events':
      for (const e of m.es) store.apply(e);
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
