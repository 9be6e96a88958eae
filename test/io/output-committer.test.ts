import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  abortJob,
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
