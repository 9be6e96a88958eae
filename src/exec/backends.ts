/**
 * The backends, one registration point (Spark's ExternalClusterManager): each factory says which master URLs it
 * serves and creates the TaskBackend for one. `local`, `local[N]` and `local[*]` are served by worker threads in
 * this process; another backend (`local-cluster[N]`, `redis://...`) is one more entry, registered here or with
 * {@link registerBackend}, and nothing else in the engine changes.
 */
import os from 'node:os';
import { InvalidOptionError } from '../core/errors.js';
import type { EngineName } from './engines.js';
import type { WorkerInit } from './protocol.js';
import type { TaskBackend } from './task-backend.js';
import { WorkerPool } from './local/worker-pool.js';
import { localClusterBackend, redisBackend } from './cluster/index.js';
import type { ExecutorChange } from './cluster/cluster-backend.js';

export type { ExecutorChange };
export { endLocalClustersSync } from './cluster/index.js';

/** Options of the cluster backends (`redis://`, `local-cluster[N]`); the local backend ignores them. */
export interface ClusterSettings {
  /** The cluster's name in Redis (default `default`): drivers lease only executors registered under it. */
  readonly name?: string;
  /** Most executors a driver leases (default: as many as its slots take). */
  readonly maxExecutors?: number;
  /** How long to wait for a first executor before failing (default 30 s). */
  readonly executorWaitMs?: number;
  /** An executor silent this long is lost (default 10 s). */
  readonly executorTimeoutMs?: number;
  /** How long a dead driver's executors stay leased (default 10 s). */
  readonly leaseMs?: number;
  /** The shared secret of every connection to an executor (default: KINDLING_SECRET). */
  readonly secret?: string;
  readonly onExecutor?: (e: ExecutorChange) => void;
}

/** What every backend needs to start executors, whatever their transport. */
export interface BackendSettings {
  /** Heap limit of each executor, in MiB. */
  readonly maxHeapMb: number;
  /** The context's scratch folder: executors' spill and shuffle files go below it. */
  readonly scratchDir: string;
  /** A task computing longer than this has its executor replaced (0: no limit). */
  readonly taskTimeoutMs: number;
  readonly engine: EngineName;
  /** What every executor starts with (its identity and folder are added by the backend). */
  readonly executor: Omit<WorkerInit, 'workerIndex' | 'spillDir' | 'epoch' | 'executorId' | 'engine'>;
  readonly cluster?: ClusterSettings;
}

export interface BackendFactory {
  /** The master URLs it serves, for error messages: `'local, local[N], local[*]'`. */
  readonly masters: string;
  /**
   * The number of executor slots for `master` (the default parallelism), or undefined when this factory does
   * not serve it. Throws when it serves the scheme but the URL is malformed.
   */
  parallelism(master: string, cores: number): number | undefined;
  create(master: string, parallelism: number, settings: BackendSettings): TaskBackend;
  /**
   * The default of the `slotsPerWorker` option for this backend: tasks sent to a slot ahead of the one it
   * computes, so that it never waits for the driver between tasks (more where the round trip is longer).
   */
  readonly tasksAhead?: number;
  /** Attempts per task that the master URL itself sets (Spark's `local[N,F]`), if it sets any. */
  maxTaskFailures?(master: string): number | undefined;
}

/**
 * What one idle worker thread adds to the process (an isolate with the worker bundle loaded, measured: 11 MB for
 * local[1], 376 MB for local[32]): `local[N]` beyond the machine's memory at that rate cannot start, and trying
 * makes the whole machine swap before anything says why.
 */
const WORKER_FLOOR_BYTES = 12 * 2 ** 20;

/** `local[N]`, `local[*]`, and Spark's `local[N,F]` / `local[*,F]` (F: attempts per task). */
const LOCAL_MASTER = /^local\[(\*|\d+)(?:,(\d+))?\]$/;

const local: BackendFactory = {
  masters: "'local' (one worker thread), 'local[N]' (N worker threads), 'local[*]' (one per core) or 'local[N,F]' (F attempts per task)",
  parallelism(master, cores) {
    if (master === 'local') return 1;
    const m = LOCAL_MASTER.exec(master);
    if (m === null) return undefined;
    if (m[2] !== undefined && Number(m[2]) < 1)
      throw new InvalidOptionError(`master '${master}' allows ${m[2]} attempts per task; it needs at least 1`);
    if (m[1] === '*') return Math.max(1, cores);
    const n = Number(m[1]);
    if (n < 1) throw new InvalidOptionError(`master '${master}' asks for ${n} workers; it needs at least 1`);
    if (n * WORKER_FLOOR_BYTES > os.totalmem()) {
      const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
      throw new InvalidOptionError(
        `master '${master}' asks for ${n} worker threads, each at least ${WORKER_FLOOR_BYTES / 2 ** 20} MiB: ${gib(n * WORKER_FLOOR_BYTES)}, more than this machine's ${gib(os.totalmem())}; use fewer ('local[*]' is ${Math.max(1, cores)} here)`,
      );
    }
    return n;
  },
  maxTaskFailures(master) {
    const f = LOCAL_MASTER.exec(master)?.[2];
    return f === undefined ? undefined : Number(f);
  },
  create: (_master, parallelism, s) =>
    new WorkerPool({
      numWorkers: parallelism,
      maxHeapMb: s.maxHeapMb,
      spillRoot: s.scratchDir,
      taskTimeoutMs: s.taskTimeoutMs,
      worker: { ...s.executor, engine: s.engine },
    }),
};

const BACKENDS: BackendFactory[] = [localClusterBackend, redisBackend, local];

/** Adds a backend for further master URLs; later registrations are tried first. */
export function registerBackend(factory: BackendFactory): void {
  BACKENDS.unshift(factory);
}

/** The factory serving `master` and its parallelism; a clear error listing what is served otherwise. */
export function resolveMaster(master: string, cores: number): { factory: BackendFactory; parallelism: number } {
  for (const factory of BACKENDS) {
    const parallelism = factory.parallelism(master, cores);
    if (parallelism !== undefined) return { factory, parallelism };
  }
  throw new InvalidOptionError(`Unknown master '${master}': use ${BACKENDS.map((f) => f.masters).join(', or ')}`);
}
