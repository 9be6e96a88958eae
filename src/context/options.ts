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
  /**
   * Speculative execution of stragglers (Spark's spark.speculation), off by default: once `quantile` of a
   * stage's tasks are done, a task running `multiplier` times longer than their median gets a copy on another
   * worker; the first to finish wins.
   */
  readonly speculation?: { enabled?: boolean; multiplier?: number; quantile?: number; minRuntimeMs?: number; intervalMs?: number };
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
  readonly speculation: { enabled: boolean; multiplier: number; quantile: number; minRuntimeMs: number; intervalMs: number };
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
    speculation: resolveSpeculation(o.speculation ?? {}),
  };
}

function resolveSpeculation(s: NonNullable<ContextOptions['speculation']>): ResolvedOptions['speculation'] {
  const r = { enabled: s.enabled ?? false, multiplier: s.multiplier ?? 3, quantile: s.quantile ?? 0.9, minRuntimeMs: s.minRuntimeMs ?? 100, intervalMs: s.intervalMs ?? 100 };
  if (!(r.multiplier >= 1)) throw new RangeError(`speculation.multiplier must be >= 1, got ${r.multiplier}`);
  if (!(r.quantile > 0 && r.quantile <= 1)) throw new RangeError(`speculation.quantile must be in (0, 1], got ${r.quantile}`);
  if (!(r.minRuntimeMs >= 0) || !(r.intervalMs > 0)) throw new RangeError('speculation.minRuntimeMs must be >= 0 and intervalMs > 0');
  return r;
}
