/**
 * The Spark Streaming programming guide (DStreams), section by section, and Spark's streaming examples
 * (NetworkWordCount, StatefulNetworkWordCount, QueueStream, HdfsWordCount) ported and checked batch by batch against
 * outputs computed here by hand or by a plain fold. Rules already specified elsewhere are named where they are, not
 * repeated:
 * - window and slide multiples of the batch interval: operations.test.ts ("checks at the call"), and
 *   streaming-context.test.ts; windows against a naive model: window-model.test.ts, windows-state.test.ts.
 * - updateStateByKey needs a checkpoint folder: operations.test.ts; mapWithState timeouts: map-with-state.test.ts.
 * - awaitTermination(timeout), start after stop refused, a second start: operations.test.ts ("lifecycle").
 * - one active StreamingContext per Context, no new operations after start: streaming-context.test.ts.
 * - stop(stopContext) before start: operations.test.ts; a graceful stop processes what was received:
 *   sources-outputs.test.ts (fromAsyncIterable) and sources.test.ts (socket restarts).
 * - union of streams and transform joined with a static RDD: operations.test.ts; reduceByKeyAndWindow's filter,
 *   countByWindow and countByValueAndWindow against a model: window-model.test.ts (countByWindow needs no checkpoint
 *   folder here, a documented difference: docs/pyspark.md).
 * - textFileStream files that appear after the start, moved in under a hidden name: sources-outputs.test.ts.
 * - the rest of the DStream and StreamingContext API (glom, flatMapValues, combineByKey, rightOuterJoin,
 *   fullOuterJoin, groupByKeyAndWindow, the positional window forms, slice and remember, ssc.transform,
 *   awaitTerminationOrTimeout, getState, getActive): spark-api.test.ts; getOrCreate restarts: get-or-create.test.ts.
 */
import { mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { capture, Context, ManualClock, type RDD, StateSpec, type State, StreamingContext } from 'kindling';
import { collectBatches, manual, sortedPairs, tickBatches, UNTIL, useStreamingContext } from './helpers.js';

/** Word counts of some lines, split on single spaces as the examples do (`line.split(" ")`), sorted. */
function wordCounts(lines: readonly string[]): [string, number][] {
  const m = new Map<string, number>();
  for (const w of lines.flatMap((l) => l.split(' '))) m.set(w, (m.get(w) ?? 0) + 1);
  return sortedPairs([...m]);
}

const sorted = <T>(batches: Array<[number, T[]]>): Array<[number, T[]]> => batches.map(([t, xs]) => [t, sortedPairs(xs)]);

const { sc, dir } = useStreamingContext();

describe('Basic sources: queueStream (the QueueStream example)', () => {
  it('QueueStream: RDDs pushed onto the queue after start() are consumed one per batch; (x % 10, 1) reduced by key', async () => {
    const { ssc, tick } = manual(sc());
    const queue: RDD<number>[] = [];
    const reduced = collectBatches(
      ssc
        .queueStream(queue)
        .map((x): [number, number] => [x % 10, 1])
        .reduceByKey((a, b) => a + b),
    );
    await ssc.start();
    for (let i = 0; i < 3; i++) {
      queue.push(
        sc().parallelize(
          Array.from({ length: 1000 }, (_, j) => j + 1),
          10,
        ),
      );
      await tick();
    }
    await tick();
    await ssc.stop({ stopContext: false });
    const tenOfEach = Array.from({ length: 10 }, (_, d): [number, number] => [d, 100]);
    expect(sorted(reduced)).toEqual([
      [1000, sortedPairs(tenOfEach)],
      [2000, sortedPairs(tenOfEach)],
      [3000, sortedPairs(tenOfEach)],
      [4000, []],
    ]);
  });

  it('oneAtATime: false takes every queued RDD and array in one batch (their union)', async () => {
    const { ssc, tick } = manual(sc());
    const queue: Array<number[] | RDD<number>> = [[1, 2], sc().parallelize([3, 4], 2)];
    const got = collectBatches(ssc.queueStream(queue, { oneAtATime: false }));
    await ssc.start();
    await tick();
    queue.push([5], sc().parallelize([6]));
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(got.map(([t, xs]) => [t, [...xs].sort((a, b) => a - b)])).toEqual([
      [1000, [1, 2, 3, 4]],
      [2000, [5, 6]],
      [3000, []],
    ]);
  });

  it('defaultRDD is the batch whenever the queue is empty; a queued item, even an empty one, is taken first', async () => {
    // Spark: queueStream(queue, oneAtATime, defaultRDD): "Default RDD is returned by the DStream when the queue is empty".
    const { ssc, tick } = manual(sc());
    const queue: number[][] = [[1], []];
    const one = collectBatches(ssc.queueStream(queue, { defaultRDD: sc().parallelize([0]) }));
    const all = collectBatches(ssc.queueStream<number>([[7], [8]], { oneAtATime: false, defaultRDD: [-1, -2] }));
    await ssc.start();
    await tick(3);
    queue.push([2]);
    await tick();
    await ssc.stop({ stopContext: false });
    expect(one).toEqual([
      [1000, [1]],
      [2000, []],
      [3000, [0]],
      [4000, [2]],
    ]);
    expect(all.map(([t, xs]) => [t, [...xs].sort((a, b) => a - b)])).toEqual([
      [1000, [7, 8]],
      [2000, [-2, -1]],
      [3000, [-2, -1]],
      [4000, [-2, -1]],
    ]);
  });

  it('refuses a defaultRDD that is neither an array nor an RDD, naming it', () => {
    const { ssc } = manual(sc());
    expect(() => ssc.queueStream<number>([], { defaultRDD: 5 as never })).toThrow(/^queueStream: defaultRDD must be an array or an RDD, got 5$/);
  });
});

describe('Basic sources: textFileStream (the HdfsWordCount example)', () => {
  it('HdfsWordCount: each batch counts the words of the files moved into the folder since the previous batch', async () => {
    const inbox = path.join(dir(), 'hdfs-wordcount');
    const staging = path.join(dir(), 'hdfs-staging');
    mkdirSync(inbox, { recursive: true });
    mkdirSync(staging, { recursive: true });
    writeFileSync(path.join(inbox, 'before.txt'), 'ignored because it was there before the start\n');
    const files: Array<Record<string, string>> = [
      { 'a.txt': 'to be or not to be\nthat is the question\n' },
      {},
      { 'b.txt': 'be quick\n', 'c.txt': 'or be slow\nor not\n' },
    ];
    const { ssc, tick } = manual(sc());
    const counts = collectBatches(
      ssc
        .textFileStream(inbox)
        .flatMap((l) => l.split(' '))
        .map((w): [string, number] => [w, 1])
        .reduceByKey((a, b) => a + b),
    );
    await ssc.start();
    for (const batch of files) {
      // Written elsewhere, then moved in whole, as the guide asks.
      for (const [name, text] of Object.entries(batch)) {
        writeFileSync(path.join(staging, name), text);
        renameSync(path.join(staging, name), path.join(inbox, name));
      }
      await tick();
    }
    await ssc.stop({ stopContext: false });
    const lines = (batch: Record<string, string>) => Object.values(batch).flatMap((t) => t.split('\n').filter((l) => l !== ''));
    expect(sorted(counts)).toEqual(files.map((b, i) => [(i + 1) * 1000, wordCounts(lines(b))]));
  });

  it('reads neither hidden files (names starting with a dot) nor nested folders; a file moved in with an old modification time is read', async () => {
    const inbox = path.join(dir(), 'hdfs-rules');
    mkdirSync(inbox, { recursive: true });
    const { ssc, tick } = manual(sc());
    const got = collectBatches(ssc.textFileStream(inbox));
    await ssc.start();
    writeFileSync(path.join(inbox, '.hidden'), 'hidden\n');
    mkdirSync(path.join(inbox, 'nested'));
    writeFileSync(path.join(inbox, 'nested', 'inner.txt'), 'nested\n');
    // Spark selects by modification time and would skip this file (older than the start); kindling by appearance.
    const old = path.join(dir(), 'old.txt');
    writeFileSync(old, 'old\n');
    utimesSync(old, new Date(2000, 0, 1), new Date(2000, 0, 1));
    renameSync(old, path.join(inbox, 'old.txt'));
    await tick();
    await ssc.stop({ stopContext: false });
    expect(got).toEqual([[1000, ['old']]]);
  });
});

describe('Basic sources: textFileStream when its folder is missing', () => {
  it('a folder made after the start, or removed and made again, gives empty batches meanwhile (one warning each time), not a stopped stream', async () => {
    // Before: start() failed ("cannot list ... ENOENT"), and a folder removed mid-run stopped the stream at the next
    // batch. Spark's FileInputDStream logs "No directory to scan" and lists again at the next batch.
    const inbox = path.join(dir(), 'made-later');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const { ssc, tick } = manual(sc());
      const got = collectBatches(ssc.textFileStream(inbox));
      await ssc.start();
      await tick();
      mkdirSync(inbox);
      writeFileSync(path.join(inbox, 'a.txt'), 'a\n');
      await tick();
      rmSync(inbox, { recursive: true });
      await tick(2);
      mkdirSync(inbox);
      writeFileSync(path.join(inbox, 'b.txt'), 'b\n');
      await tick();
      await ssc.stop({ stopContext: false });
      expect(got).toEqual([
        [1000, []],
        [2000, ['a']],
        [3000, []],
        [4000, []],
        [5000, ['b']],
      ]);
      const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('no folder to scan'));
      expect(lines).toEqual(Array(2).fill(`kindling: files-0: no folder to scan at ${inbox}; batches are empty until it exists`));
    } finally {
      warn.mockRestore();
    }
  });

  it('a path that is not a folder still stops the stream, naming it', async () => {
    const notAFolder = path.join(dir(), 'plain-file');
    writeFileSync(notAFolder, 'x\n');
    const { ssc } = manual(sc());
    ssc.textFileStream(notAFolder).print();
    await expect(ssc.start()).rejects.toThrow(`textFileStream: cannot list ${notAFolder}: ENOTDIR`);
  });
});

/** A TCP server like `nc -lk`: each test writes to the receiver's connections itself. */
async function lineServer(): Promise<{ port: number; connection(i: number): Promise<net.Socket>; close(): Promise<void> }> {
  const connections: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    connections.push(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    async connection(i) {
      await vi.waitFor(() => expect(connections.length).toBeGreaterThan(i), UNTIL);
      return connections[i]!;
    },
    async close() {
      for (const s of connections) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('Basic sources: socketTextStream (the NetworkWordCount example)', () => {
  it('NetworkWordCount: every batch counts the words of the lines that arrived during it', async () => {
    const server = await lineServer();
    const batches = [['hello world', 'hello spark'], ['streaming is fun'], ['hello hello hello', 'world']];
    try {
      const { ssc, tick } = manual(sc());
      const counts = collectBatches(
        ssc
          .socketTextStream('127.0.0.1', server.port, { restartDelayMs: 10 })
          .flatMap((l) => l.split(' '))
          .map((w): [string, number] => [w, 1])
          .reduceByKey((a, b) => a + b),
      );
      await ssc.start();
      for (const [i, lines] of batches.entries()) {
        // One connection per batch, ended by the server: the receiver connects again only once it read the whole
        // of the previous connection, so each batch holds exactly its lines whatever the machine's load.
        const socket = await server.connection(i);
        socket.end(`${lines.join('\n')}\n`);
        await server.connection(i + 1);
        await tick();
      }
      await ssc.stop({ stopContext: false });
      expect(sorted(counts)).toEqual(batches.map((lines, i) => [(i + 1) * 1000, wordCounts(lines)]));
    } finally {
      await server.close();
    }
  });
});

describe('Transformations: updateStateByKey (StatefulNetworkWordCount, Python)', () => {
  it('runs the update for every key in every batch, with no new values for a key without data; undefined drops the key', async () => {
    const { ssc, tick } = manual(sc());
    const input: Array<Array<[string, number]>> = [[['a', 1]], [['b', 1]], [], [['a', 1]]];
    const calls: Array<[number, string[]]> = [];
    // A key without new values for two batches in a row is dropped: [count, idle batches].
    const state = ssc.queueStream(input).updateStateByKey((values: number[], prev?: [number, number]) => {
      const [n, idle] = prev ?? [0, 0];
      if (values.length > 0) return [n + values.length, 0] as [number, number];
      return idle + 1 >= 2 ? undefined : ([n, idle + 1] as [number, number]);
    });
    const got = collectBatches(state);
    state.foreachRDD(async (rdd, t) => void calls.push([t.ms, (await rdd.keys().collect()).sort()]));
    await ssc.start();
    await tick(5);
    await ssc.stop({ stopContext: false });
    expect(sorted(got)).toEqual([
      [1000, [['a', [1, 0]]]],
      [
        2000,
        [
          ['a', [1, 1]],
          ['b', [1, 0]],
        ],
      ],
      // 'a' idle a second time: removed; 'b' idle once.
      [3000, [['b', [1, 1]]]],
      [4000, [['a', [1, 0]]]],
      [5000, [['a', [1, 1]]]],
    ]);
    expect(calls.map(([t]) => t)).toEqual([1000, 2000, 3000, 4000, 5000]);
  });

  it('StatefulNetworkWordCount (Python): the initial state RDD seeds the running counts from the first batch', async () => {
    const { ssc, tick } = manual(sc());
    const lines = [['hello there'], ['world world', 'bye'], []];
    const initial = sc().parallelize<[string, number]>([
      ['hello', 1],
      ['world', 1],
    ]);
    const running = collectBatches(
      ssc
        .queueStream(lines.map((b) => [...b]))
        .flatMap((l) => l.split(' '))
        .map((w): [string, number] => [w, 1])
        .updateStateByKey((values: number[], last?: number) => values.reduce((a, b) => a + b, 0) + (last ?? 0), { initial }),
    );
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    // A plain fold from the initial state.
    const total = new Map<string, number>([
      ['hello', 1],
      ['world', 1],
    ]);
    const expected = lines.map((batch, i): [number, [string, number][]] => {
      for (const w of batch.flatMap((l) => l.split(' '))) total.set(w, (total.get(w) ?? 0) + 1);
      return [(i + 1) * 1000, sortedPairs([...total])];
    });
    expect(sorted(running)).toEqual(expected);
    expect(expected[0]![1]).toEqual([
      ['hello', 2],
      ['there', 1],
      ['world', 1],
    ]);
  });
});

describe('Transformations: mapWithState (StatefulNetworkWordCount, Scala)', () => {
  it('emits (word, running sum) for every word of every batch, starting from the initial state', async () => {
    const { ssc, tick } = manual(sc());
    const lines = [['hello hello'], ['world', 'new'], [], ['new hello']];
    const mappingFunc = StateSpec.function((word: string, one: number | undefined, state: State<number>) => {
      const sum = (one ?? 0) + (state.getOption() ?? 0);
      state.update(sum);
      return [word, sum] as [string, number];
    }).initialState(
      sc().parallelize<[string, number]>([
        ['hello', 1],
        ['world', 1],
      ]),
    );
    const stream = ssc
      .queueStream(lines.map((b) => [...b]))
      .flatMap((l) => l.split(' '))
      .map((w): [string, number] => [w, 1])
      .mapWithState(mappingFunc);
    const mapped = collectBatches(stream);
    const snapshots = collectBatches(stream.stateSnapshots());
    await ssc.start();
    await tick(4);
    await ssc.stop({ stopContext: false });
    expect(sorted(mapped)).toEqual([
      // Two records of one key in a batch: two calls, the second sees the first's update.
      [
        1000,
        [
          ['hello', 2],
          ['hello', 3],
        ],
      ],
      [
        2000,
        [
          ['new', 1],
          ['world', 2],
        ],
      ],
      [3000, []],
      [
        4000,
        [
          ['hello', 4],
          ['new', 2],
        ],
      ],
    ]);
    expect(sorted(snapshots).at(-1)).toEqual([
      4000,
      [
        ['hello', 4],
        ['new', 2],
        ['world', 2],
      ],
    ]);
  });
  it('timeout: a key idle for the whole timeout is kept; idle for longer, it gets its last call and goes, keys of the initial state too', async () => {
    // Spark times a key out once its last update is older than the batch time minus the timeout (strictly), and
    // gives the initial state's keys the first batch's time as their last update.
    const { ssc, tick } = manual(sc());
    const spec = StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
      if (state.isTimingOut()) return `${key} timed out with ${state.get()}`;
      state.update((state.getOption() ?? 0) + (value ?? 0));
      return `${key} is ${state.get()}`;
    })
      .initialState(sc().parallelize<[string, number]>([['seed', 5]]))
      .timeout(2000);
    const stream = ssc.queueStream<[string, number]>([[['a', 1]], [], [], [['seed', 1]], [], [], []]).mapWithState(spec);
    const mapped = collectBatches(stream);
    const keys = collectBatches(stream.stateSnapshots().map(([k]) => k));
    await ssc.start();
    await tick(7);
    await ssc.stop({ stopContext: false });
    expect(sorted(mapped)).toEqual([
      [1000, ['a is 1']],
      [2000, []],
      // Idle 2000 ms at 3000, the timeout itself: kept.
      [3000, []],
      [4000, ['a timed out with 1', 'seed is 6']],
      [5000, []],
      [6000, []],
      [7000, ['seed timed out with 6']],
    ]);
    expect(sorted(keys)).toEqual([
      [1000, ['a', 'seed']],
      [2000, ['a', 'seed']],
      [3000, ['a', 'seed']],
      [4000, ['seed']],
      [5000, ['seed']],
      [6000, ['seed']],
      [7000, []],
    ]);
  });
});

describe('Transformations: transformWith (two streams, one function per batch)', () => {
  it("gets both streams' RDDs of the same batch and its time; a stream of another slide or a non-function is refused at the call", async () => {
    const { ssc, tick } = manual(sc());
    const clicks = ssc.queueStream([
      [
        ['ann', 'home'],
        ['bob', 'cart'],
        ['cy', 'home'],
      ],
      [['ann', 'cart']],
      [],
    ] as [string, string][][]);
    const logins = ssc.queueStream([[['ann', 1]], [['bob', 1]], [['dee', 1]]] as [string, number][][]);
    const times: number[] = [];
    const strays = collectBatches(
      clicks.transformWith(logins, (c, l, t) => {
        times.push(t.ms);
        return c.subtractByKey(l);
      }),
    );
    expect(() => clicks.transformWith(logins.window('2s', '2s'), (c) => c)).toThrow(
      /transformWith: both streams must have the same slide, got 1000 ms and 2000 ms/,
    );
    expect(() => clicks.transformWith(logins, 'subtract' as never)).toThrow(/transformWith expects a function, got string/);
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(sorted(strays)).toEqual([
      [
        1000,
        [
          ['bob', 'cart'],
          ['cy', 'home'],
        ],
      ],
      [2000, [['ann', 'cart']]],
      [3000, []],
    ]);
    expect(times).toEqual([1000, 2000, 3000]);
  });

  it('a function that returns no RDD fails the batch, naming the operation and the batch (as transform)', async () => {
    const { ssc, tick } = manual(sc());
    const a = ssc.queueStream([[1]]);
    a.transformWith(ssc.queueStream([[2]]), () => undefined as never).foreachRDD(async (rdd) => void (await rdd.count()));
    await ssc.start();
    await expect(tick()).rejects.toThrow(/transformWith of queue-\d+ returned undefined for the batch at 1000 ms, not an RDD/);
    await expect(ssc.awaitTermination()).rejects.toThrow(/returned undefined/);
    await ssc.stop({ stopContext: false });
  });
});

describe('Transformations: transform', () => {
  it('runs its function on the driver once per batch with the batch time, so the RDD operation may change between batches', async () => {
    const { ssc, tick } = manual(sc());
    const times: number[] = [];
    // A blocklist that changes with time, read on the driver (the guide's spam-filter example).
    const blocked = (ms: number) => sc().parallelize<[string, boolean]>(ms >= 2000 ? [['spam', true]] : []);
    const cleaned = ssc
      .queueStream([
        ['spam', 'ham'],
        ['spam', 'eggs'],
      ])
      .map((w): [string, number] => [w, 1])
      .transform((rdd, t) => {
        times.push(t.ms);
        return rdd.subtractByKey(blocked(t.ms));
      });
    const a = collectBatches(cleaned);
    const b = collectBatches(cleaned.map(([w]) => w));
    await ssc.start();
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(sorted(a)).toEqual([
      [
        1000,
        [
          ['ham', 1],
          ['spam', 1],
        ],
      ],
      [2000, [['eggs', 1]]],
    ]);
    expect(sorted(b)).toEqual([
      [1000, ['ham', 'spam']],
      [2000, ['eggs']],
    ]);
    // Two outputs read the stream; its RDD of a batch is made once.
    expect(times).toEqual([1000, 2000]);
  });
});

describe('Window operations', () => {
  it("the guide's windowed word count: reduceByKeyAndWindow over 3 batches every 2, with and without the inverse function", async () => {
    const { ssc, tick } = manual(sc());
    const batches = [['a b'], ['a'], ['c a'], [], ['b b'], ['a']];
    const pairs = ssc
      .queueStream(batches)
      .flatMap((l) => l.split(' '))
      .map((w): [string, number] => [w, 1]);
    const plain = collectBatches(pairs.reduceByKeyAndWindow((a, b) => a + b, { window: 3000, slide: 2000 }));
    const inverse = collectBatches(
      pairs.reduceByKeyAndWindow((a, b) => a + b, { window: 3000, slide: 2000, inverse: (a, b) => a - b, filter: ([, n]) => n > 0 }),
    );
    const byValue = collectBatches(pairs.map(([w]) => w).countByValueAndWindow(3000, 2000));
    const counted = collectBatches(pairs.countByWindow(3000, 2000));
    await ssc.start();
    await tick(6);
    await ssc.stop({ stopContext: false });
    // Windows end at 2, 4 and 6 s and hold the batches (t - 3 s, t].
    const expected: Array<[number, [string, number][]]> = [
      [2000, wordCounts(['a b', 'a'])],
      [4000, wordCounts(['a', 'c a'])],
      [6000, wordCounts(['b b', 'a'])],
    ];
    expect(sorted(plain)).toEqual(expected);
    expect(sorted(inverse)).toEqual(expected);
    expect(sorted(byValue)).toEqual(expected);
    expect(counted).toEqual([
      [2000, [3]],
      [4000, [3]],
      [6000, [3]],
    ]);
  });

  it('a window of a windowed stream must be a multiple of that stream’s slide, not of the batch interval', () => {
    const { ssc } = manual(sc());
    const every2s = ssc.queueStream<number>([]).window(4000, 2000);
    expect(() => every2s.window(3000)).toThrow(/^window \(3000 ms\) must be a multiple of the slide of window\(4000, 2000\) \(2000 ms\)/);
    expect(() => every2s.window(6000, 4000)).not.toThrow();
  });

  it('reduceByKeyAndWindow with an inverse function refuses to start without a checkpoint folder, naming the stream', async () => {
    const bare = new Context({ master: 'local', progress: false, hints: false });
    try {
      const ssc = new StreamingContext(bare, { batchInterval: 1000, clock: new ManualClock() });
      ssc
        .queueStream<[string, number]>([])
        .reduceByKeyAndWindow((a, b) => a + b, { window: 2000, inverse: (a, b) => a - b })
        .print();
      await expect(ssc.start()).rejects.toThrow(/reduceByKeyAndWindow\(2000, 1000\).*no checkpoint folder is set/);
    } finally {
      await bare.stop();
    }
  });
});

describe('Join operations', () => {
  it('stream-stream join per batch, windowed streams of different lengths joined, and a stream-dataset join by transform', async () => {
    const { ssc, tick } = manual(sc());
    const left = ssc.queueStream<[string, number]>([[['k', 1]], [['k', 2]], [['j', 3]]]);
    const right = ssc.queueStream<[string, string]>([[['k', 'x']], [], [['k', 'y']]]);
    const joined = collectBatches(left.join(right));
    // windowedStream1 = stream1.window(20 s); windowedStream2 = stream2.window(1 min) in the guide: here 1 and 3 batches.
    const windowed = collectBatches(left.window(1000).join(right.window(3000)));
    const dataset = sc().parallelize<[string, string]>([['j', 'from the dataset']]);
    const withDataset = collectBatches(left.transform((rdd) => rdd.join(dataset)));
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(sorted(joined)).toEqual([
      [1000, [['k', [1, 'x']]]],
      [2000, []],
      [3000, []],
    ]);
    expect(sorted(windowed)).toEqual([
      [1000, [['k', [1, 'x']]]],
      [2000, [['k', [2, 'x']]]],
      [3000, []],
    ]);
    expect(sorted(withDataset)).toEqual([
      [1000, []],
      [2000, []],
      [3000, [['j', [3, 'from the dataset']]]],
    ]);
  });

  it('refuses to join or union streams of different slides, naming both', () => {
    const { ssc } = manual(sc());
    const a = ssc.queueStream<[string, number]>([]);
    const b = a.window(2000, 2000);
    expect(() => a.join(b)).toThrow(/^join: both streams must have the same slide, got 1000 ms and 2000 ms$/);
    expect(() => ssc.union([a, b])).toThrow(/^union: both streams must have the same slide/);
  });
});

describe('Output operations', () => {
  it('run one at a time in the order they were defined, each batch after the previous one', async () => {
    const { ssc, tick } = manual(sc());
    const log: string[] = [];
    const nums = ssc.queueStream<number>([[1], [2]]);
    // The first output is slow and asynchronous: the second must still wait for it.
    nums.foreachRDD(async (rdd, t) => {
      log.push(`first ${t.ms} start`);
      await new Promise((r) => setTimeout(r, 30));
      log.push(`first ${t.ms} ${(await rdd.collect()).join()}`);
    });
    nums.map(capture({}, (x: number) => x * 10)).foreachRDD(async (rdd, t) => void log.push(`second ${t.ms} ${(await rdd.collect()).join()}`));
    await ssc.start();
    await tick(2);
    await ssc.stop({ stopContext: false });
    expect(log).toEqual(['first 1000 start', 'first 1000 1', 'second 1000 10', 'first 2000 start', 'first 2000 2', 'second 2000 20']);
  });
});

describe('Initializing and stopping: stop() from inside an output operation', () => {
  it.each([false, true])(
    'await ssc.stop({ graceful: %s }) inside a for-await over batches() with a full queue resolves; the reader then gets what was kept',
    async (graceful) => {
      // Before: the batch waiting for room in the queue waited for the reader, the reader for stop(), and stop() for
      // that batch: the loop hung for ever once the reader was highWaterMark batches behind.
      const { ssc, clock } = manual(sc());
      const started: number[] = [];
      const off = sc().events.on('batchStarted', (e) => void started.push(e.batch.ms));
      const batches = ssc.queueStream<number>([[1], [2], [3], [4], [5]]).batches({ highWaterMark: 1 });
      await ssc.start();
      clock.advance(5000);
      const seen: number[] = [];
      const reading = (async () => {
        for await (const { records } of batches) {
          seen.push(...records);
          if (seen.length > 1) continue;
          // The batch at 3000 ms waits for room: [2] fills the queue.
          await vi.waitFor(() => expect(started).toContain(3000), UNTIL);
          await ssc.stop({ graceful, stopContext: false });
        }
        return 'ended';
      })();
      try {
        expect(await Promise.race([reading, new Promise((r) => setTimeout(() => r('hung'), 30_000))])).toBe('ended');
      } finally {
        off();
      }
      // Not graceful: the running batch (3000) finishes, the queued ones are dropped; graceful: all are processed.
      expect(seen).toEqual(graceful ? [1, 2, 3, 4, 5] : [1, 2, 3]);
      expect(ssc.state).toBe('stopped');
    },
  );

  it.each([false, true])(
    'await ssc.stop({ graceful: %s }) in foreachRDD resolves; that batch finishes, no later batch runs, awaitTermination is true',
    async (graceful) => {
      // Before: stop() waited for the running batch, which waited for stop(): `await ssc.stop()` hung for ever.
      const { ssc, clock } = manual(sc());
      const log: string[] = [];
      const nums = ssc.queueStream<number>([[1], [2], [3], [4]]);
      nums.foreachRDD(async (rdd, t) => {
        // Spark's examples stop this way once the input runs dry (`if (rdd.isEmpty()) ssc.stop()`).
        if ((await rdd.first()) === 2) {
          await ssc.stop({ graceful, stopContext: false });
          log.push(`stopped in ${t.ms}`);
        }
      });
      nums.foreachRDD(async (rdd, t) => void log.push(`${t.ms}: ${(await rdd.collect()).join()}`));
      await ssc.start();
      clock.advance(2000);
      expect(await ssc.awaitTermination({ timeout: 30_000 })).toBe(true);
      expect(ssc.state).toBe('stopped');
      // A graceful stop also processes what the sources still hold, here the queue: batches 3000 and 4000.
      expect(log).toEqual(['1000: 1', 'stopped in 2000', '2000: 2', ...(graceful ? ['3000: 3', '4000: 4'] : [])]);
    },
  );

  it('stop() called by work an output started but did not await waits for the stop as usual once that output ended', async () => {
    // Such work inherits the output's async context; it must not be taken for the output itself.
    const { ssc, tick } = manual(sc());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let later: Promise<string> | undefined;
    ssc.queueStream<number>([[1], [2]]).foreachRDD((_rdd, t) => {
      if (t.ms === 1000)
        later = gate.then(async () => {
          await ssc.stop({ stopContext: false });
          return ssc.state;
        });
    });
    await ssc.start();
    await tick();
    release();
    expect(await later).toBe('stopped');
  });
});

describe('Accumulators and broadcast variables (the RecoverableNetworkWordCount example, without the recovery)', () => {
  it('a broadcast exclude list made once on the driver filters every batch; an accumulator counts the dropped words across batches', async () => {
    const { ssc, tick } = manual(sc());
    const batches = [['a b a', 'x'], ['b', 'y a'], ['x y']];
    // The example's lazily made singletons: the first batch that needs them makes them.
    let excluded: { value: string[] } | undefined;
    const dropped = sc().accumulator(0);
    const report: string[] = [];
    ssc
      .queueStream(batches.map((b) => [...b]))
      .flatMap((l) => l.split(' '))
      .map((w): [string, number] => [w, 1])
      .reduceByKey((a, b) => a + b)
      .foreachRDD(async (rdd, t) => {
        const exclude = (excluded ??= sc().broadcast(['x', 'y']));
        const counts = await rdd
          .filter(
            capture({ exclude, dropped }, ([word, count]: [string, number]) => {
              if (!exclude.value.includes(word)) return true;
              dropped.add(count);
              return false;
            }),
          )
          .collect();
        report.push(`Counts at time ${t.ms} ${JSON.stringify(sortedPairs(counts))}, dropped so far ${dropped.value}`);
      });
    await ssc.start();
    await tick(3);
    await ssc.stop({ stopContext: false });
    expect(report).toEqual([
      'Counts at time 1000 [["a",2],["b",1]], dropped so far 1',
      'Counts at time 2000 [["a",1],["b",1]], dropped so far 2',
      'Counts at time 3000 [], dropped so far 4',
    ]);
  });
});

describe('Checkpointing: "How to configure Checkpointing" (functionToCreateContext with StreamingContext.getOrCreate)', () => {
  // The guide's shape: the function creates the context, its streams and `ssc.checkpoint(checkpointDirectory)`;
  // getOrCreate calls it (kindling calls it on a restart too, saying which case it is: docs/streaming.md); additional
  // setup follows; then start() and awaitTermination. More restarts (windows, replayed batches, down time, another
  // program refused): get-or-create.test.ts.
  it('a second run on the checkpoint directory restores the running count from the state checkpoint, without replaying input', async () => {
    const checkpointDirectory = path.join(dir(), 'guide-checkpointing');
    const created: string[] = [];
    let totals: Array<[number, Array<[string, number]>]> = [];
    const run = async (startMs: number, batches: string[][]) => {
      const clock = new ManualClock(startMs);
      const functionToCreateContext = ({ restoring }: { restoring: boolean }): StreamingContext => {
        created.push(restoring ? 'restoring' : 'Creating new context');
        const ssc = new StreamingContext(sc(), { batchInterval: 1000, clock });
        const lines = ssc.queueStream(batches.map((b) => [...b]));
        totals = collectBatches(
          lines
            .flatMap((l) => l.split(' '))
            .map((w): [string, number] => [w, 1])
            // A state checkpoint every batch: a queue cannot be read again, so the state must come from the file.
            .updateStateByKey((vs: number[], s?: number) => (s ?? 0) + vs.length)
            .checkpoint(1000),
        );
        ssc.checkpoint(checkpointDirectory);
        return ssc;
      };
      const context = StreamingContext.getOrCreate(checkpointDirectory, functionToCreateContext);
      await context.start();
      await tickBatches(context, clock, batches.length);
      expect(await context.awaitTerminationOrTimeout(10)).toBe(false);
      await context.stop({ stopContext: false });
      return sorted(totals);
    };
    expect(await run(0, [['a b'], ['a']])).toEqual([
      [
        1000,
        [
          ['a', 1],
          ['b', 1],
        ],
      ],
      [
        2000,
        [
          ['a', 2],
          ['b', 1],
        ],
      ],
    ]);
    expect(await run(2000, [['b c']])).toEqual([
      [
        3000,
        [
          ['a', 2],
          ['b', 2],
          ['c', 1],
        ],
      ],
    ]);
    expect(created).toEqual(['Creating new context', 'restoring']);
  });
});
