/**
 * The UI subsystem's one entry point for the context: `startUi` subscribes to the event bus at once (so no
 * event is missed) and loads everything else (status store, server, event log) lazily, off the caller's path,
 * buffering events until it is there. A script that never looks at the UI pays for one subscription and a
 * dynamic import.
 */
import type { EventBus } from '../scheduler/event-bus.js';
import type { SchedulerEvent, TaskEvents } from '../scheduler/events.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleIsCurrent } from '../util/bundle.js';
import { EVENT_LOG_SUFFIX, flattenOptions, type AppEvent, type ApplicationStartEvent } from './app-events.js';
import type { ResolvedUiOptions } from './options.js';
import { hop } from '../util/hop-trace.js';

/** What the UI may see of its context: read-only settings, and a way to kill a job when ui.killEnabled. */
export interface UiContextView {
  readonly appName: string;
  readonly numWorkers: number;
  readonly storageBytesPerWorker: number;
  /** Every resolved option, for the Environment page. */
  readonly options: object;
  readonly ui: ResolvedUiOptions | false;
  readonly eventLog: { readonly dir: string } | false;
  /** False when no such job runs. */
  cancelJob?(jobId: number, reason: string): boolean;
}

/**
 * A running UI subsystem.
 *
 * @example
 * ```ts
 * const ui = startUi(sc.events, view);
 * console.log(await ui?.url()); // http://127.0.0.1:4040
 * await ui?.stop();
 * ```
 */
export interface UiSubsystem {
  readonly appId: string;
  /** The UI's address once it listens (undefined when the UI is off or could not start). */
  url(): Promise<string | undefined>;
  /** Records the application's end, closes the log and the server. Idempotent. */
  stop(): Promise<void>;
  /** The process is about to die by a signal: records the application's end and writes the log now. */
  interrupted(): void;
}

/** What live-ui.ts provides once loaded. */
export interface LiveUi {
  apply(e: AppEvent): void;
  /** A turn's task starts and ends (the scheduler's `taskBatch`), read and not kept. */
  applyTasks(batch: TaskEvents): void;
  /** Writes buffered log lines now, synchronously (the process is about to die). */
  flush(): void;
  readonly url: string | undefined;
  stop(): Promise<void>;
}

/**
 * The live UI's modules as one file (scripts/bundle.js, run by `npm run build`) when it is current, else
 * undefined (the modules themselves): the bundle costs the driver a third less CPU to load than the eight modules it
 * holds. Decided once per process.
 */
export function liveUiBundle(): string | undefined {
  if (bundleHref === null) {
    const bundle = new URL('./live-ui-bundle.js', import.meta.url);
    bundleHref = bundleIsCurrent(fileURLToPath(bundle), fileURLToPath(new URL('./live-ui.js', import.meta.url))) ? bundle.href : undefined;
  }
  return bundleHref;
}
let bundleHref: string | undefined | null = null;

function loadLiveUi(): Promise<typeof import('./live-ui.js')> {
  const bundle = liveUiBundle();
  return bundle === undefined ? import('./live-ui.js') : (import(bundle) as Promise<typeof import('./live-ui.js')>);
}

let lastAppSecond = '';
let appSeq = 0;

/** Spark-style application ids: `app-YYYYMMDDHHMMSS-NNNN`, unique within a process and second. */
function newAppId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  if (stamp !== lastAppSecond) {
    lastAppSecond = stamp;
    appSeq = 0;
  }
  // The pid keeps two programs started in the same second apart in a shared event-log folder.
  return `app-${stamp}-${String(process.pid % 10000).padStart(4, '0')}${appSeq++ === 0 ? '' : `-${appSeq - 1}`}`;
}

/** Starts the UI and/or event log for a context; undefined when both are off. */
export function startUi(bus: EventBus<SchedulerEvent>, view: UiContextView): UiSubsystem | undefined {
  if (view.ui === false && view.eventLog === false) return undefined;
  const now = Date.now();
  const appId = newAppId(now);
  const start: ApplicationStartEvent = {
    type: 'applicationStart',
    appId,
    appName: view.appName,
    time: now,
    numWorkers: view.numWorkers,
    storageBytesPerWorker: view.storageBytesPerWorker,
    options: flattenOptions(view.options),
    versions: [
      ['node', process.versions.node],
      ['v8', process.versions.v8],
      ['platform', `${process.platform} ${process.arch}`],
    ],
  };
  let buffer: AppEvent[] | undefined = [start];
  let live: LiveUi | undefined;
  /** Set when a signal came before the live UI loaded: the log was written from the buffer, and must stay so. */
  let interruptedEarly = false;
  // Task starts and ends come as one batch per turn of the scheduler (delivered once the turn's tasks are on their way
  // to the workers, or before any later event): the store and the log copy its records into their columns and keep
  // none of them; the buffer, which keeps events, copies them.
  const off = bus.onAny(
    (e) => {
      if (e.type === 'taskBatch') {
        if (live !== undefined) live.applyTasks(e.tasks);
        else for (let i = 0; i < e.tasks.size; i++) buffer?.push({ ...e.tasks.event(i) });
        return;
      }
      hop('ui.apply', -1, e.type);
      if (live === undefined) buffer?.push(e);
      else live.apply(e);
      hop('ui.applied', -1, e.type);
    },
    { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } },
  );
  const loading = loadLiveUi()
    .then((m) => (interruptedEarly ? Promise.reject(new Error('the process was interrupted')) : m.startLiveUi(view, appId)))
    .then(
      (l) => {
        for (const e of buffer ?? []) l.apply(e);
        buffer = undefined;
        live = l;
        return l;
      },
      (e: unknown) => {
        off();
        buffer = undefined;
        if (!interruptedEarly) console.warn(`kindling: the UI did not start: ${(e as Error).message}`);
        return undefined;
      },
    );
  let stopping: Promise<void> | undefined;
  return {
    appId,
    url: async () => (await loading)?.url,
    interrupted: () => {
      // The task events the scheduler still holds go first (into the buffer, while the live UI loads).
      bus.flushHeld();
      if (live === undefined) {
        // A signal while the UI's modules still load (soon after start, or on a loaded machine): the log is
        // written from the buffer, one event a line (what readEventLog reads), or the application would leave none.
        if (view.eventLog !== false && buffer !== undefined && !interruptedEarly) {
          interruptedEarly = true;
          writeLogNow(view.eventLog.dir, appId, [...buffer, { type: 'applicationEnd', time: Date.now() }]);
        }
        return;
      }
      live.apply({ type: 'applicationEnd', time: Date.now() });
      live.flush();
    },
    stop: () =>
      (stopping ??= loading.then(async (l) => {
        // The task events the scheduler still holds go first.
        bus.flushHeld();
        off();
        if (l === undefined) return;
        l.apply({ type: 'applicationEnd', time: Date.now() });
        await l.stop();
      })),
  };
}

function writeLogNow(dir: string, appId: string, events: readonly AppEvent[]): void {
  try {
    mkdirSync(dir, { recursive: true });
    // Task starts are not logged (a task's end names its start), as the event log writer does.
    const lines = events.filter((e) => e.type !== 'taskStart').map((e) => `${JSON.stringify(e)}\n`);
    writeFileSync(path.join(dir, appId + EVENT_LOG_SUFFIX), lines.join(''));
  } catch (e) {
    console.warn(`kindling: could not write the event log in ${dir}: ${(e as Error).message}`);
  }
}
