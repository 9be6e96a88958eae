/**
 * The UI subsystem's one entry point for the context. `startUi` subscribes to the event bus at once (so no event is
 * missed) and, with the UI on, only listens (listen.ts, on `node:net`): the HTTP server and the pages load on the first
 * connection, or once the events held for them reach {@link HELD_FOR_STORE}, and start the UI's thread, where the
 * status store replays them and REST is answered (live-ui.ts), so a script nobody looks at never loads them nor starts
 * a thread. The event log loads on its own, off the
 * caller's path, holding events until it is there.
 */
import type { Socket } from 'node:net';
import type { Worker } from 'node:worker_threads';
import type { EventBus } from '../scheduler/event-bus.js';
import type { SchedulerEvent, TaskEvents } from '../scheduler/events.js';
import type { TaskEventBatch, TaskRowsWire } from '../scheduler/task-event-batch.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleIsCurrent, inDriverBundle } from '../util/bundle.js';
import { VERSION } from '../version.js';
import { EVENT_LOG_SUFFIX, flattenOptions, type AppEvent, type ApplicationStartEvent, type RunningTask } from './app-events.js';
import type { EventLogHandover, EventLogWriter } from './event-log.js';
import { UiListener } from './listen.js';
import type { ResolvedUiOptions } from './options.js';
import { hop } from '../util/hop-trace.js';

/**
 * Events held for a status store not loaded yet: past this many it loads (and replays them) whether or not anyone
 * connected, so what waits for a browser stays bounded (~3.5 MB: a task event held is a row of ~216 bytes, a native
 * copy of the scheduler's columns); a script with fewer events never loads it nor starts the UI's thread. 16,384
 * events are a job of 8,000 tasks: the thread's start (~55 ms of CPU, most of it Node's own start of a worker) and
 * the store's folding are CPU that a script of one medium job paid on 2 cores beside its workers (docs/benchmarks.md,
 * session 31, uithread2).
 */
export const HELD_FOR_STORE = 16_384;

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
  /** The tasks computing now: the event log lists them at each flush, for the history of an application killed mid-task. */
  runningTasks?(): readonly RunningTask[];
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
  /** Whether the status store and the HTTP server have loaded (a connection came, or enough events were held). */
  readonly storeLoaded: boolean;
  /** The UI's thread, where the status store lives, once started (see storeLoaded); for diagnostics and tests. */
  readonly uiThread: Worker | undefined;
  /** Whether the UI's thread writes the event log now (it takes it on once it runs); for diagnostics and tests. */
  readonly logOnThread: boolean;
}

/** What live-ui.ts provides once loaded. */
export interface LiveUi {
  /** The thread the status store lives on. */
  readonly thread: Worker;
  apply(e: AppEvent): void;
  /** Events held while it loaded, in order. */
  applyAll(es: readonly AppEvent[]): void;
  /** Task events held while it loaded, as rows ({@link TaskEventBatch.toWire}), in order with applyAll's. */
  applyRows?(rows: TaskRowsWire): void;
  /** A turn's task starts and ends (the scheduler's `taskBatch`), read and not kept. */
  applyTasks(batch: TaskEvents): void;
  /**
   * The event log goes on in the UI's thread from here on (route b: the driver then encodes no line): `handOver` gives
   * the driver's writer's state once the thread is known to be alive. False when it is not (the driver keeps its log).
   */
  takeLog?(
    handOver: () => EventLogHandover | undefined,
    runningTasks: () => readonly RunningTask[],
    /** The thread died with the log: the driver takes it back, numbering tasks from `nextTaskId`. */
    lost: (nextTaskId: number) => void,
  ): boolean;
  /** With the log on the thread: written through before it returns, `end` first (a signal). */
  syncLog?(end?: AppEvent): void;
  /** Serves a connection the listener accepted. */
  accept(socket: Socket): void;
  /** Ends the live streams (the listener ends the connections). */
  stop(): Promise<void>;
}

/**
 * The live UI's modules as one file (scripts/bundle.js, run by `npm run build`) when it is current, else
 * undefined (the modules themselves): the bundle costs the driver a third less CPU to load than the eight modules it
 * holds. Decided once per process.
 */
export function liveUiBundle(): string | undefined {
  // The driver bundle holds the live UI as modules run on first use (a dynamic import of live-ui.js), sharing its others.
  if (inDriverBundle) return undefined;
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
  // From the UTC fields, not toISOString(): its first call in a process costs ~1 ms and ~13 page faults more.
  const d = new Date(now);
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
  if (stamp !== lastAppSecond) {
    lastAppSecond = stamp;
    appSeq = 0;
  }
  // The pid keeps two programs started in the same second apart in a shared event-log folder.
  return `app-${stamp}-${String(process.pid % 10000).padStart(4, '0')}${appSeq++ === 0 ? '' : `-${appSeq - 1}`}`;
}

/** Events in order for a consumer whose module still loads, then to it. */
class Held<
  T extends {
    apply(e: AppEvent): void;
    applyAll?(es: readonly AppEvent[]): void;
    applyRows?(rows: TaskRowsWire): void;
    applyTasks(batch: TaskEvents): void;
  },
> {
  /** Records; and with `asRows`, batches of task events as rows (copied columns: no object per event). */
  events: (AppEvent | TaskRowsWire)[] | undefined = [];
  /** Events held, a row per task event. */
  count = 0;
  to: T | undefined;

  /** `asRows`: the consumer takes rows (applyRows), so the scheduler's batches are held as one native copy each. */
  constructor(private readonly asRows = false) {}

  apply(e: AppEvent): void {
    if (this.to !== undefined) this.to.apply(e);
    else if (this.events !== undefined) {
      this.events.push(e);
      this.count++;
    }
  }

  applyTasks(batch: TaskEvents): void {
    if (this.to !== undefined) {
      this.to.applyTasks(batch);
      return;
    }
    const events = this.events;
    if (events === undefined || batch.size === 0) return;
    this.count += batch.size;
    // A TaskEventBatch's rows (not by instanceof: a program may hold the scheduler's class from another bundle).
    const rows = batch.rows as Partial<Pick<TaskEventBatch, 'toWire'>> | undefined;
    if (this.asRows && rows?.toWire !== undefined) events.push(rows.toWire());
    // The scheduler refills the batch's records for its next turn: what is kept is copied.
    else for (let i = 0; i < batch.size; i++) events.push({ ...batch.event(i) });
  }

  /** Replays what is held into `to`, which then gets every event. */
  attach(to: T): void {
    const events = this.events ?? [];
    let from = 0;
    const records = (end: number): void => {
      if (end === from) return;
      const es = events.slice(from, end) as AppEvent[];
      if (to.applyAll !== undefined) to.applyAll(es);
      else for (const e of es) to.apply(e);
    };
    events.forEach((e, i) => {
      if (!isRows(e)) return;
      records(i);
      from = i + 1;
      to.applyRows!(e);
    });
    records(events.length);
    this.events = undefined;
    this.count = 0;
    this.to = to;
  }

  /** The consumer will not come: nothing more is kept. */
  drop(): void {
    this.events = undefined;
    this.count = 0;
  }
}

const isRows = (e: AppEvent | TaskRowsWire): e is TaskRowsWire => !('type' in e);

/** The event log's writer, seen as a consumer of events. */
function logConsumer(w: EventLogWriter) {
  return { apply: (e: AppEvent) => w.write(e), applyTasks: (b: TaskEvents) => w.writeTasks(b) };
}

/** Who runs this process, as Spark names its sparkUser: SPARK_USER when set, else the user of the process. */
function userName(): string {
  if (process.env.SPARK_USER) return process.env.SPARK_USER;
  try {
    return os.userInfo().username;
  } catch {
    // A uid with no passwd entry (a container run as an arbitrary uid).
    return process.env.USER ?? '';
  }
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
    sparkUser: userName(),
    time: now,
    numWorkers: view.numWorkers,
    storageBytesPerWorker: view.storageBytesPerWorker,
    options: flattenOptions(view.options),
    versions: [
      ['kindling', VERSION],
      ['node', process.versions.node],
      ['v8', process.versions.v8],
      ['platform', `${process.platform} ${process.arch}`],
    ],
  };
  // A reader of the UI (a REST request, a page, a live push) first gets what the scheduler still holds: the scheduler
  // then need not deliver its batches often for the UI to be current (see the scheduler's BATCH_MS).
  /**
   * Set once the event log is written by the UI's thread: it moves there when both the thread and the driver's writer
   * are up (whichever comes second), from the events the thread already gets for its store; the driver then feeds the
   * log nothing more. With the UI off, or before the thread starts (a connection, or HELD_FOR_STORE events), the
   * driver writes it (docs/benchmarks.md, session 40, uicost).
   */
  let logMoved = false;
  let stopping: Promise<void> | undefined;
  const runningTasks = view.runningTasks?.bind(view);
  const moveLog = (): void => {
    const live = ui?.held.to;
    const writer = log?.writer();
    if (logMoved || stopping !== undefined || live?.takeLog === undefined || writer === undefined) return;
    logMoved = live.takeLog(
      () => writer.handOver(),
      runningTasks ?? (() => []),
      (nextTaskId) => {
        logMoved = false;
        log!.takeBack(writer.file, nextTaskId);
      },
    );
    if (logMoved) log!.moved(live);
  };
  const ui = view.ui === false ? undefined : lazyUi(view, view.ui, appId, () => bus.flushHeld(), moveLog);
  const log = view.eventLog === false ? undefined : lazyLog(view.eventLog.dir, appId, runningTasks, moveLog);
  ui?.held.apply(start);
  log?.held.apply(start);
  // Task starts and ends come as one batch per turn of the scheduler (delivered once the turn's tasks are on their way
  // to the workers, or before any later event): the store and the log copy its records into their columns and keep
  // none of them.
  const off = bus.onAny(
    (e) => {
      if (e.type === 'taskBatch') {
        ui?.applyTasks(e.tasks);
        if (!logMoved) log?.held.applyTasks(e.tasks);
        return;
      }
      hop('ui.apply', -1, e.type);
      ui?.apply(e);
      if (!logMoved) log?.held.apply(e);
      hop('ui.applied', -1, e.type);
    },
    { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } },
  );
  // A process that exits without stop() (an uncaught error) logs the task events the scheduler still holds: the log
  // writer's own exit handler, registered after this one (its module loads later), then writes them.
  const flushAtExit = (): void => bus.flushHeld();
  if (log !== undefined) process.on('exit', flushAtExit);
  return {
    appId,
    url: async () => ui?.url,
    get storeLoaded() {
      return ui?.held.to !== undefined;
    },
    get uiThread() {
      return ui?.held.to?.thread;
    },
    get logOnThread() {
      return logMoved;
    },
    interrupted: () => {
      // The task events the scheduler still holds go first.
      bus.flushHeld();
      log?.interrupted();
    },
    stop: () =>
      (stopping ??= (async () => {
        // The task events the scheduler still holds go first.
        bus.flushHeld();
        off();
        process.off('exit', flushAtExit);
        const end: AppEvent = { type: 'applicationEnd', time: Date.now() };
        await Promise.all([ui?.stop(end), log?.stop(end)]);
      })()),
  };
}

/** The UI: a listener now; the store and the server when a connection comes or too many events are held. */
function lazyUi(view: UiContextView, options: ResolvedUiOptions, appId: string, beforeRead: () => void, started: () => void) {
  const held = new Held<LiveUi>(true);
  const waiting: Socket[] = [];
  let loading: Promise<LiveUi | undefined> | undefined;
  let stopped = false;
  let address: string | undefined;
  const load = (): Promise<LiveUi | undefined> =>
    (loading ??= loadLiveUi().then(
      (m) => {
        const live = m.startLiveUi(view, options, appId, address, beforeRead);
        held.attach(live);
        started();
        for (const s of waiting.splice(0)) live.accept(s);
        return live;
      },
      (e: unknown) => {
        held.drop();
        for (const s of waiting.splice(0)) s.destroy();
        console.warn(`kindling: the UI did not start: ${(e as Error).message}`);
        void listener.close();
        return undefined;
      },
    ));
  const listener = new UiListener(options, (socket) => {
    if (held.to !== undefined) held.to.accept(socket);
    else {
      waiting.push(socket);
      void load();
    }
  });
  const url = listener.url.then(
    (u) => {
      address = u;
      if (process.stderr.isTTY === true) process.stderr.write(`kindling: web UI at ${u}\n`);
      return u;
    },
    (e: unknown) => {
      // No UI is no reason to fail the program (the log, if any, still runs).
      held.drop();
      if (!stopped) console.warn(`kindling: ${(e as Error).message}`);
      return undefined;
    },
  );
  return {
    held,
    url,
    apply(e: AppEvent): void {
      held.apply(e);
      if (held.count >= HELD_FOR_STORE) void load();
    },
    applyTasks(batch: TaskEvents): void {
      held.applyTasks(batch);
      if (held.count >= HELD_FOR_STORE) void load();
    },
    async stop(end: AppEvent): Promise<void> {
      stopped = true;
      held.apply(end);
      held.drop();
      // The live streams end first (their last chunk written), then the listener ends every connection.
      const live = await loading;
      await live?.stop();
      await listener.close();
    },
  };
}

/** The event log: its writer's module loads at once, off the caller's path; events are held until it is there. */
function lazyLog(dir: string, appId: string, runningTasks: (() => readonly RunningTask[]) | undefined, loadedNow: () => void) {
  const held = new Held<ReturnType<typeof logConsumer>>();
  let loaded: EventLogWriter | undefined;
  /** The UI's thread writes the log (see startUi's moveLog). */
  let movedTo: LiveUi | undefined;
  /** Set when a signal came before the writer loaded: the log was written from what was held, and must stay so. */
  let interruptedEarly = false;
  let module: typeof import('./event-log.js') | undefined;
  const writer: Promise<EventLogWriter | undefined> = import('./event-log.js')
    .then((m) => {
      module = m;
      if (interruptedEarly) return undefined;
      loaded = new m.EventLogWriter(dir, appId, runningTasks);
      held.attach(logConsumer(loaded));
      loadedNow();
      return loaded;
    })
    .catch((e: unknown) => {
      held.drop();
      // The log's folder cannot be written: the UI still serves (it lost everything with the log before).
      console.warn(`kindling: no event log: ${(e as Error).message}`);
      return undefined;
    });
  return {
    held,
    /** The writer, once loaded and while it writes the log on this thread. */
    writer: (): EventLogWriter | undefined => (interruptedEarly || movedTo !== undefined ? undefined : loaded),
    /** The UI's thread took the log on: it writes it, and closes it at the UI's stop(). */
    moved(to: LiveUi): void {
      movedTo = to;
    },
    /** The UI's thread died with the log: this thread writes it on from the file's end. */
    takeBack(file: string, nextTaskId: number): void {
      movedTo = undefined;
      try {
        loaded = new module!.EventLogWriter(dir, appId, runningTasks, module!.reopenedLog(file, nextTaskId), true);
        held.to = logConsumer(loaded);
        console.warn(`kindling: the event log ${file} goes on from the driver; events the UI's thread had not written are missing`);
      } catch (e) {
        loaded = undefined;
        console.warn(`kindling: the event log ${file} stops here: ${(e as Error).message}`);
      }
    },
    /** The process is about to die by a signal: the application's end, written now. */
    interrupted(): void {
      const end: AppEvent = { type: 'applicationEnd', time: Date.now() };
      if (movedTo !== undefined) movedTo.syncLog?.(end);
      else if (loaded !== undefined) {
        loaded.write(end);
        loaded.flushSync();
      } else if (held.events !== undefined && !interruptedEarly) {
        // A signal while the writer's module still loads (soon after start, or on a loaded machine): the log is
        // written from what is held, one event a line (what readEventLog reads), or the application would leave none.
        interruptedEarly = true;
        writeLogNow(dir, appId, [...(held.events as AppEvent[]), end]);
        held.drop();
      }
    },
    async stop(end: AppEvent): Promise<void> {
      await writer;
      // Moved: the UI's stop() has its thread write the end and close the log. (Taken back: the writer is a new one.)
      const w = loaded;
      if (w === undefined || movedTo !== undefined) return;
      w.write(end);
      await w.close();
    },
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
