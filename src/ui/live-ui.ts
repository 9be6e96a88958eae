/**
 * The live UI, loaded lazily by index.ts on the first connection to the UI's port (or once it holds too many events to
 * keep buffering): the HTTP server for the connections that index.ts's listener accepts, and the UI's thread
 * (ui-thread.ts), where the status store is folded from the context's events and REST answers are made. The event
 * log is not here: it is loaded on its own (event-log.ts), so that a log does not load the UI, nor the UI the log.
 *
 * Why a thread: folding every task's start and end into the store was most of what the UI cost the driver's thread,
 * the serial part of a job of short tasks. Here the driver only posts each held batch of task rows (one native copy
 * of its columns, transferred) and the other events as plain data, in the bus's order, as Spark's AsyncEventQueue
 * hands events to its AppStatusListener's thread.
 */
import { existsSync } from 'node:fs';
import { IllegalStateError } from '../core/errors.js';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TaskEvents } from '../scheduler/events.js';
import type { TaskEventBatch, TaskRowsWire } from '../scheduler/task-event-batch.js';
import { bundleIsCurrent } from '../util/bundle.js';
import type { AppEvent, RunningTask } from './app-events.js';
import type { EventLogHandover } from './event-log.js';
import type { LiveUi, UiContextView } from './index.js';
import type { ResolvedUiOptions } from './options.js';
import { type RestAnswer, UiServer, type UiStores } from './server.js';
import { type FromUiThread, RING_ROWS, type TaskRowRing, type ToUiThread, type UiThreadData, type UiThreadEvent } from './ui-thread-protocol.js';
import { TASK_ROW_CODES, TASK_ROW_WIDTH } from '../scheduler/events.js';

/**
 * The file the UI's thread starts from: the bundle `npm run build` makes of ui-thread.js and what it imports (one
 * file to compile, CommonJS: no ESM loader to set up) while it is current, else the module; run from src/ (tests
 * import the sources), the build's copy in dist/. Not through V8's code cache, as the pool's workers start: it saved
 * nothing measurable here (V8 compiles the store's functions lazily, and most of the ~55 ms of CPU of the thread's
 * start is Node's own start of a worker, docs/benchmarks.md, session 31, uithread2).
 */
export function uiThreadEntry(): URL {
  for (const dir of ['./', '../../dist/ui/']) {
    const module = new URL(`${dir}ui-thread.js`, import.meta.url);
    if (!existsSync(fileURLToPath(module))) continue;
    const bundle = new URL(`${dir}ui-thread-bundle.cjs`, import.meta.url);
    return bundleIsCurrent(fileURLToPath(bundle), fileURLToPath(module)) ? bundle : module;
  }
  throw new IllegalStateError(
    `the UI's thread has no entry file: ${fileURLToPath(new URL('./ui-thread.js', import.meta.url))} is missing (run npm run build)`,
  );
}

/**
 * Task events queued for the thread before they are posted without a reader asking: a job of 4,000 empty tasks (8,000
 * events) in ~4 posts rather than one per batch the scheduler delivers (~35); the queue's rows are the batches'
 * copies, ~0.2 KB a task.
 */
const QUEUED_ROWS = 2048;
/** Messages queued at most (events of few tasks each, a batch of records made by hand). */
const QUEUED_MESSAGES = 256;

/**
 * With the event log on the thread, queued events are posted at least this often (and at a job's end): the thread's
 * writer then writes them within its own FLUSH_MS, so that a process killed outright loses about as much of its log as
 * when the driver wrote it (FLUSH_MS, and what the scheduler held).
 */
const LOG_POST_MS = 50;
/** How long an exit or a signal waits for the thread to write the log through (it is written in a few ms). */
const LOG_SYNC_MS = 5000;

/** The answer while the UI's thread is gone: the program runs on, its UI no longer answers. */
const GONE: RestAnswer = { status: 503, body: JSON.stringify({ error: "the UI's thread stopped: this UI no longer answers (the program goes on)" }) };

/**
 * The server and the UI's thread of a context's UI; `url` is where the listener listens (undefined: not yet known);
 * `beforeRead` delivers the task events the scheduler still holds, and runs before every answer and live push, so that
 * what a reader sees is exact however long the scheduler holds a batch.
 */
export function startLiveUi(view: UiContextView, ui: ResolvedUiOptions, appId: string, url: string | undefined, beforeRead?: () => void): LiveUi {
  const shared = <T>(make: new (b: SharedArrayBuffer) => T, bytes: number): T => new make(new SharedArrayBuffer(bytes));
  const ring: TaskRowRing = {
    numbers: shared(Float64Array, RING_ROWS * TASK_ROW_WIDTH * 8),
    codes: shared(Uint8Array, RING_ROWS * TASK_ROW_CODES),
    idOf: shared(Uint32Array, RING_ROWS * 4),
    tail: shared(Int32Array, 4),
  };
  /** Rows written into the ring, skipped ends included (an int32 count, wrapping as the thread's tail does). */
  let head = 0;
  const logSynced = shared(Int32Array, 8);
  const data: UiThreadData = { appId, retainedJobs: ui.retainedJobs, retainedStages: ui.retainedStages, ring, logSynced };
  // trackUnmanagedFds off: the thread closes the event log's descriptor, which the driver opened (Node would warn).
  const thread = new Worker(uiThreadEntry(), { workerData: data, stdout: false, stderr: false, trackUnmanagedFds: false });
  const waiting = new Map<number, (m: FromUiThread | undefined) => void>();
  let nextId = 0;
  let gone = false;
  let stopping = false;
  const died = (why: string): void => {
    if (gone) return;
    gone = true;
    if (!stopping) console.warn(`kindling: the UI's thread stopped (${why}); the UI no longer answers, the program goes on`);
    if (runningTasks !== undefined && !stopping) {
      // The log was the thread's: the driver writes it on (what the thread had not written yet is lost).
      runningTasks = undefined;
      process.off('exit', onExit);
      logLost?.(Atomics.load(logSynced, 1));
    }
    for (const answer of waiting.values()) answer(undefined);
    waiting.clear();
  };
  /** The tasks computing now, once the event log is on the thread (see takeLog). */
  let runningTasks: (() => readonly RunningTask[]) | undefined;
  let logTimer: NodeJS.Timeout | undefined;
  /** Called when the thread dies with the log, with the next task id it had published. */
  let logLost: ((nextTaskId: number) => void) | undefined;
  thread.on('message', (m: FromUiThread) => {
    const answer = waiting.get(m.id);
    waiting.delete(m.id);
    answer?.(m);
  });
  thread.on('error', (e) => died((e as Error).message ?? String(e)));
  thread.on('exit', (code) => died(`exit code ${code}`));
  // Never the reason a program keeps running, as the sockets are not; after the listeners, since adding a 'message'
  // listener refs the thread's port again.
  thread.unref();
  // Events wait here until a reader asks or enough are queued: a post wakes the thread, ~10-20 µs of kernel work on
  // both sides, and no one sees the store between two reads (every read is a request posted after them).
  let queue: UiThreadEvent[] = [];
  let transfer: ArrayBuffer[] = [];
  let queuedRows = 0;
  const flush = (): void => {
    if (logTimer !== undefined) {
      clearTimeout(logTimer);
      logTimer = undefined;
    }
    if (queue.length === 0) return;
    if (!gone)
      thread.postMessage({ k: 'queued', q: queue, ...(runningTasks !== undefined && { running: runningTasks() }) } satisfies ToUiThread, transfer);
    queue = [];
    transfer = [];
    queuedRows = 0;
  };
  const enqueue = (m: UiThreadEvent, rows: number): void => {
    if (gone) return;
    queue.push(m);
    queuedRows += rows;
    if (queuedRows >= QUEUED_ROWS || queue.length >= QUEUED_MESSAGES) flush();
    else if (runningTasks !== undefined && logTimer === undefined) {
      // The log's lines must not wait for a reader: posted within LOG_POST_MS. Unref'd: 'exit' writes the rest.
      logTimer = setTimeout(flush, LOG_POST_MS);
      logTimer.unref();
    }
  };
  /** The log on the thread written through now (after what is queued), `end` first: waits for it, at most LOG_SYNC_MS. */
  const syncLog = (end?: AppEvent): void => {
    if (runningTasks === undefined || gone) return;
    flush();
    const before = Atomics.load(logSynced, 0);
    thread.postMessage({ k: 'logSync', running: runningTasks(), ...(end !== undefined && { end }) } satisfies ToUiThread);
    // The thread runs on while this one waits, in an 'exit' handler too (docs/benchmarks.md, session 36, logthread).
    Atomics.wait(logSynced, 0, before, LOG_SYNC_MS);
  };
  const onExit = (): void => syncLog();
  /** Asks the thread, after every event queued so far (one port: first in, first out). */
  const ask = (m: { k: 'rest'; path: string; query: string } | { k: 'version' }): Promise<FromUiThread | undefined> => {
    beforeRead?.();
    flush();
    if (gone) return Promise.resolve(undefined);
    const id = nextId++;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      thread.postMessage({ ...m, id });
    });
  };
  const stores: UiStores = {
    rest: async (path, query) => {
      const m = await ask({ k: 'rest', path, query });
      return m?.k === 'rest' ? m : GONE;
    },
    version: async () => {
      const m = await ask({ k: 'version' });
      // internal: the server's push catches it (a store that cannot answer ends no stream)
      if (m?.k !== 'version') throw new Error("the UI's thread stopped");
      return m.version;
    },
  };
  const server = UiServer.serving(
    stores,
    {
      host: ui.host,
      port: ui.port,
      mode: 'live',
      killEnabled: ui.killEnabled,
      onKillJob: (jobId) => view.cancelJob?.(jobId, `killed from the UI`) ?? false,
    },
    url ?? '',
  );
  /** Rows as copies of their own (held while the UI loaded, or past a full ring): moved, not cloned again. */
  const sendWire = (wire: TaskRowsWire): void => {
    transfer.push(wire.numbers.buffer as ArrayBuffer, wire.codes.buffer as ArrayBuffer, wire.idOf.buffer as ArrayBuffer);
    enqueue({ k: 'tasks', rows: wire }, wire.size);
  };
  return {
    thread,
    apply: (e: AppEvent) => {
      enqueue({ k: 'event', e }, 1);
      // A job's end is in the log as soon as the driver's writer would have written it (it flushed at a job's end).
      if (runningTasks !== undefined && (e.type === 'jobEnd' || e.type === 'applicationEnd')) flush();
    },
    applyAll: (es: readonly AppEvent[]) => {
      // After what is queued: one port, first in, first out.
      flush();
      if (!gone) thread.postMessage({ k: 'events', es } satisfies ToUiThread);
    },
    applyRows: sendWire,
    applyTasks: (batch: TaskEvents) => {
      if (gone || batch.size === 0) return;
      // A TaskEventBatch's rows (not by instanceof: a program may hold the scheduler's class from another bundle).
      const rows = batch.rows as Partial<Pick<TaskEventBatch, 'toWire' | 'copyRows'>> | undefined;
      if (rows?.toWire === undefined || rows.copyRows === undefined) {
        // A batch of records made by hand (tests, replays): copied, since the scheduler refills them.
        for (let i = 0; i < batch.size; i++) enqueue({ k: 'event', e: { ...batch.event(i) } }, 1);
        return;
      }
      const n = batch.size;
      let at = head & (RING_ROWS - 1);
      // A batch's rows are contiguous in the ring: one that would not fit before its end starts over at row 0.
      const skip = at + n > RING_ROWS ? RING_ROWS - at : 0;
      if (n + skip <= RING_ROWS - ((head - Atomics.load(ring.tail, 0)) | 0)) {
        // The rows' columns copied into shared memory (no allocation, nothing for the post to copy again).
        if (skip > 0) {
          head = (head + skip) | 0;
          at = 0;
        }
        const extras = rows.copyRows(ring, at);
        head = (head + n) | 0;
        enqueue({ k: 'ring', at, size: n, end: head, ...extras }, n);
        return;
      }
      // The thread is a ring behind: the rows go as copies.
      sendWire(rows.toWire());
    },
    takeLog: (handOver: () => EventLogHandover | undefined, running: () => readonly RunningTask[], lost: (nextTaskId: number) => void) => {
      if (gone || stopping) return false;
      const from = handOver();
      if (from === undefined) return false;
      logLost = lost;
      Atomics.store(logSynced, 1, from.nextTaskId);
      // After every event queued so far, which the driver's writer wrote: the thread's goes on from the next.
      flush();
      thread.postMessage({ k: 'log', from } satisfies ToUiThread);
      runningTasks = running;
      // Registered after index.ts's, which delivers what the scheduler holds first.
      process.on('exit', onExit);
      return true;
    },
    syncLog,
    accept: (socket: Socket) => server.accept(socket),
    stop: async () => {
      stopping = true;
      if (runningTasks !== undefined) {
        process.off('exit', onExit);
        flush();
        // The log is complete before stop() returns: the thread writes the rest and closes it, then answers.
        if (!gone) {
          const id = nextId++;
          // Held while it writes: nothing else may keep the process alive meanwhile (the thread is unref'd).
          thread.ref();
          await new Promise<unknown>((resolve) => {
            waiting.set(id, resolve);
            thread.postMessage({ k: 'logClose', id } satisfies ToUiThread);
          });
        }
        runningTasks = undefined;
      }
      await server.close();
      await thread.terminate();
    },
  };
}
