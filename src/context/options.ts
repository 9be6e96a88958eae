/** Context options, validated up front with exact errors. */

export interface ContextOptions {
  /** `local` (1 worker thread), `local[N]`, or `local[*]` (one per core, the default). */
  readonly master?: string;
  readonly appName?: string;
  /** Attempts per task before its job fails (Spark's spark.task.maxFailures). Default 4. */
  readonly maxTaskFailures?: number;
  /** Consecutive failed attempts of a stage (lost shuffle output) before its job fails. Default 4. */
  readonly maxStageAttempts?: number;
  /** Console progress bar on a TTY (default true). */
  readonly progress?: boolean;
  /** Per-worker memory for cached partitions, in MiB. Default 512. */
  readonly cacheMB?: number;
  /** Tasks queued per worker thread (it computes one at a time). Default 2. */
  readonly slotsPerWorker?: number;
}

export interface ResolvedOptions {
  readonly master: string;
  readonly numWorkers: number;
  readonly appName: string;
  readonly maxTaskFailures: number;
  readonly maxStageAttempts: number;
  readonly progress: boolean;
  readonly cacheBytes: number;
  readonly slotsPerWorker: number;
}

/** Parses `local`, `local[N]`, `local[*]`. */
export function parseMaster(master: string, cores: number): number {
  if (master === 'local') return 1;
  const m = /^local\[(\*|\d+)\]$/.exec(master);
  if (m === null) {
    throw new Error(`Unknown master '${master}': use 'local', 'local[N]' (N worker threads) or 'local[*]' (one per core)`);
  }
  if (m[1] === '*') return Math.max(1, cores);
  const n = Number(m[1]);
  if (n < 1) throw new Error(`master '${master}' asks for ${n} workers; it needs at least 1`);
  return n;
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function resolveOptions(o: ContextOptions, cores: number): ResolvedOptions {
  const master = o.master ?? 'local[*]';
  return {
    master,
    numWorkers: parseMaster(master, cores),
    appName: o.appName ?? 'kindling',
    maxTaskFailures: positiveInt('maxTaskFailures', o.maxTaskFailures, 4),
    maxStageAttempts: positiveInt('maxStageAttempts', o.maxStageAttempts, 4),
    progress: o.progress ?? true,
    cacheBytes: positiveInt('cacheMB', o.cacheMB, 512) * 1024 * 1024,
    slotsPerWorker: positiveInt('slotsPerWorker', o.slotsPerWorker, 2),
  };
}
