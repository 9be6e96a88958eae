/**
 * The history server (`kindling history DIR`): the same UI and REST API as a live context, for every
 * application with an event log in a folder. Logs are read again when they grow, so an application still
 * running (or one that crashed: no `applicationEnd`, shown as incomplete) is shown as far as it got.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AppEvent } from './app-events.js';
import { EVENT_LOG_SUFFIX, eventLogEvents } from './event-log.js';
import { UiError } from './errors.js';
import { UiServer } from './server.js';
import { localStores } from './rest.js';
import { StatusStore } from './status-store.js';

export interface HistoryServerOptions {
  readonly dir: string;
  /** Default 18080 (Spark's history server port); the next free port when taken. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
}

/**
 * Status stores of the logs in `dir`, rebuilt only for files whose size or time changed. A file that cannot be
 * read or is no kindling event log (a folder named `*.jsonl`, a dangling link, another program's JSON lines) is
 * left out, and named once on stderr: one bad file must not take every other application's history with it.
 */
export class EventLogFolder {
  readonly #cache = new Map<string, { size: number; mtimeMs: number; store: StatusStore | undefined }>();
  /** Files left out because another file holds the same application (a copied log): named once each. */
  readonly #duplicates = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void = (m) => console.warn(m),
  ) {}

  apps(): Map<string, StatusStore> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(EVENT_LOG_SUFFIX));
    } catch (e) {
      throw new UiError(`Cannot read the event log folder ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
    const out: Array<[string, StatusStore]> = [];
    const ids = new Set<string>();
    for (const name of names) {
      const file = path.join(this.dir, name);
      let st: { size: number; mtimeMs: number };
      try {
        st = statSync(file);
      } catch (e) {
        // Gone since the listing, or a dangling link: named once, like an unreadable file.
        st = { size: -1, mtimeMs: -1 };
        if (this.#cache.get(file)?.size !== -1) this.warn(`kindling history: skipping ${file}: ${(e as Error).message}`);
        this.#cache.set(file, { ...st, store: undefined });
        continue;
      }
      let entry = this.#cache.get(file);
      if (entry === undefined || entry.size !== st.size || entry.mtimeMs !== st.mtimeMs) {
        this.#cache.set(file, (entry = { size: st.size, mtimeMs: st.mtimeMs, store: this.#load(file) }));
      }
      if (entry.store === undefined) continue;
      const id = entry.store.app?.appId ?? name.slice(0, -EVENT_LOG_SUFFIX.length);
      if (ids.has(id)) {
        // One id, one application: the file named first (in the folder's order) is served, the other is said.
        if (!this.#duplicates.has(file))
          this.warn(`kindling history: skipping ${file}: application ${id} is already read from another file in ${this.dir}`);
        this.#duplicates.add(file);
        continue;
      }
      ids.add(id);
      out.push([id, entry.store]);
    }
    for (const file of this.#cache.keys()) if (!names.includes(path.basename(file))) this.#cache.delete(file);
    // Newest first, as Spark's history page lists them.
    out.sort((a, b) => (b[1].app?.time ?? 0) - (a[1].app?.time ?? 0));
    return new Map(out);
  }

  #load(file: string): StatusStore | undefined {
    const store = new StatusStore();
    // A line that is JSON but no event the store can take (another tool's line, a hand edit) costs that line only.
    let bad = 0;
    let first = '';
    try {
      for (const e of eventLogEvents(file)) {
        try {
          checkEvent(e);
          store.apply(e);
        } catch (error) {
          if (bad++ === 0) first = (error as Error).message;
        }
      }
    } catch (e) {
      this.warn(`kindling history: skipping ${file}: ${(e as Error).message}`);
      return undefined;
    }
    store.endOfLog();
    if (store.app === undefined) {
      // An empty file is an application that died before its first line was written: nothing to show, nothing wrong.
      if (statSync(file).size > 0) this.warn(`kindling history: skipping ${file}: not a kindling event log (no applicationStart line)`);
      return undefined;
    }
    if (bad > 0) this.warn(`kindling history: ${file}: ${bad} line(s) that are no event the UI can read were left out (the first: ${first})`);
    return store;
  }
}

/**
 * The fields the status store reads without looking (ids, times, lists) of the events that make jobs, stages and
 * tasks: a line without them would be taken, and fail every later request for its application.
 */
const REQUIRED: Readonly<
  Record<string, { readonly numbers: readonly string[]; readonly arrays?: readonly string[]; readonly items?: readonly number[] }>
> = {
  jobStart: { numbers: ['jobId', 'time'], arrays: ['stageIds'] },
  jobEnd: { numbers: ['jobId', 'time'] },
  stageSubmitted: { numbers: ['jobId', 'stageId', 'attempt', 'numTasks', 'time'] },
  stageCompleted: { numbers: ['jobId', 'stageId', 'attempt', 'time'] },
  taskEnd: { numbers: ['stageId', 'stageAttempt', 'partition', 'attempt', 'workerIndex', 'time'] },
  applicationStart: { numbers: ['time'], arrays: ['options', 'versions'] },
  applicationEnd: { numbers: ['time'] },
  // Each task's numbers too (`items`: the positions that hold numbers in every row of its one array).
  tasksRunning: { numbers: ['time'], arrays: ['tasks'], items: [0, 1, 2, 3, 4, 7] },
};

function checkEvent(e: unknown): asserts e is AppEvent {
  if (e === null || typeof e !== 'object' || typeof (e as { type?: unknown }).type !== 'string')
    // internal: caught by the log reader, which leaves the line out and names the first such reason
    throw new Error(`not an event: ${JSON.stringify(e)}`);
  const r = e as Record<string, unknown>;
  const need = REQUIRED[r.type as string];
  if (need === undefined) return;
  const missing = [...need.numbers.filter((k) => typeof r[k] !== 'number'), ...(need.arrays ?? []).filter((k) => !Array.isArray(r[k]))];
  // internal: caught by the log reader, as above
  if (missing.length > 0) throw new Error(`a ${String(r.type)} event without ${missing.join(', ')}`);
  const items = need.items;
  if (items === undefined) return;
  for (const item of r[need.arrays![0]!] as unknown[]) {
    const bad = !Array.isArray(item) || items.some((k) => typeof item[k] !== 'number');
    // internal: caught by the log reader, as above
    if (bad) throw new Error(`a ${String(r.type)} event with a row without numbers at ${items.join(', ')}: ${JSON.stringify(item)}`);
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
  return UiServer.start(
    localStores(() => folder.apps()),
    { host: o.host ?? '127.0.0.1', port: o.port ?? 18080, mode: 'history' },
  );
}
