/**
 * The history server (`kindling history DIR`): the same UI and REST API as a live context, for every
 * application with an event log in a folder. Logs are read again when they grow, so an application still
 * running (or one that crashed: no `applicationEnd`, shown as incomplete) is shown as far as it got.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { EVENT_LOG_SUFFIX, readEventLog } from './event-log.js';
import { UiError } from './errors.js';
import { UiServer } from './server.js';
import { StatusStore } from './status-store.js';

export interface HistoryServerOptions {
  readonly dir: string;
  /** Default 18080 (Spark's history server port); the next free port when taken. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
}

/** Status stores of the logs in `dir`, rebuilt only for files whose size or time changed. */
export class EventLogFolder {
  readonly #cache = new Map<string, { size: number; mtimeMs: number; store: StatusStore }>();

  constructor(readonly dir: string) {}

  apps(): Map<string, StatusStore> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(EVENT_LOG_SUFFIX));
    } catch (e) {
      throw new UiError(`Cannot read the event log folder ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
    const out: Array<[string, StatusStore]> = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      const st = statSync(file);
      let entry = this.#cache.get(file);
      if (entry === undefined || entry.size !== st.size || entry.mtimeMs !== st.mtimeMs) {
        const store = new StatusStore();
        for (const e of readEventLog(file)) store.apply(e);
        this.#cache.set(file, (entry = { size: st.size, mtimeMs: st.mtimeMs, store }));
      }
      out.push([entry.store.app?.appId ?? name.slice(0, -EVENT_LOG_SUFFIX.length), entry.store]);
    }
    // Newest first, as Spark's history page lists them.
    out.sort((a, b) => (b[1].app?.time ?? 0) - (a[1].app?.time ?? 0));
    return new Map(out);
  }
}

/**
 * Serves the UI for every event log in `dir` until closed.
 *
 * @example
 * ```ts
 * const server = await startHistoryServer({ dir: '/tmp/kindling-events' });
 * console.log(server.url); // http://127.0.0.1:18080
 * ```
 */
export async function startHistoryServer(o: HistoryServerOptions): Promise<UiServer> {
  const folder = new EventLogFolder(path.resolve(o.dir));
  folder.apps(); // fails now, naming the folder, rather than on the first request
  return UiServer.start(() => folder.apps(), { host: o.host ?? '127.0.0.1', port: o.port ?? 18080, mode: 'history' });
}
