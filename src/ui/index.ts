/**
 * The UI subsystem's one entry point for the context: `startUi` subscribes to the event bus at once (so no
 * event is missed) and loads everything else (status store, server, event log) lazily, off the caller's path,
 * buffering events until it is there. A script that never looks at the UI pays for one subscription and a
 * dynamic import.
 */
import type { EventBus } from '../scheduler/event-bus.js';
import type { SchedulerEvent, TaskEndEvent, TaskStartEvent } from '../scheduler/events.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleIsCurrent } from '../util/bundle.js';
import { EVENT_LOG_SUFFIX, flattenOptions, type AppEvent, type ApplicationStartEvent } from './app-events.js';
import type { ResolvedUiOptions } from './options.js';

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
  /**
   * Runs `fn` once the tasks launched in this turn of the event loop are on their way to the workers (the backend's
   * afterTasksSent); without it, at the end of the turn.
   */
  afterTasksSent?(fn: () => void): void;
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
  // The store and the log copy a task event's values (into typed columns) and keep nothing of it, so the scheduler may
  // pass one record filled anew per task instead of an object per task (EventBus.needsFreshEvent); the buffer, which
  // keeps events, copies them.
  //
  // Task events wait (copied into reused records) until the tasks the scheduler launched in the same turn are sent:
  // the store's and the log's work then overlaps the workers' computing instead of holding their next tasks back.
  // Any other event first hands over the task events before it, so every listener sees the bus's order, and a job's
  // end (with its tasks) is in the store before its action settles.
  const waiting = new TaskEventQueue();
  let drainArmed = false;
  let drainFailed = false;
  const drain = (): void => {
    drainArmed = false;
    if (live === undefined) return;
    const l = live;
    waiting.drain((e) => {
      try {
        l.apply(e);
      } catch (error) {
        if (!drainFailed) console.warn('kindling: the UI failed on a task event; further errors are not reported:', error);
        drainFailed = true;
      }
    });
  };
  const afterTasksSent = view.afterTasksSent ?? ((fn: () => void) => void setImmediate(fn));
  const off = bus.onAny(
    (e) => {
      if (live === undefined) {
        buffer?.push(e.type === 'taskStart' || e.type === 'taskEnd' ? { ...e } : e);
        return;
      }
      if (e.type === 'taskStart' || e.type === 'taskEnd') {
        waiting.push(e);
        if (!drainArmed) {
          drainArmed = true;
          afterTasksSent(drain);
        }
        return;
      }
      if (waiting.size > 0) drain();
      live.apply(e);
    },
    { copies: ['taskStart', 'taskEnd'] },
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
      if (live === undefined) {
        // A signal while the UI's modules still load (soon after start, or on a loaded machine): the log is
        // written from the buffer, one event a line (what readEventLog reads), or the application would leave none.
        if (view.eventLog !== false && buffer !== undefined && !interruptedEarly) {
          interruptedEarly = true;
          writeLogNow(view.eventLog.dir, appId, [...buffer, { type: 'applicationEnd', time: Date.now() }]);
        }
        return;
      }
      drain();
      live.apply({ type: 'applicationEnd', time: Date.now() });
      live.flush();
    },
    stop: () =>
      (stopping ??= loading.then(async (l) => {
        off();
        if (l === undefined) return;
        drain();
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

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The fields task starts and ends share, field by field (a loop over names would be a keyed access each). */
function copyTask(to: Mutable<TaskStartEvent> | Mutable<TaskEndEvent>, from: TaskStartEvent | TaskEndEvent): void {
  to.stageId = from.stageId;
  to.stageAttempt = from.stageAttempt;
  to.partition = from.partition;
  to.attempt = from.attempt;
  to.workerIndex = from.workerIndex;
  to.executorId = from.executorId;
  to.speculative = from.speculative;
  to.time = from.time;
}

/**
 * Task events copied, in order, into records reused from turn to turn (a copy as a new object per event was garbage
 * for every task); the listeners they go to copy them in turn and keep nothing of them.
 */
class TaskEventQueue {
  readonly #starts: Array<Mutable<TaskStartEvent>> = [];
  readonly #ends: Array<Mutable<TaskEndEvent>> = [];
  readonly #order: Array<Mutable<TaskStartEvent> | Mutable<TaskEndEvent>> = [];
  #size = 0;
  #startsUsed = 0;
  #endsUsed = 0;

  get size(): number {
    return this.#size;
  }

  push(e: TaskStartEvent | TaskEndEvent): void {
    let r: Mutable<TaskStartEvent> | Mutable<TaskEndEvent>;
    if (e.type === 'taskStart') {
      const s = this.#starts[this.#startsUsed] ?? (this.#starts[this.#startsUsed] = { ...e });
      this.#startsUsed++;
      copyTask(s, e);
      r = s;
    } else {
      // One shape for every record: an absent error or metrics is an undefined field (as the scheduler's record has).
      const t = this.#ends[this.#endsUsed] ?? (this.#ends[this.#endsUsed] = { ...e, error: undefined, metrics: undefined });
      this.#endsUsed++;
      copyTask(t, e);
      t.result = e.result;
      t.error = e.error;
      t.durationMs = e.durationMs;
      t.metrics = e.metrics;
      t.locality = e.locality;
      r = t;
    }
    this.#order[this.#size++] = r;
  }

  /** Hands every waiting event to `apply`, in order, and empties the queue. */
  drain(apply: (e: TaskStartEvent | TaskEndEvent) => void): void {
    for (let i = 0; i < this.#size; i++) apply(this.#order[i]!);
    // The worker's metrics and errors go with their tasks, not with the records.
    for (let i = 0; i < this.#endsUsed; i++) {
      this.#ends[i]!.metrics = undefined;
      this.#ends[i]!.error = undefined;
    }
    this.#size = 0;
    this.#startsUsed = 0;
    this.#endsUsed = 0;
  }
}
