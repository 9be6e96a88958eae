/**
 * The driver process SIGKILLed at any moment, then the same program run again in a fresh process, against what the
 * docs promise for a crashed driver:
 *
 * - a save (`saveAsTextFile` with any codec, `saveAsObjectFile`, `saveAsJsonLines`; docs/architecture.md, the
 *   committer's header) leaves its target absent or complete (`_SUCCESS`, every part, the model's elements), never
 *   partial; a target the program may not replace (no `overwrite`, or a folder holding files no save wrote) stays
 *   byte-identical; an overwrite killed between its two renames leaves the old output aside, put back by the next
 *   save; besides the target only hidden staging/aside folders of the killed process are left, and the next save to
 *   the path removes them (README: "the next save to a path removes what a killed save left there");
 * - a reliable checkpoint (`setCheckpointDir`, `checkpoint()`) is a folder `rdd-N` holding every partition whole, or
 *   only a hidden `.rdd-N.writing-*` folder that no reader opens;
 * - a stream restarted with `getOrCreate` on its checkpoint folder (a replayable source, `saveAsTextFiles`) writes
 *   every record once: each batch folder is whole, none is written twice with other records, none is lost
 *   (docs/streaming.md, "Delivery and restarts");
 * - the event log of the killed application parses line by line except, at most, a last line a crash cut short
 *   (`readEventLog`: "a last line cut short by a crash is ignored"), has no `applicationEnd` (the history shows it
 *   incomplete), and the rerun's log ends with one; the rerun removes its own spill folder.
 *
 * The kill comes from outside after a random delay (from 0 to about the program's natural length), or from the
 * child itself at the K-th file operation its driver makes under the output's parent or the checkpoint folder,
 * before or right after it (test/fixtures/crash-job.mjs): a commit lasts a millisecond, which a timer rarely hits.
 * `FUZZ_RUNS` and `FUZZ_SEED` search longer; a failure prints its seed, fast-check's path and the case (`FUZZ_SHRINK=1`
 * shrinks it; each step is two or three processes), and `FUZZ_SEED=s FUZZ_PATH=p` runs that case again. A kill at a
 * file operation lands at the same step every time; a kill after a delay lands where the machine's load puts it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { gunzipSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readEventLog } from '../../src/ui/event-log.js';

/** Cases per property: each case is two or three processes (~1-2 s each on a busy machine). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 5);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const TIMEOUT = 60_000 + RUNS * 30_000;
/** fast-check's `path` of a failure it printed: with its seed, runs that one case first (the stream property's seed is FUZZ_SEED + 1: its seed 601, path 23 is `FUZZ_SEED=600 FUZZ_PATH=23 … -t stream`). */
const PATH = process.env.FUZZ_PATH;
const FIXTURE = path.resolve('test/fixtures/crash-job.mjs');

const root = mkdtempSync(path.join(os.tmpdir(), 'crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 }));
let cases = 0;
/** What the kills left, counted for the summary line: a search that never reaches a commit would say so. */
const tally = new Map<string, number>();
const count = (what: string): void => void tally.set(what, (tally.get(what) ?? 0) + 1);
const summary = (): string =>
  [...tally]
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

type SaveKind = 'text' | 'gzip' | 'deflate' | 'object' | 'jsonl';
type Signal = 'SIGKILL' | 'SIGTERM' | 'SIGINT';
/**
 * A signal from outside after `fraction` of the program's expected length, or from inside at a file operation. Mostly
 * SIGKILL (nothing of the process runs after it); SIGTERM and SIGINT run the context's cleanup, which promises more.
 */
type Kill =
  | { readonly kind: 'timer'; readonly fraction: number; readonly signal: Signal }
  | { readonly kind: 'op'; readonly op: number; readonly after: boolean; readonly signal: Signal; readonly outputOnly: boolean };

const signalArb: fc.Arbitrary<Signal> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('SIGKILL' as const) },
  { weight: 1, arbitrary: fc.constantFrom('SIGTERM' as const, 'SIGINT' as const) },
);

interface SaveCase {
  readonly engine: 'memory' | 'mapreduce';
  readonly data: readonly string[];
  readonly partitions: number;
  readonly shuffle: boolean;
  readonly save: SaveKind;
  readonly overwrite: boolean;
  /** What the target holds before the first run: nothing, a previous save's output, or a folder of other files. */
  readonly existing: 'none' | 'previous' | 'foreign';
  readonly checkpoint: boolean;
  readonly slowMs: number;
  /** One run per kill, each on what the runs before it left; then a run to the end. */
  readonly kills: readonly Kill[];
}

const killArb: fc.Arbitrary<Kill> = fc.oneof(
  fc.record({ kind: fc.constant('timer' as const), fraction: fc.double({ min: 0, max: 1.2, noNaN: true }), signal: signalArb }),
  fc.record({
    kind: fc.constant('op' as const),
    op: fc.integer({ min: 1, max: 16 }),
    after: fc.boolean(),
    signal: signalArb,
    outputOnly: fc.boolean(),
  }),
);

const saveCaseArb: fc.Arbitrary<SaveCase> = fc.record({
  engine: fc.constantFrom('memory' as const, 'mapreduce' as const),
  data: fc.array(fc.stringMatching(/^[a-z0-9 é]{0,5}$/), { maxLength: 30 }),
  partitions: fc.integer({ min: 1, max: 4 }),
  shuffle: fc.boolean(),
  save: fc.constantFrom<SaveKind>('text', 'gzip', 'deflate', 'object', 'jsonl'),
  overwrite: fc.boolean(),
  existing: fc.constantFrom('none' as const, 'previous' as const, 'foreign' as const),
  checkpoint: fc.boolean(),
  slowMs: fc.integer({ min: 0, max: 20 }),
  kills: fc.array(killArb, { minLength: 1, maxLength: 2 }),
});

/** How long a whole program takes here, measured on the runs that are not killed: timer kills land within it. */
let expectedMs = 2_500;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the fixture with `spec`; with `killAfterMs`, sends it `signal` then (if it is still running). */
async function runChild(spec: object, killAfterMs?: number, signal: Signal = 'SIGKILL'): Promise<Run> {
  const started = Date.now();
  const child: ChildProcess = spawn(process.execPath, [FIXTURE, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill(signal), killAfterMs);
  // A program that hangs (a signal handler that never ends it) fails the case rather than the whole file's timeout.
  let hung = false;
  const guard = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, 60_000);
  const [code, ended] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  clearTimeout(guard);
  if (hung) throw new Error(`the program hung for 60 s:\n${stderr}\n${stdout}`);
  return { code, signal: ended, stdout, stderr, ms: Date.now() - started };
}

/** A run that ended by itself must have ended well: a crash of the program is not the kill under test. */
function expectNormalEnd(run: Run, what: string): void {
  if (run.signal !== null) return;
  expect(run.code, `${what} failed:\n${run.stderr}\n${run.stdout}`).toBe(0);
}

/**
 * The first run of a case, ended by `kill`: from outside after a delay, or by itself at its K-th file operation under
 * `watched` (`w/`: the checkpoint folder and the output's parent `w/p/`), or under `w/p/` alone (`outputOnly`: the
 * commit's steps are then most of the operations counted, and a small K reaches each of them).
 */
function runKilled(spec: object, kill: Kill, watched: string, expected: number): Promise<Run> {
  const under = kill.kind === 'op' && kill.outputOnly ? path.join(watched, 'p') : watched;
  return kill.kind === 'timer'
    ? runChild(spec, Math.round(kill.fraction * expected), kill.signal)
    : runChild({ ...spec, killAt: { op: kill.op, after: kill.after, under, signal: kill.signal } });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading outputs back, independently of the engine
// ---------------------------------------------------------------------------------------------------------------

const EXTENSION: Record<SaveKind, string> = { text: '', gzip: '.gz', deflate: '.deflate', object: '', jsonl: '' };

/** The elements of one part file. */
function readPart(kind: SaveKind, file: string): unknown[] {
  const bytes = readFileSync(file);
  if (kind === 'object') {
    const out: unknown[] = [];
    for (let off = 0; off < bytes.length; ) {
      const len = bytes.readUInt32LE(off);
      expect(off + 4 + len, `${file} is cut short`).toBeLessThanOrEqual(bytes.length);
      out.push(...(v8.deserialize(bytes.subarray(off + 4, off + 4 + len)) as unknown[]));
      off += 4 + len;
    }
    return out;
  }
  // An empty gzip part is an empty file, as Hadoop writes it (codecs.ts).
  const text = (kind === 'gzip' ? (bytes.length === 0 ? bytes : gunzipSync(bytes)) : kind === 'deflate' ? inflateSync(bytes) : bytes).toString(
    'utf8',
  );
  expect(text === '' || text.endsWith('\n'), `${file} ends inside a line`).toBe(true);
  const lines = text === '' ? [] : text.slice(0, -1).split('\n');
  return kind === 'jsonl' ? lines.map((l) => JSON.parse(l) as unknown) : lines;
}

/** What the program saves, in some order. */
function modelOf(c: SaveCase): string[] {
  if (!c.shuffle) return [...c.data];
  const counts = new Map<number, number>();
  for (const s of c.data) counts.set(s.length, (counts.get(s.length) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}:${n}`);
}

const sorted = (xs: readonly unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();

/** A complete output of `c`: `_SUCCESS`, one part per partition in its format, the model's elements. */
function expectCompleteOutput(c: SaveCase, out: string, when: string): void {
  const names = readdirSync(out).sort();
  const parts = Array.from({ length: c.partitions }, (_, p) => `part-${String(p).padStart(5, '0')}${EXTENSION[c.save]}`);
  expect(names, `${when}: ${out} is not a whole output`).toEqual(['_SUCCESS', ...parts].sort());
  const elements = parts.flatMap((p) => readPart(c.save, path.join(out, p)));
  expect(sorted(elements), `${when}: ${out} holds other elements`).toEqual(sorted(modelOf(c)));
}

/** Every file under `dir`, by relative path, with its bytes (a folder as `/`). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const r = path.join(rel, name);
      if (statSync(path.join(dir, r)).isDirectory()) {
        out[`${r}/`] = '';
        walk(r);
      } else out[r] = readFileSync(path.join(dir, r)).toString('base64');
    }
  };
  walk('');
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Checkpoints and event logs
// ---------------------------------------------------------------------------------------------------------------

/** Every visible `rdd-N` under the context folders of `ckRoot` holds each of its partitions whole. */
function expectWholeCheckpoints(ckRoot: string, partitions: number): void {
  if (!existsSync(ckRoot)) return;
  for (const contextDir of readdirSync(ckRoot)) {
    for (const name of readdirSync(path.join(ckRoot, contextDir))) {
      if (name.startsWith('.')) {
        expect(name, 'a hidden checkpoint folder other than a writing one').toMatch(/^\.rdd-\d+\.writing-[0-9a-f-]+(\.aborted)?$/);
        continue;
      }
      expect(name).toMatch(/^rdd-\d+$/);
      const dir = path.join(ckRoot, contextDir, name);
      const files = readdirSync(dir).filter((f) => !/\.attempt-/.test(f));
      expect(files.sort(), `${dir} lacks partitions`).toEqual(Array.from({ length: partitions }, (_, p) => `part-${String(p).padStart(5, '0')}`));
      for (const f of files) expect(() => v8.deserialize(readFileSync(path.join(dir, f))), `${dir}/${f} is not whole`).not.toThrow();
    }
  }
}

interface LogRead {
  readonly file: string;
  readonly types: string[];
}

/** Each log of `dir`: every line parses, except a last line without its newline (a crash cut it short). */
function readLogs(dir: string): LogRead[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((name) => {
    const file = path.join(dir, name);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const last = lines.pop()!;
    const types = lines.map((line, i) => {
      try {
        return (JSON.parse(line) as { type: string }).type;
      } catch {
        throw new Error(`${file}: line ${i + 1} of ${lines.length} is not JSON: ${line.slice(0, 200)}`);
      }
    });
    // The last line may be cut only if nothing follows it.
    if (last !== '') {
      try {
        JSON.parse(last);
        throw new Error(`${file}: its last line is whole but has no newline`);
      } catch (e) {
        if ((e as Error).message.includes('has no newline')) throw e;
      }
    }
    return { file, types };
  });
}

/** SIGINT and SIGTERM cancel the running jobs first, and "their end reaches the event log" (README). */
function expectEveryJobEnded(log: LogRead, signal: string): void {
  const starts = log.types.filter((t) => t === 'jobStart').length;
  const ends = log.types.filter((t) => t === 'jobEnd').length;
  expect(ends, `${log.file}: ${starts} jobs started and ${ends} ended before ${signal}`).toBe(starts);
}

// ---------------------------------------------------------------------------------------------------------------
// Saves
// ---------------------------------------------------------------------------------------------------------------

const STAGING = /^\.out\._kindling_temporary-(aborted-|committed-)?rdd\d+-[0-9a-f]{8}-p(\d+)-h[0-9a-f]{8}$/;
const ASIDE = /^\.out\._kindling_old-rdd\d+-[0-9a-f]{8}-p(\d+)-h[0-9a-f]{8}$/;

/**
 * A case's folders: `w/` holds what the kill at a file operation watches, the output's parent `w/p/` and the checkpoint
 * folder `w/ck`; the spill and event log folders are outside it.
 */
function caseFolders(kind: string): { caseDir: string; watched: string; parent: string; ck: string; localDir: string; eventLogDir: string } {
  const caseDir = path.join(root, `${kind}-${cases++}`);
  const watched = path.join(caseDir, 'w');
  const folders = {
    caseDir,
    watched,
    parent: path.join(watched, 'p'),
    ck: path.join(watched, 'ck'),
    localDir: path.join(caseDir, 'local'),
    eventLogDir: path.join(caseDir, 'ev'),
  };
  mkdirSync(folders.parent, { recursive: true });
  mkdirSync(folders.localDir);
  return folders;
}

async function checkSaveCase(c: SaveCase): Promise<void> {
  const { caseDir, watched, parent, ck: ckRoot, localDir, eventLogDir } = caseFolders('save');
  const out = path.join(parent, 'out');
  if (c.existing !== 'none') {
    mkdirSync(out);
    if (c.existing === 'previous') {
      writeFileSync(path.join(out, 'part-00000'), 'an earlier output\n');
      writeFileSync(path.join(out, '_SUCCESS'), '');
    } else writeFileSync(path.join(out, 'notes.txt'), 'not a save\n');
  }
  const before = c.existing === 'none' ? undefined : snapshot(out);
  const same = (dir: string, snap: Record<string, string> | undefined): boolean =>
    snap !== undefined && JSON.stringify(snapshot(dir)) === JSON.stringify(snap);
  // The program may not replace what is there: every run refuses, and the target stays as it was.
  const refuses = c.existing === 'foreign' || (c.existing === 'previous' && !c.overwrite);
  const spec = {
    mode: 'save',
    out,
    localDir,
    eventLogDir,
    engine: c.engine,
    data: c.data,
    partitions: c.partitions,
    shuffle: c.shuffle,
    save: c.save,
    overwrite: c.overwrite,
    slowMs: c.slowMs,
    ...(c.checkpoint ? { checkpointDir: ckRoot } : {}),
  };
  /** A run that ends by itself saves, or refuses a target it may not replace (one an earlier run committed, without overwrite). */
  const expectSavedOrRefused = (run: Run, targetExisted: boolean): void => {
    expect(run.stdout).toContain(refuses || (targetExisted && !c.overwrite) ? 'refused' : 'saved');
  };

  for (const kill of c.kills) {
    const logsBefore = new Set(readLogs(eventLogDir).map((l) => l.file));
    const spillBefore = readdirSync(localDir);
    const namesBefore = readdirSync(parent);
    const targetExisted = existsSync(out);
    const killed = await runKilled(spec, kill, watched, expectedMs);
    expectNormalEnd(killed, 'a killed run');
    const wasKilled = killed.signal !== null;
    // SIGTERM and SIGINT remove what the save had staged and put an old target back (abortLiveJobsSync), and the
    // spill folder (README: "Spill folders go at stop(), at exit, and on SIGINT/SIGTERM"): only SIGKILL leaves any.
    const cleanedUp = killed.signal !== 'SIGKILL';
    if (!wasKilled) expectSavedOrRefused(killed, targetExisted);

    // The target as it was, or complete; an overwrite killed between its renames leaves the old one aside.
    const names = readdirSync(parent);
    for (const name of names) {
      if (name === 'out' || namesBefore.includes(name)) continue;
      expect(cleanedUp ? (killed.signal ?? 'a run that ended by itself') : 'SIGKILL', `left ${name} next to the target`).toBe('SIGKILL');
      expect(STAGING.exec(name) ?? ASIDE.exec(name), `an unexpected folder next to the target: ${name}`).not.toBeNull();
    }
    const asides = names.filter((n) => ASIDE.test(n));
    count(
      !wasKilled
        ? 'not killed'
        : `${killed.signal}: ${existsSync(out) ? (same(out, before) ? 'target as before' : 'target new') : 'no target'}${names.some((n) => STAGING.test(n)) ? ' +staging' : ''}${asides.length > 0 ? ' +aside' : ''}`,
    );
    if (refuses) {
      expect(snapshot(out), 'a target the program may not replace changed').toEqual(before);
    } else if (existsSync(out)) {
      if (!same(out, before)) expectCompleteOutput(c, out, 'after a kill');
    } else if (targetExisted) {
      // Killed between the two renames of an overwrite: what the target held is aside (the original or an earlier run's output).
      expect(asides.length, 'the previous output is gone and not aside').toBeGreaterThan(0);
      for (const a of asides) if (!same(path.join(parent, a), before)) expectCompleteOutput(c, path.join(parent, a), 'aside');
    }
    if (c.checkpoint) expectWholeCheckpoints(ckRoot, c.partitions);
    // Nothing new stays; a SIGKILLed run's folder before it may have gone already (a context's start removes those).
    if (cleanedUp)
      expect(
        readdirSync(localDir).filter((d) => !spillBefore.includes(d)),
        `${killed.signal} left a spill folder`,
      ).toEqual([]);
    for (const log of readLogs(eventLogDir)) {
      if (logsBefore.has(log.file) || !wasKilled) continue;
      // SIGKILL: no end, so the history shows the application incomplete; SIGINT and SIGTERM end it, and its jobs, in the log.
      if (!cleanedUp) expect(log.types, 'a SIGKILLed application logged its end').not.toContain('applicationEnd');
      else {
        expectEveryJobEnded(log, killed.signal!);
        expect(log.types.at(-1), `${killed.signal}: the log's last event`).toBe('applicationEnd');
      }
      // Lines are held up to 100 ms before they are written: a process killed that soon may leave an empty log.
      const events = readEventLog(log.file);
      if (events.length > 0) expect(events[0]!.type, "the history's reader").toBe('applicationStart');
    }
  }

  // The same program again, to its end: the promised output, and nothing left next to it.
  const logsBefore = new Set(readLogs(eventLogDir).map((l) => l.file));
  const spillBefore = readdirSync(localDir);
  const targetExisted = existsSync(out);
  const rerun = await runChild(spec);
  expectNormalEnd(rerun, 'the rerun');
  expectedMs = Math.max(expectedMs * 0.8, rerun.ms);
  expectSavedOrRefused(rerun, targetExisted);
  expect(readdirSync(parent), 'the rerun left folders next to the target').toEqual(['out']);
  if (refuses) expect(snapshot(out)).toEqual(before);
  else expectCompleteOutput(c, out, 'after the rerun');
  if (c.checkpoint) expectWholeCheckpoints(ckRoot, c.partitions);
  const rerunLog = readLogs(eventLogDir).find((l) => !logsBefore.has(l.file));
  expect(rerunLog?.types.at(-1), 'the rerun did not log its end last').toBe('applicationEnd');
  // A killed process runs no exit handler, so its spill folders stayed until the rerun's context started, which
  // removes the folders of owners that are gone (local-dirs.ts); the rerun's own went at its stop. A folder made
  // in the microseconds between its creation and its owner file may stay (it names no owner to check).
  const owned = (d: string): boolean => existsSync(path.join(localDir, d, '.owner'));
  expect(readdirSync(localDir).filter(owned), 'the rerun left a spill folder of a dead owner, or its own').toEqual([]);
  expect(
    readdirSync(localDir).every((d) => spillBefore.includes(d)),
    'the rerun left its own spill folder',
  ).toBe(true);
  rmSync(caseDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------------------------

interface StreamCase {
  readonly engine: 'memory' | 'mapreduce';
  readonly total: number;
  readonly perBatch: number;
  readonly batchMs: number;
  readonly slowMs: number;
  readonly kills: readonly Kill[];
}

const streamCaseArb: fc.Arbitrary<StreamCase> = fc.record({
  engine: fc.constantFrom('memory' as const, 'mapreduce' as const),
  total: fc.integer({ min: 1, max: 40 }),
  perBatch: fc.integer({ min: 1, max: 12 }),
  batchMs: fc.integer({ min: 100, max: 250 }),
  slowMs: fc.integer({ min: 0, max: 20 }),
  kills: fc.array(killArb, { minLength: 1, maxLength: 2 }),
});

let expectedStreamMs = 3_000;

/** The numbers in each visible batch folder under `parent`; every one must be whole. */
function batchFolders(parent: string, when: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const name of readdirSync(parent)) {
    if (name.startsWith('.')) continue;
    const dir = path.join(parent, name);
    const files = readdirSync(dir);
    expect(files, `${when}: ${name} is not committed`).toContain('_SUCCESS');
    const numbers = files
      .filter((f) => f.startsWith('part-'))
      .flatMap((f) => readPart('text', path.join(dir, f)))
      .map((l) => {
        expect(l).toMatch(/^n\d+$/);
        return Number((l as string).slice(1));
      });
    out.set(name, numbers);
  }
  return out;
}

async function checkStreamCase(c: StreamCase): Promise<void> {
  const { caseDir, watched, parent, ck: checkpoint, localDir, eventLogDir } = caseFolders('stream');
  const spec = {
    mode: 'stream',
    localDir,
    eventLogDir,
    engine: c.engine,
    slowMs: c.slowMs,
    stream: { total: c.total, perBatch: c.perBatch, checkpoint, prefix: path.join(parent, 'out'), batchMs: c.batchMs },
  };
  /** What each batch folder held when first seen whole: a replay must not write it again with other records. */
  const seen = new Map<string, string>();
  const check = (when: string): Map<string, number[]> => {
    const folders = batchFolders(parent, when);
    const all = [...folders.values()].flat();
    expect(new Set(all).size, `${when}: a record is in two batches`).toBe(all.length);
    for (const [name, numbers] of folders) {
      const text = JSON.stringify(numbers.sort((a, b) => a - b));
      expect(seen.get(name) ?? text, `${when}: ${name} was written again with other records`).toBe(text);
      seen.set(name, text);
    }
    return folders;
  };
  for (const kill of c.kills) {
    const logsBefore = new Set(readLogs(eventLogDir).map((l) => l.file));
    const spillBefore = readdirSync(localDir);
    const hiddenBefore = readdirSync(parent).filter((n) => n.startsWith('.'));
    const run = await runKilled(spec, kill, watched, expectedStreamMs);
    expectNormalEnd(run, 'a killed run');
    const hidden = readdirSync(parent).filter((n) => n.startsWith('.'));
    count(run.signal !== null ? `stream ${run.signal}${hidden.length > 0 ? ' +staging' : ''}` : 'stream not killed');
    if (run.signal !== null && run.signal !== 'SIGKILL') {
      // What a SIGKILLed run before it left stays until a save to the same batch folder.
      expect(hidden, `${run.signal} left staging folders`).toEqual(hidden.filter((n) => hiddenBefore.includes(n)));
      for (const log of readLogs(eventLogDir)) if (!logsBefore.has(log.file)) expectEveryJobEnded(log, run.signal);
      expect(
        readdirSync(localDir).filter((d) => !spillBefore.includes(d)),
        `${run.signal} left a spill folder`,
      ).toEqual([]);
    }
    check('after a kill');
  }
  const logsBefore = new Set(readLogs(eventLogDir).map((l) => l.file));
  const last = await runChild(spec);
  expectNormalEnd(last, 'the last run');
  expectedStreamMs = Math.max(expectedStreamMs * 0.8, last.ms);
  expect(last.stdout).toContain('stream-done');
  const lastLog = readLogs(eventLogDir).find((l) => !logsBefore.has(l.file));
  expect(lastLog?.types.at(-1), 'the last run did not log its end last').toBe('applicationEnd');
  const folders = check('after the last run');
  expect(
    [...folders.values()].flat().sort((a, b) => a - b),
    'the records written, once each',
  ).toEqual(Array.from({ length: c.total }, (_, i) => i));
  expect(
    readdirSync(parent).filter((n) => n.startsWith('.')),
    'staging folders left next to the batch folders',
  ).toEqual([]);
  for (const name of readdirSync(localDir)) expect(name).toMatch(/^kindling-/);
  rmSync(caseDir, { recursive: true, force: true });
}

describe('a driver SIGKILLed at a random moment', () => {
  it(`a save, its checkpoint and its event log: the target absent, as it was, or whole; the rerun completes it (seed ${SEED})`, {
    timeout: TIMEOUT,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(saveCaseArb, async (c) => checkSaveCase(c)),
      { numRuns: RUNS, seed: SEED, endOnFailure: process.env.FUZZ_SHRINK === undefined, ...(PATH === undefined ? {} : { path: PATH }) },
    );
    console.log(`random crash (saves): ${RUNS} cases, seed ${SEED}: ${summary()}`);
    tally.clear();
  });

  it(`a stream restarted with getOrCreate writes every record once into whole batch folders (seed ${SEED + 1})`, { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(streamCaseArb, async (c) => checkStreamCase(c)),
      {
        numRuns: Math.max(1, Math.ceil(RUNS / 2)),
        seed: SEED + 1,
        endOnFailure: process.env.FUZZ_SHRINK === undefined,
        ...(PATH === undefined ? {} : { path: PATH }),
      },
    );
    console.log(`random crash (streams): ${Math.max(1, Math.ceil(RUNS / 2))} cases, seed ${SEED + 1}: ${summary()}`);
  });
});
