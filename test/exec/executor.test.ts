/**
 * The executor, driven directly with fake shuffle services and fake peers (no threads): peer channels are per
 * incarnation (news of a dead incarnation never disconnects its replacement), fetches waiting on a dead peer fail
 * at once, a peer that does not answer times out, a task cancelled before it starts never runs, a result larger
 * than maxResultSize is refused, and every failure comes back as a value naming its kind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Executor } from '../../src/exec/executor.js';
import type { TaskMessage, WorkerInit } from '../../src/exec/protocol.js';
import type { WorkerServices } from '../../src/exec/engines.js';
import { FetchFailedError } from '../../src/shuffle/fetch-failed.js';
import { NoCacheStore } from '../../src/mapreduce/no-cache-store.js';
import { encodeBuckets } from '../../src/shuffle/bucket-codec.js';
import type { Pair } from '../../src/shuffle/combine.js';
import { rangeTask as rangeTaskMessage } from './range-task.js';

// One scratch folder for the file's executors (each has its own spill and job-output folders), removed at the end.
const scratch = mkdtempSync(path.join(tmpdir(), 'kindling-executor-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function executor(fetchTimeoutMs = 60_000, maxResultBytes = 1 << 20, services?: WorkerServices): Executor {
  const init: WorkerInit = {
    workerIndex: 0,
    epoch: 0,
    executorId: '0',
    fetchTimeoutMs,
    storageBytes: 1 << 20,
    spillDir: mkdtempSync(path.join(scratch, 'exec-')),
    maxResultBytes,
    engine: 'memory',
    shuffleSpillBytes: 1 << 20,
    jobOutputRoot: mkdtempSync(path.join(scratch, 'jobs-')),
  };
  return new Executor(init, services);
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
    rdds: [{ id: 9, kind: 'EmptyRDD', label: 'empty', numPartitions: 1, storageLevel: 'NONE', parents: [], args: null }],
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

  it('forgets released stages: a later task of that stage attempt finds no description and ends as killed', async () => {
    const ex = executor();
    const task: TaskMessage = { ...reduceTask(4), shuffleReads: [], resultFn: { kind: 'count' } };
    const first = await ex.runTask(task);
    expect(first.status).toBe('success');
    ex.releaseStages([1]);
    const { rdds: _omit, ...withoutRdds } = task;
    const second = await ex.runTask({ ...withoutRdds, taskId: 5 });
    // Its jobs ended (the driver releases a stage only then): nothing waits for it, and it is no failure of its code.
    expect(second.status === 'failed' && second.failure.kind).toBe('killed');
    expect(second.status === 'failed' && second.failure.kind === 'killed' && second.failure.message).toMatch(
      /task 5 \(partition 0 of stage 1\) found worker 0 has no description of stage attempt 1\.0: the stage was released/,
    );
  });
});

/** A result task over a range partition; each task id is a stage of its own (100 + its id). */
function rangeTask(taskId: number, end: number, resultFn: TaskMessage['resultFn'] = { kind: 'collect' }): TaskMessage {
  return rangeTaskMessage(taskId, end, { resultFn, stageId: 100 + taskId });
}

describe('Executor tasks', () => {
  it('a task cancelled before it starts never runs and ends as killed', async () => {
    const ex = executor();
    const outcome = ex.runTask(rangeTask(10, 5));
    ex.cancelTask(10);
    const o = await outcome;
    expect(o.status === 'failed' && o.failure.kind).toBe('killed');
    // A cancellation that arrives after the task ended is ignored, and the next task with the same id runs.
    ex.cancelTask(10);
    const again = await ex.runTask({ ...rangeTask(10, 5), stageKey: '1010.0', stageId: 1010 });
    expect(again.status === 'success' && again.value).toEqual([0, 1, 2, 3, 4]);
  });

  it('a task cancelled while the task that arrived with it computes never runs', async () => {
    const ex = executor();
    // Both arrive in one message; the first computes for a while (its whole computation runs before the second
    // resumes), and the cancellation of the second arrives meanwhile, as a message the thread has not yet read.
    const long = ex.runTask(rangeTask(30, 10_000_000, { kind: 'count' }));
    const queued = ex.runTask(rangeTask(31, 5));
    setImmediate(() => ex.cancelTask(31));
    expect((await long).status).toBe('success');
    const o = await queued;
    expect(o.status === 'failed' && o.failure.kind).toBe('killed');
  });

  it('a task cancelled on another port while the task that arrived with it computes in the poll phase never runs', async () => {
    // The worker's race across two ports: tasks come on one, and a cancellation may come on another (each port is
    // its own libuv handle). The first task was sent alone (nothing ahead of it), so it computes in the poll phase
    // that delivered it, without a look at the queue. The cancellation of the second is posted during that computation
    // on a port whose handle libuv has already passed in this poll (made first), so it is read only in the next
    // poll. A look at the queue that resumes in this iteration's check phase has not seen it.
    const ex = executor();
    const cancels = new MessageChannel();
    const tasks = new MessageChannel();
    try {
      cancels.port2.on('message', (id: number) => ex.cancelTask(id));
      let posted = false;
      ex.beforeCompute = () => {
        if (posted) return;
        posted = true;
        cancels.port1.postMessage(41);
      };
      const outcomes = new Promise<Array<Awaited<ReturnType<Executor['runTask']>>>>((resolve) => {
        tasks.port2.once('message', () => {
          // Long enough (>= the 10 ms after which a task looks at the queue) on any machine.
          const long = ex.runTask({ ...rangeTask(40, 10_000_000, { kind: 'count' }), alone: true });
          const queued = ex.runTask(rangeTask(41, 5));
          void Promise.all([long, queued]).then(resolve);
        });
      });
      tasks.port1.postMessage('run');
      const [long, queued] = await outcomes;
      expect(posted).toBe(true);
      expect(long!.status).toBe('success');
      expect(queued!.status === 'failed' && queued!.failure.kind).toBe('killed');
    } finally {
      cancels.port1.close();
      tasks.port1.close();
    }
  });

  it('a task that arrives after another computed in the same poll looks at the queue only after a later poll', async () => {
    // The driver sent the second while the first was in flight (so not alone); the worker reads both messages in
    // one poll, the first computing before the second is read. The second's look, queued after that computation,
    // would resume in this iteration's check phase: no poll in between has read the cancellation sent meanwhile
    // on another port.
    const ex = executor();
    const cancels = new MessageChannel();
    const tasks = new MessageChannel();
    try {
      cancels.port2.on('message', (id: number) => ex.cancelTask(id));
      let posted = false;
      ex.beforeCompute = () => {
        if (posted) return;
        posted = true;
        cancels.port1.postMessage(61);
      };
      const runs: Array<ReturnType<Executor['runTask']>> = [];
      const both = new Promise<void>((resolve) => {
        tasks.port2.on('message', (id: number) => {
          runs.push(ex.runTask(id === 60 ? { ...rangeTask(60, 10_000_000, { kind: 'count' }), alone: true } : rangeTask(61, 5)));
          if (runs.length === 2) resolve();
        });
      });
      tasks.port1.postMessage(60);
      tasks.port1.postMessage(61);
      await both;
      const [long, queued] = await Promise.all(runs);
      expect(posted).toBe(true);
      expect(long!.status).toBe('success');
      expect(queued!.status === 'failed' && queued!.failure.kind).toBe('killed');
    } finally {
      cancels.port1.close();
      tasks.port1.close();
    }
  });

  it('tasks start computing in the order they arrived while a new one arrives after each outcome', async () => {
    // As a driver keeps a thread's queue full: one task sent per outcome. Each computes for longer than the 10 ms
    // after which a task looks at the queue, so every computation spoils the looks of the tasks waiting; a look
    // started again in the check phase is half a turn behind that of a task arriving in the next poll, and the
    // newest task used to pass first every time: 1, 101, 102, ... 106, and only then 2 to 6.
    const ex = executor();
    const spin = { src: '(x) => { const end = Date.now() + 15; while (Date.now() < end) {} return x; }', name: 'spin', env: {} };
    const task = (taskId: number): TaskMessage => {
      const range = rangeTaskMessage(taskId, 1, { stageId: 70 });
      const mapped = {
        id: 2,
        kind: 'MappedRDD',
        label: 'spin',
        numPartitions: 1,
        storageLevel: 'NONE',
        parents: [1],
        args: { op: 'map', fn: spin },
      } as const;
      return { ...range, rdds: [...range.rdds!, mapped], finalRddId: 2 };
    };
    const tasks = new MessageChannel();
    try {
      const order: number[] = [];
      let next = 101;
      const all = new Promise<void>((resolve, reject) => {
        tasks.port2.on('message', (ids: number[]) => {
          for (const id of ids) {
            void ex.runTask({ ...task(id), ...(id === 1 ? { alone: true as const } : {}) }).then((o) => {
              if (o.status !== 'success') reject(new Error(`task ${id} ended ${JSON.stringify(o.failure)}`));
              order.push(id);
              if (next <= 106) tasks.port1.postMessage([next++]);
              if (order.length === 12) resolve();
            }, reject);
          }
        });
      });
      tasks.port1.postMessage([1, 2, 3, 4, 5, 6]);
      await all;
      expect(order).toEqual([1, 2, 3, 4, 5, 6, 101, 102, 103, 104, 105, 106]);
    } finally {
      tasks.port1.close();
    }
  });

  it('a task sent alone (nothing ahead of it) computes in the turn that delivered it', async () => {
    // Its outcome then leaves in this iteration's check phase, ahead of V8's tasks in the next poll (a scavenge).
    const ex = executor();
    // The thread has not looked at its queue for a while: another task computed for longer than 10 ms.
    expect((await ex.runTask(rangeTask(50, 5_000_000, { kind: 'count' }))).status).toBe('success');
    const tasks = new MessageChannel();
    try {
      const order: string[] = [];
      // Called as the computation starts, and again wherever it resumes after an await.
      ex.beforeCompute = () => void (order.includes('compute') || order.push('compute'));
      const done = new Promise<Awaited<ReturnType<Executor['runTask']>>>((resolve) => {
        tasks.port2.once('message', () => {
          setImmediate(() => order.push('check phase'));
          void ex.runTask({ ...rangeTask(51, 5), alone: true }).then(resolve);
        });
      });
      tasks.port1.postMessage('run');
      expect((await done).status).toBe('success');
      // The whole task ran before the check phase of the turn that delivered it.
      expect(order).toEqual(['compute']);
    } finally {
      tasks.port1.close();
    }
  });

  it("hands a task's outcome to the host before a task that arrived with it starts computing", async () => {
    // The host posts outcomes at the end of its turn or when a computation starts (beforeCompute), whichever is
    // first: an outcome not yet handed over then waits for the whole of the next computation, however long.
    const ex = executor();
    // A task not sent alone looks at the queue: the two below arrive within QUEUE_LOOK_MS of that look, so neither
    // looks again and both go on in the same turn of the thread.
    expect((await ex.runTask(rangeTask(70, 5))).status).toBe('success');
    const order: string[] = [];
    ex.beforeCompute = () => void (order.at(-1) !== 'compute' && order.push('compute'));
    const runs = [
      ex.runTask({ ...rangeTask(71, 5), alone: true }, (o) => void order.push(`ended 71 ${o.status}`)),
      ex.runTask(rangeTask(72, 5), (o) => void order.push(`ended 72 ${o.status}`)),
    ];
    await Promise.all(runs);
    expect(order).toEqual(['compute', 'ended 71 success', 'compute', 'ended 72 success']);
  });

  it('a task cancelled while it fetches its shuffle input ends as killed without computing', async () => {
    // Admitted behind a task that was still fetching, then moved by the driver to a free worker: the other copy
    // computes the partition; this one must not (it would hold the thread, and its spill runs, for nothing).
    const ex = executor();
    let answer: ((buckets: unknown) => void) | undefined;
    ex.setPeer(1, 0, {
      fetchBuckets: () => new Promise((resolve) => (answer = resolve)) as never,
    });
    let computed = false;
    ex.beforeCompute = () => void (computed = true);
    const outcome = ex.runTask(reduceTask(40));
    // The first request goes out as the task arrives (askEarly); admission takes a few turns of this thread.
    while (answer === undefined) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 50));
    ex.cancelTask(40);
    answer(encodeBuckets([[[1, 'a'] as Pair]]).encoded);
    const o = await outcome;
    expect(o.status === 'failed' && o.failure.kind).toBe('killed');
    expect(computed).toBe(false);
  });

  it('a cancelled task still leaves its stage description for the next task of its stage', async () => {
    // The driver sends a stage's RDDs (and new broadcasts) with the first task of the stage a worker gets and
    // counts them as delivered; if that task is moved away before it starts, the next one comes without them.
    const ex = executor();
    const first = { ...rangeTask(20, 4), broadcasts: [[7, 'seven']] as const };
    const cancelled = ex.runTask(first);
    ex.cancelTask(20);
    expect((await cancelled).status === 'failed' && ((await cancelled) as { failure: { kind: string } }).failure.kind).toBe('killed');
    const { rdds: _omit, ...withoutRdds } = first;
    const next = await ex.runTask({ ...withoutRdds, taskId: 21, broadcasts: [] });
    expect(next.status === 'success' && next.value).toEqual([0, 1, 2, 3]);
  });

  it('a result larger than maxResultSize is refused as resultTooLarge, not sent', async () => {
    const ex = executor(60_000, 1000);
    const o = await ex.runTask(rangeTask(11, 10_000));
    expect(o.status === 'failed' && o.failure.kind).toBe('resultTooLarge');
    expect(o.status === 'failed' && o.failure.kind === 'resultTooLarge' && o.failure.limit).toBe(1000);
    expect(o.status === 'failed' && o.failure.kind === 'resultTooLarge' && o.failure.bytes).toBeGreaterThan(1000);
    // A small result on the same executor is fine.
    const small = await ex.runTask(rangeTask(12, 3));
    expect(small.status === 'success' && small.value).toEqual([0, 1, 2]);
  });

  it("sends its first request to each peer in the task's own turn, before a message queued behind it, and once", async () => {
    // A peer's request reaching this worker meanwhile is such a message: asked first, the peer answers it first.
    const ex = executor();
    const events: string[] = [];
    const bucket: Pair[] = [
      [1, 0.5],
      [2, 0.25],
    ];
    ex.setPeer(1, 0, {
      fetchBuckets: (_s, mapIds) => {
        events.push(`asked ${mapIds.join(',')}`);
        return new Promise((resolve) => setTimeout(() => resolve(encodeBuckets([bucket]).encoded), 5));
      },
    });
    setImmediate(() => events.push('next message'));
    const outcome = ex.runTask(reduceTask(14));
    events.push('task handed over');
    const o = await outcome;
    expect(events).toEqual(['asked 0', 'task handed over', 'next message']);
    expect(o.status).toBe('success');
    expect(o.status === 'success' && o.metrics?.shuffleReadRecords).toBe(2);
  });

  it('a map output missing from its own store is a fetch failure naming this incarnation', async () => {
    const missing: WorkerServices = {
      shuffles: {
        writer: () => {
          throw new Error('not used');
        },
        fetchBuckets: (shuffleId, mapIds) => {
          throw new FetchFailedError(shuffleId, mapIds[0]!, 0, `worker 0 has no output of map ${mapIds[0]} of shuffle ${shuffleId}`);
        },
        remove: () => undefined,
        close: () => undefined,
      },
      blocks: new NoCacheStore(),
      deliverResult: (_j, _p, _a, v) => v,
    };
    const ex = executor(60_000, 1 << 20, missing);
    const o = await ex.runTask({ ...reduceTask(13), shuffleReads: [{ shuffleId: 4, reduceId: 0, locations: [0] }] });
    expect(o.status === 'failed' && o.failure).toMatchObject({ kind: 'fetchFailed', shuffleId: 4, mapId: 0, workerIndex: 0, epoch: 0 });
  });

  it('a throwing user function is an exception outcome naming its RDD; the executor keeps working', async () => {
    const ex = executor();
    const boom = { src: '(x) => { throw new Error("bad record " + x); }', name: 'boom', env: {} };
    const task: TaskMessage = {
      ...rangeTask(14, 3),
      rdds: [
        ...rangeTask(14, 3).rdds!,
        { id: 2, kind: 'MappedRDD', label: 'map at job.ts:3', numPartitions: 1, storageLevel: 'NONE', parents: [1], args: { op: 'map', fn: boom } },
      ],
      finalRddId: 2,
    };
    const o = await ex.runTask(task);
    expect(o.status === 'failed' && o.failure.kind).toBe('exception');
    expect(o.status === 'failed' && o.failure.kind === 'exception' && o.failure.error.message).toMatch(/bad record 0/);
    expect(o.status === 'failed' && o.failure.kind === 'exception' && o.failure.error.rddLabel).toMatch(/map at job\.ts:3/);
    expect((await ex.runTask(rangeTask(15, 2))).status).toBe('success');
  });
});
