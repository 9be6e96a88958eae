/**
 * The offset and commit logs (Structured Streaming's): `offsets/<id>.json` is written before a batch runs, with
 * the range each replayable source handed over; `commits/<id>.json` after every output succeeded. A restart
 * resumes after the last committed batch and first replays the uncommitted ones with the same ranges and the same
 * batch times, so sinks keyed by batch time (saveAsTextFiles, toRedis) write each once.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CheckpointError } from '../core/errors.js';
import { hostTag, isProcessAlive } from '../util/process-owner.js';
import type { BatchTime } from './dstream.js';

export interface OffsetEntry {
  readonly batch: BatchTime;
  /** Source name -> the range it handed over (sources without ranges are absent). */
  readonly sources: Readonly<Record<string, unknown>>;
}

/** Where a state stream's checkpoint is: its batch time, folder and partition count. */
export interface StateCheckpoint {
  readonly ms: number;
  readonly dir: string;
  readonly partitions: number;
}

/**
 * Of a state stream's checkpoints (oldest first), those a reader of the states from `oldestReadMs` on needs: the
 * newest at or before that time (`base`, where the oldest state read chains from) and every later one. Without a
 * base (no checkpoint that old) the oldest state read chains from the initial state, so all are kept. Times are
 * not assumed evenly spaced: a checkpoint due while the driver was down was never written, and the base is then
 * older than one checkpoint interval.
 */
export function stateCheckpointsNeeded(
  checkpoints: readonly StateCheckpoint[],
  oldestReadMs: number,
): { base: StateCheckpoint | undefined; needed: StateCheckpoint[] } {
  const base = checkpoints.filter((c) => c.ms <= oldestReadMs).at(-1);
  return { base, needed: base === undefined ? [...checkpoints] : checkpoints.filter((c) => c.ms >= base.ms) };
}

/** An event-time stream at a commit: the watermark its batch used, and the newest event time after it. */
export interface WatermarkCheckpoint {
  readonly used: number;
  readonly maxEventMs: number;
}

interface CommitRecord {
  readonly batch: BatchTime;
  /** Per state stream, its newest checkpoint (what folders before session 35 recorded alone). */
  readonly state?: Record<string, StateCheckpoint>;
  /** Per state stream, every checkpoint a restart needs, oldest first (the newest is `state`'s). */
  readonly checkpoints?: Record<string, StateCheckpoint[]>;
  readonly watermarks?: Record<string, WatermarkCheckpoint>;
}

interface Metadata {
  readonly batchIntervalMs: number;
  readonly zeroMs: number;
  /** The streams of the program that started the checkpoint, in creation order (their labels); absent before session 33. */
  readonly streams?: readonly string[];
}

/** A temporary of {@link CheckpointLog}'s writes: `NAME.pPID-hHOST.tmp`, or `NAME.PID.tmp` before session 41. */
const TEMPORARY = /\.(?:p(\d+)-h([0-9a-f]{8})|(\d+))\.tmp$/;

/** How many batches of logs are kept (spark.sql.streaming.minBatchesToRetain). */
const RETAIN = 100;

/** @internal */
export class CheckpointLog {
  readonly #dir: string;
  /**
   * Batches of logs kept: at least RETAIN, and more when a window or a state chain must replay further back after
   * a restart (the StreamingContext raises it once it knows its streams' remember durations).
   */
  retain = RETAIN;

  constructor(dir: string) {
    this.#dir = path.resolve(dir);
    for (const sub of ['offsets', 'commits']) mkdirSync(path.join(this.#dir, sub), { recursive: true });
    this.#removeStaleTemporaries();
  }

  /**
   * A process killed between writing a file's temporary and renaming it left the temporary: removed here when its
   * writer, a process of this host, is gone. Another host's (a folder on shared storage) or a live writer's stay.
   */
  #removeStaleTemporaries(): void {
    for (const folder of [this.#dir, path.join(this.#dir, 'offsets'), path.join(this.#dir, 'commits')]) {
      for (const f of readdirSync(folder)) {
        const owner = TEMPORARY.exec(f);
        if (owner === null) continue;
        // Names before session 41 had no host tag: their pid was this host's as far as anyone can tell.
        const pid = Number(owner[1] ?? owner[3]);
        const host = owner[2];
        if ((host !== undefined && host !== hostTag()) || pid === process.pid || isProcessAlive(pid)) continue;
        rmSync(path.join(folder, f), { force: true });
      }
    }
  }

  /** The zero time of an earlier run with the same interval, so batch times and ids continue where they were. */
  readMetadata(batchIntervalMs: number): number | undefined {
    const file = path.join(this.#dir, 'metadata.json');
    if (!existsSync(file)) return undefined;
    const m = this.#read<Metadata>(file);
    if (m.batchIntervalMs !== batchIntervalMs) {
      throw new CheckpointError(
        `checkpoint ${this.#dir} was written with a batch interval of ${m.batchIntervalMs} ms, not ${batchIntervalMs} ms: ` +
          'use another checkpoint folder, or the same interval',
      );
    }
    return m.zeroMs;
  }

  writeMetadata(batchIntervalMs: number, zeroMs: number, streams: readonly string[]): void {
    this.#write(path.join(this.#dir, 'metadata.json'), { batchIntervalMs, zeroMs, streams });
  }

  /** The streams recorded by the run that started this checkpoint, when it recorded them. */
  readStreams(): readonly string[] | undefined {
    const file = path.join(this.#dir, 'metadata.json');
    return existsSync(file) ? this.#read<Metadata>(file).streams : undefined;
  }

  /** True when a run has started on the checkpoint folder `dir` (without creating anything there). */
  static isPresent(dir: string): boolean {
    return existsSync(path.join(path.resolve(dir), 'metadata.json'));
  }

  /**
   * The newest offsets entry (where sources resume) and every entry after the last commit, oldest first. Batches
   * are cut ahead of processing, so several may have been cut and none of them committed when the driver died.
   */
  recover(): { newest: OffsetEntry; uncommitted: OffsetEntry[] } | undefined {
    const ids = this.#ids('offsets');
    if (ids.length === 0) return undefined;
    const lastCommit = this.#ids('commits').at(-1) ?? -1;
    const read = (id: number) => this.#read<OffsetEntry>(path.join(this.#dir, 'offsets', name(id)));
    return { newest: read(ids.at(-1)!), uncommitted: ids.filter((id) => id > lastCommit).map(read) };
  }

  writeOffsets(entry: OffsetEntry): void {
    this.#write(path.join(this.#dir, 'offsets', name(entry.batch.id)), entry);
  }

  /**
   * `checkpoints`: per state stream, the checkpoints a restart after this batch needs, oldest first. Logs older
   * than `retain` batches go, except from `keepFromId` on: the batches a state still chains through from its
   * oldest needed checkpoint, however long ago the driver's down time put it.
   */
  writeCommit(
    batch: BatchTime,
    outputs: readonly string[],
    checkpoints: Readonly<Record<string, StateCheckpoint[]>> = {},
    watermarks: Readonly<Record<string, WatermarkCheckpoint>> = {},
    keepFromId = batch.id,
  ): void {
    const state: Record<string, StateCheckpoint> = {};
    for (const [key, list] of Object.entries(checkpoints)) if (list.length > 0) state[key] = list.at(-1)!;
    this.#write(path.join(this.#dir, 'commits', name(batch.id)), { batch, outputs, state, checkpoints, watermarks, finishedAt: Date.now() });
    const below = Math.min(batch.id - this.retain + 1, keepFromId);
    for (const sub of ['offsets', 'commits']) {
      for (const id of this.#ids(sub)) if (id < below) rmSync(path.join(this.#dir, sub, name(id)), { force: true });
    }
  }

  /**
   * Per state stream, the checkpoints the last commit recorded, oldest first. A folder written before session 35
   * recorded the newest only: the older ones are gathered from every retained commit.
   */
  lastCheckpoints(): Record<string, StateCheckpoint[]> {
    const ids = this.#ids('commits');
    if (ids.length === 0) return {};
    const last = this.#read<CommitRecord>(path.join(this.#dir, 'commits', name(ids.at(-1)!)));
    if (last.checkpoints !== undefined) return last.checkpoints;
    const out: Record<string, StateCheckpoint[]> = {};
    for (const id of ids) {
      const c = this.#read<CommitRecord>(path.join(this.#dir, 'commits', name(id)));
      for (const [key, rec] of Object.entries(c.state ?? {})) {
        const list = (out[key] ??= []);
        if (list.at(-1)?.ms !== rec.ms) list.push(rec);
      }
    }
    for (const key of Object.keys(out)) if (last.state?.[key] === undefined) delete out[key];
    return out;
  }

  /** Every retained commit's event-time watermarks, oldest first. */
  watermarks(): { batch: BatchTime; watermarks: Readonly<Record<string, WatermarkCheckpoint>> }[] {
    return this.#ids('commits').map((id) => {
      const c = this.#read<CommitRecord>(path.join(this.#dir, 'commits', name(id)));
      return { batch: c.batch, watermarks: c.watermarks ?? {} };
    });
  }

  /** The last committed batch, if any. */
  lastCommitted(): BatchTime | undefined {
    const last = this.#ids('commits').at(-1);
    return last === undefined ? undefined : this.#read<{ batch: BatchTime }>(path.join(this.#dir, 'commits', name(last))).batch;
  }

  /** Committed batches after `ms`, oldest first (their input is put back for windows and restored state). */
  committedAfter(ms: number): OffsetEntry[] {
    const lastCommit = this.#ids('commits').at(-1) ?? -1;
    return this.#ids('offsets')
      .filter((id) => id <= lastCommit)
      .map((id) => this.#read<OffsetEntry>(path.join(this.#dir, 'offsets', name(id))))
      .filter((e) => e.batch.ms > ms);
  }

  #ids(sub: string): number[] {
    return readdirSync(path.join(this.#dir, sub))
      .filter((f) => /^\d+\.json$/.test(f))
      .map((f) => Number(f.slice(0, -5)))
      .sort((a, b) => a - b);
  }

  #read<T>(file: string): T {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (error) {
      throw new CheckpointError(`cannot read streaming checkpoint file ${file}: ${(error as Error).message}`);
    }
  }

  /** Write to a temporary name and rename: a crash leaves the old file or the new one, never half of one. */
  #write(file: string, value: unknown): void {
    const tmp = `${file}.p${process.pid}-h${hostTag()}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file);
  }
}

function name(id: number): string {
  return `${String(id).padStart(9, '0')}.json`;
}
