/**
 * The task channel with the hop trace on: the trace records each message's size without holding back the post it
 * times (serializing a reduce task copies every shared bucket it carries: done before the post, it put the trace's
 * own cost into the hand-off the trace measures, and delayed the next worker's post behind it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TaskMessage } from '../../../src/exec/protocol.js';

// The trace is switched on by the environment when its module loads: set before the dynamic imports below.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-channel-trace-'));
process.env.KINDLING_HOP_TRACE = path.join(scratch, 'hops.tsv');
const { TaskChannel } = await import('../../../src/exec/local/task-channel.js');
const { flushHops, hopTraceOn, parseHops } = await import('../../../src/util/hop-trace.js');

afterAll(() => {
  delete process.env.KINDLING_HOP_TRACE;
  rmSync(scratch, { recursive: true, force: true });
});

/** A task whose payload counts the reads of one field: a serialization reads it, a transfer by reference does not. */
function probedTask(taskId: number, reads: { n: number }): TaskMessage {
  const probe = {};
  Object.defineProperty(probe, 'x', {
    enumerable: true,
    get: () => {
      reads.n++;
      return 1;
    },
  });
  return {
    taskId,
    jobId: 5,
    stageId: 0,
    stageAttempt: 0,
    partition: 0,
    attempt: 0,
    epoch: 1,
    stageKey: '0.0',
    finalRddId: 0,
    payloads: [[0, 0, [probe]]],
    shuffleReads: [],
    broadcasts: [],
    accumulators: [],
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TaskChannel with the hop trace on', () => {
  it('posts a message before the trace serializes it for its size, and still records the size at the time of the post', async () => {
    expect(hopTraceOn).toBe(true);
    const reads = { n: 0 };
    const readsAtPost: number[] = [];
    const port = {
      postMessage: () => void readsAtPost.push(reads.n),
      on: () => undefined,
    };
    const channel = new TaskChannel(port);
    channel.send(probedTask(1, reads), () => undefined);
    channel.flush();
    // The post did not wait for the trace's serialization of the message.
    expect(readsAtPost).toEqual([0]);
    await turn();
    await turn();
    // A turn later the trace has measured it.
    expect(reads.n).toBeGreaterThan(0);
    flushHops();
    const hops = parseHops(readFileSync(process.env.KINDLING_HOP_TRACE!, 'utf8')).filter((h) => h.job === 5);
    const post = hops.find((h) => h.step === 'chan.post')!;
    const posted = hops.find((h) => h.step === 'chan.posted')!;
    expect(post.detail).toMatch(/^1 tasks \d+ B$/);
    // Timed at the post, not when it was measured.
    expect(post.t).toBeLessThanOrEqual(posted.t);
  });

  it('counts views over shared memory apart from the bytes the post copies (the post shares them)', async () => {
    const port = { postMessage: () => undefined, on: () => undefined };
    const channel = new TaskChannel(port);
    const shared = new Float64Array(new SharedArrayBuffer(80_000));
    const task = { ...probedTask(2, { n: 0 }), jobId: 6, payloads: [[0, 0, [shared, new Float64Array(1_000)]]] as TaskMessage['payloads'] };
    channel.send(task, () => undefined);
    channel.flush();
    await turn();
    flushHops();
    const post = parseHops(readFileSync(process.env.KINDLING_HOP_TRACE!, 'utf8')).find((h) => h.job === 6 && h.step === 'chan.post')!;
    const [, copied] = /^1 tasks (\d+) B \+ 80000 B shared$/.exec(post.detail) ?? [];
    // The unshared view is copied; the shared one is not.
    expect(Number(copied)).toBeGreaterThan(8_000);
    expect(Number(copied)).toBeLessThan(80_000);
  });

  it('a task the clone refuses still fails alone, and the trace records its post without a size', async () => {
    // A port that clones what is posted, as a thread boundary does.
    const port = { postMessage: (m: unknown) => void structuredClone(m), on: () => undefined };
    const channel = new TaskChannel(port);
    const task = { ...probedTask(3, { n: 0 }), jobId: 7, payloads: [[0, 0, [() => 1]]] as TaskMessage['payloads'] };
    const settled: string[] = [];
    channel.send(task, (o) => settled.push(o.status));
    channel.flush();
    await turn();
    expect(settled).toEqual(['failed']);
    flushHops();
    const post = parseHops(readFileSync(process.env.KINDLING_HOP_TRACE!, 'utf8')).find((h) => h.job === 7 && h.step === 'chan.post');
    expect(post?.detail).toBe('1 tasks');
  });
});
