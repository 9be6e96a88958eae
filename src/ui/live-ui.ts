/**
 * The live UI, loaded lazily by index.ts: a status store fed by the context's events, the event log, and the
 * server. Started once per context.
 */
import { readFileSync } from 'node:fs';
import type { AppEvent } from './app-events.js';
import { EventLogWriter } from './event-log.js';
import type { LiveUi, UiContextView } from './index.js';
import { UiServer } from './server.js';
import { StatusStore } from './status-store.js';

let packageVersion: string | undefined;
function kindlingVersion(): string {
  if (packageVersion === undefined) {
    try {
      packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      packageVersion = 'unknown';
    }
  }
  return packageVersion;
}

export async function startLiveUi(view: UiContextView, appId: string): Promise<LiveUi> {
  const ui = view.ui;
  // Without a UI the store would have no reader: an event log alone costs only the log.
  const store = ui === false ? undefined : new StatusStore({ retainedJobs: ui.retainedJobs, retainedStages: ui.retainedStages });
  let log: EventLogWriter | undefined;
  if (view.eventLog !== false) {
    try {
      log = new EventLogWriter(view.eventLog.dir, appId);
    } catch (e) {
      // The log's folder cannot be written: the UI still serves (it lost everything with the log before).
      console.warn(`kindling: no event log: ${(e as Error).message}`);
    }
  }
  let server: UiServer | undefined;
  if (ui !== false && store !== undefined) {
    const apps = new Map([[appId, store]]);
    try {
      server = await UiServer.start(() => apps, {
        host: ui.host,
        port: ui.port,
        mode: 'live',
        killEnabled: ui.killEnabled,
        onKillJob: (jobId) => view.cancelJob?.(jobId, `killed from the UI`) ?? false,
      });
    } catch (e) {
      // No UI is no reason to fail the program (the log, if any, still runs).
      console.warn(`kindling: ${(e as Error).message}`);
    }
    if (server !== undefined && process.stderr.isTTY === true) process.stderr.write(`kindling: web UI at ${server.url}\n`);
  }
  const version = kindlingVersion();
  return {
    apply(e: AppEvent): void {
      if (e.type === 'applicationStart') e = { ...e, versions: [['kindling', version], ...e.versions] };
      store?.apply(e);
      log?.write(e);
    },
    applyTasks(batch): void {
      store?.applyTasks(batch);
      log?.writeTasks(batch);
    },
    url: server?.url,
    flush: () => log?.flushSync(),
    async stop(): Promise<void> {
      await log?.close();
      await server?.close();
    },
  };
}
