import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsoleProgressBar } from '../../src/scheduler/console-progress.js';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent } from '../../src/scheduler/events.js';

class FakeStream {
  readonly writes: string[] = [];
  constructor(
    public isTTY: boolean,
    public columns?: number,
  ) {}
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
  /** What the terminal shows: the text of the last write with the carriage returns and padding removed. */
  get screen(): string {
    return (this.writes.at(-1) ?? '').replaceAll('\r', '').trimEnd();
  }
}

function submit(bus: EventBus<SchedulerEvent>, stageId: number, numTasks: number, jobId = 0, attempt = 0): void {
  bus.emit({
    type: 'stageSubmitted',
    jobId,
    stageId,
    attempt,
    name: `stage ${stageId}`,
    numTasks,
    numPartitions: numTasks,
    time: Date.now(),
  });
}
function start(bus: EventBus<SchedulerEvent>, stageId: number, partition: number, speculative = false): void {
  bus.emit({
    type: 'taskStart',
    stageId,
    stageAttempt: 0,
    partition,
    attempt: 0,
    workerIndex: 0,
    executorId: '0',
    speculative,
    time: Date.now(),
  });
}
function end(
  bus: EventBus<SchedulerEvent>,
  stageId: number,
  partition: number,
  result: 'success' | 'failed' | 'killed' = 'success',
  speculative = false,
): void {
  bus.emit({
    type: 'taskEnd',
    stageId,
    stageAttempt: 0,
    partition,
    attempt: 0,
    workerIndex: 0,
    executorId: '0',
    speculative,
    result,
    durationMs: 1,
    locality: 'NO_PREF',
    time: Date.now(),
  });
}
function complete(bus: EventBus<SchedulerEvent>, stageId: number, jobId = 0): void {
  bus.emit({ type: 'stageCompleted', jobId, stageId, attempt: 0, time: Date.now(), result: 'succeeded' });
}
/** Starts `running + done` tasks and finishes `done` of them. */
function progress(bus: EventBus<SchedulerEvent>, stageId: number, done: number, running: number): void {
  for (let p = 0; p < done + running; p++) start(bus, stageId, p);
  for (let p = 0; p < done; p++) end(bus, stageId, p);
}

describe('ConsoleProgressBar', () => {
  let bus: EventBus<SchedulerEvent>;
  let bar: ConsoleProgressBar | undefined;

  beforeEach(() => {
    vi.useFakeTimers();
    bus = new EventBus<SchedulerEvent>();
  });
  afterEach(() => {
    bar?.stop();
    bar = undefined;
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  const make = (stream: FakeStream, showAfterMs?: number) =>
    (bar = new ConsoleProgressBar(bus, { stream, now: () => Date.now(), ...(showAfterMs === undefined ? {} : { showAfterMs }) }));

  it('draws a stage in Spark format once it has run longer than 500 ms', () => {
    const stream = new FakeStream(true, 40);
    make(stream);
    submit(bus, 3, 40);
    progress(bus, 3, 12, 2);
    vi.advanceTimersByTime(400);
    expect(stream.writes).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(stream.writes).toHaveLength(1);
    expect(stream.writes[0]).toBe('\r[Stage 3:=====>           (12 + 2) / 40]\r');
    expect(stream.screen).toHaveLength(40);
  });

  it('honours a configured threshold and never shows stages that finish before it', () => {
    const stream = new FakeStream(true, 80);
    make(stream, 1000);
    submit(bus, 0, 4);
    vi.advanceTimersByTime(800);
    complete(bus, 0);
    submit(bus, 1, 4);
    vi.advanceTimersByTime(800);
    expect(stream.writes).toEqual([]);
    vi.advanceTimersByTime(400);
    expect(stream.screen).toContain('[Stage 1:');
    expect(stream.screen).not.toContain('[Stage 0:');
  });

  it('prints concurrent stages side by side, splitting the width', () => {
    const stream = new FakeStream(true, 80);
    make(stream);
    submit(bus, 1, 8);
    submit(bus, 2, 4);
    progress(bus, 1, 3, 1);
    progress(bus, 2, 0, 1);
    vi.advanceTimersByTime(600);
    const screen = stream.screen;
    expect(screen).toMatch(/^\[Stage 1:=+> +\(3 \+ 1\) \/ 8\]\[Stage 2:> +\(0 \+ 1\) \/ 4\]$/);
    expect(screen).toHaveLength(80);
  });

  it('shows at most three stages, lowest ids first', () => {
    const stream = new FakeStream(true, 120);
    make(stream);
    for (const id of [5, 4, 3, 2]) submit(bus, id, 2);
    vi.advanceTimersByTime(600);
    expect(stream.screen.match(/\[Stage (\d+):/g)).toEqual(['[Stage 2:', '[Stage 3:', '[Stage 4:']);
  });

  it('shows failed and speculative counts only when non-zero', () => {
    const stream = new FakeStream(true, 80);
    make(stream);
    submit(bus, 7, 40);
    progress(bus, 7, 12, 2);
    start(bus, 7, 20);
    end(bus, 7, 20, 'failed');
    vi.advanceTimersByTime(600);
    expect(stream.screen).toMatch(/\(12 \+ 2, 1 failed\) \/ 40\]$/);
    start(bus, 7, 0, true);
    vi.advanceTimersByTime(200);
    expect(stream.screen).toMatch(/\(12 \+ 3, 1 failed, 1 speculative\) \/ 40\]$/);
    end(bus, 7, 0, 'killed', true);
    end(bus, 7, 12);
    vi.advanceTimersByTime(200);
    expect(stream.screen).toMatch(/\(13 \+ 1, 1 failed\) \/ 40\]$/);
  });

  it('counts a partition finished by both an original and a speculative copy once', () => {
    const stream = new FakeStream(true, 80);
    make(stream);
    submit(bus, 0, 2);
    start(bus, 0, 0);
    start(bus, 0, 0, true);
    end(bus, 0, 0);
    end(bus, 0, 0, 'success', true);
    vi.advanceTimersByTime(600);
    expect(stream.screen).toMatch(/\(1 \+ 0\) \/ 2\]$/);
  });

  it('refreshes at most every refresh period and skips unchanged lines', () => {
    const stream = new FakeStream(true, 80);
    make(stream);
    submit(bus, 0, 100);
    vi.advanceTimersByTime(600);
    const before = stream.writes.length;
    for (let i = 0; i < 50; i++) {
      start(bus, 0, i);
      end(bus, 0, i);
      vi.advanceTimersByTime(10);
    }
    // 500 ms of events: two or three ticks, not fifty writes.
    expect(stream.writes.length - before).toBeLessThanOrEqual(3);
    vi.advanceTimersByTime(200); // draws the last change
    expect(stream.screen).toMatch(/\(50 \+ 0\) \/ 100\]$/);
    const settled = stream.writes.length;
    vi.advanceTimersByTime(2000);
    expect(stream.writes.length).toBe(settled);
  });

  it('wipes the line when the last stage completes and stops its timer', () => {
    const stream = new FakeStream(true, 60);
    make(stream);
    submit(bus, 1, 4);
    submit(bus, 2, 4);
    vi.advanceTimersByTime(600);
    const drawn = stream.screen;
    complete(bus, 1);
    vi.advanceTimersByTime(200);
    // The shorter one-stage line is padded over the old two-stage text.
    const oneStage = stream.writes.at(-1) ?? '';
    expect(oneStage.replaceAll('\r', '').length).toBe(drawn.length);
    expect(stream.screen).not.toContain('[Stage 1:');
    complete(bus, 2);
    expect(stream.writes.at(-1)).toBe(`\r${' '.repeat(60)}\r`);
    expect(vi.getTimerCount()).toBe(0);
    const count = stream.writes.length;
    vi.advanceTimersByTime(1000);
    expect(stream.writes.length).toBe(count);
  });

  it('drops the stages of an ended job even without stage completion events', () => {
    const stream = new FakeStream(true, 80);
    make(stream);
    submit(bus, 1, 4, 9);
    vi.advanceTimersByTime(600);
    expect(stream.screen).toContain('[Stage 1:');
    bus.emit({ type: 'jobEnd', jobId: 9, time: Date.now(), result: 'failed', error: 'x' });
    expect(stream.screen).toBe('');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('follows a resubmitted stage attempt and ignores tasks of the old attempt', () => {
    const stream = new FakeStream(true, 80);
    make(stream);
    submit(bus, 4, 10);
    progress(bus, 4, 6, 0);
    submit(bus, 4, 3, 0, 1);
    start(bus, 4, 9); // attempt 0: stale
    vi.advanceTimersByTime(600);
    expect(stream.screen).toMatch(/\(0 \+ 0\) \/ 3\]$/);
  });

  it('prints a skewed stage at its end, one line above the bar, which is drawn again after it', () => {
    const stream = new FakeStream(true, 80);
    make(stream);
    submit(bus, 0, 4);
    submit(bus, 1, 4);
    progress(bus, 1, 2, 1);
    vi.advanceTimersByTime(600);
    const bar = stream.screen;
    expect(bar).toContain('[Stage 1:');
    const skew = { partition: 2, runMs: 1500, medianMs: 40, records: 9000, medianRecords: 12, keySample: ['"hot"'] };
    bus.emit({ type: 'stageCompleted', jobId: 0, stageId: 0, attempt: 0, time: Date.now(), result: 'succeeded', skew });
    // The drawn bar is wiped first, so the line does not run into it.
    expect(stream.writes.at(-2)).toBe(`\r${' '.repeat(bar.length)}\r`);
    expect(stream.writes.at(-1)).toBe(
      'kindling: stage 0 is skewed: partition 2 computed 1500 ms (median 40 ms) over 9000 records (median 12), keys "hot"; repartition or salt the hot key?\n',
    );
    vi.advanceTimersByTime(200);
    expect(stream.screen).toContain('[Stage 1:');
    // A stage without skew prints nothing at its end.
    const writes = stream.writes.length;
    complete(bus, 1);
    expect(stream.writes.slice(writes).join('')).not.toContain('skewed');
  });

  it('is silent on a non-TTY stream and does not even subscribe', () => {
    const stream = new FakeStream(false, 80);
    make(stream);
    expect(bus.hasListeners()).toBe(false);
    submit(bus, 0, 4);
    vi.advanceTimersByTime(5000);
    expect(stream.writes).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stop removes listeners and timers and wipes a drawn line', () => {
    const stream = new FakeStream(true, 50);
    make(stream);
    submit(bus, 0, 4);
    vi.advanceTimersByTime(600);
    expect(stream.screen).not.toBe('');
    bar?.stop();
    expect(stream.writes.at(-1)).toBe(`\r${' '.repeat(50)}\r`);
    expect(bus.hasListeners()).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    bar?.stop();
  });

  it('falls back to 80 columns and drops the bar when a stage is too narrow', () => {
    const stream = new FakeStream(true);
    make(stream);
    submit(bus, 0, 10);
    vi.advanceTimersByTime(600);
    expect(stream.screen).toHaveLength(80);
    bar?.stop();
    const narrow = new FakeStream(true, 10);
    make(narrow);
    submit(bus, 0, 10);
    vi.advanceTimersByTime(600);
    expect(narrow.screen).toBe('[Stage 0:(0 + 0) / 10]');
  });
});

describe('ConsoleProgressBar timers', () => {
  it('never keeps the process alive: its refresh timer is unref-ed', () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    const bus = new EventBus<SchedulerEvent>();
    const bar = new ConsoleProgressBar(bus, { stream: new FakeStream(true, 80) });
    submit(bus, 0, 1);
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    bar.stop();
    spy.mockRestore();
  });
});
