/**
 * The context's lifecycle and its errors: what a user meets when something goes wrong. Every test runs through
 * real worker threads (the built package).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Context, ClosureError, type ContextOptions, ContextStoppedError, JobFailedError, capture } from 'kindling';

describe('Context', () => {
  let sc: Context;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('parses master strings and validates options at construction', () => {
    expect(() => new Context({ master: 'yarn' })).toThrow(/Unknown master 'yarn'/);
    expect(() => new Context({ master: 'local[0]' })).toThrow(/at least 1/);
    expect(() => new Context({ master: 'local', maxTaskFailures: 0 })).toThrow(/maxTaskFailures must be a positive integer/);
    expect(sc.defaultParallelism).toBe(2);
  });

  it('refuses an option it does not know, top-level or nested, naming the nearest known one, before any worker starts', () => {
    // A JavaScript caller has no type check: a misspelt option would run silently with its default.
    const untyped = (o: unknown) => () => new Context(o as ContextOptions);
    expect(untyped({ master: 'local[1]', egine: 'mapreduce' })).toThrow(
      /^unknown option 'egine' \(did you mean 'engine'\?\); known: master, appName, /,
    );
    expect(untyped({ master: 'local[1]', memory: { workerMb: 512 } })).toThrow(
      /^unknown option 'memory\.workerMb' \(did you mean 'memory\.workerMB'\?\); known: memory\.workerMB, memory\.storageFraction, memory\.shuffleFraction$/,
    );
    expect(untyped({ ui: { prot: 4041 } })).toThrow(/^unknown option 'ui\.prot' \(did you mean 'ui\.port'\?\)/);
    expect(untyped({ speculation: { enable: true } })).toThrow(/did you mean 'speculation\.enabled'/);
    expect(untyped({ zzzzzzzz: 1 })).toThrow(/^unknown option 'zzzzzzzz'; known: /);
    expect(untyped(null)).toThrow(/^Context options must be an object, got null$/);
    // `ui: false` and `eventLog: false` stay the way to turn those off; undefined values are as if absent.
    const off = new Context({ master: 'local[1]', ui: false, eventLog: false, progress: false, appName: undefined });
    return off.stop();
  });

  it('refuses a group of options given as anything but an object (or false for ui and eventLog), naming its keys', () => {
    // `memory: 5` or `speculation: true` ran silently with every default of the group.
    const untyped = (o: unknown) => () => new Context(o as ContextOptions);
    expect(untyped({ master: 'local[1]', memory: 5 })).toThrow(
      /^option 'memory' must be an object of 'workerMB', 'storageFraction', 'shuffleFraction', got 5$/,
    );
    expect(untyped({ memory: [] })).toThrow(/^option 'memory' must be an object of .*, got \[\]$/);
    expect(untyped({ memory: null })).toThrow(/^option 'memory' must be an object of .*, got null$/);
    expect(untyped({ speculation: true })).toThrow(/^option 'speculation' must be an object of 'enabled', .*, got true$/);
    expect(untyped({ ui: 4041 })).toThrow(/^option 'ui' must be an object of 'port', .* or false, got 4041$/);
    expect(untyped({ ui: true })).toThrow(/^option 'ui' must be an object of .* or false, got true$/);
    expect(untyped({ eventLog: '/tmp/logs' })).toThrow(/^option 'eventLog' must be an object of 'dir' or false, got '\/tmp\/logs'$/);
  });

  it('refuses an option of the wrong type at construction, showing a string as a string', () => {
    // A JavaScript caller has no type check: `appName: 5` failed later with "appName.replace is not a function",
    // and `progress: 'false'`, a truthy string, turned the bar on.
    const untyped = (o: unknown) => () => new Context(o as ContextOptions);
    expect(untyped({ appName: 5 })).toThrow(/^appName must be a non-empty string, got 5$/);
    expect(untyped({ master: 2 })).toThrow(/^master must be a non-empty string, got 2$/);
    expect(untyped({ localDir: '' })).toThrow(/^localDir must be a non-empty string, got ''$/);
    expect(untyped({ progress: 'false' })).toThrow(/^progress must be true or false, got 'false'$/);
    expect(untyped({ hints: 0 })).toThrow(/^hints must be true or false, got 0$/);
    expect(untyped({ speculation: { enabled: 'yes' } })).toThrow(/^speculation\.enabled must be true or false, got 'yes'$/);
    expect(untyped({ memory: { workerMB: '512' } })).toThrow(/^memory\.workerMB must be a positive integer, got '512'$/);
    expect(untyped({ localityWaitMs: '300' })).toThrow(/^localityWaitMs must be a number >= 0, got '300'$/);
  });

  it("refuses a duration past Node's longest timer, which would fire after 1 ms; the longest one runs a shuffle", async () => {
    // fetchTimeoutMs: 2 ** 31 (a "never") failed every shuffle fetch at once: 'did not answer within fetchTimeoutMs'.
    for (const [options, name] of [
      [{ fetchTimeoutMs: 2 ** 31 }, 'fetchTimeoutMs'],
      [{ localityWaitMs: 1e12 }, 'localityWaitMs'],
      [{ taskTimeoutMs: 1e12 }, 'taskTimeoutMs'],
      [{ executorTimeoutMs: 2 ** 31 }, 'executorTimeoutMs'],
      [{ executorWaitMs: 2 ** 31 }, 'executorWaitMs'],
      [{ leaseMs: 2 ** 40 }, 'leaseMs'],
      [{ speculation: { enabled: true, intervalMs: 2 ** 31 } }, 'speculation\\.intervalMs'],
    ] as const)
      expect(() => new Context({ master: 'local', ui: false, ...options })).toThrow(
        new RegExp(`^${name} must be at most 2147483647 ms \\(about 24\\.8 days`),
      );
    const longest = new Context({ master: 'local[2]', progress: false, ui: false, fetchTimeoutMs: 2 ** 31 - 1, localityWaitMs: 2 ** 31 - 1 });
    try {
      const pairs = longest.range(0, 50_000, 1, 4).map((i) => [i % 5000, 'x'.repeat(20)] as [number, string]);
      expect(await pairs.groupByKey(4).count()).toBe(5000);
    } finally {
      await longest.stop();
    }
  });

  it("reads maxResultSize 0 as no limit, as Spark's spark.driver.maxResultSize, and refuses a size of the wrong type", async () => {
    // The string '0' was a limit of 0 bytes (every action failed), and the number 0 was refused.
    for (const maxResultSize of [0, '0', '0g']) {
      const unlimited = new Context({ master: 'local[2]', progress: false, ui: false, maxResultSize });
      try {
        expect(await unlimited.range(0, 1000, 1, 2).collect()).toHaveLength(1000);
      } finally {
        await unlimited.stop();
      }
    }
    const untyped = (o: unknown) => () => new Context(o as ContextOptions);
    expect(untyped({ maxResultSize: true })).toThrow(/^maxResultSize must be a number of bytes or a size such as '512m' or '1g', got true$/);
    expect(untyped({ maxResultSize: {} })).toThrow(/^maxResultSize must be a number of bytes or a size/);
    expect(untyped({ maxResultSize: -1 })).toThrow(/^maxResultSize must be a positive number of bytes, got -1$/);
  });

  it("reads Spark's local[N,F] (F attempts per task), refuses F below 1 or disagreeing with maxTaskFailures, and local[N] beyond the machine's memory", async () => {
    expect(() => new Context({ master: 'local[2,0]' })).toThrow(/allows 0 attempts per task; it needs at least 1/);
    expect(() => new Context({ master: 'local[2,3]', maxTaskFailures: 5 })).toThrow(/sets 3 attempts per task, but maxTaskFailures is 5/);
    // Refused before a single worker starts: trying would take the machine's memory first.
    expect(() => new Context({ master: 'local[100000000]' })).toThrow(
      /100000000 worker threads, each at least 12 MiB: .* GiB, more than this machine's/,
    );
    const three = new Context({ master: 'local[2,3]', progress: false, ui: false, hints: false });
    const starOne = new Context({ master: 'local[*,1]', progress: false, ui: false, hints: false, maxTaskFailures: 1 });
    try {
      expect([three.defaultParallelism, three.options.maxTaskFailures]).toEqual([2, 3]);
      expect(starOne.options.maxTaskFailures).toBe(1);
      const failing = (c: Context) =>
        c
          .parallelize([1], 1)
          .map(() => {
            throw new Error('always');
          })
          .collect();
      await expect(failing(three)).rejects.toThrow(/failed 3 times/);
      await expect(failing(starOne)).rejects.toThrow(/failed 1 time\b/);
    } finally {
      await Promise.all([three.stop(), starOne.stop()]);
    }
  });

  it('fails a job whose function throws with an error naming job, stage, partition and RDD, and the original message and stack', async () => {
    const rdd = sc
      .range(10, undefined, 1, 2)
      .setName('numbers')
      .map((x) => {
        if (x === 7) throw new RangeError(`bad value ${x}`);
        return x;
      });
    const err = await rdd.collect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobFailedError);
    const e = err as JobFailedError;
    expect(e.message).toMatch(/^Job \d+ failed: task for partition 1 of stage \d+/);
    expect(e.message).toContain(`RDD ${rdd.id} (map at context.test.ts`);
    expect(e.message).toContain('RangeError: bad value 7');
    expect(e.message).toMatch(/Worker stack trace:[\s\S]*bad value 7/);
    expect(e.location).toMatchObject({ partition: 1, rddId: rdd.id });
    // Four attempts (Spark's spark.task.maxFailures), all causes listed.
    expect(e.causes).toHaveLength(4);
    // The context keeps working.
    expect(await sc.range(5).count()).toBe(5);
  });

  it('names the named RDD whose function threw', async () => {
    const rdd = sc
      .parallelize(['a', 'b'], 1)
      .filter((s) => s.length > (null as unknown as { n: number }).n)
      .setName('words');
    await expect(rdd.count()).rejects.toThrow(`in RDD ${rdd.id} (words)`);
  });

  it('rejects an undeclared free variable on the driver, naming it, before any job runs', () => {
    const factor = 3;
    expect(() => sc.range(3).map((x) => x * factor)).toThrow(ClosureError);
    expect(() => sc.range(3).map((x) => x * factor)).toThrow(/uses 'factor', which is not declared[\s\S]*capture\(\{ factor \}/);
  });

  it('runs captured values, helper functions, broadcasts and accumulators', async () => {
    const offset = 10;
    const square = (x: number) => x * x;
    const bc = sc.broadcast(new Map([[1, 'one']]));
    const seen = sc.accumulator(0, 'seen');
    const out = await sc
      .parallelize([1, 2, 3], 3)
      .map(
        capture({ offset, square, bc, seen }, (x: number) => {
          seen.add(1);
          return `${square(x) + offset}:${bc.value.get(x) ?? '-'}`;
        }),
      )
      .collect();
    expect(out).toEqual(['11:one', '14:-', '19:-']);
    expect(seen.value).toBe(3);
  });

  it('argument errors throw at the call', () => {
    expect(() => sc.range(10).repartition(0)).toThrow(RangeError);
    expect(() => sc.range(10).coalesce(-1)).toThrow(RangeError);
    expect(() => sc.parallelize([1], 0)).toThrow(/positive integer/);
    expect(() => sc.range(4, undefined, 1, 2).zip(sc.range(4, undefined, 1, 3))).toThrow(/same number of partitions/);
    expect(() => sc.range(4, 0, 0)).toThrow(/step cannot be 0/);
    // Past 2^53 the elements would not be exact (9007199254740992 twice, 9007199254740993 never).
    expect(() => sc.range(2 ** 53 - 2, 2 ** 53 + 2)).toThrow(/range: integer elements must lie within .*the last is 9007199254740992/);
    expect(() => sc.range(-(2 ** 53), 0)).toThrow(/range: integer elements/);
    expect(sc.range(2 ** 53 - 3, 2 ** 53 - 1).getNumPartitions()).toBeGreaterThan(0);
    // A bigint (Spark's range is of Longs) or a string was shown as the number it looks like: "got 0" for 0n.
    const loose = sc as unknown as { range: (...args: unknown[]) => unknown };
    expect(() => loose.range(0n, 10n)).toThrow('range: start must be a finite number, got 0n');
    expect(() => loose.range(0, '5')).toThrow('range: end must be a finite number, got "5"');
    expect(() => sc.range(0, 5, Number.NaN)).toThrow('range: step must be a finite number, got NaN');
  });

  it('an action given a count as a string shows it as a string, not as the number it looks like', async () => {
    // "got 2" read as the number 2, which take accepts.
    const loose = sc.range(4) as unknown as Record<'take' | 'top', (n: unknown) => Promise<unknown>>;
    const rejection = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(await rejection(() => loose.take('2'))).toBe('take: n must be a non-negative integer, got "2"');
    expect(await rejection(() => loose.top('2'))).toBe('takeOrdered/top: n must be a non-negative integer, got "2"');
  });

  it('a user function that calls process.exit fails its job cleanly after retries; the context stays usable', async () => {
    const rdd = sc.range(4, undefined, 1, 2).map((x) => {
      if (x === 3) process.exit(1);
      return x;
    });
    await expect(rdd.collect()).rejects.toThrow(/failed 4 times[\s\S]*worker \d exited with code 1/);
    expect(await sc.range(100).sum()).toBe(4950);
  });

  it('a missing input file fails the job with the path named', async () => {
    await expect(sc.textFile('/nonexistent/kindling/input.txt').count()).rejects.toThrow(
      'Input path does not exist: /nonexistent/kindling/input.txt',
    );
  });

  it('several contexts live at once, independently', async () => {
    const other = new Context({ master: 'local', progress: false });
    const [a, b] = await Promise.all([sc.range(10).sum(), other.range(5).sum()]);
    expect([a, b]).toEqual([45, 10]);
    const foreign = other.range(3);
    await expect(sc.union([foreign]).count()).rejects.toThrow(/another context/);
    await other.stop();
    expect(await sc.range(3).count()).toBe(3);
  });

  it('stop() is idempotent, later actions reject clearly, and the process can exit', async () => {
    const local = new Context({ master: 'local[2]', progress: false });
    expect(await local.range(3).count()).toBe(3);
    await Promise.all([local.stop(), local.stop()]);
    await local.stop();
    await expect(local.range(3).count()).rejects.toThrow(ContextStoppedError);
    await expect(local.range(3).count()).rejects.toThrow(/stop\(\) was called/);
  });

  it('stop() during a job fails it naming the job and what stopped it', async () => {
    const local = new Context({ master: 'local[2]', progress: false });
    const started = new Promise((r) => local.events.on('jobStart', r));
    const job = local
      .range(0, 1e12, 1, 4)
      .map((x) => x * 2)
      .sum()
      .catch((e: unknown) => e);
    await started;
    await local.stop();
    const error = await job;
    expect(error).toBeInstanceOf(ContextStoppedError);
    expect((error as Error).message).toMatch(/^Job \d+ \(sum at RDD \d+ \(map at .*\)\) failed: the context was stopped while it ran$/);
  });

  it('runs jobs concurrently on one context', async () => {
    const rdd = sc
      .range(1000, undefined, 1, 8)
      .map((x): [number, number] => [x % 7, 1])
      .reduceByKey((a, b) => a + b);
    const [n, sum, keys] = await Promise.all([sc.range(50).count(), sc.range(50).sum(), rdd.count()]);
    expect([n, sum, keys]).toEqual([50, 1225, 7]);
  });
});

describe('scripts run with tsx', () => {
  it('ship functions with tsx-injected __name helpers through real workers', () => {
    const out = execFileSync('npx', ['--no-install', 'tsx', 'test/fixtures/tsx-job.ts'], { encoding: 'utf8', timeout: 60_000 });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toEqual({ scaled: [2 * Math.sqrt(5), 10], total: 45 });
  });

  it('a script that never calls stop() still exits', () => {
    const script =
      "import { Context } from 'kindling'; const sc = new Context({ master: 'local[2]', progress: false }); console.log(await sc.range(4).count());";
    const out = execFileSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(out.trim()).toBe('4');
  });
});
