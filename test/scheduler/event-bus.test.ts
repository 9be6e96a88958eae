import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../src/scheduler/event-bus.js';
import type { SchedulerEvent, TaskEndEvent } from '../../src/scheduler/events.js';

const taskEnd = (partition: number): TaskEndEvent => ({
  type: 'taskEnd',
  stageId: 1,
  stageAttempt: 0,
  partition,
  attempt: 0,
  workerIndex: 0,
  executorId: '0',
  speculative: false,
  result: 'success',
  durationMs: 5,
  locality: 'NO_PREF',
  time: 0,
});
const jobEnd: SchedulerEvent = { type: 'jobEnd', jobId: 1, time: 0, result: 'succeeded' };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('EventBus', () => {
  it('delivers events to listeners of their type, then to catch-all listeners', () => {
    const bus = new EventBus<SchedulerEvent>();
    const seen: string[] = [];
    bus.onAny((e) => seen.push(`any:${e.type}`));
    bus.on('taskEnd', (e) => seen.push(`taskEnd:${e.partition}`));
    bus.on('jobEnd', (e) => seen.push(`jobEnd:${e.jobId}`));
    bus.emit(taskEnd(7));
    bus.emit(jobEnd);
    expect(seen).toEqual(['taskEnd:7', 'any:taskEnd', 'jobEnd:1', 'any:jobEnd']);
  });

  it('unsubscribes, idempotently, and reports hasListeners accordingly', () => {
    const bus = new EventBus<SchedulerEvent>();
    expect(bus.hasListeners()).toBe(false);
    expect(bus.hasListeners('taskEnd')).toBe(false);
    const calls: number[] = [];
    const off1 = bus.on('taskEnd', () => calls.push(1));
    const off2 = bus.on('taskEnd', () => calls.push(2));
    expect(bus.hasListeners('taskEnd')).toBe(true);
    expect(bus.hasListeners('taskStart')).toBe(false);
    off1();
    off1();
    bus.emit(taskEnd(0));
    expect(calls).toEqual([2]);
    off2();
    expect(bus.hasListeners('taskEnd')).toBe(false);
    const offAny = bus.onAny(() => calls.push(3));
    expect(bus.hasListeners('taskStart')).toBe(true);
    offAny();
    expect(bus.hasListeners()).toBe(false);
    bus.emit(taskEnd(0));
    expect(calls).toEqual([2]);
  });

  it('subscribing the same function twice delivers twice and unsubscribes one at a time', () => {
    const bus = new EventBus<SchedulerEvent>();
    let n = 0;
    const f = () => void n++;
    const offA = bus.on('jobEnd', f);
    bus.on('jobEnd', f);
    bus.emit(jobEnd);
    offA();
    bus.emit(jobEnd);
    expect(n).toBe(3);
  });

  it('keeps going when a listener throws, and warns once per listener with the event type', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const bus = new EventBus<SchedulerEvent>();
    const after: number[] = [];
    bus.on('taskEnd', () => {
      throw new Error('boom');
    });
    bus.onAny(() => {
      throw new Error('bang');
    });
    bus.on('taskEnd', (e) => after.push(e.partition));
    expect(() => {
      bus.emit(taskEnd(1));
      bus.emit(taskEnd(2));
      bus.emit(taskEnd(3));
    }).not.toThrow();
    expect(after).toEqual([1, 2, 3]);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[0]?.[0])).toContain("'taskEnd'");
    expect((warn.mock.calls[0]?.[1] as Error).message).toBe('boom');
    expect((warn.mock.calls[1]?.[1] as Error).message).toBe('bang');
  });

  it('reports a rejected promise from an async listener instead of leaving it unhandled', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const bus = new EventBus<SchedulerEvent>();
    bus.on('jobEnd', async () => {
      throw new Error('async boom');
    });
    bus.emit(jobEnd);
    bus.emit(jobEnd);
    await new Promise((r) => setTimeout(r, 0));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain("'jobEnd'");
  });

  it('lets a listener unsubscribe itself or another mid-dispatch without disturbing the current emit', () => {
    const bus = new EventBus<SchedulerEvent>();
    const seen: string[] = [];
    let offB: () => void = () => {};
    const offA = bus.on('jobEnd', () => {
      seen.push('a');
      offA();
      offB();
    });
    offB = bus.on('jobEnd', () => seen.push('b'));
    bus.emit(jobEnd);
    bus.emit(jobEnd);
    expect(seen).toEqual(['a', 'b']);
    expect(bus.hasListeners()).toBe(false);
  });

  it('supports nested emits from within a listener', () => {
    const bus = new EventBus<SchedulerEvent>();
    const seen: string[] = [];
    bus.on('taskEnd', () => {
      seen.push('taskEnd');
      bus.emit(jobEnd);
    });
    bus.on('jobEnd', () => seen.push('jobEnd'));
    bus.emit(taskEnd(0));
    expect(seen).toEqual(['taskEnd', 'jobEnd']);
  });

  it('gives a batched catch-all listener its batch events instead of the batched types; other catch-all listeners no batches', () => {
    const bus = new EventBus<SchedulerEvent>();
    const batched: string[] = [];
    const plain: string[] = [];
    const TYPES = ['taskStart', 'taskEnd', 'taskBatch'] as const;
    expect(bus.listenedMask(TYPES)).toBe(0);
    const offBatched = bus.onAny((e) => void batched.push(e.type), { batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] } });
    expect(bus.hasListeners('taskEnd')).toBe(false);
    expect(bus.hasListeners('taskBatch')).toBe(true);
    expect(bus.hasListeners('jobEnd')).toBe(true);
    expect(bus.listenedMask(TYPES)).toBe(4);
    const offPlain = bus.onAny((e) => void plain.push(e.type));
    expect(bus.hasListeners('taskEnd')).toBe(true);
    expect(bus.listenedMask(TYPES)).toBe(3 | 4);
    bus.emit(taskEnd(0));
    bus.emit({ type: 'taskBatch', tasks: { size: 1, event: () => taskEnd(1) } });
    bus.emit(jobEnd);
    expect(batched).toEqual(['taskBatch', 'jobEnd']);
    expect(plain).toEqual(['taskEnd', 'jobEnd']);
    offBatched();
    // Without a batched listener, a catch-all one gets every type again (nobody emits batches then).
    expect(bus.listenedMask(TYPES)).toBe(1 | 2 | 4);
    bus.emit({ type: 'taskBatch', tasks: { size: 0, event: () => taskEnd(0) } });
    expect(plain.at(-1)).toBe('taskBatch');
    offPlain();
    expect(bus.listenedMask(TYPES)).toBe(0);
  });

  it('runs what is held before the next event of a type not taken in batches, once, and at flushHeld', () => {
    const bus = new EventBus<SchedulerEvent>();
    const seen: string[] = [];
    bus.onAny((e) => void seen.push(e.type === 'taskBatch' ? `batch:${e.tasks.size}` : e.type), {
      batched: { type: 'taskBatch', of: ['taskStart', 'taskEnd'] },
    });
    bus.on('taskEnd', (e) => void seen.push(`taskEnd:${e.partition}`));
    let flushes = 0;
    const hold = () =>
      bus.hold(() => {
        flushes++;
        bus.emit({ type: 'taskBatch', tasks: { size: 2, event: () => taskEnd(0) } });
      });
    hold();
    // A task event taken one by one by another listener does not deliver the batch before it.
    bus.emit(taskEnd(7));
    expect(flushes).toBe(0);
    bus.emit(jobEnd);
    expect(seen).toEqual(['taskEnd:7', 'batch:2', 'jobEnd']);
    bus.emit(jobEnd);
    expect(flushes).toBe(1);
    hold();
    bus.flushHeld();
    bus.flushHeld();
    expect(flushes).toBe(2);
    expect(seen.at(-1)).toBe('batch:2');
  });

  it('changes its generation at every subscription and unsubscription (listenedMask remembers what it said until then)', () => {
    const bus = new EventBus<SchedulerEvent>();
    const seen = [bus.generation];
    const next = () => {
      expect(seen).not.toContain(bus.generation);
      seen.push(bus.generation);
    };
    const offTyped = bus.on('taskEnd', () => {});
    next();
    const offAny = bus.onAny(() => {}, { batched: { type: 'taskBatch', of: ['taskEnd'] } });
    next();
    offTyped();
    next();
    offTyped(); // a second call removes nothing, and changes nothing
    expect(bus.generation).toBe(seen.at(-1));
    offAny();
    next();
    bus.emit(jobEnd);
    expect(bus.generation).toBe(seen.at(-1));
    bus.on('jobEnd', () => {});
    next();
    bus.clear();
    next();
  });

  it('clear removes every listener', () => {
    const bus = new EventBus<SchedulerEvent>();
    let n = 0;
    bus.on('jobEnd', () => void n++);
    bus.onAny(() => void n++);
    bus.clear();
    bus.emit(jobEnd);
    expect(n).toBe(0);
    expect(bus.hasListeners()).toBe(false);
  });

  it('emitting with no listeners reads nothing of the event but its type, and calls nothing', () => {
    // The cost bound (1M emits under 500 ms) is in bench/hot-path-bounds.ts: a wall-clock bound failed on a loaded
    // machine. Here, what makes it cheap: no listener, no work per call beyond finding none for the type.
    const bus = new EventBus<SchedulerEvent>();
    const reads: PropertyKey[] = [];
    const e = new Proxy(taskEnd(0), {
      get(target, key, receiver) {
        reads.push(key);
        return Reflect.get(target, key, receiver);
      },
    });
    expect(bus.hasListeners('taskEnd')).toBe(false);
    expect(bus.hasListeners()).toBe(false);
    for (let i = 0; i < 1000; i++) bus.emit(e);
    expect(new Set(reads)).toEqual(new Set(['type']));
    expect(reads).toHaveLength(1000);
    // A listener of another type does not change that: the event is looked up by type and goes nowhere.
    let seen = 0;
    const off = bus.on('jobEnd', () => void seen++);
    reads.length = 0;
    bus.emit(e);
    expect(reads).toEqual(['type']);
    expect(seen).toBe(0);
    off();
  });
});
