/**
 * Timestamps of the steps one job takes across the driver and its worker threads, for finding where a short job's
 * fixed cost goes (`bench/hop-trace-report.ts` turns them into a per-step table). Off unless KINDLING_HOP_TRACE
 * names a file: then every thread appends `time<TAB>thread<TAB>step<TAB>job<TAB>detail` lines to it, time in
 * milliseconds since the epoch with microsecond precision (`performance.timeOrigin + performance.now()`, comparable
 * across the threads of one process).
 *
 * Free when off: {@link hop} tests one constant and returns, and its arguments are numbers and string literals, so a
 * call site builds nothing. Lines are kept in memory and written every 200 ms and at exit, not per step (a write per
 * step would cost more than the steps measured).
 */
import { appendFileSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

const FILE = process.env['KINDLING_HOP_TRACE'];

/** Whether steps are being recorded (callers may skip work that only feeds a trace). */
export const hopTraceOn = FILE !== undefined && FILE !== '';

const thread = isMainThread ? 'driver' : `t${threadId}`;
let lines: string[] = [];

function flush(): void {
  if (lines.length === 0) return;
  const out = lines;
  lines = [];
  try {
    appendFileSync(FILE!, `${out.join('\n')}\n`);
  } catch {
    // A trace is a diagnostic: losing it must not fail the program.
  }
}

if (hopTraceOn) {
  setInterval(flush, 200).unref();
  process.on('exit', flush);
}

/** Records that this thread reached `step` of job `job` (-1: not known here) now. */
export function hop(step: string, job = -1, detail: number | string = ''): void {
  if (!hopTraceOn) return;
  lines.push(`${(performance.timeOrigin + performance.now()).toFixed(3)}\t${thread}\t${step}\t${job}\t${detail}`);
}

/** Writes the recorded lines now (a worker thread may be terminated before its next timer). */
export function flushHops(): void {
  if (hopTraceOn) flush();
}
