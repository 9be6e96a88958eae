/**
 * Arguments of the wrong kind, written from JavaScript (where no compiler checks them), are refused with an
 * ArgumentTypeError (a TypeError and a KindlingError) that names the method and the argument. Each case here once
 * went further: a raw TypeError from inside the engine (`r.getNumPartitions is not a function`, `spec.slice is not a
 * function`, `signal.addEventListener is not a function`), a job failing in the workers (`f is not a function`), an
 * error naming another method (`keyBy function ...` for groupBy, `saveAsTextFile` for saveAsObjectFile), or a quiet
 * wrong result (`parallelize(5)` an empty RDD, `sample(false, '0.5')` sampled, `sampleByKey(false, 0.5)` empty,
 * `count(5)` ignored the 5). Found by test/context/random-misuse.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ArgumentTypeError, Context, InvalidArgumentError, KindlingError, OutputPathError, UnclonableDataError } from 'kindling';
import { useContext } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-argument-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The calls below are what JavaScript lets through and TypeScript refuses. */
const loose = (x: unknown): any => x;

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to throw');
}

async function rejected(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the action to reject');
}

function expectArgumentTypeError(e: Error, message: RegExp): void {
  expect(e).toBeInstanceOf(ArgumentTypeError);
  expect(e).toBeInstanceOf(TypeError);
  expect(e).toBeInstanceOf(KindlingError);
  expect(e.message).toMatch(message);
}

// Checks at the call: one mode is enough, the code paths are the driver's.
describe('arguments of the wrong kind (local[2])', () => {
  const ctx = useContext('local[2]');

  test('an RDD argument that is no RDD is refused at the call, naming the method and the argument', () => {
    const r = ctx().parallelize([1, 2, 3], 2);
    const pairs = r.keyBy((x) => x);
    const cases: Array<[string, () => unknown]> = [
      ['union', () => loose(r).union(5)],
      ['union', () => loose(r).union()],
      ['zip', () => loose(r).zip({})],
      ['cartesian', () => loose(r).cartesian(null)],
      ['intersection', () => loose(r).intersection([1, 2])],
      ['subtract', () => loose(r).subtract('x')],
      ['zipPartitions', () => loose(r).zipPartitions(9, (a: Iterable<number>) => a)],
      ['join', () => loose(pairs).join(7)],
      ['leftOuterJoin', () => loose(pairs).leftOuterJoin(null)],
      ['rightOuterJoin', () => loose(pairs).rightOuterJoin(undefined)],
      ['fullOuterJoin', () => loose(pairs).fullOuterJoin([[1, 2]])],
      ['cogroup', () => loose(pairs).cogroup()],
      ['subtractByKey', () => loose(pairs).subtractByKey(1)],
    ];
    for (const [op, call] of cases) expectArgumentTypeError(thrown(call), new RegExp(`^${op}: other must be an RDD, got `));
  });

  test('names and job groups are text: a number or an object is refused at the call', () => {
    // setName(5) and setJobGroup(1, 2) were kept as numbers, which the UI, the REST API and the event log then
    // showed where Spark's tools read strings.
    const r = ctx().parallelize([1, 2, 3], 2);
    expectArgumentTypeError(
      thrown(() => loose(r).setName(5)),
      /^setName: name must be a string, got /,
    );
    expectArgumentTypeError(
      thrown(() => loose(ctx()).setJobGroup(1, 'd')),
      /^setJobGroup: groupId must be a string, got /,
    );
    expectArgumentTypeError(
      thrown(() => loose(ctx()).setJobGroup('g', 2)),
      /^setJobGroup: description must be a string, got /,
    );
    expectArgumentTypeError(
      thrown(() => loose(ctx()).withJobGroup(['g'], () => 1)),
      /^withJobGroup: groupId must be a string, got /,
    );
    expectArgumentTypeError(
      thrown(() => loose(ctx()).withJobGroup('g', 5)),
      /^withJobGroup: body must be a function, got /,
    );
    expectArgumentTypeError(
      thrown(() => loose(ctx()).cancelJobGroup({ id: 'g' })),
      /^cancelJobGroup: groupId must be a string, got /,
    );
    expect(r.setName('numbers').name).toBe('numbers');
    expect(ctx().withJobGroup('g', () => 7, 'seven')).toBe(7);
    expect(ctx().cancelJobGroup('nothing-runs')).toEqual([]);
  });

  test("another context's RDD is refused at the call, naming both RDDs", async () => {
    const other = new Context({ master: 'local', progress: false, ui: false });
    try {
      const mine = ctx().parallelize([1, 2], 2);
      const theirs = other.parallelize([3, 4], 2);
      for (const call of [() => mine.union(theirs), () => mine.zip(theirs), () => mine.keyBy((x) => x).join(theirs.keyBy((x) => x))]) {
        const e = thrown(call);
        expect(e).toBeInstanceOf(InvalidArgumentError);
        expect(e.message).toMatch(/^\w+: RDD \d+ \(.*\) belongs to another context than RDD \d+ \(.*\); RDDs cannot be shared between contexts$/);
      }
    } finally {
      await other.stop();
    }
  });

  test('map(), filter() and the other element-wise steps without a function are refused at the call, not in the first task', () => {
    const r = ctx().parallelize([1, 2, 3], 2);
    const pairs = r.keyBy((x) => x);
    for (const [op, call] of [
      ['map', () => loose(r).map()],
      ['filter', () => loose(r).filter()],
      ['flatMap', () => loose(r).flatMap()],
      ['keyBy', () => loose(r).keyBy()],
      ['mapValues', () => loose(pairs).mapValues()],
      ['flatMapValues', () => loose(pairs).flatMapValues()],
    ] as const) {
      expectArgumentTypeError(thrown(call), new RegExp(`^${op} function of RDD \\d+ \\(${op} at .*\\): expected a function, got undefined$`));
    }
  });

  test('groupBy and sortBy name themselves, not the keyBy they are made of', () => {
    const r = ctx().parallelize([1, 2, 3], 2);
    expectArgumentTypeError(
      thrown(() => loose(r).groupBy(1)),
      /^groupBy expects a function, got 1$/,
    );
    expectArgumentTypeError(
      thrown(() => loose(r).sortBy({})),
      /^sortBy expects a function, got an object$/,
    );
  });

  test('parallelize refuses data that is not iterable (Array.from(5) made an empty RDD) and elements that cannot be cloned', () => {
    const sc = ctx();
    expectArgumentTypeError(
      thrown(() => loose(sc).parallelize(5)),
      /^parallelize: data must be an array or another iterable, got 5$/,
    );
    expectArgumentTypeError(
      thrown(() => loose(sc).parallelize({ length: 2 })),
      /^parallelize: data must be an array or another iterable, got an object$/,
    );
    // Strings are iterable, as in PySpark: one element per character.
    expect(sc.parallelize('ab').getNumPartitions()).toBe(sc.defaultParallelism);
    for (const [data, what] of [
      [[1, () => 2], 'function'],
      [[Symbol('s')], 'symbol'],
    ] as const) {
      const e = thrown(() => sc.parallelize(data as readonly unknown[]));
      expect(e).toBeInstanceOf(UnclonableDataError);
      expect(e.message).toMatch(
        new RegExp(`^In RDD \\d+ \\(parallelize at .*\\), element ${what === 'function' ? 1 : 0} is a ${what}, which cannot be cloned`),
      );
    }
  });

  test('sample, takeSample and sampleByKey take a boolean and numbers (a string fraction was sampled, a number of fractions sampled nothing)', async () => {
    const r = ctx().parallelize([1, 2, 3, 4], 2);
    expectArgumentTypeError(
      thrown(() => loose(r).sample('yes', 0.5)),
      /^sample: withReplacement must be a boolean, got "yes"$/,
    );
    expectArgumentTypeError(
      thrown(() => loose(r).sample(false, '0.5')),
      /^sample: fraction must be a number, got "0.5"$/,
    );
    expectArgumentTypeError(await rejected(() => loose(r).takeSample('x', 1)), /^takeSample: withReplacement must be a boolean, got "x"$/);
    const pairs = r.keyBy((x) => x % 2);
    expectArgumentTypeError(
      thrown(() => loose(pairs).sampleByKey(false, 0.5)),
      /^sampleByKey: fractions must be a Map or an object of key -> fraction, got 0.5; for one fraction of all keys use sample$/,
    );
    expectArgumentTypeError(
      thrown(() => loose(pairs).sampleByKey(1, { 0: 0.5, 1: 0.5 })),
      /^sampleByKey: withReplacement must be a boolean, got 1$/,
    );
  });

  test('randomSplit, pipe and setCheckpointDir refuse arguments of the wrong kind by name', () => {
    const sc = ctx();
    const r = sc.parallelize([1, 2], 2);
    expectArgumentTypeError(
      thrown(() => loose(r).randomSplit(5)),
      /^randomSplit: weights must be an array of numbers, got 5$/,
    );
    expectArgumentTypeError(
      thrown(() => loose(r).pipe(5)),
      /^pipe: command must be a non-empty string or array of strings, got 5$/,
    );
    expectArgumentTypeError(
      thrown(() => loose(sc).setCheckpointDir(5)),
      /^setCheckpointDir: dir must be a non-empty string, got 5$/,
    );
    expectArgumentTypeError(
      thrown(() => loose(sc).accumulator('x')),
      /^accumulator: initial must be a number, got "x"/,
    );
  });

  test('a reader given a path that is no string is refused at the call, not at the action with "spec.slice is not a function"', () => {
    const sc = loose(ctx());
    for (const reader of ['textFile', 'wholeTextFiles', 'binaryFiles', 'objectFile', 'csvFile', 'jsonLinesFile']) {
      expectArgumentTypeError(
        thrown(() => sc[reader](5)),
        new RegExp(`^${reader}: path must be a string \\(a file, directory, glob or comma-separated list\\), got 5$`),
      );
    }
    expectArgumentTypeError(
      thrown(() => sc.binaryRecords(undefined, 8)),
      /^binaryRecords: path must be a string/,
    );
  });

  test('a save names itself when its path is no string or empty (the committer said saveAsTextFile for every save)', async () => {
    const r = ctx().parallelize([1, 2], 2);
    for (const op of ['saveAsTextFile', 'saveAsObjectFile', 'saveAsJsonLines'] as const) {
      expectArgumentTypeError(await rejected(() => loose(r)[op](5)), new RegExp(`^${op}: path must be a string \\(an output directory\\), got 5$`));
      const e = await rejected(() => r[op](''));
      expect(e).toBeInstanceOf(OutputPathError);
      expect(e.message).toBe(`Can not create a Path from an empty string: ${op} needs an output directory, got "".`);
    }
  });

  test("an action's options argument must be an object, and its signal an AbortSignal, naming the action", async () => {
    const r = ctx().parallelize([1, 2], 2);
    expectArgumentTypeError(
      await rejected(() => loose(r).count(5)),
      /^count at RDD \d+ \(parallelize at .*\): the options argument must be an object such as \{ signal \}, got 5$/,
    );
    expectArgumentTypeError(
      await rejected(() => loose(r).collect('fast')),
      /^collect at RDD \d+ .*: the options argument must be an object such as \{ signal \}, got "fast"$/,
    );
    expectArgumentTypeError(
      await rejected(() => loose(r).reduce((a: number, b: number) => a + b, { signal: 5 })),
      /^reduce at RDD \d+ .*: options.signal must be an AbortSignal, got number$/,
    );
    // A misspelt key was ignored: the action ran, and could not be cancelled.
    expectArgumentTypeError(
      await rejected(() => loose(r).count({ singal: new AbortController().signal })),
      /^count at RDD \d+ \(parallelize at .*\): unknown option 'singal'; it takes 'signal'$/,
    );
    expectArgumentTypeError(
      await rejected(() => loose(r).take(1, { timeout: 5 })),
      /^take at RDD \d+ .*: unknown option 'timeout'; it takes 'signal'$/,
    );
    const iterate = async (): Promise<unknown[]> => {
      const out: unknown[] = [];
      for await (const x of loose(r).toLocalIterator({ sgnal: 1 }) as AsyncIterable<unknown>) out.push(x);
      return out;
    };
    expectArgumentTypeError(await rejected(iterate), /^toLocalIterator at RDD \d+ .*: unknown option 'sgnal'; it takes 'signal'$/);
    // An options object without a signal, and a real signal, are still fine.
    expect(await r.count({})).toBe(2);
    expect(await r.count({ signal: new AbortController().signal })).toBe(2);
  });
});
