/**
 * The streaming checkpoint's offset and commit logs on disk: each file is written to a temporary named after its
 * writer (pid and host) and renamed, and a process killed between the two leaves the temporary; the next run on the
 * folder removes those whose writer is gone, and nothing else.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointLog } from '../../src/streaming/checkpoint-log.js';
import { hostTag } from '../../src/util/process-owner.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-checkpoint-log-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('CheckpointLog', () => {
  it('writes through a temporary named after its writer, and leaves only the finished file', () => {
    const dir = path.join(scratch, 'writes');
    const log = new CheckpointLog(dir);
    log.writeOffsets({ batch: { ms: 1000, id: 0 }, sources: { s: [0, 5] } });
    expect(readdirSync(path.join(dir, 'offsets'))).toEqual(['000000000.json']);
    expect(log.recover()?.newest.sources).toEqual({ s: [0, 5] });
  });

  it("removes on opening the temporaries whose writer on this host is gone; a live writer's, another host's and the finished files stay", () => {
    const dir = path.join(scratch, 'stale');
    new CheckpointLog(dir);
    const dead = deadPid();
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const host = hostTag();
      const other = host === '00000000' ? '11111111' : '00000000';
      const files = {
        finished: 'offsets/000000003.json',
        deadWriter: `offsets/000000004.json.p${dead}-h${host}.tmp`,
        deadCommit: `commits/000000003.json.p${dead}-h${host}.tmp`,
        deadMetadata: `metadata.json.p${dead}-h${host}.tmp`,
        olderName: `offsets/000000005.json.${dead}.tmp`,
        liveWriter: `offsets/000000006.json.p${live.pid}-h${host}.tmp`,
        thisProcess: `offsets/000000007.json.p${process.pid}-h${host}.tmp`,
        otherHost: `offsets/000000008.json.p${dead}-h${other}.tmp`,
        notOurs: 'offsets/notes.tmp',
      };
      for (const f of Object.values(files)) writeFileSync(path.join(dir, f), '{}');
      new CheckpointLog(dir);
      const left = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, existsSync(path.join(dir, f))]));
      expect(left).toEqual({
        finished: true,
        deadWriter: false,
        deadCommit: false,
        deadMetadata: false,
        olderName: false,
        liveWriter: true,
        thisProcess: true,
        otherHost: true,
        notOurs: true,
      });
    } finally {
      live.kill('SIGKILL');
    }
  });
});
