import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputPathError } from '../../src/core/errors.js';
import {
  inputSpecRoots,
  isHiddenFileName,
  listInputFiles,
  listInputFilesSync,
  splitInputSpec,
  type InputListingOptions,
} from '../../src/io/input-files.js';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-list-'));
const p = (...parts: string[]): string => path.join(root, ...parts);

beforeAll(() => {
  const dirs = ['data/_tmpdir', 'data/.git', 'tree/sub/deeper', 'tree/_tmpdir', 'logs/2024/jan', 'logs/2023', 'empty'];
  for (const d of dirs) mkdirSync(p(d), { recursive: true });
  const files = [
    'data/a.txt',
    'data/b.txt',
    'data/c.csv',
    'data/_SUCCESS',
    'data/.hidden.txt',
    'data/_tmp.txt',
    'data/_tmpdir/x.txt',
    'data/.git/config',
    'tree/top.txt',
    'tree/sub/deep.txt',
    'tree/sub/_hidden.txt',
    'tree/sub/deeper/deepest.txt',
    'tree/_tmpdir/x.txt',
    'logs/2024/jan/2024-01-01.log',
    'logs/2024/2024-02-01.log',
    'logs/2023/2023-12-31.log',
    'logs/2024/_2024-x.log',
    'single.txt',
    '_explicit.txt',
  ];
  for (const f of files) writeFileSync(p(f), `${f}\n`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The sync entry point is wrapped in a promise so one set of cases proves both follow the same rules.
describe.each([
  { name: 'listInputFiles', list: listInputFiles },
  { name: 'listInputFilesSync', list: async (spec: string, options?: InputListingOptions) => listInputFilesSync(spec, options) },
])('$name', ({ list }) => {
  it('returns a single file as its absolute path', async () => {
    expect(await list(p('single.txt'))).toEqual([p('single.txt')]);
  });

  it("reads Spark's file:// URIs (file:///x and Hadoop's file:/x) as local paths; refuses other schemes naming them", async () => {
    // Before, file:///data/a.txt was taken for a relative path: "Input path does not exist: /cwd/file:/data/a.txt".
    expect(await list(`file://${p('data/a.txt')}`)).toEqual([p('data/a.txt')]);
    expect(await list(`file:${p('data/a.txt')}`)).toEqual([p('data/a.txt')]);
    expect(await list(`file://localhost${p('data')}/*.txt,file://${p('data/c.csv')}`)).toEqual([p('data/a.txt'), p('data/b.txt'), p('data/c.csv')]);
    expect(inputSpecRoots(`file://${p('data')}`)).toEqual([{ path: p('data'), glob: false }]);
    await expect(list('hdfs://namenode:8020/data/a.txt')).rejects.toThrow(
      /^input path: hdfs:\/\/namenode:8020\/data\/a.txt names a hdfs:\/\/ filesystem/,
    );
    await expect(list('s3a://bucket/key')).rejects.toBeInstanceOf(InputPathError);
    // A file URI with a host names another machine's file, not /data/a.txt here.
    await expect(list('file://otherhost/data/a.txt')).rejects.toThrow(/file:\/\/otherhost\/data\/a.txt names a file on another host/);
  });

  it('resolves relative paths against the working directory', async () => {
    const rel = path.relative(process.cwd(), p('single.txt'));
    expect(await list(rel)).toEqual([p('single.txt')]);
  });

  it('lists the direct files of a directory, skipping hidden and underscore files and directories', async () => {
    expect(await list(p('data'))).toEqual([p('data/a.txt'), p('data/b.txt'), p('data/c.csv')]);
  });

  it('fails on a visible subdirectory of an input directory, naming it ("Not a file", as Hadoop)', async () => {
    const err = await list(p('tree')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputPathError);
    expect((err as InputPathError).path).toBe(p('tree/sub'));
    expect((err as Error).message).toMatch(new RegExp(`^Not a file: ${p('tree/sub')}\\. .*Pass \\{ recursive: true \\}`));
  });

  it('with recursive, lists the files at every depth, still skipping hidden files and directories', async () => {
    expect(await list(p('tree'), { recursive: true })).toEqual([p('tree/sub/deep.txt'), p('tree/sub/deeper/deepest.txt'), p('tree/top.txt')]);
    expect(await list(p('data'), { recursive: true })).toEqual([p('data/a.txt'), p('data/b.txt'), p('data/c.csv')]);
  });

  it('gives no files for an empty directory', async () => {
    expect(await list(p('empty'))).toEqual([]);
  });

  it('expands globs, including ** and brace alternatives, skipping hidden names', async () => {
    expect(await list(p('data/*.txt'))).toEqual([p('data/a.txt'), p('data/b.txt')]);
    expect(await list(p('logs/**/2024-*.log'))).toEqual([p('logs/2024/2024-02-01.log'), p('logs/2024/jan/2024-01-01.log')]);
    expect(await list(p('data/{a,c}.*'))).toEqual([p('data/a.txt'), p('data/c.csv')]);
  });

  it("matches hidden folders with a wildcard before the last part, as Hadoop's globs do (its filter reads the last name only)", async () => {
    expect(await list(p('data/*/x.txt'))).toEqual([p('data/_tmpdir/x.txt')]);
    expect(await list(p('data/*/config'))).toEqual([p('data/.git/config')]);
    expect(await list(p('data/?git/*'))).toEqual([p('data/.git/config')]);
    // The last part's hidden names stay skipped, files and folders alike.
    expect(await list(p('data/*'))).toEqual([p('data/a.txt'), p('data/b.txt'), p('data/c.csv')]);
  });

  it('skips hidden folders that ** walks into, as a recursive listing does, unless the pattern names them', async () => {
    expect(await list(p('tree/**/*.txt'))).toEqual([p('tree/sub/deep.txt'), p('tree/sub/deeper/deepest.txt'), p('tree/top.txt')]);
    expect(await list(p('data/**/*'))).toEqual([p('data/a.txt'), p('data/b.txt'), p('data/c.csv')]);
    expect(await list(p('tree/**/_tmpdir/x.txt'))).toEqual([p('tree/_tmpdir/x.txt')]);
  });

  it('expands a directory matched by a glob to its files, by the same rule for subdirectories', async () => {
    expect(await list(p('logs/2023*'))).toEqual([p('logs/2023/2023-12-31.log')]);
    await expect(list(p('logs/202*'))).rejects.toThrow(`Not a file: ${p('logs/2024/jan')}.`);
    expect(await list(p('logs/202*'), { recursive: true })).toEqual([
      p('logs/2023/2023-12-31.log'),
      p('logs/2024/2024-02-01.log'),
      p('logs/2024/jan/2024-01-01.log'),
    ]);
  });

  it('merges a comma-separated list, sorted and deduplicated', async () => {
    const spec = [p('single.txt'), p('data'), p('data/a.txt'), ` ${p('data/*.csv')} `].join(',');
    expect(await list(spec)).toEqual([p('data/a.txt'), p('data/b.txt'), p('data/c.csv'), p('single.txt')]);
  });

  it('keeps a hidden-looking file that is named explicitly', async () => {
    expect(await list(p('_explicit.txt'))).toEqual([p('_explicit.txt')]);
  });

  it('names every missing path and empty glob in one error', async () => {
    const missing = p('nope.txt');
    const emptyGlob = p('data/*.parquet');
    const err = await list(`${missing},${p('single.txt')},${emptyGlob}`).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain(`Input path does not exist: ${missing}`);
    expect(message).toContain(`Input pattern matches 0 files: ${emptyGlob}`);
    expect(message).toContain('Check the spelling');
  });

  it('rejects an empty spec with a hint', async () => {
    await expect(list(' , ')).rejects.toThrow(/Input path is empty.*glob/);
  });
});

describe('listInputFilesSync', () => {
  it('returns the list directly, not a promise', () => {
    expect(listInputFilesSync(p('data/*.txt'))).toEqual([p('data/a.txt'), p('data/b.txt')]);
  });

  it('throws synchronously', () => {
    expect(() => listInputFilesSync(p('nope.txt'))).toThrow(`Input path does not exist: ${p('nope.txt')}`);
    expect(() => listInputFilesSync('')).toThrow(/Input path is empty/);
  });
});

describe("backslash escapes, as in Hadoop's GlobPattern", () => {
  beforeAll(() => {
    mkdirSync(p('odd/e[2]'), { recursive: true });
    for (const f of ['odd/x[1].txt', 'odd/x1.txt', 'odd/star*.txt', 'odd/starry.txt', 'odd/e[2]/f.txt']) writeFileSync(p(f), 'x\n');
  });

  it('reads a pattern whose glob characters are all escaped as the one path it names', () => {
    expect(listInputFilesSync(p('odd/x\\[1\\].txt'))).toEqual([p('odd/x[1].txt')]);
    expect(listInputFilesSync(p('odd/star\\*.txt'))).toEqual([p('odd/star*.txt')]);
    expect(listInputFilesSync(p('odd/e\\[2\\]'))).toEqual([p('odd/e[2]/f.txt')]);
    expect(inputSpecRoots(p('odd/x\\[1\\].txt'))).toEqual([{ path: p('odd/x[1].txt'), glob: false }]);
  });

  it('keeps escaped characters literal inside a pattern with wildcards', () => {
    expect(listInputFilesSync(p('odd/e\\[2\\]/*.txt'))).toEqual([p('odd/e[2]/f.txt')]);
    expect(listInputFilesSync(p('odd/star\\*.*'))).toEqual([p('odd/star*.txt')]);
  });

  it('names the unescaped path when it does not exist', () => {
    expect(() => listInputFilesSync(p('odd/y\\[1\\].txt'))).toThrow(`Input path does not exist: ${p('odd/y[1].txt')}`);
  });
});

describe("characters Hadoop's GlobPattern takes literally: ( ) | + @ !", () => {
  const names = ['report (final).txt', 'c+(d).txt', '@(x).txt', '!(y).txt', 'a|b.txt', 'plain.txt'];
  beforeAll(() => {
    mkdirSync(p('named/run (copy)'), { recursive: true });
    for (const f of names) writeFileSync(p('named/run (copy)', f), 'x\n');
  });

  // Found by test/io/random-files.test.ts: tinyglobby read them as extglobs and groups, so a glob through a folder
  // named `run (copy)` matched no file ("Input pattern matches 0 files"), and `!(y)*` every name but one.
  it('matches a folder or file name holding them, as Hadoop does', () => {
    const all = names.map((f) => p('named/run (copy)', f)).sort();
    expect(listInputFilesSync(p('named/run (copy)/*.txt'))).toEqual(all);
    expect(listInputFilesSync(p('named/run*/report (final)*'))).toEqual([p('named/run (copy)/report (final).txt')]);
    expect(listInputFilesSync(p('named/*/c+(d)*'))).toEqual([p('named/run (copy)/c+(d).txt')]);
    expect(listInputFilesSync(p('named/*/@(x)*'))).toEqual([p('named/run (copy)/@(x).txt')]);
    expect(listInputFilesSync(p('named/*/!(y)*'))).toEqual([p('named/run (copy)/!(y).txt')]);
    expect(listInputFilesSync(p('named/*/a|b*'))).toEqual([p('named/run (copy)/a|b.txt')]);
    expect(inputSpecRoots(p('named/run (copy)/*.txt'))).toEqual([{ path: p('named/run (copy)'), glob: true }]);
  });

  it('keeps [!...] a negated class, and names a missing path holding them as missing, not as an empty pattern', () => {
    expect(listInputFilesSync(p('named/run (copy)/[!@!ac]*.txt'))).toEqual([
      p('named/run (copy)/plain.txt'),
      p('named/run (copy)/report (final).txt'),
    ]);
    expect(() => listInputFilesSync(p('named/data (1).txt'))).toThrow(`Input path does not exist: ${p('named/data (1).txt')}`);
  });
});

describe('inputSpecRoots', () => {
  it('gives each entry as a literal path, or a glob as its literal leading directory', () => {
    expect(inputSpecRoots(`${p('single.txt')},${p('logs/*/2024-*.log')}`)).toEqual([
      { path: p('single.txt'), glob: false },
      { path: p('logs'), glob: true },
    ]);
  });
});

describe('splitInputSpec and isHiddenFileName', () => {
  it('splits on commas outside braces only', () => {
    expect(splitInputSpec('a,b/{x,y}/*.txt, c ')).toEqual(['a', 'b/{x,y}/*.txt', 'c']);
  });

  it('treats _ and . prefixes as hidden', () => {
    expect(['_SUCCESS', '.crc', 'part-00000'].map(isHiddenFileName)).toEqual([true, true, false]);
  });
});

describe('symbolic links whose target is missing', () => {
  // An input folder of links to data elsewhere (an unmounted disk, a moved file): reading it without the missing
  // file would give a result short of data with no error, so the listing fails naming the link and its target, as
  // Hadoop's listStatus fails with FileNotFoundException. Hidden names stay skipped (an editor's `.#file` lock is
  // such a link).
  const dir = p('links');
  beforeAll(() => {
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'real.txt'), 'x\n');
    symlinkSync(p('single.txt'), path.join(dir, 'good.txt'));
    symlinkSync(p('gone', 'part-0.txt'), path.join(dir, 'broken.txt'));
    symlinkSync(p('gone', 'lock'), path.join(dir, '.#real.txt'));
  });

  it('fails a directory listing, naming the link and its target', () => {
    const err = (() => {
      try {
        return listInputFilesSync(dir);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(InputPathError);
    expect((err as Error).message).toContain(
      `${path.join(dir, 'broken.txt')} is a symbolic link to ${p('gone', 'part-0.txt')}, which does not exist`,
    );
    expect((err as Error).message).not.toContain('.#real.txt');
  });

  it('fails a directory matched by a glob, and names a link given by name', () => {
    expect(() => listInputFilesSync(path.join(root, 'lin*'))).toThrow(/broken\.txt is a symbolic link to .*part-0\.txt, which does not exist/);
    expect(() => listInputFilesSync(path.join(dir, 'broken.txt'))).toThrow(/Input path does not exist: .*broken\.txt \(.*is a symbolic link to/);
  });

  it('follows a link whose target exists', () => {
    expect(listInputFilesSync(`${path.join(dir, 'good.txt')},${path.join(dir, 'real.txt')}`)).toEqual([
      path.join(dir, 'good.txt'),
      path.join(dir, 'real.txt'),
    ]);
  });
});
