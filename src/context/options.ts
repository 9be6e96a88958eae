/** Context options, validated up front with exact errors. */
import os from 'node:os';
import { ENGINES, ENGINE_NAMES, isEngineName, type EngineName } from '../exec/engines.js';
import { type BackendFactory, resolveMaster } from '../exec/backends.js';
import { InvalidOptionError } from '../core/errors.js';
import { resolveEventLog, resolveUiOptions, type EventLogOptions, type ResolvedUiOptions, type UiOptions } from '../ui/options.js';
import { MAX_TIMER_MS } from '../util/timers.js';

export interface ContextOptions {
  /** `local` (1 worker thread), `local[N]`, or `local[*]` (one per core, the default). */
  readonly master?: string;
  readonly appName?: string;
  /**
   * `memory` (default): Spark-style, data stays in worker memory between stages and jobs. `mapreduce`: the same
   * program run Hadoop-style, every shuffle and every job's output through files.
   */
  readonly engine?: EngineName;
  /** Attempts per task before its job fails (Spark's spark.task.maxFailures). Default 4. */
  readonly maxTaskFailures?: number;
  /** Consecutive failed attempts of a stage (lost shuffle output) before its job fails. Default 4. */
  readonly maxStageAttempts?: number;
  /** Console progress bar on a TTY (default true). */
  readonly progress?: boolean;
  /**
   * Worker memory: each worker thread's heap is limited to `workerMB` (default 2048), of which `storageFraction`
   * (default 0.5) is the budget for cached partitions, and `shuffleFraction` (default 0.2) the worker's shuffle
   * pool: everything shuffles hold in that worker's memory at once (stored map outputs, the buffers of map tasks
   * being written, map-side and reduce-side combine tables, fetched reduce input), shared by all its tasks as
   * Spark's execution memory is. When the pool is full, the largest holders spill key-sorted runs to disk and
   * reducers merge-read them. The pool is a fraction of the heap, not the rest of it, because sizes are
   * estimates and the heap also holds what the pool does not count (user data, results, V8's overhead). A
   * single key's values must still fit in one worker (groupByKey), and so must one map output's bucket for one
   * reducer (it is served and received whole).
   */
  readonly memory?: { workerMB?: number; storageFraction?: number; shuffleFraction?: number };
  /** Largest total of results one action may bring to the driver: bytes, or '1g', '512m' (default 1 GiB); 0 for no limit, as in Spark. */
  readonly maxResultSize?: number | string;
  /** Where workers spill blocks (default: the OS temp folder). */
  readonly localDir?: string;
  /** Log hints (an RDD recomputed by several jobs, a very deep lineage). Default true. */
  readonly hints?: boolean;
  /** Lineage depth above which a hint suggests checkpoint(). Default 100. */
  readonly lineageDepthWarning?: number;
  /** Tasks queued per worker thread (it computes one at a time). Default 2; 24 on cluster masters (a round trip through Redis is longer). */
  readonly slotsPerWorker?: number;
  /** How long a task waits for the worker that caches its data before running elsewhere, in ms. Default 300. */
  readonly localityWaitMs?: number;
  /**
   * Speculative execution of stragglers (Spark's spark.speculation), off by default: once `quantile` of a
   * stage's tasks are done, a task running `multiplier` times longer than their median gets a copy on another
   * worker; the first to finish wins.
   */
  readonly speculation?: { enabled?: boolean; multiplier?: number; quantile?: number; minRuntimeMs?: number; intervalMs?: number };
  /**
   * A task computing longer than this (ms) has its worker replaced and counts as a failed attempt, so a
   * runaway task (`while (true) {}`) ends in a clear error instead of holding a worker forever. Off (0) by
   * default, as in Spark, where only speculation can route around a stuck task.
   */
  readonly taskTimeoutMs?: number;
  /**
   * How long a reduce task waits for a peer to serve shuffle data (ms) before the fetch fails and the map
   * output is recomputed elsewhere (Spark's spark.network.timeout). Default 120000.
   */
  readonly fetchTimeoutMs?: number;
  /**
   * The web UI and REST API, served by the driver while the context runs (Spark's spark.ui.*): on by default
   * at http://127.0.0.1:4040 (the next free port when taken); `false` turns it off.
   */
  readonly ui?: UiOptions | false;
  /** Writes every event to `{dir}/{appId}.jsonl` for `kindling history` (default: KINDLING_EVENT_LOG_DIR, else off). */
  readonly eventLog?: EventLogOptions | false;
  /**
   * `redis://` masters: the cluster's name in Redis (default `default`); only its executors are leased. See
   * docs/cluster.md.
   *
   * @example
   * ```ts
   * const sc = new Context({ master: 'redis://10.0.0.5:6379', cluster: 'analytics', executorWaitMs: 60_000 });
   * ```
   */
  readonly cluster?: string;
  /** `redis://` masters: the most executors this driver leases (default: as many as its slots take). */
  readonly maxExecutors?: number;
  /** Cluster masters: how long to wait for executors before an action fails (default 30000 ms). */
  readonly executorWaitMs?: number;
  /** Cluster masters: an executor whose heartbeat stops this long is lost, its tasks rerun (default 10000 ms). */
  readonly executorTimeoutMs?: number;
  /** Cluster masters: how long executors stay leased to a driver that died (default 10000 ms). */
  readonly leaseMs?: number;
  /**
   * Cluster masters: the shared secret every connection to an executor is authenticated with (HMAC challenge,
   * Spark's `spark.authenticate.secret`); executors bound to a non-loopback address require it. Default: the
   * `KINDLING_SECRET` environment variable (`kindling run --secret-file FILE` sets it). It is never shown in
   * the UI, the REST API or the event log.
   *
   * @example
   * ```ts
   * const sc = new Context({ master: 'redis://10.0.0.5:6379', secret: readFileSync('/etc/kindling/secret', 'utf8').trim() });
   * ```
   */
  readonly secret?: string;
}

export interface ResolvedOptions {
  readonly master: string;
  readonly numWorkers: number;
  readonly appName: string;
  readonly engine: EngineName;
  readonly maxTaskFailures: number;
  readonly maxStageAttempts: number;
  readonly progress: boolean;
  readonly workerMB: number;
  readonly storageBytes: number;
  /** Each worker's shuffle pool, `workerMB x shuffleFraction` (see `memory`). */
  readonly shuffleSpillBytes: number;
  readonly maxResultBytes: number;
  readonly localDir: string;
  readonly hints: boolean;
  readonly lineageDepthWarning: number;
  readonly slotsPerWorker: number;
  readonly localityWaitMs: number;
  readonly speculation: { enabled: boolean; multiplier: number; quantile: number; minRuntimeMs: number; intervalMs: number };
  readonly taskTimeoutMs: number;
  readonly fetchTimeoutMs: number;
  readonly ui: ResolvedUiOptions | false;
  readonly eventLog: { readonly dir: string } | false;
  readonly cluster: { name: string; maxExecutors: number; executorWaitMs: number; executorTimeoutMs: number; leaseMs: number };
}

/** The number of executor slots a master URL gives (the backend registry decides; errors name what is served). */
export function parseMaster(master: string, cores: number): number {
  return resolveMaster(master, cores).parallelism;
}

/** spark.task.maxFailures, or the F of `local[N,F]`; the two disagreeing is refused rather than one silently winning. */
function resolveMaxTaskFailures(master: string, factory: BackendFactory, given: number | undefined): number {
  const fromMaster = factory.maxTaskFailures?.(master);
  const n = positiveInt('maxTaskFailures', given, fromMaster ?? 4);
  if (fromMaster !== undefined && given !== undefined && given !== fromMaster)
    throw new InvalidOptionError(`master '${master}' sets ${fromMaster} attempts per task, but maxTaskFailures is ${given}: give one of them`);
  return n;
}

/** A value as an error shows it: a string quoted, so that `'512'` is not read as the number 512. */
function shown(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? JSON.stringify(v) : String(v);
}

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new InvalidOptionError(`${name} must be a positive integer, got ${shown(v)}`);
  return v;
}

function nonNegative(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 0)) throw new InvalidOptionError(`${name} must be a number >= 0, got ${shown(v)}`);
  return v;
}

/**
 * A duration in ms that reaches a timer: past Node's longest timer it would fire after 1 ms (`fetchTimeoutMs: 1e12`
 * failed every shuffle fetch at once), so it is refused here rather than meaning the opposite of what was asked.
 */
function timerMs(name: string, ms: number): number {
  if (ms > MAX_TIMER_MS)
    throw new InvalidOptionError(`${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days, Node's longest timer), got ${ms}`);
  return ms;
}

// A JavaScript caller has no type check: `appName: 5` failed deep inside with "appName.replace is not a function",
// and `progress: 'false'`, a string, is truthy and would have turned the bar on.
function text(name: string, v: string | undefined, fallback: string): string {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v === '') throw new InvalidOptionError(`${name} must be a non-empty string, got ${shown(v)}`);
  return v;
}

function flag(name: string, v: boolean | undefined, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new InvalidOptionError(`${name} must be true or false, got ${shown(v)}`);
  return v;
}

/**
 * Options given as `key=value` pairs (`kindling run --conf memory.workerMB=1024 --conf hints=false`): dotted
 * keys reach nested options; `true`/`false` and numbers are converted. Unknown keys are refused.
 *
 * @example
 * ```ts
 * parseConf(['maxTaskFailures=2', 'memory.workerMB=1024']); // { maxTaskFailures: 2, memory: { workerMB: 1024 } }
 * ```
 */
export function parseConf(pairs: readonly string[]): ContextOptions {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidOptionError(`--conf expects key=value, got '${pair}'`);
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    if (!CONF_KEYS.includes(key)) throw new InvalidOptionError(`unknown option '${key}'; known: ${CONF_KEYS.join(', ')}`);
    // A name stays a name: `--conf appName=2024` is the string, as `--conf localDir=/data/1` is a path.
    const value: unknown = TEXT_CONF_KEYS.has(key)
      ? raw
      : raw === 'true'
        ? true
        : raw === 'false'
          ? false
          : raw !== '' && Number.isFinite(Number(raw))
            ? Number(raw)
            : raw;
    const [head, sub] = key.split('.') as [string, string | undefined];
    if (sub === undefined) out[head] = value;
    else out[head] = { ...(out[head] as object | undefined), [sub]: value };
  }
  return out as ContextOptions;
}

const TEXT_CONF_KEYS: ReadonlySet<string> = new Set(['master', 'appName', 'localDir', 'cluster']);

const CONF_KEYS: readonly string[] = [
  'master',
  'appName',
  'engine',
  'maxTaskFailures',
  'maxStageAttempts',
  'progress',
  'maxResultSize',
  'localDir',
  'hints',
  'lineageDepthWarning',
  'slotsPerWorker',
  'localityWaitMs',
  'taskTimeoutMs',
  'fetchTimeoutMs',
  'cluster',
  'maxExecutors',
  'executorWaitMs',
  'executorTimeoutMs',
  'leaseMs',
  'memory.workerMB',
  'memory.storageFraction',
  'memory.shuffleFraction',
  'speculation.enabled',
  'speculation.multiplier',
  'speculation.quantile',
  'speculation.minRuntimeMs',
  'speculation.intervalMs',
];

/** Every option a Context takes, and the keys of the nested ones: anything else is a typo that would be ignored. */
const OPTION_KEYS: Readonly<Record<string, readonly string[] | undefined>> = {
  master: undefined,
  appName: undefined,
  engine: undefined,
  maxTaskFailures: undefined,
  maxStageAttempts: undefined,
  progress: undefined,
  memory: ['workerMB', 'storageFraction', 'shuffleFraction'],
  maxResultSize: undefined,
  localDir: undefined,
  hints: undefined,
  lineageDepthWarning: undefined,
  slotsPerWorker: undefined,
  localityWaitMs: undefined,
  speculation: ['enabled', 'multiplier', 'quantile', 'minRuntimeMs', 'intervalMs'],
  taskTimeoutMs: undefined,
  fetchTimeoutMs: undefined,
  ui: ['port', 'host', 'killEnabled', 'retainedJobs', 'retainedStages'],
  eventLog: ['dir'],
  cluster: undefined,
  maxExecutors: undefined,
  executorWaitMs: undefined,
  executorTimeoutMs: undefined,
  leaseMs: undefined,
  secret: undefined,
} satisfies Record<keyof ContextOptions, readonly string[] | undefined>;

/** Groups of options that `false` turns off as a whole. */
const OFF_SWITCHES: ReadonlySet<string> = new Set(['ui', 'eventLog']);

/**
 * A misspelt option (`{ egine: 'mapreduce' }`, `memory: { workerMb }`) would silently run with the default, which a
 * JavaScript caller (no type check) cannot see: it is an error naming the key and the nearest known one.
 */
function checkKnownKeys(given: ContextOptions): void {
  if (given === null || typeof given !== 'object') throw new InvalidOptionError(`Context options must be an object, got ${String(given)}`);
  const top = Object.keys(OPTION_KEYS);
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(OPTION_KEYS, key)) throw new InvalidOptionError(unknownKey(key, top));
    const nested = OPTION_KEYS[key];
    if (nested === undefined || value === undefined) continue;
    // `memory: 5` or `speculation: true` would otherwise run silently with every default of that group.
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      if (value === false && OFF_SWITCHES.has(key)) continue;
      const off = OFF_SWITCHES.has(key) ? ` or false` : '';
      throw new InvalidOptionError(`option '${key}' must be an object of ${nested.map((n) => `'${n}'`).join(', ')}${off}, got ${shown(value)}`);
    }
    for (const sub of Object.keys(value))
      if (!nested.includes(sub))
        throw new InvalidOptionError(
          unknownKey(
            `${key}.${sub}`,
            nested.map((n) => `${key}.${n}`),
          ),
        );
  }
}

/**
 * The message for an option nobody defined: the nearest known name when one is close, and the known names.
 *
 * @example
 * ```ts
 * unknownKey('egine', ['master', 'engine']); // "unknown option 'egine' (did you mean 'engine'?); known: master, engine"
 * ```
 */
export function unknownKey(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return `unknown option '${key}'${best !== undefined ? ` (did you mean '${best}'?)` : ''}; known: ${known.join(', ')}`;
}

/** Levenshtein distance of two short strings (option names). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Options from `kindling run --conf`, passed in KINDLING_CONF as JSON; options written in code win over them. */
function withEnvConf(o: ContextOptions): ContextOptions {
  const json = process.env.KINDLING_CONF;
  if (json === undefined || json === '') return o;
  let conf: Record<string, unknown>;
  try {
    conf = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new InvalidOptionError(`KINDLING_CONF is not JSON: ${json}`);
  }
  const merged: Record<string, unknown> = { ...conf };
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    merged[k] = v !== null && typeof v === 'object' && typeof conf[k] === 'object' ? { ...(conf[k] as object), ...(v as object) } : v;
  }
  return merged as ContextOptions;
}

export function resolveOptions(given: ContextOptions, cores: number): ResolvedOptions {
  checkKnownKeys(given);
  const o = withEnvConf(given);
  // The `kindling` command passes --master/--engine through the environment; options in code win.
  const master = text('master', o.master, process.env.KINDLING_MASTER ?? 'local[*]');
  const backend = resolveMaster(master, cores);
  return {
    master,
    numWorkers: backend.parallelism,
    appName: text('appName', o.appName, 'kindling'),
    engine: resolveEngine(o.engine ?? (process.env.KINDLING_ENGINE as ContextOptions['engine'])),
    maxTaskFailures: resolveMaxTaskFailures(master, backend.factory, o.maxTaskFailures),
    maxStageAttempts: positiveInt('maxStageAttempts', o.maxStageAttempts, 4),
    progress: flag('progress', o.progress, true),
    ...resolveMemory(o.memory ?? {}),
    maxResultBytes: resolveMaxResultSize(o.maxResultSize),
    localDir: text('localDir', o.localDir, os.tmpdir()),
    hints: flag('hints', o.hints, true),
    lineageDepthWarning: positiveInt('lineageDepthWarning', o.lineageDepthWarning, 100),
    slotsPerWorker: positiveInt('slotsPerWorker', o.slotsPerWorker, backend.factory.tasksAhead ?? 2),
    localityWaitMs: timerMs('localityWaitMs', nonNegative('localityWaitMs', o.localityWaitMs, 300)),
    speculation: resolveSpeculation(o.speculation ?? {}),
    taskTimeoutMs: timerMs('taskTimeoutMs', nonNegative('taskTimeoutMs', o.taskTimeoutMs, 0)),
    fetchTimeoutMs: timerMs('fetchTimeoutMs', positiveInt('fetchTimeoutMs', o.fetchTimeoutMs, 120_000)),
    ui: resolveUiOptions(o.ui),
    eventLog: resolveEventLog(o.eventLog),
    cluster: {
      name: text('cluster', o.cluster, 'default'),
      maxExecutors: positiveInt('maxExecutors', o.maxExecutors, Number.MAX_SAFE_INTEGER),
      executorWaitMs: timerMs('executorWaitMs', positiveInt('executorWaitMs', o.executorWaitMs, 30_000)),
      executorTimeoutMs: timerMs('executorTimeoutMs', positiveInt('executorTimeoutMs', o.executorTimeoutMs, 10_000)),
      leaseMs: timerMs('leaseMs', positiveInt('leaseMs', o.leaseMs, 10_000)),
    },
  };
}

function resolveSpeculation(s: NonNullable<ContextOptions['speculation']>): ResolvedOptions['speculation'] {
  const r = {
    enabled: flag('speculation.enabled', s.enabled, false),
    multiplier: s.multiplier ?? 3,
    quantile: s.quantile ?? 0.9,
    minRuntimeMs: s.minRuntimeMs ?? 100,
    intervalMs: s.intervalMs ?? 100,
  };
  if (!(r.multiplier >= 1)) throw new InvalidOptionError(`speculation.multiplier must be >= 1, got ${r.multiplier}`);
  if (!(r.quantile > 0 && r.quantile <= 1)) throw new InvalidOptionError(`speculation.quantile must be in (0, 1], got ${r.quantile}`);
  if (!(r.minRuntimeMs >= 0) || !(r.intervalMs > 0)) throw new InvalidOptionError('speculation.minRuntimeMs must be >= 0 and intervalMs > 0');
  timerMs('speculation.intervalMs', r.intervalMs);
  return r;
}

function resolveEngine(e: ContextOptions['engine']): ResolvedOptions['engine'] {
  if (e === undefined) return 'memory';
  if (isEngineName(e)) return e;
  throw new InvalidOptionError(`Unknown engine '${String(e)}': use ${ENGINE_NAMES.map((n) => `'${n}' (${ENGINES[n].description})`).join(' or ')}`);
}

function resolveMemory(m: NonNullable<ContextOptions['memory']>): { workerMB: number; storageBytes: number; shuffleSpillBytes: number } {
  const workerMB = positiveInt('memory.workerMB', m.workerMB, 2048);
  const fraction = m.storageFraction ?? 0.5;
  if (!(fraction > 0 && fraction <= 1)) throw new InvalidOptionError(`memory.storageFraction must be in (0, 1], got ${fraction}`);
  const shuffleFraction = m.shuffleFraction ?? 0.2;
  if (!(shuffleFraction > 0 && shuffleFraction < 1)) throw new InvalidOptionError(`memory.shuffleFraction must be in (0, 1), got ${shuffleFraction}`);
  return {
    workerMB,
    storageBytes: Math.floor(workerMB * fraction * 2 ** 20),
    shuffleSpillBytes: Math.floor(workerMB * shuffleFraction * 2 ** 20),
  };
}

/**
 * spark.driver.maxResultSize: bytes or a size, and `0` for no limit as Spark documents (the string '0' was read as a
 * limit of 0 bytes, failing every action, while the number 0 was refused).
 */
function resolveMaxResultSize(v: number | string | undefined): number {
  if (v === undefined) return 2 ** 30;
  if (v === 0 || (typeof v === 'string' && /^\s*0+(?:\.0*)?\s*[kmgt]?b?\s*$/i.test(v))) return Number.MAX_SAFE_INTEGER;
  return parseSize('maxResultSize', v);
}

/** Bytes from a number or a Spark-style size ('512m', '1g', '100k'). */
export function parseSize(name: string, v: number | string): number {
  if (typeof v !== 'number' && typeof v !== 'string')
    throw new InvalidOptionError(`${name} must be a number of bytes or a size such as '512m' or '1g', got ${shown(v)}`);
  if (typeof v === 'number') {
    if (!(v > 0)) throw new InvalidOptionError(`${name} must be a positive number of bytes, got ${v}`);
    return v;
  }
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(v.trim());
  if (m === null) throw new InvalidOptionError(`${name}: cannot read size '${v}' (use bytes or e.g. '512m', '1g')`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * unit);
}
