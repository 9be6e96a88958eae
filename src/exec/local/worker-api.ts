/**
 * What the driver calls on a worker thread of the local backend, over comlink. Peer channels are MessagePorts
 * here; other transports connect peers their own way, so this interface stays inside `local/`.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Bucket } from '../../shuffle/wire.js';
import type { BlockUpdate } from '../../storage/block-update.js';
import type { TaskMessage, TaskOutcome } from '../protocol.js';
import { decodeBucket, type EncodedBucket } from '../../shuffle/bucket-codec.js';

/**
 * A task outcome as it crosses the thread boundary: a large result that is a list of pairs travels as columns
 * (`pairs`, typed arrays transferred, see bucket-codec.ts) instead of `value`; the pool turns it back into the
 * list before anything else sees the outcome.
 */
export type PostedOutcome = TaskOutcome | (Extract<TaskOutcome, { status: 'success' }> & { readonly pairs: EncodedBucket });

/**
 * The outcome as the executor returned it: a result posted as columns becomes its list of pairs again (on the
 * driver: the local backend's pool, and a cluster's backend after the columns crossed Redis or TCP as they are).
 * With `keepColumns` (a task whose action reads columns, see {@link readsPairColumns}) the columns are the value.
 */
export function unpackOutcome(o: PostedOutcome, keepColumns = false): TaskOutcome {
  if (!('pairs' in o)) return o;
  const { pairs, ...rest } = o;
  return { ...rest, value: keepColumns ? pairs : decodeBucket(pairs) };
}

/** Whether the action of `task` takes a list of pairs as the columns it travelled in (collectAsMap's collect). */
export function readsPairColumns(task: TaskMessage): boolean {
  return task.resultFn?.kind === 'collect' && task.resultFn.pairColumns === true;
}

/** What a worker serves to its peers: shuffle buckets it holds. */
export interface ShuffleService {
  /** Buckets `reduceId` of the given map outputs, in the order asked; throws naming a missing one. */
  fetchBuckets(shuffleId: number, mapIds: readonly number[], reduceId: number): Bucket[];
}

/** What the driver calls on a worker over comlink (tasks and their outcomes travel beside it: task-channel.ts). */
export interface WorkerApi extends ShuffleService {
  /**
   * Connects this worker to incarnation `epoch` of peer `index`: `callPort` reaches the peer's shuffle service,
   * `servePort` serves it ours. Replaces any channel to an older incarnation.
   */
  connectPeer(index: number, epoch: number, callPort: MessagePort | null, servePort: MessagePort | null): void;
  removeShuffle(shuffleId: number): void;
  removeRdd(rddId: number, beforeGeneration?: number): BlockUpdate[];
  removeBroadcast(id: number): void;
  /** Best effort: a task still waiting (queued or delayed) ends as `killed`; a computing one cannot be stopped. */
  cancelTask(taskId: number): void;
  /** Incarnation `epoch` of a peer died: fail fetches waiting on it (a newer incarnation is left alone). */
  peerLost(index: number, epoch: number): void;
  /** Forgets the RDD descriptions of these stages, and with them the values their functions captured. */
  releaseStages(stageIds: number[]): void;
  /** The peers this worker holds a channel to, with their epochs. */
  peers(): Array<[index: number, epoch: number]>;
  ping(): number;
  /** Writes the thread's hop-trace lines now (called before a stop terminates it: see util/hop-trace.ts). */
  flushTrace(): void;
}
