/**
 * The RDD API a Spark user reaches for, run over real files of this machine (/usr/share/doc, /usr/include,
 * /usr/lib/python3*, /etc, /var/lib/dpkg/status, node_modules) and over edge-case files made here (empty, no final
 * newline, CRLF, a lone CR, a BOM, .gz, a 3 MB line, binary bytes, a subdirectory, hidden names), each result held
 * against a plain JavaScript computation of the same bytes and against what Spark's documentation and source say the
 * operation returns. Prints one line per group (comparisons, mismatches, milliseconds) and every mismatch; exits 1 on
 * any.
 *
 *   npx tsx bench/real-data-check.ts [path/to/dist/index.js] [--only readers,pairs,...] [--master local[2]] [--engine mapreduce]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync, gunzipSync } from 'node:zlib';

type Kindling = typeof import('kindling');
type RDD<T> = import('kindling').RDD<T>;

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const distArg = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
const k: Kindling = distArg ? await import(pathToFileURL(resolve(distArg)).href) : await import('kindling');
const { Context, capture } = k;
const only = flag('--only')?.split(',');
const master = flag('--master') ?? 'local[2]';
const engine = (flag('--engine') ?? 'memory') as 'memory' | 'mapreduce';

// ---------------------------------------------------------------- plain programs (no kindling)

/** Hadoop's LineRecordReader over a whole file: lines end at \n, \r\n or a lone \r; a leading UTF-8 BOM dropped. */
function hadoopLines(bytes: Buffer): string[] {
  let start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const out: string[] = [];
  for (let i = start; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 10 || c === 13) {
      out.push(bytes.toString('utf8', start, i));
      if (c === 13 && bytes[i + 1] === 10) i++;
      start = i + 1;
    }
  }
  if (start < bytes.length) out.push(bytes.toString('utf8', start));
  return out;
}

// Hadoop reads the length the listing gave: a procfs file behind a link (/etc/mtab) lists 0 bytes, so it is no lines.
const readSized = (f: string): Buffer => readFileSync(f).subarray(0, statSync(f).size);
const readText = (f: string): Buffer => (f.toLowerCase().endsWith('.gz') ? gunzipSync(readFileSync(f)) : readSized(f));
/** Strings by UTF-16 code unit, as Scala's String.compareTo and kindling's documented order. */
/** How many splits Hadoop's (mapred) FileInputFormat.getSplits makes, empty ones dropped (Spark 3.2+). */
function hadoopSplitCount(files: readonly string[], minPartitions: number): number {
  const sizes = files.map((f) => statSync(f).size);
  const goal = Math.floor(sizes.reduce((a, b) => a + b, 0) / Math.max(1, minPartitions));
  const splitSize = Math.max(1, Math.min(goal, 32 * 1024 * 1024));
  let n = 0;
  files.forEach((f, i) => {
    let left = sizes[i]!;
    if (left === 0) return;
    if (/\.(gz|deflate|bz2|br)$/i.test(f)) {
      n++;
      return;
    }
    while (left / splitSize > 1.1) {
      n++;
      left -= splitSize;
    }
    if (left !== 0) n++;
  });
  return n;
}
const cmp = (a: unknown, b: unknown): number => (a! < b! ? -1 : a! > b! ? 1 : 0);
const words = (l: string): string[] => l.split(/\s+/).filter((w) => w.length > 0);
const countBy = <T>(xs: Iterable<T>, key: (x: T) => string = String): Map<string, number> => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
};
const sortedJson = (xs: readonly unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();

/** Regular readable files below `dir` matching `keep`, sorted; hidden names are kept (the plain side decides). */
function walk(dir: string, keep: (f: string) => boolean, limit = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  const pending = [dir];
  while (pending.length > 0 && out.length < limit) {
    const d = pending.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const f = join(d, n);
      let s: ReturnType<typeof statSync>;
      try {
        s = statSync(f);
      } catch {
        continue;
      }
      if (s.isDirectory()) pending.push(f);
      else if (s.isFile() && keep(f)) {
        try {
          readFileSync(f, { flag: 'r' }).subarray(0, 1);
          out.push(f);
        } catch {
          // unreadable: left out of both sides
        }
      }
    }
  }
  return out.sort();
}

// ---------------------------------------------------------------- the comparison ledger

let comparisons = 0;
const mismatches: string[] = [];
let groupComparisons = 0;
let groupMismatches = 0;
function same(what: string, got: unknown, want: unknown): boolean {
  comparisons++;
  groupComparisons++;
  const g = JSON.stringify(got, jsonSafe);
  const w = JSON.stringify(want, jsonSafe);
  if (g === w) return true;
  groupMismatches++;
  mismatches.push(`${what}\n    got:  ${g.slice(0, 400)}\n    want: ${w.slice(0, 400)}`);
  console.log(`MISMATCH ${mismatches.at(-1)}`);
  return false;
}
function near(what: string, got: number, want: number, rel = 1e-9): boolean {
  const ok = Object.is(got, want) || Math.abs(got - want) <= rel * Math.max(1, Math.abs(want));
  return same(what, ok ? want : got, want);
}
function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Map) return { map: [...v.entries()] };
  if (v instanceof Set) return { set: [...v] };
  return v;
}
async function rejects(what: string, run: () => Promise<unknown>, want: RegExp): Promise<void> {
  try {
    const v = await run();
    same(`${what} (should fail)`, { resolved: v }, { rejectsWith: String(want) });
  } catch (e) {
    const text = `${(e as Error).name}: ${(e as Error).message} ${(e as { causes?: Error[] }).causes?.map((c) => `${c.name}: ${c.message}`).join(' ') ?? ''}`;
    same(`${what} error`, want.test(text) ? String(want) : text.slice(0, 300), String(want));
  }
}

const timings: string[] = [];
async function group(name: string, body: () => Promise<void>): Promise<void> {
  if (only && !only.includes(name)) return;
  groupComparisons = 0;
  groupMismatches = 0;
  const t0 = performance.now();
  try {
    await body();
  } catch (e) {
    groupMismatches++;
    mismatches.push(`${name}: threw ${(e as Error).stack ?? e}`);
    console.log(`MISMATCH ${mismatches.at(-1)}`);
  }
  const ms = performance.now() - t0;
  const line = `${name.padEnd(12)} ${String(groupComparisons).padStart(5)} comparisons ${String(groupMismatches).padStart(3)} mismatches ${ms.toFixed(0).padStart(7)} ms`;
  timings.push(line);
  console.log(line);
}

// ---------------------------------------------------------------- data

const tmp = mkdtempSync(join(tmpdir(), 'kindling-realcheck-'));
const sc = new Context({ master, engine, progress: false, ui: false, hints: false, appName: 'real-data-check' });

const sets = {
  copyright: walk('/usr/share/doc', (f) => f.endsWith('/copyright')),
  changelogs: walk('/usr/share/doc', (f) => f.endsWith('changelog.Debian.gz')),
  headers: walk('/usr/include', (f) => f.endsWith('.h'), 1500),
  python: walk('/usr/lib/python3.11', (f) => f.endsWith('.py') && !f.includes('/test/'), 600),
  etc: walk('/etc', () => true),
  nodeJson: walk(resolve('node_modules'), (f) => f.endsWith('/package.json'), 1500),
  nodeMd: walk(resolve('node_modules'), (f) => f.endsWith('.md'), 800),
};

console.log(
  `files: ${Object.entries(sets)
    .map(([n, fs]) => `${n} ${fs.length}`)
    .join(', ')}`,
);

// Edge-case files, written once: each is a shape real data comes in.
const edge = join(tmp, 'edge');
mkdirSync(edge);
const long = 'x'.repeat(3_000_000);
const binary = readFileSync(process.execPath).subarray(0, 300_000);
const edgeFiles: Record<string, Buffer> = {
  'empty.txt': Buffer.alloc(0),
  'no-final-newline.txt': Buffer.from('alpha\nbeta\ngamma'),
  'crlf.txt': Buffer.from('one\r\ntwo\r\n\r\nthree\r\n'),
  'lone-cr.txt': Buffer.from('mac\rclassic\r\rends'),
  'bom.txt': Buffer.from('\ufeffbom first\nsecond\n'),
  'bom-only.txt': Buffer.from('\ufeff'),
  'bom-newline.txt': Buffer.from('\ufeff\n'),
  'newlines-only.txt': Buffer.from('\n\n\n'),
  'unicode.txt': Buffer.from('naïve café\n日本語のテキスト\n😀 emoji line\n\u2028 separator inside\n'),
  'long-line.txt': Buffer.from(`short\n${long}\nafter\n`),
  'binary.bin': binary,
  'gz-text.txt.gz': gzipSync(Buffer.from('zipped one\nzipped two\r\nzipped three')),
  'UPPER.GZ': gzipSync(Buffer.from('upper case extension\n')),
};
for (const [n, b] of Object.entries(edgeFiles)) writeFileSync(join(edge, n), b);
writeFileSync(join(edge, '_hidden.txt'), 'never read\n');
writeFileSync(join(edge, '.dot-hidden.txt'), 'never read\n');
const edgeVisible = Object.keys(edgeFiles)
  .map((n) => join(edge, n))
  .sort();

// ---------------------------------------------------------------- groups

await group('readers', async () => {
  // Real sets, each through the path form a user would write.
  const forms: [string, string, string[]][] = [
    ['copyright (comma list)', sets.copyright.join(','), sets.copyright],
    ['changelogs (glob, .gz)', '/usr/share/doc/*/changelog.Debian.gz', sets.changelogs],
    ['common-licenses (directory)', '/usr/share/common-licenses', walk('/usr/share/common-licenses', () => true)],
    ['dpkg status (one file)', '/var/lib/dpkg/status', ['/var/lib/dpkg/status']],
    ['headers (comma list)', sets.headers.join(','), sets.headers],
    ['python (comma list)', sets.python.join(','), sets.python],
    ['etc (comma list)', sets.etc.join(','), sets.etc],
    ['node_modules package.json', sets.nodeJson.join(','), sets.nodeJson],
    ['node_modules *.md', sets.nodeMd.join(','), sets.nodeMd],
    ['copyright (glob /*/)', '/usr/share/doc/*/copyright', sets.copyright.filter((f) => f.split('/').length === 6)],
    ['copyright (glob /**/)', '/usr/share/doc/**/copyright', sets.copyright],
    ['edge directory', edge, edgeVisible],
    ['edge glob *.txt', `${edge}/*.txt`, edgeVisible.filter((f) => f.endsWith('.txt'))],
    ['edge brace glob', `${edge}/{crlf,bom}.txt`, [join(edge, 'bom.txt'), join(edge, 'crlf.txt')]],
  ];
  for (const [name, path, files] of forms) {
    const want = files.flatMap((f) => hadoopLines(readText(f)));
    const rdd = sc.textFile(path);
    const got = await rdd.collect();
    same(`textFile ${name}: line count`, got.length, want.length);
    // Spark gives the lines of each file in order, files in listing order; compare per file as a multiset of
    // lines and the whole as a sorted list (listing order is the filesystem's in Hadoop).
    const gs = [...got].sort(cmp);
    const ws = [...want].sort(cmp);
    same(`textFile ${name}: lines equal as a multiset`, gs.length === ws.length && gs.every((l, i) => l === ws[i]), true);
    same(`textFile ${name}: collect order is the sorted file order`, got.join('\n') === want.join('\n'), true);
    same(`textFile ${name}: count()`, await rdd.count(), want.length);
    same(`textFile ${name}: partitions as Hadoop's getSplits`, rdd.getNumPartitions(), hadoopSplitCount(files, sc.defaultMinPartitions));
    same(`textFile ${name}, 7: partitions as Hadoop's getSplits`, sc.textFile(path, 7).getNumPartitions(), hadoopSplitCount(files, 7));
  }

  // minPartitions: Hadoop cuts one file into about that many splits, a line belonging to the split it starts in.
  const cutFiles = [
    '/var/lib/dpkg/status',
    join(edge, 'crlf.txt'),
    join(edge, 'lone-cr.txt'),
    join(edge, 'bom.txt'),
    join(edge, 'unicode.txt'),
    join(edge, 'long-line.txt'),
    join(edge, 'binary.bin'),
    join(edge, 'no-final-newline.txt'),
    join(edge, 'newlines-only.txt'),
    join(edge, 'bom-newline.txt'),
    sets.python[0]!,
  ];
  for (const f of cutFiles) {
    const want = hadoopLines(readFileSync(f));
    const size = statSync(f).size;
    for (const m of [1, 2, 3, 7, 64, Math.max(1, Math.min(size, 4000))]) {
      const rdd = sc.textFile(f, m);
      const got = await rdd.collect();
      if (!same(`textFile(${f}, ${m}) lines in order`, got.length === want.length && got.every((l, i) => l === want[i]), true)) {
        same(`  ... count`, got.length, want.length);
      }
      // Hadoop: splits of goal size total/minPartitions, so at least minPartitions when the file has that many bytes.
      if (size >= m) same(`textFile(${f}, ${m}) partitions >= minPartitions`, rdd.getNumPartitions() >= m, true);
    }
  }
  // A .gz is not splittable: one partition whatever minPartitions says.
  same('textFile(.gz, 8) is one partition', sc.textFile(join(edge, 'gz-text.txt.gz'), 8).getNumPartitions(), 1);
  same('textFile(.GZ) decoded', await sc.textFile(join(edge, 'UPPER.GZ')).collect(), ['upper case extension']);
  // Empty files give no partitions (Spark 3.2+ ignoreEmptySplits) and no lines.
  same('textFile(empty file) count', await sc.textFile(join(edge, 'empty.txt')).count(), 0);
  same('textFile(BOM only) count', await sc.textFile(join(edge, 'bom-only.txt')).count(), 0);

  // wholeTextFiles: [path, whole text]; BOM kept (Spark's decodes bytes as they are); a .gz decompressed
  // (WholeTextFileRecordReader uses the codec factory).
  const whole = await sc.wholeTextFiles(edge).collect();
  same('wholeTextFiles(dir) paths', whole.map(([p]) => p).sort(), edgeVisible);
  for (const [p, text] of whole) same(`wholeTextFiles ${p} text`, text, readText(p).toString('utf8'));
  const wholeDoc = await sc.wholeTextFiles('/usr/share/common-licenses', 3).collect();
  same(
    'wholeTextFiles(common-licenses) texts',
    wholeDoc.map(([p, t]) => `${p}:${t.length}`).sort(),
    walk('/usr/share/common-licenses', () => true)
      .map((p) => `${p}:${readFileSync(p, 'utf8').length}`)
      .sort(),
  );

  // Errors Spark raises: a missing path, a glob matching nothing, a subdirectory of an input directory.
  const withSub = join(tmp, 'with-sub');
  mkdirSync(join(withSub, 'sub'), { recursive: true });
  writeFileSync(join(withSub, 'a.txt'), 'top\n');
  writeFileSync(join(withSub, 'sub', 'b.txt'), 'below\n');
  await rejects('textFile(missing path).count()', () => sc.textFile(join(tmp, 'nope')).count(), /not exist|No such|missing|InputPath/i);
  await rejects('textFile(glob matching nothing).count()', () => sc.textFile(join(tmp, 'nope*', '*.txt')).count(), /match|InputPath/i);
  await rejects('textFile(dir with a subdirectory).count()', () => sc.textFile(withSub).count(), /Not a file/);
  same('textFile(dir, recursive) reads below', (await sc.textFile(withSub, { recursive: true }).collect()).sort(), ['below', 'top']);
});

// Words of the copyright files: a real, skewed key set (a few very common words, a long tail).
const copyrightLines = sets.copyright.flatMap((f) => hadoopLines(readFileSync(f)));
const licenseWords = copyrightLines.flatMap(words).slice(0, 150_000);
const headerLines = sets.headers.slice(0, 600).flatMap((f) => hadoopLines(readFileSync(f)));
const headerWords = headerLines.flatMap(words).slice(0, 150_000);

await group('sorting', async () => {
  const lines = sc.textFile(sets.copyright.slice(0, 400).join(',')).cache();
  const sortedLines = sets.copyright
    .slice(0, 400)
    .flatMap((f) => hadoopLines(readFileSync(f)))
    .sort(cmp);
  for (const [asc, n] of [
    [true, undefined],
    [false, undefined],
    [true, 1],
    [true, 7],
    [false, 5],
    [true, 40],
  ] as const) {
    const rdd = lines.sortBy((l) => l, asc, n).cache();
    const got = await rdd.collect();
    const want = asc ? sortedLines : [...sortedLines].reverse();
    same(`sortBy(line, ${asc}, ${n}) order`, got.length === want.length && got.every((l, i) => l === want[i]), true);
    if (n !== undefined) same(`sortBy(line, ${asc}, ${n}) numPartitions`, rdd.getNumPartitions(), n);
    // Range partitioning: every partition sorted, and partition i's keys all before partition i+1's.
    const parts = (await rdd.glom().collect()).filter((p) => p.length > 0);
    let ordered = true;
    for (let i = 0; i + 1 < parts.length; i++) {
      const last = parts[i]![parts[i]!.length - 1]!;
      const first = parts[i + 1]![0]!;
      if (asc ? cmp(last, first) > 0 : cmp(last, first) < 0) ordered = false;
    }
    same(`sortBy(line, ${asc}, ${n}) partitions are ranges`, ordered, true);
    rdd.unpersist();
  }
  // Ties: sortByKey on word lengths (many equal keys), values as a multiset per key.
  const pairs = licenseWords.map((w) => [w.length, w] as [number, string]);
  const byKey = sc.parallelize(pairs, 6).sortByKey(false, 4);
  const got = await byKey.collect();
  same(
    'sortByKey(false, 4) keys non-increasing',
    got.every(([kk], i) => i === 0 || got[i - 1]![0] >= kk),
    true,
  );
  same('sortByKey(false, 4) same pairs', sortedJson(got), sortedJson(pairs));
  // Numbers as numbers (10 after 9), not as strings.
  same(
    'sortBy numbers numerically',
    await sc
      .parallelize([10, 9, 100, -1, 2.5], 3)
      .sortBy((x) => x)
      .collect(),
    [-1, 2.5, 9, 10, 100],
  );
  // Mixed key kinds: Python 3 refuses them; kindling orders them by its documented kind order.
  const mixed = [
    ['b', 1],
    [2, 2],
    [null, 3],
    [true, 4],
    [[1], 5],
    [1n, 6],
    [{ a: 1 }, 7],
    [undefined, 8],
    [new Date(0), 9],
  ] as [unknown, number][];
  same('sortByKey of mixed kinds follows docs order', await sc.parallelize(mixed, 3).sortByKey().values().collect(), [8, 3, 4, 2, 6, 1, 9, 5, 7]);
  // top / takeOrdered, with and without a key function (PySpark's key=).
  const lens = licenseWords.map((w) => w.length);
  const rddW = sc.parallelize(licenseWords, 5);
  same('top(5) of words', await rddW.top(5), [...licenseWords].sort(cmp).reverse().slice(0, 5));
  same('takeOrdered(5) of words', await rddW.takeOrdered(5), [...licenseWords].sort(cmp).slice(0, 5));
  same(
    'top(5, length) lengths',
    (await rddW.top(5, (w) => w.length)).map((w) => w.length),
    [...lens].sort((a, b) => b - a).slice(0, 5),
  );
  same(
    'takeOrdered(5, -length) lengths',
    (await rddW.takeOrdered(5, (w) => -w.length)).map((w) => w.length),
    [...lens].sort((a, b) => b - a).slice(0, 5),
  );
  same('top(0)', await rddW.top(0), []);
  same('takeOrdered(n > count) is all, sorted', await sc.parallelize([3, 1, 2], 2).takeOrdered(10), [1, 2, 3]);
  same('max / min of words', [await rddW.max(), await rddW.min()], [[...licenseWords].sort(cmp).at(-1), [...licenseWords].sort(cmp)[0]]);
  same(
    'max(key) of words',
    (await rddW.max((w) => w.length)).length,
    lens.reduce((a, b) => Math.max(a, b), 0),
  );
});

await group('pairs', async () => {
  const a = sc.parallelize(licenseWords, 6).map((w) => [w, 1] as [string, number]);
  const counts = countBy(licenseWords);
  const reduced = await a.reduceByKey((x, y) => x + y, 5).collectAsMap();
  same('reduceByKey counts', [...reduced.entries()].sort(), [...counts.entries()].sort());
  same('countByValue', [...(await sc.parallelize(licenseWords, 4).countByValue()).entries()].sort(), [...counts.entries()].sort());
  same('countByKey', [...(await a.countByKey()).entries()].sort(), [...counts.entries()].sort());
  same('reduceByKeyLocally', [...(await a.reduceByKeyLocally((x, y) => x + y)).entries()].sort(), [...counts.entries()].sort());
  same('foldByKey(0)', [...(await a.foldByKey(0, (x, y) => x + y, 3).collectAsMap()).entries()].sort(), [...counts.entries()].sort());
  // aggregateByKey: the zero once per key per partition; (sum, count) of word lengths by first letter.
  const byLetter = sc.parallelize(licenseWords, 7).map((w) => [w[0]!, w.length] as [string, number]);
  const agg = await byLetter
    .aggregateByKey(
      [0, 0] as [number, number],
      (acc, v): [number, number] => [acc[0] + v, acc[1] + 1],
      (x, y): [number, number] => [x[0] + y[0], x[1] + y[1]],
    )
    .collectAsMap();
  const plainAgg = new Map<string, [number, number]>();
  for (const w of licenseWords) {
    const p = plainAgg.get(w[0]!) ?? [0, 0];
    plainAgg.set(w[0]!, [p[0] + w.length, p[1] + 1]);
  }
  same('aggregateByKey (sum, count)', [...agg.entries()].sort(), [...plainAgg.entries()].sort());
  // The zero per partition shows in a counting zero: aggregateByKey(1, ...) adds 1 per key per partition it is in.
  const zeroPer = await sc
    .parallelize(
      [
        ['k', 1],
        ['k', 1],
        ['k', 1],
        ['k', 1],
      ] as [string, number][],
      4,
    )
    .aggregateByKey(
      10,
      (acc, v) => acc + v,
      (x, y) => x + y,
    )
    .collect();
  same("aggregateByKey's zero once per key per partition (Spark)", zeroPer, [['k', 44]]);
  const comb = await byLetter
    .combineByKey(
      (v) => [v],
      (c, v) => [...c, v],
      (c1, c2) => [...c1, ...c2],
    )
    .mapValues((vs) => vs.length)
    .collectAsMap();
  same('combineByKey sizes', [...comb.entries()].sort(), [...plainAgg.entries()].map(([kk, [, n]]) => [kk, n]).sort());
  const grouped = await byLetter
    .groupByKey(4)
    .mapValues((vs) => vs.reduce((s, x) => s + x, 0))
    .collectAsMap();
  same('groupByKey sums', [...grouped.entries()].sort(), [...plainAgg.entries()].map(([kk, [s]]) => [kk, s]).sort());

  // Joins on unique keys (word counts of two real corpora) and on repeated keys (a cross product per key).
  const hc = countBy(headerWords);
  const h = sc.parallelize([...hc.entries()], 5);
  const l = sc.parallelize([...counts.entries()], 3);
  const plainJoin = [...counts.entries()].filter(([w]) => hc.has(w)).map(([w, n]) => [w, [n, hc.get(w)]]);
  same('join (unique keys)', sortedJson(await l.join(h, 4).collect()), sortedJson(plainJoin));
  same(
    'leftOuterJoin',
    sortedJson(await l.leftOuterJoin(h).collect()),
    sortedJson([...counts.entries()].map(([w, n]) => [w, [n, hc.get(w) ?? null]])),
  );
  same(
    'rightOuterJoin',
    sortedJson(await l.rightOuterJoin(h).collect()),
    sortedJson([...hc.entries()].map(([w, n]) => [w, [counts.get(w) ?? null, n]])),
  );
  const allKeys = new Set([...counts.keys(), ...hc.keys()]);
  same(
    'fullOuterJoin',
    sortedJson(await l.fullOuterJoin(h, 6).collect()),
    sortedJson([...allKeys].map((w) => [w, [counts.get(w) ?? null, hc.get(w) ?? null]])),
  );
  same('subtractByKey', sortedJson(await l.subtractByKey(h).collect()), sortedJson([...counts.entries()].filter(([w]) => !hc.has(w))));
  const cg = await l.cogroup(h).collect();
  same('cogroup', sortedJson(cg), sortedJson([...allKeys].map((w) => [w, [counts.has(w) ? [counts.get(w)] : [], hc.has(w) ? [hc.get(w)] : []]])));
  // Repeated keys: lines keyed by their length, from two corpora; the join is every pair per key.
  const lx = copyrightLines.slice(0, 400).map((s) => [s.length, s] as [number, string]);
  const ly = headerLines.slice(0, 400).map((s) => [s.length, s] as [number, string]);
  const plainCross: [number, [string, string]][] = [];
  for (const [kx, vx] of lx) for (const [ky, vy] of ly) if (kx === ky) plainCross.push([kx, [vx, vy]]);
  same(
    'join (repeated keys) is the cross product per key',
    sortedJson(await sc.parallelize(lx, 3).join(sc.parallelize(ly, 2)).collect()),
    sortedJson(plainCross),
  );
  // keys / values / lookup.
  same('keys', (await l.keys().collect()).sort(), [...counts.keys()].sort());
  same(
    'values sum',
    (await l.values().collect()).reduce((s, x) => s + x, 0),
    licenseWords.length,
  );
  const word = [...counts.keys()][17]!;
  same('lookup (no partitioner)', await l.lookup(word), [counts.get(word)]);
  const partitioned = l.partitionBy(4);
  same('lookup (partitioned)', await partitioned.lookup(word), [counts.get(word)]);
  same('lookup (missing key)', await partitioned.lookup('\u0000no such word'), []);
  same(
    'lookup (repeated key)',
    (await sc.parallelize(lx, 3).lookup(lx[0]![0])).sort(),
    lx
      .filter(([kk]) => kk === lx[0]![0])
      .map(([, v]) => v)
      .sort(),
  );
});

await group('sets', async () => {
  const x = sc.parallelize(licenseWords.slice(0, 20_000), 4);
  const y = sc.parallelize(headerWords.slice(0, 20_000), 3);
  const xs = new Set(licenseWords.slice(0, 20_000));
  const ys = new Set(headerWords.slice(0, 20_000));
  same('distinct', (await x.distinct().collect()).sort(), [...xs].sort());
  same('distinct(3) partitions', x.distinct(3).getNumPartitions(), 3);
  // Spark: "the output will not contain any duplicate elements, even if the input RDDs did".
  same('intersection (no duplicates)', (await x.intersection(y).collect()).sort(), [...xs].filter((w) => ys.has(w)).sort());
  // subtract keeps the duplicates of the left side that are not in the right.
  same(
    'subtract keeps duplicates',
    (await x.subtract(y).collect()).sort(),
    licenseWords
      .slice(0, 20_000)
      .filter((w) => !ys.has(w))
      .sort(),
  );
  const u = x.union(y);
  same('union keeps duplicates and order', await u.collect(), [...licenseWords.slice(0, 20_000), ...headerWords.slice(0, 20_000)]);
  same('union partitions add', u.getNumPartitions(), 7);
  same('sc.union', await sc.union([x, y, x]).count(), 60_000);
  const small1 = licenseWords.slice(0, 30);
  const small2 = headerWords.slice(0, 40);
  const cart = await sc.parallelize(small1, 3).cartesian(sc.parallelize(small2, 4)).collect();
  same('cartesian', sortedJson(cart), sortedJson(small1.flatMap((p) => small2.map((q) => [p, q]))));
  same('cartesian partitions multiply', sc.parallelize(small1, 3).cartesian(sc.parallelize(small2, 4)).getNumPartitions(), 12);
});

await group('sampling', async () => {
  const n = licenseWords.length;
  const rdd = sc.parallelize(
    licenseWords.map((w, i) => `${i}:${w}`),
    6,
  );
  const universe = new Set(licenseWords.map((w, i) => `${i}:${w}`));
  for (const [rep, num] of [
    [false, 0],
    [false, 25],
    [false, 1000],
    [true, 25],
    [true, 3000],
    [false, n + 10],
  ] as const) {
    const s1 = await rdd.takeSample(rep, num, 42);
    const s2 = await rdd.takeSample(rep, num, 42);
    same(`takeSample(${rep}, ${num}) size`, s1.length, rep ? num : Math.min(num, n));
    same(`takeSample(${rep}, ${num}, seed) is deterministic`, s1, s2);
    same(
      `takeSample(${rep}, ${num}) elements come from the RDD`,
      s1.every((e) => universe.has(e)),
      true,
    );
    if (!rep) same(`takeSample(false, ${num}) has no repeats`, new Set(s1).size, s1.length);
  }
  same('takeSample on empty', await sc.emptyRDD<number>().takeSample(false, 5, 1), []);
  for (const [rep, frac] of [
    [false, 0.1],
    [false, 0.5],
    [true, 0.3],
    [true, 2],
  ] as const) {
    const s1 = await rdd.sample(rep, frac, 7).collect();
    const s2 = await rdd.sample(rep, frac, 7).collect();
    same(`sample(${rep}, ${frac}, seed) is deterministic`, s1, s2);
    // Within 6 standard deviations of fraction x n (binomial / Poisson).
    const sd = Math.sqrt(n * frac * (rep ? 1 : 1 - frac));
    same(`sample(${rep}, ${frac}) size near fraction x n`, Math.abs(s1.length - frac * n) <= 6 * sd + 1, true);
    if (!rep) same(`sample(false, ${frac}) no repeats`, new Set(s1).size, s1.length);
    // Order preserved: a sample is a subsequence of the partition order.
    const idx = s1.map((e) => Number(e.slice(0, e.indexOf(':'))));
    same(
      `sample(${rep}, ${frac}) keeps order`,
      idx.every((v, i) => i === 0 || idx[i - 1]! <= v),
      true,
    );
  }
  same('sample(false, 0)', await rdd.sample(false, 0, 1).count(), 0);
  same('sample(false, 1) is all', await rdd.sample(false, 1, 1).count(), n);
  const split = rdd.randomSplit([1, 2, 3], 11);
  const sizes = await Promise.all(split.map((r) => r.count()));
  same(
    'randomSplit covers each element once',
    sizes.reduce((s, x) => s + x, 0),
    n,
  );
  same('randomSplit parts disjoint', new Set((await Promise.all(split.map((r) => r.collect()))).flat()).size, n);
});

await group('indexing', async () => {
  const lines = sc.textFile(sets.copyright.slice(0, 200).join(','), 9);
  const all = await lines.collect();
  same(
    'zipWithIndex numbers in partition order',
    await lines.zipWithIndex().collect(),
    all.map((l, i) => [l, i]),
  );
  const parts = await lines.glom().collect();
  const nParts = parts.length;
  same('glom: one array per partition', nParts, lines.getNumPartitions());
  same('glom concatenated is collect', parts.flat(), all);
  const wantIds = parts.flatMap((p, kk) => p.map((l, j) => [l, j * nParts + kk]));
  same('zipWithUniqueId: j-th of partition k is j*n + k (Spark)', await lines.zipWithUniqueId().collect(), wantIds);
  const r = lines.repartition(5);
  same('repartition(5) partitions', r.getNumPartitions(), 5);
  same('repartition(5) same lines', (await r.collect()).sort(cmp), [...all].sort(cmp));
  const c = lines.coalesce(3);
  same('coalesce(3) partitions', c.getNumPartitions(), 3);
  same('coalesce(3) keeps order', await c.collect(), all);
  same('coalesce(more, no shuffle) keeps the count (Spark)', lines.coalesce(nParts + 10).getNumPartitions(), nParts);
  same('coalesce(50, true) partitions', lines.coalesce(50, true).getNumPartitions(), 50);
  same('coalesce(50, true) same lines', (await lines.coalesce(50, true).collect()).sort(cmp), [...all].sort(cmp));
  const z = await lines.zip(lines.map((l) => l.length)).collect();
  same(
    'zip with a map of itself',
    z,
    all.map((l) => [l, l.length]),
  );
  same('first', await lines.first(), all[0]);
  same('take(7)', await lines.take(7), all.slice(0, 7));
  same('take(n > count)', (await lines.take(all.length + 5)).length, all.length);
});

await group('empty', async () => {
  const empties: [string, () => RDD<number>][] = [
    ['emptyRDD', () => sc.emptyRDD<number>()],
    ['parallelize([])', () => sc.parallelize<number>([], 3)],
    ['filtered to nothing', () => sc.parallelize([1, 2, 3], 3).filter((x) => x > 10)],
    ['textFile(empty file)', () => sc.textFile(join(edge, 'empty.txt')).map((l) => l.length)],
  ];
  for (const [name, make] of empties) {
    // Spark: first/reduce/max/min of an empty RDD throw ("empty collection"; PySpark ValueError "RDD is empty").
    await rejects(`${name}.first()`, () => make().first(), /empty/i);
    await rejects(`${name}.reduce()`, () => make().reduce((a, b) => a + b), /empty/i);
    await rejects(`${name}.max()`, () => make().max(), /empty/i);
    await rejects(`${name}.min()`, () => make().min(), /empty/i);
    same(`${name}.take(3)`, await make().take(3), []);
    same(`${name}.top(3)`, await make().top(3), []);
    same(`${name}.takeOrdered(3)`, await make().takeOrdered(3), []);
    same(`${name}.count()`, await make().count(), 0);
    same(`${name}.isEmpty()`, await make().isEmpty(), true);
    same(`${name}.sum()`, await make().sum(), 0);
    same(`${name}.fold(0)`, await make().fold(0, (a, b) => a + b), 0);
    same(`${name}.collect()`, await make().collect(), []);
    same(`${name}.distinct().collect()`, await make().distinct().collect(), []);
    same(`${name}.countByValue() size`, (await make().countByValue()).size, 0);
    // Spark's StatCounter of nothing: count 0, mean 0.0 (mu's initial value), sum 0, variance NaN, max -Inf, min +Inf.
    const s = await make().stats();
    same(
      `${name}.stats()`,
      [s.count, s.mean, s.sum, s.variance, s.max, s.min],
      [0, 0, 0, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
    );
    same(`${name}.mean()`, await make().mean(), 0);
    // Scala: "Histogram on either an empty RDD or RDD containing +/-infinity or NaN"; PySpark: ValueError.
    await rejects(`${name}.histogram(4)`, () => make().histogram(4), /empty|no numbers/i);
    same(`${name}.histogram([0, 1])`, await make().histogram([0, 1]), [[0, 1], [0]]);
    same(
      `${name}.sortBy().collect()`,
      await make()
        .sortBy((x) => x)
        .collect(),
      [],
    );
    same(`${name}.zipWithIndex()`, await make().zipWithIndex().collect(), []);
  }
  const emptyPairs = sc.emptyRDD<[string, number]>();
  same('empty.join(x)', await emptyPairs.join(sc.parallelize([['a', 1]] as [string, number][])).collect(), []);
  same('empty.fullOuterJoin(x)', await emptyPairs.fullOuterJoin(sc.parallelize([['a', 1]] as [string, number][])).collect(), [['a', [null, 1]]]);
  same('empty.lookup', await emptyPairs.lookup('a'), []);
  same('empty.countByKey size', (await emptyPairs.countByKey()).size, 0);
  same('empty.collectAsMap size', (await emptyPairs.collectAsMap()).size, 0);
});

await group('numbers', async () => {
  // Line lengths of real corpora: many ties, one long tail.
  for (const [name, xs] of [
    ['copyright line lengths', copyrightLines.map((l) => l.length)],
    ['header word lengths', headerWords.map((w) => w.length)],
    [
      'dpkg sizes',
      hadoopLines(readFileSync('/var/lib/dpkg/status'))
        .filter((l) => l.startsWith('Installed-Size: '))
        .map((l) => Number(l.slice(16))),
    ],
  ] as const) {
    const rdd = sc.parallelize(xs, 7);
    const s = await rdd.stats();
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const m2 = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
    same(`${name} stats count`, s.count, n);
    near(
      `${name} stats sum`,
      s.sum,
      xs.reduce((a, b) => a + b, 0),
    );
    near(`${name} stats mean`, s.mean, mean);
    near(`${name} stats variance`, s.variance, m2 / n, 1e-8);
    near(`${name} stats sampleVariance`, s.sampleVariance, m2 / (n - 1), 1e-8);
    near(`${name} stdev`, await rdd.stdev(), Math.sqrt(m2 / n), 1e-8);
    near(`${name} sampleStdev`, await rdd.sampleStdev(), Math.sqrt(m2 / (n - 1)), 1e-8);
    same(`${name} min / max`, [s.min, s.max], [xs.reduce((a, b) => Math.min(a, b)), xs.reduce((a, b) => Math.max(a, b))]);
    near(`${name} mean()`, await rdd.mean(), mean);
    near(
      `${name} sum()`,
      await rdd.sum(),
      xs.reduce((a, b) => a + b, 0),
    );
    // Spark's even buckets: edges min + i * span / n, last max; the last bucket closed.
    for (const b of [1, 2, 10, 37]) {
      const [edges, counts] = await rdd.histogram(b);
      const lo = xs.reduce((a, b) => Math.min(a, b));
      const hi = xs.reduce((a, b) => Math.max(a, b));
      const want = Array.from({ length: b }, (_, i) => lo + (i * (hi - lo)) / b).concat(hi);
      same(`${name} histogram(${b}) edges`, edges, want);
      const plain = new Array<number>(b).fill(0);
      for (const x of xs) {
        let i = want.findIndex((e, j) => j < b && x >= e && (j === b - 1 ? x <= want[b]! : x < want[j + 1]!));
        if (i < 0) i = b - 1;
        plain[i]!++;
      }
      same(`${name} histogram(${b}) counts`, counts, plain);
    }
    const custom = [0, 10, 20, 40, 80, 1000];
    const [, cc] = await rdd.histogram(custom);
    const plainC = custom
      .slice(0, -1)
      .map((e, j) => xs.filter((x) => x >= e && (j === custom.length - 2 ? x <= custom[j + 1]! : x < custom[j + 1]!)).length);
    same(`${name} histogram(custom) counts (outside ignored)`, cc, plainC);
  }
  // All equal: Spark's buckets are [min, min] with every element in it.
  same('histogram of all-equal values', await sc.parallelize([5, 5, 5], 2).histogram(4), [[5, 5], [3]]);
  await rejects('histogram with Infinity', () => sc.parallelize([1, Number.POSITIVE_INFINITY], 2).histogram(3), /infinit|NaN/i);
  await rejects('histogram(0)', () => sc.parallelize([1, 2], 2).histogram(0), /bucket|positive|greater|at least/i);
  await rejects('histogram(unsorted buckets)', () => sc.parallelize([1, 2], 2).histogram([3, 1, 2]), /sort|order|increas/i);
});

await group('files', async () => {
  const src = sc.textFile(sets.copyright.slice(0, 300).join(','), 4);
  const all = await src.collect();
  const out = join(tmp, 'out', 'text');
  await src.saveAsTextFile(out);
  same(
    'saveAsTextFile part files + _SUCCESS',
    readdirSync(out).filter((n) => n.startsWith('part-') || n === '_SUCCESS').length,
    src.getNumPartitions() + 1,
  );
  same('saveAsTextFile then textFile: same lines in order', await sc.textFile(out).collect(), all);
  await rejects('saveAsTextFile to an existing path', () => src.saveAsTextFile(out), /exist/i);
  const gz = join(tmp, 'out', 'gz');
  await src.saveAsTextFile(gz, { compression: 'gzip' });
  same('saveAsTextFile gzip round trip', await sc.textFile(gz).collect(), all);
  same(
    'saveAsTextFile gzip part names end .gz',
    readdirSync(gz)
      .filter((n) => n.startsWith('part-'))
      .every((n) => n.endsWith('.gz')),
    true,
  );
  // Elements that are not strings: numbers with String, arrays as JSON (kindling's documented form).
  const nums = join(tmp, 'out', 'nums');
  await sc.parallelize([1, 2.5, -0, 1e21], 2).saveAsTextFile(nums);
  same('saveAsTextFile numbers', await sc.textFile(nums).collect(), ['1', '2.5', '0', '1e+21']);
  // An element holding a line end becomes two lines on reading back (as in Spark).
  const nl = join(tmp, 'out', 'nl');
  await sc.parallelize(['a\nb', 'c'], 1).saveAsTextFile(nl);
  same('element with a newline reads back as two lines', await sc.textFile(nl).collect(), ['a', 'b', 'c']);
  // Empty RDD: only _SUCCESS, reads back as nothing.
  const none = join(tmp, 'out', 'none');
  await sc.emptyRDD<string>().saveAsTextFile(none);
  same('saveAsTextFile(empty) reads back empty', await sc.textFile(none).count(), 0);
  // Object files keep structure.
  const objs = copyrightLines.slice(0, 2000).map((l, i) => ({ i, l, w: words(l), n: l.length > 10 ? null : l.length }));
  const obj = join(tmp, 'out', 'obj');
  await sc.parallelize(objs, 5).saveAsObjectFile(obj);
  same('saveAsObjectFile then objectFile', await sc.objectFile(obj).collect(), objs);
  await rejects('saveAsObjectFile to an existing path', () => sc.parallelize(objs, 2).saveAsObjectFile(obj), /exist/i);
  // pipe: each element a line into the command; its output lines are the partition.
  const p = sc.parallelize(copyrightLines.slice(0, 3000), 3);
  same('pipe(cat) is identity', await p.pipe('cat').collect(), copyrightLines.slice(0, 3000));
  const parts = await p.glom().collect();
  same(
    'pipe(wc -l) counts each partition',
    (await p.pipe('wc -l').collect()).map((s) => Number(s.trim())),
    parts.map((x) => x.length),
  );
  same(
    'pipe([tr, a-z, A-Z])',
    await p.pipe(['tr', 'a-z', 'A-Z']).collect(),
    copyrightLines.slice(0, 3000).map((l) => l.replace(/[a-z]/g, (c) => c.toUpperCase())),
  );
  await rejects('pipe of a failing command', () => p.pipe('exit 3').collect(), /exit|code|3/);
  // dpkg stanzas: a record spans lines, so wholeTextFiles then split, as a Spark user would.
  const stanzas = readFileSync('/var/lib/dpkg/status', 'utf8')
    .split(/\n\n+/)
    .filter((s) => s.trim().length > 0);
  const field = (s: string, name: string): string | undefined =>
    s
      .split('\n')
      .find((l) => l.startsWith(`${name}: `))
      ?.slice(name.length + 2);
  const pkgs = sc.wholeTextFiles('/var/lib/dpkg/status').flatMap(([, t]) => t.split(/\n\n+/).filter((s) => s.trim().length > 0));
  same('dpkg stanzas', await pkgs.count(), stanzas.length);
  const sections = await pkgs
    .map(
      (s) =>
        [
          s
            .split('\n')
            .find((l) => l.startsWith('Section: '))
            ?.slice(9) ?? '(none)',
          1,
        ] as [string, number],
    )
    .countByKey();
  same('dpkg packages per section', [...sections.entries()].sort(), [...countBy(stanzas, (s) => field(s, 'Section') ?? '(none)').entries()].sort());
  // Reverse dependencies: how many packages depend on each name.
  const depsOf = (s: string): string[] => {
    const d =
      s
        .split('\n')
        .find((l) => l.startsWith('Depends: '))
        ?.slice(9) ?? '';
    return [
      ...new Set(
        d
          .split(/[,|]/)
          .map((x) => x.trim().split(/[\s:(]/)[0]!)
          .filter((x) => x.length > 0),
      ),
    ];
  };
  const rdeps = await pkgs
    .flatMap(capture({ depsOf }, (s: string) => depsOf(s).map((d) => [d, 1] as [string, number])))
    .reduceByKey((x, y) => x + y)
    .sortBy(([d, c]) => [-c, d])
    .take(10);
  same(
    'dpkg most depended-on (sortBy array key)',
    rdeps,
    [...countBy(stanzas.flatMap(depsOf)).entries()].sort((x, y) => y[1] - x[1] || cmp(x[0], y[0])).slice(0, 10),
  );
});

// The outputs PySpark's and Scala's API documentation print for their own examples (docstrings of pyspark/rdd.py
// and RDD.scala), tuples written as arrays and None as null.
await group('docexamples', async () => {
  const p = <T>(xs: T[], n?: number): RDD<T> => sc.parallelize(xs, n);
  const range = (a: number, b: number, step = 1): number[] => Array.from({ length: Math.max(0, Math.ceil((b - a) / step)) }, (_, i) => a + i * step);
  const pairs = <V>(xs: [string, V][], n?: number): RDD<[string, V]> => sc.parallelize(xs, n);
  same('glom [1,2,3,4] / 2', await p([1, 2, 3, 4], 2).glom().collect(), [
    [1, 2],
    [3, 4],
  ]);
  same(
    'glom range(0, 6, 2) / 5',
    await p(range(0, 6, 2), 5)
      .glom()
      .collect(),
    [[], [0], [], [2], [4]],
  );
  same('glom [0,2,3,4,6] / 5', await p([0, 2, 3, 4, 6], 5).glom().collect(), [[0], [2], [3], [4], [6]]);
  same('glom [1..5] / 3 (Spark slices i*n/k)', await p([1, 2, 3, 4, 5], 3).glom().collect(), [[1], [2, 3], [4, 5]]);
  same('zipWithIndex a..d / 3', await p(['a', 'b', 'c', 'd'], 3).zipWithIndex().collect(), [
    ['a', 0],
    ['b', 1],
    ['c', 2],
    ['d', 3],
  ]);
  same('zipWithUniqueId a..e / 3', await p(['a', 'b', 'c', 'd', 'e'], 3).zipWithUniqueId().collect(), [
    ['a', 0],
    ['b', 1],
    ['c', 4],
    ['d', 2],
    ['e', 5],
  ]);
  same('top(1)', await p([10, 4, 2, 12, 3]).top(1), [12]);
  same('top(2) / 2', await p([2, 3, 4, 5, 6], 2).top(2), [6, 5]);
  same('top(3, key=str)', await p([10, 4, 2, 12, 3]).top(3, String), [4, 3, 2]);
  same('takeOrdered(6)', await p([10, 1, 2, 9, 3, 4, 5, 6, 7], 2).takeOrdered(6), [1, 2, 3, 4, 5, 6]);
  same('takeOrdered(6, -x)', await p([10, 1, 2, 9, 3, 4, 5, 6, 7], 2).takeOrdered(6, (x) => -x), [10, 9, 7, 6, 5, 4]);
  same('histogram(2) of range(51)', await p(range(0, 51)).histogram(2), [
    [0, 25, 50],
    [25, 26],
  ]);
  same('histogram([0,5,25,50])', await p(range(0, 51)).histogram([0, 5, 25, 50]), [
    [0, 5, 25, 50],
    [5, 20, 26],
  ]);
  same('histogram([0,15,30,45,60]) counts', (await p(range(0, 51)).histogram([0, 15, 30, 45, 60]))[1], [15, 15, 15, 6]);
  same('histogram of strings', await p(['ab', 'ac', 'b', 'bd', 'ef']).histogram(['a', 'b', 'c']), [
    ['a', 'b', 'c'],
    [2, 2],
  ]);
  const tmpPairs: [string, number][] = [
    ['a', 1],
    ['b', 2],
    ['1', 3],
    ['d', 4],
    ['2', 5],
  ];
  same('sortByKey().first()', await pairs(tmpPairs).sortByKey().first(), ['1', 3]);
  same('sortByKey(true, 1)', await pairs(tmpPairs).sortByKey(true, 1).collect(), [
    ['1', 3],
    ['2', 5],
    ['a', 1],
    ['b', 2],
    ['d', 4],
  ]);
  same('sortByKey(true, 2)', await pairs(tmpPairs).sortByKey(true, 2).collect(), [
    ['1', 3],
    ['2', 5],
    ['a', 1],
    ['b', 2],
    ['d', 4],
  ]);
  same(
    'sortBy(x[1])',
    await pairs(tmpPairs)
      .sortBy((x) => x[1])
      .collect(),
    [
      ['a', 1],
      ['b', 2],
      ['1', 3],
      ['d', 4],
      ['2', 5],
    ],
  );
  const tmp2: [string, number][] = [
    ['Mary', 1],
    ['had', 2],
    ['a', 3],
    ['little', 4],
    ['lamb', 5],
    ['whose', 6],
    ['fleece', 7],
    ['was', 8],
    ['white', 9],
  ];
  same(
    'sortByKey(true, 3, lower)',
    await pairs(tmp2)
      .sortBy(([kk]) => kk.toLowerCase(), true, 3)
      .collect(),
    [
      ['a', 3],
      ['fleece', 7],
      ['had', 2],
      ['lamb', 5],
      ['little', 4],
      ['Mary', 1],
      ['was', 8],
      ['white', 9],
      ['whose', 6],
    ],
  );
  same(
    'cogroup',
    await pairs([
      ['a', 1],
      ['b', 4],
    ])
      .cogroup(pairs([['a', 2]]))
      .sortByKey()
      .collect(),
    [
      ['a', [[1], [2]]],
      ['b', [[4], []]],
    ],
  );
  same(
    'groupWith',
    await pairs([
      ['a', 5],
      ['b', 6],
    ])
      .groupWith(
        pairs([
          ['a', 1],
          ['b', 4],
        ]),
        pairs([['a', 2]]),
        pairs([['b', 42]]),
      )
      .sortByKey()
      .collect(),
    [
      ['a', [[5], [1], [2], []]],
      ['b', [[6], [4], [], [42]]],
    ],
  );
  same(
    'fullOuterJoin',
    await pairs([
      ['a', 1],
      ['b', 4],
    ])
      .fullOuterJoin(
        pairs([
          ['a', 2],
          ['c', 8],
        ]),
      )
      .sortByKey()
      .collect(),
    [
      ['a', [1, 2]],
      ['b', [4, null]],
      ['c', [null, 8]],
    ],
  );
  same(
    'leftOuterJoin',
    await pairs([
      ['a', 1],
      ['b', 4],
    ])
      .leftOuterJoin(pairs([['a', 2]]))
      .sortByKey()
      .collect(),
    [
      ['a', [1, 2]],
      ['b', [4, null]],
    ],
  );
  same(
    'rightOuterJoin',
    await pairs([['a', 2]])
      .rightOuterJoin(
        pairs([
          ['a', 1],
          ['b', 4],
        ]),
      )
      .sortByKey()
      .collect(),
    [
      ['a', [2, 1]],
      ['b', [null, 4]],
    ],
  );
  same(
    'join',
    await pairs([
      ['a', 1],
      ['b', 4],
    ])
      .join(
        pairs([
          ['a', 2],
          ['a', 3],
        ]),
      )
      .sortByKey()
      .collect(),
    [
      ['a', [1, 2]],
      ['a', [1, 3]],
    ],
  );
  same(
    'subtractByKey',
    (
      await pairs([
        ['a', 1],
        ['b', 4],
        ['b', 5],
        ['a', 2],
      ])
        .subtractByKey(
          pairs<number | null>([
            ['a', 3],
            ['c', null],
          ]),
        )
        .collect()
    ).sort(),
    [
      ['b', 4],
      ['b', 5],
    ],
  );
  same(
    'subtract',
    sortedJson(
      await pairs<number | null>([
        ['a', 1],
        ['b', 4],
        ['b', 5],
        ['a', 3],
      ])
        .subtract(
          pairs<number | null>([
            ['a', 3],
            ['c', null],
          ]),
        )
        .collect(),
    ),
    sortedJson([
      ['a', 1],
      ['b', 4],
      ['b', 5],
    ]),
  );
  same(
    'intersection',
    (
      await p([1, 10, 2, 3, 4, 5])
        .intersection(p([1, 6, 2, 3, 7, 8]))
        .collect()
    ).sort((a, b) => a - b),
    [1, 2, 3],
  );
  same(
    'cartesian',
    sortedJson(
      await p([1, 2])
        .cartesian(p([1, 2]))
        .collect(),
    ),
    sortedJson([
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]),
  );
  same('fold', await p([1, 2, 3, 4, 5]).fold(0, (a, b) => a + b), 15);
  same(
    'aggregate',
    await p([1, 2, 3, 4]).aggregate(
      [0, 0] as [number, number],
      (acc, x): [number, number] => [acc[0] + x, acc[1] + 1],
      (a, b): [number, number] => [a[0] + b[0], a[1] + b[1]],
    ),
    [10, 4],
  );
  same(
    'aggregate of nothing',
    await p<number>([]).aggregate(
      [0, 0] as [number, number],
      (acc, x): [number, number] => [acc[0] + x, acc[1] + 1],
      (a, b): [number, number] => [a[0] + b[0], a[1] + b[1]],
    ),
    [0, 0],
  );
  same('countByValue', [...(await p([1, 2, 1, 2, 2], 2).countByValue()).entries()].sort(), [
    [1, 2],
    [2, 3],
  ]);
  same(
    'countByKey',
    [
      ...(
        await pairs([
          ['a', 1],
          ['b', 1],
          ['a', 1],
        ]).countByKey()
      ).entries(),
    ].sort(),
    [
      ['a', 2],
      ['b', 1],
    ],
  );
  same(
    'groupByKey mapValues(len)',
    (
      await pairs([
        ['a', 1],
        ['b', 1],
        ['a', 1],
      ])
        .groupByKey()
        .mapValues((vs) => vs.length)
        .collect()
    ).sort(),
    [
      ['a', 2],
      ['b', 1],
    ],
  );
  same(
    'foldByKey',
    (
      await pairs([
        ['a', 1],
        ['b', 1],
        ['a', 1],
      ])
        .foldByKey(0, (a, b) => a + b)
        .collect()
    ).sort(),
    [
      ['a', 2],
      ['b', 1],
    ],
  );
  same(
    'combineByKey to lists',
    (
      await pairs([
        ['a', 1],
        ['b', 1],
        ['a', 2],
      ])
        .combineByKey(
          (v) => [v],
          (c, v) => [...c, v],
          (a, b) => [...a, ...b],
        )
        .collect()
    ).sort(),
    [
      ['a', [1, 2]],
      ['b', [1]],
    ],
  );
  same(
    'aggregateByKey (Scala guide: max per partition, then sum)',
    (
      await pairs(
        [
          ['a', 3],
          ['a', 1],
          ['b', 7],
          ['a', 5],
        ],
        2,
      )
        .aggregateByKey(
          0,
          (acc, v) => Math.max(acc, v),
          (a, b) => a + b,
        )
        .collect()
    ).sort(),
    [
      ['a', 8],
      ['b', 7],
    ],
  );
  same(
    'keyBy',
    await p([0, 1, 2])
      .keyBy((x) => x * x)
      .collect(),
    [
      [0, 0],
      [1, 1],
      [4, 2],
    ],
  );
  same(
    'flatMapValues',
    await pairs([
      ['a', ['x', 'y', 'z']],
      ['b', ['p', 'r']],
    ])
      .flatMapValues((x) => x)
      .collect(),
    [
      ['a', 'x'],
      ['a', 'y'],
      ['a', 'z'],
      ['b', 'p'],
      ['b', 'r'],
    ],
  );
  same(
    'zip',
    await p(range(0, 5))
      .zip(p(range(1000, 1005)))
      .collect(),
    [
      [0, 1000],
      [1, 1001],
      [2, 1002],
      [3, 1003],
      [4, 1004],
    ],
  );
  same('coalesce(1).glom', await p([1, 2, 3, 4, 5], 3).coalesce(1).glom().collect(), [[1, 2, 3, 4, 5]]);
  const seven = p([1, 2, 3, 4, 5, 6, 7], 4);
  same('glom of 7 in 4', (await seven.glom().collect()).sort(), [[1], [2, 3], [4, 5], [6, 7]]);
  same('repartition(2) partitions', (await seven.repartition(2).glom().collect()).length, 2);
  same('repartition(10) partitions', (await seven.repartition(10).glom().collect()).length, 10);
  same('pipe cat keeps empty lines', await p(['1', '2', '', '3']).pipe('cat').collect(), ['1', '2', '', '3']);
  same(
    'variance / sampleStdev / stdev',
    [await p([1, 2, 3]).variance(), await p([1, 2, 3]).sampleStdev(), await p([1, 2, 3]).sampleVariance()],
    [2 / 3, 1, 1],
  );
  same('mean / sum', [await p([1, 2, 3]).mean(), await p([1, 2, 3, 4, 5]).sum()], [2, 15]);
  const l = range(0, 1000);
  const kv = sc.parallelize(
    l.map((x) => [x, x] as [number, number]),
    10,
  );
  same('lookup(42)', await kv.lookup(42), [42]);
  same('sorted lookup(1024)', await kv.sortByKey().lookup(1024), []);
  same(
    'take(2) / take(10)',
    [await p([2, 3, 4, 5, 6]).cache().take(2), await p([2, 3, 4, 5, 6]).take(10)],
    [
      [2, 3],
      [2, 3, 4, 5, 6],
    ],
  );
  same(
    'filter then take(3) over 100 partitions',
    await p(range(0, 100), 100)
      .filter((x) => x > 90)
      .take(3),
    [91, 92, 93],
  );
  same(
    'max / max(key=str) / min(key=-x)',
    [await p([1.0, 5.0, 43.0, 10.0]).max(), await p([1.0, 5.0, 43.0, 10.0]).max(String), await p([1.0, 5.0, 43.0, 10.0]).min((x) => -x)],
    [43, 5, 43],
  );
  same(
    'keys',
    await p([
      [1, 2],
      [3, 4],
    ] as [number, number][])
      .keys()
      .collect(),
    [1, 3],
  );
  same(
    'values',
    await p([
      [1, 2],
      [3, 4],
    ] as [number, number][])
      .values()
      .collect(),
    [2, 4],
  );
  same('isEmpty', [await p([]).isEmpty(), await p([1]).isEmpty()], [true, false]);
  same(
    'takeSample sizes',
    [
      (await p(range(0, 10)).takeSample(true, 20, 1)).length,
      (await p(range(0, 10)).takeSample(false, 5, 2)).length,
      (await p(range(0, 10)).takeSample(false, 15, 3)).length,
    ],
    [20, 5, 10],
  );
  const [r1, r2] = sc.parallelize(range(0, 500), 1).randomSplit([2, 3], 17);
  same('randomSplit covers all', (await r1!.collect()).length + (await r2!.collect()).length, 500);
  same(
    'treeReduce / treeAggregate',
    [
      await p([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10).treeReduce((a, b) => a + b),
      await p([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10).treeAggregate(
        0,
        (a, x) => a + x,
        (a, b) => a + b,
        1,
      ),
    ],
    [-5, -5],
  );
  same('distinct', (await p([1, 1, 2, 3]).distinct().collect()).sort(), [1, 2, 3]);
  same(
    'union',
    await p([1, 1, 2, 3])
      .union(p([1, 1, 2, 3]))
      .collect(),
    [1, 1, 2, 3, 1, 1, 2, 3],
  );
  same(
    'reduceByKey',
    (
      await pairs([
        ['a', 1],
        ['b', 1],
        ['a', 1],
      ])
        .reduceByKey((a, b) => a + b)
        .collect()
    ).sort(),
    [
      ['a', 2],
      ['b', 1],
    ],
  );
  same(
    'groupBy odd',
    sortedJson(
      await p([1, 1, 2, 3, 5, 8])
        .groupBy((x) => x % 2)
        .mapValues((v) => v.sort())
        .collect(),
    ),
    sortedJson([
      [0, [2, 8]],
      [1, [1, 1, 3, 5]],
    ]),
  );
  same(
    'partitionBy then glom sizes',
    (
      await pairs([
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['a', 4],
      ])
        .partitionBy(2)
        .glom()
        .collect()
    ).reduce((s, x) => s + x.length, 0),
    4,
  );
  // zipWithUniqueId counts partitions, not elements: an emptied partition still holds its ids.
  same(
    'zipWithUniqueId after a filter',
    await p([1, 2, 3, 4, 5], 4)
      .filter((x) => x > 3)
      .zipWithUniqueId()
      .collect(),
    [
      [4, 3],
      [5, 7],
    ],
  );
  same('sorted lookup(42)', await kv.sortByKey(true, 7).lookup(42), [42]);
  same('cartesian with empty', await p([1, 2]).cartesian(p<number>([])).collect(), []);
  same(
    'intersection(numPartitions)',
    p([1, 2], 2)
      .intersection(p([2, 3]), 5)
      .getNumPartitions(),
    5,
  );
  const existing = join(tmp, 'existing-empty');
  mkdirSync(existing);
  await rejects('saveAsTextFile to an existing empty directory (FileAlreadyExistsException)', () => p(['a']).saveAsTextFile(existing), /exist/i);
  await rejects(
    'histogram with duplicate buckets (PySpark: should not contain duplicated values)',
    () => p([1, 2, 3]).histogram([1, 1, 2]),
    /duplicate|sorted|increas|order/i,
  );
  await rejects('histogram with NaN bucket', () => p([1, 2, 3]).histogram([0, Number.NaN]), /NaN/i);
  // Argument errors Spark raises.
  await rejects('sample(false, 1.5)', async () => p([1, 2, 3]).sample(false, 1.5).collect(), /fraction|\[0, ?1\]|between/i);
  await rejects('sample(false, -0.1)', async () => p([1, 2, 3]).sample(false, -0.1).collect(), /fraction|negative/i);
  await rejects('takeSample(false, -1)', () => p([1, 2, 3]).takeSample(false, -1), /negative|num/i);
  await rejects('repartition(0)', async () => p([1, 2, 3]).repartition(0).collect(), /partition|positive/i);
  await rejects('histogram([1]) (one edge)', () => p([1, 2, 3]).histogram([1]), /two|at least|bucket/i);
  await rejects('randomSplit negative weight', async () => p([1, 2, 3]).randomSplit([1, -1]), /weight|negative/i);
  await rejects('randomSplit all-zero weights', async () => p([1, 2, 3]).randomSplit([0, 0]), /weight|positive|sum/i);
  await rejects(
    'zip of unequal partition counts',
    async () =>
      p([1, 2, 3], 2)
        .zip(p([1, 2, 3], 3))
        .collect(),
    /partition/i,
  );
  await rejects(
    'zip of unequal partition sizes',
    () =>
      p([1, 2, 3], 2)
        .zip(p([1, 2, 3, 4], 2))
        .collect(),
    /same number|element|equal/i,
  );
});

await sc.stop();
rmSync(tmp, { recursive: true, force: true });

console.log(`\n${comparisons} comparisons, ${mismatches.length} mismatches`);
process.exitCode = mismatches.length > 0 ? 1 : 0;
