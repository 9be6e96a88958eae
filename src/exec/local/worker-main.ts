/**
 * Entry point of a worker thread: exposes the WorkerApi to the driver over comlink on the parent port, and the
 * shuffle service to each peer on a port of its own. Imports only the worker-side parts of the engine.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { expose, wrap, nodeEndpoint, transfer, type Remote } from './comlink.js';
import { Executor } from '../executor.js';
import type { PeerShuffleService } from '../shuffle-fetcher.js';
import type { WorkerInit } from '../protocol.js';
import { readsPairColumns, type PostedOutcome, type WorkerApi } from './worker-api.js';
import { buffersOf, encodePairs, isEncodedBucket } from '../../shuffle/bucket-codec.js';

const init = workerData as WorkerInit;
const executor = new Executor(init);

/** Results shorter than this are cloned as they are: packing them would save less than it costs. */
const PACK_RESULTS_FROM = 512;

/**
 * A long list of pairs as a result goes as columns (its typed arrays moved, not copied); see PostedOutcome. So does
 * a collect that computed its pairs as columns already (`columns`: the task's action reads columns).
 */
function posted(o: Awaited<ReturnType<Executor['runTask']>>, columns: boolean): PostedOutcome {
  if (columns && o.status === 'success' && isEncodedBucket(o.value))
    return transfer({ ...o, value: undefined, pairs: o.value }, buffersOf([o.value]));
  if (o.status !== 'success' || !Array.isArray(o.value) || o.value.length < PACK_RESULTS_FROM) return o;
  const pairs = encodePairs(o.value);
  if (pairs === undefined) return o;
  return transfer({ ...o, value: undefined, pairs }, buffersOf([pairs]));
}

const api: WorkerApi = {
  runTask: async (task) => posted(await executor.runTask(task), readsPairColumns(task)),
  fetchBuckets: (s, m, r) => executor.shuffles.fetchBuckets(s, m, r),
  connectPeer(index, epoch, callPort, servePort) {
    if (callPort) {
      const remote: Remote<Required<PeerShuffleService>> = wrap<Required<PeerShuffleService>>(nodeEndpoint(callPort as never));
      executor.setPeer(index, epoch, {
        fetchBuckets: (s, m, r) => remote.fetchBuckets(s, [...m], r),
        fetchParts: (s, m, r, at, maxBytes) => remote.fetchParts(s, [...m], r, at, maxBytes),
      });
      // The port closes when the peer's thread ends: fail fetches waiting on that incarnation (only that one:
      // the close may come after its replacement is connected).
      (callPort as unknown as { on(e: string, f: () => void): void }).on('close', () => executor.peerLost(index, epoch));
      // Peer ports must not keep the thread alive on their own.
      (callPort as unknown as { unref?: () => void }).unref?.();
    }
    if (servePort) {
      // Bucket columns move to the peer (transferred, not copied).
      const service: PeerShuffleService = {
        fetchBuckets: (s, m, r) => {
          const served = executor.serveBuckets(s, m, r);
          return transfer(served.encoded, served.transfer);
        },
        fetchParts: (s, m, r, at, maxBytes) => {
          const served = executor.serveParts(s, m, r, at, maxBytes);
          return transfer(served.parts, served.transfer);
        },
      };
      expose(service, nodeEndpoint(servePort as never));
      (servePort as unknown as { unref?: () => void }).unref?.();
    }
  },
  removeShuffle: (id) => executor.shuffles.remove(id),
  removeRdd: (id) => executor.blocks.removeRdd(id),
  removeBroadcast: (id) => executor.removeBroadcast(id),
  cancelTask: (taskId) => executor.cancelTask(taskId),
  peerLost: (index, epoch) => executor.peerLost(index, epoch),
  releaseStages: (ids) => executor.releaseStages(ids),
  peers: () => executor.peers(),
  ping: () => init.workerIndex,
};

expose(api, nodeEndpoint(parentPort as never));
