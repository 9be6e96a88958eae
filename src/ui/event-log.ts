/**
 * The event log: one JSON event per line, one file per application (`{appId}.jsonl`), written as the
 * application runs so that one that crashes still leaves its log. Lines are buffered for at most
 * FLUSH_MS (or FLUSH_BYTES) and written synchronously, so logging costs a job no I/O wait on its hot path
 * and a process exiting (even by an uncaught exception) still writes what it buffered. An application whose
 * log has no `applicationEnd` line did not finish.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { AppEvent } from './app-events.js';
import { UiError } from './errors.js';

const FLUSH_MS = 100;
const FLUSH_BYTES = 1 << 16;
export const EVENT_LOG_SUFFIX = '.jsonl';

/**
 * Appends events to `{dir}/{appId}.jsonl`.
 *
 * @example
 * ```ts
 * const log = new EventLogWriter('/tmp/kindling-events', 'app-20260101000000-0001');
 * sc.events.onAny((e) => log.write(e));
 * log.close();
 * ```
 */
export class EventLogWriter {
  readonly file: string;
  #fd: number | undefined;
  #buffer: string[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #onExit = (): void => this.flush();

  constructor(dir: string, appId: string) {
    try {
      mkdirSync(dir, { recursive: true });
      this.file = path.join(path.resolve(dir), appId + EVENT_LOG_SUFFIX);
      this.#fd = openSync(this.file, 'a');
    } catch (e) {
      throw new UiError(`Cannot write the event log in ${dir}: ${(e as Error).message}`, { cause: e });
    }
    process.on('exit', this.#onExit);
  }

  write(event: AppEvent): void {
    // A task's start is implied by its end (time - durationMs): logging only the end halves the lines of a log
    // and their cost on the scheduler's hot path. A crashed application's log so lacks only tasks still running.
    if (this.#fd === undefined || event.type === 'taskStart') return;
    const line = serializeEvent(event) + '\n';
    this.#buffer.push(line);
    this.#bytes += line.length;
    if (this.#bytes >= FLUSH_BYTES || event.type === 'jobEnd' || event.type === 'applicationEnd') this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
      // Logging must never be why a finished program keeps running; 'exit' flushes the rest.
      this.#timer.unref();
    }
  }

  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#fd === undefined || this.#buffer.length === 0) return;
    const text = this.#buffer.join('');
    this.#buffer = [];
    this.#bytes = 0;
    writeSync(this.#fd, text);
  }

  close(): void {
    this.flush();
    process.off('exit', this.#onExit);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

const str = (s: string): string => JSON.stringify(s);

/**
 * One event as JSON. The two events of every task are written by hand: they are most of a log, and building
 * the line directly costs a fraction of JSON.stringify's generic walk (this runs on the scheduler's hot path).
 * Field for field the same JSON as JSON.stringify (the tests parse both).
 */
export function serializeEvent(e: AppEvent): string {
  if (e.type === 'taskStart') {
    return `{"type":"taskStart","stageId":${e.stageId},"stageAttempt":${e.stageAttempt},"partition":${e.partition},"attempt":${e.attempt},"workerIndex":${e.workerIndex},"speculative":${e.speculative},"time":${e.time}}`;
  }
  if (e.type === 'taskEnd') {
    const m = e.metrics;
    const metrics =
      m === undefined
        ? ''
        : `,"metrics":{"durationMs":${m.durationMs},"runMs":${m.runMs},"compileMs":${m.compileMs},"gcMs":${m.gcMs},"fetchWaitMs":${m.fetchWaitMs},"inputRecords":${m.inputRecords},` +
          `"shuffleReadRecords":${m.shuffleReadRecords},"shuffleReadBytes":${m.shuffleReadBytes},"shuffleWriteRecords":${m.shuffleWriteRecords},"shuffleWriteBytes":${m.shuffleWriteBytes},` +
          `"spillCount":${m.spillCount},"resultRecords":${m.resultRecords},"resultBytes":${m.resultBytes}${m.keySample === undefined ? '' : `,"keySample":${JSON.stringify(m.keySample)}`}}`;
    return (
      `{"type":"taskEnd","stageId":${e.stageId},"stageAttempt":${e.stageAttempt},"partition":${e.partition},"attempt":${e.attempt},"workerIndex":${e.workerIndex},` +
      `"speculative":${e.speculative},"result":"${e.result}"${e.error === undefined ? '' : `,"error":${str(e.error)}`},"durationMs":${e.durationMs}${metrics},"locality":"${e.locality}","time":${e.time}}`
    );
  }
  return JSON.stringify(e);
}

/** The events of one log file; a last line cut short by a crash is ignored. */
export function readEventLog(file: string): AppEvent[] {
  const text = readFileSync(file, 'utf8');
  const out: AppEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as AppEvent);
    } catch {
      // A partial line at the end of a crashed application's log.
    }
  }
  return out;
}
