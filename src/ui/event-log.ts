/**
 * The event log: one JSON event per line, one file per application (`{appId}.jsonl`), written as the
 * application runs so that one that crashes still leaves its log. Lines are buffered for at most FLUSH_MS (or
 * FLUSH_BYTES, or until a job ends) and written without blocking; a process exiting (even by an uncaught
 * exception) writes what it still holds synchronously. An application whose log has no `applicationEnd` line
 * did not finish.
 */
import { closeSync, mkdirSync, openSync, readFileSync, write, writeSync } from 'node:fs';
import path from 'node:path';
import type { AppEvent } from './app-events.js';
import { UiError } from './errors.js';

const FLUSH_MS = 100;
const FLUSH_BYTES = 1 << 16;
export const EVENT_LOG_SUFFIX = '.jsonl';

/**
 * Appends events to `{dir}/{appId}.jsonl`.
 *
 * Chunks are written asynchronously, each at its own offset, so the scheduler's thread never waits on the
 * disk; since a positional write can be repeated, a process that exits while a chunk is in flight writes it
 * again synchronously, with the rest, and loses nothing.
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
  /** Where the next chunk goes. */
  #pos = 0;
  #inFlight: { readonly buf: Buffer; readonly pos: number } | undefined;
  #closing = false;
  #warned = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onExit = (): void => this.#flushSync();

  constructor(dir: string, appId: string) {
    try {
      mkdirSync(dir, { recursive: true });
      this.file = path.join(path.resolve(dir), appId + EVENT_LOG_SUFFIX);
      this.#fd = openSync(this.file, 'w');
    } catch (e) {
      throw new UiError(`Cannot write the event log in ${dir}: ${(e as Error).message}`, { cause: e });
    }
    process.on('exit', this.#onExit);
  }

  write(event: AppEvent): void {
    // A task's start is implied by its end (time - durationMs): logging only the end halves the lines of a log
    // and their cost on the scheduler's hot path. A crashed application's log so lacks only tasks still running.
    if (this.#fd === undefined || this.#closing || event.type === 'taskStart') return;
    const line = serializeEvent(event) + '\n';
    this.#buffer.push(line);
    this.#bytes += line.length;
    if (this.#bytes >= FLUSH_BYTES || event.type === 'jobEnd' || event.type === 'applicationEnd') this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
      // Logging must never be why a finished program keeps running; 'exit' writes the rest.
      this.#timer.unref();
    }
  }

  /** Starts writing what is buffered (after the chunk in flight, if any). */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#fd === undefined || this.#inFlight !== undefined || this.#buffer.length === 0) return;
    const chunk = { buf: this.#take(), pos: this.#pos };
    this.#pos += chunk.buf.length;
    this.#inFlight = chunk;
    const fd = this.#fd;
    write(fd, chunk.buf, 0, chunk.buf.length, chunk.pos, (err) => {
      this.#inFlight = undefined;
      if (err && !this.#warned) {
        this.#warned = true;
        console.warn(`kindling: writing the event log ${this.file} failed: ${err.message}`);
      }
      if (this.#closing) closeSync(fd);
      else this.flush();
    });
  }

  /** Writes everything now, the chunk in flight again included. */
  #flushSync(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#fd === undefined) return;
    if (this.#inFlight !== undefined) writeSync(this.#fd, this.#inFlight.buf, 0, this.#inFlight.buf.length, this.#inFlight.pos);
    if (this.#buffer.length > 0) {
      const buf = this.#take();
      writeSync(this.#fd, buf, 0, buf.length, this.#pos);
      this.#pos += buf.length;
    }
  }

  #take(): Buffer {
    const buf = Buffer.from(this.#buffer.join(''));
    this.#buffer = [];
    this.#bytes = 0;
    return buf;
  }

  /** Writes the rest synchronously (for a process about to die by a signal). */
  flushSync(): void {
    this.#flushSync();
  }

  close(): void {
    if (this.#fd === undefined || this.#closing) return;
    this.#flushSync();
    this.#closing = true;
    process.off('exit', this.#onExit);
    // A chunk still in flight closes the file when it lands (its bytes are already written again above).
    if (this.#inFlight === undefined) closeSync(this.#fd);
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
    return `{"type":"taskStart","stageId":${e.stageId},"stageAttempt":${e.stageAttempt},"partition":${e.partition},"attempt":${e.attempt},"workerIndex":${e.workerIndex},"executorId":${str(e.executorId)},"speculative":${e.speculative},"time":${e.time}}`;
  }
  if (e.type === 'taskEnd') {
    const m = e.metrics;
    const metrics =
      m === undefined
        ? ''
        : `,"metrics":{"durationMs":${m.durationMs},"runMs":${m.runMs},"compileMs":${m.compileMs},"gcMs":${m.gcMs},"fetchWaitMs":${m.fetchWaitMs},"inputRecords":${m.inputRecords},"inputBytes":${m.inputBytes},` +
          `"shuffleReadRecords":${m.shuffleReadRecords},"shuffleReadBytes":${m.shuffleReadBytes},"shuffleWriteRecords":${m.shuffleWriteRecords},"shuffleWriteBytes":${m.shuffleWriteBytes},` +
          `"spillCount":${m.spillCount},"resultRecords":${m.resultRecords},"resultBytes":${m.resultBytes}${m.keySample === undefined ? '' : `,"keySample":${JSON.stringify(m.keySample)}`}}`;
    return (
      `{"type":"taskEnd","stageId":${e.stageId},"stageAttempt":${e.stageAttempt},"partition":${e.partition},"attempt":${e.attempt},"workerIndex":${e.workerIndex},"executorId":${str(e.executorId)},` +
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
