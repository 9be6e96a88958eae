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
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TaskEvents } from '../scheduler/events.js';
import { TaskEventBatch } from '../scheduler/task-event-batch.js';
import { bundleIsCurrent } from '../util/bundle.js';
import type { AppEvent } from './app-events.js';
import type { LiveUi, UiContextView } from './index.js';
import type { ResolvedUiOptions } from './options.js';
import { type RestAnswer, UiServer, type UiStores } from './server.js';
import type { FromUiThread, ToUiThread, UiThreadData } from './ui-thread-protocol.js';

/**
 * The file the UI's thread starts from: the bundle `npm run build` makes of ui-thread.js and what it imports (one
 * file to compile, CommonJS: no ESM loader to set up) while it is current, else the module; run from src/ (tests
 * import the sources), the build's copy in dist/.
 */
export function uiThreadEntry(): URL {
  for (const dir of ['./', '../../dist/ui/']) {
    const module = new URL(`${dir}ui-thread.js`, import.meta.url);
    if (!existsSync(fileURLToPath(module))) continue;
    const bundle = new URL(`${dir}ui-thread-bundle.cjs`, import.meta.url);
    return bundleIsCurrent(fileURLToPath(bundle), fileURLToPath(module)) ? bundle : module;
  }
  throw new Error(`the UI's thread has no entry file: ${fileURLToPath(new URL('./ui-thread.js', import.meta.url))} is missing (run npm run build)`);
}

/** The answer while the UI's thread is gone: the program runs on, its UI no longer answers. */
const GONE: RestAnswer = { status: 503, body: JSON.stringify({ error: "the UI's thread stopped: this UI no longer answers (the program goes on)" }) };

/**
 * The server and the UI's thread of a context's UI; `url` is where the listener listens (undefined: not yet known);
 * `beforeRead` delivers the task events the scheduler still holds, and runs before every answer and live push, so that
 * what a reader sees is exact however long the scheduler holds a batch.
 */
export function startLiveUi(view: UiContextView, ui: ResolvedUiOptions, appId: string, url: string | undefined, beforeRead?: () => void): LiveUi {
  const data: UiThreadData = { appId, retainedJobs: ui.retainedJobs, retainedStages: ui.retainedStages };
  const thread = new Worker(uiThreadEntry(), { workerData: data, stdout: false, stderr: false });
  const waiting = new Map<number, (m: FromUiThread | undefined) => void>();
  let nextId = 0;
  let gone = false;
  let stopping = false;
  const died = (why: string): void => {
    if (gone) return;
    gone = true;
    if (!stopping) console.warn(`kindling: the UI's thread stopped (${why}); the UI no longer answers, the program goes on`);
    for (const answer of waiting.values()) answer(undefined);
    waiting.clear();
  };
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
  const post = (m: ToUiThread, transfer?: ArrayBuffer[]): void => {
    if (!gone) thread.postMessage(m, transfer);
  };
  /** Asks the thread, after every event posted so far (one port: first in, first out). */
  const ask = (m: { k: 'rest'; path: string; query: string } | { k: 'version' }): Promise<FromUiThread | undefined> => {
    beforeRead?.();
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
  return {
    thread,
    apply: (e: AppEvent) => post({ k: 'event', e }),
    applyAll: (es: readonly AppEvent[]) => post({ k: 'events', es }),
    applyTasks: (batch: TaskEvents) => {
      if (gone || batch.size === 0) return;
      const rows = batch.rows;
      if (!(rows instanceof TaskEventBatch)) {
        // A batch of records made by hand (tests, replays): copied, since the scheduler refills them.
        const es: AppEvent[] = [];
        for (let i = 0; i < batch.size; i++) es.push({ ...batch.event(i) });
        post({ k: 'events', es });
        return;
      }
      // The rows' columns, copied once natively and moved, not cloned again.
      const wire = rows.toWire();
      post({ k: 'tasks', rows: wire }, [wire.numbers.buffer, wire.codes.buffer]);
    },
    accept: (socket: Socket) => server.accept(socket),
    stop: async () => {
      stopping = true;
      await server.close();
      await thread.terminate();
    },
  };
}
