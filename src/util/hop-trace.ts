/**
 * Timestamps of the steps one job takes across the driver and its worker threads, for finding where a short job's
 * fixed cost goes (`bench/hop-trace-report.ts` turns them into a per-step table). Off unless KINDLING_HOP_TRACE
 * names a file: then every thread appends `time<TAB>thread<TAB>step<TAB>job<TAB>detail` lines to it, time in
 * milliseconds since the epoch with microsecond precision (`performance.timeOrigin + performance.now()`, comparable
 * across the threads of one process).
 *
 * For why one worker's tasks take longer than another's, a worker also records its GC pauses (step `gc`, detail
 * `kind ms`, at the pause's start) and, where the task computes, its thread's times (see {@link threadTimes}); the
 * driver records every thread of the process at a job's start and return (see {@link processThreads}).
 *
 * Free when off: {@link hop} tests one constant and returns, and its arguments are numbers and string literals, so a
 * call site builds nothing. Lines are kept in memory and written every 200 ms and at exit, not per step (a write per
 * step would cost more than the steps measured).
 */
import { appendFileSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/** Records that this thread reached `step` at `t`, a `performance.now()` time of the past (a GC pause Node reported later). */
export function hopAt(t: number, step: string, job = -1, detail: number | string = ''): void {
  if (!hopTraceOn) return;
  lines.push(`${(performance.timeOrigin + t).toFixed(3)}\t${thread}\t${step}\t${job}\t${detail}`);
}

/**
 * The calling thread's scheduler times and OS thread id, `onCpuNs runqueueWaitNs timeslices tid`, from Linux's
 * `/proc/thread-self/schedstat` (nanoseconds: finer than the 10 ms ticks of `stat`), or '' when off or elsewhere.
 * Between two readings of one thread, wall time minus both is time it slept (its event loop waiting, or a GC
 * waiting on its helper threads); on-CPU time that differs between two workers for the same work is the thread
 * itself running slower, runqueue wait is other threads holding the cores.
 */
let osThread: string | undefined;
export function threadTimes(): string {
  if (!hopTraceOn) return '';
  try {
    if (osThread === undefined) osThread = readlinkSync('/proc/thread-self').split('/').at(-1)!;
    return `${readFileSync('/proc/thread-self/schedstat', 'utf8').trim()} ${osThread}`;
  } catch {
    return '';
  }
}

/**
 * Every thread of the process as `tid:name:onCpuNs:runqueueWaitNs`, comma-separated (Linux; '' when off or
 * elsewhere): what V8's GC helpers, the libuv pool and the driver took while a job's tasks ran.
 */
export function processThreads(): string {
  if (!hopTraceOn) return '';
  const out: string[] = [];
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8')
          .trim()
          .replace(/[\s:,]/g, '_');
        const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ');
        out.push(`${tid}:${name}:${run}:${wait}`);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    return '';
  }
  return out.join(',');
}

/** One line of a trace: when (ms since the epoch), which thread, which step, of which job (-1: not known), and more. */
export interface Hop {
  readonly t: number;
  readonly thread: string;
  readonly step: string;
  readonly job: number;
  readonly detail: string;
}

/** The lines of a trace file as written here (each thread's lines in its order; threads interleave by flush). */
export function parseHops(text: string): Hop[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [t, thread, step, job, detail] = l.split('\t');
      return { t: Number(t), thread: thread!, step: step!, job: Number(job), detail: detail ?? '' };
    });
}

/** Writes the recorded lines now (a worker thread may be terminated before its next timer). */
export function flushHops(): void {
  if (hopTraceOn) flush();
}
