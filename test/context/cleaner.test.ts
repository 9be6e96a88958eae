import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The specs' temporary folders, inside one scratch folder removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-cleaner-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('context cleaner', () => {
  it('removes the shuffle files of RDDs the program no longer references', () => {
    const localDir = mkdtempSync(path.join(scratch, 'cleaner-'));
    const out = execFileSync(process.execPath, ['--expose-gc', 'test/fixtures/cleaner-job.mjs', localDir], { encoding: 'utf8', timeout: 60_000 });
    const { before, after } = JSON.parse(out.trim().split('\n').pop()!);
    expect(before).toBeGreaterThan(0);
    expect(after).toBe(0);
  });
});
