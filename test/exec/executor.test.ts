/**
 * The executor's peer channels are per incarnation: a notice or a port close about a dead incarnation of a peer
 * never disconnects its replacement, fetches waiting on the dead one fail at once, and a fetch from a peer that
 * does not answer fails after fetchTimeoutMs (as a fetch failure the driver can repair).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Executor } from '../../src/exec/executor.js';
import type { TaskMessage, WorkerInit } from '../../src/exec/protocol.js';

function executor(fetchTimeoutMs = 60_000): Executor {
  const init: WorkerInit = {
    workerIndex: 0,
    epoch: 0,
    fetchTimeoutMs,
    storageBytes: 1 << 20,
    spillDir: mkdtempSync(path.join(tmpdir(), 'kindling-exec-')),
    maxResultBytes: 1 << 20,
    engine: 'memory',
    shuffleSpillBytes: 1 << 20,
    jobOutputRoot: mkdtempSync(path.join(tmpdir(), 'kindling-jobs-')),
  };
  return new Executor(init);
}

/** A reduce task of stage 1 reading shuffle 0, whose only map output is on worker 1. */
function reduceTask(taskId: number): TaskMessage {
  return {
    taskId,
    jobId: 0,
    stageId: 1,
    stageAttempt: 0,
    partition: 0,
    attempt: 0,
    epoch: 0,
    stageKey: '1.0',
    // The simplest RDD to rebuild; the shuffle read is what these tests are about.
    rdds: [{ id: 9, kind: 'EmptyRDD', label: 'empty', numPartitions: 1, storageLevel: 'NONE', parents: [], args: undefined }],
    finalRddId: 9,
    payloads: [],
    shuffleReads: [{ shuffleId: 0, reduceId: 0, locations: [1] }],
    broadcasts: [],
    accumulators: [],
  };
}

const never = { fetchBuckets: () => new Promise<never>(() => undefined) };

describe('Executor peers', () => {
  it('a late notice about a dead incarnation leaves the replacement connected', () => {
    const ex = executor();
    ex.setPeer(1, 0, never);
    ex.setPeer(1, 1, never);
    ex.peerLost(1, 0); // the old port's close event, arriving after the replacement connected
    expect(ex.peers()).toEqual([[1, 1]]);
    ex.setPeer(1, 0, never); // a stale connection is never installed over a newer one
    expect(ex.peers()).toEqual([[1, 1]]);
    ex.peerLost(1, 1);
    expect(ex.peers()).toEqual([]);
  });

  it('a fetch waiting on a peer that dies fails at once as a fetch failure', async () => {
    const ex = executor();
    ex.setPeer(1, 0, never);
    const outcome = ex.runTask(reduceTask(1));
    await new Promise((r) => setTimeout(r, 20));
    ex.peerLost(1, 0);
    const o = await outcome;
    expect(o.status).toBe('failed');
    expect(o.status === 'failed' && o.failure.kind).toBe('fetchFailed');
    expect(o.status === 'failed' && o.failure.kind === 'fetchFailed' && o.failure.message).toMatch(/worker 1 \(epoch 0\) died/);
  });

  it('a fetch from a peer that does not answer fails after fetchTimeoutMs', async () => {
    const ex = executor(150);
    ex.setPeer(1, 0, never);
    const started = Date.now();
    const o = await ex.runTask(reduceTask(2));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(o.status === 'failed' && o.failure.kind === 'fetchFailed' && o.failure.message).toMatch(/did not answer within fetchTimeoutMs \(150 ms\)/);
  });

  it('refuses a task built for another incarnation of this worker', async () => {
    const ex = executor();
    const o = await ex.runTask({ ...reduceTask(3), epoch: 4 });
    expect(o.status === 'failed' && o.failure.kind).toBe('workerLost');
    expect(o.epoch).toBe(0);
  });

  it('forgets released stages: a later task of that stage attempt finds no description', async () => {
    const ex = executor();
    const task: TaskMessage = { ...reduceTask(4), shuffleReads: [], resultFn: { kind: 'count' } };
    const first = await ex.runTask(task);
    expect(first.status).toBe('success');
    ex.releaseStages([1]);
    const { rdds: _omit, ...withoutRdds } = task;
    const second = await ex.runTask({ ...withoutRdds, taskId: 5 });
    expect(second.status === 'failed' && second.failure.kind === 'exception' && second.failure.error.message).toMatch(/has no description of stage attempt 1\.0/);
  });
});
