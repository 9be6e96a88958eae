/**
 * Entry point of a worker thread: runs the tasks the driver sends on the parent port (task-channel.ts), exposes the
 * WorkerApi beside them over comlink, and the shuffle service to each peer on a port of its own. Imports only the worker-side parts of the engine.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { expose, wrap, nodeEndpoint, transfer, type Remote } from './comlink.js';
import { Executor, settleGcMs } from '../executor.js';
import type { PeerShuffleService } from '../shuffle-fetcher.js';
import { unsendableResult, type TaskMessage, type WorkerInit } from '../protocol.js';
import { readsPairColumns, type PostedOutcome, type WorkerApi } from './worker-api.js';
import { uncloneable, type RunTasks, type TaskOutcomes } from './task-channel.js';
import { flushHops, hop } from '../../util/hop-trace.js';
import { buffersOf, encodePairs, isEncodedBucket } from '../../shuffle/bucket-codec.js';

const init = workerData as WorkerInit;
const executor = new Executor(init);
if (init.osThread !== undefined) {
  try {
    // "PID/task/TID": the id the host reads this thread's CPU time and state by (worker-pool.ts, killTask).
    Atomics.store(new Int32Array(init.osThread), 0, Number(readlinkSync('/proc/thread-self').split('/').at(-1)) | 0);
  } catch {
    // Not Linux: the host counts the kill grace in wall time.
  }
}

/** Results shorter than this are cloned as they are: packing them would save less than it costs. */
const PACK_RESULTS_FROM = 512;

/**
 * A long list of pairs as a result goes as columns (its typed arrays moved, not copied); see PostedOutcome. So does
 * a collect that computed its pairs as columns already (`columns`: the task's action reads columns). Returns the
 * buffers to move with it.
 */
function posted(o: Awaited<ReturnType<Executor['runTask']>>, columns: boolean): [PostedOutcome, ArrayBuffer[] | undefined] {
  if (columns && o.status === 'success' && isEncodedBucket(o.value)) return [{ ...o, value: undefined, pairs: o.value }, buffersOf([o.value])];
  if (o.status !== 'success' || !Array.isArray(o.value) || o.value.length < PACK_RESULTS_FROM) return [o, undefined];
  const pairs = encodePairs(o.value);
  if (pairs === undefined) return [o, undefined];
  return [{ ...o, value: undefined, pairs }, buffersOf([pairs])];
}

/**
 * Outcomes of tasks that ended, sent together at the end of this turn of the thread (see task-channel.ts), or
 * before a task starts computing, whichever comes first (unless a post went out within BATCH_WINDOW_MS and the task
 * is of their stage attempt): a long computation does not hold back the report of a task that ended before it.
 */
let outIds: number[] = [];
let outcomes: PostedOutcome[] = [];
/** The tasks of `outcomes`: for the failure of one whose outcome the clone refuses, and for their stage attempts. */
let outTasks: TaskMessage[] = [];
let outTransfers: ArrayBuffer[] = [];
let sendQueued = false;
/** When outcomes were last posted (performance.now()). */
let lastPost = Number.NEGATIVE_INFINITY;
/**
 * Outcomes queued within this many ms of the last post ride with the end of the turn instead of going out before the
 * next computation starts, when that computation is of their own stage attempt: back-to-back tiny tasks (a driver
 * sends a worker its next task before the last ends) then cost the driver one message per turn, not one per task
 * (~15 % of a 4,000-empty-task job). The price: an outcome that ends this soon after a post waits for a long
 * computation of its own stage attempt, whose end that stage waits for anyway (but listeners and countApprox see it
 * late). Never for another stage's: the driver's round trip from a post to the next tasks (0.3-1 ms) often fits in
 * the window, and a job's result then waited for a long task of another job sent with it, for that task's whole
 * length (2-9 % of the rounds of test/exec/local/worker-main.test.ts, once past its 20 s in CI).
 */
const BATCH_WINDOW_MS = 0.5;

function sendOutcomes(): void {
  sendQueued = false;
  if (outIds.length === 0) return;
  // A turn after the tasks ended (unless a task starts computing first), Node has made the entries of their GCs.
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    if (o.metrics === undefined) continue;
    const metrics = settleGcMs(o.metrics);
    if (metrics !== o.metrics) outcomes[i] = { ...o, metrics } as PostedOutcome;
  }
  const batch: TaskOutcomes = { taskIds: outIds, outcomes };
  const tasks = outTasks;
  const transfers = outTransfers;
  outIds = [];
  outcomes = [];
  outTasks = [];
  outTransfers = [];
  try {
    hop('w.postOutcomes', -1, batch.taskIds.length);
    lastPost = performance.now();
    parentPort!.postMessage(batch, transfers);
    // A worker thread is terminated without an exit event: its trace is written while it waits for more work.
    flushHops();
  } catch {
    // One outcome the clone refuses (a function in a result) fails its own task, not the others sent with it.
    for (let i = 0; i < batch.taskIds.length; i++) {
      const id = batch.taskIds[i]!;
      const o = batch.outcomes[i]!;
      try {
        parentPort!.postMessage({ taskIds: [id], outcomes: [o] } satisfies TaskOutcomes, 'pairs' in o ? buffersOf([o.pairs]) : []);
      } catch (e) {
        const task = tasks[i]!;
        // A result the clone refuses would be refused again on every attempt: a failure the driver does not retry.
        const failure = o.status === 'success' ? unsendableResult(task, 'pairs' in o ? o.pairs : o.value, e, o.accumulators) : undefined;
        const out: PostedOutcome =
          failure === undefined
            ? uncloneable(id, task.epoch, e, 'returned to the driver')
            : { status: 'failed', epoch: task.epoch, failure, blockUpdates: o.blockUpdates };
        parentPort!.postMessage({ taskIds: [id], outcomes: [out] } satisfies TaskOutcomes);
      }
    }
  }
}

function ended(task: RunTasks['runTasks'][number], o: Awaited<ReturnType<Executor['runTask']>>): void {
  hop('w.ended', task.jobId, task.taskId);
  let out: PostedOutcome;
  let transfers: ArrayBuffer[] | undefined;
  try {
    [out, transfers] = posted(o, readsPairColumns(task));
  } catch (e) {
    // Packing the result failed: the task fails (an unhandled rejection would end the thread and its other tasks).
    [out, transfers] = [uncloneable(task.taskId, task.epoch, e, 'packed for the driver'), undefined];
  }
  outIds.push(task.taskId);
  outcomes.push(out);
  outTasks.push(task);
  if (transfers !== undefined) for (const b of transfers) outTransfers.push(b);
  if (!sendQueued) {
    sendQueued = true;
    setImmediate(sendOutcomes);
  }
}

executor.beforeCompute = (task) => {
  if (outIds.length === 0) return;
  if (performance.now() - lastPost >= BATCH_WINDOW_MS || outTasks.some((t) => t.stageKey !== task.stageKey)) sendOutcomes();
};
parentPort!.on('message', (m: Partial<RunTasks> | null) => {
  const tasks = m?.runTasks;
  if (tasks === undefined) return;
  if (m!.releaseStages !== undefined) executor.releaseStages(m!.releaseStages);
  if (m!.removeRdds !== undefined) for (const r of m!.removeRdds) executor.blocks.removeRdd(r.rddId, r.beforeGeneration);
  hop('w.recv', tasks[0]?.jobId ?? -1, tasks.length);
  // Queued as the task ends, not when its promise settles: a task sent with it would start computing first.
  for (const task of tasks) void executor.runTask(task, (o) => ended(task, o));
});

const api: WorkerApi = {
  fetchBuckets: (s, m, r) => executor.shuffles.fetchBuckets(s, m, r),
  connectPeer(index, epoch, callPort, servePort) {
    if (callPort) {
      const remote: Remote<Required<PeerShuffleService>> = wrap<Required<PeerShuffleService>>(nodeEndpoint(callPort as never));
      executor.setPeer(index, epoch, {
        fetchBuckets: (s, m, r) => remote.fetchBuckets(s, [...m], r),
        fetchParts: (s, m, r, at, maxBytes) => remote.fetchParts(s, [...m], r, at, maxBytes),
        fetchBlock: (rddId, p, generation) => remote.fetchBlock(rddId, p, generation),
      });
      // The port closes when the peer's thread ends: fail fetches waiting on that incarnation (only that one:
      // the close may come after its replacement is connected).
      (callPort as unknown as { on(e: string, f: () => void): void }).on('close', () => executor.peerLost(index, epoch));
      // Peer ports must not keep the thread alive on their own.
      (callPort as unknown as { unref?: () => void }).unref?.();
    }
    if (servePort) {
      // Bucket columns move to the peer (transferred, not copied). Outcomes queued go out first: a serve is
      // synchronous and can be long (a part of runs read from disk), and a cancelled task's outcome held behind it
      // left the driver thinking the task still computed, past its kill grace (its worker replaced).
      const service: PeerShuffleService = {
        fetchBuckets: (s, m, r) => {
          hop('w.serve', -1, s);
          if (outIds.length > 0) sendOutcomes();
          const served = executor.serveBuckets(s, m, r);
          return transfer(served.encoded, served.transfer);
        },
        fetchParts: (s, m, r, at, maxBytes) => {
          if (outIds.length > 0) sendOutcomes();
          const served = executor.serveParts(s, m, r, at, maxBytes);
          return transfer(served.parts, served.transfer);
        },
        // Copied, not transferred: the block stays cached here.
        fetchBlock: (rddId, p, generation) => {
          if (outIds.length > 0) sendOutcomes();
          return executor.serveBlock(rddId, p, generation);
        },
      };
      expose(service, nodeEndpoint(servePort as never));
      (servePort as unknown as { unref?: () => void }).unref?.();
    }
  },
  removeShuffle: (id) => executor.removeShuffle(id),
  removeRdd: (id, beforeGeneration) => executor.blocks.removeRdd(id, beforeGeneration),
  removeBroadcast: (id) => executor.removeBroadcast(id),
  cancelTask: (taskId) => executor.cancelTask(taskId),
  peerLost: (index, epoch) => executor.peerLost(index, epoch),
  releaseStages: (ids) => executor.releaseStages(ids),
  peers: () => executor.peers(),
  ping: () => init.workerIndex,
  flushTrace: () => flushHops(),
};

expose(api, nodeEndpoint(parentPort as never));
