import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CommitDeniedError, OutputCommitError, OutputPathError } from '../../src/core/errors.js';
import {
  abortJob,
  abortLiveJobsSync,
  abortTask,
  commitJob,
  commitTask,
  setupJob,
  taskAttemptPath,
  writeTaskOutput,
  type JobOutputPlan,
} from '../../src/io/output-committer.js';
import { formatTextLine, partFileName } from '../../src/io/text-format.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-commit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A fresh parent directory per test, so leftover staging folders are visible. */
function freshParent(): string {
  const dir = path.join(root, `case-${counter++}`);
  mkdirSync(dir);
  return dir;
}

function runTasks(plan: JobOutputPlan, partitions: unknown[][]): void {
  partitions.forEach((rows, p) => {
    writeTaskOutput(plan, p, 0, rows);
    expect(commitTask(plan, p, 0).committed).toBe(true);
  });
}

function makeOldOutput(target: string): void {
  mkdirSync(target);
  writeFileSync(path.join(target, 'part-00000'), 'old\n');
  writeFileSync(path.join(target, '_SUCCESS'), '');
}

describe('output commit protocol', () => {
  it('publishes part files and _SUCCESS only, and removes staging', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    const plan = await setupJob(target, { jobId: 7, numPartitions: 3 });
    expect(path.dirname(plan.stagingPath)).toBe(parent);
    expect(path.basename(plan.stagingPath)).toMatch(/^\.out\._kindling_temporary-7-/);
    expect(existsSync(target)).toBe(false);

    runTasks(plan, [['a', 'b'], [], [1, { k: [2n] }, null]]);
    const result = await commitJob(plan);

    expect(result).toEqual({ outputPath: target, partFiles: 3, warnings: [] });
    expect(readdirSync(target).sort()).toEqual(['_SUCCESS', 'part-00000', 'part-00001', 'part-00002']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('a\nb\n');
    expect(readFileSync(path.join(target, 'part-00001'), 'utf8')).toBe('');
    expect(readFileSync(path.join(target, 'part-00002'), 'utf8')).toBe('1\n{"k":["2"]}\nnull\n');
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('rejects an existing target without overwrite and leaves it untouched', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    await expect(setupJob(target, { jobId: 1 })).rejects.toThrow(
      `Output path ${target} already exists. Pass { overwrite: true } to replace it, or choose another path.`,
    );
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('old\n');
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('replaces an existing target with overwrite, keeping it intact until the commit', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    writeFileSync(path.join(target, 'part-00001'), 'old extra part\n');
    const plan = await setupJob(target, { jobId: 'j2', overwrite: true });
    runTasks(plan, [['new']]);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('old\n');

    await commitJob(plan);
    expect(readdirSync(target).sort()).toEqual(['_SUCCESS', 'part-00000']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('new\n');
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('two overwrites of one target committing at once: one wins whole, the other fails naming the race, nothing left aside', async () => {
    for (let round = 0; round < 5; round++) {
      const parent = freshParent();
      const target = path.join(parent, 'out');
      makeOldOutput(target);
      const a = await setupJob(target, { jobId: 'ja', overwrite: true });
      const b = await setupJob(target, { jobId: 'jb', overwrite: true });
      runTasks(a, [['a0'], ['a1']]);
      runTasks(b, [['b0']]);
      const results = await Promise.allSettled([commitJob(a), commitJob(b)]);
      for (const [r, plan] of [
        [results[0]!, a],
        [results[1]!, b],
      ] as const) {
        if (r.status === 'rejected') {
          // Before: a raw "ENOENT: no such file or directory, rename '.../out' -> '.../.out._kindling_old-...'".
          expect((r.reason as Error).message).toMatch(/^Cannot commit job output .*out: it was moved or replaced while this job committed/);
          await abortJob(plan);
        }
      }
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      const parts = readdirSync(target).filter((n) => n.startsWith('part-'));
      const content = parts.map((n) => readFileSync(path.join(target, n), 'utf8')).join('');
      expect(['a0\na1\n', 'b0\n']).toContain(content);
      expect(readdirSync(parent)).toEqual(['out']);
    }
  });

  it('leaves the old target intact and no staging folder when the job is aborted', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    const plan = await setupJob(target, { jobId: 3, overwrite: true, numPartitions: 2 });
    runTasks(plan, [['new']]);
    writeTaskOutput(plan, 1, 0, ['half']); // written but never committed

    await expect(commitJob(plan)).rejects.toThrow(/no committed output for part-00001/);
    await abortJob(plan);
    await abortJob(plan); // idempotent

    expect(readdirSync(parent)).toEqual(['out']);
    expect(readdirSync(target).sort()).toEqual(['_SUCCESS', 'part-00000']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('old\n');
  });

  it('denies an attempt that comes to write or commit after its job was aborted or committed (CommitDeniedError)', async () => {
    const parent = freshParent();
    const aborted = await setupJob(path.join(parent, 'aborted'), { jobId: 'a', numPartitions: 2 });
    writeTaskOutput(aborted, 0, 0, ['late']); // written before the abort, committed after it
    await abortJob(aborted);
    expect(() => commitTask(aborted, 0, 0)).toThrow(CommitDeniedError);
    expect(() => writeTaskOutput(aborted, 1, 0, ['later'])).toThrow(/Task attempt 0 of partition 1 may not commit to .*aborted: its job has ended/);

    const done = await setupJob(path.join(parent, 'done'), { jobId: 'd', numPartitions: 1 });
    runTasks(done, [['x']]);
    writeTaskOutput(done, 0, 1, ['speculative copy']);
    await commitJob(done);
    expect(() => commitTask(done, 0, 1)).toThrow(CommitDeniedError);
    expect(readdirSync(parent).sort()).toEqual(['done']);

    // A job still running whose attempt file is missing is not denied: that is a failure of the task.
    const running = await setupJob(path.join(parent, 'running'), { jobId: 'r', numPartitions: 1 });
    let err: unknown;
    try {
      commitTask(running, 0, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutputCommitError);
    expect(err).not.toBeInstanceOf(CommitDeniedError);
    await abortJob(running);
  });

  it('abortJob ends, leaving nothing, while tasks of the cancelled job still create files in staging', async () => {
    // A cancelled job's tasks stop only after a grace period; a plain recursive delete racing their new files failed
    // with ENOTEMPTY, and that error replaced the job's AbortError (CI, session 22).
    for (let round = 0; round < 5; round++) {
      const parent = freshParent();
      const plan = await setupJob(path.join(parent, 'out'), { jobId: round, numPartitions: 4 });
      const writers = [0, 1].map(
        (w) =>
          new Worker(
            `const fs = require('node:fs');
             const { dir, w } = require('node:worker_threads').workerData;
             for (let i = 0; ; i++) {
               try { fs.closeSync(fs.openSync(dir + '/attempt-' + w + '-' + i, 'w')); } catch (e) { if (e.code === 'ENOENT') break; throw e; }
             }`,
            { eval: true, workerData: { dir: path.join(plan.stagingPath, '_temporary'), w } },
          ),
      );
      const ended = writers.map((t) => new Promise<number>((resolve, reject) => t.once('exit', resolve).once('error', reject)));
      // Both writing, a few files or many (a delete that lists many then finds more is the race).
      const atLeast = 2 + round * 200;
      while (
        new Set(readdirSync(path.join(plan.stagingPath, '_temporary')).map((f) => f.split('-')[1])).size < 2 ||
        readdirSync(path.join(plan.stagingPath, '_temporary')).length < atLeast
      ) {
        await new Promise((r) => setTimeout(r, 1));
      }
      await abortJob(plan);
      // Each writer stops at its first create after the abort: the paths it holds lead nowhere any more.
      expect(await Promise.all(ended)).toEqual([0, 0]);
      expect(readdirSync(parent)).toEqual([]);
    }
  });

  it('commitJob publishes, leaving nothing behind, while attempts that lost the race still create files in _temporary', async () => {
    // Every partition committed, a losing copy (a speculative one sent just before its task's other copy won) may still
    // be starting: its attempt file appearing while the commit deleted _temporary failed the save with ENOTEMPTY.
    for (let round = 0; round < 5; round++) {
      const parent = freshParent();
      const target = path.join(parent, 'out');
      const plan = await setupJob(target, { jobId: round, numPartitions: 2 });
      runTasks(plan, [['a'], ['b']]);
      const writers = [0, 1].map(
        (w) =>
          new Worker(
            `const fs = require('node:fs');
             const { dir, w } = require('node:worker_threads').workerData;
             for (let i = 0; ; i++) {
               try { fs.closeSync(fs.openSync(dir + '/part-0000' + w + '.attempt-' + (i + 1), 'w')); } catch (e) { if (e.code === 'ENOENT') break; throw e; }
             }`,
            { eval: true, workerData: { dir: path.join(plan.stagingPath, '_temporary'), w } },
          ),
      );
      const ended = writers.map((t) => new Promise<number>((resolve, reject) => t.once('exit', resolve).once('error', reject)));
      const atLeast = 2 + round * 200;
      while (readdirSync(path.join(plan.stagingPath, '_temporary')).length < atLeast) await new Promise((r) => setTimeout(r, 1));
      await commitJob(plan);
      expect(await Promise.all(ended)).toEqual([0, 0]);
      expect(readdirSync(parent)).toEqual(['out']);
      expect(readdirSync(target).sort()).toEqual(['_SUCCESS', 'part-00000', 'part-00001']);
    }
  });

  it('puts an old target back when an interrupted overwrite left it aside', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    const plan = await setupJob(target, { jobId: 4, overwrite: true });
    // Simulate a driver crash between "rename old aside" and "rename staging into place".
    renameSync(target, plan.asidePath);

    await abortJob(plan);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('old\n');
  });

  it('abortLiveJobsSync (a process on its way out) removes the staging of every uncommitted save and puts an aside target back', async () => {
    const parent = freshParent();
    const fresh = await setupJob(path.join(parent, 'fresh'), { jobId: 5, numPartitions: 2 });
    runTasks(fresh, [['a']]);
    writeTaskOutput(fresh, 1, 0, ['half']);
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    const over = await setupJob(target, { jobId: 6, overwrite: true });
    renameSync(target, over.asidePath); // the end came between the two renames of its commit
    const done = await setupJob(path.join(parent, 'done'), { jobId: 7 });
    runTasks(done, [['kept']]);
    await commitJob(done);

    abortLiveJobsSync();
    expect(readdirSync(parent).sort()).toEqual(['done', 'out']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('old\n');
    expect(readdirSync(path.join(parent, 'done')).sort()).toEqual(['_SUCCESS', 'part-00000']);
    await abortJob(fresh); // the save's own abort, arriving later, finds nothing to do
    expect(readdirSync(parent).sort()).toEqual(['done', 'out']);
  });

  it('a signal handled at any await of a save (the process then ending) leaves the old target or the new one, and no hidden folder', async () => {
    // A signal's handler (abortLiveJobsSync) runs between two turns of the event loop, and the process ends by the
    // signal right after it. A file operation the save had started on libuv's threads still lands after the handler
    // cleaned up: a staging folder made, a target moved aside, a `_temporary` moved out. Each await of setupJob and
    // commitJob in turn: the handler runs when the operation is started, the operation lands, nothing after it runs.
    const OPS = ['mkdir', 'rename', 'writeFile', 'rm', 'rmdir', 'lstat', 'readdir'] as const;
    for (let k = 1; ; k++) {
      const parent = freshParent();
      const target = path.join(parent, 'out');
      makeOldOutput(target);
      let calls = 0;
      let landed: Promise<void> | undefined;
      let fire: () => void = () => undefined;
      const fired = new Promise<void>((resolve) => (fire = resolve));
      const spies = OPS.map((name) => {
        const real = fs[name] as (...args: unknown[]) => void;
        return vi.spyOn(fs, name).mockImplementation(((...args: unknown[]) => {
          if (++calls !== k) return real(...args);
          abortLiveJobsSync();
          landed = new Promise<void>((resolve) => real(...args.slice(0, -1), () => resolve()));
          fire();
        }) as never);
      });
      try {
        const saved = (async () => {
          const plan = await setupJob(target, { jobId: 12, overwrite: true, numPartitions: 1 });
          runTasks(plan, [['new']]);
          await commitJob(plan);
        })();
        await Promise.race([saved, fired]);
        await landed;
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
      if (landed === undefined) break; // the save made fewer operations: every await was reached
      expect(readdirSync(parent), `a signal at operation ${k}`).toEqual(['out']);
      expect(['old\n', 'new\n'], `a signal at operation ${k}`).toContain(readFileSync(path.join(target, 'part-00000'), 'utf8'));
    }
  });

  it('abortLiveJobsSync during a commit removes the _temporary folder the commit had moved out of staging to delete', async () => {
    // A SIGTERM handled while commitJob deleted the `_temporary` it had renamed out of staging left that hidden
    // sibling (`.out._kindling_temporary-committed-...`) behind, for the next save to the path to remove.
    const parent = freshParent();
    const plan = await setupJob(path.join(parent, 'out'), { jobId: 10, numPartitions: 1 });
    runTasks(plan, [['a']]);
    writeTaskOutput(plan, 0, 1, ['a losing attempt, still in _temporary']);
    const moved = path.join(parent, path.basename(plan.stagingPath).replace('._kindling_temporary-', '._kindling_temporary-committed-'));
    renameSync(path.join(plan.stagingPath, '_temporary'), moved);

    abortLiveJobsSync();
    expect(readdirSync(parent)).toEqual([]);
  });

  it('abortLiveJobsSync after the second rename of an overwrite deletes the old copy aside, and only what a save wrote', async () => {
    // A SIGTERM handled right after commitJob moved the new output into place, before it deleted the old one: the
    // aside folder was left, a hidden folder of parts that only the next save to the path would remove.
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    const over = await setupJob(target, { jobId: 8, overwrite: true, numPartitions: 1 });
    runTasks(over, [['new']]);
    renameSync(target, over.asidePath);
    renameSync(over.stagingPath, target);
    const other = path.join(parent, 'other');
    makeOldOutput(other);
    const kept = await setupJob(other, { jobId: 9, overwrite: true, numPartitions: 1 });
    renameSync(other, kept.asidePath);
    writeFileSync(path.join(kept.asidePath, 'notes.txt'), 'written meanwhile\n');
    mkdirSync(other);

    abortLiveJobsSync();
    expect(readdirSync(parent).sort()).toEqual([path.basename(kept.asidePath), 'other', 'out']);
    expect(readdirSync(kept.asidePath)).toEqual(['notes.txt']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('new\n');
  });

  it('discards a second attempt for a committed partition, keeping one copy', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    const plan = await setupJob(target, { jobId: 5, numPartitions: 1 });
    writeTaskOutput(plan, 0, 0, ['first']);
    writeTaskOutput(plan, 0, 1, ['second']);

    const won = commitTask(plan, 0, 1);
    const lost = commitTask(plan, 0, 0);
    expect(won.committed).toBe(true);
    expect(lost).toMatchObject({ committed: false, partPath: won.partPath });
    expect(lost.message).toMatch(/Partition 0 was already committed/);
    expect(existsSync(taskAttemptPath(plan, 0, 0))).toBe(false);

    await commitJob(plan);
    expect(readdirSync(target).sort()).toEqual(['_SUCCESS', 'part-00000']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('second\n');
  });

  it('a part file holds exactly what the attempt that committed it wrote, when two attempts share a number (a stage retried)', async () => {
    // A resubmitted stage numbers its tasks' attempts from 0 again, while a task of the earlier stage attempt may still
    // be writing the same partition (Spark's SPARK-24552). The second writer truncated and rewrote the first one's
    // attempt file: the committed part held the other attempt's bytes, and the loser wrote on into the published file.
    const parent = freshParent();
    const target = path.join(parent, 'out');
    const plan = await setupJob(target, { jobId: 9, numPartitions: 1 });
    let inner: { committed: boolean } | Error | undefined;
    function* slowRows(): Generator<string> {
      yield 'earlier stage attempt, a longer line';
      // The later stage attempt's task, numbered 0 as well, writes and commits meanwhile.
      try {
        writeTaskOutput(plan, 0, 0, ['later']);
        inner = commitTask(plan, 0, 0);
      } catch (e) {
        inner = e as Error;
      }
    }
    let outer: { committed: boolean } | Error;
    try {
      writeTaskOutput(plan, 0, 0, slowRows());
      outer = commitTask(plan, 0, 0);
    } catch (e) {
      outer = e as Error;
    }
    const committed = [inner, outer].filter((r) => r !== undefined && !(r instanceof Error) && r.committed);
    expect(committed.length, 'one attempt committed').toBe(1);
    const want = committed[0] === inner ? 'later\n' : 'earlier stage attempt, a longer line\n';
    await commitJob(plan);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe(want);
    // The attempt refused is the one that found the name taken, with a reason (it is retried under the next number).
    const refusedOne = [inner, outer].find((r) => r instanceof Error) as Error;
    expect(refusedOne).toBeInstanceOf(OutputCommitError);
    expect(refusedOne.message).toMatch(/another attempt numbered 0 of partition 0/);
  });

  it('refuses to publish over a target created after setup unless overwriting', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    const plan = await setupJob(target, { jobId: 6 });
    runTasks(plan, [['x']]);
    makeOldOutput(target);
    await expect(commitJob(plan)).rejects.toThrow(`Output path ${target} already exists`);
    await abortJob(plan);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('old\n');
  });

  it('writes large partitions in chunks with the right content', async () => {
    const parent = freshParent();
    const plan = await setupJob(path.join(parent, 'big'), { jobId: 8, numPartitions: 1 });
    const rows = Array.from({ length: 300_000 }, (_, i) => `row ${i} ü`);
    const out = writeTaskOutput(plan, 0, 0, rows);
    const expected = rows.join('\n') + '\n';
    expect(out).toMatchObject({ records: rows.length, bytes: Buffer.byteLength(expected) });
    commitTask(plan, 0, 0);
    await commitJob(plan);
    expect(readFileSync(path.join(parent, 'big', 'part-00000'), 'utf8')).toBe(expected);
  });

  it('removes the attempt file when writing fails, and commitTask then explains', async () => {
    const parent = freshParent();
    const plan = await setupJob(path.join(parent, 'out'), { jobId: 9 });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => writeTaskOutput(plan, 0, 0, ['ok', cyclic])).toThrow(/Cannot write element as a text line/);
    expect(existsSync(taskAttemptPath(plan, 0, 0))).toBe(false);
    expect(() => commitTask(plan, 0, 0)).toThrow(/does not exist\. Call writeTaskOutput first/);
    abortTask(plan, 0, 0);
    await abortJob(plan);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('creates missing parent directories and fails clearly when the parent is not writable', async () => {
    const parent = freshParent();
    const nested = path.join(parent, 'a', 'b', 'out');
    const plan = await setupJob(nested, { jobId: 10 });
    await commitJob(plan);
    expect(readdirSync(nested)).toEqual(['_SUCCESS']);

    const blocker = path.join(parent, 'file');
    writeFileSync(blocker, '');
    await expect(setupJob(path.join(blocker, 'out'), { jobId: 11 })).rejects.toThrow(
      new RegExp(`Cannot write output .*: cannot create a staging folder in ${blocker} \\((EEXIST|ENOTDIR)`),
    );
    if (process.getuid?.() !== 0) {
      const locked = path.join(parent, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      await expect(setupJob(path.join(locked, 'out'), { jobId: 12 })).rejects.toThrow(/EACCES/);
      chmodSync(locked, 0o700);
    }
  });
});

/** A whole save of one partition: setup, task, commit. */
async function save(target: string, overwrite: boolean, inputs: string[] = []): Promise<void> {
  const plan = await setupJob(target, { jobId: 'save', overwrite, numPartitions: 1, inputs });
  try {
    runTasks(plan, [['new']]);
    await commitJob(plan);
  } catch (e) {
    await abortJob(plan);
    throw e;
  }
}

describe('what overwrite may destroy', () => {
  it('refuses an empty path, ".", "..", the working and home directories, their parents and a root', async () => {
    // A sandbox stands in for the working and home directories, so a regression costs only the sandbox.
    const sandbox = freshParent();
    const work = path.join(sandbox, 'home', 'me', 'project');
    mkdirSync(work, { recursive: true });
    writeFileSync(path.join(work, 'notes.txt'), 'precious\n');
    const cwd = process.cwd();
    const home = process.env['HOME'];
    process.chdir(work);
    process.env['HOME'] = path.join(sandbox, 'home', 'me');
    try {
      expect(homedir()).toBe(path.join(sandbox, 'home', 'me'));
      for (const empty of ['', '   ']) {
        const err = await save(empty, true).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OutputPathError);
        expect((err as Error).message).toMatch(/^Can not create a Path from an empty string/);
      }
      const refused: Array<[string, RegExp]> = [
        ['.', /is the working directory/],
        ['..', /is the home directory/], // the sandbox's home is the parent of its working directory
        [work, /is the working directory/],
        [path.join(sandbox, 'home', 'me'), /is the home directory/],
        [path.join(sandbox, 'home'), /is a parent of the (working|home) directory/],
        ['/', /is a filesystem root/],
      ];
      for (const [target, why] of refused) {
        const err = await save(target, true).catch((e: unknown) => e);
        expect(err, target).toBeInstanceOf(OutputPathError);
        expect((err as Error).message).toMatch(why);
      }
      expect(readFileSync(path.join(work, 'notes.txt'), 'utf8')).toBe('precious\n');
      expect(readdirSync(path.join(sandbox, 'home', 'me'))).toEqual(['project']);
      expect(readdirSync(path.join(sandbox, 'home'))).toEqual(['me']);
      // A directory of its own below the working directory is fine.
      await save('out', false);
      expect(readdirSync(work).sort()).toEqual(['notes.txt', 'out']);
    } finally {
      process.chdir(cwd);
      if (home === undefined) delete process.env['HOME'];
      else process.env['HOME'] = home;
    }
  });

  it('refuses to overwrite a directory holding files no save wrote, naming the path and one of them', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    writeFileSync(path.join(target, 'notes.txt'), 'mine\n');
    const err = await save(target, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputPathError);
    expect((err as Error).message).toContain(`Refusing to overwrite ${target}: it holds ${path.join(target, 'notes.txt')}`);
    expect(readdirSync(target).sort()).toEqual(['_SUCCESS', 'notes.txt', 'part-00000']);
    expect(readdirSync(parent)).toEqual(['out']);

    rmSync(path.join(target, 'notes.txt'));
    mkdirSync(path.join(target, 'part-00001'));
    await expect(save(target, true)).rejects.toThrow(`it holds ${path.join(target, 'part-00001/')}`);

    const file = path.join(parent, 'file.txt');
    writeFileSync(file, 'a file\n');
    await expect(save(file, true)).rejects.toThrow(`Refusing to overwrite ${file}: it is a file`);
    expect(readFileSync(file, 'utf8')).toBe('a file\n');
  });

  it('checks the target again at commit, and deletes only part files and _SUCCESS of the old output', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    const plan = await setupJob(target, { jobId: 'late', overwrite: true, numPartitions: 1 });
    runTasks(plan, [['new']]);
    writeFileSync(path.join(target, 'added-during-the-job.txt'), 'mine\n');
    await expect(commitJob(plan)).rejects.toThrow(OutputPathError);
    await abortJob(plan);
    expect(readdirSync(target).sort()).toEqual(['_SUCCESS', 'added-during-the-job.txt', 'part-00000']);
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('refuses an output that is, contains, or lies inside a directory the job reads', async () => {
    const parent = freshParent();
    const input = path.join(parent, 'in');
    mkdirSync(input);
    writeFileSync(path.join(input, 'a.txt'), 'a\n');
    await expect(save(input, true, [input])).rejects.toThrow(`Output path ${input} is or contains the job's input ${input}`);
    await expect(save(parent, true, [path.join(input, 'a.txt')])).rejects.toThrow(OutputPathError);
    await expect(save(path.join(input, 'out'), false, [input])).rejects.toThrow(`is inside the job's input directory ${input}`);
    await expect(save(input, true, [`${path.join(parent, 'x.txt')},${path.join(input, '*.txt')}`])).rejects.toThrow(
      /contains the files matched by the job's input/,
    );
    expect(readdirSync(parent)).toEqual(['in']);
    expect(readdirSync(input)).toEqual(['a.txt']);
    // Next to a file or a glob's files is fine.
    await save(path.join(parent, 'out'), false, [path.join(input, 'a.txt')]);
    await save(path.join(input, 'out'), false, [path.join(input, '*.txt')]);
  });
});

/** A pid that no process has now: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

/** Renames a folder setupJob made so that its name says another process (or host) owns it. */
function ownedBy(folder: string, owner: { pid: number; kind?: 'temporary' | 'old'; host?: string }): string {
  let name = path
    .basename(folder)
    .replace(/-[0-9a-f]{8}-p\d+-/, `-deadbeef-p${owner.pid}-`)
    .replace('._kindling_temporary-', `._kindling_${owner.kind ?? 'temporary'}-`);
  if (owner.host !== undefined) name = name.replace(/-h[0-9a-f]{8}$/, `-h${owner.host}`);
  const renamed = path.join(path.dirname(folder), name);
  renameSync(folder, renamed);
  return renamed;
}

describe('stale folders of killed saves', () => {
  it('names staging and aside folders after the owning process', async () => {
    const plan = await setupJob(path.join(freshParent(), 'out'), { jobId: 1 });
    expect(path.basename(plan.stagingPath)).toMatch(new RegExp(`^\\.out\\._kindling_temporary-1-[0-9a-f]{8}-p${process.pid}-h[0-9a-f]{8}$`));
    expect(path.basename(plan.asidePath)).toBe(path.basename(plan.stagingPath).replace('_temporary-', '_old-'));
    await abortJob(plan);
  });

  it('a later save removes the staging folder of a dead process, or of this one that no job of it owns', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    const killed = await setupJob(target, { jobId: 'killed', numPartitions: 1 });
    const earlier = await setupJob(target, { jobId: 'earlier' });
    runTasks(killed, [['half written']]);
    const dead = ownedBy(killed.stagingPath, { pid: deadPid() });
    const ownButGone = ownedBy(earlier.stagingPath, { pid: process.pid });
    // Aborting forgets the jobs; their renamed folders stay, as after a crash.
    await abortJob(killed);
    await abortJob(earlier);

    expect(readdirSync(parent).sort()).toEqual([path.basename(dead), path.basename(ownButGone)].sort());
    await save(target, false);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('new\n');
  });

  it('leaves the staging folder of a live process alone, and one of another host', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const other = await setupJob(target, { jobId: 'other' });
      const host = await setupJob(target, { jobId: 'host' });
      const live = ownedBy(other.stagingPath, { pid: sleeper.pid! });
      const elsewhere = ownedBy(host.stagingPath, { pid: deadPid(), host: '00000000' });
      await abortJob(other);
      await abortJob(host);
      await save(target, false);
      expect(readdirSync(parent).sort()).toEqual([path.basename(live), path.basename(elsewhere), 'out'].sort());
      expect(readdirSync(live)).toEqual(['_temporary']);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('puts back an old target a killed overwrite left aside, and deletes an aside whose target is in place', async () => {
    const parent = freshParent();
    const target = path.join(parent, 'out');
    makeOldOutput(target);
    const killed = await setupJob(target, { jobId: 'killed', overwrite: true, numPartitions: 1 });
    runTasks(killed, [['never published']]);
    // Killed between the two renames of commitJob: the target is aside, staging still there.
    renameSync(target, killed.asidePath);
    const pid = deadPid();
    const aside = ownedBy(killed.asidePath, { pid, kind: 'old' });
    ownedBy(killed.stagingPath, { pid });
    await abortJob(killed);

    await expect(save(target, false)).rejects.toThrow(`Output path ${target} already exists`);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('old\n');

    // Killed after publishing, before deleting the old copy: the aside is just old output.
    mkdirSync(aside);
    writeFileSync(path.join(aside, 'part-00000'), 'older\n');
    writeFileSync(path.join(aside, '_SUCCESS'), '');
    await save(target, true);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(readFileSync(path.join(target, 'part-00000'), 'utf8')).toBe('new\n');
  });
});

describe('formatTextLine and partFileName', () => {
  it('formats strings raw, primitives with String, the rest as JSON', () => {
    expect(formatTextLine('he said "hi"')).toBe('he said "hi"');
    expect([42, -0.5, 10n, true, undefined].map(formatTextLine)).toEqual(['42', '-0.5', '10', 'true', 'undefined']);
    expect(formatTextLine(['word', 3])).toBe('["word",3]');
    expect(formatTextLine({ a: 1, b: 'x' })).toBe('{"a":1,"b":"x"}');
    expect(formatTextLine(null)).toBe('null');
    expect(formatTextLine(new Map([['k', 1]]))).toBe('[["k",1]]');
    expect(formatTextLine(new Set([1, 2]))).toBe('[1,2]');
    expect(formatTextLine(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
  });

  it('pads part numbers to five digits, more when needed', () => {
    expect([0, 7, 12345, 123456].map(partFileName)).toEqual(['part-00000', 'part-00007', 'part-12345', 'part-123456']);
    expect(() => partFileName(-1)).toThrow(/non-negative integer/);
  });
});
