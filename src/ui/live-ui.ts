/**
 * The live UI, loaded lazily by index.ts on the first connection to the UI's port (or once it holds too many events to
 * keep buffering): the status store fed by the context's events, and the HTTP server for the connections that
 * index.ts's listener accepts. The event log is not here: it is loaded on its own (event-log.ts), so that a log
 * does not load the UI, nor the UI the log.
 */
import type { Socket } from 'node:net';
import type { AppEvent } from './app-events.js';
import type { LiveUi, UiContextView } from './index.js';
import type { ResolvedUiOptions } from './options.js';
import { UiServer } from './server.js';
import { StatusStore } from './status-store.js';

/**
 * The store and the server of a context's UI; `url` is where the listener listens (undefined: not yet known);
 * `beforeRead` delivers the task events the scheduler still holds, and runs before every answer and live push, so that
 * what a reader sees is exact however long the scheduler holds a batch.
 */
export function startLiveUi(view: UiContextView, ui: ResolvedUiOptions, appId: string, url: string | undefined, beforeRead?: () => void): LiveUi {
  const store = new StatusStore({ retainedJobs: ui.retainedJobs, retainedStages: ui.retainedStages });
  const apps = new Map([[appId, store]]);
  const server = UiServer.serving(
    () => {
      beforeRead?.();
      return apps;
    },
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
    apply: (e: AppEvent) => store.apply(e),
    applyTasks: (batch) => store.applyTasks(batch),
    accept: (socket: Socket) => server.accept(socket),
    stop: () => server.close(),
  };
}
