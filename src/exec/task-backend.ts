/**
 * The task backend: where tasks run. The scheduler sees only this interface, so a later backend can run
 * executors in other processes or machines; nothing behind it may assume memory shared with the driver.
 *
 * Contract: `runTask` never rejects and always settles: a task on a worker that dies comes back as a
 * `workerLost` failure. After a worker is lost the backend replaces it and reports when the new one is ready.
 */
import type { TaskMessage, TaskOutcome } from './protocol.js';

export interface BackendListener {
  /** A worker died: its in-flight tasks have failed, its shuffle outputs and cached blocks are gone. */
  workerLost(index: number, reason: string): void;
  /** A replacement worker (or the first one) at `index` accepts tasks. */
  workerReady(index: number, replacement: boolean): void;
  /** A replacement could not start: the worker stays down. */
  workerFailed(index: number, reason: string): void;
}

export interface TaskBackend {
  readonly numWorkers: number;
  /** Resolves when every worker has started; rejects if one cannot start. */
  ready(): Promise<void>;
  setListener(listener: BackendListener): void;
  isAvailable(index: number): boolean;
  runTask(workerIndex: number, task: TaskMessage): Promise<TaskOutcome>;
  /** Best effort cancellation of a task (see WorkerApi.cancelTask). */
  cancelTask(workerIndex: number, taskId: number): void;
  removeShuffle(shuffleId: number): void;
  removeRdd(rddId: number): Promise<void>;
  removeBroadcast(id: number): void;
  /** Fault injection: terminates a worker abruptly. */
  killWorker(index: number): Promise<void>;
  stop(): Promise<void>;
}
