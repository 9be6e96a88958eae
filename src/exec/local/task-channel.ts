/**
 * The task path to a worker thread, beside comlink on the same channel (so a task never overtakes a peer's port
 * or a removal sent before it). comlink costs a call id made of four random numbers printed in hex, a Proxy with a
 * FinalizationRegistry entry, and a message and a wake-up of the other thread per call; at thousands of tasks per
 * second those were a large part of the driver's time. Here the tasks a worker is given in one turn of the
 * driver go in one message ({@link RunTasks}), and the worker sends the outcomes of the tasks that ended in one
 * of its turns in one message ({@link TaskOutcomes}). comlink's listeners ignore both: they carry no call `id`
 * (the driver's side) and no call `type` (the worker's side).
 */
import { DefaultSerializer } from 'node:v8';
import { unsendable, type TaskMessage } from '../protocol.js';
import { hop, hopAt, hopTraceOn } from '../../util/hop-trace.js';
import type { PostedOutcome } from './worker-api.js';

/**
 * Driver to worker: tasks to run, in launch order, after dropping the stages in `releaseStages` (no active job
 * needs them; see Executor.releaseStages). A release rides with the tasks sent in the same turn instead of being a
 * call of its own: one job's end and the next job's first tasks are then one message per worker, not three (the
 * call, its answer, the tasks), on the driver's path between an iterative program's jobs.
 */
export interface RunTasks {
  readonly runTasks: readonly TaskMessage[];
  readonly releaseStages?: readonly number[];
  /** Cached RDDs to drop (see {@link RddRemoval}), before the tasks, as the release. */
  readonly removeRdds?: readonly RddRemoval[];
}

/**
 * An RDD's cached blocks to drop on the worker (BlockManager.removeRdd): all of them, or with `beforeGeneration` only
 * older generations'. It rides with the tasks like a release: an iterative program that unpersists the previous
 * iteration's RDD (PageRank's ranks) made a comlink call and its answer per worker between two jobs, on the driver's
 * path while the workers idle, and nobody reads the answer (unpersist() does not wait, as in Spark).
 */
export interface RddRemoval {
  readonly rddId: number;
  readonly beforeGeneration?: number;
}

/** Worker to driver: `outcomes[i]` is the outcome of task `taskIds[i]`. */
export interface TaskOutcomes {
  readonly taskIds: readonly number[];
  readonly outcomes: readonly PostedOutcome[];
}

/** What a channel needs of a Worker (or a MessagePort). */
export interface TaskPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** The failure of a task or outcome the structured clone refused (a function or a symbol in it). */
export function uncloneable(taskId: number, epoch: number, e: unknown, where: string): PostedOutcome {
  return {
    status: 'failed',
    epoch,
    failure: {
      kind: 'exception',
      error: { name: 'DataCloneError', message: `task ${taskId} could not be ${where}: ${(e as Error)?.message ?? e}` },
    },
    blockUpdates: [],
  };
}

/**
 * One turn of the event loop's sending for the channels of one pool: the channels that queued tasks in this turn
 * send them together at its end (one setImmediate, not one per channel).
 */
export class TaskSendTurn {
  #channels: TaskChannel[] = [];
  #sending: TaskChannel[] = [];
  #queued = false;
  readonly #run = (): void => this.#send();

  /** `channel` has tasks queued: it sends them at the end of this turn. */
  queue(channel: TaskChannel): void {
    this.#channels.push(channel);
    if (this.#queued) return;
    this.#queued = true;
    setImmediate(this.#run);
  }

  #send(): void {
    this.#queued = false;
    // Swapped, not copied: a flush may queue for the next turn while these send.
    const channels = this.#channels;
    this.#channels = this.#sending;
    this.#sending = channels;
    for (let i = 0; i < channels.length; i++) channels[i]!.flush();
    channels.length = 0;
  }
}

/**
 * The driver's end: `send` queues a task and sends the queue at the end of this turn of the event loop
 * (setImmediate), not of this microtask turn: a driver slower than its workers finds several of their outcome
 * messages waiting, each handled with its own microtask turn, and the tasks launched for all of them go in one
 * message. Each task settles on its own, when its outcome arrives; a task whose worker dies is settled by whoever
 * watches the worker (the channel knows nothing of it).
 */
export class TaskChannel {
  readonly #port: TaskPort;
  readonly #pending = new Map<number, (o: PostedOutcome) => void>();
  #queue: TaskMessage[] = [];
  /** Stages to release, sent before the tasks queued after the release. */
  #release: number[] = [];
  /** Cached RDDs to drop, sent as the release is. */
  #removals: RddRemoval[] = [];
  #flushQueued = false;
  readonly #flush = (): void => this.flush();

  readonly #turn: TaskSendTurn | undefined;

  /** With `turn`, this channel sends with the other channels of that turn (see {@link TaskSendTurn}). */
  constructor(port: TaskPort, turn?: TaskSendTurn) {
    this.#port = port;
    this.#turn = turn;
    port.on('message', (m) => {
      const batch = m as Partial<TaskOutcomes> | null;
      if (batch === null || typeof batch !== 'object' || batch.taskIds === undefined) return;
      const { taskIds, outcomes } = batch as TaskOutcomes;
      hop('chan.outcomes', -1, taskIds.length);
      for (let i = 0; i < taskIds.length; i++) {
        const settle = this.#pending.get(taskIds[i]!);
        if (settle === undefined) continue;
        this.#pending.delete(taskIds[i]!);
        settle(outcomes[i]!);
      }
    });
  }

  send(task: TaskMessage, settle: (o: PostedOutcome) => void): void {
    this.#pending.set(task.taskId, settle);
    this.#queue.push(task);
    this.#flushLater();
  }

  /**
   * Asks the worker to drop these stages' descriptions and rebuilt RDDs, with the next tasks or at the end of this
   * turn. Tasks queued before the release go first, as they would had the release been a call of its own.
   */
  releaseStages(stageIds: readonly number[]): void {
    if (this.#queue.length > 0) this.flush();
    for (let i = 0; i < stageIds.length; i++) this.#release.push(stageIds[i]!);
    this.#flushLater();
  }

  /**
   * Asks the worker to drop an RDD's cached blocks, with the next tasks or at the end of this turn, as
   * {@link releaseStages}: tasks queued before the removal go first (one of them may cache a block of the RDD, which
   * the removal must then drop), and a comlink call made after it flushes it first (see the pool's `call`).
   */
  removeRdd(rddId: number, beforeGeneration?: number): void {
    if (this.#queue.length > 0) this.flush();
    this.#removals.push(beforeGeneration === undefined ? { rddId } : { rddId, beforeGeneration });
    this.#flushLater();
  }

  #flushLater(): void {
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      if (this.#turn !== undefined) this.#turn.queue(this);
      else setImmediate(this.#flush);
    }
  }

  /**
   * Sends the queued tasks now: before any other message to the same worker (a cancellation, a removal), which
   * must not arrive ahead of a task launched before it.
   */
  flush(): void {
    this.#flushQueued = false;
    if (this.#queue.length === 0 && this.#release.length === 0 && this.#removals.length === 0) return;
    const tasks = this.#queue;
    this.#queue = [];
    const releaseStages = this.#release;
    if (releaseStages.length > 0) this.#release = [];
    const removeRdds = this.#removals;
    if (removeRdds.length > 0) this.#removals = [];
    const before = releaseStages.length > 0 || removeRdds.length > 0 ? chores(releaseStages, removeRdds) : undefined;
    try {
      if (hopTraceOn) traceSize(tasks);
      this.#port.postMessage((before !== undefined ? { runTasks: tasks, ...before } : { runTasks: tasks }) satisfies RunTasks);
      hop('chan.posted', tasks[0]?.jobId ?? -1, tasks.length);
    } catch {
      // One task the clone refuses must not fail the others sent with it (stage ids and removals always clone).
      if (before !== undefined) this.#port.postMessage({ runTasks: [], ...before } satisfies RunTasks);
      for (const task of tasks) {
        try {
          this.#port.postMessage({ runTasks: [task] } satisfies RunTasks);
        } catch (e) {
          const settle = this.#pending.get(task.taskId);
          this.#pending.delete(task.taskId);
          settle?.(unsendable(task.taskId, task.epoch, e, 'sent to its worker'));
        }
      }
    }
  }
}

/** What a message does before its tasks: the fields of {@link RunTasks} that are there. */
function chores(releaseStages: readonly number[], removeRdds: readonly RddRemoval[]): Pick<RunTasks, 'releaseStages' | 'removeRdds'> {
  if (removeRdds.length === 0) return { releaseStages };
  return releaseStages.length === 0 ? { removeRdds } : { releaseStages, removeRdds };
}

/**
 * The trace's `chan.post` step with the message's size, measured a turn later and as the post moves it: views over
 * shared memory (a reduce task's shared buckets) are shared by the post, not copied, so they count apart. Serializing
 * them by value, before the post, copied every shared bucket (0.2 ms quiet, 1.6–2.9 ms a post at load 11) into the
 * hand-off the trace times, held back the next worker's post, and reported a reduce task's message as ~885 KB.
 */
function traceSize(tasks: readonly TaskMessage[]): void {
  const t = performance.now();
  setImmediate(() => {
    let detail = `${tasks.length} tasks`;
    try {
      const size = new PostedSize();
      size.writeHeader();
      size.writeValue(tasks);
      detail += ` ${size.releaseBuffer().length} B${size.shared > 0 ? ` + ${size.shared} B shared` : ''}`;
    } catch {
      // A task the clone refuses (it fails alone, see flush): the trace records the post without its size.
    }
    hopAt(t, 'chan.post', tasks[0]?.jobId ?? -1, detail);
  });
}

/** Node's serializer, but a view over shared memory is counted instead of copied (see traceSize). */
class PostedSize extends DefaultSerializer {
  shared = 0;
  // Node's hook for views (not in its type declarations): DefaultSerializer copies a view's bytes.
  _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object) && object.buffer instanceof SharedArrayBuffer) {
      this.shared += object.byteLength;
      this.writeUint32(0);
      return;
    }
    (DefaultSerializer.prototype as unknown as { _writeHostObject(o: object): void })._writeHostObject.call(this, object);
  }
}
