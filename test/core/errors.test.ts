/**
 * One error hierarchy: every error kindling throws at a user is a KindlingError with a stable `code` (the table in
 * docs/errors.md), argument errors stay RangeError/TypeError, and a code survives the trip from a worker to the
 * causes of a JobFailedError. Misuses go through the public API, as a user meets them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { capture, ClosureError, Context, type JobFailedError, KindlingError, StorageLevel, useModule } from 'kindling';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

function expectKindling(e: unknown, code: string): void {
  expect(e).toBeInstanceOf(KindlingError);
  expect((e as KindlingError).code).toBe(code);
}

describe('errors users meet', () => {
  let sc: Context;
  let dir: string;
  beforeAll(() => {
    sc = new Context({ master: 'local[2]', progress: false, hints: false });
    dir = mkdtempSync(path.join(tmpdir(), 'kindling-errors-'));
  });
  afterAll(async () => {
    await sc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unknown master or engine, or a bad option, is KINDLING_INVALID_OPTION (and still a RangeError)', () => {
    for (const options of [{ master: 'yarn' }, { engine: 'spark' as never }, { memory: { storageFraction: 2 } }, { maxResultSize: 'lots' }]) {
      const e = thrown(() => new Context({ progress: false, ...options }));
      expectKindling(e, 'KINDLING_INVALID_OPTION');
      expect(e).toBeInstanceOf(RangeError);
    }
  });

  it('a bad value for a public function is KINDLING_INVALID_ARGUMENT and a RangeError; a bad type, a TypeError', async () => {
    const counts = [() => sc.parallelize([1], 0), () => sc.range(0, 10, 0), () => sc.range(4).sample(false, 2), () => sc.range(4).repartition(-1)];
    for (const f of counts) {
      const e = thrown(f);
      expectKindling(e, 'KINDLING_INVALID_ARGUMENT');
      expect(e).toBeInstanceOf(RangeError);
    }
    const take = await rejected(sc.range(4).take(-1));
    expectKindling(take, 'KINDLING_INVALID_ARGUMENT');
    expect(take).toBeInstanceOf(RangeError);

    for (const f of [() => sc.range(4).map(42 as never), () => sc.union('a' as never), () => useModule('')]) {
      const e = thrown(f);
      expectKindling(e, 'KINDLING_INVALID_ARGUMENT');
      expect(e).toBeInstanceOf(TypeError);
    }
    expectKindling(await rejected(sc.faults.killWorker(99)), 'KINDLING_INVALID_ARGUMENT');
  });

  it('an RDD of another context and zips of unequal RDDs are KINDLING_INVALID_ARGUMENT', async () => {
    const other = new Context({ master: 'local', progress: false });
    try {
      // Refused at the call when the RDD is an argument; in a lineage put together otherwise, at the action.
      expectKindling(
        thrown(() => sc.range(3).union(other.range(3))),
        'KINDLING_INVALID_ARGUMENT',
      );
      expectKindling(await rejected(sc.union([sc.range(3), other.range(3)]).count()), 'KINDLING_INVALID_ARGUMENT');
    } finally {
      await other.stop();
    }
    expectKindling(
      thrown(() => sc.range(4, undefined, 1, 2).zip(sc.range(4, undefined, 1, 1))),
      'KINDLING_INVALID_ARGUMENT',
    );
  });

  it('a function that cannot be shipped is a ClosureError, a KindlingError with KINDLING_CLOSURE', () => {
    const factor = 3;
    const e = thrown(() => sc.range(3).map((x) => x * factor));
    expect(e).toBeInstanceOf(ClosureError);
    expectKindling(e, 'KINDLING_CLOSURE');
  });

  it('calls the state of their object forbids are KINDLING_ILLEGAL_STATE', async () => {
    const cached = sc.range(3).persist(StorageLevel.MEMORY_ONLY);
    expectKindling(
      thrown(() => cached.persist(StorageLevel.DISK_ONLY)),
      'KINDLING_ILLEGAL_STATE',
    );
    expectKindling(
      thrown(() => sc.range(3).checkpoint()),
      'KINDLING_ILLEGAL_STATE',
    );
    const b = sc.broadcast(1);
    const uses = sc.range(3).map(capture({ b }, (x) => x + b.value));
    await b.destroy();
    // As in Spark, the task that would carry it cannot be built, so the job fails; its causes say why.
    const e = await rejected(uses.count());
    expectKindling(e, 'KINDLING_JOB_FAILED');
    expect((e as JobFailedError).causes[0]).toMatchObject({
      code: 'KINDLING_ILLEGAL_STATE',
      message: expect.stringMatching(/broadcast \d+ was destroyed/),
    });
  });

  it('reduce of an empty RDD is KINDLING_EMPTY_COLLECTION', async () => {
    expectKindling(await rejected(sc.emptyRDD<number>().reduce((a, b) => a + b)), 'KINDLING_EMPTY_COLLECTION');
  });

  it('a missing input file is KINDLING_INPUT_PATH; a refused output path, KINDLING_OUTPUT_PATH', async () => {
    const missing = path.join(dir, 'no-such-file.txt');
    const input = await rejected(Promise.resolve().then(() => sc.textFile(missing).count()));
    expectKindling(input, 'KINDLING_INPUT_PATH');
    expect((input as Error).message).toContain(missing);
    expectKindling(await rejected(sc.range(3).saveAsTextFile('')), 'KINDLING_OUTPUT_PATH');
  });

  it('a stopped context is KINDLING_CONTEXT_STOPPED', async () => {
    const local = new Context({ master: 'local', progress: false });
    await local.stop();
    expectKindling(await rejected(local.range(3).count()), 'KINDLING_CONTEXT_STOPPED');
  });

  it("a failed job is KINDLING_JOB_FAILED, and each cause keeps the code of the worker's error", async () => {
    const notIterable = await rejected(
      sc
        .range(2, undefined, 1, 1)
        .flatMap((x) => x as never)
        .count(),
    );
    expectKindling(notIterable, 'KINDLING_JOB_FAILED');
    const causes = (notIterable as JobFailedError).causes;
    expect(causes.length).toBeGreaterThan(0);
    for (const c of causes) expect(c).toMatchObject({ name: 'InvalidDataError', code: 'KINDLING_INVALID_DATA' });

    // Plain JavaScript can hand non-pairs to pair operations; the cast does what such a program would.
    const numbers = sc.parallelize([1, 2], 1) as unknown as ReturnType<typeof sc.parallelize<[number, number]>>;
    const notPairs = (await rejected(numbers.reduceByKey((a, b) => a + b).count())) as JobFailedError;
    expect(notPairs.causes[0]).toMatchObject({ code: 'KINDLING_NOT_A_PAIR' });
    const mapKeys = (await rejected(
      sc
        .parallelize<[Map<string, number>, number]>([[new Map(), 1]], 1)
        .reduceByKey((a: number, b: number) => a + b)
        .count(),
    )) as JobFailedError;
    expect(mapKeys.causes[0]).toMatchObject({ code: 'KINDLING_INVALID_DATA' });

    // The user's own codes travel too, so `e.causes[0].code === 'ENOENT'` works on a failed read in user code.
    const own = (await rejected(
      sc
        .range(1, undefined, 1, 1)
        .map(() => {
          throw Object.assign(new Error('no quota left'), { code: 'E_QUOTA' });
        })
        .count(),
    )) as JobFailedError;
    expect(own.causes[0]).toMatchObject({ message: 'no quota left', code: 'E_QUOTA' });
  });

  // `String()` of these said "undefined", "null" or "[object Object]": neither what was thrown nor that it was no Error.
  it('a value thrown that is not an Error is named as what it is, with its RDD (and an object its code)', async () => {
    const thrownBy = async (f: (x: number) => unknown) => (await rejected(sc.range(1, undefined, 1, 1).map(f).count())) as JobFailedError;
    const string = await thrownBy(() => {
      throw 'quota';
    });
    expect(string.causes[0]!.message).toBe(
      'the string "quota" was thrown, not an Error (throw an Error instead: it carries a message and the line that threw)',
    );
    expect(string.location?.rddLabel).toMatch(/^RDD \d+ \(map at errors\.test\.ts:\d+\)$/);
    for (const [value, named] of [
      [undefined, 'undefined'],
      [null, 'null'],
      [42, 'the number 42'],
    ] as const) {
      const e = await thrownBy(
        capture({ value }, () => {
          throw value;
        }),
      );
      expect(e.causes[0]!.message).toMatch(new RegExp(`^${named} was thrown, not an Error`));
    }
    const object = await thrownBy(() => {
      throw { code: 'E_QUOTA', left: 0 };
    });
    expect(object.causes[0]).toMatchObject({
      message: expect.stringMatching(/^the object \{"code":"E_QUOTA","left":0\} was thrown, not an Error/),
      code: 'E_QUOTA',
    });
    expect(object.location?.rddLabel).toMatch(/^RDD \d+ \(map at errors\.test\.ts:\d+\)$/);
  });

  it('a cancelled action is KINDLING_ABORTED, before its job starts and while it runs', async () => {
    // AbortError, UiError and StreamingJobError carried the base class's KINDLING_ERROR, which no error kindling
    // throws is documented to use.
    expectKindling(await rejected(sc.range(4).count({ signal: AbortSignal.abort() })), 'KINDLING_ABORTED');
    const ac = new AbortController();
    const running = sc
      .range(4, undefined, 1, 2)
      .map((x) => {
        const t = Date.now();
        while (Date.now() - t < 200);
        return x;
      })
      .count({ signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expectKindling(await rejected(running), 'KINDLING_ABORTED');
    expect(await sc.range(4).count()).toBe(4);
  });

  it("errors that are not kindling's are not KindlingErrors, even RangeErrors", () => {
    expect(new RangeError('x')).not.toBeInstanceOf(KindlingError);
    expect(new Error('x')).not.toBeInstanceOf(KindlingError);
    expect(Object.assign(new Error('x'), { code: 'KINDLING_ERROR' })).not.toBeInstanceOf(KindlingError);
  });
});

describe('the rule, kept', () => {
  const srcFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? srcFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : [],
    );

  it('every plain Error/TypeError/RangeError thrown in src/ is marked: an internal invariant, or code that ships as source', () => {
    const unmarked: string[] = [];
    let marked = 0;
    for (const file of srcFiles(path.join(root, 'src'))) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!/throw new (Error|TypeError|RangeError)\(/.test(line)) return;
        // `shipped:` marks functions that run in workers as their own source text, where no module binding (so no
        // KindlingError class) exists; what they throw reaches the user as a cause of the job's JobFailedError.
        const mark = (s: string) => /\/\/ (internal|shipped):/.test(s);
        if (mark(line) || /^\/\/ (internal|shipped):/.test((lines[i - 1] ?? '').trim())) marked++;
        else unmarked.push(`${path.relative(root, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(
      unmarked,
      'user-facing errors must be KindlingError subclasses; mark true invariants with // internal: why, shipped code with // shipped: why',
    ).toEqual([]);
    expect(marked).toBeGreaterThan(0);
  });

  it('every KindlingError subclass in src/ has a code of its own, or extends one that has', () => {
    // A class without one answers KINDLING_ERROR, which the docs say no error kindling throws uses.
    const classes = new Map<string, { parent: string; coded: boolean; where: string }>();
    for (const file of srcFiles(path.join(root, 'src'))) {
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/export class (\w+) extends (\w+) \{([\s\S]*?)\n\}/g)) {
        classes.set(m[1]!, { parent: m[2]!, coded: /readonly code: KindlingErrorCode = 'KINDLING_/.test(m[3]!), where: path.relative(root, file) });
      }
    }
    const coded = (name: string): boolean => {
      const c = classes.get(name);
      // The base class's own KINDLING_ERROR does not count: it is the code of no error kindling throws.
      return c !== undefined && name !== 'KindlingError' && (c.coded || coded(c.parent));
    };
    const kindling = (name: string): boolean => name === 'KindlingError' || (classes.has(name) && kindling(classes.get(name)!.parent));
    const uncoded = [...classes]
      .filter(([name, c]) => name !== 'KindlingError' && kindling(c.parent) && !coded(name))
      .map(([n, c]) => `${n} (${c.where})`);
    expect(classes.size).toBeGreaterThan(10);
    expect(uncoded).toEqual([]);
  });

  it('every code in KindlingErrorCode is documented in docs/errors.md, and the docs list no other', () => {
    const source = readFileSync(path.join(root, 'src/core/errors.ts'), 'utf8');
    const union = /export type KindlingErrorCode =([^;]*);/.exec(source)![1]!;
    const codes = [...union.matchAll(/'(KINDLING_[A-Z_]+)'/g)].map((m) => m[1]).sort();
    const docs = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    const documented = [...new Set([...docs.matchAll(/`(KINDLING_[A-Z_]+)`/g)].map((m) => m[1]))].sort();
    expect(codes.length).toBeGreaterThan(10);
    expect(documented).toEqual(codes);
  });
});
