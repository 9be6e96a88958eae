/**
 * The cluster backends' factories: `redis://HOST:PORT` (executors started by the user, met through Redis) and
 * `local-cluster[N]` / `local-cluster[N,cores,memoryMB]` (a redis-server and N executor processes on this
 * machine, started and stopped with the context).
 */
import { InvalidOptionError } from '../../core/errors.js';
import type { BackendFactory, BackendSettings } from '../backends.js';
import { ClusterBackend, type ClusterBackendOptions } from './cluster-backend.js';
import { LocalCluster, parseLocalCluster } from './local-cluster.js';
export { endLocalClustersSync } from './local-cluster.js';

export { ExecutorProcess, type ExecutorProcessOptions } from './executor-process.js';
export { ClusterBackend } from './cluster-backend.js';

const CLUSTER_TASKS_AHEAD = 24;

function common(s: BackendSettings): Pick<
  ClusterBackendOptions,
  'executorWaitMs' | 'executorTimeoutMs' | 'leaseMs' | 'heapMb' | 'taskTimeoutMs' | 'init' | 'onExecutor'
> & {
  secret?: string;
} {
  const c = s.cluster;
  const secret = c?.secret ?? process.env.KINDLING_SECRET;
  return {
    executorWaitMs: c?.executorWaitMs ?? 30_000,
    executorTimeoutMs: c?.executorTimeoutMs ?? 10_000,
    leaseMs: c?.leaseMs ?? 10_000,
    heapMb: s.maxHeapMb,
    taskTimeoutMs: s.taskTimeoutMs,
    init: { ...s.executor, engine: s.engine },
    ...(c?.onExecutor ? { onExecutor: c.onExecutor } : {}),
    ...(secret ? { secret } : {}),
  };
}

/**
 * `redis://[user:password@]host:port[/db][?cores=N]`: `cores` caps the task slots (Spark's spark.cores.max);
 * without it the driver takes every core of the executors it leases. The default parallelism before the first
 * executor is leased is this machine's cores.
 */
export const redisBackend: BackendFactory = {
  masters: "'redis://HOST:PORT' (executors started with 'kindling executor')",
  // A task's round trip goes through Redis twice: more tasks queued per slot keep the executors busy, and each
  // stream entry then carries more messages (24 instead of 8 cut the CPU per empty task by about 30 %: fewer,
  // larger XADDs and XREADs). A slot stuck on a long task has its queued tasks moved to idle slots.
  tasksAhead: CLUSTER_TASKS_AHEAD,
  parallelism(master, cores) {
    if (!/^rediss?:\/\//.test(master)) return undefined;
    const q = /[?&]cores=([^&]*)/.exec(master);
    if (q === null) return Math.max(1, cores);
    const n = Number(q[1]);
    if (!Number.isInteger(n) || n < 1) throw new InvalidOptionError(`master '${master}': cores must be a positive integer`);
    return n;
  },
  create(master, parallelism, s) {
    const c = s.cluster;
    return new ClusterBackend({
      ...common(s),
      url: master.replace(/\?.*$/, ''),
      cluster: c?.name ?? 'default',
      // Without ?cores=N, every core of every leased executor is a slot (Spark's default: all cores).
      slots: /[?&]cores=/.test(master) ? parallelism : 'leased',
      maxExecutors: c?.maxExecutors ?? Number.MAX_SAFE_INTEGER,
      waitForAllSlots: false,
    });
  },
};

export const localClusterBackend: BackendFactory = {
  masters: "'local-cluster[N]' or 'local-cluster[N,cores,memoryMB]' (N executor processes and a redis-server on this machine)",
  tasksAhead: CLUSTER_TASKS_AHEAD,
  parallelism(master) {
    if (!master.startsWith('local-cluster')) return undefined;
    const spec = parseLocalCluster(master);
    if (spec === undefined || spec.executors < 1 || spec.cores < 1 || spec.memoryMB < 64) {
      throw new InvalidOptionError(
        `master '${master}': use local-cluster[N] or local-cluster[N,cores,memoryMB] (N and cores at least 1, memoryMB at least 64)`,
      );
    }
    return spec.executors * spec.cores;
  },
  create(master, _parallelism, s) {
    return new LocalCluster(parseLocalCluster(master)!, common(s)).backend;
  },
};
