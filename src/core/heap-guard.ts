/**
 * A worker's guard against its heap limit. Node's worker heap limit (`resourceLimits.maxOldGenerationSizeMb`, the
 * context's `memory.workerMB`) is best effort: V8 thrashes near it, then the worker dies, and an allocation that
 * overshoots before the termination lands (one array grown by `push`, a large deserialization) aborts the whole
 * process (nodejs/node#47224). Code that accumulates data in a task (combine tables, merged groups, fetched
 * input) calls {@link checkHeap} now and then; when the old generation nears the limit, the guard spills what the
 * worker's shuffle pool can spill, collects garbage, and if the live heap is still too close to the limit fails
 * the task with a {@link HeapLimitError} naming what grew. The task fails like any other (retried, then the job
 * fails with it), the worker lives on, and its heap is freed as the task's data becomes garbage.
 *
 * Cheap by design: callers check every few thousand records or every few milliseconds; a check reads one heap
 * statistic, and only near the limit does it look closer (spill, full GC).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { isMainThread, resourceLimits } from 'node:worker_threads';
import { HeapLimitError } from './errors.js';
import { checkInterrupted } from './task-interrupt.js';

/** Old-generation use at which a check looks closer (spills, collects, measures what is live). */
const LOOK_AT = 0.65;
/** Live old generation, after spilling and a full GC, at which the task fails. */
const FAIL_AT = 0.8;
/** A caller checking by time checks at most this often. */
const CHECK_EVERY_MS = 2;

let limitBytes = 0;
let lookAt = Number.POSITIVE_INFINITY;
let collect: (() => void) | undefined;
let relieve: (() => void) | undefined;
let task: GuardedTask | undefined;
let checkAt = 0;

/** What the guard can do to free memory before it fails a task: spill the worker's shuffle pool. */
export function setHeapRelief(f: (() => void) | undefined): void {
  relieve = f;
}

/** A task as error messages name it. */
export interface GuardedTask {
  readonly kind: 'map' | 'result';
  readonly partition: number;
  readonly stage: number;
  readonly job: number;
}

/**
 * The task computing now, which error messages name; undefined between tasks. A worker interleaves tasks only
 * while they await (admission, fetches), so the executor sets it again before each synchronous part.
 */
export function setHeapGuardTask(t: GuardedTask | undefined): void {
  task = t;
}

/** Forgets `t` if it is still the one set (another task may have started since). */
export function clearHeapGuardTask(t: GuardedTask): void {
  if (task === t) task = undefined;
}

/**
 * Arms the guard for this thread's old-generation limit in MiB (a worker's `resourceLimits`, by default); 0
 * disarms it. Without a limit (the driver, unit tests in the main thread) every check returns at once.
 */
export function armHeapGuard(limitMb: number = !isMainThread ? (resourceLimits.maxOldGenerationSizeMb ?? 0) : 0): void {
  limitBytes = limitMb > 0 ? limitMb * 2 ** 20 : 0;
  lookAt = limitBytes > 0 ? LOOK_AT * limitBytes : Number.POSITIVE_INFINITY;
  // `gc` is made when first needed, not here at a worker's start: V8 flags are per process, and a sibling worker
  // compiling the bundle while this one toggled --expose-gc saw other flags and rejected its code cache (CI, session 23).
}

/** The guard's limit in bytes (0: disarmed). */
export function heapGuardLimit(): number {
  return limitBytes;
}

/**
 * A full collection on demand. `--expose-gc` cannot be passed to a worker thread, so the flag is set for the
 * moment it takes to make one context that has `gc`, then cleared again (V8 flags are per process).
 */
function exposeGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

/** Bytes of the old generation in use (what the limit bounds); the young generation is left out. */
function oldGenerationUsed(): number {
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space') used += s.space_used_size;
  }
  return used;
}

/**
 * Checks the heap; throws a {@link HeapLimitError} for `what` (e.g. "the combine table of RDD 7 (groupByKey at
 * x.ts:3)") when the live heap, plus `needBytes` about to be allocated in one step (a frame to deserialize),
 * stays too close to the limit after spilling and a full collection. `hint` is the advice the message ends with.
 */
export function checkHeap(what: () => string, hint?: string, needBytes = 0): void {
  // The total includes the young generation, so it bounds the old generation from above: one statistic
  // decides the common case.
  if (v8.getHeapStatistics().used_heap_size + needBytes < lookAt) return;
  if (oldGenerationUsed() + needBytes < lookAt) return;
  relieve?.();
  (collect ??= exposeGc())?.();
  // Young objects that survived the collection count too: they are promoted into the old generation, whose
  // limit is the one V8 enforces.
  const live = v8.getHeapStatistics().used_heap_size;
  if (live + needBytes >= FAIL_AT * limitBytes) {
    lookAt = LOOK_AT * limitBytes;
    throw new HeapLimitError(heapLimitMessage(what(), live, needBytes, hint));
  }
  // Look again once half of the room left below the failing point is used (the step just checked counted as
  // taken, so the same step asked again does not collect again): a heap that stays near the point is collected a
  // few times more, a heap that fell back is looked at from the usual point.
  const planned = live + needBytes;
  lookAt = Math.max(LOOK_AT * limitBytes, planned + (FAIL_AT * limitBytes - planned) / 2);
}

/**
 * Whether `needBytes` more fit below the point where {@link checkHeap} would start collecting, without collecting:
 * for work that may as well wait for the checked path (an early fetch request).
 */
export function heapHasRoom(needBytes: number): boolean {
  return limitBytes === 0 || v8.getHeapStatistics().used_heap_size + needBytes < lookAt;
}

/** As {@link checkHeap}, for loops whose steps vary in size (merging groups): at most every few milliseconds. */
export function checkHeapByTime(what: () => string, hint?: string): void {
  // Its callers loop over records inside a task's computation: a point where the task may be told to stop.
  checkInterrupted();
  if (limitBytes === 0) return;
  const now = performance.now();
  if (now < checkAt) return;
  checkAt = now + CHECK_EVERY_MS;
  checkHeap(what, hint);
}

const MiB = (n: number): string => `${Math.round(n / 2 ** 20)} MiB`;

function heapLimitMessage(what: string, live: number, need: number, hint: string | undefined): string {
  const needs = need >= 2 ** 20 ? `~${MiB(need)} more on top of ~${MiB(live)}` : `~${MiB(live)}`;
  return (
    `${task === undefined ? 'a task' : `${task.kind} task for partition ${task.partition} of stage ${task.stage} (job ${task.job})`}: ${what} needs ${needs} of live heap after spilling what could spill, ` +
    `over ${Math.round(FAIL_AT * 100)} % of the worker's heap limit ${MiB(limitBytes)} (the context's memory.workerMB); ` +
    (hint ?? 'use more partitions, or raise memory.workerMB')
  );
}
